/* test_path.c - lexical clean-up, and fs_open keeping lookups in the root. */
#include "cm.h"
#include "tree.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/limits.h"
#include "fs/path.h"

static void
check(const char *cwd, const char *arg, const char *want)
{
	char out[KF_PATH_MAX + 1];

	assert_int_equal(path_resolve(cwd, arg, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void
test_resolve(void **state)
{
	check("/", "", "/");
	check("/a/b", "", "/a/b");
	check("/", "x", "/x");
	check("/a", "b/c", "/a/b/c");
	check("/a", "/z", "/z");
	check("/a/b", "..", "/a");
	check("/a/b", "../../../../..", "/");
	check("/", "../../etc/passwd", "/etc/passwd");
	check("/a", "./b//c/./", "/a/b/c");
	check("/a", "b/../../../x", "/x");
	/* backslash is an ordinary byte in a Linux name */
	check("/", "..\\..\\etc", "/..\\..\\etc");
}

static void
test_resolve_bounds(void **state)
{
	char out[KF_PATH_MAX + 1], *big;

	big = malloc(KF_PATH_MAX + 2);
	memset(big, 'a', KF_PATH_MAX + 1);
	big[KF_PATH_MAX + 1] = '\0';
	assert_int_equal(path_resolve("/", big, out, sizeof(out)),
	    -ENAMETOOLONG);
	/* one component longer than NAME_MAX */
	big[300] = '\0';
	assert_int_equal(path_resolve("/", big, out, sizeof(out)),
	    -ENAMETOOLONG);
	free(big);
	assert_int_equal(path_resolve("/", "abc", out, 3), -ENAMETOOLONG);
}

static void
test_split(void **state)
{
	char parent[64];
	const char *name;

	assert_int_equal(path_split("/a/b", parent, sizeof(parent), &name), 0);
	assert_string_equal(parent, "/a");
	assert_string_equal(name, "b");
	assert_int_equal(path_split("/x", parent, sizeof(parent), &name), 0);
	assert_string_equal(parent, "/");
	assert_string_equal(name, "x");
	assert_int_equal(path_split("/", parent, sizeof(parent), &name),
	    -EINVAL);
}

/* A symlink to "/" planted inside the root resolves to the root itself. */
static void
test_fs_open_confines(void **state)
{
	char root[] = "/tmp/kf-path-XXXXXX", p[256], buf[64];
	int rootfd, fd;
	ssize_t n;

	assert_non_null(mkdtemp(root));
	snprintf(p, sizeof(p), "%s/etc", root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/etc/passwd", root);
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	assert_true(write(fd, "inside", 6) == 6);
	close(fd);
	snprintf(p, sizeof(p), "%s/up", root);
	assert_int_equal(symlink("/", p), 0);
	snprintf(p, sizeof(p), "%s/dots", root);
	assert_int_equal(symlink("../../../../etc", p), 0);

	rootfd = open(root, O_PATH | O_DIRECTORY);
	assert_true(rootfd >= 0);
	fd = fs_open(rootfd, "/up/etc/passwd", O_RDONLY, 0);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	assert_int_equal(n, 6);
	assert_memory_equal(buf, "inside", 6);
	close(fd);
	fd = fs_open(rootfd, "dots/passwd", O_RDONLY, 0);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	assert_memory_equal(buf, "inside", 6);
	close(fd);
	/* /proc magic links are refused outright */
	assert_true(fs_open(rootfd, "/proc/self/root", O_RDONLY, 0) < 0);
	close(rootfd);

	(void)tree_remove(root);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_resolve_bounds),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_fs_open_confines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
