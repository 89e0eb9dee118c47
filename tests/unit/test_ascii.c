/* test_ascii.c - TYPE A conversion: vectors, chunk splits, small outputs. */
#include "cm.h"
#include <stdlib.h>
#include <string.h>

#include "fs/ascii.h"

#define BIG 20000

struct vec {
	const char *in;
	const char *out;
};

/* Local form to network form. */
static const struct vec to_net[] = {
	{ "", "" },
	{ "a", "a" },
	{ "\n", "\r\n" },
	{ "a\nb", "a\r\nb" },
	{ "\n\n", "\r\n\r\n" },
	{ "line\n", "line\r\n" },
	{ "a\r\nb", "a\r\nb" }, /* CRLF stays, no CRCRLF */
	{ "\r\n\r\n", "\r\n\r\n" },
	{ "\r", "\r" },
	{ "a\rb", "a\rb" },
	{ "\r\r\n", "\r\r\n" },
	{ "\n\r", "\r\n\r" },
	{ "x\ry\n", "x\ry\r\n" },
	{ "\r\n\n", "\r\n\r\n" },
	{ "one\ntwo\r\nthree\n", "one\r\ntwo\r\nthree\r\n" },
};

/* Network form to local form, the end of stream flushed. */
static const struct vec from_net[] = {
	{ "", "" },
	{ "a", "a" },
	{ "\r\n", "\n" },
	{ "a\r\nb", "a\nb" },
	{ "\r\n\r\n", "\n\n" },
	{ "a\rb", "a\rb" }, /* lone CR kept */
	{ "a\r", "a\r" }, /* CR at end of stream kept */
	{ "\r", "\r" },
	{ "\r\r", "\r\r" },
	{ "\r\r\n", "\r\n" },
	{ "\n", "\n" }, /* bare LF kept */
	{ "a\n\r\nb", "a\n\nb" },
	{ "\r\rx\r\n\r", "\r\rx\n\r" },
	{ "one\r\ntwo\r\n", "one\ntwo\n" },
};

#define NVEC(v) (sizeof(v) / sizeof((v)[0]))

/*
 * Feeds in as chunks of at most chunk bytes, giving each call at most
 * maxcap bytes of out (outsz in all).
 */
static size_t
run(int dir, const char *in, size_t len, size_t chunk, size_t maxcap, char *out,
    size_t outsz)
{
	struct ascii_state st;
	size_t i = 0, o = 0, n, used, cap;

	ascii_init(&st);
	while (i < len) {
		n = len - i < chunk ? len - i : chunk;
		cap = outsz - o < maxcap ? outsz - o : maxcap;
		if (dir)
			o += ascii_to_net(&st, in + i, n, &used, out + o, cap);
		else
			o += ascii_from_net(&st, in + i, n, &used, out + o,
			    cap);
		assert_true(used > 0); /* progress at cap >= 2 */
		assert_true(used <= n);
		i += used;
	}
	if (!dir)
		o += ascii_from_net_end(&st, out + o, outsz - o);
	return o;
}

/* Splits in at pos: two calls with whole-size outputs. */
static size_t
split(int dir, const char *in, size_t len, size_t pos, char *out)
{
	struct ascii_state st;
	size_t o, used;

	ascii_init(&st);
	if (dir) {
		o = ascii_to_net(&st, in, pos, &used, out, 2 * pos);
		assert_int_equal(used, pos);
		o += ascii_to_net(&st, in + pos, len - pos, &used, out + o,
		    ASCII_TO_NET_MAX(len - pos));
	} else {
		o = ascii_from_net(&st, in, pos, &used, out, pos + 1);
		assert_int_equal(used, pos);
		o += ascii_from_net(&st, in + pos, len - pos, &used, out + o,
		    ASCII_FROM_NET_MAX(len - pos));
		o += ascii_from_net_end(&st, out + o, 1);
	}
	assert_int_equal(used, len - pos);
	return o;
}

static void
check_vec(int dir, const struct vec *v)
{
	char out[64];
	size_t len = strlen(v->in), want = strlen(v->out), pos, n;

	for (pos = 0; pos <= len; pos++) {
		memset(out, 'Z', sizeof(out));
		n = split(dir, v->in, len, pos, out);
		assert_int_equal(n, want);
		assert_memory_equal(out, v->out, want);
	}
	/* one byte at a time, and the smallest output that must progress */
	n = run(dir, v->in, len, 1, ASCII_OUT_MIN, out, sizeof(out));
	assert_int_equal(n, want);
	assert_memory_equal(out, v->out, want);
	n = run(dir, v->in, len, len + 1, ASCII_OUT_MIN, out, sizeof(out));
	assert_int_equal(n, want);
	assert_memory_equal(out, v->out, want);
}

static void
test_to_net_vectors(void **state)
{
	size_t i;

	for (i = 0; i < NVEC(to_net); i++)
		check_vec(1, &to_net[i]);
}

static void
test_from_net_vectors(void **state)
{
	size_t i;

	for (i = 0; i < NVEC(from_net); i++)
		check_vec(0, &from_net[i]);
}

/* A CR ending one chunk and the LF opening the next are one CRLF. */
static void
test_cr_across_chunks(void **state)
{
	struct ascii_state st;
	char out[8];
	size_t n, used;

	ascii_init(&st);
	n = ascii_to_net(&st, "a\r", 2, &used, out, sizeof(out));
	assert_int_equal(n, 2);
	n = ascii_to_net(&st, "\nb", 2, &used, out, sizeof(out));
	assert_int_equal(n, 2);
	assert_memory_equal(out, "\nb", 2);

	ascii_init(&st);
	n = ascii_from_net(&st, "a\r", 2, &used, out, sizeof(out));
	assert_int_equal(used, 2);
	assert_int_equal(n, 1); /* the CR waits */
	n = ascii_from_net(&st, "\nb", 2, &used, out, sizeof(out));
	assert_int_equal(n, 2);
	assert_memory_equal(out, "\nb", 2);
	assert_int_equal(ascii_from_net_end(&st, out, sizeof(out)), 0);
}

/* A CR pending at EOF: written by the end call, which needs a byte. */
static void
test_cr_at_eof(void **state)
{
	struct ascii_state st;
	char out[4];
	size_t used;

	ascii_init(&st);
	assert_int_equal(ascii_from_net(&st, "\r", 1, &used, out, 4), 0);
	assert_int_equal(used, 1);
	assert_int_equal(ascii_from_net_end(&st, out, 0), 0);
	assert_int_equal(ascii_from_net_end(&st, out, 4), 1);
	assert_int_equal(out[0], '\r');
	assert_int_equal(ascii_from_net_end(&st, out, 4), 0);
}

/* Output too small: the call stops short, nothing is lost or doubled. */
static void
test_small_output(void **state)
{
	struct ascii_state st;
	char out[8];
	size_t n, used;

	ascii_init(&st);
	n = ascii_to_net(&st, "ab\ncd", 5, &used, out, 3);
	assert_int_equal(n, 2); /* no room for CRLF */
	assert_int_equal(used, 2);
	n = ascii_to_net(&st, "\ncd", 3, &used, out, 3);
	assert_int_equal(n, 3);
	assert_int_equal(used, 2);
	assert_memory_equal(out, "\r\nc", 3);
	/* a bare LF needs two bytes: none consumed with one */
	n = ascii_to_net(&st, "\n", 1, &used, out, 1);
	assert_int_equal(n, 0);
	assert_int_equal(used, 0);
	assert_int_equal(ascii_to_net(&st, "x", 1, &used, out, 0), 0);
	assert_int_equal(used, 0);

	/* a full output stops before the CR; the held CR takes a byte */
	ascii_init(&st);
	n = ascii_from_net(&st, "a\rx", 3, &used, out, 1);
	assert_int_equal(n, 1);
	assert_int_equal(used, 1);
	n = ascii_from_net(&st, "\rx", 2, &used, out, 1);
	assert_int_equal(n, 1);
	assert_int_equal(used, 1);
	assert_int_equal(out[0], '\r');
	n = ascii_from_net(&st, "x", 1, &used, out, 1);
	assert_int_equal(n, 1);
	assert_int_equal(used, 1);
	assert_int_equal(out[0], 'x');
}

/* Byte-wise model of both directions, from the rules in ascii.h. */
static size_t
model(int dir, const char *in, size_t len, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		if (dir && in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
			out[o++] = '\r';
		if (!dir && in[i] == '\r' && i + 1 < len && in[i + 1] == '\n')
			continue;
		out[o++] = in[i];
	}
	return o;
}

static void
fill(char *p, size_t n, unsigned seed)
{
	static const char alpha[] = "\r\n\r\nab";
	size_t i;

	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = alpha[(seed >> 16) % (sizeof(alpha) - 1)];
	}
}

/* Many chunk and output sizes against the model. */
static void
test_against_model(void **state)
{
	static const size_t chunks[] = { 1, 2, 3, 7, 64, 4096, BIG };
	static const size_t caps[] = { 2, 3, 5, 17, 1000, 2 * BIG };
	char *in, *want, *got;
	size_t a, b, wn, gn;
	int dir;

	in = malloc(BIG);
	want = malloc(2 * BIG);
	got = malloc(2 * BIG);
	assert_non_null(in);
	assert_non_null(want);
	assert_non_null(got);
	fill(in, BIG, 7);
	for (dir = 0; dir < 2; dir++) {
		wn = model(dir, in, BIG, want);
		for (a = 0; a < NVEC(chunks); a++)
			for (b = 0; b < NVEC(caps); b++) {
				gn = run(dir, in, BIG, chunks[a], caps[b], got,
				    2 * BIG);
				assert_int_equal(gn, wn);
				assert_memory_equal(got, want, wn);
			}
	}
	free(in);
	free(want);
	free(got);
}

/* Text with no CR survives the round trip; one call fills the maximum. */
static void
test_round_trip(void **state)
{
	static const char text[] = "a\nbb\n\nccc\nd";
	char net[2 * sizeof(text)], back[sizeof(text) + 1];
	struct ascii_state st;
	size_t len = sizeof(text) - 1, n, m, used;

	ascii_init(&st);
	memset(net, '\n', sizeof(net));
	n = ascii_to_net(&st, "\n\n\n", 3, &used, net, ASCII_TO_NET_MAX(3));
	assert_int_equal(n, 6);
	assert_int_equal(used, 3);
	ascii_init(&st);
	n = ascii_to_net(&st, text, len, &used, net, sizeof(net));
	assert_int_equal(used, len);
	ascii_init(&st);
	m = ascii_from_net(&st, net, n, &used, back, sizeof(back));
	assert_int_equal(used, n);
	m += ascii_from_net_end(&st, back + m, sizeof(back) - m);
	assert_int_equal(m, len);
	assert_memory_equal(back, text, len);
}

int
main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_to_net_vectors),
		cmocka_unit_test(test_from_net_vectors),
		cmocka_unit_test(test_cr_across_chunks),
		cmocka_unit_test(test_cr_at_eof),
		cmocka_unit_test(test_small_output),
		cmocka_unit_test(test_against_model),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(t, NULL, NULL);
}
