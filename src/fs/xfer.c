/*
 * xfer.c - moving bytes between a file and the data connection.
 * Runs in: post-login worker.
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
#include "../common/sys.h"
#include "../tls/tls_xfer.h"
#include "ascii.h"
#include "quota.h"
#include "xfer.h"

/*
 * What the client said on the control connection during the transfer:
 * ABOR ends it, STAT is answered with the progress (RFC 959 4.1.3),
 * anything else waits for the end of the transfer.
 */
enum xfer_status
xfer_take_ctrl(struct xfer *x)
{
	int r;

	while ((r = ctrl_take_abor(x->ctrl)) == CTRL_XFER_STAT)
		ctrl_reply(x->ctrl, 213, "Status: %llu bytes transferred.",
		    (unsigned long long)x->bytes);
	if (r < 0)
		return XFER_CTRL_GONE;
	return r == CTRL_XFER_ABOR ? XFER_ABORTED : XFER_OK;
}

void
xfer_init(struct xfer *x, struct ctrl *ctrl, int datafd, int timeout_ms,
    volatile sig_atomic_t *stop)
{
	memset(x, 0, sizeof(*x));
	x->ctrl = ctrl;
	x->datafd = datafd;
	x->timeout_ms = timeout_ms;
	x->stop = stop;
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

/* n bytes moved: progress for the stall timeout and the rate window. */
static enum xfer_status
progress(struct xfer *x, size_t n)
{
	int64_t now = sys_now_ms();

	x->bytes += n;
	x->win_bytes += n;
	x->last_ms = now;
	return check_rate(x, now);
}

static int
xfer_wait_ms(const struct xfer *x)
{
	int64_t now = sys_now_ms(), t = x->last_ms + x->timeout_ms - now;

	if (x->min_rate > 0 && x->win_ms + x->timeout_ms - now < t)
		t = x->win_ms + x->timeout_ms - now;
	return t < 0 ? 0 : (int)t;
}

static enum xfer_status
xfer_waited(struct xfer *x)
{
	int64_t now = sys_now_ms();

	if (now - x->last_ms >= x->timeout_ms)
		return XFER_TIMEOUT;
	return check_rate(x, now);
}

/*
 * Waits until the data fd is ready for ev, watching the control
 * connection meanwhile. XFER_OK when ready.
 */
enum xfer_status
xfer_wait_ready(struct xfer *x, short ev)
{
	struct pollfd p[2] = {
		{ .fd = x->datafd, .events = ev },
		{ .fd = x->ctrl->fd, .events = POLLIN | POLLPRI },
	};
	enum xfer_status st;
	int n, r;

	for (;;) {
		if (*x->stop)
			return XFER_STOPPED;
		/* a full control buffer holds no ABOR: stop watching it */
		p[1].fd = x->ctrl->len >= KF_LINE_MAX ? -1 : x->ctrl->fd;
		n = poll(p, 2, xfer_wait_ms(x));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return XFER_DATA_ERROR;
		if (n == 0) {
			if ((st = xfer_waited(x)) != XFER_OK)
				return st;
			continue;
		}
		if (p[1].revents) {
			r = xfer_take_ctrl(x);
			if (r != XFER_OK)
				return (enum xfer_status)r;
		}
		if (p[0].revents)
			return XFER_OK;
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
	struct pollfd p = { .fd = x->ctrl->fd, .events = POLLIN | POLLPRI };
	int64_t end = now_ns() + ns, left;
	struct timespec ts;
	int n, r;

	while ((left = end - now_ns()) > 0) {
		if (*x->stop)
			return XFER_STOPPED;
		p.fd = x->ctrl->len >= KF_LINE_MAX ? -1 : x->ctrl->fd;
		ts.tv_sec = left / 1000000000;
		ts.tv_nsec = left % 1000000000;
		n = ppoll(&p, 1, &ts, NULL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return XFER_IO_ERROR;
		if (n > 0 && (r = xfer_take_ctrl(x)) != XFER_OK)
			return (enum xfer_status)r;
	}
	return *x->stop ? XFER_STOPPED : XFER_OK;
}

enum xfer_status
xfer_pace(struct xfer *x, size_t max, size_t *n)
{
	enum xfer_status st;
	int64_t d;

	*n = pace_slice(&x->pace, max);
	while ((d = pace_delay(&x->pace, now_ns())) > 0)
		if ((st = wait_pace(x, d)) != XFER_OK)
			return st;
	return XFER_OK;
}

enum xfer_status
xfer_moved(struct xfer *x, size_t n)
{
	pace_spend(&x->pace, now_ns(), n);
	return progress(x, n);
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
	return (enum xfer_status)xfer_take_ctrl(x);
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
	size_t want;
	ssize_t n;

	if (x->ssl != NULL)
		return tlsx_send_file(x, filefd, offset);
	for (;;) {
		if ((st = xfer_pace(x, KF_XFER_CHUNK, &want)) != XFER_OK)
			return st;
		n = sendfile(x->datafd, filefd, &offset, want);
		if (n > 0) {
			if ((st = xfer_moved(x, (size_t)n)) != XFER_OK)
				return st;
			if (x->bytes % CHECK_EVERY < (uint64_t)n &&
			    (st = check_ctrl(x)) != XFER_OK)
				return st;
			continue;
		}
		if (n == 0)
			return XFER_OK;
		if (errno == EAGAIN) {
			if ((st = xfer_wait_ready(x, POLLOUT)) != XFER_OK)
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
	size_t want;
	ssize_t n;

	if (x->ssl != NULL)
		return tlsx_send_buf(x, p, len);
	while (len > 0) {
		if ((st = xfer_pace(x, len, &want)) != XFER_OK)
			return st;
		n = send(x->datafd, p, want, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			if ((st = xfer_moved(x, (size_t)n)) != XFER_OK)
				return st;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if ((st = xfer_wait_ready(x, POLLOUT)) != XFER_OK)
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

/*
 * Writes n bytes, charged to the quota first (a block that would pass
 * it is not written); the upload's local errors become statuses.
 */
enum xfer_status
xfer_charge(struct xfer *x, size_t n)
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

enum xfer_status
xfer_write_out(struct xfer *x, int filefd, const char *p, size_t n)
{
	enum xfer_status st;

	if (n == 0)
		return XFER_OK;
	if ((st = xfer_charge(x, n)) != XFER_OK)
		return st;
	if (sys_write_all(filefd, p, n) < 0)
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
	size_t used, n, want;
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
		if ((st = xfer_pace(x, KF_XFER_CHUNK, &want)) != XFER_OK)
			break;
		r = recv(x->datafd, blk, want, 0);
		if (r > 0) {
			if ((st = xfer_moved(x, (size_t)r)) != XFER_OK)
				break;
			if (ascii) {
				n = ascii_from_net(&as, blk, (size_t)r, &used,
				    out, ASCII_FROM_NET_MAX(KF_XFER_CHUNK));
				st = xfer_write_out(x, filefd, out, n);
			} else
				st = xfer_write_out(x, filefd, blk, (size_t)r);
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
				if ((st = xfer_write_out(x, filefd, out, n)) != XFER_OK)
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
		if ((st = xfer_wait_ready(x, POLLIN)) != XFER_OK)
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
