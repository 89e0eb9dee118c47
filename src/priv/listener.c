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
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
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
#include "logd.h"
#include "monitor.h"
#include "notify.h"
#include "spawn.h"
#include "../proto/session.h"

/* After the cut: what the monitors get to end before SIGKILL. */
#define CUT_GRACE_MS 8000

struct slot {
	pid_t pid;
	struct sockaddr_storage peer;
	int64_t since_ms; /* start, or the last REIN */
	int logged_in; /* LSN_LOGIN_STATE */
	int trimmed; /* SIGTERM sent by prelogin_trim */
	unsigned long id; /* the session id its monitor logs with */
};

static volatile sig_atomic_t got_term, got_hup, got_chld;
static sigset_t run_mask; /* the mask before signals_setup blocked ours */
static struct slot *slots;
static size_t nslots, capslots;
static unsigned long next_id = 1;
static struct bantab *bans; /* rates, failures, bans by address */
static int report_rd = -1; /* failed logins from the monitors */
static int report_wr = -1; /* the monitors' end (workers close it) */
static int64_t last_sweep;
static unsigned long evicted_seen;
static int admin_fd = -1; /* `keepftpd ban` (admin_socket) */
static struct spawner spawners[SPAWN_ROLES]; /* pid 0: not running */
static int64_t spawner_died[SPAWN_ROLES]; /* when, for the restart */
static char admin_path[KF_CONF_VALUE_MAX + 1];
static int stopping; /* stop_all: count the monitors' ends */
static unsigned stop_drained, stop_cut; /* transfers, for the last line */

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

/*
 * Socket activation: the sockets the service manager passed replace
 * the listen lines (their addresses are read back for the log and the
 * sessions; FileDescriptorName=implicit marks implicit FTPS). Returns
 * how many, 0 when none was passed.
 */
static int
activated(struct listener *L)
{
	int fds[KF_LISTEN_MAX], implicit[KF_LISTEN_MAX], n, i, on = 1;
	char host[ADDR_STR_MAX];
	struct conf_listen *l;

	if ((n = notify_listen_fds(fds, implicit, KF_LISTEN_MAX)) <= 0)
		return n;
	for (i = 0; i < n; i++) {
		l = &L->conf.listen[i];
		memset(l, 0, sizeof(*l));
		l->len = sizeof(l->addr);
		if (getsockname(fds[i], (struct sockaddr *)&l->addr, &l->len) <
			0 ||
		    sys_set_nonblock(fds[i], 1) < 0) {
			log_err("passed socket %d: %-s", fds[i],
			    strerror(errno));
			return -1;
		}
		(void)setsockopt(fds[i], SOL_SOCKET, SO_REUSEADDR, &on,
		    sizeof(on));
		sys_set_cloexec(fds[i]);
		l->implicit = implicit[i];
		L->fds[L->nfds++] = fds[i];
		addr_to_str(&l->addr, host, sizeof(host));
		log_info("listening on %-s port %u%-s (passed by the service "
			 "manager)",
		    host, addr_port(&l->addr),
		    l->implicit ? " (implicit TLS)" : "");
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
		if (spawners[r].pid == pid && pid > 0 && !got_term) {
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

int
listener_bind(struct listener *L)
{
	size_t i;
	int fd, n;

	/*
	 * Signals are caught (blocked until listener_run waits) from here
	 * on: a SIGTERM right after start-up ends the server cleanly.
	 */
	signals_setup(&run_mask);
	for (i = 0; i < SPAWN_ROLES; i++)
		spawners[i].chan = -1;
	if (spawn_init() < 0)
		return -1;
	if ((n = activated(L)) < 0)
		return -1;
	for (i = 0; n == 0 && i < L->conf.listen_count; i++) {
		if ((fd = bind_one(&L->conf.listen[i])) < 0)
			return -1;
		L->fds[L->nfds++] = fd;
	}
	if (geteuid() == 0 && sandbox_prepare_empty_dir(L->conf.empty_dir) < 0)
		return -1;
	/* kf-log enters the empty root: after it exists */
	if (logd_start(&L->conf) < 0)
		return -1;
	if (policy_init() < 0)
		return -1;
	snprintf(admin_path, sizeof(admin_path), "%s", L->conf.admin_socket);
	if ((admin_fd = admin_open(admin_path)) < 0 && admin_path[0] != '\0')
		log_warn("running without an admin socket (keepftpd ban)");
	if (auth_slots_init((unsigned)L->conf.auth_concurrency) < 0)
		return -1;
	/*
	 * The monitors' own filter (sandbox_monitor_shrink), compiled once
	 * here: otherwise every monitor runs libseccomp's compiler at its
	 * first login (CPU, and a heap it keeps for the session).
	 */
	if (seccomp_prepare_monitor() < 0)
		log_warn("seccomp programs not prepared; each monitor compiles "
			 "its own");
	/*
	 * the relay spawner alone loads the certificate and key; one that
	 * does not load (logged) fails the start as any spawner does
	 */
	return spawners_start(L, 1);
}

static size_t
count_peer(const struct sockaddr_storage *peer)
{
	size_t i, n = 0;

	for (i = 0; i < nslots; i++)
		n += addr_same_host(&slots[i].peer, peer);
	return n;
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
	/* a failed grow changes nothing: no write past the table */
	if (grow_array(&slots, &capslots, nslots + 1, sizeof(*slots), 64,
		SIZE_MAX / sizeof(*slots)) < 0)
		return -1;
	slots[nslots] = (struct slot){ .pid = pid,
		.peer = *peer,
		.since_ms = sys_now_ms(),
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
		kill(slots[i].pid, SIGTERM);
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
	struct ipc_msg msg;
	uint32_t state;
	size_t i;

	if (ipc_decode(&msg, frame, n) < 0 || msg.type != LSN_LOGIN_STATE)
		return 0;
	if (ipc_get_u32(&msg, &state) < 0 || state > 1 || ipc_end(&msg) < 0) {
		log_warn("report dropped: malformed login state from pid %ld",
		    (long)pid);
		return 1;
	}
	for (i = 0; i < nslots; i++)
		if (slots[i].pid == pid) {
			slots[i].logged_in = (int)state;
			slots[i].since_ms = sys_now_ms();
			slots[i].trimmed = 0;
		}
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

	if (spawner_ended(pid, status) || logd_reaped(pid, status))
		return;
	for (i = 0; i < nslots; i++)
		if (slots[i].pid == pid) {
			if (stopping)
				stop_count(&slots[i], status);
			slots[i] = slots[--nslots];
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
}

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
		spawn_forget_exe();
		signals_reset();
		log_pipe_hold(0); /* a monitor's lines queue for kf-log */
		monitor_run(&a);
	}
	close(fd);
	if (slot_add(pid, peer, a.id) < 0)
		log_err("session table full");
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
		refuse(fd, "Your address is banned; try again later.", host);
		return 1;
	case BANTAB_RATE:
		refuse(fd, "Too many connections from your address; slow down.",
		    host);
		return 1;
	default:
		return 0;
	}
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
	/* the lists were checked at load: a non-zero deny result refuses */
	if (L->conf.deny_from[0] != '\0' &&
	    addr_list_match(L->conf.deny_from, &peer) != 0)
		refuse(fd, "Access denied.", host);
	else if (L->conf.allow_from[0] != '\0' &&
	    addr_list_match(L->conf.allow_from, &peer) != 1)
		refuse(fd, "Access denied.", host);
	else if (policy_refuses(L, fd, &peer, host))
		;
	else if (nslots >= L->conf.max_clients)
		refuse(fd, "Too many connections; try again later.", host);
	else if (prelogin_count() >= L->conf.max_prelogin)
		refuse(fd,
		    "Too many connections not logged in; try again "
		    "later.",
		    host);
	else if (L->conf.max_per_ip > 0 &&
	    count_peer(&peer) >= L->conf.max_per_ip)
		refuse(fd, "Too many connections from your address.", host);
	else if (L->conf.listen[which].implicit && !tls_ready)
		refuse(fd, "TLS is not available.", host);
	else
		start_session(L, fd, &peer, L->conf.listen[which].implicit);
}

static const struct slot *
slot_of_pid(pid_t pid)
{
	size_t i;

	for (i = 0; i < nslots; i++)
		if (slots[i].pid == pid)
			return &slots[i];
	return NULL;
}

/*
 * One report: its sender must be one of our monitors. 0 when taken,
 * else -1 with the reason in why (the caller logs it, rate-limited).
 */
static int
report_one(struct listener *L, const unsigned char *frame, size_t n,
    const struct ucred *cr, struct rate *bucket, char *why, size_t whysz)
{
	struct bantab_policy p = policy_of(&L->conf);
	const struct slot *sl;
	struct bantab_addr a;
	struct ipc_msg msg;
	char host[BANTAB_ADDR_STR];

	if (cr == NULL || (sl = slot_of_pid(cr->pid)) == NULL) {
		snprintf(why, whysz, "sender pid %ld is not a session monitor",
		    cr != NULL ? (long)cr->pid : -1L);
		return -1;
	}
	if (report_login_state(frame, n, cr->pid))
		return 0;
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
	return 0;
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
reports_read(struct listener *L)
{
	static struct rate bucket;
	static unsigned long dropped;
	static int64_t said_ms = -KF_DROP_SUMMARY_MS;
	unsigned char frame[64];
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
		n = sys_recvmsg(report_rd, &mh,
		    MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
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
		kill(slots[i].pid, sig);
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
	int status;
	pid_t pid;
	size_t i;

	for (i = 0; i < L->nfds; i++)
		close(L->fds[i]);
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
	while (nslots > 0 && (pid = waitpid(-1, &status, 0)) > 0)
		reaped(pid, status);
	spawners_stop();
	log_info("drain: %u transfer(s) finished, %u cut", stop_drained,
	    stop_cut);
}

/* STATUS= for the service manager, when the counts have changed. */
static void
status_changed(void)
{
	static size_t said_n = (size_t)-1, said_in = (size_t)-1;
	size_t in = logged_in_count();

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
	struct pollfd p[KF_LISTEN_MAX + 2];
	sigset_t mask;
	size_t i;

	mask = run_mask;
	signals_each(unblock_one, &mask);
	log_info("keepftpd started; %zu listener(s)", L->nfds);
	/* bound, spawners up (listener_bind): ready for the service manager */
	notify_ready(nslots, logged_in_count());
	while (!got_term) {
		for (i = 0; i < L->nfds; i++)
			p[i] = (struct pollfd){ .fd = L->fds[i],
				.events = POLLIN };
		p[L->nfds] = (struct pollfd){ .fd = report_rd,
			.events = POLLIN };
		p[L->nfds + 1] = (struct pollfd){ .fd = admin_fd,
			.events = POLLIN };
		/* while bans are held, max_prelogin is near or a spawner is
		 * down, wake each second to act on time */
		if (ppoll(p, L->nfds + 2,
			bantab_nbanned(bans) > 0 || prelogin_busy(&L->conf) ||
				spawner_down() || logd_down() ?
			    &second :
			    NULL,
			&mask) > 0) {
			for (i = 0; i < L->nfds; i++)
				if (p[i].revents & POLLIN)
					accept_one(L, i);
			if (p[L->nfds + 1].revents & POLLIN)
				admin_serve(admin_fd, bans, &L->conf,
				    is_session);
		}
		reports_read(L);
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
		logd_tick(&L->conf);
		status_changed();
	}
	log_info("SIG%-s: stopping", sigabbrev_np(got_term));
	stop_all(L, &mask);
	log_info("stopped");
	logd_stop();
	return 0;
}
