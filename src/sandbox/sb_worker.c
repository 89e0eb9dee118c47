/*
 * sb_worker.c - entering a worker's sandbox, one verified transition at
 * a time: root directory, identity, capabilities, no_new_privs,
 * rlimits, Landlock, seccomp. Any failure ends the process: a worker
 * never runs half-confined. Also the spawners' own confinement, which
 * the workers they fork complete.
 * Runs in: spawners (sandbox_spawner, sandbox_keep_caps), pre-login and
 * post-login workers and the TLS relay (sandbox_enter, sandbox_child,
 * just after fork). keepftpd-worker only: the privileged image holds
 * none of it (scripts/check-priv-image.py).
 */
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
#include "../common/perm.h"
#include "sandbox.h"
#include "sb_common.h"
#include "sb_folders.h"
#include "seccomp.h"

/* Landlock ABI newer than Debian 12's headers (stable kernel ABI). */
#define LL_FS_REFER	       (1ULL << 13) /* ABI 2 */
#define LL_FS_TRUNCATE	       (1ULL << 14) /* ABI 3 */
#define LL_FS_IOCTL_DEV	       (1ULL << 15) /* ABI 5 */
#define LL_SCOPE_ABSTRACT_UNIX (1ULL << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL	       (1ULL << 1) /* ABI 6 */
#define LL_FS_ABI1	       ((LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1)

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

static int
open_root(const char *path)
{
	int fd;

	if (path == NULL || path[0] != '/')
		sb_refuse("root must be an absolute path");
	if ((fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		sb_fail("open root");
	return fd;
}

/* chroot into the directory already open (no path race), then verify. */
static void
enter_root(int rootfd)
{
	struct stat want, got;

	if (fchdir(rootfd) < 0 || chroot(".") < 0 || chdir("/") < 0)
		sb_fail("chroot");
	if (fstat(rootfd, &want) < 0 || stat("/", &got) < 0)
		sb_fail("stat root");
	if (want.st_dev != got.st_dev || want.st_ino != got.st_ino)
		sb_refuse("chroot check: / is not the session root");
}

/*
 * Needs CAP_SETPCAP, so it runs before the identity change. keep: a
 * mask of capabilities left in the bounding set (a spawner's own).
 * Only those still in the set are dropped (sb_shrink_bounding).
 */
static void
drop_bounding(uint64_t keep)
{
	int c, r;

	for (c = 0; c < SB_CAP_PROBE_MAX; c++) {
		if ((keep >> c) & 1)
			continue;
		if ((r = prctl(PR_CAPBSET_READ, c, 0, 0, 0)) < 0 &&
		    errno == EINVAL)
			break; /* past the kernel's last capability */
		if (r == 0)
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
			sb_fail("PR_CAPBSET_DROP");
	}
	for (c = 0; c < SB_CAP_PROBE_MAX; c++) {
		r = prctl(PR_CAPBSET_READ, c, 0, 0, 0);
		if (r < 0 && errno == EINVAL)
			break;
		if (r != 0 && !((keep >> c) & 1))
			sb_refuse("bounding set check: a capability is left");
	}
}

static void
check_ids(uid_t uid, gid_t gid, int ngroups)
{
	uid_t r, e, s;
	gid_t rg, eg, sg, groups[2];
	int n;

	if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0)
		sb_fail("getresuid");
	if (r != uid || e != uid || s != uid || rg != gid || eg != gid ||
	    sg != gid || r == 0)
		sb_refuse("identity check: ids do not match");
	if (ngroups < 0)
		return;
	n = getgroups(2, groups);
	if (n != ngroups || (n == 1 && groups[0] != gid))
		sb_refuse("identity check: supplementary groups do not match");
}

/* Root: become uid/gid for good, with exactly one group. */
static void
become_user(uid_t uid, gid_t gid)
{
	if (setgroups(1, &gid) < 0)
		sb_fail("setgroups");
	if (setresgid(gid, gid, gid) < 0)
		sb_fail("setresgid");
	if (setresuid(uid, uid, uid) < 0)
		sb_fail("setresuid");
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
		sb_fail("pin ids");
	check_ids(uid, gid, -1);
}

/* Effective, permitted, inheritable and ambient sets emptied. */
static void
drop_caps(void)
{
	int c;

	sb_shrink_caps(NULL, 0); /* none kept, read back */
	for (c = 0; c < SB_CAP_PROBE_MAX; c++) {
		int r = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0);

		if (r < 0 && errno == EINVAL)
			break;
		if (r != 0)
			sb_refuse("capability check: an ambient one is left");
	}
}

static void
set_limit(int res, rlim_t v, const char *what)
{
	struct rlimit rl = { v, v };

	if (setrlimit(res, &rl) < 0)
		sb_fail(what);
}

/* Files may grow as far as the hard limit lets them (no SIGXFSZ). */
static void
raise_fsize(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_FSIZE, &rl) < 0)
		sb_fail("getrlimit RLIMIT_FSIZE");
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

	attr.handled_access_fs = rights(ll_handled, SB_NELEM(ll_handled), abi);
	if (abi >= 6) {
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
		size = sizeof(attr);
	}
	return (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
}

/*
 * Post-login: read under the root (or a shared folder's source); write
 * too when the user (and the folder) may write.
 */
static int
allow_beneath(int ruleset, int fd, uint64_t access)
{
	struct landlock_path_beneath_attr pb = { 0 };

	pb.parent_fd = fd;
	pb.allowed_access = access;
	return (int)syscall(SYS_landlock_add_rule, ruleset,
	    LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
}

/*
 * A read-only user with rules that grant changes (an upload directory,
 * anon_upload_dirs): write rights beneath those directories only, as
 * they exist at login (a rule path that is no directory then gets
 * none). The rules themselves are checked per command (sess_perm.c).
 */
static int
allow_rule_dirs(int ruleset, int rootfd, uint64_t w, const struct perm_set *p,
    int (*open_dir)(int, const char *))
{
	uint32_t i;
	int fd, r;

	for (i = 0;
	     p != NULL && open_dir != NULL && i < p->n && i < KF_PERM_RULES_MAX;
	     i++) {
		if (!(p->r[i].mask & PERM_WRITES))
			continue;
		fd = open_dir(rootfd, p->r[i].path);
		if (fd < 0)
			continue;
		r = allow_beneath(ruleset, fd, w);
		close(fd);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Post-login: read under the root; write too when the user may write. */
static int
landlock_allow_root(int ruleset, int rootfd, int abi,
    const struct sandbox_spec *s)
{
	uint64_t rd = rights(ll_read, SB_NELEM(ll_read), abi),
		 w = rights(ll_write, SB_NELEM(ll_write), abi);

	if (s->writable)
		return allow_beneath(ruleset, rootfd, rd | w);
	if (allow_beneath(ruleset, rootfd, rd) < 0)
		return -1;
	return allow_rule_dirs(ruleset, rootfd, w, s->perms, s->open_dir);
}

/*
 * Post-login, rootless: a shared folder's source: read, and write when
 * the folder is rw and the user may write (pick_folders decided).
 */
static int
landlock_allow_folder(int ruleset, int fd, int abi, int writable)
{
	uint64_t rd = rights(ll_read, SB_NELEM(ll_read), abi),
		 w = rights(ll_write, SB_NELEM(ll_write), abi);

	return allow_beneath(ruleset, fd, writable ? rd | w : rd);
}

/* Pre-login has no rule at all: even its own root must not open. */
static void
check_no_files(int rootfd)
{
	int fd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0 || errno != EACCES)
		sb_refuse("Landlock check: pre-login can still open files");
}

static void
apply_landlock(const struct sandbox_spec *s, int rootfd, int root)
{
	int abi = landlock_abi(), ruleset;
	size_t i;

	if (abi < 1 && !root)
		sb_fail("Landlock (rootless mode has no other file boundary)");
	if (abi < 1) {
		log_warn("sandbox: no Landlock in this kernel; chroot is the "
			 "file boundary");
		return;
	}
	if ((ruleset = landlock_ruleset(abi)) < 0)
		sb_fail("landlock_create_ruleset");
	if (s->phase == SANDBOX_POSTLOGIN &&
	    landlock_allow_root(ruleset, rootfd, abi, s) < 0)
		sb_fail("landlock_add_rule");
	for (i = 0; s->phase == SANDBOX_POSTLOGIN && i < s->nfolders; i++)
		if (s->folders[i].fd >= 0 &&
		    landlock_allow_folder(ruleset, s->folders[i].fd, abi,
			s->folders[i].writable) < 0)
			sb_fail("landlock_add_rule (shared folder)");
	if (syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
		sb_fail("landlock_restrict_self");
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
		sb_fail("PR_SET_PDEATHSIG");
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
		sb_refuse(refusal);
	rootfd = open_root(s->root);
	if (sb_have_cap(CAP_SETPCAP))
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

	if (root && s->phase == SANDBOX_POSTLOGIN)
		sb_folders_mount(s); /* before the chroot, with CAP_SYS_ADMIN */
	rootfd = take_identity(s, "refusing to run a session as uid or gid 0");
	if (!root && s->phase == SANDBOX_POSTLOGIN)
		sb_folders_open(s, rootfd); /* before Landlock */
	die_with_parent(s->parent);
	drop_caps();
	sb_no_new_privs();
	set_rlimits(s->phase);
	apply_landlock(s, rootfd, root);
	sb_mark_sandboxed();
	if (seccomp_apply(s->phase) < 0)
		sb_fail("seccomp");
	if (s->phase != SANDBOX_POSTLOGIN) {
		close(rootfd);
		return -1;
	}
	return rootfd;
}

/*
 * A spawner of unprivileged workers (pre-login, relay): root goes into
 * spec->root as spec->uid/gid, rootless pins its ids; no capability,
 * no_new_privs, not dumpable, and the pre-login Landlock domain (no
 * file at all, checked): its workers inherit it with the fork, the
 * kernel lets no process leave its domain, and the spawner has nothing
 * left to open. What is per worker (the death signal, rlimits, the
 * phase's seccomp program) sandbox_child() adds in each child.
 */
void
sandbox_spawner(const struct sandbox_spec *s)
{
	struct sandbox_spec none = { .phase = SANDBOX_PRELOGIN, .root = "/" };
	int root = geteuid() == 0, rootfd;

	rootfd = take_identity(s, "refusing to run a spawner as uid or gid 0");
	drop_caps();
	sb_no_new_privs();
	apply_landlock(&none, rootfd, root);
	close(rootfd);
}

/*
 * In a child of sandbox_spawner()'s process: the rest of the sandbox.
 * Landlock came with the fork (the spawner's own domain, see above).
 */
void
sandbox_child(enum sandbox_phase phase, pid_t parent)
{
	die_with_parent(parent);
	set_rlimits(phase);
	sb_mark_sandboxed();
	if (seccomp_apply(phase) < 0)
		sb_fail("seccomp");
}

int
sandbox_have_cap(int cap)
{
	return sb_have_cap((cap_value_t)cap);
}

/*
 * The post-login spawner: root keeps only the capabilities in keep
 * (effective, permitted and bounding sets), then no_new_privs and not
 * dumpable; rootless pins its ids and keeps none.
 */
void
sandbox_keep_caps(const int *keep, size_t n)
{
	cap_value_t v[SB_CAP_PROBE_MAX];
	size_t i;

	if (geteuid() != 0) {
		pin_ids();
		drop_caps();
		sb_no_new_privs();
		return;
	}
	for (i = 0; i < n && i < SB_CAP_PROBE_MAX; i++)
		v[i] = (cap_value_t)keep[i];
	/* the same verified steps as the monitor's shrink */
	sb_shrink_bounding(v, i);
	sb_shrink_caps(v, i);
	sb_no_new_privs();
}

/*
 * An upload hook's runner and the hook itself: the bounding set
 * emptied (CAP_SETPCAP, the hook spawner's), uid/gid with one group
 * (root: never 0), the death signal, no capability left, no_new_privs,
 * no core. Rootless: its ids pinned. No chroot, Landlock or seccomp:
 * the hook is the administrator's program and may need the system.
 */
void
sandbox_hook(uid_t uid, gid_t gid, pid_t parent)
{
	if (geteuid() == 0) {
		if (uid == 0 || gid == 0)
			sb_refuse("refusing to run an upload hook as root");
		drop_bounding(0);
		become_user(uid, gid);
	} else
		pin_ids();
	die_with_parent(parent);
	drop_caps();
	sb_no_new_privs();
	set_limit(RLIMIT_CORE, 0, "RLIMIT_CORE");
}
