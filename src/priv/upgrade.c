/*
 * upgrade.c - the hand-over to a new binary (upgrade.h): starting it,
 * and the UPG_* messages both ways. The listener decides when (its
 * accept loop, src/priv/listener.c); this file only moves descriptors
 * and state, bounded and checked to the last byte.
 * Runs in: listener (the old one and the new one).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/sys.h"
#include "../ipc/ipc.h"
#include "../ipc/proto.h"
#include "bantab.h"
#include "upgrade.h"

extern char **environ;

static char exe_path[PATH_MAX]; /* the binary as it was started */
static char **exe_argv;

int
upgrade_init(char **argv)
{
	static const char deleted[] = " (deleted)";
	ssize_t n;
	size_t dl = sizeof(deleted) - 1;

	exe_argv = argv;
	n = readlink("/proc/self/exe", exe_path, sizeof(exe_path) - 1);
	if (n <= 0) {
		exe_path[0] = '\0';
		log_warn("upgrade: cannot read /proc/self/exe: %-s",
		    strerror(errno));
		return -1;
	}
	exe_path[n] = '\0';
	/* started from a file already replaced: the path names no binary */
	if ((size_t)n > dl && strcmp(exe_path + n - dl, deleted) == 0)
		exe_path[n - dl] = '\0';
	return 0;
}

/* The binary at exe_path, as it is on disk now: O_PATH, checked. */
static int
open_binary(char *why, size_t whysz)
{
	struct stat st;
	int fd;

	if (exe_path[0] == '\0' || exe_argv == NULL) {
		snprintf(why, whysz,
		    "the path of the running binary is unknown");
		return -1;
	}
	if ((fd = open(exe_path, O_PATH | O_CLOEXEC)) < 0) {
		snprintf(why, whysz, "%s: %s", exe_path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (st.st_uid != 0 && st.st_uid != geteuid()) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0 ||
	    (st.st_mode & S_IXUSR) == 0) {
		snprintf(why, whysz,
		    "%s: not a regular executable file owned by root (or this "
		    "user) and writable by no one else",
		    exe_path);
		close(fd);
		return -1;
	}
	return fd;
}

static int
env_skipped(const char *e)
{
	static const char *const drop[] = { "LISTEN_PID=", "LISTEN_FDS=",
		"LISTEN_FDNAMES=", UPGRADE_ENV "=" };
	size_t i;

	for (i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		if (strncmp(e, drop[i], strlen(drop[i])) == 0)
			return 1;
	return 0;
}

/*
 * In the child: default signals, nothing blocked, the channel at
 * UPGRADE_FD, every other descriptor above 2 close-on-exec, the
 * environment without socket activation's variables (they named the
 * old pid) and with UPGRADE_ENV.
 */
static void __attribute__((noreturn)) child_exec(int chan, int exe)
{
	static char mark[] = UPGRADE_ENV "=3";
	char **envp;
	sigset_t none;
	size_t n = 0, i;
	int sig;

	for (sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if ((exe = fcntl(exe, F_DUPFD_CLOEXEC, 10)) < 0 ||
	    (chan = fcntl(chan, F_DUPFD_CLOEXEC, 10)) < 0 ||
	    dup2(chan, UPGRADE_FD) < 0)
		_exit(127);
	(void)close_range(UPGRADE_FD + 1, ~0U, CLOSE_RANGE_CLOEXEC);
	if ((envp = calloc(KF_UPGRADE_ENV_MAX + 2, sizeof(*envp))) == NULL)
		_exit(127);
	for (i = 0;
	     environ != NULL && environ[i] != NULL && n < KF_UPGRADE_ENV_MAX;
	     i++)
		if (!env_skipped(environ[i]))
			envp[n++] = environ[i];
	envp[n] = mark;
	execveat(exe, "", exe_argv, envp, AT_EMPTY_PATH);
	_exit(127);
}

pid_t
upgrade_spawn(int *chan, char *why, size_t whysz)
{
	struct timeval tv = { .tv_sec = KF_UPGRADE_IO_MS / 1000 };
	int sv[2], exe;
	pid_t pid;

	if ((exe = open_binary(why, whysz)) < 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
	    setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		snprintf(why, whysz, "socketpair: %s", strerror(errno));
		close(exe);
		return -1;
	}
	if ((pid = fork()) < 0) {
		snprintf(why, whysz, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		close(exe);
		return -1;
	}
	if (pid == 0)
		child_exec(sv[1], exe);
	close(sv[1]);
	close(exe);
	*chan = sv[0];
	return pid;
}

int
upgrade_env_fd(void)
{
	const char *v = getenv(UPGRADE_ENV);
	int type = 0, ok;
	socklen_t len = sizeof(type);

	if (v == NULL)
		return -1;
	ok = strcmp(v, "3") == 0;
	unsetenv(UPGRADE_ENV);
	if (!ok ||
	    getsockopt(UPGRADE_FD, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    type != SOCK_SEQPACKET) {
		fprintf(stderr,
		    "keepftpd: " UPGRADE_ENV
		    " is set but fd 3 is no hand-over channel\n");
		return -1;
	}
	sys_set_cloexec(UPGRADE_FD);
	return UPGRADE_FD;
}

/* ---- messages with descriptors ---- */

static int
send_msg(int chan, const struct ipc_msg *m, const int *fds, size_t nfds)
{
	if (ipc_send_many_fds(chan, m->type, m->data, m->len, fds, nfds) < 0)
		return -1;
	return 0;
}

static void
close_all(int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sys_close(&fds[i]);
}

/* One message within ms; its descriptors (at most max) into fds. */
static int
recv_msg(int chan, struct ipc_msg *m, int *fds, size_t max, size_t *nfds,
    int ms)
{
	unsigned char frame[KF_IPC_MSG_MAX];
	union {
		struct cmsghdr c;
		char b[CMSG_SPACE(sizeof(int) * KF_UPGRADE_FDS_MAX)];
	} cm;
	struct iovec iov = { frame, sizeof(frame) };
	struct msghdr mh = { .msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cm.b,
		.msg_controllen = sizeof(cm.b) };
	struct cmsghdr *c;
	size_t k;
	ssize_t n;

	*nfds = 0;
	if (sys_poll1(chan, POLLIN, ms) <= 0)
		return -1;
	if ((n = sys_recvmsg(chan, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT)) <= 0)
		return -1;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (*nfds + k > max) {
			int tmp[KF_UPGRADE_FDS_MAX];

			memcpy(tmp, CMSG_DATA(c), sizeof(int) * k);
			close_all(tmp, k);
			close_all(fds, *nfds);
			return -1;
		}
		memcpy(fds + *nfds, CMSG_DATA(c), sizeof(int) * k);
		*nfds += k;
	}
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 ||
	    ipc_decode(m, frame, (size_t)n) < 0) {
		close_all(fds, *nfds);
		return -1;
	}
	return 0;
}

static void
put_i64(struct ipc_msg *m, int64_t v)
{
	uint64_t u = (uint64_t)v;

	ipc_put_u32(m, (uint32_t)(u >> 32));
	ipc_put_u32(m, (uint32_t)u);
}

static int
get_i64(struct ipc_msg *m, int64_t *v)
{
	uint32_t hi, lo;

	if (ipc_get_u32(m, &hi) < 0 || ipc_get_u32(m, &lo) < 0)
		return -1;
	*v = (int64_t)((uint64_t)hi << 32 | lo);
	return 0;
}

int
upgrade_send_simple(int chan, uint32_t type, uint32_t value)
{
	struct ipc_msg m;

	ipc_init(&m, type);
	if (type == UPG_READY)
		ipc_put_u32(&m, value);
	return send_msg(chan, &m, NULL, 0);
}

int
upgrade_wait(int chan, uint32_t type, int ms, uint32_t *value)
{
	struct ipc_msg m;
	int fds[KF_UPGRADE_FDS_MAX];
	size_t n;
	uint32_t v = 0;

	if (recv_msg(chan, &m, fds, KF_UPGRADE_FDS_MAX, &n, ms) < 0)
		return -1;
	if (n > 0 || m.type != type ||
	    (type == UPG_READY && ipc_get_u32(&m, &v) < 0) || ipc_end(&m) < 0) {
		close_all(fds, n);
		return -1;
	}
	if (value != NULL)
		*value = v;
	return 0;
}

/* ---- sockets ---- */

int
upgrade_send_sockets(int chan, const struct upgrade_sockets *s)
{
	int fds[KF_LISTEN_MAX + 2];
	struct ipc_msg m;
	size_t i, k = 0;

	ipc_init(&m, UPG_SOCKETS);
	ipc_put_u32(&m, (uint32_t)s->n);
	for (i = 0; i < s->n; i++) {
		ipc_put_u32(&m,
		    (uint32_t)(s->implicit[i] != 0) |
			(uint32_t)(s->proxy[i] != 0) << 1);
		fds[k++] = s->fds[i];
	}
	fds[k++] = s->report_rd;
	ipc_put_u32(&m, s->passed != 0);
	ipc_put_u32(&m, s->admin_fd >= 0);
	if (s->admin_fd >= 0)
		fds[k++] = s->admin_fd;
	if (ipc_put_str(&m, s->admin_path, KF_CONF_VALUE_MAX) < 0)
		return -1;
	return send_msg(chan, &m, fds, k);
}

int
upgrade_recv_sockets(int chan, struct upgrade_sockets *s)
{
	int fds[KF_UPGRADE_FDS_MAX];
	uint32_t n, v, passed, admin;
	struct ipc_msg m;
	size_t got, i;

	if (recv_msg(chan, &m, fds, KF_UPGRADE_FDS_MAX, &got,
		KF_UPGRADE_IO_MS) < 0)
		return -1;
	if (m.type != UPG_SOCKETS || ipc_get_u32(&m, &n) < 0 || n == 0 ||
	    n > KF_LISTEN_MAX)
		goto bad;
	for (i = 0; i < n; i++) {
		/* bit 0 implicit, bit 1 proxy; never both */
		if (ipc_get_u32(&m, &v) < 0 || v > 2)
			goto bad;
		s->implicit[i] = (int)(v & 1);
		s->proxy[i] = (int)(v >> 1);
	}
	if (ipc_get_u32(&m, &passed) < 0 || passed > 1 ||
	    ipc_get_u32(&m, &admin) < 0 || admin > 1 ||
	    ipc_get_str(&m, s->admin_path, sizeof(s->admin_path)) < 0 ||
	    ipc_end(&m) < 0 || got != n + 1 + admin)
		goto bad;
	memcpy(s->fds, fds, sizeof(int) * n);
	s->n = n;
	s->passed = (int)passed;
	s->report_rd = fds[n];
	s->admin_fd = admin ? fds[n + 1] : -1;
	return 0;
bad:
	close_all(fds, got);
	return -1;
}

/* ---- sessions ---- */

static int
send_batch(int chan, const struct upgrade_session *s, size_t n)
{
	int fds[KF_UPGRADE_SESSIONS_MSG];
	struct ipc_msg m;
	size_t i;

	ipc_init(&m, UPG_SESSIONS);
	ipc_put_u32(&m, (uint32_t)n);
	for (i = 0; i < n; i++) {
		ipc_put_u32(&m, (uint32_t)s[i].pid);
		ipc_put_u32(&m, (uint32_t)(s[i].logged_in != 0));
		if (ipc_put_blob(&m, &s[i].peer, sizeof(s[i].peer),
			sizeof(s[i].peer)) < 0)
			return -1;
		fds[i] = s[i].pidfd;
	}
	return send_msg(chan, &m, fds, n);
}

int
upgrade_send_sessions(int chan, const struct upgrade_session *s, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i += k) {
		k = n - i < KF_UPGRADE_SESSIONS_MSG ? n - i :
						      KF_UPGRADE_SESSIONS_MSG;
		if (send_batch(chan, s + i, k) < 0)
			return -1;
	}
	return 0;
}

static int
recv_sessions(struct ipc_msg *m, int *fds, size_t nfds,
    void (*fn)(const struct upgrade_session *, void *), void *arg,
    size_t *total)
{
	struct upgrade_session s;
	uint32_t n, pid, in;
	size_t i, len;

	if (ipc_get_u32(m, &n) < 0 || n == 0 || n > KF_UPGRADE_SESSIONS_MSG ||
	    n != nfds)
		return -1;
	for (i = 0; i < n; i++) {
		memset(&s, 0, sizeof(s));
		if (ipc_get_u32(m, &pid) < 0 || pid == 0 || pid > INT32_MAX ||
		    ipc_get_u32(m, &in) < 0 || in > 1 ||
		    ipc_get_blob(m, &s.peer, sizeof(s.peer), &len) < 0 ||
		    len != sizeof(s.peer) ||
		    (s.peer.ss_family != AF_INET &&
			s.peer.ss_family != AF_INET6))
			return -1;
	}
	if (ipc_end(m) < 0)
		return -1;
	/* checked whole: now each one (and its pidfd) is the caller's */
	m->off = 0;
	(void)ipc_get_u32(m, &n);
	for (i = 0; i < n; i++) {
		(void)ipc_get_u32(m, &pid);
		(void)ipc_get_u32(m, &in);
		(void)ipc_get_blob(m, &s.peer, sizeof(s.peer), &len);
		s.pid = (pid_t)pid;
		s.logged_in = (int)in;
		s.pidfd = fds[i];
		fds[i] = -1;
		fn(&s, arg);
	}
	*total += n;
	return 0;
}

/* ---- the address table ---- */

int
upgrade_send_bans(int chan, const struct bantab *t, size_t *sent)
{
	struct bantab_rec *r;
	struct ipc_msg m;
	size_t n, i, j, k;
	int ok = 0;

	*sent = 0;
	if ((r = calloc(KF_BANTAB_MAX, sizeof(*r))) == NULL)
		return -1;
	n = bantab_export(t, r, KF_BANTAB_MAX);
	for (i = 0; i < n && ok == 0; i += k) {
		k = n - i < KF_UPGRADE_BANS_MSG ? n - i : KF_UPGRADE_BANS_MSG;
		ipc_init(&m, UPG_BANS);
		ipc_put_u32(&m, (uint32_t)k);
		for (j = i; j < i + k; j++) {
			ipc_put_u32(&m, r[j].addr.family);
			ipc_put_blob(&m, r[j].addr.a, 16, 16);
			ipc_put_u32(&m, (uint32_t)(r[j].banned != 0));
			ipc_put_u32(&m, r[j].rate_n);
			ipc_put_u32(&m, r[j].fail_n);
			put_i64(&m, r[j].rate_start);
			put_i64(&m, r[j].fail_start);
			put_i64(&m, r[j].ban_until);
		}
		ok = send_msg(chan, &m, NULL, 0);
	}
	free(r);
	*sent = n;
	return ok;
}

static int
recv_bans(struct ipc_msg *m, struct bantab *t, size_t *total)
{
	struct bantab_rec r;
	uint32_t n, fam, banned;
	size_t i, len;

	if (ipc_get_u32(m, &n) < 0 || n == 0 || n > KF_UPGRADE_BANS_MSG ||
	    *total + n > KF_BANTAB_MAX)
		return -1;
	for (i = 0; i < n; i++) {
		memset(&r, 0, sizeof(r));
		if (ipc_get_u32(m, &fam) < 0 || fam > 255 ||
		    ipc_get_blob(m, r.addr.a, 16, &len) < 0 || len != 16 ||
		    ipc_get_u32(m, &banned) < 0 || banned > 1 ||
		    ipc_get_u32(m, &r.rate_n) < 0 ||
		    ipc_get_u32(m, &r.fail_n) < 0 ||
		    get_i64(m, &r.rate_start) < 0 ||
		    get_i64(m, &r.fail_start) < 0 ||
		    get_i64(m, &r.ban_until) < 0)
			return -1;
		r.addr.family = (uint8_t)fam;
		r.banned = (int)banned;
		if (bantab_import(t, &r) < 0)
			return -1;
	}
	*total += n;
	return ipc_end(m);
}

int
upgrade_send_end(int chan, size_t sessions, size_t entries)
{
	struct ipc_msg m;

	ipc_init(&m, UPG_END);
	ipc_put_u32(&m, (uint32_t)sessions);
	ipc_put_u32(&m, (uint32_t)entries);
	return send_msg(chan, &m, NULL, 0);
}

int
upgrade_recv_state(int chan, struct bantab *t,
    void (*fn)(const struct upgrade_session *, void *), void *arg)
{
	int fds[KF_UPGRADE_FDS_MAX];
	size_t nfds, sessions = 0, entries = 0;
	uint32_t ns, ne;
	struct ipc_msg m;
	int r;

	for (;;) {
		if (recv_msg(chan, &m, fds, KF_UPGRADE_FDS_MAX, &nfds,
			KF_UPGRADE_IO_MS) < 0)
			return -1;
		if (m.type == UPG_SESSIONS)
			r = recv_sessions(&m, fds, nfds, fn, arg, &sessions);
		else if (m.type == UPG_BANS && nfds == 0)
			r = recv_bans(&m, t, &entries);
		else if (m.type == UPG_END && nfds == 0)
			return ipc_get_u32(&m, &ns) < 0 ||
				ipc_get_u32(&m, &ne) < 0 || ipc_end(&m) < 0 ||
				ns != sessions || ne != entries ?
			    -1 :
			    0;
		else
			r = -1;
		close_all(fds, nfds);
		if (r < 0)
			return -1;
	}
}
