/* test_hours.c - login_hours parser and matcher (src/auth/hours.c). */
#include "cm.h"

#include <string.h>

#include "auth/hours.h"

enum { SUN, MON, TUE, WED, THU, FRI, SAT };

static int
ok(const char *spec, struct hours *h)
{
	const char *err = NULL;
	int r = hours_parse(spec, strlen(spec), h, &err);

	if (r < 0)
		assert_non_null(err);
	return r;
}

#define AT(h, d, hh, mm) hours_allowed(h, d, (hh)*60 + (mm))

static void
test_weekdays(void **state)
{
	struct hours h;

	(void)state;
	assert_int_equal(ok("Mon-Fri 08:00-18:00,Sat 09:00-12:00", &h), 0);
	assert_true(AT(&h, MON, 8, 0));
	assert_true(AT(&h, FRI, 17, 59));
	assert_false(AT(&h, FRI, 18, 0));
	assert_false(AT(&h, MON, 7, 59));
	assert_true(AT(&h, SAT, 11, 59));
	assert_false(AT(&h, SAT, 12, 0));
	assert_false(AT(&h, SUN, 10, 0));
	/* ';' between windows too, any case, blanks around */
	assert_int_equal(ok("  mon 08:00-09:00 ; SAT 09:00-12:00 ", &h), 0);
	assert_true(AT(&h, MON, 8, 30));
	assert_true(AT(&h, SAT, 9, 0));
	assert_false(AT(&h, TUE, 8, 30));
}

static void
test_wrap(void **state)
{
	struct hours h;

	(void)state;
	/* past midnight into the next day */
	assert_int_equal(ok("Fri 22:00-02:00", &h), 0);
	assert_true(AT(&h, FRI, 23, 59));
	assert_true(AT(&h, SAT, 1, 59));
	assert_false(AT(&h, SAT, 2, 0));
	assert_false(AT(&h, FRI, 21, 59));
	assert_false(AT(&h, THU, 23, 0));
	/* Saturday night runs into Sunday (the week wraps) */
	assert_int_equal(ok("Sat 23:00-01:00", &h), 0);
	assert_true(AT(&h, SUN, 0, 30));
	/* a day range across the week's end */
	assert_int_equal(ok("Fri-Mon", &h), 0);
	assert_true(AT(&h, FRI, 0, 0));
	assert_true(AT(&h, SUN, 12, 0));
	assert_true(AT(&h, MON, 23, 59));
	assert_false(AT(&h, TUE, 0, 0));
	assert_false(AT(&h, THU, 23, 59));
	/* hours alone: every day; 24:00 as the end */
	assert_int_equal(ok("12:00-24:00", &h), 0);
	assert_true(AT(&h, WED, 23, 59));
	assert_false(AT(&h, WED, 11, 59));
	assert_false(AT(&h, THU, 0, 0));
	assert_int_equal(ok("00:00-24:00", &h), 0);
	assert_true(AT(&h, SUN, 0, 0));
	assert_true(AT(&h, SAT, 23, 59));
}

static void
test_hostile(void **state)
{
	static const char *const bad[] = { "", " ", ",", "Mon,", ",Mon",
		"Mon,,Tue", "Monday", "Mo", "Mon-", "-Mon", "Mon-Xyz",
		"Mon 8:00-9:00", "Mon 08:00", "Mon 08:00-", "Mon 08:60-09:00",
		"Mon 25:00-26:00", "Mon 24:00-01:00", "Mon 24:01-01:00",
		"Mon 08:00-24:01", "Mon 08:00-08:00", "Mon 08:00-09:00x",
		"Mon 08:00 09:00", "Mon 08:00--09:00", "Mon 0a:00-09:00",
		"Mon 08:00-09:00 Tue", "Mon\t08:00-09:00\n", "Mon|Tue",
		"08:00-09:00-10:00", "Mon 99999999999999999999:00-01:00",
		"Mon -08:00-09:00", "+08:00-09:00", "Mon\x80",
		"Mon 08:00-09:00,", "Mon:08:00-09:00" };
	struct hours h;
	char big[KF_LOGIN_HOURS_MAX + 2];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (ok(bad[i], &h) != -1)
			fail_msg("accepted: \"%s\"", bad[i]);
	}
	/* an embedded NUL is a bad byte, not the end */
	{
		const char *err = NULL;
		assert_int_equal(hours_parse("Mon\0Tue", 7, &h, &err), -1);
	}
	/* too long, too many windows */
	memset(big, 0, sizeof(big));
	for (i = 0; i + 4 <= KF_LOGIN_HOURS_MAX + 1; i += 4)
		memcpy(big + i, "Mon,", 4);
	big[KF_LOGIN_HOURS_MAX + 1] = '\0';
	assert_int_equal(ok(big, &h), -1);
	assert_int_equal(
	    ok("Mon,Tue,Wed,Thu,Fri,Sat,Sun,Mon,Tue,Wed,Thu,Fri,Sat,Sun,Mon,Tue",
		&h),
	    0);
	assert_int_equal(
	    ok("Mon,Tue,Wed,Thu,Fri,Sat,Sun,Mon,Tue,Wed,Thu,Fri,Sat,Sun,Mon,Tue,"
	       "Wed",
		&h),
	    -1);
}

static void
test_matcher_bounds(void **state)
{
	struct hours h;

	(void)state;
	assert_int_equal(ok("00:00-24:00", &h), 0);
	assert_false(hours_allowed(&h, -1, 0));
	assert_false(hours_allowed(&h, 7, 0));
	assert_false(hours_allowed(&h, 0, -1));
	assert_false(hours_allowed(&h, 0, 1440));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_weekdays),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_matcher_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
