/*
 * listener.c - the accept loop. Signals are blocked except inside
 * ppoll(), so SIGTERM, SIGHUP and SIGCHLD are handled between accepts,
 * never in the middle of one.
 * Runs in: listener.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../auth/auth.h"
#include "../common/grow.h"
#include "../common/log.h"
#include "../common/rate.h"
#include "../ipc/ipc.h"
#include "../ipc/proto.h"
#include "../common/sys.h"
#include "../net/addr.h"
#include "../sandbox/sandbox.h"
#include "../sandbox/seccomp.h"
#include "../tls/tls_keys.h"
#include "admin.h"
#include "bantab.h"
#include "listener.h"
#include "lsn_metrics.h"
#include "lsn_pgauth.h"
#include "logd.h"
#include "monitor.h"
#include "notify.h"
#include "passed.h"
#include "spawn.h"
#include "upgrade.h"
#include "who.h"
#include "../proto/session.h"

/* After the cut: what the monitors get to end before SIGKILL. */
#define CUT_GRACE_MS 8000

struct slot {
	pid_t pid;
	struct sockaddr_storage peer;
	int64_t since_ms; /* start, or the last REIN */
	int logged_in; /* LSN_LOGIN_STATE */
	int trimmed; /* SIGTERM sent by prelogin_trim */
	int pidfd; /* adopted at `keepftpd upgrade` (not our child), else -1 */
	struct who_row who; /* keepftpd who (LSN_STATUS) */
	int verifying; /* LSN_METRICS_VERIFY until its login's result */
	unsigned long id; /* the session id its monitor logs with */
	int proxy_wait; /* proxy listener: 1 before LSN_PROXY, 2 refused */
	/* max_sessions: the user this session holds a place for ("": none) */
	char resv[KF_USER_MAX + 1];
	int resv_anon;
};

static volatile sig_atomic_t got_term SYS_HOT, got_hup SYS_HOT,
    got_chld SYS_HOT;
static sigset_t run_mask; /* the mask before signals_setup blocked ours */
static struct slot *slots;
static size_t nslots SYS_HOT, capslots;
static unsigned long next_id = 1;
static struct bantab *bans; /* rates, failures, bans by address */
static int report_rd = -1; /* failed logins from the monitors */
static int report_wr = -1; /* the monitors' end (workers close it) */
static int64_t last_sweep SYS_HOT;
static unsigned long evicted_seen SYS_HOT;
static int admin_fd = -1; /* `keepftpd ban` (admin_socket) */
static struct spawner spawners[SPAWN_ROLES]; /* pid 0: not running */
static int64_t spawner_died[SPAWN_ROLES]; /* when, for the restart */
static char admin_path[KF_CONF_VALUE_MAX + 1];
static int stopping; /* stop_all: count the monitors' ends */
static unsigned stop_drained, stop_cut; /* transfers, for the last line */
static int metrics_down; /* kf-metrics waits for its restart */
static int pgauth_down; /* kf-pgauth waits for its restart */

/*
 * `keepftpd upgrade` (upgrade.h, docs/OPERATIONS.md). In the old
 * listener: the new one while it starts (one at a time), then retired:
 * it accepts nothing more and ends with its sessions. In the new one:
 * the old one's sessions, counted through their pidfds, and its report
 * channel, which their monitors still write to.
 */
static struct {
	pid_t pid; /* the new listener; 0: no upgrade running */
	int chan; /* the hand-over channel */
	int client; /* the `keepftpd upgrade` connection to answer */
	int64_t deadline;
} up = { 0, -1, -1, 0 };
static int retired;
static struct listener *upgrading_L; /* for admin_serve's callback */
static size_t nadopted; /* slots with a pidfd */
static int report_old = -1;
static int passed_sockets; /* the listening sockets came from systemd */

/*
 * Every signal a service manager or an admin may send has a defined,
 * logged effect (the table in README.md): SIGTERM, SIGINT and SIGQUIT
 * stop the server (sessions are asked to end first), SIGHUP
 * reloads, SIGUSR1 reopens log_file and xferlog_file (logd.c), SIGUSR2
 * logs the session counts, the rest below are logged and otherwise
 * ignored. Signals that mean a crash (SIGSEGV,
 * SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT) keep their default
 * action, and SIGKILL and SIGSTOP cannot be caught.
 */
static const int caught[] = { SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGCHLD,
	SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM, SIGVTALRM, SIGPROF, SIGXCPU,
	SIGXFSZ, SIGPWR, SIGIO, SIGSTKFLT, SIGTSTP, SIGTTIN, SIGTTOU, SIGWINCH,
	SIGURG };
#define NCAUGHT (sizeof(caught) / sizeof(caught[0]))
static volatile sig_atomic_t got_other[NSIG]; /* logged, then dropped */

static void
on_signal(int sig)
{
	if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT)
		got_term = sig;
	else if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGCHLD)
		got_chld = 1;
	else if (sig > 0 && sig < NSIG)
		got_other[sig] = 1;
}

/* fn for each caught signal, and for the real-time ones (nobody uses them). */
static void
signals_each(void (*fn)(int, void *), void *arg)
{
	size_t i;
	int s;

	for (i = 0; i < NCAUGHT; i++)
		fn(caught[i], arg);
	for (s = SIGRTMIN; s <= SIGRTMAX; s++)
		fn(s, arg);
}

static void
catch_one(int sig, void *block)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(sig, &sa, NULL);
	sigaddset(block, sig);
}

static void
signals_setup(sigset_t *old)
{
	sigset_t block;

	sigemptyset(&block);
	signals_each(catch_one, &block);
	sigprocmask(SIG_BLOCK, &block, old);
}

static void
unblock_one(int sig, void *mask)
{
	sigdelset(mask, sig);
}

/* In a new monitor: default dispositions (SIGPIPE ignored), nothing blocked. */
static void
reset_one(int sig, void *arg)
{
	(void)arg;
	(void)signal(sig, sig == SIGPIPE ? SIG_IGN : SIG_DFL);
}

static void
signals_reset(void)
{
	sigset_t none;

	signals_each(reset_one, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static size_t logged_in_count(void);
/* What each signal outside stop, reload and SIGCHLD did, logged. */
static void
signals_log(void)
{
	const char *name;
	int s;

	for (s = 1; s < NSIG; s++) {
		if (!got_other[s])
			continue;
		got_other[s] = 0;
		name = sigabbrev_np(s);
		if (s == SIGUSR2)
			log_info("SIGUSR2: %zu session(s), %zu logged in, "
				 "%zu address(es) banned",
			    nslots, logged_in_count(), bantab_nbanned(bans));
		else
			log_info("SIG%-s: ignored",
			    name != NULL ? name : "(real-time)");
	}
}

static int
bind_one(const struct conf_listen *l)
{
	char host[ADDR_STR_MAX];
	int fd, on = 1;

	fd = socket(l->addr.ss_family,
	    SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (l->addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (const struct sockaddr *)&l->addr, l->len) < 0 ||
	    listen(fd, 128) < 0) {
		addr_to_str(&l->addr, host, sizeof(host));
		log_err("cannot listen on %-s port %u: %-s", host,
		    addr_port(&l->addr), strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* " (implicit TLS)", " (proxy)" or "" for the log lines. */
static const char *
mark_text(const struct conf_listen *l)
{
	return l->implicit ? " (implicit TLS)" : l->proxy ? " (proxy)" : "";
}

/*
 * A socket this listener did not bind: the marks of its name (or of
 * the hand-over) and of every listen line of lines[0..n) naming its
 * address (passed.c), so that a `proxy` line is never served by a
 * plain socket. Refused: both marks, or proxy without proxy_from.
 */
static int
mark_passed(const struct listener *L, struct conf_listen *l,
    const struct conf_listen *lines, size_t n)
{
	char host[ADDR_STR_MAX];

	addr_to_str(&l->addr, host, sizeof(host));
	if (passed_marks(l, lines, n) < 0) {
		log_err("passed socket %-s port %u: both implicit and proxy "
			"(by its name or a listen line); refused",
		    host, addr_port(&l->addr));
		return -1;
	}
	if (l->proxy && L->conf.proxy_from[0] == '\0') {
		log_err("passed socket %-s port %u is a proxy listener but "
			"proxy_from is empty",
		    host, addr_port(&l->addr));
		return -1;
	}
	return 0;
}

/* A passed socket's number: its address read back, non-blocking. */
static int
passed_fd(int fd, struct conf_listen *l)
{
	int on = 1;

	memset(l, 0, sizeof(*l));
	l->len = sizeof(l->addr);
	if (getsockname(fd, (struct sockaddr *)&l->addr, &l->len) < 0 ||
	    sys_set_nonblock(fd, 1) < 0) {
		log_err("passed socket %d: %-s", fd, strerror(errno));
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	sys_set_cloexec(fd);
	return 0;
}

/*
 * Socket activation: the sockets the service manager passed replace
 * the listen lines (their addresses are read back for the log and the
 * sessions). FileDescriptorName=implicit or =proxy marks one, and so
 * does a listen line naming its address (mark_passed). Returns how
 * many, 0 when none was passed.
 */
static int
activated(struct listener *L)
{
	int fds[KF_LISTEN_MAX], implicit[KF_LISTEN_MAX], proxy[KF_LISTEN_MAX];
	struct conf_listen lines[KF_LISTEN_MAX], *l;
	size_t nlines = L->conf.listen_count;
	char host[ADDR_STR_MAX];
	int n, i;

	if ((n = notify_listen_fds(fds, implicit, proxy, KF_LISTEN_MAX)) <= 0)
		return n;
	memcpy(lines, L->conf.listen, sizeof(lines));
	for (i = 0; i < n; i++) {
		l = &L->conf.listen[i];
		if (passed_fd(fds[i], l) < 0)
			return -1;
		l->implicit = implicit[i];
		l->proxy = proxy[i];
		if (mark_passed(L, l, lines, nlines) < 0)
			return -1;
		L->fds[L->nfds++] = fds[i];
		addr_to_str(&l->addr, host, sizeof(host));
		log_info("listening on %-s port %u%-s (passed by the service "
			 "manager)",
		    host, addr_port(&l->addr), mark_text(l));
	}
	L->conf.listen_count = (size_t)n;
	return n;
}

/*
 * The report channel: a datagram socketpair. The listener reads its end
 * with SO_PASSCRED, so each report carries the sender's pid as the
 * kernel saw it; monitors inherit the other end and may only send (a
 * bounded wait: a busy listener cannot hold a monitor for long).
 */
static int
report_init(void)
{
	struct timeval tv = { .tv_sec = 1 };
	int sv[2], on = 1;

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0 ||
	    sys_set_nonblock(sv[0], 1) < 0 ||
	    setsockopt(sv[1], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    shutdown(sv[1], SHUT_RD) < 0) {
		log_err("cannot create the report channel: %-s",
		    strerror(errno));
		return -1;
	}
	report_rd = sv[0];
	report_wr = sv[1];
	return 0;
}

/* The address table, keyed with a random key of this process. */
static int
policy_init(void)
{
	unsigned char key[BANTAB_KEYBYTES];

	randombytes_buf(key, sizeof(key));
	bans = bantab_new(KF_BANTAB_MAX, key);
	sodium_memzero(key, sizeof(key));
	if (bans == NULL) {
		log_err("cannot allocate the address table");
		return -1;
	}
	return report_init();
}

static struct bantab_policy
policy_of(const struct conf *c)
{
	return (struct bantab_policy){
		.rate_max = (unsigned)c->max_conn_rate,
		.rate_window_ms = (int64_t)c->conn_rate_window * 1000,
		.ban_failures = (unsigned)c->ban_failures,
		.ban_window_ms = (int64_t)c->ban_window * 1000,
		.ban_ms = (int64_t)c->ban_seconds * 1000,
	};
}

/*
 * The service user's and anon_user's ids, for the monitors: looked up
 * here when a name changes or after SIGHUP, not in every session (NSS
 * work in each process is CPU and memory per session).
 */
static struct auth_account service;
static struct auth_account owner; /* anon_upload_owner */
static int accounts_stale = 1; /* at start and after SIGHUP */

/*
 * What every spawner of this configuration is given, in a mapping of
 * its own (unmapped by spawn_conf_free): the listener's memory, which
 * every monitor fork copies, does not keep a second configuration.
 */
static struct spawn_conf *
spawn_conf_of(const struct conf *c)
{
	struct spawn_conf *sc;
	enum log_sink sink;
	int level;

	sc = mmap(NULL, sizeof(*sc), PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sc == MAP_FAILED)
		return NULL;
	sc->magic = SPAWN_CONF_MAGIC;
	sc->size = sizeof(*sc);
	auth_account(&service, c->service_user, accounts_stale);
	sc->service_ok = service.ok;
	sc->service_uid = service.uid;
	sc->service_gid = service.gid;
	sc->server_uid = geteuid();
	log_get(&sink, &level);
	sc->log_sink = (int)sink;
	sc->log_level = level;
	sc->conf = *c;
	/* the database password is kf-pgauth's alone (pgauth_start) */
	explicit_bzero(sc->conf.pg_conninfo, sizeof(sc->conf.pg_conninfo));
	return sc;
}

static void
spawn_conf_free(struct spawn_conf *sc)
{
	if (sc != NULL)
		munmap(sc, sizeof(*sc));
}

/*
 * The relay spawner of the configuration in use reported that its
 * certificate and key load (spawn_start): implicit listeners serve, and
 * monitors offer AUTH TLS. The listener itself loads neither.
 */
static int tls_ready;

static int
role_wanted(const struct listener *L, enum spawn_role r)
{
	if (r == SPAWN_ROLE_HOOK)
		return L->conf.upload_hook[0] != '\0';
	return r != SPAWN_ROLE_RELAY || tls_configured(&L->conf);
}

/*
 * A new spawner per role (the relay's only with a certificate
 * configured; with relay 0, the running one is kept). The previous ones
 * keep serving the monitors that hold their channels, and end when the
 * last of those has gone.
 */
static int
spawners_start(struct listener *L, int relay)
{
	struct spawn_conf *sc = spawn_conf_of(&L->conf);
	struct spawner fresh;
	int r, ok = 0;

	if (sc == NULL)
		return -1;
	for (r = 0; r < SPAWN_ROLES; r++) {
		if (r == SPAWN_ROLE_RELAY && !relay)
			continue;
		sys_close(&spawners[r].chan);
		spawners[r].pid = 0;
		spawner_died[r] = 0;
		if (r == SPAWN_ROLE_RELAY)
			tls_ready = 0;
		if (!role_wanted(L, r))
			continue;
		if (spawn_start(r, sc, &fresh) < 0) {
			ok = -1;
			spawner_died[r] = sys_now_ms();
			continue;
		}
		spawners[r] = fresh;
		if (r == SPAWN_ROLE_RELAY)
			tls_ready = 1;
	}
	spawn_conf_free(sc);
	return ok;
}

/*
 * SIGHUP: the relay spawner of the new configuration c, started before
 * c is taken: its certificate and key load, or the reload stops here
 * (the reason is logged by spawn_start). s->pid 0 when c has no TLS.
 */
static int
relay_prepare(const struct conf *c, struct spawner *s)
{
	struct spawn_conf *sc;
	int r;

	s->pid = 0;
	s->chan = -1;
	if (!tls_configured(c))
		return 0;
	if ((sc = spawn_conf_of(c)) == NULL)
		return -1;
	r = spawn_start(SPAWN_ROLE_RELAY, sc, s);
	spawn_conf_free(sc);
	return r;
}

/* ... and, c taken, it replaces the running one. */
static void
relay_install(struct spawner *s)
{
	sys_close(&spawners[SPAWN_ROLE_RELAY].chan);
	spawners[SPAWN_ROLE_RELAY] = *s;
	spawner_died[SPAWN_ROLE_RELAY] = 0;
	tls_ready = s->pid > 0;
}

/* A spawner that died is logged and, after a pause, started again. */
static int
spawner_ended(pid_t pid, int status)
{
	int r;

	for (r = 0; r < SPAWN_ROLES; r++)
		if (spawners[r].pid == pid && pid > 0 && !got_term &&
		    !retired) {
			log_err("the %-s spawner (pid %ld) ended (%-s %d); "
				"starting a new one",
			    spawn_role_name(r), (long)pid,
			    WIFSIGNALED(status) ? "signal" : "status",
			    WIFSIGNALED(status) ? WTERMSIG(status) :
						  WEXITSTATUS(status));
			sys_close(&spawners[r].chan);
			spawners[r].pid = 0;
			spawner_died[r] = sys_now_ms();
			return 1;
		}
	return 0;
}

static void
spawners_restart(struct listener *L)
{
	struct spawn_conf *sc;
	int r;

	for (r = 0; r < SPAWN_ROLES; r++) {
		if (spawner_died[r] == 0 ||
		    sys_now_ms() - spawner_died[r] < KF_SPAWN_RESTART_MS)
			continue;
		spawner_died[r] = 0;
		if (!role_wanted(L, r))
			continue;
		if ((sc = spawn_conf_of(&L->conf)) == NULL ||
		    spawn_start(r, sc, &spawners[r]) < 0)
			spawner_died[r] = sys_now_ms();
		if (r == SPAWN_ROLE_RELAY) /* its TLS may no longer load */
			tls_ready = spawner_died[r] == 0;
		spawn_conf_free(sc);
	}
}

static int
spawner_down(void)
{
	int r;

	for (r = 0; r < SPAWN_ROLES; r++)
		if (spawner_died[r] != 0)
			return 1;
	return 0;
}

/* At the end: no sender left, so each spawner ends; then insist. */
static void
spawners_stop(void)
{
	int64_t until = sys_now_ms() + 2000;
	int r, left;

	for (r = 0; r < SPAWN_ROLES; r++)
		sys_close(&spawners[r].chan);
	do {
		left = 0;
		for (r = 0; r < SPAWN_ROLES; r++) {
			if (spawners[r].pid > 0 &&
			    waitpid(spawners[r].pid, NULL, WNOHANG) == 0)
				left = 1;
			else
				spawners[r].pid = 0;
		}
		if (left)
			sys_sleep_ms(20);
	} while (left && sys_now_ms() < until);
	for (r = 0; r < SPAWN_ROLES; r++)
		if (spawners[r].pid > 0) {
			kill(spawners[r].pid, SIGKILL);
			waitpid(spawners[r].pid, NULL, 0);
		}
}

/* ---- keepftpd upgrade: the new listener's side ---- */

static void slot_drop(size_t);
static void wait_sessions(const sigset_t *, int64_t, int);
static void stop_all(struct listener *, const sigset_t *);

static void
slot_kill(const struct slot *sl, int sig)
{
	if (sl->pidfd >= 0)
		(void)syscall(SYS_pidfd_send_signal, sl->pidfd, sig, NULL, 0);
	else
		kill(sl->pid, sig);
}

/* Adopted sessions that have ended leave the counts. */
static void
adopted_check(void)
{
	size_t i;

	for (i = 0; nadopted > 0 && i < nslots; i++)
		if (slots[i].pidfd >= 0 &&
		    sys_poll1(slots[i].pidfd, POLLIN, 0) > 0)
			slot_drop(i--);
}

static void
adopted_wait(int ms)
{
	int64_t until = sys_now_ms() + ms;

	for (adopted_check(); nadopted > 0 && sys_now_ms() < until;
	     adopted_check())
		sys_sleep_ms(20);
}

static void
adopt(const struct upgrade_session *s, void *arg)
{
	(void)arg;
	if (grow_array(&slots, &capslots, nslots + 1, sizeof(*slots), 64,
		SIZE_MAX / sizeof(*slots)) < 0) {
		log_err("session table full: a session handed over is not "
			"counted");
		close(s->pidfd);
		return;
	}
	slots[nslots++] = (struct slot){ .pid = s->pid,
		.peer = s->peer,
		.since_ms = sys_now_ms(),
		.logged_in = s->logged_in,
		.pidfd = s->pidfd };
	nadopted++;
}

static int
same_listen(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	return addr_same_host(a, b) && addr_port(a) == addr_port(b) &&
	    a->ss_family == b->ss_family;
}

/* The handed-over socket of a listen line, or a new one bound for it. */
static int
line_socket(const struct conf_listen *l, const struct upgrade_sockets *s,
    const struct sockaddr_storage *at, int *used, const char **how)
{
	size_t j;

	*how = "handed over";
	for (j = 0; j < s->n; j++)
		if (!used[j] && same_listen(&at[j], &l->addr)) {
			used[j] = 1;
			return s->fds[j];
		}
	*how = "a new listen line";
	return bind_one(l);
}

/*
 * Sockets the service manager passed stand for the listen lines: with
 * the marks they had in the old listener, and those of the new
 * configuration's lines naming their addresses (mark_passed).
 */
static int
lines_of_passed(struct listener *L, const struct upgrade_sockets *s,
    const struct sockaddr_storage *at)
{
	struct conf_listen lines[KF_LISTEN_MAX], *l;
	size_t i, nlines = L->conf.listen_count;

	memcpy(lines, L->conf.listen, sizeof(lines));
	for (i = 0; i < s->n; i++) {
		l = &L->conf.listen[i];
		memset(l, 0, sizeof(*l));
		l->addr = at[i];
		l->len = sizeof(at[i]);
		l->implicit = s->implicit[i];
		l->proxy = s->proxy[i];
		if (mark_passed(L, l, lines, nlines) < 0)
			return -1;
	}
	L->conf.listen_count = s->n;
	return 0;
}

/* The handed-over sockets no listen line names any more. */
static void
close_unnamed(const struct upgrade_sockets *s,
    const struct sockaddr_storage *at, const int *used)
{
	char host[ADDR_STR_MAX];
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (used[i])
			continue;
		addr_to_str(&at[i], host, sizeof(host));
		log_info("no longer listening on %-s port %u (no listen line "
			 "names it)",
		    host, addr_port(&at[i]));
		close(s->fds[i]);
	}
}

/*
 * The sockets handed over. Passed by the service manager: all kept, as
 * they are (the listen lines did not count). Else the configuration's
 * listen lines decide: a line that names a handed socket's address
 * keeps that socket (and what waits in its backlog), a new line is
 * bound, a socket no line names is closed.
 */
static int
take_sockets(struct listener *L, const struct upgrade_sockets *s)
{
	struct sockaddr_storage at[KF_LISTEN_MAX];
	int used[KF_LISTEN_MAX] = { 0 }, fd;
	char host[ADDR_STR_MAX];
	const struct conf_listen *l;
	const char *how;
	socklen_t len;
	size_t i;

	memset(at, 0, sizeof(at)); /* getsockname fills them */
	for (i = 0; i < s->n; i++) {
		len = sizeof(at[i]);
		if (getsockname(s->fds[i], (struct sockaddr *)&at[i], &len) <
			0 ||
		    sys_set_nonblock(s->fds[i], 1) < 0)
			return -1;
	}
	if ((passed_sockets = s->passed) && lines_of_passed(L, s, at) < 0)
		return -1;
	for (i = 0; i < L->conf.listen_count; i++) {
		l = &L->conf.listen[i];
		if ((fd = line_socket(l, s, at, used, &how)) < 0)
			return -1;
		L->fds[L->nfds++] = fd;
		addr_to_str(&l->addr, host, sizeof(host));
		log_info("listening on %-s port %u%-s (%-s)", host,
		    addr_port(&l->addr), mark_text(l), how);
	}
	close_unnamed(s, at, used);
	report_old = s->report_rd;
	return 0;
}

/* The admin socket: the old one's when the path is the same. */
static void
take_admin(const struct upgrade_sockets *s)
{
	if (s->admin_fd >= 0 && strcmp(s->admin_path, admin_path) == 0) {
		admin_fd = s->admin_fd;
		return;
	}
	if (s->admin_fd >= 0) {
		close(s->admin_fd);
		unlink(s->admin_path);
	}
	if ((admin_fd = admin_open(admin_path)) < 0 && admin_path[0] != '\0')
		log_warn("running without an admin socket (keepftpd ban)");
}

/*
 * Started by `keepftpd upgrade`, configured, spawners up: UPG_READY,
 * then the old listener's sockets, sessions and address table, then
 * UPG_TAKEN (from here on this listener accepts), then UPG_GO (the old
 * one has told the service manager our pid). Any failure before
 * UPG_TAKEN ends this process; the old one goes on.
 */
/*
 * Room for the old sessions' pidfds: the soft RLIMIT_NOFILE raised
 * (up to the hard one) to max_clients and a margin when it is lower.
 * Were it too low, the hand-over fails and the old listener goes on.
 */
static void
room_for_pidfds(const struct conf *c)
{
	rlim_t want = (rlim_t)c->max_clients + 256;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

static int
take_over(struct listener *L)
{
	struct upgrade_sockets s;
	int chan = L->upgrade_fd;

	room_for_pidfds(&L->conf);
	if (upgrade_send_simple(chan, UPG_READY, (uint32_t)getpid()) < 0 ||
	    upgrade_recv_sockets(chan, &s) < 0 || take_sockets(L, &s) < 0 ||
	    upgrade_recv_state(chan, bans, adopt, NULL) < 0 ||
	    upgrade_send_simple(chan, UPG_TAKEN, 0) < 0) {
		log_err("upgrade: the hand-over from pid %ld failed; it goes "
			"on serving",
		    (long)getppid());
		return -1;
	}
	take_admin(&s);
	if (upgrade_wait(chan, UPG_GO, KF_UPGRADE_IO_MS, NULL) < 0)
		log_warn("upgrade: pid %ld did not confirm; accepting anyway",
		    (long)getppid());
	sys_close(&L->upgrade_fd);
	log_info("upgrade: took over from pid %ld: %zu socket(s), %zu "
		 "session(s) still under the old code, %zu address(es)",
	    (long)getppid(), L->nfds, nadopted, bantab_count(bans));
	return 0;
}

/* In a new monitor: no descriptor of the upgrade, no other session's pidfd. */
static void
upgrade_forget(void)
{
	size_t i;

	sys_close(&report_old);
	sys_close(&up.chan);
	sys_close(&up.client);
	for (i = 0; i < nslots; i++)
		if (slots[i].pidfd >= 0)
			close(slots[i].pidfd);
}

/* ---- keepftpd upgrade: the old listener's side ---- */

static void
upgrade_answer(uint32_t status, const char *text)
{
	if (up.client < 0)
		return;
	admin_done(up.client, status, text);
	sys_close(&up.client);
}

static void
upgrade_failed(const char *why)
{
	char text[ADM_TEXT_MAX];

	log_err("upgrade failed: %-s; this listener (pid %ld) goes on "
		"accepting",
	    why, (long)getpid());
	snprintf(text, sizeof(text), "upgrade failed: %s; pid %ld goes on", why,
	    (long)getpid());
	if (up.pid > 0)
		kill(up.pid, SIGKILL); /* reaped as any child */
	up.pid = 0;
	sys_close(&up.chan);
	upgrade_answer(1, text);
}

/* admin_serve's ADM_UPGRADE: NULL when started (fd is kept). */
static const char *
upgrade_start(int fd)
{
	static char why[ADM_TEXT_MAX];
	struct listener *L = upgrading_L;

	if (up.pid > 0)
		return "an upgrade is already running";
	if (L == NULL || L->reload == NULL || L->argv == NULL)
		return "only a server started with -c FILE can be upgraded";
	if ((up.pid = upgrade_spawn(&up.chan, why, sizeof(why))) < 0) {
		up.pid = 0;
		log_err("upgrade: %-s", why);
		return why;
	}
	up.client = fd;
	up.deadline = sys_now_ms() + KF_UPGRADE_READY_MS;
	log_info("upgrade: pid %ld started; accepting here until it is ready",
	    (long)up.pid);
	return NULL;
}

/*
 * The sessions, KF_UPGRADE_SESSIONS_MSG at a time: a pidfd is opened
 * for each of our own (an adopted one has its own) and closed once
 * sent, so few descriptors are open at once however many sessions
 * there are. *sent: how many went (one gone meanwhile has no pidfd).
 */
static int
send_sessions(int chan, size_t *sent)
{
	struct upgrade_session ss[KF_UPGRADE_SESSIONS_MSG];
	int mine[KF_UPGRADE_SESSIONS_MSG];
	size_t i = 0, k, j;
	int r = 0;

	*sent = 0;
	while (i < nslots && r == 0) {
		for (k = 0; i < nslots && k < KF_UPGRADE_SESSIONS_MSG; i++) {
			ss[k] = (struct upgrade_session){ .pid = slots[i].pid,
				.pidfd = slots[i].pidfd,
				.logged_in = slots[i].logged_in,
				.peer = slots[i].peer };
			mine[k] = slots[i].pidfd < 0;
			if (mine[k])
				ss[k].pidfd = (int)syscall(SYS_pidfd_open,
				    slots[i].pid, 0);
			if (ss[k].pidfd >= 0)
				k++;
		}
		r = k > 0 ? upgrade_send_sessions(chan, ss, k) : 0;
		for (j = 0; j < k; j++)
			if (mine[j])
				close(ss[j].pidfd);
		*sent += k;
	}
	return r;
}

/* Everything the new listener takes; 0 once it said UPG_TAKEN. */
static int
hand_over(struct listener *L)
{
	struct upgrade_sockets s = { .n = L->nfds,
		.passed = passed_sockets,
		.report_rd = report_rd };
	size_t i, n = 0, nb = 0;

	for (i = 0; i < L->nfds; i++) {
		s.fds[i] = L->fds[i];
		s.implicit[i] = L->conf.listen[i].implicit;
		s.proxy[i] = L->conf.listen[i].proxy;
	}
	s.admin_fd = admin_fd;
	snprintf(s.admin_path, sizeof(s.admin_path), "%s", admin_path);
	if (upgrade_send_sockets(up.chan, &s) < 0 ||
	    send_sessions(up.chan, &n) < 0 ||
	    upgrade_send_bans(up.chan, bans, &nb) < 0 ||
	    upgrade_send_end(up.chan, n, nb) < 0)
		return -1;
	return upgrade_wait(up.chan, UPG_TAKEN, KF_UPGRADE_IO_MS, NULL);
}

/* The new listener spoke (or ended): hand over, or give up. */
static void
upgrade_step(struct listener *L)
{
	char text[ADM_TEXT_MAX];
	uint32_t pid = 0;

	if (upgrade_wait(up.chan, UPG_READY, 0, &pid) < 0 ||
	    (pid_t)pid != up.pid) {
		upgrade_failed("the new listener ended before it was ready "
			       "(its reason is in the log)");
		return;
	}
	if (hand_over(L) < 0) {
		upgrade_failed("the hand-over did not complete");
		return;
	}
	notify_hand_over((long)up.pid);
	/* the new listener binds metrics_listen once it has UPG_GO */
	lsn_metrics_stop();
	lsn_metrics_forget();
	(void)upgrade_send_simple(up.chan, UPG_GO, 0);
	log_info("upgrade: pid %ld accepts now; %zu session(s) end here "
		 "under the old code",
	    (long)up.pid, nslots);
	snprintf(text, sizeof(text),
	    "upgraded: pid %ld accepts now; %zu session(s) end under pid %ld",
	    (long)up.pid, nslots, (long)getpid());
	upgrade_answer(0, text);
	sys_close(&up.chan);
	up.pid = 0;
	retired = 1;
}

/*
 * Handed over: nothing more to accept, no admin socket, no reports
 * (the new listener reads them); the sessions finish under this code,
 * its spawners end with the last of them. SIGTERM meanwhile drains
 * them as at a stop.
 */
static void
retire(struct listener *L, const sigset_t *mask)
{
	size_t i;
	int r;

	for (i = 0; i < L->nfds; i++)
		close(L->fds[i]);
	L->nfds = 0;
	sys_close(&admin_fd); /* the path is the new listener's now */
	sys_close(&report_rd);
	sys_close(&report_old);
	for (r = 0; r < SPAWN_ROLES; r++)
		sys_close(&spawners[r].chan);
	stopping = 1; /* count how the transfers end */
	wait_sessions(mask, INT64_MAX, 1);
	if (got_term) {
		log_info("SIG%-s: stopping", sigabbrev_np(got_term));
		stop_all(L, mask);
		return;
	}
	spawners_stop();
	log_info("old listener: its sessions have ended (%u transfer(s) "
		 "finished, %u cut); exiting",
	    stop_drained, stop_cut);
}

/* metrics_listen: bound here, served by kf-metrics (lsn_metrics.c). */
static int
metrics_start(struct listener *L)
{
	struct spawn_conf *sc;
	int r;

	if (L->conf.metrics_listen[0] == '\0')
		return 0;
	if ((sc = spawn_conf_of(&L->conf)) == NULL)
		return -1;
	r = lsn_metrics_init(&L->conf, sc);
	spawn_conf_free(sc);
	return r;
}

/*
 * users_backend = postgresql: kf-pgauth (lsn_pgauth.c), started once;
 * a reload keeps its settings (do_reload).
 */
static int
pgauth_start(struct listener *L)
{
	struct spawn_conf *sc;
	int r;

	if (strcmp(L->conf.users_backend, "postgresql") != 0)
		return 0;
	if ((sc = spawn_conf_of(&L->conf)) == NULL)
		return -1;
	memcpy(sc->conf.pg_conninfo, L->conf.pg_conninfo,
	    sizeof(sc->conf.pg_conninfo));
	r = lsn_pgauth_init(sc);
	explicit_bzero(sc->conf.pg_conninfo, sizeof(sc->conf.pg_conninfo));
	spawn_conf_free(sc);
	if (r < 0)
		log_err("cannot start kf-pgauth: %-s", strerror(errno));
	return r;
}

static int
bind_all(struct listener *L)
{
	size_t i;
	int fd, n = 0;

	/*
	 * Signals are caught (blocked until listener_run waits) from here
	 * on: a SIGTERM right after start-up ends the server cleanly.
	 */
	signals_setup(&run_mask);
	for (i = 0; i < SPAWN_ROLES; i++)
		spawners[i].chan = -1;
	if (spawn_init() < 0)
		return -1;
	if (L->argv != NULL)
		(void)upgrade_init(L->argv);
	/* started by `keepftpd upgrade`: the sockets come from the old one */
	if (L->upgrade_fd < 0 && (n = activated(L)) < 0)
		return -1;
	passed_sockets = n > 0;
	for (i = 0; L->upgrade_fd < 0 && n == 0 && i < L->conf.listen_count;
	     i++) {
		if ((fd = bind_one(&L->conf.listen[i])) < 0)
			return -1;
		L->fds[L->nfds++] = fd;
	}
	if (geteuid() == 0 && sandbox_prepare_empty_dir(L->conf.empty_dir) < 0)
		return -1;
	/* before any helper is executed or monitor forked */
	sandbox_listener_bounding();
	/* kf-log enters the empty root: after it exists */
	if (logd_start(&L->conf) < 0)
		return -1;
	if (policy_init() < 0)
		return -1;
	snprintf(admin_path, sizeof(admin_path), "%s", L->conf.admin_socket);
	if (L->upgrade_fd < 0 && (admin_fd = admin_open(admin_path)) < 0 &&
	    admin_path[0] != '\0')
		log_warn("running without an admin socket (keepftpd ban)");
	if (auth_slots_init((unsigned)L->conf.auth_concurrency) < 0)
		return -1;
	/*
	 * login_hours are the server's local time: the zone (TZ, else
	 * /etc/localtime) is read here, once, so that every monitor forked
	 * from here has it, whatever its sandbox lets it open.
	 */
	tzset();
	/*
	 * The monitors' own filter (sandbox_monitor_shrink), compiled once
	 * here: otherwise every monitor runs libseccomp's compiler at its
	 * first login (CPU, and a heap it keeps for the session).
	 */
	if (seccomp_prepare_monitor(auth_slots_id()) < 0)
		log_warn("seccomp programs not prepared; each monitor compiles "
			 "its own");
	/*
	 * the relay spawner alone loads the certificate and key; one that
	 * does not load (logged) fails the start as any spawner does
	 */
	if (spawners_start(L, 1) < 0 || pgauth_start(L) < 0)
		return -1;
	/*
	 * metrics_listen after the take-over: the old listener closes its
	 * metrics socket in upgrade_step just before it sends UPG_GO
	 */
	if (L->upgrade_fd >= 0 && take_over(L) < 0)
		return -1;
	return metrics_start(L);
}

int
listener_bind(struct listener *L)
{
	if (bind_all(L) == 0)
		return 0;
	auth_slots_end(); /* rootless, the set would outlive the server */
	return -1;
}

static size_t
count_peer(const struct sockaddr_storage *peer)
{
	size_t i, n = 0;

	for (i = 0; i < nslots; i++)
		n += !slots[i].proxy_wait &&
		    addr_same_host(&slots[i].peer, peer);
	return n;
}

static void
slot_drop(size_t i)
{
	if (slots[i].pidfd >= 0) {
		close(slots[i].pidfd);
		nadopted--;
	}
	slots[i] = slots[--nslots];
}

/*
 * The listener's lines about one session carry its id in the log
 * record (log_file), as the monitor's do; the text line is unchanged.
 */
static void
slot_stamp(const struct slot *s)
{
	char host[ADDR_STR_MAX];

	if (s == NULL) {
		log_set_session(0, NULL, 0);
		return;
	}
	addr_to_str(&s->peer, host, sizeof(host));
	log_set_session(s->id, host, addr_port(&s->peer));
}

static int
slot_add(pid_t pid, const struct sockaddr_storage *peer, unsigned long id)
{
	size_t i;

	/* an adopted session whose pid is ours now has ended */
	for (i = 0; nadopted > 0 && i < nslots; i++)
		if (slots[i].pid == pid && slots[i].pidfd >= 0)
			slot_drop(i--);
	/* a failed grow changes nothing: no write past the table */
	if (grow_array(&slots, &capslots, nslots + 1, sizeof(*slots), 64,
		SIZE_MAX / sizeof(*slots)) < 0)
		return -1;
	slots[nslots] = (struct slot){ .pid = pid,
		.peer = *peer,
		.since_ms = sys_now_ms(),
		.pidfd = -1,
		.id = id };
	nslots++;
	return 0;
}

/* ---- max_prelogin: sessions not logged in ---- */

static size_t
logged_in_count(void)
{
	size_t i, n = 0;

	for (i = 0; i < nslots; i++)
		n += slots[i].logged_in != 0;
	return n;
}

static size_t
prelogin_count(void)
{
	return nslots - logged_in_count();
}

/* 3/4 of max_prelogin or more: the shorter login timeout applies. */
static int
prelogin_busy(const struct conf *c)
{
	return prelogin_count() * 4 >= c->max_prelogin * 3;
}

/*
 * While busy, a session not logged in for login_timeout_busy seconds
 * is asked to end (SIGTERM to its monitor: the client gets 421), once.
 */
static void
prelogin_trim(const struct conf *c)
{
	int64_t now = sys_now_ms(), after;
	size_t i;

	if (!prelogin_busy(c))
		return;
	after = (int64_t)c->login_timeout_busy * 1000;
	for (i = 0; i < nslots; i++) {
		if (slots[i].logged_in || slots[i].trimmed ||
		    now - slots[i].since_ms < after)
			continue;
		slots[i].trimmed = 1;
		slot_kill(&slots[i], SIGTERM);
		slot_stamp(&slots[i]);
		log_info("session pid %ld not logged in after %lu s while "
			 "%zu of max_prelogin %lu are: closed",
		    (long)slots[i].pid, c->login_timeout_busy, prelogin_count(),
		    c->max_prelogin);
		slot_stamp(NULL);
	}
}

/*
 * LSN_LOGIN_STATE from the monitor pid (already checked to be one of
 * ours): 1 when frame was that type (applied, or dropped and logged).
 */
static int
report_login_state(const unsigned char *frame, size_t n, pid_t pid)
{
	char user[KF_USER_MAX + 1];
	struct ipc_msg msg;
	uint32_t state;
	size_t i;

	if (ipc_decode(&msg, frame, n) < 0 || msg.type != LSN_LOGIN_STATE)
		return 0;
	if (ipc_get_u32(&msg, &state) < 0 || state > 1 ||
	    ipc_get_str(&msg, user, sizeof(user)) < 0 || ipc_end(&msg) < 0 ||
	    (state == 1) != (user[0] != '\0')) {
		log_warn("report dropped: malformed login state from pid %ld",
		    (long)pid);
		return 1;
	}
	for (i = 0; i < nslots; i++)
		if (slots[i].pid == pid) {
			slots[i].logged_in = (int)state;
			slots[i].since_ms = sys_now_ms();
			slots[i].trimmed = 0;
			who_login(&slots[i].who, user, slots[i].since_ms);
			if (state == 0) /* REIN, or a login given up */
				slots[i].resv[0] = '\0';
		}
	return 1;
}

/* ---- max_sessions: places reserved per user (LSN_SESSION_RESERVE) ---- */

/* Sessions other than self holding a place for user (of that kind). */
static size_t
resv_count(const struct slot *self, const char *user, int anon)
{
	size_t i, n = 0;

	for (i = 0; i < nslots; i++)
		n += &slots[i] != self && slots[i].resv[0] != '\0' &&
		    slots[i].resv_anon == anon &&
		    strcmp(slots[i].resv, user) == 0;
	return n;
}

/*
 * LSN_SESSION_RESERVE from pid (one of ours): a place for its user
 * when fewer than max other sessions hold one, and the verdict queued
 * to that monitor. Reports are read one at a time: two logins at once
 * cannot both take the last place. 1 when the frame was one (taken,
 * or dropped and logged), 0 when it is another type.
 */
static int
report_reserve(const unsigned char *frame, size_t n, struct slot *sl)
{
	char user[KF_USER_MAX + 1];
	uint32_t anon, max, seq;
	struct ipc_msg msg;
	union sigval val;
	int ok;

	if (ipc_decode(&msg, frame, n) < 0 || msg.type != LSN_SESSION_RESERVE)
		return 0;
	if (ipc_get_str(&msg, user, sizeof(user)) < 0 ||
	    ipc_get_u32(&msg, &anon) < 0 || ipc_get_u32(&msg, &max) < 0 ||
	    ipc_get_u32(&msg, &seq) < 0 || ipc_end(&msg) < 0 ||
	    user[0] == '\0' || anon > 1 || max == 0 ||
	    max > KF_USER_SESSIONS_MAX || seq == 0 || seq > INT32_MAX / 2) {
		log_warn("report dropped: malformed LSN_SESSION_RESERVE from "
			 "pid %ld",
		    (long)sl->pid);
		return 1;
	}
	ok = resv_count(sl, user, (int)anon) < max;
	if (ok) {
		memcpy(sl->resv, user, sizeof(sl->resv));
		sl->resv_anon = (int)anon;
	}
	val.sival_int = (int)(seq * 2 + (ok ? 1 : 0));
	if (sigqueue(sl->pid, LSN_PROXY_SIGNAL, val) < 0)
		log_warn("max_sessions verdict not sent to pid %ld: %-s",
		    (long)sl->pid, strerror(errno));
	return 1;
}

/* A monitor's end during a stop: its exit says what its transfer did. */
static void
stop_count(const struct slot *sl, int status)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == SESSION_EXIT_DRAINED)
		stop_drained++;
	else if (WIFEXITED(status) && WEXITSTATUS(status) == SESSION_EXIT_CUT)
		stop_cut++;
	else if (WIFSIGNALED(status) && sl->logged_in)
		stop_cut++; /* SIGKILL after the cut */
}

static void
reaped(pid_t pid, int status)
{
	size_t i;

	if (pid == up.pid && pid > 0) {
		up.pid = 0; /* nothing left to kill */
		upgrade_failed(WIFEXITED(status) && WEXITSTATUS(status) == 1 ?
			"the new listener did not start (its reason is in "
			"the log)" :
			"the new listener ended");
		return;
	}
	if (spawner_ended(pid, status) || lsn_metrics_reaped(pid, status) ||
	    lsn_pgauth_reaped(pid, status) || logd_reaped(pid, status))
		return;
	for (i = 0; i < nslots; i++)
		if (slots[i].pid == pid) {
			if (stopping)
				stop_count(&slots[i], status);
			lsn_metrics_gone(slots[i].verifying);
			slot_drop(i);
			break;
		}
}

static void
reap(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		reaped(pid, status);
	adopted_check();
}

static void
refuse(int fd, const char *why, const char *host)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "421 %s\r\n", why);

	(void)!write(fd, line, (size_t)n);
	log_warn("refused %-s: %-s", host, why);
	close(fd);
}

/* refuse(), counted by reason for metrics_listen. */
static void
refuse_mx(int fd, const char *why, const char *host, enum mx_reason r)
{
	lsn_metrics_refused(r);
	refuse(fd, why, host);
}

/* Socket options on the control connection, shared by all its holders. */
static void
ctrl_options(int fd, const struct conf *c)
{
	struct timeval tv = { .tv_sec = (time_t)c->data_timeout };
	int on = 1;

	setsockopt(fd, SOL_SOCKET, SO_OOBINLINE, &on, sizeof(on));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void
service_lookup(const struct conf *c, struct monitor_args *a)
{
	int force = accounts_stale;

	accounts_stale = 0;
	auth_account(&service, c->service_user, force);
	if (geteuid() == 0)
		auth_anon_lookup(c, force); /* anon_user likewise */
	a->service_ok = service.ok;
	a->service_uid = service.uid;
	a->service_gid = service.gid;
	if (c->anon_upload_owner[0] != '\0' && geteuid() == 0) {
		auth_account(&owner, c->anon_upload_owner, force);
		a->owner_ok = owner.ok;
		a->owner_uid = owner.uid;
		a->owner_gid = owner.gid;
	}
}

static int proxy_next SYS_HOT; /* the session start_session makes is proxied */

static void
start_session(struct listener *L, int fd, const struct sockaddr_storage *peer,
    int implicit)
{
	struct monitor_args a = { .conf = &L->conf,
		.inline_fd = L->inline_fd,
		.ctrl_fd = fd,
		.peer = *peer,
		.report_fd = report_wr,
		.implicit = implicit,
		.proxy = proxy_next,
		.tls_ready = tls_ready };
	socklen_t len = sizeof(a.local);
	size_t i;
	pid_t pid;

	for (i = 0; i < SPAWN_ROLES; i++)
		a.spawn_chan[i] = spawners[i].chan;

	getsockname(fd, (struct sockaddr *)&a.local, &len);
	ctrl_options(fd, &L->conf);
	service_lookup(&L->conf, &a);
	a.id = next_id++;
	if ((pid = fork()) < 0) {
		refuse(fd, "Cannot start a session.", "-");
		return;
	}
	if (pid == 0) {
		for (i = 0; i < L->nfds; i++)
			close(L->fds[i]);
		close(report_rd);
		if (admin_fd >= 0)
			close(admin_fd);
		upgrade_forget();
		spawn_forget_exe();
		lsn_metrics_forget();
		lsn_pgauth_forget();
		signals_reset();
		log_pipe_hold(0); /* a monitor's lines queue for kf-log */
		monitor_run(&a);
	}
	close(fd);
	lsn_metrics_session();
	if (slot_add(pid, peer, a.id) < 0)
		log_err("session table full");
	else
		who_init(&slots[nslots - 1].who, a.id, sys_now_ms(),
		    (int64_t)time(NULL));
	slots[nslots - 1].proxy_wait = a.proxy;
}

/*
 * A banned address, or one over max_conn_rate, is refused (1) before
 * the session limits are looked at; a refused attempt still counts
 * toward the rate.
 */
static int
policy_refuses(struct listener *L, int fd, const struct sockaddr_storage *peer,
    const char *host)
{
	struct bantab_policy p = policy_of(&L->conf);
	struct bantab_addr a;

	if (bantab_addr_from_sockaddr(peer, &a) < 0)
		return 0;
	switch (bantab_connect(bans, &p, &a, sys_now_ms())) {
	case BANTAB_BANNED:
		lsn_metrics_refused(MX_R_BAN);
		refuse(fd, "Your address is banned; try again later.", host);
		return 1;
	case BANTAB_RATE:
		lsn_metrics_refused(MX_R_RATE);
		refuse(fd, "Too many connections from your address; slow down.",
		    host);
		return 1;
	default:
		return 0;
	}
}

/*
 * A proxy listener: only proxy_from may connect (anyone else is closed
 * without a byte); the per-address checks wait for the header's
 * address (LSN_PROXY), the global ones apply now.
 */
static void
accept_proxied(struct listener *L, int fd, const struct sockaddr_storage *peer,
    const char *host)
{
	if (addr_list_match(L->conf.proxy_from, peer) != 1) {
		log_warn("refused %-s: not in proxy_from (a proxy listener); "
			 "closed",
		    host);
		close(fd);
	} else if (nslots >= L->conf.max_clients)
		refuse(fd, "Too many connections; try again later.", host);
	else if (prelogin_count() >= L->conf.max_prelogin)
		refuse(fd,
		    "Too many connections not logged in; try again "
		    "later.",
		    host);
	else {
		proxy_next = 1;
		start_session(L, fd, peer, 0);
		proxy_next = 0;
	}
}

/* LSN_PROXY's address checks, as accept_one's for a direct client. */
static enum lsn_proxy_verdict
proxy_admission(struct listener *L, const struct sockaddr_storage *ss)
{
	struct bantab_policy p = policy_of(&L->conf);
	struct bantab_addr a;

	if (L->conf.deny_from[0] != '\0' &&
	    addr_list_match(L->conf.deny_from, ss) != 0)
		return LSN_PROXY_DENIED;
	if (L->conf.allow_from[0] != '\0' &&
	    addr_list_match(L->conf.allow_from, ss) != 1)
		return LSN_PROXY_DENIED;
	if (bantab_addr_from_sockaddr(ss, &a) == 0)
		switch (bantab_connect(bans, &p, &a, sys_now_ms())) {
		case BANTAB_BANNED:
			return LSN_PROXY_BANNED;
		case BANTAB_RATE:
			return LSN_PROXY_RATE;
		default:
			break;
		}
	if (L->conf.max_per_ip > 0 && count_peer(ss) >= L->conf.max_per_ip)
		return LSN_PROXY_PER_IP;
	return LSN_PROXY_ADMIT;
}

/* LSN_PROXY's client address and port (1..65535) into ss. */
static int
proxy_report_sockaddr(uint32_t fam, const uint8_t *a, size_t n, uint32_t port,
    struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	if (port < 1 || port > 65535)
		return -1;
	if (fam == 4 && n == 4) {
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a, 4);
		s4->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (fam == 6 && n == 16) {
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a, 16);
		s6->sin6_port = htons((uint16_t)port);
		return 0;
	}
	return -1;
}

/* LSN_PROXY's payload: local, or the client's address and port. */
static int
proxy_report_addr(struct ipc_msg *msg, int *local, struct sockaddr_storage *ss)
{
	uint32_t loc, fam, port;
	uint8_t a[16];
	size_t n;

	memset(ss, 0, sizeof(*ss));
	if (ipc_get_u32(msg, &loc) < 0 || ipc_get_u32(msg, &fam) < 0 ||
	    ipc_get_blob(msg, a, sizeof(a), &n) < 0 ||
	    ipc_get_u32(msg, &port) < 0 || ipc_end(msg) < 0 || loc > 1)
		return -1;
	*local = (int)loc;
	if (loc)
		return fam == 0 && n == 0 && port == 0 ? 0 : -1;
	return proxy_report_sockaddr(fam, a, n, port, ss);
}

/*
 * LSN_PROXY from the monitor of a session still waiting for its header:
 * its client address, admitted (the slot counts under it from now on)
 * or refused, and the verdict queued to that monitor. 1 when the frame
 * was one (taken or dropped and logged), 0 when it is another type.
 */
static int
report_proxy(struct listener *L, const unsigned char *frame, size_t n,
    pid_t pid)
{
	enum lsn_proxy_verdict v = LSN_PROXY_ADMIT;
	struct sockaddr_storage ss;
	char host[ADDR_STR_MAX], via[ADDR_STR_MAX];
	struct ipc_msg msg;
	struct slot *sl = NULL;
	union sigval val;
	size_t i;
	int local;

	if (ipc_decode(&msg, frame, n) < 0 || msg.type != LSN_PROXY)
		return 0;
	for (i = 0; i < nslots; i++)
		if (slots[i].pid == pid && slots[i].proxy_wait == 1)
			sl = &slots[i];
	if (sl == NULL || proxy_report_addr(&msg, &local, &ss) < 0) {
		log_warn("report dropped: %-s LSN_PROXY from pid %ld",
		    sl == NULL ? "unexpected" : "malformed", (long)pid);
		return 1;
	}
	if (!local && (v = proxy_admission(L, &ss)) == LSN_PROXY_ADMIT)
		sl->peer = ss;
	/* refused: it ends, counted under no address until then */
	sl->proxy_wait = v == LSN_PROXY_ADMIT ? 0 : 2;
	addr_to_str(&sl->peer, via, sizeof(via));
	if (v != LSN_PROXY_ADMIT) {
		addr_to_str(&ss, host, sizeof(host));
		log_warn("refused %-s (via proxy %-s): %-s", host, via,
		    proxy_verdict_text((int)v));
	}
	val.sival_int = (int)v;
	if (sigqueue(pid, LSN_PROXY_SIGNAL, val) < 0)
		log_warn("PROXY verdict not sent to pid %ld: %-s", (long)pid,
		    strerror(errno));
	return 1;
}

static void
accept_one(struct listener *L, size_t which)
{
	int lfd = L->fds[which];
	struct sockaddr_storage peer;
	char host[ADDR_STR_MAX];
	socklen_t len = sizeof(peer);
	int fd;

	fd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	addr_to_str(&peer, host, sizeof(host));
	if (L->conf.listen[which].proxy) {
		accept_proxied(L, fd, &peer, host);
		return;
	}
	/* the lists were checked at load: a non-zero deny result refuses */
	if (L->conf.deny_from[0] != '\0' &&
	    addr_list_match(L->conf.deny_from, &peer) != 0)
		refuse_mx(fd, "Access denied.", host, MX_R_ALLOW_DENY);
	else if (L->conf.allow_from[0] != '\0' &&
	    addr_list_match(L->conf.allow_from, &peer) != 1)
		refuse_mx(fd, "Access denied.", host, MX_R_ALLOW_DENY);
	else if (policy_refuses(L, fd, &peer, host))
		;
	else if (nslots >= L->conf.max_clients)
		refuse_mx(fd, "Too many connections; try again later.", host,
		    MX_R_MAX_CLIENTS);
	else if (prelogin_count() >= L->conf.max_prelogin)
		refuse_mx(fd,
		    "Too many connections not logged in; try again "
		    "later.",
		    host, MX_R_MAX_PRELOGIN);
	else if (L->conf.max_per_ip > 0 &&
	    count_peer(&peer) >= L->conf.max_per_ip)
		refuse_mx(fd, "Too many connections from your address.", host,
		    MX_R_PER_IP);
	else if (L->conf.listen[which].implicit && !tls_ready)
		refuse_mx(fd, "TLS is not available.", host, MX_R_TLS);
	else
		start_session(L, fd, &peer, L->conf.listen[which].implicit);
}

static struct slot *
slot_of_pid(pid_t pid)
{
	size_t i;

	for (i = 0; i < nslots; i++)
		if (slots[i].pid == pid)
			return &slots[i];
	return NULL;
}

/* ---- keepftpd who and kick (who.c, admin.c) ---- */

/*
 * LSN_STATUS from the monitor pid (one of ours): applied to that pid's
 * own slot, never one the message names (it names none). 1 taken, -1
 * malformed, 0 another type.
 */
static int
report_who(const unsigned char *frame, size_t n, pid_t pid)
{
	struct ipc_msg msg;
	size_t i;

	if (ipc_decode(&msg, frame, n) < 0 || msg.type != LSN_STATUS)
		return 0;
	for (i = 0; i < nslots; i++)
		if (slots[i].pid == pid &&
		    who_apply(&slots[i].who, &msg, sys_now_ms()) < 0)
			return -1;
	return 1;
}

/* Rows from index from, at most max; how many. */
static size_t
who_rows(struct who_line *out, size_t max, size_t from)
{
	int64_t now = sys_now_ms();
	size_t i;

	for (i = 0; i < max && from + i < nslots; i++)
		who_line_of(&slots[from + i].who, slots[from + i].pid,
		    &slots[from + i].peer, now, &out[i]);
	return i;
}

/* SIGUSR2 to every monitor whose row matches: its client gets 421. */
static size_t
who_kick(int (*match)(const struct who_line *, const void *), const void *arg)
{
	int64_t now = sys_now_ms();
	struct who_line l;
	size_t i, n = 0;

	for (i = 0; i < nslots; i++) {
		who_line_of(&slots[i].who, slots[i].pid, &slots[i].peer, now,
		    &l);
		if (!match(&l, arg) || kill(slots[i].pid, SIGUSR2) < 0)
			continue;
		log_info("kick: session s%lu (pid %ld, %-s) ended by admin",
		    (unsigned long)l.id, (long)slots[i].pid, l.addr);
		n++;
	}
	return n;
}

static const struct admin_who admin_who = {
	.rows = who_rows,
	.kick = who_kick,
};

/*
 * One report: its sender must be one of our monitors. 0 when taken,
 * else -1 with the reason in why (the caller logs it, rate-limited).
 */
static int
report_one(struct listener *L, const unsigned char *frame, size_t n,
    const struct ucred *cr, struct rate *bucket, char *why, size_t whysz)
{
	struct bantab_policy p = policy_of(&L->conf);
	struct slot *sl;
	struct bantab_addr a;
	struct ipc_msg msg;
	char host[BANTAB_ADDR_STR];
	int r;

	if (cr == NULL || (sl = slot_of_pid(cr->pid)) == NULL) {
		snprintf(why, whysz, "sender pid %ld is not a session monitor",
		    cr != NULL ? (long)cr->pid : -1L);
		return -1;
	}
	if (report_login_state(frame, n, cr->pid) ||
	    report_proxy(L, frame, n, cr->pid))
		return 0;
	if (sl->proxy_wait) {
		snprintf(why, whysz, "pid %ld reported before its PROXY header",
		    (long)cr->pid);
		return -1;
	}
	if (lsn_metrics_report(frame, n, &sl->verifying) ||
	    report_reserve(frame, n, sl))
		return 0;
	if ((r = report_who(frame, n, cr->pid)) != 0) {
		if (r > 0)
			return 0;
		snprintf(why, whysz, "malformed status from pid %ld",
		    (long)cr->pid);
		return -1;
	}
	if (ipc_decode(&msg, frame, n) < 0 || msg.type != LSN_LOGIN_FAILED ||
	    ipc_end(&msg) < 0) {
		snprintf(why, whysz,
		    "malformed message (%zu bytes) from pid "
		    "%ld",
		    n, (long)cr->pid);
		return -1;
	}
	if (!rate_take(bucket, sys_now_ms(), KF_REPORT_RATE, KF_REPORT_BURST)) {
		snprintf(why, whysz, "over %d reports a second",
		    KF_REPORT_RATE);
		return -1;
	}
	if (bantab_addr_from_sockaddr(&sl->peer, &a) < 0 ||
	    !bantab_fail(bans, &p, &a, sys_now_ms()))
		return 0;
	bantab_addr_to_str(&a, host, sizeof(host));
	slot_stamp(sl); /* the session whose failure made the ban */
	log_warn("ban: %-s banned for %lu s (%lu failed logins within %lu s)",
	    host, L->conf.ban_seconds, L->conf.ban_failures,
	    L->conf.ban_window);
	slot_stamp(NULL);
	if (L->conf.pg_bans) /* for the other nodes: keepftpd_bans */
		lsn_pgauth_ban(host, L->conf.ban_seconds);
	return 0;
}

/*
 * pg_bans: bans read from keepftpd_bans by kf-pgauth (another node's,
 * or this one's coming back), applied for at most ban_seconds. An
 * address banned here already keeps the later of the two ends.
 */
static void
pg_bans_read(struct listener *L)
{
	char host[BANTAB_ADDR_STR + 1];
	struct bantab_addr a;
	int64_t ms, now, until;
	uint32_t left;
	int i, r;

	for (i = 0; i < KF_PG_BANS_PER_TICK; i++) {
		if ((r = lsn_pgauth_seen(&a, host, sizeof(host), &left)) > 0)
			return;
		if (r < 0) {
			log_warn("kf-pgauth: a malformed ban message; dropped");
			continue;
		}
		now = sys_now_ms();
		ms = (int64_t)left;
		if (ms > (int64_t)L->conf.ban_seconds * 1000)
			ms = (int64_t)L->conf.ban_seconds * 1000;
		if (bantab_until(bans, &a, now, &until) && until >= now + ms)
			continue; /* held already, as long or longer */
		bantab_ban(bans, &a, now, ms);
		log_warn("ban: %-s banned for %lld s (from the users database)",
		    host, (long long)((ms + 999) / 1000));
	}
}

/*
 * Every queued report (before any reap, so that senders are known).
 * Reports from our monitors are taken at KF_REPORT_RATE (burst
 * KF_REPORT_BURST); a refused datagram never costs a token, so a flood
 * cannot crowd out a monitor's report. What is dropped is said once
 * with its reason, then counted: at most one line per
 * KF_DROP_SUMMARY_MS, never one per datagram.
 */
static void
reports_read(struct listener *L, int fd)
{
	static struct rate bucket SYS_HOT;
	static unsigned long dropped SYS_HOT;
	static int64_t said_ms = -KF_DROP_SUMMARY_MS;
	unsigned char frame[KF_LSN_MSG_MAX] SYS_UNINIT; /* recvmsg fills it */
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(struct ucred))];
	} cm;
	struct iovec iov = { frame, sizeof(frame) };
	struct msghdr mh;
	struct cmsghdr *c;
	const struct ucred *cr;
	char why[128];
	int64_t now;
	ssize_t n;

	for (;;) {
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cm.b;
		mh.msg_controllen = sizeof(cm.b);
		n = sys_recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0)
			break;
		cr = NULL;
		for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET &&
			    c->cmsg_type == SCM_CREDENTIALS &&
			    c->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
				cr = (const struct ucred *)CMSG_DATA(c);
		now = sys_now_ms();
		why[0] = '\0';
		if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
			snprintf(why, sizeof(why), "truncated");
		else if (report_one(L, frame, (size_t)n, cr, &bucket, why,
			     sizeof(why)) == 0)
			continue;
		if (now - said_ms < KF_DROP_SUMMARY_MS) {
			dropped++;
			continue;
		}
		if (dropped > 0)
			log_warn("report dropped: %lu datagram(s) since the "
				 "last line; this one: %-s",
			    dropped + 1, why);
		else
			log_warn("report dropped: %-s", why);
		dropped = 0;
		said_ms = now;
	}
}

static void
log_expired(const struct bantab_addr *a, void *arg)
{
	char host[BANTAB_ADDR_STR];

	(void)arg;
	bantab_addr_to_str(a, host, sizeof(host));
	log_info("ban: %-s expired", host);
}

/* Ends the bans whose time is over, at most twice a second. */
static void
bans_sweep(void)
{
	int64_t now = sys_now_ms();

	if (bantab_evicted_bans(bans) != evicted_seen) {
		log_warn("ban table full: %lu ban(s) pushed out so far",
		    bantab_evicted_bans(bans));
		evicted_seen = bantab_evicted_bans(bans);
	}
	if (bantab_nbanned(bans) == 0 || now - last_sweep < 500)
		return;
	last_sweep = now;
	bantab_expire(bans, now, log_expired, NULL);
}

static int
is_session(pid_t pid)
{
	return pid > 0 && slot_of_pid(pid) != NULL;
}

static void
do_reload(struct listener *L)
{
	struct spawner relay;
	struct conf *c;

	if (L->reload == NULL) {
		log_info("SIGHUP: no configuration file to reload");
		return;
	}
	if ((c = malloc(sizeof(*c))) == NULL)
		return;
	if (L->reload(c) < 0) {
		log_err("configuration reload failed; keeping the old one");
		free(c);
		return;
	}
	/* listen lines (and implicit flags) stay those of the start */
	memcpy(c->listen, L->conf.listen, sizeof(c->listen));
	c->listen_count = L->conf.listen_count;
	/* and metrics_listen too: the socket, the page, kf-metrics */
	memcpy(c->metrics_listen, L->conf.metrics_listen,
	    sizeof(c->metrics_listen));
	/* and the users database: kf-pgauth keeps its connections */
	memcpy(c->users_backend, L->conf.users_backend,
	    sizeof(c->users_backend));
	memcpy(c->pg_conninfo, L->conf.pg_conninfo, sizeof(c->pg_conninfo));
	c->pg_pool = L->conf.pg_pool;
	c->pg_timeout = L->conf.pg_timeout;
	/* and the verification cap: its semaphore was made at start */
	if (c->auth_concurrency != L->conf.auth_concurrency)
		log_warn("auth_concurrency stays %lu until restart (the "
			 "configuration says %lu)",
		    L->conf.auth_concurrency, c->auth_concurrency);
	c->auth_concurrency = L->conf.auth_concurrency;
	accounts_stale = 1; /* look the accounts up again */
	/*
	 * TLS settings live in the relay spawner's contexts, the rest in
	 * the struct: a TLS part that does not load there keeps the whole
	 * old configuration, old spawners included, never old contexts
	 * beside new options (the reason is logged by spawn_start).
	 */
	if (relay_prepare(c, &relay) < 0) {
		log_err(
		    "configuration reload failed: its TLS part does not "
		    "load; keeping the whole old configuration (certificate, "
		    "TLS settings and every other option)");
		free(c);
		return;
	}
	if (tls_configured(c))
		log_info("TLS certificate reloaded: tls_cert=%s", c->tls_cert);
	L->conf = *c;
	/* new sessions get new spawners; old ones end with theirs */
	relay_install(&relay);
	if (spawners_start(L, 0) < 0)
		log_err("a spawner did not start; retrying");
	log_info("configuration reloaded; new sessions use it "
		 "(listen addresses are unchanged until restart)");
	free(c);
}

static void
signal_sessions(int sig)
{
	size_t i;

	for (i = 0; i < nslots; i++)
		slot_kill(&slots[i], sig);
}

/* Reaps until no session is left, until (ms), or (stop_on_term) a signal. */
static void
wait_sessions(const sigset_t *mask, int64_t until, int stop_on_term)
{
	struct timespec ts = { 0, 100 * 1000000 };
	size_t said = nslots;

	while (
	    nslots > 0 && sys_now_ms() < until && !(stop_on_term && got_term)) {
		ppoll(NULL, 0, &ts, mask);
		reap();
		if (nslots != said) /* the drain's progress */
			notify_stopping(said = nslots);
	}
}

/*
 * The stop (docs/OPERATIONS.md). Accepting ends at once. The drain:
 * SIGTERM to every monitor; idle and not logged-in sessions get 421 at
 * once, a running transfer gets up to shutdown_grace seconds. The cut,
 * at that deadline or at a second SIGTERM/SIGINT/SIGQUIT:
 * SESSION_SIG_CUT to the monitors (426, a partial STOR discarded), then SIGKILL after
 * CUT_GRACE_MS.
 */
static void
stop_all(struct listener *L, const sigset_t *mask)
{
	int64_t grace = (int64_t)L->conf.shutdown_grace * 1000;
	size_t adopted0 = nadopted;
	int status;
	pid_t pid;
	size_t i;

	for (i = 0; i < L->nfds; i++)
		close(L->fds[i]);
	lsn_metrics_stop();
	lsn_pgauth_stop();
	admin_close(admin_fd, admin_path);
	admin_fd = -1;
	notify_stopping(nslots);
	stopping = 1;
	log_info("stopping: %zu session(s) to end; running transfers get "
		 "up to %lu s (shutdown_grace)",
	    nslots, L->conf.shutdown_grace);
	got_term = 0;
	signal_sessions(SIGTERM);
	wait_sessions(mask, sys_now_ms() + grace, 1);
	if (nslots > 0) {
		if (got_term)
			log_info("SIG%-s again: cutting %zu session(s) now",
			    sigabbrev_np(got_term), nslots);
		else
			log_info("shutdown_grace over: cutting %zu session(s)",
			    nslots);
		signal_sessions(SESSION_SIG_CUT);
		wait_sessions(mask, sys_now_ms() + CUT_GRACE_MS, 0);
	}
	signal_sessions(SIGKILL);
	while (nslots > nadopted && (pid = waitpid(-1, &status, 0)) > 0)
		reaped(pid, status);
	adopted_wait(CUT_GRACE_MS);
	spawners_stop();
	log_info("drain: %u transfer(s) finished, %u cut", stop_drained,
	    stop_cut);
	if (adopted0 > 0)
		log_info(
		    "drain: %zu session(s) of the listener before the "
		    "upgrade ended too; its own log counts their transfers",
		    adopted0);
}

/* STATUS= for the service manager, when the counts have changed. */
static void
status_changed(void)
{
	static size_t said_n = (size_t)-1, said_in = (size_t)-1;
	size_t in = logged_in_count();

	lsn_metrics_gauges(nslots - in, in, bantab_nbanned(bans));
	if (nslots == said_n && in == said_in)
		return;
	said_n = nslots;
	said_in = in;
	notify_status(nslots, in);
}

int
listener_run(struct listener *L)
{
	struct timespec second = { 1, 0 };
	struct pollfd p[KF_LISTEN_MAX + 5];
	sigset_t mask;
	size_t i;

	upgrading_L = L;
	mask = run_mask;
	signals_each(unblock_one, &mask);
	log_info("keepftpd started; %zu listener(s)", L->nfds);
	/* bound, spawners up (listener_bind): ready for the service manager */
	notify_ready(nslots, logged_in_count());
	while (!got_term && !retired) {
		for (i = 0; i < L->nfds; i++)
			p[i] = (struct pollfd){ .fd = L->fds[i],
				.events = POLLIN };
		p[L->nfds] = (struct pollfd){ .fd = report_rd,
			.events = POLLIN };
		p[L->nfds + 1] = (struct pollfd){ .fd = admin_fd,
			.events = POLLIN };
		p[L->nfds + 2] = (struct pollfd){ .fd = report_old,
			.events = POLLIN };
		p[L->nfds + 3] = (struct pollfd){ .fd = up.chan,
			.events = POLLIN };
		p[L->nfds + 4] = (struct pollfd){ .fd = L->conf.pg_bans ?
			    lsn_pgauth_bans_fd() :
			    -1,
			.events = POLLIN };
		/* while bans are held, max_prelogin is near, a spawner is
		 * down or an upgrade runs, wake each second to act on time */
		if (ppoll(p, L->nfds + 5,
			bantab_nbanned(bans) > 0 || prelogin_busy(&L->conf) ||
				spawner_down() || up.pid > 0 || nadopted > 0 ||
				metrics_down || pgauth_down || logd_down() ?
			    &second :
			    NULL,
			&mask) > 0) {
			adopted_check(); /* the counts before any accept */
			for (i = 0; i < L->nfds; i++)
				if (p[i].revents & POLLIN)
					accept_one(L, i);
			if (p[L->nfds + 1].revents & POLLIN)
				admin_serve(admin_fd, bans, &L->conf,
				    is_session, upgrade_start, &admin_who);
			if (up.pid > 0 && p[L->nfds + 3].revents != 0)
				upgrade_step(L);
		}
		if (up.pid > 0 && sys_now_ms() > up.deadline)
			upgrade_failed(
			    "the new listener was not ready in time");
		reports_read(L, report_rd);
		if (report_old >= 0)
			reports_read(L, report_old);
		if (L->conf.pg_bans)
			pg_bans_read(L);
		bans_sweep();
		prelogin_trim(&L->conf);
		if (got_other[SIGUSR1]) { /* log rotation (logd.c) */
			got_other[SIGUSR1] = 0;
			logd_reopen(&L->conf, "SIGUSR1");
		}
		signals_log();
		if (got_chld) {
			got_chld = 0;
			reap();
		}
		if (got_hup) {
			got_hup = 0;
			notify_reloading();
			do_reload(L);
			logd_reopen(&L->conf, "SIGHUP");
			notify_ready(nslots, logged_in_count());
		}
		spawners_restart(L);
		metrics_down = lsn_metrics_tick();
		pgauth_down = lsn_pgauth_tick();
		logd_tick(&L->conf);
		status_changed();
	}
	if (retired) {
		retire(L, &mask);
		auth_slots_end();
		log_info("stopped");
		return 0;
	}
	if (up.pid > 0)
		upgrade_failed("the server is stopping");
	log_info("SIG%-s: stopping", sigabbrev_np(got_term));
	stop_all(L, &mask);
	auth_slots_end();
	log_info("stopped");
	logd_stop();
	return 0;
}
