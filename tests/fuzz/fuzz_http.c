/*
 * fuzz_http.c - the metrics endpoint's request parser
 * (metrics/http.c, http_judge) on the input as a request head. A
 * verdict other than HTTP_MORE is final: every longer prefix of the
 * same bytes gets the same one (checked on every prefix of a short
 * input, on 16 of a long one); at KF_METRICS_REQ_MAX bytes there is
 * always a verdict; GET and HEAD come only for /metrics with a whole
 * head (its empty line) inside the bound. The input's first bytes also
 * fill a counters page, which metrics_render (metrics/expose.c) must
 * turn into lines that all start with "# HELP keepftpd_", "# TYPE
 * keepftpd_" or "keepftpd_", or refuse cleanly when the buffer is short.
 * Runs in: fuzz target only.
 */
#include <string.h>

#include "common/limits.h"
#include "fuzz.h"
#include "metrics/http.h"
#include "metrics/metrics.h"

#define FUZZ_HTTP_MAX (KF_METRICS_REQ_MAX + 64)

static int
known(enum http_verdict v)
{
	switch (v) {
	case HTTP_MORE:
	case HTTP_GET:
	case HTTP_HEAD:
	case HTTP_BAD:
	case HTTP_NOT_FOUND:
	case HTTP_METHOD:
	case HTTP_BODY:
	case HTTP_TOO_LARGE:
	case HTTP_VERSION:
		return 1;
	}
	return 0;
}

static int
starts(const char *s, size_t n, const char *with)
{
	return n >= strlen(with) && memcmp(s, with, strlen(with)) == 0;
}

static void
check_served(const char *s, size_t n, enum http_verdict v)
{
	const char *end;

	if (v != HTTP_GET && v != HTTP_HEAD)
		return;
	FUZZ_CHECK(
	    starts(s, n, v == HTTP_GET ? "GET /metrics" : "HEAD /metrics"));
	end = memmem(s, n < KF_METRICS_REQ_MAX ? n : KF_METRICS_REQ_MAX,
	    "\r\n\r\n", 4);
	FUZZ_CHECK(end != NULL);
}

static void
check_prefixes(const char *s, size_t n, enum http_verdict whole)
{
	size_t k, step = n <= 512 ? 1 : n / 16;
	enum http_verdict v;

	for (k = 0; k <= n; k += step) {
		v = http_judge(s, k);
		FUZZ_CHECK(known(v));
		if (v != HTTP_MORE)
			FUZZ_CHECK(v == whole);
		if (k >= KF_METRICS_REQ_MAX)
			FUZZ_CHECK(v != HTTP_MORE);
	}
}

static void
check_render(const uint8_t *data, size_t size)
{
	static struct metrics_page pg;
	static char out[KF_METRICS_OUT_MAX];
	const char *p, *nl;
	long len, small;

	memset(&pg, 0, sizeof(pg));
	memcpy(&pg, data, size < sizeof(pg) ? size : sizeof(pg));
	len = metrics_render(&pg, "0.1.0", out, sizeof(out));
	FUZZ_CHECK(len > 0 && (size_t)len < sizeof(out));
	for (p = out; p < out + len; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(out + len - p));
		FUZZ_CHECK(nl != NULL);
		FUZZ_CHECK(starts(p, (size_t)(nl - p), "# HELP keepftpd_") ||
		    starts(p, (size_t)(nl - p), "# TYPE keepftpd_") ||
		    starts(p, (size_t)(nl - p), "keepftpd_"));
	}
	small = size > 0 ? data[0] % (len + 1) : 0;
	FUZZ_CHECK(metrics_render(&pg, "0.1.0", out, (size_t)small) == -1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[FUZZ_HTTP_MAX];
	enum http_verdict whole;

	if (size > FUZZ_HTTP_MAX)
		return 0;
	memcpy(buf, data, size);
	whole = http_judge(buf, size);
	FUZZ_CHECK(known(whole));
	check_served(buf, size, whole);
	check_prefixes(buf, size, whole);
	check_render(data, size);
	return 0;
}
