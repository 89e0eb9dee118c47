/* test_cursor.c - strict number parsing and tokens. */
#include "cm.h"
#include <errno.h>

#include "common/cursor.h"

static void
test_u64_strict(void **state)
{
	uint64_t v;

	assert_int_equal(parse_u64("0", 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_u64("65535", 65535, &v), 0);
	assert_int_equal(v, 65535);
	assert_int_equal(parse_u64("65536", 65535, &v), -ERANGE);
	assert_int_equal(parse_u64("18446744073709551615", UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(parse_u64("18446744073709551616", UINT64_MAX, &v),
	    -ERANGE);
	assert_int_equal(parse_u64("", 10, &v), -EINVAL);
	assert_int_equal(parse_u64("-1", 10, &v), -EINVAL);
	assert_int_equal(parse_u64("+1", 10, &v), -EINVAL);
	assert_int_equal(parse_u64(" 1", 10, &v), -EINVAL);
	assert_int_equal(parse_u64("1 ", 10, &v), -EINVAL);
	assert_int_equal(parse_u64("0x10", 100, &v), -EINVAL);
	/* a digit above a tiny maximum must not slip through */
	assert_int_equal(parse_u64("5", 0, &v), -ERANGE);
}

static void
test_octal_and_tokens(void **state)
{
	struct cursor c;
	const char *tok;
	size_t n;
	uint64_t v;

	cursor_init_str(&c, "0755x");
	assert_int_equal(cursor_u64_base(&c, 8, 0777, &v), 0);
	assert_int_equal(v, 0755);
	assert_int_equal(cursor_peek(&c), 'x');
	cursor_init_str(&c, "8");
	assert_int_equal(cursor_u64_base(&c, 8, 0777, &v), -EINVAL);

	cursor_init_str(&c, "ab,cd");
	assert_int_equal(cursor_token(&c, ",", &tok, &n), 0);
	assert_int_equal(n, 2);
	assert_true(cursor_eat(&c, ','));
	assert_int_equal(cursor_token(&c, ",", &tok, &n), 0);
	assert_memory_equal(tok, "cd", 2);
	assert_true(cursor_eof(&c));
	assert_int_equal(cursor_token(&c, ",", &tok, &n), -EINVAL);
	cursor_init_str(&c, "Yes");
	assert_true(cursor_eat_ci(&c, "yES"));
	assert_true(cursor_eof(&c));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u64_strict),
		cmocka_unit_test(test_octal_and_tokens),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
