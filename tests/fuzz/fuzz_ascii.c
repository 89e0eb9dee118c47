/*
 * fuzz_ascii.c - TYPE A conversion over random chunking. The first two
 * bytes seed the chunk and output sizes, the rest is the file. Both
 * directions, fed in pieces, give what the rules of ascii.h give for
 * the whole stream at once; a call with outcap >= ASCII_OUT_MIN always
 * makes progress and never writes past outcap; and from_net(to_net(x))
 * is x when x holds no CRLF (an existing CRLF goes out as is and comes
 * back as LF, by design).
 * Runs in: fuzz target only.
 */
#include <string.h>

#include "fs/ascii.h"
#include "fuzz.h"

struct rng {
	uint32_t s;
};

/* 1..max, from a xorshift generator seeded by the input. */
static size_t
pick(struct rng *r, size_t max)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 17;
	r->s ^= r->s << 5;
	return 1 + r->s % max;
}

/* Whole-stream reference of ascii_to_net; out has 2 * n bytes. */
static size_t
ref_to_net(const char *in, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
			out[o++] = '\r';
		out[o++] = in[i];
	}
	return o;
}

/* Whole-stream reference of ascii_from_net; out has n bytes. */
static size_t
ref_from_net(const char *in, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (in[i] == '\r' && i + 1 < n && in[i + 1] == '\n')
			continue;
		out[o++] = in[i];
	}
	return o;
}

typedef size_t convert(struct ascii_state *, const char *, size_t, size_t *,
    char *, size_t);

/* Feeds in through conv in random pieces into out (cap bytes). */
static size_t
chunked(convert *conv, int from_net, struct rng *r, const char *in, size_t n,
    char *out, size_t cap)
{
	struct ascii_state st;
	size_t i = 0, o = 0, k, oc, used, w;

	ascii_init(&st);
	while (i < n) {
		FUZZ_CHECK(o < cap); /* input left needs room left */
		k = pick(r, n - i < 64 ? n - i : 64);
		oc = pick(r, 64);
		if (oc > cap - o)
			oc = cap - o;
		w = conv(&st, in + i, k, &used, out + o, oc);
		FUZZ_CHECK(w <= oc && used <= k);
		if (oc >= ASCII_OUT_MIN)
			FUZZ_CHECK(used > 0);
		FUZZ_CHECK(oc > 0 || w == 0);
		i += used;
		o += w;
	}
	if (from_net)
		o += ascii_from_net_end(&st, out + o, cap - o);
	return o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in, *net, *ref, *back;
	struct rng r;
	size_t n, nn, rn, bn;

	if (size < 2)
		return 0;
	r.s = (uint32_t)data[0] << 8 | data[1] | 0x10000u;
	n = size - 2;
	in = malloc(n + 1);
	net = malloc(2 * n + 2);
	ref = malloc(2 * n + 2);
	back = malloc(2 * n + 2);
	if (in == NULL || net == NULL || ref == NULL || back == NULL)
		goto done;
	memcpy(in, data + 2, n);

	nn = chunked(ascii_to_net, 0, &r, in, n, net, ASCII_TO_NET_MAX(n));
	rn = ref_to_net(in, n, ref);
	FUZZ_CHECK(nn == rn && memcmp(net, ref, nn) == 0);

	bn = chunked(ascii_from_net, 1, &r, in, n, back, ASCII_FROM_NET_MAX(n));
	rn = ref_from_net(in, n, ref);
	FUZZ_CHECK(bn == rn && memcmp(back, ref, bn) == 0);

	bn = chunked(ascii_from_net, 1, &r, net, nn, back,
	    ASCII_FROM_NET_MAX(nn));
	if (memmem(in, n, "\r\n", 2) == NULL)
		FUZZ_CHECK(bn == n && memcmp(back, in, n) == 0);
done:
	free(in);
	free(net);
	free(ref);
	free(back);
	return 0;
}
