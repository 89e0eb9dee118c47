/*
 * ascii.c - TYPE A conversion, LF <-> CRLF, streaming over chunks.
 * Pure: no syscalls, no allocation; see ascii.h for the rules.
 * Runs in: post-login worker.
 */
#include <string.h>

#include "ascii.h"

void
ascii_init(struct ascii_state *st)
{
	st->to_net_cr = 0;
	st->from_net_cr = 0;
}

static size_t
min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* Copies the n > 0 bytes of in up to the first c; returns how many. */
static size_t
copy_until(const char *in, size_t n, int c, char *out)
{
	const char *hit;
	size_t k;

	hit = memchr(in, c, n);
	k = hit != NULL ? (size_t)(hit - in) : n;
	memcpy(out, in, k);
	return k;
}

/* An LF to the net, room >= 1: CRLF unless the CR came just before. */
static size_t
put_lf(const struct ascii_state *st, char *out, size_t room)
{
	if (st->to_net_cr) {
		out[0] = '\n';
		return 1;
	}
	if (room < 2)
		return 0;
	out[0] = '\r';
	out[1] = '\n';
	return 2;
}

size_t
ascii_to_net(struct ascii_state *st, const char *in, size_t inlen,
    size_t *consumed, char *out, size_t outcap)
{
	size_t i = 0, o = 0, k;

	while (i < inlen && o < outcap) {
		k = copy_until(in + i, min_sz(inlen - i, outcap - o), '\n',
		    out + o);
		if (k > 0) {
			st->to_net_cr = in[i + k - 1] == '\r';
			i += k;
			o += k;
			continue;
		}
		if ((k = put_lf(st, out + o, outcap - o)) == 0)
			break;
		st->to_net_cr = 0;
		i++;
		o += k;
	}
	*consumed = i;
	return o;
}

/*
 * The held-back CR meets byte c: CRLF gives LF (c taken, returns 1);
 * any other c keeps the CR and stays to be read (returns 0).
 */
static size_t
release_cr(struct ascii_state *st, char c, char *out)
{
	st->from_net_cr = 0;
	out[0] = c == '\n' ? '\n' : '\r';
	return c == '\n';
}

size_t
ascii_from_net(struct ascii_state *st, const char *in, size_t inlen,
    size_t *consumed, char *out, size_t outcap)
{
	size_t i = 0, o = 0, k;

	while (i < inlen && o < outcap) {
		if (st->from_net_cr) {
			i += release_cr(st, in[i], out + o);
			o++;
			continue;
		}
		if (in[i] == '\r') {
			st->from_net_cr = 1;
			i++;
			continue;
		}
		k = copy_until(in + i, min_sz(inlen - i, outcap - o), '\r',
		    out + o);
		i += k;
		o += k;
	}
	*consumed = i;
	return o;
}

size_t
ascii_from_net_end(struct ascii_state *st, char *out, size_t outcap)
{
	if (!st->from_net_cr || outcap == 0)
		return 0;
	st->from_net_cr = 0;
	out[0] = '\r';
	return 1;
}
