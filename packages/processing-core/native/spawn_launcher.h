/* posix_spawn-based launcher for the "spawn" start method. */
#ifndef PROCESSING_SPAWN_LAUNCHER_H
#define PROCESSING_SPAWN_LAUNCHER_H

/* Start `path` with `argv` and `envp` (NULL-terminated; envp NULL means this process's
   environment).  The child gets descriptors 0, 1 and 2 and the `n_keep` descriptors of
   `keep_fds`, at the same numbers; every other descriptor is closed or close-on-exec.
   Its signal mask is empty.  Returns the child's pid, or -errno on failure. */
int prc_spawn(const char *path, char *const argv[], char *const envp[], const int *keep_fds, int n_keep);

#endif
