/*
 * rate.h - a token bucket: at most `burst` events at once, refilled at
 * `per_s` events a second. Pure: the caller passes the time.
 * Runs in: monitor (log channels), listener (report channel).
 */
#ifndef KF_RATE_H
#define KF_RATE_H

#include <stdint.h>

struct rate {
	int64_t last_ms; /* last refill */
	uint64_t milli; /* tokens, in thousandths */
	int started;
};

/* 1 when one more event may pass now (and takes its token), else 0. */
int rate_take(struct rate *, int64_t now_ms, unsigned per_s, unsigned burst);

#endif
