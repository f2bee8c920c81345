/* Quick calls on the ring, and reading a large message in place.
 *
 * The quick calls put or get with the GIL held (see quick_calls.h), so the common case of a small message, a free lock and room (or
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
    uint32_t len, kind;
    if (rc == -EAGAIN) {
        /* Busy: a racy look at the head record only chooses the caller's next step. */
        read_rec_header(r, __atomic_load_n(&h->st.head, __ATOMIC_RELAXED), &len, &kind);
        *len_out = len;
        return kind == KIND_INLINE && len > QUICK_MAX ? -E2BIG : -EAGAIN;
    }
    if (rc != 0)
        return rc;
    if (h->st.count == 0) {
        prc_ring_unlock(r);
        return -EAGAIN;
    }
    read_rec_header(r, h->st.head, &len, &kind);
    if (kind != KIND_INLINE || len > QUICK_MAX) {
        prc_ring_unlock(r);
        *len_out = len;
        return kind == KIND_INLINE ? -E2BIG : -EAGAIN;
    }
    *len_out = len;
    if (len > bufsize) {
        prc_ring_unlock(r);
        return -ENOBUFS;
    }
    return prc_ring_take_one(r, buf, len, kind);
}

/* The head record's payload, if it lies in one piece in the ring, else NULL. */
static char *head_payload(prc_ring *r, uint64_t *len_out)
{
    ring_header *h = r->h;
    uint32_t len, kind;
    if (h->st.count == 0)
        return NULL;
    read_rec_header(r, h->st.head, &len, &kind);
    uint64_t off = (h->st.head + REC_HEADER) % h->capacity;
    if (kind != KIND_INLINE || off + len > h->capacity)
        return NULL;
    *len_out = len;
    return (char *)r->data + off;
}

int prc_ring_hold(prc_ring *r, int64_t deadline, int *held, uint64_t *len, char **payload)
{
    if (prc_ring_debug_stop_where != 0)
        return -ENOMSG;
    int rc = prc_ring_wait_for_data(r, deadline);
    if (rc != 0)
        return rc;
    *payload = head_payload(r, len);
    if (*payload == NULL) {
        prc_ring_unlock(r);
        return -ENOMSG;
    }
    *held = 1;
    return 0;
}

void prc_quick_ring_take_held(prc_ring *r, int *held)
{
    ring_header *h = r->h;
    ring_state s = h->st;
    uint32_t len, kind;
    read_rec_header(r, s.head, &len, &kind);
    s.head += rec_size(len);
    s.count--;
    int backlog = prc_ring_rewind_if_empty(r, &s);
    prc_ring_commit(r, &s, 0);
    if (backlog)
        prc_ring_give_back_pages(r);
    bump(&h->space_seq);
    *held = 0;
    prc_ring_unlock(r);
    wake_if_waiting(&h->space_seq, &h->writers_waiting, INT_MAX);
}

void prc_quick_ring_release_held(prc_ring *r, int *held)
{
    *held = 0;
    prc_ring_unlock(r);
}

#endif /* __linux__: ring_stub.c stands in elsewhere */
