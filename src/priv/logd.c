/*
 * logd.c - the listener's side of kf-log (docs/OPERATIONS.md, "Log
 * files"). With log_file or xferlog_file set, the listener makes one
 * SOCK_DGRAM socketpair for records before any session: it and every
 * monitor it forks send on one end (log_set_pipe, never waiting), and
 * the other end goes to kf-log, keepftpd-worker executed afresh as the
 * service user in the empty root (src/priv/kflog.c). The listener
 * alone opens the files, as root, at start, on SIGUSR1 (rotation) and
 * on SIGHUP, and hands the descriptors over: kf-log never opens a
 * path, and a long-lived monitor's later lines reach the new file,
 * since it sends to the socket, not the file. The listener keeps the
 * read end too, unread: when kf-log dies, records queue there until
 * the restarted one reads them, and only a full queue sends a line to
 * stderr or syslog instead.
 * Runs in: listener.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../auth/auth.h"
#include "../common/log.h"
#include "../common/sys.h"
#include "../ipc/ipc.h"
#include "../ipc/proto.h"
#include "logd.h"
#include "spawn.h"

#define LOGD_RESTART_MS 1000 /* between kf-log starts */
#define LOGD_STOP_MS	2000 /* kf-log's time to write the last lines */

static int recs[2] = { -1, -1 }; /* [0] kf-log's, [1] the senders' */
static int chan = -1; /* LSN_LOG_FILES to kf-log */
static pid_t pid; /* 0: not running */
static int64_t started_ms;
static int enabled;
static struct auth_account svc;

/*
 * path opened for appending: no symlink, no FIFO or device (a regular
 * file only), created with mode 0640 whatever the umask.
 */
static int
open_log(const char *path)
{
	struct stat st;
	int fd,
	    flags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY |
	    O_NONBLOCK;

	fd = open(path, flags | O_CREAT | O_EXCL, 0640);
	if (fd >= 0)
		(void)fchmod(fd, 0640);
	else if (errno == EEXIST)
		fd = open(path, flags);
	if (fd < 0) {
		log_err("cannot open log file path=%s (%-s)", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_err("log file path=%s is not a regular file; not used",
		    path);
		close(fd);
		return -1;
	}
	(void)fcntl(fd, F_SETFL, O_WRONLY | O_APPEND);
	return fd;
}

/* The files of c to kf-log; the ones that do not open are left out. */
static int
send_files(const struct conf *c)
{
	struct logd_files lf = { 0 };
	int fds[3], lfd = -1, xfd = -1, r;
	size_t n = 0;

	fds[n++] = recs[0];
	if (c->log_file[0] != '\0' && (lfd = open_log(c->log_file)) >= 0)
		lf.has_log = 1, fds[n++] = lfd;
	if (c->xferlog_file[0] != '\0' &&
	    (xfd = open_log(c->xferlog_file)) >= 0)
		lf.has_xfer = 1, fds[n++] = xfd;
	lf.json = strcmp(c->log_format, "json") == 0;
	r = ipc_send_fds(chan, LSN_LOG_FILES, &lf, sizeof(lf), fds, n);
	if (lfd >= 0)
		close(lfd);
	if (xfd >= 0)
		close(xfd);
	return r;
}

static int
start(const struct conf *c)
{
	struct logd_conf *lc;
	int fd, conf;
	pid_t p;

	started_ms = sys_now_ms();
	auth_account(&svc, c->service_user, 1);
	if ((lc = calloc(1, sizeof(*lc))) == NULL)
		return -1;
	lc->magic = LOGD_CONF_MAGIC;
	lc->size = sizeof(*lc);
	lc->service_ok = svc.ok;
	lc->service_uid = svc.uid;
	lc->service_gid = svc.gid;
	snprintf(lc->empty_dir, sizeof(lc->empty_dir), "%s", c->empty_dir);
	conf = sys_memfd_sealed("kf-log-conf", lc, sizeof(*lc));
	free(lc);
	if (conf < 0)
		return -1;
	if ((p = sys_fork_pair(SOCK_SEQPACKET, &fd)) < 0) {
		close(conf);
		return -1;
	}
	if (p == 0)
		spawn_exec_worker("--log", "kf-log", fd, conf);
	close(conf);
	chan = fd;
	pid = p;
	if (send_files(c) < 0) {
		log_err("kf-log: the log files were not handed over");
		return -1;
	}
	return 0;
}

int
logd_start(const struct conf *c)
{
	int big = 1 << 20;

	enabled = c->log_file[0] != '\0' || c->xferlog_file[0] != '\0';
	if (!enabled)
		return 0;
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, recs) < 0) {
		log_err("kf-log: socketpair: %-s", strerror(errno));
		return -1;
	}
	(void)setsockopt(recs[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	(void)setsockopt(recs[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	shutdown(recs[0], SHUT_WR);
	shutdown(recs[1], SHUT_RD);
	if (start(c) < 0) {
		log_err("kf-log did not start");
		return -1;
	}
	log_set_pipe(recs[1], c->log_file[0] == '\0');
	return 0;
}

void
logd_reopen(const struct conf *c, const char *why)
{
	if (!enabled) {
		if (c->log_file[0] != '\0' || c->xferlog_file[0] != '\0')
			log_warn("%-s: log_file and xferlog_file start with "
				 "the server; not opened",
			    why);
		else if (strcmp(why, "SIGUSR1") == 0)
			log_info("SIGUSR1: the log goes to stderr or syslog; "
				 "nothing to reopen");
		return;
	}
	if (pid == 0 || send_files(c) < 0) {
		log_warn("%-s: kf-log is not running; the files are opened "
			 "when it is back",
		    why);
		return;
	}
	/* log_file set or emptied by a reload: new sessions follow */
	log_set_pipe(recs[1], c->log_file[0] == '\0');
	log_info("%-s: log files reopened: log_file=%s xferlog_file=%s", why,
	    c->log_file[0] != '\0' ? c->log_file : NULL,
	    c->xferlog_file[0] != '\0' ? c->xferlog_file : NULL);
}

int
logd_reaped(pid_t p, int status)
{
	if (p <= 0 || p != pid)
		return 0;
	pid = 0;
	sys_close(&chan);
	log_pipe_hold(1); /* the listener's own lines: stderr meanwhile */
	log_err("kf-log (pid %ld) ended (%-s %d); its lines queue until it "
		"is back, then go to stderr or syslog",
	    (long)p, WIFSIGNALED(status) ? "signal" : "status",
	    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	return 1;
}

int
logd_down(void)
{
	return enabled && pid == 0;
}

void
logd_tick(const struct conf *c)
{
	if (!enabled || pid != 0 || sys_now_ms() - started_ms < LOGD_RESTART_MS)
		return;
	if (start(c) < 0) {
		log_err("kf-log did not start again; retrying");
		return;
	}
	log_pipe_hold(0);
	log_info("kf-log started again");
}

void
logd_stop(void)
{
	int64_t until = sys_now_ms() + LOGD_STOP_MS;
	int status;

	if (!enabled)
		return;
	log_set_pipe(-1, 0);
	sys_close(&recs[1]);
	sys_close(&chan); /* kf-log writes what is queued, then ends */
	while (pid > 0 && sys_now_ms() < until) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				log_warn("kf-log ended with %-s %d at the stop",
				    WIFSIGNALED(status) ? "signal" : "status",
				    WIFSIGNALED(status) ? WTERMSIG(status) :
							  WEXITSTATUS(status));
			pid = 0;
			break;
		}
		usleep(10 * 1000);
	}
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = 0;
	}
}
