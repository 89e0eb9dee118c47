/*
 * tls.h - FTPS contexts (OpenSSL 3). The listener loads the certificate
 * chain and key into the control context and makes a decoy context (a
 * throw-away self-signed certificate and key of the same type) for data
 * connections; monitors and their children inherit both by fork. Each
 * session gets its own random ticket key and session id context: the
 * relay's control context and the post-login worker's data context use
 * the same ones, so a data connection can resume the control
 * connection's TLS session, and only that one (docs/SECURITY.md).
 * Runs in: listener (load, reload), monitor (keys), TLS relay and
 * post-login worker (contexts inherited by fork).
 */
#ifndef KF_TLS_H
#define KF_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>

#include "../conf/conf.h"

#define TLS_TICKET_KEY_LEN 80 /* name 16 + HMAC 32 + AES 32 */
#define TLS_SID_CTX_LEN	   32

struct tls_session_keys {
	unsigned char ticket[TLS_TICKET_KEY_LEN];
	unsigned char sid_ctx[TLS_SID_CTX_LEN];
};

/*
 * First thing in main(), before OpenSSL allocates: OpenSSL's freed
 * blocks are wiped. 0 or -1.
 */
int tls_init_memory(void);
/* A tls_cert is configured. */
int tls_configured(const struct conf *);
/*
 * Listener: builds the control and decoy contexts from the
 * configuration. 0, or -1 with the reason logged; on failure the
 * contexts already loaded (if any) stay in use, and the caller keeps
 * the configuration they were built from (do_reload).
 */
int tls_load(const struct conf *);
/*
 * Post-login spawner: the data context alone; the private key is read
 * only when tls_data_reuse_required is off. 0 or -1 (logged).
 */
int tls_load_data(const struct conf *);
/* `keepftpd -t`: the certificate and key load and match. 0 or -1 (why). */
int tls_check(const struct conf *, char *why, size_t whysz);
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
/* Fresh random keys for one session (monitor). */
void tls_session_keys_new(struct tls_session_keys *);
/* Binds a context to the session's keys. 0 or -1. */
int tls_bind_session(SSL_CTX *, const struct tls_session_keys *);
/* The OpenSSL error queue as text (emptied), for a log line. */
const char *tls_error_text(char *buf, size_t n);

#endif
