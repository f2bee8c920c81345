/* Batches on the ring: many messages per lock acquisition (put_many, get_many). */
#define _GNU_SOURCE
#include "ring_internal.h"

#if defined(__linux__)
#include <errno.h>

int prc_ring_put_many(prc_ring *r, const char *data, const uint64_t *ends, uint32_t n, int64_t deadline,
                      int add_tasks, uint32_t *done)
{
    uint64_t limit = prc_ring_inline_limit(r);
    for (uint32_t i = *done; i < n; i++) {
        if (ends[i] - (i ? ends[i - 1] : 0) > limit || (i && ends[i] < ends[i - 1]))
            return -EMSGSIZE;
    }
    return prc_ring_put_records(r, data, ends, n, NULL, deadline, add_tasks, done);
}

int prc_ring_get_many(prc_ring *r, char *buf, uint64_t bufsize, uint32_t max_n, int64_t deadline, uint32_t *n_out,
                      uint64_t *used, uint64_t *lens)
{
    *n_out = 0;
    *used = 0;
    if (max_n == 0)
        return -EINVAL;
    int rc = prc_ring_wait_for_data(r, deadline);
    if (rc != 0)
        return rc;
    ring_header *h = r->h;
    ring_state s = h->st;
    uint32_t len, kind;
    read_rec_header(r, s.head, &len, &kind);
    if (len > bufsize) {
        *used = len;
        prc_ring_unlock(r);
        return -ENOBUFS;
    }
    if (kind == KIND_SPILL) {
        *n_out = 1;
        *used = len;
        lens[0] = len;
        return prc_ring_take_one(r, buf, len, kind);
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
    int backlog = prc_ring_rewind_if_empty(r, &s);
    prc_ring_commit(r, &s, 0);
    if (backlog)
        prc_ring_give_back_pages(r);
    bump(&h->space_seq);
    prc_ring_unlock(r);
    wake_if_waiting(&h->space_seq, &h->writers_waiting, INT_MAX);
    return 0;
}

#endif /* __linux__: ring_stub.c stands in elsewhere */
