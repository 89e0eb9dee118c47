/*
 * tls_keys.h - what both sides of FTPS share without the TLS code: a
 * session's random ticket key and session id context (made by the
 * monitor, used by the relay's control context and the post-login
 * worker's data context), and whether a configuration names a
 * certificate. The privileged side needs no OpenSSL context for these.
 * Runs in: monitor (keys), listener, pre-login worker, spawners.
 */
#ifndef KF_TLS_KEYS_H
#define KF_TLS_KEYS_H

#include "../conf/conf.h"

#define TLS_TICKET_KEY_LEN 80 /* name 16 + HMAC 32 + AES 32 */
#define TLS_SID_CTX_LEN	   32

struct tls_session_keys {
	unsigned char ticket[TLS_TICKET_KEY_LEN];
	unsigned char sid_ctx[TLS_SID_CTX_LEN];
};

/* A tls_cert is configured. */
int tls_configured(const struct conf *);
/* Fresh random keys for one session (monitor; libsodium). */
void tls_session_keys_new(struct tls_session_keys *);

#endif
