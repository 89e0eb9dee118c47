/*
 * sess_stat.c - STAT: the session's status, or a listing of a path on
 * the control connection.
 * Runs in: post-login worker.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../fs/list.h"
#include "../net/addr.h"
#include "sess.h"

/* STAT path: the listing on the control connection, one line a row. */
struct stat_ctx {
	struct sess	*s;
	int		 started;
};

static int
stat_header(struct stat_ctx *t)
{
	if (t->started)
		return 0;
	t->started = 1;
	return sess_reply_head(t->s, 213, "Status of ", t->s->path, ":");
}

static int
stat_flush(void *p, const char *bytes, size_t n)
{
	struct stat_ctx *t = p;
	const char *end = bytes + n, *nl;

	if (stat_header(t) < 0)
		return -EIO;
	/* a leading space: no row can pass for the reply's last line */
	while (bytes < end) {
		nl = memchr(bytes, '\n', (size_t)(end - bytes));
		nl = nl == NULL ? end : nl + 1;
		if (ctrl_write(&t->s->ctrl, " ", 1) < 0 ||
		    ctrl_write(&t->s->ctrl, bytes, (size_t)(nl - bytes)) < 0)
			return -EIO;
		bytes = nl;
	}
	return 0;
}

static void
stat_path(struct sess *s, const struct cmd *c)
{
	struct stat_ctx t = { .s = s };
	unsigned flags = LIST_LONG;
	const char *arg = c->arg;
	struct list_opts o;
	int r;

	if (args_list_opts(&arg, &flags) < 0) {
		arg = c->arg;
		flags = LIST_LONG;
	}
	if (sess_resolve(s, arg) < 0)
		return;
	sess_list_setup(s, &o, flags, stat_flush, &t);
	o.label = arg;
	r = list_glob(s->rootfd, s->cwd, arg, &o);
	if (r < 0 && !t.started) {
		ctrl_reply(&s->ctrl, 550, "Cannot list: %s.", strerror(-r));
		return;
	}
	if (stat_header(&t) == 0)
		ctrl_reply(&s->ctrl, 213, "End of status.");
}

/* "N" or "unlimited", for STAT. */
static const char *
limit_text(uint64_t v, char *buf, size_t n)
{
	if (v == 0)
		return "unlimited";
	snprintf(buf, n, "%llu", (unsigned long long)v);
	return buf;
}

/* The session's quota for STAT: usage against the limits. */
static void
stat_quota(struct sess *s, char *line, size_t n)
{
	struct quota_usage u;
	char b[24], f[24];
	int r = -1;

	if (!s->quota.broken && quota_lock(s->quota.fd) == 0) {
		r = quota_read(s->quota.fd, &u);
		quota_unlock(s->quota.fd);
	}
	if (r <= 0) {
		snprintf(line, n, "Quota: usage unknown");
		return;
	}
	snprintf(line, n, "Quota: %llu of %s bytes, %llu of %s files",
	    (unsigned long long)u.bytes,
	    limit_text(s->quota.max_bytes, b, sizeof(b)),
	    (unsigned long long)u.files,
	    limit_text(s->quota.max_files, f, sizeof(f)));
}

void
do_stat(struct sess *s, const struct cmd *c)
{
	char lines[7][160], peer[ADDR_STR_MAX], d[24], u[24];
	const char *l[7];
	size_t i, n = 5;

	if (c->arglen > 0) {
		stat_path(s, c);
		return;
	}
	addr_to_str(&s->si->peer, peer, sizeof(peer));
	snprintf(lines[0], sizeof(lines[0]), "Connected to %s", peer);
	snprintf(lines[1], sizeof(lines[1]), "Logged in as %s%s",
	    s->id->anonymous ? "anonymous" : "a user",
	    s->id->writable ? " (read-write)" : " (read-only)");
	snprintf(lines[2], sizeof(lines[2]), "TYPE: %s", s->ascii ? "ASCII" : "BINARY");
	snprintf(lines[3], sizeof(lines[3]), "Session timeout in seconds is %lu",
	    s->conf->idle_timeout);
	snprintf(lines[4], sizeof(lines[4]), "Data connection: %s",
	    data_pending(&s->data) ? "ready" : "none");
	if (s->id->down_rate != 0 || s->id->up_rate != 0)
		snprintf(lines[n++], sizeof(lines[0]), "Rate limits in bytes/s: "
		    "download %s, upload %s",
		    limit_text(s->id->down_rate, d, sizeof(d)),
		    limit_text(s->id->up_rate, u, sizeof(u)));
	if (s->quota.fd >= 0)
		stat_quota(s, lines[n++], sizeof(lines[0]));
	for (i = 0; i < n; i++)
		l[i] = lines[i];
	ctrl_reply_lines(&s->ctrl, 211, "keepftpd status:", l, n, "End of status.");
}
