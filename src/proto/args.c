/*
 * args.c - the parsers of client arguments the post-login commands
 * take: REST offset, MFMT time, SITE CHMOD/UMASK mode, PORT and EPRT
 * addresses, LIST/NLST/STAT options, SITE words, and the comma lists
 * of deny/hide patterns. Cursor parsers with strict numbers; nothing
 * here touches the session, a file or the network.
 * Runs in: post-login worker (and unit tests, fuzz targets). Pure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../common/cursor.h"
#include "../fs/list.h"
#include "../net/addr.h"
#include "args.h"

/* YYYYMMDDHHMMSS[.fff] (RFC 3659 time-val, UTC) to seconds. */
int
args_timeval(const char *p, size_t n, time_t *out)
{
	struct tm tm;
	uint64_t v[6];
	static const unsigned w[6] = { 4, 2, 2, 2, 2, 2 };
	struct cursor cur;
	size_t i, k;

	if (n < 14)
		return -1;
	for (i = 0, k = 0; i < 6; k += w[i], i++) {
		cursor_init(&cur, p + k, w[i]);
		if (cursor_u64(&cur, 9999, &v[i]) < 0 || !cursor_eof(&cur))
			return -1;
	}
	if (n > 14) {
		if (p[14] != '.' || n == 15 || n > 18)
			return -1;
		for (i = 15; i < n; i++)
			if (p[i] < '0' || p[i] > '9')
				return -1;
	}
	if (v[0] < 1970 || v[0] > 9999 || v[1] < 1 || v[1] > 12 || v[2] < 1 ||
	    v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (int)v[0] - 1900;
	tm.tm_mon = (int)v[1] - 1;
	tm.tm_mday = (int)v[2];
	tm.tm_hour = (int)v[3];
	tm.tm_min = (int)v[4];
	tm.tm_sec = (int)v[5];
	*out = timegm(&tm);
	return *out == (time_t)-1 ? -1 : 0;
}

/* An octal mode, at most 4 digits. */
int
args_mode(const char *p, size_t n, unsigned max, unsigned *out)
{
	struct cursor cur;
	uint64_t v;

	if (n == 0 || n > 4)
		return -1;
	cursor_init(&cur, p, n);
	if (cursor_u64_base(&cur, 8, max, &v) < 0 || !cursor_eof(&cur))
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* The word w, then the end or one space (eaten). */
int
args_word(struct cursor *cur, const char *w)
{
	struct cursor save = *cur;

	if (cursor_eat_ci(cur, w) && (cursor_eof(cur) || cursor_eat(cur, ' ')))
		return 1;
	*cur = save;
	return 0;
}

void
args_patterns(struct patterns *p, const char *text)
{
	char *t = p->text, *comma, *e;
	size_t n = 0;

	snprintf(p->text, sizeof(p->text), "%s", text);
	while (*t != '\0' && n < CONF_PATTERNS_MAX) {
		while (*t == ' ' || *t == '\t')
			t++;
		comma = strchr(t, ',');
		/* trailing blanks of this pattern, the last one's too */
		e = comma != NULL ? comma : t + strlen(t);
		while (e > t && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		*e = '\0';
		if (*t != '\0')
			p->pat[n++] = t;
		if (comma == NULL)
			break;
		t = comma + 1;
	}
	p->set.pat = p->pat;
	p->set.n = n;
}

static void
set_v4(struct sockaddr_storage *ss, const uint8_t ip[4], uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr, ip, 4);
	sin->sin_port = htons(port);
}

/* h1,h2,h3,h4,p1,p2 - each 0..255; port must be non-zero. */
int
args_port(const char *arg, struct sockaddr_storage *out, socklen_t *len)
{
	struct cursor c;
	uint64_t v[6];
	uint8_t ip[4];
	int i;

	cursor_init_str(&c, arg);
	for (i = 0; i < 6; i++) {
		if (i > 0 && !cursor_eat(&c, ','))
			return -EINVAL;
		if (cursor_u64(&c, 255, &v[i]) < 0)
			return -EINVAL;
	}
	if (!cursor_eof(&c) || (v[4] == 0 && v[5] == 0))
		return -EINVAL;
	for (i = 0; i < 4; i++)
		ip[i] = (uint8_t)v[i];
	set_v4(out, ip, (uint16_t)(v[4] << 8 | v[5]));
	*len = sizeof(struct sockaddr_in);
	return 0;
}

/* <d>proto<d>addr<d>port<d>, d any printable ASCII but digits. */
int
args_eprt(const char *arg, struct sockaddr_storage *out, socklen_t *len)
{
	struct cursor c;
	char d, host[ADDR_STR_MAX];
	const char *tok;
	size_t n;
	uint64_t proto, port;

	cursor_init_str(&c, arg);
	d = *arg;
	if (d < 33 || d > 126 || (d >= '0' && d <= '9'))
		return -EINVAL;
	c.p++;
	if (cursor_u64(&c, 2, &proto) < 0 || proto == 0 || !cursor_eat(&c, d))
		return -EINVAL;
	if (cursor_token(&c, (char[]){ d, '\0' }, &tok, &n) < 0 ||
	    n >= sizeof(host) || !cursor_eat(&c, d))
		return -EINVAL;
	memcpy(host, tok, n);
	host[n] = '\0';
	if (cursor_u64(&c, 65535, &port) < 0 || port == 0 ||
	    !cursor_eat(&c, d) || !cursor_eof(&c))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (proto == 1) {
		struct sockaddr_in *sin = (struct sockaddr_in *)out;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -EINVAL;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return -EINVAL;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*sin6);
	}
	return 0;
}

/* One ls option letter: the ones that mean something here set a flag. */
static int
opt_letter(char ch, unsigned *flags)
{
	if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		(ch >= '0' && ch <= '9')))
		return -EINVAL;
	if (ch == 'a' || ch == 'A')
		*flags |= LIST_ALL;
	else if (ch == 'l')
		*flags |= LIST_LONG;
	else if (ch == 'R')
		*flags |= LIST_RECURSE;
	else if (ch == 'd')
		*flags |= LIST_DIRSELF;
	return 0; /* -1 -t -r -h -F ...: accepted, ignored */
}

/*
 * Leading "-a", "-l", "-laR", "-1" ... words: any letters and digits,
 * as clients and scripts send ls flags; the rest is the path. A word
 * with anything else after its '-' is a name: -EINVAL.
 */
int
args_list_opts(const char **arg, unsigned *flags)
{
	const char *p = *arg;

	while (*p == '-' && p[1] != '\0' && p[1] != ' ') {
		for (p++; *p != '\0' && *p != ' '; p++)
			if (opt_letter(*p, flags) < 0)
				return -EINVAL;
		while (*p == ' ')
			p++;
	}
	*arg = p;
	return 0;
}

/* REST: a byte offset, 0..INT64_MAX (an off_t). */
int
args_rest(const char *arg, uint64_t *off)
{
	return parse_u64(arg, INT64_MAX, off) < 0 ? -1 : 0;
}

/*
 * "WORD path" of MFMT and SITE CHMOD: the word's length and the path
 * after the first space, which must not be empty; -1 without one.
 */
static int
args_split(const char *arg, size_t n, size_t *wlen, const char **path)
{
	const char *sp = memchr(arg, ' ', n);

	if (sp == NULL || sp[1] == '\0')
		return -1;
	*wlen = (size_t)(sp - arg);
	*path = sp + 1;
	return 0;
}

/* MFMT YYYYMMDDHHMMSS[.fff] path. */
int
args_mfmt(const char *arg, size_t n, time_t *t, const char **path)
{
	size_t w;

	if (args_split(arg, n, &w, path) < 0 || args_timeval(arg, w, t) < 0)
		return -1;
	return 0;
}

/* SITE CHMOD mode path: the mode 0..07777 in octal. */
int
args_chmod(const char *arg, size_t n, unsigned *mode, const char **path)
{
	size_t w;

	if (args_split(arg, n, &w, path) < 0 ||
	    args_mode(arg, w, 07777, mode) < 0)
		return -1;
	return 0;
}
