/*
 * fuzz_args.c - the post-login argument parsers (proto/args.c): the
 * first byte picks one, the rest is its argument (NUL-terminated, as
 * cmd_parse hands it over).
 * Runs in: fuzz target only.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>

#include "fuzz.h"
#include "fs/list.h"
#include "proto/args.h"

/* An accepted address: a family, a port, and the same again from text. */
static void
check_port(const char *arg)
{
	struct sockaddr_storage ss, again;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
	const uint8_t *ip = (const uint8_t *)&sin->sin_addr;
	uint16_t port;
	socklen_t len;
	char text[64];

	if (args_port(arg, &ss, &len) < 0)
		return;
	port = ntohs(sin->sin_port);
	FUZZ_CHECK(ss.ss_family == AF_INET && len == sizeof(*sin) && port != 0);
	snprintf(text, sizeof(text), "%u,%u,%u,%u,%u,%u", ip[0], ip[1], ip[2],
	    ip[3], port >> 8, port & 255);
	FUZZ_CHECK(args_port(text, &again, &len) == 0);
	FUZZ_CHECK(memcmp(&ss, &again, sizeof(struct sockaddr_in)) == 0);
}

static void
check_eprt(const char *arg)
{
	struct sockaddr_storage ss, again;
	char host[INET6_ADDRSTRLEN], text[128];
	const void *a;
	unsigned port;
	socklen_t len;
	int v6;

	if (args_eprt(arg, &ss, &len) < 0)
		return;
	v6 = ss.ss_family == AF_INET6;
	FUZZ_CHECK(ss.ss_family == AF_INET || v6);
	FUZZ_CHECK(len ==
	    (v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)));
	port = v6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) :
		    ntohs(((struct sockaddr_in *)&ss)->sin_port);
	FUZZ_CHECK(port != 0);
	a = v6 ? (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr :
		 (const void *)&((struct sockaddr_in *)&ss)->sin_addr;
	FUZZ_CHECK(inet_ntop(ss.ss_family, a, host, sizeof(host)) != NULL);
	snprintf(text, sizeof(text), "|%d|%s|%u|", v6 ? 2 : 1, host, port);
	FUZZ_CHECK(args_eprt(text, &again, &len) == 0);
	FUZZ_CHECK(memcmp(&ss, &again, len) == 0);
}

/* An accepted time is 1970..9999 and MFMT's path lies in the argument. */
static void
check_time(const char *arg, size_t n)
{
	const char *path;
	struct tm tm;
	time_t t;

	if (args_timeval(arg, n, &t) == 0) {
		FUZZ_CHECK(t >= 0 && gmtime_r(&t, &tm) != NULL);
		FUZZ_CHECK(tm.tm_year + 1900 <= 10000);
	}
	if (args_mfmt(arg, n, &t, &path) == 0)
		FUZZ_CHECK(path > arg && path < arg + n && *path != '\0' &&
		    path[-1] == ' ');
}

/* An accepted mode is at most its max; REST at most INT64_MAX. */
static void
check_numbers(const char *arg, size_t n)
{
	const char *path;
	unsigned mode;
	uint64_t off;

	if (args_mode(arg, n, 0777, &mode) == 0)
		FUZZ_CHECK(mode <= 0777 && n >= 1 && n <= 4);
	if (args_chmod(arg, n, &mode, &path) == 0)
		FUZZ_CHECK(mode <= 07777 && path > arg && *path != '\0');
	if (args_rest(arg, &off) == 0)
		FUZZ_CHECK(off <= INT64_MAX && n >= 1);
}

/* Options: the rest lies further on; only the four ls flags are set. */
static void
check_list(const char *arg, size_t n)
{
	const unsigned known = LIST_LONG | LIST_ALL | LIST_RECURSE |
	    LIST_DIRSELF;
	const char *p = arg;
	unsigned flags = 0;

	if (args_list_opts(&p, &flags) == 0) {
		FUZZ_CHECK(p >= arg && p <= arg + n);
		FUZZ_CHECK((flags & ~known) == 0);
		FUZZ_CHECK(
		    p == arg || *p != '-' || p[1] == '\0' || p[1] == ' ');
	}
}

/* Patterns: non-empty, no comma, no blank at either end, in p.text. */
static void
check_patterns(const char *arg)
{
	struct patterns p;
	size_t i, len;

	args_patterns(&p, arg);
	FUZZ_CHECK(p.set.n <= CONF_PATTERNS_MAX && p.set.pat == p.pat);
	for (i = 0; i < p.set.n; i++) {
		len = strlen(p.pat[i]);
		FUZZ_CHECK(len > 0 && strchr(p.pat[i], ',') == NULL);
		FUZZ_CHECK(p.pat[i] >= p.text &&
		    p.pat[i] + len < p.text + sizeof(p.text));
		FUZZ_CHECK(p.pat[i][0] != ' ' && p.pat[i][0] != '\t');
		FUZZ_CHECK(
		    p.pat[i][len - 1] != ' ' && p.pat[i][len - 1] != '\t');
	}
}

static void
check_word(const char *arg, size_t n)
{
	struct cursor c;

	cursor_init(&c, arg, n);
	if (args_word(&c, "CHMOD"))
		FUZZ_CHECK(c.p == arg + 5 || (c.p == arg + 6 && arg[5] == ' '));
	else
		FUZZ_CHECK(c.p == arg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *arg;
	size_t n;

	if (size < 1 || size > KF_LINE_MAX)
		return 0;
	n = size - 1;
	if ((arg = malloc(n + 1)) == NULL)
		return 0;
	memcpy(arg, data + 1, n);
	arg[n] = '\0';
	n = strlen(arg); /* cmd_parse refuses NUL: none in an argument */
	switch (data[0] % 7) {
	case 0:
		check_port(arg);
		break;
	case 1:
		check_eprt(arg);
		break;
	case 2:
		check_time(arg, n);
		break;
	case 3:
		check_numbers(arg, n);
		break;
	case 4:
		check_list(arg, n);
		break;
	case 5:
		check_patterns(arg);
		break;
	default:
		check_word(arg, n);
		break;
	}
	free(arg);
	return 0;
}
