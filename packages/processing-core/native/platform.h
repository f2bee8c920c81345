/* Facts about the platform and the build, read once by the Python layer. */
#ifndef PROCESSING_PLATFORM_H
#define PROCESSING_PLATFORM_H

#include <stdint.h>
#include <stddef.h>

/* Size of a memory page in bytes, as shared mappings are rounded to it. */
long prc_page_size(void);

/* CLOCK_MONOTONIC in nanoseconds: the clock every timed wait is measured on. */
int64_t prc_monotonic_ns(void);

/* A human-readable line naming the compiler and C library the core was built with. */
const char *prc_build_info(void);

#endif
