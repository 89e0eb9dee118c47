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
#include "../fs/list.h"
#include "../fs/path.h"
#include "../fs/xfer.h"
#include "../net/addr.h"
#include "../net/data.h"
#include "session.h"

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
	uint64_t			 rest;
	char				 cwd[KF_PATH_MAX + 1];
	char				 rnfr[KF_PATH_MAX + 1];
	char				 path[KF_PATH_MAX + 1];	/* scratch */
};

typedef void (*handler)(struct sess *, const struct cmd *);

/* The client's argument as a clean virtual path in s->path. */
static int
resolve(struct sess *s, const char *arg)
{
	if (path_resolve(s->cwd, arg, s->path, sizeof(s->path)) < 0) {
		ctrl_reply(&s->ctrl, 553, "File name too long.");
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
do_user(struct sess *s, const struct cmd *c)
{
	ctrl_reply(&s->ctrl, 530, "Already logged in; cannot change user.");
}

static void
do_pass(struct sess *s, const struct cmd *c)
{
	ctrl_reply(&s->ctrl, 503, "Already logged in.");
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
	ctrl_reply(&s->ctrl, 250, "Directory successfully changed.");
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
	return fd;
}

static int
need_data(struct sess *s)
{
	if (data_pending(&s->data))
		return 0;
	ctrl_reply(&s->ctrl, 425, "Use PORT, EPRT, PASV or EPSV first.");
	return -1;
}

static void
init_xfer(struct sess *s, struct xfer *x, int fd)
{
	memset(x, 0, sizeof(*x));
	x->ctrl = &s->ctrl;
	x->datafd = fd;
	x->timeout_ms = (int)s->conf->data_timeout * 1000;
	x->stop = &session_stop;
}

/* The final reply for a transfer, and the end of the session if due. */
static void
reply_xfer(struct sess *s, enum xfer_status st, const char *ok)
{
	switch (st) {
	case XFER_OK:
		ctrl_reply(&s->ctrl, 226, "%s", ok);
		break;
	case XFER_ABORTED:
		ctrl_reply(&s->ctrl, 426, "Transfer aborted.");
		ctrl_reply(&s->ctrl, 226, "ABOR successful.");
		break;
	case XFER_STOPPED:
		ctrl_reply(&s->ctrl, 426, "Transfer aborted: server shutting down.");
		break;
	case XFER_CTRL_GONE:
		s->quit = 1;
		break;
	case XFER_TIMEOUT:
		ctrl_reply(&s->ctrl, 426, "Data connection timed out.");
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
	}
}

static const char *
xfer_status_name(enum xfer_status st)
{
	static const char *const names[] = { "ok", "aborted", "stopped",
		"control-closed", "data-error", "timeout", "disk-full",
		"quota", "io-error" };

	return names[st];
}

static void
log_xfer(struct sess *s, const char *verb, const struct xfer *x,
    int64_t t0, enum xfer_status st)
{
	int64_t ms = sys_now_ms() - t0;

	log_info("%s %s bytes=%llu ms=%lld status=%s", verb, s->path,
	    (unsigned long long)x->bytes, (long long)ms, xfer_status_name(st));
}

struct list_ctx {
	struct sess	*s;
	struct xfer	 x;
	int		 fd;
	enum xfer_status st;
};

static int
list_flush(void *p, const char *bytes, size_t n)
{
	struct list_ctx *l = p;

	if (l->fd < 0) {
		l->fd = open_data(l->s, "Here comes the directory listing.");
		if (l->fd < 0)
			return -EIO;
		init_xfer(l->s, &l->x, l->fd);
	}
	l->st = xfer_send_buf(&l->x, bytes, n);
	return l->st == XFER_OK ? 0 : -EIO;
}

static void
do_list(struct sess *s, const struct cmd *c)
{
	unsigned flags = c->def->id == CMD_LIST ? LIST_LONG : 0;
	struct list_ctx l = { .s = s, .fd = -1, .st = XFER_OK };
	const char *arg = c->arg;
	int r;

	if (list_parse_opts(&arg, &flags) < 0)
		arg = c->arg;	/* not options: a name starting with '-' */
	if (need_data(s) < 0 || resolve(s, arg) < 0)
		return;
	r = list_run(s->rootfd, s->path, flags, list_flush, &l);
	if (l.fd < 0 && r == 0)
		list_flush(&l, "", 0);
	if (l.fd < 0) {
		if (r != -EIO)
			ctrl_reply(&s->ctrl, 550, "Cannot list: %s.", strerror(-r));
		data_reset(&s->data);
		return;
	}
	close(l.fd);
	reply_xfer(s, l.st, "Directory send OK.");
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
	snprintf(what, sizeof(what), "Opening %s mode data connection (%lld bytes).",
	    s->ascii ? "ASCII" : "BINARY", (long long)sb.st_size);
	if ((dfd = open_data(s, what)) < 0)
		goto out;
	init_xfer(s, &x, dfd);
	t0 = sys_now_ms();
	st = xfer_send_file(&x, fd, (off_t)s->rest);
	close(dfd);
	log_xfer(s, "RETR", &x, t0, st);
	reply_xfer(s, st, "Transfer complete.");
out:
	if (fd >= 0)
		close(fd);
	data_reset(&s->data);
}

/*
 * Upload target. A plain STOR writes a temporary file in the target's
 * directory, renamed over the target only on success (invariant 8).
 * APPE and REST+STOR are explicit edits of the existing file. The last
 * component is opened with O_NOFOLLOW: the parent was resolved in the
 * root, and a symlink as the final name is refused, not followed.
 */
struct upload {
	int	 dirfd;
	int	 fd;
	int	 temp;
	const char *name;
	char	 tmpname[32];
};

static int
upload_open(struct sess *s, const struct cmd *c, struct upload *u)
{
	int append = c->def->id == CMD_APPE;
	int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC;
	unsigned char rnd[6];
	struct stat sb;

	u->fd = -1;
	u->dirfd = fs_open_parent(s->rootfd, s->path, &u->name);
	if (u->dirfd < 0)
		return -1;
	u->temp = !append && s->rest == 0;
	if (u->temp) {
		randombytes_buf(rnd, sizeof(rnd));
		snprintf(u->tmpname, sizeof(u->tmpname), ".kf-upload-%02x%02x%02x%02x%02x%02x",
		    rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
		u->fd = openat(u->dirfd, u->tmpname, flags | O_EXCL, 0666);
		return u->fd;
	}
	u->fd = openat(u->dirfd, u->name, flags | (append ? O_APPEND : 0), 0666);
	if (u->fd < 0 || append)
		return u->fd;
	if (fstat(u->fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    s->rest > (uint64_t)sb.st_size || ftruncate(u->fd, (off_t)s->rest) < 0 ||
	    lseek(u->fd, (off_t)s->rest, SEEK_SET) < 0) {
		close(u->fd);
		u->fd = -1;
	}
	return u->fd;
}

static enum xfer_status
upload_commit(struct upload *u, enum xfer_status st)
{
	if (close(u->fd) < 0 && st == XFER_OK)
		st = errno == ENOSPC ? XFER_DISK_FULL : XFER_IO_ERROR;
	if (!u->temp)
		return st;
	if (st == XFER_OK && renameat(u->dirfd, u->tmpname, u->dirfd, u->name) < 0)
		st = XFER_IO_ERROR;
	if (st != XFER_OK)
		unlinkat(u->dirfd, u->tmpname, 0);
	return st;
}

static void
do_stor(struct sess *s, const struct cmd *c)
{
	struct upload u = { .dirfd = -1, .fd = -1 };
	enum xfer_status st;
	struct xfer x;
	int64_t t0;
	int dfd;

	if (need_data(s) < 0 || resolve(s, c->arg) < 0)
		return;
	if (upload_open(s, c, &u) < 0) {
		ctrl_reply(&s->ctrl, 553, "Could not create file.");
		goto out;
	}
	if ((dfd = open_data(s, "Ok to send data.")) < 0) {
		upload_commit(&u, XFER_DATA_ERROR);
		goto out;
	}
	init_xfer(s, &x, dfd);
	t0 = sys_now_ms();
	st = xfer_recv_file(&x, u.fd);
	close(dfd);
	st = upload_commit(&u, st);
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

static void
do_dele(struct sess *s, const struct cmd *c)
{
	const char *name;
	int fd, r;

	if ((fd = parent_of(s, c->arg, &name)) < 0)
		return;
	r = unlinkat(fd, name, c->def->id == CMD_RMD ? AT_REMOVEDIR : 0);
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
	r = mkdirat(fd, name, 0777);
	close(fd);
	if (r < 0)
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
		r = renameat(ffd, from, tfd, to);
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
		log_warn("%s to a foreign address or privileged port refused",
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

static void
do_stat(struct sess *s, const struct cmd *c)
{
	char lines[5][160], peer[ADDR_STR_MAX];
	const char *l[5];
	size_t i;

	if (c->arglen > 0) {
		ctrl_reply(&s->ctrl, 504, "STAT with a path is not supported.");
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
	for (i = 0; i < 5; i++)
		l[i] = lines[i];
	ctrl_reply_lines(&s->ctrl, 211, "keepftpd status:", l, 5, "End of status.");
}

static const handler handlers[CMD__COUNT] = {
	[CMD_USER] = do_user, [CMD_PASS] = do_pass, [CMD_QUIT] = do_quit,
	[CMD_NOOP] = do_basic, [CMD_SYST] = do_basic, [CMD_FEAT] = do_basic,
	[CMD_HELP] = do_basic, [CMD_TYPE] = do_type, [CMD_MODE] = do_mode,
	[CMD_STRU] = do_mode, [CMD_PWD] = do_pwd, [CMD_CWD] = do_cwd,
	[CMD_CDUP] = do_cwd, [CMD_LIST] = do_list, [CMD_NLST] = do_list,
	[CMD_RETR] = do_retr, [CMD_STOR] = do_stor, [CMD_APPE] = do_stor,
	[CMD_DELE] = do_dele, [CMD_MKD] = do_mkd, [CMD_RMD] = do_dele,
	[CMD_RNFR] = do_rnfr, [CMD_RNTO] = do_rnto, [CMD_SIZE] = do_size,
	[CMD_MDTM] = do_mdtm, [CMD_REST] = do_rest, [CMD_PASV] = do_pasv,
	[CMD_EPSV] = do_epsv, [CMD_PORT] = do_port, [CMD_EPRT] = do_port,
	[CMD_ABOR] = do_abor, [CMD_STAT] = do_stat,
};

static void
dispatch(struct sess *s, char *line, size_t n)
{
	struct cmd c;
	enum cmd_id id;

	if (cmd_parse(line, n, &c) < 0) {
		ctrl_reply(&s->ctrl, 500, "Syntax error.");
		return;
	}
	if (c.def == NULL) {
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
	/* RNFR must be followed by RNTO, REST by the transfer */
	if (id != CMD_RNFR)
		s->has_rnfr = 0;
	if (id != CMD_REST)
		s->rest = 0;
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
	umask((mode_t)s->conf->umask);
	ctrl_reply(&s->ctrl, 230, "Login successful.");
	while (!s->quit && !s->ctrl.broken) {
		if (session_stop) {
			ctrl_reply(&s->ctrl, 421, "Server shutting down.");
			break;
		}
		st = ctrl_read_line(&s->ctrl, line, &n,
		    (int)s->conf->idle_timeout * 1000);
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
	_exit(0);
}
