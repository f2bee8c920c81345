#ifndef PRC_PREFAULT_H
#define PRC_PREFAULT_H

#include <stdint.h>

/* Fault in the pages of [p, p + len) from the front, a step at a time, until all are
 * in or *stop becomes non-zero.  Meant for a second thread while the first copies a
 * large message into the same fresh memory: the page faults (which cost as much as
 * the copy itself) then run beside the copy instead of inside it.  Only page tables
 * change (MADV_POPULATE_WRITE never reads or writes the contents), so the two threads
 * cannot disturb each other's data.  Releases nothing and holds no lock.
 * Returns 0, or -errno: -EINVAL where the kernel has no MADV_POPULATE_WRITE (Linux
 * before 5.14), -ENOSYS where the platform has no such call. */
int prc_prefault_range(char *p, uint64_t len, int *stop);

#endif
