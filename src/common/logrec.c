/*
 * logrec.c - structured log records: encoding, bounded decoding, and
 * the three renderings kf-log writes (docs/OPERATIONS.md, "Log files").
 * The text rendering is the stderr line byte for byte. The JSON one is
 * one object per line whatever bytes a client sent: every string is
 * escaped here, invalid UTF-8 byte by byte as \u00XX (the byte's value
 * kept, read back as U+0000..U+00FF, rather than U+FFFD which would
 * lose it). The xferlog one follows wu-ftpd's xferlog(5).
 * Runs in: all processes (logrec_put), monitors (logrec_decode of a
 * worker's fields), kf-log (the renderers).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "logrec.h"
#include "sys.h"

/*
 * Length of the valid UTF-8 sequence that starts in[0..n) (RFC 3629:
 * shortest form, no surrogates, nothing above U+10FFFF), or 0; *cp gets
 * its code point.
 */
size_t
log_utf8_seq(const unsigned char *in, size_t n, uint32_t *cp)
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
int
log_unsafe_char(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 ||
	    c == 0x2029 || (c >= 0x202a && c <= 0x202e) ||
	    (c >= 0x2066 && c <= 0x2069);
}

int
logrec_put(struct logrec_buf *rb, char kind, const char *key, const char *val,
    size_t len)
{
	size_t klen = key != NULL ? strlen(key) : 0;

	if (klen > KF_LOG_KEY_MAX || len > 0xffff ||
	    4 + klen + len > sizeof(rb->b) - rb->len)
		return -1;
	rb->b[rb->len++] = (unsigned char)kind;
	rb->b[rb->len++] = (unsigned char)klen;
	if (klen > 0)
		memcpy(rb->b + rb->len, key, klen);
	rb->len += klen;
	rb->b[rb->len++] = (unsigned char)(len & 0xff);
	rb->b[rb->len++] = (unsigned char)(len >> 8);
	if (len > 0)
		memcpy(rb->b + rb->len, val, len);
	rb->len += len;
	return 0;
}

int
logrec_put_num(struct logrec_buf *rb, char kind, const char *key, long long v)
{
	char t[24];
	int n = snprintf(t, sizeof(t), "%lld", v);

	return logrec_put(rb, kind, key, t, (size_t)n);
}

int
logrec_key_ok(const char *key, size_t n)
{
	size_t i;

	if (n == 0 || n > KF_LOG_KEY_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((key[i] >= 'a' && key[i] <= 'z') ||
			(key[i] >= '0' && key[i] <= '9') || key[i] == '_'))
			return 0;
	return 1;
}

int
logrec_reserved(const char *key)
{
	static const char *const names[] = { "time", "level", "event",
		"session", "client", "client_port", "user", "origin", "pid",
		"msg", "ident", "access" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(key, names[i]) == 0)
			return 1;
	return 0;
}

/* digits, with a leading '-' when sign */
static int
digits_ok(const char *v, size_t n, int sign)
{
	size_t i = 0;

	if (sign && n > 1 && v[0] == '-')
		i = 1;
	if (n == 0 || n > 20)
		return 0;
	for (; i < n; i++)
		if (v[i] < '0' || v[i] > '9')
			return 0;
	return 1;
}

static int64_t
digits_val(const char *v, size_t n)
{
	int64_t x = 0;
	size_t i;

	for (i = 0; i < n && i < 18; i++)
		x = x * 10 + (v[i] - '0');
	return x;
}

/* One meta item into r; -1 if its value is not what the kind needs. */
static int
meta(struct logrec *r, char kind, const char *v, size_t n)
{
	switch (kind) {
	case LR_PRIO:
		if (n != 1 || v[0] < '0' || v[0] > '7')
			return -1;
		r->prio = v[0] - '0';
		return 0;
	case LR_TIME:
		if (!digits_ok(v, n, 0))
			return -1;
		r->time_ms = digits_val(v, n);
		return 0;
#define META(K, F) \
	case K: \
		r->F = v; \
		r->F##_len = n; \
		return 0;
		META(LR_IDENT, ident)
		META(LR_EVENT, event)
		META(LR_MSG, msg)
		META(LR_TEXT, text)
		META(LR_ORIGIN, origin)
		META(LR_CLIENT, client)
		META(LR_USER, user)
		META(LR_ACCESS, access)
#undef META
	case LR_PID:
	case LR_SESSION:
	case LR_PORT:
		if (!digits_ok(v, n, 0))
			return -1;
		if (kind == LR_PID)
			r->pid = v, r->pid_len = n;
		else if (kind == LR_SESSION)
			r->session = v, r->session_len = n;
		else
			r->port = v, r->port_len = n;
		return 0;
	default:
		return -1;
	}
}

int
logrec_decode(const void *buf, size_t n, struct logrec *r)
{
	const unsigned char *b = buf;
	size_t off = 0, klen, vlen;
	struct logrec_item *it;
	char kind;

	memset(r, 0, sizeof(*r));
	r->prio = LOG_INFO;
	while (off < n) {
		if (n - off < 2)
			return -1;
		kind = (char)b[off];
		klen = b[off + 1];
		if (klen > KF_LOG_KEY_MAX || n - off - 2 < klen + 2)
			return -1;
		vlen = b[off + 2 + klen] | (size_t)b[off + 3 + klen] << 8;
		if (n - off - 4 - klen < vlen)
			return -1;
		if (kind == LR_STR || kind == LR_NUM) {
			if (!logrec_key_ok((const char *)b + off + 2, klen) ||
			    (kind == LR_NUM &&
				!digits_ok((const char *)b + off + 4 + klen,
				    vlen, 1)))
				return -1;
			if (r->nfields < KF_LOG_FIELDS_MAX) {
				it = &r->f[r->nfields++];
				it->kind = kind;
				memcpy(it->key, b + off + 2, klen);
				it->key[klen] = '\0';
				it->val = (const char *)b + off + 4 + klen;
				it->len = vlen;
			}
		} else if (klen != 0 ||
		    meta(r, kind, (const char *)b + off + 4, vlen) < 0)
			return -1;
		off += 4 + klen + vlen;
	}
	return 0;
}

const struct logrec_item *
logrec_field(const struct logrec *r, const char *key)
{
	size_t i;

	for (i = 0; i < r->nfields; i++)
		if (strcmp(r->f[i].key, key) == 0)
			return &r->f[i];
	return NULL;
}

static const char *
level_name(int prio)
{
	switch (prio) {
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_DEBUG:
		return "debug";
	default:
		return prio < LOG_ERR ? "error" : "info";
	}
}

/* An output line: never past size - 1, NUL-terminated. */
struct out {
	char *b;
	size_t len, size;
	int full;
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (o->full || n > o->size - 1 - o->len) {
		o->full = 1;
		return;
	}
	memcpy(o->b + o->len, s, n);
	o->len += n;
	o->b[o->len] = '\0';
}

static void
puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void
text_guard(const char *in, size_t n, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)in;
	size_t i, o = 0;

	for (i = 0; i < n && o + 5 < outsz; i++) {
		if (u[i] < 0x20 || u[i] == 0x7f) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[u[i] >> 4];
			out[o++] = hex[u[i] & 15];
		} else
			out[o++] = (char)u[i];
	}
	out[o] = '\0';
}

static int
ident_ok(const char *s, size_t n)
{
	size_t i;

	if (s == NULL || n == 0 || n > 32)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
			s[i] == '_'))
			return 0;
	return 1;
}

size_t
logrec_text(const struct logrec *r, char *out, size_t outsz)
{
	char ts[32], esc[KF_LOG_OUT_MAX / 2], head[96];
	time_t sec = (time_t)(r->time_ms / 1000);
	struct tm tm;
	int n;

	if (r->text == NULL || outsz < 64)
		return 0;
	if (!ident_ok(r->ident, r->ident_len))
		return 0; /* the senders write "keepftpd": nothing else */
	gmtime_r(&sec, &tm);
	(void)strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(head, sizeof(head), "%s %.*s[%.*s]: %s: ", ts,
	    (int)r->ident_len, r->ident, (int)r->pid_len,
	    r->pid != NULL ? r->pid : "", level_name(r->prio));
	/* the sender escaped it; controls again here: one record, one line */
	text_guard(r->text, r->text_len, esc, sizeof(esc));
	if (n < 0 || (size_t)n + strlen(esc) + 2 > outsz)
		return 0;
	memcpy(out, head, (size_t)n);
	memcpy(out + n, esc, strlen(esc));
	n += (int)strlen(esc);
	out[n++] = '\n';
	out[n] = '\0';
	return (size_t)n;
}

size_t
logrec_json_escape(const char *in, size_t n, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)in;
	size_t i = 0, o = 0, len, k;
	uint32_t cp;
	char t[16];
	size_t tl;

	if (outsz == 0)
		return 0;
	while (i < n) {
		len = log_utf8_seq(u + i, n - i, &cp);
		if (len > 0 && (cp == '"' || cp == '\\')) {
			t[0] = '\\';
			t[1] = (char)cp;
			tl = 2;
		} else if (len > 0 && !log_unsafe_char(cp)) {
			memcpy(t, u + i, len);
			tl = len;
		} else {
			if (len == 0) {
				len = 1;
				cp = u[i]; /* the byte, as U+00XX */
			}
			t[0] = '\\';
			t[1] = 'u';
			for (k = 0; k < 4; k++)
				t[2 + k] = hex[(cp >> (12 - 4 * k)) & 15];
			tl = 6;
		}
		if (tl > outsz - 1 - o)
			break;
		memcpy(out + o, t, tl);
		o += tl;
		i += len;
	}
	out[o] = '\0';
	return o;
}

/* Room kept for the closing "}\n" and a "truncated" mark. */
#define JSON_TAIL 24

/* "key":"value" with a leading comma, or nothing when it does not fit. */
static void
json_str(struct out *o, const char *key, const char *v, size_t n)
{
	size_t room;

	if (v == NULL || o->full)
		return;
	puts_(o, ",\"");
	puts_(o, key);
	puts_(o, "\":\"");
	if (o->full || o->size - o->len < JSON_TAIL + 2) {
		o->full = 1;
		return;
	}
	room = o->size - o->len - JSON_TAIL;
	o->len += logrec_json_escape(v, n, o->b + o->len, room);
	put(o, "\"", 1);
}

static void
json_num(struct out *o, const char *key, const char *v, size_t n)
{
	if (v == NULL || o->full)
		return;
	puts_(o, ",\"");
	puts_(o, key);
	puts_(o, "\":");
	put(o, v, n);
}

static void
json_time(struct out *o, int64_t ms)
{
	char ts[80], t[40];
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&sec, &tm);
	(void)strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts, sizeof(ts), "{\"time\":\"%s.%03dZ\"", t, (int)(ms % 1000));
	puts_(o, ts);
}

size_t
logrec_json(const struct logrec *r, char *buf, size_t outsz)
{
	struct out o = { buf, 0, outsz, 0 };
	size_t i, mark;

	if (outsz < 64)
		return 0;
	buf[0] = '\0';
	o.size = outsz - JSON_TAIL; /* the tail always fits */
	json_time(&o, r->time_ms);
	json_str(&o, "level", level_name(r->prio), strlen(level_name(r->prio)));
	json_str(&o, "event", r->event != NULL ? r->event : "message",
	    r->event != NULL ? r->event_len : 7);
	json_num(&o, "session", r->session, r->session_len);
	json_str(&o, "client", r->client, r->client_len);
	json_num(&o, "client_port", r->port, r->port_len);
	json_str(&o, "user", r->user, r->user_len);
	json_str(&o, "access", r->access, r->access_len);
	json_str(&o, "origin", r->origin, r->origin_len);
	json_num(&o, "pid", r->pid, r->pid_len);
	for (i = 0; i < r->nfields && !o.full; i++) {
		/* a privileged line's own user= when nothing is stamped */
		if (logrec_reserved(r->f[i].key) &&
		    !(r->user == NULL && strcmp(r->f[i].key, "user") == 0))
			continue;
		mark = o.len;
		if (r->f[i].kind == LR_NUM)
			json_num(&o, r->f[i].key, r->f[i].val, r->f[i].len);
		else
			json_str(&o, r->f[i].key, r->f[i].val, r->f[i].len);
		if (o.full) /* the field whole, or not at all */
			o.len = mark, buf[mark] = '\0';
	}
	if (!o.full) {
		mark = o.len;
		json_str(&o, "msg", r->msg != NULL ? r->msg : r->text,
		    r->msg != NULL ? r->msg_len : r->text_len);
		if (o.full)
			o.len = mark, buf[mark] = '\0';
	}
	o.size = outsz;
	if (o.full) {
		o.full = 0;
		puts_(&o, ",\"truncated\":true");
	}
	puts_(&o, "}\n");
	return o.len;
}

size_t
logrec_xfer_name(const char *in, size_t n, char *out, size_t outsz)
{
	const unsigned char *u = (const unsigned char *)in;
	size_t i = 0, o = 0, len, k;
	uint32_t cp;

	if (outsz == 0)
		return 0;
	while (i < n) {
		len = log_utf8_seq(u + i, n - i, &cp);
		if (len > 0 && cp > ' ' && cp != '\\' && !log_unsafe_char(cp)) {
			if (len > outsz - 1 - o)
				break;
			memcpy(out + o, u + i, len);
			o += len;
			i += len;
			continue;
		}
		if (len == 0)
			len = 1;
		if (4 * len > outsz - 1 - o)
			break;
		for (k = 0; k < len; k++) {
			snprintf(out + o, 5, "\\%03o", u[i + k]);
			o += 4;
		}
		i += len;
	}
	out[o] = '\0';
	return o;
}

static int
field_is(const struct logrec *r, const char *key, const char *v)
{
	const struct logrec_item *f = logrec_field(r, key);

	return f != NULL && f->len == strlen(v) &&
	    memcmp(f->val, v, f->len) == 0;
}

static const char *
field_digits(const struct logrec *r, const char *key, char *t, size_t tsz)
{
	const struct logrec_item *f = logrec_field(r, key);

	if (f == NULL || f->kind != LR_NUM || f->len >= tsz ||
	    f->val[0] == '-') {
		memcpy(t, "0", 2);
		return "0";
	}
	memcpy(t, f->val, f->len);
	t[f->len] = '\0';
	return t;
}

/*
 * current-time transfer-time remote-host file-size filename
 * transfer-type special-action-flag direction access-mode username
 * service-name authentication-method authenticated-user-id
 * completion-status, space-separated (xferlog(5)); the time in UTC.
 */
size_t
logrec_xferlog(const struct logrec *r, char *buf, size_t outsz)
{
	static const size_t name_max = KF_PATH_MAX * 4 + 1;
	char ts[40], bytes[24] = "0", msd[24] = "0", host[64];
	char name[KF_PATH_MAX * 4 + 1] SYS_UNINIT;
	char user[KF_USER_MAX * 4 + 1] SYS_UNINIT;
	const struct logrec_item *path = logrec_field(r, "path");
	time_t sec = (time_t)(r->time_ms / 1000);
	long long secs;
	struct tm tm;
	int n;

	if (r->event == NULL || r->event_len != 8 ||
	    memcmp(r->event, "transfer", 8) != 0 || path == NULL ||
	    r->origin == NULL || r->user == NULL)
		return 0;
	gmtime_r(&sec, &tm);
	(void)strftime(ts, sizeof(ts), "%a %b %e %H:%M:%S %Y", &tm);
	(void)field_digits(r, "duration_ms", msd, sizeof(msd));
	secs = (digits_val(msd, strlen(msd)) + 500) / 1000;
	if (secs < 1)
		secs = 1;
	(void)field_digits(r, "bytes", bytes, sizeof(bytes));
	logrec_xfer_name(path->val, path->len, name, name_max);
	logrec_xfer_name(r->user, r->user_len, user, sizeof(user));
	logrec_xfer_name(r->client != NULL ? r->client : "-",
	    r->client != NULL ? r->client_len : 1, host, sizeof(host));
	n = snprintf(buf, outsz, "%s %lld %s %s %s %c _ %c %c %s ftp 0 * %c\n",
	    ts, secs, host[0] ? host : "-", bytes[0] ? bytes : "0",
	    name[0] ? name : "-", field_is(r, "type", "ascii") ? 'a' : 'b',
	    field_is(r, "command", "RETR") ? 'o' : 'i',
	    r->access != NULL && r->access_len == 1 && r->access[0] == 'a' ?
		'a' :
		'r',
	    user[0] ? user : "-", field_is(r, "status", "ok") ? 'c' : 'i');
	if (n < 0 || (size_t)n >= outsz)
		return 0;
	return (size_t)n;
}
