#include "CSoftRoCEShims.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

int c_softroce_madv_populate_read(void) { return MADV_POPULATE_READ; }
int c_softroce_madv_populate_write(void) { return MADV_POPULATE_WRITE; }

int c_softroce_get_memlock_limit(uint64_t *soft, uint64_t *hard) {
    struct rlimit limit;
    int rc = getrlimit(RLIMIT_MEMLOCK, &limit);
    if (rc != 0) return rc;
    *soft = limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)limit.rlim_cur;
    *hard = limit.rlim_max == RLIM_INFINITY ? UINT64_MAX : (uint64_t)limit.rlim_max;
    return 0;
}

int c_softroce_thread_page_faults(uint64_t *minor, uint64_t *major) {
    struct rusage usage;
    int rc = getrusage(RUSAGE_THREAD, &usage);
    if (rc != 0) return rc;
    *minor = (uint64_t)usage.ru_minflt;
    *major = (uint64_t)usage.ru_majflt;
    return 0;
}

ssize_t c_softroce_process_vm_read(pid_t pid, void *local, size_t length, uint64_t remote) {
    struct iovec l = {.iov_base = local, .iov_len = length};
    struct iovec r = {.iov_base = (void *)(uintptr_t)remote, .iov_len = length};
    return process_vm_readv(pid, &l, 1, &r, 1, 0);
}

ssize_t c_softroce_process_vm_write(pid_t pid, const void *local, size_t length, uint64_t remote) {
    struct iovec l = {.iov_base = (void *)local, .iov_len = length};
    struct iovec r = {.iov_base = (void *)(uintptr_t)remote, .iov_len = length};
    return process_vm_writev(pid, &l, 1, &r, 1, 0);
}

size_t c_softroce_host_page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

int c_softroce_mlock(uint64_t address, size_t length) {
    return (int)syscall(SYS_mlock, (uintptr_t)address, length);
}

int c_softroce_munlock(uint64_t address, size_t length) {
    return (int)syscall(SYS_munlock, (uintptr_t)address, length);
}

int c_softroce_mutex_init_adaptive(void *mutex) {
    pthread_mutexattr_t attributes;
    pthread_mutexattr_init(&attributes);
    pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_ADAPTIVE_NP);
    int rc = pthread_mutex_init((pthread_mutex_t *)mutex, &attributes);
    pthread_mutexattr_destroy(&attributes);
    return rc;
}
