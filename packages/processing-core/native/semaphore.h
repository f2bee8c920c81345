/* Process-shared counting semaphores and recursive mutexes on a futex word.
 *
 * A semaphore is a 64-byte slot (prc_sem_shared) inside a shared mapping (a memfd
 * arena shared by many semaphores); each process reaches it through a local handle
 * (prc_semlock) that also keeps the per-process bookkeeping of the standard library's
 * SemLock (acquisition count and last acquiring thread).  Linux only: the wait is a
 * futex on the slot's value word, which works across processes in a MAP_SHARED mapping.
 */
#ifndef PROCESSING_SEMAPHORE_H
#define PROCESSING_SEMAPHORE_H

#include <stdint.h>

#define PRC_SEM_RECURSIVE_MUTEX 0
#define PRC_SEM_SEMAPHORE 1

/* Results of prc_sem_acquire and prc_sem_release. */
#define PRC_SEM_OK 0
#define PRC_SEM_WOULD_BLOCK 1   /* non-blocking attempt failed, or the deadline passed */
#define PRC_SEM_INTERRUPTED 2   /* a signal arrived, or a wait slice ended: run the handlers, then retry */
#define PRC_SEM_OWNER_DIED 3    /* the holder is a thread or process that no longer exists */
#define PRC_SEM_TOO_MANY 4      /* release past maxvalue */
#define PRC_SEM_NOT_OWNER 5     /* release of a recursive mutex by a thread that does not own it */
#define PRC_SEM_BUSY 6          /* prc_quick_sem_try_enter found no free unit: wait with prc_sem_acquire */
#define PRC_SEM_ERROR -1        /* unexpected system error, see errno */

typedef struct prc_sem_shared {
    uint32_t value;     /* futex word: units available */
    uint32_t waiters;   /* threads blocked (or about to block) on value */
    int32_t kind;
    int32_t maxvalue;
    int32_t owner_pid;  /* recursive mutex owner, or last acquirer of a binary semaphore; 0 if none */
    int32_t owner_tid;
    uint32_t depth;     /* unused (recursion is counted in the holder's prc_semlock) */
    uint32_t magic;
    char pad[32];       /* one slot per cache line: no false sharing between locks */
} prc_sem_shared;

typedef struct prc_semlock {
    prc_sem_shared *sem;
    int32_t kind;
    int32_t maxvalue;
    int32_t count;      /* acquisitions by this process not yet released (SemLock._count);
                         * for a recursive mutex, the holder's recursion depth */
    int32_t last_tid;   /* thread that acquired last in this process */
    int32_t pid;        /* process the bookkeeping belongs to (reset after fork) */
} prc_semlock;

int prc_sem_slot_size(void);
/* Initialise a fresh slot and bind the local handle to it. */
void prc_sem_init(prc_semlock *h, void *slot, int kind, int value, int maxvalue);
/* Bind a local handle to a slot another process initialised; -1 if it is not a semaphore. */
int prc_sem_attach(prc_semlock *h, void *slot);
/* deadline_ns: CLOCK_MONOTONIC deadline in ns, or -1 to wait for ever. */
int prc_sem_acquire(prc_semlock *h, int block, int64_t deadline_ns);
int prc_sem_release(prc_semlock *h);
/* The `with lock:` fast path, run with the GIL held (see quick_calls.h): one attempt
 * that never waits; PRC_SEM_BUSY when the caller must wait with prc_sem_acquire. */
int prc_quick_sem_try_enter(prc_semlock *h);
/* prc_sem_release with the GIL held: it never waits (at most one futex wake). */
int prc_quick_sem_release(prc_semlock *h);
int prc_sem_get_value(prc_semlock *h);
int prc_sem_count(prc_semlock *h);
int prc_sem_is_mine(prc_semlock *h);
void prc_sem_after_fork(prc_semlock *h);
int prc_sem_owner_pid(prc_semlock *h);
int prc_sem_owner_tid(prc_semlock *h);
int prc_sem_owner_is_dead(prc_semlock *h);
/* Thread id and process id as the semaphores record them. */
int prc_sem_current_tid(void);
int prc_sem_current_pid(void);

#endif
