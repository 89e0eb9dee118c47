/*
 * conf_sandbox.c - the configuration parser child gives up what it can
 * before it reads a byte of configuration (docs/SECURITY.md, "The
 * configuration parser"). Started as root it keeps uid 0, which is what
 * the parser needs to read root-owned 0600 files (the users file, banner
 * files) and to apply the ownership checks of files.c (owned by root or
 * by the account keepftpd runs as: geteuid()), but no capability at all
 * (effective, permitted, inheritable, ambient and, where CAP_SETPCAP
 * allows, bounding), so no DAC override: it reads what root's owner
 * bits allow and nothing else. Then no_new_privs, not dumpable, no
 * core, Landlock with read-only rights on / (when the kernel has it),
 * and a seccomp allow-list: opens that neither create nor write, reads,
 * stats, memory without PROT_EXEC, write only to its result descriptor,
 * exit; and for the host names of pasv_address and pasv_address_map
 * (resolve.c), what getaddrinfo(3) needs to ask nscd or a DNS server:
 * sockets of AF_UNIX, AF_INET and AF_INET6 and their calls, only on
 * descriptors above the result descriptor (so never on 0-2, which may
 * be the journal's socket). Anything else kills it, and the listener
 * logs the signal.
 * Runs in: the configuration parser child (`keepftpd --conf-child`).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"
#include "sb_common.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Landlock rights by ABI (the kernel's stable values). */
#define LL_FS_ABI1	       ((LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1)
#define LL_FS_REFER	       (1ULL << 13) /* ABI 2 */
#define LL_FS_TRUNCATE	       (1ULL << 14) /* ABI 3 */
#define LL_FS_IOCTL_DEV	       (1ULL << 15) /* ABI 5 */
#define LL_SCOPE_ABSTRACT_UNIX (1ULL << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL	       (1ULL << 1) /* ABI 6 */

struct ll_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net; /* ABI 4; never handled */
	uint64_t scoped; /* ABI 6 */
};

/* Called freely: nothing here writes, creates or reaches out. */
static const char *const parser_calls[] = {
	"read",
	"pread64",
	"close",
	"fstat",
	"newfstatat",
	"stat",
	"lstat",
	"statx",
	"lseek",
	"readlink", /* realpath(3) */
	"readlinkat",
	"getcwd", /* realpath(3) of a relative path */
	"getuid",
	"geteuid",
	"getgid",
	"getegid",
	"munmap",
	"mremap",
	"madvise",
	"brk",
	"rt_sigreturn",
	"exit",
	"exit_group",
	"uname", /* the resolver: res_init's default domain */
	"poll", /* the resolver waits for an answer */
	"ppoll",
	"futex", /* libc's once and locks around the resolver state */
#ifdef KF_SANITIZE
	"sigaltstack", /* the runtimes at exit */
	"getpid",
	"gettid",
	"sched_yield",
#endif
};

/*
 * Every capability goes, from every set (the shared, read-back steps of
 * sb_common.c, whose failures log and exit 1): the bounding set too
 * where CAP_SETPCAP allows (rootless it stays as it was). Then
 * no_new_privs, not dumpable, no core.
 */
static void
give_up_privileges(void)
{
	struct rlimit none = { 0, 0 };

	if (prctl(PR_SET_NAME, "kf-conf-parser", 0, 0, 0) < 0)
		sb_fail("PR_SET_NAME");
	if (sb_have_cap(CAP_SETPCAP))
		sb_shrink_bounding(NULL, 0);
	sb_shrink_caps(NULL, 0);
	sb_no_new_privs();
	if (setrlimit(RLIMIT_CORE, &none) < 0)
		sb_fail("RLIMIT_CORE");
}

/* Read-only everywhere; no Landlock in the kernel: seccomp alone. */
static void
apply_landlock(void)
{
	struct landlock_path_beneath_attr pb = { 0 };
	struct ll_attr attr = { 0 };
	size_t size = sizeof(attr.handled_access_fs);
	int abi, rs;

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1)
		return;
	attr.handled_access_fs = LL_FS_ABI1 | (abi >= 2 ? LL_FS_REFER : 0) |
	    (abi >= 3 ? LL_FS_TRUNCATE : 0) | (abi >= 5 ? LL_FS_IOCTL_DEV : 0);
	if (abi >= 6) {
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
		size = sizeof(attr);
	}
	pb.allowed_access = LANDLOCK_ACCESS_FS_READ_FILE |
	    LANDLOCK_ACCESS_FS_READ_DIR;
	if ((rs = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0)) <
		0 ||
	    (pb.parent_fd = open("/", O_PATH | O_CLOEXEC)) < 0 ||
	    syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb,
		0) < 0 ||
	    syscall(SYS_landlock_restrict_self, rs, 0) < 0)
		sb_fail("landlock");
	close(pb.parent_fd);
	close(rs);
}

static int
allow(scmp_filter_ctx ctx, const char *name, unsigned n,
    struct scmp_arg_cmp cmp)
{
	int nr = seccomp_syscall_resolve_name(name);

	if (nr == __NR_SCMP_ERROR)
		return 0; /* not on this architecture (open, stat, ...) */
	if (n == 0)
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, cmp);
}

/*
 * The resolver's calls on the sockets it makes: only on descriptors
 * above the result descriptor (0-2 are the listener's, 3 the result).
 */
static const char *const resolver_calls[] = {
	"connect", "sendto", "sendmmsg", /* parallel queries (resolv.conf) */
	"recvfrom", "setsockopt", /* IP_RECVERR on the UDP socket */
	"getsockname", /* RFC 3484 sorting of several answers */
	"writev", /* DNS over TCP (a truncated answer), nscd */
	"readv", /* nscd */
};

static int
rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n,
    const struct scmp_arg_cmp *cmp)
{
	int nr = seccomp_syscall_resolve_name(name);

	if (nr == __NR_SCMP_ERROR)
		return 0;
	return seccomp_rule_add_array(ctx, action, nr, n, cmp);
}

/*
 * Name resolution (resolve.c): sockets to nscd (AF_UNIX) and to DNS
 * servers; a netlink socket (getaddrinfo asks the interfaces when it
 * sorts several answers) fails with EAFNOSUPPORT, and so does mapping
 * a library executable (an NSS module that is not built into libc:
 * the resolver counts that source as unavailable and asks the next).
 */
static int
build_resolver(scmp_filter_ctx ctx, int result_fd)
{
	const int domains[] = { AF_UNIX, AF_INET, AF_INET6 };
	struct scmp_arg_cmp c[2];
	size_t i;

	for (i = 0; i < NELEM(domains); i++) {
		c[0] = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)domains[i]);
		if (rule(ctx, SCMP_ACT_ALLOW, "socket", 1, c) < 0)
			return -1;
	}
	c[0] = SCMP_A0(SCMP_CMP_EQ, AF_NETLINK);
	if (rule(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), "socket", 1, c) < 0)
		return -1;
	c[0] = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC);
	c[1] = SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_ANONYMOUS, 0);
	if (rule(ctx, SCMP_ACT_ERRNO(EACCES), "mmap", 2, c) < 0)
		return -1;
	c[0] = SCMP_A0(SCMP_CMP_GT, (scmp_datum_t)result_fd);
	for (i = 0; i < NELEM(resolver_calls); i++)
		if (rule(ctx, SCMP_ACT_ALLOW, resolver_calls[i], 1, c) < 0)
			return -1;
	c[1] = SCMP_A1(SCMP_CMP_EQ, FIONREAD);
	return rule(ctx, SCMP_ACT_ALLOW, "ioctl", 2, c);
}

/* The calls that take arguments worth a look, then the plain ones. */
static int
build(scmp_filter_ctx ctx, int result_fd)
{
	const scmp_datum_t writing = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC |
	    O_APPEND;
	size_t i;

	if (allow(ctx, "openat", 1, SCMP_A2(SCMP_CMP_MASKED_EQ, writing, 0)) <
		0 ||
	    allow(ctx, "open", 1, SCMP_A1(SCMP_CMP_MASKED_EQ, writing, 0)) <
		0 ||
	    allow(ctx, "mmap", 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) <
		0 ||
	    allow(ctx, "mprotect", 1,
		SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) < 0 ||
	    allow(ctx, "write", 1,
		SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)result_fd)) < 0 ||
	    build_resolver(ctx, result_fd) < 0)
		return -1;
	for (i = 0; i < NELEM(parser_calls); i++)
		if (allow(ctx, parser_calls[i], 0, SCMP_A0(SCMP_CMP_EQ, 0)) < 0)
			return -1;
	return 0;
}

static void
apply_seccomp(int result_fd)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);

	if (ctx == NULL ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
		SCMP_ACT_KILL_PROCESS) < 0 ||
	    build(ctx, result_fd) < 0 || seccomp_load(ctx) < 0)
		sb_fail("seccomp");
	seccomp_release(ctx);
}

void
sandbox_conf_parser(int result_fd)
{
	give_up_privileges();
	apply_landlock();
	apply_seccomp(result_fd);
}
