/* A multi-producer, multi-consumer byte-message ring in shared memory.
 *
 * The ring lives in one anonymous memory file (memfd): a header with a robust,
 * process-shared mutex and the indices, then the data area.  Children inherit the
 * descriptor (fork) or receive it when they are started (spawn, forkserver); nothing
 * has a name, so nothing can be left behind in /dev/shm.  See ring.c for the design.
 *
 * Every function returns 0 or a negative errno value:
 *   -EAGAIN     not possible without waiting, and the caller asked not to wait
 *   -ETIMEDOUT  the deadline passed
 *   -EINTR      a signal arrived while waiting (the caller runs handlers and retries)
 *   -ENOBUFS    the caller's buffer is too small; *needed says how large it must be
 *   -EPIPE      the ring is broken (a process died holding it in a state that cannot
 *               be repaired); nothing more can be done with it
 *   -EMSGSIZE   a message is too large for this operation
 * Deadlines are absolute CLOCK_MONOTONIC nanoseconds (prc_monotonic_ns), with -1 for
 * "wait forever" and 0 for "do not wait".
 */
#ifndef PROCESSING_RING_H
#define PROCESSING_RING_H

#include <stdint.h>
#include <stddef.h>

typedef struct prc_ring prc_ring;

/* Create a ring with at least `capacity` data bytes holding at most `maxsize`
 * messages (0: no limit but the bytes).  On failure return NULL with *err set. */
prc_ring *prc_ring_create(uint64_t capacity, uint64_t maxsize, int *err);

/* Map the ring whose memory file is `fd`; the handle owns `fd` from then on. */
prc_ring *prc_ring_attach(int fd, int *err);

/* Unmap the ring and close its descriptor in this process. */
void prc_ring_free(prc_ring *ring);

int prc_ring_fd(prc_ring *ring);
uint64_t prc_ring_capacity(prc_ring *ring);
uint64_t prc_ring_maxsize(prc_ring *ring);
/* Largest payload stored inline; larger ones go to the ring's spill area. */
uint64_t prc_ring_inline_limit(prc_ring *ring);
uint64_t prc_ring_count(prc_ring *ring);
int64_t prc_ring_unfinished(prc_ring *ring);
int prc_ring_is_broken(prc_ring *ring);
uint32_t prc_ring_recoveries(prc_ring *ring);

/* Put one message of any size.  `add_tasks` non-zero counts it as an unfinished task
 * in the same step (JoinableQueue). */
int prc_ring_put(prc_ring *ring, const char *data, uint64_t len, int64_t deadline, int add_tasks);

/* Put one message of any size whose payload is the `nbufs` pieces bufs[i] (lens[i]
 * bytes each) one after the other: no joined copy is needed. */
int prc_ring_putv(prc_ring *r, const char *const *bufs, const uint64_t *lens, uint32_t nbufs, int64_t deadline,
                  int add_tasks);

/* Quick calls (GIL held, see quick_calls.h): put or take one small message only if
 * that needs no waiting.  -EAGAIN whenever anything would wait (the lock is held, the
 * ring is full or empty) or the message is large: then make the ordinary call.
 * try_get returns -ENOBUFS with *len the size needed when `buf` is too small. */
int prc_quick_ring_try_put(prc_ring *r, const char *data, uint64_t len, int add_tasks);
int prc_quick_ring_try_get(prc_ring *r, char *buf, uint64_t bufsize, uint64_t *len);

/* Reading a large message in place.  try_get returns -E2BIG with *len for an inline
 * message above its own limit (also, from a racy look, when the lock is busy); then
 * prc_ring_hold waits for a message like prc_ring_get and returns with the lock held,
 * *held = 1 and *payload the head message's bytes in this process's mapping, if they
 * lie in one piece (-ENOMSG otherwise, lock not held: make the ordinary call).  The
 * caller reads them, with no code of its users running, and then either takes the
 * message (take_held) or leaves it (release_held), quick calls that release the lock
 * and clear *held, which the caller checks on every way out. */
int prc_ring_hold(prc_ring *r, int64_t deadline, int *held, uint64_t *len, char **payload);
void prc_quick_ring_take_held(prc_ring *r, int *held);
void prc_quick_ring_release_held(prc_ring *r, int *held);

/* Put messages *done..n-1, stored back to back in `data`: message i spans
 * [ends[i-1], ends[i]) (from 0 for the first) and is at most prc_ring_inline_limit
 * bytes.  In order, as many per lock acquisition as fit; *done advances past every
 * message put, also when an error is returned. */
int prc_ring_put_many(prc_ring *ring, const char *data, const uint64_t *ends, uint32_t n,
                      int64_t deadline, int add_tasks, uint32_t *done);

/* Wait until a message of `len` bytes would fit (without putting anything). */
int prc_ring_wait_room(prc_ring *ring, uint64_t len, int64_t deadline);

/* Take one message into `buf`; *len is its length.  With -ENOBUFS nothing is taken
 * and *len is the size needed. */
int prc_ring_get(prc_ring *ring, char *buf, uint64_t bufsize, int64_t deadline, uint64_t *len);

/* Take up to `max_n` messages (at least one) into `buf`, payloads back to back, with
 * their lengths in lens[0..*n-1] (room for max_n); *used is the bytes written.  With
 * -ENOBUFS nothing is taken and *used is the size the first message needs. */
int prc_ring_get_many(prc_ring *ring, char *buf, uint64_t bufsize, uint32_t max_n,
                      int64_t deadline, uint32_t *n, uint64_t *used, uint64_t *lens);

/* JoinableQueue accounting, kept in the shared header. */
int prc_ring_tasks_add(prc_ring *ring, int64_t n);
int prc_ring_task_done(prc_ring *ring, int64_t n);   /* -ERANGE: more done than put */
int prc_ring_join(prc_ring *ring, int64_t deadline);

/* Test-only fault injection (off unless called): make this process stop for ever,
 * holding the lock, at `where` (1: half-way through copying a put, 2: half-way through
 * copying a get, 3: between the redo record and the indices of a put's commit).
 * Each stop increments a shared counter that prc_ring_debug_stops reads. */
void prc_ring_debug_stop_at(int where);
uint32_t prc_ring_debug_stops(prc_ring *ring);

#endif
