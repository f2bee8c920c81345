/* A multi-producer, multi-consumer byte-message ring in shared memory: creation,
 * attaching, single puts and gets, and the JoinableQueue task count.  The design is
 * described in ring_internal.h; the lock lives in ring_lock.c, batches in ring_batch.c.
 */
#define _GNU_SOURCE
#include "ring_internal.h"

#if defined(__linux__)
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

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
    h->gave_back_ns = prc_monotonic_ns(); /* a new ring has nothing to give back yet */
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

/* ---- putting ---- */

/* Put records; `spill` non-NULL makes the single record a SPILL one pointing at it. */
/* Message i of `data` spans [ends[i-1], ends[i]) (from 0 for the first).  Starts at
 * message *done and advances it. */
int prc_ring_put_records(prc_ring *r, const char *data, const uint64_t *ends, uint32_t n, const uint64_t *spill,
                       int64_t deadline, int add_tasks, uint32_t *done)
{
    ring_header *h = r->h;
    int rc = prc_ring_lock(r);
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
            } else if (prc_ring_debug_stop_where == 1 && len >= 2) {
                copy_in(r, s.tail + REC_HEADER, data + begin, len / 2);
                prc_ring_debug_stop(r, 1);
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
            prc_ring_commit(r, &s, 3);
            bump(&h->data_seq);
            *done = i;
            prc_ring_unlock(r);
            wake_if_waiting(&h->data_seq, &h->readers_waiting, (int)(i - start));
            if (*done == n)
                return 0;
            rc = prc_ring_lock(r);
            if (rc != 0)
                return rc;
            continue;
        }
        rc = prc_ring_wait_locked(r, &h->space_seq, &h->writers_waiting, deadline);
        if (rc != 0)
            return rc;
    }
    prc_ring_unlock(r);
    return 0;
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

void prc_ring_release_spill(prc_ring *r, uint64_t off, uint64_t len)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)round_up(len, page));
}

/* Put one message larger than the inline limit, gathered from `nbufs` pieces: the
 * payload goes to the spill area outside the lock, then a SPILL record into the ring. */
static int put_spilled(prc_ring *r, const char *const *bufs, const uint64_t *lens, uint32_t nbufs, uint64_t len,
                       int64_t deadline, int add_tasks)
{
    if (len > UINT32_MAX)
        return -EMSGSIZE;
    if (__atomic_load_n(&r->h->broken, __ATOMIC_RELAXED))
        return -EPIPE;
    if (deadline == 0) {
        /* Do not copy megabytes only to find there is no room for the record. */
        int rc = prc_ring_lock(r);
        if (rc != 0)
            return rc;
        int room = fits(r->h, &r->h->st, rec_size(SPILL_BODY));
        prc_ring_unlock(r);
        if (!room)
            return -EAGAIN;
    }
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t spill[2];
    spill[0] = __atomic_fetch_add(&r->h->spill_next, round_up(len, page), __ATOMIC_SEQ_CST);
    spill[1] = len;
    int rc = 0;
    for (uint64_t i = 0, off = spill[0]; rc == 0 && i < nbufs; off += lens[i], i++)
        rc = write_all(r->fd, bufs[i], lens[i], off);
    if (rc == 0) {
        uint32_t done = 0;
        rc = prc_ring_put_records(r, NULL, &len, 1, spill, deadline, add_tasks, &done);
    }
    if (rc != 0)
        prc_ring_release_spill(r, spill[0], len);
    return rc;
}

int prc_ring_put(prc_ring *r, const char *data, uint64_t len, int64_t deadline, int add_tasks)
{
    uint32_t done = 0;
    if (len <= prc_ring_inline_limit(r))
        return prc_ring_put_records(r, data, &len, 1, NULL, deadline, add_tasks, &done);
    return put_spilled(r, &data, &len, 1, len, deadline, add_tasks);
}

int prc_ring_putv(prc_ring *r, const char *const *bufs, const uint64_t *lens, uint32_t nbufs, int64_t deadline,
                  int add_tasks)
{
    uint64_t len = 0;
    for (uint32_t i = 0; i < nbufs; i++)
        len += lens[i];
    if (len > prc_ring_inline_limit(r))
        return put_spilled(r, bufs, lens, nbufs, len, deadline, add_tasks);
    ring_header *h = r->h;
    uint64_t size = rec_size(len);
    int rc = prc_ring_lock(r);
    while (rc == 0 && !fits(h, &h->st, size))
        rc = prc_ring_wait_locked(r, &h->space_seq, &h->writers_waiting, deadline);
    if (rc != 0)
        return rc;
    ring_state s = h->st;
    write_rec_header(r, s.tail, (uint32_t)len, KIND_INLINE);
    for (uint64_t i = 0, pos = s.tail + REC_HEADER; i < nbufs; pos += lens[i], i++) {
        copy_in(r, pos, bufs[i], lens[i]);
        if (i == 0 && nbufs > 1)
            prc_ring_debug_stop(r, 1); /* test stop point: half-way through a put */
    }
    s.tail += size;
    s.count++;
    if (add_tasks)
        s.unfinished++;
    prc_ring_commit(r, &s, 3);
    bump(&h->data_seq);
    prc_ring_unlock(r);
    wake_if_waiting(&h->data_seq, &h->readers_waiting, 1);
    return 0;
}

int prc_ring_wait_room(prc_ring *r, uint64_t len, int64_t deadline)
{
    uint64_t size = rec_size(len <= prc_ring_inline_limit(r) ? len : SPILL_BODY);
    int rc = prc_ring_lock(r);
    while (rc == 0 && !fits(r->h, &r->h->st, size))
        rc = prc_ring_wait_locked(r, &r->h->space_seq, &r->h->writers_waiting, deadline);
    if (rc == 0)
        prc_ring_unlock(r);
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
int prc_ring_wait_for_data(prc_ring *r, int64_t deadline)
{
    int rc = prc_ring_lock(r);
    while (rc == 0 && r->h->st.count == 0)
        rc = prc_ring_wait_locked(r, &r->h->data_seq, &r->h->readers_waiting, deadline);
    return rc;
}

/* An empty ring starts again at the beginning of the data area: while consumers keep
 * up, producers and consumers reuse the same few cache lines and pages instead of
 * cycling through the whole capacity, which would make all of it resident. */
int prc_ring_rewind_if_empty(prc_ring *r, ring_state *s)
{
    ring_header *h = r->h;
    if (s->count != 0)
        return 0;
    /* Only after a real backlog (more than half the ring since the last rewind): a
     * ring that merely passes large messages one at a time keeps its pages. */
    int backlog = s->tail - h->rewound_at > h->capacity / 2 && h->capacity > KEPT_DATA
                  && prc_monotonic_ns() - h->gave_back_ns >= GIVE_BACK_EVERY_NS;
    s->head = s->tail = round_up(s->tail, h->capacity);
    h->rewound_at = s->tail;
    return backlog;
}

/* After a backlog, give back the pages beyond the first KEPT_DATA bytes: a queue that
 * once held megabytes should not keep them resident for ever.  Called after the commit
 * (a reader killed before it must still find its record) and with the lock held (no
 * writer is using the area). */
void prc_ring_give_back_pages(prc_ring *r)
{
    ring_header *h = r->h;
    h->gave_back_ns = prc_monotonic_ns();
    fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(h->data_offset + KEPT_DATA),
              (off_t)(h->capacity - KEPT_DATA));
}

/* Take the record at head (lock held; it is released).  The payload goes to `dst`. */
int prc_ring_take_one(prc_ring *r, char *dst, uint32_t len, uint32_t kind)
{
    ring_header *h = r->h;
    ring_state s = h->st;
    uint64_t spill[2] = {0, 0};
    if (kind == KIND_INLINE) {
        if (prc_ring_debug_stop_where == 2 && len >= 2) {
            copy_out(r, s.head + REC_HEADER, dst, len / 2);
            prc_ring_debug_stop(r, 2);
        }
        copy_out(r, s.head + REC_HEADER, dst, len);
        s.head += rec_size(len);
    } else {
        copy_out(r, s.head + REC_HEADER, spill, SPILL_BODY);
        s.head += rec_size(SPILL_BODY);
    }
    s.count--;
    int backlog = prc_ring_rewind_if_empty(r, &s);
    prc_ring_commit(r, &s, 0);
    if (backlog)
        prc_ring_give_back_pages(r);
    bump(&h->space_seq);
    prc_ring_unlock(r);
    wake_if_waiting(&h->space_seq, &h->writers_waiting, INT_MAX);
    if (kind == KIND_SPILL) {
        int rc = read_all(r->fd, dst, len, spill[0]);
        prc_ring_release_spill(r, spill[0], len);
        return rc;
    }
    return 0;
}

int prc_ring_get(prc_ring *r, char *buf, uint64_t bufsize, int64_t deadline, uint64_t *len_out)
{
    int rc = prc_ring_wait_for_data(r, deadline);
    if (rc != 0)
        return rc;
    uint32_t len, kind;
    read_rec_header(r, r->h->st.head, &len, &kind);
    *len_out = len;
    if (len > bufsize) {
        prc_ring_unlock(r);
        return -ENOBUFS;
    }
    return prc_ring_take_one(r, buf, len, kind);
}

/* ---- tasks ---- */

int prc_ring_tasks_add(prc_ring *r, int64_t n)
{
    int rc = prc_ring_lock(r);
    if (rc != 0)
        return rc;
    ring_state s = r->h->st;
    s.unfinished += n;
    prc_ring_commit(r, &s, 0);
    prc_ring_unlock(r);
    return 0;
}

int prc_ring_task_done(prc_ring *r, int64_t n)
{
    ring_header *h = r->h;
    int rc = prc_ring_lock(r);
    if (rc != 0)
        return rc;
    ring_state s = h->st;
    if (s.unfinished < n) {
        prc_ring_unlock(r);
        return -ERANGE;
    }
    s.unfinished -= n;
    prc_ring_commit(r, &s, 0);
    if (s.unfinished == 0)
        bump(&h->tasks_seq);
    prc_ring_unlock(r);
    if (s.unfinished == 0)
        wake_if_waiting(&h->tasks_seq, &h->joiners_waiting, INT_MAX);
    return 0;
}

int prc_ring_join(prc_ring *r, int64_t deadline)
{
    int rc = prc_ring_lock(r);
    while (rc == 0 && r->h->st.unfinished > 0)
        rc = prc_ring_wait_locked(r, &r->h->tasks_seq, &r->h->joiners_waiting, deadline);
    if (rc == 0)
        prc_ring_unlock(r);
    return rc;
}

#endif /* __linux__: ring_stub.c stands in elsewhere */
