/*
 * test_sandbox.c - the sandbox proven, not assumed: a child enters it
 * and waits while the parent reads its /proc/PID (ids, capability sets,
 * no_new_privs, seccomp mode, root, rlimits, dumpable); then the child
 * tries what it may no longer do. Each phase is entered as root (chroot
 * and identity change) and rootless (the child first becomes nobody).
 * Runs in: the unit test runner (as root; tests skip otherwise).
 */
#include "cm.h"
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/sched.h>
#include <sched.h>
#include <grp.h>
#include <linux/landlock.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/limits.h"
#include "conf/conf.h"
#include "fs/path.h"
#include "sandbox/sandbox.h"
#include "sandbox/seccomp.h"

/* cmocka, nftw and the bodies fix the signatures; not every one reads all. */
#pragma GCC diagnostic ignored "-Wunused-parameter"

#define NOBODY	 65534
#define NOBODY_S "65534"

enum mode {
	MODE_ROOT, /* sandbox_enter as root: chroot, identity change */
	MODE_ROOTLESS, /* the child becomes nobody first */
	MODE_SAVED_ROOT, /* nobody, with a saved uid 0 */
};

struct child {
	pid_t pid;
	int ready; /* child -> parent: sandbox entered */
	int go; /* parent -> child: run the body */
	int err; /* the child's stderr, when captured */
};

typedef int (*body_fn)(int rootfd);

static char tree[64]; /* a session root: etc/passwd, pub/, link */
static char scratch[64]; /* for sandbox_prepare_empty_dir */
static char empty[96]; /* the pre-login root */
static pid_t parent;

static int
is_root(void)
{
	return geteuid() == 0;
}

/*
 * Like a daemon a user started: the id change made the process
 * non-dumpable, a user's own process is dumpable.
 */
static int
become_nobody(void)
{
	if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
	    setresuid(NOBODY, NOBODY, NOBODY) < 0 ||
	    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		return -1;
	return 0;
}

static int
become_nobody_saved_root(void)
{
	if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
	    setresuid(NOBODY, NOBODY, 0) < 0)
		return -1;
	return 0;
}

static void
child_run(const struct sandbox_spec *sp, enum mode m, body_fn body,
    const int *up, const int *down, int err)
{
	char b;
	int fd;

	close(up[0]);
	close(down[1]);
	if (err >= 0 && dup2(err, STDERR_FILENO) < 0)
		_exit(92);
	if (m == MODE_ROOTLESS && become_nobody() < 0)
		_exit(90);
	if (m == MODE_SAVED_ROOT && become_nobody_saved_root() < 0)
		_exit(90);
	fd = sandbox_enter(sp);
	if (write(up[1], "r", 1) != 1 || read(down[0], &b, 1) != 1)
		_exit(91);
	_exit(body(fd));
}

static void
start_capture(struct child *c, const struct sandbox_spec *sp, enum mode m,
    body_fn body, int capture)
{
	int up[2], down[2], err[2] = { -1, -1 };
	char b;

	assert_int_equal(pipe2(up, O_CLOEXEC), 0);
	assert_int_equal(pipe2(down, O_CLOEXEC), 0);
	if (capture)
		assert_int_equal(pipe2(err, O_CLOEXEC), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0)
		child_run(sp, m, body, up, down, err[1]);
	close(up[1]);
	close(down[0]);
	if (capture)
		close(err[1]);
	c->ready = up[0];
	c->go = down[1];
	c->err = err[0];
	assert_int_equal(read(c->ready, &b, 1), 1);
}

static void
start(struct child *c, const struct sandbox_spec *sp, enum mode m, body_fn body)
{
	start_capture(c, sp, m, body, 0);
}

/* Runs the body; returns the raw wait status. */
static int
finish(struct child *c)
{
	int st;

	assert_int_equal(write(c->go, "g", 1), 1);
	assert_int_equal(waitpid(c->pid, &st, 0), c->pid);
	close(c->ready);
	close(c->go);
	return st;
}

/* Enters the sandbox and runs body at once; the wait status. */
static int
run(const struct sandbox_spec *sp, enum mode m, body_fn body)
{
	struct child c;

	start(&c, sp, m, body);
	return finish(&c);
}

static void
assert_sigsys(int st)
{
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS)
		fail_msg("expected SIGSYS, got status %#x", st);
}

static void
assert_exit0(int st)
{
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("expected exit 0, got %s %d",
		    WIFEXITED(st) ? "exit" : "signal",
		    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

static void
trim(char *s)
{
	size_t n;

	memmove(s, s + strspn(s, " \t"), strlen(s + strspn(s, " \t")) + 1);
	n = strlen(s);
	while (
	    n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

/* The value of "key:" in /proc/PID/status, or of "key" in .../limits. */
static void
proc_field(pid_t pid, const char *file, const char *key, char *out, size_t n)
{
	char path[64], line[256];
	size_t k = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	f = fopen(path, "r");
	assert_non_null(f);
	out[0] = '\0';
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, k) == 0 &&
		    (line[k] == ':' || line[k] == ' ')) {
			snprintf(out, n, "%s", line + k + 1);
			trim(out);
		}
	fclose(f);
	if (out[0] == '\0')
		fail_msg("no %s in %s", key, path);
}

static void
assert_status(pid_t pid, const char *key, const char *want)
{
	char v[128];

	proc_field(pid, "status", key, v, sizeof(v));
	if (strcmp(v, want) != 0)
		fail_msg("%s: got \"%s\", want \"%s\"", key, v, want);
}

/* Soft limit as /proc/PID/limits prints it (first column). */
static void
assert_limit(pid_t pid, const char *key, const char *want)
{
	char v[128];

	proc_field(pid, "limits", key, v, sizeof(v));
	v[strcspn(v, " ")] = '\0';
	if (strcmp(v, want) != 0)
		fail_msg("limit %s: got \"%s\", want \"%s\"", key, v, want);
}

static void
assert_root_link(pid_t pid, const char *want)
{
	char path[64], link[256];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	n = readlink(path, link, sizeof(link) - 1);
	assert_true(n > 0);
	link[n] = '\0';
	assert_string_equal(link, want);
}

static void
assert_ids(pid_t pid, unsigned uid, unsigned gid)
{
	char want[64];

	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", uid, uid, uid, uid);
	assert_status(pid, "Uid", want);
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", gid, gid, gid, gid);
	assert_status(pid, "Gid", want);
}

/*
 * What any sandboxed worker shows from outside. Rootless, the bounding
 * set stays (changing it needs CAP_SETPCAP); with no_new_privs and no
 * execve it can grant nothing.
 */
static void
assert_confined(pid_t pid, enum mode m, enum sandbox_phase ph, const char *root)
{
	char path[64];
	struct stat st;

	assert_ids(pid, NOBODY, NOBODY);
	if (m == MODE_ROOT)
		assert_status(pid, "Groups", NOBODY_S);
	assert_status(pid, "CapInh", "0000000000000000");
	assert_status(pid, "CapPrm", "0000000000000000");
	assert_status(pid, "CapEff", "0000000000000000");
	assert_status(pid, "CapAmb", "0000000000000000");
	if (m == MODE_ROOT)
		assert_status(pid, "CapBnd", "0000000000000000");
	assert_status(pid, "NoNewPrivs", "1");
	assert_status(pid, "Seccomp", "2");
	assert_root_link(pid, root);
	/* not dumpable: /proc/PID belongs to root, yet root reads it all */
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_limit(pid, "Max processes", "0");
	assert_limit(pid, "Max open files", "64");
	assert_limit(pid, "Max core file size", "0");
	assert_limit(pid, "Max file size", "unlimited");
#ifndef KF_SANITIZE
	assert_limit(pid, "Max address space",
	    ph == SANDBOX_PRELOGIN ? "268435456" : "1073741824");
#endif
}

/* ---- bodies: run inside the sandbox; 0 means as expected ---- */

static int
body_nothing(int fd)
{
	return 0;
}

static int
body_execve(int fd)
{
	char *const argv[] = { "true", NULL };

	execve("/bin/true", argv, argv + 1);
	return 3;
}

static int
body_unix_socket(int fd)
{
	(void)!socket(AF_UNIX, SOCK_STREAM, 0);
	return 3; /* reached only if the filter let it through */
}

static int
body_udp_socket(int fd)
{
	(void)!socket(AF_INET, SOCK_DGRAM, 0);
	return 3;
}

/* Sanitizer builds refuse open with EACCES instead (the runtimes try). */
static int
body_open_file(int fd)
{
	if (open("/etc/passwd", O_RDONLY | O_CLOEXEC) < 0 && errno == EACCES)
		return 0;
	return 3;
}

static void
assert_open_refused(int st)
{
#ifdef KF_SANITIZE
	assert_exit0(st);
#else
	assert_sigsys(st);
#endif
}

/* two semaphore sets: the monitors' filter allows semop on the first */
static int sems[2] = { -1, -1 };

/*
 * A hostile worker taking the login cap's tokens (src/auth/auth.c):
 * no System V call passes a worker's filter, whatever the set.
 */
static int
body_semop(int fd)
{
	struct sembuf take = { .sem_num = 0,
		.sem_op = -1,
		.sem_flg = IPC_NOWAIT };

	(void)semop(sems[0], &take, 1);
	return 3;
}

static int
body_fork(int fd)
{
	pid_t p = fork();

	if (p == 0)
		_exit(0);
	return 3;
}

static int
body_exec_memory(int fd)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? 4 : 3;
}

static int
body_make_executable(int fd)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return 4;
	(void)mprotect(p, 4096, PROT_READ | PROT_EXEC);
	return 3;
}

static int
body_signal_parent(int fd)
{
	(void)kill(parent, 0);
	return 3;
}

static int
body_signal_self(int fd)
{
	signal(SIGUSR1, SIG_IGN);
	return kill(getpid(), SIGUSR1) == 0 ? 0 : 3;
}

/* As the post-login worker opens paths: fs_open, openat only. */
static int
open_in_root(int rootfd, const char *path, int flags, mode_t mode)
{
	return fs_open(rootfd, path, flags, mode);
}

/* Each path must open to the root's own etc/passwd ("inside"). */
static int
reads_inside(int rootfd, const char *path)
{
	char buf[16];
	int fd = open_in_root(rootfd, path, O_RDONLY, 0), ok;

	if (fd < 0)
		return 0;
	ok = read(fd, buf, sizeof(buf)) == 6 && memcmp(buf, "inside", 6) == 0;
	close(fd);
	return ok;
}

static int
body_stays_inside(int rootfd)
{
	if (!reads_inside(rootfd, "/etc/passwd"))
		return 10;
	if (!reads_inside(rootfd, "../../../../etc/passwd"))
		return 11;
	if (!reads_inside(rootfd, "link")) /* planted -> /etc/passwd */
		return 12;
	if (!reads_inside(rootfd, "pub/../dotdot")) /* ../../../../etc */
		return 13;
	return 0;
}

/* Read-only: the kernel refuses every write, even where modes allow. */
static int
body_readonly(int rootfd)
{
	int fd;

	if (body_stays_inside(rootfd) != 0)
		return 10;
	if (open_in_root(rootfd, "/pub/new", O_WRONLY | O_CREAT, 0644) >= 0 ||
	    errno != EACCES)
		return 20;
	if (open_in_root(rootfd, "/pub/existing", O_WRONLY, 0) >= 0 ||
	    errno != EACCES)
		return 21;
	if (mkdirat(rootfd, "pub/newdir", 0755) == 0 || errno != EACCES)
		return 22;
	if (unlinkat(rootfd, "pub/existing", 0) == 0 || errno != EACCES)
		return 23;
	if ((fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0)) < 0)
		return 24; /* data connections still possible */
	close(fd);
	return 0;
}

/* Writable: writes under the root, nowhere else. */
static int
body_writable(int rootfd)
{
	int fd = open_in_root(rootfd, "/pub/made-here", O_WRONLY | O_CREAT,
	    0644);

	if (fd < 0)
		return 30;
	if (write(fd, "x", 1) != 1 || ftruncate(fd, 0) < 0)
		return 31;
	close(fd);
	if (mkdirat(rootfd, "pub/d", 0755) < 0)
		return 32;
	if (renameat(rootfd, "pub/made-here", rootfd, "pub/d/moved") < 0)
		return 33; /* REFER: across directories */
	if (body_stays_inside(rootfd) != 0)
		return 34;
	return 0;
}

/*
 * No set-id or sticky bit through any call that takes a mode: each is
 * refused with EPERM (not a kill: the session answers 550), and the
 * same calls with an ordinary mode still work. Returns 0, or where
 * it went wrong.
 */
static const mode_t special_modes[] = { 04755, 02755, 01777, 06777 };

static int
refused(int r)
{
	return r < 0 && errno == EPERM;
}

static int
special_modes_refused(int dirfd, int fd, mode_t m)
{
	struct stat sb;

	if (!refused(openat(dirfd, "suid", O_WRONLY | O_CREAT | O_CLOEXEC, m)))
		return 1;
	if (!refused(openat(dirfd, "suid",
		O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, m)))
		return 2;
	if (!refused(openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, m)))
		return 3;
	if (!refused(mkdirat(dirfd, "sdir", m)))
		return 4;
	if (!refused(fchmod(fd, m)))
		return 5;
	if (!refused(fchmodat(dirfd, "plain", m, 0)))
		return 6;
	if (fstatat(dirfd, "suid", &sb, AT_SYMLINK_NOFOLLOW) == 0 ||
	    fstatat(dirfd, "sdir", &sb, AT_SYMLINK_NOFOLLOW) == 0)
		return 7;
	return 0;
}

static int
body_special_modes(int rootfd)
{
	int dirfd, fd, r;
	size_t i;
	struct stat sb;

	if ((dirfd = open_in_root(rootfd, "/pub", O_PATH | O_DIRECTORY, 0)) < 0)
		return 50;
	fd = openat(dirfd, "plain", O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return 51;
	for (i = 0; i < sizeof(special_modes) / sizeof(special_modes[0]); i++)
		if ((r = special_modes_refused(dirfd, fd, special_modes[i])) !=
		    0)
			return 60 + 10 * (int)i + r;
	/* the mode of a plain open is not looked at: it creates nothing */
	close(fd);
	if ((fd = openat(dirfd, "plain", O_RDONLY | O_CLOEXEC, 04755)) < 0)
		return 52;
	if (fchmod(fd, 0604) < 0 || fchmodat(dirfd, "plain", 0644, 0) < 0 ||
	    mkdirat(dirfd, "dir", 0750) < 0)
		return 53;
	if (fstat(fd, &sb) < 0 || (sb.st_mode & 07777) != 0644)
		return 54;
	close(fd);
	if ((fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600)) <
	    0)
		return 55;
	close(fd);
	if (unlinkat(dirfd, "plain", 0) < 0 ||
	    unlinkat(dirfd, "dir", AT_REMOVEDIR) < 0)
		return 56;
	return 0;
}

/*
 * A patched worker calls openat2 itself, a set-uid mode in its struct
 * open_how where the filter cannot look: the whole call is refused with
 * ENOSYS, whatever its mode, and creates nothing. The pre-login filter
 * kills it, as any call it does not list.
 */
static int
body_openat2_refused(int rootfd)
{
	static const mode_t modes[] = { 04755, 0644 };
	struct open_how how = { 0 };
	size_t i;
	long r;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		how.flags = O_WRONLY | O_CREAT | O_CLOEXEC;
		how.mode = modes[i];
		how.resolve = RESOLVE_IN_ROOT;
		errno = 0;
		r = syscall(SYS_openat2, rootfd, "pub/openat2-suid", &how,
		    sizeof(how));
		if (r >= 0 || errno != ENOSYS)
			return 10 + (int)i;
	}
	return 0;
}

static int
body_openat2(int rootfd)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC };

	(void)syscall(SYS_openat2, rootfd, ".", &how, sizeof(how));
	return 3;
}

/* Rootless: no chroot, Landlock alone keeps the rest of the disk out. */
static int
body_rootless_outside(int rootfd)
{
	int r = body_writable(rootfd);

	if (r != 0)
		return r;
	if (openat(AT_FDCWD, "/etc/passwd", O_RDONLY | O_CLOEXEC) >= 0 ||
	    errno != EACCES)
		return 40;
	if (openat(AT_FDCWD, "/tmp/kf-sb-escape",
		O_WRONLY | O_CREAT | O_CLOEXEC, 0644) >= 0 ||
	    errno != EACCES)
		return 41;
	if (openat(AT_FDCWD, "/proc/self/status", O_RDONLY | O_CLOEXEC) >= 0)
		return 42;
	return 0;
}

/* ---- fixtures ---- */

static void
sub(char *out, size_t n, const char *dirp, const char *name)
{
	int r = snprintf(out, n, "%s/%s", dirp, name);

	assert_true(r > 0 && (size_t)r < n);
}

static void
write_file(const char *dirp, const char *name, const char *text)
{
	char p[128];
	int fd;

	sub(p, sizeof(p), dirp, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* A session root nobody can traverse, with traps planted inside. */
static void
make_tree(void)
{
	char p[128];

	snprintf(tree, sizeof(tree), "/tmp/kf-sb-XXXXXX");
	assert_non_null(mkdtemp(tree));
	assert_int_equal(chmod(tree, 0755), 0);
	sub(p, sizeof(p), tree, "etc");
	assert_int_equal(mkdir(p, 0755), 0);
	write_file(p, "passwd", "inside");
	sub(p, sizeof(p), tree, "link");
	assert_int_equal(symlink("/etc/passwd", p), 0);
	sub(p, sizeof(p), tree, "dotdot");
	assert_int_equal(symlink("../../../../etc/passwd", p), 0);
	sub(p, sizeof(p), tree, "pub");
	assert_int_equal(mkdir(p, 0755), 0);
	write_file(p, "existing", "data");
	sub(p, sizeof(p), tree, "pub/existing");
	assert_int_equal(chown(p, NOBODY, NOBODY), 0);
	sub(p, sizeof(p), tree, "pub");
	assert_int_equal(chown(p, NOBODY, NOBODY), 0);
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

static void
rm_tree(const char *p)
{
	if (p[0] != '\0')
		(void)nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int
setup(void **state)
{
	if (!is_root())
		return 0;
	/* the semaphore sets below die with this namespace, even if killed */
	if (unshare(CLONE_NEWIPC) < 0)
		return -1;
	parent = getpid();
	make_tree();
	snprintf(scratch, sizeof(scratch), "/tmp/kf-sb-XXXXXX");
	if (mkdtemp(scratch) == NULL || chmod(scratch, 0755) < 0)
		return -1;
	snprintf(empty, sizeof(empty), "%s/empty", scratch);
	return 0;
}

static int
teardown(void **state)
{
	int i;

	for (i = 0; i < 2; i++)
		if (sems[i] >= 0)
			(void)semctl(sems[i], 0, IPC_RMID);
	rm_tree(tree);
	rm_tree(scratch);
	unlink("/tmp/kf-sb-escape");
	return 0;
}

/* ---- pre-login ---- */

static void
test_prelogin_root(void **state)
{
	struct sandbox_spec sp = { .phase = SANDBOX_PRELOGIN,
		.root = empty,
		.uid = NOBODY,
		.gid = NOBODY };
	struct child c;

	if (!is_root())
		skip();
	assert_int_equal(sandbox_prepare_empty_dir(empty), 0);
	start(&c, &sp, MODE_ROOT, body_nothing);
	assert_confined(c.pid, MODE_ROOT, sp.phase, empty);
	assert_exit0(finish(&c));
	assert_open_refused(run(&sp, MODE_ROOT, body_open_file));
	assert_sigsys(run(&sp, MODE_ROOT, body_openat2));
	assert_sigsys(run(&sp, MODE_ROOT, body_unix_socket));
	assert_sigsys(run(&sp, MODE_ROOT, body_udp_socket));
	assert_sigsys(run(&sp, MODE_ROOT, body_execve));
	assert_sigsys(run(&sp, MODE_ROOT, body_fork));
	assert_sigsys(run(&sp, MODE_ROOT, body_semop));
	assert_sigsys(run(&sp, MODE_ROOT, body_exec_memory));
	assert_sigsys(run(&sp, MODE_ROOT, body_make_executable));
	assert_sigsys(run(&sp, MODE_ROOT, body_signal_parent));
	assert_exit0(run(&sp, MODE_ROOT, body_signal_self));
}

static void
test_prelogin_rootless(void **state)
{
	struct sandbox_spec sp = { .phase = SANDBOX_PRELOGIN, .root = "/" };
	struct child c;

	if (!is_root())
		skip();
	start(&c, &sp, MODE_ROOTLESS, body_nothing);
	assert_confined(c.pid, MODE_ROOTLESS, sp.phase, "/");
	assert_exit0(finish(&c));
	assert_open_refused(run(&sp, MODE_ROOTLESS, body_open_file));
	assert_sigsys(run(&sp, MODE_ROOTLESS, body_unix_socket));
	assert_sigsys(run(&sp, MODE_ROOTLESS, body_execve));
	assert_sigsys(run(&sp, MODE_ROOTLESS, body_fork));
	assert_sigsys(run(&sp, MODE_ROOTLESS, body_signal_parent));

	/* a saved uid 0 (and the permitted set it keeps) is given up too */
	start(&c, &sp, MODE_SAVED_ROOT, body_nothing);
	assert_confined(c.pid, MODE_SAVED_ROOT, sp.phase, "/");
	assert_exit0(finish(&c));
}

/*
 * The same confinement with the programs compiled once beforehand, as
 * the spawners do (seccomp_prepare) and the listener for the monitors
 * (seccomp_prepare_monitor): each worker loads a copy with its own pid
 * patched into the self-signal rule. From here on every test in this
 * file uses the prepared programs.
 */
static void
test_prepared_programs(void **state)
{
	if (!is_root())
		skip();
	assert_int_equal(seccomp_prepare(), 0);
	sems[0] = semget(IPC_PRIVATE, 1, 0600);
	sems[1] = semget(IPC_PRIVATE, 1, 0600);
	assert_true(sems[0] >= 0 && sems[1] >= 0);
	assert_int_equal(seccomp_prepare_monitor(sems[0]), 0);
	test_prelogin_root(state);
	test_prelogin_rootless(state);
}

/* ---- the monitor after login ---- */

enum mon_try {
	MON_TRY_OK,
	MON_TRY_LISTEN,
	MON_TRY_ACCEPT,
	MON_TRY_SENDFILE,
	MON_TRY_SPLICE,
	MON_TRY_EXECVE,
	MON_TRY_SEMOP, /* the verification cap's set */
	MON_TRY_SEMOP_OTHER /* any other set */
};

/* A child under the monitor's filter tries one call; its wait status. */
static int
monitor_try(enum mon_try t)
{
	char *const argv[] = { "/bin/true", NULL };
	struct sembuf give = { .sem_num = 0, .sem_op = 1, .sem_flg = SEM_UNDO };
	int st, fd, p[2];
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (seccomp_apply_monitor() < 0)
			_exit(90);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		switch (t) {
		case MON_TRY_OK: /* what a monitor does: pipes, fds, ids */
			if (fd < 0 || pipe(p) < 0 || geteuid() == (uid_t)-2)
				_exit(91);
			close(p[0]);
			close(p[1]);
			break;
		case MON_TRY_LISTEN:
			(void)listen(fd, 1);
			break;
		case MON_TRY_ACCEPT:
			(void)accept(fd, NULL, NULL);
			break;
		case MON_TRY_SENDFILE:
			(void)syscall(SYS_sendfile, fd, 0, NULL, 1);
			break;
		case MON_TRY_SPLICE:
			(void)syscall(SYS_splice, 0, NULL, fd, NULL, 1, 0);
			break;
		case MON_TRY_EXECVE:
			execve(argv[0], argv, NULL);
			break;
		case MON_TRY_SEMOP:
		case MON_TRY_SEMOP_OTHER:
			if (semop(sems[t == MON_TRY_SEMOP_OTHER], &give, 1) < 0)
				_exit(92);
			break;
		}
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

/*
 * The monitor's own list: what a monitor and its verifier do passes,
 * semop on the verification cap's set too; the workers' data path
 * (listen, accept, sendfile, splice), execve and semop on another set
 * kill it.
 */
static void
test_monitor_filter_own_list(void **state)
{
	if (!is_root())
		skip();
	assert_exit0(monitor_try(MON_TRY_OK));
	assert_sigsys(monitor_try(MON_TRY_LISTEN));
	assert_sigsys(monitor_try(MON_TRY_ACCEPT));
	assert_sigsys(monitor_try(MON_TRY_SENDFILE));
	assert_sigsys(monitor_try(MON_TRY_SPLICE));
	assert_sigsys(monitor_try(MON_TRY_EXECVE));
	assert_exit0(monitor_try(MON_TRY_SEMOP));
	assert_sigsys(monitor_try(MON_TRY_SEMOP_OTHER));
}

/* ---- post-login ---- */

static void
test_postlogin_root_readonly(void **state)
{
	struct sandbox_spec sp = { .phase = SANDBOX_POSTLOGIN,
		.root = tree,
		.uid = NOBODY,
		.gid = NOBODY,
		.writable = 0 };
	struct child c;

	if (!is_root())
		skip();
	start(&c, &sp, MODE_ROOT, body_readonly);
	assert_confined(c.pid, MODE_ROOT, sp.phase, tree);
	assert_exit0(finish(&c));
	assert_sigsys(run(&sp, MODE_ROOT, body_fork));
	assert_sigsys(run(&sp, MODE_ROOT, body_semop));
	assert_sigsys(run(&sp, MODE_ROOT, body_execve));
	assert_sigsys(run(&sp, MODE_ROOT, body_udp_socket));
	assert_sigsys(run(&sp, MODE_ROOT, body_unix_socket));
	assert_sigsys(run(&sp, MODE_ROOT, body_exec_memory));
	assert_sigsys(run(&sp, MODE_ROOT, body_signal_parent));
}

static void
test_postlogin_root_writable(void **state)
{
	struct sandbox_spec sp = { .phase = SANDBOX_POSTLOGIN,
		.root = tree,
		.uid = NOBODY,
		.gid = NOBODY,
		.writable = 1 };
	char p[128];

	if (!is_root())
		skip();
	assert_exit0(run(&sp, MODE_ROOT, body_writable));
	sub(p, sizeof(p), tree, "pub/d/moved");
	assert_int_equal(access(p, F_OK), 0);
	rm_tree(p);
	sub(p, sizeof(p), tree, "pub/d");
	assert_int_equal(rmdir(p), 0);
}

static void
test_postlogin_rootless_readonly(void **state)
{
	struct sandbox_spec sp = { .phase = SANDBOX_POSTLOGIN,
		.root = tree,
		.writable = 0 };
	struct child c;

	if (!is_root())
		skip();
	start(&c, &sp, MODE_ROOTLESS, body_readonly);
	assert_confined(c.pid, MODE_ROOTLESS, sp.phase, "/");
	assert_exit0(finish(&c));
	assert_sigsys(run(&sp, MODE_ROOTLESS, body_fork));
	assert_sigsys(run(&sp, MODE_ROOTLESS, body_execve));
}

static void
test_postlogin_rootless_writable(void **state)
{
	struct sandbox_spec sp = { .phase = SANDBOX_POSTLOGIN,
		.root = tree,
		.writable = 1 };
	char p[128];

	if (!is_root())
		skip();
	assert_exit0(run(&sp, MODE_ROOTLESS, body_rootless_outside));
	sub(p, sizeof(p), tree, "pub/d/moved");
	assert_int_equal(access(p, F_OK), 0);
	assert_int_not_equal(access("/tmp/kf-sb-escape", F_OK), 0);
	rm_tree(p);
	sub(p, sizeof(p), tree, "pub/d");
	assert_int_equal(rmdir(p), 0);
}

/* ---- modes ---- */

static void
test_postlogin_special_modes(void **state)
{
	struct sandbox_spec sp = { .phase = SANDBOX_POSTLOGIN,
		.root = tree,
		.uid = NOBODY,
		.gid = NOBODY,
		.writable = 1 };
	struct sandbox_spec rl = { .phase = SANDBOX_POSTLOGIN,
		.root = tree,
		.writable = 1 };

	if (!is_root())
		skip();
	assert_exit0(run(&sp, MODE_ROOT, body_special_modes));
	assert_exit0(run(&rl, MODE_ROOTLESS, body_special_modes));
}

/* The "patched worker" case: openat2 with mode 04755 makes no file. */
static void
test_postlogin_openat2_refused(void **state)
{
	struct sandbox_spec sp = { .phase = SANDBOX_POSTLOGIN,
		.root = tree,
		.uid = NOBODY,
		.gid = NOBODY,
		.writable = 1 };
	struct sandbox_spec rl = { .phase = SANDBOX_POSTLOGIN,
		.root = tree,
		.writable = 1 };
	char p[128];
	struct stat sb;

	if (!is_root())
		skip();
	sub(p, sizeof(p), tree, "pub/openat2-suid");
	assert_exit0(run(&sp, MODE_ROOT, body_openat2_refused));
	assert_int_not_equal(lstat(p, &sb), 0);
	assert_exit0(run(&rl, MODE_ROOTLESS, body_openat2_refused));
	assert_int_not_equal(lstat(p, &sb), 0);
}

/* ---- the monitor after login ---- */

static int
body_fork_works(int fd)
{
	pid_t p = fork();
	int st;

	if (p == 0)
		_exit(7);
	if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 7)
		return 3;
	return 0;
}

static int
body_clone3_enosys(int fd)
{
	struct clone_args ca = { .exit_signal = SIGCHLD };
	long r = syscall(SYS_clone3, &ca, sizeof(ca));

	if (r == 0)
		_exit(0);
	return r < 0 && errno == ENOSYS ? 0 : 3;
}

static int
body_unshare(int fd)
{
	(void)unshare(CLONE_NEWUSER);
	return 3;
}

static int
body_ptrace(int fd)
{
	(void)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	return 3;
}

/* Signal 0: even if the filter let it through, nothing is sent. */
static int
body_kill_all(int fd)
{
	(void)kill(-1, 0);
	return 3;
}

/* As the monitor does: shrink, then (the parent reads /proc) the body. */
static int
run_monitor(body_fn body, int check_status)
{
	struct conf c;
	int up[2], down[2], st;
	pid_t pid;
	char b;

	conf_defaults(&c);
	assert_int_equal(pipe2(up, O_CLOEXEC), 0);
	assert_int_equal(pipe2(down, O_CLOEXEC), 0);
	if ((pid = fork()) == 0) {
		sandbox_monitor_shrink(&c, 0);
		if (write(up[1], "r", 1) != 1 || read(down[0], &b, 1) != 1)
			_exit(91);
		_exit(body(-1));
	}
	assert_true(pid > 0);
	close(up[1]);
	close(down[0]);
	assert_int_equal(read(up[0], &b, 1), 1);
	if (check_status) {
		/* DAC_READ_SEARCH KILL: the spawners make the workers */
		assert_status(pid, "CapEff", "0000000000000024");
		assert_status(pid, "CapPrm", "0000000000000024");
		assert_status(pid, "CapBnd", "0000000000000024");
		assert_status(pid, "CapInh", "0000000000000000");
		assert_status(pid, "CapAmb", "0000000000000000");
		assert_status(pid, "NoNewPrivs", "1");
		assert_status(pid, "Seccomp", "2");
		assert_ids(pid, 0, 0);
	}
	assert_int_equal(write(down[1], "g", 1), 1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	close(up[0]);
	close(down[1]);
	return st;
}

static void
test_monitor_filter(void **state)
{
	if (!is_root())
		skip();
	assert_exit0(run_monitor(body_nothing, 1));
	assert_exit0(run_monitor(body_fork_works, 0));
	assert_exit0(run_monitor(body_clone3_enosys, 0));
	assert_exit0(run_monitor(body_openat2_refused, 0));
	assert_exit0(run_monitor(body_signal_self, 0));
	assert_sigsys(run_monitor(body_execve, 0));
	assert_sigsys(run_monitor(body_unshare, 0));
	assert_sigsys(run_monitor(body_exec_memory, 0));
	assert_sigsys(run_monitor(body_make_executable, 0));
	assert_sigsys(run_monitor(body_ptrace, 0));
	assert_sigsys(run_monitor(body_kill_all, 0));
}

/*
 * anon_upload_owner: an anonymous session's monitor keeps CAP_CHOWN
 * (MON_ANON_OWN's steps work under its filter: fchown to root, fchmod
 * as the owner, fchown to the account), and gives it up at REIN.
 */
static void
test_monitor_anon_owner(void **state)
{
	char path[] = "/tmp/kf-mown.XXXXXX";
	struct conf c;
	struct stat sb;
	int fd, st;
	pid_t pid;

	if (!is_root())
		skip();
	conf_defaults(&c);
	assert_true((fd = mkstemp(path)) >= 0);
	if ((pid = fork()) == 0) {
		sandbox_monitor_shrink(&c, 1);
		if (fchown(fd, 0, 0) != 0 || fchmod(fd, 0640) != 0 ||
		    fchown(fd, 1, 1) != 0)
			_exit(1);
		sandbox_monitor_drop_owner(&c);
		if (fchown(fd, 0, 0) == 0 || errno != EPERM)
			_exit(2);
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_exit0(st);
	assert_int_equal(fstat(fd, &sb), 0);
	assert_int_equal(sb.st_uid, 1);
	assert_int_equal(sb.st_mode & 07777, 0640);
	close(fd);
	unlink(path);
}

/* ---- refusals ---- */

static int
enter_only(const struct sandbox_spec *sp, enum mode m)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		if (m == MODE_ROOTLESS && become_nobody() < 0)
			_exit(90);
		sandbox_enter(sp);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static void
assert_exit1(int st)
{
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
}

static void
test_refusals(void **state)
{
	struct sandbox_spec sp = { .phase = SANDBOX_POSTLOGIN,
		.root = tree,
		.uid = 0,
		.gid = NOBODY };

	if (!is_root())
		skip();
	assert_exit1(enter_only(&sp, MODE_ROOT)); /* uid 0 */
	sp.uid = NOBODY;
	sp.gid = 0;
	assert_exit1(enter_only(&sp, MODE_ROOT)); /* gid 0 */
	sp.gid = NOBODY;
	sp.root = "relative";
	assert_exit1(enter_only(&sp, MODE_ROOT));
	sp.root = "/nonexistent/kf-sb";
	assert_exit1(enter_only(&sp, MODE_ROOT));
	assert_exit1(enter_only(&sp, MODE_ROOTLESS));
}

/* ---- the empty pre-login root ---- */

static void
assert_mode_owner(const char *p, mode_t mode)
{
	struct stat st;

	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, mode);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_gid, 0);
}

static void
test_empty_dir_made(void **state)
{
	char deep[160], p[160];
	mode_t old;

	if (!is_root())
		skip();
	snprintf(deep, sizeof(deep), "%s/a/b/empty", scratch);
	old = umask(077); /* modes must not depend on the umask */
	assert_int_equal(sandbox_prepare_empty_dir(deep), 0);
	umask(old);
	assert_mode_owner(deep, 0555);
	sub(p, sizeof(p), scratch, "a");
	assert_mode_owner(p, 0755);
	sub(p, sizeof(p), scratch, "a/b");
	assert_mode_owner(p, 0755);
	assert_int_equal(sandbox_prepare_empty_dir(deep), 0); /* again */
	sub(p, sizeof(p), scratch, "a");
	rm_tree(p);
}

static void
test_empty_dir_refused(void **state)
{
	char p[160], q[160];

	if (!is_root())
		skip();
	assert_int_equal(sandbox_prepare_empty_dir("relative/dir"), -1);
	assert_int_equal(sandbox_prepare_empty_dir("/"), -1);
	assert_int_equal(sandbox_prepare_empty_dir("/tmp/../etc"), -1);
	assert_int_equal(sandbox_prepare_empty_dir("/tmp//x"), -1);
	assert_int_equal(sandbox_prepare_empty_dir("/tmp/x/"), -1);

	sub(p, sizeof(p), scratch, "full"); /* not empty */
	assert_int_equal(mkdir(p, 0555), 0);
	write_file(p, "f", "x");
	assert_int_equal(sandbox_prepare_empty_dir(p), -1);

	sub(p, sizeof(p), scratch, "gw"); /* group-writable */
	assert_int_equal(mkdir(p, 0575), 0);
	assert_int_equal(chmod(p, 0575), 0);
	assert_int_equal(sandbox_prepare_empty_dir(p), -1);

	sub(p, sizeof(p), scratch, "sym"); /* symlink, last or above */
	assert_int_equal(symlink("/var", p), 0);
	assert_int_equal(sandbox_prepare_empty_dir(p), -1);
	sub(p, sizeof(p), scratch, "sym/empty");
	assert_int_equal(sandbox_prepare_empty_dir(p), -1);

	sub(p, sizeof(p), scratch, "theirs"); /* a user's parent */
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(chown(p, NOBODY, NOBODY), 0);
	sub(q, sizeof(q), p, "empty");
	assert_int_equal(sandbox_prepare_empty_dir(q), -1);
	assert_int_not_equal(access(q, F_OK), 0);
}

static void
test_empty_dir_rootless(void **state)
{
	pid_t pid;
	int st;

	if (!is_root())
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(become_nobody() == 0 &&
			    sandbox_prepare_empty_dir("/nonexistent/kf") == 0 &&
			    access("/nonexistent/kf", F_OK) < 0 ?
			0 :
			1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_exit0(st);
}

#ifdef KF_SANITIZE
/* ---- sanitizer builds: a report is written, not a SIGSYS ---- */

static volatile int sink;

static int
body_asan_report(int fd)
{
	char *volatile p = malloc(8);

	sink = p[8]; /* heap-buffer-overflow, read */
	free(p);
	return 0;
}

static int
body_ubsan_report(int fd)
{
	volatile int big = 0x7fffffff, shift = 40;

	sink = big + 1; /* signed overflow */
	sink = 1 << shift; /* shift too far */
	return 0;
}

/* A normal exit() runs the runtimes' at-exit hooks (leak check). */
static int
body_exit(int fd)
{
	exit(0);
}

static void
collect(struct child *c, int *st, char *out, size_t n)
{
	size_t len = 0;
	ssize_t r;

	assert_int_equal(write(c->go, "g", 1), 1);
	while (len + 1 < n && (r = read(c->err, out + len, n - 1 - len)) > 0)
		len += (size_t)r;
	out[len] = '\0';
	assert_int_equal(waitpid(c->pid, st, 0), c->pid);
	close(c->ready);
	close(c->go);
	close(c->err);
}

static void
assert_report(const struct sandbox_spec *sp, enum mode m, body_fn body,
    const char *needle, int exited0)
{
	static char out[65536];
	struct child c;
	int st;

	start_capture(&c, sp, m, body, 1);
	collect(&c, &st, out, sizeof(out));
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)
		fail_msg("sanitizer runtime hit seccomp:\n%s", out);
	if (exited0)
		assert_exit0(st);
	else
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 0);
	if (needle != NULL && strstr(out, needle) == NULL)
		fail_msg("no \"%s\" in the report:\n%s", needle, out);
}

static void
test_sanitizer_reports(void **state)
{
	struct sandbox_spec pre = { .phase = SANDBOX_PRELOGIN,
		.root = empty,
		.uid = NOBODY,
		.gid = NOBODY };
	struct sandbox_spec post = { .phase = SANDBOX_POSTLOGIN,
		.root = tree,
		.uid = NOBODY,
		.gid = NOBODY };
	struct sandbox_spec rl = { .phase = SANDBOX_PRELOGIN, .root = "/" };

	if (!is_root())
		skip();
	assert_int_equal(sandbox_prepare_empty_dir(empty), 0);
	assert_report(&pre, MODE_ROOT, body_asan_report,
	    "AddressSanitizer: heap-buffer-overflow", 0);
	assert_report(&post, MODE_ROOT, body_asan_report,
	    "AddressSanitizer: heap-buffer-overflow", 0);
	assert_report(&rl, MODE_ROOTLESS, body_asan_report,
	    "AddressSanitizer: heap-buffer-overflow", 0);
	assert_report(&pre, MODE_ROOT, body_ubsan_report, "runtime error", 1);
	assert_report(&rl, MODE_ROOTLESS, body_ubsan_report, "runtime error",
	    1);
	assert_report(&pre, MODE_ROOT, body_exit, NULL, 1);
	assert_report(&post, MODE_ROOT, body_exit, NULL, 1);
	assert_report(&rl, MODE_ROOTLESS, body_exit, NULL, 1);
}
#endif

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prelogin_root),
		cmocka_unit_test(test_prelogin_rootless),
		cmocka_unit_test(test_postlogin_root_readonly),
		cmocka_unit_test(test_postlogin_root_writable),
		cmocka_unit_test(test_postlogin_rootless_readonly),
		cmocka_unit_test(test_postlogin_rootless_writable),
		cmocka_unit_test(test_postlogin_openat2_refused),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_empty_dir_made),
		cmocka_unit_test(test_empty_dir_refused),
		cmocka_unit_test(test_empty_dir_rootless),
		cmocka_unit_test(test_monitor_anon_owner),
		cmocka_unit_test(test_monitor_filter),
		cmocka_unit_test(test_prepared_programs),
		cmocka_unit_test(test_monitor_filter_own_list),
		cmocka_unit_test(test_monitor_filter),
		cmocka_unit_test(test_postlogin_root_readonly),
		cmocka_unit_test(test_postlogin_rootless_writable),
		cmocka_unit_test(test_postlogin_special_modes),
		cmocka_unit_test(test_postlogin_openat2_refused),
#ifdef KF_SANITIZE
		cmocka_unit_test(test_sanitizer_reports),
#endif
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
