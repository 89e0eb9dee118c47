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
	struct sess *s;
	int started;
};

/* The first line of a multi-line reply: "CODE-textpath". */
static int
reply_head(struct sess *s, int code, const char *text, const char *path,
    const char *end)
{
	char head[KF_PATH_MAX + 64];
	int n;

	n = snprintf(head, sizeof(head), "%03d-%s%s%s\r\n", code, text, path,
	    end);
	if (n < 0 || (size_t)n >= sizeof(head))
		return -1;
	return ctrl_write(&s->ctrl, head, (size_t)n);
}

static int
stat_header(struct stat_ctx *t)
{
	if (t->started)
		return 0;
	t->started = 1;
	return reply_head(t->s, 213, "Status of ", t->s->path, ":");
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
stat_quota(struct sess *s, struct ctrl_lines *l)
{
	struct quota_usage u;
	char b[24], f[24];
	int r = -1;

	if (!s->quota.broken && quota_lock(s->quota.fd) == 0) {
		r = quota_read(s->quota.fd, &u);
		quota_unlock(s->quota.fd);
	}
	if (r <= 0) {
		ctrl_lines_add(l, "Quota: usage unknown");
		return;
	}
	ctrl_lines_add(l, "Quota: %llu of %s bytes, %llu of %s files",
	    (unsigned long long)u.bytes,
	    limit_text(s->quota.max_bytes, b, sizeof(b)),
	    (unsigned long long)u.files,
	    limit_text(s->quota.max_files, f, sizeof(f)));
}

void
do_stat(struct sess *s, const struct cmd *c)
{
	char peer[ADDR_STR_MAX], d[24], u[24];
	struct ctrl_lines l;

	if (c->arglen > 0) {
		stat_path(s, c);
		return;
	}
	addr_to_str(&s->si->peer, peer, sizeof(peer));
	ctrl_lines_begin(&l, 211, "keepftpd status:");
	ctrl_lines_add(&l, "Connected to %s", peer);
	ctrl_lines_add(&l, "Logged in as %s%s",
	    s->id->anonymous ? "anonymous" : "a user",
	    s->id->writable ? " (read-write)" : " (read-only)");
	ctrl_lines_add(&l, "TYPE: %s", s->ascii ? "ASCII" : "BINARY");
	ctrl_lines_add(&l, "Session timeout in seconds is %lu",
	    s->conf->idle_timeout);
	ctrl_lines_add(&l, "Data connection: %s",
	    data_pending(&s->data) ? "ready" : "none");
	if (s->id->down_rate != 0 || s->id->up_rate != 0)
		ctrl_lines_add(&l,
		    "Rate limits in bytes/s: download %s, "
		    "upload %s",
		    limit_text(s->id->down_rate, d, sizeof(d)),
		    limit_text(s->id->up_rate, u, sizeof(u)));
	if (s->quota.fd >= 0)
		stat_quota(s, &l);
	ctrl_lines_end(&s->ctrl, &l, "End of status.");
}
