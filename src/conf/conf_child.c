/*
 * conf_child.c - the listener's side of the configuration parser child
 * (docs/SECURITY.md, "The configuration parser"). The listener never
 * parses keepftpd.conf itself: it forks, the child executes a fresh
 * keepftpd image (/proc/self/exe, the running one) as `keepftpd
 * --conf-child PATH [KEY=VALUE]...`, which gives up its privileges
 * (sandbox_conf_parser) before it reads a byte and writes one struct
 * conf_result into a memfd the listener made. The listener waits at
 * most KF_CONF_PARSE_MS, kills a child that hangs, seals the memfd,
 * takes exactly sizeof(struct conf_result) bytes and checks every field
 * (conf_check_result) before it uses any of it.
 * Runs in: listener (start, SIGHUP), `keepftpd -t`.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf_child.h"
#include "../common/limits.h"
#include "../common/sys.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

extern char **environ;

static void add_error(struct conf_errors *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
add_error(struct conf_errors *e, const char *fmt, ...)
{
	va_list ap;

	if (e->count < NITEMS(e->msg)) {
		va_start(ap, fmt);
		(void)vsnprintf(e->msg[e->count], sizeof(e->msg[0]), fmt, ap);
		va_end(ap);
	}
	e->count++;
}

/*
 * In the child, before exec: the memfd as CONF_CHILD_FD, no other
 * descriptor but 0-2, no blocked signal (the listener blocks its own).
 */
static void __attribute__((noreturn))
child_exec(int exe, int memfd, char **argv)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (exe == CONF_CHILD_FD && (exe = dup(exe)) < 0)
		_exit(126);
	if (memfd == CONF_CHILD_FD)
		(void)fcntl(memfd, F_SETFD, 0);
	else if (dup2(memfd, CONF_CHILD_FD) < 0)
		_exit(126);
	(void)close_range(CONF_CHILD_FD + 1, ~0U, CLOSE_RANGE_CLOEXEC);
	syscall(SYS_execveat, exe, "", argv, environ, AT_EMPTY_PATH);
	_exit(127);
}

static void
argv_free(char **argv)
{
	size_t i;

	for (i = 0; argv != NULL && argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

/* The child's argv, copies: keepftpd --conf-child PATH KEY=VALUE... */
static char **
child_argv(const char *path, const char *const *ov, size_t n)
{
	char **argv;
	size_t i;

	if (n > KF_CONF_ARGS_MAX ||
	    (argv = calloc(n + 4, sizeof(*argv))) == NULL)
		return NULL;
	argv[0] = strdup("keepftpd");
	argv[1] = strdup(CONF_CHILD_ARG);
	argv[2] = strdup(path != NULL ? path : "");
	for (i = 0; i < n && argv[2 + i] != NULL; i++)
		argv[3 + i] = strdup(ov[i]);
	if (argv[2 + n] == NULL || argv[0] == NULL || argv[1] == NULL) {
		argv_free(argv);
		return NULL;
	}
	return argv;
}

/*
 * Reaps pid, waiting at most KF_CONF_PARSE_MS (a pidfd tells when it
 * ends; without one, Linux < 5.3, a look every 10 ms); kills it then.
 * 1: it was killed for taking too long.
 */
static int
wait_bounded(pid_t pid, int *status)
{
	int64_t deadline = sys_now_ms() + KF_CONF_PARSE_MS, left;
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0), late = 0;

	while (waitpid(pid, status, WNOHANG) == 0) {
		if ((left = deadline - sys_now_ms()) <= 0) {
			late = 1;
			kill(pid, SIGKILL);
			while (waitpid(pid, status, 0) < 0 && errno == EINTR)
				;
			break;
		}
		if (pfd >= 0)
			(void)sys_poll1(pfd, POLLIN, (int)left);
		else
			sys_sleep_ms(10);
	}
	sys_close(&pfd);
	return late;
}

/* Why a child that did not end well ended: "exited with status 1". */
static void
why_ended(int late, int st, char *why, size_t n)
{
	if (late)
		snprintf(why, n, "did not finish in %d s; killed",
		    KF_CONF_PARSE_MS / 1000);
	else if (WIFSIGNALED(st))
		snprintf(why, n, "was killed by signal %d (%s)", WTERMSIG(st),
		    strsignal(WTERMSIG(st)));
	else if (WIFEXITED(st))
		snprintf(why, n, "exited with status %d", WEXITSTATUS(st));
	else
		snprintf(why, n, "ended with wait status %#x", (unsigned)st);
}

/* Runs the child; 0 when it exited 0, else -1 and why in errs. */
static int
run_child(int memfd, char **argv, struct conf_errors *errs)
{
	char why[128];
	int exe, st = -1, late;
	pid_t pid;

	exe = open("/proc/self/exe", O_PATH | O_CLOEXEC);
	if (exe < 0 || (pid = fork()) < 0) {
		add_error(errs,
		    "config: cannot start the configuration "
		    "parser: %s",
		    strerror(errno));
		sys_close(&exe);
		return -1;
	}
	if (pid == 0)
		child_exec(exe, memfd, argv);
	sys_close(&exe);
	late = wait_bounded(pid, &st);
	if (!late && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	why_ended(late, st, why, sizeof(why));
	add_error(errs, "config: the configuration parser (pid %ld) %s",
	    (long)pid, why);
	return -1;
}

/*
 * The child is gone: seal what it wrote (nobody can change it now) and
 * take exactly one struct conf_result. 0, or -1 and why in errs.
 */
static int
take_result(int memfd, struct conf_result *r, struct conf_errors *errs)
{
	struct stat st;
	const char *what = "";

	if (fcntl(memfd, F_ADD_SEALS,
		F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0 ||
	    fstat(memfd, &st) < 0) {
		add_error(errs, "config: the parser's result: %s",
		    strerror(errno));
		return -1;
	}
	if (st.st_size != (off_t)sizeof(*r) ||
	    sys_pread(memfd, r, sizeof(*r), 0) != (ssize_t)sizeof(*r)) {
		add_error(errs,
		    "config: the parser returned %lld bytes, not %zu",
		    (long long)st.st_size, sizeof(*r));
		return -1;
	}
	if (conf_check_result(r, &what) < 0) {
		add_error(errs, "config: the parser returned a bad %s", what);
		return -1;
	}
	return 0;
}

int
conf_child_load(const char *path, const char *const *ov, size_t n,
    struct conf *out, struct conf_errors *errs)
{
	struct conf_result *r = NULL;
	char **argv = child_argv(path, ov, n);
	int memfd = -1, ret = -1;

	memfd = memfd_create("keepftpd-conf", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (argv == NULL || memfd < 0 || (r = malloc(sizeof(*r))) == NULL)
		add_error(errs,
		    "config: cannot start the configuration "
		    "parser: %s",
		    strerror(errno));
	else if (run_child(memfd, argv, errs) == 0 &&
	    take_result(memfd, r, errs) == 0) {
		if (r->ok) {
			*out = r->conf;
			ret = 0;
		} else
			*errs = r->errs;
	}
	sys_close(&memfd);
	argv_free(argv);
	free(r);
	return ret;
}
