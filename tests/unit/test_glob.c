/*
 * test_glob.c - the bounded matcher and expansion through fs_open.
 * realloc is wrapped at link time (tests/unit/meson.build) so that a
 * test can make the names pool fail to grow.
 */
#include "cm.h"
#include "tree.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/limits.h"
#include "fs/glob.h"

void *__real_reallocarray(void *, size_t, size_t);
void *__wrap_reallocarray(void *, size_t, size_t);

static int realloc_fail; /* the next call fails */

void *
__wrap_reallocarray(void *p, size_t m, size_t n)
{
	if (realloc_fail) {
		realloc_fail = 0;
		errno = ENOMEM;
		return NULL;
	}
	return __real_reallocarray(p, m, n);
}

static int
m(const char *pat, const char *name)
{
	return glob_match(pat, name, NULL);
}

static void
test_match_basic(void **state)
{
	assert_int_equal(m("abc", "abc"), 1);
	assert_int_equal(m("abc", "abd"), 0);
	assert_int_equal(m("abc", "ab"), 0);
	assert_int_equal(m("ab", "abc"), 0);
	assert_int_equal(m("", ""), 1);
	assert_int_equal(m("", "a"), 0);
	assert_int_equal(m("*", ""), 1);
	assert_int_equal(m("*", "anything"), 1);
	assert_int_equal(m("*.txt", "a.txt"), 1);
	assert_int_equal(m("*.txt", "a.txt.gz"), 0);
	assert_int_equal(m("a*b*c", "aXXbYYc"), 1);
	assert_int_equal(m("a*b*c", "aXXbYYcZ"), 0);
	assert_int_equal(m("a**c", "ac"), 1);
	assert_int_equal(m("*ab", "aab"), 1);
	assert_int_equal(m("?", "x"), 1);
	assert_int_equal(m("?", ""), 0);
	assert_int_equal(m("??", "x"), 0);
	assert_int_equal(m("a?c", "abc"), 1);
	assert_int_equal(m("*?", ""), 0);
	/* "/" and a leading dot are ordinary bytes for the plain matcher */
	assert_int_equal(m("a*b", "a/b"), 1);
	assert_int_equal(m("*", ".hidden"), 1);
	/* bytes >= 0x80 compare as bytes */
	assert_int_equal(m("caf?", "caf\xc3"), 1);
	assert_int_equal(m("caf\xc3\xa9*", "caf\xc3\xa9 menu"), 1);
}

static void
test_match_classes(void **state)
{
	assert_int_equal(m("[abc]", "b"), 1);
	assert_int_equal(m("[abc]", "d"), 0);
	assert_int_equal(m("[a-c]x", "bx"), 1);
	assert_int_equal(m("[a-c]x", "dx"), 0);
	assert_int_equal(m("[!a-c]", "d"), 1);
	assert_int_equal(m("[!a-c]", "a"), 0);
	assert_int_equal(m("[^a-c]", "d"), 1);
	assert_int_equal(m("[^a-c]", "b"), 0);
	assert_int_equal(m("[0-9][0-9]", "42"), 1);
	assert_int_equal(m("[0-9][0-9]", "4x"), 0);
	/* "]" first is a member, "-" first or last is literal */
	assert_int_equal(m("[]x]", "]"), 1);
	assert_int_equal(m("[!]x]", "]"), 0);
	assert_int_equal(m("[!]x]", "y"), 1);
	assert_int_equal(m("[-a]", "-"), 1);
	assert_int_equal(m("[a-]", "-"), 1);
	assert_int_equal(m("[a-]", "b"), 0);
	/* a reversed range matches nothing */
	assert_int_equal(m("[z-a]", "m"), 0);
	/* no closing "]": the "[" is literal */
	assert_int_equal(m("[ab", "[ab"), 1);
	assert_int_equal(m("[ab", "a"), 0);
	assert_int_equal(m("[]", "[]"), 1);
	assert_int_equal(m("*[xyz]", "abcz"), 1);
	assert_int_equal(m("*[xyz]", "abcw"), 0);
	/* escapes inside a class */
	assert_int_equal(m("[\\]]", "]"), 1);
	assert_int_equal(m("[a\\-z]", "-"), 1);
	assert_int_equal(m("[a\\-z]", "m"), 0);
}

static void
test_match_escapes(void **state)
{
	assert_int_equal(m("\\*", "*"), 1);
	assert_int_equal(m("\\*", "a"), 0);
	assert_int_equal(m("a\\?", "a?"), 1);
	assert_int_equal(m("a\\?", "ab"), 0);
	assert_int_equal(m("\\[ab]", "[ab]"), 1);
	assert_int_equal(m("\\[ab]", "a"), 0);
	/* a trailing backslash is itself */
	assert_int_equal(m("a\\", "a\\"), 1);
	assert_int_equal(glob_has_magic("a\\*b"), 0);
	assert_int_equal(glob_has_magic("a*b"), 1);
	assert_int_equal(glob_has_magic("a[b"), 0);
	assert_int_equal(glob_has_magic("a[b]"), 1);
	assert_int_equal(glob_has_magic("plain.txt"), 0);
}

/* The classic exponential case stays within len(pat) * len(name). */
static void
test_match_hostile(void **state)
{
	const char *pat = "*a*a*a*a*a*a*a*a*b";
	size_t n = 10000, budget = KF_GLOB_STEPS_MAX, used, bound;
	char *s = malloc(n + 1);
	clock_t t0 = clock();

	memset(s, 'a', n);
	s[n] = '\0';
	assert_int_equal(glob_match(pat, s, &budget), 0);
	used = KF_GLOB_STEPS_MAX - budget;
	bound = (strlen(pat) + 1) * (n + 1);
	assert_true(used > 0);
	assert_true(used <= bound);
	/* in fact linear here: each "a" segment is found once */
	assert_true(used <= 4 * n);
	assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 0.5);

	/* the worst shape for this algorithm is still n * m, and budgeted */
	budget = KF_GLOB_STEPS_MAX;
	assert_int_equal(glob_match("*aaaaaaaaaaaaaaab", s, &budget), 0);
	used = KF_GLOB_STEPS_MAX - budget;
	assert_true(used <= 18 * (n + 1));

	/* an exhausted budget is an error, not a guess */
	budget = 1000;
	assert_int_equal(glob_match(pat, s, &budget), -E2BIG);
	assert_int_equal(budget, 0);
	budget = 0;
	assert_int_equal(glob_match("a", "a", &budget), -E2BIG);

	/* a class costs a step per member */
	budget = 5;
	assert_int_equal(glob_match("[abcdefghij]", "j", &budget), -E2BIG);
	free(s);
}

static void
test_check(void **state)
{
	char pat[128];
	size_t i;

	for (i = 0; i < KF_GLOB_WILD_MAX; i++)
		pat[i] = '?';
	pat[i] = '\0';
	assert_int_equal(glob_check(pat), 0);
	assert_int_equal(m(pat, "x"), 0);
	pat[i++] = '*';
	pat[i] = '\0';
	assert_int_equal(glob_check(pat), -EINVAL);
	assert_int_equal(m(pat, "x"), -EINVAL);
	/* escaped wildcards are not wildcards */
	for (i = 0; i < 40; i++) {
		pat[2 * i] = '\\';
		pat[2 * i + 1] = '*';
	}
	pat[80] = '\0';
	assert_int_equal(glob_check(pat), 0);
}

static void
test_set(void **state)
{
	const char *pats[] = { "*.bak", ".git", "[" };
	const char *bad[] = { "????????????????????????????????????" };
	struct glob_set set = { pats, 3 }, badset = { bad, 1 };

	assert_int_equal(glob_set_match(&set, "x.bak"), 1);
	assert_int_equal(glob_set_hide(&set, ".git"), 1);
	assert_int_equal(glob_set_match(&set, "[x"), 0);
	assert_int_equal(glob_set_match(&set, "["), 1);
	assert_int_equal(glob_set_match(&set, "keep.txt"), 0);
	/* fails closed */
	assert_int_equal(glob_set_match(&badset, "keep.txt"), 1);
}

/* ---- expansion ---- */

struct hits {
	char v[64][256];
	size_t n;
	int stop_after;
};

static int
collect(void *arg, const struct glob_hit *h)
{
	struct hits *x = arg;
	struct stat st;

	if (x->n >= 64)
		return -ENOSPC;
	/* the entry is reachable through dirfd/name, and st is its lstat */
	assert_int_equal(fstatat(h->dirfd, h->name, &st,
			     AT_SYMLINK_NOFOLLOW |
				 (h->name[0] == '\0' ? AT_EMPTY_PATH : 0)),
	    0);
	assert_int_equal(st.st_ino, h->st->st_ino);
	snprintf(x->v[x->n++], sizeof(x->v[0]), "%s", h->path);
	if (x->stop_after && (int)x->n >= x->stop_after)
		return -ECANCELED;
	return 0;
}

static char root[] = "/tmp/kf-glob-XXXXXX";
static int rootfd = -1;

static void
mk(const char *rel, int dir)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	if (dir) {
		assert_int_equal(mkdir(p, 0755), 0);
		return;
	}
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	close(fd);
}

static void
ln(const char *target, const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	assert_int_equal(symlink(target, p), 0);
}

static int
setup_tree(void **state)
{
	assert_non_null(mkdtemp(root));
	mk("a", 1);
	mk("b", 1);
	mk("c.txt", 0);
	mk(".hid", 0);
	mk(".hdir", 1);
	mk(".hdir/x.txt", 0);
	mk("a/x.txt", 0);
	mk("a/y.log", 0);
	mk("a/.x.txt", 0);
	mk("b/x.txt", 0);
	mk("b/z.txt", 0);
	mk("q[1]", 0);
	ln("a", "link");
	ln("/", "up");
	rootfd = open(root, O_PATH | O_DIRECTORY);
	return rootfd >= 0 ? 0 : -1;
}

static int
teardown_tree(void **state)
{
	close(rootfd);
	(void)tree_remove(root);
	return 0;
}

static int
expand(const char *base, const char *pat, struct hits *x,
    int (*hide)(void *, const char *), void *hide_arg)
{
	struct glob_opts o = { .found = collect,
		.found_arg = x,
		.hide = hide,
		.hide_arg = hide_arg };

	memset(x, 0, sizeof(*x));
	return glob_expand(rootfd, base, pat, &o);
}

static void
test_expand_components(void **state)
{
	struct hits x;

	assert_int_equal(expand("/", "*/x.txt", &x, NULL, NULL), 3);
	assert_string_equal(x.v[0], "a/x.txt");
	assert_string_equal(x.v[1], "b/x.txt");
	/* a symlinked directory leads on; the kernel keeps it in the root */
	assert_string_equal(x.v[2], "link/x.txt");

	/* the last component also matches files; order is strcmp */
	assert_int_equal(expand("/", "b/*", &x, NULL, NULL), 2);
	assert_string_equal(x.v[0], "b/x.txt");
	assert_string_equal(x.v[1], "b/z.txt");

	/* only directories lead on: c.txt/... is never tried */
	assert_int_equal(expand("/", "*/*.log", &x, NULL, NULL), 2);
	assert_string_equal(x.v[0], "a/y.log");
	assert_string_equal(x.v[1], "link/y.log");

	/* relative to a base, shown as typed */
	assert_int_equal(expand("/a", "*.txt", &x, NULL, NULL), 1);
	assert_string_equal(x.v[0], "x.txt");
	assert_int_equal(expand("/a/", "?.*", &x, NULL, NULL), 2);
	assert_string_equal(x.v[0], "x.txt");
	assert_string_equal(x.v[1], "y.log");

	/* an absolute pattern ignores the base and is shown absolute */
	assert_int_equal(expand("/b", "/a/*.txt", &x, NULL, NULL), 1);
	assert_string_equal(x.v[0], "/a/x.txt");

	/* no match: zero hits, not an error */
	assert_int_equal(expand("/", "*.none", &x, NULL, NULL), 0);
	assert_int_equal(expand("/", "nodir/*", &x, NULL, NULL), 0);
	/* a literal last component must exist */
	assert_int_equal(expand("/", "*/z.txt", &x, NULL, NULL), 1);
	assert_string_equal(x.v[0], "b/z.txt");

	/* class and escape in a component */
	assert_int_equal(expand("/", "[ab]/[!y]*", &x, NULL, NULL), 3);
	assert_int_equal(expand("/", "q\\[1\\]*", &x, NULL, NULL), 1);
	assert_string_equal(x.v[0], "q[1]");
}

static void
test_expand_dots(void **state)
{
	struct hits x;

	/* "*" skips dot names; a component starting with "." matches them */
	assert_int_equal(expand("/", "*", &x, NULL, NULL), 6);
	assert_int_equal(expand("/", ".h*", &x, NULL, NULL), 2);
	assert_string_equal(x.v[0], ".hdir");
	assert_string_equal(x.v[1], ".hid");
	assert_int_equal(expand("/", "*/x.txt", &x, NULL, NULL), 3);
	assert_int_equal(expand("/", ".*/x.txt", &x, NULL, NULL), 1);
	assert_string_equal(x.v[0], ".hdir/x.txt");
	/* "." and ".." are never produced by a wildcard */
	assert_int_equal(expand("/", ".*", &x, NULL, NULL), 2);
	/* ".." is literal, resolved by the kernel, and stops at the root */
	assert_int_equal(expand("/", "a/../c*", &x, NULL, NULL), 1);
	assert_string_equal(x.v[0], "a/../c.txt");
	assert_int_equal(expand("/", "../../../c*", &x, NULL, NULL), 1);
	assert_string_equal(x.v[0], "../../../c.txt");
	assert_int_equal(expand("/", "./b/./z*", &x, NULL, NULL), 1);
	assert_string_equal(x.v[0], "./b/./z.txt");
}

static void
test_expand_confined(void **state)
{
	struct hits x;
	size_t i;

	/* up -> "/" is the session root, not the host's */
	assert_int_equal(expand("/", "up/*", &x, NULL, NULL), 6);
	for (i = 0; i < x.n; i++)
		assert_null(strstr(x.v[i], "etc"));
	assert_int_equal(expand("/", "up/../../*/x.txt", &x, NULL, NULL), 3);
	assert_int_equal(expand("/", "/up/e*/passwd", &x, NULL, NULL), 0);
}

static int
hide_b(void *arg, const char *name)
{
	return strcmp(name, arg) == 0;
}

static void
test_expand_hidden(void **state)
{
	struct hits x;

	assert_int_equal(expand("/", "*/x.txt", &x, hide_b, "b"), 2);
	assert_string_equal(x.v[0], "a/x.txt");
	assert_string_equal(x.v[1], "link/x.txt");
	/* literal components are checked too */
	assert_int_equal(expand("/", "b/*", &x, hide_b, "b"), 0);
	assert_int_equal(expand("/", "a/*", &x, hide_b, "x.txt"), 1);
	assert_string_equal(x.v[0], "a/y.log");
}

static void
test_expand_errors(void **state)
{
	struct glob_stats st;
	struct hits x = { .stop_after = 2 };
	struct glob_opts o = { .found = collect,
		.found_arg = &x,
		.stats = &st };
	char pat[128];
	size_t i;

	/* found()'s error stops the walk and comes back */
	assert_int_equal(glob_expand(rootfd, "/", "*/*", &o), -ECANCELED);
	assert_int_equal(x.n, 2);

	memset(&x, 0, sizeof(x));
	o.max_matches = 2;
	assert_int_equal(glob_expand(rootfd, "/", "*/*", &o), -E2BIG);
	assert_true(st.matches <= 3);
	o.max_matches = 0;
	o.max_scan = 5;
	assert_int_equal(glob_expand(rootfd, "/", "*/*", &o), -E2BIG);
	assert_int_equal(st.scanned, 6);
	o.max_scan = 0;
	o.max_steps = 10;
	assert_int_equal(glob_expand(rootfd, "/", "*/*", &o), -E2BIG);
	assert_int_equal(st.steps, 10);

	for (i = 0; i < 2 * (KF_GLOB_WILD_MAX + 1); i += 2) {
		pat[i] = '*';
		pat[i + 1] = '/';
	}
	pat[i] = '\0';
	assert_int_equal(expand("/", pat, &x, NULL, NULL), -EINVAL);
}

/* A names pool that cannot grow: -ENOMEM, and the next walk is whole. */
static void
test_expand_no_memory(void **state)
{
	struct hits x;
	size_t n;

	n = (size_t)expand("/", "*", &x, NULL, NULL);
	assert_true(n > 0);
	assert_int_equal(x.n, n);
	realloc_fail = 1;
	assert_int_equal(expand("/", "*", &x, NULL, NULL), -ENOMEM);
	assert_int_equal(x.n, 0);
	assert_int_equal(realloc_fail, 0);
	assert_int_equal(expand("/", "*", &x, NULL, NULL), (int)n);
	assert_int_equal(x.n, n);
}

/* LIST of "*, .., *, .., *, .., *" over 300 dirs: prompt and capped. */
static void
test_expand_fanout(void **state)
{
	char big[] = "/tmp/kf-glob-big-XXXXXX", p[256];
	struct timespec t0, t1;
	struct glob_stats st;
	struct hits x;
	struct glob_opts o = { .found = collect,
		.found_arg = &x,
		.stats = &st };
	double secs;
	int fd, i, r;

	assert_non_null(mkdtemp(big));
	for (i = 0; i < 300; i++) {
		snprintf(p, sizeof(p), "%s/d%03d", big, i);
		assert_int_equal(mkdir(p, 0755), 0);
	}
	fd = open(big, O_PATH | O_DIRECTORY);
	assert_true(fd >= 0);
	memset(&x, 0, sizeof(x));
	x.stop_after = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = glob_expand(fd, "/", "*/../*/../*/../*", &o);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_int_equal(r, -E2BIG);
	assert_true(st.matches <= KF_GLOB_MATCHES_MAX + 1);
	assert_true(st.scanned <= KF_GLOB_SCAN_MAX + 1);
	assert_true(secs < 0.5);
	assert_int_equal(x.n, 0); /* no final level was reached */
	close(fd);
	(void)tree_remove(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_basic),
		cmocka_unit_test(test_match_classes),
		cmocka_unit_test(test_match_escapes),
		cmocka_unit_test(test_match_hostile),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_expand_components),
		cmocka_unit_test(test_expand_dots),
		cmocka_unit_test(test_expand_confined),
		cmocka_unit_test(test_expand_hidden),
		cmocka_unit_test(test_expand_errors),
		cmocka_unit_test(test_expand_fanout),
		cmocka_unit_test(test_expand_no_memory),
	};

	return cmocka_run_group_tests(tests, setup_tree, teardown_tree);
}
