/*
 * relay.c - the TLS relay's loop. Two bounded buffers, one a direction;
 * both sockets non-blocking; one poll() for everything. Either side's
 * end ends the relay: the client's (close_notify, EOF or a TLS error)
 * shuts the workers' side for writing; the workers' side closing (the
 * monitor ends the session) sends close_notify to the client.
 * CCC (RELAY_CCC from the monitor): once the workers' side has nothing
 * more to send, close_notify goes out (CLOSING); the client's
 * close_notify switches both directions to plain copying (PLAIN).
 * Runs in: TLS relay.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>
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
	char b[KF_TLS_RELAY_BUF];
	size_t off, len;
	int eof;
};

enum mode {
	MODE_TLS,
	MODE_CCC, /* RELAY_CCC received: close_notify when dry */
	MODE_CLOSING, /* close_notify sent: waiting for the client's */
	MODE_PLAIN, /* after CCC */
};

struct relay {
	SSL *ssl;
	enum mode mode;
	int plain_dry; /* the last recv on plain: EAGAIN */
	int peer_closed; /* the client's close_notify came */
	int64_t peer_wait; /* until then a RELAY_CCC may follow */
	int raw, plain;
	struct dir up; /* client -> worker */
	struct dir down; /* worker -> client */
	short raw_ev, plain_ev;
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

static void __attribute__((noreturn)) finish(struct relay *r, int notify)
{
	if (notify && r->ssl != NULL)
		(void)SSL_shutdown(r->ssl); /* best effort close_notify */
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

/* MON_TLS_HANDSHAKE: the result, once, for the session's tally. */
static void
report_handshake(int ok)
{
	struct ipc_msg m;

	ipc_init(&m, MON_TLS_HANDSHAKE);
	if (mon_fd >= 0 && ipc_put_u32(&m, ok ? 1 : 0) == 0)
		(void)ipc_send(mon_fd, &m);
}

static void
handshake(struct relay *r, int64_t deadline)
{
	char err[256];
	int64_t left;
	int ret;

	for (;;) {
		ERR_clear_error();
		if ((ret = SSL_accept(r->ssl)) == 1) {
			report_handshake(1);
			return;
		}
		r->raw_ev = 0;
		if (ssl_wait(r, ret) != 0) {
			log_warn("TLS handshake failed: %-s",
			    tls_error_text(err, sizeof(err)));
			report_handshake(0);
			finish(r, 0);
		}
		if ((left = deadline - sys_now_ms()) <= 0 ||
		    sys_poll1(r->raw, r->raw_ev, (int)left) == 0) {
			log_warn("TLS handshake timed out");
			report_handshake(0);
			finish(r, 0);
		}
	}
}

/*
 * After our close_notify: a client that answers with its own sends a
 * TLS record (content type 20..23: an alert in TLS 1.2, application
 * data around it in TLS 1.3); one that does not (curl's passive CCC)
 * goes on with an FTP command, which starts with a letter. 1: a record
 * comes, leave it to OpenSSL; 0: plain text from here on, or nothing
 * yet (then POLLIN is wanted).
 */
static int
next_is_record(struct relay *r)
{
	unsigned char b;
	ssize_t n = recv(r->raw, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n == 1 && b >= 20 && b <= 23)
		return 1;
	if (n == 1 || n == 0) {
		r->mode = MODE_PLAIN;
		log_info("CCC: the client went on without close_notify; "
			 "plain text");
	} else
		r->raw_ev |= POLLIN;
	return 0;
}

/* From the client: a TLS record, or plain bytes after CCC. */
static int
read_client(struct relay *r, struct dir *d)
{
	ssize_t n;
	int ret, w;

	if (r->mode == MODE_PLAIN) {
		n = recv(r->raw, d->b, sizeof(d->b), MSG_DONTWAIT);
		if (n > 0)
			return (int)n;
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			r->raw_ev |= POLLIN;
			return 0;
		}
		return -1;
	}
	if (r->mode == MODE_CLOSING && !next_is_record(r))
		return 0;
	ERR_clear_error();
	ret = SSL_read(r->ssl, d->b, sizeof(d->b));
	if (ret > 0)
		return ret;
	w = ssl_wait(r, ret);
	if (w == 1 && r->mode == MODE_CLOSING) {
		/* the client's close_notify: plain text from here on */
		r->mode = MODE_PLAIN;
		log_info("CCC: TLS closed on both sides; plain text");
		return 0;
	}
	if (w == 1) {
		/*
		 * The client closed TLS first: it saw the 200 to CCC before
		 * the monitor's RELAY_CCC reached us, or it is leaving.
		 * Wait KF_TLS_CCC_MS for RELAY_CCC before calling it the end.
		 */
		r->peer_closed = 1;
		r->peer_wait = sys_now_ms() + KF_TLS_CCC_MS;
		return 0;
	}
	return w == 0 ? 0 : -1;
}

/* Client to worker: TLS in, plain out. 1 when something moved. */
static int
pump_up(struct relay *r)
{
	struct dir *d = &r->up;
	enum mode before = r->mode;
	ssize_t n;
	int ret, moved = 0;

	if (r->peer_closed && r->mode != MODE_PLAIN) {
		/* nothing more to read under TLS; the end unless CCC comes */
		if (r->mode == MODE_TLS && sys_now_ms() >= r->peer_wait &&
		    !d->eof) {
			d->eof = 1;
			shutdown(r->plain, SHUT_WR);
		}
	} else if (d->len == 0 && !d->eof) {
		ret = read_client(r, d);
		if (ret > 0) {
			d->off = 0;
			d->len = (size_t)ret;
			moved = 1;
		} else if (ret < 0) {
			d->eof = 1;
			shutdown(r->plain, SHUT_WR);
		} else if (r->mode != before)
			moved = 1;
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

	r->plain_dry = 0;
	/* between our close_notify and the client's, worker output waits */
	if (d->len == 0 && !d->eof && r->mode != MODE_CLOSING) {
		n = recv(r->plain, d->b, sizeof(d->b), MSG_DONTWAIT);
		if (n > 0) {
			d->off = 0;
			d->len = (size_t)n;
			moved = 1;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			d->eof = 1;
		else {
			r->plain_ev |= POLLIN;
			r->plain_dry = 1;
		}
	}
	if (d->len > 0 && r->mode == MODE_PLAIN) {
		n = send(r->raw, d->b + d->off, d->len - d->off,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			d->off += (size_t)n;
			if (d->off == d->len)
				d->len = d->off = 0;
			moved = 1;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR))
			r->raw_ev |= POLLOUT;
		else
			finish(r, 0);
	} else if (d->len > 0) {
		ERR_clear_error();
		ret = SSL_write(r->ssl, d->b + d->off, (int)(d->len - d->off));
		if (ret > 0) {
			d->off += (size_t)ret;
			if (d->off == d->len)
				d->len = d->off = 0;
			moved = 1;
		} else if (ssl_wait(r, ret) != 0)
			finish(r, 0); /* the client is gone */
	}
	return moved;
}

/* RELAY_CCC from the monitor: the only message it sends. */
static void
monitor_message(struct relay *r)
{
	struct ipc_msg m;

	if (ipc_recv(mon_fd, &m) < 0 || m.type != RELAY_CCC ||
	    ipc_end(&m) < 0 || r->mode != MODE_TLS)
		finish(r, 1);
	r->mode = MODE_CCC;
}

/*
 * CCC: once all the worker wrote (its 200 at least) is sent, our
 * close_notify; then the monitor hears that TLS is over.
 */
static int
ccc_step(struct relay *r)
{
	struct ipc_msg m;
	int ret;

	if (r->mode != MODE_CCC || r->down.len > 0 || !r->plain_dry)
		return 0;
	ERR_clear_error();
	ret = SSL_shutdown(r->ssl);
	if (ret < 0) {
		if (ssl_wait(r, ret) != 0)
			finish(r, 0);
		return 0;
	}
	r->mode = r->peer_closed ? MODE_PLAIN : MODE_CLOSING;
	if (r->peer_closed)
		log_info("CCC: TLS closed on both sides; plain text");
	ipc_init(&m, RELAY_CCC_DONE);
	if (ipc_send(mon_fd, &m) < 0)
		finish(r, 0);
	return 1;
}

/* The poll timeout: none, but for the wait after the client's close. */
static int
wait_ms(const struct relay *r)
{
	int64_t left;

	if (!r->peer_closed || r->mode != MODE_TLS || r->up.eof)
		return -1;
	left = r->peer_wait - sys_now_ms();
	return left <= 0 ? 0 : (int)left;
}

static void __attribute__((noreturn)) loop(struct relay *r)
{
	struct pollfd p[3];
	int moved;

	for (;;) {
		r->raw_ev = r->plain_ev = 0;
		moved = pump_up(r);
		moved |= pump_down(r);
		moved |= ccc_step(r);
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
		p[2] = (struct pollfd){ .fd = r->mode == MODE_TLS ? mon_fd : -1,
			.events = POLLIN };
		if (p[0].fd < 0 && p[1].fd < 0)
			finish(r, 1);
		if (poll(p, 3, wait_ms(r)) < 0 && errno != EINTR)
			finish(r, 0);
		if (p[2].revents)
			monitor_message(r);
	}
}

/*
 * A client certificate that verified: its common name goes to the
 * monitor (MON_TLS_PEER), which decides whether it means anything. A
 * subject with two or more CNs names nobody: nothing is sent.
 */
static void
report_peer(SSL *ssl)
{
	char cn[KF_USER_MAX + 1];
	unsigned char *utf8 = NULL;
	const X509_NAME *subj;
	struct ipc_msg m;
	X509 *peer;
	int i, n;

	if ((peer = SSL_get0_peer_certificate(ssl)) == NULL ||
	    SSL_get_verify_result(ssl) != X509_V_OK)
		return;
	subj = X509_get_subject_name(peer);
	if ((i = X509_NAME_get_index_by_NID(subj, NID_commonName, -1)) >= 0 &&
	    X509_NAME_get_index_by_NID(subj, NID_commonName, i) >= 0) {
		/* which one would name the user? none: refused */
		log_warn("TLS client certificate with more than one common "
			 "name: not used for login");
		return;
	}
	if (i < 0 ||
	    (n = ASN1_STRING_to_UTF8(&utf8,
		 X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i)))) <=
		0 ||
	    n > KF_USER_MAX || memchr(utf8, '\0', (size_t)n) != NULL) {
		log_warn("TLS client certificate without a usable common name");
		OPENSSL_free(utf8);
		return;
	}
	memcpy(cn, utf8, (size_t)n);
	cn[n] = '\0';
	OPENSSL_free(utf8);
	log_info("TLS client certificate verified: CN=%s", cn);
	ipc_init(&m, MON_TLS_PEER);
	if (ipc_put_str(&m, cn, KF_USER_MAX) == 0)
		(void)ipc_send(mon_fd, &m);
}

void
relay_run(const struct relay_args *a)
{
	static struct relay r;
	const char *name;

	r.raw = a->raw_fd;
	r.plain = a->plain_fd;
	mon_fd = a->mon_fd;
	SSL_CTX_sess_set_new_cb(a->ctx, new_session);
	if (sys_set_nonblock(r.raw, 1) < 0 ||
	    sys_set_nonblock(r.plain, 1) < 0 ||
	    (r.ssl = SSL_new(a->ctx)) == NULL || !SSL_set_fd(r.ssl, r.raw)) {
		log_err("TLS relay: cannot set up");
		_exit(1);
	}
	SSL_set_mode(r.ssl,
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
		SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	handshake(&r, a->handshake_deadline_ms);
	name = SSL_get_servername(r.ssl, TLSEXT_NAMETYPE_host_name);
	log_field_str("tls_version", SSL_get_version(r.ssl));
	log_info("TLS control connection: %-s %-s sni=%s",
	    SSL_get_version(r.ssl), SSL_get_cipher_name(r.ssl), name);
	report_peer(r.ssl);
	loop(&r);
}
