/*
 * sandbox.c - entering a worker's sandbox, one verified step at a time:
 * root directory, identity, capabilities, no_new_privs, rlimits,
 * Landlock, seccomp. Any failure ends the process: a worker never runs
 * half-confined.
 * Runs in: pre-login and post-login workers (just after fork), and the
 * listener (sandbox_prepare_empty_dir).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../common/limits.h"
#include "../common/log.h"
#include "seccomp.h"

/* Landlock ABI values newer than these headers (they are stable ABI). */
#define LL_FS_TRUNCATE		(1ULL << 14)
#define LL_FS_IOCTL_DEV		(1ULL << 15)
#define LL_SCOPE_ABSTRACT_UNIX	(1ULL << 0)
#define LL_SCOPE_SIGNAL		(1ULL << 1)

struct ll_ruleset_attr {
	uint64_t	handled_access_fs;
	uint64_t	handled_access_net;	/* ABI 4 */
	uint64_t	scoped;			/* ABI 6 */
};

static void __attribute__((noreturn))
fail(const char *step)
{
	log_err("sandbox: %s failed: %s", step, strerror(errno));
	_exit(1);
}

/* Root: chroot, then become uid/gid for good, and check it took. */
static void
become_user(const struct sandbox_spec *s)
{
	uid_t r, e, sv;
	gid_t rg, eg, sg, groups[2];
	int n;

	if (s->uid == 0 || s->gid == 0) {
		errno = EPERM;
		fail("refusing uid or gid 0");
	}
	if (chroot(s->root) < 0 || chdir("/") < 0)
		fail("chroot");
	if (setgroups(1, &s->gid) < 0 || setresgid(s->gid, s->gid, s->gid) < 0 ||
	    setresuid(s->uid, s->uid, s->uid) < 0)
		fail("set ids");
	if (getresuid(&r, &e, &sv) < 0 || getresgid(&rg, &eg, &sg) < 0)
		fail("getresuid");
	n = getgroups(2, groups);
	if (r != s->uid || e != s->uid || sv != s->uid || rg != s->gid ||
	    eg != s->gid || sg != s->gid || n != 1 || groups[0] != s->gid) {
		errno = EPERM;
		fail("identity check");
	}
}

/* The bounding set needs CAP_SETPCAP: drop it while we are still root. */
static void
drop_bounding(void)
{
	int c;

	for (c = 0; c <= CAP_LAST_CAP; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			fail("PR_CAPBSET_DROP");
}

static void
drop_caps(void)
{
	cap_t none = cap_init(), now;
	int same;

	if (none == NULL || cap_set_proc(none) < 0)
		fail("cap_set_proc");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL)
		fail("clear ambient capabilities");
	if ((now = cap_get_proc()) == NULL)
		fail("cap_get_proc");
	same = cap_compare(now, none) == 0;
	cap_free(now);
	cap_free(none);
	if (!same) {
		errno = EPERM;
		fail("capability check");
	}
}

static void
set_limit(int res, rlim_t v, const char *what)
{
	struct rlimit rl = { v, v };

	if (setrlimit(res, &rl) < 0)
		fail(what);
}

static void
set_rlimits(enum sandbox_phase phase)
{
	set_limit(RLIMIT_NPROC, 0, "RLIMIT_NPROC");
	set_limit(RLIMIT_NOFILE, KF_SESSION_NOFILE, "RLIMIT_NOFILE");
	set_limit(RLIMIT_CORE, 0, "RLIMIT_CORE");
#ifndef KF_SANITIZE
	if (phase == SANDBOX_PRELOGIN)
		set_limit(RLIMIT_AS, KF_PRELOGIN_AS, "RLIMIT_AS");
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
fs_rights(int abi)
{
	uint64_t all = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;

	if (abi >= 2)
		all |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		all |= LL_FS_TRUNCATE;
	if (abi >= 5)
		all |= LL_FS_IOCTL_DEV;
	return all;
}

/*
 * Pre-login: every file right handled, no rule: no file access at all.
 * Post-login: read under the root; write too when the user may write.
 * No symlinks, devices, fifos or sockets can be made. ABI 6 also
 * scopes signals and abstract sockets to this sandbox.
 */
static int
landlock(const struct sandbox_spec *s, int rootfd, int abi)
{
	struct ll_ruleset_attr attr = { 0 };
	struct landlock_path_beneath_attr pb = { 0 };
	size_t size = abi >= 6 ? 24 : abi >= 4 ? 16 : 8;
	uint64_t write = LANDLOCK_ACCESS_FS_WRITE_FILE |
	    LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
	    LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
	    LANDLOCK_ACCESS_FS_REFER | LL_FS_TRUNCATE;
	int fd, r;

	attr.handled_access_fs = fs_rights(abi);
	if (abi >= 6)
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
	fd = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (fd < 0)
		return -1;
	if (s->phase == SANDBOX_POSTLOGIN) {
		pb.parent_fd = rootfd;
		pb.allowed_access = LANDLOCK_ACCESS_FS_READ_FILE |
		    LANDLOCK_ACCESS_FS_READ_DIR | (s->writable ? write : 0);
		pb.allowed_access &= attr.handled_access_fs;
		if (syscall(SYS_landlock_add_rule, fd, LANDLOCK_RULE_PATH_BENEATH,
		    &pb, 0) < 0) {
			close(fd);
			return -1;
		}
	}
	r = (int)syscall(SYS_landlock_restrict_self, fd, 0);
	close(fd);
	return r;
}

int
sandbox_enter(const struct sandbox_spec *s)
{
	int root = geteuid() == 0, rootfd, abi;

	rootfd = open(s->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		fail("open root");
	if (root) {
		drop_bounding();
		become_user(s);
	}
	drop_caps();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail("PR_SET_NO_NEW_PRIVS");
	set_rlimits(s->phase);
	abi = landlock_abi();
	if (abi < 1 && !root)
		fail("Landlock unavailable; rootless mode has no other boundary");
	if (abi < 1)
		log_warn("sandbox: no Landlock; chroot is the file boundary");
	else if (landlock(s, rootfd, abi) < 0)
		fail("Landlock");
	if (seccomp_apply(s->phase) < 0)
		fail("seccomp");
	if (s->phase == SANDBOX_PRELOGIN) {
		close(rootfd);
		return -1;
	}
	return rootfd;
}

static int
mkdir_p(char *path)
{
	char *p;

	for (p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(path, 0555) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

static int
is_empty(const char *path)
{
	struct dirent *de;
	DIR *d = opendir(path);
	int empty = 1;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	return empty;
}

/* The pre-login root: a real, root-owned, read-only, empty directory. */
int
sandbox_prepare_empty_dir(const char *path)
{
	char p[KF_PATH_MAX + 1];
	struct stat st;

	if (geteuid() != 0)
		return 0;
	if (path[0] != '/' || snprintf(p, sizeof(p), "%s", path) >= (int)sizeof(p)) {
		log_err("empty_dir %s: must be an absolute path", path);
		return -1;
	}
	if (mkdir_p(p) < 0 || lstat(path, &st) < 0) {
		log_err("empty_dir %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022) ||
	    !is_empty(path)) {
		log_err("empty_dir %s: must be an empty directory owned by root, "
		    "writable by nobody else", path);
		return -1;
	}
	return 0;
}
