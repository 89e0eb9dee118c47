/*
 * test_bantab.c - the listener's address table with an injected clock
 * (every call takes "now" in ms): rate windows, failures to a ban, ban
 * expiry, admin bans and lifts, recency eviction that spares bans,
 * address keys.
 */
#include "cm.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "common/limits.h"
#include "priv/bantab.h"

static const unsigned char key[BANTAB_KEYBYTES] = "0123456789abcdef";

static struct bantab_addr
ip(const char *s)
{
	struct bantab_addr a;

	assert_int_equal(bantab_addr_parse(s, &a), 0);
	return a;
}

/* 10.0.x.y for i = x * 256 + y */
static struct bantab_addr
nth(unsigned i)
{
	struct bantab_addr a;

	memset(&a, 0, sizeof(a));
	a.family = 4;
	a.a[0] = 10;
	a.a[2] = (uint8_t)(i >> 8);
	a.a[3] = (uint8_t)i;
	return a;
}

static void
test_rate_window(void **state)
{
	struct bantab_policy p = { .rate_max = 3, .rate_window_ms = 1000 };
	struct bantab *t = bantab_new(16, key);
	struct bantab_addr a = ip("192.0.2.1"), b = ip("192.0.2.2");
	int i;

	assert_non_null(t);
	for (i = 0; i < 3; i++)
		assert_int_equal(bantab_connect(t, &p, &a, 100 + i),
		    BANTAB_PASS);
	assert_int_equal(bantab_connect(t, &p, &a, 200), BANTAB_RATE);
	assert_int_equal(bantab_connect(t, &p, &a, 1099), BANTAB_RATE);
	/* another address has its own count */
	assert_int_equal(bantab_connect(t, &p, &b, 500), BANTAB_PASS);
	/* the window (started at 100) is over at 1100 */
	assert_int_equal(bantab_connect(t, &p, &a, 1100), BANTAB_PASS);
	assert_int_equal(bantab_connect(t, &p, &a, 1101), BANTAB_PASS);
	assert_int_equal(bantab_connect(t, &p, &a, 1102), BANTAB_PASS);
	assert_int_equal(bantab_connect(t, &p, &a, 1103), BANTAB_RATE);
	assert_int_equal(bantab_count(t), 2);
	bantab_free(t);
}

static void
test_rate_off_adds_nothing(void **state)
{
	struct bantab_policy p = { 0 };
	struct bantab *t = bantab_new(4, key);
	struct bantab_addr a = ip("192.0.2.1");
	int i;

	for (i = 0; i < 100; i++)
		assert_int_equal(bantab_connect(t, &p, &a, i), BANTAB_PASS);
	assert_int_equal(bantab_count(t), 0);
	assert_int_equal(bantab_fail(t, &p, &a, 5), 0);
	assert_int_equal(bantab_count(t), 0);
	bantab_free(t);
}

static void
test_failures_ban_and_expire(void **state)
{
	struct bantab_policy p = { .ban_failures = 3,
		.ban_window_ms = 10000,
		.ban_ms = 60000 };
	struct bantab *t = bantab_new(16, key);
	struct bantab_addr a = ip("2001:db8::7");
	struct bantab_ban list[4];
	size_t expired;

	assert_int_equal(bantab_fail(t, &p, &a, 0), 0);
	assert_int_equal(bantab_fail(t, &p, &a, 9000), 0);
	/* the window started at 0: this failure starts a new one */
	assert_int_equal(bantab_fail(t, &p, &a, 10000), 0);
	assert_int_equal(bantab_connect(t, &p, &a, 10001), BANTAB_PASS);
	assert_int_equal(bantab_fail(t, &p, &a, 10002), 0);
	assert_int_equal(bantab_fail(t, &p, &a, 10003), 1);
	assert_int_equal(bantab_nbanned(t), 1);
	assert_int_equal(bantab_connect(t, &p, &a, 10004), BANTAB_BANNED);
	/* failures while banned do not start another ban */
	assert_int_equal(bantab_fail(t, &p, &a, 10005), 0);
	assert_int_equal(bantab_list(t, 10006, list, 4), 1);
	assert_memory_equal(&list[0].addr, &a, sizeof(a));
	assert_true(list[0].until_ms == 70003);
	assert_int_equal(bantab_expire(t, 70002, NULL, NULL), 0);
	assert_int_equal(bantab_connect(t, &p, &a, 70002), BANTAB_BANNED);
	/* over at until_ms, even before the sweep ran */
	assert_int_equal(bantab_connect(t, &p, &a, 70003), BANTAB_PASS);
	expired = bantab_expire(t, 70003, NULL, NULL);
	assert_int_equal(expired, 1);
	assert_int_equal(bantab_nbanned(t), 0);
	assert_int_equal(bantab_list(t, 70004, list, 4), 0);
	/* the count starts again from zero after a ban */
	assert_int_equal(bantab_fail(t, &p, &a, 70005), 0);
	assert_int_equal(bantab_fail(t, &p, &a, 70006), 0);
	assert_int_equal(bantab_fail(t, &p, &a, 70007), 1);
	bantab_free(t);
}

static void
count_cb(const struct bantab_addr *a, void *arg)
{
	(void)a;
	(*(int *)arg)++;
}

static void
test_admin_ban_unban(void **state)
{
	struct bantab_policy p = { 0 };
	struct bantab *t = bantab_new(8, key);
	struct bantab_addr a = ip("198.51.100.9"), b = ip("198.51.100.10");
	int calls = 0;

	bantab_ban(t, &a, 1000, 5000);
	bantab_ban(t, &b, 1000, 9000);
	assert_int_equal(bantab_connect(t, &p, &a, 2000), BANTAB_BANNED);
	assert_int_equal(bantab_unban(t, &a), 1);
	assert_int_equal(bantab_unban(t, &a), 0);
	assert_int_equal(bantab_connect(t, &p, &a, 2001), BANTAB_PASS);
	assert_int_equal(bantab_connect(t, &p, &b, 2002), BANTAB_BANNED);
	/* a second ban replaces the first one's end */
	bantab_ban(t, &b, 3000, 1000);
	assert_int_equal(bantab_expire(t, 4000, count_cb, &calls), 1);
	assert_int_equal(calls, 1);
	bantab_ban(t, &a, 5000, 1000);
	bantab_ban(t, &b, 5000, 1000);
	assert_int_equal(bantab_unban_all(t), 2);
	assert_int_equal(bantab_nbanned(t), 0);
	assert_int_equal(bantab_connect(t, &p, &b, 5001), BANTAB_PASS);
	bantab_free(t);
}

static void
test_eviction_spares_bans(void **state)
{
	struct bantab_policy p = { .rate_max = 1, .rate_window_ms = 100000 };
	struct bantab *t = bantab_new(8, key);
	struct bantab_addr banned = ip("203.0.113.1");
	unsigned i;

	bantab_ban(t, &banned, 0, 1000000);
	/* a flood of fresh addresses fills the table many times over */
	for (i = 0; i < 1000; i++) {
		struct bantab_addr a = nth(i);

		assert_int_equal(bantab_connect(t, &p, &a, 1 + i), BANTAB_PASS);
	}
	assert_int_equal(bantab_count(t), 8);
	assert_int_equal(bantab_connect(t, &p, &banned, 2000), BANTAB_BANNED);
	assert_int_equal(bantab_evicted_bans(t), 0);
	bantab_free(t);
}

static void
test_eviction_is_by_recency(void **state)
{
	struct bantab_policy p = { .rate_max = 1, .rate_window_ms = 100000 };
	struct bantab *t = bantab_new(4, key);
	struct bantab_addr a0 = nth(0);
	unsigned i;

	for (i = 0; i < 4; i++) {
		struct bantab_addr a = nth(i);

		assert_int_equal(bantab_connect(t, &p, &a, i), BANTAB_PASS);
	}
	/* a0 seen again (over its rate): the most recent now */
	assert_int_equal(bantab_connect(t, &p, &a0, 10), BANTAB_RATE);
	{
		struct bantab_addr a4 = nth(4), a1 = nth(1);

		/* a4 pushes out a1, the least recently seen, not a0 */
		assert_int_equal(bantab_connect(t, &p, &a4, 11), BANTAB_PASS);
		assert_int_equal(bantab_connect(t, &p, &a0, 12), BANTAB_RATE);
		/* a1 was forgotten: a fresh count */
		assert_int_equal(bantab_connect(t, &p, &a1, 13), BANTAB_PASS);
	}
	assert_int_equal(bantab_count(t), 4);
	bantab_free(t);
}

static void
test_full_of_bans(void **state)
{
	struct bantab *t = bantab_new(4, key);
	struct bantab_policy p = { 0 };
	struct bantab_ban list[8];
	unsigned i;

	for (i = 0; i < 6; i++) {
		struct bantab_addr a = nth(i);

		bantab_ban(t, &a, 0, 1000);
	}
	assert_int_equal(bantab_nbanned(t), 4);
	assert_int_equal(bantab_evicted_bans(t), 2);
	assert_int_equal(bantab_list(t, 1, list, 8), 4);
	{
		struct bantab_addr a0 = nth(0), a5 = nth(5);

		assert_int_equal(bantab_connect(t, &p, &a0, 1), BANTAB_PASS);
		assert_int_equal(bantab_connect(t, &p, &a5, 1), BANTAB_BANNED);
	}
	/* list output is bounded by its caller's array */
	assert_int_equal(bantab_list(t, 1, list, 2), 2);
	bantab_free(t);
}

static void
test_many_entries(void **state)
{
	struct bantab_policy p = { .rate_max = 2,
		.rate_window_ms = 1000,
		.ban_failures = 2,
		.ban_window_ms = 1000,
		.ban_ms = 1000 };
	struct bantab *t = bantab_new(KF_BANTAB_MAX, key);
	unsigned i;

	assert_non_null(t);
	for (i = 0; i < 3 * KF_BANTAB_MAX; i++) {
		struct bantab_addr a = nth(i % 60000);

		(void)bantab_connect(t, &p, &a, i);
		(void)bantab_fail(t, &p, &a, i);
		if (i % 7 == 0)
			(void)bantab_expire(t, i, NULL, NULL);
	}
	assert_true(bantab_count(t) <= KF_BANTAB_MAX);
	assert_null(bantab_new(0, key));
	assert_null(bantab_new(KF_BANTAB_MAX + 1, key));
	bantab_free(t);
}

static void
test_addresses(void **state)
{
	struct bantab_addr a, b;
	struct sockaddr_storage ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	char s[BANTAB_ADDR_STR];

	assert_int_equal(bantab_addr_parse("192.0.2.1", &a), 0);
	assert_int_equal(a.family, 4);
	bantab_addr_to_str(&a, s, sizeof(s));
	assert_string_equal(s, "192.0.2.1");
	/* a v4-mapped peer is the same key as the IPv4 address */
	memset(&ss, 0, sizeof(ss));
	s6->sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, "::ffff:192.0.2.1",
			     &s6->sin6_addr),
	    1);
	assert_int_equal(bantab_addr_from_sockaddr(&ss, &b), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(bantab_addr_parse("2001:DB8::1", &a), 0);
	bantab_addr_to_str(&a, s, sizeof(s));
	assert_string_equal(s, "2001:db8::1");
	assert_int_equal(bantab_addr_parse("192.0.2.1/24", &a), -EINVAL);
	assert_int_equal(bantab_addr_parse("", &a), -EINVAL);
	assert_int_equal(bantab_addr_parse("host.example", &a), -EINVAL);
	assert_int_equal(bantab_addr_parse("1.2.3.4 ", &a), -EINVAL);
	ss.ss_family = AF_UNIX;
	assert_int_equal(bantab_addr_from_sockaddr(&ss, &a), -EINVAL);
}

/*
 * `keepftpd upgrade`: a table exported and imported into one with
 * another key keeps its bans, failure counts, rate windows and recency.
 */
static void
test_export_import(void **state)
{
	static const unsigned char key2[BANTAB_KEYBYTES] = "fedcba9876543210";
	struct bantab_policy p = { .rate_max = 2,
		.rate_window_ms = 1000,
		.ban_failures = 2,
		.ban_window_ms = 1000,
		.ban_ms = 5000 };
	struct bantab *t = bantab_new(4, key), *u = bantab_new(4, key2);
	struct bantab_rec r[8], bad;
	struct bantab_addr a = ip("192.0.2.1"), b = ip("2001:db8::2"),
			   c = ip("192.0.2.3"), d = ip("192.0.2.4"),
			   e = ip("192.0.2.5");
	size_t n, i;

	(void)state;
	assert_non_null(t);
	assert_non_null(u);
	bantab_ban(t, &a, 0, 5000);
	assert_int_equal(bantab_connect(t, &p, &b, 10), BANTAB_PASS);
	assert_int_equal(bantab_connect(t, &p, &b, 11), BANTAB_PASS);
	assert_int_equal(bantab_fail(t, &p, &c, 12), 0);
	assert_int_equal(bantab_connect(t, &p, &d, 13), BANTAB_PASS);
	n = bantab_export(t, r, 8);
	assert_int_equal(n, 4);
	for (i = 0; i < n; i++)
		assert_int_equal(bantab_import(u, &r[i]), 0);
	assert_int_equal(bantab_nbanned(u), 1);
	assert_int_equal(bantab_connect(u, &p, &a, 100), BANTAB_BANNED);
	/* b's window (2 of 2) goes on: the third is over the rate */
	assert_int_equal(bantab_connect(u, &p, &b, 100), BANTAB_RATE);
	/* c had one failure: the second bans */
	assert_int_equal(bantab_fail(u, &p, &c, 100), 1);
	/* recency carried over: b was seen at 100, d last before the
	 * upgrade; the table is full, so e pushes out d, and b keeps its
	 * window (the next is over the rate) */
	assert_int_equal(bantab_connect(u, &p, &e, 200), BANTAB_PASS);
	assert_int_equal(bantab_connect(u, &p, &b, 201), BANTAB_RATE);
	assert_int_equal(bantab_connect(u, &p, &d, 202), BANTAB_PASS);
	memset(&bad, 0, sizeof(bad));
	bad.addr.family = 5;
	assert_int_equal(bantab_import(u, &bad), -EINVAL);
	bad.addr.family = 4;
	bad.addr.a[15] = 1;
	assert_int_equal(bantab_import(u, &bad), -EINVAL);
	bantab_free(t);
	bantab_free(u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_window),
		cmocka_unit_test(test_rate_off_adds_nothing),
		cmocka_unit_test(test_failures_ban_and_expire),
		cmocka_unit_test(test_admin_ban_unban),
		cmocka_unit_test(test_eviction_spares_bans),
		cmocka_unit_test(test_eviction_is_by_recency),
		cmocka_unit_test(test_full_of_bans),
		cmocka_unit_test(test_many_entries),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_export_import),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
