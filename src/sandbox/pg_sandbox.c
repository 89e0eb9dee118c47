/*
 * pg_sandbox.c - kf-pgauth's confinement (docs/SANDBOX.md, "kf-pgauth").
 * As root it takes the service user in the empty root like a spawner
 * (sandbox_spawner: no capability, no_new_privs); then no fork, no
 * core, few files (KF_PGAUTH_NOFILE), bounded memory, and a seccomp
 * allow-list of its own: sockets to the database (AF_INET, AF_INET6,
 * AF_UNIX stream) and connect, reading and writing them, polling,
 * memory (never executable), time, randomness, exit. Opening a file is
 * refused with EACCES (libpq and OpenSSL look for optional files: a
 * password file, openssl.cnf, none of which it may read); no exec, no
 * ptrace, no signals to others.
 * Runs in: kf-pgauth (`keepftpd-pgauth --pgauth`).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/limits.h"
#include "../common/log.h"
#include "sandbox.h"
#include "seccomp_common.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const pg_calls[] = {
	"read",
	"write",
	"readv",
	"writev",
	"recvfrom",
	"sendto",
	"recvmsg",
	"sendmsg",
	"connect",
	"poll",
	"ppoll",
	"close",
	"fstat",
	"newfstatat",
	"fcntl",
	"setsockopt",
	"getsockopt",
	"getsockname",
	"getpeername",
	"shutdown",
	"clock_gettime",
	"gettimeofday",
	"getrandom",
	"getpid",
	"gettid",
	"getuid",
	"geteuid",
	"futex",
	"brk",
	"munmap",
	"mremap",
	"madvise",
	"rt_sigreturn",
	"rt_sigprocmask",
	"rt_sigaction",
	"restart_syscall",
	"exit",
	"exit_group",
#ifdef KF_SANITIZE
	"sigaltstack",
	"sched_yield",
	"readlink",
	"prctl",
	"getrlimit",
	"prlimit64",
#endif
};

/* Optional files libpq and OpenSSL look for: told no, not killed. */
static const char *const pg_refused[] = {
	"open",
	"openat",
	"access",
	"faccessat",
	"faccessat2",
	"stat",
	"lstat",
	"statx",
	"readlink",
	"uname",
	"sysinfo",
};

static const int pg_families[] = { AF_INET, AF_INET6, AF_UNIX };

static void __attribute__((noreturn)) fail(const char *step)
{
	log_err("kf-pgauth: %-s: %-s", step, strerror(errno));
	_exit(1);
}

/* Stream sockets of the database's families only. */
static void
add_sockets(scmp_filter_ctx ctx)
{
	const scmp_datum_t mask = ~(scmp_datum_t)(SOCK_NONBLOCK | SOCK_CLOEXEC);
	size_t i;

	for (i = 0; i < NELEM(pg_families); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
			SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)pg_families[i]),
			SCMP_A1(SCMP_CMP_MASKED_EQ, mask, SOCK_STREAM)) < 0)
			fail("seccomp socket rule");
}

static void
apply_seccomp(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);

	if (ctx == NULL ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
		SCMP_ACT_KILL_PROCESS) < 0)
		fail("seccomp");
	if (sc_calls(ctx, SCMP_ACT_ALLOW, pg_calls, NELEM(pg_calls)) < 0 ||
	    sc_calls(ctx, SCMP_ACT_ERRNO(EACCES), pg_refused,
		NELEM(pg_refused)) < 0)
		fail("seccomp rule");
	add_sockets(ctx);
	/* anonymous memory only, never executable */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
		SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
		SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) < 0 ||
	    seccomp_load(ctx) < 0)
		fail("seccomp load");
	seccomp_release(ctx);
}

void
sandbox_pgauth(const struct sandbox_spec *sp)
{
	struct rlimit none = { 0, 0 },
		      files = { KF_PGAUTH_NOFILE, KF_PGAUTH_NOFILE };
#ifndef KF_SANITIZE
	struct rlimit as = { KF_PGAUTH_AS, KF_PGAUTH_AS };
#endif

	sandbox_spawner(sp);
	if (setrlimit(RLIMIT_NPROC, &none) < 0 ||
	    setrlimit(RLIMIT_CORE, &none) < 0 ||
#ifndef KF_SANITIZE
	    setrlimit(RLIMIT_AS, &as) < 0 ||
#endif
	    setrlimit(RLIMIT_NOFILE, &files) < 0)
		fail("rlimits");
	apply_seccomp();
}
