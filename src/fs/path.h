/*
 * path.h - virtual paths and kernel-confined file access. A virtual
 * path is absolute, clean ("/a/b"), as the client sees it. Clean-up is
 * for the user's comfort; the boundary is fs_open (walk.c), which resolves
 * every name under the session's root fd as openat2(RESOLVE_IN_ROOT)
 * would, with plain openat (plus chroot and Landlock around the process).
 * Runs in: post-login worker.
 */
#ifndef KF_PATH_H
#define KF_PATH_H

#include <stddef.h>
#include <sys/types.h>

int path_resolve(const char *cwd, const char *arg, char *out, size_t outsz);
int path_split(const char *vpath, char *parent, size_t psz, const char **name);
int fs_open(int rootfd, const char *vpath, int flags, mode_t mode);
int fs_open_parent(int rootfd, const char *vpath, const char **name);
/*
 * The same, and in real the resolved path (symlinks and ".." gone) of
 * what was opened; for fs_open_parent_real, of the parent's name, the
 * last component as given (the *at() calls do not follow it).
 */
int fs_open_real(int rootfd, const char *vpath, int flags, mode_t mode,
    char *real, size_t realsz);
int fs_open_parent_real(int rootfd, const char *vpath, const char **name,
    char *real, size_t realsz);

#endif
