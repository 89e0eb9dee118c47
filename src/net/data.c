/*
 * data.c - opening data connections.
 * Runs in: post-login worker.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sodium.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/limits.h"
#include "../common/log.h"
#include "../common/sys.h"
#include "addr.h"
#include "data.h"
#include "proxyread.h"

#define PASV_BIND_TRIES 64

void
data_init(struct data *d)
{
	memset(d, 0, sizeof(*d));
	d->listen_fd = -1;
}

void
data_reset(struct data *d)
{
	sys_close(&d->listen_fd);
	d->have_port = 0;
}

void
data_via_proxy(struct data *d, const char *proxy_from)
{
	d->proxy_from = proxy_from;
}

int
data_pending(const struct data *d)
{
	return d->listen_fd >= 0 || d->have_port;
}

/*
 * A listener on the control connection's local address, on a random
 * port in [minport, maxport]. One pending listener at a time: a new
 * PASV replaces the old one.
 */
int
data_listen(struct data *d, const struct sockaddr_storage *local,
    unsigned minport, unsigned maxport, uint16_t *port)
{
	struct sockaddr_storage a = *local;
	unsigned span = maxport - minport + 1, start, i, tries;
	int fd, one = 1, err;

	data_reset(d);
	start = randombytes_uniform(span);
	tries = span < PASV_BIND_TRIES ? span : PASV_BIND_TRIES;
	for (i = 0; i < tries; i++) {
		fd = socket(local->ss_family,
		    SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			return -1;
		/*
		 * The server closes data connections first, so their ports
		 * sit in TIME_WAIT: without SO_REUSEADDR each passive port
		 * would serve one transfer a minute. Two listeners on one
		 * port are still refused (no SO_REUSEPORT).
		 */
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		*port = (uint16_t)(minport + (start + i) % span);
		addr_set_port(&a, *port);
		if (bind(fd, (struct sockaddr *)&a, addr_len(&a)) == 0 &&
		    listen(fd, 1) == 0) {
			d->listen_fd = fd;
			return 0;
		}
		err = errno;
		close(fd);
		if (err != EADDRINUSE)
			break;
	}
	return -1;
}

/*
 * Only to the control peer's own address (any address with fxp), only
 * to a port >= 1024.
 */
int
data_set_port(struct data *d, const struct sockaddr_storage *target,
    const struct sockaddr_storage *peer)
{
	if ((!d->fxp && !addr_same_host(target, peer)) ||
	    addr_port(target) < 1024)
		return -EPERM;
	data_reset(d);
	d->port_addr = *target;
	d->have_port = 1;
	return 0;
}

/* The refusal of a connection through the balancer, logged. */
static int
refuse_proxied(const char *via, const char *why, size_t have)
{
	log_warn("data connection via proxy %-s refused: %-s (%zu byte(s) "
		 "of PROXY header read)",
	    via, why, have);
	return 0;
}

/*
 * pasv_proxy: a connection from a balancer (proxy_from) whose PROXY
 * header, read within KF_DATA_PROXY_HDR_MS and before any data byte,
 * names the control peer. 1: it is the client's, its header consumed;
 * 0: refused, logged.
 */
static int
proxied_peer(const struct data *d, int fd, const struct sockaddr_storage *from,
    const struct sockaddr_storage *peer, int64_t deadline)
{
	int64_t until = sys_now_ms() + KF_DATA_PROXY_HDR_MS;
	char via[ADDR_STR_MAX], who[ADDR_STR_MAX];
	struct proxy_hdr h;
	size_t have = 0;
	int r;

	addr_to_str(from, via, sizeof(via));
	if (addr_list_match(d->proxy_from, from) != 1) {
		log_warn("data connection from %-s refused: not in proxy_from "
			 "(pasv_proxy)",
		    via);
		return 0;
	}
	r = proxy_read(fd, until < deadline ? until : deadline, NULL, &h,
	    &have);
	if (r == -ETIMEDOUT)
		return refuse_proxied(via, "PROXY header not complete", have);
	if (r < 0)
		return refuse_proxied(via,
		    r == -EINVAL ? "invalid PROXY header" :
				   "closed before its PROXY header",
		    have);
	if (h.local || h.src.ss_family == AF_UNSPEC)
		return refuse_proxied(via, "PROXY header without a client",
		    have);
	if (addr_same_host(&h.src, peer))
		return 1;
	addr_to_str(&h.src, who, sizeof(who));
	if (d->fxp) {
		log_info("data connection from another address %-s (via proxy "
			 "%-s) accepted (fxp)",
		    who, via);
		return 1;
	}
	log_warn("data connection from foreign address %-s (via proxy %-s) "
		 "refused",
	    who, via);
	return 0;
}

/* The connection from is the client's: by its address, or its header. */
static int
is_peer(const struct data *d, int fd, const struct sockaddr_storage *from,
    const struct sockaddr_storage *peer, int64_t deadline)
{
	char who[ADDR_STR_MAX];

	if (d->proxy_from != NULL)
		return proxied_peer(d, fd, from, peer, deadline);
	if (addr_same_host(from, peer))
		return 1;
	addr_to_str(from, who, sizeof(who));
	if (d->fxp) {
		log_info("data connection from another address %-s accepted "
			 "(fxp)",
		    who);
		return 1;
	}
	log_warn("data connection from foreign address %-s refused", who);
	return 0;
}

static int
accept_peer(struct data *d, const struct sockaddr_storage *peer, int timeout_ms)
{
	int64_t deadline = sys_now_ms() + timeout_ms;
	struct sockaddr_storage from;
	socklen_t len;
	int fd, left;

	while ((left = (int)(deadline - sys_now_ms())) > 0) {
		if (sys_poll1(d->listen_fd, POLLIN, left) <= 0)
			continue;
		len = sizeof(from);
		fd = accept4(d->listen_fd, (struct sockaddr *)&from, &len,
		    SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			continue;
		if (is_peer(d, fd, &from, peer, deadline))
			return fd;
		close(fd);
	}
	return -1;
}

static int
connect_peer(struct data *d, const struct sockaddr_storage *local,
    int timeout_ms)
{
	struct sockaddr_storage src = *local;
	int fd, err = 0;
	socklen_t len = sizeof(err);

	fd = socket(d->port_addr.ss_family,
	    SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	addr_set_port(&src, 0);
	if (src.ss_family == d->port_addr.ss_family)
		(void)bind(fd, (struct sockaddr *)&src, addr_len(&src));
	if (connect(fd, (struct sockaddr *)&d->port_addr,
		addr_len(&d->port_addr)) < 0 &&
	    errno != EINPROGRESS)
		goto fail;
	if (sys_poll1(fd, POLLOUT, timeout_ms) <= 0)
		goto fail;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

/* The data connection as a non-blocking fd, or -1. Consumes the setup. */
int
data_open(struct data *d, const struct sockaddr_storage *local,
    const struct sockaddr_storage *peer, int timeout_ms)
{
	int fd = -1;

	if (d->listen_fd >= 0)
		fd = accept_peer(d, peer, timeout_ms);
	else if (d->have_port)
		fd = connect_peer(d, local, timeout_ms);
	data_reset(d);
	return fd;
}
