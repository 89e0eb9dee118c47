/*
 * ipc.c - framing and typed getters for monitor messages.
 * Runs in: monitor, workers and spawners. Pure except the send and
 * receive functions.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/sys.h"
#include "ipc.h"

void
ipc_init(struct ipc_msg *m, uint32_t type)
{
	m->type = type;
	m->len = 0;
	m->off = 0;
}

int
ipc_put_bytes(struct ipc_msg *m, const void *p, size_t n)
{
	if (n > sizeof(m->data) - m->len)
		return -EMSGSIZE;
	memcpy(m->data + m->len, p, n);
	m->len += n;
	return 0;
}

int
ipc_put_u32(struct ipc_msg *m, uint32_t v)
{
	unsigned char b[4] = { v >> 24, v >> 16, v >> 8, v };

	return ipc_put_bytes(m, b, sizeof(b));
}

/* u32 length, then the bytes; strings carry no NUL. */
int
ipc_put_str(struct ipc_msg *m, const char *s, size_t max)
{
	size_t n = strlen(s);
	int r;

	if (n > max || sizeof(m->data) - m->len < 4 ||
	    n > sizeof(m->data) - m->len - 4)
		return -EMSGSIZE; /* all or nothing */
	if ((r = ipc_put_u32(m, (uint32_t)n)) < 0)
		return r;
	return ipc_put_bytes(m, s, n);
}

int
ipc_get_u32(struct ipc_msg *m, uint32_t *v)
{
	const unsigned char *b;

	if (m->len - m->off < 4)
		return -EBADMSG;
	b = m->data + m->off;
	*v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 |
	    b[3];
	m->off += 4;
	return 0;
}

/* Fails on a length that does not fit out (with its NUL) or an inner NUL. */
int
ipc_get_str(struct ipc_msg *m, char *out, size_t outsz)
{
	uint32_t n;
	int r;

	if ((r = ipc_get_u32(m, &n)) < 0)
		return r;
	if (outsz == 0 || n > outsz - 1 || n > m->len - m->off)
		return -EBADMSG;
	if (memchr(m->data + m->off, '\0', n) != NULL)
		return -EBADMSG;
	memcpy(out, m->data + m->off, n);
	out[n] = '\0';
	m->off += n;
	return 0;
}

int
ipc_put_blob(struct ipc_msg *m, const void *p, size_t n, size_t max)
{
	int r;

	if (n > max || sizeof(m->data) - m->len < 4 ||
	    n > sizeof(m->data) - m->len - 4)
		return -EMSGSIZE;
	if ((r = ipc_put_u32(m, (uint32_t)n)) < 0)
		return r;
	return ipc_put_bytes(m, p, n);
}

int
ipc_get_blob(struct ipc_msg *m, void *out, size_t max, size_t *n)
{
	uint32_t len;
	int r;

	if ((r = ipc_get_u32(m, &len)) < 0)
		return r;
	if (len > max || len > m->len - m->off)
		return -EBADMSG;
	memcpy(out, m->data + m->off, len);
	m->off += len;
	*n = len;
	return 0;
}

/* Trailing bytes are an attack, not padding. */
int
ipc_end(const struct ipc_msg *m)
{
	return m->off == m->len ? 0 : -EBADMSG;
}

int
ipc_decode(struct ipc_msg *m, const void *frame, size_t n)
{
	const unsigned char *b = frame;
	uint32_t len;

	if (n < IPC_HDR_LEN || n > KF_IPC_MSG_MAX)
		return -EBADMSG;
	len = (uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 |
	    (uint32_t)b[6] << 8 | b[7];
	if (len != n - IPC_HDR_LEN)
		return -EBADMSG;
	m->type = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3];
	m->len = len;
	m->off = 0;
	memcpy(m->data, b + IPC_HDR_LEN, len);
	return 0;
}

int
ipc_send(int fd, const struct ipc_msg *m)
{
	unsigned char frame[KF_IPC_MSG_MAX] SYS_UNINIT;
	uint32_t t = m->type, l = (uint32_t)m->len;
	unsigned char h[IPC_HDR_LEN] = { t >> 24, t >> 16, t >> 8, t, l >> 24,
		l >> 16, l >> 8, l };
	ssize_t r;

	memcpy(frame, h, sizeof(h));
	memcpy(frame + IPC_HDR_LEN, m->data, m->len);
	r = sys_send(fd, frame, IPC_HDR_LEN + m->len, MSG_NOSIGNAL);
	return r == (ssize_t)(IPC_HDR_LEN + m->len) ? 0 : -EIO;
}

/* 0, -EPIPE when the peer is gone, -EBADMSG for a malformed frame. */
int
ipc_recv(int fd, struct ipc_msg *m)
{
	unsigned char frame[KF_IPC_MSG_MAX] SYS_UNINIT;
	struct iovec iov = { frame, sizeof(frame) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	n = sys_recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	if (n == 0)
		return -EPIPE;
	if (n < 0)
		return -errno;
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		return -EBADMSG;
	return ipc_decode(m, frame, (size_t)n);
}

/*
 * A typed frame with descriptors (SCM_RIGHTS): header and payload in
 * one datagram, at most max_fds fds beside it.
 */
static int
send_frame(int fd, uint32_t type, const void *p, size_t n, const int *fds,
    size_t nfds, size_t max_fds)
{
	unsigned char h[IPC_HDR_LEN] = { type >> 24, type >> 16, type >> 8,
		type, n >> 24, n >> 16, n >> 8, n };
	union {
		struct cmsghdr c;
		char b[CMSG_SPACE(sizeof(int) * KF_UPGRADE_FDS_MAX)];
	} cm;
	struct iovec iov[2] = { { h, sizeof(h) }, { (void *)(uintptr_t)p, n } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	struct cmsghdr *c;
	ssize_t r;

	if (nfds > max_fds || nfds > KF_UPGRADE_FDS_MAX ||
	    n > KF_SPAWN_MSG_MAX - IPC_HDR_LEN)
		return -EMSGSIZE;
	memset(&cm, 0, sizeof(cm));
	if (nfds > 0) {
		mh.msg_control = cm.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		r = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r == (ssize_t)(IPC_HDR_LEN + n) ? 0 : -EIO;
}

/* The spawner requests, whose payload (a struct handoff) is larger than an ipc_msg. */
int
ipc_send_fds(int fd, uint32_t type, const void *p, size_t n, const int *fds,
    size_t nfds)
{
	return send_frame(fd, type, p, n, fds, nfds, KF_IPC_FDS_MAX);
}

/* The upgrade hand-over (src/priv/upgrade.c): up to KF_UPGRADE_FDS_MAX. */
int
ipc_send_many_fds(int fd, uint32_t type, const void *p, size_t n,
    const int *fds, size_t nfds)
{
	return send_frame(fd, type, p, n, fds, nfds, KF_UPGRADE_FDS_MAX);
}

static void
close_passed(struct msghdr *mh)
{
	struct cmsghdr *c;
	size_t i, k;
	int fd;

	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k; i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			close(fd);
		}
	}
}

/*
 * One frame of exactly type and n payload bytes with exactly nfds
 * descriptors (close-on-exec), or when got is not NULL between 1 and
 * nfds of them (*got says how many); and the sender's credentials
 * when cr is not NULL (the socket has SO_PASSCRED). Anything else:
 * every fd received is closed and -EBADMSG. 0, or -EPIPE when the peer
 * is gone.
 */
int
ipc_recv_fds(int fd, uint32_t type, void *p, size_t n, int *fds, size_t nfds,
    size_t *gotp, struct ucred *cr)
{
	unsigned char h[IPC_HDR_LEN];
	union {
		struct cmsghdr c;
		char b[CMSG_SPACE(sizeof(int) * KF_IPC_FDS_MAX) +
		    CMSG_SPACE(sizeof(struct ucred))];
	} cm;
	struct iovec iov[2] = { { h, sizeof(h) }, { p, n } };
	struct msghdr mh = { .msg_iov = iov,
		.msg_iovlen = 2,
		.msg_control = cm.b,
		.msg_controllen = sizeof(cm.b) };
	struct cmsghdr *c;
	size_t got = 0, k;
	int have_cr = 0;
	ssize_t r;

	if (nfds > KF_IPC_FDS_MAX)
		return -EINVAL;
	do
		r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return -EPIPE;
	if (r < 0)
		return -errno;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
			if (cr != NULL)
				memcpy(cr, CMSG_DATA(c), sizeof(*cr));
			have_cr = 1;
		} else if (c->cmsg_type == SCM_RIGHTS) {
			k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			if (got + k > nfds) {
				got = nfds + 1;
				continue;
			}
			memcpy(fds + got, CMSG_DATA(c), k * sizeof(int));
			got += k;
		}
	}
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || got > nfds ||
	    (gotp == NULL ? got != nfds : got == 0) ||
	    (size_t)r != IPC_HDR_LEN + n || (cr != NULL && !have_cr) ||
	    ((uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 |
		h[3]) != type ||
	    ((uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 |
		h[7]) != n) {
		close_passed(&mh);
		return -EBADMSG;
	}
	if (gotp != NULL)
		*gotp = got;
	return 0;
}
