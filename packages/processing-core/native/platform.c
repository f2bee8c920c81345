#define _GNU_SOURCE
#include "platform.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

long prc_page_size(void)
{
    return sysconf(_SC_PAGESIZE);
}

int64_t prc_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

const char *prc_build_info(void)
{
    static char info[160];
    if (info[0] == '\0') {
#if defined(__clang__)
        const char *compiler = "clang " __clang_version__;
#elif defined(__GNUC__)
        const char *compiler = "gcc " __VERSION__;
#else
        const char *compiler = "unknown compiler";
#endif
#if defined(__GLIBC__)
        snprintf(info, sizeof info, "%s, glibc %d.%d", compiler, __GLIBC__, __GLIBC_MINOR__);
#else
        snprintf(info, sizeof info, "%s", compiler);
#endif
    }
    return info;
}
