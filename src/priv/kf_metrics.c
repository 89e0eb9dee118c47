/*
 * kf_metrics.c - kf-metrics: the metrics endpoint (metrics_listen), a role
 * of its own, `keepftpd-worker --metrics` executed afresh by the
 * listener (src/priv/lsn_metrics.c) with three descriptors: the listening
 * socket (3, bound by the listener), the sealed spawner configuration
 * (4: the service user, the empty root, the log sink) and the counters
 * page opened O_RDONLY (5). It maps the page read-only (and checks
 * that it cannot make it writable), closes the configuration and the
 * page's descriptor, then enters its sandbox: the service user in the
 * empty root (rootless: its ids pinned, Landlock with no file at all),
 * no capability, no_new_privs, its own seccomp list (SANDBOX_METRICS).
 * It serves up to KF_METRICS_CONNS_MAX connections at once, each for at
 * most KF_METRICS_REQ_MS: one request head (http_judge) and one answer,
 * then the connection is closed. It never writes anything but
 * sockets and its log, and never reads anything but its sockets and
 * the page.
 * Runs in: kf-metrics.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/sys.h"
#include "../metrics/http.h"
#include "../metrics/metrics.h"
#include "../sandbox/sandbox.h"
#include "kf_metrics.h"
#include "spawn.h"

#ifndef KF_PROJECT_VERSION
#define KF_PROJECT_VERSION "unknown"
#endif

enum conn_state {
	C_FREE,
	C_READ, /* the request head */
	C_WRITE, /* the answer */
	C_DRAIN, /* answered: what the client still sends is dropped */
};

struct conn {
	enum conn_state st;
	int fd;
	int64_t deadline_ms;
	size_t in, outlen, outoff;
	char req[KF_METRICS_REQ_MAX];
	char out[KF_METRICS_OUT_MAX];
};

static struct conn conns[KF_METRICS_CONNS_MAX];
static const struct metrics_page *page;
static char body[KF_METRICS_OUT_MAX];

static void __attribute__((noreturn)) fatal(const char *why)
{
	log_err("kf-metrics: %-s", why);
	_exit(1);
}

/* The spawners' sealed configuration, exactly one struct. */
static void
read_conf(struct spawn_conf *sc)
{
	spawn_conf_take(MX_FD_CONF, sc);
}

/* Read-only, and provably so: a writable view must fail to exist. */
static void
map_page(void)
{
	struct stat st;
	void *p;

	if (fstat(MX_FD_PAGE, &st) < 0 || st.st_size != sizeof(*page))
		fatal("the counters page has the wrong size");
	p = mmap(NULL, sizeof(*page), PROT_READ, MAP_SHARED, MX_FD_PAGE, 0);
	if (p == MAP_FAILED)
		fatal("cannot map the counters page");
	if (mprotect(p, sizeof(*page), PROT_READ | PROT_WRITE) == 0 ||
	    mmap(NULL, sizeof(*page), PROT_READ | PROT_WRITE, MAP_SHARED,
		MX_FD_PAGE, 0) != MAP_FAILED ||
	    (fcntl(MX_FD_PAGE, F_GETFL) & O_ACCMODE) != O_RDONLY)
		fatal("the counters page could be made writable");
	close(MX_FD_PAGE);
	page = p;
	if (page->magic != METRICS_MAGIC || page->size != sizeof(*page))
		fatal("the counters page has the wrong layout");
}

static void
enter_sandbox(const struct spawn_conf *sc)
{
	struct sandbox_spec sp = { .phase = SANDBOX_METRICS,
		.root = "/",
		.parent = getppid() };
	int null_fd;

	if ((null_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0 ||
	    dup2(null_fd, STDIN_FILENO) < 0 || dup2(null_fd, STDOUT_FILENO) < 0)
		fatal("cannot open /dev/null");
	close(null_fd);
	tzset(); /* strftime's zone file: read now, never in the sandbox */
	if (geteuid() == 0) {
		if (!sc->service_ok)
			fatal("service_user does not exist, or is root");
		sp.root = sc->conf.empty_dir;
		sp.uid = sc->service_uid;
		sp.gid = sc->service_gid;
	}
	(void)sandbox_enter(&sp);
}

/* The answer to a verdict, headers and (but for HEAD) the body. */
static void
answer(struct conn *c, enum http_verdict v)
{
	int code = v == HTTP_HEAD ? 200 : (int)v, n;
	long len;

	if (code == 200 &&
	    (len = metrics_render(page, KF_PROJECT_VERSION, body,
		 sizeof(body))) < 0)
		code = 500;
	if (code != 200)
		len = snprintf(body, sizeof(body), "%s\n", http_reason(code));
	n = snprintf(c->out, sizeof(c->out),
	    "HTTP/1.1 %d %s\r\nContent-Type: text/plain; version=0.0.4; "
	    "charset=utf-8\r\nContent-Length: %ld\r\n%sConnection: "
	    "close\r\n\r\n",
	    code, http_reason(code), len,
	    code == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (n < 0 || (size_t)n + (size_t)len > sizeof(c->out))
		n = 0; /* cannot happen: the bounds hold both */
	c->outlen = (size_t)n;
	if (v != HTTP_HEAD && n > 0) {
		memcpy(c->out + n, body, (size_t)len);
		c->outlen += (size_t)len;
	}
	c->outoff = 0;
	c->st = C_WRITE;
}

static void
conn_close(struct conn *c)
{
	sys_close(&c->fd);
	c->st = C_FREE;
}

static void
conn_read(struct conn *c)
{
	enum http_verdict v;
	ssize_t n;

	n = recv(c->fd, c->req + c->in, sizeof(c->req) - c->in, MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		conn_close(c);
		return;
	}
	if (n < 0)
		return;
	c->in += (size_t)n;
	if ((v = http_judge(c->req, c->in)) != HTTP_MORE)
		answer(c, v);
}

static void
conn_write(struct conn *c)
{
	ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
	    MSG_DONTWAIT | MSG_NOSIGNAL);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->outoff += (size_t)n;
	if (c->outoff < c->outlen)
		return;
	shutdown(c->fd, SHUT_WR);
	c->st = C_DRAIN;
}

/* After the answer: read to the client's end (no reset over its data). */
static void
conn_drain(struct conn *c)
{
	char junk[4096];
	ssize_t n = recv(c->fd, junk, sizeof(junk), MSG_DONTWAIT);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		conn_close(c);
}

static void
take_new(void)
{
	struct conn *c = NULL;
	size_t i;
	int fd;

	for (i = 0; i < KF_METRICS_CONNS_MAX && c == NULL; i++)
		if (conns[i].st == C_FREE)
			c = &conns[i];
	if (c == NULL)
		return;
	fd = accept4(MX_FD_LISTEN, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	c->fd = fd;
	c->st = C_READ;
	c->in = 0;
	c->deadline_ms = sys_now_ms() + KF_METRICS_REQ_MS;
}

/* Poll set and timeout: the listening socket while a slot is free. */
static int
prepare(struct pollfd *p, int64_t now, int *timeout)
{
	int64_t first = -1;
	size_t i, free_slots = 0;

	for (i = 0; i < KF_METRICS_CONNS_MAX; i++) {
		struct conn *c = &conns[i];

		p[i + 1] = (struct pollfd){ .fd = -1 };
		if (c->st == C_FREE) {
			free_slots++;
			continue;
		}
		if (now >= c->deadline_ms) {
			conn_close(c); /* slow client: no answer */
			free_slots++;
			continue;
		}
		p[i + 1].fd = c->fd;
		p[i + 1].events = c->st == C_WRITE ? POLLOUT : POLLIN;
		if (first < 0 || c->deadline_ms < first)
			first = c->deadline_ms;
	}
	p[0] = (struct pollfd){ .fd = free_slots > 0 ? MX_FD_LISTEN : -1,
		.events = POLLIN };
	*timeout = first < 0 ? -1 : (int)(first - now);
	return 0;
}

static void __attribute__((noreturn)) serve(void)
{
	struct pollfd p[KF_METRICS_CONNS_MAX + 1];
	size_t i;
	int timeout;

	for (;;) {
		prepare(p, sys_now_ms(), &timeout);
		if (poll(p, KF_METRICS_CONNS_MAX + 1, timeout) <= 0)
			continue;
		for (i = 0; i < KF_METRICS_CONNS_MAX; i++) {
			if (p[i + 1].fd < 0 || p[i + 1].revents == 0)
				continue;
			if (conns[i].st == C_READ)
				conn_read(&conns[i]);
			else if (conns[i].st == C_WRITE)
				conn_write(&conns[i]);
			else if (conns[i].st == C_DRAIN)
				conn_drain(&conns[i]);
		}
		if (p[0].revents & POLLIN)
			take_new();
	}
}

int
metrics_main(void)
{
	static struct spawn_conf sc;
	size_t i;

	(void)signal(SIGPIPE, SIG_IGN);
	read_conf(&sc);
	prctl(PR_SET_NAME, "kf-metrics");
	map_page();
	for (i = 0; i < KF_METRICS_CONNS_MAX; i++)
		conns[i].fd = -1;
	enter_sandbox(&sc);
	log_info("metrics: serving GET /metrics (kf-metrics, pid %ld)",
	    (long)getpid());
	serve();
}
