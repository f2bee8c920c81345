/* The ring on platforms other than Linux: it needs memfd and futexes, so every call
 * fails with ENOSYS (a documented gap). */
#include "ring.h"

#include <errno.h>

#if !defined(__linux__)

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
int prc_ring_putv(prc_ring *r, const char *const *bufs, const uint64_t *lens, uint32_t nbufs, int64_t dl, int t)
{ return -ENOSYS; }
int prc_quick_ring_try_put(prc_ring *r, const char *data, uint64_t len, int add_tasks) { return -EAGAIN; }
int prc_quick_ring_try_get(prc_ring *r, char *buf, uint64_t bufsize, uint64_t *len_out) { return -EAGAIN; }
int prc_ring_hold(prc_ring *r, int64_t deadline, int *held, uint64_t *len, char **payload) { return -ENOSYS; }
void prc_quick_ring_take_held(prc_ring *r, int *held) {}
void prc_quick_ring_release_held(prc_ring *r, int *held) {}

#endif
