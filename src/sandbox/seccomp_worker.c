/*
 * seccomp_worker.c - the system call allow-lists of the workers' phases:
 * pre-login and post-login workers (base_calls and mode_calls, shared in
 * seccomp_common.c, and post_calls here), the TLS relay (relay_calls)
 * and kf-metrics (metrics_calls), plus what only they have: abort() and
 * raise() to themselves alone, and the sanitizer runtimes' calls in
 * KF_SANITIZE builds. None of these lists is in the privileged image.
 * The programs are compiled once, in each spawner before any fork
 * (seccomp_prepare), and loaded as they are by each worker: libseccomp's
 * compiler then runs once per spawner, not in every session's processes.
 * Runs in: spawners (prepare), pre-login and post-login workers, the
 * TLS relay and kf-metrics (apply, compiled in place there), last step
 * of the sandbox. keepftpd-worker only.
 */
#include <errno.h>
#include <seccomp.h>
#include <stddef.h>

#include "seccomp.h"
#include "seccomp_common.h"

/*
 * The TLS relay: its own list, smaller than the base one: two sockets
 * already open, memory, time, randomness for OpenSSL, exit. No socket
 * options, no stat, no sleeping calls.
 */
static const char *const relay_calls[] = {
	"read",
	"write",
	"readv",
	"writev",
	"recvfrom",
	"sendto",
	"recvmsg",
	"sendmsg",
	"poll",
	"ppoll",
	"close",
	"fcntl",
	"shutdown",
	"brk",
	"munmap",
	"mremap",
	"madvise",
	"clock_gettime",
	"gettimeofday",
	"futex",
	"getrandom",
	"getpid",
	"gettid",
	"rt_sigreturn",
	"rt_sigprocmask",
	"restart_syscall",
	"exit",
	"exit_group",
};

/*
 * kf-metrics (metrics_listen): its own list, the smallest: accept on
 * the one listening socket, read the request, write the answer, time,
 * memory, exit. No open, no socket, no connect (a syslog sink is
 * connected before the filter; a reconnection fails with EACCES).
 */
static const char *const metrics_calls[] = {
	"accept4",
	"read",
	"recvfrom",
	"write",
	"writev",
	"sendto",
	"poll",
	"ppoll",
	"close",
	"shutdown",
	"fcntl",
	"brk",
	"munmap",
	"madvise",
	"clock_gettime",
	"gettimeofday",
	"futex",
	"getpid",
	"gettid",
	"rt_sigreturn",
	"rt_sigprocmask",
	"restart_syscall",
	"exit",
	"exit_group",
};

/*
 * Post-login: files under the root, transfers, data connections.
 * openat, mkdirat, fchmod and fchmodat are in mode_calls below.
 */
static const char *const post_calls[] = {
	"getdents64",
	"unlinkat",
	"renameat",
	"linkat", /* an O_TMPFILE upload gets its name (upload.c) */
	"renameat2",
	"utimensat",
	"ftruncate",
	"fsync",
	"fdatasync",
	/* hash_store: the digests stored with an upload (fs/hash_store.c) */
	"fgetxattr",
	"fsetxattr",
	"fremovexattr",
	"readlinkat",
	"statx",
	"fstatfs",
	"pread64",
	"pwrite64",
	"umask",
	"dup",
	"dup3",
	"sendfile",
	"splice",
	"pipe2",
	"bind",
	"listen",
	"accept",
	"accept4",
	"connect",
	"getuid",
	"geteuid",
	"getgid",
	"getegid",
	"uname",
};

/* The signal calls whose first argument is the target process. */
static const char *const self_signal_calls[] = { "kill", "tgkill" };

#ifdef KF_SANITIZE
/*
 * What the ASan/UBSan/LSan runtimes call inside the sandbox, found by
 * running tests/unit/test_sandbox.c's deliberate reports and normal
 * exits under strace. No clone, no execve, no PROT_EXEC: the runtime
 * neither symbolizes through a helper process nor checks leaks at exit
 * from inside the sandbox.
 */
static const char *const sanitizer_calls[] = {
	"sigaltstack", /* at exit: the runtime frees its signal stack */
};

/*
 * Refused with EACCES, not fatal: when reporting, the runtime looks at
 * /proc/self/exe and /proc/self/maps; it prints the report without.
 */
static const char *const sanitizer_refused_pre[] = {
	"open",
	"openat",
	"readlink",
	"stat",
};
static const char *const sanitizer_refused_post[] = {
	"open",
	"readlink",
	"stat",
};
#endif

/* abort() and raise() signal this process only, never a neighbour. */
static int
allow_self_signals(scmp_filter_ctx ctx, scmp_datum_t me)
{
	size_t i;
	int nr;

	for (i = 0; i < SC_NELEM(self_signal_calls); i++) {
		if ((nr = seccomp_syscall_resolve_name(self_signal_calls[i])) ==
		    __NR_SCMP_ERROR)
			continue;
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
			sc_cmp(0, SCMP_CMP_EQ, me, 0)) < 0)
			return -1;
	}
	return 0;
}

#ifdef KF_SANITIZE
static int
allow_sanitizer(scmp_filter_ctx ctx, enum sandbox_phase phase)
{
	if (sc_allow_calls(ctx, sanitizer_calls, SC_NELEM(sanitizer_calls)) <
		0 ||
	    sc_allow_sanitizer_args(ctx) < 0)
		return -1;
	if (phase != SANDBOX_POSTLOGIN)
		return sc_calls(ctx, SCMP_ACT_ERRNO(EACCES),
		    sanitizer_refused_pre, SC_NELEM(sanitizer_refused_pre));
	return sc_calls(ctx, SCMP_ACT_ERRNO(EACCES), sanitizer_refused_post,
	    SC_NELEM(sanitizer_refused_post));
}
#endif

/* kf-metrics: glibc's syslog may try to reconnect; it is told no. */
static const char *const metrics_refused[] = { "socket", "connect" };

/* Pre-login, post-login, relay, kf-metrics. */
static int
build_worker(scmp_filter_ctx ctx, enum sandbox_phase phase, scmp_datum_t me)
{
	if (phase == SANDBOX_METRICS) {
		if (sc_allow_calls(ctx, metrics_calls,
			SC_NELEM(metrics_calls)) < 0 ||
		    sc_calls(ctx, SCMP_ACT_ERRNO(EACCES), metrics_refused,
			SC_NELEM(metrics_refused)) < 0)
			return -1;
	} else if (phase == SANDBOX_RELAY) {
		if (sc_allow_calls(ctx, relay_calls, SC_NELEM(relay_calls)) < 0)
			return -1;
	} else if (sc_allow_base_calls(ctx) < 0)
		return -1;
	if (sc_allow_base_args(ctx) < 0 || allow_self_signals(ctx, me) < 0)
		return -1;
	if (phase == SANDBOX_POSTLOGIN &&
	    (sc_allow_calls(ctx, post_calls, SC_NELEM(post_calls)) < 0 ||
		sc_allow_modes(ctx) < 0 || sc_allow_tcp_sockets(ctx) < 0 ||
		sc_refuse_enosys(ctx) < 0))
		return -1;
#ifdef KF_SANITIZE
	if (allow_sanitizer(ctx, phase) < 0)
		return -1;
#endif
	return 0;
}

/* The workers' phases, in the order of enum sandbox_phase. */
static const enum sandbox_phase worker_phases[] = {
	SANDBOX_PRELOGIN,
	SANDBOX_POSTLOGIN,
	SANDBOX_RELAY,
};

/* Whether the rules compare the pid: iff the arch has a self-signal call. */
static int
compares_pid(void)
{
	size_t i;

	for (i = 0; i < SC_NELEM(self_signal_calls); i++)
		if (seccomp_syscall_resolve_name(self_signal_calls[i]) !=
		    __NR_SCMP_ERROR)
			return 1;
	return 0;
}

/*
 * In a spawner, before any fork: compile the workers' programs. A phase
 * that fails to compile (or whose pid compare cannot be found) is built
 * in the worker instead. 0, or -1 when none could.
 */
int
seccomp_prepare(void)
{
	int want = compares_pid(), ok = 0;
	size_t i;

	for (i = 0; i < SC_NELEM(worker_phases); i++)
		if (sc_prepare(worker_phases[i], build_worker, want) == 0)
			ok++;
	return ok > 0 ? 0 : -1;
}

/* A worker's or the relay's phase (not the monitor's). 0 or -1. */
int
seccomp_apply(enum sandbox_phase phase)
{
	if (phase == SANDBOX_MONITOR) {
		errno = EINVAL;
		return -1;
	}
	return sc_apply(phase, build_worker);
}
