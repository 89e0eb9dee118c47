/*
 * admin.c - the listener's side of the admin socket: who may connect,
 * and the requests (list, add, clear bans; who is online; kick). Each connection gets
 * one request, read with a timeout, checked to the last byte; anything
 * malformed gets a refusal and the connection is closed.
 * Runs in: listener.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "../common/cursor.h"
#include "../common/log.h"
#include "../common/sys.h"
#include "../ipc/ipc.h"
#include "../ipc/proto.h"
#include "admin.h"
#include "bantab.h"
#include "who.h"

#define ADMIN_IO_SEC 1

static int
sun_of(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -1;
	memcpy(sun->sun_path, path, strlen(path));
	return 0;
}

/* The socket's directory: created 0700 when missing, never changed. */
static int
make_dir(const char *path)
{
	char d[sizeof(((struct sockaddr_un *)0)->sun_path)];

	snprintf(d, sizeof(d), "%s", path);
	if (mkdir(dirname(d), 0700) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* A socket file left by a server that is gone is removed; a live one is not. */
static int
clear_stale(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		errno = EEXIST;
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	r = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	if (r == 0) {
		errno = EADDRINUSE;
		return -1;
	}
	return unlink(path);
}

int
admin_open(const char *path)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd, r;

	if (path[0] == '\0')
		return -1;
	if (sun_of(path, &sun) < 0) {
		log_err("admin_socket=%s is too long", path);
		return -1;
	}
	if (make_dir(path) < 0 || clear_stale(path, &sun) < 0 ||
	    (fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
		 0)) < 0) {
		log_err("admin_socket=%s unusable: %-s", path, strerror(errno));
		return -1;
	}
	old = umask(0177);
	r = bind(fd, (const struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r < 0 || chmod(path, 0600) < 0 || listen(fd, 8) < 0) {
		log_err("admin_socket=%s unusable: %-s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void
admin_close(int fd, const char *path)
{
	if (fd < 0)
		return;
	close(fd);
	unlink(path);
}

/* The parent pid of pid from /proc/PID/stat, or -1. */
static pid_t
parent_of(pid_t pid)
{
	char path[64], buf[512], *rp;
	struct cursor c;
	uint64_t pp;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = sys_read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* "pid (comm) S ppid ...": comm may hold anything, ')' included */
	if ((rp = strrchr(buf, ')')) == NULL || rp[1] != ' ' || rp[2] == '\0' ||
	    rp[3] != ' ')
		return -1;
	cursor_init(&c, rp + 4, strlen(rp + 4));
	if (cursor_u64(&c, INT32_MAX, &pp) < 0 || pp == 0)
		return -1;
	return (pid_t)pp;
}

static int
peer_allowed(int fd, int (*is_session)(pid_t))
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 ||
	    len != sizeof(cr))
		return 0;
	if (cr.uid != 0 && cr.uid != geteuid()) {
		log_warn("admin: refused uid %lu (pid %ld)",
		    (unsigned long)cr.uid, (long)cr.pid);
		return 0;
	}
	if (is_session(cr.pid) || is_session(parent_of(cr.pid))) {
		log_warn("admin: refused pid %ld: a session", (long)cr.pid);
		return 0;
	}
	return 1;
}

void
admin_done(int fd, uint32_t status, const char *text)
{
	struct ipc_msg m;

	ipc_init(&m, ADM_DONE);
	ipc_put_u32(&m, status);
	ipc_put_str(&m, text, ADM_TEXT_MAX);
	(void)ipc_send(fd, &m);
}

static void
do_list(int fd, struct bantab *t, struct ipc_msg *req)
{
	struct bantab_ban *b;
	struct ipc_msg m;
	char addr[BANTAB_ADDR_STR], text[64];
	int64_t now = sys_now_ms();
	size_t n, i, k;

	if (ipc_end(req) < 0) {
		admin_done(fd, 1, "malformed request");
		return;
	}
	if ((b = calloc(KF_BANTAB_MAX, sizeof(*b))) == NULL) {
		admin_done(fd, 1, "out of memory");
		return;
	}
	n = bantab_list(t, now, b, KF_BANTAB_MAX);
	for (i = 0; i < n; i += k) {
		k = n - i < ADM_BANS_PER_MSG ? n - i : ADM_BANS_PER_MSG;
		ipc_init(&m, ADM_BANS);
		ipc_put_u32(&m, (uint32_t)k);
		for (size_t j = i; j < i + k; j++) {
			bantab_addr_to_str(&b[j].addr, addr, sizeof(addr));
			ipc_put_str(&m, addr, ADM_ADDR_MAX);
			ipc_put_u32(&m,
			    (uint32_t)((b[j].until_ms - now + 999) / 1000));
		}
		if (ipc_send(fd, &m) < 0)
			break;
	}
	free(b);
	snprintf(text, sizeof(text), "%zu ban(s)", n);
	admin_done(fd, 0, text);
}

static void
do_add(int fd, struct bantab *t, const struct conf *c, struct ipc_msg *req)
{
	char addr[ADM_ADDR_MAX + 1], norm[BANTAB_ADDR_STR], text[128];
	struct bantab_addr a;
	uint32_t secs;

	if (ipc_get_str(req, addr, sizeof(addr)) < 0 ||
	    ipc_get_u32(req, &secs) < 0 || ipc_end(req) < 0) {
		admin_done(fd, 1, "malformed request");
		return;
	}
	if (bantab_addr_parse(addr, &a) < 0 || secs > ADM_BAN_SECONDS_MAX) {
		admin_done(fd, 1,
		    "expected a numeric IPv4 or IPv6 address and at "
		    "most 31536000 seconds");
		return;
	}
	if (secs == 0)
		secs = (uint32_t)c->ban_seconds;
	bantab_ban(t, &a, sys_now_ms(), (int64_t)secs * 1000);
	bantab_addr_to_str(&a, norm, sizeof(norm));
	log_warn("ban: %-s banned for %lu s by admin", norm,
	    (unsigned long)secs);
	snprintf(text, sizeof(text), "%s banned for %lu s", norm,
	    (unsigned long)secs);
	admin_done(fd, 0, text);
}

static void
do_clear(int fd, struct bantab *t, struct ipc_msg *req)
{
	char addr[ADM_ADDR_MAX + 1], norm[BANTAB_ADDR_STR], text[128];
	struct bantab_addr a;
	size_t n;

	if (ipc_get_str(req, addr, sizeof(addr)) < 0 || ipc_end(req) < 0) {
		admin_done(fd, 1, "malformed request");
		return;
	}
	if (addr[0] == '\0') {
		n = bantab_unban_all(t);
		log_warn("ban: all %zu ban(s) lifted by admin", n);
		snprintf(text, sizeof(text), "%zu ban(s) lifted", n);
		admin_done(fd, 0, text);
		return;
	}
	if (bantab_addr_parse(addr, &a) < 0) {
		admin_done(fd, 1,
		    "expected a numeric IPv4 or IPv6 address, or all");
		return;
	}
	bantab_addr_to_str(&a, norm, sizeof(norm));
	if (!bantab_unban(t, &a)) {
		snprintf(text, sizeof(text), "%s is not banned", norm);
		admin_done(fd, 1, text);
		return;
	}
	log_warn("ban: %-s lifted by admin", norm);
	snprintf(text, sizeof(text), "%s: ban lifted", norm);
	admin_done(fd, 0, text);
}

/* ADM_UPGRADE: the connection is the listener's when it starts one. */
static int
do_upgrade(int fd, struct ipc_msg *req, const char *(*upgrade)(int))
{
	char text[ADM_TEXT_MAX];
	const char *why;

	if (ipc_end(req) < 0) {
		admin_done(fd, 1, "malformed request");
		return 0;
	}
	if ((why = upgrade(fd)) == NULL)
		return 1;
	snprintf(text, sizeof(text), "upgrade failed: %s", why);
	admin_done(fd, 1, text);
	return 0;
}

/*
 * ADM_WHO: every session, KF_WHO_PER_MSG rows a message, within
 * KF_ADMIN_ANSWER_MS (a client that reads slowly gets a cut answer,
 * said in ADM_DONE, and the listener goes back to its work).
 */
static void
do_who(int fd, const struct admin_who *w, struct ipc_msg *req)
{
	static struct who_line rows[KF_WHO_PER_MSG];
	int64_t until = sys_now_ms() + KF_ADMIN_ANSWER_MS;
	struct ipc_msg m;
	char text[64];
	size_t from = 0, k, i;

	if (ipc_end(req) < 0) {
		admin_done(fd, 1, "malformed request");
		return;
	}
	while ((k = w->rows(rows, KF_WHO_PER_MSG, from)) > 0) {
		if (sys_now_ms() >= until) {
			snprintf(text, sizeof(text),
			    "cut after %zu session(s): the reader was slow",
			    from);
			admin_done(fd, 1, text);
			return;
		}
		ipc_init(&m, ADM_WHO_ROWS);
		ipc_put_u32(&m, (uint32_t)k);
		for (i = 0; i < k; i++)
			if (who_put(&m, &rows[i]) < 0)
				break;
		if (i < k || ipc_send(fd, &m) < 0)
			return;
		from += k;
	}
	snprintf(text, sizeof(text), "%zu session(s)", from);
	admin_done(fd, 0, text);
}

struct kick_what {
	uint32_t what;
	uint64_t id;
	char user[KF_USER_MAX + 1];
	struct bantab_addr addr;
};

static int
kick_match(const struct who_line *l, const void *arg)
{
	const struct kick_what *k = arg;
	struct bantab_addr a;

	switch (k->what) {
	case ADM_KICK_ID:
		return l->id == k->id;
	case ADM_KICK_USER:
		return l->user[0] != '\0' && strcmp(l->user, k->user) == 0;
	default:
		return bantab_addr_parse(l->addr, &a) == 0 &&
		    memcmp(&a, &k->addr, sizeof(a)) == 0;
	}
}

/* ADM_KICK: by session id, user name or client address. */
static void
do_kick(int fd, const struct admin_who *w, struct ipc_msg *req)
{
	static struct kick_what k;
	char text[KF_USER_MAX + 1], msg[96];
	uint32_t hi, lo;
	size_t n;

	memset(&k, 0, sizeof(k));
	if (ipc_get_u32(req, &k.what) < 0 || ipc_get_u32(req, &hi) < 0 ||
	    ipc_get_u32(req, &lo) < 0 ||
	    ipc_get_str(req, text, sizeof(text)) < 0 || ipc_end(req) < 0 ||
	    k.what < ADM_KICK_ID || k.what > ADM_KICK_ADDR) {
		admin_done(fd, 1, "malformed request");
		return;
	}
	k.id = (uint64_t)hi << 32 | lo;
	if (k.what == ADM_KICK_USER && text[0] == '\0') {
		admin_done(fd, 1, "expected a user name");
		return;
	}
	memcpy(k.user, text, sizeof(k.user));
	if (k.what == ADM_KICK_ADDR && bantab_addr_parse(text, &k.addr) < 0) {
		admin_done(fd, 1, "expected a numeric IPv4 or IPv6 address");
		return;
	}
	n = w->kick(kick_match, &k);
	snprintf(msg, sizeof(msg), "%zu session(s) ended", n);
	admin_done(fd, n > 0 ? 0 : 1, msg);
}

void
admin_serve(int lfd, struct bantab *t, const struct conf *c,
    int (*is_session)(pid_t), const char *(*upgrade)(int),
    const struct admin_who *w)
{
	struct timeval tv = { .tv_sec = ADMIN_IO_SEC };
	struct ipc_msg req;
	int fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return;
	if (!peer_allowed(fd, is_session) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		close(fd);
		return;
	}
	if (ipc_recv(fd, &req) < 0)
		admin_done(fd, 1, "malformed request");
	else if (req.type == ADM_BAN_LIST)
		do_list(fd, t, &req);
	else if (req.type == ADM_BAN_ADD)
		do_add(fd, t, c, &req);
	else if (req.type == ADM_BAN_CLEAR)
		do_clear(fd, t, &req);
	else if (req.type == ADM_WHO)
		do_who(fd, w, &req);
	else if (req.type == ADM_KICK)
		do_kick(fd, w, &req);
	else if (req.type == ADM_UPGRADE && upgrade != NULL) {
		if (do_upgrade(fd, &req, upgrade))
			return; /* answered when the upgrade ends */
	} else
		admin_done(fd, 1, "unknown request");
	close(fd);
}
