/*
 * addr.c - socket address helpers: comparison, text, address lists.
 * (The PORT and EPRT argument parsers are in proto/args.c.)
 * Runs in: workers and listener. Pure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "../common/cursor.h"
#include "addr.h"

/* IPv4, or IPv4-mapped IPv6: 0 and the four bytes; otherwise -1. */
int
addr_ipv4(const struct sockaddr_storage *ss, uint8_t out[4])
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		return 0;
	}
	if (ss->ss_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		memcpy(out, sin6->sin6_addr.s6_addr + 12, 4);
		return 0;
	}
	return -1;
}

int
addr_same_host(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b)
{
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a;
	const struct sockaddr_in6 *b6 = (const struct sockaddr_in6 *)b;
	uint8_t x[4], y[4];

	if (addr_ipv4(a, x) == 0 || addr_ipv4(b, y) == 0)
		return addr_ipv4(a, x) == 0 && addr_ipv4(b, y) == 0 &&
		    memcmp(x, y, 4) == 0;
	return a->ss_family == AF_INET6 && b->ss_family == AF_INET6 &&
	    memcmp(&a6->sin6_addr, &b6->sin6_addr, 16) == 0;
}

uint16_t
addr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

void
addr_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

socklen_t
addr_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
					  sizeof(struct sockaddr_in6);
}

/* EPRT/EPSV protocol number: 1 for IPv4, 2 for IPv6. */
int
addr_family_proto(const struct sockaddr_storage *ss)
{
	uint8_t v4[4];

	return addr_ipv4(ss, v4) == 0 ? 1 : 2;
}

void
addr_to_str(const struct sockaddr_storage *ss, char *out, size_t n)
{
	const void *a;
	uint8_t v4[4];

	if (addr_ipv4(ss, v4) == 0) {
		snprintf(out, n, "%u.%u.%u.%u", v4[0], v4[1], v4[2], v4[3]);
		return;
	}
	a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	if (ss->ss_family != AF_INET6 ||
	    inet_ntop(AF_INET6, a, out, (socklen_t)n) == NULL)
		snprintf(out, n, "?");
}

/*
 * Address lists (allow_from, deny_from): "a.b.c.d[/n], v6addr[/n], ...",
 * blanks around items ignored, at most ADDR_LIST_MAX items. An IPv4
 * peer seen through an IPv6 socket (::ffff:a.b.c.d) is matched as IPv4.
 */
struct cidr {
	int v6;
	uint8_t a[16];
	unsigned bits;
};

/*
 * ::ffff:a.b.c.d[/96..128] is the IPv4 prefix it maps: IPv4 clients
 * arrive as AF_INET (IPV6_V6ONLY listeners), so a v6 entry would never
 * match them and a deny list would fail open.
 */
static void
v4mapped_to_v4(struct cidr *c)
{
	struct in6_addr a;

	memcpy(&a, c->a, sizeof(a));
	if (!c->v6 || c->bits < 96 || !IN6_IS_ADDR_V4MAPPED(&a))
		return;
	memmove(c->a, c->a + 12, 4);
	memset(c->a + 4, 0, 12);
	c->v6 = 0;
	c->bits -= 96;
}

static int
cidr_parse(const char *s, size_t n, struct cidr *c)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	struct cursor cur;
	uint64_t bits;
	size_t alen;

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	slash = strchr(buf, '/');
	alen = slash != NULL ? (size_t)(slash - buf) : n;
	buf[alen] = '\0';
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, buf, c->a) == 1)
		c->bits = 32;
	else if (inet_pton(AF_INET6, buf, c->a) == 1) {
		c->v6 = 1;
		c->bits = 128;
	} else
		return -EINVAL;
	if (slash != NULL) {
		cursor_init(&cur, slash + 1, n - alen - 1);
		if (cursor_left(&cur) == 0 ||
		    cursor_u64(&cur, c->bits, &bits) < 0 || !cursor_eof(&cur))
			return -EINVAL;
		c->bits = (unsigned)bits;
	}
	v4mapped_to_v4(c);
	return 0;
}

static int
cidr_match(const struct cidr *c, const struct sockaddr_storage *ss)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
	uint8_t p[16], mask;
	unsigned full = c->bits / 8, rest = c->bits % 8;

	if (!c->v6) {
		if (addr_ipv4(ss, p) < 0)
			return 0;
	} else if (ss->ss_family == AF_INET6)
		memcpy(p, &s6->sin6_addr, 16);
	else
		return 0;
	if (memcmp(p, c->a, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (uint8_t)(0xff << (8 - rest));
	return (p[full] & mask) == (c->a[full] & mask);
}

/* Checks every item; with ss, 1 as soon as one matches it. */
static int
list_walk(const char *list, const struct sockaddr_storage *ss)
{
	const char *p = list, *end;
	size_t n, count = 0;
	struct cidr c;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		end = strchr(p, ',');
		n = end != NULL ? (size_t)(end - p) : strlen(p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (++count > ADDR_LIST_MAX || cidr_parse(p, n, &c) < 0)
			return -EINVAL;
		if (ss != NULL && cidr_match(&c, ss))
			return 1;
		if (end == NULL)
			break;
		p = end + 1;
	}
	return 0;
}

int
addr_list_check(const char *list)
{
	return list_walk(list, NULL) < 0 ? -EINVAL : 0;
}

int
addr_list_match(const char *list, const struct sockaddr_storage *ss)
{
	return list_walk(list, ss);
}

int
addr_cidr_v4(const char *text, uint8_t net[4], unsigned *bits)
{
	struct cidr c;
	unsigned i;

	if (cidr_parse(text, strlen(text), &c) < 0 || c.v6)
		return -EINVAL;
	for (i = c.bits; i < 32; i++)
		c.a[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
	memcpy(net, c.a, 4);
	*bits = c.bits;
	return 0;
}

int
addr_in_v4net(const struct sockaddr_storage *ss, const uint8_t net[4],
    unsigned bits)
{
	struct cidr c;

	if (bits > 32)
		return 0;
	memset(&c, 0, sizeof(c));
	memcpy(c.a, net, 4);
	c.bits = bits;
	return cidr_match(&c, ss);
}
