/*
 * data.h - data connections (DESIGN.md "Data connections"): a passive
 * listener accepts only the control peer's address; an active
 * connection goes only to the control peer, port >= 1024.
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
};

void data_init(struct data *);
void data_reset(struct data *);
int data_pending(const struct data *);
int data_listen(struct data *, const struct sockaddr_storage *local,
    unsigned minport, unsigned maxport, uint16_t *port);
int data_set_port(struct data *, const struct sockaddr_storage *target,
    const struct sockaddr_storage *peer);
int data_open(struct data *, const struct sockaddr_storage *local,
    const struct sockaddr_storage *peer, int timeout_ms);

#endif
