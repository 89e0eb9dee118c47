/*
 * lsn_metrics.c - the listener's side of metrics_listen. The counters
 * live in one memfd page that only this process writes: a MAP_SHARED
 * mapping marked MADV_DONTFORK (no monitor fork inherits it) whose
 * read-write descriptor is closed at once; what remains is a
 * descriptor reopened O_RDONLY through /proc/self/fd, the only thing
 * kf-metrics gets, so no writable view of the page exists outside the
 * listener. The listener counts what it sees (sessions, refusals by
 * reason, bans, session states) and what the monitors report on the
 * report channel (LSN_METRICS_*: a verification starting, a login's
 * result and method, a session's transfer and TLS counts), at most
 * KF_METRICS_REPORT_RATE a second (burst KF_METRICS_REPORT_BURST; the
 * rest are counted as dropped). It binds metrics_listen before any
 * fork and starts kf-metrics (src/priv/kf_metrics.c) from
 * keepftpd-worker with the socket, the spawners' sealed configuration
 * and the read-only page; one that ends is started again after
 * KF_SPAWN_RESTART_MS, sessions never notice.
 * Runs in: listener.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/rate.h"
#include "../common/sys.h"
#include "../ipc/ipc.h"
#include "../ipc/proto.h"
#include "kf_metrics.h"
#include "../net/addr.h"
#include "lsn_metrics.h"

static struct metrics_page *page; /* NULL: metrics off */
static int page_ro = -1, conf_fd = -1, sock = -1;
static struct spawn_kid kid = { "kf-metrics", 0, 0 };

static void
add(uint64_t *f, uint64_t v)
{
	__atomic_store_n(f, *f + v, __ATOMIC_RELAXED);
}

static void
set(uint64_t *f, uint64_t v)
{
	__atomic_store_n(f, v, __ATOMIC_RELAXED);
}

static int
bind_metrics(const char *text)
{
	struct conf_listen l;
	char host[ADDR_STR_MAX];
	int on = 1;

	if (conf_parse_listen(text, &l) < 0) {
		log_err("metrics_listen=%s is not ADDR:PORT", text);
		return -1;
	}
	sock = socket(l.addr.ss_family,
	    SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (sock < 0)
		return -1;
	setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (l.addr.ss_family == AF_INET6)
		setsockopt(sock, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	addr_to_str(&l.addr, host, sizeof(host));
	if (bind(sock, (const struct sockaddr *)&l.addr, l.len) < 0 ||
	    listen(sock, 16) < 0) {
		log_err("metrics: cannot listen on %-s port %u: %-s", host,
		    addr_port(&l.addr), strerror(errno));
		sys_close(&sock);
		return -1;
	}
	log_info("metrics: listening on %-s port %u (GET /metrics)", host,
	    addr_port(&l.addr));
	return 0;
}

/* The page, writable here only; page_ro is the view kf-metrics gets. */
static int
make_page(void)
{
	char path[64];
	void *p;
	int fd;

	if ((fd = memfd_create("kf-metrics", MFD_CLOEXEC)) < 0 ||
	    ftruncate(fd, sizeof(*page)) < 0 ||
	    (p = mmap(NULL, sizeof(*page), PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0)) == MAP_FAILED) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	page_ro = open(path, O_RDONLY | O_CLOEXEC);
	close(fd);
	if (page_ro < 0 || madvise(p, sizeof(*page), MADV_DONTFORK) < 0) {
		munmap(p, sizeof(*page));
		sys_close(&page_ro);
		return -1;
	}
	page = p;
	page->magic = METRICS_MAGIC;
	page->size = sizeof(*page);
	return 0;
}

static void
start(void)
{
	int fds[3] = { sock, conf_fd, page_ro };

	if (spawn_kid_fork(&kid) == 0)
		spawn_exec_flag("--metrics", fds, 3);
}

int
lsn_metrics_init(const struct conf *c, const struct spawn_conf *sc)
{
	if (c->metrics_listen[0] == '\0')
		return 0;
	if (bind_metrics(c->metrics_listen) < 0)
		return -1;
	if (make_page() < 0 ||
	    (conf_fd = sys_memfd_sealed("kf-conf", sc, sizeof(*sc))) < 0) {
		log_err("metrics: cannot make the counters page: %-s",
		    strerror(errno));
		return -1;
	}
	start();
	return 0;
}

void
lsn_metrics_forget(void)
{
	sys_close(&page_ro);
	sys_close(&conf_fd);
	sys_close(&sock);
}

int
lsn_metrics_reaped(pid_t p, int status)
{
	return spawn_kid_reaped(&kid, p, status);
}

int
lsn_metrics_tick(void)
{
	return spawn_kid_tick(&kid, start);
}

void
lsn_metrics_stop(void)
{
	spawn_kid_stop(&kid);
}

void
lsn_metrics_session(void)
{
	if (page != NULL)
		add(&page->sessions_total, 1);
}

void
lsn_metrics_refused(enum mx_reason r)
{
	if (page != NULL && (unsigned)r < MX_REASONS)
		add(&page->refusals[r], 1);
}

void
lsn_metrics_gauges(size_t prelogin, size_t logged_in, size_t banned)
{
	if (page == NULL)
		return;
	set(&page->sessions_prelogin, prelogin);
	set(&page->sessions_logged_in, logged_in);
	set(&page->bans_active, banned);
}

void
lsn_metrics_gone(int verifying)
{
	if (page != NULL && verifying && page->verifying > 0)
		add(&page->verifying, (uint64_t)-1);
}

static uint64_t
get_u64(struct ipc_msg *m, int *bad)
{
	uint32_t hi = 0, lo = 0;

	if (ipc_get_u32(m, &hi) < 0 || ipc_get_u32(m, &lo) < 0)
		*bad = 1;
	return (uint64_t)hi << 32 | lo;
}

/* LSN_METRICS_TALLY: counts since the session's last one. */
static int
take_tally(struct ipc_msg *m)
{
	uint32_t x[MX_DIRS][MX_RESULTS], tls[MX_RESULTS];
	uint64_t bytes[MX_DIRS];
	int d, r, bad = 0;

	for (d = 0; d < MX_DIRS; d++)
		for (r = 0; r < MX_RESULTS; r++)
			if (ipc_get_u32(m, &x[d][r]) < 0)
				bad = 1;
	for (d = 0; d < MX_DIRS; d++)
		bytes[d] = get_u64(m, &bad);
	for (r = 0; r < MX_RESULTS; r++)
		if (ipc_get_u32(m, &tls[r]) < 0)
			bad = 1;
	if (bad || ipc_end(m) < 0)
		return -1;
	for (d = 0; d < MX_DIRS; d++) {
		for (r = 0; r < MX_RESULTS; r++)
			add(&page->transfers[d][r], x[d][r]);
		add(&page->bytes[d], bytes[d]);
	}
	for (r = 0; r < MX_RESULTS; r++)
		add(&page->tls[r], tls[r]);
	return 0;
}

static int
take_login(struct ipc_msg *m, int *verifying)
{
	uint32_t result, method;

	if (ipc_get_u32(m, &result) < 0 || ipc_get_u32(m, &method) < 0 ||
	    ipc_end(m) < 0 || result >= MX_RESULTS || method >= MX_METHODS)
		return -1;
	add(&page->logins[method][result], 1);
	lsn_metrics_gone(*verifying);
	*verifying = 0;
	return 0;
}

static int
take_verify(struct ipc_msg *m, int *verifying)
{
	if (ipc_end(m) < 0)
		return -1;
	if (!*verifying)
		add(&page->verifying, 1);
	*verifying = 1;
	return 0;
}

int
lsn_metrics_report(const unsigned char *frame, size_t n, int *verifying)
{
	static struct rate bucket;
	struct ipc_msg m;
	int r;

	if (ipc_decode(&m, frame, n) < 0 || m.type < LSN_METRICS_VERIFY ||
	    m.type > LSN_METRICS_TALLY)
		return 0;
	if (page == NULL)
		return 1; /* off: a monitor of an older configuration */
	if (!rate_take(&bucket, sys_now_ms(), KF_METRICS_REPORT_RATE,
		KF_METRICS_REPORT_BURST)) {
		add(&page->reports_dropped, 1);
		return 1;
	}
	if (m.type == LSN_METRICS_VERIFY)
		r = take_verify(&m, verifying);
	else if (m.type == LSN_METRICS_LOGIN)
		r = take_login(&m, verifying);
	else
		r = take_tally(&m);
	if (r < 0) /* counted, not logged: a line each would be a flood */
		add(&page->reports_dropped, 1);
	return 1;
}
