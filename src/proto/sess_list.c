/*
 * sess_list.c - listings: LIST, NLST and MLSD on the data connection,
 * MLST on the control connection.
 * Runs in: post-login worker.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../fs/list.h"
#include "sess.h"

struct list_ctx {
	struct sess *s;
	struct xfer x;
	int fd;
	int no_data; /* sess_open_data failed and replied */
	enum xfer_status st;
};

static int
list_flush(void *p, const char *bytes, size_t n)
{
	struct list_ctx *l = p;

	if (l->fd < 0) {
		l->fd = sess_open_data(l->s,
		    "Here comes the directory listing.");
		if (l->fd < 0) {
			l->no_data = 1;
			return -EIO;
		}
		sess_init_xfer(l->s, &l->x, l->fd);
	}
	l->st = xfer_send_buf(&l->x, bytes, n);
	return l->st == XFER_OK ? 0 : -EIO;
}

/* The options every listing shares: identity, names, hiding, bounds. */
void
sess_list_setup(struct sess *s, struct list_opts *o, unsigned flags,
    int (*flush)(void *, const char *, size_t), void *arg)
{
	memset(o, 0, sizeof(*o));
	o->flags = flags | (s->id->writable ? LIST_WRITABLE : 0) |
	    (s->conf->list_recursive ? LIST_ALLOW_RECURSE : 0);
	o->ids = session_ids;
	o->uid = getuid();
	o->gid = getgid();
	o->hide = sess_hide_name;
	o->hide_arg = s;
	o->may = sess_may_list; /* the list right, on the resolved path */
	o->may_arg = s;
	o->facts = s->facts;
	o->flush = flush;
	o->flush_arg = arg;
}

/* A listing that failed before its data connection opened. */
static void
reply_list_error(struct sess *s, int r)
{
	if (r == -ENOTDIR)
		ctrl_reply(&s->ctrl, 501, "Not a directory.");
	else if (r == -E2BIG)
		ctrl_reply(&s->ctrl, 550,
		    "Listing too large or pattern "
		    "too complex.");
	else
		ctrl_reply(&s->ctrl, 550, "Cannot list: %s.", strerror(-r));
}

/* The end of a listing on the data connection. */
static void
list_finish(struct sess *s, struct list_ctx *l, int r)
{
	/* an empty listing still opens (and closes) the data connection */
	if (l->fd < 0 && r == 0)
		r = list_flush(l, "", 0);
	if (l->fd < 0) {
		/* when sess_open_data failed, its 425 or 522 was the reply */
		if (!l->no_data)
			reply_list_error(s, r);
		data_reset(&s->data);
		return;
	}
	sess_close_data(s, l->fd);
	if (r == -E2BIG && l->st == XFER_OK)
		ctrl_reply(&s->ctrl, 451,
		    "Listing cut short: too many entries.");
	else
		sess_reply_xfer(s, l->st, "Directory send OK.");
	data_reset(&s->data);
}

/*
 * LIST and NLST: options (-a -l -R), then a path or a bounded glob
 * pattern (list_glob); hidden and denied names are left out.
 */
void
do_list(struct sess *s, const struct cmd *c)
{
	unsigned flags = c->def->id == CMD_LIST ? LIST_LONG : 0;
	struct list_ctx l = { .s = s, .fd = -1, .st = XFER_OK };
	const char *arg = c->arg;
	struct list_opts o;

	if (args_list_opts(&arg, &flags) < 0) {
		arg = c->arg; /* not options: a name starting with '-' */
		flags &= LIST_LONG;
	}
	if (sess_need_data(s) < 0 || sess_resolve(s, arg) < 0)
		return;
	sess_list_setup(s, &o, flags, list_flush, &l);
	o.label = *arg != '\0' ? arg : NULL;
	list_finish(s, &l, list_glob(s->rootfd, s->cwd, arg, &o));
}

/* MLSD [dir]: RFC 3659 facts, one line an entry. */
void
do_mlsd(struct sess *s, const struct cmd *c)
{
	struct list_ctx l = { .s = s, .fd = -1, .st = XFER_OK };
	struct list_opts o;

	if (sess_need_data(s) < 0 || sess_resolve(s, c->arg) < 0)
		return;
	sess_list_setup(s, &o, LIST_MLSD, list_flush, &l);
	list_finish(s, &l, list_path(s->rootfd, s->path, &o));
}

/* MLST [path]: the facts of one entry on the control connection. */
void
do_mlst(struct sess *s, const struct cmd *c)
{
	struct ctrl_lines l;
	struct list_opts o;
	struct buf *b;
	int r;

	if (sess_resolve(s, c->arg) < 0)
		return;
	if ((b = buf_new(KF_PATH_MAX + 1024)) == NULL) {
		ctrl_reply(&s->ctrl, 451, "Out of memory.");
		return;
	}
	sess_list_setup(s, &o, 0, NULL, NULL);
	r = list_mlst(s->rootfd, s->path, &o, b);
	if (r < 0)
		ctrl_reply(&s->ctrl, 550, "No such file or directory.");
	else {
		/* the facts line comes with its leading space and CRLF */
		ctrl_lines_begin(&l, 250, "Listing %s", s->path);
		ctrl_lines_bytes(&l, buf_data(b), buf_len(b));
		ctrl_lines_end(&s->ctrl, &l, "End.");
	}
	buf_free(b);
}
