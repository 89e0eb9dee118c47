/*
 * xfer.h - the transfer loops: sendfile for downloads, large reads and
 * writes for uploads; both watch the control connection for ABOR and
 * the stop flag for SIGTERM, with a stall timeout.
 * Runs in: post-login worker.
 */
#ifndef KF_XFER_H
#define KF_XFER_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "../proto/ctrl.h"

enum xfer_status {
	XFER_OK,
	XFER_ABORTED,		/* ABOR from the client */
	XFER_STOPPED,		/* server shutting down */
	XFER_CTRL_GONE,		/* control connection closed */
	XFER_DATA_ERROR,	/* data connection failed or closed early */
	XFER_TIMEOUT,		/* no progress for data_timeout */
	XFER_DISK_FULL,		/* ENOSPC: 452 */
	XFER_QUOTA,		/* EDQUOT, EFBIG: 552 */
	XFER_IO_ERROR,		/* any other local error: 451 */
	XFER_TRUNCATED,		/* TLS upload ended without close_notify */
};

struct xfer {
	struct ctrl			*ctrl;
	int				 datafd;	/* non-blocking */
	int				 timeout_ms;
	volatile sig_atomic_t		*stop;
	uint64_t			 bytes;
	void				*ssl;	/* PROT P: the data SSL */
	int				 accept_truncated;	/* TLS */
};

enum xfer_status xfer_send_file(struct xfer *, int filefd, off_t offset);
enum xfer_status xfer_send_buf(struct xfer *, const char *, size_t);
enum xfer_status xfer_recv_file(struct xfer *, int filefd);
/* TYPE A: LF <-> CRLF on the wire; filefd positioned by the caller. */
enum xfer_status xfer_send_ascii(struct xfer *, int filefd);
enum xfer_status xfer_recv_ascii(struct xfer *, int filefd);

#endif
