/*
 * proxyread.c - a PROXY protocol header read off a socket (see
 * proxyread.h): the parser says how many bytes it needs, and no more
 * are read, so what follows the header stays in the socket for the
 * session (FTP commands, a TLS handshake, or upload data).
 * Runs in: pre-login worker, post-login worker.
 */
#include <errno.h>
#include <poll.h>

#include "../common/limits.h"
#include "../common/sys.h"
#include "proxyread.h"

int
proxy_read(int fd, int64_t deadline_ms, const volatile sig_atomic_t *stop,
    struct proxy_hdr *h, size_t *have)
{
	uint8_t buf[KF_PROXY_HDR_MAX];
	size_t need = 0;
	int64_t left;
	ssize_t r, n;

	*have = 0;
	while ((r = proxy_parse(buf, *have, sizeof(buf), h, &need)) == 0) {
		if (stop != NULL && *stop)
			return -EINTR;
		if ((left = deadline_ms - sys_now_ms()) <= 0)
			return -ETIMEDOUT;
		if (sys_poll1(fd, POLLIN, (int)left) <= 0)
			continue; /* a signal, or the time: checked above */
		n = sys_recv(fd, buf + *have, need - *have, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (n <= 0)
			return -ECONNRESET;
		*have += (size_t)n;
	}
	return r < 0 ? -EINVAL : 0;
}
