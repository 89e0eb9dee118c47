/*
 * upload.c - the temporary file of a STOR (see upload.h): unnamed
 * (O_TMPFILE, linked in on success) where possible, else named, locked,
 * hidden, and swept when its worker died.
 * Runs in: post-login worker.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/limits.h"
#include "upload.h"

#define PREFIX_LEN (sizeof(UPLOAD_TMP_PREFIX) - 1)
#define HEX_DIGITS 12

int
upload_tmp_is_name(const char *name)
{
	return strncmp(name, UPLOAD_TMP_PREFIX, PREFIX_LEN) == 0;
}

static void
random_name(char *out, size_t outsz)
{
	unsigned char rnd[HEX_DIGITS / 2];

	randombytes_buf(rnd, sizeof(rnd));
	snprintf(out, outsz, UPLOAD_TMP_PREFIX "%02x%02x%02x%02x%02x%02x",
	    rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
}

/*
 * Whether fd (an O_TMPFILE file) can be linked in later: linkat with an
 * empty name onto "." fails with EEXIST when the kernel would allow the
 * link, with ENOENT when it refuses empty names to this process. Nothing
 * is created either way.
 */
static int
linkable(int fd, int dirfd)
{
	return linkat(fd, "", dirfd, ".", AT_EMPTY_PATH) < 0 && errno == EEXIST;
}

static int
open_unnamed(int dirfd, struct upload_tmp *t)
{
	struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	/* readable: an upload hook in check mode reads it (sess_upload.c) */
	t->fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0666);
	if (t->fd < 0)
		return -1;
	/*
	 * Locked too, for the two system calls in which place_unnamed
	 * gives it a temporary name: another node's sweep leaves it alone
	 * even when its last write is older than the orphan age (a long
	 * upload hook). Best effort: it has no name until then.
	 */
	(void)fcntl(t->fd, F_OFD_SETLK, &l);
	if (linkable(t->fd, dirfd))
		return 0;
	close(t->fd);
	t->fd = -1;
	return -1;
}

/* The named file, locked for as long as it is open (the sweep's sign). */
static int
open_named(int dirfd, struct upload_tmp *t)
{
	struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	random_name(t->name, sizeof(t->name));
	t->fd = openat(dirfd, t->name,
	    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
	if (t->fd < 0)
		return -1;
	t->named = 1;
	if (fcntl(t->fd, F_OFD_SETLK, &l) == 0)
		return 0;
	upload_tmp_discard(dirfd, t);
	return -1;
}

int
upload_tmp_open(int dirfd, int unnamed_ok, struct upload_tmp *t)
{
	t->fd = -1;
	t->named = 0;
	t->name[0] = '\0';
	if (unnamed_ok && open_unnamed(dirfd, t) == 0)
		return 0;
	upload_sweep(dirfd, time(NULL));
	return open_named(dirfd, t);
}

/*
 * The unnamed file under the name to: linked directly when the name is
 * free, else linked under a temporary name and renamed over it (linkat
 * does not replace). That name lives for two system calls.
 */
static int
place_unnamed(int dirfd, struct upload_tmp *t, const char *to)
{
	char tmp[sizeof(t->name)];
	int err;

	if (linkat(t->fd, "", dirfd, to, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	random_name(tmp, sizeof(tmp));
	if (linkat(t->fd, "", dirfd, tmp, AT_EMPTY_PATH) < 0)
		return -1;
	if (renameat(dirfd, tmp, dirfd, to) == 0)
		return 0;
	err = errno;
	unlinkat(dirfd, tmp, 0);
	errno = err;
	return -1;
}

int
upload_tmp_place(int dirfd, struct upload_tmp *t, const char *to)
{
	if (!t->named)
		return place_unnamed(dirfd, t, to);
	if (renameat(dirfd, t->name, dirfd, to) < 0)
		return -1;
	t->named = 0;
	return 0;
}

void
upload_tmp_discard(int dirfd, struct upload_tmp *t)
{
	if (t->named)
		unlinkat(dirfd, t->name, 0);
	t->named = 0;
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

/* An orphan: a regular file nobody holds locked, unchanged for a while. */
static int
orphan(int dirfd, const char *name, time_t now)
{
	struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	struct stat st;
	int fd, r;

	fd = openat(dirfd, name,
	    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	r = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    now - st.st_mtime >= KF_UPLOAD_ORPHAN_AGE &&
	    fcntl(fd, F_OFD_GETLK, &l) == 0 && l.l_type == F_UNLCK;
	close(fd);
	return r;
}

void
upload_sweep(int dirfd, time_t now)
{
	struct dirent *de;
	size_t seen = 0;
	DIR *d;
	int fd;

	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while (seen++ < KF_LIST_ENTRIES_MAX && (de = readdir(d)) != NULL)
		if (upload_tmp_is_name(de->d_name) &&
		    orphan(dirfd, de->d_name, now))
			unlinkat(dirfd, de->d_name, 0);
	closedir(d);
}
