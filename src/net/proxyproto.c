/*
 * proxyproto.c - the PROXY protocol header, v1 and v2 (HAProxy's
 * proxy-protocol.txt), parsed from the bytes read so far. It tells its
 * caller how many bytes it needs next and never more than the header
 * holds, so a reader that follows it never consumes the first FTP
 * bytes of the session. No number parser of libc: digits by hand.
 *
 * v1: "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n" or "PROXY UNKNOWN...\r\n",
 * at most 107 bytes, single spaces, ports 0..65535 without leading
 * zeros; the source port 1..65535 in both versions (a TCP client never
 * connects from port 0, and it becomes the session's peer port). v2: the 12-byte signature, version 2 with command LOCAL (0) or
 * PROXY (1), family/protocol, a 16-bit length, then the addresses
 * (TCP over IPv4 or IPv6); TLVs inside the length are skipped. LOCAL,
 * UNKNOWN and the UNSPEC family mean: use the connection's addresses.
 * UNIX and datagram families are refused (no IP client to check).
 * Runs in: pre-login worker. Pure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "proxyproto.h"

static const uint8_t v2_sig[PROXY_V2_SIGLEN] = { '\r', '\n', '\r', '\n', 0,
	'\r', '\n', 'Q', 'U', 'I', 'T', '\n' };
static const char v1_prefix[] = "PROXY ";

/* A numeric address of family af in [p, p + n); 0 or -EINVAL. */
static int
v1_addr(const char *p, size_t n, int af, struct sockaddr_storage *ss)
{
	char text[INET6_ADDRSTRLEN];
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	void *a = af == AF_INET ? (void *)&sin->sin_addr :
				  (void *)&sin6->sin6_addr;

	if (n == 0 || n >= sizeof(text))
		return -EINVAL;
	memcpy(text, p, n);
	text[n] = '\0';
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = (sa_family_t)af;
	return inet_pton(af, text, a) == 1 ? 0 : -EINVAL;
}

/* 0..65535, decimal, no sign, no leading zero; 0 or -EINVAL. */
static int
v1_port(const char *p, size_t n, uint16_t *port)
{
	uint32_t v = 0;
	size_t i;

	if (n == 0 || n > 5 || (n > 1 && p[0] == '0'))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint32_t)(p[i] - '0');
	}
	if (v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

static void
set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

/* The next field of a v1 line: up to a space or the end. */
static size_t
field(const char *p, const char *end)
{
	const char *q = p;

	while (q < end && *q != ' ')
		q++;
	return (size_t)(q - p);
}

/* "SRC DST SPORT DPORT" of TCP4/TCP6, exactly. */
static int
v1_tcp(const char *p, const char *end, int af, struct proxy_hdr *out)
{
	const char *f[4];
	size_t len[4], i;
	uint16_t sport, dport;

	for (i = 0; i < 4; i++) {
		if (i > 0) {
			if (p >= end || *p != ' ')
				return -EINVAL;
			p++;
		}
		f[i] = p;
		len[i] = field(p, end);
		p += len[i];
	}
	if (p != end || v1_addr(f[0], len[0], af, &out->src) < 0 ||
	    v1_addr(f[1], len[1], af, &out->dst) < 0 ||
	    v1_port(f[2], len[2], &sport) < 0 ||
	    v1_port(f[3], len[3], &dport) < 0 || sport == 0)
		return -EINVAL;
	set_port(&out->src, sport);
	set_port(&out->dst, dport);
	return 0;
}

/* The line without its CRLF. */
static int
v1_line(const char *p, size_t n, struct proxy_hdr *out)
{
	const char *end = p + n;
	size_t k;

	p += sizeof(v1_prefix) - 1;
	k = field(p, end);
	if (k == 7 && memcmp(p, "UNKNOWN", 7) == 0)
		return 0; /* the rest is ignored, as the spec says */
	if (k != 4 || memcmp(p, "TCP", 3) != 0 || (p[3] != '4' && p[3] != '6'))
		return -EINVAL;
	if (p + k >= end || p[k] != ' ')
		return -EINVAL;
	return v1_tcp(p + k + 1, end, p[3] == '4' ? AF_INET : AF_INET6, out);
}

static ssize_t
parse_v1(const uint8_t *buf, size_t n, size_t max, struct proxy_hdr *out,
    size_t *need)
{
	size_t bound = max < PROXY_V1_MAX ? max : PROXY_V1_MAX;
	size_t pre = sizeof(v1_prefix) - 1, i;

	out->version = 1;
	if (memcmp(buf, v1_prefix, n < pre ? n : pre) != 0)
		return -EINVAL;
	for (i = 0; i < n && i < bound; i++) {
		if (buf[i] == '\r') {
			if (i + 2 > bound)
				return -EINVAL; /* its LF would be past the bound */
			if (i + 1 == n)
				break; /* its LF may come next */
			if (buf[i + 1] != '\n' || i < pre)
				return -EINVAL;
			if (v1_line((const char *)buf, i, out) < 0)
				return -EINVAL;
			return (ssize_t)(i + 2);
		}
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			return -EINVAL;
	}
	if (n >= bound)
		return -EINVAL;
	*need = n + 1; /* one byte at a time: the CRLF ends it */
	return 0;
}

/* v2 addresses of a PROXY command: family and protocol in fam. */
static int
v2_addrs(const uint8_t *a, size_t len, uint8_t fam, struct proxy_hdr *out)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&out->src;
	struct sockaddr_in *d4 = (struct sockaddr_in *)&out->dst;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->src;
	struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)&out->dst;
	unsigned af = fam >> 4, proto = fam & 0x0f;

	if (proto > 2)
		return -EINVAL;
	if (af == 0)
		return 0; /* UNSPEC: the connection's addresses */
	if (proto != 1)
		return -EINVAL; /* TCP only */
	if (af == 1 && len >= 12) {
		s4->sin_family = d4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a, 4);
		memcpy(&d4->sin_addr, a + 4, 4);
		memcpy(&s4->sin_port, a + 8, 2);
		memcpy(&d4->sin_port, a + 10, 2);
		return s4->sin_port != 0 ? 0 : -EINVAL;
	}
	if (af == 2 && len >= 36) {
		s6->sin6_family = d6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a, 16);
		memcpy(&d6->sin6_addr, a + 16, 16);
		memcpy(&s6->sin6_port, a + 32, 2);
		memcpy(&d6->sin6_port, a + 34, 2);
		return s6->sin6_port != 0 ? 0 : -EINVAL;
	}
	return -EINVAL; /* UNIX, unknown, or too short for its family */
}

static ssize_t
parse_v2(const uint8_t *buf, size_t n, size_t max, struct proxy_hdr *out,
    size_t *need)
{
	size_t total;

	out->version = 2;
	if (memcmp(buf, v2_sig, n < PROXY_V2_SIGLEN ? n : PROXY_V2_SIGLEN) != 0)
		return -EINVAL;
	if (n < PROXY_V2_FIXED) {
		*need = PROXY_V2_FIXED;
		return 0;
	}
	if ((buf[12] >> 4) != 2 || (buf[12] & 0x0f) > 1)
		return -EINVAL;
	total = PROXY_V2_FIXED + ((size_t)buf[14] << 8 | buf[15]);
	if (total > max)
		return -EINVAL;
	if (n < total) {
		*need = total;
		return 0;
	}
	out->local = (buf[12] & 0x0f) == 0;
	if (!out->local &&
	    v2_addrs(buf + PROXY_V2_FIXED, total - PROXY_V2_FIXED, buf[13],
		out) < 0)
		return -EINVAL;
	return (ssize_t)total;
}

ssize_t
proxy_parse(const uint8_t *buf, size_t n, size_t max, struct proxy_hdr *out,
    size_t *need)
{
	ssize_t r;

	memset(out, 0, sizeof(*out));
	*need = 0;
	if (n == 0) {
		*need = 1;
		return 0;
	}
	if (buf[0] == 'P')
		r = parse_v1(buf, n, max, out, need);
	else if (buf[0] == '\r')
		r = parse_v2(buf, n, max, out, need);
	else
		r = -EINVAL;
	if (r <= 0) {
		out->src.ss_family = out->dst.ss_family = AF_UNSPEC;
		out->local = 0;
	}
	return r;
}
