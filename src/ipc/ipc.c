/*
 * ipc.c - framing and typed getters for monitor messages.
 * Runs in: monitor and workers. Pure except ipc_send/ipc_recv.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

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
		return -EMSGSIZE;	/* all or nothing */
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
	*v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3];
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
	unsigned char frame[KF_IPC_MSG_MAX];
	uint32_t t = m->type, l = (uint32_t)m->len;
	unsigned char h[IPC_HDR_LEN] = { t >> 24, t >> 16, t >> 8, t,
		l >> 24, l >> 16, l >> 8, l };
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
	unsigned char frame[KF_IPC_MSG_MAX];
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
