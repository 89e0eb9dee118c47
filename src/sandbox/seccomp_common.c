/*
 * seccomp_common.c - what the workers' programs and the monitor's share:
 * the base list (talk on open fds, memory, time, signals, exit), the
 * mode rules, the rule builders, and the prepared programs (compiled
 * once, loaded as they are). The workers' own lists (post-login, relay,
 * kf-metrics) are in seccomp_worker.c, the monitor's in
 * seccomp_monitor.c.
 * Anything not listed kills the process (SCMP_ACT_KILL_PROCESS), and so
 * does any other architecture's calling convention. Memory never
 * becomes executable, signals reach only this process, and only the
 * post-login worker may create sockets: TCP over IPv4 or IPv6. A
 * post-login mode with a set-id or sticky bit gets EPERM (mode_calls).
 * Names are resolved by libseccomp for the native architecture; a name
 * the architecture lacks (mmap2 on x86_64) is skipped.
 * To allow a new call: add its name to the phase's table (base here,
 * the workers' in seccomp_worker.c, the monitor's in
 * seccomp_monitor.c), and to docs/SANDBOX.md.
 * Runs in: spawners (sc_prepare, through seccomp_worker.c), pre-login
 * and post-login workers and the TLS relay (sc_apply); the listener
 * (sc_prepare) and the monitor after login (sc_apply), through
 * seccomp_monitor.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../common/limits.h"
#include "../common/sys.h"
#include "seccomp_common.h"

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
 * Refused with ENOSYS after login (post-login worker and monitor), as a
 * kernel without the call answers, so that a library trying it falls
 * back to openat. openat2: its mode lies in struct open_how, which no
 * filter can read, so a set-id bit would pass; fs_open (src/fs/walk.c)
 * resolves paths with openat, whose mode mode_calls checks.
 */
static const char *const enosys_calls[] = {
	"openat2",
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

/* socket(family, SOCK_STREAM [| SOCK_NONBLOCK | SOCK_CLOEXEC], *). */
static const int tcp_families[] = { AF_INET, AF_INET6 };

#ifdef KF_SANITIZE
/* isatty(2) to decide on colours: TCGETS only. */
static const struct arg_rule sanitizer_args[] = {
	{ "ioctl", 1, ~(scmp_datum_t)0, TCGETS },
};

#endif

/* One argument condition; all fields set, unlike libseccomp's macros. */
struct scmp_arg_cmp
sc_cmp(unsigned arg, enum scmp_compare op, scmp_datum_t a, scmp_datum_t b)
{
	struct scmp_arg_cmp c = { .arg = arg,
		.op = op,
		.datum_a = a,
		.datum_b = b };

	return c;
}

int
sc_calls(scmp_filter_ctx ctx, uint32_t action, const char *const *names,
    size_t n)
{
	size_t i;
	int nr;

	for (i = 0; i < n; i++) {
		if ((nr = seccomp_syscall_resolve_name(names[i])) ==
		    __NR_SCMP_ERROR)
			continue; /* not on this architecture */
		if (seccomp_rule_add(ctx, action, nr, 0) < 0)
			return -1;
	}
	return 0;
}

int
sc_allow_calls(scmp_filter_ctx ctx, const char *const *names, size_t n)
{
	return sc_calls(ctx, SCMP_ACT_ALLOW, names, n);
}

int
sc_allow_args(scmp_filter_ctx ctx, const struct arg_rule *t, size_t n)
{
	size_t i;
	int nr;

	for (i = 0; i < n; i++) {
		if ((nr = seccomp_syscall_resolve_name(t[i].name)) ==
		    __NR_SCMP_ERROR)
			continue;
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
			sc_cmp(t[i].arg, SCMP_CMP_MASKED_EQ, t[i].mask,
			    t[i].value)) < 0)
			return -1;
	}
	return 0;
}

/* openat that creates nothing: any mode, it is not used. */
static int
allow_open_no_create(scmp_filter_ctx ctx, int nr, unsigned flags_arg)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
	    sc_cmp(flags_arg, SCMP_CMP_MASKED_EQ,
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
		sc_cmp(mc->mode_arg, SCMP_CMP_MASKED_EQ, special, 0)) < 0)
		return -1;
	if (mc->flags_arg >= 0 &&
	    allow_open_no_create(ctx, nr, (unsigned)mc->flags_arg) < 0)
		return -1;
	for (b = 0; b < SC_NELEM(special_bits) && r == 0; b++) {
		if (mc->flags_arg < 0) {
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1,
			    sc_cmp(mc->mode_arg, SCMP_CMP_MASKED_EQ,
				special_bits[b], special_bits[b]));
			continue;
		}
		for (f = 0; f < SC_NELEM(creating_flags) && r == 0; f++)
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 2,
			    sc_cmp(mc->mode_arg, SCMP_CMP_MASKED_EQ,
				special_bits[b], special_bits[b]),
			    sc_cmp((unsigned)mc->flags_arg, SCMP_CMP_MASKED_EQ,
				creating_flags[f], creating_flags[f]));
	}
	return r < 0 ? -1 : 0;
}

int
sc_allow_modes(scmp_filter_ctx ctx)
{
	size_t i;
	int nr;

	for (i = 0; i < SC_NELEM(mode_calls); i++) {
		if ((nr = seccomp_syscall_resolve_name(mode_calls[i].name)) ==
		    __NR_SCMP_ERROR)
			continue;
		if (mode_rules(ctx, nr, &mode_calls[i]) < 0)
			return -1;
	}
	return 0;
}

int
sc_allow_tcp_sockets(scmp_filter_ctx ctx)
{
	const scmp_datum_t mask = ~(scmp_datum_t)(SOCK_NONBLOCK | SOCK_CLOEXEC);
	size_t i;

	for (i = 0; i < SC_NELEM(tcp_families); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
			sc_cmp(0, SCMP_CMP_EQ, (scmp_datum_t)tcp_families[i],
			    0),
			sc_cmp(1, SCMP_CMP_MASKED_EQ, mask, SOCK_STREAM)) < 0)
			return -1;
	return 0;
}

/* The phases' lists, for the builders (seccomp_worker.c, _monitor.c). */
int
sc_refuse_enosys(scmp_filter_ctx ctx)
{
	return sc_calls(ctx, SCMP_ACT_ERRNO(ENOSYS), enosys_calls,
	    SC_NELEM(enosys_calls));
}

int
sc_allow_base_calls(scmp_filter_ctx ctx)
{
	return sc_allow_calls(ctx, base_calls, SC_NELEM(base_calls));
}

int
sc_allow_base_args(scmp_filter_ctx ctx)
{
	return sc_allow_args(ctx, base_args, SC_NELEM(base_args));
}

#ifdef KF_SANITIZE
int
sc_allow_sanitizer_args(scmp_filter_ctx ctx)
{
	return sc_allow_args(ctx, sanitizer_args, SC_NELEM(sanitizer_args));
}
#endif

/*
 * A prepared program: the BPF libseccomp generated with SC_SELF_PID_MARK in
 * place of the process id, and where that constant sits, so a worker
 * only writes its own pid there. SC_SELF_PID_MARK is above PID_MAX_LIMIT
 * (2^22), so it is no process id. It must occur in a pid compare
 * (libseccomp may share one compare among the self-signal rules), and
 * nowhere else, or the program is not used.
 */
struct prepared {
	size_t len; /* 0: not prepared, build in place */
	size_t nmark;
	unsigned short mark[8];
	struct sock_filter insn[KF_SECCOMP_INSNS_MAX];
};

static struct prepared prepared[SANDBOX_METRICS + 1];

/* A new filter: the phase's rules, from build. NULL on failure. */
static scmp_filter_ctx
new_ctx(enum sandbox_phase phase, scmp_datum_t me, sc_build_fn build)
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
	    seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
		SCMP_ACT_KILL_PROCESS) < 0 ||
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
		if (p->insn[i].k != SC_SELF_PID_MARK)
			continue;
		if (BPF_CLASS(p->insn[i].code) != BPF_JMP ||
		    BPF_OP(p->insn[i].code) != BPF_JEQ ||
		    BPF_SRC(p->insn[i].code) != BPF_K ||
		    p->nmark == SC_NELEM(p->mark))
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
 * Compiles the phase's program with SC_SELF_PID_MARK for the pid, once,
 * before any fork. It is used only if the mark occurs in a pid compare
 * exactly when want_mark says the rules compare the pid; otherwise the
 * phase is built in place, at sc_apply. 0 when prepared, else -1.
 */
int
sc_prepare(enum sandbox_phase phase, sc_build_fn build, int want_mark)
{
	struct prepared *p = &prepared[phase];
	scmp_filter_ctx ctx;
	int r = -1;

	p->len = 0;
	if ((ctx = new_ctx(phase, SC_SELF_PID_MARK, build)) == NULL)
		return -1;
	if (export(ctx, p) == 0) {
		if ((p->nmark > 0) != (want_mark != 0))
			p->len = 0;
		else
			r = 0;
	}
	seccomp_release(ctx);
	return r;
}

static int
load_prepared(struct prepared *p)
{
	size_t n = p->len * sizeof(p->insn[0]), i;
	struct sock_fprog prog = { .len = (unsigned short)p->len };
	struct sock_filter *f;
	int r = -1;

	if (p->nmark == 0) {
		prog.filter = p->insn;
	} else {
		/*
		 * The pid goes into a copy in pages of its own, unmapped once
		 * loaded: written in place, the pages of the prepared program
		 * holding a mark would be copied on write and kept by every
		 * worker for its whole life.
		 */
		if ((f = sys_scratch(n)) == NULL)
			return -1;
		memcpy(f, p->insn, n);
		for (i = 0; i < p->nmark; i++)
			f[p->mark[i]].k = (__u32)getpid();
		prog.filter = f;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0)
		r = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0,
		    &prog);
	if (p->nmark > 0)
		(void)munmap(prog.filter, n);
	return r;
}

/* Native architecture only (seccomp_init's default). 0 or -1. */
int
sc_apply(enum sandbox_phase phase, sc_build_fn build)
{
	scmp_filter_ctx ctx;
	int r;

	if (prepared[phase].len > 0)
		return load_prepared(&prepared[phase]) < 0 ? -1 : 0;
	if ((ctx = new_ctx(phase, (scmp_datum_t)getpid(), build)) == NULL) {
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
