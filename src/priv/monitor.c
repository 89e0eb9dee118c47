/*
 * monitor.c - one per session. It holds the control socket without
 * ever reading it, asks the pre-login spawner for a worker, answers its
 * typed requests (the catalogue is ipc/proto.h), and after a successful
 * login asks the post-login spawner for a fresh worker with the user's
 * identity (src/priv/spawner.c: workers never start from the monitor's
 * memory). When that worker exits for REIN, it starts a new pre-login
 * worker on the same connection (at most KF_REIN_MAX times). It writes
 * the workers' log lines, escaped, to the real log. On every fatal path
 * it kills its worker and relay first; if it dies anyway, the spawners
 * see its reply sockets close and kill them.
 * FTPS: on AUTH TLS (or at connect on an implicit listener) the relay
 * spawner starts the TLS relay on the raw control socket and the
 * monitor keeps only the relay's plain text end for its workers; the
 * relay outlives the workers, so the control connection's TLS session
 * survives login and REIN.
 * Runs in: monitor (root, or the invoking user when rootless).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../auth/auth.h"
#include "../auth/users.h"
#include "../common/log.h"
#include "../common/sys.h"
#include "../fs/quota.h"
#include "../ipc/ipc.h"
#include "../ipc/proto.h"
#include "../net/addr.h"
#include "../proto/session.h"
#include "../tls/tls.h"
#include "monitor.h"
#include "spawn.h"
#include "verify.h"

#define WORKER_GRACE_MS	5000

struct mon {
	const struct monitor_args	*a;
	struct session_info		 si;
	struct auth_identity		 id;
	struct spawned			 w;	/* the current worker */
	int				 ipc;	/* monitor end */
	int				 log;	/* monitor end */
	unsigned			 failures;	/* kept across REIN */
	unsigned			 reins;
	int				 logged_in;
	char				 peer[ADDR_STR_MAX];
	int				 greeted;	/* 220 sent: no second one */
	int				 auth_granted;	/* start the relay next */
	struct spawned			 relay;		/* reply -1: none */
	int				 relay_log;	/* monitor end, or -1 */
	int				 relay_ipc;	/* MON_TLS_SESSION in, or -1 */
	size_t				 tls_sess_len;	/* 0: none */
	char				 cert_cn[KF_USER_MAX + 1];	/* verified, or "" */
	unsigned char			 tls_sess[KF_TLS_SESSION_MAX];
};

static volatile sig_atomic_t mon_term;
static struct mon *self;	/* for die() */

static void
on_term(int sig)
{
	(void)sig;
	mon_term = 1;
}

/* Fatal: the worker and the relay go first, never left unsupervised. */
static void __attribute__((noreturn))
die(const char *why)
{
	if (self != NULL) {
		spawn_kill(&self->w, SIGKILL);
		spawn_kill(&self->relay, SIGKILL);
	}
	log_err("session ended: %s", why);
	_exit(1);
}

/* The monitor's own deadline for a worker: deadline_ms, or sooner. */
static int64_t
worker_deadline(struct mon *m, int64_t deadline_ms)
{
	int64_t end = session_deadline_ms(&m->si);

	if (end < 0)
		return deadline_ms;
	end += WORKER_GRACE_MS;
	return deadline_ms < 0 || end < deadline_ms ? end : deadline_ms;
}

/*
 * A user with a quota: the usage file (quota_dir/NAME), opened here,
 * before the sandbox, because it lies outside the session's root; the
 * worker keeps the fd. The name is the monitor's own (a users-file
 * name). Without it there is no session.
 */
static int
open_quota(struct mon *m)
{
	static const char msg[] = "421 Quota state unavailable.\r\n";
	int fd;

	if (m->id.quota_bytes == 0 && m->id.quota_files == 0)
		return -1;
	if ((fd = quota_open(m->a->conf->quota_dir, m->id.name)) < 0) {
		log_err("quota of %s: %s/%s: %s", m->id.name,
		    m->a->conf->quota_dir, m->id.name, strerror(-fd));
		sys_write_all(m->si.ctrl_fd, msg, sizeof(msg) - 1);
		die("quota usage file unavailable");
	}
	return fd;
}

/*
 * The session as a spawner's child must know it (src/ipc/handoff.h):
 * the pre-login worker gets no key and no TLS session; the post-login
 * one the identity, the ticket keys and the control TLS session; the
 * relay the keys.
 */
static void
fill_handoff(struct mon *m, enum spawn_role r, struct handoff *h)
{
	memset(h, 0, sizeof(*h));
	h->flags = (m->si.tls ? HANDOFF_TLS : 0) | (m->si.ccc ? HANDOFF_CCC : 0) |
	    (m->si.host_done ? HANDOFF_HOST_DONE : 0) |
	    (m->greeted ? HANDOFF_GREETED : 0);
	h->tls_flags = m->si.tls_flags;
	h->id = m->si.id;
	h->start_ms = m->si.start_ms;
	h->local = m->si.local;
	h->peer = m->si.peer;
	memcpy(h->host, m->si.host, sizeof(h->host));
	if (r == SPAWN_ROLE_PRELOGIN)
		return;
	memcpy(h->ticket, m->si.tls_keys.ticket, sizeof(h->ticket));
	memcpy(h->sid_ctx, m->si.tls_keys.sid_ctx, sizeof(h->sid_ctx));
	if (r == SPAWN_ROLE_RELAY) {
		h->flags &= ~HANDOFF_GREETED;
		h->deadline_ms = sys_now_ms() +
		    (int64_t)m->a->conf->login_timeout * 1000;
		return;
	}
	h->user = m->id;
	h->tls_sess_len = (uint32_t)m->tls_sess_len;
	memcpy(h->tls_sess, m->tls_sess, m->tls_sess_len);
}

static const uint32_t spawn_types[SPAWN_ROLES] = {
	SPAWN_PRELOGIN, SPAWN_POSTLOGIN, SPAWN_RELAY,
};

/* Asks the role's spawner for a worker with these fds; fatal if none. */
static void
request_worker(struct mon *m, enum spawn_role r, const int *fds, size_t n,
    int quota, struct spawned *w)
{
	static struct handoff h;	/* 13 KiB: not on the stack */

	fill_handoff(m, r, &h);
	if (quota)
		h.flags |= HANDOFF_QUOTA;
	if (spawn_request(m->a->spawn_chan[r], spawn_types[r], &h, fds, n,
	    w) < 0) {
		sodium_memzero(&h, sizeof(h));
		die("no worker: the spawner did not answer");
	}
	sodium_memzero(&h, sizeof(h));
}

/*
 * A new worker of role r (pre-login or post-login) on the control
 * connection, with its own request and log channels.
 */
static void
spawn(struct mon *m, enum spawn_role r)
{
	int ipc[2], lg[2], fds[4], quota = -1;

	if (r == SPAWN_ROLE_PRELOGIN && geteuid() == 0 && !m->a->service_ok)
		die("service_user does not exist, or is root");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ipc) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, lg) < 0)
		die("socketpair failed");
	m->ipc = ipc[0];
	m->log = lg[0];
	if (r == SPAWN_ROLE_POSTLOGIN)
		quota = open_quota(m);
	fds[0] = m->si.ctrl_fd;
	fds[1] = ipc[1];
	fds[2] = lg[1];
	fds[3] = quota;
	request_worker(m, r, fds, quota >= 0 ? 4 : 3, quota >= 0, &m->w);
	close(ipc[1]);
	close(lg[1]);
	if (quota >= 0)
		close(quota);
}

/*
 * The host of a MON_LOGIN: empty, or a name as conf_host_norm() writes
 * it (anything else is fatal). It selects a vhost of the monitor's own
 * configuration; a name it does not hold means the default host.
 */
static const struct conf_vhost *
select_vhost(struct mon *m, const char *host)
{
	char norm[CONF_HOST_MAX + 1];
	const struct conf_vhost *vh;
	size_t n = strlen(host);

	if (n == 0)
		return NULL;
	if (conf_host_norm(host, n, norm) < 0 || strcmp(norm, host) != 0)
		die("malformed MON_LOGIN host");
	if ((vh = conf_vhost_find(m->a->conf, host)) == NULL) {
		log_warn("login: host=%s is not a configured vhost; default "
		    "host used", host);
		return NULL;
	}
	return vh;
}

/*
 * The failed-login line (fail2ban's; docs/SECURITY.md gives its exact
 * form): the client's address comes before the user name, the only
 * client-chosen field, which is last. Then the listener is told, for
 * its cross-session ban count.
 */
static void
login_failed(struct mon *m, const char *reason, const char *user)
{
	struct ipc_msg rep;

	log_warn("login failed: from=%s failures=%u reason=%s user=%s",
	    m->peer, m->failures, reason, user);
	ipc_init(&rep, LSN_LOGIN_FAILED);
	if (ipc_send(m->a->report_fd, &rep) < 0)
		log_warn("failed login not reported to the listener");
}

/*
 * After a good password: the user's own allow_from / deny_from (users
 * file) against the session's peer. NULL when allowed, else the reason
 * logged; the client sees an ordinary failed login.
 */
static const char *
user_address_refused(struct mon *m)
{
	if (m->id.deny_from[0] != '\0' &&
	    addr_list_match(m->id.deny_from, &m->a->peer) != 0)
		return "user-deny-from";
	if (m->id.allow_from[0] != '\0' &&
	    addr_list_match(m->id.allow_from, &m->a->peer) != 1)
		return "user-allow-from";
	return NULL;
}

/*
 * tls_client_cert_login: the control connection is still TLS and its
 * verified client certificate names exactly this user.
 */
static int
cert_login(const struct mon *m, const char *user)
{
	return m->a->conf->tls_client_cert_login && m->si.tls &&
	    m->cert_cn[0] != '\0' && strcmp(m->cert_cn, user) == 0;
}

static uint32_t
check_login(struct mon *m, struct ipc_msg *msg)
{
	char user[KF_USER_MAX + 1], pass[KF_PASS_MAX + 1];
	char host[CONF_HOST_MAX + 1];
	const struct conf_vhost *vh;
	const char *why;
	unsigned delay;
	uint32_t tls;
	int ok, cert;

	if (m->logged_in || ipc_get_str(msg, user, sizeof(user)) < 0 ||
	    ipc_get_str(msg, pass, sizeof(pass)) < 0 ||
	    ipc_get_str(msg, host, sizeof(host)) < 0 ||
	    ipc_get_u32(msg, &tls) < 0 || ipc_end(msg) < 0)
		die("malformed MON_LOGIN");
	if ((tls & ~(MON_TLS_PBSZ | MON_TLS_PROT_P)) != 0 ||
	    (tls != 0 && !m->si.tls))
		die("MON_LOGIN: bad tls flags");
	vh = select_vhost(m, host);
	if ((cert = cert_login(m, user)))
		ok = verify_cert(m->a->conf, NULL, user, &m->id) == 0;
	else
		ok = verify_login(m->a->conf, NULL, vh, user, pass, &m->id) == 0;
	sodium_memzero(pass, sizeof(pass));
	sodium_memzero(msg->data, sizeof(msg->data));
	why = "bad-credentials";
	if (ok && (why = user_address_refused(m)) != NULL) {
		memset(&m->id, 0, sizeof(m->id));
		ok = 0;
	}
	if (ok && !m->si.tls && session_tls_required(m->a->conf, user, &m->id)) {
		log_warn("login refused: user=%s needs TLS on the control "
		    "connection", user);
		memset(&m->id, 0, sizeof(m->id));
		why = "tls-required";
		ok = 0;
	}
	m->si.tls_flags = tls;
	if (ok) {
		log_info("login ok: user=%s%s%s root=%s%s%s", user,
		    vh != NULL ? " host=" : "", vh != NULL ? vh->name : "",
		    m->id.root, m->id.writable ? " write" : " read-only",
		    cert ? " (client certificate)" : "");
		m->logged_in = 1;
		return MON_LOGIN_OK;
	}
	m->failures++;
	login_failed(m, why, user);
	/* the monitor sleeps, so a worker cannot skip the delay */
	delay = (unsigned)m->a->conf->login_fail_delay_ms;
	if (m->failures > 1 && m->failures < 8)
		delay <<= (m->failures - 1);
	sys_sleep_ms(delay > 30000 ? 30000 : delay);
	return m->failures >= m->a->conf->max_login_failures ?
	    MON_LOGIN_FAILED_CLOSE : MON_LOGIN_FAILED;
}

/*
 * MON_AUTH_TLS: granted once, before login, when TLS is configured
 * and not yet on; the relay starts when the worker has exited.
 */
static void
grant_auth_tls(struct mon *m, struct ipc_msg *msg, struct ipc_msg *rep)
{
	char host[CONF_HOST_MAX + 1];
	uint32_t done;

	if (ipc_get_u32(msg, &done) < 0 || done > 1 ||
	    ipc_get_str(msg, host, sizeof(host)) < 0 || ipc_end(msg) < 0 ||
	    (host[0] != '\0' && conf_vhost_find(m->a->conf, host) == NULL) ||
	    m->logged_in || m->si.tls || m->si.ccc || m->auth_granted) {
		die("MON_AUTH_TLS refused");
	}
	ipc_init(rep, MON_AUTH_TLS_RESULT);
	/* configured, but no certificate loaded (a reload that failed) */
	if (tls_ctrl_ctx() == NULL || m->a->spawn_chan[SPAWN_ROLE_RELAY] < 0) {
		log_err("AUTH TLS: no TLS certificate is loaded");
		ipc_put_u32(rep, 0);
		return;
	}
	m->si.host_done = (int)done;
	memcpy(m->si.host, host, sizeof(m->si.host));
	m->auth_granted = 1;
	ipc_put_u32(rep, 1);
}

/*
 * MON_CCC: the relay ends TLS after what the worker has written (its
 * 200). 1 when the relay confirmed within KF_TLS_CCC_MS.
 */
static void	relay_apply(struct mon *, struct ipc_msg *);

static uint32_t
do_ccc(struct mon *m, struct ipc_msg *msg)
{
	int64_t until = sys_now_ms() + KF_TLS_CCC_MS;
	struct ipc_msg r;

	if (ipc_end(msg) < 0 || !m->logged_in || !m->si.tls ||
	    m->relay.reply < 0 || m->relay_ipc < 0 ||
	    !m->a->conf->tls_ccc_enable) {
		die("MON_CCC refused");
	}
	ipc_init(&r, RELAY_CCC);
	if (ipc_send(m->relay_ipc, &r) < 0)
		return 0;
	while (sys_now_ms() < until) {
		if (sys_poll1(m->relay_ipc, POLLIN, (int)(until - sys_now_ms())) <= 0)
			break;
		if (ipc_recv(m->relay_ipc, &r) < 0)
			return 0;
		if (r.type == RELAY_CCC_DONE && ipc_end(&r) == 0) {
			/* never TLS again on this connection */
			m->si.tls = 0;
			m->si.ccc = 1;
			log_info("CCC: the relay ended TLS on the control "
			    "connection");
			return 1;
		}
		relay_apply(m, &r);
	}
	return 0;
}

static void
handle_request(struct mon *m)
{
	struct ipc_msg msg, rep;
	int r;

	if ((r = ipc_recv(m->ipc, &msg)) < 0) {
		sys_close(&m->ipc);	/* worker gone or hostile: wait for exit */
		if (r != -EPIPE)
			spawn_kill(&m->w, SIGKILL);
		return;
	}
	if (msg.type == MON_AUTH_TLS)
		grant_auth_tls(m, &msg, &rep);
	else if (msg.type == MON_CCC) {
		ipc_init(&rep, MON_CCC_RESULT);
		ipc_put_u32(&rep, do_ccc(m, &msg));
	} else if (msg.type == MON_LOGIN) {
		ipc_init(&rep, MON_LOGIN_RESULT);
		ipc_put_u32(&rep, check_login(m, &msg));
	} else {
		die("unexpected request type");
	}
	if (ipc_send(m->ipc, &rep) < 0)
		sys_close(&m->ipc);
}

/* MON_TLS_PEER: a verified client certificate's common name, once. */
static int
take_peer(struct mon *m, struct ipc_msg *msg)
{
	char cn[KF_USER_MAX + 1];

	if (m->cert_cn[0] != '\0' || ipc_get_str(msg, cn, sizeof(cn)) < 0 ||
	    ipc_end(msg) < 0)
		return -1;
	if (!users_valid_name(cn, strlen(cn)))
		log_warn("client certificate CN=%s is not a user name; ignored",
		    cn);
	else
		memcpy(m->cert_cn, cn, sizeof(cn));
	return 0;
}

/*
 * What the relay may say outside CCC: its TLS 1.2 session (kept
 * opaque) and a verified client certificate's name. Anything else, or
 * anything malformed, ends the session.
 */
static void
relay_apply(struct mon *m, struct ipc_msg *msg)
{
	int r = -1;

	if (msg->type == MON_TLS_SESSION)
		r = ipc_get_blob(msg, m->tls_sess, sizeof(m->tls_sess),
		    &m->tls_sess_len) < 0 || ipc_end(msg) < 0 ? -1 : 0;
	else if (msg->type == MON_TLS_PEER)
		r = take_peer(m, msg);
	sodium_memzero(msg->data, sizeof(msg->data));
	if (r < 0)
		die("malformed message from the TLS relay");
}

static void
relay_message(struct mon *m)
{
	struct ipc_msg msg;

	if (ipc_recv(m->relay_ipc, &msg) < 0) {
		sys_close(&m->relay_ipc);
		return;
	}
	relay_apply(m, &msg);
}

static int64_t
earlier(int64_t a, int64_t b)
{
	return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

/*
 * Serves the current worker until it exits, sleeping until something
 * happens: a request, a log line, the worker's end, a signal or the
 * deadline (ms, < 0: none). The end is its pidfd becoming readable, or
 * with status (the post-login worker: REIN) its spawner's SPAWN_EXITED
 * on the reply socket. A SIGTERM is passed on; a worker that outlives
 * the deadline or its grace is killed. Returns the worker's exit
 * status, or -1 (killed, not asked for, or not known).
 */
static int
serve_worker(struct mon *m, int64_t deadline_ms, int status_wanted)
{
	int64_t kill_at = deadline_ms, now;
	struct pollfd p[6];
	int status = -1, term_sent = 0;

	for (;;) {
		now = sys_now_ms();
		if (mon_term && !term_sent) {
			spawn_kill(&m->w, SIGTERM);
			term_sent = 1;
			kill_at = earlier(kill_at, now + WORKER_GRACE_MS);
		}
		if (kill_at >= 0 && now >= kill_at) {
			status = spawn_end(&m->w, WORKER_GRACE_MS);
			break;
		}
		p[0] = (struct pollfd){ .fd = m->ipc, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = m->log, .events = POLLIN };
		p[2] = (struct pollfd){ .fd = m->w.reply, .events = POLLIN };
		p[3] = (struct pollfd){ .fd = m->relay_log, .events = POLLIN };
		p[4] = (struct pollfd){ .fd = m->relay_ipc, .events = POLLIN };
		/* without a status, the exit itself is enough: no spawner hop */
		p[5] = (struct pollfd){ .fd = status_wanted ? -1 : m->w.pidfd,
			.events = POLLIN };
		if (poll(p, 6, kill_at < 0 ? -1 : (int)(kill_at - now)) <= 0)
			continue;
		if (p[4].revents)
			relay_message(m);
		if (p[3].revents && log_forward(m->relay_log) < 0)
			sys_close(&m->relay_log);
		if (p[1].revents && log_forward(m->log) < 0)
			sys_close(&m->log);
		if (p[0].revents)
			handle_request(m);
		if (p[2].revents) {
			status = spawn_reap(&m->w);
			break;
		}
		if (p[5].revents) {
			sys_close(&m->w.reply);
			sys_close(&m->w.pidfd);
			break;
		}
	}
	while (m->log >= 0 && sys_poll1(m->log, POLLIN, 0) > 0 &&
	    log_forward(m->log) == 0)
		;
	sys_close(&m->ipc);
	sys_close(&m->log);
	return status;
}

/*
 * The TLS relay: started by the relay spawner on the raw control
 * socket, which the monitor then closes; the workers get the relay's
 * plain text end. It runs as the service user in the empty root with
 * its own seccomp filter, and is the only process below the spawners
 * with the real private key.
 */
static int
relay_start(struct mon *m)
{
	int sp[2], lg[2], ipc[2], fds[4];

	if (m->si.ctrl_fd != m->a->ctrl_fd)
		die("relay started twice");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, lg) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ipc) < 0)
		die("socketpair failed");
	fds[0] = m->a->ctrl_fd;
	fds[1] = sp[1];
	fds[2] = lg[1];
	fds[3] = ipc[1];
	request_worker(m, SPAWN_ROLE_RELAY, fds, 4, 0, &m->relay);
	close(sp[1]);
	close(lg[1]);
	close(ipc[1]);
	m->relay_ipc = ipc[0];
	/* from here the monitor never touches the raw socket again */
	close(m->si.ctrl_fd);
	m->si.ctrl_fd = sp[0];
	m->relay_log = lg[0];
	m->si.tls = 1;
	return 0;
}

/*
 * At the end: closing the plain end tells the relay to send
 * close_notify; it gets KF_TLS_CLOSE_MS to do so and exit.
 */
static void
relay_stop(struct mon *m)
{
	int64_t until = sys_now_ms() + KF_TLS_CLOSE_MS, now;
	struct pollfd p[2];

	if (m->relay.reply < 0)
		return;
	sys_close(&m->si.ctrl_fd);
	while ((now = sys_now_ms()) < until) {
		p[0] = (struct pollfd){ .fd = m->relay.reply, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = m->relay_log, .events = POLLIN };
		if (poll(p, 2, (int)(until - now)) < 0 && errno != EINTR)
			break;
		if (p[1].revents && log_forward(m->relay_log) < 0)
			sys_close(&m->relay_log);
		if (p[0].revents)
			break;
	}
	spawn_end(&m->relay, WORKER_GRACE_MS);
	while (m->relay_log >= 0 && sys_poll1(m->relay_log, POLLIN, 0) > 0 &&
	    log_forward(m->relay_log) == 0)
		;
	sys_close(&m->relay_log);
	sys_close(&m->relay_ipc);
}

/*
 * Pre-login workers until one exits without AUTH TLS; 1 when a login
 * succeeded. After AUTH TLS the relay starts and a new worker (no
 * second 220) serves the now encrypted connection.
 */
static int
login_phase(struct mon *m, int64_t start_ms)
{
	for (;;) {
		spawn(m, SPAWN_ROLE_PRELOGIN);
		m->greeted = 1;
		serve_worker(m, worker_deadline(m, start_ms +
		    (int64_t)m->a->conf->login_timeout * 1000 + WORKER_GRACE_MS),
		    0);
		if (!m->auth_granted || mon_term || m->logged_in)
			break;
		m->auth_granted = 0;
		relay_start(m);
	}
	return m->logged_in && !mon_term;
}

/*
 * A fresh post-login worker until it exits; 1 when it asked for REIN
 * (it has answered 220) and the session may go back to login: the
 * failure count stays, so REIN does not reset max_login_failures.
 */
static int
session_phase(struct mon *m)
{
	static const char too_many[] = "421 Too many REIN; closing.\r\n";
	int status;

	spawn(m, SPAWN_ROLE_POSTLOGIN);
	sys_shed_memory();	/* the login's stack and heap: idle from here */
	status = serve_worker(m, worker_deadline(m, -1), 1);
	if (status != SESSION_EXIT_REIN || mon_term)
		return 0;
	if (m->reins >= KF_REIN_MAX) {
		log_warn("rein: user=%s; more than %d REIN, session ended",
		    m->id.name, KF_REIN_MAX);
		sys_write_all(m->si.ctrl_fd, too_many, sizeof(too_many) - 1);
		return 0;
	}
	m->reins++;
	log_info("rein: user=%s logged out; back to login (rein %u, "
	    "failures %u)", m->id.name, m->reins, m->failures);
	m->logged_in = 0;
	memset(&m->id, 0, sizeof(m->id));
	m->si.host_done = 0;	/* REIN: HOST may be given again */
	memset(m->si.host, 0, sizeof(m->si.host));
	return 1;
}

void
monitor_run(const struct monitor_args *a)
{
	struct sigaction sa;
	struct mon m;
	int64_t t0 = sys_now_ms();

	memset(&m, 0, sizeof(m));
	m.relay_log = -1;
	m.relay_ipc = -1;
	m.w.pidfd = m.w.reply = -1;
	m.relay.pidfd = m.relay.reply = -1;
	self = &m;
	verify_init(a->inline_fd);
	m.a = a;
	m.si.conf = a->conf;
	m.si.ctrl_fd = a->ctrl_fd;
	m.si.local = a->local;
	m.si.peer = a->peer;
	m.si.id = a->id;
	m.si.start_ms = t0;
	prctl(PR_SET_NAME, "kf-monitor");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	addr_to_str(&a->peer, m.peer, sizeof(m.peer));
	log_set_prefix("[s%lu %s]", a->id, m.peer);
	log_info("connect%s", a->implicit ? " (implicit TLS)" : "");
	if (tls_ctrl_ctx() != NULL)
		tls_session_keys_new(&m.si.tls_keys);
	if (a->implicit)
		relay_start(&m);

	/* the monitor keeps ctrl_fd for a pre-login worker after REIN */
	if (login_phase(&m, t0))
		while (session_phase(&m) && login_phase(&m, sys_now_ms()))
			;
	relay_stop(&m);
	log_info("disconnect: user=%s seconds=%lld", m.logged_in ? m.id.name : "-",
	    (long long)((sys_now_ms() - t0) / 1000));
	_exit(0);
}
