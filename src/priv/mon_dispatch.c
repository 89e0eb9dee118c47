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
#include <unistd.h>

#include "../common/sys.h"
#include "../ipc/proto.h"
#include "mon_state.h"

#define STR(n) (4 + (n)) /* u32 length + bytes */

const struct mon_req mon_table[] = {
	{ MON_LOGIN, "MON_LOGIN", MON_SRC_WORKER, MPH_PRELOGIN, 0,
	    STR(KF_USER_MAX) + STR(KF_PASS_MAX) + STR(CONF_HOST_MAX) + 4,
	    mon_h_login, 0 },
	{ MON_AUTH_TLS, "MON_AUTH_TLS", MON_SRC_WORKER, MPH_PRELOGIN, 1,
	    4 + STR(CONF_HOST_MAX), mon_h_auth_tls, 0 },
	{ MON_CCC, "MON_CCC", MON_SRC_WORKER, MPH_SESSION, 1, 0, mon_h_ccc, 0 },
	{ MON_TLS_SESSION, "MON_TLS_SESSION", MON_SRC_RELAY, MPH_ANY, 0,
	    STR(KF_TLS_SESSION_MAX), mon_h_tls_session, 0 },
	{ MON_TLS_PEER, "MON_TLS_PEER", MON_SRC_RELAY, MPH_ANY, 1,
	    STR(KF_USER_MAX), mon_h_tls_peer, 0 },
	{ MON_STATUS, "MON_STATUS", MON_SRC_WORKER, MPH_SESSION, 0,
	    STR(KF_WHO_VERB_MAX) + STR(KF_WHO_PATH_MAX) + 8, mon_h_status, 0 },
	{ RELAY_CCC_DONE, "RELAY_CCC_DONE", MON_SRC_RELAY, MPH_CCC, 0, 0,
	    mon_h_ccc_done, 0 },
	{ MON_XFER_DONE, "MON_XFER_DONE", MON_SRC_WORKER, MPH_SESSION, 0, 16,
	    mon_h_xfer_done, 0 },
	{ MON_TLS_HANDSHAKE, "MON_TLS_HANDSHAKE", MON_SRC_RELAY, MPH_ANY, 0, 4,
	    mon_h_tls_handshake, 0 },
	{ MON_UPLOAD_HOOK, "MON_UPLOAD_HOOK", MON_SRC_WORKER, MPH_SESSION, 0,
	    STR(KF_PATH_MAX), mon_h_upload_hook, 1 },
	/* once: by st->proxy_wait (its type is past the "seen" bits) */
	{ MON_PROXY, "MON_PROXY", MON_SRC_WORKER, MPH_PRELOGIN, 0,
	    4 + 4 + STR(16) + 4, mon_h_proxy, 0 },
	/* once per upload: by the file's owner (mon_anon_own.c) */
	{ MON_ANON_OWN, "MON_ANON_OWN", MON_SRC_WORKER, MPH_SESSION, 0, 0,
	    mon_h_anon_own, 1 },
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
	st->req_fd = -1;
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
	if ((st->req_fd >= 0) != (rq->fd != 0))
		return refuse(out, "refused %s from the %s: %s", rq->name,
		    src_name(src),
		    rq->fd ? "no descriptor" : "a descriptor it does not take");
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

/* The frame itself: not empty, not oversized, a well-formed header. */
static enum mon_verdict
early(enum mon_src src, const void *frame, size_t n, struct ipc_msg *msg,
    struct mon_out *out)
{
	if (n == 0)
		return refuse(out, "refused frame from the %s: empty",
		    src_name(src));
	if (n > KF_IPC_MSG_MAX)
		return refuse(out,
		    "refused frame from the %s: oversized (%zu "
		    "> %d bytes)",
		    src_name(src), n, KF_IPC_MSG_MAX);
	if (ipc_decode(msg, frame, n) < 0)
		return refuse(out,
		    "refused frame from the %s: malformed "
		    "header (%zu bytes)",
		    src_name(src), n);
	return MON_V_NONE;
}

/* A descriptor that came with the frame is closed whatever happens. */
enum mon_verdict
mon_dispatch(struct mon_state *st, const struct mon_ops *ops, enum mon_src src,
    const void *frame, size_t n, struct mon_out *out)
{
	const struct mon_req *rq = NULL;
	struct ipc_msg msg SYS_UNINIT;
	enum mon_verdict v;

	out->why[0] = '\0';
	out->retry = 0;
	msg.type = 0; /* set by ipc_decode; clang-analyzer cannot see it */
	msg.len = 0;
	if ((v = early(src, frame, n, &msg, out)) != MON_V_FATAL) {
		rq = lookup(msg.type);
		v = check(st, src, rq, &msg, out);
	}
	if (v != MON_V_FATAL)
		v = rq->handler(st, ops, &msg, out);
	sys_close(&st->req_fd);
	explicit_bzero(msg.data, sizeof(msg.data)); /* a password */
	if (v != MON_V_FATAL && rq->once && !out->retry && rq->type < 32)
		st->seen |= 1u << rq->type;
	return v;
}

/*
 * The descriptor a datagram carried, or -1; -2 when it carried more
 * than one (each is closed) or more than fitted (MSG_CTRUNC).
 */
static int
passed_fd(struct msghdr *mh)
{
	struct cmsghdr *c;
	size_t i, k, n = 0;
	int fd = -1, one;

	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k; i++, n++) {
			memcpy(&one, CMSG_DATA(c) + i * sizeof(int),
			    sizeof(one));
			if (n == 0)
				fd = one;
			else
				close(one);
		}
	}
	if (n > 1 || (mh->msg_flags & MSG_CTRUNC) != 0) {
		if (fd >= 0)
			close(fd);
		return -2;
	}
	return fd;
}

/*
 * One datagram: > 0 its length (> KF_IPC_MSG_MAX: it was longer than
 * that), 0 an empty datagram from a live sender, -EPIPE when the sender
 * has closed its end, -errno. *rfd: its descriptor (passed_fd).
 */
static ssize_t
read_frame(int fd, unsigned char *frame, size_t cap, int *rfd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
	union {
		struct cmsghdr c;
		char b[CMSG_SPACE(sizeof(int) * KF_IPC_FDS_MAX)];
	} cm;
	struct iovec iov = { frame, cap };
	struct msghdr mh = { .msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cm.b,
		.msg_controllen = sizeof(cm.b) };
	ssize_t n;

	*rfd = -1;
	do
		n = recvmsg(fd, &mh,
		    MSG_TRUNC | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? -EAGAIN : -EPIPE;
	*rfd = passed_fd(&mh);
	if (n > 0)
		return n;
	/* 0: an empty datagram, or the end of the stream */
	if (poll(&p, 1, 0) < 0 || (p.revents & (POLLHUP | POLLRDHUP))) {
		if (*rfd >= 0)
			close(*rfd);
		*rfd = -1;
		return -EPIPE;
	}
	return 0;
}

enum mon_verdict
mon_serve_one(struct mon_state *st, const struct mon_ops *ops, enum mon_src src,
    int fd, struct mon_out *out, int *gone)
{
	unsigned char frame[KF_IPC_MSG_MAX] SYS_UNINIT;
	enum mon_verdict v;
	ssize_t n;
	int rfd;

	*gone = 0;
	out->why[0] = '\0';
	if ((n = read_frame(fd, frame, sizeof(frame), &rfd)) == -EAGAIN)
		return MON_V_NONE;
	if (n < 0) {
		*gone = 1;
		return MON_V_NONE;
	}
	if (rfd == -2) {
		snprintf(out->why, sizeof(out->why),
		    "refused frame from the %s: more than one descriptor",
		    src_name(src));
		return MON_V_FATAL;
	}
	st->req_fd = rfd;
	v = mon_dispatch(st, ops, src, frame, (size_t)n, out);
	explicit_bzero(frame, sizeof(frame));
	if (v == MON_V_REPLY && ipc_send(fd, &out->rep) < 0)
		*gone = 1;
	return v;
}
