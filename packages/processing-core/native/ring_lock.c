/* The ring's robust process-shared lock: taking it (with recovery after a holder
 * died), waiting for a change of a futex word, the crash-consistent commit, and the
 * test-only stop points.  See ring_internal.h for the design.
 */
#define _GNU_SOURCE
#include "ring_internal.h"

#if defined(__linux__)
#include "platform.h"

#include <errno.h>
#include <sched.h>
#include <time.h>

int prc_ring_debug_stop_where;

void prc_ring_debug_stop(prc_ring *r, int where)
{
    if (where == 0 || prc_ring_debug_stop_where != where)
        return;
    __atomic_add_fetch(&r->h->debug_stops, 1, __ATOMIC_SEQ_CST);
    for (;;)
        pause(); /* the test kills us here, lock held */
}

static int futex_wait(uint32_t *word, uint32_t expected, int64_t deadline)
{
    struct timespec ts, *tp = NULL;
    if (deadline >= 0) {
        ts.tv_sec = deadline / 1000000000LL;
        ts.tv_nsec = deadline % 1000000000LL;
        tp = &ts;
    }
    if (syscall(SYS_futex, word, FUTEX_WAIT_BITSET, expected, tp, NULL, FUTEX_BITSET_MATCH_ANY) == 0)
        return 0;
    return -errno;
}

/* ---- commit and recovery ---- */

void prc_ring_commit(prc_ring *r, const ring_state *ns, int stop_where)
{
    ring_header *h = r->h;
    h->redo = *ns;
    __atomic_store_n(&h->redo_valid, 1, __ATOMIC_RELEASE);
    prc_ring_debug_stop(r, stop_where);
    __atomic_store_n(&h->st.head, ns->head, __ATOMIC_RELAXED);
    __atomic_store_n(&h->st.tail, ns->tail, __ATOMIC_RELAXED);
    __atomic_store_n(&h->st.count, ns->count, __ATOMIC_RELAXED);
    __atomic_store_n(&h->st.unfinished, ns->unfinished, __ATOMIC_RELAXED);
    __atomic_store_n(&h->redo_valid, 0, __ATOMIC_RELEASE);
}

/* Called with the mutex held after EOWNERDEAD: make the state consistent or mark it broken. */
static void recover(prc_ring *r)
{
    ring_header *h = r->h;
    h->recoveries++;
    if (h->redo_valid) {
        h->st = h->redo;
        h->redo_valid = 0;
    }
    ring_state *s = &h->st;
    int ok = s->head <= s->tail && s->tail - s->head <= h->capacity && s->head % 8 == 0 && s->tail % 8 == 0
             && s->unfinished >= 0;
    uint64_t pos = s->head, n = 0;
    while (ok && pos < s->tail) {
        uint32_t len, kind;
        read_rec_header(r, pos, &len, &kind);
        uint64_t size = kind == KIND_INLINE ? rec_size(len) : kind == KIND_SPILL ? rec_size(SPILL_BODY) : 0;
        if (size == 0 || size > s->tail - pos)
            ok = 0;
        else
            pos += size, n++;
    }
    if (ok)
        s->count = n;
    else
        __atomic_store_n(&h->broken, 1, __ATOMIC_SEQ_CST);
    /* Whatever happened, let every sleeper look again. */
    bump(&h->data_seq);
    bump(&h->space_seq);
    bump(&h->tasks_seq);
    futex_wake(&h->data_seq, INT_MAX);
    futex_wake(&h->space_seq, INT_MAX);
    futex_wake(&h->tasks_seq, INT_MAX);
}

/* After pthread_mutex_lock or _trylock returned `rc`: repair the state if the holder
 * died, and refuse a broken ring.  0 with the lock held, or an error without it. */
static int after_lock(prc_ring *r, int rc)
{
    ring_header *h = r->h;
    if (rc == EOWNERDEAD) {
        recover(r);
        pthread_mutex_consistent(&h->mutex);
        rc = 0;
    }
    if (rc == ENOTRECOVERABLE) {
        __atomic_store_n(&h->broken, 1, __ATOMIC_SEQ_CST);
        return -EPIPE;
    }
    if (rc != 0)
        return -rc;
    if (__atomic_load_n(&h->broken, __ATOMIC_SEQ_CST)) {
        pthread_mutex_unlock(&h->mutex);
        return -EPIPE;
    }
    return 0;
}

int prc_ring_lock(prc_ring *r)
{
    ring_header *h = r->h;
    /* The lock is only ever held for a copy and a few stores: spinning on it a little
     * is cheaper than the futex sleep and wake-up a contended pthread_mutex_lock costs. */
    int rc = pthread_mutex_trylock(&h->mutex);
    for (int i = 0; rc == EBUSY && i < LOCK_SPINS; i++) {
        cpu_relax();
        rc = pthread_mutex_trylock(&h->mutex);
    }
    if (rc == EBUSY)
        rc = pthread_mutex_lock(&h->mutex);
    return after_lock(r, rc);
}

int prc_ring_try_lock(prc_ring *r)
{
    int rc = pthread_mutex_trylock(&r->h->mutex);
    return rc == EBUSY ? -EAGAIN : after_lock(r, rc);
}

void prc_ring_unlock(prc_ring *r) { pthread_mutex_unlock(&r->h->mutex); }

/* With the lock held: release it, sleep until *seq moves or the deadline, take it again.
 * Returns 0 with the lock held (look again), or an error with the lock released. */
int prc_ring_wait_locked(prc_ring *r, uint32_t *seq, uint32_t *waiters, int64_t deadline)
{
    if (deadline == 0) {
        prc_ring_unlock(r);
        return -EAGAIN;
    }
    if (deadline > 0 && prc_monotonic_ns() >= deadline) {
        prc_ring_unlock(r);
        return -ETIMEDOUT;
    }
    uint32_t expected = __atomic_load_n(seq, __ATOMIC_SEQ_CST);
    prc_ring_unlock(r);
    /* Spin briefly first: a peer on another CPU usually answers within microseconds,
     * and then neither side pays for a futex sleep and wake-up (the waker only makes
     * the syscall when a waiter registered).  Bounded, so an idle queue costs nothing. */
    int64_t spin_until = prc_monotonic_ns() + SPIN_NS;
    for (int i = 1;; i++) {
        if (__atomic_load_n(seq, __ATOMIC_ACQUIRE) != expected)
            return prc_ring_lock(r);
        cpu_relax();
        if (i % 64 == 0) {
            if (prc_monotonic_ns() >= spin_until)
                break;
            /* Let a peer that shares this CPU run: it is the one we are waiting for. */
            sched_yield();
        }
    }
    __atomic_add_fetch(waiters, 1, __ATOMIC_SEQ_CST);
    int rc = futex_wait(seq, expected, deadline);
    __atomic_sub_fetch(waiters, 1, __ATOMIC_SEQ_CST);
    if (rc == -EINTR)
        return -EINTR;
    /* 0, EAGAIN (moved before we slept) and ETIMEDOUT all look again: a message that
     * arrived with the deadline is still taken; the next round reports the timeout. */
    return prc_ring_lock(r);
}

void prc_ring_debug_stop_at(int where) { prc_ring_debug_stop_where = where; }
uint32_t prc_ring_debug_stops(prc_ring *r) { return __atomic_load_n(&r->h->debug_stops, __ATOMIC_SEQ_CST); }

#endif /* __linux__: ring_stub.c stands in elsewhere */
