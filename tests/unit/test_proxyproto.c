/*
 * test_proxyproto.c - the PROXY protocol parser: v1, v2, hostile input;
 * and its socket reader (proxyread.c): exactly the header's bytes.
 */
#include "cm.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/limits.h"
#include "common/sys.h"
#include "net/proxyproto.h"
#include "net/proxyread.h"

static const uint8_t sig[12] = { '\r', '\n', '\r', '\n', 0, '\r', '\n', 'Q',
	'U', 'I', 'T', '\n' };

static ssize_t
parse(const void *b, size_t n, struct proxy_hdr *h, size_t *need)
{
	return proxy_parse(b, n, KF_PROXY_HDR_MAX, h, need);
}

/* Feeds the header as a reader does: exactly *need bytes at a time. */
static ssize_t
feed(const void *b, size_t n, struct proxy_hdr *h)
{
	size_t have = 0, need = 0;
	ssize_t r;

	for (;;) {
		r = parse(b, have, h, &need);
		if (r != 0)
			return r;
		assert_true(need > have);
		if (need > n)
			return 0; /* the reader would wait for more */
		have = need;
	}
}

static void
str4(const struct sockaddr_storage *ss, char *out, uint16_t *port)
{
	const struct sockaddr_in *s = (const struct sockaddr_in *)ss;

	assert_int_equal(ss->ss_family, AF_INET);
	inet_ntop(AF_INET, &s->sin_addr, out, INET_ADDRSTRLEN);
	*port = ntohs(s->sin_port);
}

static void
test_v1_tcp4(void **state)
{
	static const char h[] =
	    "PROXY TCP4 198.51.100.7 192.0.2.1 40000 21\r\nUSER x\r\n";
	struct proxy_hdr p;
	char a[INET6_ADDRSTRLEN];
	uint16_t port;
	size_t hl = strlen("PROXY TCP4 198.51.100.7 192.0.2.1 40000 21\r\n");

	assert_int_equal(feed(h, sizeof(h) - 1, &p), (ssize_t)hl);
	assert_int_equal(p.version, 1);
	assert_false(p.local);
	str4(&p.src, a, &port);
	assert_string_equal(a, "198.51.100.7");
	assert_int_equal(port, 40000);
	str4(&p.dst, a, &port);
	assert_string_equal(a, "192.0.2.1");
	assert_int_equal(port, 21);
}

static void
test_v1_tcp6_unknown(void **state)
{
	static const char h6[] =
	    "PROXY TCP6 2001:db8::7 2001:db8::1 1 65535\r\n";
	/* a source port 0 is no TCP client's: refused (the peer port) */
	static const char p0[] = "PROXY TCP6 2001:db8::7 2001:db8::1 0 21\r\n";
	static const char u[] = "PROXY UNKNOWN ffff:f...f:ffff 1 2 3\r\n";
	static const char u2[] = "PROXY UNKNOWN\r\n";
	struct proxy_hdr p;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&p.src;
	char a[INET6_ADDRSTRLEN];

	assert_int_equal(feed(h6, sizeof(h6) - 1, &p), (ssize_t)sizeof(h6) - 1);
	assert_int_equal(p.src.ss_family, AF_INET6);
	inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
	assert_string_equal(a, "2001:db8::7");
	assert_int_equal(ntohs(s6->sin6_port), 1);
	assert_int_equal(feed(p0, sizeof(p0) - 1, &p), -EINVAL);
	assert_int_equal(feed(u, sizeof(u) - 1, &p), (ssize_t)sizeof(u) - 1);
	assert_int_equal(p.src.ss_family, AF_UNSPEC);
	assert_int_equal(feed(u2, sizeof(u2) - 1, &p), (ssize_t)sizeof(u2) - 1);
	assert_int_equal(p.src.ss_family, AF_UNSPEC);
}

static void
test_v1_hostile(void **state)
{
	static const char *const bad[] = {
		"PROXY TCP4 198.51.100.7 192.0.2.1 40000 21\n",
		"PROXY TCP4 198.51.100.7 192.0.2.1 40000 21 \r\n",
		"PROXY TCP4  198.51.100.7 192.0.2.1 40000 21\r\n",
		"PROXY TCP4 198.51.100.7 192.0.2.1 040000 21\r\n",
		"PROXY TCP4 198.51.100.7 192.0.2.1 65536 21\r\n",
		"PROXY TCP4 198.51.100.7 192.0.2.1 -1 21\r\n",
		"PROXY TCP4 198.51.100.7 192.0.2.1 +1 21\r\n",
		"PROXY TCP4 198.51.100.7 192.0.2.1 40000\r\n",
		"PROXY TCP4 2001:db8::7 192.0.2.1 1 2\r\n",
		"PROXY TCP6 198.51.100.7 2001:db8::1 1 2\r\n",
		"PROXY TCP4 198.51.100.256 192.0.2.1 1 2\r\n",
		"PROXY TCP5 198.51.100.7 192.0.2.1 1 2\r\n",
		"PROXY tcp4 198.51.100.7 192.0.2.1 1 2\r\n",
		"PROXY UDP4 198.51.100.7 192.0.2.1 1 2\r\n",
		"PROXY TCP4\r\n",
		"PROXY \r\n",
		"PROXY\r\n",
		"proxy TCP4 198.51.100.7 192.0.2.1 1 2\r\n",
		"PROXY TCP4 198.51.100.7\t192.0.2.1 1 2\r\n",
		"PROXY TCP4 198.51.100.7 192.0.2.1 1 2\r\r\n",
		"USER anonymous\r\n",
		"GET / HTTP/1.0\r\n",
	};
	struct proxy_hdr p;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(feed(bad[i], strlen(bad[i]), &p), -EINVAL);
		assert_int_equal(p.src.ss_family, AF_UNSPEC);
	}
}

/* 107 bytes at most, CRLF included; garbage is refused at its first byte. */
static void
test_v1_bounds(void **state)
{
	char line[200];
	struct proxy_hdr p;
	size_t need;

	memset(line, 'x', sizeof(line));
	memcpy(line, "PROXY UNKNOWN ", 14);
	memcpy(line + 105, "\r\n", 2);
	assert_int_equal(feed(line, 107, &p), 107);
	memcpy(line + 105, "x\r\n", 3);
	assert_int_equal(feed(line, 108, &p), -EINVAL);
	/* the same 108 bytes given at once: refused too (fuzz_proxy found
	 * the whole parse taking a CR at byte 107 and its LF past it) */
	assert_int_equal(parse(line, 108, &p, &need), -EINVAL);
	/* a prefix waits for one more byte, never more */
	assert_int_equal(parse(line, 50, &p, &need), 0);
	assert_int_equal(need, 51);
	assert_int_equal(parse("X", 1, &p, &need), -EINVAL);
	assert_int_equal(parse("PROXI", 5, &p, &need), -EINVAL);
	assert_int_equal(parse("PR\001", 3, &p, &need), -EINVAL);
	assert_int_equal(parse("", 0, &p, &need), 0);
	assert_int_equal(need, 1);
}

static size_t
v2(uint8_t *b, uint8_t vc, uint8_t fam, const void *a, size_t alen)
{
	memcpy(b, sig, 12);
	b[12] = vc;
	b[13] = fam;
	b[14] = (uint8_t)(alen >> 8);
	b[15] = (uint8_t)alen;
	memcpy(b + 16, a, alen);
	return 16 + alen;
}

static void
test_v2_inet(void **state)
{
	uint8_t a[12 + 9] = { 198, 51, 100, 7, 192, 0, 2, 1, 0x9c, 0x40, 0, 21,
		/* a TLV (PP2_TYPE_ALPN) after the addresses: skipped */
		0x01, 0x00, 0x06, 'f', 't', 'p', 'x', 'x', 'x' };
	uint8_t b[128];
	struct proxy_hdr p;
	char s[INET6_ADDRSTRLEN];
	uint16_t port;
	size_t n = v2(b, 0x21, 0x11, a, sizeof(a)), need;

	b[n] = 'U'; /* the session's first byte */
	assert_int_equal(parse(b, 3, &p, &need), 0);
	assert_int_equal(need, 16);
	assert_int_equal(parse(b, 16, &p, &need), 0);
	assert_int_equal(need, n);
	assert_int_equal(parse(b, n + 1, &p, &need), (ssize_t)n);
	assert_int_equal(p.version, 2);
	str4(&p.src, s, &port);
	assert_string_equal(s, "198.51.100.7");
	assert_int_equal(port, 40000);
	str4(&p.dst, s, &port);
	assert_int_equal(port, 21);
}

static void
test_v2_inet6_local(void **state)
{
	uint8_t a[36] = { 0 };
	uint8_t b[128];
	struct proxy_hdr p;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&p.src;
	size_t n;

	a[0] = 0x20;
	a[1] = 0x01;
	a[15] = 7;
	a[33] = 99;
	n = v2(b, 0x21, 0x21, a, sizeof(a));
	assert_int_equal(feed(b, n, &p), (ssize_t)n);
	assert_int_equal(p.src.ss_family, AF_INET6);
	assert_int_equal(s6->sin6_addr.s6_addr[15], 7);
	assert_int_equal(ntohs(s6->sin6_port), 99);
	/* source port 0: refused, in both families */
	a[33] = 0;
	n = v2(b, 0x21, 0x21, a, sizeof(a));
	assert_int_equal(feed(b, n, &p), -EINVAL);
	n = v2(b, 0x21, 0x11,
	    (const uint8_t[12]){ 198, 51, 100, 7, 192, 0, 2, 1, 0, 0, 0, 21 },
	    12);
	assert_int_equal(feed(b, n, &p), -EINVAL);
	a[33] = 99;
	/* LOCAL: a health check; whatever follows is ignored */
	n = v2(b, 0x20, 0x11, a, 12);
	assert_int_equal(feed(b, n, &p), (ssize_t)n);
	assert_true(p.local);
	assert_int_equal(p.src.ss_family, AF_UNSPEC);
	n = v2(b, 0x20, 0x00, a, 0);
	assert_int_equal(feed(b, n, &p), 16);
	assert_true(p.local);
	/* PROXY with family UNSPEC: the connection's addresses */
	n = v2(b, 0x21, 0x00, a, 0);
	assert_int_equal(feed(b, n, &p), 16);
	assert_false(p.local);
	assert_int_equal(p.src.ss_family, AF_UNSPEC);
}

static void
test_v2_hostile(void **state)
{
	uint8_t a[600] = { 0 };
	uint8_t b[700];
	struct proxy_hdr p;
	size_t n, need;

	/* version 1 and 3, command 2 */
	n = v2(b, 0x11, 0x11, a, 12);
	assert_int_equal(feed(b, n, &p), -EINVAL);
	n = v2(b, 0x31, 0x11, a, 12);
	assert_int_equal(feed(b, n, &p), -EINVAL);
	n = v2(b, 0x22, 0x11, a, 12);
	assert_int_equal(feed(b, n, &p), -EINVAL);
	/* too short for its family */
	n = v2(b, 0x21, 0x11, a, 11);
	assert_int_equal(feed(b, n, &p), -EINVAL);
	n = v2(b, 0x21, 0x21, a, 35);
	assert_int_equal(feed(b, n, &p), -EINVAL);
	/* UDP, UNIX, unknown family or protocol */
	n = v2(b, 0x21, 0x12, a, 12);
	assert_int_equal(feed(b, n, &p), -EINVAL);
	n = v2(b, 0x21, 0x31, a, 216);
	assert_int_equal(feed(b, n, &p), -EINVAL);
	n = v2(b, 0x21, 0x41, a, 36);
	assert_int_equal(feed(b, n, &p), -EINVAL);
	n = v2(b, 0x21, 0x13, a, 12);
	assert_int_equal(feed(b, n, &p), -EINVAL);
	/* longer than the bound: refused at the length, before reading it */
	a[9] = 1; /* source port 1: the largest header is otherwise valid */
	n = v2(b, 0x21, 0x11, a, KF_PROXY_HDR_MAX - 16 + 1);
	assert_int_equal(parse(b, 16, &p, &need), -EINVAL);
	n = v2(b, 0x21, 0x11, a, KF_PROXY_HDR_MAX - 16);
	assert_int_equal(feed(b, n, &p), KF_PROXY_HDR_MAX);
	b[14] = 0xff;
	b[15] = 0xff;
	assert_int_equal(parse(b, 16, &p, &need), -EINVAL);
	/* a damaged signature, at any byte */
	n = v2(b, 0x21, 0x11, a, 12);
	b[7] = 'q';
	assert_int_equal(parse(b, 8, &p, &need), -EINVAL);
	assert_int_equal(parse(b, 7, &p, &need), 0);
}

/* A socketpair holding what the peer sent: sv[0] reads it. */
static void
pair_with(int sv[2], const void *b, size_t n, int close_peer)
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
	    0);
	assert_int_equal(write(sv[1], b, n), (ssize_t)n);
	if (close_peer) {
		close(sv[1]);
		sv[1] = -1;
	}
}

static void
unpair(int sv[2])
{
	close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
}

/* The header is read, the session's bytes after it stay in the socket. */
static void
test_read_leaves_session_bytes(void **state)
{
	static const char h[] =
	    "PROXY TCP4 198.51.100.7 192.0.2.1 40000 21\r\nabc";
	uint8_t v2h[16 + 12 + 3];
	struct proxy_hdr p;
	char rest[8];
	size_t have;
	int sv[2];

	pair_with(sv, h, sizeof(h) - 1, 1);
	assert_int_equal(proxy_read(sv[0], sys_now_ms() + 1000, NULL, &p,
			     &have),
	    0);
	assert_int_equal(have, sizeof(h) - 1 - 3);
	assert_int_equal(read(sv[0], rest, sizeof(rest)), 3);
	assert_memory_equal(rest, "abc", 3);
	unpair(sv);

	memcpy(v2h, sig, 12);
	memcpy(v2h + 12, "\x21\x11\x00\x0c", 4);
	memcpy(v2h + 16, "\xc6\x33\x64\x07\xc0\x00\x02\x01\x9c\x40\x00\x15",
	    12);
	memcpy(v2h + 28, "xyz", 3);
	pair_with(sv, v2h, sizeof(v2h), 0);
	assert_int_equal(proxy_read(sv[0], sys_now_ms() + 1000, NULL, &p,
			     &have),
	    0);
	assert_int_equal(have, 28);
	assert_int_equal(p.version, 2);
	assert_int_equal(p.src.ss_family, AF_INET);
	assert_int_equal(read(sv[0], rest, sizeof(rest)), 3);
	unpair(sv);
}

/* Garbage, a close, silence, a stop flag: each its own error. */
static void
test_read_errors(void **state)
{
	static const char part[] = "PROXY TCP4 198.51";
	volatile sig_atomic_t stop = 1;
	struct proxy_hdr p;
	int64_t t0;
	size_t have;
	int sv[2];

	pair_with(sv, "GET / HTTP/1.0\r\n", 16, 0);
	assert_int_equal(proxy_read(sv[0], sys_now_ms() + 1000, NULL, &p,
			     &have),
	    -EINVAL);
	unpair(sv);

	pair_with(sv, part, sizeof(part) - 1, 1);
	assert_int_equal(proxy_read(sv[0], sys_now_ms() + 1000, NULL, &p,
			     &have),
	    -ECONNRESET);
	assert_int_equal(have, sizeof(part) - 1);
	unpair(sv);

	pair_with(sv, part, sizeof(part) - 1, 0);
	t0 = sys_now_ms();
	assert_int_equal(proxy_read(sv[0], t0 + 200, NULL, &p, &have),
	    -ETIMEDOUT);
	assert_true(sys_now_ms() - t0 >= 200);
	assert_int_equal(have, sizeof(part) - 1);
	assert_int_equal(proxy_read(sv[0], sys_now_ms() + 1000, &stop, &p,
			     &have),
	    -EINTR);
	unpair(sv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_tcp4),
		cmocka_unit_test(test_v1_tcp6_unknown),
		cmocka_unit_test(test_v1_hostile),
		cmocka_unit_test(test_v1_bounds),
		cmocka_unit_test(test_v2_inet),
		cmocka_unit_test(test_v2_inet6_local),
		cmocka_unit_test(test_v2_hostile),
		cmocka_unit_test(test_read_leaves_session_bytes),
		cmocka_unit_test(test_read_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
