/*
 * tls_xfer.h - FTPS data connections: the server handshake with the
 * session-binding check, and the PROT P transfer loops that xfer.c
 * hands over to when a transfer has an SSL.
 * Runs in: post-login worker.
 */
#ifndef KF_TLS_XFER_H
#define KF_TLS_XFER_H

#include <sys/types.h>

#include "../fs/xfer.h"

#define TLSD_OK			0
#define TLSD_FAILED		(-1)	/* handshake failed or timed out */
#define TLSD_NOT_RESUMED	(-2)	/* a fresh session: not the control's */

/*
 * The data connection's handshake on fd (non-blocking) with ctx; with
 * reuse_required, a session that is not a resumption is refused.
 * *out: the SSL on success. why: the reason, for the log.
 */
struct ssl_st;
struct ssl_ctx_st;
int	tlsd_accept(struct ssl_ctx_st *, int fd, int timeout_ms,
	    int reuse_required, struct ssl_st **out, char *why, size_t whysz);
/* close_notify (bounded wait), free, close. */
void	tlsd_close(struct ssl_st *, int fd);

enum xfer_status tlsx_send_file(struct xfer *, int filefd, off_t offset);
enum xfer_status tlsx_send_buf(struct xfer *, const char *, size_t);
enum xfer_status tlsx_recv(struct xfer *, int filefd, int ascii);

#endif
