/*
 * xfer.c - moving bytes between a file and the data connection.
 * Runs in: post-login worker.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/limits.h"
#include "../common/sys.h"
#include "../tls/tls_xfer.h"
#include "ascii.h"
#include "xfer.h"

/*
 * What the client said on the control connection during the transfer:
 * ABOR ends it, STAT is answered with the progress (RFC 959 4.1.3),
 * anything else waits for the end of the transfer.
 */
static int
take_ctrl(struct xfer *x)
{
	int r;

	while ((r = ctrl_take_abor(x->ctrl)) == CTRL_XFER_STAT)
		ctrl_reply(x->ctrl, 213, "Status: %llu bytes transferred.",
		    (unsigned long long)x->bytes);
	if (r < 0)
		return XFER_CTRL_GONE;
	return r == CTRL_XFER_ABOR ? XFER_ABORTED : XFER_OK;
}

/*
 * Waits until the data fd is ready for ev, watching the control
 * connection meanwhile. XFER_OK when ready.
 */
static enum xfer_status
wait_ready(struct xfer *x, short ev)
{
	struct pollfd p[2] = {
		{ .fd = x->datafd, .events = ev },
		{ .fd = x->ctrl->fd, .events = POLLIN | POLLPRI },
	};
	int n, r;

	for (;;) {
		if (*x->stop)
			return XFER_STOPPED;
		/* a full control buffer holds no ABOR: stop watching it */
		p[1].fd = x->ctrl->len >= KF_LINE_MAX ? -1 : x->ctrl->fd;
		n = poll(p, 2, x->timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? XFER_TIMEOUT : XFER_DATA_ERROR;
		if (p[1].revents) {
			r = take_ctrl(x);
			if (r != XFER_OK)
				return (enum xfer_status)r;
		}
		if (p[0].revents)
			return XFER_OK;
	}
}

/*
 * A look at the control connection without waiting: between blocks of
 * a busy transfer (every CHECK_EVERY bytes), and at the data
 * connection's end, where an ABOR or a closed control connection means
 * the upload did not end as the client wanted.
 */
#define CHECK_EVERY	(8ULL * KF_XFER_CHUNK)

static enum xfer_status
check_ctrl(struct xfer *x)
{
	if (*x->stop)
		return XFER_STOPPED;
	if (x->ctrl->len >= KF_LINE_MAX ||
	    sys_poll1(x->ctrl->fd, POLLIN | POLLPRI, 0) <= 0)
		return XFER_OK;
	return (enum xfer_status)take_ctrl(x);
}

static enum xfer_status
local_error(int err)
{
	if (err == ENOSPC)
		return XFER_DISK_FULL;
	if (err == EDQUOT || err == EFBIG)
		return XFER_QUOTA;
	return XFER_IO_ERROR;
}

enum xfer_status
xfer_send_file(struct xfer *x, int filefd, off_t offset)
{
	enum xfer_status st;
	ssize_t n;

	if (x->ssl != NULL)
		return tlsx_send_file(x, filefd, offset);
	for (;;) {
		n = sendfile(x->datafd, filefd, &offset, KF_XFER_CHUNK);
		if (n > 0) {
			x->bytes += (uint64_t)n;
			if (x->bytes % CHECK_EVERY < (uint64_t)n &&
			    (st = check_ctrl(x)) != XFER_OK)
				return st;
			continue;
		}
		if (n == 0)
			return XFER_OK;
		if (errno == EAGAIN) {
			if ((st = wait_ready(x, POLLOUT)) != XFER_OK)
				return st;
			continue;
		}
		if (errno == EINTR)
			continue;
		return errno == EPIPE || errno == ECONNRESET ? XFER_DATA_ERROR :
		    XFER_IO_ERROR;
	}
}

enum xfer_status
xfer_send_buf(struct xfer *x, const char *p, size_t len)
{
	enum xfer_status st;
	ssize_t n;

	if (x->ssl != NULL)
		return tlsx_send_buf(x, p, len);
	while (len > 0) {
		n = send(x->datafd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			x->bytes += (uint64_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if ((st = wait_ready(x, POLLOUT)) != XFER_OK)
				return st;
			continue;
		}
		return XFER_DATA_ERROR;
	}
	return XFER_OK;
}

/*
 * TYPE A download: LF -> CRLF (ascii.c). Blocks of KF_XFER_CHUNK / 2
 * read from filefd at offset, converted into a block twice that size.
 */
enum xfer_status
xfer_send_ascii(struct xfer *x, int filefd)
{
	enum xfer_status st = XFER_OK;
	struct ascii_state as;
	size_t inmax = KF_XFER_CHUNK / 2, used, n;
	char *in, *out;
	ssize_t r;

	ascii_init(&as);
	in = malloc(inmax);
	out = malloc(ASCII_TO_NET_MAX(inmax));
	if (in == NULL || out == NULL) {
		st = XFER_IO_ERROR;
		goto out;
	}
	while (st == XFER_OK) {
		r = read(filefd, in, inmax);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			st = r == 0 ? XFER_OK : XFER_IO_ERROR;
			break;
		}
		n = ascii_to_net(&as, in, (size_t)r, &used, out,
		    ASCII_TO_NET_MAX(inmax));
		st = xfer_send_buf(x, out, n);
		if (st == XFER_OK && x->bytes % CHECK_EVERY < n)
			st = check_ctrl(x);
	}
out:
	free(in);
	free(out);
	return st;
}

/* Writes n bytes; the upload's local errors become statuses. */
static enum xfer_status
write_out(int filefd, const char *p, size_t n)
{
	if (n > 0 && sys_write_all(filefd, p, n) < 0)
		return local_error(errno);
	return XFER_OK;
}

/*
 * Uploads: large receives written as they come, or (TYPE A) CRLF -> LF
 * through ascii.c first.
 */
static enum xfer_status
recv_loop(struct xfer *x, int filefd, int ascii)
{
	enum xfer_status st = XFER_OK;
	struct ascii_state as;
	char *blk, *out = NULL;
	size_t used, n;
	ssize_t r;

	ascii_init(&as);
	blk = malloc(KF_XFER_CHUNK);
	if (ascii)
		out = malloc(ASCII_FROM_NET_MAX(KF_XFER_CHUNK));
	if (blk == NULL || (ascii && out == NULL)) {
		st = XFER_IO_ERROR;
		goto out;
	}
	for (;;) {
		r = recv(x->datafd, blk, KF_XFER_CHUNK, 0);
		if (r > 0) {
			x->bytes += (uint64_t)r;
			if (ascii) {
				n = ascii_from_net(&as, blk, (size_t)r, &used,
				    out, ASCII_FROM_NET_MAX(KF_XFER_CHUNK));
				st = write_out(filefd, out, n);
			} else
				st = write_out(filefd, blk, (size_t)r);
			if (st != XFER_OK)
				break;
			if (x->bytes % CHECK_EVERY < (uint64_t)r &&
			    (st = check_ctrl(x)) != XFER_OK)
				break;
			continue;
		}
		if (r == 0) {
			if (ascii) {
				n = ascii_from_net_end(&as, out, 1);
				if ((st = write_out(filefd, out, n)) != XFER_OK)
					break;
			}
			st = check_ctrl(x);
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			st = XFER_DATA_ERROR;
			break;
		}
		if ((st = wait_ready(x, POLLIN)) != XFER_OK)
			break;
	}
out:
	free(blk);
	free(out);
	return st;
}

enum xfer_status
xfer_recv_file(struct xfer *x, int filefd)
{
	if (x->ssl != NULL)
		return tlsx_recv(x, filefd, 0);
	return recv_loop(x, filefd, 0);
}

/* TYPE A upload: CRLF -> LF. */
enum xfer_status
xfer_recv_ascii(struct xfer *x, int filefd)
{
	if (x->ssl != NULL)
		return tlsx_recv(x, filefd, 1);
	return recv_loop(x, filefd, 1);
}
