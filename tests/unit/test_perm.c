/* test_perm.c - permission rules: hostile input, prefix matching, bounds. */
#include "cm.h"
#include <errno.h>
#include <string.h>

#include "common/perm.h"

static int
parse(const char *s, struct perm_rule *r)
{
	return perm_parse_rule(s, strlen(s), r);
}

static void
test_parse_ok(void **state)
{
	struct perm_rule r;

	assert_int_equal(parse("/incoming:upload", &r), 0);
	assert_string_equal(r.path, "/incoming");
	assert_int_equal(r.mask, PERM_UPLOAD);
	assert_int_equal(parse("/a/b c:list;download,mkdir", &r), 0);
	assert_string_equal(r.path, "/a/b c");
	assert_int_equal(r.mask, PERM_LIST | PERM_DOWNLOAD | PERM_MKDIR);
	assert_int_equal(parse("/:*", &r), 0);
	assert_string_equal(r.path, "/");
	assert_int_equal(r.mask, PERM_ALL);
	assert_int_equal(parse("/x:", &r), 0);
	assert_int_equal(r.mask, 0);
	assert_int_equal(parse("/x:none", &r), 0);
	assert_int_equal(r.mask, 0);
	assert_int_equal(parse("/x:list,list", &r), 0); /* a set */
	assert_int_equal(r.mask, PERM_LIST);
}

static void
test_parse_hostile(void **state)
{
	static const char *const bad[] = {
		"",
		":",
		"incoming:upload",
		"/incoming",
		"/a/../b:list",
		"/a/./b:list",
		"/./a:list",
		"/..:list",
		"//b:list",
		"/a//b:list",
		"/a/:list",
		"/a:up",
		"/a:upload,",
		"/a:,upload",
		"/a:upload,,list",
		"/a:*,list",
		"/a:UPLOAD",
		"/a: upload",
		"/a:upload ",
		"/a\n:list",
		"/a\r:list",
		"/a\x7f:list",
		"/a,b:list",
		"/a:b:list",
		"/a:all",
		"/a:upload;;",
		"/a:nonee",
		"/a:none,list",
	};
	char longp[KF_PERM_PATH_MAX + 16];
	struct perm_rule r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], &r), -EINVAL);
	/* a NUL inside the given length */
	assert_int_equal(perm_parse_rule("/a\0b:list", 9, &r), -EINVAL);
	assert_int_equal(perm_parse_rule("/ab:li\0t", 8, &r), -EINVAL);
	/* a path of exactly the bound is fine, one more is not */
	longp[0] = '/';
	memset(longp + 1, 'x', KF_PERM_PATH_MAX - 1);
	longp[100] = '/';
	memcpy(longp + KF_PERM_PATH_MAX, ":list", 6);
	assert_int_equal(parse(longp, &r), 0);
	assert_int_equal(strlen(r.path), KF_PERM_PATH_MAX);
	longp[0] = '/';
	memset(longp + 1, 'x', KF_PERM_PATH_MAX);
	longp[100] = '/';
	memcpy(longp + KF_PERM_PATH_MAX + 1, ":list", 6);
	assert_int_equal(parse(longp, &r), -EINVAL);
}

static void
put(struct perm_set *s, const char *rule)
{
	struct perm_rule r;

	assert_int_equal(parse(rule, &r), 0);
	assert_int_equal(perm_set_put(s, &r), 0);
}

static void
test_lookup(void **state)
{
	struct perm_set s = { 0 };

	assert_int_equal(perm_lookup(&s, "/x", PERM_READ), PERM_READ);
	put(&s, "/pub:list,download");
	put(&s, "/pub/in:upload");
	put(&s, "/pub/in/deep:*");
	/* component-wise: /pub is no parent of /public */
	assert_int_equal(perm_lookup(&s, "/public", 0), 0);
	assert_int_equal(perm_lookup(&s, "/pub", 0), PERM_READ);
	assert_int_equal(perm_lookup(&s, "/pub/a", 0), PERM_READ);
	assert_int_equal(perm_lookup(&s, "/pub/in", 0), PERM_UPLOAD);
	assert_int_equal(perm_lookup(&s, "/pub/inx", 0), PERM_READ);
	assert_int_equal(perm_lookup(&s, "/pub/in/f", 0), PERM_UPLOAD);
	assert_int_equal(perm_lookup(&s, "/pub/in/deep/x/y", 0), PERM_ALL);
	assert_int_equal(perm_lookup(&s, "/", PERM_MKDIR), PERM_MKDIR);
	/* a root rule is the fallback of every path */
	put(&s, "/:delete");
	assert_int_equal(perm_lookup(&s, "/", 0), PERM_DELETE);
	assert_int_equal(perm_lookup(&s, "/other", 0), PERM_DELETE);
	assert_int_equal(perm_lookup(&s, "/pub/in", 0), PERM_UPLOAD);
	/* the order of the rules does not matter */
	assert_int_equal(perm_set_del(&s, "/pub"), 0);
	put(&s, "/pub:list");
	assert_int_equal(perm_lookup(&s, "/pub/in/f", 0), PERM_UPLOAD);
	assert_int_equal(perm_lookup(&s, "/pub/x", 0), PERM_LIST);
}

static void
test_set_bounds(void **state)
{
	struct perm_set s = { 0 };
	struct perm_rule r = { .mask = PERM_LIST };
	size_t i;

	for (i = 0; i < KF_PERM_RULES_MAX; i++) {
		r.path[0] = '/';
		r.path[1] = (char)('a' + i);
		r.path[2] = '\0';
		assert_int_equal(perm_set_put(&s, &r), 0);
	}
	memcpy(r.path, "/zz", 4);
	assert_int_equal(perm_set_put(&s, &r), -ENOSPC);
	/* replacing a rule needs no room */
	memcpy(r.path, "/a", 3);
	r.mask = PERM_UPLOAD;
	assert_int_equal(perm_set_put(&s, &r), 0);
	assert_int_equal(perm_lookup(&s, "/a/b", 0), PERM_UPLOAD);
	assert_int_equal(perm_set_check(&s), 0);
	assert_int_equal(perm_set_del(&s, "/nope"), -ENOENT);
	assert_int_equal(perm_set_del(&s, "/a"), 0);
	assert_int_equal(s.n, KF_PERM_RULES_MAX - 1);
	assert_int_equal(perm_lookup(&s, "/a/b", 7), 7);
	/* what another process sent is checked field by field */
	s.n = KF_PERM_RULES_MAX + 1;
	assert_int_equal(perm_set_check(&s), -EINVAL);
	s.n = 1;
	s.r[0].mask = PERM_ALL + 1;
	assert_int_equal(perm_set_check(&s), -EINVAL);
	s.r[0].mask = PERM_ALL;
	memset(s.r[0].path, 'a', sizeof(s.r[0].path)); /* unterminated */
	assert_int_equal(perm_set_check(&s), -EINVAL);
	memcpy(s.r[0].path, "/a/../b", 8);
	assert_int_equal(perm_set_check(&s), -EINVAL);
	r.mask = 0x400;
	assert_int_equal(perm_set_put(&s, &r), -EINVAL);
}

static void
test_below_and_format(void **state)
{
	struct perm_set s = { 0 };
	char out[128];

	put(&s, "/pub/in:upload");
	assert_int_equal(perm_rules_within(&s, "/pub"), 1);
	assert_int_equal(perm_rules_within(&s, "/"), 1);
	assert_int_equal(perm_rules_within(&s, "/pub/in"), 1);
	assert_int_equal(perm_rules_within(&s, "/pub/in/x"), 0);
	assert_int_equal(perm_rules_within(&s, "/pub/inx"), 0);
	assert_int_equal(perm_rules_within(&s, "/pu"), 0);
	assert_int_equal(perm_any(&s, PERM_READ), PERM_READ | PERM_UPLOAD);
	assert_int_equal(perm_format_mask(PERM_UPLOAD | PERM_LIST, ';', out,
			     sizeof(out)),
	    0);
	assert_string_equal(out, "list;upload");
	assert_int_equal(perm_format_mask(0, ',', out, sizeof(out)), 0);
	assert_string_equal(out, "none");
	assert_int_equal(perm_format_mask(PERM_ALL, ',', out, 10), 0);
	assert_string_equal(out, "*");
	assert_int_equal(perm_format_mask(PERM_ALL & ~PERM_LIST, ',', out, 10),
	    -ENOSPC);
	assert_string_equal(perm_name(PERM_MTIME), "mtime");
	assert_string_equal(perm_name(3), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_hostile),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_set_bounds),
		cmocka_unit_test(test_below_and_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
