#include "CSoftRoCEShims.h"

#include <alloca.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

pid_t c_softroce_gettid(void) { return (pid_t)syscall(SYS_gettid); }

__attribute__((noinline)) void c_softroce_prefault_stack(size_t bytes) {
    if (bytes == 0) return;
    volatile char *area = alloca(bytes);
    for (size_t offset = 0; offset < bytes; offset += 4096) area[offset] = 0;
    area[bytes - 1] = 0;
}

int c_softroce_pin_current_thread(const int *cpus, int count) {
    if (count <= 0) return EINVAL;
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < count; i++) {
        if (cpus[i] < 0 || cpus[i] >= CPU_SETSIZE) return EINVAL;
        CPU_SET(cpus[i], &set);
    }
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

int c_softroce_allowed_cpus(int *cpus, int capacity) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
    int count = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && count < capacity; cpu++) {
        if (CPU_ISSET(cpu, &set)) cpus[count++] = cpu;
    }
    return count;
}

int c_softroce_task_page_faults(pid_t tid, uint64_t *minor, uint64_t *major) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    char buffer[1024];
    ssize_t count = read(fd, buffer, sizeof buffer - 1);
    int saved = errno;
    close(fd);
    if (count <= 0) { errno = count < 0 ? saved : EIO; return -1; }
    buffer[count] = 0;
    /* The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'. */
    char *cursor = strrchr(buffer, ')');
    if (cursor == NULL) { errno = EIO; return -1; }
    cursor += 1;
    /* Fields 3..12 follow: state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt. */
    unsigned long long fields[10];
    for (int index = 0; index < 10; index++) {
        while (*cursor == ' ') cursor++;
        if (index == 0) { fields[0] = 0; while (*cursor && *cursor != ' ') cursor++; continue; }
        char *end = NULL;
        fields[index] = strtoull(cursor, &end, 10);
        if (end == cursor) { errno = EIO; return -1; }
        cursor = end;
    }
    *minor = (uint64_t)fields[7];
    *major = (uint64_t)fields[9];
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

uint8_t c_softroce_load_acquire_u8(const uint8_t *address) { return __atomic_load_n(address, __ATOMIC_ACQUIRE); }
int64_t c_softroce_load_acquire_i64(const int64_t *address) { return __atomic_load_n(address, __ATOMIC_ACQUIRE); }
void c_softroce_store_release_i64(int64_t *address, int64_t value) { __atomic_store_n(address, value, __ATOMIC_RELEASE); }
