/*
 * tls_xfer.c - PROT P data connections: the handshake with the
 * session-binding check, and the TLS transport of the transfer engine
 * (xfer.h). It only maps OpenSSL's results: SSL_ERROR_WANT_* to what to
 * wait for, close_notify to the end, an EOF without it to truncation;
 * every transfer policy (pace, minimum rate, quota, ABOR, timeouts,
 * whether truncation is accepted) is the engine's.
 * Downloads use kernel TLS with SSL_sendfile when OpenSSL could enable
 * it on the socket, else the engine reads KF_TLS_XFER_CHUNK at a time
 * and writes it through SSL_write (records of 16 KiB, eight per call):
 * a read small enough to be encrypted while it is still in the CPU's
 * cache.
 * Runs in: post-login worker.
 */
#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/limits.h"
#include "../common/sys.h"
#include "tls.h"
#include "tls_xfer.h"

static int
resumed_ok(SSL *ssl, int reuse_required, char *why, size_t whysz)
{
	if (!reuse_required || SSL_session_reused(ssl))
		return TLSD_OK;
	snprintf(why, whysz,
	    "the data connection did not resume the "
	    "control connection's TLS session (%s)",
	    SSL_get_version(ssl));
	return TLSD_NOT_RESUMED;
}

int
tlsd_accept(SSL_CTX *ctx, int fd, int timeout_ms, int reuse_required, SSL **out,
    char *why, size_t whysz)
{
	int64_t deadline = sys_now_ms() + timeout_ms, left;
	char err[256];
	SSL *ssl;
	int r, e;

	*out = NULL;
	if ((ssl = SSL_new(ctx)) == NULL || !SSL_set_fd(ssl, fd)) {
		SSL_free(ssl);
		snprintf(why, whysz, "cannot set up TLS");
		return TLSD_FAILED;
	}
	SSL_set_mode(ssl,
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
		SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* kernel TLS when the kernel has it (data connections only) */
	SSL_set_options(ssl, SSL_OP_ENABLE_KTLS);
	(void)tls_fresh_refused();
	for (;;) {
		ERR_clear_error();
		if ((r = SSL_accept(ssl)) == 1)
			break;
		e = SSL_get_error(ssl, r);
		left = deadline - sys_now_ms();
		if (reuse_required && tls_fresh_refused()) {
			snprintf(why, whysz,
			    "the data connection offered no "
			    "TLS session to resume (a fresh handshake)");
			SSL_free(ssl);
			return TLSD_NOT_RESUMED;
		}
		if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) ||
		    left <= 0 ||
		    sys_poll1(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
			(int)left) <= 0) {
			snprintf(why, whysz,
			    "TLS handshake on the data "
			    "connection failed: %s",
			    left <= 0 ? "timeout" :
					tls_error_text(err, sizeof(err)));
			SSL_free(ssl);
			return TLSD_FAILED;
		}
	}
	if ((r = resumed_ok(ssl, reuse_required, why, whysz)) != TLSD_OK) {
		SSL_free(ssl);
		return r;
	}
	*out = ssl;
	return TLSD_OK;
}

void
tlsd_close(SSL *ssl, int fd)
{
	int64_t deadline = sys_now_ms() + 1000;
	int r, e;

	while (ssl != NULL) {
		ERR_clear_error();
		if ((r = SSL_shutdown(ssl)) >= 0)
			break;
		e = SSL_get_error(ssl, r);
		if ((e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ) ||
		    sys_now_ms() >= deadline ||
		    sys_poll1(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
			(int)(deadline - sys_now_ms())) <= 0)
			break;
	}
	SSL_free(ssl);
	close(fd);
}

/* What an SSL call that moved nothing wants (or that it failed). */
static ssize_t
want_of(SSL *ssl, int ret)
{
	switch (SSL_get_error(ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		return XIO_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return XIO_WANT_WRITE;
	default:
		return XIO_PEER;
	}
}

static ssize_t
tls_send(struct xfer_io *io, const char *p, size_t n)
{
	int r;

	ERR_clear_error();
	r = SSL_write(io->ctx, p, n > INT_MAX ? INT_MAX : (int)n);
	return r > 0 ? r : want_of(io->ctx, r);
}

/* close_notify is the end; an EOF without it is truncation. */
static ssize_t
tls_recv(struct xfer_io *io, char *p, size_t n)
{
	unsigned long err;
	int r, e;

	ERR_clear_error();
	errno = 0;
	r = SSL_read(io->ctx, p, n > INT_MAX ? INT_MAX : (int)n);
	if (r > 0)
		return r;
	e = SSL_get_error(io->ctx, r);
	err = ERR_peek_error();
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	if ((e == SSL_ERROR_SSL &&
		ERR_GET_REASON(err) == SSL_R_UNEXPECTED_EOF_WHILE_READING) ||
	    (e == SSL_ERROR_SYSCALL && err == 0 && errno == 0))
		return XIO_TRUNCATED;
	return want_of(io->ctx, r);
}

/* Kernel TLS: the kernel encrypts; SSL_sendfile moves the file. */
static ssize_t
tls_sendfile(struct xfer_io *io, int filefd, off_t *off, size_t n)
{
	ossl_ssize_t r;

	ERR_clear_error();
	r = SSL_sendfile(io->ctx, filefd, *off, n, 0);
	if (r > 0)
		*off += r;
	return r >= 0 ? (ssize_t)r : want_of(io->ctx, (int)r);
}

static void
tls_finish(struct xfer_io *io)
{
	tlsd_close(io->ctx, io->fd);
	io->ctx = NULL;
	io->fd = -1;
}

static const struct xfer_ops ktls_ops = {
	.note = "TLS download: kernel TLS, SSL_sendfile",
	.send = tls_send,
	.recv = tls_recv,
	.sendfile = tls_sendfile,
	.finish = tls_finish,
};

static const struct xfer_ops user_ops = {
	.note = "TLS download: no kernel TLS on this socket; user-space "
		"TLS records",
	.send = tls_send,
	.recv = tls_recv,
	.sendfile = NULL,
	.finish = tls_finish,
};

void
tlsx_io(struct xfer_io *io, struct ssl_st *ssl, int fd)
{
	memset(io, 0, sizeof(*io));
	io->ops = BIO_get_ktls_send(SSL_get_wbio(ssl)) ? &ktls_ops : &user_ops;
	io->fd = fd;
	io->ctx = ssl;
	io->read_chunk = KF_TLS_XFER_CHUNK;
}
