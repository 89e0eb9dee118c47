/*
 * ctrl.c - control connection reader and reply writer.
 * Runs in: pre-login and post-login workers.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "../common/buf.h"
#include "../common/sys.h"
#include "../fs/xfer.h"
#include "ctrl.h"

void
ctrl_init(struct ctrl *c, int fd, enum ctrl_mode mode)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->mode = mode;
}

/* A complete line in c->in? Moves it to out (without LF). */
static int
take_line(struct ctrl *c, char *out, size_t *outlen, enum line_status *st)
{
	char *nl = memchr(c->in, '\n', c->len);
	size_t n;

	if (nl == NULL)
		return 0;
	n = (size_t)(nl - c->in);
	memcpy(out, c->in, n);
	memmove(c->in, nl + 1, c->len - n - 1);
	c->len -= n + 1;
	if (c->discarding) {
		c->discarding = 0;
		*st = LINE_TOO_LONG;
		return 1;
	}
	*st = cmd_clean_line(out, &n) < 0 ? LINE_BAD_CHAR : LINE_OK;
	*outlen = n;
	return 1;
}

/*
 * EXACT mode: peek, then consume no further than the first LF, so the
 * rest of the stream stays in the socket. Returns bytes added, 0 on EOF.
 */
static ssize_t
fill_exact(struct ctrl *c)
{
	size_t room = KF_LINE_MAX - c->len;
	ssize_t n;
	char *nl;

	n = sys_recv(c->fd, c->in + c->len, room, MSG_PEEK | MSG_DONTWAIT);
	if (n <= 0)
		return n;
	nl = memchr(c->in + c->len, '\n', (size_t)n);
	if (nl != NULL)
		n = nl - (c->in + c->len) + 1;
	n = sys_recv(c->fd, c->in + c->len, (size_t)n, MSG_DONTWAIT);
	return n;
}

static ssize_t
fill(struct ctrl *c)
{
	ssize_t n;

	if (c->mode == CTRL_EXACT)
		n = fill_exact(c);
	else
		n = sys_recv(c->fd, c->in + c->len, KF_LINE_MAX - c->len,
		    MSG_DONTWAIT);
	if (n > 0)
		c->len += (size_t)n;
	return n;
}

/*
 * One command line into out (KF_LINE_MAX + 1 bytes). An overlong line
 * is dropped up to its LF and reported once as LINE_TOO_LONG.
 * timeout_ms bounds the whole line, not the gap between two bytes: a
 * client trickling a byte at a time gets LINE_TIMEOUT all the same.
 * c->on_idle, if set, runs once when the wait has lasted
 * KF_SHED_IDLE_MS.
 */
enum line_status
ctrl_read_line(struct ctrl *c, char *out, size_t *outlen, int timeout_ms)
{
	int64_t deadline = sys_now_ms() + timeout_ms, left, wait;
	void (*idle)(void);
	enum line_status st;
	ssize_t n;
	int r;

	for (;;) {
		if (take_line(c, out, outlen, &st))
			return st;
		if (c->len == KF_LINE_MAX) {
			c->discarding = 1;
			c->len = 0;
		}
		if ((left = deadline - sys_now_ms()) <= 0)
			return LINE_TIMEOUT;
		wait = c->on_idle != NULL && left > KF_SHED_IDLE_MS ?
		    KF_SHED_IDLE_MS :
		    left;
		r = c->wait_mask != NULL ?
		    sys_poll1_mask(c->fd, POLLIN, (int)wait, c->wait_mask) :
		    sys_poll1(c->fd, POLLIN, (int)wait);
		if (r == 0 && wait < left) { /* idle: once */
			idle = c->on_idle;
			c->on_idle = NULL;
			idle();
			continue;
		}
		if (r == 0)
			return LINE_TIMEOUT;
		if (r < 0)
			return errno == EINTR ? LINE_INTR : LINE_ERROR;
		n = fill(c);
		if (n == 0)
			return LINE_EOF;
		if (n < 0 && errno != EAGAIN)
			return LINE_ERROR;
	}
}

/*
 * During a transfer: read what is there and look for ABOR or a bare
 * STAT among the complete lines. That line is removed; other lines stay
 * queued for after the transfer. Returns CTRL_XFER_ABOR, CTRL_XFER_STAT,
 * 0 for nothing, -1 when the connection is gone.
 */
int
ctrl_take_abor(struct ctrl *c)
{
	char line[KF_LINE_MAX + 1] SYS_UNINIT;
	size_t off = 0, n, linelen, next;
	char *nl;
	ssize_t r;
	int what;

	if (c->len < KF_LINE_MAX) {
		r = fill(c);
		if (r == 0 || (r < 0 && errno != EAGAIN))
			return -1;
	}
	while ((nl = memchr(c->in + off, '\n', c->len - off)) != NULL) {
		linelen = (size_t)(nl - (c->in + off));
		next = off + linelen + 1;
		n = linelen;
		memcpy(line, c->in + off, n);
		what = 0;
		if (cmd_clean_line(line, &n) == 0) {
			if (strcasecmp(line, "ABOR") == 0)
				what = CTRL_XFER_ABOR;
			else if (strcasecmp(line, "STAT") == 0)
				what = CTRL_XFER_STAT;
		}
		if (what != 0) {
			memmove(c->in + off, c->in + next, c->len - next);
			c->len -= linelen + 1;
			return what;
		}
		off = next;
	}
	return 0;
}

int
ctrl_write(struct ctrl *c, const char *p, size_t n)
{
	if (c->broken)
		return -1;
	if (sys_write_all(c->fd, p, n) < 0) {
		c->broken = 1;
		return -1;
	}
	return 0;
}

int
ctrl_reply(struct ctrl *c, int code, const char *fmt, ...)
{
	char line[KF_REPLY_MAX] SYS_UNINIT;
	va_list ap;
	int n, m;

	n = snprintf(line, sizeof(line), "%03d ", code);
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 2, fmt, ap);
	va_end(ap);
	if (m < 0)
		return -1;
	n += m;
	if ((size_t)n > sizeof(line) - 3)
		n = sizeof(line) - 3;
	line[n++] = '\r';
	line[n++] = '\n';
	return ctrl_write(c, line, (size_t)n);
}

/*
 * Multi-line replies (RFC 959 4.2) built in a struct buf: any line that
 * does not fit marks the reply failed, and ctrl_lines_end then sends
 * nothing and returns -1.
 */
int
ctrl_lines_begin(struct ctrl_lines *l, int code, const char *fmt, ...)
{
	va_list ap;

	l->code = code;
	l->failed = 0;
	if ((l->b = buf_new(KF_REPLY_LINES_MAX)) == NULL) {
		l->failed = 1;
		return -1;
	}
	if (fmt == NULL)
		return 0;
	if (buf_appendf(l->b, "%03d-", code) < 0)
		l->failed = 1;
	va_start(ap, fmt);
	if (buf_vappendf(l->b, fmt, ap) < 0)
		l->failed = 1;
	va_end(ap);
	ctrl_lines_bytes(l, "\r\n", 2);
	return l->failed ? -1 : 0;
}

/* One line " text" (the leading space: it cannot pass for the end). */
void
ctrl_lines_add(struct ctrl_lines *l, const char *fmt, ...)
{
	va_list ap;

	if (l->failed)
		return;
	ctrl_lines_bytes(l, " ", 1);
	va_start(ap, fmt);
	if (buf_vappendf(l->b, fmt, ap) < 0)
		l->failed = 1;
	va_end(ap);
	ctrl_lines_bytes(l, "\r\n", 2);
}

/* One line "code-text" of n bytes (a banner's). */
void
ctrl_lines_text(struct ctrl_lines *l, const char *text, size_t n)
{
	if (l->failed || buf_appendf(l->b, "%03d-", l->code) < 0)
		l->failed = 1;
	ctrl_lines_bytes(l, text, n);
	ctrl_lines_bytes(l, "\r\n", 2);
}

/* Bytes as they are (lines already formatted, CRLF included). */
void
ctrl_lines_bytes(struct ctrl_lines *l, const char *p, size_t n)
{
	if (!l->failed && buf_append(l->b, p, n) < 0)
		l->failed = 1;
}

/* The last line "code last", then the whole reply in one write. */
int
ctrl_lines_end(struct ctrl *c, struct ctrl_lines *l, const char *last)
{
	int r = -1;

	if (!l->failed && buf_appendf(l->b, "%03d %s\r\n", l->code, last) >= 0)
		r = ctrl_write(c, buf_data(l->b), buf_len(l->b));
	buf_free(l->b);
	l->b = NULL;
	return r;
}

/* "code-first", each line indented by one space, "code last". */
int
ctrl_reply_lines(struct ctrl *c, int code, const char *first,
    const char *const *lines, size_t n, const char *last)
{
	struct ctrl_lines l;
	size_t i;

	ctrl_lines_begin(&l, code, "%s", first);
	for (i = 0; i < n; i++)
		ctrl_lines_add(&l, "%s", lines[i]);
	return ctrl_lines_end(c, &l, last);
}

/* The control connection as the transfer engine watches it (xfer.h). */
static int
watch_fd(void *arg)
{
	const struct ctrl *c = arg;

	/* a full buffer holds no ABOR: stop watching it */
	return c->len >= KF_LINE_MAX ? -1 : c->fd;
}

/* ABOR ends the transfer; STAT is answered (RFC 959 4.1.3). */
static enum xfer_status
watch_take(void *arg, uint64_t bytes)
{
	struct ctrl *c = arg;
	int r;

	while ((r = ctrl_take_abor(c)) == CTRL_XFER_STAT)
		ctrl_reply(c, 213, "Status: %llu bytes transferred.",
		    (unsigned long long)bytes);
	if (r < 0)
		return XFER_CTRL_GONE;
	return r == CTRL_XFER_ABOR ? XFER_ABORTED : XFER_OK;
}

void
ctrl_watch(struct ctrl *c, struct xfer_watch *w)
{
	w->fd = watch_fd;
	w->take = watch_take;
	w->arg = c;
}
