/*
 * hook_ask.c - a monitor asks the hook spawner (kf-spawn-hook) to run
 * the upload hook once: a struct hook_req the monitor filled from its
 * own state, the uploaded file's descriptor and a reply socket of its
 * own. The spawner answers SPAWN_STARTED (the runner's pidfd, not kept)
 * when the run starts, which may be after a wait in its queue, and
 * SPAWN_EXITED with the runner's status (enum hook_result) at the end.
 * Closing the reply socket drops the request or kills the run.
 * Runs in: monitor.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/sys.h"
#include "../ipc/handoff.h"
#include "../ipc/ipc.h"
#include "hook.h"

/* poll for up to the deadline; 1 when fd is readable (or hung up). */
static int
wait_until(int fd, int64_t until)
{
	int64_t left = until - sys_now_ms();

	if (left <= 0)
		return 0;
	return sys_poll1(fd, POLLIN, left > 60000 ? 60000 : (int)left) > 0;
}

/* The run's end on the reply socket, or HOOK_NOT_RUN. */
static int
await(int rp, int64_t until)
{
	struct spawn_exit e = { 0, 0 };
	int pidfd = -1;

	while (!wait_until(rp, until))
		if (sys_now_ms() >= until)
			return HOOK_NOT_RUN;
	if (ipc_recv_fds(rp, SPAWN_STARTED, NULL, 0, &pidfd, 1, NULL, NULL) < 0)
		return HOOK_NOT_RUN; /* refused, queue full, spawner gone */
	close(pidfd);
	while (!wait_until(rp, until))
		if (sys_now_ms() >= until)
			return HOOK_NOT_RUN; /* the caller hangs up: killed */
	if (ipc_recv_fds(rp, SPAWN_EXITED, &e, sizeof(e), NULL, 0, NULL, NULL) <
	    0)
		return HOOK_NOT_RUN;
	if (e.code != CLD_EXITED || e.status < HOOK_OK ||
	    e.status > HOOK_NOT_RUN)
		return HOOK_FAILED;
	return e.status;
}

int
hook_ask(int chan, const struct hook_req *r, int fd, unsigned timeout_s)
{
	int rp[2], fds[2], res;
	int64_t until;

	if (chan < 0 || fd < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rp) < 0)
		return HOOK_NOT_RUN;
	fds[0] = rp[1];
	fds[1] = fd;
	res = ipc_send_fds(chan, SPAWN_HOOK, r, sizeof(*r), fds, 2);
	close(rp[1]);
	if (res < 0) {
		close(rp[0]);
		return HOOK_NOT_RUN;
	}
	until = sys_now_ms() +
	    ((int64_t)timeout_s * 2 + KF_HOOK_GRACE_S) * 1000;
	res = await(rp[0], until);
	close(rp[0]);
	return res;
}

int
hook_req_check(const struct hook_req *r, int root)
{
	size_t rl, pl;

	if (r->check > 1 || r->zero != 0 ||
	    memchr(r->user, '\0', sizeof(r->user)) == NULL ||
	    memchr(r->client, '\0', sizeof(r->client)) == NULL ||
	    memchr(r->root, '\0', sizeof(r->root)) == NULL ||
	    memchr(r->path, '\0', sizeof(r->path)) == NULL)
		return -1;
	rl = strlen(r->root);
	pl = strlen(r->path);
	if (r->user[0] == '\0' || r->root[0] != '/' || r->path[0] != '/' ||
	    rl + pl > KF_PATH_MAX || (root && (r->uid == 0 || r->gid == 0)))
		return -1;
	return hook_path_clean(r->path) ? 0 : -1;
}

int
hook_path_clean(const char *path)
{
	const char *p = path, *slash;
	size_t n;

	if (*p != '/')
		return 0;
	while (*p == '/') {
		p++;
		slash = strchr(p, '/');
		n = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		p += n;
	}
	return 1;
}
