/*
 * rate.c - the token bucket of rate.h: refilled by elapsed time, in
 * thousandths of a token so that low rates still refill, never above
 * the burst (so a long quiet spell cannot bank an unbounded burst).
 * Runs in: monitor, listener. Pure.
 */
#include "rate.h"

int
rate_take(struct rate *r, int64_t now_ms, unsigned per_s, unsigned burst)
{
	uint64_t cap = (uint64_t)burst * 1000, add;

	if (!r->started || now_ms < r->last_ms) {
		r->started = 1;
		r->milli = cap;
		r->last_ms = now_ms;
	}
	if (now_ms > r->last_ms) {
		/* cap ms refill everything (per_s >= 1): no overflow */
		add = (uint64_t)(now_ms - r->last_ms);
		add = per_s == 0 ? 0 : add > cap ? cap : add * per_s;
		r->milli = add > cap - r->milli ? cap : r->milli + add;
		r->last_ms = now_ms;
	}
	if (r->milli < 1000)
		return 0;
	r->milli -= 1000;
	return 1;
}
