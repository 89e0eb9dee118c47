/*
 * kflog.c - kf-log, the log file writer (`keepftpd-worker --log`,
 * started by the listener: src/priv/logd.c). It reads records from
 * the listener and the monitors on a datagram socket and writes each
 * as one line: log_file in text or JSON, and, for a worker's transfer
 * event, one xferlog(5) line in xferlog_file. It runs as the service
 * user in the empty root with no capability and its own seccomp list
 * (src/sandbox/log_sandbox.c); it opens nothing: the listener hands
 * it the socket and the files (LSN_LOG_FILES), again on SIGUSR1 and
 * SIGHUP. It never waits on a sender: senders never wait on it.
 * Runs in: kf-log.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/logrec.h"
#include "../common/sys.h"
#include "../ipc/ipc.h"
#include "../ipc/proto.h"
#include "../sandbox/sandbox.h"
#include "logd.h"
#include "spawn.h"

#define KFLOG_BATCH 256 /* records per wake before the channel is seen */

static struct logd_conf lc;
static int recs_fd = -1, log_fd = -1, xfer_fd = -1, json;
static char out[KF_LOG_OUT_MAX];
static unsigned char rec[KF_LOG_REC_MAX + 1];

static void __attribute__((noreturn)) fatal(const char *why)
{
	log_err("kf-log: %-s", why);
	_exit(1);
}

static void
read_conf(void)
{
	if (sys_read_sealed(SPAWN_FD_CONF, &lc, sizeof(lc)) < 0 ||
	    lc.magic != LOGD_CONF_MAGIC || lc.size != sizeof(lc))
		_exit(1);
	close(SPAWN_FD_CONF);
	lc.empty_dir[sizeof(lc.empty_dir) - 1] = '\0';
}

/* LSN_LOG_FILES: the new descriptors replace the old ones. */
static int
take_files(void)
{
	struct logd_files lf;
	int fds[3] = { -1, -1, -1 };
	size_t got = 0, want;

	if (ipc_recv_fds(SPAWN_FD_CHAN, LSN_LOG_FILES, &lf, sizeof(lf), fds, 3,
		&got, NULL) < 0)
		return -1;
	want = 1 + (lf.has_log != 0) + (lf.has_xfer != 0);
	if (got != want) {
		while (got > 0)
			close(fds[--got]);
		return -1;
	}
	sys_close(&recs_fd);
	sys_close(&log_fd);
	sys_close(&xfer_fd);
	recs_fd = fds[0];
	if (lf.has_log)
		log_fd = fds[1];
	if (lf.has_xfer)
		xfer_fd = fds[lf.has_log ? 2 : 1];
	json = lf.json != 0;
	return 0;
}

static void
write_line(int fd, const char *s, size_t n)
{
	if (fd >= 0 && n > 0)
		(void)sys_write(fd, s, n); /* O_APPEND: one write, one line */
}

static void
one_record(size_t n)
{
	static struct logrec r;
	size_t len;

	if (logrec_decode(rec, n, &r) < 0)
		return;
	if (log_fd >= 0) {
		len = json ? logrec_json(&r, out, sizeof(out)) :
			     logrec_text(&r, out, sizeof(out));
		write_line(log_fd, out, len);
	}
	if (xfer_fd >= 0 && (len = logrec_xferlog(&r, out, sizeof(out))) > 0)
		write_line(xfer_fd, out, len);
}

/* Up to KFLOG_BATCH records; 0 when the socket is empty. */
static int
drain(void)
{
	ssize_t n;
	int i;

	for (i = 0; i < KFLOG_BATCH; i++) {
		n = recv(recs_fd, rec, sizeof(rec), MSG_DONTWAIT);
		if (n < 0)
			return errno == EINTR;
		if ((size_t)n <= KF_LOG_REC_MAX)
			one_record((size_t)n);
	}
	return 1;
}

static void
enter_sandbox(void)
{
	struct sandbox_spec sp = { .root = "/" };

	if (geteuid() == 0) {
		if (!lc.service_ok)
			fatal("service_user does not exist, or is root");
		sp.root = lc.empty_dir;
		sp.uid = lc.service_uid;
		sp.gid = lc.service_gid;
	}
	sandbox_log_writer(&sp);
}

int
kflog_main(void)
{
	struct pollfd p[2];
	int null_fd;

	read_conf();
	log_open(LOG_SINK_STDERR, "keepftpd", -1);
	(void)signal(SIGPIPE, SIG_IGN);
	(void)signal(SIGUSR1, SIG_IGN); /* sent to a whole unit: not ours */
	(void)signal(SIGHUP, SIG_IGN);
	if ((null_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0 ||
	    dup2(null_fd, STDIN_FILENO) < 0 || dup2(null_fd, STDOUT_FILENO) < 0)
		fatal("set-up failed");
	close(null_fd);
	if (sys_poll1(SPAWN_FD_CHAN, POLLIN, 5000) <= 0 || take_files() < 0)
		fatal("no log files from the listener");
	prctl(PR_SET_NAME, "kf-log");
	/* every time is UTC: strftime then reads no zone file in the sandbox */
	if (setenv("TZ", "UTC0", 1) < 0)
		fatal("setenv");
	tzset();
	enter_sandbox();
	for (;;) {
		p[0] = (struct pollfd){ .fd = SPAWN_FD_CHAN, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = recs_fd, .events = POLLIN };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			fatal("poll");
		if (p[1].revents & POLLIN)
			while (
			    drain() && sys_poll1(SPAWN_FD_CHAN, POLLIN, 0) <= 0)
				;
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (p[0].revents & POLLIN && take_files() == 0)
				continue;
			/* the listener is gone or stopping: the rest, then end */
			while (drain())
				;
			_exit(0);
		}
	}
}
