/*
 * quota_file.c - opening a user's quota usage file (quota.h), alone in
 * its file: the monitor opens it before the post-login worker starts
 * and links nothing else of the quota code.
 * Runs in: monitor (before the post-login worker), keepftpd quota
 * command; unit tests.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "quota.h"

/*
 * The usage file must be what we would have made: a regular file with
 * one link, owned by the directory's owner, in a directory nobody else
 * may write. Else a local user who could write in quota_dir could make
 * a privileged process truncate and rewrite another file.
 */
static int
trusted(const struct stat *d, const struct stat *f)
{
	if (d->st_mode & (S_IWGRP | S_IWOTH))
		return 0;
	return S_ISREG(f->st_mode) && f->st_nlink == 1 &&
	    f->st_uid == d->st_uid;
}

/* A file we just created, as root, in a directory of another owner. */
static int
give_to_owner(int fd, const struct stat *d, struct stat *f)
{
	if (f->st_uid == d->st_uid || geteuid() != 0)
		return 0;
	if (fchown(fd, d->st_uid, d->st_gid) < 0)
		return -errno;
	f->st_uid = d->st_uid;
	return 0;
}

int
quota_open(const char *dir, const char *name)
{
	const int flags = O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
	    O_NOCTTY;
	struct stat d = { 0 },
		    f = { 0 }; /* never read unset, even if errno 0 */
	int dfd, fd, r = 0, created = 1;

	if (name[0] == '\0' || name[0] == '.' || strchr(name, '/') != NULL)
		return -EINVAL;
	if ((dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	fd = openat(dfd, name, flags | O_CREAT | O_EXCL, 0600);
	if (fd < 0 && errno == EEXIST) {
		created = 0;
		fd = openat(dfd, name, flags);
	}
	if (fd < 0 || fstat(dfd, &d) < 0 || fstat(fd, &f) < 0)
		r = -errno;
	else if (created)
		r = give_to_owner(fd, &d, &f);
	if (r == 0 && !trusted(&d, &f))
		r = -EPERM;
	close(dfd);
	if (r < 0 && fd >= 0)
		close(fd);
	return r < 0 ? r : fd;
}
