/*
 * seccomp.c - the system call allow-lists, as tables. Anything not
 * listed kills the process (SCMP_ACT_KILL_PROCESS), and so does any
 * other architecture's calling convention. Memory never becomes
 * executable, signals reach only this process, and only the post-login
 * worker may create sockets: TCP over IPv4 or IPv6. A post-login mode
 * with a set-id or sticky bit gets EPERM (mode_calls); openat2, whose
 * mode no filter can read, gets ENOSYS (enosys_calls).
 * Names are resolved by libseccomp for the native architecture; a name
 * the architecture lacks (mmap2 on x86_64) is skipped.
 * To allow a new call: add its name to the phase's table below, and to
 * docs/SANDBOX.md.
 * The programs are compiled once, in each spawner before any fork
 * (seccomp_prepare), and loaded as they are by each worker: libseccomp's
 * compiler then runs once per spawner, not in every session's processes.
 * Runs in: spawners (prepare), pre-login and
 * post-login workers and the TLS relay (apply), last step of the sandbox;
 * the monitor after login (apply, sandbox_monitor_shrink).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/limits.h"
#include "seccomp.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Both phases: talk on fds already open, memory, time, signals, exit. */
static const char *const base_calls[] = {
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
	"fstat",
	"newfstatat",
	"lseek",
	"fcntl",
	"shutdown",
	"setsockopt",
	"getsockopt",
	"getsockname",
	"getpeername",
	"brk",
	"munmap",
	"mremap",
	"madvise",
	"clock_gettime",
	"clock_nanosleep",
	"nanosleep",
	"gettimeofday",
	"futex",
	"getrandom",
	"getpid",
	"gettid",
	"sched_yield",
	"rt_sigreturn",
	"rt_sigprocmask",
	"rt_sigaction",
	"restart_syscall",
	"exit",
	"exit_group",
};

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
 * Post-login: files under the root, transfers, data connections.
 * openat, mkdirat, fchmod and fchmodat are in mode_calls below;
 * openat2 is refused (enosys_calls).
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

/*
 * Refused with ENOSYS after login (post-login worker and monitor), as a
 * kernel without the call answers, so that a library trying it falls
 * back to openat. openat2: its mode lies in struct open_how, which no
 * filter can read, so a set-id bit would pass; fs_open (src/fs/walk.c)
 * resolves paths with openat, whose mode mode_calls checks.
 */
static const char *const enosys_calls[] = {
	"openat2",
};

/*
 * The monitor after login (SANDBOX_MONITOR). Its workers and relay are
 * forked from it and inherit this filter under their own (the kernel
 * applies both), so it allows every call of base_calls, post_calls,
 * mode_calls and relay_calls too, and what a fork does on its way into
 * the sandbox. Beyond those, what the monitor itself does: forks,
 * waits, pidfds, socketpairs, the log, and what PAM (pam_unix,
 * pam_listfile, pam_shells, pam_faillock, pam_cap) and glibc's NSS do
 * to verify a login: read files, lock pam_faillock's tallies, load
 * modules (file mappings may be executable, anonymous ones never:
 * mon_args), syslog and nscd/userdb over AF_UNIX, audit over
 * NETLINK_AUDIT, DNS (mon_sockets). Found with
 * strace -f over the REIN, PAM, TLS, CCC, quota and transfer e2e files.
 * Never: execve, ptrace, mount, namespaces (clone with CLONE_NEW*,
 * unshare, setns), open_by_handle_at, bpf, module loading, keyctl.
 * If the monitor comes to exec its workers, execve goes here.
 */
static const char *const monitor_calls[] = {
	"wait4", "waitid", "pidfd_open", "socketpair", "getppid", "getsid",
	"set_robust_list", "alarm", "setitimer", "getitimer", "chroot", "chdir",
	"fchdir", "setgroups", "setresuid", "setresgid", "getresuid",
	"getresgid", "getgroups", "capget", "capset", "prctl", "prlimit64",
	"setrlimit", "getrlimit", "seccomp", "landlock_create_ruleset",
	"landlock_add_rule", "landlock_restrict_self", "open", "access",
	"faccessat", "faccessat2", "stat", "lstat", "readlink", "statfs",
	"fchown", "sysinfo", "getcwd", "uname", "flock", "pipe", "dup2",
	"sigaltstack",
	"pidfd_send_signal", /* workers and relays: spawned, not children */
	"close_range", /* the PAM session keeper after a REIN */
};

/* Allowed only when (argument & mask) == value. */
struct arg_rule {
	const char *name;
	unsigned arg;
	scmp_datum_t mask;
	scmp_datum_t value;
};

/* Both phases: mapping memory, never executable memory. */
static const struct arg_rule base_args[] = {
	{ "mmap", 2, PROT_EXEC, 0 },
	{ "mmap2", 2, PROT_EXEC, 0 },
	{ "mprotect", 2, PROT_EXEC, 0 },
};

/*
 * Post-login calls that take a file mode: allowed with no set-user-id,
 * set-group-id or sticky bit in it, refused with EPERM (an error the
 * session turns into a 550, not a killed session) when one is there.
 * openat's mode counts only when it creates (O_CREAT, O_TMPFILE).
 * openat2 is not here: its mode lies in struct open_how, which seccomp
 * cannot read; it is refused outright (enosys_calls).
 */
struct mode_call {
	const char *name;
	unsigned mode_arg;
	int flags_arg; /* openat's flags, or -1 */
};

static const struct mode_call mode_calls[] = {
	{ "openat", 3, 2 },
	{ "mkdirat", 2, -1 },
	{ "fchmod", 1, -1 },
	{ "fchmodat", 2, -1 },
};

/* The bits refused in a mode, one rule each (no "masked not equal"). */
static const scmp_datum_t special_bits[] = { S_ISUID, S_ISGID, S_ISVTX };

/* The flags that make openat use its mode (__O_TMPFILE: O_TMPFILE's own bit). */
static const scmp_datum_t creating_flags[] = { O_CREAT, __O_TMPFILE };

/*
 * The monitor maps shared objects (PAM and NSS modules) executable;
 * anonymous memory never becomes executable, nor does memory already
 * mapped. clone: a plain fork, no namespaces.
 */
#define CLONE_NS_FLAGS \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | \
	    CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)

static const struct arg_rule mon_args[] = {
	{ "mmap", 3, MAP_ANONYMOUS, 0 },
	{ "mmap2", 3, MAP_ANONYMOUS, 0 },
	{ "clone", 0, CLONE_NS_FLAGS, 0 },
	/* kill, tgkill: a process (pid >= 0), never -1 or a group (< -1) */
	{ "kill", 0, ~(scmp_datum_t)0x7fffffff, 0 },
	{ "tgkill", 0, ~(scmp_datum_t)0x7fffffff, 0 },
};

/* socket(family, type, protocol) the monitor may make, beyond TCP. */
struct sock_rule {
	int family;
	int protocol; /* -1: any */
};

static const struct sock_rule mon_sockets[] = {
	{ AF_UNIX, -1 }, /* syslog, nscd, systemd-userdb */
	{ AF_NETLINK, NETLINK_AUDIT }, /* libpam's audit records */
	/* DNS of a PAM module (pam_ldap, pam_access); raw: no CAP_NET_RAW */
	{ AF_INET, -1 },
	{ AF_INET6, -1 },
};

/* The signal calls whose first argument is the target process. */
static const char *const self_signal_calls[] = { "kill", "tgkill" };

/* socket(family, SOCK_STREAM [| SOCK_NONBLOCK | SOCK_CLOEXEC], *). */
static const int tcp_families[] = { AF_INET, AF_INET6 };

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

/* isatty(2) to decide on colours: TCGETS only. */
static const struct arg_rule sanitizer_args[] = {
	{ "ioctl", 1, ~(scmp_datum_t)0, TCGETS },
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

/* One argument condition; all fields set, unlike libseccomp's macros. */
static struct scmp_arg_cmp
cmp(unsigned arg, enum scmp_compare op, scmp_datum_t a, scmp_datum_t b)
{
	struct scmp_arg_cmp c = { .arg = arg,
		.op = op,
		.datum_a = a,
		.datum_b = b };

	return c;
}

static int
allow_calls(scmp_filter_ctx ctx, const char *const *names, size_t n)
{
	size_t i;
	int nr;

	for (i = 0; i < n; i++) {
		if ((nr = seccomp_syscall_resolve_name(names[i])) ==
		    __NR_SCMP_ERROR)
			continue; /* not on this architecture */
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) < 0)
			return -1;
	}
	return 0;
}

static int
allow_args(scmp_filter_ctx ctx, const struct arg_rule *t, size_t n)
{
	size_t i;
	int nr;

	for (i = 0; i < n; i++) {
		if ((nr = seccomp_syscall_resolve_name(t[i].name)) ==
		    __NR_SCMP_ERROR)
			continue;
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
			cmp(t[i].arg, SCMP_CMP_MASKED_EQ, t[i].mask,
			    t[i].value)) < 0)
			return -1;
	}
	return 0;
}

static int
refuse_enosys(scmp_filter_ctx ctx)
{
	size_t i;
	int nr;

	for (i = 0; i < NELEM(enosys_calls); i++) {
		if ((nr = seccomp_syscall_resolve_name(enosys_calls[i])) ==
		    __NR_SCMP_ERROR)
			continue;
		if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0) < 0)
			return -1;
	}
	return 0;
}

/* abort() and raise() signal this process only, never a neighbour. */
static int
allow_self_signals(scmp_filter_ctx ctx, scmp_datum_t me)
{
	size_t i;
	int nr;

	for (i = 0; i < NELEM(self_signal_calls); i++) {
		if ((nr = seccomp_syscall_resolve_name(self_signal_calls[i])) ==
		    __NR_SCMP_ERROR)
			continue;
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
			cmp(0, SCMP_CMP_EQ, me, 0)) < 0)
			return -1;
	}
	return 0;
}

/* openat that creates nothing: any mode, it is not used. */
static int
allow_open_no_create(scmp_filter_ctx ctx, int nr, unsigned flags_arg)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
	    cmp(flags_arg, SCMP_CMP_MASKED_EQ,
		creating_flags[0] | creating_flags[1], 0));
}

/*
 * mode & 07000 == 0: allowed. Else refused, one rule per special bit
 * (and per creating flag for openat); the rules do not overlap.
 */
static int
mode_rules(scmp_filter_ctx ctx, int nr, const struct mode_call *mc)
{
	const scmp_datum_t special = S_ISUID | S_ISGID | S_ISVTX;
	size_t b, f;
	int r = 0;

	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
		cmp(mc->mode_arg, SCMP_CMP_MASKED_EQ, special, 0)) < 0)
		return -1;
	if (mc->flags_arg >= 0 &&
	    allow_open_no_create(ctx, nr, (unsigned)mc->flags_arg) < 0)
		return -1;
	for (b = 0; b < NELEM(special_bits) && r == 0; b++) {
		if (mc->flags_arg < 0) {
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1,
			    cmp(mc->mode_arg, SCMP_CMP_MASKED_EQ,
				special_bits[b], special_bits[b]));
			continue;
		}
		for (f = 0; f < NELEM(creating_flags) && r == 0; f++)
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 2,
			    cmp(mc->mode_arg, SCMP_CMP_MASKED_EQ,
				special_bits[b], special_bits[b]),
			    cmp((unsigned)mc->flags_arg, SCMP_CMP_MASKED_EQ,
				creating_flags[f], creating_flags[f]));
	}
	return r < 0 ? -1 : 0;
}

static int
allow_modes(scmp_filter_ctx ctx)
{
	size_t i;
	int nr;

	for (i = 0; i < NELEM(mode_calls); i++) {
		if ((nr = seccomp_syscall_resolve_name(mode_calls[i].name)) ==
		    __NR_SCMP_ERROR)
			continue;
		if (mode_rules(ctx, nr, &mode_calls[i]) < 0)
			return -1;
	}
	return 0;
}

static int
allow_tcp_sockets(scmp_filter_ctx ctx)
{
	const scmp_datum_t mask = ~(scmp_datum_t)(SOCK_NONBLOCK | SOCK_CLOEXEC);
	size_t i;

	for (i = 0; i < NELEM(tcp_families); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
			cmp(0, SCMP_CMP_EQ, (scmp_datum_t)tcp_families[i], 0),
			cmp(1, SCMP_CMP_MASKED_EQ, mask, SOCK_STREAM)) < 0)
			return -1;
	return 0;
}

static int
allow_mon_sockets(scmp_filter_ctx ctx)
{
	size_t i;
	int r;

	for (i = 0; i < NELEM(mon_sockets); i++) {
		if (mon_sockets[i].protocol < 0)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
			    SCMP_SYS(socket), 1,
			    cmp(0, SCMP_CMP_EQ,
				(scmp_datum_t)mon_sockets[i].family, 0));
		else
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
			    SCMP_SYS(socket), 2,
			    cmp(0, SCMP_CMP_EQ,
				(scmp_datum_t)mon_sockets[i].family, 0),
			    cmp(2, SCMP_CMP_EQ,
				(scmp_datum_t)mon_sockets[i].protocol, 0));
		if (r < 0)
			return -1;
	}
	return 0;
}

/* clone3's flags lie in memory: ENOSYS, and glibc falls back to clone. */
static int
build_monitor(scmp_filter_ctx ctx)
{
	int nr;

	if (allow_calls(ctx, base_calls, NELEM(base_calls)) < 0 ||
	    allow_calls(ctx, post_calls, NELEM(post_calls)) < 0 ||
	    allow_calls(ctx, relay_calls, NELEM(relay_calls)) < 0 ||
	    allow_calls(ctx, monitor_calls, NELEM(monitor_calls)) < 0 ||
	    allow_args(ctx, base_args, NELEM(base_args)) < 0 ||
	    allow_args(ctx, mon_args, NELEM(mon_args)) < 0 ||
	    allow_modes(ctx) < 0 || allow_tcp_sockets(ctx) < 0 ||
	    allow_mon_sockets(ctx) < 0 || refuse_enosys(ctx) < 0)
		return -1;
	if ((nr = seccomp_syscall_resolve_name("clone3")) != __NR_SCMP_ERROR &&
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0) < 0)
		return -1;
#ifdef KF_SANITIZE
	if (allow_args(ctx, sanitizer_args, NELEM(sanitizer_args)) < 0)
		return -1;
#endif
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
	if (allow_calls(ctx, sanitizer_calls, NELEM(sanitizer_calls)) < 0 ||
	    allow_args(ctx, sanitizer_args, NELEM(sanitizer_args)) < 0)
		return -1;
	if (phase != SANDBOX_POSTLOGIN)
		return refuse_calls(ctx, sanitizer_refused_pre,
		    NELEM(sanitizer_refused_pre));
	return refuse_calls(ctx, sanitizer_refused_post,
	    NELEM(sanitizer_refused_post));
}
#endif

static int
build(scmp_filter_ctx ctx, enum sandbox_phase phase, scmp_datum_t me)
{
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
		SCMP_ACT_KILL_PROCESS) < 0)
		return -1;
	/*
	 * The monitor's list is long, and every syscall of the workers it
	 * forks runs through it too: a binary tree over the syscall
	 * numbers rather than a linear scan.
	 */
	if (phase == SANDBOX_MONITOR)
		return seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) < 0 ?
		    -1 :
		    build_monitor(ctx);
	if (phase == SANDBOX_RELAY) {
		if (allow_calls(ctx, relay_calls, NELEM(relay_calls)) < 0)
			return -1;
	} else if (allow_calls(ctx, base_calls, NELEM(base_calls)) < 0)
		return -1;
	if (allow_args(ctx, base_args, NELEM(base_args)) < 0 ||
	    allow_self_signals(ctx, me) < 0)
		return -1;
	if (phase == SANDBOX_POSTLOGIN &&
	    (allow_calls(ctx, post_calls, NELEM(post_calls)) < 0 ||
		allow_modes(ctx) < 0 || allow_tcp_sockets(ctx) < 0 ||
		refuse_enosys(ctx) < 0))
		return -1;
#ifdef KF_SANITIZE
	if (allow_sanitizer(ctx, phase) < 0)
		return -1;
#endif
	return 0;
}

/*
 * A prepared program: the BPF libseccomp generated with SELF_PID_MARK in
 * place of the process id, and where that constant sits, so a worker
 * only writes its own pid there. SELF_PID_MARK is above PID_MAX_LIMIT
 * (2^22), so it is no process id. It must occur in a pid compare
 * (libseccomp may share one compare among the self-signal rules), and
 * nowhere else, or the program is not used.
 */
#define SELF_PID_MARK 0x0f005eccu

struct prepared {
	size_t len; /* 0: not prepared, build in place */
	size_t nmark;
	unsigned short mark[8];
	struct sock_filter insn[KF_SECCOMP_INSNS_MAX];
};

static struct prepared prepared[SANDBOX_MONITOR + 1];

static scmp_filter_ctx
new_ctx(enum sandbox_phase phase, scmp_datum_t me)
{
	scmp_filter_ctx ctx;

	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		return NULL;
	/*
	 * A binary tree over the syscall numbers, not a chain: the kernel
	 * evaluates the whole program for every syscall number when it
	 * loads it (its action cache, with interrupts off), and a worker's
	 * every system call walks it. Measured: docs/PERFORMANCE.md.
	 */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) < 0 ||
	    build(ctx, phase, me) < 0) {
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

/* The generated program, read back from a memfd. 0 or -1. */
static int export(scmp_filter_ctx ctx, struct prepared *p)
{
	ssize_t n;
	size_t i;
	int fd, r = -1;

	if ((fd = memfd_create("kf-seccomp", MFD_CLOEXEC)) < 0)
		return -1;
	if (seccomp_export_bpf(ctx, fd) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		goto out;
	n = read(fd, p->insn, sizeof(p->insn));
	if (n <= 0 || (size_t)n % sizeof(p->insn[0]) != 0 ||
	    (size_t)n == sizeof(p->insn))
		goto out; /* empty, torn, or possibly cut at the bound */
	p->len = (size_t)n / sizeof(p->insn[0]);
	p->nmark = 0;
	for (i = 0; i < p->len; i++) {
		if (p->insn[i].k != SELF_PID_MARK)
			continue;
		if (BPF_CLASS(p->insn[i].code) != BPF_JMP ||
		    BPF_OP(p->insn[i].code) != BPF_JEQ ||
		    BPF_SRC(p->insn[i].code) != BPF_K ||
		    p->nmark == NELEM(p->mark))
			goto out; /* the mark where no pid compare is */
		p->mark[p->nmark++] = (unsigned short)i;
	}
	r = 0;
out:
	if (r < 0)
		p->len = 0;
	close(fd);
	return r;
}

/*
 * In the listener, before any fork: compile every phase's program.
 * A phase that fails to compile (or whose pid compare cannot be found)
 * is built in the worker instead, as before. 0, or -1 when none could.
 */
int
seccomp_prepare(void)
{
	scmp_filter_ctx ctx;
	int phase, ok = 0;
	size_t want;

	for (phase = 0; phase <= SANDBOX_MONITOR; phase++) {
		prepared[phase].len = 0;
		if ((ctx = new_ctx((enum sandbox_phase)phase, SELF_PID_MARK)) ==
		    NULL)
			continue;
		if (export(ctx, &prepared[phase]) == 0) {
			/*
			 * A pid compare iff the arch has a self-signal call
			 * (and the phase signals only itself: not the monitor).
			 */
			want = 0;
			for (size_t i = 0; i < NELEM(self_signal_calls) &&
			     phase != SANDBOX_MONITOR;
			     i++)
				if (seccomp_syscall_resolve_name(
					self_signal_calls[i]) !=
				    __NR_SCMP_ERROR)
					want++;
			if ((prepared[phase].nmark > 0) != (want > 0))
				prepared[phase].len = 0;
			else
				ok++;
		}
		seccomp_release(ctx);
	}
	return ok > 0 ? 0 : -1;
}

static int
load_prepared(const struct prepared *p)
{
	struct sock_filter insn[KF_SECCOMP_INSNS_MAX];
	struct sock_fprog prog = { .len = (unsigned short)p->len,
		.filter = insn };
	size_t i;

	memcpy(insn, p->insn, p->len * sizeof(insn[0]));
	for (i = 0; i < p->nmark; i++)
		insn[p->mark[i]].k = (__u32)getpid();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

/* Native architecture only (seccomp_init's default). 0 or -1. */
int
seccomp_apply(enum sandbox_phase phase)
{
	scmp_filter_ctx ctx;
	int r;

	if (prepared[phase].len > 0)
		return load_prepared(&prepared[phase]) < 0 ? -1 : 0;
	if ((ctx = new_ctx(phase, (scmp_datum_t)getpid())) == NULL) {
		errno = EINVAL;
		return -1;
	}
	r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0) {
		errno = r < -1 ? -r : EINVAL;
		return -1;
	}
	return 0;
}
