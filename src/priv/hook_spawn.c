/*
 * hook_spawn.c - the hook spawner's own part (kf-spawn-hook; the loop,
 * the pidfd and exit replies are spawner.c's). It holds CAP_SETUID,
 * CAP_SETGID and CAP_SETPCAP only: enough to give a run an identity
 * and an empty bounding set, nothing to read or write a file with.
 * Per request it forks a runner, which forks the hook:
 *   hook     its own process group; stdin /dev/null, stdout and stderr
 *            a pipe to the runner, the file at 3, nothing else open;
 *            the session's user (or upload_hook_user), one group, no
 *            capability, empty bounding set, no_new_privs, death signal;
 *            chdir to the session's root; after mode: the path it is
 *            given must name the file at 3 (same device and inode,
 *            checked as that user), else it does not run; execve of
 *            upload_hook (no shell, no PATH search) with fixed argv and
 *            environment.
 *   runner   the same identity and limits; reads at most
 *            KF_HOOK_OUTPUT_MAX bytes of output (the rest is drained
 *            and counted), kills the process group at
 *            upload_hook_timeout, logs the outcome and the output
 *            (escaped by the sink), exits with enum hook_result.
 * Runs in: the hook spawner and its runners.
 */
#include <errno.h>
#include <linux/capability.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/sys.h"
#include "../ipc/ipc.h"
#include "../sandbox/sandbox.h"
#include "hook.h"
#include "spawn.h"

#define HOOK_FD_FILE	 3
#define HOOK_ENV_PATH	 "PATH=/usr/bin:/bin"
#define KF_HOOK_LINE_MAX 512 /* bytes of output per log line */

static const struct conf *conf;
static int have_user; /* upload_hook_user found (root: required) */
static uid_t user_uid;
static gid_t user_gid;

void
hook_spawner_setup(const struct spawn_conf *sc)
{
	static const int caps[] = { CAP_SETUID, CAP_SETGID, CAP_SETPCAP };
	const struct passwd *pw;

	conf = &sc->conf;
	if (conf->upload_hook_user[0] != '\0' && geteuid() == 0) {
		pw = getpwnam(conf->upload_hook_user);
		if (pw == NULL || pw->pw_uid == 0 || pw->pw_gid == 0)
			log_err("upload hooks will not run: no such user, or "
				"root: upload_hook_user=%s",
			    conf->upload_hook_user);
		else {
			have_user = 1;
			user_uid = pw->pw_uid;
			user_gid = pw->pw_gid;
		}
	} else
		have_user = 1;
	sandbox_keep_caps(caps, sizeof(caps) / sizeof(caps[0]));
}

int
hook_take(int chan, struct hook_job *j, struct ucred *cr)
{
	int fds[2];
	struct stat st;
	int r;

	memset(j, 0, sizeof(*j));
	j->reply = j->file = -1;
	r = ipc_recv_fds(chan, SPAWN_HOOK, &j->req, sizeof(j->req), fds, 2,
	    NULL, cr);
	if (r < 0)
		return r == -EPIPE ? -EPIPE : -EBADMSG;
	j->reply = fds[0];
	j->file = fds[1];
	if (hook_req_check(&j->req, geteuid() == 0) < 0 ||
	    fstat(j->file, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_warn("spawner hook: request refused: a field out of range "
			 "or not a regular file");
		hook_drop(j);
		return -EBADMSG;
	}
	return 0;
}

void
hook_drop(struct hook_job *j)
{
	sys_close(&j->reply);
	sys_close(&j->file);
}

/* The identity a run takes: upload_hook_user's, else the session's. */
static void
run_ids(const struct hook_req *r, uid_t *uid, gid_t *gid)
{
	*uid = r->uid;
	*gid = r->gid;
	if (conf->upload_hook_user[0] != '\0' && geteuid() == 0) {
		*uid = user_uid;
		*gid = user_gid;
	}
}

/* root + path, without a doubled slash; hook_req_check bounded both. */
static void
disk_path(const struct hook_req *r, char *out, size_t outsz)
{
	size_t rl = strlen(r->root);

	while (rl > 1 && r->root[rl - 1] == '/')
		rl--;
	if (rl == 1)
		rl = 0;
	snprintf(out, outsz, "%.*s%s", (int)rl, r->root, r->path);
}

/* A line on the pipe (the runner logs it); the hook's stderr is it. */
static void __attribute__((noreturn)) refuse_run(const char *why, int code)
{
	static const char head[] = "keepftpd: upload hook not run: ";

	(void)!write(STDERR_FILENO, head, sizeof(head) - 1);
	(void)!write(STDERR_FILENO, why, strlen(why));
	(void)!write(STDERR_FILENO, "\n", 1);
	_exit(code);
}

/* After mode: the path names the file the worker passed, as the user. */
static void
check_same_file(const char *path)
{
	struct stat a, b;

	if (stat(path, &a) < 0 || fstat(HOOK_FD_FILE, &b) < 0 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		refuse_run("the path does not name the uploaded file", 126);
}

/* In the hook's process, before its identity is taken: descriptors. */
static void
hook_fds(int out)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (null < 0 || dup2(null, STDIN_FILENO) < 0 ||
	    dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0 ||
	    fcntl(HOOK_FD_FILE, F_SETFD, 0) < 0 ||
	    syscall(SYS_close_range, HOOK_FD_FILE + 1, ~0U, 0) < 0)
		_exit(HOOK_NOT_RUN);
}

/* The fixed environment, and nothing else: envp has room for 8. */
static void
hook_env(const struct hook_req *r, off_t size, char **envp)
{
	static char e_user[KF_USER_MAX + 32], e_client[ADDR_STR_MAX + 32],
	    e_path[KF_PATH_MAX + 32], e_size[48], e_sess[48], e_mode[32],
	    env_path[] = HOOK_ENV_PATH;

	snprintf(e_user, sizeof(e_user), "KEEPFTPD_USER=%s", r->user);
	snprintf(e_client, sizeof(e_client), "KEEPFTPD_CLIENT=%s", r->client);
	snprintf(e_path, sizeof(e_path), "KEEPFTPD_PATH=%s", r->path);
	snprintf(e_size, sizeof(e_size), "KEEPFTPD_SIZE=%lld", (long long)size);
	snprintf(e_sess, sizeof(e_sess), "KEEPFTPD_SESSION=%llu",
	    (unsigned long long)r->id);
	snprintf(e_mode, sizeof(e_mode), "KEEPFTPD_MODE=%s",
	    r->check ? "check" : "after");
	envp[0] = e_user;
	envp[1] = e_client;
	envp[2] = e_path;
	envp[3] = e_size;
	envp[4] = e_sess;
	envp[5] = e_mode;
	envp[6] = env_path;
	envp[7] = NULL;
}

static void __attribute__((noreturn))
exec_hook(const struct hook_job *j, int out, pid_t runner)
{
	static char path[KF_PATH_MAX + 2], prog[KF_CONF_VALUE_MAX + 1];
	char *argv[3], *envp[8];
	struct stat st;
	uid_t uid;
	gid_t gid;

	setpgid(0, 0);
	hook_fds(out);
	run_ids(&j->req, &uid, &gid);
	sandbox_hook(uid, gid, runner);
	if (chdir(j->req.root) < 0 && chdir("/") < 0)
		_exit(HOOK_NOT_RUN);
	if (j->req.check)
		snprintf(path, sizeof(path), "/dev/fd/%d", HOOK_FD_FILE);
	else {
		disk_path(&j->req, path, sizeof(path));
		check_same_file(path);
	}
	if (fstat(HOOK_FD_FILE, &st) < 0)
		_exit(HOOK_NOT_RUN);
	snprintf(prog, sizeof(prog), "%s", conf->upload_hook);
	hook_env(&j->req, st.st_size, envp);
	argv[0] = prog;
	argv[1] = path;
	argv[2] = NULL;
	execve(prog, argv, envp);
	refuse_run(strerror(errno), 127);
}

/* The output collected for the log, and what did not fit. */
struct output {
	char buf[KF_HOOK_OUTPUT_MAX];
	size_t n;
	size_t dropped;
};

static int
drain(int fd, struct output *o)
{
	char tmp[4096];
	ssize_t n = read(fd, tmp, sizeof(tmp));
	size_t keep;

	if (n <= 0)
		return n == 0 || errno != EINTR ? -1 : 0;
	keep = (size_t)n < sizeof(o->buf) - o->n ? (size_t)n :
						   sizeof(o->buf) - o->n;
	memcpy(o->buf + o->n, tmp, keep);
	o->n += keep;
	o->dropped += (size_t)n - keep;
	return 0;
}

/* Output until it ends or the deadline; 1 when the deadline passed. */
static int
collect(int fd, struct output *o, int64_t until)
{
	int64_t now;

	while ((now = sys_now_ms()) < until) {
		if (sys_poll1(fd, POLLIN, (int)(until - now)) <= 0)
			continue;
		if (drain(fd, o) < 0)
			return 0;
	}
	return 1;
}

/* 1 when the hook has ended by the deadline. */
static int
ended(int pidfd, int64_t until)
{
	int64_t now;

	while ((now = sys_now_ms()) < until)
		if (sys_poll1(pidfd, POLLIN, (int)(until - now)) > 0)
			return 1;
	return sys_poll1(pidfd, POLLIN, 0) > 0;
}

/* The output, line by line (NUL ends a line too), in chunks. */
static void
log_output(struct output *o)
{
	char line[KF_HOOK_LINE_MAX + 1];
	size_t i = 0, k;

	while (i < o->n) {
		for (k = 0; i + k < o->n && k < KF_HOOK_LINE_MAX; k++)
			if (o->buf[i + k] == '\n' || o->buf[i + k] == '\0')
				break;
		memcpy(line, o->buf + i, k);
		line[k] = '\0';
		if (k > 0)
			log_info("upload hook: output=%s", line);
		i += k;
		if (i < o->n && (o->buf[i] == '\n' || o->buf[i] == '\0'))
			i++;
	}
	if (o->dropped > 0)
		log_info("upload hook: output: %zu more bytes dropped",
		    o->dropped);
}

static int
outcome(const struct hook_req *r, int status, int timed_out)
{
	if (timed_out) {
		log_warn(
		    "upload hook killed after %lu s (upload_hook_timeout): "
		    "path=%s",
		    conf->upload_hook_timeout, r->path);
		return HOOK_TIMEOUT;
	}
	if (WIFEXITED(status)) {
		log_info("upload hook %-s: exit=%d path=%s",
		    r->check ? "check" : "after", WEXITSTATUS(status), r->path);
		return WEXITSTATUS(status) == 0 ? HOOK_OK : HOOK_FAILED;
	}
	log_warn("upload hook ended by signal %d: path=%s",
	    WIFSIGNALED(status) ? WTERMSIG(status) : 0, r->path);
	return HOOK_FAILED;
}

void
hook_run(const struct hook_job *j, pid_t spawner)
{
	static struct output o;
	int pipefd[2], status = 0, timed_out, pidfd;
	int64_t until;
	pid_t pid;
	uid_t uid;
	gid_t gid;

	prctl(PR_SET_NAME, "kf-hook");
	log_set_prefix("[s%llu %s]", (unsigned long long)j->req.id,
	    j->req.client);
	/* the spawner's channel, epoll set and other runs: not ours */
	if (!have_user || dup2(j->file, HOOK_FD_FILE) < 0 ||
	    syscall(SYS_close_range, HOOK_FD_FILE + 1, ~0U, 0) < 0 ||
	    pipe2(pipefd, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		log_err("upload hook not run: %-s",
		    have_user ? strerror(errno) : "upload_hook_user unusable");
		_exit(HOOK_NOT_RUN);
	}
	if (pid == 0) {
		close(pipefd[0]);
		exec_hook(j, pipefd[1], getppid());
	}
	setpgid(pid, pid);
	if ((pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0) {
		kill(pid, SIGKILL);
		log_err("upload hook not run: pidfd_open: %-s",
		    strerror(errno));
		_exit(HOOK_NOT_RUN);
	}
	close(pipefd[1]);
	close(HOOK_FD_FILE);
	run_ids(&j->req, &uid, &gid);
	sandbox_hook(uid, gid, spawner);
	until = sys_now_ms() + (int64_t)conf->upload_hook_timeout * 1000;
	/* its output may end long before it does: the deadline holds both */
	timed_out = collect(pipefd[0], &o, until) || !ended(pidfd, until);
	if (timed_out) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL); /* also when it left the group */
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	log_output(&o);
	_exit(outcome(&j->req, status, timed_out));
}
