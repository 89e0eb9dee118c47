/*
 * monitor.c - one per session. It holds the control socket without
 * ever reading it, forks the pre-login worker, answers its typed
 * requests through one table (mon_dispatch.c, mon_handlers.c; the
 * catalogue is ipc/proto.h), and after a successful login
 * forks a fresh post-login worker with the user's identity. When that
 * worker exits for REIN, it starts a new pre-login worker on the same
 * connection (at most KF_REIN_MAX times). It writes the workers' log
 * lines to the real log, escaped, marked with their origin and
 * rate-limited (log_forward).
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
#include "mon_state.h"
#include "monitor.h"

#define WORKER_GRACE_MS	5000

struct mon {
	const struct monitor_args	*a;
	struct session_info		 si;
	struct auth_identity		 id;
	pid_t				 worker;
	int				 ipc;	/* monitor end */
	int				 log;	/* monitor end */
	struct mon_state		 st;	/* counts, phase, verdicts */
	char				 peer[ADDR_STR_MAX];
	int				 greeted;	/* 220 sent: no second one */
	pid_t				 relay;		/* 0: none */
	int				 relay_log;	/* monitor end, or -1 */
	int				 relay_ipc;	/* MON_TLS_SESSION in, or -1 */
	size_t				 tls_sess_len;	/* 0: none */
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
	log_err("session ended: %-s", why);
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
		log_err("quota file of user=%s in quota_dir=%s unusable: %-s",
		    m->id.name, m->a->conf->quota_dir, strerror(-fd));
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
 * Every fatal verdict: the session's processes go first, then the
 * monitor, with one line saying why.
 */
static void __attribute__((noreturn))
fatal(struct mon *m, const char *why)
{
	if (m->worker > 0)
		kill(m->worker, SIGKILL);
	if (m->relay > 0)
		kill(m->relay, SIGKILL);
	die(why);
}

/* LSN_LOGIN_FAILED: the listener counts it for its bans. */
static void
op_report_failed(void *ctx)
{
	struct mon *m = ctx;
	struct ipc_msg rep;

	ipc_init(&rep, LSN_LOGIN_FAILED);
	if (ipc_send(m->a->report_fd, &rep) < 0)
		log_warn("failed login not reported to the listener");
}

/* LSN_LOGIN_STATE: the listener counts sessions not logged in. */
static void
op_login_state(void *ctx, int logged_in)
{
	struct mon *m = ctx;
	struct ipc_msg rep;

	ipc_init(&rep, LSN_LOGIN_STATE);
	if (ipc_put_u32(&rep, logged_in ? 1 : 0) < 0 ||
	    ipc_send(m->a->report_fd, &rep) < 0)
		log_warn("login state not reported to the listener");
}

static int
op_tls_ready(void *ctx)
{
	(void)ctx;
	return tls_ctrl_ctx() != NULL;
}

static int	op_ccc(void *);

static struct mon_ops mon_ops = {
	.verify = auth_check_vhost,
	.by_cert = auth_identity_by_cert,
	.tls_required = session_tls_required,
	.sleep_ms = sys_sleep_ms,
	.log = log_msg,
	.report_failed = op_report_failed,
	.tls_ready = op_tls_ready,
	.ccc = op_ccc,
	.session_open = auth_session_open,
	.login_state = op_login_state,
};

/* What the state reads from the processes, and what it decided. */
static void
sync_in(struct mon *m)
{
	m->st.tls = m->si.tls;
	m->st.ccc = m->si.ccc;
	m->st.relay = m->relay > 0 && m->relay_ipc >= 0;
	m->st.host_done = m->si.host_done;
	memcpy(m->st.host, m->si.host, sizeof(m->st.host));
}

static void
sync_out(struct mon *m)
{
	m->si.tls = m->st.tls;
	m->si.ccc = m->st.ccc;
	m->si.tls_flags = m->st.tls_flags;
	m->si.host_done = m->st.host_done;
	memcpy(m->si.host, m->st.host, sizeof(m->si.host));
}

/*
 * One frame from the worker or the relay through the dispatch table
 * (mon_dispatch.c). A sender that has gone has its socket closed (the
 * monitor then waits for its exit); a refused frame ends the session.
 */
static void
serve_frame(struct mon *m, enum mon_src src, int *fd)
{
	struct mon_out out;
	enum mon_verdict v;
	int gone;

	sync_in(m);
	v = mon_serve_one(&m->st, &mon_ops, src, *fd, &out, &gone);
	sync_out(m);
	if (v == MON_V_FATAL)
		fatal(m, out.why);
	if (gone)
		sys_close(fd);
}

/*
 * MON_CCC's side effect: RELAY_CCC to the relay, then its frames
 * through the table (MON_TLS_SESSION may come first) until
 * RELAY_CCC_DONE, for at most KF_TLS_CCC_MS. 1 when it confirmed.
 */
static int
op_ccc(void *ctx)
{
	struct mon *m = ctx;
	int64_t until = sys_now_ms() + KF_TLS_CCC_MS;
	struct mon_out out;
	struct ipc_msg r;
	int gone;

	ipc_init(&r, RELAY_CCC);
	if (ipc_send(m->relay_ipc, &r) < 0)
		return 0;
	while (!m->st.ccc_done && sys_now_ms() < until) {
		if (sys_poll1(m->relay_ipc, POLLIN, (int)(until - sys_now_ms())) <= 0)
			break;
		if (mon_serve_one(&m->st, &mon_ops, MON_SRC_RELAY, m->relay_ipc,
		    &out, &gone) == MON_V_FATAL)
			fatal(m, out.why);
		if (gone)
			return 0;
	}
	return m->st.ccc_done;
}

static void
handle_request(struct mon *m)
{
	serve_frame(m, MON_SRC_WORKER, &m->ipc);
}

static void
relay_message(struct mon *m)
{
	serve_frame(m, MON_SRC_RELAY, &m->relay_ipc);
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
		m->st.phase = MPH_PRELOGIN;
		m->worker = spawn(m, "kf-prelogin", prelogin_body);
		log_forward_open(m->log, "worker kf-prelogin");
		m->greeted = 1;
		serve_worker(m, worker_deadline(m, start_ms +
		    (int64_t)m->a->conf->login_timeout * 1000 + WORKER_GRACE_MS));
		if (!m->st.auth_granted || mon_term || m->st.logged_in)
			break;
		m->st.auth_granted = 0;
		relay_start(m);
		log_forward_open(m->relay_log, "relay");
	}
	return m->st.logged_in && !mon_term;
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
	char name[KF_USER_MAX + 1] = "";
	int status;

	m->st.phase = MPH_SESSION;
	sandbox_monitor_shrink(m->a->conf);	/* docs/SECURITY.md */
	m->worker = spawn(m, "kf-session", postlogin_body);
	log_forward_open(m->log, "worker kf-session");
	sys_shed_memory();	/* the login's stack and heap: idle from here */
	status = serve_worker(m, worker_deadline(m, -1));
	auth_session_close();	/* logout (REIN) or the end: PAM session */
	if (status != SESSION_EXIT_REIN || mon_term)
		return 0;
	/* the monitor's own REIN count; mon_rein clears id, host, phase */
	memcpy(name, m->id.name, sizeof(name));
	if (mon_rein(&m->st) < 0) {
		log_warn("rein: user=%s sent more than %d REIN, session ended",
		    name, KF_REIN_MAX);
		sys_write_all(m->si.ctrl_fd, too_many, sizeof(too_many) - 1);
		return 0;
	}
	sync_out(m);
	op_login_state(m, 0);
	log_info("rein: user=%s logged out, back to login (rein %u, "
	    "failures %u)", name, m->st.reins, m->st.failures);
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
	mon_ops.ctx = &m;
	prctl(PR_SET_NAME, "kf-monitor");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	addr_to_str(&a->peer, m.peer, sizeof(m.peer));
	mon_state_init(&m.st, a->conf, a->inline_users, &a->peer, m.peer,
	    &m.id, m.tls_sess, &m.tls_sess_len);
	log_set_prefix("[s%lu %s]", a->id, m.peer);
	log_info("connect%-s", a->implicit ? " (implicit TLS)" : "");
	if (tls_ctrl_ctx() != NULL)
		tls_session_keys_new(&m.si.tls_keys);
	if (a->implicit) {
		relay_start(&m);
		log_forward_open(m.relay_log, "relay");
	}

	/* the monitor keeps ctrl_fd for a pre-login worker after REIN */
	if (login_phase(&m, t0))
		while (session_phase(&m) && login_phase(&m, sys_now_ms()))
			;
	relay_stop(&m);
	log_info("disconnect: user=%s seconds=%lld", m.st.logged_in ? m.id.name : NULL,
	    (long long)((sys_now_ms() - t0) / 1000));
	_exit(0);
}
