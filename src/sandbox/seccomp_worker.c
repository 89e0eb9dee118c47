/*
 * seccomp_worker.c - the system call allow-lists of the workers' phases:
 * pre-login and post-login workers (base_calls, post_calls, mode_calls),
 * the TLS relay (relay_calls) and kf-metrics (metrics_calls), each list
 * in seccomp_common.c, plus what only they have: abort() and raise() to themselves alone, and the
 * sanitizer runtimes' calls in KF_SANITIZE builds.
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
refuse_calls(scmp_filter_ctx ctx, const char *const *names, size_t n)
{
	size_t i;
	int nr;

	for (i = 0; i < n; i++) {
		if ((nr = seccomp_syscall_resolve_name(names[i])) ==
		    __NR_SCMP_ERROR)
			continue;
		if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), nr, 0) < 0)
			return -1;
	}
	return 0;
}

static int
allow_sanitizer(scmp_filter_ctx ctx, enum sandbox_phase phase)
{
	if (sc_allow_calls(ctx, sanitizer_calls, SC_NELEM(sanitizer_calls)) <
		0 ||
	    sc_allow_sanitizer_args(ctx) < 0)
		return -1;
	if (phase != SANDBOX_POSTLOGIN)
		return refuse_calls(ctx, sanitizer_refused_pre,
		    SC_NELEM(sanitizer_refused_pre));
	return refuse_calls(ctx, sanitizer_refused_post,
	    SC_NELEM(sanitizer_refused_post));
}
#endif

/* kf-metrics: glibc's syslog may try to reconnect; it is told no. */
static const char *const metrics_refused[] = { "socket", "connect" };

static int
refuse_connect(scmp_filter_ctx ctx)
{
	size_t i;
	int nr;

	for (i = 0; i < SC_NELEM(metrics_refused); i++) {
		if ((nr = seccomp_syscall_resolve_name(metrics_refused[i])) ==
		    __NR_SCMP_ERROR)
			continue;
		if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), nr, 0) < 0)
			return -1;
	}
	return 0;
}

/* Pre-login, post-login, relay, kf-metrics. */
static int
build_worker(scmp_filter_ctx ctx, enum sandbox_phase phase, scmp_datum_t me)
{
	if (phase == SANDBOX_METRICS) {
		if (sc_allow_metrics_calls(ctx) < 0 || refuse_connect(ctx) < 0)
			return -1;
	} else if (phase == SANDBOX_RELAY) {
		if (sc_allow_relay_calls(ctx) < 0)
			return -1;
	} else if (sc_allow_base_calls(ctx) < 0)
		return -1;
	if (sc_allow_base_args(ctx) < 0 || allow_self_signals(ctx, me) < 0)
		return -1;
	if (phase == SANDBOX_POSTLOGIN &&
	    (sc_allow_post_calls(ctx) < 0 || sc_allow_modes(ctx) < 0 ||
		sc_allow_tcp_sockets(ctx) < 0 || sc_refuse_enosys(ctx) < 0))
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
