/*
 * spawn.c - the role spawners from outside. The listener starts one
 * per role: a fresh exec of keepftpd-worker (execveat of the fd opened
 * at start; the privileged keepftpd holds no FTP code), with the
 * request channel and a sealed memfd holding the configuration at
 * fixed descriptor numbers and nothing else open.
 * The relay spawner first reports whether the certificate and key
 * loaded (SPAWN_READY); the listener waits for that word. A
 * monitor asks a spawner for a worker with one datagram (a struct
 * handoff and the worker's descriptors) and gets the worker's pidfd
 * back on a reply socket of its own, and later its exit status.
 * Runs in: listener (spawn_init, spawn_start), monitor (requests),
 * `keepftpd -t` (spawn_check_tls).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/sys.h"
#include "../ipc/ipc.h"
#include "spawn.h"

extern char **environ;

#ifndef KF_WORKER_PATH
#define KF_WORKER_PATH "/usr/libexec/keepftpd/keepftpd-worker"
#endif
#define WORKER_NAME "keepftpd-worker"
#ifndef KF_PGAUTH_PATH
#define KF_PGAUTH_PATH "/usr/libexec/keepftpd/keepftpd-pgauth"
#endif
#define PGAUTH_NAME "keepftpd-pgauth"

static int self_exe = -1; /* the worker binary, O_PATH, opened at start */
static int pg_exe =
    -1; /* keepftpd-pgauth, O_PATH (users_backend = postgresql) */

static const char *const role_names[SPAWN_ROLES] = {
	"prelogin",
	"postlogin",
	"relay",
	"hook",
};

const char *
spawn_role_name(enum spawn_role r)
{
	return (unsigned)r < SPAWN_ROLES ? role_names[r] : NULL;
}

/* In a new monitor: the binary is the listener's to execute, not its. */
void
spawn_forget_exe(void)
{
	sys_close(&self_exe);
	sys_close(&pg_exe);
}

/*
 * The worker binary, if path names one fit to run: a regular file
 * owned by root or by the owner of the running keepftpd, writable by
 * no one else. O_PATH, close-on-exec; -1 if not.
 */
static int
open_worker(const char *path, const struct stat *self)
{
	struct stat st;
	int fd;

	if ((fd = open(path, O_PATH | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (st.st_uid != 0 && st.st_uid != self->st_uid) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		log_warn("%-s: not owned by root or not private; not used",
		    path);
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * keepftpd-worker next to the running keepftpd (a build tree), else
 * in the libexec directory configured at build time. Never from the
 * environment. Opened once: a file replaced on disk later (an upgrade)
 * is not mixed with the running version.
 */
/*
 * name next to the running keepftpd (a build tree), else fallback, the
 * path configured at build time: O_PATH, or -1.
 */
static int
open_image(const char *name, const char *fallback)
{
	char path[PATH_MAX];
	struct stat self;
	char *slash;
	ssize_t n;
	int fd = -1;

	n = readlink("/proc/self/exe", path, sizeof(path));
	if (n <= 0 || (size_t)n >= sizeof(path) ||
	    stat("/proc/self/exe", &self) < 0)
		return -1;
	path[n] = '\0';
	slash = strrchr(path, '/');
	if (slash != NULL &&
	    (size_t)(slash + 1 - path) + strlen(name) + 1 <= sizeof(path)) {
		memcpy(slash + 1, name, strlen(name) + 1);
		fd = open_worker(path, &self);
	}
	if (fd < 0)
		fd = open_worker(fallback, &self);
	return fd;
}

int
spawn_init(void)
{
	if (self_exe >= 0)
		return 0;
	if ((self_exe = open_image(WORKER_NAME, KF_WORKER_PATH)) < 0) {
		log_err("cannot open the worker binary (" KF_WORKER_PATH
			" or keepftpd-worker beside keepftpd): %-s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* keepftpd-pgauth, opened once like keepftpd-worker. 0 or -1 (logged). */
int
spawn_init_pg(void)
{
	if (pg_exe >= 0)
		return 0;
	if ((pg_exe = open_image(PGAUTH_NAME, KF_PGAUTH_PATH)) < 0) {
		log_err("cannot open the database image (" KF_PGAUTH_PATH
			" or keepftpd-pgauth beside keepftpd): %-s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * In the child: the channel at 3, the memfd at 4, the binary's fd at 5
 * (close-on-exec), everything else above 2 closed, default signals.
 */
static void __attribute__((noreturn))
exec_spawner(enum spawn_role r, int chan, int conf)
{
	static const char *const names[SPAWN_ROLES] = { "prelogin", "postlogin",
		"relay", "hook" };

	spawn_exec_worker("--spawner", names[r], chan, conf);
}

/*
 * In the child about to execute a helper image: every symbol of every
 * library is bound at its start (LD_BIND_NOW), so that the children it
 * forks per session find their GOTs filled, never run the lazy binder
 * (a page fault and a symbol search per first call in each child) and
 * the loader can make all of it read-only after relocation.
 */
static void
bind_now(void)
{
	(void)setenv("LD_BIND_NOW", "1", 1);
}

void
spawn_exec_worker(const char *mode, const char *name, int chan, int conf)
{
	static char prog[] = WORKER_NAME, flag[16], arg[16];
	char *argv[] = { prog, flag, arg, NULL };
	sigset_t none;
	int sig, exe;

	snprintf(flag, sizeof(flag), "%s", mode);
	snprintf(arg, sizeof(arg), "%s", name);
	bind_now();
	for (sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/*
	 * Each source above 5 first: one may sit at 3, 4 or 5 (sockets
	 * passed by a service manager take 3 and up), and a dup2 onto it
	 * would lose it.
	 */
	if ((exe = fcntl(self_exe, F_DUPFD_CLOEXEC, 6)) < 0 ||
	    (chan = fcntl(chan, F_DUPFD_CLOEXEC, 6)) < 0 ||
	    (conf = fcntl(conf, F_DUPFD_CLOEXEC, 6)) < 0 ||
	    dup3(exe, 5, O_CLOEXEC) < 0 || dup2(chan, SPAWN_FD_CHAN) < 0 ||
	    dup2(conf, SPAWN_FD_CONF) < 0 ||
	    syscall(SYS_close_range, 6, ~0U, 0) < 0)
		_exit(127);
	syscall(SYS_execveat, 5, "", argv, environ, AT_EMPTY_PATH);
	_exit(127);
}

/*
 * In a fresh child of the listener: fds[i] at 3 + i, nothing else
 * above 2, default signals, then keepftpd-worker with the one flag
 * (kf-metrics: src/priv/lsn_metrics.c).
 */
static void __attribute__((noreturn)) exec_flag(int image, const char *name,
    const char *flag, const int *fds, size_t n)
{
	char prog[24], arg[16];
	char *argv[] = { prog, arg, NULL };
	int tmp[KF_IPC_FDS_MAX], exe, sig;
	sigset_t none;
	size_t i;

	if (n + 1 > KF_IPC_FDS_MAX || strlen(flag) >= sizeof(arg) ||
	    strlen(name) >= sizeof(prog))
		_exit(127);
	memcpy(arg, flag, strlen(flag) + 1);
	memcpy(prog, name, strlen(name) + 1);
	bind_now();
	for (sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* each source above the targets first, as exec_spawner does */
	if ((exe = fcntl(image, F_DUPFD_CLOEXEC, 16)) < 0)
		_exit(127);
	for (i = 0; i < n; i++)
		if ((tmp[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 16)) < 0)
			_exit(127);
	for (i = 0; i < n; i++)
		if (dup2(tmp[i], 3 + (int)i) < 0)
			_exit(127);
	if (dup3(exe, 3 + (int)n, O_CLOEXEC) < 0 ||
	    syscall(SYS_close_range, 4 + (unsigned)n, ~0U, 0) < 0)
		_exit(127);
	syscall(SYS_execveat, 3 + (int)n, "", argv, environ, AT_EMPTY_PATH);
	_exit(127);
}

void
spawn_exec_flag(const char *flag, const int *fds, size_t n)
{
	exec_flag(self_exe, WORKER_NAME, flag, fds, n);
}

/* keepftpd-pgauth with the one flag (spawn_init_pg done). */
void
spawn_exec_pg(const char *flag, const int *fds, size_t n)
{
	exec_flag(pg_exe, PGAUTH_NAME, flag, fds, n);
}

/*
 * `keepftpd user` with users_backend = postgresql
 * (src/priv/users_pgcli.c): in its fresh child, the database helper
 * `keepftpd-pgauth --pgusers` with fd at descriptor 3.
 */
void
spawn_exec_pgusers(int fd)
{
	if (spawn_init_pg() < 0)
		_exit(127);
	spawn_exec_pg("--pgusers", &fd, 1);
}

/*
 * The relay spawner's report on its channel: 0 when its certificate and
 * key loaded, else -1 with the reason in why.
 */
static int
wait_ready(int chan, char *why, size_t whysz)
{
	struct spawn_ready rd;

	memset(&rd, 0, sizeof(rd));
	if (sys_poll1(chan, POLLIN, KF_SPAWN_READY_MS) <= 0) {
		snprintf(why, whysz,
		    "the relay spawner did not report in %d ms",
		    KF_SPAWN_READY_MS);
		return -1;
	}
	if (ipc_recv_fds(chan, SPAWN_READY, &rd, sizeof(rd), NULL, 0, NULL,
		NULL) < 0) {
		snprintf(why, whysz, "the relay spawner ended unreported");
		return -1;
	}
	rd.why[sizeof(rd.why) - 1] = '\0';
	if (rd.ok != 1) {
		snprintf(why, whysz, "%s",
		    rd.why[0] != '\0' ? rd.why : "does not load");
		return -1;
	}
	return 0;
}

/* A relay spawner whose TLS did not load: gone before anyone uses it. */
static int
not_ready(pid_t pid, int chan)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	close(chan);
	return -1;
}

static int
start_why(enum spawn_role r, const struct spawn_conf *sc, struct spawner *s,
    char *why, size_t whysz)
{
	int sv[2], conf, on = 1;
	pid_t pid;

	/*
	 * SO_PASSCRED before any request can be queued: a datagram sent
	 * before it would carry no credentials (read as the overflow uid)
	 */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	if (setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if ((conf = sys_memfd_sealed("kf-conf", sc, sizeof(*sc))) < 0 ||
	    (pid = fork()) < 0) {
		log_err("cannot start the %-s spawner: %-s", role_names[r],
		    strerror(errno));
		if (conf >= 0)
			close(conf);
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0)
		exec_spawner(r, sv[1], conf);
	close(conf);
	close(sv[1]);
	if (r == SPAWN_ROLE_RELAY && wait_ready(sv[0], why, whysz) < 0)
		return not_ready(pid, sv[0]);
	/* the monitors only send */
	shutdown(sv[0], SHUT_RD);
	s->pid = pid;
	s->chan = sv[0];
	s->started_ms = sys_now_ms();
	return 0;
}

int
spawn_start(enum spawn_role r, const struct spawn_conf *sc, struct spawner *s)
{
	char why[KF_SPAWN_WHY_MAX] = "";

	if (start_why(r, sc, s, why, sizeof(why)) == 0)
		return 0;
	if (why[0] != '\0')
		log_err("TLS: %-s", why);
	return -1;
}

/*
 * `keepftpd -t`: a relay spawner in check mode loads the certificate
 * and key, reports, and ends; this process loads neither.
 */
int
spawn_check_tls(const struct conf *c, char *why, size_t whysz)
{
	struct spawn_conf *sc;
	struct spawner s = { .pid = 0, .chan = -1 };
	enum log_sink sink;
	int level, r;

	snprintf(why, whysz, "cannot start the relay spawner");
	if (spawn_init() < 0 || (sc = calloc(1, sizeof(*sc))) == NULL)
		return -1;
	sc->magic = SPAWN_CONF_MAGIC;
	sc->size = sizeof(*sc);
	sc->check_only = 1;
	sc->server_uid = geteuid();
	log_get(&sink, &level);
	sc->log_sink = (int)sink;
	sc->log_level = level;
	sc->conf = *c;
	r = start_why(SPAWN_ROLE_RELAY, sc, &s, why, whysz);
	free(sc);
	if (r < 0)
		return -1;
	/* it ends by itself once it reported */
	close(s.chan);
	while (waitpid(s.pid, NULL, 0) < 0 && errno == EINTR)
		;
	return 0;
}

/*
 * The reply socket comes first; the worker's fds follow in order. The
 * monitor does not wait here for the spawner's SPAWN_STARTED: it goes
 * on to serve the worker, and reads the pidfd when it first needs it
 * (a signal, the worker's end), one wake-up fewer per worker.
 */
int
spawn_request(int chan, uint32_t type, const struct handoff *h, const int *fds,
    size_t nfds, struct spawned *w)
{
	int all[KF_IPC_FDS_MAX], rp[2];
	size_t i;
	int r;

	w->pidfd = w->reply = -1;
	w->pending = 0;
	if (chan < 0 || nfds + 1 > KF_IPC_FDS_MAX ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rp) < 0)
		return -1;
	all[0] = rp[1];
	for (i = 0; i < nfds; i++)
		all[i + 1] = fds[i];
	r = ipc_send_fds(chan, type, h, sizeof(*h), all, nfds + 1);
	close(rp[1]);
	if (r < 0) {
		close(rp[0]);
		return -1;
	}
	w->reply = rp[0];
	w->pending = 1;
	return 0;
}

int
spawn_started(struct spawned *w)
{
	int pidfd = -1;

	if (!w->pending)
		return w->reply >= 0 ? 0 : -1;
	w->pending = 0;
	if (sys_poll1(w->reply, POLLIN, KF_SPAWN_REPLY_MS) <= 0 ||
	    ipc_recv_fds(w->reply, SPAWN_STARTED, NULL, 0, &pidfd, 1, NULL,
		NULL) < 0) {
		sys_close(&w->reply);
		return -1;
	}
	w->pidfd = pidfd;
	return 0;
}

int
spawn_reap(struct spawned *w)
{
	struct spawn_exit e;
	int status = -1;

	if (spawn_started(w) == 0 &&
	    ipc_recv_fds(w->reply, SPAWN_EXITED, &e, sizeof(e), NULL, 0, NULL,
		NULL) == 0 &&
	    e.code == CLD_EXITED)
		status = e.status;
	sys_close(&w->reply);
	sys_close(&w->pidfd);
	return status;
}

void
spawn_kill(struct spawned *w, int sig)
{
	(void)spawn_started(w); /* the pidfd, if still pending */
	if (w->pidfd >= 0)
		syscall(SYS_pidfd_send_signal, w->pidfd, sig, NULL, 0);
}

int
spawn_end(struct spawned *w, int ms)
{
	if (w->reply < 0 && w->pidfd < 0)
		return -1;
	spawn_kill(w, SIGKILL);
	if (w->reply >= 0 && sys_poll1(w->reply, POLLIN, ms) <= 0)
		sys_close(&w->reply);
	return spawn_reap(w);
}

/*
 * In a process the listener started with a sealed struct spawn_conf at
 * fd (a spawner, kf-metrics, kf-pgauth): exactly one struct of this
 * build, or the process ends with status 1 before it does anything;
 * then fd is closed and the log opened as the listener's.
 */
void
spawn_conf_take(int fd, struct spawn_conf *sc)
{
	if (sys_read_sealed(fd, sc, sizeof(*sc)) < 0 ||
	    sc->magic != SPAWN_CONF_MAGIC || sc->size != sizeof(*sc))
		_exit(1);
	close(fd);
	log_open((enum log_sink)sc->log_sink, "keepftpd", -1);
	log_set_level(sc->log_level);
}

/* ---- a helper process the listener keeps running (kf-metrics, kf-pgauth) */

pid_t
spawn_kid_fork(struct spawn_kid *k)
{
	k->died_ms = 0;
	if ((k->pid = fork()) < 0) {
		log_err("cannot start %-s: %-s", k->name, strerror(errno));
		k->pid = 0;
		k->died_ms = sys_now_ms();
		return -1;
	}
	return k->pid;
}

int
spawn_kid_reaped(struct spawn_kid *k, pid_t p, int status)
{
	if (p <= 0 || p != k->pid)
		return 0;
	log_err("%-s (pid %ld) ended (%-s %d); starting a new one", k->name,
	    (long)p, WIFSIGNALED(status) ? "signal" : "status",
	    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	k->pid = 0;
	k->died_ms = sys_now_ms();
	return 1;
}

int
spawn_kid_tick(struct spawn_kid *k, void (*start)(void))
{
	if (k->died_ms == 0)
		return 0;
	if (sys_now_ms() - k->died_ms >= KF_SPAWN_RESTART_MS)
		start();
	return k->died_ms != 0 || k->pid == 0;
}

void
spawn_kid_stop(struct spawn_kid *k)
{
	if (k->pid <= 0)
		return;
	kill(k->pid, SIGKILL);
	while (waitpid(k->pid, NULL, 0) < 0 && errno == EINTR)
		;
	k->pid = 0;
	k->died_ms = 0;
}
