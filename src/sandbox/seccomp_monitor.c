/*
 * seccomp_monitor.c - the monitor's system call allow-list after a
 * login (SANDBOX_MONITOR): its own list, not the workers'. The
 * listener compiles it once before any fork (seccomp_prepare_monitor);
 * each monitor loads that program as it is (sandbox_monitor_shrink).
 * Runs in: the listener (prepare), the monitor after login (apply).
 */
#include <errno.h>
#include <linux/netlink.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "seccomp.h"
#include "seccomp_common.h"

/*
 * The monitor after login (SANDBOX_MONITOR). Its workers and relay are
 * started by the spawners, not forked from it; what it forks after
 * login inherits this filter: the verifier child of a login after REIN
 * and the PAM session keeper. So beyond the shared base list (talk on
 * open fds, memory, time, signals to itself, exit): what the monitor
 * itself does (forks, waits, pidfds, socketpairs, the log), and what
 * PAM (pam_unix, pam_listfile, pam_shells, pam_faillock, pam_cap, the
 * session modules at a login after REIN) and glibc's NSS do to verify
 * a login: read and update files (tallies, lastlog), lock them, list
 * directories, run helpers (pipe, dup, fork), load modules (file
 * mappings may be executable, anonymous ones never: mon_args), syslog
 * and nscd/userdb over AF_UNIX, audit over NETLINK_AUDIT, DNS and RPC
 * clients (mon_sockets, bind for a reserved port); semop on the
 * verification cap's semaphore (auth.c), no other set. Found with strace
 * -f over the REIN, PAM, TLS, CCC, quota, upload hook, metrics, who and
 * transfer e2e files, and the uses in docs/SANDBOX.md.
 * Not the workers' data path: no listen, accept, sendfile or splice
 * (a monitor never serves a connection or moves a file's bytes).
 * Never: execve, ptrace, mount, namespaces (clone with CLONE_NEW*,
 * unshare, setns), open_by_handle_at, bpf, module loading, keyctl.
 */
static const char *const monitor_calls[] = {
	"wait4",
	"waitid",
	"pidfd_open",
	"socketpair",
	"getppid",
	"getsid",
	"set_robust_list",
	"alarm",
	"setitimer",
	"getitimer",
	"chroot",
	"chdir",
	"fchdir",
	"setgroups",
	"setresuid",
	"setresgid",
	"getresuid",
	"getresgid",
	"getgroups",
	"capget",
	"capset",
	"prctl",
	"prlimit64",
	"setrlimit",
	"getrlimit",
	"seccomp",
	"landlock_create_ruleset",
	"landlock_add_rule",
	"landlock_restrict_self",
	"open",
	"access",
	"faccessat",
	"faccessat2",
	"stat",
	"lstat",
	"readlink",
	"statfs",
	"fchown",
	"sysinfo",
	"getcwd",
	"uname",
	"flock",
	"pipe",
	"dup2",
	"sigaltstack",
	"pidfd_send_signal", /* workers and relays: spawned, not children */
	"close_range", /* the PAM session keeper after a REIN */
	/* files: PAM's tallies and records, NSS, the inline users memfd */
	"getdents64",
	"unlinkat",
	"renameat",
	"renameat2",
	"linkat",
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
	/* helpers a PAM module runs; ids; resolver and RPC clients */
	"dup",
	"dup3",
	"pipe2",
	"getuid",
	"geteuid",
	"getgid",
	"getegid",
	"connect",
	"bind",
	/* the listener's max_sessions verdict at a login after REIN */
	"rt_sigtimedwait",
};

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

/* The verification cap's set (seccomp_prepare_monitor); -1: none. */
static int mon_semid = -1;

/* glibc's semop is semtimedop with no timeout; both, on that set only. */
static int
allow_mon_semop(scmp_filter_ctx ctx)
{
	/* semid is an int: the kernel reads the low 32 bits of the argument */
	const struct arg_rule r[] = {
		{ "semop", 0, 0xffffffffu, (scmp_datum_t)mon_semid },
		{ "semtimedop", 0, 0xffffffffu, (scmp_datum_t)mon_semid },
	};

	return mon_semid < 0 ? 0 : sc_allow_args(ctx, r, SC_NELEM(r));
}

static int
allow_mon_sockets(scmp_filter_ctx ctx)
{
	size_t i;
	int r;

	for (i = 0; i < SC_NELEM(mon_sockets); i++) {
		if (mon_sockets[i].protocol < 0)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
			    SCMP_SYS(socket), 1,
			    sc_cmp(0, SCMP_CMP_EQ,
				(scmp_datum_t)mon_sockets[i].family, 0));
		else
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
			    SCMP_SYS(socket), 2,
			    sc_cmp(0, SCMP_CMP_EQ,
				(scmp_datum_t)mon_sockets[i].family, 0),
			    sc_cmp(2, SCMP_CMP_EQ,
				(scmp_datum_t)mon_sockets[i].protocol, 0));
		if (r < 0)
			return -1;
	}
	return 0;
}

/*
 * The monitor's list is long: a binary tree over the syscall numbers,
 * as every phase's (seccomp_common.c), not a linear scan. clone3's
 * flags lie in memory: ENOSYS, and glibc falls back to clone. The
 * monitor signals other processes, so me (its pid) is not used.
 */
static int
build_monitor(scmp_filter_ctx ctx, enum sandbox_phase phase, scmp_datum_t me)
{
	int nr;

	if (sc_allow_base_calls(ctx) < 0 ||
	    sc_allow_calls(ctx, monitor_calls, SC_NELEM(monitor_calls)) < 0 ||
	    sc_allow_base_args(ctx) < 0 ||
	    sc_allow_args(ctx, mon_args, SC_NELEM(mon_args)) < 0 ||
	    sc_allow_modes(ctx) < 0 || sc_allow_tcp_sockets(ctx) < 0 ||
	    allow_mon_sockets(ctx) < 0 || allow_mon_semop(ctx) < 0 ||
	    sc_refuse_enosys(ctx) < 0)
		return -1;
	if ((nr = seccomp_syscall_resolve_name("clone3")) != __NR_SCMP_ERROR &&
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0) < 0)
		return -1;
#ifdef KF_SANITIZE
	if (sc_allow_sanitizer_args(ctx) < 0)
		return -1;
#endif
	return 0;
}

/* The listener, before any fork. 0, or -1: each monitor compiles it. */
int
seccomp_prepare_monitor(int semid)
{
	mon_semid = semid;
	return sc_prepare(SANDBOX_MONITOR, build_monitor, 0);
}

/* The monitor after login, last step of sandbox_monitor_shrink. */
int
seccomp_apply_monitor(void)
{
	return sc_apply(SANDBOX_MONITOR, build_monitor);
}
