/*
 * handoff.h - what a monitor tells a spawner about the session of the
 * worker it asks for: one fixed-layout struct, no pointers, sent as the
 * payload of a SPAWN_* request beside the worker's descriptors
 * (docs/PRIVSEP.md). The spawner checks every field (handoff_check)
 * before it forks.
 * Runs in: monitor (fills it), spawners (check it, give it to a child).
 */
#ifndef KF_HANDOFF_H
#define KF_HANDOFF_H

#include <stdint.h>
#include <sys/socket.h>

#include "../auth/auth.h"
#include "../common/limits.h"
#include "../conf/conf.h"

/* Request types on a spawner's channel, reply types on the reply socket. */
#define SPAWN_PRELOGIN	0x5301 /* fds: ctrl, ipc, log, reply */
#define SPAWN_POSTLOGIN 0x5302 /* fds: ctrl, ipc, log, reply [, quota] */
#define SPAWN_RELAY	0x5303 /* fds: raw, plain, log, ipc, reply */
#define SPAWN_STARTED	0x5311 /* spawner -> monitor: fd: the pidfd */
#define SPAWN_EXITED	0x5312 /* spawner -> monitor: struct spawn_exit */

/* handoff.flags */
#define HANDOFF_TLS	  0x01 /* control connection is TLS */
#define HANDOFF_CCC	  0x02 /* TLS ended by CCC */
#define HANDOFF_HOST_DONE 0x04 /* HOST given before AUTH TLS */
#define HANDOFF_GREETED	  0x08 /* 220 sent: pre-login after REIN */
#define HANDOFF_QUOTA	  0x10 /* post-login: a quota fd follows */
#define HANDOFF_PROXY	  0x20 /* pre-login: read a PROXY header first */
#define HANDOFF_PROXIED	  0x40 /* peer is a PROXY header's client address */
#define HANDOFF_FLAGS	  0x7f

#define HANDOFF_TICKET_LEN  80 /* TLS_TICKET_KEY_LEN */
#define HANDOFF_SID_CTX_LEN 32 /* TLS_SID_CTX_LEN */

struct handoff {
	uint32_t flags; /* HANDOFF_* */
	uint32_t tls_flags; /* MON_TLS_* */
	uint64_t id; /* session number */
	int64_t start_ms; /* connect time */
	int64_t deadline_ms; /* relay: end of the handshake */
	struct sockaddr_storage local;
	struct sockaddr_storage peer;
	char host[CONF_HOST_MAX + 1];
	unsigned char ticket[HANDOFF_TICKET_LEN];
	unsigned char sid_ctx[HANDOFF_SID_CTX_LEN];
	uint32_t tls_sess_len; /* post-login: the control session */
	unsigned char tls_sess[KF_TLS_SESSION_MAX];
	struct auth_identity user; /* post-login only, else zero */
};

/* one spawner request: the struct and the frame header (ipc.c: 8 bytes) */
_Static_assert(sizeof(struct handoff) + 8 <= KF_SPAWN_MSG_MAX,
    "struct handoff outgrew KF_SPAWN_MSG_MAX");

/* SPAWN_EXITED: how the worker ended (waitid's si_code and si_status). */
struct spawn_exit {
	int32_t code;
	int32_t status;
};

/* Descriptors of each request type (with the reply socket last but quota). */
#define HANDOFF_FDS_PRELOGIN  4
#define HANDOFF_FDS_POSTLOGIN 4
#define HANDOFF_FDS_RELAY     5

/*
 * Every field in range for a request of type: known flags, both
 * addresses IPv4 or IPv6, strings NUL-terminated (host as
 * conf_host_norm writes it), the TLS session within its bound, and for
 * post-login an identity with a valid name, an absolute root, no uid 0
 * when root is 1. 0, or -EBADMSG.
 */
int handoff_check(const struct handoff *, uint32_t type, int root);

#endif
