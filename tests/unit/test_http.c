/*
 * test_http.c - the metrics endpoint's request parser (metrics/http.c)
 * and the text it serves (metrics/expose.c): each status a request can
 * get, that a bad request line is answered before its headers come,
 * that the bound is a verdict, and that the text holds each family
 * once with its samples.
 * Runs in: unit tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/limits.h"
#include "metrics/http.h"
#include "metrics/metrics.h"

static enum http_verdict
judge(const char *s)
{
	return http_judge(s, strlen(s));
}

static void
test_statuses(void **state)
{
	(void)state;
	assert_int_equal(judge("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"),
	    HTTP_GET);
	assert_int_equal(judge("HEAD /metrics?x HTTP/1.0\r\n\r\n"), HTTP_HEAD);
	assert_int_equal(judge("GET / HTTP/1.1\r\n\r\n"), HTTP_NOT_FOUND);
	assert_int_equal(judge("GET /metrics/ HTTP/1.1\r\n\r\n"),
	    HTTP_NOT_FOUND);
	assert_int_equal(judge("PUT /metrics HTTP/1.1\r\n\r\n"), HTTP_METHOD);
	assert_int_equal(judge("get /metrics HTTP/1.1\r\n\r\n"), HTTP_METHOD);
	assert_int_equal(judge("GET /metrics HTTP/1.2\r\n\r\n"), HTTP_VERSION);
	assert_int_equal(judge("GET /metrics HTTP/3\r\n\r\n"), HTTP_VERSION);
	assert_int_equal(judge("GET /metrics FTP/1.1\r\n\r\n"), HTTP_BAD);
	assert_int_equal(judge("GET  /metrics HTTP/1.1\r\n\r\n"), HTTP_BAD);
	assert_int_equal(judge("GET /metrics HTTP/1.1\r\n: x\r\n\r\n"),
	    HTTP_BAD);
	assert_int_equal(judge("GET /metrics HTTP/1.1\r\nA: \x01\r\n\r\n"),
	    HTTP_BAD);
	assert_int_equal(judge("GET /metrics HTTP/1.1\r\nA: b\rc\r\n\r\n"),
	    HTTP_BAD);
	assert_int_equal(
	    judge("GET /metrics HTTP/1.1\r\nContent-Length:  0 \r\n\r\n"),
	    HTTP_GET);
	assert_int_equal(
	    judge("GET /metrics HTTP/1.1\r\ncontent-length: 00\r\n\r\n"),
	    HTTP_BODY);
	assert_int_equal(
	    judge("GET /metrics HTTP/1.1\r\nTransfer-Encoding: x\r\n\r\n"),
	    HTTP_BODY);
}

static void
test_early_and_more(void **state)
{
	(void)state;
	assert_int_equal(judge(""), HTTP_MORE);
	assert_int_equal(judge("GET /metrics HTTP/1.1\r"), HTTP_MORE);
	assert_int_equal(judge("GET /metrics HTTP/1.1\r\nHost: a\r\n"),
	    HTTP_MORE);
	/* the request line decides before any header comes */
	assert_int_equal(judge("BREW /pot HTTP/1.1\r\n"), HTTP_METHOD);
	assert_int_equal(judge("GET /pot HTTP/1.1\r\n"), HTTP_NOT_FOUND);
	assert_int_equal(judge("GET /metrics HTTP/1.1\n"), HTTP_BAD);
}

static void
test_bounds(void **state)
{
	static char big[KF_METRICS_REQ_MAX + 16];
	size_t n;
	int i;

	(void)state;
	memset(big, 'a', sizeof(big));
	assert_int_equal(http_judge(big, KF_METRICS_REQ_MAX - 1), HTTP_MORE);
	assert_int_equal(http_judge(big, KF_METRICS_REQ_MAX), HTTP_TOO_LARGE);
	n = (size_t)snprintf(big, sizeof(big), "GET /metrics HTTP/1.1\r\n");
	for (i = 0; i < KF_METRICS_HEADERS_MAX; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "X: y\r\n");
	assert_int_equal(http_judge(big, n), HTTP_MORE);
	memcpy(big + n, "\r\n", 2);
	assert_int_equal(http_judge(big, n + 2), HTTP_GET);
	memcpy(big + n, "X: y\r\n", 6);
	assert_int_equal(http_judge(big, n + 6), HTTP_TOO_LARGE);
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;
	const char *p = hay;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

static void
test_render(void **state)
{
	static struct metrics_page pg;
	static char out[KF_METRICS_OUT_MAX];
	long len;

	(void)state;
	pg.sessions_total = 7;
	pg.logins[MX_M_PAM][MX_OK] = 3;
	pg.bytes[MX_UPLOAD] = 18446744073709551615ULL;
	pg.refusals[MX_R_BAN] = 2;
	len = metrics_render(&pg, "9.9", out, sizeof(out));
	assert_true(len > 0 && (size_t)len == strlen(out));
	assert_non_null(strstr(out, "\nkeepftpd_sessions_total 7\n"));
	assert_non_null(strstr(out,
	    "\nkeepftpd_logins_total{result=\"ok\",method=\"pam\"} 3\n"));
	assert_non_null(strstr(out,
	    "keepftpd_transfer_bytes_total{direction="
	    "\"upload\"} 18446744073709551615\n"));
	assert_non_null(
	    strstr(out, "\nkeepftpd_refusals_total{reason=\"ban\"} 2\n"));
	assert_non_null(strstr(out,
	    "\nkeepftpd_build_info{version=\"9.9\"} "
	    "1\n"));
	assert_int_equal(count(out, "# TYPE keepftpd_logins_total counter\n"),
	    1);
	assert_int_equal(count(out, "# TYPE "), count(out, "# HELP "));
	assert_int_equal(metrics_render(&pg, "9.9", out, (size_t)len), -1);
	assert_int_equal(metrics_render(&pg, "9.9", out, 0), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_statuses),
		cmocka_unit_test(test_early_and_more),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_render),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
