/*
 * sb_folders.c - shared folders (`folder =`) put into a session's tree
 * before it is confined. As root: a mount namespace of the worker's own
 * (CLONE_NEWNS, every mount a slave: the host's changes reach it, its
 * own never reach the host), then per folder a non-recursive clone of
 * SOURCE_DIR (open_tree), made nosuid, nodev, noexec, nosymfollow and,
 * for `ro`, read-only while still detached (mount_setattr), and
 * attached on the mount point (move_mount): never writable for an
 * instant, never by a path name. Rootless: an O_PATH descriptor of
 * SOURCE_DIR, which fs_open (src/fs/walk.c) enters in place of the
 * mount point, and a Landlock rule for it (sb_worker.c).
 * Both: the mount point is opened beneath the user's root with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS): it must exist there
 * as a directory reached through no symlink; nothing is created. A
 * folder that cannot be put in place is logged and left out; the
 * session goes on without it.
 * Runs in: post-login workers, just after fork, before the root and
 * identity change (sandbox_enter). keepftpd-worker only.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../common/log.h"
#include "sandbox.h"
#include "sb_common.h"
#include "sb_folders.h"

#define DIR_FLAGS (O_PATH | O_DIRECTORY | O_CLOEXEC)

/* The mount point beneath rootfd, through no symlink: an O_PATH fd. */
static int
open_mount_point(int rootfd, const char *mount)
{
	struct open_how how = { 0 };

	how.flags = DIR_FLAGS | O_NOFOLLOW;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
	    RESOLVE_NO_MAGICLINKS;
	/* mount is absolute and clean (conf.c): beneath the root */
	return (int)syscall(SYS_openat2, rootfd, mount + 1, &how, sizeof(how));
}

/* The administrator's path, resolved as given (it may be a symlink). */
static int
open_source(const char *source)
{
	return open(source, DIR_FLAGS);
}

/* Leaves f out of the session, saying why. */
static void
left_out(struct sandbox_folder *f, const char *why)
{
	log_warn("shared folder %-s (at %-s) left out: %-s: %-s", f->source,
	    f->mount, why, strerror(errno));
	f->fd = -1;
}

/* A detached clone of src, its flags set, attached at dst. */
static int
bind_at(int src, int dst, int writable)
{
	struct mount_attr attr = { 0 };
	int tree, r = -1, e;

	tree = open_tree(src, "",
	    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree < 0)
		return -1;
	attr.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
	    MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOSYMFOLLOW |
	    (writable ? 0 : MOUNT_ATTR_RDONLY);
	if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) == 0 &&
	    move_mount(tree, "", dst, "",
		MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) == 0)
		r = 0;
	e = errno;
	close(tree);
	errno = e;
	return r;
}

/* As root: one folder bound on its mount point; fds closed. */
static void
mount_one(int rootfd, struct sandbox_folder *f)
{
	int src = -1, dst;

	f->fd = -1;
	if ((dst = open_mount_point(rootfd, f->mount)) < 0) {
		left_out(f, "mount point");
		return;
	}
	if ((src = open_source(f->source)) < 0)
		left_out(f, "source");
	else if (bind_at(src, dst, f->writable) < 0)
		left_out(f, "bind mount");
	if (src >= 0)
		close(src);
	close(dst);
}

/*
 * No namespace of our own (no CAP_SYS_ADMIN: a systemd unit without
 * it, RestrictNamespaces=): every folder left out, nothing mounted.
 */
static void
all_left_out(const struct sandbox_spec *s, const char *why)
{
	size_t i;

	for (i = 0; i < s->nfolders; i++)
		left_out(&s->folders[i], why);
}

void
sb_folders_mount(const struct sandbox_spec *s)
{
	size_t i;
	int rootfd;

	if (s->nfolders == 0)
		return;
	if (unshare(CLONE_NEWNS) < 0) {
		all_left_out(s, "unshare(CLONE_NEWNS)");
		return;
	}
	/* until this holds, a mount could propagate to the host: none made */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) {
		all_left_out(s, "mount namespace: make / a slave");
		return;
	}
	if ((rootfd = open(s->root, DIR_FLAGS)) < 0)
		sb_fail("open root");
	for (i = 0; i < s->nfolders; i++)
		mount_one(rootfd, &s->folders[i]);
	close(rootfd);
}

void
sb_folders_open(const struct sandbox_spec *s, int rootfd)
{
	struct sandbox_folder *f;
	size_t i;
	int mp;

	for (i = 0; i < s->nfolders; i++) {
		f = &s->folders[i];
		f->fd = -1;
		if ((mp = open_mount_point(rootfd, f->mount)) < 0) {
			left_out(f, "mount point");
			continue;
		}
		close(mp);
		if ((f->fd = open_source(f->source)) < 0)
			left_out(f, "source");
	}
}
