/*
 * seccomp.c - the system call allow-lists, as tables. Anything not
 * listed kills the process (SCMP_ACT_KILL_PROCESS). Memory may never
 * become executable, signals reach only this process, and the
 * post-login worker may create TCP sockets only.
 * Runs in: pre-login and post-login workers, last step of the sandbox.
 */
#include <errno.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/log.h"
#include "seccomp.h"

/* Both phases: talk on fds already open, memory, time, exit. */
static const char *const base[] = {
	"read", "write", "readv", "writev", "recvfrom", "sendto", "recvmsg",
	"sendmsg", "poll", "ppoll", "close", "fstat", "newfstatat", "lseek",
	"clock_gettime", "clock_nanosleep", "nanosleep", "gettimeofday",
	"brk", "munmap", "mremap", "madvise", "futex", "getrandom", "getpid",
	"gettid", "rt_sigreturn", "rt_sigprocmask", "rt_sigaction", "exit",
	"exit_group", "shutdown", "fcntl", "setsockopt", "getsockopt",
	"getsockname", "getpeername", "restart_syscall", "sched_yield",
};

/* Post-login: files under the root, and data connections. */
static const char *const post[] = {
	"openat", "openat2", "getdents64", "mkdirat", "unlinkat", "renameat",
	"renameat2", "utimensat", "fchmod", "fchmodat", "ftruncate", "fsync",
	"fdatasync", "readlinkat", "statx", "fstatfs", "sendfile", "splice",
	"pipe2", "umask", "bind", "listen", "accept", "accept4", "connect",
	"dup", "dup3", "getuid", "geteuid", "getgid", "getegid", "uname",
	"pread64", "pwrite64",
};

#ifdef KF_SANITIZE
/* What the ASan/UBSan runtimes call, mostly when they report. */
static const char *const sanitizer[] = {
	"sigaltstack", "prctl", "readlink", "open", "openat", "getppid",
	"sched_getaffinity", "ioctl", "mprotect", "write", "pipe2", "tgkill",
	"kill", "clone", "clone3", "wait4", "rt_sigtimedwait", "getrlimit",
	"prlimit64", "statx", "lstat", "stat", "access", "faccessat",
	"faccessat2", "process_vm_readv", "getdents64", "uname",
};
#endif

static int
allow_list(scmp_filter_ctx ctx, const char *const *names, size_t n)
{
	size_t i;
	int nr;

	for (i = 0; i < n; i++) {
		nr = seccomp_syscall_resolve_name(names[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;	/* not on this architecture */
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) < 0)
			return -1;
	}
	return 0;
}

/* mmap and mprotect, never with PROT_EXEC. */
static int
allow_memory(scmp_filter_ctx ctx)
{
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) < 0)
		return -1;
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
}

/* abort() and raise() signal this process only, never a neighbour. */
static int
allow_self_signals(scmp_filter_ctx ctx)
{
	scmp_datum_t me = (scmp_datum_t)getpid();

	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
	    SCMP_A0(SCMP_CMP_EQ, me)) < 0)
		return -1;
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
	    SCMP_A0(SCMP_CMP_EQ, me));
}

/* socket(AF_INET or AF_INET6, SOCK_STREAM [| NONBLOCK | CLOEXEC], *). */
static int
allow_tcp_sockets(scmp_filter_ctx ctx)
{
	static const int families[] = { AF_INET, AF_INET6 };
	const scmp_datum_t mask = ~(scmp_datum_t)(SOCK_NONBLOCK | SOCK_CLOEXEC);
	size_t i;

	for (i = 0; i < 2; i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
		    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)families[i]),
		    SCMP_A1(SCMP_CMP_MASKED_EQ, mask, SOCK_STREAM)) < 0)
			return -1;
	return 0;
}

int
seccomp_apply(enum sandbox_phase phase)
{
	scmp_filter_ctx ctx;
	int r = -1;

	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		return -1;
	if (allow_list(ctx, base, sizeof(base) / sizeof(base[0])) < 0 ||
	    allow_memory(ctx) < 0 || allow_self_signals(ctx) < 0)
		goto out;
	if (phase == SANDBOX_POSTLOGIN &&
	    (allow_list(ctx, post, sizeof(post) / sizeof(post[0])) < 0 ||
	    allow_tcp_sockets(ctx) < 0))
		goto out;
#ifdef KF_SANITIZE
	if (allow_list(ctx, sanitizer, sizeof(sanitizer) / sizeof(sanitizer[0])) < 0)
		goto out;
#endif
	r = seccomp_load(ctx);
out:
	seccomp_release(ctx);
	return r;
}
