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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../auth/auth.h"
#include "../common/log.h"
#include "../fs/hash.h"
#include "../fs/idmap.h"
#include "../proto/session.h"
#include "../common/sys.h"
#include "../net/addr.h"
#include "../sandbox/sandbox.h"
#include "../tls/tls.h"
#include "listener.h"
#include "monitor.h"

#define STOP_GRACE_MS	10000

struct slot {
	pid_t			pid;
	struct sockaddr_storage	peer;
};

static volatile sig_atomic_t got_term, got_hup, got_chld;
static sigset_t run_mask;	/* the mask before signals_setup blocked ours */
static struct slot *slots;
static size_t nslots, capslots;
static unsigned long next_id = 1;

static void
on_signal(int sig)
{
	if (sig == SIGTERM || sig == SIGINT)
		got_term = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGCHLD)
		got_chld = 1;
}

static void
signals_setup(sigset_t *old)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	struct sigaction sa;
	sigset_t block;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&block);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaction(sigs[i], &sa, NULL);
		sigaddset(&block, sigs[i]);
	}
	signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_BLOCK, &block, old);
}

/* In a new monitor: default dispositions, nothing blocked. */
static void
signals_reset(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	sigset_t none;
	size_t i;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static int
bind_one(const struct conf_listen *l)
{
	char host[ADDR_STR_MAX];
	int fd, on = 1;

	fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (l->addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (const struct sockaddr *)&l->addr, l->len) < 0 ||
	    listen(fd, 128) < 0) {
		addr_to_str(&l->addr, host, sizeof(host));
		log_err("cannot listen on %s port %u: %s", host,
		    addr_port(&l->addr), strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
listener_bind(struct listener *L)
{
	size_t i;
	int fd;

	/*
	 * Signals are caught (blocked until listener_run waits) from here
	 * on: a SIGTERM right after start-up ends the server cleanly.
	 */
	signals_setup(&run_mask);
	/* digests for HASH, fetched once here: workers cannot load them */
	if (hash_init() < 0)
		log_warn("HASH: some digests are unavailable");
	/* names for listings: workers cannot read /etc/passwd */
	session_ids = idmap_load_system();
	for (i = 0; i < L->conf.listen_count; i++) {
		if ((fd = bind_one(&L->conf.listen[i])) < 0)
			return -1;
		L->fds[L->nfds++] = fd;
	}
	if (geteuid() == 0 && sandbox_prepare_empty_dir(L->conf.empty_dir) < 0)
		return -1;
	/* certificate and key, once here; monitors inherit them by fork */
	if (tls_load(&L->conf) < 0)
		return -1;
	return auth_slots_init((unsigned)L->conf.auth_concurrency);
}

static size_t
count_peer(const struct sockaddr_storage *peer)
{
	size_t i, n = 0;

	for (i = 0; i < nslots; i++)
		n += addr_same_host(&slots[i].peer, peer);
	return n;
}

static int
slot_add(pid_t pid, const struct sockaddr_storage *peer)
{
	struct slot *p;

	if (nslots == capslots) {
		capslots = capslots ? capslots * 2 : 64;
		if ((p = realloc(slots, capslots * sizeof(*p))) == NULL)
			return -1;
		slots = p;
	}
	slots[nslots].pid = pid;
	slots[nslots].peer = *peer;
	nslots++;
	return 0;
}

static void
reap(void)
{
	pid_t pid;
	size_t i;

	while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
		for (i = 0; i < nslots; i++)
			if (slots[i].pid == pid) {
				slots[i] = slots[--nslots];
				break;
			}
}

static void
refuse(int fd, const char *why, const char *host)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "421 %s\r\n", why);

	(void)!write(fd, line, (size_t)n);
	log_warn("refused %s: %s", host, why);
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
start_session(struct listener *L, int fd, const struct sockaddr_storage *peer,
    int implicit)
{
	struct monitor_args a = { .conf = &L->conf,
		.inline_users = L->inline_users, .ctrl_fd = fd, .peer = *peer,
		.implicit = implicit };
	socklen_t len = sizeof(a.local);
	size_t i;
	pid_t pid;

	getsockname(fd, (struct sockaddr *)&a.local, &len);
	ctrl_options(fd, &L->conf);
	a.id = next_id++;
	if ((pid = fork()) < 0) {
		refuse(fd, "Cannot start a session.", "-");
		return;
	}
	if (pid == 0) {
		for (i = 0; i < L->nfds; i++)
			close(L->fds[i]);
		signals_reset();
		monitor_run(&a);
	}
	close(fd);
	if (slot_add(pid, peer) < 0)
		log_err("session table full");
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
	else if (nslots >= L->conf.max_clients)
		refuse(fd, "Too many connections; try again later.", host);
	else if (L->conf.max_per_ip > 0 && count_peer(&peer) >= L->conf.max_per_ip)
		refuse(fd, "Too many connections from your address.", host);
	else if (L->conf.listen[which].implicit && tls_ctrl_ctx() == NULL)
		refuse(fd, "TLS is not available.", host);
	else
		start_session(L, fd, &peer, L->conf.listen[which].implicit);
}

static void
do_reload(struct listener *L)
{
	struct conf *c;

	if (L->reload == NULL) {
		log_info("SIGHUP: no configuration file to reload");
		return;
	}
	if ((c = malloc(sizeof(*c))) == NULL)
		return;
	if (L->reload(c) == 0) {
		/* listen lines (and implicit flags) stay those of the start */
		memcpy(c->listen, L->conf.listen, sizeof(c->listen));
		c->listen_count = L->conf.listen_count;
		/* a bad certificate keeps the old one (logged in tls_load) */
		if (tls_load(c) == 0 && tls_configured(c))
			log_info("TLS certificate reloaded: %s", c->tls_cert);
		L->conf = *c;
		idmap_free(session_ids);
		session_ids = idmap_load_system();
		log_info("configuration reloaded; new sessions use it "
		    "(listen addresses are unchanged until restart)");
	} else
		log_err("configuration reload failed; keeping the old one");
	free(c);
}

/* SIGTERM: stop accepting, ask every session to end, then insist. */
static void
stop_all(struct listener *L, const sigset_t *mask)
{
	int64_t until = sys_now_ms() + STOP_GRACE_MS;
	struct timespec ts = { 0, 100 * 1000000 };
	size_t i;

	for (i = 0; i < L->nfds; i++)
		close(L->fds[i]);
	log_info("stopping: %zu session(s) to end", nslots);
	for (i = 0; i < nslots; i++)
		kill(slots[i].pid, SIGTERM);
	while (nslots > 0 && sys_now_ms() < until) {
		ppoll(NULL, 0, &ts, mask);
		reap();
	}
	for (i = 0; i < nslots; i++)
		kill(slots[i].pid, SIGKILL);
	while (nslots > 0 && waitpid(-1, NULL, 0) > 0)
		reap();
}

int
listener_run(struct listener *L)
{
	struct pollfd p[KF_LISTEN_MAX];
	sigset_t mask;
	size_t i;

	mask = run_mask;
	sigdelset(&mask, SIGTERM);
	sigdelset(&mask, SIGINT);
	sigdelset(&mask, SIGHUP);
	sigdelset(&mask, SIGCHLD);
	log_info("keepftpd started; %zu listener(s)", L->nfds);
	while (!got_term) {
		for (i = 0; i < L->nfds; i++)
			p[i] = (struct pollfd){ .fd = L->fds[i], .events = POLLIN };
		if (ppoll(p, L->nfds, NULL, &mask) > 0)
			for (i = 0; i < L->nfds; i++)
				if (p[i].revents & POLLIN)
					accept_one(L, i);
		if (got_chld) {
			got_chld = 0;
			reap();
		}
		if (got_hup) {
			got_hup = 0;
			do_reload(L);
		}
	}
	stop_all(L, &mask);
	log_info("stopped");
	return 0;
}
