/*
 * pace.h - smooth rate limiting for transfers: a token bucket that
 * holds KF_PACE_SLICE_MS worth of bytes, kept as the time at
 * which the bucket would be full again (the "theoretical arrival time"
 * form of the same bucket: no token counter to overflow, exact in
 * nanoseconds). Pure: the caller passes the clock, so the unit tests
 * drive it with an injected time.
 * Runs in: post-login worker (xfer.c); unit tests.
 */
#ifndef KF_PACE_H
#define KF_PACE_H

#include <stddef.h>
#include <stdint.h>

struct pace {
	uint64_t rate; /* bytes per second; 0: unlimited */
	int64_t tat_ns; /* when the bucket is full again */
	uint64_t rem; /* carried remainder of n * 1e9 / rate */
};

/* A bucket for rate bytes/s (0: no limit), full at now_ns. */
void pace_init(struct pace *, uint64_t rate, int64_t now_ns);
/*
 * Most bytes to move at once: rate / (1000 / KF_PACE_SLICE_MS), at
 * least 1, at most max (max when unlimited).
 */
size_t pace_slice(const struct pace *, size_t max);
/* Nanoseconds to wait at now_ns before the next block may go (0: now). */
int64_t pace_delay(const struct pace *, int64_t now_ns);
/* n bytes went at now_ns: take them from the bucket. */
void pace_spend(struct pace *, int64_t now_ns, size_t n);

#endif
