/*
 * session.c - the post-login worker: a fresh process with the user's
 * identity, confined to the user's root, running the FTP commands that
 * touch files and data connections. Handlers are a table indexed by
 * command id.
 * Runs in: post-login worker (user identity, chroot/Landlock, seccomp).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/cursor.h"
#include "../common/log.h"
#include "../common/sys.h"
#include "../fs/glob.h"
#include "../fs/hash.h"
#include "../fs/idmap.h"
#include "../fs/list.h"
#include "../fs/path.h"
#include "../fs/quota.h"
#include "../fs/upload.h"
#include "../fs/xfer.h"
#include "../net/addr.h"
#include "../net/data.h"
#include "../ipc/ipc.h"
#include "../ipc/proto.h"
#include "../tls/tls_xfer.h"
#include "session.h"

/* A comma-separated pattern option, split once per session. */
struct patterns {
	char			 text[KF_CONF_VALUE_MAX + 1];
	const char		*pat[CONF_PATTERNS_MAX];
	struct glob_set		 set;
};

struct idmap *session_ids;

struct sess {
	const struct session_info	*si;
	const struct auth_identity	*id;
	const struct conf		*conf;
	struct ctrl			 ctrl;
	struct data			 data;
	int				 rootfd;
	int				 ascii;
	int				 epsv_all;
	int				 has_rnfr;
	int				 quit;
	unsigned			 umask;		/* SITE UMASK */
	unsigned			 idle;		/* SITE IDLE, seconds */
	const struct hash_algo		*hash;		/* OPTS HASH */
	unsigned			 facts;		/* OPTS MLST */
	struct patterns			 hide;		/* hide_patterns */
	struct patterns			 deny;		/* deny_patterns */
	struct quota			 quota;		/* fd -1: none */
	uint64_t			 min_rate;	/* last transfer's, for 426 */
	uint64_t			 rest;
	int				 pbsz;		/* PBSZ 0 given (TLS) */
	int				 prot_p;	/* PROT P: data over TLS */
	int				 ccc;		/* CCC done */
	SSL				*dssl;		/* the open data SSL */
	char				 cwd[KF_PATH_MAX + 1];
	char				 rnfr[KF_PATH_MAX + 1];
	char				 path[KF_PATH_MAX + 1];	/* scratch */
};

typedef void (*handler)(struct sess *, const struct cmd *);

static void
patterns_split(struct patterns *p, const char *text)
{
	char *t = p->text, *comma;
	size_t n = 0;

	snprintf(p->text, sizeof(p->text), "%s", text);
	while (*t != '\0' && n < CONF_PATTERNS_MAX) {
		while (*t == ' ' || *t == '\t')
			t++;
		if ((comma = strchr(t, ',')) != NULL)
			*comma = '\0';
		if (*t != '\0')
			p->pat[n++] = t;
		if (comma == NULL)
			break;
		/* trailing blanks of this pattern */
		for (char *e = comma; e > t && (e[-1] == ' ' || e[-1] == '\t'); e--)
			e[-1] = '\0';
		t = comma + 1;
	}
	p->set.pat = p->pat;
	p->set.n = n;
}

/*
 * deny_patterns: a path is refused when any of its components matches
 * (or is a STOR's temporary file name, upload.h).
 * The path is the cleaned one ("..", "." and "//" gone), so other
 * spellings of the same name reach the same check.
 */
static int
denied(const struct sess *s, const char *vpath)
{
	char comp[NAME_MAX + 1];
	const char *p = vpath, *slash;
	size_t n;

	while (*p != '\0') {
		while (*p == '/')
			p++;
		slash = strchr(p, '/');
		n = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (n == 0)
			break;
		if (n > NAME_MAX)
			return 1;
		memcpy(comp, p, n);
		comp[n] = '\0';
		/* a STOR's temporary file is nobody's to open */
		if (upload_tmp_is_name(comp))
			return 1;
		if (s->deny.set.n > 0 && glob_set_match(&s->deny.set, comp) != 0)
			return 1;
		p += n;
	}
	return 0;
}

/* Listings hide hidden and denied names, and temporary upload files. */
static int
hide_name(void *arg, const char *name)
{
	const struct sess *s = arg;

	return upload_tmp_is_name(name) ||
	    (s->hide.set.n > 0 && glob_set_match(&s->hide.set, name) != 0) ||
	    (s->deny.set.n > 0 && glob_set_match(&s->deny.set, name) != 0);
}

/* The client's argument as a clean virtual path in s->path. */
static int
resolve(struct sess *s, const char *arg)
{
	if (path_resolve(s->cwd, arg, s->path, sizeof(s->path)) < 0) {
		ctrl_reply(&s->ctrl, 553, "File name too long.");
		return -1;
	}
	if (denied(s, s->path)) {
		ctrl_reply(&s->ctrl, 550, "Permission denied.");
		return -1;
	}
	return 0;
}

/* RFC 959 quoting for 257: a '"' in the name is doubled. */
static void
reply_257(struct sess *s, const char *path, const char *what)
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

static void
do_quit(struct sess *s, const struct cmd *c)
{
	ctrl_reply(&s->ctrl, 221, "Goodbye.");
	s->quit = 1;
}

static void
do_basic(struct sess *s, const struct cmd *c)
{
	proto_reply_basic(&s->ctrl, c);
}

static void
do_type(struct sess *s, const struct cmd *c)
{
	const char *a = c->arg;

	if (strcasecmp(a, "I") == 0 || strcasecmp(a, "L 8") == 0) {
		s->ascii = 0;
		ctrl_reply(&s->ctrl, 200, "Switching to Binary mode.");
	} else if (strcasecmp(a, "A") == 0 || strcasecmp(a, "A N") == 0) {
		s->ascii = 1;
		ctrl_reply(&s->ctrl, 200, "Switching to ASCII mode.");
	} else
		ctrl_reply(&s->ctrl, 504, "Type not supported.");
}

/* MODE and STRU: one value each is supported (S, F). */
static void
do_mode(struct sess *s, const struct cmd *c)
{
	int mode = c->def->id == CMD_MODE;
	const char *what = mode ? "Mode" : "Structure", *only = mode ? "S" : "F";

	if (strcasecmp(c->arg, only) == 0)
		ctrl_reply(&s->ctrl, 200, "%s set to %s.", what, only);
	else
		ctrl_reply(&s->ctrl, 504, "%s %s only.", what, only);
}

static void
do_pwd(struct sess *s, const struct cmd *c)
{
	reply_257(s, s->cwd, "is the current directory");
}

#define MESSAGE_LINES	20

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
	if ((fd = fs_open(s->rootfd, vpath, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK, 0)) < 0)
		return -1;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return -1;
	}
	while (n < KF_MESSAGE_MAX && (r = read(fd, text + n, KF_MESSAGE_MAX - n)) > 0)
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

static void
do_cwd(struct sess *s, const struct cmd *c)
{
	int fd;

	if (resolve(s, c->def->id == CMD_CDUP ? ".." : c->arg) < 0)
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
 * PROT P: the TLS handshake on the new data connection, which must
 * resume the control connection's session unless the check is off.
 * Replies 522 or 425 itself on failure.
 */
static int
protect_data(struct sess *s, int fd)
{
	char why[400];
	int r;

	r = tlsd_accept(tls_data_ctx(s->conf), fd,
	    (int)s->conf->data_timeout * 1000, s->conf->tls_data_reuse_required,
	    &s->dssl, why, sizeof(why));
	if (r == TLSD_OK)
		return fd;
	close(fd);
	log_warn("data connection refused: %-s", why);
	if (r == TLSD_NOT_RESUMED)
		ctrl_reply(&s->ctrl, 522, "Data connection refused: it must "
		    "resume the control connection's TLS session.");
	else
		ctrl_reply(&s->ctrl, 425, "TLS negotiation on the data "
		    "connection failed.");
	return -1;
}

/* Opens the data connection after a 150; replies 425 itself on failure. */
static int
open_data(struct sess *s, const char *what)
{
	int fd;

	ctrl_reply(&s->ctrl, 150, "%s", what);
	fd = data_open(&s->data, &s->si->local, &s->si->peer,
	    (int)s->conf->data_timeout * 1000);
	if (fd < 0)
		ctrl_reply(&s->ctrl, 425, "Failed to establish data connection.");
	else if (s->prot_p)
		fd = protect_data(s, fd);
	return fd;
}

/* The end of a data connection: close_notify first under PROT P. */
static void
close_data(struct sess *s, int fd)
{
	if (s->dssl != NULL)
		tlsd_close(s->dssl, fd);
	else
		close(fd);
	s->dssl = NULL;
}

static int
need_data(struct sess *s)
{
	if (!s->prot_p && session_prot_required(s->conf, s->id->anonymous)) {
		ctrl_reply(&s->ctrl, 521, "Data connections must be "
		    "protected: use PBSZ 0 and PROT P.");
		data_reset(&s->data);
		return -1;
	}
	if (data_pending(&s->data))
		return 0;
	ctrl_reply(&s->ctrl, 425, "Use PORT, EPRT, PASV or EPSV first.");
	return -1;
}

/* A transfer on fd: unpaced (listings), with the minimum rate. */
static void
init_xfer(struct sess *s, struct xfer *x, int fd)
{
	xfer_init(x, &s->ctrl, fd, (int)s->conf->data_timeout * 1000,
	    &session_stop);
	xfer_set_rates(x, 0, s->conf->data_min_rate);
	s->min_rate = x->min_rate;
	x->ssl = s->dssl;
	x->accept_truncated = s->conf->tls_accept_truncated;
}

/* A file transfer: paced at the user's rate for its direction. */
static void
init_file_xfer(struct sess *s, struct xfer *x, int fd, int upload)
{
	init_xfer(s, x, fd);
	xfer_set_rates(x, upload ? s->id->up_rate : s->id->down_rate,
	    s->conf->data_min_rate);
	s->min_rate = x->min_rate;
	if (upload && s->quota.fd >= 0)
		x->quota = &s->quota;
}

/* The final reply for a transfer, and the end of the session if due. */
static void
reply_xfer(struct sess *s, enum xfer_status st, const char *ok)
{
	session_drain_note(st == XFER_OK);
	switch (st) {
	case XFER_OK:
		ctrl_reply(&s->ctrl, 226, "%s", ok);
		break;
	case XFER_ABORTED:
		ctrl_reply(&s->ctrl, 426, "Transfer aborted.");
		ctrl_reply(&s->ctrl, 226, "ABOR successful.");
		break;
	case XFER_STOPPED:
		ctrl_reply(&s->ctrl, 426, "Transfer aborted. %s.",
		    session_stop_reason());
		break;
	case XFER_CTRL_GONE:
		s->quit = 1;
		break;
	case XFER_TIMEOUT:
		ctrl_reply(&s->ctrl, 426, "Data connection timed out.");
		break;
	case XFER_TOO_SLOW:
		ctrl_reply(&s->ctrl, 426, "Transfer too slow (under %llu bytes/s); "
		    "aborted.", (unsigned long long)s->min_rate);
		break;
	case XFER_DATA_ERROR:
		ctrl_reply(&s->ctrl, 426, "Data connection failed; transfer aborted.");
		break;
	case XFER_DISK_FULL:
		ctrl_reply(&s->ctrl, 452, "Insufficient storage space.");
		break;
	case XFER_QUOTA:
		ctrl_reply(&s->ctrl, 552, "Exceeded storage allocation.");
		break;
	case XFER_IO_ERROR:
		ctrl_reply(&s->ctrl, 451, "Local error in processing.");
		break;
	case XFER_TRUNCATED:
		ctrl_reply(&s->ctrl, 451, "Upload truncated: the TLS data "
		    "connection ended without close_notify; file not kept.");
		break;
	}
}

static const char *
xfer_status_name(enum xfer_status st)
{
	static const char *const names[] = { "ok", "aborted", "stopped",
		"control-closed", "data-error", "timeout", "disk-full",
		"quota", "io-error", "too-slow", "truncated" };

	return names[st];
}

static void
log_xfer(struct sess *s, const char *verb, const struct xfer *x,
    int64_t t0, enum xfer_status st)
{
	int64_t ms = sys_now_ms() - t0;

	log_info("%-s path=%s bytes=%llu ms=%lld status=%-s", verb, s->path,
	    (unsigned long long)x->bytes, (long long)ms, xfer_status_name(st));
	if (st == XFER_TOO_SLOW)
		log_warn("%-s path=%s aborted: under data_min_rate %llu bytes/s over "
		    "%lu s", verb, s->path, (unsigned long long)x->min_rate,
		    s->conf->data_timeout);
}

struct list_ctx {
	struct sess	*s;
	struct xfer	 x;
	int		 fd;
	int		 no_data;	/* open_data failed and replied */
	enum xfer_status st;
};

static int
list_flush(void *p, const char *bytes, size_t n)
{
	struct list_ctx *l = p;

	if (l->fd < 0) {
		l->fd = open_data(l->s, "Here comes the directory listing.");
		if (l->fd < 0) {
			l->no_data = 1;
			return -EIO;
		}
		init_xfer(l->s, &l->x, l->fd);
	}
	l->st = xfer_send_buf(&l->x, bytes, n);
	return l->st == XFER_OK ? 0 : -EIO;
}

/* The options every listing shares: identity, names, hiding, bounds. */
static void
list_setup(struct sess *s, struct list_opts *o, unsigned flags,
    int (*flush)(void *, const char *, size_t), void *arg)
{
	memset(o, 0, sizeof(*o));
	o->flags = flags | (s->id->writable ? LIST_WRITABLE : 0) |
	    (s->conf->list_recursive ? LIST_ALLOW_RECURSE : 0);
	o->ids = session_ids;
	o->uid = getuid();
	o->gid = getgid();
	o->hide = hide_name;
	o->hide_arg = s;
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
		ctrl_reply(&s->ctrl, 550, "Listing too large or pattern "
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
		/* when open_data failed, its 425 or 522 was the reply */
		if (!l->no_data)
			reply_list_error(s, r);
		data_reset(&s->data);
		return;
	}
	close_data(s, l->fd);
	if (r == -E2BIG && l->st == XFER_OK)
		ctrl_reply(&s->ctrl, 451, "Listing cut short: too many entries.");
	else
		reply_xfer(s, l->st, "Directory send OK.");
	data_reset(&s->data);
}

/*
 * LIST and NLST: options (-a -l -R), then a path or a bounded glob
 * pattern (list_glob); hidden and denied names are left out.
 */
static void
do_list(struct sess *s, const struct cmd *c)
{
	unsigned flags = c->def->id == CMD_LIST ? LIST_LONG : 0;
	struct list_ctx l = { .s = s, .fd = -1, .st = XFER_OK };
	const char *arg = c->arg;
	struct list_opts o;

	if (list_parse_opts(&arg, &flags) < 0) {
		arg = c->arg;	/* not options: a name starting with '-' */
		flags &= LIST_LONG;
	}
	if (need_data(s) < 0 || resolve(s, arg) < 0)
		return;
	list_setup(s, &o, flags, list_flush, &l);
	o.label = *arg != '\0' ? arg : NULL;
	list_finish(s, &l, list_glob(s->rootfd, s->cwd, arg, &o));
}

/* MLSD [dir]: RFC 3659 facts, one line an entry. */
static void
do_mlsd(struct sess *s, const struct cmd *c)
{
	struct list_ctx l = { .s = s, .fd = -1, .st = XFER_OK };
	struct list_opts o;

	if (need_data(s) < 0 || resolve(s, c->arg) < 0)
		return;
	list_setup(s, &o, LIST_MLSD, list_flush, &l);
	list_finish(s, &l, list_path(s->rootfd, s->path, &o));
}

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

/* MLST [path]: the facts of one entry on the control connection. */
static void
do_mlst(struct sess *s, const struct cmd *c)
{
	struct list_opts o;
	struct buf *b;
	int r;

	if (resolve(s, c->arg) < 0)
		return;
	if ((b = buf_new(KF_PATH_MAX + 1024)) == NULL) {
		ctrl_reply(&s->ctrl, 451, "Out of memory.");
		return;
	}
	list_setup(s, &o, 0, NULL, NULL);
	r = list_mlst(s->rootfd, s->path, &o, b);
	if (r < 0)
		ctrl_reply(&s->ctrl, 550, "No such file or directory.");
	else if (reply_head(s, 250, "Listing ", s->path, "") == 0 &&
	    ctrl_write(&s->ctrl, buf_data(b), buf_len(b)) == 0)
		ctrl_reply(&s->ctrl, 250, "End.");
	buf_free(b);
}

static void
do_retr(struct sess *s, const struct cmd *c)
{
	enum xfer_status st;
	struct stat sb;
	struct xfer x;
	char what[128];
	int64_t t0;
	int fd, dfd;

	if (need_data(s) < 0 || resolve(s, c->arg) < 0)
		return;
	fd = fs_open(s->rootfd, s->path, O_RDONLY, 0);
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		ctrl_reply(&s->ctrl, 550, "Failed to open file.");
		goto out;
	}
	if (s->rest > (uint64_t)sb.st_size) {
		ctrl_reply(&s->ctrl, 554, "Restart offset beyond the end of the file.");
		goto out;
	}
	/* REST was given in TYPE I, then TYPE A: no offset in ASCII */
	if (s->rest != 0 && s->ascii) {
		ctrl_reply(&s->ctrl, 504, "REST is not supported in ASCII mode.");
		goto out;
	}
	snprintf(what, sizeof(what), "Opening %s mode data connection (%lld bytes).",
	    s->ascii ? "ASCII" : "BINARY", (long long)sb.st_size);
	if ((dfd = open_data(s, what)) < 0)
		goto out;
	init_file_xfer(s, &x, dfd, 0);
	t0 = sys_now_ms();
	st = s->ascii ? xfer_send_ascii(&x, fd) :
	    xfer_send_file(&x, fd, (off_t)s->rest);
	close_data(s, dfd);
	log_xfer(s, "RETR", &x, t0, st);
	reply_xfer(s, st, "Transfer complete.");
out:
	if (fd >= 0)
		close(fd);
	data_reset(&s->data);
}

/*
 * Upload target. A plain STOR writes a temporary file in the target's
 * directory (upload.h: unnamed where possible, else a hidden, locked
 * name), which replaces the target only on success (invariant 8), and
 * is charged to the quota only then. APPE and REST+STOR are explicit
 * edits of the existing file, charged block by block. The last
 * component is opened with O_NOFOLLOW: the parent was resolved in the
 * root, and a symlink as the final name is refused, not followed.
 */
struct upload {
	int	 dirfd;
	int	 fd;
	int	 temp;
	int	 created;	/* APPE made the file */
	uint64_t start;		/* length before an APPE or REST */
	uint64_t files;		/* files charged to the quota */
	const char *name;
	struct upload_tmp tmp;	/* STOR */
	struct quota_usage freed;	/* what the STOR's target frees */
};

/* The quota's file count for a file APPE or REST+STOR creates. */
static int
upload_charge_file(struct sess *s, struct upload *u)
{
	int r = quota_charge(&s->quota, 0, 1, 0);

	if (r == 0)
		u->files = 1;
	return r;
}

/* APPE, REST + STOR: the existing file, continued. */
static int
upload_open_existing(struct sess *s, struct upload *u, int append,
    int flags)
{
	struct stat sb;

	u->fd = openat(u->dirfd, u->name, flags | (append ? O_APPEND : 0), 0666);
	if (u->fd < 0)
		return -1;
	if (fstat(u->fd, &sb) < 0 || !S_ISREG(sb.st_mode))
		return -1;
	if (append) {
		u->start = (uint64_t)sb.st_size;
		return 0;
	}
	if (s->rest > (uint64_t)sb.st_size || ftruncate(u->fd, (off_t)s->rest) < 0 ||
	    lseek(u->fd, (off_t)s->rest, SEEK_SET) < 0)
		return -1;
	u->start = s->rest;
	quota_credit(&s->quota, (uint64_t)sb.st_size - s->rest, 0);
	return 0;
}

/*
 * STOR: the temporary file, once the quota has room for one more file
 * (the target's own slot counts when it is a regular file it replaces:
 * replacing is allowed at the limit).
 */
static int
upload_open_temp(struct sess *s, struct upload *u, const struct stat *old)
{
	int r;

	if (old != NULL && S_ISREG(old->st_mode) && old->st_nlink == 1)
		u->freed = (struct quota_usage){ (uint64_t)old->st_size, 1 };
	if ((r = quota_check(&s->quota, 0, 1, &u->freed)) < 0)
		return r;
	if (upload_tmp_open(u->dirfd, s->conf->upload_tmpfile, &u->tmp) < 0)
		return -1;
	u->fd = u->tmp.fd;
	return 0;
}

/* 0, or -1 (553), -EDQUOT (552), -EIO (451); nothing left on failure. */
static int
upload_open(struct sess *s, const struct cmd *c, struct upload *u)
{
	/* REST n then STOR or APPE: continue the existing file at n */
	int append = c->def->id == CMD_APPE && s->rest == 0;
	int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC;
	struct stat sb;
	int exists, r;

	u->fd = u->tmp.fd = -1;
	u->dirfd = fs_open_parent(s->rootfd, s->path, &u->name);
	if (u->dirfd < 0)
		return -1;
	exists = fstatat(u->dirfd, u->name, &sb, AT_SYMLINK_NOFOLLOW) == 0;
	u->temp = c->def->id == CMD_STOR && s->rest == 0;
	if (u->temp)
		return upload_open_temp(s, u, exists ? &sb : NULL);
	if (!exists && (r = upload_charge_file(s, u)) < 0)
		return r;
	u->created = !exists;
	/* a name that appeared meanwhile is not ours to remove on failure */
	r = upload_open_existing(s, u, append, flags | (exists ? 0 : O_EXCL));
	if (r < 0) {
		if (u->fd >= 0)
			close(u->fd);
		/* REST past the end of a file we just made: it goes again */
		if (u->fd >= 0 && u->created)
			unlinkat(u->dirfd, u->name, 0);
		u->fd = -1;
		quota_credit(&s->quota, 0, u->files);
	}
	return r;
}

/*
 * Over quota while continuing a file: what did not fit is cut off (the
 * file is back to its length before), and a file APPE created goes.
 */
static void
upload_undo(struct sess *s, struct upload *u, uint64_t *charged)
{
	if (ftruncate(u->fd, (off_t)u->start) < 0)
		return;
	quota_credit(&s->quota, *charged, 0);
	*charged = 0;
	if (u->created)
		quota_unlink(&s->quota, u->dirfd, u->name, 0);
}

static int
place_temp(void *arg)
{
	struct upload *u = arg;

	return upload_tmp_place(u->dirfd, &u->tmp, u->name);
}

/*
 * A STOR's end: on success the temporary file takes the target's name
 * and its size is charged, in one step under the quota lock (552 when
 * another session's upload took the room meanwhile); otherwise, or
 * then, it is discarded.
 */
static enum xfer_status
temp_commit(struct sess *s, struct upload *u, enum xfer_status st)
{
	struct stat sb;
	int r;

	if (st == XFER_OK && fstat(u->fd, &sb) < 0)
		st = XFER_IO_ERROR;
	if (st == XFER_OK && (r = quota_commit(&s->quota, (uint64_t)sb.st_size,
	    u->dirfd, u->name, place_temp, u)) < 0)
		st = r == -EDQUOT ? XFER_QUOTA : r == -ENOSPC ? XFER_DISK_FULL :
		    XFER_IO_ERROR;
	upload_tmp_discard(u->dirfd, &u->tmp);
	u->fd = -1;
	return st;
}

/*
 * The end of an upload: a STOR's temporary file placed or discarded; an
 * APPE or REST+STOR over the quota cut back.
 */
static enum xfer_status
upload_commit(struct sess *s, struct upload *u, enum xfer_status st,
    uint64_t charged)
{
	if (u->temp)
		return temp_commit(s, u, st);
	if (st == XFER_QUOTA)
		upload_undo(s, u, &charged);
	if (close(u->fd) < 0 && st == XFER_OK)
		st = errno == ENOSPC ? XFER_DISK_FULL : XFER_IO_ERROR;
	u->fd = -1;
	return st;
}

/* The reply when upload_open fails. */
static void
reply_upload_open(struct sess *s, int r)
{
	if (r == -EDQUOT)
		ctrl_reply(&s->ctrl, 552, "Quota exceeded: at most %llu files.",
		    (unsigned long long)s->quota.max_files);
	else if (r == -EIO)
		ctrl_reply(&s->ctrl, 451, "Quota usage unknown; uploads refused.");
	else
		ctrl_reply(&s->ctrl, 553, "Could not create file.");
}

/* The upload loop for the session's TYPE. */
static enum xfer_status
recv_into(struct sess *s, struct xfer *x, int fd)
{
	return s->ascii ? xfer_recv_ascii(x, fd) : xfer_recv_file(x, fd);
}

static void
do_stor(struct sess *s, const struct cmd *c)
{
	struct upload u = { .dirfd = -1, .fd = -1 };
	enum xfer_status st;
	struct xfer x;
	int64_t t0;
	int dfd, r;

	if (need_data(s) < 0 || resolve(s, c->arg) < 0)
		return;
	if ((r = upload_open(s, c, &u)) < 0) {
		reply_upload_open(s, r);
		goto out;
	}
	if ((dfd = open_data(s, "Ok to send data.")) < 0) {
		upload_commit(s, &u, XFER_DATA_ERROR, 0);
		goto out;
	}
	init_file_xfer(s, &x, dfd, 1);
	x.quota_at_end = u.temp;
	x.quota_freed = u.freed;
	t0 = sys_now_ms();
	st = recv_into(s, &x, u.fd);
	close_data(s, dfd);
	st = upload_commit(s, &u, st, x.charged);
	log_xfer(s, c->def->name, &x, t0, st);
	reply_xfer(s, st, "Transfer complete.");
out:
	if (u.dirfd >= 0)
		close(u.dirfd);
	data_reset(&s->data);
}

/* The parent directory fd and last name of the argument, or a 550. */
static int
parent_of(struct sess *s, const char *arg, const char **name)
{
	int fd;

	if (resolve(s, arg) < 0)
		return -1;
	fd = fs_open_parent(s->rootfd, s->path, name);
	if (fd < 0)
		ctrl_reply(&s->ctrl, 550, "No such file or directory.");
	return fd;
}

/* parent_of for a change to an existing name: read-only sessions get 550. */
static int
writable_parent(struct sess *s, const char *arg, const char **name)
{
	if (!s->id->writable) {
		ctrl_reply(&s->ctrl, 550, "Permission denied.");
		return -1;
	}
	return parent_of(s, arg, name);
}

static void
do_dele(struct sess *s, const struct cmd *c)
{
	const char *name;
	int fd, r;

	if ((fd = parent_of(s, c->arg, &name)) < 0)
		return;
	r = quota_unlink(&s->quota, fd, name,
	    c->def->id == CMD_RMD ? AT_REMOVEDIR : 0);
	close(fd);
	if (r < 0)
		ctrl_reply(&s->ctrl, 550, "%s operation failed.",
		    c->def->id == CMD_RMD ? "Remove directory" : "Delete");
	else if (c->def->id == CMD_RMD)
		ctrl_reply(&s->ctrl, 250, "Remove directory operation successful.");
	else
		ctrl_reply(&s->ctrl, 250, "Delete operation successful.");
}

static void
do_mkd(struct sess *s, const struct cmd *c)
{
	const char *name;
	int fd, r;

	if ((fd = parent_of(s, c->arg, &name)) < 0)
		return;
	r = quota_mkdir(&s->quota, fd, name, 0777);
	close(fd);
	if (r < 0 && errno == EDQUOT)
		ctrl_reply(&s->ctrl, 552, "Quota exceeded: at most %llu files.",
		    (unsigned long long)s->quota.max_files);
	else if (r < 0)
		ctrl_reply(&s->ctrl, 550, "Create directory operation failed.");
	else
		reply_257(s, s->path, "created");
}

static void
do_rnfr(struct sess *s, const struct cmd *c)
{
	const char *name;
	struct stat sb;
	int fd, r;

	s->has_rnfr = 0;
	if ((fd = parent_of(s, c->arg, &name)) < 0)
		return;
	r = fstatat(fd, name, &sb, AT_SYMLINK_NOFOLLOW);
	close(fd);
	if (r < 0) {
		ctrl_reply(&s->ctrl, 550, "RNFR command failed.");
		return;
	}
	memcpy(s->rnfr, s->path, strlen(s->path) + 1);
	s->has_rnfr = 1;
	ctrl_reply(&s->ctrl, 350, "Ready for RNTO.");
}

static void
do_rnto(struct sess *s, const struct cmd *c)
{
	const char *from, *to;
	int ffd, tfd, r = -1;

	if (!s->has_rnfr) {
		ctrl_reply(&s->ctrl, 503, "RNFR required first.");
		return;
	}
	s->has_rnfr = 0;
	if ((tfd = parent_of(s, c->arg, &to)) < 0)
		return;
	ffd = fs_open_parent(s->rootfd, s->rnfr, &from);
	if (ffd >= 0) {
		r = quota_rename(&s->quota, ffd, from, tfd, to);
		close(ffd);
	}
	close(tfd);
	if (r < 0)
		ctrl_reply(&s->ctrl, 550, "Rename failed.");
	else
		ctrl_reply(&s->ctrl, 250, "Rename successful.");
}

static int
stat_file(struct sess *s, const char *arg, struct stat *sb)
{
	int fd, r;

	if (resolve(s, arg) < 0)
		return -1;
	fd = fs_open(s->rootfd, s->path, O_PATH, 0);
	r = fd < 0 ? -1 : fstat(fd, sb);
	if (fd >= 0)
		close(fd);
	if (r < 0 || !S_ISREG(sb->st_mode)) {
		ctrl_reply(&s->ctrl, 550, "Could not get file %s.",
		    "information");
		return -1;
	}
	return 0;
}

static void
do_size(struct sess *s, const struct cmd *c)
{
	struct stat sb;

	if (stat_file(s, c->arg, &sb) == 0)
		ctrl_reply(&s->ctrl, 213, "%lld", (long long)sb.st_size);
}

static void
do_mdtm(struct sess *s, const struct cmd *c)
{
	struct stat sb;
	struct tm tm;
	char when[32];

	if (stat_file(s, c->arg, &sb) < 0)
		return;
	gmtime_r(&sb.st_mtime, &tm);
	strftime(when, sizeof(when), "%Y%m%d%H%M%S", &tm);
	ctrl_reply(&s->ctrl, 213, "%s", when);
}

static void
do_rest(struct sess *s, const struct cmd *c)
{
	uint64_t off;

	s->rest = 0;	/* a refused REST leaves no older offset behind */
	if (parse_u64(c->arg, INT64_MAX, &off) < 0) {
		ctrl_reply(&s->ctrl, 501, "Bad restart offset.");
		return;
	}
	if (s->ascii && off != 0) {
		ctrl_reply(&s->ctrl, 504, "REST is not supported in ASCII mode.");
		return;
	}
	s->rest = off;
	ctrl_reply(&s->ctrl, 350, "Restart position accepted (%llu).",
	    (unsigned long long)off);
}

static int
passive_ok(struct sess *s)
{
	if (!s->conf->pasv_enable) {
		ctrl_reply(&s->ctrl, 502, "Passive mode is disabled.");
		return 0;
	}
	return 1;
}

static void
do_pasv(struct sess *s, const struct cmd *c)
{
	uint8_t ip[4];
	uint16_t port;

	if (!passive_ok(s))
		return;
	if (s->epsv_all) {
		ctrl_reply(&s->ctrl, 503, "Only EPSV is allowed after EPSV ALL.");
		return;
	}
	if (addr_ipv4(&s->si->local, ip) < 0) {
		ctrl_reply(&s->ctrl, 425, "PASV needs IPv4; use EPSV.");
		return;
	}
	/* behind NAT: announce the configured address (checked at load) */
	if (s->conf->pasv_address[0] != '\0')
		inet_pton(AF_INET, s->conf->pasv_address, ip);
	if (data_listen(&s->data, &s->si->local, (unsigned)s->conf->pasv_min_port,
	    (unsigned)s->conf->pasv_max_port, &port) < 0) {
		ctrl_reply(&s->ctrl, 425, "Cannot open a passive port.");
		return;
	}
	ctrl_reply(&s->ctrl, 227, "Entering Passive Mode (%u,%u,%u,%u,%u,%u).",
	    ip[0], ip[1], ip[2], ip[3], port >> 8, port & 255);
}

static void
do_epsv(struct sess *s, const struct cmd *c)
{
	char want[2] = { (char)('0' + addr_family_proto(&s->si->local)), '\0' };
	uint16_t port;

	if (!passive_ok(s))
		return;
	if (strcasecmp(c->arg, "ALL") == 0) {
		s->epsv_all = 1;
		ctrl_reply(&s->ctrl, 200, "EPSV ALL ok.");
		return;
	}
	if (c->arglen > 0 && strcmp(c->arg, want) != 0) {
		ctrl_reply(&s->ctrl, 522, "Network protocol not supported, use (%s).",
		    want);
		return;
	}
	if (data_listen(&s->data, &s->si->local, (unsigned)s->conf->pasv_min_port,
	    (unsigned)s->conf->pasv_max_port, &port) < 0) {
		ctrl_reply(&s->ctrl, 425, "Cannot open a passive port.");
		return;
	}
	ctrl_reply(&s->ctrl, 229, "Entering Extended Passive Mode (|||%u|).", port);
}

static void
do_port(struct sess *s, const struct cmd *c)
{
	struct sockaddr_storage a;
	socklen_t len;
	int r;

	if (!s->conf->port_enable) {
		ctrl_reply(&s->ctrl, 502, "Active mode is disabled.");
		return;
	}
	if (s->epsv_all) {
		ctrl_reply(&s->ctrl, 503, "Only EPSV is allowed after EPSV ALL.");
		return;
	}
	r = c->def->id == CMD_PORT ? addr_parse_port(c->arg, &a, &len) :
	    addr_parse_eprt(c->arg, &a, &len);
	if (r < 0) {
		ctrl_reply(&s->ctrl, 501, "Illegal %s command.", c->def->name);
		return;
	}
	if (data_set_port(&s->data, &a, &s->si->peer) < 0) {
		log_warn("%-s to a foreign address or privileged port refused",
		    c->def->name);
		ctrl_reply(&s->ctrl, 501,
		    "%s refused: only to your own address and a port >= 1024.",
		    c->def->name);
		return;
	}
	ctrl_reply(&s->ctrl, 200, "%s command successful.", c->def->name);
}

static void
do_abor(struct sess *s, const struct cmd *c)
{
	data_reset(&s->data);
	ctrl_reply(&s->ctrl, 225, "No transfer to ABOR.");
}

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

	if (list_parse_opts(&arg, &flags) < 0) {
		arg = c->arg;
		flags = LIST_LONG;
	}
	if (resolve(s, arg) < 0)
		return;
	list_setup(s, &o, flags, stat_flush, &t);
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

static void
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

/* ---------------------------------------------- RFC 959, the rest */

static void
do_rein(struct sess *s, const struct cmd *c)
{
	/* the monitor starts a new pre-login worker on this connection */
	ctrl_reply(&s->ctrl, 220, "Service ready for new user.");
	log_info("REIN: back to the login phase");
	_exit(SESSION_EXIT_REIN);
}

/* Commands with one fixed answer after login. */
static void
do_fixed(struct sess *s, const struct cmd *c)
{
	static const struct {
		enum cmd_id	 id;
		int		 code;
		const char	*text;
	} fixed[] = {
		{ CMD_USER, 530, "Already logged in; cannot change user." },
		{ CMD_PASS, 503, "Already logged in." },
		{ CMD_ACCT, 202, "ACCT not needed; already logged in." },
		{ CMD_ALLO, 202, "ALLO not needed; space is allocated as written." },
		{ CMD_HOST, 503, "HOST must come before login." },
		{ CMD_AUTH, 503, "AUTH must come before login." },
	};
	size_t i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (fixed[i].id == c->def->id) {
			ctrl_reply(&s->ctrl, fixed[i].code, "%s", fixed[i].text);
			return;
		}
	ctrl_reply(&s->ctrl, 502, "%s not implemented.", c->def->name);
}

/*
 * STOU: a new file under a name the server picks (RFC 959, RFC 1123
 * 4.1.2.9: the 150 reply says "FILE: name"). The name is created with
 * O_EXCL, so nothing is ever replaced; a failed upload removes it.
 */
static int
stou_create(struct sess *s, int dirfd, const char *base, char *name,
    size_t namesz)
{
	unsigned char rnd[4];
	unsigned i;
	int fd;

	for (i = 0; i < 100; i++) {
		if (i == 0)
			snprintf(name, namesz, "%s", base);
		else
			snprintf(name, namesz, "%s.%u", base, i);
		fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0666);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	randombytes_buf(rnd, sizeof(rnd));
	snprintf(name, namesz, "%s.%02x%02x%02x%02x", base, rnd[0], rnd[1],
	    rnd[2], rnd[3]);
	return openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0666);
}

static void
do_stou(struct sess *s, const struct cmd *c)
{
	char name[NAME_MAX + 1], what[NAME_MAX + 64];
	const char *base;
	enum xfer_status st;
	struct xfer x;
	int dirfd, fd = -1, dfd, r;
	int64_t t0;

	if (need_data(s) < 0)
		return;
	if (s->rest != 0) {
		ctrl_reply(&s->ctrl, 503, "REST is not allowed with STOU.");
		goto out;
	}
	if ((dirfd = parent_of(s, c->arglen > 0 ? c->arg : "stou", &base)) < 0)
		goto out;
	if ((r = quota_charge(&s->quota, 0, 1, 0)) < 0) {
		reply_upload_open(s, r);
		close(dirfd);
		goto out;
	}
	if (strlen(base) > NAME_MAX - 12 ||
	    (fd = stou_create(s, dirfd, base, name, sizeof(name))) < 0) {
		ctrl_reply(&s->ctrl, 553, "Could not create a unique file.");
		quota_credit(&s->quota, 0, 1);
		close(dirfd);
		goto out;
	}
	snprintf(what, sizeof(what), "FILE: %s", name);
	if ((dfd = open_data(s, what)) < 0) {
		close(fd);
		unlinkat(dirfd, name, 0);
		quota_credit(&s->quota, 0, 1);
		close(dirfd);
		goto out;
	}
	init_file_xfer(s, &x, dfd, 1);
	t0 = sys_now_ms();
	st = recv_into(s, &x, fd);
	close_data(s, dfd);
	if (close(fd) < 0 && st == XFER_OK)
		st = XFER_IO_ERROR;
	if (st != XFER_OK) {
		unlinkat(dirfd, name, 0);
		quota_credit(&s->quota, x.charged, 1);
	}
	close(dirfd);
	log_xfer(s, "STOU", &x, t0, st);
	if (st == XFER_OK)
		ctrl_reply(&s->ctrl, 226, "Transfer complete (unique file name: %s).",
		    name);
	else
		reply_xfer(s, st, "");
out:
	data_reset(&s->data);
}

/* YYYYMMDDHHMMSS[.fff] (RFC 3659 time-val, UTC) to seconds. */
static int
parse_timeval(const char *p, size_t n, time_t *out)
{
	struct tm tm;
	uint64_t v[6];
	static const unsigned w[6] = { 4, 2, 2, 2, 2, 2 };
	struct cursor cur;
	size_t i, k;

	if (n < 14)
		return -1;
	for (i = 0, k = 0; i < 6; k += w[i], i++) {
		cursor_init(&cur, p + k, w[i]);
		if (cursor_u64(&cur, 9999, &v[i]) < 0 || !cursor_eof(&cur))
			return -1;
	}
	if (n > 14) {
		if (p[14] != '.' || n == 15 || n > 18)
			return -1;
		for (i = 15; i < n; i++)
			if (p[i] < '0' || p[i] > '9')
				return -1;
	}
	if (v[0] < 1970 || v[0] > 9999 || v[1] < 1 || v[1] > 12 ||
	    v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (int)v[0] - 1900;
	tm.tm_mon = (int)v[1] - 1;
	tm.tm_mday = (int)v[2];
	tm.tm_hour = (int)v[3];
	tm.tm_min = (int)v[4];
	tm.tm_sec = (int)v[5];
	*out = timegm(&tm);
	return *out == (time_t)-1 ? -1 : 0;
}

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
open_own(struct sess *s, const char *arg)
{
	const char *name;
	struct stat sb;
	int dfd, fd;

	if ((dfd = writable_parent(s, arg, &name)) < 0)
		return -2;
	fd = open_nofollow(dfd, name);
	close(dfd);
	if (fd >= 0 && (fstat(fd, &sb) < 0 ||
	    (!S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)))) {
		close(fd);	/* fifos, sockets, devices: not here */
		fd = -1;
	}
	return fd;
}

/* MFMT time path (draft-somers-ftp-mfxx): set a file's mtime. */
static void
do_mfmt(struct sess *s, const struct cmd *c)
{
	const char *sp = memchr(c->arg, ' ', c->arglen);
	struct timespec ts[2];
	struct tm tm;
	char when[32];
	time_t t;
	int fd, r;

	if (sp == NULL || sp[1] == '\0' ||
	    parse_timeval(c->arg, (size_t)(sp - c->arg), &t) < 0) {
		ctrl_reply(&s->ctrl, 501, "Usage: MFMT YYYYMMDDHHMMSS path.");
		return;
	}
	if ((fd = open_own(s, sp + 1)) == -2)
		return;
	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_sec = t;
	ts[1].tv_nsec = 0;
	r = fd < 0 ? -1 : futimens(fd, ts);
	if (fd >= 0)
		close(fd);
	if (r < 0) {
		ctrl_reply(&s->ctrl, 550, "Could not set the modification time.");
		return;
	}
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y%m%d%H%M%S", &tm);
	ctrl_reply(&s->ctrl, 213, "Modify=%s; %s", when, s->path);
}

/* An octal mode, at most 4 digits. */
static int
parse_mode(const char *p, size_t n, unsigned max, unsigned *out)
{
	struct cursor cur;
	uint64_t v;

	if (n == 0 || n > 4)
		return -1;
	cursor_init(&cur, p, n);
	if (cursor_u64_base(&cur, 8, max, &v) < 0 || !cursor_eof(&cur))
		return -1;
	*out = (unsigned)v;
	return 0;
}

static void
site_chmod(struct sess *s, const char *arg)
{
	const char *sp = strchr(arg, ' ');
	unsigned mode;
	int fd, r;

	/*
	 * Set-id and sticky bits parse, and the kernel refuses them: the
	 * post-login seccomp filter answers EPERM (550), so a user cannot
	 * make setuid files even through a worker that skips this code.
	 */
	if (sp == NULL || sp[1] == '\0' ||
	    parse_mode(arg, (size_t)(sp - arg), 07777, &mode) < 0) {
		ctrl_reply(&s->ctrl, 501, "Usage: SITE CHMOD 0..07777 path.");
		return;
	}
	if ((fd = open_own(s, sp + 1)) == -2)
		return;
	r = fd < 0 ? -1 : fchmod(fd, (mode_t)mode);
	if (fd >= 0)
		close(fd);
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
	if (parse_mode(arg, strlen(arg), 0777, &m) < 0) {
		ctrl_reply(&s->ctrl, 501, "Usage: SITE UMASK 0..0777.");
		return;
	}
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
		ctrl_reply(&s->ctrl, 200, "Current idle time limit is %u seconds; "
		    "max is %lu.", s->idle, s->conf->idle_timeout);
		return;
	}
	if (parse_u64(arg, 86400, &v) < 0 || v < lo || v > hi) {
		if (lo == hi)
			ctrl_reply(&s->ctrl, 501, "SITE IDLE takes only %lu "
			    "seconds here (the server's idle_timeout).", hi);
		else
			ctrl_reply(&s->ctrl, 501, "SITE IDLE takes %lu..%lu "
			    "seconds.", lo, hi);
		return;
	}
	s->idle = (unsigned)v;
	ctrl_reply(&s->ctrl, 200, "Idle time limit set to %u seconds.", s->idle);
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
static void
do_help(struct sess *s, const struct cmd *c)
{
	if (strcasecmp(c->arg, "SITE") == 0)
		reply_site_help(s);
	else
		proto_reply_basic(&s->ctrl, c);
}

/* The word w, then the end or one space (eaten). */
static int
site_word(struct cursor *cur, const char *w)
{
	struct cursor save = *cur;

	if (cursor_eat_ci(cur, w) && (cursor_eof(cur) || cursor_eat(cur, ' ')))
		return 1;
	*cur = save;
	return 0;
}

static void
do_site(struct sess *s, const struct cmd *c)
{
	struct cursor cur;

	cursor_init(&cur, c->arg, c->arglen);
	if (site_word(&cur, "CHMOD"))
		site_chmod(s, cur.p);
	else if (site_word(&cur, "UMASK"))
		site_umask(s, cur.p);
	else if (site_word(&cur, "IDLE"))
		site_idle(s, cur.p);
	else if (site_word(&cur, "HELP") && cursor_eof(&cur))
		reply_site_help(s);
	else
		ctrl_reply(&s->ctrl, 502, "Unknown SITE command; try SITE HELP.");
}

/* ---------------------------------------------- extensions */

/* Why a running checksum ended early. */
enum hash_end {
	HASH_RAN,
	HASH_ABOR,		/* ABOR on the control connection */
	HASH_IDLE,		/* longer than the session's idle limit */
	HASH_STOP,		/* SIGTERM, session_max_seconds */
	HASH_GONE,		/* the control connection closed */
};

struct hash_run {
	struct sess	*s;
	int64_t		 deadline;	/* ms */
	enum hash_end	 end;
};

/*
 * Between chunks: the stop flag, the time limit, and what the client
 * sent (ABOR ends it, STAT is answered with the progress, anything
 * else waits, as during a transfer).
 */
static int
hash_check(void *arg, uint64_t done)
{
	struct hash_run *h = arg;
	struct ctrl *c = &h->s->ctrl;
	int r;

	if (session_stop)
		h->end = HASH_STOP;
	else if (sys_now_ms() >= h->deadline)
		h->end = HASH_IDLE;
	else if (c->len < KF_LINE_MAX &&
	    sys_poll1(c->fd, POLLIN | POLLPRI, 0) > 0) {
		while ((r = ctrl_take_abor(c)) == CTRL_XFER_STAT)
			ctrl_reply(c, 213, "Status: %llu bytes checksummed.",
			    (unsigned long long)done);
		if (r < 0)
			h->end = HASH_GONE;
		else if (r == CTRL_XFER_ABOR)
			h->end = HASH_ABOR;
	}
	return h->end != HASH_RAN;
}

/* The session's cap in MiB: anonymous sessions have their own, smaller. */
static unsigned long
hash_cap(const struct sess *s)
{
	unsigned long cap = s->conf->hash_max_mib;

	if (s->id->anonymous && s->conf->anon_hash_max_mib < cap)
		cap = s->conf->anon_hash_max_mib;
	return cap;
}

/* The reply for a checksum that did not run to its end. */
static void
reply_hash_end(struct sess *s, enum hash_end end)
{
	switch (end) {
	case HASH_ABOR:
		ctrl_reply(&s->ctrl, 426, "Checksum aborted.");
		ctrl_reply(&s->ctrl, 226, "ABOR successful.");
		break;
	case HASH_IDLE:
		ctrl_reply(&s->ctrl, 451, "Checksum aborted: it took longer "
		    "than the idle time limit (%u seconds).", s->idle);
		break;
	case HASH_GONE:
		s->quit = 1;
		break;
	case HASH_STOP:
	case HASH_RAN:
		break;	/* the session's 421 is the answer */
	}
}

/*
 * HASH path (draft-ietf-ftpext2-hash): "213 ALGO 0-SIZE HEX path".
 * XCRC/XMD5/XSHA1/XSHA256 path: "250 HEX". Regular files only, at most
 * hash_max_mib (anon_hash_max_mib for anonymous sessions). ABOR, the
 * idle limit (the checksum may run that long), SIGTERM and the session
 * limit stop it between chunks.
 */
static void
do_hash(struct sess *s, const struct cmd *c)
{
	const struct hash_algo *a = c->def->id == CMD_HASH ? s->hash :
	    hash_alias(c->def->name);
	struct hash_run h = { .s = s, .end = HASH_RAN };
	struct hash_stop stop = { hash_check, &h };
	unsigned long cap = hash_cap(s);
	char hex[HASH_HEX_MAX];
	struct stat sb;
	int fd, r;

	if (cap == 0 || a == NULL) {
		ctrl_reply(&s->ctrl, 502, "HASH is disabled.");
		return;
	}
	if (resolve(s, c->arg) < 0)
		return;
	fd = fs_open(s->rootfd, s->path, O_RDONLY | O_NONBLOCK, 0);
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		ctrl_reply(&s->ctrl, 550, "Not a plain file.");
		goto out;
	}
	h.deadline = sys_now_ms() + (int64_t)s->idle * 1000;
	r = hash_fd(a, fd, 0, (uint64_t)sb.st_size, (uint64_t)cap << 20, &stop,
	    hex, sizeof(hex));
	if (r == -EINTR)
		reply_hash_end(s, h.end);
	else if (r == -EFBIG)
		ctrl_reply(&s->ctrl, 550, "File too large to hash (over %lu MiB).",
		    cap);
	else if (r < 0)
		ctrl_reply(&s->ctrl, 550, "Could not hash the file.");
	else if (c->def->id == CMD_HASH)
		ctrl_reply(&s->ctrl, 213, "%s 0-%lld %s %s", hash_name(a),
		    (long long)sb.st_size, hex, s->path);
	else
		ctrl_reply(&s->ctrl, 250, "%s", hex);
out:
	if (fd >= 0)
		close(fd);
}

static void
do_feat(struct sess *s, const struct cmd *c)
{
	/* no HASH line for a session that may not checksum */
	proto_reply_feat(&s->ctrl, s->conf, hash_cap(s) > 0 ? s->hash : NULL,
	    s->facts == 0 ? LIST_FACTS_ALL : s->facts & LIST_FACTS_ALL);
}

/* OPTS MLST fact;fact;...: the facts MLST and MLSD send (RFC 3659 7.9). */
static void
opts_mlst(struct sess *s, const char *arg)
{
	char text[128];

	/* none asked: none sent (LIST_F_NONE has no fact bit) */
	s->facts = list_facts_parse(arg);
	list_facts_text(s->facts, 0, text, sizeof(text));
	if (s->facts == 0)
		s->facts = LIST_F_NONE;
	ctrl_reply(&s->ctrl, 200, "MLST OPTS %s", text);
}

/* PBSZ 0 and PROT C/P (RFC 4217) after login. */
static void
do_prot(struct sess *s, const struct cmd *c)
{
	if (!s->si->tls) {
		ctrl_reply(&s->ctrl, 503, "%s needs AUTH TLS first.",
		    c->def->name);
		return;
	}
	if (c->def->id == CMD_PBSZ) {
		s->pbsz = 1;
		ctrl_reply(&s->ctrl, 200, "PBSZ=0");
	} else if (!s->pbsz)
		ctrl_reply(&s->ctrl, 503, "PBSZ must come before PROT.");
	else if (strcasecmp(c->arg, "P") == 0) {
		s->prot_p = 1;
		ctrl_reply(&s->ctrl, 200, "Protection level set to Private.");
	} else if (strcasecmp(c->arg, "C") == 0) {
		s->prot_p = 0;
		ctrl_reply(&s->ctrl, 200, "Protection level set to Clear.");
	} else
		ctrl_reply(&s->ctrl, 536, "Only PROT C and PROT P are "
		    "supported.");
}

/*
 * CCC (RFC 4217): the 200 goes out under TLS, then the monitor has the
 * relay end TLS (MON_CCC). Data connections keep their PROT level.
 */
static void
do_ccc(struct sess *s, const struct cmd *c)
{
	struct ipc_msg m;
	uint32_t ok;

	if (!s->si->tls || s->ccc) {
		ctrl_reply(&s->ctrl, 533, "The control connection is not "
		    "protected.");
		return;
	}
	if (!s->conf->tls_ccc_enable) {
		ctrl_reply(&s->ctrl, 534, "CCC is not allowed on this server.");
		return;
	}
	if (ctrl_reply(&s->ctrl, 200, "Control connection in plain text "
	    "from now on.") < 0)
		return;
	ipc_init(&m, MON_CCC);
	if (ipc_send(s->si->mon_fd, &m) < 0 || ipc_recv(s->si->mon_fd, &m) < 0 ||
	    m.type != MON_CCC_RESULT || ipc_get_u32(&m, &ok) < 0 ||
	    ipc_end(&m) < 0 || ok != 1) {
		log_warn("CCC: the TLS relay did not end TLS; closing");
		_exit(1);
	}
	s->ccc = 1;
	log_info("CCC: the control connection is in plain text");
}

/* OPTS UTF8 ON|OFF, OPTS HASH [algo], OPTS MLST facts. */
static void
do_opts(struct sess *s, const struct cmd *c)
{
	const struct hash_algo *a;
	struct cursor cur;

	cursor_init(&cur, c->arg, c->arglen);
	if (strcasecmp(c->arg, "UTF8 ON") == 0 || strcasecmp(c->arg, "UTF8") == 0)
		ctrl_reply(&s->ctrl, 200, "UTF8 is always on.");
	else if (strcasecmp(c->arg, "UTF8 OFF") == 0)
		ctrl_reply(&s->ctrl, 504, "UTF8 cannot be turned off.");
	else if (strcasecmp(c->arg, "HASH") == 0)
		ctrl_reply(&s->ctrl, 200, "%s", hash_name(s->hash));
	else if (cursor_eat_ci(&cur, "MLST")) {
		cursor_eat(&cur, ' ');
		opts_mlst(s, cur.p);
	} else if (cursor_eat_ci(&cur, "HASH ")) {
		if ((a = hash_lookup(cur.p)) == NULL) {
			ctrl_reply(&s->ctrl, 501, "Unknown hash algorithm.");
			return;
		}
		s->hash = a;
		ctrl_reply(&s->ctrl, 200, "%s", hash_name(a));
	} else
		ctrl_reply(&s->ctrl, 501, "Option not understood.");
}

static const handler handlers[CMD__COUNT] = {
	[CMD_USER] = do_fixed, [CMD_PASS] = do_fixed, [CMD_QUIT] = do_quit,
	[CMD_NOOP] = do_basic, [CMD_SYST] = do_basic, [CMD_FEAT] = do_feat,
	[CMD_HELP] = do_help, [CMD_TYPE] = do_type, [CMD_MODE] = do_mode,
	[CMD_STRU] = do_mode, [CMD_PWD] = do_pwd, [CMD_CWD] = do_cwd,
	[CMD_CDUP] = do_cwd, [CMD_LIST] = do_list, [CMD_NLST] = do_list,
	[CMD_RETR] = do_retr, [CMD_STOR] = do_stor, [CMD_APPE] = do_stor,
	[CMD_DELE] = do_dele, [CMD_MKD] = do_mkd, [CMD_RMD] = do_dele,
	[CMD_RNFR] = do_rnfr, [CMD_RNTO] = do_rnto, [CMD_SIZE] = do_size,
	[CMD_MDTM] = do_mdtm, [CMD_REST] = do_rest, [CMD_PASV] = do_pasv,
	[CMD_EPSV] = do_epsv, [CMD_PORT] = do_port, [CMD_EPRT] = do_port,
	[CMD_ABOR] = do_abor, [CMD_STAT] = do_stat, [CMD_REIN] = do_rein,
	[CMD_ACCT] = do_fixed, [CMD_ALLO] = do_fixed, [CMD_SMNT] = do_fixed,
	[CMD_HOST] = do_fixed, [CMD_STOU] = do_stou, [CMD_MFMT] = do_mfmt,
	[CMD_SITE] = do_site, [CMD_HASH] = do_hash, [CMD_XCRC] = do_hash,
	[CMD_XMD5] = do_hash, [CMD_XSHA1] = do_hash, [CMD_XSHA256] = do_hash,
	[CMD_OPTS] = do_opts, [CMD_MLSD] = do_mlsd, [CMD_MLST] = do_mlst,
	[CMD_AUTH] = do_fixed, [CMD_CCC] = do_ccc, [CMD_PBSZ] = do_prot,
	[CMD_PROT] = do_prot,
};

/*
 * REST stays set until the command that transfers (RFC 3659 5.3: it
 * applies to the next RETR, STOR or APPE), so PASV, EPSV, PORT, EPRT,
 * TYPE, SIZE, MDTM and the like between them keep it, as vsftpd and
 * pure-ftpd do. Every data transfer uses it up, used or refused; RNFR
 * (a rename, not a transfer) and REIN clear it; a REST replaces it.
 */
static int
clears_rest(enum cmd_id id)
{
	switch (id) {
	case CMD_RETR: case CMD_STOR: case CMD_APPE: case CMD_STOU:
	case CMD_LIST: case CMD_NLST: case CMD_MLSD: case CMD_RNFR:
	case CMD_REIN:
		return 1;
	default:
		return 0;
	}
}

static void
dispatch(struct sess *s, char *line, size_t n)
{
	struct cmd c;
	enum cmd_id id;

	if (cmd_parse(line, n, &c) < 0) {
		ctrl_reply(&s->ctrl, 500, "Syntax error.");
		return;
	}
	if (c.def == NULL || handlers[c.def->id] == NULL) {
		ctrl_reply(&s->ctrl, 502, "Command not implemented.");
		return;
	}
	id = c.def->id;
	if ((c.def->flags & CMD_F_ARG) && c.arglen == 0)
		ctrl_reply(&s->ctrl, 501, "%s needs an argument.", c.def->name);
	else if ((c.def->flags & CMD_F_NOARG) && c.arglen > 0)
		ctrl_reply(&s->ctrl, 501, "%s takes no argument.", c.def->name);
	else if ((c.def->flags & CMD_F_WRITE) && !s->id->writable)
		ctrl_reply(&s->ctrl, 550, "Permission denied.");
	else
		handlers[id](s, &c);
	/* RNFR must be followed by RNTO */
	if (id != CMD_RNFR)
		s->has_rnfr = 0;
	if (clears_rest(id))
		s->rest = 0;
}

/*
 * The user's quota (usage file opened before the sandbox): the usage
 * read, or counted now when the file holds none yet.
 */
static void
start_quota(struct sess *s, const struct session_info *si)
{
	int r;

	s->quota.fd = si->quota_fd;
	s->quota.max_bytes = s->id->quota_bytes;
	s->quota.max_files = s->id->quota_files;
	if ((r = quota_start(&s->quota, s->rootfd)) < 0)
		log_err("quota usage of user=%s unknown (%-s); uploads refused "
		    "until `keepftpd quota NAME --recompute` succeeds",
		    s->id->name, strerror(-r));
}

void
session_run(const struct session_info *si, const struct auth_identity *id,
    int rootfd)
{
	char line[KF_LINE_MAX + 1];
	enum line_status st;
	struct sess *s;
	size_t n;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		_exit(1);
	s->si = si;
	s->id = id;
	s->conf = si->conf;
	s->rootfd = rootfd;
	memcpy(s->cwd, "/", 2);
	ctrl_init(&s->ctrl, si->ctrl_fd, CTRL_BUFFERED);
	data_init(&s->data);
	s->umask = (unsigned)s->conf->umask;
	s->idle = (unsigned)s->conf->idle_timeout;
	s->hash = hash_default();
	s->pbsz = (si->tls_flags & MON_TLS_PBSZ) != 0;
	s->prot_p = (si->tls_flags & MON_TLS_PROT_P) != 0;
	patterns_split(&s->hide, s->conf->hide_patterns);
	patterns_split(&s->deny, s->conf->deny_patterns);
	umask((mode_t)s->umask);
	start_quota(s, si);
	sys_shed_memory();	/* what the sandbox set-up used */
	ctrl_reply(&s->ctrl, 230, "Login successful.");
	while (!s->quit && !s->ctrl.broken) {
		if (session_stop || session_drain) {
			ctrl_reply(&s->ctrl, 421, "%s.",
			    session_stop_reason());
			break;
		}
		st = ctrl_read_line(&s->ctrl, line, &n, (int)s->idle * 1000);
		if (st == LINE_INTR)
			continue;
		if (st == LINE_TIMEOUT) {
			ctrl_reply(&s->ctrl, 421, "Timeout.");
			break;
		}
		if (st == LINE_EOF || st == LINE_ERROR)
			break;
		if (st == LINE_TOO_LONG)
			ctrl_reply(&s->ctrl, 500, "Command line too long.");
		else if (st == LINE_BAD_CHAR)
			ctrl_reply(&s->ctrl, 500, "Invalid character in command.");
		else
			dispatch(s, line, n);
	}
	_exit(session_exit_status());
}
