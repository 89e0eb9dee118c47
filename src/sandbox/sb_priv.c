/*
 * sb_priv.c - the privileged side of the sandbox: the monitor after a
 * login keeps only the capabilities its remaining work needs and loads
 * its seccomp program; the PAM session keeper keeps AUDIT_WRITE alone;
 * the listener prepares the empty pre-login root.
 * Runs in: the monitor after login (sandbox_monitor_shrink), the PAM
 * session keeper (sandbox_pam_keeper), the listener
 * (sandbox_prepare_empty_dir).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/limits.h"
#include "../common/log.h"
#include "../common/sys.h"
#include "../conf/conf.h"
#include "sandbox.h"
#include "sb_common.h"
#include "seccomp.h"

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

/* anon_upload_owner, for an anonymous session only (MON_ANON_OWN) */
static const cap_value_t owner_caps[] = {
	CAP_CHOWN, /* give an anonymous upload to anon_upload_owner */
};

/*
 * Every capability a keepftpd process uses: the shipped unit's
 * CapabilityBoundingSet, and CAP_SYS_ADMIN for shared folders
 * (test_systemd.py checks the unit against the code).
 */
static const cap_value_t server_caps[] = {
	CAP_NET_BIND_SERVICE,
	CAP_SETUID,
	CAP_SETGID,
	CAP_SYS_CHROOT,
	CAP_SETPCAP,
	CAP_DAC_READ_SEARCH,
	CAP_KILL,
	CAP_DAC_OVERRIDE,
	CAP_CHOWN,
	CAP_AUDIT_WRITE,
	CAP_SYS_ADMIN,
};

static size_t
add_caps(cap_value_t *keep, size_t n, const cap_value_t *t, size_t m)
{
	size_t i;

	for (i = 0; i < m && n < SB_CAP_PROBE_MAX; i++)
		keep[n++] = t[i];
	return n;
}

/*
 * A quota_dir owned by root (the default) needs nothing more: root
 * creates and opens its own files there. One of another owner needs
 * DAC_OVERRIDE to create in it and CHOWN to hand the file over.
 */
static size_t
monitor_keep(const struct conf *c, int anon_owner, cap_value_t *keep)
{
	struct stat st;
	size_t n;
	int quota;

	n = add_caps(keep, 0, monitor_caps, SB_NELEM(monitor_caps));
	quota = stat(c->quota_dir, &st) == 0 && st.st_uid != 0;
	if (quota)
		n = add_caps(keep, n, quota_caps, SB_NELEM(quota_caps));
	if (c->pam_enable)
		n = add_caps(keep, n, pam_caps, SB_NELEM(pam_caps));
	/* CAP_CHOWN once only: quota_caps may hold it already */
	if (anon_owner && !quota)
		n = add_caps(keep, n, owner_caps, SB_NELEM(owner_caps));
	return n;
}

/*
 * The listener as root, at start: what the shipped unit's bounding set
 * does, done by the server itself wherever it is started. Nothing any
 * of its processes executes can gain a capability outside
 * server_caps, and each monitor and worker, forked from a set this
 * size, has a handful of capabilities left to drop instead of forty
 * (each drop is a new set of credentials: about a microsecond and a
 * half per session and capability). The listener's own effective and
 * permitted sets do not change.
 */
void
sandbox_listener_bounding(void)
{
	if (geteuid() == 0 && sb_have_cap(CAP_SETPCAP))
		sb_limit_bounding(server_caps, SB_NELEM(server_caps));
}

/*
 * Rootless, the monitor needs no capability at all; its bounding set
 * shrinks only if it has CAP_SETPCAP (a user's process normally has
 * not: the bounding set then stays, docs/SECURITY.md).
 */
void
sandbox_monitor_shrink(const struct conf *c, int anon_owner)
{
	static int done SYS_HOT;
	cap_value_t keep[SB_CAP_PROBE_MAX];
	size_t n = 0;

	if (done)
		return;
	if (geteuid() == 0)
		n = monitor_keep(c, anon_owner, keep);
	if (sb_have_cap(CAP_SETPCAP))
		sb_shrink_bounding(keep, n);
	sb_shrink_caps(keep, n);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		sb_fail("PR_SET_NO_NEW_PRIVS");
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		sb_refuse("prctl check: no_new_privs not set");
	/* LeakSanitizer's exit check needs ptrace: not under this filter */
	sb_mark_sandboxed();
	if (seccomp_apply_monitor() < 0)
		sb_fail("monitor seccomp");
	done = 1;
}

/*
 * REIN after an anonymous session with anon_upload_owner: CAP_CHOWN
 * leaves the effective and permitted sets (unless quota_dir needs it),
 * whoever logs in next. The bounding set keeps it (no CAP_SETPCAP is
 * left to shrink it); with no_new_privs and no execve it grants
 * nothing.
 */
void
sandbox_monitor_drop_owner(const struct conf *c)
{
	cap_value_t keep[SB_CAP_PROBE_MAX];

	if (geteuid() == 0)
		sb_shrink_caps(keep, monitor_keep(c, 0, keep));
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

	if (sb_have_cap(CAP_SETPCAP))
		sb_shrink_bounding(keep, n);
	sb_shrink_caps(keep, n);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		sb_fail("PR_SET_NO_NEW_PRIVS");
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		sb_refuse("prctl check: no_new_privs not set");
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
