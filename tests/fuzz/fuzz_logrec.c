/*
 * fuzz_logrec.c - log records (src/common/logrec.c), which a monitor
 * decodes from a worker's log datagram and kf-log from the listener
 * and the monitors. The input is a record: a failed decode is fine;
 * an accepted one renders as JSON (one line, no raw control byte, no
 * invalid UTF-8, closed by "}\n"), as text (one line) and as xferlog
 * (one line, 18 words when there is one). The input is also escaped
 * as a JSON string on its own: the output is valid UTF-8 with no raw
 * control byte, '"' only after a backslash.
 * Runs in: fuzz target only.
 */
#include <string.h>

#include "common/logrec.h"
#include "fuzz.h"

static char out[KF_LOG_OUT_MAX];

/* s[0..n) is UTF-8 (logrec's own decoder) with no C0 control or DEL. */
static int
clean_utf8(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, len;
	uint32_t cp;

	while (i < n) {
		len = log_utf8_seq(u + i, n - i, &cp);
		if (len == 0 || cp < 0x20 || cp == 0x7f)
			return 0;
		i += len;
	}
	return 1;
}

static void
one_line(const char *s, size_t n)
{
	FUZZ_CHECK(n > 0 && s[n - 1] == '\n');
	FUZZ_CHECK(memchr(s, '\n', n - 1) == NULL);
	FUZZ_CHECK(memchr(s, '\r', n) == NULL);
}

static void
check_escape(const uint8_t *d, size_t n)
{
	size_t len, i;

	len = logrec_json_escape((const char *)d, n, out, sizeof(out));
	FUZZ_CHECK(len < sizeof(out) && out[len] == '\0');
	FUZZ_CHECK(clean_utf8(out, len));
	for (i = 0; i < len; i++)
		if (out[i] == '\\')
			i++; /* the escaped character */
		else
			FUZZ_CHECK(out[i] != '"');
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static struct logrec r;
	size_t len, i, words;

	check_escape(d, n);
	if (logrec_decode(d, n, &r) < 0)
		return 0;
	FUZZ_CHECK(r.nfields <= KF_LOG_FIELDS_MAX);
	len = logrec_json(&r, out, sizeof(out));
	FUZZ_CHECK(len > 2 && len < sizeof(out));
	one_line(out, len);
	FUZZ_CHECK(out[0] == '{' && memcmp(out + len - 2, "}\n", 2) == 0);
	FUZZ_CHECK(clean_utf8(out, len - 1));
	len = logrec_text(&r, out, sizeof(out));
	if (len > 0)
		one_line(out, len);
	len = logrec_xferlog(&r, out, sizeof(out));
	if (len > 0) {
		one_line(out, len);
		for (i = 0, words = 0; i < len - 1; i++)
			if (out[i] != ' ' && (i == 0 || out[i - 1] == ' '))
				words++;
		FUZZ_CHECK(words == 18);
	}
	return 0;
}
