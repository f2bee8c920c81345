/* posix_spawn-based launcher: the child inherits only what it is given.
 *
 * Python opens descriptors close-on-exec, so a kept descriptor is handed over with
 * dup2(fd, fd), which clears the flag in the child (POSIX.1-2024; glibc >= 2.29, macOS).
 * Descriptors that some library opened without close-on-exec are closed explicitly, so
 * the child really gets only 0, 1, 2 and the kept ones.
 *
 * (Named spawn_launcher, not spawn: with -I native, <spawn.h> would find our own header.)
 */
#define _GNU_SOURCE
#include "spawn_launcher.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <unistd.h>

extern char **environ;

#if defined(__APPLE__)
#define PRC_FD_DIR "/dev/fd"
#else
#define PRC_FD_DIR "/proc/self/fd"
#endif

static int is_kept(int fd, const int *keep_fds, int n_keep)
{
    for (int i = 0; i < n_keep; i++)
        if (keep_fds[i] == fd)
            return 1;
    return 0;
}

/* Add a close action for every open descriptor above 2 that would leak into the child. */
static int close_strays(posix_spawn_file_actions_t *actions, const int *keep_fds, int n_keep)
{
    DIR *dir = opendir(PRC_FD_DIR);
    if (dir == NULL)
        return 0; /* best effort: without a listing, rely on close-on-exec alone */
    int dir_fd = dirfd(dir);
    int err = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        char *end;
        long fd = strtol(entry->d_name, &end, 10);
        if (*end != '\0' || end == entry->d_name || fd <= 2 || fd == dir_fd)
            continue;
        if (is_kept((int)fd, keep_fds, n_keep))
            continue;
        int flags = fcntl((int)fd, F_GETFD);
        if (flags < 0 || (flags & FD_CLOEXEC))
            continue;
        err = posix_spawn_file_actions_addclose(actions, (int)fd);
        if (err != 0)
            break;
    }
    closedir(dir);
    return err;
}

static int spawn_once(const char *path, char *const argv[], char *const envp[], const int *keep_fds, int n_keep,
                      int with_stray_scan, pid_t *pid)
{
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    sigset_t empty;
    int err = posix_spawn_file_actions_init(&actions);
    if (err != 0)
        return err;
    err = posix_spawnattr_init(&attr);
    if (err != 0) {
        posix_spawn_file_actions_destroy(&actions);
        return err;
    }
    for (int i = 0; i < n_keep && err == 0; i++)
        err = posix_spawn_file_actions_adddup2(&actions, keep_fds[i], keep_fds[i]);
    if (err == 0 && with_stray_scan)
        err = close_strays(&actions, keep_fds, n_keep);
    /* Threads of the parent may have signals blocked: the child starts with none blocked. */
    sigemptyset(&empty);
    if (err == 0)
        err = posix_spawnattr_setsigmask(&attr, &empty);
    if (err == 0)
        err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    if (err == 0)
        err = posix_spawn(pid, path, &actions, &attr, argv, envp != NULL ? envp : environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    return err;
}

int prc_spawn(const char *path, char *const argv[], char *const envp[], const int *keep_fds, int n_keep)
{
    pid_t pid = -1;
    int err = spawn_once(path, argv, envp, keep_fds, n_keep, 1, &pid);
    if (err == EBADF) /* a stray descriptor was closed by another thread meanwhile */
        err = spawn_once(path, argv, envp, keep_fds, n_keep, 0, &pid);
    if (err != 0)
        return -err;
    return (int)pid;
}
