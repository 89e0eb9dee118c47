/*
 * test_sandbox.c - the sandbox proven from outside (/proc of the
 * confined child) and from inside (what it may no longer do), as root
 * and rootless.
 */
#include "cm.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs/path.h"
#include "sandbox/sandbox.h"

#define NOBODY	65534

struct child {
	pid_t	pid;
	int	ready;	/* child -> parent */
	int	go;	/* parent -> child */
};

typedef int (*body_fn)(int rootfd);

static char dir[64];

static void
start(struct child *c, const struct sandbox_spec *sp, int pre_drop, body_fn body)
{
	int up[2], down[2];
	char b;

	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		int fd;

		close(up[0]);
		close(down[1]);
		if (pre_drop && (setgroups(0, NULL) < 0 ||
		    setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
		    setresuid(NOBODY, NOBODY, NOBODY) < 0))
			_exit(90);
		fd = sandbox_enter(sp);
		(void)!write(up[1], "r", 1);
		if (read(down[0], &b, 1) != 1)
			_exit(91);
		_exit(body(fd));
	}
	close(up[1]);
	close(down[0]);
	c->ready = up[0];
	c->go = down[1];
	assert_int_equal(read(c->ready, &b, 1), 1);
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

static void
status_field(pid_t pid, const char *key, char *out, size_t n)
{
	char path[64], line[256];
	size_t k = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	out[0] = '\0';
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, k) == 0 && line[k] == ':') {
			snprintf(out, n, "%s", line + k + 1);
			out[strcspn(out, "\n")] = '\0';
			memmove(out, out + strspn(out, " \t"), strlen(out) + 1);
		}
	fclose(f);
}

/*
 * root_mode: the sandbox was entered as root, so the bounding set is
 * empty too; rootless it cannot be changed (no CAP_SETPCAP), and with
 * NO_NEW_PRIVS and no execve it grants nothing.
 */
static void
assert_confined(pid_t pid, unsigned uid, const char *root, int root_mode)
{
	char v[128], want[64], path[64], link[256];
	ssize_t n;

	status_field(pid, "Uid", v, sizeof(v));
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", uid, uid, uid, uid);
	assert_string_equal(v, want);
	status_field(pid, "CapEff", v, sizeof(v));
	assert_string_equal(v, "0000000000000000");
	status_field(pid, "CapPrm", v, sizeof(v));
	assert_string_equal(v, "0000000000000000");
	status_field(pid, "CapBnd", v, sizeof(v));
	if (root_mode)
		assert_string_equal(v, "0000000000000000");
	status_field(pid, "NoNewPrivs", v, sizeof(v));
	assert_string_equal(v, "1");
	status_field(pid, "Seccomp", v, sizeof(v));
	assert_string_equal(v, "2");
	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	n = readlink(path, link, sizeof(link) - 1);
	assert_true(n > 0);
	link[n] = '\0';
	assert_string_equal(link, root);
}

/*
 * The forbidden calls. Release builds kill the child with SIGSYS. The
 * sanitizer runtimes need open and clone, so sanitizer builds allow
 * those syscalls and the proof there is that they fail (Landlock,
 * RLIMIT_NPROC): a body returns 0 when the call failed, 1 when it
 * got through.
 */
static void
assert_blocked(int st)
{
#ifdef KF_SANITIZE
	if (WIFEXITED(st)) {
		assert_int_equal(WEXITSTATUS(st), 0);
		return;
	}
#endif
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
}

static int
body_unix_socket(int fd)
{
	return socket(AF_UNIX, SOCK_STREAM, 0) >= 0;
}

static int
body_open_file(int fd)
{
	return open("/etc/passwd", O_RDONLY) >= 0;
}

static int
body_fork(int fd)
{
	pid_t p = fork();

	if (p == 0)
		_exit(0);
	return p >= 0;
}

static int
body_udp_socket(int fd)
{
	return socket(AF_INET, SOCK_DGRAM, 0) >= 0;
}

/* Read-only post-login: the root's file reads, /etc/passwd stays out. */
static int
body_post_readonly(int rootfd)
{
	char buf[16];
	int fd;

	fd = fs_open(rootfd, "/../../etc/passwd", O_RDONLY, 0);
	if (fd < 0 || read(fd, buf, sizeof(buf)) != 6 || memcmp(buf, "inside", 6))
		return 10;
	close(fd);
	if (fs_open(rootfd, "/new", O_WRONLY | O_CREAT, 0644) >= 0 ||
	    errno != EACCES)
		return 11;	/* read-only in the kernel */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 12;	/* data connections still possible */
	close(fd);
	return 0;
}

/* Rootless writable: writes under the root, Landlock keeps /etc out. */
static int
body_post_rootless(int rootfd)
{
	int fd = fs_open(rootfd, "/made-here", O_WRONLY | O_CREAT, 0644);

	if (fd < 0)
		return 20;
	close(fd);
	if (openat(AT_FDCWD, "/etc/passwd", O_RDONLY) >= 0 || errno != EACCES)
		return 21;
	if (openat(AT_FDCWD, "/tmp/kf-escape", O_WRONLY | O_CREAT, 0644) >= 0)
		return 22;
	return 0;
}

static void
make_tree(void)
{
	char p[128];
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/kf-sb-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0777), 0);
	snprintf(p, sizeof(p), "%s/etc", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/etc/passwd", dir);
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "inside", 6), 6);
	close(fd);
}

static int
setup(void **state)
{
	make_tree();
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s' /tmp/kf-sb-empty", dir);
	(void)!system(cmd);
	return 0;
}

static void
test_prelogin_root(void **state)
{
	struct sandbox_spec sp = { .phase = SANDBOX_PRELOGIN,
		.root = "/tmp/kf-sb-empty", .uid = NOBODY, .gid = NOBODY };
	struct child c;
	int st;

	if (geteuid() != 0)
		skip();
	rmdir("/tmp/kf-sb-empty");
	assert_int_equal(sandbox_prepare_empty_dir("/tmp/kf-sb-empty"), 0);
	start(&c, &sp, 0, body_unix_socket);
	assert_confined(c.pid, NOBODY, "/tmp/kf-sb-empty", 1);
	st = finish(&c);
	assert_blocked(st);

	start(&c, &sp, 0, body_open_file);
	st = finish(&c);
	assert_blocked(st);
}

static void
test_prelogin_rootless(void **state)
{
	struct sandbox_spec sp = { .phase = SANDBOX_PRELOGIN, .root = "/" };
	struct child c;
	int st;

	if (geteuid() != 0)
		skip();
	start(&c, &sp, 1, body_open_file);
	assert_confined(c.pid, NOBODY, "/", 0);
	st = finish(&c);
	assert_blocked(st);
}

static void
test_postlogin_root_readonly(void **state)
{
	struct sandbox_spec sp = { .phase = SANDBOX_POSTLOGIN, .root = dir,
		.uid = NOBODY, .gid = NOBODY, .writable = 0 };
	struct child c;
	int st;

	if (geteuid() != 0)
		skip();
	start(&c, &sp, 0, body_post_readonly);
	assert_confined(c.pid, NOBODY, dir, 1);
	st = finish(&c);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);

	start(&c, &sp, 0, body_fork);
	st = finish(&c);
	assert_blocked(st);

	start(&c, &sp, 0, body_udp_socket);
	st = finish(&c);
	assert_blocked(st);
}

static void
test_postlogin_rootless_writable(void **state)
{
	struct sandbox_spec sp = { .phase = SANDBOX_POSTLOGIN, .root = dir,
		.writable = 1 };
	struct child c;
	char p[128];
	int st;

	if (geteuid() != 0)
		skip();
	start(&c, &sp, 1, body_post_rootless);
	assert_confined(c.pid, NOBODY, "/", 0);
	st = finish(&c);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	snprintf(p, sizeof(p), "%s/made-here", dir);
	assert_int_equal(access(p, F_OK), 0);
	assert_int_not_equal(access("/tmp/kf-escape", F_OK), 0);
}

static void
test_refuses_uid0(void **state)
{
	struct sandbox_spec sp = { .phase = SANDBOX_POSTLOGIN, .root = dir,
		.uid = 0, .gid = 0 };
	struct child c;
	int st;

	if (geteuid() != 0)
		skip();
	c.pid = fork();
	if (c.pid == 0) {
		sandbox_enter(&sp);
		_exit(0);
	}
	assert_int_equal(waitpid(c.pid, &st, 0), c.pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prelogin_root),
		cmocka_unit_test(test_prelogin_rootless),
		cmocka_unit_test(test_postlogin_root_readonly),
		cmocka_unit_test(test_postlogin_rootless_writable),
		cmocka_unit_test(test_refuses_uid0),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
