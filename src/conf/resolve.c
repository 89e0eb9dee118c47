/*
 * resolve.c - the address PASV announces, as pasv_address and
 * pasv_address_map give it: an IPv4 literal, or a host name resolved
 * with getaddrinfo(3) while the configuration is loaded (start, SIGHUP,
 * `-t`), never per session. The parser child's sandbox allows what the
 * resolver needs (docs/SANDBOX.md). Never exits, never logs.
 * Runs in: the configuration parser child (and the command-line tools
 * that load a configuration in-process).
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "conf.h"

#define HOSTNAME_MAX 253 /* a DNS name, dots included */

/*
 * Letters, digits, '.', '-'; not starting with '.' or '-'; not only
 * digits and dots (getaddrinfo would read "1.2.3" as 1.2.0.3).
 */
static int
host_name_ok(const char *s)
{
	size_t i, n = strlen(s);
	char ch;

	if (strspn(s, "0123456789.") == n)
		return 0;
	if (n == 0 || n > HOSTNAME_MAX || s[0] == '.' || s[0] == '-')
		return 0;
	for (i = 0; i < n; i++) {
		ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			(ch >= '0' && ch <= '9') || ch == '.' || ch == '-'))
			return 0;
	}
	return 1;
}

/* The first address of family af the resolver gives name; 0 or EAI_*. */
static int
lookup(const char *name, int af, struct addrinfo **res)
{
	struct addrinfo hints;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = af;
	hints.ai_socktype = SOCK_STREAM; /* one answer per address */
	return getaddrinfo(name, NULL, &hints, res);
}

/* The resolver said the name has no (IPv4) address, not "try again". */
static int
no_address(int r)
{
#ifdef EAI_NODATA
	if (r == EAI_NODATA)
		return 1;
#endif
#ifdef EAI_ADDRFAMILY
	if (r == EAI_ADDRFAMILY)
		return 1;
#endif
	return r == EAI_NONAME;
}

/*
 * name has no IPv4 address: say whether it has IPv6 ones (asked only
 * when the resolver answered, so that a dead one is waited for once).
 */
static void
why_none(const char *name, int r, char *why, size_t whysz)
{
	struct addrinfo *res = NULL;

	if (no_address(r) && lookup(name, AF_INET6, &res) == 0) {
		freeaddrinfo(res);
		snprintf(why, whysz,
		    "has only IPv6 addresses; PASV can announce only IPv4 "
		    "(RFC 2428)");
		return;
	}
	snprintf(why, whysz, "does not resolve: %s", gai_strerror(r));
}

static int
resolve_name(const char *name, uint8_t ip[4], char *why, size_t whysz)
{
	const struct sockaddr_in *sin;
	struct addrinfo *res = NULL;
	int r;

	if ((r = lookup(name, AF_INET, &res)) != 0 || res == NULL ||
	    res->ai_family != AF_INET ||
	    res->ai_addrlen < (socklen_t)sizeof(*sin)) {
		if (res != NULL)
			freeaddrinfo(res);
		why_none(name, r != 0 ? r : EAI_NONAME, why, whysz);
		return -1;
	}
	sin = (const struct sockaddr_in *)(const void *)res->ai_addr;
	memcpy(ip, &sin->sin_addr, 4);
	freeaddrinfo(res);
	return 0;
}

int
conf_resolve_v4(const char *text, uint8_t ip[4], char *why, size_t whysz)
{
	struct in6_addr a6;

	if (inet_pton(AF_INET, text, ip) == 1)
		return 0;
	if (inet_pton(AF_INET6, text, &a6) == 1) {
		snprintf(why, whysz,
		    "is an IPv6 address; PASV can announce only IPv4 "
		    "(RFC 2428) and EPSV announces no address");
		return -1;
	}
	if (!host_name_ok(text)) {
		snprintf(why, whysz,
		    "is neither an IPv4 address nor a host name");
		return -1;
	}
	return resolve_name(text, ip, why, whysz);
}
