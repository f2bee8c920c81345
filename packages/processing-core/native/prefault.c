#define _GNU_SOURCE
#include "prefault.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

/* Small enough that a stop request is seen soon, large enough that the calls cost
 * nothing beside the faults. */
#define PRC_PREFAULT_RANGE_STEP ((uint64_t)2 << 20)

int prc_prefault_range(char *p, uint64_t len, int *stop)
{
#ifdef MADV_POPULATE_WRITE
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    /* madvise wants a page-aligned start; the partial first page is the copier's. */
    uintptr_t at = ((uintptr_t)p + page - 1) & ~(page - 1);
    uintptr_t end = ((uintptr_t)p + len) & ~(page - 1);
    while (at < end && !__atomic_load_n(stop, __ATOMIC_RELAXED)) {
        uintptr_t step = end - at < PRC_PREFAULT_RANGE_STEP ? end - at : PRC_PREFAULT_RANGE_STEP;
        if (madvise((void *)at, step, MADV_POPULATE_WRITE) < 0) {
            if (errno == EINTR)
                continue; /* a signal: the same step again */
            return -errno;
        }
        at += step;
    }
    return 0;
#else
    (void)p;
    (void)len;
    (void)stop;
    return -ENOSYS;
#endif
}
