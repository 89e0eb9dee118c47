/*
 * test_upload.c - a STOR's temporary file: unnamed (O_TMPFILE) files
 * have no name until placed, over a free or an existing name; named
 * ones are locked while open; the sweep removes only unlocked files
 * that are old enough; the name test.
 */
#include "cm.h"
#include "tree.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/limits.h"
#include "fs/upload.h"

static char dir[] = "/tmp/kf-upload-unit-XXXXXX";
static int dirfd_ = -1;

static int
setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	dirfd_ = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(dirfd_ >= 0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	close(dirfd_);
	return tree_remove(dir);
}

/* Entries of the directory, "." and ".." not counted. */
static int
entries(void)
{
	struct dirent *de;
	int n = 0;
	DIR *d;

	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
content_is(const char *name, const char *want)
{
	char got[64] = { 0 };
	int fd = openat(dirfd_, name, O_RDONLY);

	assert_true(fd >= 0);
	assert_true(read(fd, got, sizeof(got) - 1) >= 0);
	close(fd);
	assert_string_equal(got, want);
}

static void
test_names(void **state)
{
	(void)state;
	assert_true(upload_tmp_is_name(".kf-upload-0123456789ab"));
	assert_true(upload_tmp_is_name(".kf-upload-"));
	assert_false(upload_tmp_is_name(".kf-uploa"));
	assert_false(upload_tmp_is_name("kf-upload-x"));
}

/*
 * Unnamed where the kernel allows it (Linux 6.10+, or with
 * CAP_DAC_READ_SEARCH); either way nothing but the target is left.
 */
static void
test_place_new_and_over_existing(void **state)
{
	struct upload_tmp t;
	int fd;

	(void)state;
	assert_int_equal(upload_tmp_open(dirfd_, 1, &t), 0);
	assert_int_equal(entries(), t.named ? 1 : 0);
	assert_int_equal(write(t.fd, "new", 3), 3);
	assert_int_equal(upload_tmp_place(dirfd_, &t, "a"), 0);
	upload_tmp_discard(dirfd_, &t);
	assert_int_equal(entries(), 1);
	content_is("a", "new");
	/* over an existing file: replaced, no temporary name left */
	assert_int_equal(upload_tmp_open(dirfd_, 1, &t), 0);
	assert_int_equal(write(t.fd, "newer", 5), 5);
	assert_int_equal(upload_tmp_place(dirfd_, &t, "a"), 0);
	upload_tmp_discard(dirfd_, &t);
	assert_int_equal(entries(), 1);
	content_is("a", "newer");
	/* discarded without a place: nothing left, the target untouched */
	assert_int_equal(upload_tmp_open(dirfd_, 1, &t), 0);
	assert_int_equal(write(t.fd, "x", 1), 1);
	upload_tmp_discard(dirfd_, &t);
	assert_int_equal(entries(), 1);
	content_is("a", "newer");
	fd = openat(dirfd_, "a", O_RDONLY);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(unlinkat(dirfd_, "a", 0), 0);
}

/* The fallback: a named, locked file; swept only when unlocked and old. */
static void
test_named_locked_and_swept(void **state)
{
	struct timespec old[2] = { { 1600000000, 0 }, { 1600000000, 0 } };
	struct upload_tmp t;
	char name[sizeof(t.name)];
	int fd;

	(void)state;
	assert_int_equal(upload_tmp_open(dirfd_, 0, &t), 0);
	assert_true(t.named);
	assert_true(upload_tmp_is_name(t.name));
	assert_int_equal(entries(), 1);
	memcpy(name, t.name, sizeof(name));
	/* locked: not swept, however old */
	assert_int_equal(utimensat(dirfd_, name, old, 0), 0);
	upload_sweep(dirfd_, time(NULL));
	assert_int_equal(entries(), 1);
	/* a dead worker's: the fd closed without discard (the lock goes) */
	close(t.fd);
	t.fd = -1;
	/* fresh: kept (an upload may be starting) */
	assert_int_equal(utimensat(dirfd_, name, NULL, 0), 0);
	upload_sweep(dirfd_, time(NULL));
	assert_int_equal(entries(), 1);
	/* old enough: swept */
	upload_sweep(dirfd_, time(NULL) + KF_UPLOAD_ORPHAN_AGE);
	assert_int_equal(entries(), 0);
	/* other names are never touched */
	fd = openat(dirfd_, "keep", O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(utimensat(dirfd_, "keep", old, 0), 0);
	upload_sweep(dirfd_, time(NULL));
	assert_int_equal(entries(), 1);
	assert_int_equal(unlinkat(dirfd_, "keep", 0), 0);
}

/*
 * An unnamed file is locked as well: given a temporary name for its
 * place (the two system calls of place_unnamed), another node's sweep
 * leaves it alone however old its last write.
 */
static void
test_unnamed_locked_while_linked(void **state)
{
	struct timespec old[2] = { { 1600000000, 0 }, { 1600000000, 0 } };
	static const char tmp[] = ".kf-upload-00000000beef";
	struct upload_tmp t;

	(void)state;
	assert_int_equal(upload_tmp_open(dirfd_, 1, &t), 0);
	if (t.named) {
		upload_tmp_discard(dirfd_, &t);
		skip(); /* this kernel cannot link an O_TMPFILE file in */
	}
	assert_int_equal(linkat(t.fd, "", dirfd_, tmp, AT_EMPTY_PATH), 0);
	assert_int_equal(utimensat(dirfd_, tmp, old, 0), 0);
	upload_sweep(dirfd_, time(NULL));
	assert_int_equal(entries(), 1);
	upload_tmp_discard(dirfd_, &t);
	upload_sweep(dirfd_, time(NULL));
	assert_int_equal(entries(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_place_new_and_over_existing),
		cmocka_unit_test(test_named_locked_and_swept),
		cmocka_unit_test(test_unnamed_locked_while_linked),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
