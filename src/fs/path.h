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

#include "../common/limits.h"

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

/*
 * Shared folders, rootless (walk.c): fs_open enters fd, a directory
 * opened outside the root, where the walk reaches mount (an absolute
 * clean virtual path whose directory exists in the user's tree). Set
 * once per session, before any fs_open; at most KF_FOLDERS_MAX. 0 or
 * -EINVAL. As root the table stays empty: bind mounts do it.
 */
struct fs_folder {
	char mount[KF_CONF_VALUE_MAX + 1];
	int fd;
};
int fs_folders_set(const struct fs_folder *, size_t n);
/* 1 when vpath is a folder's mount point (as rmdir/rename: EBUSY). */
int fs_folder_mount_point(const char *vpath);

#endif
