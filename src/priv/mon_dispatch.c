/*
 * mon_dispatch.c - the monitor's dispatch table: for every request a
 * worker or the TLS relay may send, who may send it, in which phases,
 * whether once per connection, its largest payload and its handler
 * (mon_handlers.c). A frame that is empty, oversized, malformed, of a
 * type not in the table for its sender, out of its phase, a second
 * "once", or that its handler refuses ends the session with one line
 * saying why. docs/PRIVSEP.md is this table in prose.
 * Runs in: monitor.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "../common/sys.h"
#include "../ipc/proto.h"
#include "mon_state.h"

#define STR(n) (4 + (n)) /* u32 length + bytes */

const struct mon_req mon_table[] = {
	{ MON_LOGIN, "MON_LOGIN", MON_SRC_WORKER, MPH_PRELOGIN, 0,
	    STR(KF_USER_MAX) + STR(KF_PASS_MAX) + STR(CONF_HOST_MAX) + 4,
	    mon_h_login },
	{ MON_AUTH_TLS, "MON_AUTH_TLS", MON_SRC_WORKER, MPH_PRELOGIN, 1,
	    4 + STR(CONF_HOST_MAX), mon_h_auth_tls },
	{ MON_CCC, "MON_CCC", MON_SRC_WORKER, MPH_SESSION, 1, 0, mon_h_ccc },
	{ MON_TLS_SESSION, "MON_TLS_SESSION", MON_SRC_RELAY, MPH_ANY, 0,
	    STR(KF_TLS_SESSION_MAX), mon_h_tls_session },
	{ MON_TLS_PEER, "MON_TLS_PEER", MON_SRC_RELAY, MPH_ANY, 1,
	    STR(KF_USER_MAX), mon_h_tls_peer },
	{ RELAY_CCC_DONE, "RELAY_CCC_DONE", MON_SRC_RELAY, MPH_CCC, 0, 0,
	    mon_h_ccc_done },
	/* once: by st->proxy_wait (its type is past the "seen" bits) */
	{ MON_PROXY, "MON_PROXY", MON_SRC_WORKER, MPH_PRELOGIN, 0,
	    4 + 4 + STR(16) + 4, mon_h_proxy },
};
const size_t mon_table_len = sizeof(mon_table) / sizeof(mon_table[0]);

void
mon_state_init(struct mon_state *st, const struct conf *c,
    const char *inline_users, const struct sockaddr_storage *peer,
    const char *peer_str, struct auth_identity *id, unsigned char *tls_sess,
    size_t *tls_sess_len)
{
	memset(st, 0, sizeof(*st));
	st->conf = c;
	st->inline_users = inline_users;
	st->peer = peer;
	st->peer_str = peer_str;
	st->phase = MPH_PRELOGIN;
	st->id = id;
	st->tls_sess = tls_sess;
	st->tls_sess_len = tls_sess_len;
}

static const char *
src_name(enum mon_src src)
{
	return src == MON_SRC_RELAY ? "TLS relay" : "worker";
}

static const char *
phase_name(enum mon_phase ph)
{
	switch (ph) {
	case MPH_PRELOGIN:
		return "before login";
	case MPH_EXITING:
		return "after its verdict, while the worker must exit";
	case MPH_SESSION:
		return "after login";
	default:
		return "while CCC waits for the relay";
	}
}

static enum mon_verdict __attribute__((format(printf, 2, 3)))
refuse(struct mon_out *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(out->why, sizeof(out->why), fmt, ap);
	va_end(ap);
	return MON_V_FATAL;
}

static const struct mon_req *
lookup(uint32_t type)
{
	size_t i;

	for (i = 0; i < mon_table_len; i++)
		if (mon_table[i].type == type)
			return &mon_table[i];
	return NULL;
}

/* The table's checks, in order; NULL when the frame may be handled. */
static enum mon_verdict
check(const struct mon_state *st, enum mon_src src, const struct mon_req *rq,
    const struct ipc_msg *msg, struct mon_out *out)
{
	if (rq == NULL || rq->src != src)
		return refuse(out,
		    "refused frame from the %s: type %u is not "
		    "its request",
		    src_name(src), (unsigned)msg->type);
	if ((rq->phases & st->phase) == 0)
		return refuse(out, "refused %s from the %s: out of order (%s)",
		    rq->name, src_name(src), phase_name(st->phase));
	if (rq->once && rq->type < 32 && (st->seen & (1u << rq->type)))
		return refuse(out,
		    "refused %s from the %s: a second one "
		    "(once per connection)",
		    rq->name, src_name(src));
	if (st->proxy_wait && rq->type != MON_PROXY)
		return refuse(out,
		    "refused %s from the %s: before the PROXY "
		    "header",
		    rq->name, src_name(src));
	if (msg->len > rq->max_len)
		return refuse(out,
		    "refused %s from the %s: oversized (%zu > "
		    "%zu bytes)",
		    rq->name, src_name(src), msg->len, rq->max_len);
	return MON_V_NONE;
}

enum mon_verdict
mon_dispatch(struct mon_state *st, const struct mon_ops *ops, enum mon_src src,
    const void *frame, size_t n, struct mon_out *out)
{
	const struct mon_req *rq;
	struct ipc_msg msg;
	enum mon_verdict v;

	out->why[0] = '\0';
	out->retry = 0;
	if (n == 0)
		return refuse(out, "refused frame from the %s: empty",
		    src_name(src));
	if (n > KF_IPC_MSG_MAX)
		return refuse(out,
		    "refused frame from the %s: oversized (%zu "
		    "> %d bytes)",
		    src_name(src), n, KF_IPC_MSG_MAX);
	if (ipc_decode(&msg, frame, n) < 0)
		return refuse(out,
		    "refused frame from the %s: malformed "
		    "header (%zu bytes)",
		    src_name(src), n);
	rq = lookup(msg.type);
	if ((v = check(st, src, rq, &msg, out)) == MON_V_FATAL)
		return v;
	v = rq->handler(st, ops, &msg, out);
	explicit_bzero(msg.data, sizeof(msg.data)); /* a password */
	if (v != MON_V_FATAL && rq->once && !out->retry && rq->type < 32)
		st->seen |= 1u << rq->type;
	return v;
}

/*
 * One datagram: > 0 its length (> KF_IPC_MSG_MAX: it was longer than
 * that), 0 an empty datagram from a live sender, -EPIPE when the sender
 * has closed its end, -errno.
 */
static ssize_t
read_frame(int fd, unsigned char *frame, size_t cap)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
	ssize_t n;

	n = sys_recv(fd, frame, cap, MSG_TRUNC | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN ? -EAGAIN : -EPIPE;
	if (n > 0)
		return n;
	/* 0: an empty datagram, or the end of the stream */
	if (poll(&p, 1, 0) < 0 || (p.revents & (POLLHUP | POLLRDHUP)))
		return -EPIPE;
	return 0;
}

enum mon_verdict
mon_serve_one(struct mon_state *st, const struct mon_ops *ops, enum mon_src src,
    int fd, struct mon_out *out, int *gone)
{
	unsigned char frame[KF_IPC_MSG_MAX];
	enum mon_verdict v;
	ssize_t n;

	*gone = 0;
	out->why[0] = '\0';
	if ((n = read_frame(fd, frame, sizeof(frame))) == -EAGAIN)
		return MON_V_NONE;
	if (n < 0) {
		*gone = 1;
		return MON_V_NONE;
	}
	v = mon_dispatch(st, ops, src, frame, (size_t)n, out);
	explicit_bzero(frame, sizeof(frame));
	if (v == MON_V_REPLY && ipc_send(fd, &out->rep) < 0)
		*gone = 1;
	return v;
}
