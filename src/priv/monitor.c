/*
 * monitor.c - one per session. It holds the control socket without
 * ever reading it, forks the pre-login worker, answers its typed
 * requests (the catalogue is ipc/proto.h), and after a successful login
 * forks a fresh post-login worker with the user's identity. When that
 * worker exits for REIN, it starts a new pre-login worker on the same
 * connection (at most KF_REIN_MAX times). It writes the workers' log
 * lines, escaped, to the real log.
 * FTPS: on AUTH TLS (or at connect on an implicit listener) it forks
 * the TLS relay on the raw control socket and keeps only the relay's
 * plain text end for its workers; the relay outlives the workers, so
 * the control connection's TLS session survives login and REIN.
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
#include "../sandbox/sandbox.h"
#include "../tls/relay.h"
#include "../tls/tls.h"
#include "monitor.h"

#define WORKER_GRACE_MS	5000

struct mon {
	const struct monitor_args	*a;
	struct session_info		 si;
	struct auth_identity		 id;
	pid_t				 worker;
	int				 ipc;	/* monitor end */
	int				 log;	/* monitor end */
	unsigned			 failures;	/* kept across REIN */
	unsigned			 reins;
	int				 logged_in;
	char				 peer[ADDR_STR_MAX];
	int				 greeted;	/* 220 sent: no second one */
	int				 auth_granted;	/* start the relay next */
	pid_t				 relay;		/* 0: none */
	int				 relay_log;	/* monitor end, or -1 */
	int				 relay_ipc;	/* MON_TLS_SESSION in, or -1 */
	size_t				 tls_sess_len;	/* 0: none */
	char				 cert_cn[KF_USER_MAX + 1];	/* verified, or "" */
	unsigned char			 tls_sess[KF_TLS_SESSION_MAX];
};

static volatile sig_atomic_t mon_term;

static void
on_term(int sig)
{
	(void)sig;
	mon_term = 1;
}

static void __attribute__((noreturn))
die(const char *why)
{
	log_err("session ended: %s", why);
	_exit(1);
}

/*
 * In a new worker: SIGALRM at session_max_seconds asks it to end
 * cleanly (session_stop); the monitor kills it WORKER_GRACE_MS later.
 */
static void
arm_session_limit(struct mon *m)
{
	int64_t end = session_deadline_ms(&m->si), left;

	if (end < 0)
		return;
	left = end - sys_now_ms();
	alarm(left <= 0 ? 1 : (unsigned)((left + 999) / 1000));
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

/* Child side of a fork: a worker that dies with its monitor. */
static void
worker_setup(struct mon *m, int ipc, int log, const char *name)
{
	prctl(PR_SET_NAME, name);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(1);
	int null;

	close(m->ipc);
	close(m->log);
	/* a worker must not reach the listener's report channel */
	close(m->a->report_fd);
	sys_close(&m->relay_log);
	sys_close(&m->relay_ipc);
	auth_slots_close();
	log_open(LOG_SINK_FD, NULL, log);
#ifndef KF_SANITIZE
	/* the only way out for a worker's words is the log socket */
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		close(null);
	}
#else
	(void)null;
#endif
	session_install_signals();
	m->si.mon_fd = ipc;
	arm_session_limit(m);
}

static pid_t
spawn(struct mon *m, const char *name, void (*body)(struct mon *))
{
	int ipc[2], lg[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ipc) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, lg) < 0)
		die("socketpair failed");
	m->ipc = ipc[0];
	m->log = lg[0];
	if ((pid = fork()) < 0)
		die("fork failed");
	if (pid == 0) {
		worker_setup(m, ipc[1], lg[1], name);
		body(m);
		_exit(1);
	}
	close(ipc[1]);
	close(lg[1]);
	return pid;
}

/*
 * The pre-login worker and the TLS relay: as root, the service user in
 * the empty root; rootless, as the running user with Landlock
 * read-only on /.
 */
static void
enter_as_service(struct mon *m, enum sandbox_phase phase)
{
	struct sandbox_spec sp = { .phase = phase, .root = "/" };

	if (geteuid() == 0) {
		if (!m->a->service_ok)
			die("service_user does not exist, or is root");
		sp.root = m->a->conf->empty_dir;
		sp.uid = m->a->service_uid;
		sp.gid = m->a->service_gid;
	}
	sandbox_enter(&sp);
}

static void
prelogin_body(struct mon *m)
{
	/* no key, no ticket key, no TLS session before login */
	tls_forget(0, 0);
	sodium_memzero(&m->si.tls_keys, sizeof(m->si.tls_keys));
	sodium_memzero(m->tls_sess, sizeof(m->tls_sess));
	enter_as_service(m, SANDBOX_PRELOGIN);
	if (m->greeted)
		prelogin_run_after_rein(&m->si);
	prelogin_run(&m->si);
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

static void
postlogin_body(struct mon *m)
{
	struct sandbox_spec sp = {
		.phase = SANDBOX_POSTLOGIN, .root = m->id.root,
		.uid = m->id.uid, .gid = m->id.gid, .writable = m->id.writable,
	};
	const struct conf *c = m->a->conf;
	int rootfd;

	/* the decoy key for data, the real one only without the reuse check */
	tls_forget(!c->tls_data_reuse_required && m->si.tls, m->si.tls);
	if (m->si.tls && tls_data_ctx(c) != NULL &&
	    (tls_bind_session(tls_data_ctx(c), &m->si.tls_keys) < 0 ||
	    tls_set_resume(tls_data_ctx(c), m->tls_sess, m->tls_sess_len) < 0))
		die("cannot bind the data TLS context");
	sodium_memzero(m->tls_sess, sizeof(m->tls_sess));
	if (access(m->id.root, F_OK) < 0) {
		/* nothing to confine into: say so rather than vanish */
		sys_write_all(m->si.ctrl_fd, "421 Home directory unavailable.\r\n", 33);
		die("root directory unavailable");
	}
	m->si.quota_fd = open_quota(m);
	rootfd = sandbox_enter(&sp);
	session_run(&m->si, &m->id, rootfd);
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
		ok = auth_identity_by_cert(m->a->conf, m->a->inline_users, user,
		    &m->id) == 0;
	else
		ok = auth_check_vhost(m->a->conf, m->a->inline_users, vh, user,
		    pass, &m->id) == 0;
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
		kill(m->worker, SIGKILL);
		die("MON_AUTH_TLS refused");
	}
	ipc_init(rep, MON_AUTH_TLS_RESULT);
	/* configured, but no certificate loaded (a reload that failed) */
	if (tls_ctrl_ctx() == NULL) {
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

	if (ipc_end(msg) < 0 || !m->logged_in || !m->si.tls || m->relay <= 0 ||
	    m->relay_ipc < 0 || !m->a->conf->tls_ccc_enable) {
		kill(m->worker, SIGKILL);
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
			kill(m->worker, SIGKILL);
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
		kill(m->worker, SIGKILL);
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
	if (r < 0) {
		kill(m->relay, SIGKILL);
		die("malformed message from the TLS relay");
	}
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

/* A descriptor that becomes readable when pid exits, or -1. */
static int
watch_pid(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/*
 * Serves the current worker until it exits, sleeping until something
 * happens: a request, a log line, the worker's exit (its pidfd becomes
 * readable), a signal or the deadline (ms, < 0: none). A SIGTERM is
 * passed on; a worker that outlives the deadline or its grace is killed.
 * Returns the worker's exit status, or -1 (killed, or not known).
 */
static int
serve_worker(struct mon *m, int64_t deadline_ms)
{
	int64_t kill_at = deadline_ms, now;
	struct pollfd p[5];
	int status = -1, term_sent = 0, pidfd = watch_pid(m->worker), timeout;
	pid_t r;

	for (;;) {
		r = waitpid(m->worker, &status, WNOHANG);
		if (r == m->worker)
			break;
		if (r < 0 && errno == ECHILD) {
			status = -1;
			break;
		}
		now = sys_now_ms();
		if (mon_term && !term_sent) {
			kill(m->worker, SIGTERM);
			term_sent = 1;
			kill_at = earlier(kill_at, now + WORKER_GRACE_MS);
		}
		if (kill_at >= 0 && now >= kill_at) {
			kill(m->worker, SIGKILL);
			waitpid(m->worker, &status, 0);
			break;
		}
		p[0] = (struct pollfd){ .fd = m->ipc, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = m->log, .events = POLLIN };
		p[2] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
		p[3] = (struct pollfd){ .fd = m->relay_log, .events = POLLIN };
		p[4] = (struct pollfd){ .fd = m->relay_ipc, .events = POLLIN };
		timeout = kill_at < 0 ? -1 : (int)(kill_at - now);
		if (pidfd < 0 && m->ipc < 0 && m->log < 0) {
			/* no pidfd (old kernel): nothing tells us of the exit */
			timeout = timeout < 0 || timeout > 100 ? 100 : timeout;
		}
		if (poll(p, 5, timeout) <= 0)
			continue;
		if (p[4].revents)
			relay_message(m);
		if (p[3].revents && log_forward(m->relay_log) < 0)
			sys_close(&m->relay_log);
		if (p[1].revents && log_forward(m->log) < 0)
			sys_close(&m->log);
		if (p[0].revents)
			handle_request(m);
	}
	while (m->log >= 0 && sys_poll1(m->log, POLLIN, 0) > 0 &&
	    log_forward(m->log) == 0)
		;
	sys_close(&pidfd);
	sys_close(&m->ipc);
	sys_close(&m->log);
	return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * The TLS relay: forked on the raw control socket, which the monitor
 * then closes; the workers get the relay's plain text end. It runs as
 * the service user in the empty root with its own seccomp filter, and
 * is the only process below the monitor with the real private key.
 */
static void
relay_body(struct mon *m, int plain, int log, int ipc)
{
	struct relay_args ra = { .ctx = tls_ctrl_ctx(), .raw_fd = m->a->ctrl_fd,
		.plain_fd = plain, .mon_fd = ipc };

	prctl(PR_SET_NAME, "kf-tls-relay");
	auth_slots_close();
	log_open(LOG_SINK_FD, NULL, log);
	tls_forget(1, 0);
	if (tls_bind_session(ra.ctx, &m->si.tls_keys) < 0)
		die("cannot bind the control TLS context");
	enter_as_service(m, SANDBOX_RELAY);
	ra.handshake_deadline_ms = sys_now_ms() +
	    (int64_t)m->a->conf->login_timeout * 1000;
	relay_run(&ra);
}

static int
relay_start(struct mon *m)
{
	int sp[2], lg[2], ipc[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, lg) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ipc) < 0)
		die("socketpair failed");
	if ((pid = fork()) < 0)
		die("fork failed");
	if (pid == 0) {
		close(sp[0]);
		close(lg[0]);
		close(ipc[0]);
		relay_body(m, sp[1], lg[1], ipc[1]);
		_exit(1);
	}
	close(sp[1]);
	close(lg[1]);
	close(ipc[1]);
	m->relay_ipc = ipc[0];
	/* from here the monitor never touches the raw socket again */
	if (m->si.ctrl_fd != m->a->ctrl_fd)
		die("relay started twice");
	close(m->si.ctrl_fd);
	m->si.ctrl_fd = sp[0];
	m->relay_log = lg[0];
	m->relay = pid;
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
	int64_t until = sys_now_ms() + KF_TLS_CLOSE_MS;
	int pidfd;

	if (m->relay <= 0)
		return;
	sys_close(&m->si.ctrl_fd);
	pidfd = watch_pid(m->relay);
	while (waitpid(m->relay, NULL, WNOHANG) == 0) {
		if (sys_now_ms() >= until) {
			kill(m->relay, SIGKILL);
			waitpid(m->relay, NULL, 0);
			break;
		}
		if (m->relay_log >= 0 && sys_poll1(m->relay_log, POLLIN, 0) > 0 &&
		    log_forward(m->relay_log) < 0)
			sys_close(&m->relay_log);
		if (pidfd < 0 || sys_poll1(pidfd, POLLIN, 50) < 0)
			sys_sleep_ms(20);
	}
	while (m->relay_log >= 0 && sys_poll1(m->relay_log, POLLIN, 0) > 0 &&
	    log_forward(m->relay_log) == 0)
		;
	sys_close(&pidfd);
	sys_close(&m->relay_log);
	sys_close(&m->relay_ipc);
	m->relay = 0;
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
		m->worker = spawn(m, "kf-prelogin", prelogin_body);
		m->greeted = 1;
		serve_worker(m, worker_deadline(m, start_ms +
		    (int64_t)m->a->conf->login_timeout * 1000 + WORKER_GRACE_MS));
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

	sandbox_monitor_shrink(m->a->conf);	/* docs/SECURITY.md */
	m->worker = spawn(m, "kf-session", postlogin_body);
	sys_shed_memory();	/* the login's stack and heap: idle from here */
	status = serve_worker(m, worker_deadline(m, -1));
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
