#define _GNU_SOURCE
#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL /* macOS: Python ignores SIGPIPE anyway, so EPIPE comes back */
#define MSG_NOSIGNAL 0
#endif

/* One read or write moves at most this much; Linux itself stops at 0x7ffff000. */
#define PRC_IO_CHUNK ((size_t)1 << 30)
/* A quick (GIL-holding) send copies at most this much into the kernel. */
#define PRC_QUICK_SEND_MAX ((uint64_t)64 * 1024)
/* Payloads this large go into a pipe by vmsplice() (see frame_send_spliced). */
#define PRC_SPLICE_MIN ((uint64_t)4 << 20)
/* Internal answer of a non-blocking write the descriptor does not support. */
#define PRC_FRAME_NO_QUICK_WRITE (-1000006)
/* Frames up to this size are assembled in one piece before a single write. */
#define PRC_SMALL_FRAME 512
/* Vain spins in a row counted at most: the longest back-off is 2^10 - 1 waits. */
#define PRC_SPIN_MAX_MISSES 10
/* A large payload read straight into its target prefaults the target this far
 * ahead while the writer is still filling the pipe. */
#define PRC_PREFAULT_STEP ((uint64_t)4 << 20)
#define PRC_PREFAULT_MIN ((uint64_t)8 << 20)

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get_be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int prc_fd_is_socket(int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    return S_ISSOCK(st.st_mode) ? 1 : 0;
}

/* Block until fd is ready for `events`; used when someone made the fd non-blocking. */
static int wait_ready(int fd, short events)
{
    struct pollfd pfd = {.fd = fd, .events = events, .revents = 0};
    if (poll(&pfd, 1, -1) < 0)
        return -errno;
    return 0;
}

/* ------------------------------------------------------------------ sending */

/* nowait: 0 may block, 1 per call (RWF_NOWAIT, MSG_DONTWAIT), 2 the descriptor is
 * O_NONBLOCK (a plain write never waits). */
static ssize_t write_vector(int fd, int is_socket, struct iovec *iov, int count, int nowait)
{
    if (nowait != 1 && count == 1 && !is_socket)
        return write(fd, iov[0].iov_base, iov[0].iov_len); /* cheaper than any vector write */
    if (is_socket) {
        struct msghdr msg;
        memset(&msg, 0, sizeof msg);
        msg.msg_iov = iov;
        msg.msg_iovlen = (size_t)count;
        return sendmsg(fd, &msg, MSG_NOSIGNAL | (nowait ? MSG_DONTWAIT : 0));
    }
    if (nowait == 1) {
#ifdef RWF_NOWAIT
        return pwritev2(fd, iov, count, -1, RWF_NOWAIT);
#else
        errno = EOPNOTSUPP;
        return -1;
#endif
    }
    return writev(fd, iov, count);
}

static int64_t frame_send(int fd, int is_socket, const char *buf, uint64_t len, uint64_t *progress, int quick)
{
    unsigned char header[12];
    uint64_t header_len;
    if (len <= PRC_FRAME_SHORT_MAX) {
        put_be32(header, (uint32_t)len);
        header_len = 4;
    } else {
        put_be32(header, 0xffffffffu);
        put_be32(header + 4, (uint32_t)(len >> 32));
        put_be32(header + 8, (uint32_t)len);
        header_len = 12;
    }
    uint64_t total = header_len + len;
    uint64_t done = *progress;
    while (done < total) {
        struct iovec iov[2];
        int count = 0;
        unsigned char small[PRC_SMALL_FRAME];
        if (done == 0 && total <= PRC_SMALL_FRAME) {
            /* One contiguous piece: a plain one-segment write is the cheapest. */
            memcpy(small, header, header_len);
            memcpy(small + header_len, buf, (size_t)len);
            iov[0].iov_base = small;
            iov[0].iov_len = (size_t)total;
            count = 1;
        } else {
            uint64_t offset = 0;
            if (done < header_len) {
                iov[count].iov_base = header + done;
                iov[count].iov_len = (size_t)(header_len - done);
                count++;
            } else {
                offset = done - header_len;
            }
            uint64_t rest = len - offset;
            if (rest > 0) {
                iov[count].iov_base = (void *)(buf + offset);
                iov[count].iov_len = rest > PRC_IO_CHUNK ? PRC_IO_CHUNK : (size_t)rest;
                count++;
            }
        }
        ssize_t written = write_vector(fd, is_socket, iov, count, quick);
        if (written < 0) {
            int err = errno;
            *progress = done;
            if (quick) {
                if (err == EAGAIN || err == EWOULDBLOCK)
                    return PRC_FRAME_AGAIN;
                if (err == EOPNOTSUPP || err == ENOSYS || err == EINVAL)
                    return PRC_FRAME_NO_QUICK_WRITE;
                return -(int64_t)err;
            }
            if (err == EAGAIN || err == EWOULDBLOCK) {
                int rc = wait_ready(fd, POLLOUT);
                if (rc == 0)
                    continue;
                err = -rc;
            }
            return -(int64_t)err;
        }
        done += (uint64_t)written;
        size_t asked = iov[0].iov_len + (count > 1 ? iov[1].iov_len : 0);
        if ((size_t)written < asked && done < total) {
            /* A short write may hide a signal that arrived once data had moved:
             * return so that the caller runs the signal handlers, then resumes. */
            *progress = done;
            return quick ? PRC_FRAME_AGAIN : -EINTR;
        }
    }
    *progress = 0; /* ready for the next frame */
    return 0;
}

#ifdef SPLICE_F_GIFT
/* Wait until the reader has taken every byte out of the pipe: vmsplice() put
 * references to the sender's own pages there, which must not outlive the call. */
static int64_t wait_drained(int fd)
{
    for (;;) {
        int queued = 0;
        if (ioctl(fd, FIONREAD, &queued) < 0)
            return -(int64_t)errno;
        if (queued == 0)
            return 0;
        struct pollfd pfd = {.fd = fd, .events = POLLOUT, .revents = 0};
        int ready = poll(&pfd, 1, 1);
        if (ready < 0)
            return -(int64_t)errno;
        if (pfd.revents & (POLLERR | POLLHUP))
            return -EPIPE; /* no reader left: the bytes will never be taken */
        if (ready > 0) {
            struct timespec pause = {.tv_sec = 0, .tv_nsec = 20000};
            if (nanosleep(&pause, NULL) < 0)
                return -(int64_t)errno;
        }
    }
}

/* A large payload on a pipe: the header by write(), the payload mapped into the pipe
 * with vmsplice() (the reader's read() is then the only copy), and the call returns
 * once the reader has taken it all.  *progress == header + len means "all in the
 * pipe, waiting for the reader" (after an interruption). */
static int64_t frame_send_spliced(int fd, const char *buf, uint64_t len, uint64_t *progress)
{
    unsigned char header[12];
    uint64_t header_len = 4;
    if (len <= PRC_FRAME_SHORT_MAX) {
        put_be32(header, (uint32_t)len);
    } else {
        put_be32(header, 0xffffffffu);
        put_be32(header + 4, (uint32_t)(len >> 32));
        put_be32(header + 8, (uint32_t)len);
        header_len = 12;
    }
    uint64_t total = header_len + len;
    uint64_t done = *progress;
    while (done < total) {
        ssize_t written;
        if (done < header_len) {
            written = write(fd, header + done, (size_t)(header_len - done));
        } else {
            uint64_t rest = total - done;
            struct iovec iov = {.iov_base = (void *)(buf + (done - header_len)),
                                .iov_len = rest > PRC_IO_CHUNK ? PRC_IO_CHUNK : (size_t)rest};
            written = vmsplice(fd, &iov, 1, 0);
        }
        if (written < 0) {
            int err = errno;
            if (err == EAGAIN || err == EWOULDBLOCK) {
                int rc = wait_ready(fd, POLLOUT);
                if (rc == 0)
                    continue;
                err = -rc;
            }
            *progress = done;
            return -(int64_t)err;
        }
        done += (uint64_t)written;
    }
    *progress = total;
    int64_t rc = wait_drained(fd);
    if (rc < 0)
        return rc;
    *progress = 0;
    return 0;
}
#endif

int64_t prc_frame_send(int fd, int is_socket, const char *buf, uint64_t len, uint64_t *progress)
{
#ifdef SPLICE_F_GIFT
    if (!is_socket && len >= PRC_SPLICE_MIN) {
        int64_t rc = frame_send_spliced(fd, buf, len, progress);
        if (rc != -EINVAL && rc != -EBADF && rc != -ENOSYS)
            return rc;
        /* not a pipe after all (vmsplice wants one): write as usual */
    }
#endif
    return frame_send(fd, is_socket, buf, len, progress, 0);
}

int64_t prc_quick_send(prc_conn_out *out, const char *buf, uint64_t len)
{
    if (out->fd < 0)
        return -EBADF;
    if (len > PRC_QUICK_SEND_MAX || out->no_quick)
        return PRC_FRAME_AGAIN;
    int mode = out->nonblocking && !out->is_socket ? 2 : 1;
    int64_t rc = frame_send(out->fd, out->is_socket, buf, len, &out->progress, mode);
    if (rc == PRC_FRAME_NO_QUICK_WRITE) {
        out->no_quick = 1;
        rc = PRC_FRAME_AGAIN;
    }
    return rc;
}

/* ---------------------------------------------------------------- receiving */

/* One read that never waits: > 0 bytes, 0 at EOF, -EAGAIN when nothing is there yet,
 * -errno.  `quick` callers hold the GIL: without RWF_NOWAIT on a pipe they get -EAGAIN
 * rather than a poll-then-read, which could block if another reader took the data. */
static ssize_t try_read(int fd, int is_socket, prc_conn_in *st, char *p, size_t n, int quick)
{
    ssize_t got;
    if (n > PRC_IO_CHUNK)
        n = PRC_IO_CHUNK;
    if (is_socket) {
        got = recv(fd, p, n, MSG_DONTWAIT);
    } else if (!st->no_nowait) {
#ifdef RWF_NOWAIT
        struct iovec v = {.iov_base = p, .iov_len = n};
        got = preadv2(fd, &v, 1, -1, RWF_NOWAIT);
        if (got < 0 && (errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL)) {
            st->no_nowait = 1;
            return try_read(fd, is_socket, st, p, n, quick);
        }
#else
        st->no_nowait = 1;
        return try_read(fd, is_socket, st, p, n, quick);
#endif
    } else {
        if (quick)
            return -EAGAIN;
        struct pollfd pfd = {.fd = fd, .events = POLLIN, .revents = 0};
        int ready = poll(&pfd, 1, 0);
        if (ready < 0)
            return -errno;
        if (ready == 0)
            return -EAGAIN;
        got = read(fd, p, n);
    }
    if (got < 0)
        return (errno == EWOULDBLOCK || errno == EAGAIN) ? -EAGAIN : -errno;
    return got;
}

/* Wait until fd is readable.  Returns 0 when it is, -EINTR to be called again (a
 * signal, or a spin that ended without data: the handlers get their turn before
 * the real block), or -errno.
 *
 * The spin adapts: after a vain spin the next 2^misses - 1 waits block at once (a
 * connection that idles, or a machine too busy to run the peer, soon stops
 * spinning), and a successful spin, or a blocking wait that ended within the spin
 * window, makes the next wait spin again. */
static int wait_readable(int fd, prc_conn_in *st)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN, .revents = 0};
    int64_t spin = st->spin_ns;
    if (spin > 0 && !st->spun) {
        if (st->spin_skip > 0) {
            st->spin_skip--;
        } else {
            int64_t deadline = now_ns() + spin;
            do {
                int ready = poll(&pfd, 1, 0);
                if (ready < 0)
                    return -errno;
                if (ready > 0) {
                    st->spin_misses = 0;
                    return 0;
                }
                /* On a busy machine the peer may be waiting for this very CPU. */
                sched_yield();
            } while (now_ns() < deadline);
            if (st->spin_misses < PRC_SPIN_MAX_MISSES)
                st->spin_misses++;
            st->spin_skip = (1 << st->spin_misses) - 1;
            st->spun = 1;
            return -EINTR;
        }
    }
    int64_t started = spin > 0 ? now_ns() : 0;
    int ready = poll(&pfd, 1, -1);
    st->spun = 0;
    if (ready < 0)
        return -errno;
    if (spin > 0 && now_ns() - started <= spin)
        st->spin_skip = 0; /* the data came soon: spinning would have caught it */
    return 0;
}

/* Prefault the next stretch of a large target while the pipe is empty anyway, so
 * that the page faults overlap the writer's copying instead of following it. */
static void prefault_ahead(prc_conn_in *st, char *out)
{
#ifdef MADV_POPULATE_WRITE
    prc_frame_in *fr = &st->frame;
    if (fr->length < PRC_PREFAULT_MIN)
        return;
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    if (st->populated < fr->got)
        st->populated = fr->got;
    if (st->populated >= fr->length || st->populated - fr->got >= 2 * PRC_PREFAULT_STEP)
        return;
    uint64_t from = (st->populated + page - 1) & ~(page - 1);
    uintptr_t first = ((uintptr_t)out + from + page - 1) & ~((uintptr_t)page - 1);
    uint64_t upto = st->populated + PRC_PREFAULT_STEP;
    if (upto > fr->length)
        upto = fr->length;
    uintptr_t last = ((uintptr_t)out + upto) & ~((uintptr_t)page - 1);
    if (last > first)
        (void)madvise((void *)first, last - first, MADV_POPULATE_WRITE);
    st->populated = upto;
#else
    (void)st;
    (void)out;
#endif
}

/* Read into p (at most n bytes), waiting if need be (not in quick calls, and not
 * once data moved in this call).  > 0 bytes, 0 at EOF, -EAGAIN (quick: would wait),
 * -EINTR (call again), -errno. */
static ssize_t pull(int fd, int is_socket, prc_conn_in *st, char *p, size_t n, int quick, int *moved, char *target)
{
    ssize_t got = try_read(fd, is_socket, st, p, n, quick);
    if (got == -EAGAIN && !quick) {
        if (*moved)
            return -EINTR;
        if (target != NULL)
            prefault_ahead(st, target);
        int rc = wait_readable(fd, st);
        if (rc < 0)
            return rc;
        got = try_read(fd, is_socket, st, p, n, quick);
        if (got == -EAGAIN)
            return -EINTR; /* someone else took it: start over */
    }
    if (got > 0) {
        *moved = 1;
        st->spun = 0;
    }
    return got;
}

/* Refill the (empty) read-ahead buffer; `need` is what the current message lacks. */
static ssize_t fill(int fd, int is_socket, prc_conn_in *st, uint64_t need, int quick, int *moved)
{
    st->start = st->end = 0;
    uint64_t n = st->read_ahead || need > st->cap ? st->cap : need;
    ssize_t got = pull(fd, is_socket, st, st->buf, (size_t)n, quick, moved, NULL);
    if (got > 0)
        st->end = (uint64_t)got;
    return got;
}

static void reset_frame(prc_frame_in *fr)
{
    fr->header_got = 0;
    fr->header_len = 4;
    fr->got = 0;
}

static int64_t conn_recv(int fd, int is_socket, prc_conn_in *st, char *out, uint64_t cap, uint64_t maxlen, int quick)
{
    prc_frame_in *fr = &st->frame;
    int moved = 0;
    if (fr->header_len != 4 && fr->header_len != 12)
        fr->header_len = 4;
    while (fr->header_got < fr->header_len) {
        uint64_t avail = st->end - st->start;
        if (avail > 0) {
            uint64_t want = fr->header_len - fr->header_got;
            uint64_t k = avail < want ? avail : want;
            memcpy(fr->header + fr->header_got, st->buf + st->start, (size_t)k);
            st->start += k;
            fr->header_got += (uint32_t)k;
            if (fr->header_got == 4 && fr->header_len == 4) {
                uint32_t short_length = get_be32(fr->header);
                if (short_length == 0xffffffffu)
                    fr->header_len = 12;
                else
                    fr->length = short_length;
            }
            if (fr->header_got == 12)
                fr->length = ((uint64_t)get_be32(fr->header + 4) << 32) | get_be32(fr->header + 8);
            continue;
        }
        ssize_t got = fill(fd, is_socket, st, fr->header_len - fr->header_got, quick, &moved);
        if (got == 0)
            return fr->header_got == 0 ? PRC_FRAME_EOF : PRC_FRAME_TRUNCATED;
        if (got < 0)
            return got == -EAGAIN ? PRC_FRAME_AGAIN : (int64_t)got;
    }
    if (fr->length > maxlen)
        return PRC_FRAME_TOO_LONG;
    if (fr->length > cap)
        return PRC_FRAME_NEED_BUFFER;
    while (fr->got < fr->length) {
        uint64_t rest = fr->length - fr->got;
        uint64_t avail = st->end - st->start;
        if (avail > 0) {
            uint64_t k = avail < rest ? avail : rest;
            memcpy(out + fr->got, st->buf + st->start, (size_t)k);
            st->start += k;
            fr->got += k;
            continue;
        }
        ssize_t got;
        if (rest >= st->cap / 2 || st->cap == 0) {
            /* Large: straight into the target, no copy through the buffer. */
            if (quick)
                return PRC_FRAME_AGAIN;
            got = pull(fd, is_socket, st, out + fr->got, (size_t)rest, 0, &moved, out);
            if (got > 0)
                fr->got += (uint64_t)got;
        } else {
            got = fill(fd, is_socket, st, rest, quick, &moved);
        }
        if (got == 0)
            return PRC_FRAME_TRUNCATED;
        if (got < 0)
            return got == -EAGAIN ? PRC_FRAME_AGAIN : (int64_t)got;
    }
    int64_t length = (int64_t)fr->length;
    reset_frame(fr);
    st->populated = 0;
    return length;
}

int64_t prc_conn_recv(int fd, int is_socket, prc_conn_in *st, char *out, uint64_t cap, uint64_t maxlen)
{
    return conn_recv(fd, is_socket, st, out, cap, maxlen, 0);
}

int64_t prc_quick_conn_recv(int fd, int is_socket, prc_conn_in *st, char *out, uint64_t cap, uint64_t maxlen)
{
    return conn_recv(fd, is_socket, st, out, cap, maxlen, 1);
}

int prc_fd_poll_readable(int fd, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN, .revents = 0};
    int ready = poll(&pfd, 1, timeout_ms);
    if (ready < 0)
        return -errno;
    return ready > 0 ? 1 : 0;
}

int prc_pipe_grow(int fd, int size, int max_size)
{
#ifdef F_SETPIPE_SZ
    int current = fcntl(fd, F_GETPIPE_SZ);
    if (current < 0)
        return -errno;
    if (size > max_size)
        size = max_size;
    if (current >= size)
        return current;
    int grown = fcntl(fd, F_SETPIPE_SZ, size);
    return grown < 0 ? -errno : grown;
#else
    (void)fd;
    (void)size;
    (void)max_size;
    return -EOPNOTSUPP;
#endif
}

void prc_quick_advise_huge(char *p, uint64_t len)
{
#ifdef MADV_HUGEPAGE
    uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t first = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t last = ((uintptr_t)p + len) & ~(huge - 1);
    if (last > first)
        (void)madvise((void *)first, last - first, MADV_HUGEPAGE);
#else
    (void)p;
    (void)len;
#endif
}
