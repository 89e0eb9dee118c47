/*
 * kfload: the FTP load generator of bench/ (issue 6).
 * Runs in: the benchmark client, never in the server.
 *
 * One process drives one server: a single RETR or STOR, N parallel RETRs,
 * timed listings, a login-rate loop of C concurrent clients, N held idle
 * sessions, or a raw TCP read from rawsend (the loopback limit). Every
 * mode prints ONE line of key=value pairs on stdout; errors go to stderr
 * and exit 1. MB = 10^6 bytes. See bench/README.md, "kfload and rawsend".
 *
 * Build: cc -O2 -Wall -Wextra -Werror -o kfload kfload.c -lssl -lcrypto -lpthread
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "die.h"

#define LINE_MAX_BYTES	8192 /* longest reply line we accept */
#define REPLY_LINES_MAX 10000 /* longest multi-line reply */
#define RBUF_BYTES	(2 * LINE_MAX_BYTES)
#define TEXT_BYTES	1024 /* reply text kept for error messages */
#define XFER_BUF_BYTES	(1024 * 1024) /* recv/send buffer of a transfer */
#define LIST_MAX_BYTES	((size_t)1 << 30)
#define HOLD_INFLIGHT	64
#define SESS_TIMEOUT_S	10 /* sessions and hold */
#define XFER_TIMEOUT_S	60 /* other modes: longest silent gap */
#define ERR_PRINT_MAX	10
#define LAT_MAX		(50u * 1000 * 1000)
#define THREAD_STACK	(256 * 1024)
#define NPHASE		5 /* greeting, USER, PASS, PWD, QUIT */

struct opts {
	const char *host;
	const char *port;
	const char *user;
	const char *pass;
	int tls;
	int v6;
	int phases; /* --phases: sessions prints each phase's percentiles */
	int timeout_s;
	SSL_CTX *ctx;
	struct sockaddr_storage addr; /* HOST resolved once, port = PORT */
	socklen_t addrlen;
};

/* A control connection. */
struct conn {
	int fd;
	SSL *ssl;
	SSL_SESSION *sess; /* newest session the control TLS received */
	int no_epsv;
	size_t rs, re; /* unread bytes: rbuf[rs..re) */
	char rbuf[RBUF_BYTES];
	char text[TEXT_BYTES]; /* last reply, lines joined by " | " */
	char err[TEXT_BYTES + 256];
	double mark[NPHASE + 1]; /* when each phase of a session ended */
};

/* A data connection. */
struct dlink {
	int fd;
	SSL *ssl;
};

/* Growable memory a listing is kept in, at most LIST_MAX_BYTES. */
struct mem {
	char *p;
	size_t len, cap;
};

static struct opts g;
static atomic_int warned_no_session;

static void
usage(void)
{
	fputs("usage: kfload [-h HOST] [-p PORT] [-u USER] [-w PASS] [--tls] "
	      "[--v6] MODE ARGS...\n"
	      "  retr PATH | stor PATH BYTES | pretr N PATTERN\n"
	      "  list|mlsd|nlst [-n K] PATH | sessions C SECONDS | hold N "
	      "| raw PORT\n"
	      "  --phases (sessions): p50/p99 of greeting, USER, PASS, PWD, "
	      "QUIT too\n",
	    stderr);
	exit(1);
}

static double
now_s(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		die("clock_gettime: %s", strerror(errno));
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Strict decimal: digits only, no sign, no overflow, at most max. */
static int
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

static uint64_t
arg_u64(const char *what, const char *s, uint64_t min, uint64_t max)
{
	uint64_t v;

	if (parse_u64(s, max, &v) != 0 || v < min)
		die("%s: not a number from %llu to %llu: %s", what,
		    (unsigned long long)min, (unsigned long long)max, s);
	return v;
}

static void
seterr(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
}

static const char *
ssl_err_text(char *buf, size_t sz)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(buf, sz, "%s",
		    errno != 0 ? strerror(errno) : "connection closed");
	else
		ERR_error_string_n(e, buf, sz);
	ERR_clear_error();
	return buf;
}

/* ---- sockets ---------------------------------------------------------- */

static void
resolve(void)
{
	struct addrinfo hints, *res;
	int r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = g.v6 ? AF_INET6 : AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if ((r = getaddrinfo(g.host, g.port, &hints, &res)) != 0)
		die("cannot resolve %s port %s: %s", g.host, g.port,
		    gai_strerror(r));
	if (res->ai_addrlen > sizeof(g.addr))
		die("address of %s too long", g.host);
	memcpy(&g.addr, res->ai_addr, res->ai_addrlen);
	g.addrlen = res->ai_addrlen;
	freeaddrinfo(res);
}

static void
set_port(struct sockaddr_storage *ss, unsigned port)
{
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
	else
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
}

/* Connects to HOST at port (0: PORT) with the timeout on every call. */
static int
tcp_connect(unsigned port, char *err, size_t errsz)
{
	struct sockaddr_storage ss = g.addr;
	struct timeval tv = { .tv_sec = g.timeout_s, .tv_usec = 0 };
	int fd, one = 1;

	if (port != 0)
		set_port(&ss, port);
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errsz, "socket: %s", strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
		snprintf(err, errsz, "setsockopt: %s", strerror(errno));
		close(fd);
		return -1;
	}
	while (connect(fd, (struct sockaddr *)&ss, g.addrlen) != 0) {
		if (errno == EINTR)
			continue;
		snprintf(err, errsz, "connect to %s port %u: %s", g.host,
		    port != 0 ?
			port :
			(unsigned)ntohs(ss.ss_family == AF_INET6 ?
				((struct sockaddr_in6 *)&ss)->sin6_port :
				((struct sockaddr_in *)&ss)->sin_port),
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* One read from a plain or TLS stream: >0 bytes, 0 clean EOF, -1 error. */
static ssize_t
io_read(int fd, SSL *ssl, char *buf, size_t n, char *err, size_t errsz)
{
	char e[256];
	ssize_t r;
	size_t got;
	int se;

	if (ssl == NULL) {
		while ((r = recv(fd, buf, n, 0)) < 0 && errno == EINTR)
			;
		if (r < 0)
			snprintf(err, errsz, "recv: %s",
			    errno == EAGAIN ? "timeout" : strerror(errno));
		return r;
	}
	ERR_clear_error();
	errno = 0;
	if (SSL_read_ex(ssl, buf, n, &got) == 1)
		return (ssize_t)got;
	se = SSL_get_error(ssl, 0);
	if (se == SSL_ERROR_ZERO_RETURN)
		return 0;
	if (se == SSL_ERROR_WANT_READ || errno == EAGAIN)
		snprintf(err, errsz, "TLS read: timeout");
	else
		snprintf(err, errsz, "TLS read: %s",
		    ssl_err_text(e, sizeof(e)));
	return -1;
}

static int
io_write_all(int fd, SSL *ssl, const char *buf, size_t n, char *err,
    size_t errsz)
{
	char e[256];
	ssize_t r;
	size_t put;

	while (n > 0) {
		if (ssl != NULL) {
			ERR_clear_error();
			errno = 0;
			if (SSL_write_ex(ssl, buf, n, &put) != 1) {
				snprintf(err, errsz, "TLS write: %s",
				    ssl_err_text(e, sizeof(e)));
				return -1;
			}
			r = (ssize_t)put;
		} else if ((r = send(fd, buf, n, MSG_NOSIGNAL)) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errsz, "send: %s",
			    errno == EAGAIN ? "timeout" : strerror(errno));
			return -1;
		}
		buf += r;
		n -= (size_t)r;
	}
	return 0;
}

/* ---- control connection: lines, replies, commands -------------------- */

/* Reads one line (CR LF or LF, stripped) of at most LINE_MAX_BYTES. */
static int
line_read(struct conn *c, char *out, size_t cap)
{
	char *nl;
	size_t len;
	ssize_t r;

	for (;;) {
		nl = memchr(c->rbuf + c->rs, '\n', c->re - c->rs);
		if (nl != NULL)
			break;
		if (c->re - c->rs >= LINE_MAX_BYTES) {
			seterr(c, "reply line longer than %d bytes",
			    LINE_MAX_BYTES);
			return -1;
		}
		if (c->rs > 0) {
			memmove(c->rbuf, c->rbuf + c->rs, c->re - c->rs);
			c->re -= c->rs;
			c->rs = 0;
		}
		r = io_read(c->fd, c->ssl, c->rbuf + c->re,
		    sizeof(c->rbuf) - c->re, c->err, sizeof(c->err));
		if (r == 0)
			seterr(c, "server closed the control connection%s%s",
			    c->text[0] != '\0' ? " after: " : "", c->text);
		if (r <= 0)
			return -1;
		c->re += (size_t)r;
	}
	len = (size_t)(nl - (c->rbuf + c->rs));
	if (len > 0 && nl[-1] == '\r')
		len--;
	if (len >= cap)
		len = cap - 1;
	memcpy(out, c->rbuf + c->rs, len);
	out[len] = '\0';
	c->rs = (size_t)(nl - c->rbuf) + 1;
	return 0;
}

static int
is_code(const char *l)
{
	return l[0] >= '1' && l[0] <= '5' && l[1] >= '0' && l[1] <= '9' &&
	    l[2] >= '0' && l[2] <= '9';
}

static void
text_add(struct conn *c, const char *line)
{
	size_t have = strlen(c->text);

	if (have > 0 && have + 3 < sizeof(c->text)) {
		memcpy(c->text + have, " | ", 4);
		have += 3;
	}
	if (have + 1 < sizeof(c->text))
		snprintf(c->text + have, sizeof(c->text) - have, "%s", line);
}

/* Reads one reply, multi-line aware; returns its code or -1. */
static int
reply_read(struct conn *c)
{
	char line[LINE_MAX_BYTES + 1];
	int code, n;

	c->text[0] = '\0';
	if (line_read(c, line, sizeof(line)) != 0)
		return -1;
	if (!is_code(line) ||
	    (line[3] != ' ' && line[3] != '-' && line[3] != '\0')) {
		seterr(c, "malformed reply: %.200s", line);
		return -1;
	}
	text_add(c, line);
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (line[3] != '-')
		return code;
	for (n = 1; n < REPLY_LINES_MAX; n++) {
		if (line_read(c, line, sizeof(line)) != 0)
			return -1;
		text_add(c, line);
		if (is_code(line) && (line[3] == ' ' || line[3] == '\0') &&
		    (line[0] - '0') * 100 + (line[1] - '0') * 10 +
			    (line[2] - '0') ==
			code)
			return code;
	}
	seterr(c, "reply of more than %d lines", REPLY_LINES_MAX);
	return -1;
}

static int
cmd_send(struct conn *c, const char *fmt, ...)
{
	char line[LINE_MAX_BYTES];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2) {
		seterr(c, "command too long");
		return -1;
	}
	memcpy(line + n, "\r\n", 2);
	return io_write_all(c->fd, c->ssl, line, (size_t)n + 2, c->err,
	    sizeof(c->err));
}

/* Reads a reply and checks it is one of up to two codes (b 0: just a). */
static int
reply_expect(struct conn *c, const char *after, int a, int b)
{
	int code = reply_read(c);

	if (code < 0)
		return -1;
	if (code != a && (b == 0 || code != b)) {
		seterr(c, "unexpected reply to %s: %s", after, c->text);
		return -1;
	}
	return code;
}

/* Sends a command and checks its reply; the command's first word names it. */
static int
cmd_expect(struct conn *c, const char *cmd, const char *arg, int a, int b)
{
	if (cmd_send(c, arg != NULL ? "%s %s" : "%s", cmd, arg) != 0)
		return -1;
	return reply_expect(c, cmd, a, b);
}

/* ---- TLS ---------------------------------------------------------------- */

/* Keeps the newest session of a control connection (TLS 1.3: tickets). */
static int
new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct conn *c = SSL_get_app_data(ssl);

	if (c == NULL)
		return 0; /* a data connection's: not kept */
	if (c->sess != NULL)
		SSL_SESSION_free(c->sess);
	c->sess = sess;
	return 1;
}

static void
tls_init(void)
{
	if ((g.ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		die("cannot create the TLS context");
	if (SSL_CTX_set_min_proto_version(g.ctx, TLS1_2_VERSION) != 1)
		die("cannot set the TLS minimum version");
	SSL_CTX_set_verify(g.ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_session_cache_mode(g.ctx,
	    SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(g.ctx, new_session);
}

/* Client handshake on fd; app is the control connection or NULL. */
static SSL *
tls_handshake(int fd, struct conn *app, SSL_SESSION *resume, char *err,
    size_t errsz)
{
	char e[256];
	SSL *ssl;

	if ((ssl = SSL_new(g.ctx)) == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    SSL_set_app_data(ssl, app) != 1 ||
	    (resume != NULL && SSL_set_session(ssl, resume) != 1)) {
		snprintf(err, errsz, "cannot set up TLS: %s",
		    ssl_err_text(e, sizeof(e)));
		SSL_free(ssl);
		return NULL;
	}
	if (app == NULL) {
		/* a data stream: fewer, larger reads of the socket */
		SSL_set_read_ahead(ssl, 1);
		SSL_set_default_read_buffer_len(ssl, XFER_BUF_BYTES);
	}
	ERR_clear_error();
	errno = 0;
	if (SSL_connect(ssl) != 1) {
		snprintf(err, errsz, "TLS handshake failed: %s",
		    ssl_err_text(e, sizeof(e)));
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

/* ---- sessions ------------------------------------------------------------ */

static struct conn *
conn_new(void)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		die("out of memory");
	c->fd = -1;
	return c;
}

/* Closes the control connection (close_notify first under TLS). */
static void
conn_close(struct conn *c)
{
	if (c->ssl != NULL) {
		(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->sess != NULL) {
		SSL_SESSION_free(c->sess);
		c->sess = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->rs = c->re = 0;
	c->no_epsv = 0;
	c->text[0] = '\0';
}

/* Connect, 220, [AUTH TLS], USER, PASS → 230, [PBSZ 0, PROT P]. */
static int
conn_login(struct conn *c)
{
	int code;

	c->text[0] = '\0';
	c->mark[0] = now_s();
	if ((c->fd = tcp_connect(0, c->err, sizeof(c->err))) < 0)
		return -1;
	if (reply_expect(c, "connect", 220, 0) < 0)
		return -1;
	c->mark[1] = now_s();
	/* --phases: under TLS, AUTH and the handshake count as USER's */
	if (g.tls) {
		if (cmd_expect(c, "AUTH", "TLS", 234, 0) < 0)
			return -1;
		if (c->rs != c->re) {
			seterr(c, "plaintext after the 234 reply");
			return -1;
		}
		c->ssl = tls_handshake(c->fd, c, NULL, c->err, sizeof(c->err));
		if (c->ssl == NULL)
			return -1;
	}
	if ((code = cmd_expect(c, "USER", g.user, 331, 230)) < 0)
		return -1;
	c->mark[2] = now_s();
	if (code == 331 && cmd_expect(c, "PASS", g.pass, 230, 0) < 0) {
		/* the reply, never the password */
		return -1;
	}
	c->mark[3] = now_s();
	if (g.tls &&
	    (cmd_expect(c, "PBSZ", "0", 200, 0) < 0 ||
		cmd_expect(c, "PROT", "P", 200, 0) < 0))
		return -1;
	return 0;
}

/* Parses "(|||port|)" of a 229 reply. */
static int
parse_epsv(const char *t, unsigned *port)
{
	const char *p = strchr(t, '(');
	uint64_t v = 0;
	char d;
	int n = 0;

	if (p == NULL || p[1] == '\0')
		return -1;
	d = p[1];
	if (p[2] != d || p[3] != d)
		return -1;
	for (p += 4; *p >= '0' && *p <= '9' && n < 6; p++, n++)
		v = v * 10 + (uint64_t)(*p - '0');
	if (n == 0 || *p != d || v == 0 || v > 65535)
		return -1;
	*port = (unsigned)v;
	return 0;
}

/* Parses "h1,h2,h3,h4,p1,p2" of a 227 reply (the address is ignored:
 * data goes to HOST like the control connection). */
static int
parse_pasv(const char *t, unsigned *port)
{
	const char *p = strchr(t, '(');
	unsigned v[6];
	int i, n;

	if (p == NULL)
		p = t + 3; /* RFC 1123: the numbers may come unbracketed */
	while (*p != '\0' && (*p < '0' || *p > '9'))
		p++;
	for (i = 0; i < 6; i++) {
		v[i] = 0;
		for (n = 0; *p >= '0' && *p <= '9' && n < 3; p++, n++)
			v[i] = v[i] * 10 + (unsigned)(*p - '0');
		if (n == 0 || v[i] > 255 || (i < 5 && *p++ != ','))
			return -1;
	}
	*port = v[4] * 256 + v[5];
	return *port == 0 ? -1 : 0;
}

/* EPSV (PASV when 500/502) and connect; TLS comes after the 1xx. */
static int
data_open(struct conn *c, struct dlink *d)
{
	unsigned port;
	int code;

	d->fd = -1;
	d->ssl = NULL;
	if (!c->no_epsv) {
		if (cmd_send(c, "EPSV") != 0 || (code = reply_read(c)) < 0)
			return -1;
		if (code == 229) {
			if (parse_epsv(c->text, &port) != 0) {
				seterr(c, "cannot parse EPSV reply: %s",
				    c->text);
				return -1;
			}
			goto connect;
		}
		if (code != 500 && code != 502) {
			seterr(c, "unexpected reply to EPSV: %s", c->text);
			return -1;
		}
		c->no_epsv = 1;
	}
	if (g.addr.ss_family != AF_INET) {
		seterr(c, "EPSV refused over IPv6: %s", c->text);
		return -1;
	}
	if (cmd_expect(c, "PASV", NULL, 227, 0) < 0)
		return -1;
	if (parse_pasv(c->text, &port) != 0) {
		seterr(c, "cannot parse PASV reply: %s", c->text);
		return -1;
	}
connect:
	if ((d->fd = tcp_connect(port, c->err, sizeof(c->err))) < 0)
		return -1;
	return 0;
}

/* After the 1xx: TLS on the data connection, resuming the control's. */
static int
data_tls(struct conn *c, struct dlink *d)
{
	SSL_SESSION *s;

	if (!g.tls)
		return 0;
	if (c->sess == NULL) {
		/* (a reply was read after the control handshake, so any
		 * TLS 1.3 ticket the server sent has been seen) */
		if (!atomic_exchange(&warned_no_session, 1))
			fprintf(stderr,
			    "kfload: warning: the server gave the "
			    "control connection no TLS session to resume; "
			    "data connections do full handshakes\n");
		d->ssl = tls_handshake(d->fd, NULL, NULL, c->err,
		    sizeof(c->err));
		return d->ssl == NULL ? -1 : 0;
	}
	/*
	 * A copy: at the end of a resumed TLS 1.3 handshake OpenSSL's client
	 * cache drops the session it used ("tickets are single use"), which
	 * would leave the control's session unusable for the next transfer.
	 */
	if ((s = SSL_SESSION_dup(c->sess)) == NULL) {
		seterr(c, "out of memory (TLS session)");
		return -1;
	}
	d->ssl = tls_handshake(d->fd, NULL, s, c->err, sizeof(c->err));
	SSL_SESSION_free(s);
	return d->ssl == NULL ? -1 : 0;
}

/*
 * Closes a data connection. upload: close_notify (TLS), then FIN, then
 * waits for the server's close: closing with bytes unread (a TLS 1.3
 * ticket the server sent) would reset the connection and could cost the
 * server the end of the upload. A finished download answers the server's
 * close_notify.
 */
static int
data_close(struct dlink *d, int upload, char *err, size_t errsz)
{
	char e[256], junk[4096];
	ssize_t r;
	int rc = 0;

	ERR_clear_error();
	if (d->ssl != NULL && upload && SSL_shutdown(d->ssl) < 0) {
		snprintf(err, errsz, "TLS close_notify: %s",
		    ssl_err_text(e, sizeof(e)));
		rc = -1;
	} else if (d->ssl != NULL && !upload &&
	    (SSL_get_shutdown(d->ssl) & SSL_RECEIVED_SHUTDOWN))
		(void)SSL_shutdown(d->ssl);
	if (upload && rc == 0 && d->fd >= 0) {
		if (shutdown(d->fd, SHUT_WR) != 0) {
			snprintf(err, errsz, "shutdown: %s", strerror(errno));
			rc = -1;
		}
		while (rc == 0 && (r = recv(d->fd, junk, sizeof(junk), 0)) != 0)
			if (r < 0 && errno != EINTR) {
				snprintf(err, errsz,
				    "waiting for the server to "
				    "close the data connection: %s",
				    errno == EAGAIN ? "timeout" :
						      strerror(errno));
				rc = -1;
			}
	}
	SSL_free(d->ssl);
	d->ssl = NULL;
	if (d->fd >= 0 && close(d->fd) != 0 && rc == 0) {
		snprintf(err, errsz, "close: %s", strerror(errno));
		rc = -1;
	}
	d->fd = -1;
	return rc;
}

static int
mem_add(struct mem *m, const char *p, size_t n, char *err, size_t errsz)
{
	size_t cap;
	char *q;

	if (n > LIST_MAX_BYTES - m->len) {
		snprintf(err, errsz, "listing larger than %zu bytes",
		    LIST_MAX_BYTES);
		return -1;
	}
	if (m->len + n > m->cap) {
		cap = m->cap == 0 ? XFER_BUF_BYTES : m->cap;
		while (cap < m->len + n)
			cap *= 2;
		if ((q = realloc(m->p, cap)) == NULL) {
			snprintf(err, errsz, "out of memory");
			return -1;
		}
		m->p = q;
		m->cap = cap;
	}
	memcpy(m->p + m->len, p, n);
	m->len += n;
	return 0;
}

/*
 * THE receive loop of retr, pretr, raw (and the listings): reads the data
 * stream into buf until EOF, counting bytes, keeping them in keep when
 * keep is not NULL. Plain: recv(); TLS: SSL_read into the same buffer.
 */
static int
data_drain(int fd, SSL *ssl, char *buf, size_t bufsz, struct mem *keep,
    uint64_t *bytes, char *err, size_t errsz)
{
	ssize_t r;

	*bytes = 0;
	while ((r = io_read(fd, ssl, buf, bufsz, err, errsz)) > 0) {
		*bytes += (uint64_t)r;
		if (keep != NULL &&
		    mem_add(keep, buf, (size_t)r, err, errsz) != 0)
			return -1;
	}
	return r == 0 ? 0 : -1;
}

/* VERB ARG over a data connection into buf (and keep); t0/t1: command
 * sent, 226 read. */
static int
xfer_get(struct conn *c, const char *verb, const char *arg, char *buf,
    size_t bufsz, struct mem *keep, uint64_t *bytes, double *t0, double *t1)
{
	struct dlink d;
	int rc;

	if (data_open(c, &d) != 0)
		return -1;
	*t0 = now_s();
	rc = cmd_send(c, "%s %s", verb, arg) != 0 ||
		reply_expect(c, verb, 150, 125) < 0 || data_tls(c, &d) != 0 ||
		data_drain(d.fd, d.ssl, buf, bufsz, keep, bytes, c->err,
		    sizeof(c->err)) != 0 ?
	    -1 :
	    0;
	if (data_close(&d, 0, c->err, sizeof(c->err)) != 0)
		rc = -1;
	if (rc == 0 && reply_expect(c, verb, 226, 0) < 0)
		rc = -1;
	*t1 = now_s();
	return rc;
}

/* Logs in and sends TYPE I, or dies. */
static struct conn *
login_or_die(void)
{
	struct conn *c = conn_new();

	if (conn_login(c) != 0 || cmd_expect(c, "TYPE", "I", 200, 0) < 0)
		die("%s", c->err);
	return c;
}

static void
quit_and_close(struct conn *c)
{
	if (cmd_send(c, "QUIT") == 0)
		(void)reply_read(c);
	conn_close(c);
}

static char *
xfer_buf(void)
{
	char *b = malloc(XFER_BUF_BYTES);

	if (b == NULL)
		die("out of memory");
	return b;
}

static double
mbps(uint64_t bytes, double s)
{
	return s > 0 ? (double)bytes / s / 1e6 : 0.0;
}

/* ---- modes ----------------------------------------------------------------- */

static int
mode_retr(int argc, char **argv)
{
	struct conn *c;
	uint64_t bytes;
	double t0, t1;
	char *buf;

	if (argc != 1)
		usage();
	c = login_or_die();
	buf = xfer_buf();
	if (xfer_get(c, "RETR", argv[0], buf, XFER_BUF_BYTES, NULL, &bytes, &t0,
		&t1) != 0)
		die("RETR %s: %s", argv[0], c->err);
	quit_and_close(c);
	printf("bytes=%llu seconds=%.6f MBps=%.1f\n", (unsigned long long)bytes,
	    t1 - t0, mbps(bytes, t1 - t0));
	free(buf);
	free(c);
	return 0;
}

static int
mode_stor(int argc, char **argv)
{
	struct conn *c;
	struct dlink d;
	uint64_t total, left;
	double t0, t1;
	size_t i, n;
	char *buf;
	int rc;

	if (argc != 2)
		usage();
	total = arg_u64("BYTES", argv[1], 0, UINT64_MAX / 2);
	c = login_or_die();
	buf = xfer_buf();
	for (i = 0; i < XFER_BUF_BYTES; i++)
		buf[i] = (char)('A' + (i * 7 + i / 251) % 26);
	if (data_open(c, &d) != 0)
		die("STOR %s: %s", argv[0], c->err);
	t0 = now_s();
	rc = cmd_send(c, "STOR %s", argv[0]) != 0 ||
	    reply_expect(c, "STOR", 150, 125) < 0 || data_tls(c, &d) != 0;
	for (left = total; rc == 0 && left > 0; left -= n) {
		n = left < XFER_BUF_BYTES ? (size_t)left : XFER_BUF_BYTES;
		rc = io_write_all(d.fd, d.ssl, buf, n, c->err, sizeof(c->err));
	}
	if (data_close(&d, rc == 0, c->err, sizeof(c->err)) != 0)
		rc = -1;
	if (rc != 0 || reply_expect(c, "STOR", 226, 0) < 0)
		die("STOR %s: %s", argv[0], c->err);
	t1 = now_s();
	quit_and_close(c);
	printf("bytes=%llu seconds=%.6f MBps=%.1f\n", (unsigned long long)total,
	    t1 - t0, mbps(total, t1 - t0));
	free(buf);
	free(c);
	return 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
mode_list(const char *verb, int argc, char **argv)
{
	struct mem m = { NULL, 0, 0 };
	uint64_t k = 1, bytes = 0, lines = 0, i;
	struct conn *c;
	double t0, t1, *sec, med;
	char *buf;
	size_t j;

	if (argc >= 2 && strcmp(argv[0], "-n") == 0) {
		k = arg_u64("-n", argv[1], 1, 10000);
		argc -= 2;
		argv += 2;
	}
	if (argc != 1)
		usage();
	if ((sec = calloc((size_t)k, sizeof(*sec))) == NULL)
		die("out of memory");
	c = login_or_die();
	buf = xfer_buf();
	for (i = 0; i < k; i++) {
		m.len = 0;
		if (xfer_get(c, verb, argv[0], buf, XFER_BUF_BYTES, &m, &bytes,
			&t0, &t1) != 0)
			die("%s %s: %s", verb, argv[0], c->err);
		sec[i] = t1 - t0;
	}
	quit_and_close(c);
	for (j = 0; j < m.len; j++)
		lines += m.p[j] == '\n';
	if (m.len > 0 && m.p[m.len - 1] != '\n')
		lines++;
	qsort(sec, (size_t)k, sizeof(*sec), cmp_double);
	med = k % 2 ? sec[k / 2] : (sec[k / 2 - 1] + sec[k / 2]) / 2;
	if (k > 1)
		printf("bytes=%llu lines=%llu seconds=%.6f min=%.6f "
		       "max=%.6f\n",
		    (unsigned long long)bytes, (unsigned long long)lines, med,
		    sec[0], sec[k - 1]);
	else
		printf("bytes=%llu lines=%llu seconds=%.6f\n",
		    (unsigned long long)bytes, (unsigned long long)lines, med);
	free(m.p);
	free(sec);
	free(buf);
	free(c);
	return 0;
}

static int
mode_raw(int argc, char **argv)
{
	char err[512];
	uint64_t bytes;
	double t0, t1;
	char *buf;
	int fd;

	if (argc != 1)
		usage();
	buf = xfer_buf();
	t0 = now_s();
	if ((fd = tcp_connect((unsigned)arg_u64("PORT", argv[0], 1, 65535), err,
		 sizeof(err))) < 0)
		die("%s", err);
	if (data_drain(fd, NULL, buf, XFER_BUF_BYTES, NULL, &bytes, err,
		sizeof(err)) != 0)
		die("raw: %s", err);
	t1 = now_s();
	if (close(fd) != 0)
		die("close: %s", strerror(errno));
	printf("bytes=%llu seconds=%.6f MBps=%.1f\n", (unsigned long long)bytes,
	    t1 - t0, mbps(bytes, t1 - t0));
	free(buf);
	return 0;
}

static void
start_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
	pthread_attr_t a;
	int r;

	if ((r = pthread_attr_init(&a)) != 0 ||
	    (r = pthread_attr_setstacksize(&a, THREAD_STACK)) != 0 ||
	    (r = pthread_create(t, &a, fn, arg)) != 0)
		die("cannot start a thread: %s", strerror(r));
	(void)pthread_attr_destroy(&a);
}

static void
join_thread(pthread_t t)
{
	int r;

	if ((r = pthread_join(t, NULL)) != 0)
		die("pthread_join: %s", strerror(r));
}

static void
raise_nofile(uint64_t need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		die("getrlimit: %s", strerror(errno));
	if (rl.rlim_cur >= need)
		return;
	rl.rlim_cur = need;
	if (rl.rlim_max < need)
		rl.rlim_max = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		die("cannot raise RLIMIT_NOFILE to %llu: %s",
		    (unsigned long long)need, strerror(errno));
}

/* pretr: one stream per thread */
struct pretr {
	pthread_barrier_t *bar;
	const char *pattern;
	int index;
	int ok;
	uint64_t bytes;
	double end;
	char err[TEXT_BYTES + 512];
};

/* PATTERN with "%d" replaced by index (once; other text kept as is). */
static int
pattern_path(const char *pat, int index, char *out, size_t cap)
{
	const char *p = strstr(pat, "%d");
	int n;

	if (p == NULL)
		n = snprintf(out, cap, "%s", pat);
	else
		n = snprintf(out, cap, "%.*s%d%s", (int)(p - pat), pat, index,
		    p + 2);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static void *
pretr_run(void *arg)
{
	struct pretr *p = arg;
	struct conn *c = conn_new();
	char path[4096], *buf = malloc(XFER_BUF_BYTES);
	struct dlink d = { -1, NULL };
	int ready, rc = -1, w;

	ready = buf != NULL &&
	    pattern_path(p->pattern, p->index, path, sizeof(path)) == 0;
	if (!ready)
		seterr(c, "out of memory or path too long");
	else
		ready = conn_login(c) == 0 &&
		    cmd_expect(c, "TYPE", "I", 200, 0) >= 0 &&
		    data_open(c, &d) == 0;
	w = pthread_barrier_wait(p->bar);
	if (w != 0 && w != PTHREAD_BARRIER_SERIAL_THREAD)
		seterr(c, "pthread_barrier_wait: %s", strerror(w));
	else if (ready) {
		rc = cmd_send(c, "RETR %s", path) != 0 ||
			reply_expect(c, "RETR", 150, 125) < 0 ||
			data_tls(c, &d) != 0 ||
			data_drain(d.fd, d.ssl, buf, XFER_BUF_BYTES, NULL,
			    &p->bytes, c->err, sizeof(c->err)) != 0 ?
		    -1 :
		    0;
		if (data_close(&d, 0, c->err, sizeof(c->err)) != 0)
			rc = -1;
		if (rc == 0 && reply_expect(c, "RETR", 226, 0) < 0)
			rc = -1;
		p->end = now_s();
	}
	if (d.fd >= 0)
		(void)data_close(&d, 0, c->err, sizeof(c->err));
	p->ok = rc == 0;
	if (!p->ok)
		snprintf(p->err, sizeof(p->err), "stream %d (%.200s): %.1200s",
		    p->index, ready ? path : "login", c->err);
	if (c->fd >= 0)
		quit_and_close(c);
	free(c);
	free(buf);
	return NULL;
}

static int
mode_pretr(int argc, char **argv)
{
	pthread_barrier_t bar;
	struct pretr *p;
	pthread_t *t;
	uint64_t total = 0, n;
	double t0, end = 0;
	int i, failed = 0, w;

	if (argc != 2)
		usage();
	n = arg_u64("N", argv[0], 1, 1000);
	raise_nofile(2 * n + 64);
	if ((p = calloc((size_t)n, sizeof(*p))) == NULL ||
	    (t = calloc((size_t)n, sizeof(*t))) == NULL)
		die("out of memory");
	if ((w = pthread_barrier_init(&bar, NULL, (unsigned)n + 1)) != 0)
		die("pthread_barrier_init: %s", strerror(w));
	for (i = 0; i < (int)n; i++) {
		p[i].bar = &bar;
		p[i].pattern = argv[1];
		p[i].index = i;
		start_thread(&t[i], pretr_run, &p[i]);
	}
	w = pthread_barrier_wait(&bar);
	if (w != 0 && w != PTHREAD_BARRIER_SERIAL_THREAD)
		die("pthread_barrier_wait: %s", strerror(w));
	t0 = now_s();
	for (i = 0; i < (int)n; i++) {
		join_thread(t[i]);
		if (!p[i].ok) {
			fprintf(stderr, "kfload: pretr: %s\n", p[i].err);
			failed++;
		}
		total += p[i].bytes;
		if (p[i].end > end)
			end = p[i].end;
	}
	(void)pthread_barrier_destroy(&bar);
	if (failed)
		die("pretr: %d of %llu streams failed", failed,
		    (unsigned long long)n);
	printf("streams=%llu bytes=%llu seconds=%.6f MBps=%.1f\n",
	    (unsigned long long)n, (unsigned long long)total, end - t0,
	    mbps(total, end - t0));
	free(p);
	free(t);
	return 0;
}

/* sessions: login-rate loop */
static atomic_int sess_stop;
static atomic_int sess_errs;

/* Latencies in ms, growable up to LAT_MAX. */
struct lat {
	double *v;
	size_t n, cap;
};

struct sessw {
	pthread_barrier_t *bar;
	uint64_t done, failed;
	struct lat all; /* each completed session */
	struct lat phase[NPHASE]; /* with --phases: each of its phases */
	double end;
};

static const char *const phase_name[NPHASE] = { "greeting", "USER", "PASS",
	"PWD", "QUIT" };

static int
session_once(struct conn *c)
{
	int rc = -1;

	if (conn_login(c) == 0 && cmd_expect(c, "PWD", NULL, 257, 0) >= 0) {
		c->mark[4] = now_s();
		if (cmd_expect(c, "QUIT", NULL, 221, 0) >= 0)
			rc = 0;
	}
	conn_close(c);
	c->mark[5] = now_s();
	return rc;
}

static int
lat_add(struct lat *l, double ms)
{
	double *q;
	size_t cap;

	if (l->n == l->cap) {
		if (l->cap >= LAT_MAX)
			return -1;
		cap = l->cap == 0 ? 4096 : l->cap * 2;
		if ((q = realloc(l->v, cap * sizeof(*q))) == NULL)
			return -1;
		l->v = q;
		l->cap = cap;
	}
	l->v[l->n++] = ms;
	return 0;
}

/* Adds one completed session to the thread's latencies. */
static int
lat_session(struct sessw *w, const struct conn *c)
{
	int k;

	if (lat_add(&w->all, (c->mark[NPHASE] - c->mark[0]) * 1e3) != 0)
		return -1;
	for (k = 0; g.phases && k < NPHASE; k++)
		if (lat_add(&w->phase[k],
			(c->mark[k + 1] - c->mark[k]) * 1e3) != 0)
			return -1;
	return 0;
}

static void *
sessions_run(void *arg)
{
	struct sessw *w = arg;
	struct conn *c = conn_new();
	int r;

	r = pthread_barrier_wait(w->bar);
	if (r != 0 && r != PTHREAD_BARRIER_SERIAL_THREAD)
		die("pthread_barrier_wait: %s", strerror(r));
	while (!atomic_load(&sess_stop)) {
		if (session_once(c) == 0) {
			if (lat_session(w, c) != 0)
				die("out of memory (latencies)");
			w->done++;
		} else {
			w->failed++;
			if (atomic_fetch_add(&sess_errs, 1) < ERR_PRINT_MAX)
				fprintf(stderr, "kfload: session failed: %s\n",
				    c->err);
		}
	}
	w->end = now_s();
	free(c);
	return NULL;
}

static double
pct(const double *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(p * (double)n + 0.999999);
	return v[i == 0 ? 0 : (i > n ? n - 1 : i - 1)];
}

/*
 * Phase k's (-1: whole sessions') latencies of all n threads in one
 * sorted array of *count; the threads' arrays are freed.
 */
static double *
lat_merge(struct sessw *w, size_t n, int k, size_t *count)
{
	struct lat *l;
	double *all;
	size_t i, total = 0;

	for (i = 0; i < n; i++)
		total += (k < 0 ? &w[i].all : &w[i].phase[k])->n;
	if ((all = malloc((total > 0 ? total : 1) * sizeof(*all))) == NULL)
		die("out of memory");
	for (i = 0, total = 0; i < n; i++) {
		l = k < 0 ? &w[i].all : &w[i].phase[k];
		if (l->n > 0)
			memcpy(all + total, l->v, l->n * sizeof(*all));
		total += l->n;
		free(l->v);
		l->v = NULL;
	}
	qsort(all, total, sizeof(*all), cmp_double);
	*count = total;
	return all;
}

static int
mode_sessions(int argc, char **argv)
{
	pthread_barrier_t bar;
	struct timespec ts;
	struct sessw *w;
	pthread_t *t;
	uint64_t n, secs, done = 0, failed = 0;
	double t0, end = 0, *all;
	size_t nlat, i;
	int k, r;

	if (argc != 2)
		usage();
	n = arg_u64("C", argv[0], 1, 10000);
	secs = arg_u64("SECONDS", argv[1], 1, 86400);
	raise_nofile(n + 64);
	if ((w = calloc((size_t)n, sizeof(*w))) == NULL ||
	    (t = calloc((size_t)n, sizeof(*t))) == NULL)
		die("out of memory");
	if ((r = pthread_barrier_init(&bar, NULL, (unsigned)n + 1)) != 0)
		die("pthread_barrier_init: %s", strerror(r));
	for (i = 0; i < n; i++) {
		w[i].bar = &bar;
		start_thread(&t[i], sessions_run, &w[i]);
	}
	r = pthread_barrier_wait(&bar);
	if (r != 0 && r != PTHREAD_BARRIER_SERIAL_THREAD)
		die("pthread_barrier_wait: %s", strerror(r));
	t0 = now_s();
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = 0;
	while (nanosleep(&ts, &ts) != 0)
		if (errno != EINTR)
			die("nanosleep: %s", strerror(errno));
	atomic_store(&sess_stop, 1);
	for (i = 0; i < n; i++) {
		join_thread(t[i]);
		done += w[i].done;
		failed += w[i].failed;
		if (w[i].end > end)
			end = w[i].end;
	}
	all = lat_merge(w, (size_t)n, -1, &nlat);
	(void)pthread_barrier_destroy(&bar);
	/* sessions still running at the deadline finish and count */
	printf("clients=%llu sessions=%llu failed=%llu seconds=%.6f "
	       "rate=%.1f p50ms=%.3f p99ms=%.3f\n",
	    (unsigned long long)n, (unsigned long long)done,
	    (unsigned long long)failed, end - t0,
	    end > t0 ? (double)done / (end - t0) : 0.0, pct(all, nlat, 0.50),
	    pct(all, nlat, 0.99));
	free(all);
	for (k = 0; g.phases && k < NPHASE; k++) {
		all = lat_merge(w, (size_t)n, k, &nlat);
		printf("phase=%s p50ms=%.3f p90ms=%.3f p99ms=%.3f maxms=%.3f\n",
		    phase_name[k], pct(all, nlat, 0.50), pct(all, nlat, 0.90),
		    pct(all, nlat, 0.99), pct(all, nlat, 1.0));
		free(all);
	}
	free(w);
	free(t);
	return 0;
}

/* hold: N idle logged-in sessions */
struct hold {
	struct conn **c;
	int *ok;
	uint64_t n;
	atomic_ullong next;
};

static void *
hold_run(void *arg)
{
	struct hold *h = arg;
	unsigned long long i;

	while ((i = atomic_fetch_add(&h->next, 1)) < h->n) {
		h->c[i] = conn_new();
		h->ok[i] = conn_login(h->c[i]) == 0;
	}
	return NULL;
}

/* Blocks until stdin is at EOF or SIGTERM/SIGINT arrives. */
static void
hold_wait(int sfd)
{
	struct pollfd p[2] = { { 0, POLLIN, 0 }, { sfd, POLLIN, 0 } };
	char b[4096];
	ssize_t r;

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		if (p[1].revents != 0)
			return;
		if (p[0].revents & POLLNVAL)
			return; /* no stdin at all: as EOF */
		if (p[0].revents != 0) {
			r = read(0, b, sizeof(b));
			if (r == 0 ||
			    (r < 0 && errno != EINTR && errno != EAGAIN))
				return;
		}
	}
}

/* SIGTERM/SIGINT blocked in every thread, read through a signalfd. */
static int
hold_signals(void)
{
	sigset_t ss;
	int sfd;

	if (sigemptyset(&ss) != 0 || sigaddset(&ss, SIGTERM) != 0 ||
	    sigaddset(&ss, SIGINT) != 0 ||
	    pthread_sigmask(SIG_BLOCK, &ss, NULL) != 0)
		die("cannot block SIGTERM/SIGINT");
	if ((sfd = signalfd(-1, &ss, SFD_CLOEXEC)) < 0)
		die("signalfd: %s", strerror(errno));
	return sfd;
}

/* Logs all in, HOLD_INFLIGHT at a time; returns how many could. */
static uint64_t
hold_login_all(struct hold *h)
{
	pthread_t t[HOLD_INFLIGHT];
	uint64_t i, nt, held = 0, shown = 0;

	nt = h->n < HOLD_INFLIGHT ? h->n : HOLD_INFLIGHT;
	for (i = 0; i < nt; i++)
		start_thread(&t[i], hold_run, h);
	for (i = 0; i < nt; i++)
		join_thread(t[i]);
	for (i = 0; i < h->n; i++) {
		if (h->ok[i])
			held++;
		else if (shown++ < 20)
			fprintf(stderr, "kfload: hold: session %llu: %s\n",
			    (unsigned long long)i, h->c[i]->err);
	}
	if (shown > 20)
		fprintf(stderr, "kfload: hold: and %llu more failures\n",
		    (unsigned long long)(shown - 20));
	return held;
}

static void
hold_close_all(struct hold *h)
{
	uint64_t i;

	for (i = 0; i < h->n; i++)
		if (h->ok[i] && cmd_send(h->c[i], "QUIT") != 0)
			fprintf(stderr, "kfload: hold: QUIT %llu: %s\n",
			    (unsigned long long)i, h->c[i]->err);
	for (i = 0; i < h->n; i++) {
		conn_close(h->c[i]);
		free(h->c[i]);
	}
}

static int
mode_hold(int argc, char **argv)
{
	struct hold h;
	uint64_t held;
	double t0;
	int sfd;

	if (argc != 1)
		usage();
	h.n = arg_u64("N", argv[0], 1, 100000);
	raise_nofile(h.n + 64);
	if ((h.c = calloc((size_t)h.n, sizeof(*h.c))) == NULL ||
	    (h.ok = calloc((size_t)h.n, sizeof(*h.ok))) == NULL)
		die("out of memory");
	atomic_init(&h.next, 0);
	sfd = hold_signals();
	t0 = now_s();
	held = hold_login_all(&h);
	if (held == h.n) {
		printf("held=%llu seconds=%.6f\n", (unsigned long long)held,
		    now_s() - t0);
		if (fflush(stdout) != 0)
			die("stdout: %s", strerror(errno));
		hold_wait(sfd);
	}
	hold_close_all(&h);
	close(sfd);
	free(h.c);
	free(h.ok);
	if (held != h.n)
		die("hold: %llu of %llu sessions could not log in",
		    (unsigned long long)(h.n - held), (unsigned long long)h.n);
	printf("closed=%llu\n", (unsigned long long)held);
	return 0;
}

/* ---- main -------------------------------------------------------------- */

int
main(int argc, char **argv)
{
	const char *mode;
	int i;

	die_prog = "kfload";
	g.port = "21";
	g.user = "anonymous";
	g.pass = "kfload@";
	g.timeout_s = XFER_TIMEOUT_S;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--phases") == 0)
			g.phases = 1;
		else if (strcmp(argv[i], "--tls") == 0)
			g.tls = 1;
		else if (strcmp(argv[i], "--v6") == 0)
			g.v6 = 1;
		else if (i + 1 >= argc)
			usage();
		else if (strcmp(argv[i], "-h") == 0)
			g.host = argv[++i];
		else if (strcmp(argv[i], "-p") == 0) {
			(void)arg_u64("-p", argv[i + 1], 1, 65535);
			g.port = argv[++i];
		} else if (strcmp(argv[i], "-u") == 0)
			g.user = argv[++i];
		else if (strcmp(argv[i], "-w") == 0)
			g.pass = argv[++i];
		else
			usage();
	}
	if (i >= argc)
		usage();
	if (g.host == NULL)
		g.host = g.v6 ? "::1" : "127.0.0.1";
	mode = argv[i++];
	argc -= i;
	argv += i;
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		die("signal: %s", strerror(errno));
	setvbuf(stderr, NULL, _IOLBF, 0);
	resolve();
	if (g.tls)
		tls_init();
	if (strcmp(mode, "sessions") == 0 || strcmp(mode, "hold") == 0)
		g.timeout_s = SESS_TIMEOUT_S;
	if (strcmp(mode, "retr") == 0)
		return mode_retr(argc, argv);
	if (strcmp(mode, "stor") == 0)
		return mode_stor(argc, argv);
	if (strcmp(mode, "pretr") == 0)
		return mode_pretr(argc, argv);
	if (strcmp(mode, "list") == 0)
		return mode_list("LIST", argc, argv);
	if (strcmp(mode, "mlsd") == 0)
		return mode_list("MLSD", argc, argv);
	if (strcmp(mode, "nlst") == 0)
		return mode_list("NLST", argc, argv);
	if (strcmp(mode, "sessions") == 0)
		return mode_sessions(argc, argv);
	if (strcmp(mode, "hold") == 0)
		return mode_hold(argc, argv);
	if (strcmp(mode, "raw") == 0)
		return mode_raw(argc, argv);
	usage();
	return 1;
}
