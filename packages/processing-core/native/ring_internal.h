/* Internals of the shared-memory ring (not exposed to Python), shared by ring.c
 * (create, attach, put, get, tasks), ring_lock.c (the robust lock, waiting, commit and
 * recovery, the test stop points) and ring_batch.c (put_many, get_many).
 *
 * Design (the why):
 *
 * - Memory: one memfd holds a header page, the data area, and beyond it a sparse
 *   "spill area".  An unnamed memory file cannot leak a /dev/shm entry and is freed
 *   when the last process holding the descriptor closes it.
 *
 * - Records: [u32 payload length][u32 kind][payload][padding to 8].  The data area is
 *   a multiple of 8 bytes and records start 8-aligned, so a record header never wraps;
 *   a payload may wrap and is copied in two pieces.  head and tail are absolute byte
 *   counters (never reduced modulo the capacity), so "full" and "empty" are never
 *   ambiguous and tail - head is the number of bytes in use.
 *
 * - Large messages: a payload larger than half the data area is written with
 *   pwrite() into the spill area at an offset reserved by an atomic add, outside the
 *   lock; then a small SPILL record (offset, length) is put in the ring.  The reader
 *   that takes the record pread()s the payload and punches the hole back
 *   (FALLOC_FL_PUNCH_HOLE), returning the memory.  So a message of any size goes
 *   through, whole, without holding the lock while megabytes are copied, and order is
 *   kept because a producer publishes its records in its own order.  If a process dies
 *   between reserving and publishing (or taking and reading) a spill region, that
 *   region stays allocated until the ring itself is freed: bounded, never a hang.
 *
 * - Locking: one robust, process-shared mutex, held only while copying and updating
 *   the indices.  A process that dies holding it makes the next locker see
 *   EOWNERDEAD; it repairs the header (below) and calls pthread_mutex_consistent.
 *
 * - Crash consistency: a writer copies its payload into free space first; nothing is
 *   visible until commit() publishes the new indices.  commit() first writes the whole
 *   new state into a redo record, sets redo_valid, then updates the live indices and
 *   clears redo_valid.  On recovery a valid redo record is rolled forward, otherwise
 *   the live indices are as before the interrupted operation; a half-written message is
 *   therefore discarded, and a message whose reader died before committing stays in
 *   the ring for another reader.  The recoverer then walks every record from head to
 *   tail; if they do not add up, the ring is marked broken and every call returns
 *   -EPIPE (a clear error in Python) instead of returning garbage.
 *
 * - Waiting: futexes (not private: the words are shared between processes) on three
 *   sequence words bumped under the lock: data_seq (a message arrived), space_seq
 *   (one left), tasks_seq (the unfinished-task count reached zero).  A waiter reads the
 *   word under the lock, registers in a waiter count, unlocks and sleeps with
 *   FUTEX_WAIT_BITSET, which takes an absolute CLOCK_MONOTONIC deadline; if the word
 *   changed in between the kernel does not let it sleep, so no wake-up is lost.
 *   Wakers only make the syscall when someone waits.  A signal makes the wait return
 *   -EINTR to Python, which runs the handler (Ctrl-C) and retries with the time left;
 *   condition variables would restart silently instead.
 */
#ifndef PROCESSING_RING_INTERNAL_H
#define PROCESSING_RING_INTERNAL_H

#include "ring.h"

#if defined(__linux__)
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RING_MAGIC 0x31676e6972637270ULL /* "prcring1" */
#define RING_VERSION 1u
#define KIND_INLINE 1u
#define KIND_SPILL 2u
#define REC_HEADER 8u
#define SPILL_BODY 16u
#define SPIN_NS 20000
/* Data bytes kept resident when an emptied ring gives memory back. */
#define KEPT_DATA (1u << 20)
/* Pages are given back at most this often (and not in a ring's first such interval):
 * a queue streaming large messages would otherwise free and fault in most of its ring
 * over and over, at about 2 us a page. */
#define GIVE_BACK_EVERY_NS 500000000LL
#define LOCK_SPINS 200

typedef struct {
    uint64_t head;       /* absolute byte position of the oldest record */
    uint64_t tail;       /* absolute byte position after the newest record */
    uint64_t count;      /* records in the ring */
    int64_t unfinished;  /* JoinableQueue: put but not yet task_done */
} ring_state;

typedef struct {
    uint64_t magic;
    uint32_t version;
    uint32_t pad0;
    uint64_t capacity;     /* data bytes, a multiple of the page size */
    uint64_t maxsize;      /* message limit, 0 for none */
    uint64_t data_offset;  /* where the data area starts in the file */
    uint64_t spill_base;   /* where the spill area starts in the file */
    uint64_t spill_next;   /* next free spill offset (atomic add, no lock) */
    uint64_t rewound_at;   /* position of the last rewind (see rewind_if_empty) */
    int64_t gave_back_ns;  /* when pages were last given back (see give_back_pages) */
    __attribute__((aligned(64))) pthread_mutex_t mutex;
    ring_state st;         /* live state, under the mutex */
    ring_state redo;       /* state being committed, valid while redo_valid */
    uint32_t redo_valid;
    uint32_t broken;
    uint32_t recoveries;
    uint32_t debug_stops;
    /* Futex words, each with its waiter count, on cache lines of their own: a reader
     * spinning on data_seq must not keep stealing the line the writer is updating. */
    __attribute__((aligned(64))) uint32_t data_seq;
    uint32_t readers_waiting;
    __attribute__((aligned(64))) uint32_t space_seq;
    uint32_t writers_waiting;
    __attribute__((aligned(64))) uint32_t tasks_seq;
    uint32_t joiners_waiting;
} ring_header;

struct prc_ring {
    ring_header *h;
    unsigned char *data;
    size_t map_len;
    int fd;
};

#define PRC_RING_INTERNAL __attribute__((visibility("hidden")))

/* Test-only fault injection: where this process stops (0: nowhere). */
extern PRC_RING_INTERNAL int prc_ring_debug_stop_where;

static inline uint64_t round_up(uint64_t n, uint64_t to) { return (n + to - 1) / to * to; }
static inline uint64_t rec_size(uint64_t payload) { return REC_HEADER + round_up(payload, 8); }

static inline void futex_wake(uint32_t *word, int n)
{
    syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);
}

static inline void bump(uint32_t *seq) { __atomic_add_fetch(seq, 1, __ATOMIC_SEQ_CST); }

static inline void wake_if_waiting(uint32_t *seq, uint32_t *waiters, int n)
{
    if (__atomic_load_n(waiters, __ATOMIC_SEQ_CST) > 0)
        futex_wake(seq, n);
}

/* ---- data copies ---- */

static inline void copy_in(prc_ring *r, uint64_t pos, const void *src, uint64_t n)
{
    uint64_t cap = r->h->capacity, off = pos % cap, first = n < cap - off ? n : cap - off;
    memcpy(r->data + off, src, first);
    if (n > first)
        memcpy(r->data, (const char *)src + first, n - first);
}

static inline void copy_out(prc_ring *r, uint64_t pos, void *dst, uint64_t n)
{
    uint64_t cap = r->h->capacity, off = pos % cap, first = n < cap - off ? n : cap - off;
    memcpy(dst, r->data + off, first);
    if (n > first)
        memcpy((char *)dst + first, r->data, n - first);
}

static inline void read_rec_header(prc_ring *r, uint64_t pos, uint32_t *len, uint32_t *kind)
{
    uint32_t *p = (uint32_t *)(r->data + pos % r->h->capacity);
    *len = p[0];
    *kind = p[1];
}

static inline void write_rec_header(prc_ring *r, uint64_t pos, uint32_t len, uint32_t kind)
{
    uint32_t *p = (uint32_t *)(r->data + pos % r->h->capacity);
    p[0] = len;
    p[1] = kind;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline int fits(ring_header *h, const ring_state *s, uint64_t size)
{
    if (h->maxsize != 0 && s->count >= h->maxsize)
        return 0;
    return h->capacity - (s->tail - s->head) >= size;
}

/* ring_lock.c */
PRC_RING_INTERNAL void prc_ring_debug_stop(prc_ring *r, int where);
PRC_RING_INTERNAL int prc_ring_lock(prc_ring *r);
/* Take the lock only if that needs no waiting: -EAGAIN when another holds it. */
PRC_RING_INTERNAL int prc_ring_try_lock(prc_ring *r);
PRC_RING_INTERNAL void prc_ring_unlock(prc_ring *r);
/* With the lock held: release it, sleep until *seq moves or the deadline, take it again.
 * Returns 0 with the lock held (look again), or an error with the lock released. */
PRC_RING_INTERNAL int prc_ring_wait_locked(prc_ring *r, uint32_t *seq, uint32_t *waiters, int64_t deadline);
/* Publish the new state crash-consistently (redo record first); stop point `stop_where`. */
PRC_RING_INTERNAL void prc_ring_commit(prc_ring *r, const ring_state *ns, int stop_where);

/* ring.c */
/* Put records (see ring.c); `spill` non-NULL makes the single record a SPILL one. */
PRC_RING_INTERNAL int prc_ring_put_records(prc_ring *r, const char *data, const uint64_t *ends, uint32_t n,
                                           const uint64_t *spill, int64_t deadline, int add_tasks, uint32_t *done);
PRC_RING_INTERNAL void prc_ring_release_spill(prc_ring *r, uint64_t off, uint64_t len);
/* Wait (lock held on return 0) until the ring has a message. */
PRC_RING_INTERNAL int prc_ring_wait_for_data(prc_ring *r, int64_t deadline);
/* Take the record at head (lock held; it is released).  The payload goes to `dst`. */
PRC_RING_INTERNAL int prc_ring_take_one(prc_ring *r, char *dst, uint32_t len, uint32_t kind);
PRC_RING_INTERNAL int prc_ring_rewind_if_empty(prc_ring *r, ring_state *s);
PRC_RING_INTERNAL void prc_ring_give_back_pages(prc_ring *r);

#endif /* __linux__ */

#endif
