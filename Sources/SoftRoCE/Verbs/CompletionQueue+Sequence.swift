/// The async sequence behind ``CompletionQueue/completions``: each `next()` takes the oldest completion,
/// sleeping on a continuation while the queue is empty.
struct CompletionSequence: AsyncSequence, Sendable {
    typealias Element = WorkCompletion
    typealias Failure = Never

    let queue: CompletionQueue

    func makeAsyncIterator() -> Iterator {
        Iterator(queue: queue)
    }

    struct Iterator: AsyncIteratorProtocol {
        typealias Element = WorkCompletion
        typealias Failure = Never

        let queue: CompletionQueue

        mutating func next() async -> WorkCompletion? {
            await queue.nextCompletion(isolation: nil)
        }

        mutating func next(isolation actor: isolated (any Actor)?) async -> WorkCompletion? {
            await queue.nextCompletion(isolation: actor)
        }
    }
}
