/* Framed message I/O for connections.
 *
 * A frame is a length header followed by the payload.  The header is 4 bytes,
 * big-endian; lengths up to 0x7fffffff use it alone, longer ones are announced by
 * 0xffffffff followed by an 8-byte big-endian length (the same framing as the
 * standard library's connections, so the two can exchange raw bytes).
 *
 * Receiving goes through a per-connection read-ahead buffer: one read() takes in
 * whatever the peer has written (many small messages at once), and the following
 * receives are served from memory.  Large payloads skip the buffer and are read
 * straight into their final object.
 *
 * Every call records its progress in the caller's state, so that a call interrupted
 * by a signal (-EINTR) can be resumed after the Python signal handlers ran, without
 * losing or repeating a byte.  A blocking call waits at most once, and only before
 * it moved any data: once data moved, it returns -EINTR ("call again") instead of
 * waiting, so that the handlers of a signal that arrived meanwhile run first.
 *
 * The prc_quick_* entry points never wait (see quick_calls.h: they keep the GIL):
 * they serve what is buffered, or try one non-blocking read or write, and answer
 * PRC_FRAME_AGAIN when the blocking entry point must take over.
 */
#ifndef PROCESSING_CONN_H
#define PROCESSING_CONN_H

#include <stdint.h>
#include <stddef.h>

/* Results besides a complete message's length (>= 0) and -errno. */
enum {
    PRC_FRAME_NEED_BUFFER = -1000001, /* header read; the payload does not fit: length in state */
    PRC_FRAME_EOF = -1000002,         /* the peer closed cleanly between messages */
    PRC_FRAME_TRUNCATED = -1000003,   /* the peer closed in the middle of a message */
    PRC_FRAME_TOO_LONG = -1000004,    /* the header announces more than the allowed maximum */
    PRC_FRAME_AGAIN = -1000005,       /* a quick call cannot finish without waiting */
    PRC_FRAME_SHORT_MAX = 0x7fffffff  /* longest payload announced with the short header */
};

/* Where a frame being received stands; zero it before the first call. */
typedef struct prc_frame_in {
    unsigned char header[12];
    uint32_t header_got; /* header bytes received so far */
    uint32_t header_len; /* 4, or 12 for a long header */
    uint64_t length;     /* payload length, valid once the header is complete */
    uint64_t got;        /* payload bytes received so far */
} prc_frame_in;

/* The receiving side of a connection.  Zero it, then set buf/cap (the read-ahead
 * buffer, owned by the caller), read_ahead and spin_ns. */
typedef struct prc_conn_in {
    prc_frame_in frame;
    char *buf;            /* read-ahead buffer */
    uint64_t cap;         /* its size */
    uint64_t start;       /* buffered bytes not yet handed out: buf[start:end] */
    uint64_t end;
    int32_t read_ahead;   /* 0: read only the bytes of the message being received */
    int32_t no_nowait;    /* set once a pipe refused RWF_NOWAIT: poll before reading */
    int32_t spin_misses;  /* consecutive spins that ended without data */
    int32_t spin_skip;    /* waits left that block at once (backing off after a vain spin) */
    int32_t spun;         /* the last call spun in vain: block without spinning */
    int32_t unused;
    int64_t spin_ns;      /* how long to poll before blocking; 0 never spins */
    uint64_t populated;   /* payload bytes of a large message already prefaulted */
} prc_conn_in;

/* The sending side of a connection, for quick sends. */
typedef struct prc_conn_out {
    int32_t fd;          /* -1 when closed or read-only: the quick send answers -EBADF */
    int32_t is_socket;
    int32_t nonblocking; /* the descriptor is O_NONBLOCK: a plain write() never waits */
    int32_t no_quick;    /* the descriptor cannot write without blocking: always AGAIN */
    uint64_t progress;   /* bytes of the current frame already written */
} prc_conn_out;

/* 1 if fd is a socket, 0 if not, -errno on error. */
int prc_fd_is_socket(int fd);

/* Send one frame of len bytes from buf.  *progress counts the bytes of header and
 * payload already written (0 for a new frame).  Returns 0 once the whole frame is
 * written (and sets *progress back to 0 for the next frame), or -errno (with
 * *progress updated, to resume from) on error or interruption. */
int64_t prc_frame_send(int fd, int is_socket, const char *buf, uint64_t len, uint64_t *progress);

/* The same without ever waiting, for the descriptor of `out`: PRC_FRAME_AGAIN when
 * the frame did not go out whole (or is too long for a quick call; out->no_quick is
 * set when the descriptor cannot write without blocking at all); out->progress says
 * what went out, for prc_frame_send to finish. */
int64_t prc_quick_send(prc_conn_out *out, const char *buf, uint64_t len);

/* Receive (the rest of) one frame.  The payload goes to out when its length fits in
 * cap; otherwise PRC_FRAME_NEED_BUFFER is returned right after the header and the
 * caller calls again with a buffer of st->frame.length bytes.  maxlen limits the
 * accepted length (checked before the caller allocates anything).  Returns the
 * payload length once complete (and resets the frame state for the next one), or one
 * of the PRC_FRAME_* codes, or -errno.  Before it blocks, it polls the descriptor for
 * up to st->spin_ns nanoseconds (adaptively: not after several vain spins in a row). */
int64_t prc_conn_recv(int fd, int is_socket, prc_conn_in *st, char *out, uint64_t cap, uint64_t maxlen);

/* The same without ever waiting: PRC_FRAME_AGAIN when the message is not complete
 * after serving the buffer and at most one non-blocking read into it. */
int64_t prc_quick_conn_recv(int fd, int is_socket, prc_conn_in *st, char *out, uint64_t cap, uint64_t maxlen);

/* Wait until fd is readable: 1 if readable (or at EOF/error), 0 on timeout, -errno.
 * timeout_ms < 0 waits forever. */
int prc_fd_poll_readable(int fd, int timeout_ms);

/* Grow the kernel buffer of a pipe to at least `size` bytes (capped by the system
 * limit `max_size`); returns the new size or -errno. */
int prc_pipe_grow(int fd, int size, int max_size);

/* Ask for huge pages over the 2 MiB-aligned interior of a fresh, untouched buffer
 * about to receive a large message: its page faults then cost one per 2 MiB
 * instead of one per 4 KiB.  Best effort; never waits. */
void prc_quick_advise_huge(char *p, uint64_t len);

#endif
