/*
 * ipc.h - framed, typed messages between a worker and its monitor over
 * a SOCK_SEQPACKET socketpair. Frame: u32 type, u32 payload length,
 * payload. The receiver checks the length against the datagram before
 * reading, every getter is bounded, and ipc_end() demands the payload
 * was consumed exactly.
 * Runs in: monitor and workers.
 */
#ifndef KF_IPC_H
#define KF_IPC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../common/limits.h"

#define IPC_HDR_LEN 8

struct ipc_msg {
	uint32_t type;
	size_t len; /* payload bytes */
	size_t off; /* read cursor */
	unsigned char data[KF_IPC_MSG_MAX - IPC_HDR_LEN];
};

void ipc_init(struct ipc_msg *, uint32_t type);
int ipc_put_u32(struct ipc_msg *, uint32_t);
int ipc_put_bytes(struct ipc_msg *, const void *, size_t);
int ipc_put_str(struct ipc_msg *, const char *, size_t max);
int ipc_get_u32(struct ipc_msg *, uint32_t *);
int ipc_get_str(struct ipc_msg *, char *out, size_t outsz);
/* u32 length, then that many opaque bytes (at most max). */
int ipc_put_blob(struct ipc_msg *, const void *, size_t n, size_t max);
int ipc_get_blob(struct ipc_msg *, void *out, size_t max, size_t *n);
int ipc_end(const struct ipc_msg *);
int ipc_decode(struct ipc_msg *, const void *frame, size_t n);
int ipc_send(int fd, const struct ipc_msg *);
int ipc_recv(int fd, struct ipc_msg *);
/*
 * A frame of type with a raw payload of n bytes (at most
 * KF_SPAWN_MSG_MAX with the header) and nfds descriptors (at most
 * KF_IPC_FDS_MAX). The receiver demands exactly type, n and nfds, and
 * the sender's credentials when cr is not NULL (SO_PASSCRED). With
 * got, 1..nfds descriptors are accepted and *got tells how many.
 */
int ipc_send_fds(int fd, uint32_t type, const void *, size_t n, const int *fds,
    size_t nfds);
/* ipc_send_fds() with up to KF_UPGRADE_FDS_MAX descriptors (the upgrade). */
int ipc_send_many_fds(int fd, uint32_t type, const void *, size_t n,
    const int *fds, size_t nfds);
int ipc_recv_fds(int fd, uint32_t type, void *, size_t n, int *fds, size_t nfds,
    size_t *got, struct ucred *cr);

#endif
