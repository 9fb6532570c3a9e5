#ifndef C_SOFTROCE_SHIMS_H
#define C_SOFTROCE_SHIMS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <pthread.h>

/* Declarations Swift cannot import from Glibc directly: GNU-only calls, enum-typed resource
 * numbers (RLIMIT_MEMLOCK), madvise advice values that older headers lack, and rusage per thread.
 * Every function returns what the C call returns and leaves errno as the call left it. */

/// MADV_POPULATE_READ (22) and MADV_POPULATE_WRITE (23), Linux 5.14+.
int c_softroce_madv_populate_read(void);
int c_softroce_madv_populate_write(void);

/// getrlimit(RLIMIT_MEMLOCK): the soft and hard limits in bytes; UINT64_MAX means unlimited.
int c_softroce_get_memlock_limit(uint64_t *soft, uint64_t *hard);

/// getrusage(RUSAGE_THREAD): minor and major page faults the calling thread has taken.
int c_softroce_thread_page_faults(uint64_t *minor, uint64_t *major);

/// The calling thread's kernel thread id (gettid(2)).
pid_t c_softroce_gettid(void);

/// Touches `bytes` of the calling thread's stack below the current frame, so those stack pages
/// are resident before a data path runs on the thread (no first-touch faults later).
void c_softroce_prefault_stack(size_t bytes);

/// Restricts the calling thread to the `count` CPUs in `cpus` (pthread_setaffinity_np; the
/// CPU_SET macros are not importable). Returns 0 or an errno value (EINVAL for an empty set or
/// a CPU number out of range).
int c_softroce_pin_current_thread(const int *cpus, int count);

/// Writes the CPUs the calling thread may run on (sched_getaffinity), ascending, into `cpus`
/// (at most `capacity`); returns how many, or -1 on error.
int c_softroce_allowed_cpus(int *cpus, int capacity);

/// Minor and major page faults thread `tid` of this process has taken, from
/// /proc/self/task/<tid>/stat (fields minflt and majflt). Returns 0, or -1 with errno set.
int c_softroce_task_page_faults(pid_t tid, uint64_t *minor, uint64_t *major);

/// process_vm_readv / process_vm_writev with one local and one remote iovec.
ssize_t c_softroce_process_vm_read(pid_t pid, void *local, size_t length, uint64_t remote);
ssize_t c_softroce_process_vm_write(pid_t pid, const void *local, size_t length, uint64_t remote);

/// mlock(2) / munlock(2) as raw system calls: sanitizer runtimes intercept the libc wrappers
/// and turn them into no-ops, which would silently unpin registered memory.
int c_softroce_mlock(uint64_t address, size_t length);
int c_softroce_munlock(uint64_t address, size_t length);

/// Initialises `mutex` as an adaptive mutex (PTHREAD_MUTEX_ADAPTIVE_NP): it spins briefly
/// before sleeping, so short critical sections shared by two busy threads do not context-switch.
/// Returns what pthread_mutex_init returns.
int c_softroce_mutex_init_adaptive(void *mutex);

/// An acquire load of one byte: a load the compiler may neither hoist out of a polling loop nor
/// reorder with what follows (a thread polling memory the device writes).
uint8_t c_softroce_load_acquire_u8(const uint8_t *address);

/// Acquire load / release store of a 64-bit integer (a counter published by one thread and
/// polled by another, kept on its own cache line by the caller).
int64_t c_softroce_load_acquire_i64(const int64_t *address);
void c_softroce_store_release_i64(int64_t *address, int64_t value);

/// The size of a page of the host in bytes (sysconf(_SC_PAGESIZE)).
size_t c_softroce_host_page_size(void);

#endif
