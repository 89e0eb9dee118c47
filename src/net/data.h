/*
 * data.h - data connections (DESIGN.md "Data connections"): a passive
 * listener accepts only the control peer's address; an active
 * connection goes only to the control peer, port >= 1024. Behind a
 * load balancer that forwards passive ports too (pasv_proxy), a passive
 * connection must come from a balancer and start with a PROXY header
 * naming the control peer. A user with the users-file flag fxp may use
 * other addresses both ways (never a port < 1024).
 * Runs in: post-login worker.
 */
#ifndef KF_DATA_H
#define KF_DATA_H

#include <stdint.h>
#include <sys/socket.h>

struct data {
	int listen_fd; /* pending PASV/EPSV */
	int have_port; /* PORT/EPRT target set */
	struct sockaddr_storage port_addr;
	const char *proxy_from; /* pasv_proxy: the balancers; NULL: direct */
	int fxp; /* the user's fxp flag: any address (kept by data_reset) */
};

void data_init(struct data *);
void data_reset(struct data *);
/*
 * pasv_proxy for this session: passive connections come from an address
 * in proxy_from (a conf list, kept by reference) with a PROXY header.
 */
void data_via_proxy(struct data *, const char *proxy_from);
int data_pending(const struct data *);
int data_listen(struct data *, const struct sockaddr_storage *local,
    unsigned minport, unsigned maxport, uint16_t *port);
int data_set_port(struct data *, const struct sockaddr_storage *target,
    const struct sockaddr_storage *peer);
int data_open(struct data *, const struct sockaddr_storage *local,
    const struct sockaddr_storage *peer, int timeout_ms);

#endif
