/*
 * test_walk.c - fs_open's walk over a scratch tree: symlinks inside the
 * root, ".." and absolute targets that must stay at the root, loops,
 * the last name with and without O_NOFOLLOW, creation through a
 * dangling symlink, the errors, no fd left open on any path, and the
 * same answer as openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), and
 * a shared folder entered at its mount point (rootless).
 * Runs in: the unit test runner.
 */
#include "cm.h"
#include "tree.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/limits.h"
#include "fs/path.h"

static char base[] = "/tmp/kf-walk-XXXXXX"; /* holds root/ and outside */
static char root[64];
static int rootfd = -1;

static int
fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

static void
at(char *out, size_t n, const char *dirp, const char *rel)
{
	int r = snprintf(out, n, "%s/%s", dirp, rel);

	assert_true(r > 0 && (size_t)r < n);
}

static void
mk_dir(const char *rel)
{
	char p[KF_PATH_MAX];

	at(p, sizeof(p), root, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static void
mk_file(const char *dirp, const char *rel, const char *text)
{
	char p[KF_PATH_MAX];
	int fd;

	at(p, sizeof(p), dirp, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void
mk_link(const char *rel, const char *target)
{
	char p[KF_PATH_MAX];

	at(p, sizeof(p), root, rel);
	assert_int_equal(symlink(target, p), 0);
}

/*
 * root/etc/passwd "inside", root/a/b/c/deep "deep", and outside the
 * root base/etc/passwd "outside": what an escape would read.
 */
static int
setup(void **state)
{
	char p[KF_PATH_MAX], *t;
	size_t i;

	if (mkdtemp(base) == NULL)
		return -1;
	at(root, sizeof(root), base, "root");
	assert_int_equal(mkdir(root, 0755), 0);
	at(p, sizeof(p), base, "etc");
	assert_int_equal(mkdir(p, 0755), 0);
	mk_file(base, "etc/passwd", "outside");
	mk_dir("etc");
	mk_file(root, "etc/passwd", "inside");
	mk_dir("a");
	mk_dir("a/b");
	mk_dir("a/b/c");
	mk_file(root, "a/b/c/deep", "deep");
	mk_file(root, "a/x", "ax");
	mk_link("rel", "a/b"); /* relative, inside */
	mk_link("abs", "/etc/passwd"); /* absolute: the root's */
	mk_link("a/b/toetc", "/etc"); /* absolute, deeper down */
	mk_link("a/up", "../../../../etc/passwd"); /* ".." past the root */
	mk_link("a/b/c/esc", "../../../../../../../etc");
	mk_link("a/b/sib", "../x"); /* ".." within: a/x */
	mk_link("a/b/dotdot", ".."); /* from a/b: a */
	mk_link("a/b/c/rootdots", "../../../..");
	mk_link("loop1", "loop2");
	mk_link("loop2", "loop1");
	mk_link("self", "self/x");
	mk_link("lfile", "etc/passwd"); /* last name, a file */
	mk_link("ldir", "a/b/c"); /* last name, a directory */
	mk_link("tdir", "a/"); /* trailing slash, a directory */
	mk_link("tfile", "etc/passwd/"); /* trailing slash, a file */
	mk_link("dang", "/../../made"); /* dangling, climbs */
	mk_link("dang2", "nowhere/made"); /* dangling, no parent */
	mk_link("chain1", "chain2/c");
	mk_link("chain2", "/rel/./");
	mk_link("empty-ish", "./");
	/* a target that fills almost all of KF_PATH_MAX: "./" ... "etc" */
	t = malloc(KF_PATH_MAX);
	assert_non_null(t);
	for (i = 0; i + 2 < KF_PATH_MAX - 100; i += 2)
		memcpy(t + i, "./", 2);
	memcpy(t + i, "etc", 4);
	mk_link("long", t);
	free(t);
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return rootfd < 0 ? -1 : 0;
}

static int
teardown(void **state)
{
	if (rootfd >= 0)
		close(rootfd);
	return tree_remove(base);
}

/* Opens path; its first bytes must be want. No fd is left behind. */
static void
reads(const char *path, int flags, const char *want)
{
	char buf[64];
	int n0 = fd_count(), fd;
	ssize_t n;

	fd = fs_open(rootfd, path, flags, 0);
	if (fd < 0)
		fail_msg("%s: %s", path, strerror(errno));
	n = read(fd, buf, sizeof(buf));
	assert_int_equal(n, (ssize_t)strlen(want));
	assert_memory_equal(buf, want, strlen(want));
	close(fd);
	assert_int_equal(fd_count(), n0);
}

/* Must fail with want, leaving no fd open. */
static void
fails(const char *path, int flags, int want)
{
	int n0 = fd_count(), fd;

	errno = 0;
	fd = fs_open(rootfd, path, flags, 0644);
	if (fd >= 0)
		fail_msg("%s: opened, want %s", path, strerror(want));
	if (errno != want)
		fail_msg("%s: %s, want %s", path, strerror(errno),
		    strerror(want));
	assert_int_equal(fd_count(), n0);
}

/* Opens path; it must be the object rel names under the root. */
static void
is(const char *path, int flags, const char *rel)
{
	struct stat a, b;
	int n0 = fd_count(), fd;

	fd = fs_open(rootfd, path, flags, 0);
	if (fd < 0)
		fail_msg("%s: %s", path, strerror(errno));
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(fstatat(rootfd, rel, &b,
			     AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH),
	    0);
	if (a.st_ino != b.st_ino || a.st_dev != b.st_dev)
		fail_msg("%s: not %s", path, rel);
	close(fd);
	assert_int_equal(fd_count(), n0);
}

static void
test_inside(void **state)
{
	reads("/etc/passwd", O_RDONLY, "inside");
	reads("/a/b/c/deep", O_RDONLY, "deep");
	reads("a/b/c/deep", O_RDONLY, "deep"); /* relative: from the root */
	reads("/rel/c/deep", O_RDONLY, "deep");
	reads("/abs", O_RDONLY, "inside");
	reads("/a/b/toetc/passwd", O_RDONLY, "inside");
	reads("/a/b/sib", O_RDONLY, "ax");
	reads("/a/b/dotdot/x", O_RDONLY, "ax");
	reads("/chain1/deep", O_RDONLY, "deep");
	reads("/ldir/deep", O_RDONLY, "deep");
	is("/", O_PATH | O_DIRECTORY, "");
	is("/a/b", O_RDONLY | O_DIRECTORY, "a/b");
	is("/rel", O_PATH, "a/b");
	is("/tdir", O_PATH | O_DIRECTORY, "a");
	is("/empty-ish", O_RDONLY | O_DIRECTORY, "");
	is("/long", O_PATH | O_DIRECTORY, "etc");
}

/* ".." in a target stops at the root: the outside passwd is never read. */
static void
test_escapes_stay(void **state)
{
	reads("/a/up", O_RDONLY, "inside");
	reads("/a/b/c/esc/passwd", O_RDONLY, "inside");
	is("/a/b/c/rootdots", O_PATH | O_DIRECTORY, "");
	reads("/a/b/c/rootdots/etc/passwd", O_RDONLY, "inside");
}

static void
test_loops(void **state)
{
	fails("/loop1", O_RDONLY, ELOOP);
	fails("/loop1/x", O_RDONLY, ELOOP);
	fails("/self", O_PATH, ELOOP);
	fails("/loop1", O_PATH | O_DIRECTORY, ELOOP);
}

/* The last name: followed, or not with O_NOFOLLOW. */
static void
test_last_symlink(void **state)
{
	struct stat st;
	int fd;

	reads("/lfile", O_RDONLY, "inside");
	is("/lfile", O_PATH, "etc/passwd");
	is("/ldir", O_RDONLY | O_DIRECTORY, "a/b/c");
	fails("/lfile", O_RDONLY | O_NOFOLLOW, ELOOP);
	fails("/ldir", O_RDONLY | O_DIRECTORY | O_NOFOLLOW, ENOTDIR);
	fails("/ldir", O_PATH | O_DIRECTORY | O_NOFOLLOW, ENOTDIR);
	is("/lfile", O_PATH | O_NOFOLLOW, "lfile");
	fd = fs_open(rootfd, "/lfile", O_PATH | O_NOFOLLOW, 0);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	close(fd);
	/* a link to a file is no directory, a file is none either */
	fails("/lfile", O_RDONLY | O_DIRECTORY, ENOTDIR);
	fails("/etc/passwd", O_PATH | O_DIRECTORY, ENOTDIR);
}

/*
 * O_CREAT through a dangling symlink makes the file where the target
 * points, resolved inside the root, as RESOLVE_IN_ROOT does; O_EXCL
 * and O_NOFOLLOW refuse as the kernel does.
 */
static void
test_create_dangling(void **state)
{
	char p[KF_PATH_MAX];
	struct stat st;
	int n0 = fd_count(), fd;

	fails("/dang", O_WRONLY | O_CREAT | O_EXCL, EEXIST);
	fails("/dang", O_WRONLY | O_CREAT | O_NOFOLLOW, ELOOP);
	fails("/dang2", O_WRONLY | O_CREAT, ENOENT);
	fd = fs_open(rootfd, "/dang", O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(fd_count(), n0);
	at(p, sizeof(p), root, "made");
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	at(p, sizeof(p), base, "made");
	assert_int_not_equal(lstat(p, &st), 0);
	assert_int_not_equal(lstat("/made", &st), 0);
	at(p, sizeof(p), root, "made");
	assert_int_equal(unlink(p), 0);
	/* a plain create, and the root's own name refused as a file */
	fd = fs_open(rootfd, "/a/new", O_WRONLY | O_CREAT | O_EXCL, 0640);
	assert_true(fd >= 0);
	close(fd);
	at(p, sizeof(p), root, "a/new");
	assert_int_equal(unlink(p), 0);
	fails("/", O_WRONLY | O_CREAT, EISDIR);
}

static void
test_errors(void **state)
{
	char *big;

	fails("", O_RDONLY, ENOENT);
	fails("/nope", O_RDONLY, ENOENT);
	fails("/nope/x", O_RDONLY, ENOENT);
	fails("/etc/passwd/x", O_RDONLY, ENOTDIR);
	fails("/lfile/x", O_RDONLY, ENOTDIR);
	fails("/tfile", O_RDONLY, ENOTDIR);
	big = malloc(KF_PATH_MAX + 2);
	assert_non_null(big);
	/* one name longer than KF_NAME_MAX */
	big[0] = '/';
	memset(big + 1, 'n', KF_NAME_MAX + 1);
	big[KF_NAME_MAX + 2] = '\0';
	fails(big, O_RDONLY, ENAMETOOLONG);
	/* a path longer than KF_PATH_MAX */
	memset(big, '/', KF_PATH_MAX + 1);
	big[KF_PATH_MAX + 1] = '\0';
	fails(big, O_RDONLY, ENAMETOOLONG);
	/* the long target, and more after it than the bound leaves room for */
	memset(big, 'x', 200);
	memcpy(big, "/long/", 6);
	big[200] = '\0';
	fails(big, O_RDONLY, ENAMETOOLONG);
	free(big);
}

/*
 * A magic link (/proc/self/root) is read as its text ("/") and that is
 * resolved inside the root given, /proc/self here: no /proc/self/etc,
 * so the real /etc/passwd, which the magic jump would reach, is not.
 */
static void
test_magic_link_is_text(void **state)
{
	int procfd, fd;

	procfd = open("/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(procfd >= 0);
	fd = open("/proc/self/root/etc/passwd", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0); /* the jump the kernel would make */
	close(fd);
	errno = 0;
	assert_true(fs_open(procfd, "/root/etc/passwd", O_RDONLY, 0) < 0);
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_true(fs_open(procfd, "/cwd", O_PATH | O_DIRECTORY, 0) < 0);
	close(procfd);
}

/* The kernel's own in-root resolution, for comparison. */
static int
in_root(const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

/* fs_open and openat2 agree: the same object, or the same errno. */
static void
same(const char *path, int flags)
{
	struct stat a, b;
	int fa, fb, ea, eb;

	errno = 0;
	fa = fs_open(rootfd, path, flags, 0);
	ea = errno;
	errno = 0;
	fb = in_root(path, flags);
	eb = errno;
	if ((fa < 0) != (fb < 0) || (fa < 0 && ea != eb))
		fail_msg("%s %#x: walk %d (%s), openat2 %d (%s)", path, flags,
		    fa, strerror(ea), fb, strerror(eb));
	if (fa >= 0) {
		assert_int_equal(fstat(fa, &a), 0);
		assert_int_equal(fstat(fb, &b), 0);
		if (a.st_ino != b.st_ino || a.st_dev != b.st_dev)
			fail_msg("%s %#x: another object", path, flags);
		close(fa);
		close(fb);
	}
}

static void
test_as_openat2(void **state)
{
	static const char *const paths[] = { "/", "/etc/passwd", "/a/b/c/deep",
		"/rel", "/rel/c", "/abs", "/a/b/toetc/passwd", "/a/up",
		"/a/b/c/esc", "/a/b/c/esc/passwd", "/a/b/sib", "/a/b/dotdot",
		"/a/b/dotdot/x", "/a/b/c/rootdots", "/loop1", "/loop1/x",
		"/self", "/lfile", "/ldir", "/tdir", "/tfile", "/dang",
		"/dang2", "/chain1", "/chain1/deep", "/empty-ish", "/long",
		"/nope", "/nope/x", "/etc/passwd/x", "/lfile/x", "a/b",
		"rel/c/deep" };
	static const int flags[] = { O_RDONLY, O_RDONLY | O_NOFOLLOW,
		O_RDONLY | O_DIRECTORY, O_RDONLY | O_DIRECTORY | O_NOFOLLOW,
		O_PATH, O_PATH | O_NOFOLLOW, O_PATH | O_DIRECTORY,
		O_PATH | O_DIRECTORY | O_NOFOLLOW };
	size_t i, j;
	int n0 = fd_count();

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		for (j = 0; j < sizeof(flags) / sizeof(flags[0]); j++)
			same(paths[i], flags[j]);
	assert_int_equal(fd_count(), n0);
}

/* fs_open_real: the path permission rules see is where the name lands. */
static void
real_is(const char *vpath, int flags, const char *want)
{
	char real[KF_PATH_MAX + 1];
	int fd = fs_open_real(rootfd, vpath, flags, 0, real, sizeof(real));

	assert_true(fd >= 0);
	close(fd);
	assert_string_equal(real, want);
}

static void
parent_real_is(const char *vpath, const char *want)
{
	char real[KF_PATH_MAX + 1];
	const char *name;
	int fd = fs_open_parent_real(rootfd, vpath, &name, real, sizeof(real));

	assert_true(fd >= 0);
	close(fd);
	assert_string_equal(real, want);
}

static void
test_real_path(void **state)
{
	char small[6];
	int before = fd_count();

	real_is("/", O_PATH, "/");
	real_is("/a/b/c/deep", O_RDONLY, "/a/b/c/deep");
	real_is("/rel/c/deep", O_RDONLY, "/a/b/c/deep");
	real_is("/a/b/sib", O_RDONLY, "/a/x");
	real_is("/a/b/dotdot", O_PATH, "/a");
	real_is("/a/b/dotdot/x", O_RDONLY, "/a/x");
	real_is("/a/up", O_RDONLY, "/etc/passwd");
	real_is("/a/b/c/esc", O_PATH, "/etc");
	real_is("/a/b/c/rootdots", O_PATH, "/");
	real_is("/ldir", O_PATH | O_DIRECTORY, "/a/b/c");
	real_is("/chain1/deep", O_RDONLY, "/a/b/c/deep");
	real_is("/long", O_PATH, "/etc");
	real_is("/tdir", O_PATH, "/a");
	/* the parent resolved, the last name as given (never followed) */
	parent_real_is("/rel/c/new", "/a/b/c/new");
	parent_real_is("/a/b/c/esc/x", "/etc/x");
	parent_real_is("/lfile", "/lfile");
	parent_real_is("/x", "/x");
	/* no room: ENAMETOOLONG, and no fd left behind */
	assert_int_equal(fs_open_real(rootfd, "/a/b/c/deep", O_RDONLY, 0, small,
			     sizeof(small)),
	    -1);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_int_equal(fs_open_parent_real(rootfd, "/a/b/c/deep",
			     &(const char *){ NULL }, small, sizeof(small)),
	    -1);
	assert_int_equal(fd_count(), before);
}

/*
 * A shared folder (rootless, fs_folders_set): base/src entered at /m.
 * Its symlinks resolve in the user's root: ".." at its top is the
 * mount point's parent, never base (whose etc/passwd is "outside").
 */
static void
test_folders(void **state)
{
	char src[64], p[KF_PATH_MAX];
	struct fs_folder f = { .mount = "/m" };
	struct stat a, b;
	const char *name;
	int n0, fd;

	at(src, sizeof(src), base, "src");
	assert_int_equal(mkdir(src, 0755), 0);
	at(p, sizeof(p), src, "sub");
	assert_int_equal(mkdir(p, 0755), 0);
	mk_file(src, "doc", "doc");
	mk_file(src, "sub/x", "sx");
	mk_dir("m");
	mk_link("tom", "/m/sub");
	at(p, sizeof(p), src, "up");
	assert_int_equal(symlink("..", p), 0);
	at(p, sizeof(p), src, "upsecret");
	assert_int_equal(symlink("../etc/passwd", p), 0);
	at(p, sizeof(p), src, "rootdots");
	assert_int_equal(symlink("../../../..", p), 0);
	at(p, sizeof(p), src, "abs");
	assert_int_equal(symlink("/etc/passwd", p), 0);
	f.fd = open(src, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(f.fd >= 0);
	assert_int_equal(fs_folders_set(&f, 1), 0);
	n0 = fd_count();

	reads("/m/doc", O_RDONLY, "doc");
	reads("/m/sub/x", O_RDONLY, "sx");
	reads("/tom/x", O_RDONLY, "sx"); /* a link in the tree to it */
	reads("/m/sub/../doc", O_RDONLY, "doc");
	reads("/m/abs", O_RDONLY, "inside");
	reads("/m/upsecret", O_RDONLY, "inside"); /* not base's "outside" */
	reads("/m/up/etc/passwd", O_RDONLY, "inside");
	reads("/m/rootdots/etc/passwd", O_RDONLY, "inside");
	is("/m/up", O_PATH | O_DIRECTORY, "");
	is("/m/..", O_PATH | O_DIRECTORY, "");
	/* the mount point is the folder's top */
	fd = fs_open(rootfd, "/m", O_RDONLY | O_DIRECTORY, 0);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(fstat(f.fd, &b), 0);
	assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	close(fd);
	/* and busy as a mount point is; a name inside is not */
	errno = 0;
	assert_int_equal(fs_open_parent(rootfd, "/m", &name), -1);
	assert_int_equal(errno, EBUSY);
	fd = fs_open_parent(rootfd, "/m/doc", &name);
	assert_true(fd >= 0);
	assert_string_equal(name, "doc");
	assert_int_equal(fstat(fd, &a), 0);
	assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	close(fd);
	/* the folder's fd is the table's: no walk closed it */
	assert_int_equal(fstat(f.fd, &a), 0);
	assert_int_equal(fd_count(), n0);
	/* without the table /m is the empty directory of the user's tree */
	assert_int_equal(fs_folders_set(NULL, 0), 0);
	fails("/m/doc", O_RDONLY, ENOENT);
	close(f.fd);
	f.fd = -1;
	assert_int_equal(fs_folders_set(&f, 1), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inside),
		cmocka_unit_test(test_escapes_stay),
		cmocka_unit_test(test_loops),
		cmocka_unit_test(test_last_symlink),
		cmocka_unit_test(test_create_dangling),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_magic_link_is_text),
		cmocka_unit_test(test_as_openat2),
		cmocka_unit_test(test_real_path),
		cmocka_unit_test(test_folders),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
