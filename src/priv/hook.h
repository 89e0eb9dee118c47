/*
 * hook.h - upload hooks (upload_hook): what a monitor asks the hook
 * spawner, kf-spawn-hook, for one run. One fixed-layout struct, no
 * pointers, sent as the payload of SPAWN_HOOK with two descriptors:
 * the reply socket and the uploaded file (docs/PRIVSEP.md). The
 * spawner checks every field (hook_req_check) before it queues it.
 * Runs in: monitor (hook_ask.c), the hook spawner and its runners
 * (hook_spawn.c).
 */
#ifndef KF_HOOK_H
#define KF_HOOK_H

#include <stdint.h>
#include <sys/types.h>

#include "../auth/auth.h"
#include "../common/limits.h"
#include "../net/addr.h"

#define SPAWN_HOOK 0x5304 /* fds: reply, file */

/*
 * How a run ended: the runner's exit status, read by the monitor from
 * SPAWN_EXITED. Only HOOK_OK lets a checked upload be committed.
 */
enum hook_result {
	HOOK_OK = 0, /* the hook exited 0 */
	HOOK_FAILED = 1, /* another exit status, or a signal */
	HOOK_TIMEOUT = 2, /* killed at upload_hook_timeout */
	HOOK_NOT_RUN = 3, /* could not start, or the path check failed */
};

struct hook_req {
	uint32_t check; /* 1: upload_hook_mode check (argv /dev/fd/3) */
	uint32_t zero; /* 0 */
	uint64_t id; /* session number */
	uid_t uid; /* the session's user (the spawner may use */
	gid_t gid; /* upload_hook_user's instead) */
	char user[KF_USER_MAX + 1];
	char client[ADDR_STR_MAX]; /* the peer's address */
	char root[KF_PATH_MAX + 1]; /* the session's root, absolute */
	char path[KF_PATH_MAX + 1]; /* as the client sees it, clean */
};

/*
 * Every field in range: strings terminated, user a name, client an
 * address text, root absolute, path clean (no "", ".", ".." component),
 * root + path within KF_PATH_MAX, no uid or gid 0 when root is 1.
 * 0, or -1.
 */
int hook_req_check(const struct hook_req *, int root);
/* 1 when path is absolute and holds no "", "." or ".." component. */
int hook_path_clean(const char *path);

/*
 * Monitor: the hook on fd for r, through the hook spawner's channel
 * chan; waits for the result at most 2 * timeout_s + KF_HOOK_GRACE_S
 * seconds. enum hook_result (HOOK_NOT_RUN when the spawner is missing
 * or does not answer).
 */
int hook_ask(int chan, const struct hook_req *r, int fd, unsigned timeout_s);

/*
 * Hook spawner (`keepftpd-worker --spawner hook`): set up once
 * (upload_hook_user looked up, capabilities cut to CAP_SETUID,
 * CAP_SETGID and CAP_SETPCAP), then one request at a time from the
 * channel; a run starts when fewer than upload_hook_concurrency run,
 * else it waits in a queue of KF_HOOK_QUEUE_MAX.
 */
struct spawn_conf;
void hook_spawner_setup(const struct spawn_conf *);
struct hook_job {
	struct hook_req req;
	int reply;
	int file;
};
/*
 * The next request: 0 and the job filled (reply socket, file), -EPIPE
 * when no sender is left, else -EBADMSG (refused, logged).
 */
struct ucred;
int hook_take(int chan, struct hook_job *, struct ucred *cr);
/* Closes the job's descriptors (the monitor sees its request dropped). */
void hook_drop(struct hook_job *);
/* In the runner (a child of the spawner): never returns. */
void hook_run(const struct hook_job *, pid_t spawner) __attribute__((noreturn));

#endif
