/*
 * test_logrec.c - structured log records (src/common/logrec.c): the
 * decoder refuses every malformed length, the JSON escaping leaves no
 * raw control or invalid UTF-8 byte, a JSON line stays closed when its
 * fields do not fit, and the xferlog line has its 14 fields whatever
 * the file name holds (space, newline, a byte that is not UTF-8).
 */
#include "cm.h"
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "common/limits.h"
#include "common/logrec.h"

static void
test_json_escape(void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
		{ "plain", "plain" }, { "q\"b\\", "q\\\"b\\\\" },
		{ "nl\ncr\rtab\tesc\x1b",
		    "nl\\u000acr\\u000dtab\\u0009esc\\u001b" },
		{ "bad\xfe\xc3(", "bad\\u00fe\\u00c3(" },
		{ "\xed\xa0\x80", "\\u00ed\\u00a0\\u0080" }, /* a surrogate */
		{ "\xc3\xbc \xe6\x97\xa5", "\xc3\xbc \xe6\x97\xa5" },
		{ "ls\xe2\x80\xa8", "ls\\u2028" },
		{ "\xc2\x85", "\\u0085" }, /* C1 */
	};
	char out[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		logrec_json_escape(cases[i].in, strlen(cases[i].in), out,
		    sizeof(out));
		assert_string_equal(out, cases[i].out);
	}
}

static void
test_xfer_name(void **state)
{
	char out[256];
	static const char name[] = "/a b\nc\xfe\\d\xc3\xbc.txt";

	(void)state;
	logrec_xfer_name(name, sizeof(name) - 1, out, sizeof(out));
	assert_string_equal(out, "/a\\040b\\012c\\376\\134d\xc3\xbc.txt");
}

static void
build(struct logrec_buf *rb, const char *event, const char *path)
{
	rb->len = 0;
	assert_int_equal(logrec_put(rb, LR_PRIO, NULL, "6", 1), 0);
	assert_int_equal(logrec_put_num(rb, LR_TIME, NULL, 1700000000123LL), 0);
	assert_int_equal(logrec_put(rb, LR_TEXT, NULL, "t", 1), 0);
	assert_int_equal(logrec_put(rb, LR_EVENT, NULL, event, strlen(event)),
	    0);
	assert_int_equal(logrec_put(rb, LR_ORIGIN, NULL, "worker kf-session",
			     17),
	    0);
	assert_int_equal(logrec_put(rb, LR_CLIENT, NULL, "192.0.2.7", 9), 0);
	assert_int_equal(logrec_put(rb, LR_USER, NULL, "bob smith", 9), 0);
	assert_int_equal(logrec_put(rb, LR_ACCESS, NULL, "r", 1), 0);
	assert_int_equal(logrec_put(rb, LR_STR, "path", path, strlen(path)), 0);
	assert_int_equal(logrec_put_num(rb, LR_NUM, "bytes", 4096), 0);
	assert_int_equal(logrec_put_num(rb, LR_NUM, "duration_ms", 2600), 0);
	assert_int_equal(logrec_put(rb, LR_STR, "command", "RETR", 4), 0);
	assert_int_equal(logrec_put(rb, LR_STR, "status", "aborted", 7), 0);
	assert_int_equal(logrec_put(rb, LR_STR, "type", "binary", 6), 0);
}

static void
test_xferlog_line(void **state)
{
	static struct logrec_buf rb;
	struct logrec r;
	char out[1024];

	(void)state;
	build(&rb, "transfer", "/dir/a b\n\xfe.bin");
	assert_int_equal(logrec_decode(rb.b, rb.len, &r), 0);
	assert_true(logrec_xferlog(&r, out, sizeof(out)) > 0);
	assert_string_equal(out,
	    "Tue Nov 14 22:13:20 2023 3 192.0.2.7 4096 "
	    "/dir/a\\040b\\012\\376.bin b _ o r bob\\040smith ftp 0 * i\n");
	/* an empty client address is a "-", never an empty column (the
	 * reader counts 18 words; fuzz_logrec found the 17-word line) */
	build(&rb, "transfer", "/p");
	rb.len = 0;
	assert_int_equal(logrec_put(&rb, LR_EVENT, NULL, "transfer", 8), 0);
	assert_int_equal(logrec_put_num(&rb, LR_TIME, NULL, 1700000000123LL),
	    0);
	assert_int_equal(logrec_put(&rb, LR_ORIGIN, NULL, "w", 1), 0);
	assert_int_equal(logrec_put(&rb, LR_CLIENT, NULL, "", 0), 0);
	assert_int_equal(logrec_put(&rb, LR_USER, NULL, "bob", 3), 0);
	assert_int_equal(logrec_put(&rb, LR_STR, "path", "/p", 2), 0);
	assert_int_equal(logrec_decode(rb.b, rb.len, &r), 0);
	assert_true(logrec_xferlog(&r, out, sizeof(out)) > 0);
	assert_string_equal(out,
	    "Tue Nov 14 22:13:20 2023 1 - 0 /p b _ i r bob ftp 0 * i\n");
	/* other events make none */
	build(&rb, "audit", "/x");
	assert_int_equal(logrec_decode(rb.b, rb.len, &r), 0);
	assert_int_equal(logrec_xferlog(&r, out, sizeof(out)), 0);
}

static void
test_decode_refuses(void **state)
{
	static struct logrec_buf rb;
	struct logrec r;
	unsigned char bad[64];
	size_t cut;

	(void)state;
	build(&rb, "transfer", "/p");
	/* every truncation but the item boundaries is refused */
	for (cut = 1; cut < rb.len; cut++)
		if (logrec_decode(rb.b, cut, &r) == 0)
			assert_true(r.nfields <= 6);
	/* a number field that is not digits, a bad key, an unknown kind */
	memcpy(bad, "n\001b\003\0001x2", 8);
	assert_int_equal(logrec_decode(bad, 8, &r), -1);
	memcpy(bad, "s\001B\001\000x", 6);
	assert_int_equal(logrec_decode(bad, 6, &r), -1);
	memcpy(bad, "Z\000\001\000x", 5);
	assert_int_equal(logrec_decode(bad, 5, &r), -1);
	memcpy(bad, "s\001b\377\377x", 6); /* length past the end */
	assert_int_equal(logrec_decode(bad, 6, &r), -1);
}

static void
test_json_closed_when_full(void **state)
{
	static struct logrec_buf rb;
	static char big[4000];
	struct logrec r;
	char out[512];
	size_t n;

	(void)state;
	memset(big, 0x01, sizeof(big)); /* each byte 6 in JSON */
	build(&rb, "transfer", "/p");
	assert_int_equal(logrec_put(&rb, LR_STR, "note", big, sizeof(big)), 0);
	assert_int_equal(logrec_decode(rb.b, rb.len, &r), 0);
	n = logrec_json(&r, out, sizeof(out));
	assert_true(n > 0 && n < sizeof(out));
	assert_int_equal(out[n - 1], '\n');
	assert_non_null(strstr(out, "\"truncated\":true}\n"));
	assert_null(strchr(out, '\001'));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_escape),
		cmocka_unit_test(test_xfer_name),
		cmocka_unit_test(test_xferlog_line),
		cmocka_unit_test(test_decode_refuses),
		cmocka_unit_test(test_json_closed_when_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
