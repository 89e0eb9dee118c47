/*
 * sess_run.c - the post-login worker: a fresh process with the user's
 * identity, confined to the user's root, running the FTP commands that
 * touch files and data connections. This file holds the session's
 * set-up, its path policy (deny and hide patterns), the few one-line
 * commands, and the dispatch: handlers are a table indexed by command
 * id; the commands themselves are in sess_*.c, one concern a file.
 * Runs in: post-login worker (user identity, chroot/Landlock, seccomp).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/sys.h"
#include "../fs/hash.h"
#include "../conf/hash_names.h"
#include "../fs/path.h"
#include "../fs/upload.h"
#include "../ipc/ipc.h"
#include "../ipc/proto.h"
#include "sess.h"

struct idmap *session_ids;

/*
 * deny_patterns: a path is refused when any of its components matches
 * (or is a STOR's temporary file name, upload.h).
 * The path is the cleaned one ("..", "." and "//" gone), so other
 * spellings of the same name reach the same check.
 */
int
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
		if (s->deny.set.n > 0 &&
		    glob_set_match(&s->deny.set, comp) != 0)
			return 1;
		p += n;
	}
	return 0;
}

/* Listings hide hidden and denied names, and temporary upload files. */
int
sess_hide_name(void *arg, const char *name)
{
	const struct sess *s = arg;

	return upload_tmp_is_name(name) ||
	    (s->hide.set.n > 0 && glob_set_match(&s->hide.set, name) != 0) ||
	    (s->deny.set.n > 0 && glob_set_match(&s->deny.set, name) != 0);
}

/* The client's argument as a clean virtual path in s->path. */
int
sess_resolve(struct sess *s, const char *arg)
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
	const char *what = mode ? "Mode" : "Structure",
		   *only = mode ? "S" : "F";

	if (strcasecmp(c->arg, only) == 0)
		ctrl_reply(&s->ctrl, 200, "%s set to %s.", what, only);
	else
		ctrl_reply(&s->ctrl, 504, "%s %s only.", what, only);
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
		enum cmd_id id;
		int code;
		const char *text;
	} fixed[] = {
		{ CMD_USER, 530, "Already logged in; cannot change user." },
		{ CMD_PASS, 503, "Already logged in." },
		{ CMD_ACCT, 202, "ACCT not needed; already logged in." },
		{ CMD_ALLO, 202,
		    "ALLO not needed; space is allocated as written." },
		{ CMD_HOST, 503, "HOST must come before login." },
		{ CMD_AUTH, 503, "AUTH must come before login." },
	};
	size_t i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (fixed[i].id == c->def->id) {
			ctrl_reply(&s->ctrl, fixed[i].code, "%s",
			    fixed[i].text);
			return;
		}
	ctrl_reply(&s->ctrl, 502, "%s not implemented.", c->def->name);
}

static const handler handlers[CMD__COUNT] = {
	[CMD_USER] = do_fixed,
	[CMD_PASS] = do_fixed,
	[CMD_QUIT] = do_quit,
	[CMD_NOOP] = do_basic,
	[CMD_SYST] = do_basic,
	[CMD_FEAT] = do_feat,
	[CMD_HELP] = do_help,
	[CMD_TYPE] = do_type,
	[CMD_MODE] = do_mode,
	[CMD_STRU] = do_mode,
	[CMD_PWD] = do_pwd,
	[CMD_CWD] = do_cwd,
	[CMD_CDUP] = do_cwd,
	[CMD_LIST] = do_list,
	[CMD_NLST] = do_list,
	[CMD_RETR] = do_retr,
	[CMD_STOR] = do_stor,
	[CMD_APPE] = do_stor,
	[CMD_DELE] = do_dele,
	[CMD_MKD] = do_mkd,
	[CMD_RMD] = do_dele,
	[CMD_RNFR] = do_rnfr,
	[CMD_RNTO] = do_rnto,
	[CMD_SIZE] = do_size,
	[CMD_MDTM] = do_mdtm,
	[CMD_REST] = do_rest,
	[CMD_PASV] = do_pasv,
	[CMD_EPSV] = do_epsv,
	[CMD_PORT] = do_port,
	[CMD_EPRT] = do_port,
	[CMD_ABOR] = do_abor,
	[CMD_STAT] = do_stat,
	[CMD_REIN] = do_rein,
	[CMD_ACCT] = do_fixed,
	[CMD_ALLO] = do_fixed,
	[CMD_SMNT] = do_fixed,
	[CMD_HOST] = do_fixed,
	[CMD_STOU] = do_stou,
	[CMD_MFMT] = do_mfmt,
	[CMD_SITE] = do_site,
	[CMD_HASH] = do_hash,
	[CMD_XCRC] = do_hash,
	[CMD_XMD5] = do_hash,
	[CMD_XSHA1] = do_hash,
	[CMD_XSHA256] = do_hash,
	[CMD_OPTS] = do_opts,
	[CMD_MLSD] = do_mlsd,
	[CMD_MLST] = do_mlst,
	[CMD_AUTH] = do_fixed,
	[CMD_CCC] = do_ccc,
	[CMD_PBSZ] = do_prot,
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
	case CMD_RETR:
	case CMD_STOR:
	case CMD_APPE:
	case CMD_STOU:
	case CMD_LIST:
	case CMD_NLST:
	case CMD_MLSD:
	case CMD_RNFR:
	case CMD_REIN:
		return 1;
	default:
		return 0;
	}
}

/*
 * `keepftpd who`: MON_STATUS to the monitor (ipc/proto.h). The verb
 * comes from the command table, the path is the cleaned virtual path,
 * cut to KF_WHO_PATH_MAX; no answer is awaited.
 */
static void
who_send(struct sess *s, const char *verb, const char *path, uint64_t bytes)
{
	struct ipc_msg m SYS_UNINIT;

	ipc_init(&m, MON_STATUS);
	if (ipc_put_str(&m, verb, KF_WHO_VERB_MAX) < 0 ||
	    ipc_put_str(&m, path, KF_WHO_PATH_MAX) < 0 ||
	    ipc_put_u32(&m, (uint32_t)(bytes >> 32)) < 0 ||
	    ipc_put_u32(&m, (uint32_t)bytes) < 0)
		return;
	(void)ipc_send(s->si->mon_fd, &m);
	s->who_ms = sys_now_ms();
}

static void
who_progress(void *arg, uint64_t bytes)
{
	struct sess *s = arg;

	who_send(s, s->who_verb, s->who_path, bytes);
}

void
sess_who_start(struct sess *s, struct xfer *x, const char *path)
{
	if (s->who_verb == NULL)
		return;
	snprintf(s->who_path, sizeof(s->who_path), "%s", path);
	who_send(s, s->who_verb, s->who_path, 0);
	s->who_busy = 1;
	x->progress.fn = who_progress;
	x->progress.arg = s;
	x->progress.next_ms = s->who_ms + KF_WHO_REPORT_MS;
}

/*
 * After a command: idle, reported when a transfer's start was, else
 * at most once per KF_WHO_REPORT_MS (the session's last activity).
 */
static void
who_idle(struct sess *s)
{
	s->who_verb = NULL;
	if (!s->who_busy && sys_now_ms() - s->who_ms < KF_WHO_REPORT_MS)
		return;
	s->who_busy = 0;
	who_send(s, "", "", 0);
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
	if (c.def == NULL || !(c.def->phase & CMD_PH_POST) ||
	    handlers[c.def->id] == NULL) {
		ctrl_reply(&s->ctrl, 502, "Command not implemented.");
		return;
	}
	id = c.def->id;
	if ((c.def->flags & CMD_F_ARG) && c.arglen == 0)
		ctrl_reply(&s->ctrl, 501, "%s needs an argument.", c.def->name);
	else if ((c.def->flags & CMD_F_NOARG) && c.arglen > 0)
		ctrl_reply(&s->ctrl, 501, "%s takes no argument.", c.def->name);
	else if ((c.def->flags & CMD_F_WRITE) && !sess_may_change(s))
		ctrl_reply(&s->ctrl, 550, "Permission denied.");
	else {
		s->who_verb = c.def->name;
		handlers[id](s, &c);
		/* after QUIT the row goes with the session: no report */
		if (!s->quit)
			who_idle(s);
	}
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

/* The session's state at login; sandboxed already. */
static struct sess *
sess_new(const struct session_info *si, const struct auth_identity *id,
    int rootfd)
{
	/*
	 * 23 KiB, mostly path buffers an idle session never writes: in
	 * zeroed pages of its own, only those written are the worker's
	 * (calloc would write every page of a chunk of the spawner's heap,
	 * each then a private copy). It lives as long as the process.
	 */
	struct sess *s = sys_scratch(sizeof(*s));

	if (s == NULL)
		_exit(1);
	s->si = si;
	s->id = id;
	s->conf = si->conf;
	s->rootfd = rootfd;
	memcpy(s->cwd, "/", 2);
	ctrl_init(&s->ctrl, si->ctrl_fd, CTRL_BUFFERED);
	data_init(&s->data);
	if (si->proxied && s->conf->pasv_proxy)
		data_via_proxy(&s->data, s->conf->proxy_from);
	s->data.fxp = id->fxp; /* users-file fxp: other hosts allowed */
	/* a users-file umask= replaces the server's */
	s->umask = id->has_umask ? id->umask : (unsigned)s->conf->umask;
	s->idle = (unsigned)s->conf->idle_timeout;
	s->hash = hash_default();
	if (strcmp(s->conf->hash_store, "xattr") != 0 ||
	    hash_names_algos_parse(s->conf->hash_store_algos, &s->hash_store) <
		0)
		s->hash_store = 0;
	s->tls_flags = si->tls_flags & (MON_TLS_PBSZ | MON_TLS_PROT_P);
	args_patterns(&s->hide, s->conf->hide_patterns);
	args_patterns(&s->deny, s->conf->deny_patterns);
	umask((mode_t)s->umask);
	start_quota(s, si);
	return s;
}

/* One command line read and answered: 0, or -1 when the session ends. */
static int
serve_line(struct sess *s)
{
	char line[KF_LINE_MAX + 1] SYS_UNINIT;
	enum line_status st;
	sigset_t old;
	size_t n;

	session_signals_hold(&old);
	if (session_stop || session_drain) {
		session_signals_release(&old);
		ctrl_reply(&s->ctrl, 421, "%s.", session_stop_reason());
		return -1;
	}
	s->ctrl.wait_mask = &old;
	st = ctrl_read_line(&s->ctrl, line, &n, (int)s->idle * 1000);
	s->ctrl.wait_mask = NULL;
	session_signals_release(&old);
	if (st == LINE_INTR)
		return 0;
	if (st == LINE_TIMEOUT) {
		ctrl_reply(&s->ctrl, 421, "Timeout.");
		return -1;
	}
	if (st == LINE_EOF || st == LINE_ERROR)
		return -1;
	if (st == LINE_TOO_LONG)
		ctrl_reply(&s->ctrl, 500, "Command line too long.");
	else if (st == LINE_BAD_CHAR)
		ctrl_reply(&s->ctrl, 500, "Invalid character in command.");
	else
		dispatch(s, line, n);
	return 0;
}

void
session_run(const struct session_info *si, const struct auth_identity *id,
    int rootfd)
{
	struct sess *s = sess_new(si, id, rootfd);

	/* what the sandbox set-up used, once the session is idle */
	s->ctrl.on_idle = sys_shed_stack;
	ctrl_reply(&s->ctrl, 230, "Login successful.");
	while (!s->quit && !s->ctrl.broken)
		if (serve_line(s) < 0)
			break;
	_exit(session_exit_status());
}
