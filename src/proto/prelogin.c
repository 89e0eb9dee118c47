/*
 * prelogin.c - the pre-login worker: greets, reads commands until a
 * login succeeds, and asks the monitor to check credentials. It holds
 * no privilege, sees no file system, and never gains the user's rights:
 * on success it just exits and the monitor starts a fresh process.
 * HOST (RFC 7151) picks a virtual host before USER; the choice travels
 * in MON_LOGIN and the monitor checks it against its own configuration.
 * AUTH TLS asks the monitor to start the TLS relay (proto.h); PBSZ and
 * PROT before login are remembered and travel in MON_LOGIN. On a proxy
 * listener the PROXY header comes first (proxyhdr.c).
 * Runs in: pre-login worker (service user, empty root, seccomp).
 */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/sys.h"
#include "../fs/hash.h"
#include "../fs/list.h"
#include "../ipc/ipc.h"
#include "../ipc/proto.h"
#include "session.h"

struct pre {
	const struct session_info *si;
	struct ctrl ctrl;
	char user[KF_USER_MAX + 1];
	char host[CONF_HOST_MAX + 1]; /* vhost or "" */
	int have_user;
	int user_seen; /* USER was sent: no HOST */
	int host_done; /* HOST accepted once */
	unsigned commands;
	unsigned tls_flags; /* MON_TLS_* */
};

/*
 * text: LF-separated lines (a banner the configuration checked: at most
 * CONF_TEXT_LINES_MAX lines, no CR), sent as one RFC 959 reply: "220-"
 * per line, "220 " on the last.
 */
static void
reply_text(struct pre *p, int code, const char *text)
{
	struct ctrl_lines l;
	const char *nl;

	ctrl_lines_begin(&l, code, NULL);
	while ((nl = strchr(text, '\n')) != NULL) {
		ctrl_lines_text(&l, text, (size_t)(nl - text));
		text = nl + 1;
	}
	ctrl_lines_end(&p->ctrl, &l, text);
}

static void __attribute__((noreturn))
finish(struct pre *p, int code, const char *text)
{
	if (code != 0)
		ctrl_reply(&p->ctrl, code, "%s", text);
	_exit(0);
}

/* The monitor decides; this process only relays. */
static uint32_t
ask_monitor(struct pre *p, const char *pass)
{
	struct ipc_msg m SYS_UNINIT;
	uint32_t result;

	ipc_init(&m, MON_LOGIN);
	if (ipc_put_str(&m, p->user, KF_USER_MAX) < 0 ||
	    ipc_put_str(&m, pass, KF_PASS_MAX) < 0 ||
	    ipc_put_str(&m, p->host, CONF_HOST_MAX) < 0 ||
	    ipc_put_u32(&m, p->tls_flags) < 0 ||
	    ipc_send(p->si->mon_fd, &m) < 0)
		finish(p, 421, "Service not available.");
	explicit_bzero(m.data, sizeof(m.data));
	if (ipc_recv(p->si->mon_fd, &m) < 0 || m.type != MON_LOGIN_RESULT ||
	    ipc_get_u32(&m, &result) < 0 || ipc_end(&m) < 0)
		finish(p, 421, "Service not available.");
	return result;
}

static void
do_pass(struct pre *p, const struct cmd *c)
{
	uint32_t r;

	if (!p->have_user) {
		ctrl_reply(&p->ctrl, 503, "Login with USER first.");
		return;
	}
	/* an overlong password cannot match; still pay the full check */
	r = ask_monitor(p, c->arglen > KF_PASS_MAX ? "" : c->arg);
	p->have_user = 0;
	if (r == MON_LOGIN_OK)
		_exit(0); /* the post-login worker answers 230 */
	if (r == MON_LOGIN_UNAVAILABLE)
		finish(p, 421, "Service not available.");
	/* per-user limits: the password was good; the reason, then the end */
	if (r == MON_LOGIN_REFUSED_SESSIONS)
		finish(p, 421,
		    "Too many sessions for this user (max_sessions); try "
		    "again later.");
	if (r == MON_LOGIN_REFUSED_HOURS)
		finish(p, 530, "Login not allowed at this time (login_hours).");
	ctrl_reply(&p->ctrl, 530, "Login incorrect.");
	if (r != MON_LOGIN_FAILED)
		finish(p, 421, "Too many failed logins.");
}

static void
do_user(struct pre *p, const struct cmd *c)
{
	if (!p->si->tls && policy_tls_required(p->si->conf, c->arg, NULL)) {
		ctrl_reply(&p->ctrl, 530,
		    "TLS required: use AUTH TLS before "
		    "USER.");
		p->have_user = 0;
		return;
	}
	/* an impossible name still gets 331 and fails like any other */
	if (c->arglen > KF_USER_MAX)
		p->user[0] = '\0';
	else
		memcpy(p->user, c->arg, c->arglen + 1);
	p->have_user = 1;
	p->user_seen = 1;
	ctrl_reply(&p->ctrl, 331, "Please specify the password.");
}

/*
 * RFC 7151: before USER, once. With vhosts, an unknown name is 504 and
 * the session goes on with the default host; without any, every
 * well-formed name is accepted and changes nothing.
 */
static void
do_host(struct pre *p, const struct cmd *c)
{
	const struct conf *conf = p->si->conf;
	const struct conf_vhost *vh;
	char name[CONF_HOST_MAX + 1];

	if (p->user_seen) {
		ctrl_reply(&p->ctrl, 503, "HOST must come before USER.");
		return;
	}
	if (p->host_done) {
		ctrl_reply(&p->ctrl, 503, "HOST was already given.");
		return;
	}
	if (conf_host_norm(c->arg, c->arglen, name) < 0) {
		ctrl_reply(&p->ctrl, 501, "Invalid host name.");
		return;
	}
	if (conf->vhost_count == 0) {
		p->host_done = 1;
		reply_text(p, 220, conf_greeting(conf));
		return;
	}
	if ((vh = conf_vhost_find(conf, name)) == NULL) {
		log_info("HOST: unknown host=%s", name);
		ctrl_reply(&p->ctrl, 504, "Unknown host.");
		return;
	}
	p->host_done = 1;
	memcpy(p->host, vh->name, sizeof(p->host));
	reply_text(p, 220,
	    vh->banner_text[0] != '\0' ? vh->banner_text : conf_greeting(conf));
}

/*
 * What the client sent after AUTH TLS before our 234 cannot be part of
 * the handshake (RFC 4217 says wait for the reply): read and dropped,
 * never executed (CVE-2011-1575). Bytes that come later reach the relay
 * as handshake garbage and end the session there.
 */
static void
drop_pipelined(struct pre *p)
{
	char junk[4096];
	size_t total = 0;
	ssize_t n;

	for (;;) {
		n = sys_recv(p->ctrl.fd, junk, sizeof(junk), MSG_DONTWAIT);
		if (n <= 0)
			break;
		total += (size_t)n;
		if (total > KF_TLS_DRAIN_MAX)
			finish(p, 421, "Too much data after AUTH TLS.");
	}
	explicit_bzero(junk, sizeof(junk));
	if (total > 0)
		log_warn("AUTH TLS: %zu byte(s) sent after AUTH before the "
			 "234 reply were dropped, not executed",
		    total);
}

/* AUTH TLS / AUTH SSL (RFC 4217; SSL is the old name). */
static void
do_auth(struct pre *p, const struct cmd *c)
{
	struct ipc_msg m SYS_UNINIT;
	uint32_t ok;

	if (!tls_configured(p->si->conf)) {
		ctrl_reply(&p->ctrl, 502,
		    "TLS is not configured on this "
		    "server.");
		return;
	}
	if (p->si->tls) {
		ctrl_reply(&p->ctrl, 503, "TLS is already active.");
		return;
	}
	if (p->si->ccc) {
		ctrl_reply(&p->ctrl, 534,
		    "TLS cannot start again after CCC on "
		    "this connection.");
		return;
	}
	if (strcasecmp(c->arg, "TLS") != 0 && strcasecmp(c->arg, "SSL") != 0 &&
	    strcasecmp(c->arg, "TLS-C") != 0) {
		ctrl_reply(&p->ctrl, 504,
		    "Security mechanism not understood; "
		    "use AUTH TLS.");
		return;
	}
	/* HOST (RFC 7151: before AUTH) carries over to the next worker */
	ipc_init(&m, MON_AUTH_TLS);
	if (ipc_put_u32(&m, (uint32_t)p->host_done) < 0 ||
	    ipc_put_str(&m, p->host, CONF_HOST_MAX) < 0 ||
	    ipc_send(p->si->mon_fd, &m) < 0 ||
	    ipc_recv(p->si->mon_fd, &m) < 0 || m.type != MON_AUTH_TLS_RESULT ||
	    ipc_get_u32(&m, &ok) < 0 || ipc_end(&m) < 0 || ok > 1)
		finish(p, 421, "Service not available.");
	if (ok == 0) {
		ctrl_reply(&p->ctrl, 431, "TLS is not available now.");
		return;
	}
	drop_pipelined(p);
	/* the monitor starts the relay and a new worker once we are gone */
	finish(p, 234, "Proceed with TLS negotiation.");
}

/* PBSZ 0 and PROT C/P (RFC 4217), only once TLS is on (basic.c). */
static void
do_prot(struct pre *p, const struct cmd *c)
{
	proto_reply_prot(&p->ctrl, c, p->si->tls, &p->tls_flags);
}

static void
do_ccc(struct pre *p, const struct cmd *c)
{
	ctrl_reply(&p->ctrl, 533, "CCC is not available.");
}

static void
do_feat(struct pre *p, const struct cmd *c)
{
	proto_reply_feat(&p->ctrl, p->si->conf, hash_default(), LIST_FACTS_ALL);
}

static void
do_acct(struct pre *p, const struct cmd *c)
{
	ctrl_reply(&p->ctrl, 202, "ACCT not needed.");
}

static void
do_quit(struct pre *p, const struct cmd *c)
{
	finish(p, 221, "Goodbye.");
}

/* NOOP, SYST, HELP, OPTS: the answers both workers share (basic.c). */
static void
do_basic(struct pre *p, const struct cmd *c)
{
	proto_reply_basic(&p->ctrl, c);
}

typedef void (*pre_handler)(struct pre *, const struct cmd *);

/* The commands of phase CMD_PH_PRE in the command table (command.c). */
static const pre_handler handlers[CMD__COUNT] = {
	[CMD_USER] = do_user,
	[CMD_PASS] = do_pass,
	[CMD_HOST] = do_host,
	[CMD_AUTH] = do_auth,
	[CMD_PBSZ] = do_prot,
	[CMD_PROT] = do_prot,
	[CMD_CCC] = do_ccc,
	[CMD_FEAT] = do_feat,
	[CMD_ACCT] = do_acct,
	[CMD_QUIT] = do_quit,
	[CMD_NOOP] = do_basic,
	[CMD_SYST] = do_basic,
	[CMD_HELP] = do_basic,
	[CMD_OPTS] = do_basic,
};

static void
dispatch(struct pre *p, char *line, size_t n)
{
	struct cmd c;

	if (cmd_parse(line, n, &c) < 0) {
		ctrl_reply(&p->ctrl, 500, "Syntax error.");
		return;
	}
	if (c.def == NULL || !(c.def->phase & CMD_PH_PRE) ||
	    handlers[c.def->id] == NULL) {
		ctrl_reply(&p->ctrl, 530, "Please log in with USER and PASS.");
		return;
	}
	if ((c.def->flags & CMD_F_ARG) && c.arglen == 0) {
		ctrl_reply(&p->ctrl, 501, "%s needs an argument.", c.def->name);
		return;
	}
	handlers[c.def->id](p, &c);
}

static void __attribute__((noreturn))
run(const struct session_info *si, int greet)
{
	const struct conf *conf = si->conf;
	int64_t deadline = sys_now_ms() + (int64_t)conf->login_timeout * 1000;
	char line[KF_LINE_MAX + 1] SYS_UNINIT;
	enum line_status st;
	struct pre p;
	sigset_t old;
	int64_t left;
	size_t n;

	memset(&p, 0, sizeof(p));
	p.si = si;
	p.host_done = si->host_done;
	memcpy(p.host, si->host, sizeof(p.host));
	ctrl_init(&p.ctrl, si->ctrl_fd, CTRL_EXACT);
	if (si->proxy_hdr && proxy_header_read(si) < 0)
		finish(&p, 0, NULL); /* no FTP without a valid header */
	if (greet)
		reply_text(&p, 220, conf_greeting(conf));
	for (;;) {
		session_signals_hold(&old);
		if (session_stop || session_drain) {
			session_signals_release(&old);
			ctrl_reply(&p.ctrl, 421, "%s.", session_stop_reason());
			finish(&p, 0, NULL);
		}
		if ((left = deadline - sys_now_ms()) <= 0)
			finish(&p, 421, "Login timeout.");
		p.ctrl.wait_mask = &old;
		st = ctrl_read_line(&p.ctrl, line, &n, (int)left);
		p.ctrl.wait_mask = NULL;
		session_signals_release(&old);
		if (st == LINE_INTR)
			continue;
		if (st == LINE_TIMEOUT)
			finish(&p, 421, "Login timeout.");
		if (st == LINE_EOF || st == LINE_ERROR || p.ctrl.broken)
			finish(&p, 0, NULL);
		if (++p.commands > KF_PRELOGIN_CMDS_MAX)
			finish(&p, 421, "Too many commands before login.");
		if (st == LINE_TOO_LONG)
			ctrl_reply(&p.ctrl, 500, "Command line too long.");
		else if (st == LINE_BAD_CHAR)
			ctrl_reply(&p.ctrl, 500,
			    "Invalid character in command.");
		else
			dispatch(&p, line, n);
		explicit_bzero(line, sizeof(line));
	}
}

void
prelogin_run(const struct session_info *si)
{
	run(si, 1);
}

/* After REIN the post-login worker has sent the 220 already. */
void
prelogin_run_after_rein(const struct session_info *si)
{
	run(si, 0);
}
