/*
 * tls.h - FTPS contexts (OpenSSL 3). The relay spawner loads the
 * certificate chain and key into the control context and makes a decoy
 * context (a throw-away self-signed certificate and key of the same
 * type) for data connections; the post-login spawner makes the decoy
 * alone (or loads the real key when tls_data_reuse_required is off);
 * their workers inherit the contexts by fork. Each session gets its own
 * random ticket key and session id context (tls_keys.h, made by the
 * monitor): the relay's control context and the post-login worker's
 * data context use the same ones, so a data connection can resume the
 * control connection's TLS session, and only that one
 * (docs/SECURITY.md). The listener and the monitors hold no context.
 * Runs in: relay and post-login spawners (load), TLS relay and
 * post-login worker (contexts inherited by fork), the relay spawner
 * of `keepftpd -t` (tls_load). Linked into keepftpd-worker only.
 */
#ifndef KF_TLS_H
#define KF_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>

#include "../conf/conf.h"
#include "tls_keys.h"
#include "tls_mem.h"

/*
 * Relay spawner: builds the control and decoy contexts from the
 * configuration. 0, or -1 with the reason in why (not logged: the
 * spawner reports it to the listener, which logs it and decides).
 */
int tls_load(const struct conf *, char *why, size_t whysz);
/*
 * Post-login spawner: the data context alone; the private key is read
 * only when tls_data_reuse_required is off. 0 or -1 (logged).
 */
int tls_load_data(const struct conf *);
/* The control context (real key), or NULL when TLS is off. */
SSL_CTX *tls_ctrl_ctx(void);
/* The data context: the decoy, or the real one when reuse is not required. */
SSL_CTX *tls_data_ctx(const struct conf *);
/*
 * In a forked worker: frees what it must not hold. keep_real: the
 * post-login worker when tls_data_reuse_required is off.
 */
void tls_forget(int keep_real, int keep_decoy);
/* The last data handshake failed for offering no session to resume (read once). */
int tls_fresh_refused(void);
/*
 * Post-login worker: data connections on ctx may resume the control
 * connection's TLS 1.2 session by id (der: MON_TLS_SESSION). 0 or -1.
 */
int tls_set_resume(SSL_CTX *, const unsigned char *der, size_t n);
/* Binds a context to the session's keys. 0 or -1. */
int tls_bind_session(SSL_CTX *, const struct tls_session_keys *);
/* The OpenSSL error queue as text (emptied), for a log line. */
const char *tls_error_text(char *buf, size_t n);

#endif
