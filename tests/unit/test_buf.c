/*
 * test_buf.c - the bounded buffer never grows past its maximum, and a
 * failed grow leaves it as it was. reallocarray is wrapped at link time
 * (tests/unit/meson.build) so that a test can make it fail.
 */
#include "cm.h"
#include <string.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/buf.h"
#include "common/grow.h"

void *__real_reallocarray(void *, size_t, size_t);
void *__wrap_reallocarray(void *, size_t, size_t);

static int realloc_fail; /* the next call fails */
static unsigned realloc_calls;

void *
__wrap_reallocarray(void *p, size_t m, size_t n)
{
	realloc_calls++;
	if (realloc_fail) {
		realloc_fail = 0;
		errno = ENOMEM;
		return NULL;
	}
	return __real_reallocarray(p, m, n);
}

/* grow_array: doubling, the cap, and nothing changed by a failure. */
static void
test_grow_array(void **state)
{
	size_t cap = 0;
	int *v = NULL, *before;

	assert_int_equal(grow_array(&v, &cap, 1, sizeof(*v), 4, 100), 0);
	assert_non_null(v);
	assert_int_equal(cap, 4);
	assert_int_equal(grow_array(&v, &cap, 4, sizeof(*v), 4, 100), 0);
	assert_int_equal(cap, 4);
	assert_int_equal(grow_array(&v, &cap, 5, sizeof(*v), 4, 100), 0);
	assert_int_equal(cap, 8);
	assert_int_equal(grow_array(&v, &cap, 70, sizeof(*v), 4, 100), 0);
	assert_int_equal(cap, 100); /* 8, 16, 32, 64, then the cap */
	assert_int_equal(grow_array(&v, &cap, 101, sizeof(*v), 4, 100), -E2BIG);
	assert_int_equal(cap, 100);
	before = v;
	realloc_fail = 1;
	assert_int_equal(grow_array(&v, &cap, 101, sizeof(*v), 4, 200),
	    -ENOMEM);
	assert_ptr_equal(v, before);
	assert_int_equal(cap, 100);
	/* an element count whose byte size overflows: refused, not wrapped */
	assert_int_equal(grow_array(&v, &cap, SIZE_MAX / 2, sizeof(*v), 4,
			     SIZE_MAX),
	    -ENOMEM);
	assert_int_equal(cap, 100);
	free(v);
	v = NULL;
	cap = 0;
	assert_int_equal(grow_array(&v, &cap, 3, 1, 0, 10), 0);
	assert_int_equal(cap, 4);
	free(v);
}

static void
test_append_within_max(void **state)
{
	struct buf *b = buf_new(8);

	assert_non_null(b);
	assert_int_equal(buf_append(b, "abcd", 4), 0);
	assert_int_equal(buf_append(b, "efgh", 4), 0);
	assert_int_equal(buf_len(b), 8);
	assert_int_equal(buf_room(b), 0);
	assert_string_equal(buf_cstr(b), "abcdefgh");
	assert_int_equal(buf_append(b, "i", 1), -ENOSPC);
	assert_int_equal(buf_len(b), 8);
	buf_free(b);
}

static void
test_appendf_overflow(void **state)
{
	struct buf *b = buf_new(10);

	assert_int_equal(buf_appendf(b, "%d-%s", 42, "xy"), 0);
	assert_string_equal(buf_cstr(b), "42-xy");
	assert_int_equal(buf_appendf(b, "%s", "123456"), -ENOSPC);
	assert_string_equal(buf_cstr(b), "42-xy");
	assert_int_equal(buf_appendf(b, "%s", "12345"), 0);
	assert_int_equal(buf_len(b), 10);
	buf_free(b);
}

static void
test_consume_and_huge(void **state)
{
	struct buf *b = buf_new(100);

	buf_append_str(b, "hello world");
	buf_consume(b, 6);
	assert_string_equal(buf_cstr(b), "world");
	buf_consume(b, 100);
	assert_int_equal(buf_len(b), 0);
	/* a length that would wrap size_t arithmetic is refused */
	assert_int_equal(buf_append(b, "x", (size_t)-1), -ENOSPC);
	buf_free(b);
	assert_null(buf_new(0));
	assert_null(buf_new((size_t)1 << 31));
}

static void
test_grows_to_exact_max(void **state)
{
	struct buf *b = buf_new(1000);
	char chunk[100];
	int i;

	memset(chunk, 'z', sizeof(chunk));
	for (i = 0; i < 10; i++)
		assert_int_equal(buf_append(b, chunk, sizeof(chunk)), 0);
	assert_int_equal(buf_len(b), 1000);
	assert_int_equal(strlen(buf_cstr(b)), 1000);
	buf_free(b);
}

/*
 * A grow whose realloc fails keeps the old capacity: the next append
 * must grow the real block again, not write past it (the capacity used
 * to be doubled before realloc was known to succeed).
 */
static void
test_failed_grow_keeps_capacity(void **state)
{
	struct buf *b = buf_new(100000);
	char chunk[100];
	unsigned calls;

	memset(chunk, 'y', sizeof(chunk));
	assert_int_equal(buf_append(b, "0123456789", 10), 0);
	realloc_fail = 1;
	assert_int_equal(buf_append(b, chunk, sizeof(chunk)), -ENOMEM);
	assert_int_equal(buf_len(b), 10);
	assert_string_equal(buf_cstr(b), "0123456789");
	calls = realloc_calls;
	assert_int_equal(buf_append(b, chunk, sizeof(chunk)), 0);
	assert_true(realloc_calls > calls);
	assert_int_equal(buf_len(b), 110);
	assert_memory_equal(buf_cstr(b) + 10, chunk, sizeof(chunk));
	buf_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grow_array),
		cmocka_unit_test(test_append_within_max),
		cmocka_unit_test(test_appendf_overflow),
		cmocka_unit_test(test_consume_and_huge),
		cmocka_unit_test(test_grows_to_exact_max),
		cmocka_unit_test(test_failed_grow_keeps_capacity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
