// swift-tools-version: 6.1
import PackageDescription

/// Settings every Swift target shares (Swift 6 language mode is set package-wide below).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "SoftRoCE",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "SoftRoCEMemory", targets: ["SoftRoCEMemory"]),
        .library(name: "SoftRoCEWire", targets: ["SoftRoCEWire"]),
        .library(name: "SoftRoCE", targets: ["SoftRoCE"]),
        .library(name: "SoftRoCEUDP", targets: ["SoftRoCEUDP"]),
        .executable(name: "softroce", targets: ["softroce"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // C declarations Swift cannot import directly (GNU-only calls, RLIMIT_MEMLOCK, rusage per thread).
        .target(
            name: "CSoftRoCEShims",
            cSettings: [.define("_GNU_SOURCE")]
        ),
        // Memory core: the only module with raw pointers and memory-management syscalls.
        .target(
            name: "SoftRoCEMemory",
            dependencies: [
                "CSoftRoCEShims",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // RoCEv2 packet codec: pure values, no I/O, no dependencies.
        .target(
            name: "SoftRoCEWire",
            exclude: ["Docs.docc"],
            swiftSettings: swiftSettings
        ),
        // Verbs, the device engine (requester, responder, completer) and the in-process fabric.
        .target(
            name: "SoftRoCE",
            dependencies: [
                "SoftRoCEMemory",
                "SoftRoCEWire",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // RoCEv2 over UDP: the network link below the same engine (sockets and a receive thread).
        .target(
            name: "SoftRoCEUDP",
            dependencies: [
                "SoftRoCE",
                "SoftRoCEMemory",
                "SoftRoCEWire",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        // perftest-style tests, devinfo and their table / JSON output, as a testable library.
        .target(
            name: "SoftRoCETools",
            dependencies: [
                "SoftRoCE",
                "SoftRoCEMemory",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // The `softroce` command.
        .executableTarget(
            name: "softroce",
            dependencies: [
                "SoftRoCETools",
                "SoftRoCE",
                "SoftRoCEUDP",
                "SoftRoCEMemory",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SoftRoCEMemoryTests",
            dependencies: ["SoftRoCEMemory"],
            swiftSettings: swiftSettings
        ),
        // Test support: the rxe captures in Tests/SoftRoCEVectors/Vectors and a pcap reader.
        .target(
            name: "SoftRoCEVectors",
            dependencies: ["SoftRoCEWire"],
            path: "Tests/SoftRoCEVectors",
            exclude: ["Vectors"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SoftRoCEWireTests",
            dependencies: ["SoftRoCEWire", "SoftRoCEVectors"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SoftRoCETests",
            dependencies: ["SoftRoCE", "SoftRoCEMemory", "SoftRoCEUDP", "SoftRoCEWire", "SoftRoCEVectors"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SoftRoCEToolsTests",
            dependencies: ["SoftRoCETools", "SoftRoCE"],
            swiftSettings: swiftSettings
        ),
        // ordo-one benchmarks: `swift package benchmark` (release build).
        .executableTarget(
            name: "SoftRoCEBenchmarks",
            dependencies: [
                "SoftRoCEMemory",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/SoftRoCEBenchmarks",
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
