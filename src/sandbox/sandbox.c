/*
 * sandbox.c - entering a worker's sandbox, one verified transition at a
 * time: root directory, identity, capabilities, no_new_privs, rlimits,
 * Landlock, seccomp. Any failure ends the process: a worker never runs
 * half-confined. Also prepares the empty pre-login root.
 * Runs in: spawners (sandbox_spawner, sandbox_keep_caps), pre-login and
 * post-login workers and the relay (just after fork), the listener
 * (sandbox_prepare_empty_dir), the monitor after login
 * (sandbox_monitor_shrink) and the PAM session keeper
 * (sandbox_pam_keeper).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../common/limits.h"
#include "../common/log.h"
#include "../conf/conf.h"
#include "sandbox.h"
#include "seccomp.h"

/* Landlock ABI newer than Debian 12's headers (stable kernel ABI). */
#define LL_FS_REFER	       (1ULL << 13) /* ABI 2 */
#define LL_FS_TRUNCATE	       (1ULL << 14) /* ABI 3 */
#define LL_FS_IOCTL_DEV	       (1ULL << 15) /* ABI 5 */
#define LL_SCOPE_ABSTRACT_UNIX (1ULL << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL	       (1ULL << 1) /* ABI 6 */
#define LL_FS_ABI1	       ((LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1)

#define CAP_PROBE_MAX 64 /* capabilities fit in 64 bits */

struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net; /* ABI 4; never handled */
	uint64_t scoped; /* ABI 6 */
};

/* Rights and the ABI that introduced them. */
struct ll_right {
	uint64_t right;
	int abi;
};

/* Every file right: handled in both phases, so unlisted means denied. */
static const struct ll_right ll_handled[] = {
	{ LL_FS_ABI1, 1 },
	{ LL_FS_REFER, 2 },
	{ LL_FS_TRUNCATE, 3 },
	{ LL_FS_IOCTL_DEV, 5 },
};

/* Post-login, under the root: reading. */
static const struct ll_right ll_read[] = {
	{ LANDLOCK_ACCESS_FS_READ_FILE, 1 },
	{ LANDLOCK_ACCESS_FS_READ_DIR, 1 },
};

/* Post-login, writable users: no symlinks, fifos, sockets or devices. */
static const struct ll_right ll_write[] = {
	{ LANDLOCK_ACCESS_FS_WRITE_FILE, 1 },
	{ LANDLOCK_ACCESS_FS_REMOVE_FILE, 1 },
	{ LANDLOCK_ACCESS_FS_REMOVE_DIR, 1 },
	{ LANDLOCK_ACCESS_FS_MAKE_REG, 1 },
	{ LANDLOCK_ACCESS_FS_MAKE_DIR, 1 },
	{ LL_FS_REFER, 2 },
	{ LL_FS_TRUNCATE, 3 },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#ifdef KF_SANITIZE
/*
 * LeakSanitizer's exit-time check stops the world with clone and ptrace,
 * which a sandboxed worker can no longer do (seccomp, RLIMIT_NPROC 0,
 * not dumpable). The runtime asks this hook first: leak checking stays
 * on in the listener and the monitor, off in sandboxed workers.
 */
static int sandboxed;

int __lsan_is_turned_off(void);

int
__lsan_is_turned_off(void)
{
	return sandboxed;
}
#endif

static void __attribute__((noreturn)) fail(const char *step)
{
	log_err("sandbox: %-s failed: %-s", step, strerror(errno));
	_exit(1);
}

static void __attribute__((noreturn)) refuse(const char *why)
{
	log_err("sandbox: %-s", why);
	_exit(1);
}

static int
open_root(const char *path)
{
	int fd;

	if (path == NULL || path[0] != '/')
		refuse("root must be an absolute path");
	if ((fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		fail("open root");
	return fd;
}

/* chroot into the directory already open (no path race), then verify. */
static void
enter_root(int rootfd)
{
	struct stat want, got;

	if (fchdir(rootfd) < 0 || chroot(".") < 0 || chdir("/") < 0)
		fail("chroot");
	if (fstat(rootfd, &want) < 0 || stat("/", &got) < 0)
		fail("stat root");
	if (want.st_dev != got.st_dev || want.st_ino != got.st_ino)
		refuse("chroot check: / is not the session root");
}

static int
have_cap(cap_value_t c)
{
	cap_flag_value_t v = CAP_CLEAR;
	cap_t now;

	if ((now = cap_get_proc()) == NULL)
		fail("cap_get_proc");
	if (cap_get_flag(now, c, CAP_EFFECTIVE, &v) < 0)
		v = CAP_CLEAR;
	cap_free(now);
	return v == CAP_SET;
}

/*
 * Needs CAP_SETPCAP, so it runs before the identity change. keep: a
 * mask of capabilities left in the bounding set (a spawner's own).
 */
static void
drop_bounding(uint64_t keep)
{
	int c;

	for (c = 0; c < CAP_PROBE_MAX; c++) {
		if ((keep >> c) & 1)
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) == 0)
			continue;
		if (errno == EINVAL)
			break; /* past the kernel's last capability */
		fail("PR_CAPBSET_DROP");
	}
	for (c = 0; c < CAP_PROBE_MAX; c++) {
		int r = prctl(PR_CAPBSET_READ, c, 0, 0, 0);

		if (r < 0 && errno == EINVAL)
			break;
		if (r != 0 && !((keep >> c) & 1))
			refuse("bounding set check: a capability is left");
	}
}

static void
check_ids(uid_t uid, gid_t gid, int ngroups)
{
	uid_t r, e, s;
	gid_t rg, eg, sg, groups[2];
	int n;

	if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0)
		fail("getresuid");
	if (r != uid || e != uid || s != uid || rg != gid || eg != gid ||
	    sg != gid || r == 0)
		refuse("identity check: ids do not match");
	if (ngroups < 0)
		return;
	n = getgroups(2, groups);
	if (n != ngroups || (n == 1 && groups[0] != gid))
		refuse("identity check: supplementary groups do not match");
}

/* Root: become uid/gid for good, with exactly one group. */
static void
become_user(uid_t uid, gid_t gid)
{
	if (setgroups(1, &gid) < 0)
		fail("setgroups");
	if (setresgid(gid, gid, gid) < 0)
		fail("setresgid");
	if (setresuid(uid, uid, uid) < 0)
		fail("setresuid");
	check_ids(uid, gid, 1);
}

/*
 * Rootless: keep the invoking identity, but pin real and saved ids to
 * the effective ones, so that a saved uid 0 cannot be taken back.
 */
static void
pin_ids(void)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();

	if (setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		fail("pin ids");
	check_ids(uid, gid, -1);
}

/* Effective, permitted, inheritable and ambient sets emptied. */
static void shrink_caps(const cap_value_t *keep, size_t n);

static void
drop_caps(void)
{
	int c;

	shrink_caps(NULL, 0); /* none kept, read back */
	for (c = 0; c < CAP_PROBE_MAX; c++) {
		int r = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0);

		if (r < 0 && errno == EINVAL)
			break;
		if (r != 0)
			refuse("capability check: an ambient one is left");
	}
}

/* No privilege through execve ever again; no core, no ptrace peers. */
static void
set_no_privs(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail("PR_SET_NO_NEW_PRIVS");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail("PR_SET_DUMPABLE");
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1 ||
	    prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		refuse("prctl check: no_new_privs or dumpable not set");
}

static void
set_limit(int res, rlim_t v, const char *what)
{
	struct rlimit rl = { v, v };

	if (setrlimit(res, &rl) < 0)
		fail(what);
}

/* Files may grow as far as the hard limit lets them (no SIGXFSZ). */
static void
raise_fsize(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_FSIZE, &rl) < 0)
		fail("getrlimit RLIMIT_FSIZE");
	if (rl.rlim_max != RLIM_INFINITY)
		log_warn("sandbox: RLIMIT_FSIZE hard limit is %llu bytes",
		    (unsigned long long)rl.rlim_max);
	set_limit(RLIMIT_FSIZE, rl.rlim_max, "RLIMIT_FSIZE");
}

/* After the identity change: RLIMIT_NPROC counts the new uid's tasks. */
static void
set_rlimits(enum sandbox_phase phase)
{
	set_limit(RLIMIT_NPROC, 0, "RLIMIT_NPROC");
	set_limit(RLIMIT_NOFILE, KF_SESSION_NOFILE, "RLIMIT_NOFILE");
	set_limit(RLIMIT_CORE, 0, "RLIMIT_CORE");
	raise_fsize();
#ifndef KF_SANITIZE
	/* ASan reserves terabytes of address space: not in those builds. */
	set_limit(RLIMIT_AS,
	    phase != SANDBOX_POSTLOGIN ? KF_PRELOGIN_AS : KF_POSTLOGIN_AS,
	    "RLIMIT_AS");
#else
	(void)phase;
#endif
}

static int
landlock_abi(void)
{
	return (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
}

static uint64_t
rights(const struct ll_right *t, size_t n, int abi)
{
	uint64_t r = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (abi >= t[i].abi)
			r |= t[i].right;
	return r;
}

static int
landlock_ruleset(int abi)
{
	struct ll_ruleset_attr attr = { 0 };
	size_t size = sizeof(attr.handled_access_fs);

	attr.handled_access_fs = rights(ll_handled, NELEM(ll_handled), abi);
	if (abi >= 6) {
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
		size = sizeof(attr);
	}
	return (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
}

/* Post-login: read under the root; write too when the user may write. */
static int
landlock_allow_root(int ruleset, int rootfd, int abi, int writable)
{
	struct landlock_path_beneath_attr pb = { 0 };

	pb.parent_fd = rootfd;
	pb.allowed_access = rights(ll_read, NELEM(ll_read), abi);
	if (writable)
		pb.allowed_access |= rights(ll_write, NELEM(ll_write), abi);
	return (int)syscall(SYS_landlock_add_rule, ruleset,
	    LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
}

/* Pre-login has no rule at all: even its own root must not open. */
static void
check_no_files(int rootfd)
{
	int fd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0 || errno != EACCES)
		refuse("Landlock check: pre-login can still open files");
}

static void
apply_landlock(const struct sandbox_spec *s, int rootfd, int root)
{
	int abi = landlock_abi(), ruleset;

	if (abi < 1 && !root)
		fail("Landlock (rootless mode has no other file boundary)");
	if (abi < 1) {
		log_warn("sandbox: no Landlock in this kernel; chroot is the "
			 "file boundary");
		return;
	}
	if ((ruleset = landlock_ruleset(abi)) < 0)
		fail("landlock_create_ruleset");
	if (s->phase == SANDBOX_POSTLOGIN &&
	    landlock_allow_root(ruleset, rootfd, abi, s->writable) < 0)
		fail("landlock_add_rule");
	if (syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
		fail("landlock_restrict_self");
	close(ruleset);
	if (s->phase != SANDBOX_POSTLOGIN)
		check_no_files(rootfd);
}

/*
 * After the last identity change (which clears the death signal): die
 * with the process that forked us, and not at all if it is gone
 * already. parent 0: not asked for.
 */
static void
die_with_parent(pid_t parent)
{
	if (parent == 0)
		return;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		fail("PR_SET_PDEATHSIG");
	if (getppid() != parent)
		_exit(1);
}

/*
 * The identity part, for a worker and for a spawner alike: root goes
 * into s->root as s->uid/gid (never 0), rootless pins its ids; the
 * bounding set is emptied where CAP_SETPCAP allows. The root's fd.
 */
static int
take_identity(const struct sandbox_spec *s, const char *refusal)
{
	int rootfd;

	if (geteuid() == 0 && (s->uid == 0 || s->gid == 0))
		refuse(refusal);
	rootfd = open_root(s->root);
	if (have_cap(CAP_SETPCAP))
		drop_bounding(0);
	if (geteuid() == 0) {
		enter_root(rootfd);
		become_user(s->uid, s->gid);
	} else
		pin_ids();
	return rootfd;
}

int
sandbox_enter(const struct sandbox_spec *s)
{
	int root = geteuid() == 0, rootfd;

	rootfd = take_identity(s, "refusing to run a session as uid or gid 0");
	die_with_parent(s->parent);
	drop_caps();
	set_no_privs();
	set_rlimits(s->phase);
	apply_landlock(s, rootfd, root);
#ifdef KF_SANITIZE
	sandboxed = 1;
#endif
	if (seccomp_apply(s->phase) < 0)
		fail("seccomp");
	if (s->phase != SANDBOX_POSTLOGIN) {
		close(rootfd);
		return -1;
	}
	return rootfd;
}

/* ---- the monitor after login ---- */

/*
 * What the monitor keeps, as root, and why (docs/SECURITY.md): it no
 * longer makes workers itself (the spawners do), but it signals them
 * although they run as another uid, and it reaches the users file and
 * quota files wherever they lie.
 */
static const cap_value_t monitor_caps[] = {
	CAP_KILL, /* SIGTERM/SIGKILL to workers of another uid */
	CAP_DAC_READ_SEARCH, /* the users file; quota files */
};

/* Kept only when the configuration needs them. */
static const cap_value_t quota_caps[] = {
	CAP_DAC_OVERRIDE, /* create a usage file in quota_dir */
	CAP_CHOWN, /* ... and give it to quota_dir's owner */
};

static const cap_value_t pam_caps[] = {
	CAP_AUDIT_WRITE, /* libpam's audit records of each login */
};

static size_t
add_caps(cap_value_t *keep, size_t n, const cap_value_t *t, size_t m)
{
	size_t i;

	for (i = 0; i < m && n < CAP_PROBE_MAX; i++)
		keep[n++] = t[i];
	return n;
}

/*
 * A quota_dir owned by root (the default) needs nothing more: root
 * creates and opens its own files there. One of another owner needs
 * DAC_OVERRIDE to create in it and CHOWN to hand the file over.
 */
static size_t
monitor_keep(const struct conf *c, cap_value_t *keep)
{
	struct stat st;
	size_t n;

	n = add_caps(keep, 0, monitor_caps, NELEM(monitor_caps));
	if (stat(c->quota_dir, &st) == 0 && st.st_uid != 0)
		n = add_caps(keep, n, quota_caps, NELEM(quota_caps));
	if (c->pam_enable)
		n = add_caps(keep, n, pam_caps, NELEM(pam_caps));
	return n;
}

static int
kept(const cap_value_t *keep, size_t n, int c)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (keep[i] == c)
			return 1;
	return 0;
}

/* Needs CAP_SETPCAP: every capability not kept leaves the bounding set. */
static void
shrink_bounding(const cap_value_t *keep, size_t n)
{
	int c, r;

	for (c = 0; c < CAP_PROBE_MAX; c++) {
		if (kept(keep, n, c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) == 0)
			continue;
		if (errno == EINVAL)
			break;
		fail("PR_CAPBSET_DROP");
	}
	for (c = 0; c < CAP_PROBE_MAX; c++) {
		if ((r = prctl(PR_CAPBSET_READ, c, 0, 0, 0)) < 0 &&
		    errno == EINVAL)
			break;
		if (r != kept(keep, n, c))
			refuse("bounding set check: not the set kept");
	}
}

/* Effective and permitted: exactly keep; inheritable, ambient: none. */
static void
shrink_caps(const cap_value_t *keep, size_t n)
{
	cap_t want, now;
	int same;

	if ((want = cap_init()) == NULL)
		fail("cap_init");
	if (n > 0 &&
	    (cap_set_flag(want, CAP_EFFECTIVE, (int)n, keep, CAP_SET) < 0 ||
		cap_set_flag(want, CAP_PERMITTED, (int)n, keep, CAP_SET) < 0))
		fail("cap_set_flag");
	if (cap_set_proc(want) < 0)
		fail("cap_set_proc");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		fail("clear ambient capabilities");
	if ((now = cap_get_proc()) == NULL)
		fail("cap_get_proc");
	same = cap_compare(now, want) == 0;
	cap_free(now);
	cap_free(want);
	if (!same)
		refuse("capability check: not the set kept");
}

/*
 * Rootless, the monitor needs no capability at all; its bounding set
 * shrinks only if it has CAP_SETPCAP (a user's process normally has
 * not: the bounding set then stays, docs/SECURITY.md).
 */
void
sandbox_monitor_shrink(const struct conf *c)
{
	static int done;
	cap_value_t keep[CAP_PROBE_MAX];
	size_t n = 0;

	if (done)
		return;
	if (geteuid() == 0)
		n = monitor_keep(c, keep);
	if (have_cap(CAP_SETPCAP))
		shrink_bounding(keep, n);
	shrink_caps(keep, n);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail("PR_SET_NO_NEW_PRIVS");
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		refuse("prctl check: no_new_privs not set");
#ifdef KF_SANITIZE
	/* LeakSanitizer's exit check needs ptrace: not under this filter */
	sandboxed = 1;
#endif
	if (seccomp_apply(SANDBOX_MONITOR) < 0)
		fail("monitor seccomp");
	done = 1;
}

/*
 * The PAM session keeper (auth/pam.c): it only waits for the end of the
 * session and then runs pam_close_session, whose modules may exec
 * (pam_exec) and write root-owned records. So no seccomp filter; every
 * capability goes but AUDIT_WRITE (libpam's audit record), from the
 * bounding set too where possible, and no_new_privs, so an exec'd
 * helper cannot gain any.
 */
void
sandbox_pam_keeper(void)
{
	cap_value_t keep[1] = { CAP_AUDIT_WRITE };
	size_t n = geteuid() == 0 ? 1 : 0;

	if (have_cap(CAP_SETPCAP))
		shrink_bounding(keep, n);
	shrink_caps(keep, n);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail("PR_SET_NO_NEW_PRIVS");
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		refuse("prctl check: no_new_privs not set");
}

static int spawner_root; /* the spawner was root: it chrooted */

/*
 * A spawner of unprivileged workers (pre-login, relay): root goes into
 * spec->root as spec->uid/gid, rootless pins its ids; no capability,
 * no_new_privs, not dumpable. What is per worker (rlimits, Landlock,
 * the phase's seccomp program) sandbox_child() adds in each child.
 */
void
sandbox_spawner(const struct sandbox_spec *s)
{
	int root = geteuid() == 0;

	close(take_identity(s, "refusing to run a spawner as uid or gid 0"));
	drop_caps();
	set_no_privs();
	spawner_root = root;
}

/* In a child of sandbox_spawner()'s process: the rest of the sandbox. */
void
sandbox_child(enum sandbox_phase phase, pid_t parent)
{
	struct sandbox_spec sp = { .phase = phase, .root = "/" };
	int rootfd;

	die_with_parent(parent);
	set_rlimits(phase);
	if ((rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		fail("open root");
	apply_landlock(&sp, rootfd, spawner_root);
	close(rootfd);
#ifdef KF_SANITIZE
	sandboxed = 1;
#endif
	if (seccomp_apply(phase) < 0)
		fail("seccomp");
}

/*
 * The post-login spawner: root keeps only the capabilities in keep
 * (effective, permitted and bounding sets), then no_new_privs and not
 * dumpable; rootless pins its ids and keeps none.
 */
void
sandbox_keep_caps(const int *keep, size_t n)
{
	cap_value_t v[CAP_PROBE_MAX];
	size_t i;

	if (geteuid() != 0) {
		pin_ids();
		drop_caps();
		set_no_privs();
		return;
	}
	for (i = 0; i < n && i < CAP_PROBE_MAX; i++)
		v[i] = (cap_value_t)keep[i];
	/* the same verified steps as the monitor's shrink */
	shrink_bounding(v, i);
	shrink_caps(v, i);
	set_no_privs();
}

/*
 * A directory on the way to the empty root: no symlink, owned by root,
 * and nobody else may rename it away (group/other write only with the
 * sticky bit, as /tmp has).
 */
static int
safe_step(int dirfd, const char *name, int last)
{
	struct stat st;
	int fd;

	fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || st.st_uid != 0 ||
	    ((st.st_mode & 022) && (last || !(st.st_mode & S_ISVTX)))) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/* mkdir, and when we made it, make it exactly 0555 root:root. */
static int
make_dir(int dirfd, const char *name, mode_t mode)
{
	if (mkdirat(dirfd, name, mode) < 0)
		return errno == EEXIST ? 0 : -1;
	if (fchownat(dirfd, name, 0, 0, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fchmodat(dirfd, name, mode, 0) < 0)
		return -1;
	return 0;
}

/* Looks at the first entries only: one real name is enough to refuse. */
static int
is_empty(int dirfd, const char *name)
{
	struct dirent *de;
	DIR *d;
	int fd, empty = 1;

	fd = openat(dirfd, name,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while (empty && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	return empty;
}

/* "/a/b": absolute, no empty, "." or ".." component, no trailing slash. */
static int
canonical(const char *p)
{
	const char *c = p;
	size_t n;

	if (*c != '/')
		return 0;
	do {
		c++;
		n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		c += n;
	} while (*c == '/');
	return 1;
}

/* mkdir -p, component by component, each one checked as it is passed. */
static int
walk_empty_dir(char *p)
{
	char *name = p + 1, *slash;
	int fd, next, last;

	if ((fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	for (;;) {
		if ((slash = strchr(name, '/')) != NULL)
			*slash = '\0';
		last = slash == NULL;
		if (make_dir(fd, name, last ? 0555 : 0755) < 0 ||
		    (next = safe_step(fd, name, last)) < 0)
			goto bad;
		if (last && !is_empty(fd, name)) {
			close(next);
			errno = ENOTEMPTY;
			goto bad;
		}
		close(fd);
		fd = next;
		if (last)
			break;
		name = slash + 1;
	}
	close(fd);
	return 0;
bad:
	close(fd);
	return -1;
}

/* The pre-login root: a real, root-owned, read-only, empty directory. */
int
sandbox_prepare_empty_dir(const char *path)
{
	char p[KF_PATH_MAX + 1];
	size_t n;

	if (geteuid() != 0)
		return 0; /* rootless pre-login: Landlock, no rule */
	n = strlen(path);
	if (!canonical(path) || n >= sizeof(p)) {
		log_err("empty_dir=%s is not a canonical absolute path "
			"below /",
		    path);
		return -1;
	}
	memcpy(p, path, n + 1);
	if (walk_empty_dir(p) < 0) {
		log_err(
		    "empty_dir=%s unusable: %-s (must be an empty directory owned "
		    "by root, on a path of root-owned directories without "
		    "symlinks, writable by nobody else)",
		    path, strerror(errno));
		return -1;
	}
	return 0;
}
