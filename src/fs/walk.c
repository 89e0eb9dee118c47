/*
 * walk.c - fs_open: a path resolved one name at a time under the
 * session root, as openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
 * would, with openat, fstat and readlinkat only. The workers' seccomp
 * programs refuse openat2: its mode lies in struct open_how, which a
 * filter cannot read, so a set-id bit there would pass (docs/SANDBOX.md).
 *
 * The kernel sees one name at a time, never a slash, never "..", and
 * follows no symlink: each name is opened with O_NOFOLLOW from the fd
 * of the prefix resolved so far. A symlink met on the way is read and
 * its target put in front of what is left of the path; an absolute
 * target starts again at the root. ".." (only a symlink target has one:
 * client paths are clean) drops the last name of the resolved prefix,
 * never above the root, and the prefix is walked again from the root
 * rather than opened as "..", so a directory renamed away meanwhile
 * cannot lead out. A magic link (/proc/PID/fd/N) is read as the text it
 * shows and that text resolved inside the root, like any symlink: its
 * magic never happens (and no /proc lies within reach: chroot when
 * root, Landlock when rootless).
 *
 * Creating (O_CREAT) is one openat in the parent's fd, so the filter's
 * mode rule applies to it. A dangling symlink as the last name is
 * followed, as RESOLVE_IN_ROOT does: the file is made where the target
 * points, inside the root (O_EXCL or O_NOFOLLOW: EEXIST or ELOOP).
 *
 * Shared folders, rootless (fs_folders_set; as root the kernel's bind
 * mounts do it and the table is empty): when the resolved prefix
 * becomes a folder's mount point (a directory that exists in the
 * user's tree), the walk goes on in the folder's source descriptor
 * instead, as it would cross a mount. The resolved prefix still names
 * the path from the user's root, so ".." out of the folder's top (a
 * client's, or a symlink's) lands on the mount point's parent in the
 * user's tree, and an absolute symlink target starts again at the
 * user's root: nothing leads to the source's parent. Landlock allows
 * nothing outside the user's root and the folders' sources.
 * Runs in: post-login worker.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/limits.h"
#include "../common/sys.h"
#include "path.h"

#define DIR_FLAGS (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/*
 * rest[start .. KF_PATH_MAX) is what is left to resolve; a symlink's
 * target is read into the room before it. resolved ("/a/b", rlen) names
 * the directory dirfd holds, from the root.
 */
struct walk {
	int rootfd;
	int dirfd; /* rootfd, or ours to close */
	unsigned links;
	size_t start;
	size_t rlen;
	char rest[KF_PATH_MAX + 1];
	char resolved[KF_PATH_MAX + 1];
	char again[KF_PATH_MAX + 1]; /* up(): the prefix walked again */
	char name[KF_NAME_MAX + 1];
	char *real; /* fs_open_real: where the opened name lies */
	size_t realsz;
};

/* The session's shared folders (rootless): set once, before any walk. */
static struct fs_folder folders[KF_FOLDERS_MAX];
static size_t nfolders;

int
fs_folders_set(const struct fs_folder *f, size_t n)
{
	size_t i;

	if (n > KF_FOLDERS_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (f[i].fd < 0 || f[i].mount[0] != '/' ||
		    memchr(f[i].mount, '\0', sizeof(f[i].mount)) == NULL)
			return -EINVAL;
	memcpy(folders, f, n * sizeof(*f));
	nfolders = n;
	return 0;
}

/* The folder whose mount point is dir + "/" + name, or NULL. */
static const struct fs_folder *
folder_at(const char *dir, size_t dlen, const char *name)
{
	const char *m;
	size_t i;

	for (i = 0; i < nfolders; i++) {
		m = folders[i].mount;
		if (strncmp(m, dir, dlen) == 0 && m[dlen] == '/' &&
		    strcmp(m + dlen + 1, name) == 0)
			return &folders[i];
	}
	return NULL;
}

int
fs_folder_mount_point(const char *vpath)
{
	size_t i;

	for (i = 0; i < nfolders; i++)
		if (strcmp(folders[i].mount, vpath) == 0)
			return 1;
	return 0;
}

/* An fd the walk does not own: the root's or a folder's. */
static int
borrowed(const struct walk *w, int fd)
{
	size_t i;

	if (fd == w->rootfd)
		return 1;
	for (i = 0; i < nfolders; i++)
		if (folders[i].fd == fd)
			return 1;
	return 0;
}

static void
enter(struct walk *w, int fd)
{
	if (!borrowed(w, w->dirfd))
		close(w->dirfd);
	w->dirfd = fd;
}

/* Back at the root: an absolute target, or before walking a prefix. */
static void
to_root(struct walk *w)
{
	enter(w, w->rootfd);
	w->rlen = 0;
	w->resolved[0] = '\0';
}

/*
 * fd is the directory w->name names in dirfd: one level down; into a
 * shared folder's source when that directory is its mount point.
 */
static int
descend(struct walk *w, int fd)
{
	const struct fs_folder *f = folder_at(w->resolved, w->rlen, w->name);
	size_t n = strlen(w->name);

	if (n + 1 > KF_PATH_MAX - w->rlen) {
		close(fd);
		return -ENAMETOOLONG;
	}
	if (f != NULL) {
		close(fd);
		fd = f->fd;
	}
	w->resolved[w->rlen++] = '/';
	memcpy(w->resolved + w->rlen, w->name, n + 1);
	w->rlen += n;
	enter(w, fd);
	return 0;
}

/* ".." of the resolved prefix: its last name dropped, walked again. */
static int
up(struct walk *w)
{
	const char *p, *end;
	size_t len = w->rlen;
	int fd, r;

	while (len > 0 && w->resolved[len - 1] != '/')
		len--;
	if (len > 0)
		len--;
	memcpy(w->again, w->resolved, len);
	w->again[len] = '\0';
	to_root(w);
	for (p = w->again; p < w->again + len; p = end) {
		p++; /* the slash */
		end = p + strcspn(p, "/");
		memcpy(w->name, p, (size_t)(end - p));
		w->name[end - p] = '\0';
		if ((fd = sys_openat(w->dirfd, w->name, DIR_FLAGS, 0)) < 0)
			return -errno;
		if ((r = descend(w, fd)) < 0)
			return r;
	}
	return 0;
}

/*
 * The next name of the rest into w->name: 1, or 0 when none is left.
 * The rest then starts just after it, at a slash or at its end.
 */
static int
next_name(struct walk *w)
{
	const char *p = w->rest + w->start, *end;

	p += strspn(p, "/");
	end = p + strcspn(p, "/");
	w->start = (size_t)(end - w->rest);
	if (end == p)
		return 0;
	if ((size_t)(end - p) > KF_NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(w->name, p, (size_t)(end - p));
	w->name[end - p] = '\0';
	return 1;
}

/*
 * The symlink at (fd, name) put in front of the rest. notlink: the
 * error to give when it is no symlink after all (readlinkat: EINVAL).
 */
static int
follow(struct walk *w, int fd, const char *name, int notlink)
{
	ssize_t n;

	if (++w->links > KF_SYMLINKS_MAX)
		return -ELOOP;
	if (w->start < 2)
		return -ENAMETOOLONG;
	if ((n = readlinkat(fd, name, w->rest, w->start)) < 0)
		return errno == EINVAL ? -notlink : -errno;
	if ((size_t)n >= w->start)
		return -ENAMETOOLONG; /* no room, or cut short */
	if (n == 0)
		return -ENOENT; /* as the kernel treats an empty target */
	memmove(w->rest + w->start - (size_t)n, w->rest, (size_t)n);
	w->start -= (size_t)n;
	if (w->rest[w->start] == '/')
		to_root(w);
	return 0;
}

/* A name with more to come: a directory to enter, or a symlink. */
static int
step(struct walk *w)
{
	int fd;

	if ((fd = sys_openat(w->dirfd, w->name, DIR_FLAGS, 0)) >= 0)
		return descend(w, fd);
	if (errno != ENOTDIR)
		return -errno;
	return follow(w, w->dirfd, w->name, ENOTDIR);
}

/* An O_PATH fd that may be the symlink itself. */
static int
path_last(struct walk *w, int fd, int *out)
{
	struct stat st;
	int r;

	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (!S_ISLNK(st.st_mode)) {
		*out = fd;
		return 0;
	}
	r = follow(w, fd, "", ELOOP);
	close(fd);
	return r;
}

/*
 * The last name, opened with O_NOFOLLOW. Unless the caller gave that
 * flag, a symlink (ELOOP; ENOTDIR with O_DIRECTORY; an O_PATH fd of a
 * link) is followed instead. *out: the fd when done, else -1.
 */
static int
last(struct walk *w, int flags, mode_t mode, int *out)
{
	const struct fs_folder *f = folder_at(w->resolved, w->rlen, w->name);
	int fd, e;

	/* a folder's mount point (a directory, no symlink): its source */
	if (f != NULL &&
	    (fd = sys_openat(w->dirfd, w->name, DIR_FLAGS, 0)) >= 0) {
		close(fd);
		if ((fd = sys_openat(f->fd, ".", flags, mode)) < 0)
			return -errno;
		*out = fd;
		return 0;
	}
	fd = sys_openat(w->dirfd, w->name, flags | O_NOFOLLOW, mode);
	if (fd >= 0 && (flags & (O_PATH | O_NOFOLLOW)) == O_PATH)
		return path_last(w, fd, out);
	if (fd >= 0) {
		*out = fd;
		return 0;
	}
	e = errno;
	if ((flags & O_NOFOLLOW) || (e != ELOOP && e != ENOTDIR))
		return -e;
	return follow(w, w->dirfd, w->name, e);
}

/*
 * fs_open_real: the resolved path of what fd opened, from the root:
 * the directory walked to, and name when the last step opened one.
 */
static int
set_real(struct walk *w, const char *name, int fd)
{
	const char *dir = w->rlen > 0 || name != NULL ? w->resolved : "/";
	size_t dn = strlen(dir), nn = name != NULL ? strlen(name) + 1 : 0;

	if (w->real == NULL)
		return fd;
	if (dn + nn >= w->realsz) {
		close(fd);
		return -ENAMETOOLONG;
	}
	memcpy(w->real, dir, dn);
	if (name != NULL) {
		w->real[dn] = '/';
		memcpy(w->real + dn + 1, name, nn - 1);
	}
	w->real[dn + nn] = '\0';
	return fd;
}

static int
walk(struct walk *w, int flags, mode_t mode)
{
	int r, fd = -1;

	while ((r = next_name(w)) > 0) {
		if (strcmp(w->name, ".") == 0)
			continue;
		if (strcmp(w->name, "..") == 0)
			r = up(w);
		else if (w->rest[w->start] != '\0')
			r = step(w);
		else if ((r = last(w, flags, mode, &fd)) == 0 && fd >= 0)
			return set_real(w, w->name, fd);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	/* the path ended at a directory: "/", "..", a trailing slash */
	if ((fd = sys_openat(w->dirfd, ".", flags, mode)) < 0)
		return -errno;
	return set_real(w, NULL, fd);
}

/*
 * The one way a session opens a path: rootfd is "/", and no name,
 * symlink or ".." leads above it. -1 and errno as openat(2) sets them;
 * ELOOP past KF_SYMLINKS_MAX symlinks, ENAMETOOLONG past KF_PATH_MAX.
 */
int
fs_open(int rootfd, const char *vpath, int flags, mode_t mode)
{
	return fs_open_real(rootfd, vpath, flags, mode, NULL, 0);
}

/*
 * fs_open, and in real (when not NULL) the clean path from the root
 * of what was opened, every symlink and ".." resolved: the path the
 * permission rules are matched against (docs/PERMISSIONS.md).
 */
int
fs_open_real(int rootfd, const char *vpath, int flags, mode_t mode, char *real,
    size_t realsz)
{
	struct walk w = { .rootfd = rootfd, .dirfd = rootfd };
	size_t n = strlen(vpath);
	int fd;

	w.real = real;
	w.realsz = realsz;
	flags |= O_CLOEXEC | ((flags & O_PATH) ? 0 : O_NOCTTY);
	if (!(flags & O_CREAT) && (flags & O_TMPFILE) != O_TMPFILE)
		mode = 0;
	if (n == 0)
		fd = -ENOENT;
	else if (n > KF_PATH_MAX)
		fd = -ENAMETOOLONG;
	else {
		w.start = KF_PATH_MAX - n;
		memcpy(w.rest + w.start, vpath, n + 1);
		fd = walk(&w, flags, mode);
	}
	enter(&w, rootfd);
	if (fd < 0) {
		errno = -fd;
		return -1;
	}
	return fd;
}
