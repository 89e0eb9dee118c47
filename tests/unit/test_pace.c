/*
 * test_pace.c - the transfer pacer with an injected clock: the average
 * rate over a simulated transfer, the size of slices, no credit beyond
 * one slice after idling, unlimited and tiny rates.
 */
#include "cm.h"
#include <stdint.h>

#include "common/limits.h"
#include "fs/pace.h"

#define MS  1000000LL
#define S   1000000000LL
#define TAU (KF_PACE_SLICE_MS * MS) /* the bucket: one slice */

/*
 * Moves total bytes at rate with a sender that always has data and a
 * network that takes each slice at once; each wait is overslept by
 * late_ns (poll granularity). Returns the simulated nanoseconds until
 * the last byte has gone and its time at the rate has passed.
 */
static int64_t
simulate(uint64_t rate, uint64_t total, int64_t late_ns, size_t *max_slice)
{
	struct pace p;
	int64_t now = 1000 * S, t0 = now, d;
	size_t n;

	pace_init(&p, rate, now);
	*max_slice = 0;
	while (total > 0) {
		n = pace_slice(&p, KF_XFER_CHUNK);
		if (n > total)
			n = (size_t)total;
		if ((d = pace_delay(&p, now)) > 0) {
			now += d + late_ns;
			assert_int_equal(pace_delay(&p, now), 0);
		}
		/* never more than a slice ahead of the rate */
		assert_true(p.tat_ns - now <= TAU);
		pace_spend(&p, now, n);
		if (n > *max_slice)
			*max_slice = n;
		total -= n;
	}
	return (p.tat_ns > now ? p.tat_ns : now) - t0;
}

static void
test_average_rate(void **state)
{
	static const uint64_t rates[] = { 1000, 65536, 1 << 20, 8 << 20,
		123456789, 1000000000 };
	size_t i, slice;
	uint64_t total;
	int64_t took, want;

	(void)state;
	for (i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		total = rates[i] * 4; /* four seconds' worth */
		took = simulate(rates[i], total, 0, &slice);
		want = 4 * S;
		assert_true(took >= want - 1 && took <= want + 1);
		/* slices of 1/20 s, never the whole file */
		assert_true(slice <= rates[i] / 20 + 1 || slice == 1);
		assert_true(slice <= KF_XFER_CHUNK);
	}
}

static void
test_oversleeping_loses_no_rate(void **state)
{
	size_t slice;
	int64_t took;

	(void)state;
	/* each wait 1 ms late (poll rounding): still 4 s for 4 s of data */
	took = simulate(1 << 20, 4 << 20, MS, &slice);
	assert_true(took >= 4 * S - 1 && took <= 4 * S + 2 * MS);
}

static void
test_no_credit_after_idle(void **state)
{
	struct pace p;
	int64_t now = 5 * S;
	size_t n;

	(void)state;
	pace_init(&p, 1000000, now);
	n = pace_slice(&p, KF_XFER_CHUNK);
	assert_int_equal(n, 1000000 / (1000 / KF_PACE_SLICE_MS));
	pace_spend(&p, now, n);
	/* a minute blocked on the network earns two slices, not a minute */
	now += 60 * S;
	assert_int_equal(pace_delay(&p, now), 0);
	pace_spend(&p, now, n);
	assert_int_equal(pace_delay(&p, now), 0);
	pace_spend(&p, now, n);
	assert_int_equal(pace_delay(&p, now), KF_PACE_SLICE_MS * MS);
}

static void
test_unlimited(void **state)
{
	struct pace p;

	(void)state;
	pace_init(&p, 0, 0);
	assert_int_equal(pace_slice(&p, 12345), 12345);
	assert_int_equal(pace_delay(&p, 0), 0);
	pace_spend(&p, 0, 1 << 30);
	assert_int_equal(pace_delay(&p, 0), 0);
}

static void
test_tiny_rate(void **state)
{
	struct pace p;
	int64_t now = 0;
	int i;

	(void)state;
	/* 3 bytes/s: slices of one byte, a third of a second apart */
	pace_init(&p, 3, now);
	assert_int_equal(pace_slice(&p, KF_XFER_CHUNK), 1);
	for (i = 0; i < 30; i++) {
		now += pace_delay(&p, now);
		assert_int_equal(pace_delay(&p, now), 0);
		pace_spend(&p, now, 1);
	}
	/* the 30th byte of 3/s goes after 29 bytes' time, less a slice */
	assert_true(now >= 29 * S / 3 - TAU - 1 && now <= 29 * S / 3 - TAU + 1);
	assert_true(p.tat_ns >= 10 * S - 1 && p.tat_ns <= 10 * S + 1);
}

static void
test_large_block_waits(void **state)
{
	struct pace p;

	(void)state;
	/* a block bigger than a slice goes, and the next one pays for it */
	pace_init(&p, 1000, 0);
	assert_int_equal(pace_delay(&p, 0), 0);
	pace_spend(&p, 0, 1050);
	assert_int_equal(pace_delay(&p, 0), S);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_average_rate),
		cmocka_unit_test(test_oversleeping_loses_no_rate),
		cmocka_unit_test(test_no_credit_after_idle),
		cmocka_unit_test(test_unlimited),
		cmocka_unit_test(test_tiny_rate),
		cmocka_unit_test(test_large_block_waits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
