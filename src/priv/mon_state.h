/*
 * mon_state.h - the monitor's own view of a session, its dispatch
 * table and the handlers of every request a worker or the TLS relay
 * may send (the catalogue is ipc/proto.h, the table docs/PRIVSEP.md).
 * Handlers read and change only this state and answer with a verdict:
 * a reply, nothing, or the end of the session with its reason. Every
 * side effect (checking a password, sleeping the failed-login delay,
 * logging, reporting to the listener, talking to the relay) goes
 * through struct mon_ops, so that tests can run the real handlers.
 * Runs in: monitor (and unit tests, the IPC fuzz target).
 */
#ifndef KF_MON_STATE_H
#define KF_MON_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../auth/auth.h"
#include "../conf/conf.h"
#include "../common/rate.h"
#include "../ipc/ipc.h"

/* Who sent a frame: the monitor knows which socket it read. */
enum mon_src {
	MON_SRC_WORKER = 1, /* the current worker's request socket */
	MON_SRC_RELAY = 2, /* the TLS relay's own socket */
};

/* Where the session is; a request names the phases it is allowed in. */
enum mon_phase {
	MPH_PRELOGIN = 1 << 0, /* a pre-login worker, no verdict yet */
	MPH_EXITING = 1 << 1, /* login ok or AUTH TLS granted: it must exit */
	MPH_SESSION = 1 << 2, /* a post-login worker */
	MPH_CCC = 1 << 3, /* waiting for the relay's RELAY_CCC_DONE */
};
#define MPH_ANY (MPH_PRELOGIN | MPH_EXITING | MPH_SESSION | MPH_CCC)

/* The worker's latest MON_STATUS, for the listener's `keepftpd who`. */
struct mon_who {
	char verb[KF_WHO_VERB_MAX + 1]; /* "" idle */
	char path[KF_WHO_PATH_MAX + 1];
	uint64_t bytes;
	int64_t at_ms; /* when the monitor received it */
	int pending; /* a newer state than the one sent */
	struct rate bucket; /* KF_WHO_RATE */
	struct rate fwd; /* LSN_STATUS: 1 a second, burst KF_WHO_FWD_BURST */
	unsigned long dropped; /* over the bucket */
};

struct mon_state {
	const struct conf *conf;
	const char *inline_users; /* quick mode, or NULL */
	const struct sockaddr_storage *peer;
	const char *peer_str; /* for log lines */
	enum mon_phase phase;
	int logged_in;
	unsigned failures; /* kept across REIN */
	unsigned reins;
	uint32_t seen; /* "once" requests received */
	int tls; /* control connection is TLS */
	int ccc; /* TLS ended for good */
	int relay; /* relay running, its socket open */
	int auth_granted; /* start the relay next */
	int ccc_done; /* RELAY_CCC_DONE seen */
	int tls_counted; /* MON_TLS_HANDSHAKE taken */
	uint32_t tls_flags; /* MON_TLS_* of the login */
	int host_done;
	char host[CONF_HOST_MAX + 1];
	int proxy_wait; /* a proxy listener: MON_PROXY must come first */
	char cert_cn[KF_USER_MAX + 1]; /* or "" */
	struct auth_identity *id; /* the monitor's */
	unsigned char *tls_sess; /* KF_TLS_SESSION_MAX bytes */
	size_t *tls_sess_len;
	struct mon_who who;
	int req_fd; /* the frame's descriptor (closed after it), or -1 */
	/* anon_upload_owner, as the listener found it (MON_ANON_OWN) */
	int owner_ok;
	uid_t owner_uid;
	gid_t owner_gid;
	struct rate own_bucket; /* KF_ANON_OWN_RATE */
};

struct mon_ops {
	/* the password check: auth_check_vhost()'s signature */
	int (*verify)(const struct conf *, const char *inline_users,
	    const struct conf_vhost *, const char *user, const char *pass,
	    struct auth_identity *);
	/* tls_client_cert_login: auth_identity_by_cert() */
	int (*by_cert)(const struct conf *, const char *inline_users,
	    const char *user, struct auth_identity *);
	/* the TLS policy: policy_tls_required() */
	int (*tls_required)(const struct conf *, const char *user,
	    const struct auth_identity *);
	void (*sleep_ms)(unsigned);
	void (*log)(int prio, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
	/* LSN_LOGIN_FAILED to the listener */
	void (*report_failed)(void *ctx);
	/* a control-connection certificate is loaded */
	int (*tls_ready)(void *ctx);
	/* RELAY_CCC, then wait: 1 when the relay confirmed */
	int (*ccc)(void *ctx);
	/*
	 * After every other check passed: the PAM session of a system
	 * user (auth_session_open; 0, or -1: the login fails with reason
	 * pam-session). NULL: nothing to open.
	 */
	int (*session_open)(const struct conf *, const struct auth_identity *);
	/* the login state changed (LSN_LOGIN_STATE); NULL: nobody to tell */
	void (*login_state)(void *ctx, int logged_in);
	/* LSN_STATUS to the listener; NULL: nobody to tell */
	void (*who_report)(void *ctx, const struct mon_who *, int64_t now_ms);
	/* the clock (sys_now_ms); NULL: sys_now_ms */
	int64_t (*now_ms)(void);
	/*
	 * metrics_listen (mon_metrics.c; each NULL: not counted): a
	 * password verification starts, a login ended (enum mx_result,
	 * enum mx_method), a transfer ended, the relay's handshake ended
	 */
	void (*m_verify)(const struct conf *, const char *user);
	void (*m_login)(unsigned result, unsigned method);
	void (*m_xfer)(unsigned dir, unsigned ok, uint64_t bytes);
	void (*m_tls)(unsigned ok);
	/*
	 * upload_hook: the hook on the file fd (the path as the client sees
	 * it, checked); check: wait for its verdict. 1 when it exited 0.
	 */
	int (*upload_hook)(void *ctx, const char *path, int fd, int check);
	/*
	 * MON_PROXY: the listener's admission of the header's client
	 * address (src; NULL: the connection's own). 0 admitted, the
	 * session's peer replaced; -1 refused (the 421 is written, the
	 * reason logged). NULL: refused.
	 */
	int (*proxy_admit)(void *ctx, const struct sockaddr_storage *src);
	/*
	 * Per-user limits. reserve: LSN_SESSION_RESERVE and the listener's
	 * verdict, 1 reserved, 0 over max, -1 no answer (NULL: always 1);
	 * release: the reservation given back (LSN_LOGIN_STATE 0; NULL:
	 * nothing); local_time: the server's local weekday (0 Sunday) and
	 * minute of the day for login_hours (NULL: time() and
	 * localtime_r(), the zone read by the listener's tzset()).
	 */
	int (
	    *reserve)(void *ctx, const char *user, int anonymous, unsigned max);
	void (*release)(void *ctx);
	int (*local_time)(int *wday, int *minute);
	void *ctx;
};

enum mon_verdict {
	MON_V_NONE, /* nothing to answer */
	MON_V_REPLY, /* send out->rep to the sender */
	MON_V_FATAL, /* end the session: out->why says why */
};

#define MON_WHY_MAX 160

struct mon_out {
	struct ipc_msg rep;
	int retry; /* a "once" request that may come again */
	char why[MON_WHY_MAX];
};

/* One row of the dispatch table (mon_dispatch.c). */
struct mon_req {
	uint32_t type;
	const char *name;
	enum mon_src src;
	unsigned phases; /* enum mon_phase bits */
	int once; /* once per connection */
	size_t max_len; /* payload bytes */
	enum mon_verdict (*handler)(struct mon_state *, const struct mon_ops *,
	    struct ipc_msg *, struct mon_out *);
	int fd; /* 1: comes with exactly one descriptor; 0: with none */
};

extern const struct mon_req mon_table[];
extern const size_t mon_table_len;

void mon_state_init(struct mon_state *, const struct conf *,
    const char *inline_users, const struct sockaddr_storage *peer,
    const char *peer_str, struct auth_identity *, unsigned char *tls_sess,
    size_t *tls_sess_len);
/* A frame as read (n bytes; n > KF_IPC_MSG_MAX: oversized). */
enum mon_verdict mon_dispatch(struct mon_state *, const struct mon_ops *,
    enum mon_src, const void *frame, size_t n, struct mon_out *);
/*
 * Reads one frame from fd and dispatches it; a reply goes back on fd.
 * MON_V_FATAL with out->why for a refused frame, or -EPIPE in *gone
 * when the sender has closed its end (no verdict then).
 */
enum mon_verdict mon_serve_one(struct mon_state *, const struct mon_ops *,
    enum mon_src, int fd, struct mon_out *, int *gone);
/* The failed-login delay after n failures: doubled, at most the cap. */
unsigned mon_fail_delay_ms(unsigned long base_ms, unsigned failures);
/* REIN: 0 back to login, -1 when KF_REIN_MAX REINs were used up. */
int mon_rein(struct mon_state *);

/*
 * The pending MON_STATUS goes to the listener when the forward bucket
 * (one a KF_WHO_REPORT_MS, burst KF_WHO_FWD_BURST) allows; else the
 * time (ms) it may go. -1 when nothing is pending (any more).
 */
int64_t mon_who_flush(struct mon_state *, const struct mon_ops *,
    int64_t now_ms);

/* The handlers (mon_handlers.c), one per request type. */
enum mon_verdict mon_h_login(struct mon_state *, const struct mon_ops *,
    struct ipc_msg *, struct mon_out *);
enum mon_verdict mon_h_auth_tls(struct mon_state *, const struct mon_ops *,
    struct ipc_msg *, struct mon_out *);
enum mon_verdict mon_h_ccc(struct mon_state *, const struct mon_ops *,
    struct ipc_msg *, struct mon_out *);
enum mon_verdict mon_h_tls_session(struct mon_state *, const struct mon_ops *,
    struct ipc_msg *, struct mon_out *);
enum mon_verdict mon_h_tls_peer(struct mon_state *, const struct mon_ops *,
    struct ipc_msg *, struct mon_out *);
enum mon_verdict mon_h_status(struct mon_state *, const struct mon_ops *,
    struct ipc_msg *, struct mon_out *);
enum mon_verdict mon_h_ccc_done(struct mon_state *, const struct mon_ops *,
    struct ipc_msg *, struct mon_out *);
enum mon_verdict mon_h_xfer_done(struct mon_state *, const struct mon_ops *,
    struct ipc_msg *, struct mon_out *);
enum mon_verdict mon_h_tls_handshake(struct mon_state *, const struct mon_ops *,
    struct ipc_msg *, struct mon_out *);
enum mon_verdict mon_h_upload_hook(struct mon_state *, const struct mon_ops *,
    struct ipc_msg *, struct mon_out *);
enum mon_verdict mon_h_proxy(struct mon_state *, const struct mon_ops *,
    struct ipc_msg *, struct mon_out *);
/* mon_anon_own.c */
enum mon_verdict mon_h_anon_own(struct mon_state *, const struct mon_ops *,
    struct ipc_msg *, struct mon_out *);

#endif
