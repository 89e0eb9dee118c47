/*
 * tls_xfer.h - FTPS data connections: the server handshake with the
 * session-binding check, and the TLS transport the transfer engine
 * (fs/xfer.h) runs over under PROT P.
 * Runs in: post-login worker.
 */
#ifndef KF_TLS_XFER_H
#define KF_TLS_XFER_H

#include <sys/types.h>

#include "../fs/xfer.h"

#define TLSD_OK		 0
#define TLSD_FAILED	 (-1) /* handshake failed or timed out */
#define TLSD_NOT_RESUMED (-2) /* a fresh session: not the control's */

/*
 * The data connection's handshake on fd (non-blocking) with ctx; with
 * reuse_required, a session that is not a resumption is refused.
 * *out: the SSL on success. why: the reason, for the log.
 */
struct ssl_st;
struct ssl_ctx_st;
int tlsd_accept(struct ssl_ctx_st *, int fd, int timeout_ms, int reuse_required,
    struct ssl_st **out, char *why, size_t whysz);
/* close_notify (bounded wait), free, close. */
void tlsd_close(struct ssl_st *, int fd);

/*
 * The TLS transport over ssl on fd (after tlsd_accept): with
 * SSL_sendfile when kernel TLS is on for sending, else reads of
 * KF_TLS_XFER_CHUNK through SSL_write. Its finish is tlsd_close.
 */
void tlsx_io(struct xfer_io *, struct ssl_st *, int fd);

#endif
