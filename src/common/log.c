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
#include "logrec.h"
#include "rate.h"
#include "sys.h"

static enum log_sink sink SYS_HOT = LOG_SINK_STDERR;
static int sink_fd = -1;
static int max_prio = LOG_INFO;
static char ident[32] = "keepftpd";
static char prefix[160] SYS_HOT;

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

	len = log_utf8_seq(in, n, &cp);
	if (len > 0 && !log_unsafe_char(cp)) {
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

/*
 * A line being formatted: len bytes in buf, size counts the NUL. With
 * rec, each conversion that follows "key=" in the format is also a
 * typed field of the record (the JSON log's fields).
 */
struct line {
	char *buf;
	size_t len, size;
	struct logrec_buf *rec;
	char key[KF_LOG_KEY_MAX + 1]; /* "": the conversion has none */
};

/* The field name before fmt[at] ("user=" gives user), or "". */
static void
field_key(struct line *l, const char *fmt, const char *at)
{
	const char *k = at;

	l->key[0] = '\0';
	if (l->rec == NULL || at == fmt || at[-1] != '=')
		return;
	for (k = at - 1; k > fmt &&
	     ((k[-1] >= 'a' && k[-1] <= 'z') ||
		 (k[-1] >= '0' && k[-1] <= '9') || k[-1] == '_');
	     k--)
		;
	if (logrec_key_ok(k, (size_t)(at - 1 - k))) {
		memcpy(l->key, k, (size_t)(at - 1 - k));
		l->key[at - 1 - k] = '\0';
	}
}

static void
field_str(struct line *l, const char *s)
{
	size_t n;

	if (l->key[0] == '\0' || s == NULL)
		return;
	n = strlen(s);
	(void)logrec_put(l->rec, LR_STR, l->key, s,
	    n > KF_LOG_FIELD_MAX ? KF_LOG_FIELD_MAX : n);
}

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
		if (l->key[0] != '\0')
			(void)logrec_put(l->rec, LR_NUM, l->key, t, strlen(t));
	} else if (c == 'u' || c == 'x') {
		u = mod == LEN_INT   ? va_arg(*ap, unsigned) :
		    mod == LEN_LONG  ? va_arg(*ap, unsigned long) :
		    mod == LEN_LLONG ? va_arg(*ap, unsigned long long) :
				       va_arg(*ap, size_t);
		snprintf(t, sizeof(t), c == 'u' ? "%ju" : "%jx", u);
		if (l->key[0] != '\0')
			(void)logrec_put(l->rec, c == 'u' ? LR_NUM : LR_STR,
			    l->key, t, strlen(t));
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
		field_str(l, s);
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

static size_t
vformat(char *out, size_t outsz, struct logrec_buf *rec, const char *fmt,
    va_list ap)
{
	struct line l = { out, 0, outsz, rec, "" };
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
		if (*pct == '%')
			field_key(&l, f, pct);
		f = *pct == '%' ? conversion(&l, pct + 1, &aq) : pct;
		if (f == NULL)
			put(&l, "<bad log format>", 16);
	}
	va_end(aq);
	return l.len;
}

size_t
log_vformat(char *out, size_t outsz, const char *fmt, va_list ap)
{
	return vformat(out, outsz, NULL, fmt, ap);
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
	char line[KF_LOG_LINE_MAX * 4 + 256] SYS_UNINIT;
	char ts[32];
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

/*
 * The record a privileged process sends to kf-log: who and when, the
 * text line as stderr would get it, then the message and its fields.
 */
static int pipe_fd = -1; /* to kf-log (listener, monitors), or -1 */
static int pipe_xfer_only; /* no log_file: the sink, and transfers to kf-log */
static int pipe_held SYS_HOT; /* this process's own lines to the sink for now */
static unsigned long pipe_dropped; /* sent to stderr instead */
static struct {
	unsigned long id; /* 0: none */
	char client[64];
	unsigned port;
	char user[KF_USER_MAX + 1];
	char access; /* 'a', 'r' or 0 */
} stamp SYS_HOT;

void
log_set_pipe(int fd, int xfer_only)
{
	pipe_fd = fd;
	pipe_xfer_only = xfer_only;
}

void
log_pipe_hold(int on)
{
	pipe_held = on;
}

void
log_set_session(unsigned long id, const char *client, unsigned port)
{
	stamp.id = id;
	snprintf(stamp.client, sizeof(stamp.client), "%s",
	    client != NULL ? client : "");
	stamp.port = port;
	stamp.user[0] = '\0';
	stamp.access = 0;
}

void
log_set_user(const char *user, int anonymous)
{
	snprintf(stamp.user, sizeof(stamp.user), "%s",
	    user != NULL ? user : "");
	stamp.access = user == NULL ? 0 : anonymous ? 'a' : 'r';
}

/* Fields given before the next line (log_field_str, log_field_num). */
#define PENDING_MAX 4
static struct {
	char key[KF_LOG_KEY_MAX + 1];
	char val[KF_LOG_FIELD_MAX + 1];
	int num;
} pending[PENDING_MAX] SYS_HOT;
static size_t npending SYS_HOT;

void
log_field_str(const char *key, const char *val)
{
	if (npending == PENDING_MAX || val == NULL ||
	    !logrec_key_ok(key, strlen(key)))
		return;
	snprintf(pending[npending].key, sizeof(pending[0].key), "%s", key);
	snprintf(pending[npending].val, sizeof(pending[0].val), "%s", val);
	pending[npending++].num = 0;
}

void
log_field_num(const char *key, long long v)
{
	if (npending == PENDING_MAX || !logrec_key_ok(key, strlen(key)))
		return;
	snprintf(pending[npending].key, sizeof(pending[0].key), "%s", key);
	snprintf(pending[npending].val, sizeof(pending[0].val), "%lld", v);
	pending[npending++].num = 1;
}

static void
pending_put(struct logrec_buf *rb)
{
	size_t i;

	for (i = 0; i < npending; i++)
		(void)logrec_put(rb, pending[i].num ? LR_NUM : LR_STR,
		    pending[i].key, pending[i].val, strlen(pending[i].val));
	npending = 0;
}

/* The stamps and the text, first in a record for kf-log. */
static void
rec_head(struct logrec_buf *rb, int prio, const char *text)
{
	char pfx[sizeof(prefix) + 1];
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	rb->len = 0;
	(void)logrec_put_num(rb, LR_PRIO, NULL, prio);
	(void)logrec_put_num(rb, LR_TIME, NULL,
	    (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
	(void)logrec_put(rb, LR_IDENT, NULL, ident, strlen(ident));
	(void)logrec_put_num(rb, LR_PID, NULL, (long long)getpid());
	snprintf(pfx, sizeof(pfx), "%s%s", prefix, prefix[0] ? " " : "");
	{
		char t[sizeof(pfx) + KF_LOG_LINE_MAX * 4 + 8];
		size_t n = (size_t)snprintf(t, sizeof(t), "%s%s", pfx, text);

		if (n >= sizeof(t))
			n = sizeof(t) - 1;
		(void)logrec_put(rb, LR_TEXT, NULL, t,
		    n > KF_LOG_REC_MAX / 2 ? KF_LOG_REC_MAX / 2 : n);
	}
	if (stamp.id != 0) {
		(void)logrec_put_num(rb, LR_SESSION, NULL, (long long)stamp.id);
		(void)logrec_put(rb, LR_CLIENT, NULL, stamp.client,
		    strlen(stamp.client));
		(void)logrec_put_num(rb, LR_PORT, NULL, stamp.port);
	}
	if (stamp.user[0] != '\0') {
		(void)logrec_put(rb, LR_USER, NULL, stamp.user,
		    strlen(stamp.user));
		(void)logrec_put(rb, LR_ACCESS, NULL, &stamp.access, 1);
	}
}

/*
 * A finished record to kf-log, never waiting: 0 when sent, -1 (the
 * caller writes the line to stderr or syslog instead) when there is
 * no kf-log or its queue is full.
 */
static int
rec_send(const struct logrec_buf *rb)
{
	if (pipe_fd < 0)
		return -1;
	if (sys_send(pipe_fd, rb->b, rb->len, MSG_DONTWAIT) < 0) {
		pipe_dropped++;
		return -1;
	}
	return 0;
}

/* A line of this process: kf-log when there is one, else the sink. */
static void
deliver(int prio, const char *event, const char *msg, size_t n,
    const struct logrec_buf *fields)
{
	static struct logrec_buf rb;
	char esc[KF_LOG_LINE_MAX * 4 + 1] SYS_UNINIT;

	log_escape(msg, n, esc, sizeof(esc));
	if (pipe_fd < 0 || pipe_xfer_only || pipe_held) {
		emit(prio, esc);
		return;
	}
	rec_head(&rb, prio, esc);
	(void)logrec_put(&rb, LR_EVENT, NULL, event, strlen(event));
	(void)logrec_put(&rb, LR_MSG, NULL, msg, n);
	if (fields != NULL && fields->len <= sizeof(rb.b) - rb.len) {
		memcpy(rb.b + rb.len, fields->b, fields->len);
		rb.len += fields->len;
	}
	if (rec_send(&rb) < 0)
		emit(prio, esc);
}

/*
 * A worker's line to its monitor: the priority byte, the text, and
 * after a NUL the event and the typed fields as record items (the
 * monitor keeps only those, and stamps the rest itself).
 */
static void
send_worker(int prio, const char *event, const char *msg, size_t n,
    const struct logrec_buf *fields)
{
	static char d[1 + KF_LOG_LINE_MAX + 1 + KF_LOG_REC_MAX];
	size_t o;

	d[0] = (char)(unsigned char)prio;
	memcpy(d + 1, msg, n);
	o = 1 + n;
	if (event != NULL || fields != NULL) {
		static struct logrec_buf tail;

		tail.len = 0;
		if (event != NULL)
			(void)logrec_put(&tail, LR_EVENT, NULL, event,
			    strlen(event));
		if (fields != NULL &&
		    fields->len <= sizeof(tail.b) - tail.len) {
			memcpy(tail.b + tail.len, fields->b, fields->len);
			tail.len += fields->len;
		}
		d[o++] = '\0';
		memcpy(d + o, tail.b, tail.len);
		o += tail.len;
	}
	(void)sys_send(sink_fd, d, o, MSG_DONTWAIT);
}

void
log_raw(int prio, const char *bytes, size_t n)
{
	if (prio > max_prio)
		return;
	if (n > KF_LOG_LINE_MAX)
		n = KF_LOG_LINE_MAX;
	if (sink == LOG_SINK_FD) {
		send_worker(prio, NULL, bytes, n, NULL);
		return;
	}
	deliver(prio, "message", bytes, n, NULL);
}

/*
 * The event name of a line from its format: the leading words up to
 * the first ':' or conversion, lower case, '_' between words
 * ("login failed: ..." is login_failed).
 */
static void
event_of(const char *fmt, char *ev, size_t evsz)
{
	size_t o = 0;
	const char *f;

	for (f = fmt; *f != '\0' && *f != ':' && *f != '%' && *f != ';' &&
	     *f != '(' && *f != ',' && o + 1 < evsz;
	     f++) {
		char c = *f;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == ' ' || c == '-')
			c = '_';
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '_')
			ev[o++] = c;
	}
	/* cut by the bound inside a word: end at the last whole word */
	if (o + 1 >= evsz && *f != '\0' && *f != ' ' && *f != ':' &&
	    *f != '%' && *f != ';' && *f != '(' && *f != ',')
		while (o > 0 && ev[o - 1] != '_')
			o--;
	while (o > 0 && ev[o - 1] == '_')
		o--;
	ev[o] = '\0';
	if (o == 0)
		snprintf(ev, evsz, "message");
}

static void
vlog(int prio, const char *event, const char *fmt, va_list ap)
{
	static struct logrec_buf fields;
	char msg[KF_LOG_LINE_MAX + 1], ev[KF_LOG_KEY_MAX + 1];
	size_t n;

	if (prio > max_prio) {
		npending = 0;
		return;
	}
	fields.len = 0;
	n = vformat(msg, sizeof(msg), &fields, fmt, ap);
	pending_put(&fields);
	if (event == NULL) {
		event_of(fmt, ev, sizeof(ev));
		event = ev;
	}
	if (sink == LOG_SINK_FD)
		send_worker(prio, event, msg, n, &fields);
	else
		deliver(prio, event, msg, n, &fields);
}

void
log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(prio, NULL, fmt, ap);
	va_end(ap);
}

void
log_event(int prio, const char *event, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(prio, event, fmt, ap);
	va_end(ap);
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
static unsigned fwd_next SYS_HOT; /* the slot to take when all are used */

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
	deliver(LOG_WARNING, "log_dropped", line, strlen(line), NULL);
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
		deliver(LOG_WARNING, "log_refused", line, strlen(line), NULL);
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
fwd_line(const struct fwd_chan *ch, int prio, const char *text, size_t n,
    const struct logrec *wr)
{
	static struct logrec_buf rb;
	char esc[KF_LOG_LINE_MAX * 4 + 1] SYS_UNINIT;
	char line[FWD_ORIGIN_MAX + KF_LOG_LINE_MAX * 4 + 8] SYS_UNINIT;
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
	if (pipe_fd < 0 || pipe_xfer_only) {
		emit(prio, line); /* the log is stderr or syslog */
		if (pipe_fd < 0 || wr->event == NULL || wr->event_len != 8 ||
		    memcmp(wr->event, "transfer", 8) != 0)
			return; /* kf-log takes only what makes xferlog lines */
	}
	/* the monitor's stamps; of the worker's record only event and fields */
	rec_head(&rb, prio, line);
	(void)logrec_put(&rb, LR_ORIGIN, NULL, ch->origin, strlen(ch->origin));
	if (wr->event != NULL && logrec_key_ok(wr->event, wr->event_len))
		(void)logrec_put(&rb, LR_EVENT, NULL, wr->event, wr->event_len);
	else
		(void)logrec_put(&rb, LR_EVENT, NULL, "message", 7);
	(void)logrec_put(&rb, LR_MSG, NULL, text, n);
	for (i = 0; i < wr->nfields; i++)
		if (!logrec_reserved(wr->f[i].key))
			(void)logrec_put(&rb, wr->f[i].kind, wr->f[i].key,
			    wr->f[i].val, wr->f[i].len);
	if (rec_send(&rb) < 0 && !pipe_xfer_only)
		emit(prio, line);
}

/*
 * The text up to the first NUL; after it, the worker's event and
 * fields as record items. A tail that does not decode is ignored:
 * the text line is written all the same.
 */
static void
fwd_split(const struct fwd_chan *ch, int prio, const char *d, size_t n)
{
	static struct logrec wr;
	const char *nul = memchr(d, '\0', n);
	size_t tn = nul != NULL ? (size_t)(nul - d) : n;

	if (nul == NULL || logrec_decode(nul + 1, n - tn - 1, &wr) < 0)
		memset(&wr, 0, sizeof(wr));
	if (tn > KF_LOG_LINE_MAX)
		tn = KF_LOG_LINE_MAX;
	fwd_line(ch, prio, d, tn, &wr);
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
	static char msg[1 + KF_LOG_LINE_MAX + 1 + KF_LOG_REC_MAX];
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
	fwd_split(ch, prio, msg + 1, (size_t)n - 1);
	return 0;
}
