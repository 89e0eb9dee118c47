/*
 * sess_file.c - file operations: PWD, CWD/CDUP (with .message), DELE,
 * RMD, MKD, RNFR/RNTO, SIZE and MDTM.
 * Runs in: post-login worker.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "../fs/path.h"
#include "sess.h"

/* RFC 959 quoting for 257: a '"' in the name is doubled. */
static void
sess_reply_257(struct sess *s, const char *path, const char *what)
{
	char q[2 * KF_PATH_MAX + 1];
	size_t o = 0;

	for (; *path != '\0' && o + 2 < sizeof(q); path++) {
		if (*path == '"')
			q[o++] = '"';
		q[o++] = *path;
	}
	q[o] = '\0';
	ctrl_reply(&s->ctrl, 257, "\"%s\" %s", q, what);
}

void
do_pwd(struct sess *s, const struct cmd *c)
{
	sess_reply_257(s, s->cwd, "is the current directory");
}

#define MESSAGE_LINES 20

/*
 * The new directory's .message (message_enable), as a multi-line 250.
 * Bounded; bytes outside printable ASCII, tab and UTF-8 become '?'.
 * 0 when sent, -1 when there is none (the caller sends the plain 250).
 */
static int
reply_message(struct sess *s)
{
	char vpath[KF_PATH_MAX + 16], text[KF_MESSAGE_MAX + 1];
	const char *lines[MESSAGE_LINES], *p;
	size_t n = 0, i, count = 0;
	struct stat sb;
	ssize_t r;
	int fd;

	if ((size_t)snprintf(vpath, sizeof(vpath), "%s/.message",
		strcmp(s->cwd, "/") == 0 ? "" : s->cwd) >= sizeof(vpath))
		return -1;
	if ((fd = fs_open(s->rootfd, vpath, O_RDONLY | O_NOFOLLOW | O_NONBLOCK,
		 0)) < 0)
		return -1;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return -1;
	}
	while (n < KF_MESSAGE_MAX &&
	    (r = read(fd, text + n, KF_MESSAGE_MAX - n)) > 0)
		n += (size_t)r;
	close(fd);
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)text[i];

		if (ch == '\n')
			text[i] = '\0';
		else if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			text[i] = '?';
	}
	text[n] = '\0';
	for (p = text; p < text + n && count < MESSAGE_LINES;
	     p += strlen(p) + 1)
		lines[count++] = p;
	ctrl_reply_lines(&s->ctrl, 250, "Directory successfully changed.",
	    lines, count, "End of message.");
	return 0;
}

void
do_cwd(struct sess *s, const struct cmd *c)
{
	int fd;

	if (sess_resolve(s, c->def->id == CMD_CDUP ? ".." : c->arg) < 0)
		return;
	fd = fs_open(s->rootfd, s->path, O_PATH | O_DIRECTORY, 0);
	if (fd < 0) {
		ctrl_reply(&s->ctrl, 550, "Failed to change directory.");
		return;
	}
	close(fd);
	memcpy(s->cwd, s->path, strlen(s->path) + 1);
	if (s->conf->message_enable && reply_message(s) == 0)
		return;
	ctrl_reply(&s->ctrl, 250, "Directory successfully changed.");
}

/*
 * The parent directory fd and last name of the argument, or a 550;
 * s->real: the resolved path of the name (the parent's symlinks and
 * ".." gone), which the permission rules judge.
 */
int
sess_parent_of(struct sess *s, const char *arg, const char **name)
{
	int fd;

	if (sess_resolve(s, arg) < 0)
		return -1;
	fd = fs_open_parent_real(s->rootfd, s->path, name, s->real,
	    sizeof(s->real));
	if (fd < 0)
		ctrl_reply(&s->ctrl, 550, "No such file or directory.");
	return fd;
}

/* sess_parent_of for a change to an existing name: read-only sessions get 550. */
int
sess_writable_parent(struct sess *s, const char *arg, const char **name)
{
	if (!sess_may_change(s)) {
		ctrl_reply(&s->ctrl, 550, "Permission denied.");
		return -1;
	}
	return sess_parent_of(s, arg, name);
}

void
sess_audit(struct sess *s, const char *op, const char *from, int ok)
{
	int e = errno;

	log_field_str("command", op);
	if (!ok) /* in the text after " reason=", a field of its own in JSON */
		log_field_str("reason", strerror(e));
	if (from != NULL)
		log_event(LOG_INFO, "audit",
		    "audit: %-s from=%s path=%s user=%s result=%-s%-s%-s", op,
		    from, s->path, s->id->name, ok ? "ok" : "failed",
		    ok ? "" : " reason=", ok ? "" : strerror(e));
	else
		log_event(LOG_INFO, "audit",
		    "audit: %-s path=%s user=%s result=%-s%-s%-s", op, s->path,
		    s->id->name, ok ? "ok" : "failed",
		    ok ? "" : " reason=", ok ? "" : strerror(e));
	errno = e;
}

void
do_dele(struct sess *s, const struct cmd *c)
{
	const char *name;
	int fd, r;

	if ((fd = sess_parent_of(s, c->arg, &name)) < 0)
		return;
	if (sess_may(s, s->real,
		c->def->id == CMD_RMD ? PERM_RMDIR : PERM_DELETE,
		c->def->id == CMD_RMD ? "RMD" : "DELE") < 0) {
		close(fd);
		return;
	}
	r = quota_unlink(&s->quota, fd, name,
	    c->def->id == CMD_RMD ? AT_REMOVEDIR : 0);
	close(fd);
	sess_audit(s, c->def->id == CMD_RMD ? "RMD" : "DELE", NULL, r == 0);
	if (r < 0)
		ctrl_reply(&s->ctrl, 550, "%s operation failed.",
		    c->def->id == CMD_RMD ? "Remove directory" : "Delete");
	else if (c->def->id == CMD_RMD)
		ctrl_reply(&s->ctrl, 250,
		    "Remove directory operation successful.");
	else
		ctrl_reply(&s->ctrl, 250, "Delete operation successful.");
}

void
do_mkd(struct sess *s, const struct cmd *c)
{
	const char *name;
	int fd, r;

	if ((fd = sess_parent_of(s, c->arg, &name)) < 0)
		return;
	if (sess_may(s, s->real, PERM_MKDIR, "MKD") < 0) {
		close(fd);
		return;
	}
	r = quota_mkdir(&s->quota, fd, name, 0777);
	close(fd);
	sess_audit(s, "MKD", NULL, r == 0);
	if (r < 0 && errno == EDQUOT)
		ctrl_reply(&s->ctrl, 552, "Quota exceeded: at most %llu files.",
		    (unsigned long long)s->quota.max_files);
	else if (r < 0)
		ctrl_reply(&s->ctrl, 550, "Create directory operation failed.");
	else
		sess_reply_257(s, s->path, "created");
}

void
do_rnfr(struct sess *s, const struct cmd *c)
{
	const char *name;
	struct stat sb;
	int fd, r;

	s->has_rnfr = 0;
	if ((fd = sess_parent_of(s, c->arg, &name)) < 0)
		return;
	r = fstatat(fd, name, &sb, AT_SYMLINK_NOFOLLOW);
	close(fd);
	if (r < 0) {
		sess_audit(s, "RNFR", NULL, 0);
		ctrl_reply(&s->ctrl, 550, "RNFR command failed.");
		return;
	}
	if (sess_may(s, s->real, PERM_RENAME, "RNFR") < 0)
		return;
	memcpy(s->rnfr, s->path, strlen(s->path) + 1);
	s->has_rnfr = 1;
	ctrl_reply(&s->ctrl, 350, "Ready for RNTO.");
}

/*
 * A directory renamed carries the paths below it: it may not move
 * from or to a path with a rule at or below it, or the rules would
 * judge its contents by their new names (docs/PERMISSIONS.md).
 */
static int
rename_moves_rules(struct sess *s, int ffd, const char *from, const char *freal)
{
	struct stat sb;

	if (fstatat(ffd, from, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISDIR(sb.st_mode))
		return 0;
	if (!perm_rules_within(&s->id->perms, freal) &&
	    !perm_rules_within(&s->id->perms, s->real))
		return 0;
	log_event(LOG_WARNING, "perm",
	    "permission denied: RNTO path=%s real=%s user=%s: a "
	    "permission rule lies at or below",
	    s->path, s->real, s->id->name);
	ctrl_reply(&s->ctrl, 550,
	    "Permission denied (a permission rule lies at or below).");
	return -1;
}

/*
 * The rename right on both names, resolved now (the source again: it
 * may have changed since RNFR), overwrite when the target exists.
 */
static int
rnto_allowed(struct sess *s, int ffd, const char *from, const char *freal,
    int tfd, const char *to)
{
	struct stat sb;
	uint32_t need = PERM_RENAME;

	if (fstatat(tfd, to, &sb, AT_SYMLINK_NOFOLLOW) == 0)
		need |= PERM_OVERWRITE;
	if (sess_may(s, freal, PERM_RENAME, "RNTO") < 0 ||
	    sess_may(s, s->real, need, "RNTO") < 0)
		return -1;
	return rename_moves_rules(s, ffd, from, freal);
}

void
do_rnto(struct sess *s, const struct cmd *c)
{
	char freal[KF_PATH_MAX + 1];
	const char *from, *to;
	int ffd, tfd, r = -1;

	if (!s->has_rnfr) {
		ctrl_reply(&s->ctrl, 503, "RNFR required first.");
		return;
	}
	s->has_rnfr = 0;
	if ((tfd = sess_parent_of(s, c->arg, &to)) < 0)
		return;
	ffd = fs_open_parent_real(s->rootfd, s->rnfr, &from, freal,
	    sizeof(freal));
	if (ffd >= 0 && rnto_allowed(s, ffd, from, freal, tfd, to) < 0) {
		close(ffd);
		close(tfd);
		return;
	}
	if (ffd >= 0) {
		r = quota_rename(&s->quota, ffd, from, tfd, to);
		close(ffd);
	}
	close(tfd);
	sess_audit(s, "RNTO", s->rnfr, r == 0);
	if (r < 0)
		ctrl_reply(&s->ctrl, 550, "Rename failed.");
	else
		ctrl_reply(&s->ctrl, 250, "Rename successful.");
}

/*
 * SIZE and MDTM: the download right (they prepare a download, and a
 * drop-box must not tell what it holds); anonymous sessions only for
 * files others may read (sess_anon_servable).
 */
static int
stat_file(struct sess *s, const char *arg, struct stat *sb, const char *verb)
{
	int fd, r;

	if (sess_resolve(s, arg) < 0)
		return -1;
	fd = fs_open_real(s->rootfd, s->path, O_PATH, 0, s->real,
	    sizeof(s->real));
	r = fd < 0 ? -1 : fstat(fd, sb);
	if (fd >= 0)
		close(fd);
	if (r < 0 || !S_ISREG(sb->st_mode)) {
		ctrl_reply(&s->ctrl, 550, "Could not get file %s.",
		    "information");
		return -1;
	}
	if (sess_may(s, s->real, PERM_DOWNLOAD, verb) < 0 ||
	    sess_anon_servable(s, sb) < 0)
		return -1;
	return 0;
}

void
do_size(struct sess *s, const struct cmd *c)
{
	struct stat sb;

	if (stat_file(s, c->arg, &sb, "SIZE") == 0)
		ctrl_reply(&s->ctrl, 213, "%lld", (long long)sb.st_size);
}

void
do_mdtm(struct sess *s, const struct cmd *c)
{
	struct stat sb;
	struct tm tm;
	char when[32];

	if (stat_file(s, c->arg, &sb, "MDTM") < 0)
		return;
	if (gmtime_r(&sb.st_mtime, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y%m%d%H%M%S", &tm) == 0)
		ctrl_reply(&s->ctrl, 550, "Modification time out of range.");
	else
		ctrl_reply(&s->ctrl, 213, "%s", when);
}
