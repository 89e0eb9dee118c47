/*
 * sess_site.c - changes to a file's metadata and the session's own
 * settings: MFMT, SITE CHMOD, SITE UMASK, SITE IDLE, SITE HELP, HELP.
 * Runs in: post-login worker.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/cursor.h"
#include "../common/log.h"
#include "sess.h"

/*
 * The last component itself, never a symlink in its place: opened with
 * O_NOFOLLOW (a symlink fails with ELOOP), for reading, or for writing
 * when the owner may not read it. What is then checked and changed is
 * this descriptor, so a name swapped after the open changes nothing.
 * (O_PATH would need fchmodat2 or /proc to change a mode; the worker
 * has neither.)
 */
static int
open_nofollow(int dirfd, const char *name)
{
	const int flags = O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | flags);
	if (fd < 0 && errno == EACCES)
		fd = openat(dirfd, name, O_WRONLY | flags);
	return fd;
}

/*
 * A file or directory to change (SITE CHMOD, MFMT), opened as above:
 * the fd; -1 when it cannot be (the caller answers 550); -2 when a 550
 * or 553 has been sent already (read-only session, bad path).
 */
static int
open_own(struct sess *s, const char *arg, uint32_t need, const char *verb)
{
	const char *name;
	struct stat sb;
	int dfd, fd;

	if ((dfd = sess_writable_parent(s, arg, &name)) < 0)
		return -2;
	if (sess_may(s, s->real, need, verb) < 0) {
		close(dfd);
		return -2;
	}
	fd = open_nofollow(dfd, name);
	close(dfd);
	if (fd >= 0 &&
	    (fstat(fd, &sb) < 0 ||
		(!S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)))) {
		close(fd); /* fifos, sockets, devices: not here */
		fd = -1;
	}
	return fd;
}

/* MFMT time path (draft-somers-ftp-mfxx): set a file's mtime. */
void
do_mfmt(struct sess *s, const struct cmd *c)
{
	const char *path;
	struct timespec ts[2];
	struct tm tm;
	char when[32];
	time_t t;
	int fd, r;

	if (args_mfmt(c->arg, c->arglen, &t, &path) < 0) {
		ctrl_reply(&s->ctrl, 501, "Usage: MFMT YYYYMMDDHHMMSS path.");
		return;
	}
	if ((fd = open_own(s, path, PERM_MTIME, "MFMT")) == -2)
		return;
	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_sec = t;
	ts[1].tv_nsec = 0;
	r = fd < 0 ? -1 : futimens(fd, ts);
	if (fd >= 0)
		close(fd);
	sess_audit(s, "MFMT", NULL, r == 0);
	if (r < 0) {
		ctrl_reply(&s->ctrl, 550,
		    "Could not set the modification time.");
		return;
	}
	gmtime_r(&t, &tm); /* t: MFMT's own 14 digits, years 1..9999 */
	(void)strftime(when, sizeof(when), "%Y%m%d%H%M%S", &tm);
	ctrl_reply(&s->ctrl, 213, "Modify=%s; %s", when, s->path);
}

static void
site_chmod(struct sess *s, const char *arg)
{
	const char *path;
	unsigned mode;
	int fd, r;

	/*
	 * Set-id and sticky bits parse, and the kernel refuses them: the
	 * post-login seccomp filter answers EPERM (550), so a user cannot
	 * make setuid files even through a worker that skips this code.
	 */
	if (args_chmod(arg, strlen(arg), &mode, &path) < 0) {
		ctrl_reply(&s->ctrl, 501, "Usage: SITE CHMOD 0..07777 path.");
		return;
	}
	if ((fd = open_own(s, path, PERM_CHMOD, "SITE CHMOD")) == -2)
		return;
	r = fd < 0 ? -1 : fchmod(fd, (mode_t)mode);
	if (fd >= 0)
		close(fd);
	{
		char m[16];

		snprintf(m, sizeof(m), "%04o", mode);
		log_field_str("mode", m);
	}
	sess_audit(s, "SITE CHMOD", NULL, r == 0);
	if (r < 0)
		ctrl_reply(&s->ctrl, 550, "SITE CHMOD failed.");
	else
		ctrl_reply(&s->ctrl, 200, "SITE CHMOD command ok.");
}

static void
site_umask(struct sess *s, const char *arg)
{
	unsigned m;

	if (*arg == '\0') {
		ctrl_reply(&s->ctrl, 200, "Your current UMASK is %04o.",
		    s->umask);
		return;
	}
	if (args_mode(arg, strlen(arg), 0777, &m) < 0) {
		ctrl_reply(&s->ctrl, 501, "Usage: SITE UMASK 0..0777.");
		return;
	}
	/* a users-file umask= is a floor: bits may be added, not removed */
	if (s->id->has_umask)
		m |= s->id->umask;
	s->umask = m;
	umask((mode_t)m);
	ctrl_reply(&s->ctrl, 200, "UMASK set to %04o.", m);
}

/*
 * SITE IDLE [seconds]: at most the configured idle_timeout, at least 30
 * seconds (or idle_timeout itself when it is shorter).
 */
static void
site_idle(struct sess *s, const char *arg)
{
	unsigned long hi = s->conf->idle_timeout, lo = hi < 30 ? hi : 30;
	uint64_t v;

	if (*arg == '\0') {
		ctrl_reply(&s->ctrl, 200,
		    "Current idle time limit is %u seconds; "
		    "max is %lu.",
		    s->idle, s->conf->idle_timeout);
		return;
	}
	if (parse_u64(arg, 86400, &v) < 0 || v < lo || v > hi) {
		if (lo == hi)
			ctrl_reply(&s->ctrl, 501,
			    "SITE IDLE takes only %lu "
			    "seconds here (the server's idle_timeout).",
			    hi);
		else
			ctrl_reply(&s->ctrl, 501,
			    "SITE IDLE takes %lu..%lu "
			    "seconds.",
			    lo, hi);
		return;
	}
	s->idle = (unsigned)v;
	ctrl_reply(&s->ctrl, 200, "Idle time limit set to %u seconds.",
	    s->idle);
}

static const char *const site_help[] = {
	"CHMOD <mode> <path>   change permissions (0..0777)",
	"HELP                  this list",
	"IDLE [<seconds>]      show or lower the idle time limit",
	"UMASK [<mode>]        show or set the umask for new files",
};

static void
reply_site_help(struct sess *s)
{
	ctrl_reply_lines(&s->ctrl, 214, "SITE commands:", site_help,
	    sizeof(site_help) / sizeof(site_help[0]), "End of SITE help.");
}

/* HELP SITE: the SITE commands; HELP alone or of another word: the list. */
void
do_help(struct sess *s, const struct cmd *c)
{
	if (strcasecmp(c->arg, "SITE") == 0)
		reply_site_help(s);
	else
		proto_reply_basic(&s->ctrl, c);
}

void
do_site(struct sess *s, const struct cmd *c)
{
	struct cursor cur;

	cursor_init(&cur, c->arg, c->arglen);
	if (args_word(&cur, "CHMOD"))
		site_chmod(s, cur.p);
	else if (args_word(&cur, "UMASK"))
		site_umask(s, cur.p);
	else if (args_word(&cur, "IDLE"))
		site_idle(s, cur.p);
	else if (args_word(&cur, "HELP") && cursor_eof(&cur))
		reply_site_help(s);
	else
		ctrl_reply(&s->ctrl, 502,
		    "Unknown SITE command; try SITE HELP.");
}
