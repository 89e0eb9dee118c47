/*
 * test_tls_xfer.c - the TLS transport of the transfer engine over a
 * real TLS 1.3 session on a socketpair (a throwaway P-256 certificate):
 * would-block, records both ways, close_notify as the end, an EOF
 * without it as truncation (and the engine's answer to both), no
 * sendfile without kernel TLS, finish closing the fd.
 */
#include "cm.h"
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/limits.h"
#include "fs/xfer.h"
#include "tls/tls_xfer.h"

struct pair {
	SSL_CTX *sctx, *cctx;
	SSL *srv, *cli;
	int sv[2]; /* sv[0]: the server's */
};

static X509 *
self_signed(EVP_PKEY *key)
{
	X509 *c = X509_new();
	X509_NAME *n;

	assert_non_null(c);
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), 1);
	X509_gmtime_adj(X509_getm_notBefore(c), 0);
	X509_gmtime_adj(X509_getm_notAfter(c), 3600);
	X509_set_pubkey(c, key);
	n = X509_get_subject_name(c);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"kf-unit", -1, -1, 0);
	X509_set_issuer_name(c, n);
	assert_true(X509_sign(c, key, EVP_sha256()) > 0);
	return c;
}

/* Both handshakes, stepped in turn on the non-blocking pair. */
static void
handshake(struct pair *p)
{
	int s = 0, c = 0, i;

	for (i = 0; i < 1000 && (s != 1 || c != 1); i++) {
		if (c != 1)
			c = SSL_connect(p->cli);
		if (s != 1)
			s = SSL_accept(p->srv);
	}
	assert_int_equal(s, 1);
	assert_int_equal(c, 1);
}

static void
pair_open(struct pair *p)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert;

	assert_non_null(key);
	cert = self_signed(key);
	assert_non_null(p->sctx = SSL_CTX_new(TLS_server_method()));
	assert_non_null(p->cctx = SSL_CTX_new(TLS_client_method()));
	assert_int_equal(SSL_CTX_use_certificate(p->sctx, cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(p->sctx, key), 1);
	SSL_CTX_set_min_proto_version(p->sctx, TLS1_3_VERSION);
	X509_free(cert);
	EVP_PKEY_free(key);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
			     p->sv),
	    0);
	assert_non_null(p->srv = SSL_new(p->sctx));
	assert_non_null(p->cli = SSL_new(p->cctx));
	SSL_set_fd(p->srv, p->sv[0]);
	SSL_set_fd(p->cli, p->sv[1]);
	SSL_set_mode(p->srv,
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
		SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	handshake(p);
}

/*
 * The client side goes, without close_notify. It first takes what the
 * server sent (TLS 1.3 session tickets): a socket closed with unread
 * bytes makes the peer's next read ECONNRESET, not an EOF.
 */
static void
pair_close_client(struct pair *p)
{
	char b[64];

	if (p->cli != NULL)
		(void)SSL_read(p->cli, b, sizeof(b));
	SSL_free(p->cli);
	p->cli = NULL;
	if (p->sv[1] >= 0)
		close(p->sv[1]);
	p->sv[1] = -1;
}

static void
pair_free(struct pair *p)
{
	if (p->cli != NULL)
		pair_close_client(p);
	SSL_CTX_free(p->sctx);
	SSL_CTX_free(p->cctx);
}

/* Records both ways, would-block, then close_notify; finish. */
static void
test_records_and_close_notify(void **state)
{
	struct xfer_io io;
	struct pair p;
	char buf[64];

	(void)state;
	pair_open(&p);
	tlsx_io(&io, p.srv, p.sv[0]);
	/* socketpairs have no kernel TLS: the engine reads and sends */
	assert_null(io.ops->sendfile);
	assert_int_equal(io.read_chunk, KF_TLS_XFER_CHUNK);
	assert_int_equal(io.ops->recv(&io, buf, sizeof(buf)), XIO_WANT_READ);
	assert_int_equal(SSL_write(p.cli, "hello", 5), 5);
	assert_int_equal(io.ops->recv(&io, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(io.ops->send(&io, "abc", 3), 3);
	assert_int_equal(SSL_read(p.cli, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "abc", 3);
	assert_true(SSL_shutdown(p.cli) >= 0);
	assert_int_equal(io.ops->recv(&io, buf, sizeof(buf)), 0);
	io.ops->finish(&io); /* frees the SSL, closes sv[0] */
	assert_int_equal(io.fd, -1);
	assert_int_equal(fcntl(p.sv[0], F_GETFD), -1);
	pair_free(&p);
}

/* The peer's socket closes without close_notify: truncation. */
static void
test_truncation(void **state)
{
	struct xfer_io io;
	struct pair p;
	char buf[64];

	(void)state;
	pair_open(&p);
	tlsx_io(&io, p.srv, p.sv[0]);
	assert_int_equal(SSL_write(p.cli, "part", 4), 4);
	pair_close_client(&p);
	assert_int_equal(io.ops->recv(&io, buf, sizeof(buf)), 4);
	assert_int_equal(io.ops->recv(&io, buf, sizeof(buf)), XIO_TRUNCATED);
	SSL_free(p.srv);
	close(p.sv[0]);
	pair_free(&p);
}

static int
no_fd(void *arg)
{
	(void)arg;
	return -1;
}

static enum xfer_status
no_take(void *arg, uint64_t bytes)
{
	(void)arg;
	(void)bytes;
	return XFER_OK;
}

/* The engine over TLS: a truncated upload is refused unless accepted. */
static void
test_engine_truncated_upload(void **state)
{
	static const struct xfer_watch w = { no_fd, no_take, NULL };
	volatile sig_atomic_t stop = 0;
	char path[] = "/tmp/kf-tlsx-unit-XXXXXX", got[16];
	int accept, fd;
	struct xfer_io io;
	struct xfer x;
	struct pair p;

	(void)state;
	for (accept = 0; accept <= 1; accept++) {
		pair_open(&p);
		tlsx_io(&io, p.srv, p.sv[0]);
		assert_true((fd = mkstemp(path)) >= 0);
		unlink(path);
		memcpy(path + sizeof(path) - 7, "XXXXXX", 6);
		assert_int_equal(SSL_write(p.cli, "uploaded", 8), 8);
		pair_close_client(&p);
		xfer_init(&x, &io, &w, 2000, &stop);
		x.accept_truncated = accept;
		assert_int_equal(xfer_recv_file(&x, fd),
		    accept ? XFER_OK : XFER_TRUNCATED);
		assert_int_equal(pread(fd, got, sizeof(got), 0), 8);
		assert_memory_equal(got, "uploaded", 8);
		close(fd);
		io.ops->finish(&io);
		pair_free(&p);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records_and_close_notify),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_engine_truncated_upload),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
