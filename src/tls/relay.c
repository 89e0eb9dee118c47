/*
 * relay.c - the TLS relay's loop. Two bounded buffers, one a direction;
 * both sockets non-blocking; one poll() for everything. Either side's
 * end ends the relay: the client's (close_notify, EOF or a TLS error)
 * shuts the workers' side for writing; the workers' side closing (the
 * monitor ends the session) sends close_notify to the client.
 * Runs in: TLS relay.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/limits.h"
#include "../common/log.h"
#include "../common/sys.h"
#include "../ipc/ipc.h"
#include "../ipc/proto.h"
#include "relay.h"

struct dir {
	char	b[KF_TLS_RELAY_BUF];
	size_t	off, len;
	int	eof;
};

struct relay {
	SSL		*ssl;
	int		 raw, plain;
	struct dir	 up;	/* client -> worker */
	struct dir	 down;	/* worker -> client */
	short		 raw_ev, plain_ev;
};

static int mon_fd = -1;

/*
 * A new TLS 1.2 session: its DER goes to the monitor, for the data
 * connections that resume by session id (proto.h MON_TLS_SESSION).
 */
static int
new_session(SSL *s, SSL_SESSION *sess)
{
	unsigned char der[KF_TLS_SESSION_MAX], *p = der;
	struct ipc_msg m;
	int n;

	(void)s;
	if (SSL_SESSION_get_protocol_version(sess) != TLS1_2_VERSION ||
	    mon_fd < 0 || (n = i2d_SSL_SESSION(sess, NULL)) <= 0 ||
	    (size_t)n > sizeof(der) || i2d_SSL_SESSION(sess, &p) != n)
		return 0;
	ipc_init(&m, MON_TLS_SESSION);
	if (ipc_put_blob(&m, der, (size_t)n, KF_TLS_SESSION_MAX) == 0)
		(void)ipc_send(mon_fd, &m);
	OPENSSL_cleanse(der, sizeof(der));
	OPENSSL_cleanse(m.data, sizeof(m.data));
	return 0;
}

static void __attribute__((noreturn))
finish(struct relay *r, int notify)
{
	if (notify && r->ssl != NULL)
		(void)SSL_shutdown(r->ssl);	/* best effort close_notify */
	_exit(0);
}

/* The events the last SSL call wants on the raw socket. */
static int
ssl_wait(struct relay *r, int ret)
{
	int e = SSL_get_error(r->ssl, ret);

	if (e == SSL_ERROR_WANT_READ) {
		r->raw_ev |= POLLIN;
		return 0;
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		r->raw_ev |= POLLOUT;
		return 0;
	}
	return e == SSL_ERROR_ZERO_RETURN ? 1 : -1;
}

static void
handshake(struct relay *r, int64_t deadline)
{
	char err[256];
	int64_t left;
	int ret;

	for (;;) {
		ERR_clear_error();
		if ((ret = SSL_accept(r->ssl)) == 1)
			return;
		r->raw_ev = 0;
		if (ssl_wait(r, ret) != 0) {
			log_warn("TLS handshake failed: %s",
			    tls_error_text(err, sizeof(err)));
			finish(r, 0);
		}
		if ((left = deadline - sys_now_ms()) <= 0 ||
		    sys_poll1(r->raw, r->raw_ev, (int)left) == 0) {
			log_warn("TLS handshake timed out");
			finish(r, 0);
		}
	}
}

/* Client to worker: TLS in, plain out. 1 when something moved. */
static int
pump_up(struct relay *r)
{
	struct dir *d = &r->up;
	ssize_t n;
	int ret, moved = 0;

	if (d->len == 0 && !d->eof) {
		ERR_clear_error();
		ret = SSL_read(r->ssl, d->b, sizeof(d->b));
		if (ret > 0) {
			d->off = 0;
			d->len = (size_t)ret;
			moved = 1;
		} else if (ssl_wait(r, ret) != 0) {
			d->eof = 1;
			shutdown(r->plain, SHUT_WR);
		}
	}
	if (d->len > 0) {
		n = send(r->plain, d->b + d->off, d->len - d->off,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			d->off += (size_t)n;
			if (d->off == d->len)
				d->len = d->off = 0;
			moved = 1;
		} else if (n < 0 && errno == EAGAIN)
			r->plain_ev |= POLLOUT;
		else if (n < 0 && errno != EINTR)
			finish(r, 1);
	}
	return moved;
}

/* Worker to client: plain in, TLS out. 1 when something moved. */
static int
pump_down(struct relay *r)
{
	struct dir *d = &r->down;
	ssize_t n;
	int ret, moved = 0;

	if (d->len == 0 && !d->eof) {
		n = recv(r->plain, d->b, sizeof(d->b), MSG_DONTWAIT);
		if (n > 0) {
			d->off = 0;
			d->len = (size_t)n;
			moved = 1;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			d->eof = 1;
		else
			r->plain_ev |= POLLIN;
	}
	if (d->len > 0) {
		ERR_clear_error();
		ret = SSL_write(r->ssl, d->b + d->off, (int)(d->len - d->off));
		if (ret > 0) {
			d->off += (size_t)ret;
			if (d->off == d->len)
				d->len = d->off = 0;
			moved = 1;
		} else if (ssl_wait(r, ret) != 0)
			finish(r, 0);	/* the client is gone */
	}
	return moved;
}

static void __attribute__((noreturn))
loop(struct relay *r)
{
	struct pollfd p[2];
	int moved;

	for (;;) {
		r->raw_ev = r->plain_ev = 0;
		moved = pump_up(r);
		moved |= pump_down(r);
		if (r->down.eof && r->down.len == 0)
			finish(r, 1);
		if (r->up.eof && r->up.len == 0 && r->down.eof)
			finish(r, 1);
		if (moved)
			continue;
		/* a side nobody waits on is left out: no spinning on HUP */
		p[0] = (struct pollfd){ .fd = r->raw_ev ? r->raw : -1,
		    .events = r->raw_ev };
		p[1] = (struct pollfd){ .fd = r->plain_ev ? r->plain : -1,
		    .events = r->plain_ev };
		if (p[0].fd < 0 && p[1].fd < 0)
			finish(r, 1);
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			finish(r, 0);
	}
}

void
relay_run(const struct relay_args *a)
{
	static struct relay r;
	char sni[300];
	const char *name;

	r.raw = a->raw_fd;
	r.plain = a->plain_fd;
	mon_fd = a->mon_fd;
	SSL_CTX_sess_set_new_cb(a->ctx, new_session);
	if (sys_set_nonblock(r.raw, 1) < 0 || sys_set_nonblock(r.plain, 1) < 0 ||
	    (r.ssl = SSL_new(a->ctx)) == NULL || !SSL_set_fd(r.ssl, r.raw)) {
		log_err("TLS relay: cannot set up");
		_exit(1);
	}
	SSL_set_mode(r.ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	handshake(&r, a->handshake_deadline_ms);
	name = SSL_get_servername(r.ssl, TLSEXT_NAMETYPE_host_name);
	snprintf(sni, sizeof(sni), "%s%s", name != NULL ? " sni=" : "",
	    name != NULL ? name : "");
	log_info("TLS control connection: %s %s%s", SSL_get_version(r.ssl),
	    SSL_get_cipher_name(r.ssl), sni);
	loop(&r);
}
