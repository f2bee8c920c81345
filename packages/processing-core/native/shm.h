/* Named POSIX shared memory (shm_open), for SharedMemory.
 *
 * Only the name-level operations live here; the Python layer maps the descriptor
 * with the mmap module, which refuses to unmap while views of the memory exist.
 * Every function returns a non-negative result or -errno.
 */
#ifndef PROCESSING_SHM_H
#define PROCESSING_SHM_H

#include <stdint.h>

/* Create a new segment (exclusively) of size bytes; return its descriptor (close-on-exec). */
int prc_shm_create(const char *name, int64_t size, int mode);
/* Open an existing segment read-write (or read-only); return its descriptor. */
int prc_shm_attach(const char *name, int readonly);
/* Current size of the segment behind fd. */
int64_t prc_shm_size(int fd);
/* Remove the name; mappings stay valid until unmapped. */
int prc_shm_unlink(const char *name);

#endif
