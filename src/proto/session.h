/*
 * session.h - what the monitor hands its workers, and the workers'
 * entry points.
 * Runs in: monitor (forks) and workers.
 */
#ifndef KF_SESSION_H
#define KF_SESSION_H

#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../auth/auth.h"
#include "../conf/conf.h"
#include "../auth/policy.h"
#include "../tls/tls.h"
#include "ctrl.h"

struct session_info {
	const struct conf *conf;
	int ctrl_fd;
	int mon_fd; /* typed IPC with the monitor */
	struct sockaddr_storage local;
	struct sockaddr_storage peer;
	unsigned long id;
	int64_t start_ms; /* connect time, sys_now_ms() */
	int quota_fd; /* post-login: usage file, or -1 */
	int tls; /* control connection is TLS */
	int ccc; /* TLS was ended by CCC */
	int host_done; /* HOST before AUTH TLS */
	char host[CONF_HOST_MAX + 1]; /* its vhost, or "" */
	unsigned tls_flags; /* MON_TLS_*: PBSZ/PROT before login */
	int proxy_hdr; /* pre-login: a PROXY header comes first */
	int proxied; /* peer came in a PROXY header (not LOCAL) */
	struct tls_session_keys tls_keys; /* binds data to control TLS */
};

/* session_stop: why a worker must end (0: it need not). */
#define SESSION_STOP_TERM  1 /* SIGTERM: the server is stopping */
#define SESSION_STOP_LIMIT 2 /* SIGALRM: session_max_seconds reached */
#define SESSION_STOP_KICK  3 /* SIGUSR2: `keepftpd kick` */

/* Why the session is stopping, for a 421/426 reply. */
const char *session_stop_reason(void);

/*
 * Exit status of a post-login worker after REIN: it has answered 220;
 * the monitor starts a new pre-login worker on the same connection.
 */
#define SESSION_EXIT_REIN    3
/* A post-login worker's end during a stop: a transfer ran into the drain. */
#define SESSION_EXIT_DRAINED 4 /* and finished */
#define SESSION_EXIT_CUT     5 /* and was cut (second SIGTERM) */
/*
 * The cut, listener -> monitors -> workers: a real-time signal, which
 * does not merge with a SIGTERM sent just before, and which nobody
 * sends to a whole service by habit. SIGUSR1 is log rotation for the
 * listener (`systemctl kill -s USR1` reaches every process of the
 * unit), so sessions ignore it.
 */
#define SESSION_SIG_CUT	     (SIGRTMIN + 1)

extern volatile sig_atomic_t session_stop;
/* Set by the first SIGTERM: end when idle, let a transfer finish. */
extern volatile sig_atomic_t session_drain;
/* A transfer's end; counted when a drain is on (finished: 1, cut: 0). */
void session_drain_note(int finished);
/* SESSION_EXIT_CUT, SESSION_EXIT_DRAINED or 0, for the worker's exit. */
int session_exit_status(void);

/* uid/gid names for listings, loaded by the listener (fs/idmap.h). */
struct idmap;
extern struct idmap *session_ids;

void session_install_signals(void);
/*
 * Around "stop asked? else wait for a command": the stop signals are
 * blocked from before the check (*old: the mask to wait with), so one
 * that comes after the check interrupts the wait instead of being
 * missed until the idle timeout.
 */
void session_signals_hold(sigset_t *old);
void session_signals_release(const sigset_t *old);
int proto_reply_basic(struct ctrl *, const struct cmd *);
/* PBSZ and PROT: flags holds MON_TLS_PBSZ, MON_TLS_PROT_P (ipc/proto.h). */
void proto_reply_prot(struct ctrl *, const struct cmd *, int tls,
    unsigned *flags);
void prelogin_run(const struct session_info *) __attribute__((noreturn));
/*
 * On a proxy listener, before anything else: the PROXY header read and
 * admitted by the monitor (MON_PROXY); 0, or -1: end without a reply.
 */
int proxy_header_read(const struct session_info *);
/* After REIN: prelogin_run() without the 220 greeting (already sent). */
void prelogin_run_after_rein(const struct session_info *)
    __attribute__((noreturn));
/*
 * FEAT (the same before and after login): sel is the HASH digest in
 * use, mlst_facts the MLST facts (LIST_F_*) in use.
 */
struct hash_algo;
int proto_reply_feat(struct ctrl *, const struct conf *,
    const struct hash_algo *sel, unsigned mlst_facts);
void session_run(const struct session_info *, const struct auth_identity *,
    int rootfd) __attribute__((noreturn));

#endif
