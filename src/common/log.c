/*
 * log.c - the log line formatter and the log sink (invariant 10).
 * log_msg() formats its own conversions: "%s" writes a quoted field,
 * "\"" and "\\" escaped inside, so a client string stays one field
 * whatever bytes it holds; "%-s" writes a word keepftpd chose, bare.
 * The sink (log_raw) escapes, as \xNN, every byte that could break a
 * line or drive a terminal: control characters (C0, DEL, C1), U+2028,
 * U+2029, bidirectional overrides, invalid UTF-8, overlong forms and
 * surrogates. Valid UTF-8 text stays readable.
 * Runs in: all processes (workers use LOG_SINK_FD).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "limits.h"
#include "log.h"
#include "rate.h"
#include "sys.h"

static enum log_sink sink = LOG_SINK_STDERR;
static int sink_fd = -1;
static int max_prio = LOG_INFO;
static char ident[32] = "keepftpd";
static char prefix[160];

void
log_open(enum log_sink s, const char *id, int fd)
{
	sink = s;
	sink_fd = fd;
	if (id != NULL)
		snprintf(ident, sizeof(ident), "%s", id);
	if (s == LOG_SINK_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_FTP);
}

void
log_set_level(int prio)
{
	max_prio = prio;
}

void
log_get(enum log_sink *s, int *prio)
{
	*s = sink;
	*prio = max_prio;
}

void
log_set_prefix(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
}

/*
 * Length of the valid UTF-8 sequence that starts in[0..n) (RFC 3629:
 * shortest form, no surrogates, nothing above U+10FFFF), or 0; *cp gets
 * its code point.
 */
static size_t
utf8_seq(const unsigned char *in, size_t n, uint32_t *cp)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;
	uint32_t c;

	if (in[0] < 0x80) {
		*cp = in[0];
		return 1;
	}
	if (in[0] >= 0xc2 && in[0] <= 0xdf)
		len = 2, c = in[0] & 0x1f;
	else if (in[0] >= 0xe0 && in[0] <= 0xef)
		len = 3, c = in[0] & 0x0f;
	else if (in[0] >= 0xf0 && in[0] <= 0xf4)
		len = 4, c = in[0] & 0x07;
	else
		return 0; /* continuation byte, C0/C1 overlong, F5..FF */
	if (in[0] == 0xe0 || in[0] == 0xf0)
		lo = in[0] == 0xe0 ? 0xa0 : 0x90; /* overlong */
	if (in[0] == 0xed || in[0] == 0xf4) /* surrogate, > U+10FFFF */
		hi = in[0] == 0xed ? 0x9f : 0x8f;
	if (len > n || in[1] < lo || in[1] > hi)
		return 0;
	for (i = 1; i < len; i++) {
		if ((in[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (in[i] & 0x3f);
	}
	*cp = c;
	return len;
}

/*
 * Characters that are valid but must not reach a log line as they are:
 * controls (C0, DEL, C1), the line and paragraph separators some
 * viewers break lines at, and the bidirectional embeddings, overrides
 * and isolates that make a terminal show a line in another order.
 */
static int
unsafe_char(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 ||
	    c == 0x2029 || (c >= 0x202a && c <= 0x202e) ||
	    (c >= 0x2066 && c <= 0x2069);
}

/*
 * One character of in[0..n) (or one byte of an invalid sequence),
 * escaped into t; returns the input bytes it takes, *tlen the output.
 * quoted: '"' and '\' become \" and \\ (inside a quoted field).
 */
static size_t
escape_one(const unsigned char *in, size_t n, int quoted, char t[16],
    size_t *tlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t len, i;
	uint32_t cp;

	len = utf8_seq(in, n, &cp);
	if (len > 0 && !unsafe_char(cp)) {
		if (quoted && (cp == '"' || cp == '\\')) {
			t[0] = '\\';
			t[1] = (char)cp;
			*tlen = 2;
			return 1;
		}
		memcpy(t, in, len);
		*tlen = len;
		return len;
	}
	if (len == 0)
		len = 1;
	for (i = 0; i < len; i++) {
		t[4 * i] = '\\';
		t[4 * i + 1] = 'x';
		t[4 * i + 2] = hex[in[i] >> 4];
		t[4 * i + 3] = hex[in[i] & 15];
	}
	*tlen = 4 * len;
	return len;
}

/*
 * Escapes in[0..n) into out, at most room bytes, never splitting a
 * character or an escape; returns the bytes written, *used the input
 * bytes taken (less than n when room ran out).
 */
static size_t
escape_run(const char *in, size_t n, int quoted, char *out, size_t room,
    size_t *used)
{
	const unsigned char *u = (const unsigned char *)in;
	size_t i = 0, o = 0, take, tlen;
	char t[16];

	while (i < n) {
		take = escape_one(u + i, n - i, quoted, t, &tlen);
		if (tlen > room - o)
			break;
		memcpy(out + o, t, tlen);
		o += tlen;
		i += take;
	}
	*used = i;
	return o;
}

/* The sink's escaping: out is NUL-terminated, the length returned. */
size_t
log_escape(const char *in, size_t n, char *out, size_t outsz)
{
	size_t used, o;

	if (outsz == 0)
		return 0;
	o = escape_run(in, n, 0, out, outsz - 1, &used);
	out[o] = '\0';
	return o;
}

/*
 * in[0..n) as one quoted field: '"', the escaped bytes, '"'. A field
 * that does not fit in outsz is cut at a character and marked by "..."
 * after the closing quote. Needs outsz >= 7 (writes "" otherwise).
 */
size_t
log_quote(const char *in, size_t n, char *out, size_t outsz)
{
	size_t used, o;

	if (outsz < 7) {
		if (outsz > 0)
			out[0] = '\0';
		return 0;
	}
	out[0] = '"';
	o = 1 + escape_run(in, n, 1, out + 1, outsz - 3, &used);
	if (used < n)
		o = 1 + escape_run(in, n, 1, out + 1, outsz - 6, &used);
	out[o++] = '"';
	if (used < n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return o;
}

/* A line being formatted: len bytes in buf, size counts the NUL. */
struct line {
	char *buf;
	size_t len, size;
};

static void
put(struct line *l, const char *s, size_t n)
{
	if (n > l->size - 1 - l->len)
		n = l->size - 1 - l->len;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	l->buf[l->len] = '\0';
}

/* "%s": quoted, at most KF_LOG_FIELD_MAX bytes; NULL is a bare "-". */
static void
put_field(struct line *l, const char *s)
{
	size_t room = l->size - l->len;

	if (s == NULL) {
		put(l, "-", 1);
		return;
	}
	if (room > KF_LOG_FIELD_MAX + 1)
		room = KF_LOG_FIELD_MAX + 1;
	l->len += log_quote(s, strlen(s), l->buf + l->len, room);
}

enum { LEN_INT, LEN_LONG, LEN_LLONG, LEN_SIZE };

/* The integer conversion c with length mod: printed, or -1. */
static int
put_int(struct line *l, int mod, char c, va_list *ap)
{
	char t[32];
	intmax_t v = 0;
	uintmax_t u = 0;

	if (c == 'd' || c == 'i') {
		v = mod == LEN_INT   ? va_arg(*ap, int) :
		    mod == LEN_LONG  ? va_arg(*ap, long) :
		    mod == LEN_LLONG ? va_arg(*ap, long long) :
				       va_arg(*ap, ssize_t);
		snprintf(t, sizeof(t), "%jd", v);
	} else if (c == 'u' || c == 'x') {
		u = mod == LEN_INT   ? va_arg(*ap, unsigned) :
		    mod == LEN_LONG  ? va_arg(*ap, unsigned long) :
		    mod == LEN_LLONG ? va_arg(*ap, unsigned long long) :
				       va_arg(*ap, size_t);
		snprintf(t, sizeof(t), c == 'u' ? "%ju" : "%jx", u);
	} else
		return -1;
	put(l, t, strlen(t));
	return 0;
}

/*
 * One conversion; f points after the '%'. Returns the format's next
 * byte, or NULL on a conversion this formatter does not know (the
 * arguments after it cannot be read safely, so the line ends there).
 */
static const char *
conversion(struct line *l, const char *f, va_list *ap)
{
	const char *s;
	int mod = LEN_INT;

	if (*f == '%') {
		put(l, "%", 1);
		return f + 1;
	}
	if (f[0] == 's' || (f[0] == '-' && f[1] == 's')) {
		s = va_arg(*ap, const char *);
		if (f[0] == 's')
			put_field(l, s);
		else
			put(l, s != NULL ? s : "-", s != NULL ? strlen(s) : 1);
		return f + (f[0] == 's' ? 1 : 2);
	}
	if (f[0] == 'l' && f[1] == 'l')
		mod = LEN_LLONG, f += 2;
	else if (f[0] == 'l' || f[0] == 'z')
		mod = f[0] == 'l' ? LEN_LONG : LEN_SIZE, f++;
	if (put_int(l, mod, *f, ap) < 0)
		return NULL;
	return f + 1;
}

size_t
log_vformat(char *out, size_t outsz, const char *fmt, va_list ap)
{
	struct line l = { out, 0, outsz };
	const char *f = fmt, *pct;
	va_list aq;

	if (outsz == 0)
		return 0;
	out[0] = '\0';
	va_copy(aq, ap);
	while (f != NULL && *f != '\0') {
		if ((pct = strchr(f, '%')) == NULL)
			pct = f + strlen(f);
		put(&l, f, (size_t)(pct - f));
		f = *pct == '%' ? conversion(&l, pct + 1, &aq) : pct;
		if (f == NULL)
			put(&l, "<bad log format>", 16);
	}
	va_end(aq);
	return l.len;
}

size_t
log_format(char *out, size_t outsz, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = log_vformat(out, outsz, fmt, ap);
	va_end(ap);
	return n;
}

static const char *
prio_name(int prio)
{
	switch (prio) {
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_DEBUG:
		return "debug";
	default:
		return "info";
	}
}

static void
write_stderr(int prio, const char *esc)
{
	char line[KF_LOG_LINE_MAX * 4 + 256], ts[32];
	struct timespec now;
	struct tm tm;
	int n;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	(void)strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(line, sizeof(line), "%s %s[%ld]: %s: %s%s%s\n", ts, ident,
	    (long)getpid(), prio_name(prio), prefix, prefix[0] ? " " : "", esc);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* one write per line: lines from many processes do not interleave */
	(void)sys_write(STDERR_FILENO, line, (size_t)n);
}

/* An escaped line to the real sink (stderr or syslog). */
static void
emit(int prio, const char *esc)
{
	if (sink == LOG_SINK_SYSLOG)
		syslog(prio, "%s%s%s", prefix, prefix[0] ? " " : "", esc);
	else
		write_stderr(prio, esc);
}

void
log_raw(int prio, const char *bytes, size_t n)
{
	char esc[KF_LOG_LINE_MAX * 4 + 1];
	unsigned char p;

	if (prio > max_prio)
		return;
	if (n > KF_LOG_LINE_MAX)
		n = KF_LOG_LINE_MAX;
	if (sink == LOG_SINK_FD) {
		char msg[KF_LOG_LINE_MAX + 1];

		p = (unsigned char)prio;
		msg[0] = (char)p;
		memcpy(msg + 1, bytes, n);
		(void)sys_send(sink_fd, msg, n + 1, MSG_DONTWAIT);
		return;
	}
	log_escape(bytes, n, esc, sizeof(esc));
	emit(prio, esc);
}

void
log_msg(int prio, const char *fmt, ...)
{
	char msg[KF_LOG_LINE_MAX + 1];
	va_list ap;
	size_t n;

	if (prio > max_prio)
		return;
	va_start(ap, fmt);
	n = log_vformat(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_raw(prio, msg, n);
}

/*
 * Monitor side: the log channels of its worker and relay. Each is
 * known by its descriptor and named by the monitor (log_forward_open),
 * since the monitor knows which socket it reads; a channel it never
 * named is just "worker". Each has its own token bucket; what is
 * dropped or refused is counted and said in one summary line.
 */
#define FWD_CHANS	  4
#define FWD_ORIGIN_MAX	  32
#define FWD_REFUSED_EMPTY 0x1u

struct fwd_chan {
	int fd; /* -1: free */
	ino_t ino; /* the socket's: fd numbers are reused */
	char origin[FWD_ORIGIN_MAX];
	struct rate bucket;
	unsigned long dropped; /* over the rate, since the summary */
	unsigned long refused; /* refused frames, since the summary */
	unsigned said; /* refusal reasons already logged */
	int64_t summary_ms;
};

static struct fwd_chan fwd[FWD_CHANS] = { { .fd = -1 }, { .fd = -1 },
	{ .fd = -1 }, { .fd = -1 } };
static unsigned fwd_next; /* the slot to take when all are used */

static void
fwd_summary(struct fwd_chan *ch)
{
	char line[FWD_ORIGIN_MAX + 128];

	if (ch->dropped == 0 && ch->refused == 0)
		return;
	snprintf(line, sizeof(line),
	    "%s: %lu log line(s) dropped (rate "
	    "limit), %lu refused",
	    ch->origin, ch->dropped, ch->refused);
	emit(LOG_WARNING, line);
	ch->dropped = 0;
	ch->refused = 0;
	ch->summary_ms = sys_now_ms();
}

static ino_t
fd_ino(int fd)
{
	struct stat sb;

	return fstat(fd, &sb) == 0 ? sb.st_ino : 0;
}

static void
fwd_reset(struct fwd_chan *ch, int fd, const char *origin)
{
	fwd_summary(ch);
	memset(ch, 0, sizeof(*ch));
	ch->fd = fd;
	ch->ino = fd_ino(fd);
	snprintf(ch->origin, sizeof(ch->origin), "%s", origin);
}

static struct fwd_chan *
fwd_slot(int fd)
{
	struct fwd_chan *ch;
	size_t i;

	for (i = 0; i < FWD_CHANS; i++)
		if (fwd[i].fd == fd)
			return &fwd[i];
	for (i = 0; i < FWD_CHANS; i++)
		if (fwd[i].fd < 0)
			return &fwd[i];
	ch = &fwd[fwd_next++ % FWD_CHANS];
	fwd_summary(ch);
	return ch;
}

void
log_forward_open(int fd, const char *origin)
{
	if (fd >= 0)
		fwd_reset(fwd_slot(fd), fd, origin);
}

static int
fwd_close(struct fwd_chan *ch)
{
	fwd_summary(ch);
	ch->fd = -1;
	return -1;
}

/* A refused frame: its reason once, then only in the summaries. */
static int
fwd_refuse(struct fwd_chan *ch, unsigned reason, const char *why)
{
	char line[FWD_ORIGIN_MAX + 96];

	if ((ch->said & reason) == 0) {
		ch->said |= reason;
		snprintf(line, sizeof(line),
		    "%s: log datagram refused: %s "
		    "(further ones are counted)",
		    ch->origin, why);
		emit(LOG_WARNING, line);
	} else
		ch->refused++;
	return 0;
}

/*
 * The text is escaped, then its brackets too, so that nothing in it
 * reads as the "[sID ADDR]" that starts the monitor's own lines; and it
 * comes after "ORIGIN: ", where the monitor's events (login failed:,
 * login ok:, ban: ...) would stand. A worker's line can take neither.
 */
static void
fwd_line(const struct fwd_chan *ch, int prio, const char *text, size_t n)
{
	char esc[KF_LOG_LINE_MAX * 4 + 1];
	char line[FWD_ORIGIN_MAX + KF_LOG_LINE_MAX * 4 + 8];
	size_t i, o;

	log_escape(text, n, esc, sizeof(esc));
	o = (size_t)snprintf(line, sizeof(line), "%s: ", ch->origin);
	for (i = 0; esc[i] != '\0' && o + 5 < sizeof(line); i++) {
		if (esc[i] == '[' || esc[i] == ']') {
			memcpy(line + o, esc[i] == '[' ? "\\x5b" : "\\x5d", 4);
			o += 4;
		} else
			line[o++] = esc[i];
	}
	line[o] = '\0';
	emit(prio, line);
}

/* 1 when fd's peer has closed its end (a 0-byte read is then EOF). */
static int
peer_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };

	return poll(&p, 1, 0) < 0 ||
	    (p.revents & (POLLHUP | POLLRDHUP | POLLERR)) != 0;
}

/*
 * One datagram from a worker or the relay. The first byte is the
 * priority (clamped), the rest is opaque text, marked with the
 * channel's origin and escaped. An empty datagram is refused, not taken
 * for the end. Returns 0, or -1 when the sender has closed its end.
 */
int
log_forward(int fd)
{
	char msg[KF_LOG_LINE_MAX + 1];
	struct fwd_chan *ch = fwd_slot(fd);
	int64_t now;
	ssize_t n;
	int prio;

	if (ch->fd != fd || ch->ino != fd_ino(fd))
		fwd_reset(ch, fd, "worker"); /* a channel never named */
	n = recv(fd, msg, sizeof(msg), MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : fwd_close(ch);
	if (n == 0)
		return peer_gone(fd) ?
		    fwd_close(ch) :
		    fwd_refuse(ch, FWD_REFUSED_EMPTY, "empty datagram");
	if ((size_t)n > sizeof(msg))
		n = sizeof(msg); /* cut, like any long line */
	prio = (unsigned char)msg[0];
	if (prio < LOG_ERR)
		prio = LOG_ERR; /* a worker cannot raise emergencies */
	if (prio > LOG_DEBUG)
		prio = LOG_DEBUG;
	if (prio > max_prio)
		return 0;
	now = sys_now_ms();
	if (!rate_take(&ch->bucket, now, KF_LOG_FWD_RATE, KF_LOG_FWD_BURST)) {
		ch->dropped++;
		if (now - ch->summary_ms >= KF_DROP_SUMMARY_MS)
			fwd_summary(ch);
		return 0;
	}
	if (now - ch->summary_ms >= KF_DROP_SUMMARY_MS)
		fwd_summary(ch);
	fwd_line(ch, prio, msg + 1, (size_t)n - 1);
	return 0;
}
