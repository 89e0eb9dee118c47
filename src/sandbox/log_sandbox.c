/*
 * log_sandbox.c - kf-log's confinement (docs/SECURITY.md, "kf-log").
 * kf-log writes the files the listener opened for it and nothing else:
 * as root it takes the service user in the empty root like a spawner
 * (sandbox_spawner: no capability, no_new_privs), then no new files
 * (RLIMIT_NOFILE small, no fork, no core) and a seccomp allow-list of
 * reading datagrams and descriptors, writing, polling and closing. No
 * open, no socket, no exec: a bug in a renderer cannot reach out.
 * Runs in: kf-log (`keepftpd-worker --log`).
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../common/log.h"
#include "sandbox.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const log_calls[] = {
	"read",
	"recvmsg",
	"recvfrom",
	"write",
	"writev",
	"poll",
	"ppoll",
	"close",
	"fstat",
	"newfstatat",
	"fcntl",
	"clock_gettime",
	"gettimeofday",
	"getpid",
	"munmap",
	"brk",
	"madvise",
	"rt_sigreturn",
	"rt_sigprocmask",
	"exit",
	"exit_group",
#ifdef KF_SANITIZE
	"sigaltstack",
	"gettid",
	"sched_yield",
	"mmap",
	"mprotect",
	"readlink",
	"openat",
	"prctl",
	"futex",
	"getrlimit",
	"prlimit64",
#endif
};

static void __attribute__((noreturn)) fail(const char *step)
{
	log_err("kf-log: %-s: %-s", step, strerror(errno));
	_exit(1);
}

static void
apply_seccomp(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	size_t i;
	int nr;

	if (ctx == NULL ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
		SCMP_ACT_KILL_PROCESS) < 0)
		fail("seccomp");
	for (i = 0; i < NELEM(log_calls); i++) {
		nr = seccomp_syscall_resolve_name(log_calls[i]);
		if (nr != __NR_SCMP_ERROR &&
		    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) < 0)
			fail("seccomp rule");
	}
	/* anonymous memory only, never executable */
	nr = seccomp_syscall_resolve_name("mmap");
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
		SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) < 0 ||
	    seccomp_load(ctx) < 0)
		fail("seccomp load");
	seccomp_release(ctx);
}

void
sandbox_log_writer(const struct sandbox_spec *sp)
{
	struct rlimit none = { 0, 0 }, files = { 16, 16 };

	sandbox_spawner(sp);
	if (setrlimit(RLIMIT_NPROC, &none) < 0 ||
	    setrlimit(RLIMIT_CORE, &none) < 0 ||
	    setrlimit(RLIMIT_NOFILE, &files) < 0)
		fail("rlimits");
	apply_seccomp();
}
