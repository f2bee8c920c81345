#define _GNU_SOURCE
#include "shm.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int prc_shm_create(const char *name, int64_t size, int mode)
{
    int fd;
    do {
        fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, (mode_t)mode);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return -errno;
    int rc;
    do {
        rc = ftruncate(fd, (off_t)size);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        int err = errno;
        /* A half-made segment must not stay behind under our name. */
        shm_unlink(name);
        close(fd);
        return -err;
    }
    return fd;
}

int prc_shm_attach(const char *name, int readonly)
{
    int fd;
    do {
        fd = shm_open(name, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC, 0);
    } while (fd < 0 && errno == EINTR);
    return fd < 0 ? -errno : fd;
}

int64_t prc_shm_size(int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    return (int64_t)st.st_size;
}

int prc_shm_unlink(const char *name)
{
    return shm_unlink(name) < 0 ? -errno : 0;
}
