/*
 * http.c - judges one HTTP request head for the metrics endpoint: a
 * cursor walks the request line (METHOD SP TARGET SP HTTP/1.x CRLF),
 * then header lines (token ":" value CRLF) up to the empty line. Lines
 * end in CRLF only; a lone CR or LF, a control character, a header
 * without a name, too many lines or too many bytes is an answer, never
 * a wait. No number is parsed but Content-Length's "0".
 * Runs in: kf-metrics (and the fuzz target, the unit tests).
 */
#include <string.h>
#include <strings.h>

#include "../common/limits.h"
#include "http.h"

struct cur {
	const char *p, *end;
};

/* The next line without its CRLF: 1, 0 when none is complete, -1 bad. */
static int
line(struct cur *c, const char **s, size_t *n)
{
	const char *q;

	for (q = c->p; q < c->end; q++) {
		if (*q == '\n')
			return -1; /* LF without CR */
		if (*q != '\r')
			continue;
		if (q + 1 == c->end)
			return 0;
		if (q[1] != '\n')
			return -1; /* CR without LF */
		*s = c->p;
		*n = (size_t)(q - c->p);
		c->p = q + 2;
		return 1;
	}
	return 0;
}

static int
tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* Characters of a target or a field value: visible ASCII, SP, HTAB, obs-text. */
static int
vchar(unsigned char ch, int sp)
{
	return (ch > 0x20 && ch != 0x7f) || (sp && (ch == ' ' || ch == '\t'));
}

static size_t
span(const char *s, size_t n, int (*ok)(unsigned char))
{
	size_t i = 0;

	while (i < n && ok((unsigned char)s[i]))
		i++;
	return i;
}

static int
target_char(unsigned char ch)
{
	return vchar(ch, 0);
}

/* "/metrics", with or without a query. */
static int
is_metrics(const char *t, size_t n)
{
	static const char path[] = "/metrics";
	size_t k = sizeof(path) - 1;

	return n >= k && memcmp(t, path, k) == 0 && (n == k || t[k] == '?');
}

static enum http_verdict
request_line(const char *s, size_t n, int *head)
{
	size_t m, t;

	m = span(s, n, tchar);
	if (m == 0 || m == n || s[m] != ' ')
		return HTTP_BAD;
	t = span(s + m + 1, n - m - 1, target_char);
	if (t == 0 || m + 1 + t == n || s[m + 1 + t] != ' ')
		return HTTP_BAD;
	if (n - (m + t + 2) != 8 || memcmp(s + m + t + 2, "HTTP/1.", 7) != 0)
		return n - (m + t + 2) >= 5 &&
			memcmp(s + m + t + 2, "HTTP/", 5) == 0 ?
		    HTTP_VERSION :
		    HTTP_BAD;
	if (s[n - 1] != '0' && s[n - 1] != '1')
		return HTTP_VERSION;
	*head = m == 4 && memcmp(s, "HEAD", 4) == 0;
	if (!*head && !(m == 3 && memcmp(s, "GET", 3) == 0))
		return HTTP_METHOD;
	return is_metrics(s + m + 1, t) ? HTTP_MORE : HTTP_NOT_FOUND;
}

static int
named(const char *s, size_t m, const char *name)
{
	return strlen(name) == m && strncasecmp(s, name, m) == 0;
}

/* One header line: 0, or the verdict it forces. */
static enum http_verdict
header(const char *s, size_t n)
{
	size_t m = span(s, n, tchar), i, v;

	if (m == 0 || m == n || s[m] != ':')
		return HTTP_BAD;
	for (i = m + 1; i < n; i++)
		if (!vchar((unsigned char)s[i], 1))
			return HTTP_BAD;
	if (named(s, m, "transfer-encoding"))
		return HTTP_BODY;
	if (!named(s, m, "content-length"))
		return HTTP_MORE;
	for (v = m + 1; v < n && (s[v] == ' ' || s[v] == '\t'); v++)
		;
	for (i = n; i > v && (s[i - 1] == ' ' || s[i - 1] == '\t'); i--)
		;
	return i - v == 1 && s[v] == '0' ? HTTP_MORE : HTTP_BODY;
}

enum http_verdict
http_judge(const char *buf, size_t n)
{
	struct cur c = { buf,
		buf + (n < KF_METRICS_REQ_MAX ? n : KF_METRICS_REQ_MAX) };
	enum http_verdict v;
	const char *s;
	size_t len, lines = 0;
	int head = 0, r;

	if ((r = line(&c, &s, &len)) <= 0)
		return r < 0		    ? HTTP_BAD :
		    n >= KF_METRICS_REQ_MAX ? HTTP_TOO_LARGE :
					      HTTP_MORE;
	if ((v = request_line(s, len, &head)) != HTTP_MORE)
		return v;
	while ((r = line(&c, &s, &len)) > 0) {
		if (len == 0)
			return head ? HTTP_HEAD : HTTP_GET;
		if (++lines > KF_METRICS_HEADERS_MAX)
			return HTTP_TOO_LARGE;
		if ((v = header(s, len)) != HTTP_MORE)
			return v;
	}
	if (r < 0)
		return HTTP_BAD;
	return n >= KF_METRICS_REQ_MAX ? HTTP_TOO_LARGE : HTTP_MORE;
}

const char *
http_reason(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 413:
		return "Content Too Large";
	case 431:
		return "Request Header Fields Too Large";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Internal Server Error";
	}
}
