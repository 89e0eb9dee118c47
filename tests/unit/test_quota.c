/*
 * test_quota.c - quota accounting: the usage record (format, strict
 * parse), the fit check (limits, slack, overflow), credits that never
 * go below zero, the tree walk (symlinks not followed, loops, hard
 * links once, depth and entry bounds), and charges through two open
 * file descriptions of one usage file (two sessions).
 */
#include "cm.h"
#include "tree.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/quota.h"

static void
test_record_roundtrip(void **state)
{
	struct quota_usage u = { 123456789012345ULL, 42 }, v;
	char rec[QUOTA_RECORD_LEN + 1];

	(void)state;
	quota_format(&u, rec, sizeof(rec));
	assert_int_equal(strlen(rec), QUOTA_RECORD_LEN);
	assert_string_equal(rec,
	    "keepftpd-usage 1 bytes=00000123456789012345 "
	    "files=00000000000000000042\n");
	assert_int_equal(quota_parse(rec, QUOTA_RECORD_LEN, &v), 0);
	assert_true(v.bytes == u.bytes && v.files == u.files);
	u.bytes = UINT64_MAX;
	quota_format(&u, rec, sizeof(rec));
	assert_int_equal(quota_parse(rec, QUOTA_RECORD_LEN, &v), 0);
	assert_true(v.bytes == UINT64_MAX);
}

static void
test_record_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"keepftpd-usage 1 bytes=00000000000000000001 files=00000000000000000001",
		"keepftpd-usage 2 bytes=00000000000000000001 files=00000000000000000001\n",
		"keepftpd-usage 1 bytes=0000000000000000000x files=00000000000000000001\n",
		"keepftpd-usage 1 bytes=00000000000000000001 files=-0000000000000000001\n",
		"keepftpd-usage 1 bytes=99999999999999999999 files=00000000000000000001\n",
		"keepftpd-usage 1 bytes=00000000000000000001,files=00000000000000000001\n",
		"keepftpd-usage 1 bytes=00000000000000000001 files=00000000000000000001\r",
	};
	struct quota_usage v = { 7, 7 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(quota_parse(bad[i], strlen(bad[i]), &v),
		    -EINVAL);
	assert_true(v.bytes == 7 && v.files == 7); /* untouched */
}

static void
test_fits(void **state)
{
	struct quota_usage u = { 900, 4 };

	(void)state;
	assert_true(quota_fits(&u, 1000, 5, 100, 0, 0));
	assert_false(quota_fits(&u, 1000, 5, 101, 0, 0));
	assert_true(quota_fits(&u, 1000, 5, 0, 1, 0));
	assert_false(quota_fits(&u, 1000, 5, 0, 2, 0));
	assert_true(quota_fits(&u, 1000, 5, 0, 2, 1)); /* a replacement */
	assert_true(quota_fits(&u, 0, 0, UINT64_MAX, UINT64_MAX, 0));
	/* over the limit already (lowered quota): adding nothing still fits */
	u.files = 9;
	assert_true(quota_fits(&u, 1000, 5, 100, 0, 0));
	assert_false(quota_fits(&u, 1000, 5, 0, 1, 0));
	/* no overflow */
	u.bytes = UINT64_MAX - 1;
	assert_false(quota_fits(&u, UINT64_MAX, 0, 2, 0, 0));
	assert_true(quota_fits(&u, UINT64_MAX, 0, 1, 0, 0));
	u.files = 1;
	assert_true(quota_fits(&u, 0, 2, 0, 1, UINT64_MAX));
}

static void
test_sub_clamps(void **state)
{
	struct quota_usage u = { 10, 2 };

	(void)state;
	quota_sub(&u, 4, 1);
	assert_true(u.bytes == 6 && u.files == 1);
	quota_sub(&u, 100, 100);
	assert_true(u.bytes == 0 && u.files == 0);
}

/* ---- the walk, on a temporary tree ---- */

static char tree[64];

static void
put(const char *rel, size_t size)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	assert_non_null(f = fopen(path, "w"));
	while (size-- > 0)
		fputc('x', f);
	fclose(f);
}

static void
at(const char *rel, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", tree, rel);
}

static int
setup_tree(void **state)
{
	char p[256], q[256];

	(void)state;
	snprintf(tree, sizeof(tree), "/tmp/kf-quota-unit-XXXXXX");
	assert_non_null(mkdtemp(tree));
	put("a", 100);
	put("b", 23);
	at("d", p, sizeof(p));
	assert_int_equal(mkdir(p, 0755), 0);
	put("d/c", 1000);
	at("d/e", p, sizeof(p));
	assert_int_equal(mkdir(p, 0755), 0);
	put("d/e/f", 5);
	/* a hard link: one file */
	at("d/c", p, sizeof(p));
	at("c-again", q, sizeof(q));
	assert_int_equal(link(p, q), 0);
	/* symlinks: a loop, out of the tree, to a file; none counted */
	at("d/e/up", p, sizeof(p));
	assert_int_equal(symlink("../..", p), 0);
	at("etc", p, sizeof(p));
	assert_int_equal(symlink("/etc", p), 0);
	at("to-a", p, sizeof(p));
	assert_int_equal(symlink("a", p), 0);
	at("self", p, sizeof(p));
	assert_int_equal(symlink("self", p), 0);
	/* a fifo: not counted */
	at("fifo", p, sizeof(p));
	assert_int_equal(mkfifo(p, 0600), 0);
	return 0;
}

static int
teardown_tree(void **state)
{
	(void)state;
	return tree_remove(tree);
}

static int
open_tree(void)
{
	int fd = open(tree, O_RDONLY | O_DIRECTORY);

	assert_true(fd >= 0);
	return fd;
}

static void
test_walk_counts_the_tree_only(void **state)
{
	struct quota_usage u;
	int fd = open_tree();

	(void)state;
	assert_int_equal(quota_walk(fd, 32, 1000, &u), 0);
	assert_int_equal(u.bytes, 100 + 23 + 1000 + 5);
	/* a, b, d/c (twice linked, once), d/e/f and the directories d, d/e */
	assert_int_equal(u.files, 6);
	close(fd);
}

static void
test_walk_empty(void **state)
{
	struct quota_usage u = { 5, 5 };
	char p[256];
	int fd;

	(void)state;
	at("empty", p, sizeof(p));
	assert_int_equal(mkdir(p, 0755), 0);
	assert_true((fd = open(p, O_RDONLY | O_DIRECTORY)) >= 0);
	assert_int_equal(quota_walk(fd, 0, 0, &u), 0);
	assert_true(u.bytes == 0 && u.files == 0);
	close(fd);
	assert_int_equal(rmdir(p), 0);
}

static void
test_walk_bounds(void **state)
{
	struct quota_usage u = { 99, 99 };
	int fd = open_tree();

	(void)state;
	/* d/e is two levels down */
	assert_int_equal(quota_walk(fd, 1, 1000, &u), -ELOOP);
	assert_int_equal(quota_walk(fd, 2, 1000, &u), 0);
	/* 12 entries in all (not . and ..) */
	assert_int_equal(quota_walk(fd, 32, 11, &u), -E2BIG);
	assert_int_equal(quota_walk(fd, 32, 12, &u), 0);
	close(fd);
}

/* ---- two open file descriptions of one usage file ---- */

static void
test_two_sessions_share_one_count(void **state)
{
	char dir[64];
	struct quota a = { .max_bytes = 1000, .max_files = 2 };
	struct quota b = { .max_bytes = 1000, .max_files = 2 };
	struct quota_usage u = { 0, 0 };
	int root;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/kf-quota-dir-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(quota_open(dir, "../x"), -EINVAL);
	assert_int_equal(quota_open(dir, ".hidden"), -EINVAL);
	a.fd = quota_open(dir, "alice");
	b.fd = quota_open(dir, "alice");
	assert_true(a.fd >= 0 && b.fd >= 0);
	root = open_tree();
	/* the first session counts the tree; the second reads the record */
	assert_int_equal(quota_start(&a, root), 0);
	assert_int_equal(quota_read(a.fd, &u), 1);
	assert_int_equal(u.bytes, 1128);
	assert_int_equal(quota_write(a.fd, &(struct quota_usage){ 0, 0 }), 0);
	assert_int_equal(quota_start(&b, root), 0);
	assert_int_equal(quota_charge(&a, 600, 1, 0), 0);
	assert_int_equal(quota_charge(&b, 600, 0, 0), -EDQUOT);
	assert_int_equal(quota_charge(&b, 400, 1, 0), 0);
	assert_int_equal(quota_charge(&a, 0, 1, 0), -EDQUOT);
	assert_int_equal(quota_charge(&a, 0, 1, 1), 0); /* replacing */
	quota_credit(&b, 400, 2);
	assert_int_equal(quota_read(b.fd, &u), 1);
	assert_true(u.bytes == 600 && u.files == 1);
	/* a broken session charges nothing */
	b.broken = 1;
	assert_int_equal(quota_charge(&b, 1, 0, 0), -EIO);
	close(a.fd);
	close(b.fd);
	close(root);
	snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "/alice");
	unlink(dir);
	*strrchr(dir, '/') = '\0';
	rmdir(dir);
}

/* MKD charges a file (refused past quota_files), RMD credits it. */
static void
test_directories_are_files(void **state)
{
	char dir[64];
	struct quota q = { .max_files = 2 };
	struct quota_usage u;
	int dfd;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/kf-quota-mkd-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_true((q.fd = quota_open(dir, "alice")) >= 0);
	assert_int_equal(quota_write(q.fd, &(struct quota_usage){ 7, 1 }), 0);
	assert_true((dfd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0);
	assert_int_equal(quota_mkdir(&q, dfd, "one", 0755), 0);
	assert_int_equal(quota_mkdir(&q, dfd, "two", 0755), -1);
	assert_int_equal(errno, EDQUOT);
	assert_int_equal(quota_read(q.fd, &u), 1);
	assert_true(u.bytes == 7 && u.files == 2);
	/* an existing name: mkdirat's error, nothing charged */
	q.max_files = 0;
	assert_int_equal(quota_mkdir(&q, dfd, "one", 0755), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(quota_unlink(&q, dfd, "one", AT_REMOVEDIR), 0);
	assert_int_equal(quota_read(q.fd, &u), 1);
	assert_true(u.bytes == 7 && u.files == 1);
	close(dfd);
	close(q.fd);
	assert_int_equal(tree_remove(dir), 0);
}

static int
place_ok(void *arg)
{
	int *dfd = arg;

	return renameat(*dfd, "tmp", *dfd, "dst");
}

/* STOR: checked as it grows, charged with the rename, exactly once. */
static void
test_check_then_commit(void **state)
{
	char dir[64];
	struct quota q = { .max_bytes = 100, .max_files = 3 };
	struct quota_usage u, none = { 0, 0 }, old = { 40, 1 };
	int dfd, fd;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/kf-quota-commit-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_true((q.fd = quota_open(dir, "alice")) >= 0);
	assert_int_equal(quota_write(q.fd, &(struct quota_usage){ 50, 2 }), 0);
	assert_true((dfd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0);
	/* checks write nothing */
	assert_int_equal(quota_check(&q, 50, 1, &none), 0);
	assert_int_equal(quota_check(&q, 51, 1, &none), -EDQUOT);
	assert_int_equal(quota_check(&q, 90, 1, &old), 0);
	assert_int_equal(quota_read(q.fd, &u), 1);
	assert_true(u.bytes == 50 && u.files == 2);
	/* a new name: charged bytes and one file when the rename worked */
	assert_true((fd = openat(dfd, "tmp", O_WRONLY | O_CREAT, 0600)) >= 0);
	assert_int_equal(ftruncate(fd, 30), 0);
	close(fd);
	assert_int_equal(quota_commit(&q, 60, dfd, "dst", place_ok, &dfd),
	    -EDQUOT);
	assert_int_equal(faccessat(dfd, "tmp", F_OK, 0), 0); /* not placed */
	assert_int_equal(quota_commit(&q, 30, dfd, "dst", place_ok, &dfd), 0);
	assert_int_equal(quota_read(q.fd, &u), 1);
	assert_true(u.bytes == 80 && u.files == 3);
	/* replacing dst (30 bytes, one file) at the file limit: exact */
	assert_true((fd = openat(dfd, "tmp", O_WRONLY | O_CREAT, 0600)) >= 0);
	close(fd);
	assert_int_equal(quota_commit(&q, 50, dfd, "dst", place_ok, &dfd), 0);
	assert_int_equal(quota_read(q.fd, &u), 1);
	assert_true(u.bytes == 100 && u.files == 3);
	/* a failed place charges nothing */
	q.max_files = 0;
	assert_int_equal(quota_commit(&q, 0, dfd, "x", place_ok, &dfd),
	    -ENOENT);
	assert_int_equal(quota_read(q.fd, &u), 1);
	assert_true(u.bytes == 100 && u.files == 3);
	close(dfd);
	close(q.fd);
	assert_int_equal(tree_remove(dir), 0);
}

/* What quota_open refuses: links, other kinds, a shared directory. */
static void
test_open_refuses(void **state)
{
	char dir[64], p[128], q[128];
	int fd;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/kf-quota-open-XXXXXX");
	assert_non_null(mkdtemp(dir));
	/* a symlink to a file elsewhere: not followed */
	snprintf(p, sizeof(p), "%s/sym", dir);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	assert_int_equal(quota_open(dir, "sym"), -ELOOP);
	/* a second link to a file: refused, not rewritten */
	snprintf(p, sizeof(p), "%s/orig", dir);
	snprintf(q, sizeof(q), "%s/hard", dir);
	assert_true((fd = open(p, O_WRONLY | O_CREAT, 0600)) >= 0);
	close(fd);
	assert_int_equal(link(p, q), 0);
	assert_int_equal(quota_open(dir, "hard"), -EPERM);
	/* a directory or a fifo in its place */
	snprintf(p, sizeof(p), "%s/dir", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_true(quota_open(dir, "dir") < 0);
	snprintf(p, sizeof(p), "%s/fifo", dir);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(quota_open(dir, "fifo"), -EPERM);
	/* a directory others may write */
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(quota_open(dir, "new"), -EPERM);
	assert_int_equal(chmod(dir, 0755), 0);
	assert_true((fd = quota_open(dir, "new")) >= 0);
	close(fd);
	assert_int_equal(tree_remove(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_roundtrip),
		cmocka_unit_test(test_record_rejects),
		cmocka_unit_test(test_fits),
		cmocka_unit_test(test_sub_clamps),
		cmocka_unit_test(test_walk_counts_the_tree_only),
		cmocka_unit_test(test_walk_empty),
		cmocka_unit_test(test_walk_bounds),
		cmocka_unit_test(test_two_sessions_share_one_count),
		cmocka_unit_test(test_directories_are_files),
		cmocka_unit_test(test_check_then_commit),
		cmocka_unit_test(test_open_refuses),
	};

	return cmocka_run_group_tests(tests, setup_tree, teardown_tree);
}
