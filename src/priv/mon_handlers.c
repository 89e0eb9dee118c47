/*
 * mon_handlers.c - one handler per request of the catalogue
 * (ipc/proto.h). Each reads its payload exactly, checks it against the
 * monitor's own state (struct mon_state) and answers with a verdict;
 * the dispatch table (mon_dispatch.c) has already checked the sender,
 * the phase, "once" and the size. Side effects only through struct
 * mon_ops: the password check, the delay, log lines, the report to the
 * listener, the relay.
 * Runs in: monitor.
 */
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "../auth/hours.h"
#include "../auth/users.h"
#include "../common/sys.h"
#include "../ipc/proto.h"
#include "../metrics/metrics.h"
#include "../net/addr.h"
#include "hook.h"
#include "mon_state.h"
#include "who.h"

/* Fills out->why; the session ends with that reason. */
static enum mon_verdict __attribute__((format(printf, 2, 3)))
fatal(struct mon_out *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(out->why, sizeof(out->why), fmt, ap);
	va_end(ap);
	return MON_V_FATAL;
}

static enum mon_verdict
reply_u32(struct mon_out *out, uint32_t type, uint32_t v)
{
	ipc_init(&out->rep, type);
	ipc_put_u32(&out->rep, v);
	return MON_V_REPLY;
}

unsigned
mon_fail_delay_ms(unsigned long base_ms, unsigned failures)
{
	unsigned long d = base_ms < KF_LOGIN_DELAY_MAX_MS ?
	    base_ms :
	    KF_LOGIN_DELAY_MAX_MS;
	unsigned i;

	/* d <= the cap before each doubling: no overflow */
	for (i = 1; i < failures && d < KF_LOGIN_DELAY_MAX_MS; i++)
		d *= 2;
	return (
	    unsigned)(d < KF_LOGIN_DELAY_MAX_MS ? d : KF_LOGIN_DELAY_MAX_MS);
}

int
mon_rein(struct mon_state *st)
{
	if (st->reins >= KF_REIN_MAX)
		return -1;
	st->reins++;
	st->logged_in = 0;
	memset(st->id, 0, sizeof(*st->id));
	st->host_done = 0; /* REIN: HOST may be given again */
	memset(st->host, 0, sizeof(st->host));
	st->phase = MPH_PRELOGIN;
	memset(&st->who, 0, sizeof(st->who));
	return 0;
}

struct login_req {
	char user[KF_USER_MAX + 1];
	char pass[KF_PASS_MAX + 1];
	char host[CONF_HOST_MAX + 1];
	uint32_t tls;
};

static enum mon_verdict
read_login(struct mon_state *st, struct ipc_msg *msg, struct login_req *rq,
    struct mon_out *out)
{
	if (ipc_get_str(msg, rq->user, sizeof(rq->user)) < 0 ||
	    ipc_get_str(msg, rq->pass, sizeof(rq->pass)) < 0 ||
	    ipc_get_str(msg, rq->host, sizeof(rq->host)) < 0 ||
	    ipc_get_u32(msg, &rq->tls) < 0)
		return fatal(out, "malformed MON_LOGIN");
	if (ipc_end(msg) < 0)
		return fatal(out, "MON_LOGIN with trailing bytes");
	if ((rq->tls & ~(MON_TLS_PBSZ | MON_TLS_PROT_P)) != 0 ||
	    (rq->tls != 0 && !st->tls))
		return fatal(out, "MON_LOGIN: bad tls flags");
	return MON_V_NONE;
}

/*
 * The host of a MON_LOGIN: empty, or a name as conf_host_norm() writes
 * it (anything else is fatal). It selects a vhost of the monitor's own
 * configuration; a name it does not hold means the default host.
 */
static int
select_vhost(struct mon_state *st, const struct mon_ops *ops, const char *host,
    const struct conf_vhost **vh)
{
	char norm[CONF_HOST_MAX + 1];
	size_t n = strlen(host);

	*vh = NULL;
	if (n == 0)
		return 0;
	if (conf_host_norm(host, n, norm) < 0 || strcmp(norm, host) != 0)
		return -1;
	if ((*vh = conf_vhost_find(st->conf, host)) == NULL)
		ops->log(LOG_WARNING,
		    "login: host=%s is not a configured "
		    "vhost; default host used",
		    host);
	return 0;
}

/*
 * After a good password: the user's own allow_from / deny_from (users
 * file) against the session's peer. NULL when allowed, else the reason
 * logged; the client sees an ordinary failed login.
 */
static const char *
user_address_refused(const struct mon_state *st)
{
	if (st->id->deny_from[0] != '\0' &&
	    addr_list_match(st->id->deny_from, st->peer) != 0)
		return "user-deny-from";
	if (st->id->allow_from[0] != '\0' &&
	    addr_list_match(st->id->allow_from, st->peer) != 1)
		return "user-allow-from";
	return NULL;
}

/*
 * tls_client_cert_login: the control connection is still TLS and its
 * verified client certificate names exactly this user.
 */
static int
cert_login(const struct mon_state *st, const char *user)
{
	return st->conf->tls_client_cert_login && st->tls &&
	    st->cert_cn[0] != '\0' && strcmp(st->cert_cn, user) == 0;
}

/* NULL when the identity in st->id may log in, else the reason. */
static const char *
policy_refused(struct mon_state *st, const struct mon_ops *ops,
    const char *user)
{
	const char *why;

	if ((why = user_address_refused(st)) != NULL)
		return why;
	if (!st->tls && ops->tls_required(st->conf, user, st->id)) {
		ops->log(LOG_WARNING,
		    "login refused: user=%s needs TLS on the "
		    "control connection",
		    user);
		return "tls-required";
	}
	return NULL;
}

/*
 * The failed-login line (fail2ban's; docs/SECURITY.md gives its exact
 * form): the client's address comes before the user name, the only
 * client-chosen field, which is last. Then the listener is told, for
 * its cross-session ban count, and the monitor sleeps the delay, so a
 * worker can skip neither.
 */
static enum mon_verdict
login_failed(struct mon_state *st, const struct mon_ops *ops, const char *why,
    const char *user, struct mon_out *out)
{
	st->failures++;
	ops->log(LOG_WARNING,
	    "login failed: from=%-s failures=%u reason=%-s "
	    "user=%s",
	    st->peer_str, st->failures, why, user);
	ops->report_failed(ops->ctx);
	ops->sleep_ms(
	    mon_fail_delay_ms(st->conf->login_fail_delay_ms, st->failures));
	return reply_u32(out, MON_LOGIN_RESULT,
	    st->failures >= st->conf->max_login_failures ?
		MON_LOGIN_FAILED_CLOSE :
		MON_LOGIN_FAILED);
}

static enum mon_verdict
login_ok(struct mon_state *st, const struct mon_ops *ops,
    const struct conf_vhost *vh, int cert, const char *user,
    struct mon_out *out)
{
	ops->log(LOG_INFO, "login ok: user=%s host=%s root=%s %-s%-s", user,
	    vh != NULL ? vh->name : NULL, st->id->root,
	    st->id->writable ? "write" : "read-only",
	    cert ? " (client certificate)" : "");
	st->logged_in = 1;
	st->phase = MPH_EXITING; /* the pre-login worker must exit */
	if (ops->login_state != NULL)
		ops->login_state(ops->ctx, 1);
	return reply_u32(out, MON_LOGIN_RESULT, MON_LOGIN_OK);
}

/* ---- per-user limits: login_hours, max_sessions ---- */

/* The server's local weekday and minute (the zone: tzset() at start). */
static int
local_now(int *wday, int *minute)
{
	time_t t = time(NULL);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		return -1;
	*wday = tm.tm_wday;
	*minute = tm.tm_hour * 60 + tm.tm_min;
	return 0;
}

/* 1 when the identity's login_hours (if any) allow a login now. */
static int
hours_ok(const struct mon_state *st, const struct mon_ops *ops)
{
	const char *err = "";
	struct hours h;
	int wday, minute;

	if (st->id->login_hours[0] == '\0')
		return 1;
	if (hours_parse(st->id->login_hours, strlen(st->id->login_hours), &h,
		&err) < 0)
		return 0; /* checked when the file was read: cannot happen */
	if ((ops->local_time != NULL ? ops->local_time(&wday, &minute) :
				       local_now(&wday, &minute)) < 0)
		return 0;
	return hours_allowed(&h, wday, minute);
}

/*
 * After every other check: login_hours, then max_sessions (the
 * listener reserves a place, or says the cap is reached). 0 when the
 * login may go on, else the MON_LOGIN_RESULT refusal and *why.
 */
static uint32_t
limit_refused(struct mon_state *st, const struct mon_ops *ops, int *reserved,
    const char **why)
{
	int r;

	*reserved = 0;
	if (!hours_ok(st, ops)) {
		*why = "login-hours";
		return MON_LOGIN_REFUSED_HOURS;
	}
	if (st->id->max_sessions == 0 || ops->reserve == NULL)
		return 0;
	r = ops->reserve(ops->ctx, st->id->name, st->id->anonymous,
	    st->id->max_sessions);
	if (r == 1) {
		*reserved = 1;
		return 0;
	}
	*why = r == 0 ? "max-sessions" : "max-sessions-no-answer";
	return MON_LOGIN_REFUSED_SESSIONS;
}

/*
 * A login refused by a per-user limit: a good password, so no failure
 * is counted toward bans or max_login_failures; the worker answers
 * with the reason and ends the session.
 */
static enum mon_verdict
login_refused(struct mon_state *st, const struct mon_ops *ops, const char *why,
    uint32_t code, const char *user, struct mon_out *out)
{
	ops->log(LOG_WARNING, "login refused: from=%-s reason=%-s user=%s",
	    st->peer_str, why, user);
	memset(st->id, 0, sizeof(*st->id));
	st->phase = MPH_EXITING; /* the pre-login worker must exit */
	return reply_u32(out, MON_LOGIN_RESULT, code);
}

/*
 * metrics_listen: a login's result and method. A failed password names
 * no store (an unknown user and a wrong password look alike, by
 * design); an anonymous or certificate login names its own.
 */
static void
count_login(const struct mon_state *st, const struct mon_ops *ops, int good,
    int ok, int cert)
{
	unsigned method;

	if (ops->m_login == NULL)
		return;
	if (cert)
		method = MX_M_CERTIFICATE;
	else if (ok && st->id->anonymous)
		method = MX_M_ANONYMOUS;
	else if (!good)
		method = MX_M_PASSWORD;
	else
		method = st->id->pam ? MX_M_PAM : MX_M_USERS_FILE;
	ops->m_login(good ? MX_OK : MX_FAILED, method);
}

/*
 * users_backend = postgresql and the database down or too slow: 421 at
 * once. Not a failed login (no delay, no ban count): the client did
 * nothing wrong. The session ends; the client may come back.
 */
static enum mon_verdict
login_unavailable(struct mon_state *st, const struct mon_ops *ops,
    struct mon_out *out)
{
	ops->log(LOG_WARNING,
	    "login unavailable: from=%-s reason=users-database-down",
	    st->peer_str);
	if (ops->m_login != NULL)
		ops->m_login(MX_FAILED, MX_M_PASSWORD);
	memset(st->id, 0, sizeof(*st->id));
	st->phase = MPH_EXITING;
	return reply_u32(out, MON_LOGIN_RESULT, MON_LOGIN_UNAVAILABLE);
}

/*
 * MON_LOGIN. The monitor's own failure count decides: once it has
 * reached max_login_failures no request is verified, whatever the
 * worker did with the FAILED_CLOSE it was sent.
 */
enum mon_verdict
mon_h_login(struct mon_state *st, const struct mon_ops *ops,
    struct ipc_msg *msg, struct mon_out *out)
{
	const struct conf_vhost *vh = NULL;
	struct login_req rq;
	enum mon_verdict v;
	const char *why;
	uint32_t limit = 0;
	int ok, cert, reserved = 0;

	if (st->failures >= st->conf->max_login_failures)
		return fatal(out,
		    "MON_LOGIN after %u failed logins "
		    "(max_login_failures)",
		    st->failures);
	v = read_login(st, msg, &rq, out);
	if (v != MON_V_FATAL && select_vhost(st, ops, rq.host, &vh) < 0)
		v = fatal(out, "malformed MON_LOGIN host");
	if (v == MON_V_FATAL) {
		explicit_bzero(&rq, sizeof(rq));
		return v;
	}
	if ((cert = cert_login(st, rq.user)))
		ok = ops->by_cert(st->conf, st->inline_users, rq.user,
			 st->id) == 0;
	else {
		if (ops->m_verify != NULL)
			ops->m_verify(st->conf, rq.user);
		ok = ops->verify(st->conf, st->inline_users, vh, rq.user,
		    rq.pass, st->id);
		if (ok == -2) {
			explicit_bzero(&rq, sizeof(rq));
			return login_unavailable(st, ops, out);
		}
		ok = ok == 0;
	}
	explicit_bzero(rq.pass, sizeof(rq.pass));
	why = ok ? policy_refused(st, ops, rq.user) : "bad-credentials";
	if (why == NULL)
		limit = limit_refused(st, ops, &reserved, &why);
	if (why == NULL && ops->session_open != NULL &&
	    ops->session_open(st->conf, st->id) < 0)
		why = "pam-session";
	if (why != NULL && reserved && ops->release != NULL)
		ops->release(ops->ctx);
	st->tls_flags = rq.tls;
	count_login(st, ops, why == NULL, ok, cert);
	if (limit != 0)
		return login_refused(st, ops, why, limit, rq.user, out);
	if (why == NULL)
		return login_ok(st, ops, vh, cert, rq.user, out);
	memset(st->id, 0, sizeof(*st->id));
	return login_failed(st, ops, why, rq.user, out);
}

/*
 * MON_AUTH_TLS: granted once, before login, when TLS is configured and
 * not yet on; the relay starts when the worker has exited. With no
 * certificate loaded the answer is 0 and the request may come again.
 */
enum mon_verdict
mon_h_auth_tls(struct mon_state *st, const struct mon_ops *ops,
    struct ipc_msg *msg, struct mon_out *out)
{
	char host[CONF_HOST_MAX + 1];
	uint32_t done;

	if (ipc_get_u32(msg, &done) < 0 || done > 1 ||
	    ipc_get_str(msg, host, sizeof(host)) < 0)
		return fatal(out, "malformed MON_AUTH_TLS");
	if (ipc_end(msg) < 0)
		return fatal(out, "MON_AUTH_TLS with trailing bytes");
	if (host[0] != '\0' && conf_vhost_find(st->conf, host) == NULL)
		return fatal(out, "MON_AUTH_TLS: host is not a vhost");
	if (st->tls || st->ccc)
		return fatal(out, "MON_AUTH_TLS on a connection that %s",
		    st->tls ? "is TLS already" : "ended TLS (CCC)");
	if (!ops->tls_ready(ops->ctx)) {
		ops->log(LOG_ERR, "AUTH TLS: no TLS certificate is loaded");
		out->retry = 1;
		return reply_u32(out, MON_AUTH_TLS_RESULT, 0);
	}
	st->host_done = (int)done;
	memcpy(st->host, host, sizeof(st->host));
	st->auth_granted = 1;
	st->phase = MPH_EXITING; /* the worker answers 234 and exits */
	return reply_u32(out, MON_AUTH_TLS_RESULT, 1);
}

/*
 * MON_CCC: the relay ends TLS after what the worker has written (its
 * 200). 1 when the relay confirmed (ops->ccc waits KF_TLS_CCC_MS).
 */
enum mon_verdict
mon_h_ccc(struct mon_state *st, const struct mon_ops *ops, struct ipc_msg *msg,
    struct mon_out *out)
{
	enum mon_phase was = st->phase;
	int r;

	if (ipc_end(msg) < 0)
		return fatal(out, "MON_CCC with trailing bytes");
	if (!st->tls || !st->relay || !st->conf->tls_ccc_enable)
		return fatal(out, "MON_CCC refused: %s",
		    !st->tls	   ? "control connection not TLS" :
			!st->relay ? "no relay" :
				     "tls_ccc_enable is off");
	st->ccc_done = 0;
	st->phase = MPH_CCC;
	r = ops->ccc(ops->ctx) == 1 && st->ccc_done;
	st->phase = was;
	if (r) {
		/* never TLS again on this connection */
		st->tls = 0;
		st->ccc = 1;
		ops->log(LOG_INFO,
		    "CCC: the relay ended TLS on the control "
		    "connection");
	}
	return reply_u32(out, MON_CCC_RESULT, (uint32_t)r);
}

/* RELAY_CCC_DONE: only while a MON_CCC waits for it (the table). */
enum mon_verdict
mon_h_ccc_done(struct mon_state *st, const struct mon_ops *ops,
    struct ipc_msg *msg, struct mon_out *out)
{
	(void)ops;
	if (ipc_end(msg) < 0)
		return fatal(out, "RELAY_CCC_DONE with trailing bytes");
	st->ccc_done = 1;
	return MON_V_NONE;
}

/* MON_TLS_SESSION: kept opaque; the latest one wins. */
enum mon_verdict
mon_h_tls_session(struct mon_state *st, const struct mon_ops *ops,
    struct ipc_msg *msg, struct mon_out *out)
{
	(void)ops;
	if (ipc_get_blob(msg, st->tls_sess, KF_TLS_SESSION_MAX,
		st->tls_sess_len) < 0) {
		*st->tls_sess_len = 0;
		return fatal(out, "malformed MON_TLS_SESSION");
	}
	if (ipc_end(msg) < 0) {
		*st->tls_sess_len = 0;
		return fatal(out, "MON_TLS_SESSION with trailing bytes");
	}
	return MON_V_NONE;
}

/*
 * MON_TLS_PEER: a verified client certificate's common name. The table
 * takes it once, whatever it holds: a CN that is not a user name is
 * ignored (logged), and no second one is accepted after it.
 */
enum mon_verdict
mon_h_tls_peer(struct mon_state *st, const struct mon_ops *ops,
    struct ipc_msg *msg, struct mon_out *out)
{
	char cn[KF_USER_MAX + 1];

	if (ipc_get_str(msg, cn, sizeof(cn)) < 0)
		return fatal(out, "malformed MON_TLS_PEER");
	if (ipc_end(msg) < 0)
		return fatal(out, "MON_TLS_PEER with trailing bytes");
	if (!users_valid_name(cn, strlen(cn)))
		ops->log(LOG_WARNING,
		    "client certificate CN=%s is not a user "
		    "name; ignored",
		    cn);
	else
		memcpy(st->cert_cn, cn, sizeof(cn));
	return MON_V_NONE;
}

static int64_t
now_of(const struct mon_ops *ops)
{
	return ops->now_ms != NULL ? ops->now_ms() : sys_now_ms();
}

int64_t
mon_who_flush(struct mon_state *st, const struct mon_ops *ops, int64_t now_ms)
{
	struct mon_who *w = &st->who;

	if (!w->pending)
		return -1;
	/* 1000 / KF_WHO_REPORT_MS a second: a token is 1000 milli */
	if (!rate_take(&w->fwd, now_ms, 1000 / KF_WHO_REPORT_MS,
		KF_WHO_FWD_BURST))
		return now_ms +
		    (int64_t)(1000 - w->fwd.milli) * KF_WHO_REPORT_MS / 1000;
	w->pending = 0;
	if (ops->who_report != NULL)
		ops->who_report(ops->ctx, w, now_ms);
	return -1;
}

/* MON_PROXY's address: family 4 or 6, its size, not all zeros; port 1.. */
static int
proxy_addr(uint32_t family, const uint8_t *a, size_t n, uint32_t port,
    struct sockaddr_storage *ss)
{
	static const uint8_t zero[16];
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (port < 1 || port > 65535 || n == 0 || memcmp(a, zero, n) == 0)
		return -1;
	if (family == 4 && n == 4) {
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a, 4);
		s4->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (family == 6 && n == 16) {
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a, 16);
		s6->sin6_port = htons((uint16_t)port);
		return 0;
	}
	return -1;
}

/*
 * MON_STATUS: what the post-login worker is doing. Read exactly, then
 * the bucket: a report over it is dropped and counted (the session's
 * last line says how many). A kept one replaces the previous (and is
 * the session's latest activity); it reaches the listener at most once
 * per KF_WHO_REPORT_MS on average (mon_who_flush; a burst of
 * KF_WHO_FWD_BURST lets a transfer's start follow another report at
 * once).
 */
enum mon_verdict
mon_h_status(struct mon_state *st, const struct mon_ops *ops,
    struct ipc_msg *msg, struct mon_out *out)
{
	char verb[KF_WHO_VERB_MAX + 1], path[KF_WHO_PATH_MAX + 1];
	struct mon_who *w = &st->who;
	int64_t now = now_of(ops);
	uint32_t hi, lo;
	uint64_t bytes;

	if (ipc_get_str(msg, verb, sizeof(verb)) < 0 ||
	    ipc_get_str(msg, path, sizeof(path)) < 0 ||
	    ipc_get_u32(msg, &hi) < 0 || ipc_get_u32(msg, &lo) < 0)
		return fatal(out, "malformed MON_STATUS");
	if (ipc_end(msg) < 0)
		return fatal(out, "MON_STATUS with trailing bytes");
	if (!who_verb_ok(verb))
		return fatal(out, "MON_STATUS: bad verb");
	if (!rate_take(&w->bucket, now, KF_WHO_RATE, KF_WHO_BURST)) {
		w->dropped++;
		return MON_V_NONE;
	}
	bytes = (uint64_t)hi << 32 | lo;
	w->pending = 1; /* a new state, or at least new activity */
	memcpy(w->verb, verb, sizeof(w->verb));
	memcpy(w->path, path, sizeof(w->path));
	w->bytes = bytes;
	w->at_ms = now;
	(void)mon_who_flush(st, ops, now);
	return MON_V_NONE;
}

/* MON_XFER_DONE: one transfer's direction, result and bytes, counted. */
enum mon_verdict
mon_h_xfer_done(struct mon_state *st, const struct mon_ops *ops,
    struct ipc_msg *msg, struct mon_out *out)
{
	uint32_t dir, ok, hi, lo;

	(void)st;
	if (ipc_get_u32(msg, &dir) < 0 || ipc_get_u32(msg, &ok) < 0 ||
	    ipc_get_u32(msg, &hi) < 0 || ipc_get_u32(msg, &lo) < 0 || dir > 1 ||
	    ok > 1)
		return fatal(out, "malformed MON_XFER_DONE");
	if (ipc_end(msg) < 0)
		return fatal(out, "MON_XFER_DONE with trailing bytes");
	if (ops->m_xfer != NULL)
		ops->m_xfer(dir, ok, (uint64_t)hi << 32 | lo);
	return MON_V_NONE;
}

/* MON_TLS_HANDSHAKE: the relay's handshake result, the first one only. */
enum mon_verdict
mon_h_tls_handshake(struct mon_state *st, const struct mon_ops *ops,
    struct ipc_msg *msg, struct mon_out *out)
{
	uint32_t ok;

	if (ipc_get_u32(msg, &ok) < 0 || ok > 1)
		return fatal(out, "malformed MON_TLS_HANDSHAKE");
	if (ipc_end(msg) < 0)
		return fatal(out, "MON_TLS_HANDSHAKE with trailing bytes");
	if (!st->tls_counted && ops->m_tls != NULL)
		ops->m_tls(ok);
	st->tls_counted = 1;
	return MON_V_NONE;
}

/*
 * MON_UPLOAD_HOOK: the worker names the file (a clean path in its
 * root) and passes it open; the rest comes from the monitor's own
 * state, in ops->upload_hook. Check mode answers with the verdict.
 */
enum mon_verdict
mon_h_upload_hook(struct mon_state *st, const struct mon_ops *ops,
    struct ipc_msg *msg, struct mon_out *out)
{
	char path[KF_PATH_MAX + 1];
	int check, ok;

	if (ipc_get_str(msg, path, sizeof(path)) < 0)
		return fatal(out, "malformed MON_UPLOAD_HOOK");
	if (ipc_end(msg) < 0)
		return fatal(out, "MON_UPLOAD_HOOK with trailing bytes");
	if (st->conf->upload_hook[0] == '\0' || ops->upload_hook == NULL)
		return fatal(out, "MON_UPLOAD_HOOK refused: no upload_hook");
	if (!hook_path_clean(path))
		return fatal(out,
		    "MON_UPLOAD_HOOK: path is not a clean "
		    "absolute path");
	check = strcmp(st->conf->upload_hook_mode, "check") == 0;
	ok = ops->upload_hook(ops->ctx, path, st->req_fd, check);
	if (!check)
		return MON_V_NONE;
	return reply_u32(out, MON_UPLOAD_HOOK_RESULT, ok == 1);
}

/*
 * MON_PROXY: the header the pre-login worker read on a proxy listener,
 * once, before any other request. The listener admits the address (or
 * the connection's own, for LOCAL) through ops->proxy_admit.
 */
enum mon_verdict
mon_h_proxy(struct mon_state *st, const struct mon_ops *ops,
    struct ipc_msg *msg, struct mon_out *out)
{
	uint32_t local, family, port;
	struct sockaddr_storage ss;
	uint8_t a[16];
	size_t n;

	if (!st->proxy_wait)
		return fatal(out,
		    "MON_PROXY not expected (no proxy listener, or a "
		    "second one)");
	if (ipc_get_u32(msg, &local) < 0 || ipc_get_u32(msg, &family) < 0 ||
	    ipc_get_blob(msg, a, sizeof(a), &n) < 0 ||
	    ipc_get_u32(msg, &port) < 0 || ipc_end(msg) < 0 || local > 1)
		return fatal(out, "malformed MON_PROXY");
	if (local && (family != 0 || n != 0 || port != 0))
		return fatal(out, "MON_PROXY: LOCAL with an address");
	if (!local && proxy_addr(family, a, n, port, &ss) < 0)
		return fatal(out,
		    "MON_PROXY: not an IPv4 or IPv6 client address");
	if (ops->proxy_admit == NULL ||
	    ops->proxy_admit(ops->ctx, local ? NULL : &ss) < 0)
		return fatal(out, "PROXY header: client refused");
	st->proxy_wait = 0;
	return reply_u32(out, MON_PROXY_RESULT, 1);
}
