/*
 * pace.c - the transfer rate limiter (see pace.h), in the form of the
 * generic cell rate algorithm: tat_ns is the time at which everything
 * sent so far would have gone at exactly the rate. A block may go when
 * tat_ns is at most KF_PACE_SLICE_MS ahead of the clock, and moves
 * tat_ns on by its cost. So a transfer runs at most a slice (plus the
 * block in hand) ahead of its rate, a wait that ends a little late
 * loses nothing, a block that costs more than a slice simply makes the
 * next one wait longer, and time spent blocked on the network earns no
 * credit beyond that, so a paced transfer never bursts the whole file
 * and then sleeps.
 * Runs in: post-login worker; unit tests.
 */
#include "../common/limits.h"
#include "pace.h"

#define NS_PER_S 1000000000ULL
#define TAU_NS	 ((int64_t)KF_PACE_SLICE_MS * 1000000)

void
pace_init(struct pace *p, uint64_t rate, int64_t now_ns)
{
	p->rate = rate;
	p->tat_ns = now_ns;
	p->rem = 0;
}

size_t
pace_slice(const struct pace *p, size_t max)
{
	uint64_t s;

	if (p->rate == 0)
		return max;
	s = p->rate / (1000 / KF_PACE_SLICE_MS);
	if (s == 0)
		s = 1;
	return s < max ? (size_t)s : max;
}

/*
 * Time n bytes take at the rate, ns, and the remainder of that
 * division; n is at most a chunk (KF_XFER_CHUNK), so n * 1e9 fits.
 */
static int64_t
cost_ns(const struct pace *p, size_t n, uint64_t *rem)
{
	uint64_t num = (uint64_t)n * NS_PER_S + p->rem;

	*rem = num % p->rate;
	return (int64_t)(num / p->rate);
}

static int64_t
start_of(const struct pace *p, int64_t now_ns)
{
	return p->tat_ns > now_ns ? p->tat_ns : now_ns;
}

int64_t
pace_delay(const struct pace *p, int64_t now_ns)
{
	int64_t d;

	if (p->rate == 0)
		return 0;
	d = p->tat_ns - TAU_NS - now_ns;
	return d > 0 ? d : 0;
}

void
pace_spend(struct pace *p, int64_t now_ns, size_t n)
{
	uint64_t rem;
	int64_t c;

	if (p->rate == 0)
		return;
	c = cost_ns(p, n, &rem);
	p->tat_ns = start_of(p, now_ns) + c;
	p->rem = rem;
}
