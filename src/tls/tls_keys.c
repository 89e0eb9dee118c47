/*
 * tls_keys.c - a session's random TLS ticket key and session id
 * context, and whether TLS is configured: no OpenSSL, no certificate,
 * no private key (see tls_keys.h).
 * Runs in: monitor (keys), listener, pre-login worker, spawners.
 */
#include <sodium.h>

#include "tls_keys.h"

int
tls_configured(const struct conf *c)
{
	return c->tls_cert[0] != '\0';
}

void
tls_session_keys_new(struct tls_session_keys *k)
{
	randombytes_buf(k->ticket, sizeof(k->ticket));
	randombytes_buf(k->sid_ctx, sizeof(k->sid_ctx));
}
