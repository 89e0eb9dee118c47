/*
 * tls_mem.c - OpenSSL's allocation functions, installed first thing in
 * keepftpd-worker's main(): every block OpenSSL frees is wiped, so the
 * decoded copies of a private key (PEM to DER, ASN.1 structures) do not
 * linger in a heap that a worker inherits by fork. (keepftpd, the
 * privileged image, does not link OpenSSL.)
 * Runs in: the spawners and every worker and relay (installed at start).
 */
#include <malloc.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "tls_mem.h"

/*
 * Every block OpenSSL frees is wiped first: the key's decoded copies
 * (PEM to DER, ASN.1 structures) must not linger in a heap that a
 * worker inherits by fork.
 */
static void *
wipe_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return malloc(n);
}

static void
wipe_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	if (p != NULL)
		explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

static void *
wipe_realloc(void *p, size_t n, const char *file, int line)
{
	size_t old;
	void *q;

	if (p == NULL)
		return wipe_malloc(n, file, line);
	if (n == 0) {
		wipe_free(p, file, line);
		return NULL;
	}
	old = malloc_usable_size(p);
	if (n <= old)
		return p;
	if ((q = malloc(n)) == NULL)
		return NULL;
	memcpy(q, p, old);
	wipe_free(p, file, line);
	return q;
}

int
tls_init_memory(void)
{
	return CRYPTO_set_mem_functions(wipe_malloc, wipe_realloc, wipe_free) ?
	    0 :
	    -1;
}
