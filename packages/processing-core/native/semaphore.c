/* Process-shared semaphores on a futex word (see semaphore.h).
 *
 * Why a futex of our own rather than sem_t: the slot must carry the owner of a
 * recursive mutex and the last holder of a binary semaphore, so that a waiter can
 * tell a holder that died from one that is merely slow; an uncontended acquire or
 * release is one atomic operation and no system call; and the wait takes an absolute
 * CLOCK_MONOTONIC deadline (FUTEX_WAIT_BITSET), so a wait resumed after a signal
 * keeps its original deadline.
 */
#define _GNU_SOURCE
#include "semaphore.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SEM_MAGIC 0x53454d31u           /* "SEM1": a slot that was initialised */
/* A blocked wait sleeps in slices of this length.  At the end of a slice it checks
 * whether the holder died, then returns PRC_SEM_INTERRUPTED so that the Python
 * wrapper runs pending signal handlers and calls again: a signal that arrived just
 * before the futex call (which therefore could not interrupt it) is handled at most
 * one slice late, instead of never. */
#define SLICE_NS 100000000LL
/* A holder running on another CPU usually lets go within a microsecond or two (a
 * locked Value update), far sooner than a futex sleep and wake-up take: a blocking
 * acquire first polls the word for about this many pause rounds (a few microseconds),
 * and only when other CPUs exist to run the holder. */
#define SPIN_ROUNDS 200

static int32_t g_pid;
static int g_can_spin;
static __thread int32_t tl_tid;

/* After fork the child is a new process with one new thread: forget the cached ids. */
static void on_fork_child(void)
{
    g_pid = (int32_t)getpid();
    tl_tid = 0;
}

__attribute__((constructor)) static void prc_sem_setup(void)
{
    g_pid = (int32_t)getpid();
    g_can_spin = sysconf(_SC_NPROCESSORS_ONLN) > 1;
    pthread_atfork(NULL, NULL, on_fork_child);
}

static inline int32_t cur_tid(void)
{
    int32_t tid = tl_tid;
    if (tid == 0) {
        tid = (int32_t)syscall(SYS_gettid);
        tl_tid = tid;
    }
    return tid;
}

int prc_sem_current_tid(void) { return cur_tid(); }
int prc_sem_current_pid(void) { return g_pid; }
int prc_sem_slot_size(void) { return (int)sizeof(prc_sem_shared); }

/* The per-process bookkeeping of a handle copied into a fork child starts afresh. */
static inline void refresh(prc_semlock *h)
{
    if (h->pid != g_pid) {
        h->pid = g_pid;
        h->count = 0;
        h->last_tid = 0;
    }
}

static inline int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline int try_take(prc_sem_shared *s)
{
    uint32_t v = __atomic_load_n(&s->value, __ATOMIC_RELAXED);
    while (v > 0) {
        if (__atomic_compare_exchange_n(&s->value, &v, v - 1, 1, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
            return 1;
    }
    return 0;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Whether another CPU could be running the holder right now: the machine has more
 * than one, and this thread may use more than one (a process pinned to one CPU would
 * only delay the holder by spinning).  Asked on every contended wait, because the
 * affinity can change at any time; the system call costs far less than a futex sleep. */
static int may_spin(void)
{
    cpu_set_t allowed;
    if (!g_can_spin)
        return 0;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
        return 1;
    return CPU_COUNT(&allowed) > 1;
}

/* Poll the word briefly before sleeping on it (see SPIN_ROUNDS). */
static int spin_take(prc_sem_shared *s)
{
    if (!may_spin())
        return 0;
    for (int i = 0; i < SPIN_ROUNDS; i++) {
        if (__atomic_load_n(&s->value, __ATOMIC_RELAXED) > 0 && try_take(s))
            return 1;
        cpu_relax();
    }
    return 0;
}

static inline void futex_wake(uint32_t *addr, int n)
{
    syscall(SYS_futex, addr, FUTEX_WAKE, n, NULL, NULL, 0);
}

void prc_sem_init(prc_semlock *h, void *slot, int kind, int value, int maxvalue)
{
    prc_sem_shared *s = (prc_sem_shared *)slot;
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->maxvalue = maxvalue;
    s->value = (uint32_t)value;
    __atomic_store_n(&s->magic, SEM_MAGIC, __ATOMIC_SEQ_CST);
    h->sem = s;
    h->kind = kind;
    h->maxvalue = maxvalue;
    h->count = 0;
    h->last_tid = 0;
    h->pid = g_pid;
}

int prc_sem_attach(prc_semlock *h, void *slot)
{
    prc_sem_shared *s = (prc_sem_shared *)slot;
    if (__atomic_load_n(&s->magic, __ATOMIC_SEQ_CST) != SEM_MAGIC)
        return -1;
    h->sem = s;
    h->kind = s->kind;
    h->maxvalue = s->maxvalue;
    h->count = 0;
    h->last_tid = 0;
    h->pid = g_pid;
    return 0;
}

/* Is the task (thread tid of process pid, or the process when tid is 0) gone or a zombie?
 * A zombie counts as dead: a killed child nobody has reaped yet cannot release anything. */
static int task_is_gone(int32_t pid, int32_t tid)
{
    char path[64], buf[512];
    if (pid <= 0)
        return 0;
    if (tid > 0 && tid != pid)
        snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    else
        snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ESRCH)
            return 1;
        /* No /proc: fall back on the process alone. */
        return kill(pid, 0) == -1 && errno == ESRCH;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    int saved = errno;
    close(fd);
    if (n <= 0)
        return n < 0 && saved == ESRCH;
    buf[n] = '\0';
    char *paren = strrchr(buf, ')');
    if (paren == NULL || paren[1] == '\0' || paren[2] == '\0')
        return 0;
    char state = paren[2];
    return state == 'Z' || state == 'X' || state == 'x';
}

int prc_sem_owner_is_dead(prc_semlock *h)
{
    prc_sem_shared *s = h->sem;
    int32_t pid = __atomic_load_n(&s->owner_pid, __ATOMIC_SEQ_CST);
    int32_t tid = __atomic_load_n(&s->owner_tid, __ATOMIC_SEQ_CST);
    if (pid == 0 || __atomic_load_n(&s->value, __ATOMIC_SEQ_CST) != 0)
        return 0;
    /* A recursive mutex belongs to a thread; a binary semaphore only to a process
     * (a Lock may legitimately be released by another thread of the holder). */
    return task_is_gone(pid, s->kind == PRC_SEM_RECURSIVE_MUTEX ? tid : 0);
}

static inline int tracks_holder(prc_semlock *h)
{
    return h->kind == PRC_SEM_RECURSIVE_MUTEX || h->maxvalue == 1;
}

static int wait_take(prc_semlock *h, int64_t deadline_ns)
{
    prc_sem_shared *s = h->sem;
    int watch = tracks_holder(h);
    int result;
    if (spin_take(s))
        return PRC_SEM_OK;
    __atomic_fetch_add(&s->waiters, 1, __ATOMIC_SEQ_CST);
    for (;;) {
        if (try_take(s)) {
            result = PRC_SEM_OK;
            break;
        }
        int64_t wake_at = now_ns() + SLICE_NS;
        if (deadline_ns >= 0 && deadline_ns < wake_at)
            wake_at = deadline_ns;
        struct timespec ts;
        ts.tv_sec = (time_t)(wake_at / 1000000000LL);
        ts.tv_nsec = (long)(wake_at % 1000000000LL);
        long rc = syscall(SYS_futex, &s->value, FUTEX_WAIT_BITSET, 0, &ts, NULL, FUTEX_BITSET_MATCH_ANY);
        int err = rc == -1 ? errno : 0;
        if (rc == 0 || err == EAGAIN)
            continue;
        if (err == EINTR) {
            result = PRC_SEM_INTERRUPTED;
            break;
        }
        if (err == ETIMEDOUT) {
            if (try_take(s)) {
                result = PRC_SEM_OK;
                break;
            }
            if (deadline_ns >= 0 && now_ns() >= deadline_ns) {
                result = PRC_SEM_WOULD_BLOCK;
                break;
            }
            result = watch && prc_sem_owner_is_dead(h) ? PRC_SEM_OWNER_DIED : PRC_SEM_INTERRUPTED;
            break;
        }
        result = PRC_SEM_ERROR;
        break;
    }
    __atomic_fetch_sub(&s->waiters, 1, __ATOMIC_SEQ_CST);
    /* A wake-up meant for us may have been consumed by a waiter that then left
     * without taking a unit: pass it on so no waiter sleeps while units are free. */
    if (result != PRC_SEM_OK && __atomic_load_n(&s->value, __ATOMIC_SEQ_CST) > 0 &&
        __atomic_load_n(&s->waiters, __ATOMIC_SEQ_CST) > 0)
        futex_wake(&s->value, 1);
    return result;
}

int prc_sem_acquire(prc_semlock *h, int block, int64_t deadline_ns)
{
    prc_sem_shared *s = h->sem;
    int32_t tid = cur_tid();
    refresh(h);
    /* Re-entry touches only this process's handle: another process spinning on the
     * slot's cache line (a contended locked Value) is not disturbed by every nested
     * acquire and release of the holder. */
    if (h->kind == PRC_SEM_RECURSIVE_MUTEX && h->count > 0 && h->last_tid == tid) {
        h->count++;
        return PRC_SEM_OK;
    }
    if (!try_take(s)) {
        if (!block)
            return PRC_SEM_WOULD_BLOCK;
        int rc = wait_take(h, deadline_ns);
        if (rc != PRC_SEM_OK)
            return rc;
    }
    if (tracks_holder(h)) {
        __atomic_store_n(&s->owner_pid, g_pid, __ATOMIC_SEQ_CST);
        __atomic_store_n(&s->owner_tid, tid, __ATOMIC_SEQ_CST);
    }
    h->count++;
    h->last_tid = tid;
    return PRC_SEM_OK;
}

int prc_quick_sem_try_enter(prc_semlock *h)
{
    int rc = prc_sem_acquire(h, 0, -1);
    return rc == PRC_SEM_WOULD_BLOCK ? PRC_SEM_BUSY : rc;
}

int prc_sem_release(prc_semlock *h)
{
    prc_sem_shared *s = h->sem;
    refresh(h);
    if (h->kind == PRC_SEM_RECURSIVE_MUTEX) {
        /* The handle's count is the holder's recursion depth (see prc_sem_acquire). */
        if (h->count <= 0 || h->last_tid != cur_tid())
            return PRC_SEM_NOT_OWNER;
        if (--h->count > 0)
            return PRC_SEM_OK;
        __atomic_store_n(&s->owner_tid, 0, __ATOMIC_SEQ_CST);
        __atomic_store_n(&s->owner_pid, 0, __ATOMIC_SEQ_CST);
        __atomic_fetch_add(&s->value, 1, __ATOMIC_SEQ_CST);
    } else {
        uint32_t v = __atomic_load_n(&s->value, __ATOMIC_SEQ_CST);
        do {
            if (v >= (uint32_t)h->maxvalue)
                return PRC_SEM_TOO_MANY;
            if (h->maxvalue == 1) {
                __atomic_store_n(&s->owner_tid, 0, __ATOMIC_SEQ_CST);
                __atomic_store_n(&s->owner_pid, 0, __ATOMIC_SEQ_CST);
            }
        } while (!__atomic_compare_exchange_n(&s->value, &v, v + 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
        if (h->count > 0)
            h->count--;
    }
    if (__atomic_load_n(&s->waiters, __ATOMIC_SEQ_CST) > 0)
        futex_wake(&s->value, 1);
    return PRC_SEM_OK;
}

int prc_quick_sem_release(prc_semlock *h)
{
    return prc_sem_release(h);
}

int prc_sem_get_value(prc_semlock *h)
{
    return (int)__atomic_load_n(&h->sem->value, __ATOMIC_SEQ_CST);
}

int prc_sem_count(prc_semlock *h)
{
    refresh(h);
    if (h->kind == PRC_SEM_RECURSIVE_MUTEX)
        return prc_sem_is_mine(h) ? h->count : 0;
    return h->count;
}

int prc_sem_is_mine(prc_semlock *h)
{
    refresh(h);
    return h->count > 0 && h->last_tid == cur_tid();
}

void prc_sem_after_fork(prc_semlock *h)
{
    h->pid = g_pid;
    h->count = 0;
    h->last_tid = 0;
}

int prc_sem_owner_pid(prc_semlock *h)
{
    return __atomic_load_n(&h->sem->owner_pid, __ATOMIC_SEQ_CST);
}

int prc_sem_owner_tid(prc_semlock *h)
{
    return __atomic_load_n(&h->sem->owner_tid, __ATOMIC_SEQ_CST);
}
