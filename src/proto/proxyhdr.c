/*
 * proxyhdr.c - the pre-login worker's first job on a `proxy` listener:
 * read the PROXY protocol header, exactly its bytes (the parser says
 * how many it needs; nothing of the session is consumed), within
 * KF_PROXY_HDR_MS of the connect and KF_PROXY_HDR_MAX bytes, and hand
 * the parsed addresses to the monitor (MON_PROXY), which has the
 * listener admit the client address. No reply is written here: a
 * connection without a valid header gets no FTP at all.
 * Runs in: pre-login worker (service user, empty root, seccomp).
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "../common/log.h"
#include "../common/sys.h"
#include "../ipc/ipc.h"
#include "../ipc/proto.h"
#include "../net/proxyproto.h"
#include "session.h"

/* Reads until the parser has a whole header; 0, or -1 logged. */
static int
read_header(const struct session_info *si, struct proxy_hdr *h)
{
	int64_t end = si->start_ms + KF_PROXY_HDR_MS, left;
	uint8_t buf[KF_PROXY_HDR_MAX];
	size_t have = 0, need = 0;
	ssize_t r, n;

	while ((r = proxy_parse(buf, have, sizeof(buf), h, &need)) == 0) {
		if (session_stop)
			return -1;
		if ((left = end - sys_now_ms()) <= 0) {
			log_warn("PROXY header: not complete after %d ms "
				 "(%zu byte(s)); closed",
			    KF_PROXY_HDR_MS, have);
			return -1;
		}
		if (sys_poll1(si->ctrl_fd, POLLIN, (int)left) <= 0)
			continue; /* a signal, or the time: checked above */
		n = sys_recv(si->ctrl_fd, buf + have, need - have, 0);
		if (n <= 0) {
			log_info("PROXY header: connection closed after %zu "
				 "byte(s)",
			    have);
			return -1;
		}
		have += (size_t)n;
	}
	if (r < 0) {
		log_warn("PROXY header: invalid (%zu byte(s) read); closed",
		    have);
		return -1;
	}
	return 0;
}

static int
put_addr(struct ipc_msg *m, const struct proxy_hdr *h)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)&h->src;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&h->src;
	int v4 = h->src.ss_family == AF_INET;

	if (h->src.ss_family == AF_UNSPEC)
		return ipc_put_u32(m, 1) < 0 || ipc_put_u32(m, 0) < 0 ||
			ipc_put_blob(m, "", 0, 16) < 0 ||
			ipc_put_u32(m, 0) < 0 ?
		    -1 :
		    0;
	if (ipc_put_u32(m, 0) < 0 || ipc_put_u32(m, v4 ? 4 : 6) < 0)
		return -1;
	if (v4)
		return ipc_put_blob(m, &s4->sin_addr, 4, 16) < 0 ||
			ipc_put_u32(m, ntohs(s4->sin_port)) < 0 ?
		    -1 :
		    0;
	return ipc_put_blob(m, &s6->sin6_addr, 16, 16) < 0 ||
		ipc_put_u32(m, ntohs(s6->sin6_port)) < 0 ?
	    -1 :
	    0;
}

int
proxy_header_read(const struct session_info *si)
{
	struct proxy_hdr h;
	struct ipc_msg m;
	uint32_t ok;

	if (read_header(si, &h) < 0)
		return -1;
	ipc_init(&m, MON_PROXY);
	if (put_addr(&m, &h) < 0 || ipc_send(si->mon_fd, &m) < 0 ||
	    ipc_recv(si->mon_fd, &m) < 0 || m.type != MON_PROXY_RESULT ||
	    ipc_get_u32(&m, &ok) < 0 || ipc_end(&m) < 0 || ok != 1)
		return -1;
	return 0;
}
