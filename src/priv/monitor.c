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
 * Requests go through one table (mon_dispatch.c, mon_handlers.c);
 * forwarded log lines are marked with their origin and rate-limited
 * (log_forward).
 * Runs in: monitor (root, or the invoking user when rootless).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
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
#include "../auth/policy.h"
#include "../proto/session.h"
#include "../sandbox/sandbox.h"
#include "../tls/tls_keys.h"
#include "mon_metrics.h"
#include "hook.h"
#include "mon_state.h"
#include "monitor.h"
#include "spawn.h"
#include "verify.h"

#define WORKER_GRACE_MS 5000

struct mon {
	const struct monitor_args *a;
	struct session_info si;
	struct auth_identity id;
	struct spawned w; /* the current worker */
	int ipc; /* monitor end */
	int log; /* monitor end */
	struct mon_state st; /* counts, phase, verdicts */
	char peer[ADDR_STR_MAX];
	char proxy_via[ADDR_STR_MAX]; /* the balancer, on a proxy listener */
	int proxied; /* peer is the client a PROXY header named */
	int greeted; /* 220 sent: no second one */
	struct spawned relay; /* reply -1: none */
	int relay_log; /* monitor end, or -1 */
	int relay_ipc; /* MON_TLS_SESSION in, or -1 */
	int shed_pending; /* logged in: shed once idle (KF_SHED_IDLE_MS) */
	size_t tls_sess_len; /* 0: none */
	/* last: with no TLS session its page is never written */
	unsigned char tls_sess[KF_TLS_SESSION_MAX];
};

/*
 * The stop (docs/OPERATIONS.md): 1 after the first SIGTERM (drain: the
 * worker ends when idle, a running transfer finishes), 2 after a
 * second one or SESSION_SIG_CUT from the listener (cut: the transfer
 * ends now). SIGUSR1 (log rotation, sent to a whole unit) is ignored.
 */
static volatile sig_atomic_t mon_term;
/* SIGUSR2 from the listener: `keepftpd kick` (the worker answers 421) */
static volatile sig_atomic_t mon_kick;
static struct mon *self SYS_HOT; /* for die() */
static int mon_exit; /* SESSION_EXIT_DRAINED/CUT for the listener */

static void
on_term(int sig)
{
	if (sig == SIGUSR2)
		mon_kick = 1;
	else
		mon_term = sig == SIGTERM && mon_term == 0 ? 1 : 2;
}

/* Fatal: the worker and the relay go first, never left unsupervised. */
static void __attribute__((noreturn)) die(const char *why)
{
	if (self != NULL) {
		spawn_kill(&self->w, SIGKILL);
		spawn_kill(&self->relay, SIGKILL);
	}
	log_err("session ended: %-s", why);
	_exit(1);
}

/* The monitor's own deadline for a worker: deadline_ms, or sooner. */
static int64_t
worker_deadline(struct mon *m, int64_t deadline_ms)
{
	int64_t end = policy_deadline_ms(m->si.conf, m->si.start_ms);

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
		log_err("quota file of user=%s in quota_dir=%s unusable: %-s",
		    m->id.name, m->a->conf->quota_dir, strerror(-fd));
		sys_write_all(m->si.ctrl_fd, msg, sizeof(msg) - 1);
		die("quota usage file unavailable");
	}
	return fd;
}

/*
 * The session as a spawner's child must know it (src/ipc/handoff.h):
 * the pre-login worker gets no key and no TLS session; the post-login
 * one the identity, the ticket keys and the control TLS session; the
 * relay the keys. h comes zeroed (sys_scratch): what a role does not
 * get stays zero, and its pages are never written.
 */
static void
fill_handoff(struct mon *m, enum spawn_role r, struct handoff *h)
{
	h->flags = (m->si.tls ? HANDOFF_TLS : 0) |
	    (m->si.ccc ? HANDOFF_CCC : 0) |
	    (m->si.host_done ? HANDOFF_HOST_DONE : 0) |
	    (m->greeted ? HANDOFF_GREETED : 0) |
	    (r == SPAWN_ROLE_PRELOGIN && m->st.proxy_wait ? HANDOFF_PROXY : 0) |
	    (m->proxied ? HANDOFF_PROXIED : 0);
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
	SPAWN_PRELOGIN,
	SPAWN_POSTLOGIN,
	SPAWN_RELAY,
};

/* Asks the role's spawner for a worker with these fds; fatal if none. */
static void
request_worker(struct mon *m, enum spawn_role r, const int *fds, size_t n,
    int quota, struct spawned *w)
{
	/* 14 KiB, in pages of its own that go back once sent */
	struct handoff *h = sys_scratch(sizeof(*h));
	int sent;

	if (h == NULL)
		die("no memory for a worker request");
	fill_handoff(m, r, h);
	if (quota)
		h->flags |= HANDOFF_QUOTA;
	sent = spawn_request(m->a->spawn_chan[r], spawn_types[r], h, fds, n, w);
	sys_scratch_free(h, sizeof(*h));
	if (sent < 0)
		die("no worker: the spawner did not answer");
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
 * Every fatal verdict: the session's processes go first, then the
 * monitor, with one line saying why.
 */
static void __attribute__((noreturn)) fatal(struct mon *m, const char *why)
{
	spawn_kill(&m->w, SIGKILL);
	spawn_kill(&m->relay, SIGKILL);
	die(why);
}

/* LSN_LOGIN_FAILED: the listener counts it for its bans. */
static void
op_report_failed(void *ctx)
{
	struct mon *m = ctx;
	struct ipc_msg rep SYS_UNINIT;

	ipc_init(&rep, LSN_LOGIN_FAILED);
	if (ipc_send(m->a->report_fd, &rep) < 0)
		log_warn("failed login not reported to the listener");
}

/*
 * LSN_STATUS: the session's row in `keepftpd who`: the monitor's own
 * user name, and the worker's latest MON_STATUS (checked already).
 */
static void
op_who_report(void *ctx, const struct mon_who *w, int64_t now_ms)
{
	struct mon *m = ctx;
	const char *user = m->st.logged_in ? m->id.name : "";
	struct ipc_msg rep SYS_UNINIT;
	int64_t age = now_ms - w->at_ms;

	if (w->at_ms == 0 || age < 0)
		age = 0;
	if (age > KF_WHO_AGE_MAX_MS)
		age = KF_WHO_AGE_MAX_MS;
	ipc_init(&rep, LSN_STATUS);
	if (ipc_put_str(&rep, user, KF_USER_MAX) < 0 ||
	    ipc_put_str(&rep, w->verb, KF_WHO_VERB_MAX) < 0 ||
	    ipc_put_str(&rep, w->path, KF_WHO_PATH_MAX) < 0 ||
	    ipc_put_u32(&rep, (uint32_t)(w->bytes >> 32)) < 0 ||
	    ipc_put_u32(&rep, (uint32_t)w->bytes) < 0 ||
	    ipc_put_u32(&rep, (uint32_t)age) < 0 ||
	    ipc_send(m->a->report_fd, &rep) < 0)
		log_debug("status not reported to the listener");
}

/* LSN_LOGIN_STATE: the listener counts sessions not logged in. */
static void
op_login_state(void *ctx, int logged_in)
{
	struct mon *m = ctx;
	struct ipc_msg rep SYS_UNINIT;

	/* the user stamped on this session's log records from here on */
	log_set_user(logged_in ? m->id.name : NULL, m->id.anonymous);
	/* with it, who's row: the user (or none after REIN), idle */
	ipc_init(&rep, LSN_LOGIN_STATE);
	if (ipc_put_u32(&rep, logged_in ? 1 : 0) < 0 ||
	    ipc_put_str(&rep, logged_in ? m->id.name : "", KF_USER_MAX) < 0 ||
	    ipc_send(m->a->report_fd, &rep) < 0)
		log_warn("login state not reported to the listener");
	m->st.who.at_ms = sys_now_ms();
}

static int
op_tls_ready(void *ctx)
{
	struct mon *m = ctx;

	/* the relay spawner reported its certificate and key loaded */
	return m->a->tls_ready && m->a->spawn_chan[SPAWN_ROLE_RELAY] >= 0;
}

/*
 * MON_PROXY's side effect: LSN_PROXY to the listener, then its verdict,
 * a LSN_PROXY_SIGNAL queued by the parent (blocked since the start, see
 * monitor_run), within KF_PROXY_VERDICT_MS (lsn_verdict waits for it;
 * LSN_SESSION_RESERVE's verdict comes the same way). Admitted, the header's
 * address becomes the session's peer here, the one place every later
 * user reads it from: the log prefix, mon_state (users' allow_from),
 * and the handoff of each later worker (PORT/EPRT, PASV/EPSV checks).
 */
static int
lsn_verdict(int ms, int *code)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	int64_t until = sys_now_ms() + ms, left;
	siginfo_t si;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, LSN_PROXY_SIGNAL);
	for (;;) {
		if (sigtimedwait(&set, &si, &ts) == LSN_PROXY_SIGNAL) {
			if (si.si_code == SI_QUEUE && si.si_pid == getppid()) {
				*code = si.si_value.sival_int;
				return 0;
			}
		} else if (errno != EINTR || mon_term)
			return -1;
		if ((left = until - sys_now_ms()) <= 0)
			return -1;
		ts.tv_sec = left / 1000;
		ts.tv_nsec = (left % 1000) * 1000000L;
	}
}

/* the rate refusal's text, as the listener says it to a direct client */
#define RATE_TEXT "Too many connections from your address; slow down."

const char *
proxy_verdict_text(int verdict)
{
	static const char *const text[] = {
		[LSN_PROXY_DENIED] = "Access denied.",
		[LSN_PROXY_BANNED] = "Your address is banned; try again later.",
		[LSN_PROXY_RATE] = RATE_TEXT,
		[LSN_PROXY_PER_IP] = "Too many connections from your address.",
	};

	if (verdict < LSN_PROXY_DENIED || verdict > LSN_PROXY_PER_IP)
		return text[LSN_PROXY_DENIED];
	return text[verdict];
}

/* LSN_PROXY's payload: local, or the family, address bytes and port. */
static int
put_proxy_addr(struct ipc_msg *rep, const struct sockaddr_storage *src)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)src;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)src;
	int r;

	if (src == NULL)
		return ipc_put_u32(rep, 1) < 0 || ipc_put_u32(rep, 0) < 0 ||
			ipc_put_blob(rep, "", 0, 16) < 0 ||
			ipc_put_u32(rep, 0) < 0 ?
		    -1 :
		    0;
	if (ipc_put_u32(rep, 0) < 0)
		return -1;
	if (src->ss_family == AF_INET)
		r = ipc_put_u32(rep, 4) < 0 ||
			ipc_put_blob(rep, &s4->sin_addr, 4, 16) < 0 ?
		    -1 :
		    0;
	else
		r = ipc_put_u32(rep, 6) < 0 ||
			ipc_put_blob(rep, &s6->sin6_addr, 16, 16) < 0 ?
		    -1 :
		    0;
	return r < 0 || ipc_put_u32(rep, addr_port(src)) < 0 ? -1 : 0;
}

static int
op_proxy_admit(void *ctx, const struct sockaddr_storage *src)
{
	struct mon *m = ctx;
	char line[128];
	struct ipc_msg rep SYS_UNINIT;
	int code = -1, n;

	ipc_init(&rep, LSN_PROXY);
	if (put_proxy_addr(&rep, src) < 0 ||
	    ipc_send(m->a->report_fd, &rep) < 0 ||
	    lsn_verdict(KF_PROXY_VERDICT_MS, &code) < 0) {
		log_warn("PROXY header: no verdict from the listener%-s",
		    mon_term ? " (the server is stopping)" : "");
		return -1;
	}
	if (code != LSN_PROXY_ADMIT) {
		/* the words a direct client is refused with */
		n = snprintf(line, sizeof(line), "421 %s\r\n",
		    proxy_verdict_text(code));
		sys_write_all(m->si.ctrl_fd, line, (size_t)n);
		return -1;
	}
	if (src == NULL) {
		log_info("PROXY header: LOCAL (a health check); the "
			 "connection's address stays");
		return 0;
	}
	m->si.peer = *src;
	m->proxied = 1;
	addr_to_str(src, m->peer, sizeof(m->peer));
	log_set_prefix("[s%lu %s]", m->si.id, m->peer);
	log_set_session(m->si.id, m->peer, addr_port(src));
	log_info("connect via proxy %-s: client port %u", m->proxy_via,
	    addr_port(src));
	return 0;
}

/*
 * max_sessions: LSN_SESSION_RESERVE to the listener, then its verdict
 * (LSN_PROXY_SIGNAL, value seq * 2 + reserved) within
 * KF_RESERVE_VERDICT_MS; a verdict of an earlier request (one that
 * came too late) is skipped. 1 reserved, 0 over the cap, -1 none.
 */
static int
op_reserve(void *ctx, const char *user, int anonymous, unsigned max)
{
	static uint32_t seq;
	struct mon *m = ctx;
	struct ipc_msg rep SYS_UNINIT;
	int64_t until = sys_now_ms() + KF_RESERVE_VERDICT_MS, left;
	int code;

	seq++;
	ipc_init(&rep, LSN_SESSION_RESERVE);
	if (ipc_put_str(&rep, user, KF_USER_MAX) < 0 ||
	    ipc_put_u32(&rep, anonymous ? 1 : 0) < 0 ||
	    ipc_put_u32(&rep, max) < 0 || ipc_put_u32(&rep, seq) < 0 ||
	    ipc_send(m->a->report_fd, &rep) < 0)
		return -1;
	while ((left = until - sys_now_ms()) > 0 &&
	    lsn_verdict((int)left, &code) == 0)
		if (code >= 0 && (uint32_t)code / 2 == seq)
			return code & 1;
	log_warn("max_sessions: no verdict from the listener%-s",
	    mon_term ? " (the server is stopping)" : "");
	return -1;
}

/* The reservation given back: the listener clears it on state 0. */
static void
op_release(void *ctx)
{
	struct mon *m = ctx;
	struct ipc_msg rep SYS_UNINIT;

	ipc_init(&rep, LSN_LOGIN_STATE);
	if (ipc_put_u32(&rep, 0) < 0 ||
	    ipc_put_str(&rep, "", KF_USER_MAX) < 0 ||
	    ipc_send(m->a->report_fd, &rep) < 0)
		log_warn("session reservation not given back to the listener");
}

static int op_ccc(void *);

/*
 * MON_UPLOAD_HOOK's side effect: the hook spawner runs the hook on fd,
 * with what only the monitor knows (the user, the ids, the root, the
 * session number, the client's address). One at a time per session:
 * the worker's next request waits. 1 when the hook exited 0.
 */
static int
op_upload_hook(void *ctx, const char *path, int fd, int check)
{
	static struct hook_req r; /* 8 KiB: not on the stack */
	struct mon *m = ctx;
	int res;

	memset(&r, 0, sizeof(r));
	r.check = (uint32_t)check;
	r.id = m->si.id;
	r.uid = m->id.uid;
	r.gid = m->id.gid;
	memcpy(r.user, m->id.name, sizeof(r.user));
	snprintf(r.client, sizeof(r.client), "%s", m->peer);
	memcpy(r.root, m->id.root, sizeof(r.root));
	snprintf(r.path, sizeof(r.path), "%s", path);
	res = hook_ask(m->a->spawn_chan[SPAWN_ROLE_HOOK], &r, fd,
	    (unsigned)m->a->conf->upload_hook_timeout);
	if (res == HOOK_NOT_RUN)
		log_warn("upload hook not run (no slot, no spawner, or "
			 "refused)%-s: path=%s",
		    check ? "; upload rejected" : "", path);
	else if (res != HOOK_OK && check)
		log_event(LOG_INFO, "upload_rejected",
		    "upload rejected by the hook: path=%s", path);
	return res == HOOK_OK;
}

static struct mon_ops mon_ops = {
	.verify = verify_login, /* in a short-lived child */
	.by_cert = verify_cert,
	.tls_required = policy_tls_required,
	.sleep_ms = sys_sleep_ms,
	.log = log_msg,
	.report_failed = op_report_failed,
	.tls_ready = op_tls_ready,
	.ccc = op_ccc,
	.session_open = auth_session_open,
	.login_state = op_login_state,
	.who_report = op_who_report,
	.m_verify = mon_metrics_verify,
	.m_login = mon_metrics_login,
	.m_xfer = mon_metrics_xfer,
	.m_tls = mon_metrics_tls,
	.upload_hook = op_upload_hook,
	.proxy_admit = op_proxy_admit,
	.reserve = op_reserve,
	.release = op_release,
};

/* What the state reads from the processes, and what it decided. */
static void
sync_in(struct mon *m)
{
	m->st.tls = m->si.tls;
	m->st.ccc = m->si.ccc;
	m->st.relay = m->relay.reply >= 0 && m->relay_ipc >= 0;
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
	struct ipc_msg r SYS_UNINIT;
	int gone;

	ipc_init(&r, RELAY_CCC);
	if (ipc_send(m->relay_ipc, &r) < 0)
		return 0;
	while (!m->st.ccc_done && sys_now_ms() < until) {
		if (sys_poll1(m->relay_ipc, POLLIN,
			(int)(until - sys_now_ms())) <= 0)
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
	int64_t kill_at = deadline_ms, now, wake, shed_at, t;
	struct timespec ts;
	sigset_t stop, open_mask;
	struct pollfd p[6];
	int status = -1, term_sent = 0, kick_sent = 0, n;

	/*
	 * A stop or a kick arriving while the loop works (between its look
	 * at the flags and the wait) stays pending until ppoll opens the
	 * mask again, which it then interrupts at once: never missed until
	 * the worker's next frame.
	 */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGUSR2);
	sigaddset(&stop, SESSION_SIG_CUT);
	sigprocmask(SIG_BLOCK, &stop, &open_mask);
	for (;;) {
		now = sys_now_ms();
		if (mon_kick && !kick_sent) {
			/* kick: the worker answers 421 and ends (SIGUSR2) */
			spawn_kill(&m->w, SIGUSR2);
			kill_at = earlier(kill_at, now + WORKER_GRACE_MS);
			kick_sent = 1;
		}
		if (mon_term > term_sent) {
			/* drain: SIGTERM; cut: SESSION_SIG_CUT (never merged) */
			spawn_kill(&m->w,
			    mon_term == 1 ? SIGTERM : SESSION_SIG_CUT);
			kill_at = earlier(kill_at,
			    now +
				(mon_term == 1 ?
					(int64_t)m->a->conf->shutdown_grace *
						1000 +
					    2 * WORKER_GRACE_MS :
					WORKER_GRACE_MS));
			term_sent = mon_term;
		}
		if (kill_at >= 0 && now >= kill_at) {
			status = spawn_end(&m->w, WORKER_GRACE_MS);
			if (mon_term && m->st.phase == MPH_SESSION)
				mon_exit = SESSION_EXIT_CUT;
			break;
		}
		/*
		 * The spawner's SPAWN_STARTED is read once the worker has
		 * closed both channels (its end, or a spawner that could not
		 * start it), or for a signal: not a wake-up of its own.
		 */
		if (m->w.pending && m->ipc < 0 && m->log < 0 &&
		    spawn_started(&m->w) < 0)
			die("no worker: the spawner did not answer");
		p[0] = (struct pollfd){ .fd = m->ipc, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = m->log, .events = POLLIN };
		p[2] = (struct pollfd){ .fd = m->w.pending ? -1 : m->w.reply,
			.events = POLLIN };
		p[3] = (struct pollfd){ .fd = m->relay_log, .events = POLLIN };
		p[4] = (struct pollfd){ .fd = m->relay_ipc, .events = POLLIN };
		/* without a status, the exit itself is enough: no spawner hop */
		p[5] = (struct pollfd){ .fd = status_wanted ? -1 : m->w.pidfd,
			.events = POLLIN };
		/* a MON_STATUS waiting for its slot wakes the loop too */
		wake = earlier(kill_at, mon_who_flush(&m->st, &mon_ops, now));
		shed_at = m->shed_pending ? now + KF_SHED_IDLE_MS : -1;
		/* -1: no timeout; a time already past: 0, never negative */
		t = earlier(wake, shed_at);
		t = t < 0 ? -1 : t > now ? t - now : 0;
		ts.tv_sec = t < 0 ? 0 : (time_t)(t / 1000);
		ts.tv_nsec = t < 0 ? 0 : (long)(t % 1000) * 1000000L;
		if ((n = ppoll(p, 6, t < 0 ? NULL : &ts, &open_mask)) == 0 &&
		    shed_at >= 0 && (wake < 0 || shed_at < wake)) {
			/* idle that long: the stack pages the login used */
			m->shed_pending = 0;
			sys_shed_stack();
		}
		if (n <= 0)
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
	/*
	 * What the worker sent before it ended is served still: a client
	 * that QUITs right after a STOR leaves the after-mode upload hook
	 * request queued behind the worker's end.
	 */
	while (m->ipc >= 0 && sys_poll1(m->ipc, POLLIN, 0) > 0)
		handle_request(m);
	while (m->log >= 0 && sys_poll1(m->log, POLLIN, 0) > 0 &&
	    log_forward(m->log) == 0)
		;
	sys_close(&m->ipc);
	sys_close(&m->log);
	sigprocmask(SIG_SETMASK, &open_mask, NULL);
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
	/* relay_stop waits on the reply socket for its end: read it now */
	if (spawn_started(&m->relay) < 0)
		die("no worker: the spawner did not answer");
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
		p[0] = (struct pollfd){ .fd = m->relay.reply,
			.events = POLLIN };
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
		m->st.phase = MPH_PRELOGIN;
		spawn(m, SPAWN_ROLE_PRELOGIN);
		log_forward_open(m->log, "worker kf-prelogin");
		m->greeted = 1;
		serve_worker(m,
		    worker_deadline(m,
			start_ms + (int64_t)m->a->conf->login_timeout * 1000 +
			    WORKER_GRACE_MS),
		    0);
		verify_reap(); /* its end ran beside the worker's */
		if (!m->st.auth_granted || mon_term || mon_kick ||
		    m->st.logged_in)
			break;
		m->st.auth_granted = 0;
		relay_start(m);
		log_forward_open(m->relay_log, "relay");
	}
	return m->st.logged_in && !mon_term && !mon_kick;
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
	spawn(m, SPAWN_ROLE_POSTLOGIN);
	/*
	 * docs/SECURITY.md. Before the monitor reads a byte from the new
	 * worker, not before the spawn: the filter's compile in the kernel
	 * runs while the worker starts.
	 */
	sandbox_monitor_shrink(m->a->conf, m->id.anonymous && m->a->owner_ok);
	log_forward_open(m->log, "worker kf-session");
	/* the login's stack pages, once the session is idle */
	m->shed_pending = 1;
	status = serve_worker(m, worker_deadline(m, -1), 1);
	auth_session_close(); /* logout (REIN) or the end: PAM session */
	if (status == SESSION_EXIT_DRAINED || status == SESSION_EXIT_CUT)
		mon_exit = status;
	if (status != SESSION_EXIT_REIN || mon_term || mon_kick)
		return 0;
	/* the monitor's own REIN count; mon_rein clears id, host, phase */
	memcpy(name, m->id.name, sizeof(name));
	if (mon_rein(&m->st) < 0) {
		log_warn("rein: user=%s sent more than %d REIN, session ended",
		    name, KF_REIN_MAX);
		sys_write_all(m->si.ctrl_fd, too_many, sizeof(too_many) - 1);
		return 0;
	}
	if (m->a->owner_ok)
		sandbox_monitor_drop_owner(m->a->conf);
	sync_out(m);
	op_login_state(m, 0);
	log_info("rein: user=%s logged out, back to login (rein %u, "
		 "failures %u)",
	    name, m->st.reins, m->st.failures);
	return 1;
}

void
monitor_run(const struct monitor_args *a)
{
	struct sigaction sa;
	sigset_t vmask;
	struct mon *m;
	int64_t t0 = sys_now_ms();

	/*
	 * In pages of its own (zeroed, and only the ones written become the
	 * monitor's): on the stack, all 15 KiB would be copies of the
	 * listener's stack pages, kept for the whole session.
	 */
	if ((m = sys_scratch(sizeof(*m))) == NULL) {
		log_err("monitor: no memory");
		_exit(1);
	}
	m->relay_log = -1;
	m->relay_ipc = -1;
	m->w.pidfd = m->w.reply = -1;
	m->relay.pidfd = m->relay.reply = -1;
	self = m;
	verify_init(a->inline_fd);
	mon_metrics_init(a->conf, a->report_fd);
	m->a = a;
	m->si.conf = a->conf;
	m->si.ctrl_fd = a->ctrl_fd;
	m->si.local = a->local;
	m->si.peer = a->peer;
	m->si.id = a->id;
	m->si.start_ms = t0;
	mon_ops.ctx = m;
	prctl(PR_SET_NAME, "kf-monitor");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SESSION_SIG_CUT, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	(void)signal(SIGUSR1, SIG_IGN);
	addr_to_str(&a->peer, m->peer, sizeof(m->peer));
	/* the peer may change once (MON_PROXY): the state reads m->si's */
	mon_state_init(&m->st, a->conf, NULL, &m->si.peer, m->peer, &m->id,
	    m->tls_sess, &m->tls_sess_len);
	m->st.owner_ok = a->owner_ok;
	m->st.owner_uid = a->owner_uid;
	m->st.owner_gid = a->owner_gid;
	log_set_prefix("[s%lu %s]", a->id, m->peer);
	log_set_session(a->id, m->peer, addr_port(&a->peer));
	log_info("connect%-s",
	    a->implicit	 ? " (implicit TLS)" :
		a->proxy ? " (proxy listener)" :
			   "");
	/* the listener's verdicts (PROXY, max_sessions) wait queued */
	sigemptyset(&vmask);
	sigaddset(&vmask, LSN_PROXY_SIGNAL);
	sigprocmask(SIG_BLOCK, &vmask, NULL);
	if (a->proxy) {
		m->st.proxy_wait = 1;
		memcpy(m->proxy_via, m->peer, sizeof(m->proxy_via));
	}
	if (a->tls_ready)
		tls_session_keys_new(&m->si.tls_keys);
	if (a->implicit) {
		relay_start(m);
		log_forward_open(m->relay_log, "relay");
	}

	/* the monitor keeps ctrl_fd for a pre-login worker after REIN */
	if (login_phase(m, t0))
		while (session_phase(m) && login_phase(m, sys_now_ms()))
			;
	relay_stop(m);
	if (mon_kick)
		log_info("kicked: the session was ended by keepftpd kick");
	if (m->st.who.dropped > 0)
		log_info("who: %lu status report(s) over %d a second dropped",
		    m->st.who.dropped, KF_WHO_RATE);
	mon_metrics_flush();
	log_info("disconnect: user=%s seconds=%lld",
	    m->st.logged_in ? m->id.name : NULL,
	    (long long)((sys_now_ms() - t0) / 1000));
	_exit(mon_exit);
}
