/*
 * xfer.c - the transfer engine (see xfer.h): every loop and every
 * transfer policy, over a transport; and the plain TCP transport.
 * Runs in: post-login worker; unit tests.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../common/limits.h"
#include "../common/log.h"
#include "../common/sys.h"
#include "ascii.h"
#include "quota.h"
#include "xfer.h"

/*
 * A look at the control connection without waiting, every CHECK_EVERY
 * bytes of a busy transfer (one that never has to wait for the data
 * connection), and at an upload's end, where an ABOR or a closed control
 * connection means the upload did not end as the client wanted.
 */
#define CHECK_EVERY (8ULL * KF_XFER_CHUNK)

void
xfer_init(struct xfer *x, const struct xfer_io *io,
    const struct xfer_watch *watch, int timeout_ms, volatile sig_atomic_t *stop)
{
	memset(x, 0, sizeof(*x));
	x->io = *io;
	x->watch = *watch;
	x->timeout_ms = timeout_ms;
	x->stop = stop;
	x->next_check = CHECK_EVERY;
	x->last_ms = x->win_ms = sys_now_ms();
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
xfer_set_rates(struct xfer *x, uint64_t rate, uint64_t min_rate)
{
	pace_init(&x->pace, rate, now_ns());
	/* our own pace must never make a transfer "too slow" */
	if (rate > 0 && min_rate > rate / 2)
		min_rate = rate / 2;
	x->min_rate = min_rate;
}

/* The control connection: what to watch, and serving what came. */
static int
ctrl_fd(const struct xfer *x)
{
	return x->watch.fd(x->watch.arg);
}

static enum xfer_status
take_ctrl(struct xfer *x)
{
	return x->watch.take(x->watch.arg, x->bytes);
}

static enum xfer_status
check_ctrl(struct xfer *x)
{
	int fd;

	if (*x->stop)
		return XFER_STOPPED;
	if ((fd = ctrl_fd(x)) < 0 || sys_poll1(fd, POLLIN | POLLPRI, 0) <= 0)
		return XFER_OK;
	return take_ctrl(x);
}

/* Every CHECK_EVERY bytes: the control connection, without waiting. */
static enum xfer_status
check_busy(struct xfer *x)
{
	if (x->bytes < x->next_check)
		return XFER_OK;
	x->next_check = x->bytes + CHECK_EVERY;
	return check_ctrl(x);
}

/*
 * The minimum rate, checked when a window of timeout_ms has passed:
 * fewer than min_rate bytes a second over it ends the transfer; else a
 * new window starts.
 */
static enum xfer_status
check_rate(struct xfer *x, int64_t now)
{
	int64_t span = now - x->win_ms;

	if (x->min_rate == 0 || span < x->timeout_ms)
		return XFER_OK;
	if (x->win_bytes < x->min_rate * (uint64_t)span / 1000)
		return XFER_TOO_SLOW;
	x->win_ms = now;
	x->win_bytes = 0;
	return XFER_OK;
}

/* n bytes moved: the pace, the stall clock, the rate window. */
static enum xfer_status
moved(struct xfer *x, size_t n)
{
	int64_t now = sys_now_ms();

	pace_spend(&x->pace, now_ns(), n);
	x->bytes += n;
	x->win_bytes += n;
	x->last_ms = now;
	if (x->progress.fn != NULL && now >= x->progress.next_ms) {
		x->progress.next_ms = now + KF_WHO_REPORT_MS;
		x->progress.fn(x->progress.arg, x->bytes);
	}
	return check_rate(x, now);
}

/* How long a wait for the data connection may last (stall, rate). */
static int
wait_ms(const struct xfer *x)
{
	int64_t now = sys_now_ms(), t = x->last_ms + x->timeout_ms - now;

	if (x->min_rate > 0 && x->win_ms + x->timeout_ms - now < t)
		t = x->win_ms + x->timeout_ms - now;
	return t < 0 ? 0 : (int)t;
}

static enum xfer_status
waited(struct xfer *x)
{
	int64_t now = sys_now_ms();

	if (now - x->last_ms >= x->timeout_ms)
		return XFER_TIMEOUT;
	return check_rate(x, now);
}

/*
 * Waits until the data fd is ready for ev, serving the control
 * connection meanwhile. XFER_OK when ready.
 */
static enum xfer_status
wait_ready(struct xfer *x, short ev)
{
	struct pollfd p[2] = {
		{ .fd = x->io.fd, .events = ev },
		{ .fd = -1, .events = POLLIN | POLLPRI },
	};
	enum xfer_status st;
	int n;

	for (;;) {
		if (*x->stop)
			return XFER_STOPPED;
		p[1].fd = ctrl_fd(x);
		n = poll(p, 2, wait_ms(x));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return XFER_DATA_ERROR;
		if (n == 0) {
			if ((st = waited(x)) != XFER_OK)
				return st;
			continue;
		}
		if (p[1].revents && (st = take_ctrl(x)) != XFER_OK)
			return st;
		if (p[0].revents)
			return XFER_OK;
	}
}

/* What a transport call that moved nothing means: wait, or the end. */
static enum xfer_status
after(struct xfer *x, ssize_t r)
{
	switch (r) {
	case XIO_WANT_READ:
		return wait_ready(x, POLLIN);
	case XIO_WANT_WRITE:
		return wait_ready(x, POLLOUT);
	case XIO_LOCAL:
		return XFER_IO_ERROR;
	case XIO_TRUNCATED:
		return x->accept_truncated ? XFER_OK : XFER_TRUNCATED;
	default:
		return XFER_DATA_ERROR;
	}
}

/*
 * The pace's wait before the next slice (ns): the control connection
 * is served meanwhile (ABOR, STAT) and a stop is noticed. A failed data
 * connection shows at the next send or receive, a slice later.
 */
static enum xfer_status
wait_pace(struct xfer *x, int64_t ns)
{
	struct pollfd p = { .fd = -1, .events = POLLIN | POLLPRI };
	int64_t end = now_ns() + ns, left;
	enum xfer_status st;
	struct timespec ts;
	int n;

	while ((left = end - now_ns()) > 0) {
		if (*x->stop)
			return XFER_STOPPED;
		p.fd = ctrl_fd(x);
		ts.tv_sec = left / 1000000000;
		ts.tv_nsec = left % 1000000000;
		n = ppoll(&p, 1, &ts, NULL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return XFER_IO_ERROR;
		if (n > 0 && (st = take_ctrl(x)) != XFER_OK)
			return st;
	}
	return *x->stop ? XFER_STOPPED : XFER_OK;
}

/*
 * Before a block of at most max bytes: a stop, the pace's wait; *n the
 * block's size.
 */
static enum xfer_status
pace_block(struct xfer *x, size_t max, size_t *n)
{
	enum xfer_status st;
	int64_t d;

	if (*x->stop)
		return XFER_STOPPED;
	*n = pace_slice(&x->pace, max);
	while ((d = pace_delay(&x->pace, now_ns())) > 0)
		if ((st = wait_pace(x, d)) != XFER_OK)
			return st;
	return XFER_OK;
}

enum xfer_status
xfer_send_buf(struct xfer *x, const char *p, size_t len)
{
	enum xfer_status st;
	size_t want;
	ssize_t n;

	while (len > 0) {
		if ((st = pace_block(x, len, &want)) != XFER_OK)
			return st;
		n = x->io.ops->send(&x->io, p, want);
		if (n == 0)
			return XFER_DATA_ERROR;
		if (n < 0) {
			if ((st = after(x, n)) != XFER_OK)
				return st;
			continue;
		}
		p += n;
		len -= (size_t)n;
		if ((st = moved(x, (size_t)n)) != XFER_OK ||
		    (st = check_busy(x)) != XFER_OK)
			return st;
	}
	return XFER_OK;
}

/* Downloads where the transport moves the file itself (sendfile). */
static enum xfer_status
send_direct(struct xfer *x, int filefd, off_t offset)
{
	enum xfer_status st;
	size_t want;
	ssize_t n;

	for (;;) {
		if ((st = pace_block(x, KF_XFER_CHUNK, &want)) != XFER_OK)
			return st;
		n = x->io.ops->sendfile(&x->io, filefd, &offset, want);
		if (n == 0)
			return XFER_OK;
		if (n < 0) {
			if ((st = after(x, n)) != XFER_OK)
				return st;
			continue;
		}
		if ((st = moved(x, (size_t)n)) != XFER_OK ||
		    (st = check_busy(x)) != XFER_OK)
			return st;
	}
}

/* Downloads through a buffer: reads of io.read_chunk, then sends. */
static enum xfer_status
send_read(struct xfer *x, int filefd, off_t offset)
{
	enum xfer_status st = XFER_OK;
	char *buf;
	ssize_t n;

	if ((buf = malloc(x->io.read_chunk)) == NULL)
		return XFER_IO_ERROR;
	while (st == XFER_OK) {
		n = pread(filefd, buf, x->io.read_chunk, offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			st = n == 0 ? XFER_OK : XFER_IO_ERROR;
			break;
		}
		offset += n;
		st = xfer_send_buf(x, buf, (size_t)n);
	}
	free(buf);
	return st;
}

enum xfer_status
xfer_send_file(struct xfer *x, int filefd, off_t offset)
{
	if (x->io.ops->note != NULL)
		log_debug("%-s", x->io.ops->note);
	if (x->io.ops->sendfile != NULL)
		return send_direct(x, filefd, offset);
	return send_read(x, filefd, offset);
}

/*
 * TYPE A download: LF -> CRLF (ascii.c). Blocks of KF_XFER_CHUNK / 2
 * read from filefd at its position, converted into a block twice that
 * size.
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
	}
out:
	free(in);
	free(out);
	return st;
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

/*
 * Before writing n bytes of an upload: charged to the quota now, or
 * with quota_at_end only checked (the bytes so far and one file,
 * quota_freed off), to be charged at the commit. A block that would
 * pass the quota is not written.
 */
static enum xfer_status
charge(struct xfer *x, size_t n)
{
	int r;

	if (x->quota == NULL || n == 0)
		return XFER_OK;
	if (x->quota_at_end)
		r = quota_check(x->quota, x->charged + n, 1, &x->quota_freed);
	else
		r = quota_charge(x->quota, n, 0, 0);
	if (r < 0)
		return r == -EDQUOT ? XFER_QUOTA : XFER_IO_ERROR;
	x->charged += n;
	return XFER_OK;
}

static enum xfer_status
write_out(struct xfer *x, int filefd, const char *p, size_t n)
{
	enum xfer_status st;

	if (n == 0)
		return XFER_OK;
	if ((st = charge(x, n)) != XFER_OK)
		return st;
	if (sys_write_all(filefd, p, n) < 0)
		return local_error(errno);
	if (x->tap.fn != NULL)
		x->tap.fn(x->tap.arg, p, n);
	return XFER_OK;
}

/* An upload's buffers: a block, and (TYPE A) its conversion. */
struct upbuf {
	char *blk;
	char *out;
	struct ascii_state as;
	int ascii;
};

/* A received block into the file: converted first in TYPE A. */
static enum xfer_status
write_block(struct xfer *x, int filefd, struct upbuf *u, size_t len)
{
	size_t used, n;

	if (!u->ascii)
		return write_out(x, filefd, u->blk, len);
	n = ascii_from_net(&u->as, u->blk, len, &used, u->out,
	    ASCII_FROM_NET_MAX(KF_XFER_CHUNK));
	return write_out(x, filefd, u->out, n);
}

/* The upload's orderly end: the held-back CR, then a look at ctrl. */
static enum xfer_status
recv_end(struct xfer *x, int filefd, struct upbuf *u)
{
	enum xfer_status st;
	size_t n;

	if (u->ascii) {
		n = ascii_from_net_end(&u->as, u->out, 1);
		if ((st = write_out(x, filefd, u->out, n)) != XFER_OK)
			return st;
	}
	return check_ctrl(x);
}

/*
 * Receives into blk until it holds max bytes or the transport has
 * nothing more now (TLS: one record per call); the last call's result.
 */
static ssize_t
fill(struct xfer *x, char *blk, size_t max, size_t *len)
{
	ssize_t r;

	do {
		r = x->io.ops->recv(&x->io, blk + *len, max - *len);
		if (r > 0)
			*len += (size_t)r;
	} while (r > 0 && *len < max);
	return r;
}

/* Uploads: blocks received, charged, written as they come. */
static enum xfer_status
recv_loop(struct xfer *x, int filefd, struct upbuf *u)
{
	enum xfer_status st;
	size_t len, want;
	ssize_t r;

	for (;;) {
		if ((st = pace_block(x, KF_XFER_CHUNK, &want)) != XFER_OK)
			return st;
		len = 0;
		r = fill(x, u->blk, want, &len);
		if (len > 0 &&
		    ((st = moved(x, len)) != XFER_OK ||
			(st = write_block(x, filefd, u, len)) != XFER_OK ||
			(st = check_busy(x)) != XFER_OK))
			return st;
		if (r > 0)
			continue;
		if (r == 0)
			return recv_end(x, filefd, u);
		if ((st = after(x, r)) != XFER_OK)
			return st;
		if (r == XIO_TRUNCATED)
			return recv_end(x, filefd, u);
	}
}

static enum xfer_status
recv_file(struct xfer *x, int filefd, int ascii)
{
	enum xfer_status st;
	struct upbuf u;

	memset(&u, 0, sizeof(u));
	ascii_init(&u.as);
	u.ascii = ascii;
	u.blk = malloc(KF_XFER_CHUNK);
	if (ascii)
		u.out = malloc(ASCII_FROM_NET_MAX(KF_XFER_CHUNK));
	if (u.blk == NULL || (ascii && u.out == NULL))
		st = XFER_IO_ERROR;
	else
		st = recv_loop(x, filefd, &u);
	free(u.blk);
	free(u.out);
	return st;
}

enum xfer_status
xfer_recv_file(struct xfer *x, int filefd)
{
	return recv_file(x, filefd, 0);
}

/* TYPE A upload: CRLF -> LF. */
enum xfer_status
xfer_recv_ascii(struct xfer *x, int filefd)
{
	return recv_file(x, filefd, 1);
}

/* The plain transport: non-blocking TCP. */
static ssize_t
plain_fail(int err)
{
	if (err == EAGAIN || err == EWOULDBLOCK)
		return XIO_WANT_WRITE;
	return XIO_PEER;
}

static ssize_t
plain_send(struct xfer_io *io, const char *p, size_t n)
{
	ssize_t r;

	while ((r = send(io->fd, p, n, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	return r >= 0 ? r : plain_fail(errno);
}

static ssize_t
plain_recv(struct xfer_io *io, char *p, size_t n)
{
	ssize_t r;

	while ((r = recv(io->fd, p, n, 0)) < 0 && errno == EINTR)
		;
	if (r >= 0)
		return r;
	return errno == EAGAIN || errno == EWOULDBLOCK ? XIO_WANT_READ :
							 XIO_PEER;
}

static ssize_t
plain_sendfile(struct xfer_io *io, int filefd, off_t *off, size_t n)
{
	ssize_t r;

	while ((r = sendfile(io->fd, filefd, off, n)) < 0 && errno == EINTR)
		;
	if (r >= 0)
		return r;
	if (errno == EPIPE || errno == ECONNRESET)
		return XIO_PEER;
	return errno == EAGAIN || errno == EWOULDBLOCK ? XIO_WANT_WRITE :
							 XIO_LOCAL;
}

static void
plain_finish(struct xfer_io *io)
{
	close(io->fd);
	io->fd = -1;
}

static const struct xfer_ops plain_ops = {
	.send = plain_send,
	.recv = plain_recv,
	.sendfile = plain_sendfile,
	.finish = plain_finish,
};

void
xfer_io_plain(struct xfer_io *io, int fd)
{
	memset(io, 0, sizeof(*io));
	io->ops = &plain_ops;
	io->fd = fd;
	io->read_chunk = KF_XFER_CHUNK;
}
