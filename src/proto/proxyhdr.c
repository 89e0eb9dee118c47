/*
 * proxyhdr.c - the pre-login worker's first job on a `proxy` listener:
 * read the PROXY protocol header, exactly its bytes (net/proxyread.c;
 * nothing of the session is consumed), within
 * KF_PROXY_HDR_MS of the connect and KF_PROXY_HDR_MAX bytes, and hand
 * the parsed addresses to the monitor (MON_PROXY), which has the
 * listener admit the client address. No reply is written here: a
 * connection without a valid header gets no FTP at all.
 * Runs in: pre-login worker (service user, empty root, seccomp).
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "../common/log.h"
#include "../common/sys.h"
#include "../ipc/ipc.h"
#include "../ipc/proto.h"
#include "../net/proxyread.h"
#include "session.h"

/* The header, within KF_PROXY_HDR_MS of the connect; 0, or -1 logged. */
static int
read_header(const struct session_info *si, struct proxy_hdr *h)
{
	size_t have;
	int r;

	r = proxy_read(si->ctrl_fd, si->start_ms + KF_PROXY_HDR_MS,
	    &session_stop, h, &have);
	if (r == -ETIMEDOUT)
		log_warn("PROXY header: not complete after %d ms "
			 "(%zu byte(s)); closed",
		    KF_PROXY_HDR_MS, have);
	else if (r == -ECONNRESET)
		log_info("PROXY header: connection closed after %zu byte(s)",
		    have);
	else if (r == -EINVAL)
		log_warn("PROXY header: invalid (%zu byte(s) read); closed",
		    have);
	return r < 0 ? -1 : 0;
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
