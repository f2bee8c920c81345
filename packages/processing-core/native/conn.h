/* Framed message I/O for connections.
 *
 * A frame is a length header followed by the payload.  The header is 4 bytes,
 * big-endian; lengths up to 0x7fffffff use it alone, longer ones are announced by
 * 0xffffffff followed by an 8-byte big-endian length (the same framing as the
 * standard library's connections, so the two can exchange raw bytes).
 *
 * Every call records its progress in the caller's state, so that a call interrupted
 * by a signal (-EINTR) can be resumed after the Python signal handlers ran, without
 * losing or repeating a byte.  A short read or write also returns -EINTR ("call
 * again"): the kernel reports a signal that arrives after some data moved only as a
 * short count, and the handlers must get their chance to run.
 */
#ifndef PROCESSING_CONN_H
#define PROCESSING_CONN_H

#include <stdint.h>
#include <stddef.h>

/* Results of prc_frame_recv besides a complete message's length (>= 0) and -errno. */
enum {
    PRC_FRAME_NEED_BUFFER = -1000001, /* header read; the payload does not fit: length in state */
    PRC_FRAME_EOF = -1000002,         /* the peer closed cleanly between messages */
    PRC_FRAME_TRUNCATED = -1000003,   /* the peer closed in the middle of a message */
    PRC_FRAME_TOO_LONG = -1000004,    /* the header announces more than the allowed maximum */
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

/* 1 if fd is a socket, 0 if not, -errno on error. */
int prc_fd_is_socket(int fd);

/* Send one frame of len bytes from buf.  *progress counts the bytes of header and
 * payload already written (0 for a new frame).  Returns 0 once the whole frame is
 * written (and sets *progress back to 0 for the next frame), or -errno (with
 * *progress updated, to resume from) on error or interruption. */
int64_t prc_frame_send(int fd, int is_socket, const char *buf, uint64_t len, uint64_t *progress);

/* Receive (the rest of) one frame.  The payload goes to buf when its length fits in
 * cap; otherwise PRC_FRAME_NEED_BUFFER is returned right after the header and the
 * caller calls again with a buffer of st->length bytes.  maxlen limits the accepted
 * length (checked before the caller allocates anything).  Returns the payload length
 * once complete (and resets st for the next frame), or one of the PRC_FRAME_* codes,
 * or -errno. */
int64_t prc_frame_recv(int fd, int is_socket, prc_frame_in *st, char *buf, uint64_t cap, uint64_t maxlen);

/* Wait until fd is readable: 1 if readable (or at EOF/error), 0 on timeout, -errno.
 * timeout_ms < 0 waits forever. */
int prc_fd_poll_readable(int fd, int timeout_ms);

#endif
