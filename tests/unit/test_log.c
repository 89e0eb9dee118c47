/*
 * test_log.c - the log escaper, the field quoter and the line formatter
 * (invariant 10): valid UTF-8 stays readable, everything that could
 * break a line or forge a field is escaped, and a quoted field decodes
 * back to exactly the bytes it came from.
 */
#include "cm.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "common/log.h"

struct esc_case {
	const char *in;
	size_t n; /* 0: strlen(in) */
	const char *sink; /* log_escape(), the whole line */
	const char *field; /* log_quote(), without the quotes */
};

static const struct esc_case cases[] = {
	{ "plain", 0, "plain", "plain" },
	{ "a b=c", 0, "a b=c", "a b=c" },
	{ "", 0, "", "" },
	/* quoting characters: escaped inside a field only */
	{ "say \"hi\"", 0, "say \"hi\"", "say \\\"hi\\\"" },
	{ "C:\\dir\\x41", 0, "C:\\dir\\x41", "C:\\\\dir\\\\x41" },
	{ "\" user=\"root", 0, "\" user=\"root", "\\\" user=\\\"root" },
	/* C0 controls and DEL */
	{ "a\tb", 0, "a\\x09b", "a\\x09b" },
	{ "a\r\nb", 0, "a\\x0d\\x0ab", "a\\x0d\\x0ab" },
	{ "\x1b[31mred", 0, "\\x1b[31mred", "\\x1b[31mred" },
	{ "bel\x07"
	  "del\x7f",
	    0, "bel\\x07del\\x7f", "bel\\x07del\\x7f" },
	{ "a\0b", 3, "a\\x00b", "a\\x00b" },
	/* valid UTF-8 stays as it is: 2, 3 and 4 bytes, edges */
	{ "\xc3\xbc", 0, "\xc3\xbc", "\xc3\xbc" }, /* ü */
	{ "\xe6\x97\xa5\xe6\x9c\xac", 0, "\xe6\x97\xa5\xe6\x9c\xac",
	    "\xe6\x97\xa5\xe6\x9c\xac" }, /* 日本 */
	{ "\xf0\x9f\x98\x80", 0, "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" },
	{ "\xc2\xa0", 0, "\xc2\xa0", "\xc2\xa0" }, /* U+00A0 */
	{ "\xed\x9f\xbf", 0, "\xed\x9f\xbf", "\xed\x9f\xbf" }, /* U+D7FF */
	{ "\xee\x80\x80", 0, "\xee\x80\x80", "\xee\x80\x80" }, /* U+E000 */
	{ "\xe2\x80\xa7", 0, "\xe2\x80\xa7", "\xe2\x80\xa7" }, /* U+2027 */
	{ "\xf4\x8f\xbf\xbf", 0, "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf" },
	/* C1 controls, encoded in UTF-8 */
	{ "\xc2\x80", 0, "\\xc2\\x80", "\\xc2\\x80" },
	{ "\xc2\x85", 0, "\\xc2\\x85", "\\xc2\\x85" }, /* NEL */
	{ "\xc2\x9b"
	  "2J",
	    0, "\\xc2\\x9b2J", "\\xc2\\x9b2J" }, /* CSI */
	{ "\xc2\x9f", 0, "\\xc2\\x9f", "\\xc2\\x9f" },
	/* line and paragraph separators, bidirectional controls */
	{ "\xe2\x80\xa8", 0, "\\xe2\\x80\\xa8", "\\xe2\\x80\\xa8" },
	{ "\xe2\x80\xa9", 0, "\\xe2\\x80\\xa9", "\\xe2\\x80\\xa9" },
	{ "a\xe2\x80\xae"
	  "b",
	    0, "a\\xe2\\x80\\xaeb", "a\\xe2\\x80\\xaeb" },
	{ "\xe2\x80\xaa", 0, "\\xe2\\x80\\xaa", "\\xe2\\x80\\xaa" },
	{ "\xe2\x81\xa6", 0, "\\xe2\\x81\\xa6", "\\xe2\\x81\\xa6" },
	{ "\xe2\x81\xa9", 0, "\\xe2\\x81\\xa9", "\\xe2\\x81\\xa9" },
	/* invalid sequences: every byte of them */
	{ "\x80", 0, "\\x80", "\\x80" },
	{ "\xbf"
	  "a",
	    0, "\\xbfa", "\\xbfa" },
	{ "\xff\xfe", 0, "\\xff\\xfe", "\\xff\\xfe" },
	{ "\xc3", 0, "\\xc3", "\\xc3" }, /* cut */
	{ "\xc3"
	  "A",
	    0, "\\xc3A", "\\xc3A" },
	{ "\xe6\x97", 0, "\\xe6\\x97", "\\xe6\\x97" }, /* cut */
	{ "\xe6\x97"
	  "a",
	    0, "\\xe6\\x97a", "\\xe6\\x97a" },
	{ "\xf0\x9f\x98", 0, "\\xf0\\x9f\\x98", "\\xf0\\x9f\\x98" },
	{ "\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80",
	    "\\xf4\\x90\\x80\\x80" }, /* > U+10FFFF */
	{ "\xf5\x80\x80\x80", 0, "\\xf5\\x80\\x80\\x80",
	    "\\xf5\\x80\\x80\\x80" },
	/* overlong forms: of '/', of '"', of NUL */
	{ "\xc0\xaf", 0, "\\xc0\\xaf", "\\xc0\\xaf" },
	{ "\xc0\xa2", 0, "\\xc0\\xa2", "\\xc0\\xa2" },
	{ "\xc1\xbf", 0, "\\xc1\\xbf", "\\xc1\\xbf" },
	{ "\xe0\x80\xaf", 0, "\\xe0\\x80\\xaf", "\\xe0\\x80\\xaf" },
	{ "\xe0\x9f\xbf", 0, "\\xe0\\x9f\\xbf", "\\xe0\\x9f\\xbf" },
	{ "\xf0\x80\x80\xaf", 0, "\\xf0\\x80\\x80\\xaf",
	    "\\xf0\\x80\\x80\\xaf" },
	{ "\xf0\x8f\xbf\xbf", 0, "\\xf0\\x8f\\xbf\\xbf",
	    "\\xf0\\x8f\\xbf\\xbf" },
	{ "\xc0\x80", 0, "\\xc0\\x80", "\\xc0\\x80" },
	/* UTF-16 surrogates encoded as UTF-8 (CESU-8) */
	{ "\xed\xa0\x80", 0, "\\xed\\xa0\\x80", "\\xed\\xa0\\x80" },
	{ "\xed\xbf\xbf", 0, "\\xed\\xbf\\xbf", "\\xed\\xbf\\xbf" },
	{ "\xed\xa0\xbd\xed\xb8\x80", 0, "\\xed\\xa0\\xbd\\xed\\xb8\\x80",
	    "\\xed\\xa0\\xbd\\xed\\xb8\\x80" },
	/* a valid character after an invalid byte is kept */
	{ "\xff\xc3\xbc", 0, "\\xff\xc3\xbc", "\\xff\xc3\xbc" },
	{ "\xc3\xc3\xbc", 0, "\\xc3\xc3\xbc", "\\xc3\xc3\xbc" },
};

static size_t
case_len(const struct esc_case *c)
{
	return c->n != 0 ? c->n : strlen(c->in);
}

static void
test_escape_table(void **state)
{
	char out[256], want[256];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = log_escape(cases[i].in, case_len(&cases[i]), out,
		    sizeof(out));
		assert_string_equal(out, cases[i].sink);
		assert_int_equal(n, strlen(cases[i].sink));
		n = log_quote(cases[i].in, case_len(&cases[i]), out,
		    sizeof(out));
		snprintf(want, sizeof(want), "\"%s\"", cases[i].field);
		assert_string_equal(out, want);
		assert_int_equal(n, strlen(want));
	}
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes a quoted field; returns the bytes, or -1 on a grammar error. */
static int
unquote(const char *q, size_t qlen, unsigned char *out, size_t *outlen)
{
	size_t i = 1, o = 0;
	int hi, lo;

	if (qlen < 2 || q[0] != '"')
		return -1;
	while (i < qlen && q[i] != '"') {
		if ((unsigned char)q[i] < 0x20 || q[i] == 0x7f)
			return -1;
		if (q[i] != '\\') {
			out[o++] = (unsigned char)q[i++];
			continue;
		}
		if (i + 1 < qlen && (q[i + 1] == '"' || q[i + 1] == '\\')) {
			out[o++] = (unsigned char)q[i + 1];
			i += 2;
			continue;
		}
		if (i + 3 >= qlen || q[i + 1] != 'x' ||
		    (hi = hexval(q[i + 2])) < 0 || (lo = hexval(q[i + 3])) < 0)
			return -1;
		out[o++] = (unsigned char)(hi << 4 | lo);
		i += 4;
	}
	if (i + 1 != qlen)
		return -1; /* no closing quote, or bytes after it */
	*outlen = o;
	return 0;
}

/*
 * Random bytes, biased to the interesting ones, quoted: the field
 * decodes to the input exactly and holds no raw control byte.
 */
static void
test_quote_roundtrip(void **state)
{
	static const unsigned char pick[] = { '"', '\\', 'x', ' ', '=', 0x00,
		0x09, 0x0a, 0x1b, 0x7f, 0x80, 0x9b, 0xbf, 0xc2, 0xc3, 0xe0,
		0xe2, 0xed, 0xf0, 0xf4, 0xff, 'a', 0xa8, 0x85 };
	unsigned char in[64], back[64];
	char q[64 * 4 + 8];
	size_t i, len, qlen, blen;
	int round;

	(void)state;
	srandom(12);
	for (round = 0; round < 20000; round++) {
		len = (size_t)random() % sizeof(in);
		for (i = 0; i < len; i++)
			in[i] = random() % 2 ? pick[random() % sizeof(pick)] :
					       (unsigned char)random();
		qlen = log_quote((const char *)in, len, q, sizeof(q));
		assert_int_equal(unquote(q, qlen, back, &blen), 0);
		assert_int_equal(blen, len);
		assert_memory_equal(back, in, len);
	}
}

static void
test_quote_cut(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(log_quote("abcd", 4, out, 7), 6);
	assert_string_equal(out, "\"abcd\"");
	assert_int_equal(log_quote("abcdef", 6, out, 7), 6);
	assert_string_equal(out, "\"a\"...");
	/* an escape or a character is never split */
	log_quote("\x01\x01", 2, out, 9);
	assert_string_equal(out, "\"\"...");
	log_quote("\xe6\x97\xa5\xe6\x9c\xac", 6, out, 8);
	assert_string_equal(out, "\"\"...");
	log_quote("\xe6\x97\xa5\xe6\x9c\xac", 6, out, 11);
	assert_string_equal(out, "\"\xe6\x97\xa5\xe6\x9c\xac\"");
	log_quote("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 9, out, 10);
	assert_string_equal(out, "\"\xe6\x97\xa5\"...");
	log_quote("a\"bcdef", 7, out, 8);
	assert_string_equal(out, "\"a\"...");
	/* too small for a field at all */
	assert_int_equal(log_quote("a", 1, out, 6), 0);
	assert_string_equal(out, "");
	log_escape("\x01\x02", 2, out, 6);
	assert_string_equal(out, "\\x01");
}

static void
test_format_fields(void **state)
{
	char out[KF_LOG_LINE_MAX + 1];
	const char *volatile nil = NULL; /* as a call site passes it */

	(void)state;
	log_format(out, sizeof(out),
	    "STOR path=%s bytes=%llu ms=%lld "
	    "status=%-s",
	    "/evil bytes=1 ms=1 status=ok\tuser=root", 3ULL, 7LL, "ok");
	assert_string_equal(out,
	    "STOR path=\"/evil bytes=1 ms=1 "
	    "status=ok\\x09user=root\" bytes=3 ms=7 status=ok");
	log_format(out, sizeof(out),
	    "login failed: from=%-s failures=%u "
	    "reason=%-s user=%s",
	    "127.0.0.1", 2u, "bad-credentials", "x from=1.2.3.4\" user=\"root");
	assert_string_equal(out,
	    "login failed: from=127.0.0.1 failures=2 "
	    "reason=bad-credentials user=\"x from=1.2.3.4\\\" "
	    "user=\\\"root\"");
	log_format(out, sizeof(out), "user=%s host=%s root=%-s x=%-s",
	    "\xc3\xbc", nil, "/srv", nil);
	assert_string_equal(out, "user=\"\xc3\xbc\" host=- root=/srv x=-");
}

static void
test_format_numbers(void **state)
{
	char out[256];

	(void)state;
	log_format(out, sizeof(out), "%d %i %u %x %%", -5, 6, 7u, 255u);
	assert_string_equal(out, "-5 6 7 ff %");
	log_format(out, sizeof(out), "%ld %lu %lld %llu", LONG_MIN, ULONG_MAX,
	    LLONG_MIN, ULLONG_MAX);
	assert_string_equal(out,
	    "-9223372036854775808 18446744073709551615 "
	    "-9223372036854775808 18446744073709551615");
	log_format(out, sizeof(out), "%zu %zd %lx", (size_t)SIZE_MAX,
	    (ssize_t)-1, 0xabcUL);
	assert_string_equal(out, "18446744073709551615 -1 abc");
}

/* What the formatter does not know ends the line, visibly. */
static void
test_format_unknown(void **state)
{
	char out[256];

	(void)state;
	log_format(out, sizeof(out), "a %5d b %s", 1, "x");
	assert_string_equal(out, "a <bad log format>");
	log_format(out, sizeof(out), "a %f b %s", 1.5, "x");
	assert_string_equal(out, "a <bad log format>");
	log_format(out, sizeof(out), "a %-d", 1);
	assert_string_equal(out, "a <bad log format>");
	log_format(out, sizeof(out), "%s %c", "q", 'c');
	assert_string_equal(out, "\"q\" <bad log format>");
}

/* A long field is cut and marked; the fields after it are kept. */
static void
test_format_bounds(void **state)
{
	char out[KF_LOG_LINE_MAX + 1], big[5000], small[40];
	const char *q;
	size_t n;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_format(out, sizeof(out), "STOR path=%s bytes=%d", big, 9);
	q = strstr(out, "\"...");
	assert_non_null(q);
	assert_int_equal(q + 4 - (out + strlen("STOR path=")),
	    KF_LOG_FIELD_MAX);
	assert_string_equal(q, "\"... bytes=9");
	/* the whole line is bounded, and a field never left open */
	memset(big, '\x01', sizeof(big) - 1);
	log_format(out, sizeof(out), "%s %s %s %s %s", big, big, big, big, big);
	assert_true(strlen(out) <= KF_LOG_LINE_MAX);
	n = log_format(small, sizeof(small), "x=%s y=%s",
	    "abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnop");
	assert_int_equal(n, strlen(small));
	assert_string_equal(small,
	    "x=\"abcdefghijklmnopqrstuvwxyz\" y=\"a\"...");
	log_format(small, sizeof(small),
	    "0123456789012345678901234567890123 "
	    "%s",
	    "abc");
	assert_string_equal(small, "0123456789012345678901234567890123 ");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_table),
		cmocka_unit_test(test_quote_roundtrip),
		cmocka_unit_test(test_quote_cut),
		cmocka_unit_test(test_format_fields),
		cmocka_unit_test(test_format_numbers),
		cmocka_unit_test(test_format_unknown),
		cmocka_unit_test(test_format_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
