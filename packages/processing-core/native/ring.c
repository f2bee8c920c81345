/* A multi-producer, multi-consumer byte-message ring in shared memory.
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
#define _GNU_SOURCE
#include "ring.h"
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__linux__)
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <sched.h>
#include <time.h>

#define RING_MAGIC 0x31676e6972637270ULL /* "prcring1" */
#define RING_VERSION 1u
#define KIND_INLINE 1u
#define KIND_SPILL 2u
#define REC_HEADER 8u
#define SPILL_BODY 16u

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

static int debug_stop_where;

static uint64_t round_up(uint64_t n, uint64_t to) { return (n + to - 1) / to * to; }
static uint64_t rec_size(uint64_t payload) { return REC_HEADER + round_up(payload, 8); }

static void debug_stop(prc_ring *r, int where)
{
    if (where == 0 || debug_stop_where != where)
        return;
    __atomic_add_fetch(&r->h->debug_stops, 1, __ATOMIC_SEQ_CST);
    for (;;)
        pause(); /* the test kills us here, lock held */
}

/* ---- futexes ---- */

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

static void futex_wake(uint32_t *word, int n)
{
    syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);
}

static void bump(uint32_t *seq) { __atomic_add_fetch(seq, 1, __ATOMIC_SEQ_CST); }

static void wake_if_waiting(uint32_t *seq, uint32_t *waiters, int n)
{
    if (__atomic_load_n(waiters, __ATOMIC_SEQ_CST) > 0)
        futex_wake(seq, n);
}

/* ---- data copies ---- */

static void copy_in(prc_ring *r, uint64_t pos, const void *src, uint64_t n)
{
    uint64_t cap = r->h->capacity, off = pos % cap, first = n < cap - off ? n : cap - off;
    memcpy(r->data + off, src, first);
    if (n > first)
        memcpy(r->data, (const char *)src + first, n - first);
}

static void copy_out(prc_ring *r, uint64_t pos, void *dst, uint64_t n)
{
    uint64_t cap = r->h->capacity, off = pos % cap, first = n < cap - off ? n : cap - off;
    memcpy(dst, r->data + off, first);
    if (n > first)
        memcpy((char *)dst + first, r->data, n - first);
}

static void read_rec_header(prc_ring *r, uint64_t pos, uint32_t *len, uint32_t *kind)
{
    uint32_t *p = (uint32_t *)(r->data + pos % r->h->capacity);
    *len = p[0];
    *kind = p[1];
}

static void write_rec_header(prc_ring *r, uint64_t pos, uint32_t len, uint32_t kind)
{
    uint32_t *p = (uint32_t *)(r->data + pos % r->h->capacity);
    p[0] = len;
    p[1] = kind;
}

#define SPIN_NS 20000
/* Data bytes kept resident when an emptied ring gives memory back. */
#define KEPT_DATA (1u << 20)
#define LOCK_SPINS 200

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* ---- commit and recovery ---- */

static void commit(prc_ring *r, const ring_state *ns, int stop_where)
{
    ring_header *h = r->h;
    h->redo = *ns;
    __atomic_store_n(&h->redo_valid, 1, __ATOMIC_RELEASE);
    debug_stop(r, stop_where);
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

static int ring_lock(prc_ring *r)
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

static void ring_unlock(prc_ring *r) { pthread_mutex_unlock(&r->h->mutex); }

/* With the lock held: release it, sleep until *seq moves or the deadline, take it again.
 * Returns 0 with the lock held (look again), or an error with the lock released. */
static int wait_locked(prc_ring *r, uint32_t *seq, uint32_t *waiters, int64_t deadline)
{
    if (deadline == 0) {
        ring_unlock(r);
        return -EAGAIN;
    }
    if (deadline > 0 && prc_monotonic_ns() >= deadline) {
        ring_unlock(r);
        return -ETIMEDOUT;
    }
    uint32_t expected = __atomic_load_n(seq, __ATOMIC_SEQ_CST);
    ring_unlock(r);
    /* Spin briefly first: a peer on another CPU usually answers within microseconds,
     * and then neither side pays for a futex sleep and wake-up (the waker only makes
     * the syscall when a waiter registered).  Bounded, so an idle queue costs nothing. */
    int64_t spin_until = prc_monotonic_ns() + SPIN_NS;
    for (int i = 1;; i++) {
        if (__atomic_load_n(seq, __ATOMIC_ACQUIRE) != expected)
            return ring_lock(r);
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
    return ring_lock(r);
}

/* ---- creation ---- */

static int make_memfd(void)
{
    return memfd_create("processing-ring", MFD_CLOEXEC);
}

static prc_ring *map_ring(int fd, uint64_t map_len, int *err)
{
    void *p = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        *err = errno;
        return NULL;
    }
    prc_ring *r = calloc(1, sizeof *r);
    if (r == NULL) {
        munmap(p, map_len);
        *err = ENOMEM;
        return NULL;
    }
    r->h = p;
    r->data = (unsigned char *)p + r->h->data_offset;
    r->map_len = map_len;
    r->fd = fd;
    return r;
}

prc_ring *prc_ring_create(uint64_t capacity, uint64_t maxsize, int *err)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t data_offset = round_up(sizeof(ring_header), page);
    capacity = round_up(capacity < page ? page : capacity, page);
    if (capacity > ((uint64_t)1 << 40) || capacity / 2 > UINT32_MAX) {
        *err = EINVAL;
        return NULL;
    }
    int fd = make_memfd();
    if (fd < 0) {
        *err = errno;
        return NULL;
    }
    if (ftruncate(fd, (off_t)(data_offset + capacity)) != 0) {
        *err = errno;
        close(fd);
        return NULL;
    }
    ring_header init;
    memset(&init, 0, sizeof init);
    init.data_offset = data_offset;
    if (pwrite(fd, &init, sizeof init, 0) != (ssize_t)sizeof init) {
        *err = errno ? errno : EIO;
        close(fd);
        return NULL;
    }
    prc_ring *r = map_ring(fd, data_offset + capacity, err);
    if (r == NULL) {
        close(fd);
        return NULL;
    }
    ring_header *h = r->h;
    h->capacity = capacity;
    h->maxsize = maxsize;
    h->spill_base = data_offset + capacity;
    h->spill_next = h->spill_base;
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    int rc = pthread_mutex_init(&h->mutex, &attr);
    pthread_mutexattr_destroy(&attr);
    if (rc != 0) {
        *err = rc;
        prc_ring_free(r);
        return NULL;
    }
    h->version = RING_VERSION;
    __atomic_store_n(&h->magic, RING_MAGIC, __ATOMIC_RELEASE);
    return r;
}

prc_ring *prc_ring_attach(int fd, int *err)
{
    ring_header probe;
    if (pread(fd, &probe, sizeof probe, 0) != (ssize_t)sizeof probe) {
        *err = errno ? errno : EINVAL;
        return NULL;
    }
    if (probe.magic != RING_MAGIC || probe.version != RING_VERSION || probe.capacity == 0) {
        *err = EINVAL;
        return NULL;
    }
    return map_ring(fd, probe.data_offset + probe.capacity, err);
}

void prc_ring_free(prc_ring *r)
{
    if (r == NULL)
        return;
    munmap(r->h, r->map_len);
    close(r->fd);
    free(r);
}

int prc_ring_fd(prc_ring *r) { return r->fd; }
uint64_t prc_ring_capacity(prc_ring *r) { return r->h->capacity; }
uint64_t prc_ring_maxsize(prc_ring *r) { return r->h->maxsize; }
uint64_t prc_ring_inline_limit(prc_ring *r) { return r->h->capacity / 2 - REC_HEADER; }
uint64_t prc_ring_count(prc_ring *r) { return __atomic_load_n(&r->h->st.count, __ATOMIC_RELAXED); }
int64_t prc_ring_unfinished(prc_ring *r) { return __atomic_load_n(&r->h->st.unfinished, __ATOMIC_RELAXED); }
int prc_ring_is_broken(prc_ring *r) { return (int)__atomic_load_n(&r->h->broken, __ATOMIC_RELAXED); }
uint32_t prc_ring_recoveries(prc_ring *r) { return __atomic_load_n(&r->h->recoveries, __ATOMIC_RELAXED); }
void prc_ring_debug_stop_at(int where) { debug_stop_where = where; }
uint32_t prc_ring_debug_stops(prc_ring *r) { return __atomic_load_n(&r->h->debug_stops, __ATOMIC_SEQ_CST); }

/* ---- putting ---- */

static int fits(ring_header *h, const ring_state *s, uint64_t size)
{
    if (h->maxsize != 0 && s->count >= h->maxsize)
        return 0;
    return h->capacity - (s->tail - s->head) >= size;
}

/* Put records; `spill` non-NULL makes the single record a SPILL one pointing at it. */
/* Message i of `data` spans [ends[i-1], ends[i]) (from 0 for the first).  Starts at
 * message *done and advances it. */
static int put_records(prc_ring *r, const char *data, const uint64_t *ends, uint32_t n, const uint64_t *spill,
                       int64_t deadline, int add_tasks, uint32_t *done)
{
    ring_header *h = r->h;
    int rc = ring_lock(r);
    if (rc != 0)
        return rc;
    while (*done < n) {
        ring_state s = h->st;
        uint32_t start = *done, i = start;
        while (i < n) {
            uint64_t begin = i ? ends[i - 1] : 0;
            uint64_t len = ends[i] - begin;
            uint64_t size = rec_size(spill ? SPILL_BODY : len);
            if (!fits(h, &s, size))
                break;
            write_rec_header(r, s.tail, (uint32_t)len, spill ? KIND_SPILL : KIND_INLINE);
            if (spill) {
                copy_in(r, s.tail + REC_HEADER, spill, SPILL_BODY);
            } else if (debug_stop_where == 1 && len >= 2) {
                copy_in(r, s.tail + REC_HEADER, data + begin, len / 2);
                debug_stop(r, 1);
            } else {
                copy_in(r, s.tail + REC_HEADER, data + begin, len);
            }
            s.tail += size;
            s.count++;
            if (add_tasks)
                s.unfinished++;
            i++;
        }
        if (i > start) {
            commit(r, &s, 3);
            bump(&h->data_seq);
            *done = i;
            ring_unlock(r);
            wake_if_waiting(&h->data_seq, &h->readers_waiting, (int)(i - start));
            if (*done == n)
                return 0;
            rc = ring_lock(r);
            if (rc != 0)
                return rc;
            continue;
        }
        rc = wait_locked(r, &h->space_seq, &h->writers_waiting, deadline);
        if (rc != 0)
            return rc;
    }
    ring_unlock(r);
    return 0;
}

int prc_ring_put_many(prc_ring *r, const char *data, const uint64_t *ends, uint32_t n, int64_t deadline,
                      int add_tasks, uint32_t *done)
{
    uint64_t limit = prc_ring_inline_limit(r);
    for (uint32_t i = *done; i < n; i++) {
        if (ends[i] - (i ? ends[i - 1] : 0) > limit || (i && ends[i] < ends[i - 1]))
            return -EMSGSIZE;
    }
    return put_records(r, data, ends, n, NULL, deadline, add_tasks, done);
}

static int write_all(int fd, const char *data, uint64_t len, uint64_t off)
{
    while (len > 0) {
        ssize_t w = pwrite(fd, data, len, (off_t)off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        data += w, len -= (uint64_t)w, off += (uint64_t)w;
    }
    return 0;
}

static void release_spill(prc_ring *r, uint64_t off, uint64_t len)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)round_up(len, page));
}

int prc_ring_put(prc_ring *r, const char *data, uint64_t len, int64_t deadline, int add_tasks)
{
    uint32_t done = 0;
    if (len <= prc_ring_inline_limit(r))
        return put_records(r, data, &len, 1, NULL, deadline, add_tasks, &done);
    if (len > UINT32_MAX)
        return -EMSGSIZE;
    if (__atomic_load_n(&r->h->broken, __ATOMIC_RELAXED))
        return -EPIPE;
    if (deadline == 0) {
        /* Do not copy megabytes only to find there is no room for the record. */
        int rc = ring_lock(r);
        if (rc != 0)
            return rc;
        int room = fits(r->h, &r->h->st, rec_size(SPILL_BODY));
        ring_unlock(r);
        if (!room)
            return -EAGAIN;
    }
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t spill[2];
    spill[0] = __atomic_fetch_add(&r->h->spill_next, round_up(len, page), __ATOMIC_SEQ_CST);
    spill[1] = len;
    int rc = write_all(r->fd, data, len, spill[0]);
    if (rc == 0) {
        done = 0;
        rc = put_records(r, NULL, &len, 1, spill, deadline, add_tasks, &done);
    }
    if (rc != 0)
        release_spill(r, spill[0], len);
    return rc;
}

int prc_ring_wait_room(prc_ring *r, uint64_t len, int64_t deadline)
{
    uint64_t size = rec_size(len <= prc_ring_inline_limit(r) ? len : SPILL_BODY);
    int rc = ring_lock(r);
    while (rc == 0 && !fits(r->h, &r->h->st, size))
        rc = wait_locked(r, &r->h->space_seq, &r->h->writers_waiting, deadline);
    if (rc == 0)
        ring_unlock(r);
    return rc;
}

/* ---- getting ---- */

static int read_all(int fd, char *buf, uint64_t len, uint64_t off)
{
    while (len > 0) {
        ssize_t got = pread(fd, buf, len, (off_t)off);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (got == 0)
            return -EIO;
        buf += got, len -= (uint64_t)got, off += (uint64_t)got;
    }
    return 0;
}

/* Wait (lock held on return 0) until the ring has a message. */
static int wait_for_data(prc_ring *r, int64_t deadline)
{
    int rc = ring_lock(r);
    while (rc == 0 && r->h->st.count == 0)
        rc = wait_locked(r, &r->h->data_seq, &r->h->readers_waiting, deadline);
    return rc;
}

/* An empty ring starts again at the beginning of the data area: while consumers keep
 * up, producers and consumers reuse the same few cache lines and pages instead of
 * cycling through the whole capacity, which would make all of it resident. */
static int rewind_if_empty(prc_ring *r, ring_state *s)
{
    ring_header *h = r->h;
    if (s->count != 0)
        return 0;
    /* Only after a real backlog (more than half the ring since the last rewind): a
     * ring that merely passes large messages one at a time keeps its pages. */
    int backlog = s->tail - h->rewound_at > h->capacity / 2 && h->capacity > KEPT_DATA;
    s->head = s->tail = round_up(s->tail, h->capacity);
    h->rewound_at = s->tail;
    return backlog;
}

/* After a backlog, give back the pages beyond the first KEPT_DATA bytes: a queue that
 * once held megabytes should not keep them resident for ever.  Called after the commit
 * (a reader killed before it must still find its record) and with the lock held (no
 * writer is using the area). */
static void give_back_pages(prc_ring *r)
{
    ring_header *h = r->h;
    fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(h->data_offset + KEPT_DATA),
              (off_t)(h->capacity - KEPT_DATA));
}

/* Take the record at head (lock held; it is released).  The payload goes to `dst`. */
static int take_one(prc_ring *r, char *dst, uint32_t len, uint32_t kind)
{
    ring_header *h = r->h;
    ring_state s = h->st;
    uint64_t spill[2] = {0, 0};
    if (kind == KIND_INLINE) {
        if (debug_stop_where == 2 && len >= 2) {
            copy_out(r, s.head + REC_HEADER, dst, len / 2);
            debug_stop(r, 2);
        }
        copy_out(r, s.head + REC_HEADER, dst, len);
        s.head += rec_size(len);
    } else {
        copy_out(r, s.head + REC_HEADER, spill, SPILL_BODY);
        s.head += rec_size(SPILL_BODY);
    }
    s.count--;
    int backlog = rewind_if_empty(r, &s);
    commit(r, &s, 0);
    if (backlog)
        give_back_pages(r);
    bump(&h->space_seq);
    ring_unlock(r);
    wake_if_waiting(&h->space_seq, &h->writers_waiting, INT_MAX);
    if (kind == KIND_SPILL) {
        int rc = read_all(r->fd, dst, len, spill[0]);
        release_spill(r, spill[0], len);
        return rc;
    }
    return 0;
}

int prc_ring_get(prc_ring *r, char *buf, uint64_t bufsize, int64_t deadline, uint64_t *len_out)
{
    int rc = wait_for_data(r, deadline);
    if (rc != 0)
        return rc;
    uint32_t len, kind;
    read_rec_header(r, r->h->st.head, &len, &kind);
    *len_out = len;
    if (len > bufsize) {
        ring_unlock(r);
        return -ENOBUFS;
    }
    return take_one(r, buf, len, kind);
}

int prc_ring_get_many(prc_ring *r, char *buf, uint64_t bufsize, uint32_t max_n, int64_t deadline, uint32_t *n_out,
                      uint64_t *used, uint64_t *lens)
{
    *n_out = 0;
    *used = 0;
    if (max_n == 0)
        return -EINVAL;
    int rc = wait_for_data(r, deadline);
    if (rc != 0)
        return rc;
    ring_header *h = r->h;
    ring_state s = h->st;
    uint32_t len, kind;
    read_rec_header(r, s.head, &len, &kind);
    if (len > bufsize) {
        *used = len;
        ring_unlock(r);
        return -ENOBUFS;
    }
    if (kind == KIND_SPILL) {
        *n_out = 1;
        *used = len;
        lens[0] = len;
        return take_one(r, buf, len, kind);
    }
    /* Payloads are packed back to back: a stream of pickles can be read in one go. */
    uint64_t pos = s.head, out = 0, n = 0;
    while (n < max_n && pos < s.tail) {
        read_rec_header(r, pos, &len, &kind);
        if (kind != KIND_INLINE || out + len > bufsize)
            break;
        copy_out(r, pos + REC_HEADER, buf + out, len);
        lens[n++] = len;
        out += len;
        pos += rec_size(len);
    }
    *used = out;
    *n_out = (uint32_t)n;
    s.head = pos;
    s.count -= n;
    int backlog = rewind_if_empty(r, &s);
    commit(r, &s, 0);
    if (backlog)
        give_back_pages(r);
    bump(&h->space_seq);
    ring_unlock(r);
    wake_if_waiting(&h->space_seq, &h->writers_waiting, INT_MAX);
    return 0;
}

/* ---- tasks ---- */

int prc_ring_tasks_add(prc_ring *r, int64_t n)
{
    int rc = ring_lock(r);
    if (rc != 0)
        return rc;
    ring_state s = r->h->st;
    s.unfinished += n;
    commit(r, &s, 0);
    ring_unlock(r);
    return 0;
}

int prc_ring_task_done(prc_ring *r, int64_t n)
{
    ring_header *h = r->h;
    int rc = ring_lock(r);
    if (rc != 0)
        return rc;
    ring_state s = h->st;
    if (s.unfinished < n) {
        ring_unlock(r);
        return -ERANGE;
    }
    s.unfinished -= n;
    commit(r, &s, 0);
    if (s.unfinished == 0)
        bump(&h->tasks_seq);
    ring_unlock(r);
    if (s.unfinished == 0)
        wake_if_waiting(&h->tasks_seq, &h->joiners_waiting, INT_MAX);
    return 0;
}

int prc_ring_join(prc_ring *r, int64_t deadline)
{
    int rc = ring_lock(r);
    while (rc == 0 && r->h->st.unfinished > 0)
        rc = wait_locked(r, &r->h->tasks_seq, &r->h->joiners_waiting, deadline);
    if (rc == 0)
        ring_unlock(r);
    return rc;
}

#else /* not Linux: the ring needs memfd and futexes; other platforms are a documented gap. */

prc_ring *prc_ring_create(uint64_t capacity, uint64_t maxsize, int *err) { *err = ENOSYS; return NULL; }
prc_ring *prc_ring_attach(int fd, int *err) { *err = ENOSYS; return NULL; }
void prc_ring_free(prc_ring *r) {}
int prc_ring_fd(prc_ring *r) { return -1; }
uint64_t prc_ring_capacity(prc_ring *r) { return 0; }
uint64_t prc_ring_maxsize(prc_ring *r) { return 0; }
uint64_t prc_ring_inline_limit(prc_ring *r) { return 0; }
uint64_t prc_ring_count(prc_ring *r) { return 0; }
int64_t prc_ring_unfinished(prc_ring *r) { return 0; }
int prc_ring_is_broken(prc_ring *r) { return 1; }
uint32_t prc_ring_recoveries(prc_ring *r) { return 0; }
int prc_ring_put(prc_ring *r, const char *d, uint64_t l, int64_t dl, int t) { return -ENOSYS; }
int prc_ring_put_many(prc_ring *r, const char *d, const uint64_t *e, uint32_t n, int64_t dl, int t, uint32_t *done)
{ return -ENOSYS; }
int prc_ring_get(prc_ring *r, char *b, uint64_t bs, int64_t dl, uint64_t *l) { return -ENOSYS; }
int prc_ring_get_many(prc_ring *r, char *b, uint64_t bs, uint32_t m, int64_t dl, uint32_t *n, uint64_t *u, uint64_t *l)
{ *n = 0; *u = 0; return -ENOSYS; }
int prc_ring_tasks_add(prc_ring *r, int64_t n) { return -ENOSYS; }
int prc_ring_wait_room(prc_ring *r, uint64_t len, int64_t dl) { return -ENOSYS; }
int prc_ring_task_done(prc_ring *r, int64_t n) { return -ENOSYS; }
int prc_ring_join(prc_ring *r, int64_t dl) { return -ENOSYS; }
void prc_ring_debug_stop_at(int where) {}
uint32_t prc_ring_debug_stops(prc_ring *r) { return 0; }

#endif
