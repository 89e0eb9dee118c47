/*
 * spawner.c - a role's spawner: keepftpd-worker executed afresh by the
 * listener (`keepftpd-worker --spawner ROLE`), so its memory never held a
 * password, a hash, the users file or (but for the relay's) the TLS
 * private key. It sets itself up once for its role, then forks one
 * worker per request from a monitor:
 *   prelogin   service user in the empty root (rootless: Landlock),
 *              no capabilities, Landlock with no file (inherited by its
 *              workers); each child adds rlimits and
 *              the pre-login seccomp program, runs prelogin_run.
 *   postlogin  keeps only CAP_SETUID, CAP_SETGID, CAP_SYS_CHROOT,
 *              CAP_SETPCAP, CAP_DAC_READ_SEARCH and CAP_KILL (and
 *              CAP_SYS_ADMIN when `folder` lines exist: each child
 *              bind-mounts its shared folders in a mount namespace of
 *              its own before it drops them all); holds the name map,
 *              the HASH digests and the data TLS context (the decoy key);
 *              each child enters the user's sandbox, runs session_run.
 *   relay      loads the certificate and key (the only process that
 *              reads tls_key; the listener learns the outcome from its
 *              report, SPAWN_READY), then as prelogin; each child runs
 *              relay_run.
 *   hook       only with upload_hook: keeps CAP_SETUID, CAP_SETGID and
 *              CAP_SETPCAP; takes SPAWN_HOOK requests (hook.h), at most
 *              upload_hook_concurrency runs at once, the rest queued;
 *              each child is a runner (hook_spawn.c, hook_run).
 * A request is checked (sender's uid, every handoff field, the fd
 * count); the spawner answers on the request's own reply socket with
 * the worker's pidfd, later with its exit status. When the monitor
 * hangs that socket up (it died), the worker is killed. Workers die
 * with the spawner (death signal after their last uid change). The
 * spawner ends when its channel has no sender left and its last worker
 * is gone.
 * Runs in: spawners.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/sys.h"
#include "../fs/hash.h"
#include "../fs/idmap.h"
#include "../fs/path.h"
#include "../ipc/handoff.h"
#include "../ipc/ipc.h"
#include "../proto/session.h"
#include "../sandbox/sandbox.h"
#include "../sandbox/seccomp.h"
#include "../tls/relay.h"
#include "../tls/tls.h"
#include "hook.h"
#include "spawn.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define EVENTS_MAX 64

/* The worker's descriptors after fork: 3, 4, 5, ... in request order. */
#define CHILD_FD_FIRST 3

struct child;

/* What an epoll event is about: a child's pidfd or its reply socket. */
struct end {
	struct child *c;
	int is_reply;
};

struct child {
	int pidfd; /* -1 once reaped */
	int reply; /* -1 once the monitor hung up */
	struct end on_pid, on_reply;
	struct child *next_gone; /* freed after the event batch */
};

static struct spawn_conf sc;
static enum spawn_role role;
static struct handoff req; /* one request at a time, checked */
static int ep = -1, null_fd = -1, chan_open = 1;
static size_t nchildren;
static pid_t self;
static struct end on_chan;
static struct child *reaped_list; /* reaped in this batch */

static const char *const child_names[SPAWN_ROLES] = {
	"kf-prelogin",
	"kf-session",
	"kf-tls-relay",
	"kf-hook",
};
static const char *const own_names[SPAWN_ROLES] = {
	"kf-spawn-pre",
	"kf-spawn-post",
	"kf-spawn-relay",
	"kf-spawn-hook",
};
static const uint32_t req_types[SPAWN_ROLES] = {
	SPAWN_PRELOGIN,
	SPAWN_POSTLOGIN,
	SPAWN_RELAY,
	SPAWN_HOOK,
};
/* the worker's fds, reply socket excluded: fewest, most */
static const size_t req_fds[SPAWN_ROLES][2] = {
	{ 3, 3 }, { 3, 4 }, { 4, 4 },
	{ 1, 1 }, /* hook: the file (hook_spawn.c reads its own) */
};

static void __attribute__((noreturn)) fatal(const char *why)
{
	log_err("spawner %-s: %-s", spawn_role_name(role), why);
	_exit(1);
}

/* The sealed memfd at SPAWN_FD_CONF: exactly one struct spawn_conf. */
static void
read_conf(void)
{
	spawn_conf_take(SPAWN_FD_CONF, &sc);
}

/* As root, the service user in the empty root; rootless, Landlock later. */
static void
enter_as_service(void)
{
	struct sandbox_spec sp = { .root = "/" };

	if (geteuid() == 0) {
		if (!sc.service_ok)
			fatal("service_user does not exist, or is root");
		sp.root = sc.conf.empty_dir;
		sp.uid = sc.service_uid;
		sp.gid = sc.service_gid;
	}
	sandbox_spawner(&sp);
}

/*
 * The relay's certificate and key, loaded here only: the listener and
 * the monitors hold no TLS context. The outcome goes to the listener
 * on the channel before any request is taken (struct spawn_ready); on
 * failure the listener logs the reason and this spawner ends.
 */
static void
relay_load(void)
{
	struct spawn_ready rd;

	memset(&rd, 0, sizeof(rd));
	rd.ok = tls_load(&sc.conf, rd.why, sizeof(rd.why)) == 0 &&
	    tls_ctrl_ctx() != NULL;
	if (!rd.ok && rd.why[0] == '\0')
		snprintf(rd.why, sizeof(rd.why), "tls_cert is empty");
	if (ipc_send_fds(SPAWN_FD_CHAN, SPAWN_READY, &rd, sizeof(rd), NULL, 0) <
		0 ||
	    !rd.ok)
		_exit(1);
	if (sc.check_only) /* `keepftpd -t`: nothing more to do */
		_exit(0);
}

static void
setup_role(void)
{
	/* become a user, confine it, and kill it when its monitor is gone */
	static const int post_caps[] = { CAP_SETUID, CAP_SETGID, CAP_SYS_CHROOT,
		CAP_SETPCAP, CAP_DAC_READ_SEARCH, CAP_KILL, CAP_SYS_ADMIN };
	size_t npost = sizeof(post_caps) / sizeof(post_caps[0]);

	if (seccomp_prepare() < 0)
		log_warn("seccomp programs not prepared; each worker compiles "
			 "its own");
	switch (role) {
	case SPAWN_ROLE_PRELOGIN:
		/* FEAT lists the HASH digests before login too */
		if (hash_init() < 0)
			log_warn("HASH: some digests are unavailable");
		enter_as_service();
		break;
	case SPAWN_ROLE_RELAY:
		relay_load();
		enter_as_service();
		break;
	case SPAWN_ROLE_HOOK:
		hook_spawner_setup(&sc);
		break;
	case SPAWN_ROLE_POSTLOGIN:
		/* digests for HASH, names for listings: workers cannot load them */
		if (hash_init() < 0)
			log_warn("HASH: some digests are unavailable");
		session_ids = idmap_load_system();
		if (tls_load_data(&sc.conf) < 0)
			log_err("data connections will have no TLS");
		/* CAP_SYS_ADMIN (the last) only for shared folders' mounts */
		if (geteuid() == 0 && sc.conf.folder_count > 0 &&
		    !sandbox_have_cap(CAP_SYS_ADMIN))
			log_warn("shared folders need CAP_SYS_ADMIN (a systemd "
				 "drop-in: docs/PERMISSIONS.md); sessions get "
				 "none");
		sandbox_keep_caps(post_caps,
		    sc.conf.folder_count > 0 &&
			    sandbox_have_cap(CAP_SYS_ADMIN) ?
			npost :
			npost - 1);
		break;
	default:
		fatal("unknown role");
	}
}

/* In a new worker: its descriptors at 3.., 0-2 on /dev/null, no others. */
static void
child_fds(const int *fds, size_t n)
{
	int tmp[KF_IPC_FDS_MAX];
	size_t i;

#ifndef KF_SANITIZE
	/* the only way out for a worker's words is its log socket */
	dup2(null_fd, STDERR_FILENO);
#endif
	for (i = 0; i < n; i++)
		if ((tmp[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 64)) < 0)
			_exit(1);
	for (i = 0; i < n; i++)
		if (dup2(tmp[i], CHILD_FD_FIRST + (int)i) < 0)
			_exit(1);
	if (syscall(SYS_close_range, CHILD_FD_FIRST + (unsigned)n, ~0U, 0) < 0)
		_exit(1);
}

/* The session as the worker's code knows it. */
static void
fill_info(struct session_info *si)
{
	memset(si, 0, sizeof(*si));
	si->conf = &sc.conf;
	si->ctrl_fd = CHILD_FD_FIRST;
	si->mon_fd = CHILD_FD_FIRST + 1;
	si->quota_fd = (req.flags & HANDOFF_QUOTA) ? CHILD_FD_FIRST + 3 : -1;
	si->local = req.local;
	si->peer = req.peer;
	si->id = (unsigned long)req.id;
	si->start_ms = req.start_ms;
	si->tls = (req.flags & HANDOFF_TLS) != 0;
	si->ccc = (req.flags & HANDOFF_CCC) != 0;
	si->host_done = (req.flags & HANDOFF_HOST_DONE) != 0;
	si->proxy_hdr = (req.flags & HANDOFF_PROXY) != 0;
	si->proxied = (req.flags & HANDOFF_PROXIED) != 0;
	memcpy(si->host, req.host, sizeof(si->host));
	si->tls_flags = req.tls_flags;
	memcpy(si->tls_keys.ticket, req.ticket, sizeof(si->tls_keys.ticket));
	memcpy(si->tls_keys.sid_ctx, req.sid_ctx, sizeof(si->tls_keys.sid_ctx));
}

/* session_max_seconds: SIGALRM asks the worker to end (session_stop). */
static void
arm_session_limit(const struct session_info *si)
{
	int64_t end = policy_deadline_ms(si->conf, si->start_ms), left;

	if (end < 0)
		return;
	left = end - sys_now_ms();
	alarm(left <= 0 ? 1 : (unsigned)((left + 999) / 1000));
}

static void __attribute__((noreturn)) run_prelogin(struct session_info *si)
{
	sandbox_child(SANDBOX_PRELOGIN, self);
	if (req.flags & HANDOFF_GREETED)
		prelogin_run_after_rein(si);
	prelogin_run(si);
}

/* sandbox_spec.open_dir: a rule's directory, resolved in the root. */
static int
open_rule_dir(int rootfd, const char *path)
{
	return fs_open(rootfd, path, O_PATH | O_DIRECTORY, 0);
}

/*
 * The user's shared folders (req.user.folders, checked against the
 * count): for the sandbox, in configuration order; a mount path a
 * folder before took already is skipped.
 */
static size_t
pick_folders(struct sandbox_folder *out, int writable)
{
	const struct conf_folder *f;
	size_t i, j, n = 0;

	for (i = 0; i < sc.conf.folder_count; i++) {
		if (!(req.user.folders & (1u << i)))
			continue;
		f = &sc.conf.folder[i];
		for (j = 0; j < n && strcmp(out[j].mount, f->mount) != 0; j++)
			;
		if (j < n)
			continue;
		out[n].source = f->source;
		out[n].mount = f->mount;
		out[n].writable = f->writable && writable;
		out[n].fd = -1;
		n++;
	}
	return n;
}

/* Rootless: the folders' fds to fs_open, which enters them (walk.c). */
static void
give_folders(const struct sandbox_folder *sf, size_t n)
{
	static struct fs_folder ff[KF_FOLDERS_MAX];
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		if (sf[i].fd < 0)
			continue;
		memcpy(ff[k].mount, sf[i].mount, strlen(sf[i].mount) + 1);
		ff[k].fd = sf[i].fd;
		k++;
	}
	if (fs_folders_set(ff, k) < 0)
		fatal("shared folders refused by fs_open");
}

static void __attribute__((noreturn)) run_postlogin(struct session_info *si)
{
	struct sandbox_folder folders[KF_FOLDERS_MAX];
	static const char gone[] = "421 Home directory unavailable.\r\n";
	const struct auth_identity *u = &req.user;
	struct sandbox_spec sp = {
		.phase = SANDBOX_POSTLOGIN,
		.root = u->root,
		.uid = u->uid,
		.gid = u->gid,
		.writable = u->writable,
		.perms = &u->perms,
		.open_dir = open_rule_dir,
		.parent = self,
		.folders = folders,
	};
	const struct conf *c = &sc.conf;
	int rootfd;

	/* the decoy key for data, the real one only without the reuse check */
	tls_forget(!c->tls_data_reuse_required && si->tls, si->tls);
	if (si->tls && tls_data_ctx(c) != NULL &&
	    (tls_bind_session(tls_data_ctx(c), &si->tls_keys) < 0 ||
		tls_set_resume(tls_data_ctx(c), req.tls_sess,
		    req.tls_sess_len) < 0))
		fatal("cannot bind the data TLS context");
	if (access(u->root, F_OK) < 0) {
		/* nothing to confine into: say so rather than vanish */
		sys_write_all(si->ctrl_fd, gone, sizeof(gone) - 1);
		log_err("session ended: root directory unavailable");
		_exit(1);
	}
	sp.nfolders = pick_folders(folders, u->writable);
	rootfd = sandbox_enter(&sp);
	give_folders(folders, sp.nfolders);
	session_run(si, u, rootfd);
}

/* fds: raw, plain, log, ipc (at 3, 4, 5, 6). */
static void __attribute__((noreturn)) run_relay(struct session_info *si)
{
	struct relay_args ra = { .ctx = tls_ctrl_ctx(),
		.raw_fd = CHILD_FD_FIRST,
		.plain_fd = CHILD_FD_FIRST + 1,
		.mon_fd = CHILD_FD_FIRST + 3,
		.handshake_deadline_ms = req.deadline_ms };

	if (tls_bind_session(ra.ctx, &si->tls_keys) < 0)
		fatal("cannot bind the control TLS context");
	sandbox_child(SANDBOX_RELAY, self);
	relay_run(&ra);
}

static void __attribute__((noreturn)) child_main(const int *fds, size_t n)
{
	struct session_info si;

	prctl(PR_SET_NAME, child_names[role]);
	child_fds(fds, n);
	log_open(LOG_SINK_FD, NULL, CHILD_FD_FIRST + 2); /* the log socket */
	fill_info(&si);
	if (role != SPAWN_ROLE_RELAY) {
		session_install_signals();
		arm_session_limit(&si);
	}
	if (role == SPAWN_ROLE_PRELOGIN)
		run_prelogin(&si);
	if (role == SPAWN_ROLE_POSTLOGIN)
		run_postlogin(&si);
	run_relay(&si);
}

static void
watch(int fd, struct end *e)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = e };

	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		fatal("epoll_ctl");
}

static void
close_all(int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		close(fds[i]);
}

/* Parent side: the pidfd to the monitor, then both watched. */
static void
started(pid_t pid, int reply)
{
	struct child *c = calloc(1, sizeof(*c));
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (c == NULL || pidfd < 0) {
		/* cannot supervise it: it does not run */
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		free(c);
		if (pidfd >= 0)
			close(pidfd);
		close(reply);
		return;
	}
	c->pidfd = pidfd;
	c->reply = reply;
	c->on_pid = (struct end){ c, 0 };
	c->on_reply = (struct end){ c, 1 };
	if (ipc_send_fds(reply, SPAWN_STARTED, NULL, 0, &pidfd, 1) < 0)
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	watch(pidfd, &c->on_pid);
	watch(reply, &c->on_reply);
	nchildren++;
}

/* Only our monitors: root, or the account the server runs as. */
static int
sender_ok(const struct ucred *cr)
{
	return cr->uid == 0 || cr->uid == sc.server_uid;
}

/*
 * The hook role (hook_spawn.c): a run starts now when fewer than
 * upload_hook_concurrency run, else it waits in a FIFO of
 * KF_HOOK_QUEUE_MAX; beyond that it is dropped (its monitor sees the
 * reply socket close: not run). The monitor waits for the start.
 */
static struct hook_job hook_queue[KF_HOOK_QUEUE_MAX];
static size_t hook_head, hook_len;

static void
start_hook(struct hook_job *j)
{
	pid_t pid;

	if ((pid = fork()) < 0) {
		log_err("spawner hook: fork: %-s", strerror(errno));
		hook_drop(j);
		return;
	}
	if (pid == 0)
		hook_run(j, self);
	sys_close(&j->file);
	started(pid, j->reply);
}

/* A queued request whose monitor hung up meanwhile is dropped. */
static int
still_wanted(int reply)
{
	struct pollfd p = { .fd = reply, .events = POLLIN };

	return poll(&p, 1, 0) == 0 || (p.revents & POLLHUP) == 0;
}

static void
hook_next(void)
{
	struct hook_job *j;

	while (hook_len > 0 && nchildren < sc.conf.upload_hook_concurrency) {
		j = &hook_queue[hook_head];
		hook_head = (hook_head + 1) % KF_HOOK_QUEUE_MAX;
		hook_len--;
		if (still_wanted(j->reply))
			start_hook(j);
		else
			hook_drop(j);
	}
}

static void
take_hook(void)
{
	struct hook_job j;
	struct ucred cr;
	int r = hook_take(SPAWN_FD_CHAN, &j, &cr);

	if (r == -EPIPE) {
		epoll_ctl(ep, EPOLL_CTL_DEL, SPAWN_FD_CHAN, NULL);
		chan_open = 0;
		return;
	}
	if (r < 0)
		return;
	if (!sender_ok(&cr)) {
		log_warn("spawner hook: request refused: sender uid %ld",
		    (long)cr.uid);
		hook_drop(&j);
	} else if (nchildren < sc.conf.upload_hook_concurrency)
		start_hook(&j);
	else if (hook_len < KF_HOOK_QUEUE_MAX) {
		hook_queue[(hook_head + hook_len) % KF_HOOK_QUEUE_MAX] = j;
		hook_len++;
	} else {
		log_warn("upload hook: %d requests wait already; not run",
		    KF_HOOK_QUEUE_MAX);
		hook_drop(&j);
	}
}

static void
take_request(void)
{
	int fds[KF_IPC_FDS_MAX];
	size_t n = 0;
	struct ucred cr;
	pid_t pid;
	int r;

	if (role == SPAWN_ROLE_HOOK) {
		take_hook();
		return;
	}
	memset(&req, 0, sizeof(req));
	r = ipc_recv_fds(SPAWN_FD_CHAN, req_types[role], &req, sizeof(req), fds,
	    req_fds[role][1] + 1, &n, &cr);
	if (r == -EPIPE) {
		/* no sender left (a reload replaced us): end with the last child */
		epoll_ctl(ep, EPOLL_CTL_DEL, SPAWN_FD_CHAN, NULL);
		chan_open = 0;
		return;
	}
	if (r < 0) {
		log_warn("spawner %-s: request refused: malformed frame",
		    spawn_role_name(role));
		return;
	}
	if (!sender_ok(&cr) || n - 1 < req_fds[role][0] ||
	    n - 1 > req_fds[role][1] ||
	    handoff_check(&req, req_types[role], sc.server_uid == 0) < 0 ||
	    (sc.conf.folder_count < 32 &&
		(req.user.folders >> sc.conf.folder_count) != 0) ||
	    ((req.flags & HANDOFF_QUOTA) != 0) !=
		(n - 1 == 4 && role == SPAWN_ROLE_POSTLOGIN)) {
		log_warn(
		    "spawner %-s: request refused: sender uid %ld, %zu fds, "
		    "or a field out of range",
		    spawn_role_name(role), (long)cr.uid, n);
		close_all(fds, n);
		return;
	}
	if ((pid = fork()) < 0) {
		log_err("spawner %-s: fork: %-s", spawn_role_name(role),
		    strerror(errno));
		close_all(fds, n);
		return;
	}
	if (pid == 0)
		child_main(fds + 1, n - 1);
	close_all(fds + 1, n - 1);
	started(pid, fds[0]);
}

/* Closed now, freed after the batch (its other event may be pending). */
static void
forget(struct child *c)
{
	/*
	 * Out of the epoll set first: the monitor holds the same pidfd
	 * (it was passed), so closing ours would not remove it.
	 */
	epoll_ctl(ep, EPOLL_CTL_DEL, c->pidfd, NULL);
	if (c->reply >= 0)
		epoll_ctl(ep, EPOLL_CTL_DEL, c->reply, NULL);
	sys_close(&c->pidfd);
	sys_close(&c->reply);
	c->next_gone = reaped_list;
	reaped_list = c;
	nchildren--;
}

static void
free_gone(void)
{
	struct child *c;

	while ((c = reaped_list) != NULL) {
		reaped_list = c->next_gone;
		free(c);
	}
}

/* The worker ended: its status to the monitor, then forget it. */
static void
reaped(struct child *c)
{
	struct spawn_exit e = { 0, 0 };
	siginfo_t si;

	if (c->pidfd < 0)
		return;
	memset(&si, 0, sizeof(si));
	if (waitid((idtype_t)P_PIDFD, (id_t)c->pidfd, &si, WEXITED) < 0)
		return;
	e.code = si.si_code;
	e.status = si.si_status;
	if (c->reply >= 0)
		ipc_send_fds(c->reply, SPAWN_EXITED, &e, sizeof(e), NULL, 0);
	forget(c);
}

/* The monitor hung up (or spoke out of turn): its worker goes too. */
static void
hung_up(struct child *c)
{
	if (c->pidfd < 0 || c->reply < 0)
		return;
	syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0);
	epoll_ctl(ep, EPOLL_CTL_DEL, c->reply, NULL);
	close(c->reply);
	c->reply = -1;
}

int
spawner_main(const char *name)
{
	struct epoll_event ev[EVENTS_MAX];
	struct end *e;
	int i, n, on = 1;

	for (role = 0; role < SPAWN_ROLES; role++)
		if (strcmp(name, spawn_role_name(role)) == 0)
			break;
	read_conf();
	if (role == SPAWN_ROLES)
		fatal("unknown role");
	(void)signal(SIGPIPE, SIG_IGN);
	/* log rotation is the listener's; `systemctl kill -s USR1` sends it
	 * to every process of the unit: spawners and their children ignore it */
	(void)signal(SIGUSR1, SIG_IGN);
	self = getpid();
	if ((null_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0 ||
	    dup2(null_fd, STDIN_FILENO) < 0 ||
	    dup2(null_fd, STDOUT_FILENO) < 0 ||
	    setsockopt(SPAWN_FD_CHAN, SOL_SOCKET, SO_PASSCRED, &on,
		sizeof(on)) < 0 ||
	    (ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		fatal("set-up failed");
	setup_role();
	/* named once set up: a kf-spawn-* process is a ready one */
	prctl(PR_SET_NAME, own_names[role]);
	on_chan = (struct end){ NULL, 0 };
	watch(SPAWN_FD_CHAN, &on_chan);
	while (chan_open || nchildren > 0) {
		if ((n = epoll_wait(ep, ev, EVENTS_MAX, -1)) < 0) {
			if (errno == EINTR)
				continue;
			fatal("epoll_wait");
		}
		for (i = 0; i < n; i++) {
			e = ev[i].data.ptr;
			if (e == &on_chan)
				take_request();
			else if (e->is_reply)
				hung_up(e->c);
			else
				reaped(e->c);
		}
		free_gone();
		if (role == SPAWN_ROLE_HOOK)
			hook_next();
	}
	_exit(0);
}
