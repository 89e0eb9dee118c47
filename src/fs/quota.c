/*
 * quota.c - per-user quota accounting (see quota.h): the usage record,
 * its lock, the bounded tree walk that recomputes it, and the
 * operations a session runs under the lock.
 * Runs in: post-login worker, keepftpd quota command; unit tests.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/grow.h"
#include "../common/limits.h"
#include "../common/sys.h"
#include "quota.h"
#include "upload.h"

#define RECORD_HEAD "keepftpd-usage 1 bytes="
#define RECORD_MID  " files="
#define DIGITS	    20

_Static_assert(sizeof(RECORD_HEAD) - 1 + DIGITS + sizeof(RECORD_MID) - 1 +
	    DIGITS + 1 ==
	QUOTA_RECORD_LEN,
    "record length");

/* ---------------------------------------------------------------- pure */

void
quota_format(const struct quota_usage *u, char *out, size_t outsz)
{
	snprintf(out, outsz, RECORD_HEAD "%020llu" RECORD_MID "%020llu\n",
	    (unsigned long long)u->bytes, (unsigned long long)u->files);
}

/* DIGITS decimal digits at p; -1 when not (or too large for 64 bits). */
static int
digits(const char *p, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	for (i = 0; i < DIGITS; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		if (x > (UINT64_MAX - (uint64_t)(p[i] - '0')) / 10)
			return -1;
		x = x * 10 + (uint64_t)(p[i] - '0');
	}
	*v = x;
	return 0;
}

int
quota_parse(const char *p, size_t n, struct quota_usage *u)
{
	const size_t head = sizeof(RECORD_HEAD) - 1,
		     mid = sizeof(RECORD_MID) - 1;
	struct quota_usage v;

	if (n != QUOTA_RECORD_LEN || memcmp(p, RECORD_HEAD, head) != 0 ||
	    digits(p + head, &v.bytes) < 0 ||
	    memcmp(p + head + DIGITS, RECORD_MID, mid) != 0 ||
	    digits(p + head + DIGITS + mid, &v.files) < 0 || p[n - 1] != '\n')
		return -EINVAL;
	*u = v;
	return 0;
}

/*
 * 1 when have + add stays within max (0: no limit); no overflow. Adding
 * nothing always fits (bytes for a file that is already counted).
 */
static int
within(uint64_t have, uint64_t add, uint64_t max)
{
	if (max == 0 || add == 0)
		return 1;
	return have <= max && add <= max - have;
}

int
quota_fits(const struct quota_usage *u, uint64_t max_bytes, uint64_t max_files,
    uint64_t bytes, uint64_t files, uint64_t files_slack)
{
	uint64_t fmax = max_files;

	if (fmax != 0 && files_slack > UINT64_MAX - fmax)
		fmax = UINT64_MAX;
	else if (fmax != 0)
		fmax += files_slack;
	return within(u->bytes, bytes, max_bytes) &&
	    within(u->files, files, fmax);
}

void
quota_sub(struct quota_usage *u, uint64_t bytes, uint64_t files)
{
	u->bytes = u->bytes > bytes ? u->bytes - bytes : 0;
	u->files = u->files > files ? u->files - files : 0;
}

/* ---------------------------------------------------------------- walk */

struct inode {
	dev_t dev;
	ino_t ino;
	uint64_t size;
};

struct walk {
	unsigned max_depth;
	size_t max_entries;
	size_t entries;
	struct quota_usage u;
	struct inode *path; /* directories being walked */
	struct inode *links; /* files with nlink > 1 */
	size_t nlinks;
	size_t links_cap;
	uint64_t mnt; /* the root's mount id; 0: the kernel does not say */
};

/* The mount id of fd, or 0 when the kernel does not tell (before 5.8). */
static uint64_t
mount_id(int fd)
{
	struct statx sx;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) < 0 ||
	    !(sx.stx_mask & STATX_MNT_ID))
		return 0;
	return sx.stx_mnt_id;
}

static int
remember_link(struct walk *w, const struct stat *st)
{
	if (grow_array(&w->links, &w->links_cap, w->nlinks + 1,
		sizeof(*w->links), 64, SIZE_MAX / sizeof(*w->links)) < 0)
		return -ENOMEM;
	w->links[w->nlinks++] = (struct inode){ st->st_dev, st->st_ino,
		(uint64_t)st->st_size };
	return 0;
}

static int
count_file(struct walk *w, const struct stat *st)
{
	if (st->st_nlink > 1)
		return remember_link(w, st);
	w->u.bytes += (uint64_t)st->st_size;
	w->u.files++;
	return 0;
}

/* A directory already on the path being walked (a bind-mount loop). */
static int
on_path(const struct walk *w, unsigned depth, const struct stat *st)
{
	unsigned i;

	for (i = 0; i <= depth; i++)
		if (w->path[i].dev == st->st_dev &&
		    w->path[i].ino == st->st_ino)
			return 1;
	return 0;
}

static int walk_dir(struct walk *, int fd, unsigned depth);

/* A subdirectory: opened without following, checked to be what we saw. */
static int
walk_sub(struct walk *w, int dirfd, const char *name, const struct stat *st,
    unsigned depth)
{
	struct stat now;
	int fd;

	if (on_path(w, depth, st))
		return 0;
	if (depth + 1 > w->max_depth)
		return -ELOOP;
	w->u.files++; /* a directory is a file for quota_files */
	fd = openat(dirfd, name,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &now) < 0 || now.st_dev != st->st_dev ||
	    now.st_ino != st->st_ino) {
		close(fd);
		return -EAGAIN; /* changed under us: try again */
	}
	if (w->mnt != 0 && mount_id(fd) != w->mnt) {
		/* another mount (a shared folder's bind): not the user's */
		close(fd);
		w->u.files--;
		return 0;
	}
	w->path[depth + 1] = (struct inode){ now.st_dev, now.st_ino, 0 };
	return walk_dir(w, fd, depth + 1);
}

static int
walk_entry(struct walk *w, int dirfd, const char *name, unsigned depth)
{
	struct stat st;

	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	if (++w->entries > w->max_entries)
		return -E2BIG;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno; /* gone meanwhile */
	/* a STOR's temporary file is charged when it gets its name */
	if (S_ISREG(st.st_mode) &&
	    strncmp(name, UPLOAD_TMP_PREFIX, sizeof(UPLOAD_TMP_PREFIX) - 1) ==
		0)
		return 0;
	if (S_ISREG(st.st_mode))
		return count_file(w, &st);
	if (S_ISDIR(st.st_mode))
		return walk_sub(w, dirfd, name, &st, depth);
	return 0; /* symlinks, fifos, sockets, devices: not counted */
}

/* Walks and closes fd. */
static int
walk_dir(struct walk *w, int fd, unsigned depth)
{
	struct dirent *de;
	DIR *d;
	int r = 0;

	if ((d = fdopendir(fd)) == NULL) {
		r = -errno;
		close(fd);
		return r;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			r = errno != 0 ? -errno : 0;
			break;
		}
		if ((r = walk_entry(w, dirfd(d), de->d_name, depth)) < 0)
			break;
	}
	closedir(d);
	return r;
}

static int
inode_cmp(const void *a, const void *b)
{
	const struct inode *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return 0;
}

/* Hard-linked files, each inode once. */
static void
count_links(struct walk *w)
{
	size_t i;

	if (w->nlinks == 0)
		return;
	qsort(w->links, w->nlinks, sizeof(*w->links), inode_cmp);
	for (i = 0; i < w->nlinks; i++) {
		if (i > 0 && inode_cmp(&w->links[i - 1], &w->links[i]) == 0)
			continue;
		w->u.bytes += w->links[i].size;
		w->u.files++;
	}
}

int
quota_walk(int dirfd, unsigned max_depth, size_t max_entries,
    struct quota_usage *out)
{
	struct walk w = { .max_depth = max_depth, .max_entries = max_entries };
	struct stat st;
	int fd, r;

	fd = openat(dirfd, ".",
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 ||
	    (w.path = calloc((size_t)max_depth + 1, sizeof(*w.path))) == NULL) {
		r = -errno;
		close(fd);
		return r;
	}
	w.path[0] = (struct inode){ st.st_dev, st.st_ino, 0 };
	w.mnt = mount_id(fd);
	r = walk_dir(&w, fd, 0);
	if (r == 0) {
		count_links(&w);
		*out = w.u;
	}
	free(w.path);
	free(w.links);
	return r;
}

/* ---------------------------------------------------------- usage file */

static int
set_lock(int fd, short type)
{
	struct flock l = { .l_type = type, .l_whence = SEEK_SET };

	return sys_lock(fd, F_OFD_SETLKW, &l) < 0 ? -errno : 0;
}

int
quota_lock(int fd)
{
	return set_lock(fd, F_WRLCK);
}

void
quota_unlock(int fd)
{
	(void)set_lock(fd, F_UNLCK);
}

int
quota_read(int fd, struct quota_usage *u)
{
	char rec[QUOTA_RECORD_LEN + 1];
	ssize_t n;

	n = sys_pread(fd, rec, sizeof(rec), 0);
	if (n < 0 && (n = -errno) < 0) /* errno 0 would read as no record */
		return (int)n;
	return quota_parse(rec, (size_t)n, u) == 0 ? 1 : 0;
}

/*
 * One pwrite of the whole fixed-length record at offset 0: readers hold
 * the lock, and the record never changes length, so it is replaced
 * whole. (Not a rename: every session of the user keeps this inode.)
 */
int
quota_write(int fd, const struct quota_usage *u)
{
	char rec[QUOTA_RECORD_LEN + 1];
	ssize_t n;

	quota_format(u, rec, sizeof(rec));
	n = sys_pwrite(fd, rec, QUOTA_RECORD_LEN, 0);
	if (n != QUOTA_RECORD_LEN)
		return n < 0 ? -errno : -EIO;
	return ftruncate(fd, QUOTA_RECORD_LEN) < 0 ? -errno : 0;
}

/* ------------------------------------------------- a session's account */

int
quota_start(struct quota *q, int rootfd)
{
	struct quota_usage u = { 0 };
	int r;

	if (q->fd < 0)
		return 0;
	if ((r = quota_lock(q->fd)) < 0)
		goto out;
	if ((r = quota_read(q->fd, &u)) == 0) {
		r = quota_walk(rootfd, KF_QUOTA_DEPTH_MAX, KF_QUOTA_ENTRIES_MAX,
		    &u);
		if (r == 0)
			r = quota_write(q->fd, &u);
	}
	quota_unlock(q->fd);
out:
	q->broken = r < 0;
	return r < 0 ? r : 0;
}

/*
 * The record, under the lock, for a change of the usage: 0 with the
 * lock held and *u read, or -EIO with no lock held.
 */
static int
lock_read(struct quota *q, struct quota_usage *u)
{
	if (q->broken || quota_lock(q->fd) < 0)
		return -EIO;
	if (quota_read(q->fd, u) <= 0) {
		quota_unlock(q->fd);
		return -EIO;
	}
	return 0;
}

int
quota_charge(struct quota *q, uint64_t bytes, uint64_t files,
    uint64_t files_slack)
{
	struct quota_usage u = { 0 };
	int r;

	if (q->fd < 0)
		return 0;
	if (lock_read(q, &u) < 0)
		return -EIO;
	if (!quota_fits(&u, q->max_bytes, q->max_files, bytes, files,
		files_slack))
		r = -EDQUOT;
	else {
		u.bytes += bytes;
		u.files += files;
		r = quota_write(q->fd, &u) < 0 ? -EIO : 0;
	}
	quota_unlock(q->fd);
	return r;
}

/* With the lock held: bytes and files off the record. */
static void
credit_locked(struct quota *q, uint64_t bytes, uint64_t files)
{
	struct quota_usage u = { 0 };

	if ((bytes == 0 && files == 0) || quota_read(q->fd, &u) <= 0)
		return;
	quota_sub(&u, bytes, files);
	(void)quota_write(q->fd, &u);
}

void
quota_credit(struct quota *q, uint64_t bytes, uint64_t files)
{
	if (q->fd < 0 || quota_lock(q->fd) < 0)
		return;
	credit_locked(q, bytes, files);
	quota_unlock(q->fd);
}

/*
 * What removing name frees: a regular file's last link its size and one
 * file, a directory one file (0 when not a counted kind).
 */
static void
freed_by(int dirfd, const char *name, struct stat *st, uint64_t *bytes,
    uint64_t *files)
{
	*bytes = *files = 0;
	if (fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (S_ISDIR(st->st_mode)) {
		*files = 1;
		return;
	}
	if (!S_ISREG(st->st_mode) || st->st_nlink != 1)
		return;
	*bytes = (uint64_t)st->st_size;
	*files = 1;
}

/*
 * After a rename or unlink under the lock (r its result): credit what it
 * freed when it succeeded, unlock, and return r with its errno.
 */
static int
credit_unlock(struct quota *q, int r, uint64_t bytes, uint64_t files)
{
	int err = errno;

	if (r == 0)
		credit_locked(q, bytes, files);
	quota_unlock(q->fd);
	errno = err;
	return r;
}

int
quota_rename(struct quota *q, int fromdir, const char *from, int todir,
    const char *to)
{
	struct stat src, dst;
	uint64_t bytes, files;
	int r;

	if (q->fd < 0 || quota_lock(q->fd) < 0)
		return renameat(fromdir, from, todir, to);
	freed_by(todir, to, &dst, &bytes, &files);
	/* a name renamed onto itself (or a link of it) frees nothing */
	if (files > 0 &&
	    fstatat(fromdir, from, &src, AT_SYMLINK_NOFOLLOW) == 0 &&
	    src.st_dev == dst.st_dev && src.st_ino == dst.st_ino)
		bytes = files = 0;
	r = renameat(fromdir, from, todir, to);
	return credit_unlock(q, r, bytes, files);
}

int
quota_unlink(struct quota *q, int dirfd, const char *name, int flags)
{
	uint64_t bytes, files;
	struct stat st;
	int r;

	if (q->fd < 0 || quota_lock(q->fd) < 0)
		return unlinkat(dirfd, name, flags);
	freed_by(dirfd, name, &st, &bytes, &files);
	r = unlinkat(dirfd, name, flags);
	return credit_unlock(q, r, bytes, files);
}

int
quota_mkdir(struct quota *q, int dirfd, const char *name, mode_t mode)
{
	struct quota_usage u = { 0 };
	int r, err;

	if (q->fd < 0)
		return mkdirat(dirfd, name, mode);
	if (lock_read(q, &u) < 0) {
		errno = EIO;
		return -1;
	}
	if (!quota_fits(&u, q->max_bytes, q->max_files, 0, 1, 0)) {
		r = -1;
		err = EDQUOT;
	} else if ((r = mkdirat(dirfd, name, mode)) < 0)
		err = errno;
	else {
		u.files++;
		err = quota_write(q->fd, &u) < 0 ? EIO : 0;
	}
	quota_unlock(q->fd);
	errno = err;
	return r;
}

int
quota_check(struct quota *q, uint64_t bytes, uint64_t files,
    const struct quota_usage *freed)
{
	struct quota_usage u = { 0 };
	int r;

	if (q->fd < 0)
		return 0;
	if (lock_read(q, &u) < 0)
		return -EIO;
	quota_sub(&u, freed->bytes, freed->files);
	r = quota_fits(&u, q->max_bytes, q->max_files, bytes, files, 0) ?
	    0 :
	    -EDQUOT;
	quota_unlock(q->fd);
	return r;
}

int
quota_commit(struct quota *q, uint64_t bytes, int todir, const char *to,
    int (*place)(void *), void *arg)
{
	struct quota_usage u, freed;
	struct stat st;
	int r;

	if (q->fd < 0)
		return place(arg) < 0 ? -errno : 0;
	if (q->broken || quota_lock(q->fd) < 0)
		return -EIO;
	freed_by(todir, to, &st, &freed.bytes, &freed.files);
	if (quota_read(q->fd, &u) <= 0)
		r = -EIO;
	else if (quota_sub(&u, freed.bytes, freed.files),
	    !quota_fits(&u, q->max_bytes, q->max_files, bytes, 1, 0))
		r = -EDQUOT;
	else if (place(arg) < 0)
		r = -errno;
	else {
		u.bytes += bytes;
		u.files++;
		r = quota_write(q->fd, &u) < 0 ? -EIO : 0;
	}
	quota_unlock(q->fd);
	return r;
}
