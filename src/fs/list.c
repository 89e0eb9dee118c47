/*
 * list.c - directory listings.
 * Runs in: post-login worker.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/limits.h"
#include "list.h"
#include "path.h"

#define SIX_MONTHS	(182L * 24 * 3600)

/* Leading "-a", "-l", "-la" ... words; the rest is the path. */
int
list_parse_opts(const char **arg, unsigned *flags)
{
	const char *p = *arg;

	while (*p == '-') {
		for (p++; *p != '\0' && *p != ' '; p++) {
			if (*p == 'a' || *p == 'A')
				*flags |= LIST_ALL;
			else if (*p == 'l')
				*flags |= LIST_LONG;
			else if (*p != 'F' && *p != 'L' && *p != 'T')
				return -EINVAL;
		}
		while (*p == ' ')
			p++;
	}
	*arg = p;
	return 0;
}

static void
mode_string(mode_t m, char out[11])
{
	static const char rwx[] = "rwxrwxrwx";
	int i;

	out[0] = S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'l' : S_ISFIFO(m) ? 'p' :
	    S_ISSOCK(m) ? 's' : S_ISCHR(m) ? 'c' : S_ISBLK(m) ? 'b' : '-';
	for (i = 0; i < 9; i++)
		out[i + 1] = (m & (0400 >> i)) ? rwx[i] : '-';
	if (m & S_ISUID)
		out[3] = (m & S_IXUSR) ? 's' : 'S';
	if (m & S_ISGID)
		out[6] = (m & S_IXGRP) ? 's' : 'S';
	if (m & S_ISVTX)
		out[9] = (m & S_IXOTH) ? 't' : 'T';
	out[10] = '\0';
}

/* GNU ls -l: time for the last six months, the year otherwise (UTC). */
int
list_format_entry(struct buf *b, const char *name, const struct stat *st,
    const char *link, time_t now)
{
	char mode[11], when[16];
	struct tm tm;
	time_t t = st->st_mtime;

	mode_string(st->st_mode, mode);
	gmtime_r(&t, &tm);
	if (t > now - SIX_MONTHS && t < now + 3600)
		strftime(when, sizeof(when), "%b %e %H:%M", &tm);
	else
		strftime(when, sizeof(when), "%b %e  %Y", &tm);
	return buf_appendf(b, "%s %4lu %-8u %-8u %12lld %s %s%s%s\r\n", mode,
	    (unsigned long)st->st_nlink, (unsigned)st->st_uid,
	    (unsigned)st->st_gid, (long long)st->st_size, when, name,
	    link != NULL ? " -> " : "", link != NULL ? link : "");
}

static int
emit(struct buf *b, int dfd, const char *name, unsigned flags, time_t now)
{
	char target[KF_PATH_MAX + 1];
	struct stat st;
	ssize_t n;

	if (!(flags & LIST_LONG))
		return buf_appendf(b, "%s\r\n", name);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;	/* vanished meanwhile */
	if (!S_ISLNK(st.st_mode))
		return list_format_entry(b, name, &st, NULL, now);
	n = readlinkat(dfd, name, target, sizeof(target) - 1);
	target[n < 0 ? 0 : n] = '\0';
	return list_format_entry(b, name, &st, target, now);
}

static int
flush_if(struct buf *b, int (*flush)(void *, const char *, size_t), void *ctx,
    int force)
{
	int r = 0;

	if (buf_len(b) == 0 || (!force && buf_room(b) > KF_LIST_BUF / 4))
		return 0;
	r = flush(ctx, buf_data(b), buf_len(b));
	buf_reset(b);
	return r;
}

static int
list_dir(int fd, unsigned flags, struct buf *b,
    int (*flush)(void *, const char *, size_t), void *ctx)
{
	time_t now = time(NULL);
	struct dirent *de;
	size_t count = 0;
	DIR *d;
	int r = 0;

	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -errno;
	}
	while (r == 0 && count < KF_LIST_ENTRIES_MAX && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' && (!(flags & LIST_ALL) ||
		    de->d_name[1] == '\0' ||
		    (de->d_name[1] == '.' && de->d_name[2] == '\0')))
			continue;
		count++;
		if ((r = emit(b, dirfd(d), de->d_name, flags, now)) == 0)
			r = flush_if(b, flush, ctx, 0);
	}
	closedir(d);
	return r;
}

/*
 * Lists vpath (a directory, or one file) through flush(ctx, bytes, n).
 * The path is opened before the first flush, so a caller that opens
 * the data connection lazily in flush() can still answer 550 for a bad
 * path. Returns 0, a negative errno, or the flush error.
 */
int
list_run(int rootfd, const char *vpath, unsigned flags,
    int (*flush)(void *, const char *, size_t), void *ctx)
{
	struct buf *b;
	struct stat st;
	const char *name;
	int fd, r;

	fd = fs_open(rootfd, vpath, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0 && errno != ENOTDIR)
		return -errno;
	if ((b = buf_new(KF_LIST_BUF)) == NULL) {
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	if (fd >= 0)
		r = list_dir(fd, flags, b, flush, ctx);
	else if ((fd = fs_open_parent(rootfd, vpath, &name)) < 0)
		r = -errno;
	else {
		r = fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno :
		    emit(b, fd, name, flags, time(NULL));
		close(fd);
	}
	if (r == 0)
		r = flush_if(b, flush, ctx, 1);
	buf_free(b);
	return r;
}
