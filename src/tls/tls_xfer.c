/*
 * tls_xfer.c - PROT P data connections. Downloads use kernel TLS with
 * SSL_sendfile when OpenSSL could enable it on the socket, else reads
 * of KF_TLS_XFER_CHUNK written through SSL_write (records of 16 KiB,
 * eight per call): a read small enough to be encrypted while it is
 * still in the CPU's cache.
 * Uploads read records until a block is full. An upload that ends
 * without close_notify is XFER_TRUNCATED unless accepted by config.
 * Pacing, the minimum rate and the quota come from xfer.c's pieces
 * (xfer_pace, xfer_moved, xfer_charge, xfer_wait_ready, xfer_take_ctrl), as
 * for plain transfers.
 * Runs in: post-login worker.
 */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../common/limits.h"
#include "../common/log.h"
#include "../common/sys.h"
#include "../fs/ascii.h"
#include "tls.h"
#include "tls_xfer.h"

#define CHECK_EVERY	(8ULL * KF_XFER_CHUNK)

static int
resumed_ok(SSL *ssl, int reuse_required, char *why, size_t whysz)
{
	if (!reuse_required || SSL_session_reused(ssl))
		return TLSD_OK;
	snprintf(why, whysz, "the data connection did not resume the "
	    "control connection's TLS session (%s)", SSL_get_version(ssl));
	return TLSD_NOT_RESUMED;
}

int
tlsd_accept(SSL_CTX *ctx, int fd, int timeout_ms, int reuse_required,
    SSL **out, char *why, size_t whysz)
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
	SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
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
			snprintf(why, whysz, "the data connection offered no "
			    "TLS session to resume (a fresh handshake)");
			SSL_free(ssl);
			return TLSD_NOT_RESUMED;
		}
		if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) ||
		    left <= 0 || sys_poll1(fd, e == SSL_ERROR_WANT_READ ?
		    POLLIN : POLLOUT, (int)left) <= 0) {
			snprintf(why, whysz, "TLS handshake on the data "
			    "connection failed: %s", left <= 0 ? "timeout" :
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

static enum xfer_status
check_ctrl(struct xfer *x)
{
	if (*x->stop)
		return XFER_STOPPED;
	if (x->ctrl->len >= KF_LINE_MAX ||
	    sys_poll1(x->ctrl->fd, POLLIN | POLLPRI, 0) <= 0)
		return XFER_OK;
	return xfer_take_ctrl(x);
}

/* Waits for what the last SSL call wanted, watching the control line. */
static enum xfer_status
wait_ssl(struct xfer *x, int ret)
{
	int e = SSL_get_error(x->ssl, ret);

	if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
		return XFER_DATA_ERROR;
	return xfer_wait_ready(x, e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN);
}

enum xfer_status
tlsx_send_buf(struct xfer *x, const char *p, size_t len)
{
	enum xfer_status st;
	size_t want;
	int n;

	while (len > 0) {
		/* the pace's slice (a whole block when unpaced) */
		if ((st = xfer_pace(x, len > INT32_MAX ? INT32_MAX : len,
		    &want)) != XFER_OK)
			return st;
		ERR_clear_error();
		n = SSL_write(x->ssl, p, (int)want);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			if ((st = xfer_moved(x, (size_t)n)) != XFER_OK)
				return st;
			continue;
		}
		if ((st = wait_ssl(x, n)) != XFER_OK)
			return st;
	}
	return XFER_OK;
}

/* Kernel TLS: the kernel encrypts; SSL_sendfile moves the file. */
static enum xfer_status
send_ktls(struct xfer *x, int filefd, off_t offset)
{
	enum xfer_status st;
	ossl_ssize_t n;
	size_t want;

	for (;;) {
		if ((st = xfer_pace(x, KF_XFER_CHUNK, &want)) != XFER_OK)
			return st;
		ERR_clear_error();
		n = SSL_sendfile(x->ssl, filefd, offset, want, 0);
		if (n > 0) {
			offset += n;
			if ((st = xfer_moved(x, (size_t)n)) != XFER_OK)
				return st;
			if (x->bytes % CHECK_EVERY < (uint64_t)n &&
			    (st = check_ctrl(x)) != XFER_OK)
				return st;
			continue;
		}
		if (n == 0)
			return XFER_OK;
		if ((st = wait_ssl(x, (int)n)) != XFER_OK)
			return st;
	}
}

enum xfer_status
tlsx_send_file(struct xfer *x, int filefd, off_t offset)
{
	enum xfer_status st = XFER_OK;
	char *buf;
	ssize_t n;

	if (BIO_get_ktls_send(SSL_get_wbio(x->ssl))) {
		log_debug("TLS download: kernel TLS, SSL_sendfile");
		return send_ktls(x, filefd, offset);
	}
	log_debug("TLS download: no kernel TLS on this socket; user-space "
	    "TLS records from %d KiB reads", KF_TLS_XFER_CHUNK / 1024);
	if ((buf = malloc(KF_TLS_XFER_CHUNK)) == NULL)
		return XFER_IO_ERROR;
	while (st == XFER_OK) {
		n = pread(filefd, buf, KF_TLS_XFER_CHUNK, offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			st = n == 0 ? XFER_OK : XFER_IO_ERROR;
			break;
		}
		offset += n;
		st = tlsx_send_buf(x, buf, (size_t)n);
		if (st == XFER_OK && x->bytes % CHECK_EVERY < (uint64_t)n)
			st = check_ctrl(x);
	}
	free(buf);
	return st;
}

/* An upload's end: close_notify, or truncation (EOF without it). */
static enum xfer_status
read_end(struct xfer *x, int ret)
{
	int e = SSL_get_error(x->ssl, ret);
	unsigned long err = ERR_peek_error();

	if (e == SSL_ERROR_ZERO_RETURN)
		return XFER_OK;
	if ((e == SSL_ERROR_SSL && ERR_GET_REASON(err) ==
	    SSL_R_UNEXPECTED_EOF_WHILE_READING) ||
	    (e == SSL_ERROR_SYSCALL && err == 0 && errno == 0))
		return x->accept_truncated ? XFER_OK : XFER_TRUNCATED;
	return XFER_DATA_ERROR;
}

/* A block of the upload: charged to the quota, then written. */
static enum xfer_status
write_block(struct xfer *x, int filefd, struct ascii_state *as,
    const char *b, size_t n, char *out, int ascii, int last)
{
	size_t used;

	if (ascii) {
		n = ascii_from_net(as, b, n, &used, out,
		    ASCII_FROM_NET_MAX(KF_XFER_CHUNK));
		if (last)
			n += ascii_from_net_end(as, out + n, 1);
		b = out;
	}
	return xfer_write_out(x, filefd, b, n);
}

/* Records into blk until it holds max bytes or the socket is dry. */
static int
fill(struct xfer *x, char *blk, size_t max, size_t *len)
{
	int r;

	do {
		ERR_clear_error();
		r = SSL_read(x->ssl, blk + *len, (int)(max - *len));
		if (r > 0)
			*len += (size_t)r;
	} while (r > 0 && *len < max);
	return r;
}

enum xfer_status
tlsx_recv(struct xfer *x, int filefd, int ascii)
{
	enum xfer_status st = XFER_OK, end = XFER_OK;
	struct ascii_state as;
	char *blk, *out = NULL;
	size_t len, want;
	int r, e;

	ascii_init(&as);
	blk = malloc(KF_XFER_CHUNK);
	if (ascii)
		out = malloc(ASCII_FROM_NET_MAX(KF_XFER_CHUNK) + 2);
	if (blk == NULL || (ascii && out == NULL)) {
		st = XFER_IO_ERROR;
		goto out;
	}
	for (;;) {
		len = 0;
		errno = 0;
		if ((st = xfer_pace(x, KF_XFER_CHUNK, &want)) != XFER_OK)
			break;
		r = fill(x, blk, want, &len);
		e = r > 0 ? SSL_ERROR_NONE : SSL_get_error(x->ssl, r);
		if (r <= 0 && e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			end = read_end(x, r);
		if (len > 0 && (st = xfer_moved(x, len)) != XFER_OK)
			break;
		if ((st = write_block(x, filefd, &as, blk, len, out, ascii, 0)) !=
		    XFER_OK)
			break;
		if (len > 0 && x->bytes % CHECK_EVERY < len &&
		    (st = check_ctrl(x)) != XFER_OK)
			break;
		if (r > 0)
			continue;
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if ((st = wait_ssl(x, r)) != XFER_OK)
				break;
			continue;
		}
		if ((st = end) == XFER_OK &&
		    (st = write_block(x, filefd, &as, blk, 0, out, ascii, 1)) ==
		    XFER_OK)
			st = check_ctrl(x);
		break;
	}
out:
	free(blk);
	free(out);
	return st;
}
