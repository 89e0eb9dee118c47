/*
 * spawn.h - starting the role spawners (listener) and asking them for a
 * worker (monitor). A spawner is keepftpd-worker executed afresh
 * per role (src/priv/spawner.c); it forks one worker per request.
 * Runs in: listener (spawn_init, spawn_start), monitor (the rest).
 */
#ifndef KF_SPAWN_H
#define KF_SPAWN_H

#include <stdint.h>
#include <sys/types.h>

#include "../common/limits.h"
#include "../conf/conf.h"
#include "../ipc/handoff.h"

enum spawn_role {
	SPAWN_ROLE_PRELOGIN,
	SPAWN_ROLE_POSTLOGIN,
	SPAWN_ROLE_RELAY,
	SPAWN_ROLE_HOOK, /* upload_hook only: kf-spawn-hook (hook.h) */
	SPAWN_ROLES
};

/* What a spawner is given at exec, in a sealed memfd (fd 4). */
#define SPAWN_CONF_MAGIC 0x6b667370u
struct spawn_conf {
	uint32_t magic;
	uint32_t size; /* sizeof(struct spawn_conf) */
	int service_ok; /* service_user exists and is not root */
	uid_t service_uid;
	gid_t service_gid;
	uid_t server_uid; /* who may send requests (and root) */
	int log_sink; /* enum log_sink of the listener */
	int log_level;
	int check_only; /* relay, `keepftpd -t`: report, then end */
	struct conf conf;
};

/*
 * The relay spawner's first word on its channel, before it takes a
 * request: the certificate and key loaded (ok 1), or why not. The
 * listener holds no TLS context; this is how it learns whether TLS
 * works (start-up, SIGHUP, implicit listeners, the monitors' flag).
 */
#define SPAWN_READY 0x5313
struct spawn_ready {
	int32_t ok;
	char why[KF_SPAWN_WHY_MAX];
};

/* Fixed descriptors of a spawner after exec. */
#define SPAWN_FD_CHAN 3 /* requests in (SOCK_SEQPACKET, SO_PASSCRED) */
#define SPAWN_FD_CONF 4 /* struct spawn_conf, sealed memfd */

/*
 * In a fresh child of the listener: keepftpd-worker MODE NAME with
 * chan at 3 and conf at 4, nothing else above 2 (kf-log uses it).
 */
void spawn_exec_worker(const char *mode, const char *name, int chan, int conf)
    __attribute__((noreturn));
/* kf-log's main (src/priv/kflog.c), in keepftpd-worker. */
int kflog_main(void);

struct spawner {
	pid_t pid; /* 0: not running */
	int chan; /* the listener's (and monitors') send end, or -1 */
	int64_t started_ms;
};

/* Opens keepftpd-worker (O_PATH) for the spawners' exec. 0 or -1. */
int spawn_init(void);
/* Closes the binary spawn_init() opened (a monitor needs it not). */
void spawn_forget_exe(void);
/* The role's name in argv ("prelogin", ...), or NULL. */
const char *spawn_role_name(enum spawn_role);
/*
 * fork + execveat of the binary as the role's spawner. The relay's is
 * waited for until it reports (struct spawn_ready); when its TLS does
 * not load, the reason is logged ("TLS: ...") and it is gone. 0 or -1
 * (logged).
 */
int spawn_start(enum spawn_role, const struct spawn_conf *, struct spawner *);

/*
 * A started process's configuration: the sealed memfd at fd read whole
 * and checked (else _exit(1)), fd closed, the log opened as configured.
 */
void spawn_conf_take(int fd, struct spawn_conf *);

/*
 * A helper process the listener starts and restarts (kf-metrics,
 * kf-pgauth): its pid, and when it died (0: running or never started).
 */
struct spawn_kid {
	const char *name;
	pid_t pid;
	int64_t died_ms;
};

/* fork(): the child's 0, the pid, or -1 (logged; a restart is due). */
pid_t spawn_kid_fork(struct spawn_kid *);
/* 1 when p was this helper: logged, restarted by spawn_kid_tick. */
int spawn_kid_reaped(struct spawn_kid *, pid_t p, int status);
/* start() once KF_SPAWN_RESTART_MS after its end; 1 while it is down. */
int spawn_kid_tick(struct spawn_kid *, void (*start)(void));
/* SIGKILL and reap. */
void spawn_kid_stop(struct spawn_kid *);

/*
 * `keepftpd -t`: a relay spawner loads the certificate and key and
 * reports (the check runs outside the privileged image). 0, or -1 with
 * the reason in why.
 */
int spawn_check_tls(const struct conf *, char *why, size_t whysz);

/* A worker as the monitor sees it. */
struct spawned {
	int pidfd; /* signals: pidfd_send_signal; -1 until started */
	int reply; /* SPAWN_EXITED arrives here; closing it kills the worker */
	int pending; /* SPAWN_STARTED (with the pidfd) not read yet */
};

/*
 * Monitor: asks the spawner on chan for a worker of request type with
 * the handoff and fds (the worker's, in order; the reply socket is
 * added here). 0 and *w filled (pending: the spawner's SPAWN_STARTED
 * is read when first needed, spawn_started), or -1.
 */
int spawn_request(int chan, uint32_t type, const struct handoff *,
    const int *fds, size_t nfds, struct spawned *w);
/*
 * Reads the pending SPAWN_STARTED and its pidfd, waiting up to
 * KF_SPAWN_REPLY_MS. 0 (also when read before), or -1: no worker (the
 * reply socket is closed).
 */
int spawn_started(struct spawned *);
/* Reads SPAWN_EXITED: the worker's exit status (exited), else -1. */
int spawn_reap(struct spawned *);
/* Signals the worker (no-op when gone). */
void spawn_kill(struct spawned *, int sig);
/* Kills the worker, waits up to ms for its end, closes both fds. */
int spawn_end(struct spawned *, int ms);

/*
 * In a new child of the listener: fds at 3, 4, ... and nothing else
 * open above 2, then `keepftpd-worker FLAG`. Never returns.
 */
void spawn_exec_flag(const char *flag, const int *fds, size_t n)
    __attribute__((noreturn));
/*
 * users_backend = postgresql: keepftpd-pgauth, the image that maps
 * libpq, found as keepftpd-worker is (spawn_init_pg, 0 or -1), executed
 * as spawn_exec_flag does (spawn_exec_pg), or as `keepftpd-pgauth
 * --pgusers` with fd at 3 for `keepftpd user` (spawn_exec_pgusers).
 */
int spawn_init_pg(void);
void spawn_exec_pg(const char *flag, const int *fds, size_t n)
    __attribute__((noreturn));
void spawn_exec_pgusers(int fd) __attribute__((noreturn));

/* `keepftpd-worker --spawner ROLE`: never returns. */
int spawner_main(const char *role) __attribute__((noreturn));

#endif
