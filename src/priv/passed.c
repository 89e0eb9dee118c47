/*
 * passed.c - a passed listening socket takes the marks of the listen
 * lines that name its address (passed.h). Wider rather than narrower:
 * a wildcard on either side matches, because a socket unit's
 * ListenStream=21 is [::]:21 while the line may say 0.0.0.0:21, and a
 * proxy line served by a plain socket would take the balancer for the
 * client and its header for FTP; a plain line served by a proxy socket
 * only refuses (no header, or not from proxy_from).
 * Runs in: listener. Pure.
 */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "../net/addr.h"
#include "passed.h"

static int
wildcard(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET)
		return s4->sin_addr.s_addr == htonl(INADDR_ANY);
	if (ss->ss_family == AF_INET6)
		return memcmp(&s6->sin6_addr, &in6addr_any,
			   sizeof(in6addr_any)) == 0;
	return 0;
}

static int
names(const struct sockaddr_storage *line, const struct sockaddr_storage *at)
{
	if (addr_port(line) != addr_port(at))
		return 0;
	return wildcard(line) || wildcard(at) || addr_same_host(line, at);
}

int
passed_marks(struct conf_listen *l, const struct conf_listen *lines, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!names(&lines[i].addr, &l->addr))
			continue;
		l->implicit |= lines[i].implicit;
		l->proxy |= lines[i].proxy;
	}
	return l->implicit && l->proxy ? -1 : 0;
}
