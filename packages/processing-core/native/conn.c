#define _GNU_SOURCE
#include "conn.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL /* macOS: Python ignores SIGPIPE anyway, so EPIPE comes back */
#define MSG_NOSIGNAL 0
#endif

/* One read or write moves at most this much; Linux itself stops at 0x7ffff000. */
#define PRC_IO_CHUNK ((size_t)1 << 30)

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

int64_t prc_frame_send(int fd, int is_socket, const char *buf, uint64_t len, uint64_t *progress)
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
        ssize_t written;
        if (is_socket) {
            struct msghdr msg;
            memset(&msg, 0, sizeof msg);
            msg.msg_iov = iov;
            msg.msg_iovlen = (size_t)count;
            written = sendmsg(fd, &msg, MSG_NOSIGNAL);
        } else {
            written = writev(fd, iov, count);
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
        size_t asked = iov[0].iov_len + (count > 1 ? iov[1].iov_len : 0);
        if ((size_t)written < asked && done < total) {
            /* A short write may hide a signal that arrived once data had moved:
             * return so that the caller runs the signal handlers, then resumes. */
            *progress = done;
            return -EINTR;
        }
    }
    *progress = 0; /* ready for the next frame */
    return 0;
}

/* Read up to n bytes (at least one, or 0 at EOF); -1 with errno set on error. */
static ssize_t read_some(int fd, int is_socket, void *p, size_t n)
{
    if (n > PRC_IO_CHUNK)
        n = PRC_IO_CHUNK;
    for (;;) {
        ssize_t got = is_socket ? recv(fd, p, n, 0) : read(fd, p, n);
        if (got >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            return got;
        int rc = wait_ready(fd, POLLIN);
        if (rc < 0) {
            errno = -rc;
            return -1;
        }
    }
}

static void reset_frame(prc_frame_in *st)
{
    st->header_got = 0;
    st->header_len = 4;
    st->got = 0;
}

int64_t prc_frame_recv(int fd, int is_socket, prc_frame_in *st, char *buf, uint64_t cap, uint64_t maxlen)
{
    if (st->header_len != 4 && st->header_len != 12)
        st->header_len = 4;
    while (st->header_got < st->header_len) {
        ssize_t got = read_some(fd, is_socket, st->header + st->header_got, st->header_len - st->header_got);
        if (got == 0)
            return st->header_got == 0 ? PRC_FRAME_EOF : PRC_FRAME_TRUNCATED;
        if (got < 0)
            return -(int64_t)errno;
        size_t asked = st->header_len - st->header_got;
        st->header_got += (uint32_t)got;
        if (st->header_got == 4 && st->header_len == 4) {
            uint32_t short_length = get_be32(st->header);
            if (short_length == 0xffffffffu)
                st->header_len = 12;
            else
                st->length = short_length;
        }
        if (st->header_got == 12)
            st->length = ((uint64_t)get_be32(st->header + 4) << 32) | get_be32(st->header + 8);
        if ((size_t)got < asked && st->header_got < st->header_len)
            return -EINTR; /* short read: maybe a signal; let the caller check and resume */
    }
    if (st->length > maxlen)
        return PRC_FRAME_TOO_LONG;
    if (st->length > cap)
        return PRC_FRAME_NEED_BUFFER;
    while (st->got < st->length) {
        uint64_t rest = st->length - st->got;
        ssize_t got = read_some(fd, is_socket, buf + st->got, (size_t)rest);
        if (got == 0)
            return PRC_FRAME_TRUNCATED;
        if (got < 0)
            return -(int64_t)errno;
        st->got += (uint64_t)got;
        if ((uint64_t)got < rest && (uint64_t)got < PRC_IO_CHUNK && st->got < st->length)
            return -EINTR; /* short read: maybe a signal; let the caller check and resume */
    }
    int64_t length = (int64_t)st->length;
    reset_frame(st);
    return length;
}

int prc_fd_poll_readable(int fd, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN, .revents = 0};
    int ready = poll(&pfd, 1, timeout_ms);
    if (ready < 0)
        return -errno;
    return ready > 0 ? 1 : 0;
}
