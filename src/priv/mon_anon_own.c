/*
 * mon_anon_own.c - MON_ANON_OWN: a file an anonymous session uploaded
 * into one of the anon_upload_dirs is given to anon_upload_owner
 * (docs/PERMISSIONS.md, "Anonymous drop-boxes"). The worker only
 * passes the descriptor; everything else the monitor checks itself on
 * that descriptor and on the directories of its own identity, walking
 * them without following a symlink, before it changes the owner.
 * Runs in: monitor (and unit tests, the IPC fuzz target).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "../common/sys.h"
#include "../ipc/proto.h"
#include "mon_state.h"

/* The refusals, each fatal; NULL when the file may be handed over. */
#define OWN_OK NULL

static enum mon_verdict __attribute__((format(printf, 2, 3)))
own_fatal(struct mon_out *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(out->why, sizeof(out->why), fmt, ap);
	va_end(ap);
	return MON_V_FATAL;
}

/* The name the kernel gives fd (/proc/self/fd): 0, or -1. */
static int
fd_path(int fd, char *out, size_t n)
{
	char link[64];
	ssize_t r;

	(void)snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	r = readlink(link, out, n - 1);
	if (r <= 0 || (size_t)r >= n - 1)
		return -1;
	out[r] = '\0';
	return 0;
}

/*
 * From the directory from, each '/'-separated component of p (all, or
 * all but the last when keep_last), a directory reached without
 * following a symlink; "." and ".." are refused. The last directory
 * (O_PATH), or -1; from itself stays open.
 */
static int
walk(int from, const char *p, int keep_last)
{
	char name[NAME_MAX + 1];
	int fd, next;
	size_t n;

	if ((fd = dup(from)) < 0)
		return -1;
	for (;;) {
		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (n == 0 || (keep_last && p[n] == '\0'))
			return fd;
		if (n > NAME_MAX || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			break;
		memcpy(name, p, n);
		name[n] = '\0';
		next = openat(fd, name,
		    O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		if ((fd = next) < 0)
			return -1;
		p += n;
	}
	close(fd);
	return -1;
}

/*
 * The file's name rel lies beneath dirfd and names fd's inode (sb):
 * walked from the directory, no symlink followed. 1 or 0.
 */
static int
names_it(int dirfd, const char *rel, const struct stat *sb)
{
	const char *base = strrchr(rel, '/');
	struct stat ls;
	int fd, r;

	base = base != NULL ? base + 1 : rel;
	if ((fd = walk(dirfd, rel, 1)) < 0)
		return 0;
	r = fstatat(fd, base, &ls, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(ls.st_mode) && ls.st_dev == sb->st_dev &&
	    ls.st_ino == sb->st_ino;
	close(fd);
	return r;
}

/*
 * path (the kernel's name of the file) beneath the drop-box dir of the
 * session's root, and naming the file. 1 or 0.
 */
static int
in_dir(const char *root, const char *dir, const char *path,
    const struct stat *sb)
{
	char dpath[PATH_MAX];
	int rootfd, dirfd, r = 0;
	size_t n;

	if ((rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return 0;
	dirfd = walk(rootfd, dir, 0);
	close(rootfd);
	if (dirfd < 0)
		return 0;
	if (fd_path(dirfd, dpath, sizeof(dpath)) == 0) {
		n = strlen(dpath);
		if (n == 1) /* the file system's root: "/" */
			n = 0;
		r = strncmp(path, dpath, n) == 0 && path[n] == '/' &&
		    names_it(dirfd, path + n + 1, sb);
	}
	close(dirfd);
	return r;
}

/* Beneath one of the session's drop-boxes (its own anon_upload_dirs). */
static int
in_dropbox(const struct mon_state *st, int fd, const struct stat *sb)
{
	char path[PATH_MAX];
	uint32_t i;

	if (fd_path(fd, path, sizeof(path)) < 0 || path[0] != '/')
		return 0;
	for (i = 0; i < st->id->perms.n && i < KF_PERM_RULES_MAX; i++)
		if (in_dir(st->id->root, st->id->perms.r[i].path, path, sb))
			return 1;
	return 0;
}

/* What the file must be while the anonymous account still owns it. */
static const char *
unfit(const struct mon_state *st, int fd, struct stat *sb)
{
	if (fstat(fd, sb) < 0)
		return "fstat failed";
	if (!S_ISREG(sb->st_mode))
		return "not a regular file";
	if (sb->st_uid != st->id->uid)
		return "not owned by the anonymous account";
	if (sb->st_nlink != 1)
		return "more than one link";
	if ((sb->st_mode & (S_ISUID | S_ISGID | S_ISVTX)) != 0)
		return "a set-id or sticky bit";
	if (!in_dropbox(st, fd, sb))
		return "not in an anon_upload_dirs directory";
	return OWN_OK;
}

/* After the first fchown: still one link, still in a drop-box. */
static int
still_fit(const struct mon_state *st, int fd)
{
	struct stat sb;

	return fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_uid == 0 &&
	    sb.st_nlink == 1 && in_dropbox(st, fd, &sb);
}

/*
 * Root's first, so the worker can no longer chmod or link it; the mode
 * set as its owner (no CAP_FOWNER); checked again; then the account's.
 * 0, -1 a system call failed (errno), -2 the file changed meanwhile
 * (left root's, mode 0).
 */
static int
give(const struct mon_state *st, int fd)
{
	int e;

	if (fchown(fd, 0, 0) < 0)
		return -1;
	if (fchmod(fd, (mode_t)st->conf->anon_upload_mode) < 0)
		goto fail;
	if (!still_fit(st, fd)) {
		(void)fchmod(fd, 0);
		return -2;
	}
	if (fchown(fd, st->owner_uid, st->owner_gid) < 0)
		goto fail;
	return 0;
fail:
	e = errno;
	(void)fchmod(fd, 0);
	errno = e;
	return -1;
}

static enum mon_verdict
own_reply(struct mon_out *out, uint32_t v)
{
	ipc_init(&out->rep, MON_ANON_OWN_RESULT);
	ipc_put_u32(&out->rep, v);
	return MON_V_REPLY;
}

static int64_t
own_now(const struct mon_ops *ops)
{
	return ops->now_ms != NULL ? ops->now_ms() : sys_now_ms();
}

/*
 * MON_ANON_OWN: the table took it after login with one descriptor; the
 * session, the configuration and the file are checked here.
 */
enum mon_verdict
mon_h_anon_own(struct mon_state *st, const struct mon_ops *ops,
    struct ipc_msg *msg, struct mon_out *out)
{
	char path[PATH_MAX], mode[16];
	const char *why;
	struct stat sb;
	int r;

	if (ipc_end(msg) < 0)
		return own_fatal(out, "MON_ANON_OWN with trailing bytes");
	if (!st->logged_in || !st->id->anonymous)
		return own_fatal(out,
		    "MON_ANON_OWN refused: not an anonymous "
		    "session");
	if (st->conf->anon_upload_owner[0] == '\0' || !st->owner_ok)
		return own_fatal(out,
		    "MON_ANON_OWN refused: no "
		    "anon_upload_owner");
	if (!rate_take(&st->own_bucket, own_now(ops), KF_ANON_OWN_RATE,
		KF_ANON_OWN_BURST))
		return own_fatal(out,
		    "MON_ANON_OWN refused: a flood (over "
		    "%d a second)",
		    KF_ANON_OWN_RATE);
	if ((why = unfit(st, st->req_fd, &sb)) != OWN_OK)
		return own_fatal(out, "MON_ANON_OWN refused: %s", why);
	if ((r = give(st, st->req_fd)) == -2)
		return own_fatal(out,
		    "MON_ANON_OWN refused: the file changed "
		    "while it was handed over (left to root, "
		    "mode 0)");
	if (r < 0) {
		ops->log(LOG_ERR,
		    "anon upload not handed over: inode=%llu "
		    "%-s",
		    (unsigned long long)sb.st_ino, strerror(errno));
		return own_reply(out, 0);
	}
	if (fd_path(st->req_fd, path, sizeof(path)) < 0)
		path[0] = '\0';
	(void)snprintf(mode, sizeof(mode), "%04lo",
	    (unsigned long)(st->conf->anon_upload_mode & 07777));
	ops->log(LOG_INFO,
	    "anon upload handed over: path=%s owner=%-s mode=%-s", path,
	    st->conf->anon_upload_owner, mode);
	return own_reply(out, 1);
}
