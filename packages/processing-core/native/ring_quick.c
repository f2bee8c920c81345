/* Quick calls on the ring: a put or get that runs with the GIL held (see
 * quick_calls.h), so the common case of a small message, a free lock and room (or
 * data) costs no GIL release and retake.  They never wait: whenever anything would
 * (the lock is held, the ring is full or empty), or the message is large enough that
 * copying it should not hold the GIL, or a test stop point is armed, they return
 * -EAGAIN and the caller makes the ordinary call, which does the same thing with the
 * GIL released and every wait and error path.
 */
#define _GNU_SOURCE
#include "ring_internal.h"

#if defined(__linux__)
#include <errno.h>

/* Messages above this size take the ordinary call: their copy should let other
 * threads run. */
#define QUICK_MAX (64u << 10)

int prc_quick_ring_try_put(prc_ring *r, const char *data, uint64_t len, int add_tasks)
{
    if (len > QUICK_MAX || prc_ring_debug_stop_where != 0)
        return -EAGAIN;
    ring_header *h = r->h;
    int rc = prc_ring_try_lock(r);
    if (rc != 0)
        return rc;
    ring_state s = h->st;
    uint64_t size = rec_size(len);
    if (!fits(h, &s, size)) {
        prc_ring_unlock(r);
        return -EAGAIN;
    }
    write_rec_header(r, s.tail, (uint32_t)len, KIND_INLINE);
    copy_in(r, s.tail + REC_HEADER, data, len);
    s.tail += size;
    s.count++;
    if (add_tasks)
        s.unfinished++;
    prc_ring_commit(r, &s, 0);
    bump(&h->data_seq);
    prc_ring_unlock(r);
    wake_if_waiting(&h->data_seq, &h->readers_waiting, 1);
    return 0;
}

int prc_quick_ring_try_get(prc_ring *r, char *buf, uint64_t bufsize, uint64_t *len_out)
{
    if (prc_ring_debug_stop_where != 0)
        return -EAGAIN;
    ring_header *h = r->h;
    /* An empty ring is the common miss: see it without touching the lock's line. */
    if (__atomic_load_n(&h->st.count, __ATOMIC_RELAXED) == 0)
        return -EAGAIN;
    int rc = prc_ring_try_lock(r);
    if (rc != 0)
        return rc;
    uint32_t len, kind;
    if (h->st.count == 0) {
        prc_ring_unlock(r);
        return -EAGAIN;
    }
    read_rec_header(r, h->st.head, &len, &kind);
    if (kind != KIND_INLINE || len > QUICK_MAX) {
        prc_ring_unlock(r);
        return -EAGAIN;
    }
    *len_out = len;
    if (len > bufsize) {
        prc_ring_unlock(r);
        return -ENOBUFS;
    }
    return prc_ring_take_one(r, buf, len, kind);
}

#endif /* __linux__: ring_stub.c stands in elsewhere */
