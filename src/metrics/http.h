/*
 * http.h - the metrics endpoint's request parser: the request line and
 * header lines of one HTTP/1.0 or 1.1 request, at most
 * KF_METRICS_REQ_MAX bytes, judged as a whole. Only GET and HEAD of
 * /metrics are served; every other request gets its status code. Pure:
 * a buffer in, a verdict out.
 * Runs in: kf-metrics (and the fuzz target, the unit tests).
 */
#ifndef KF_HTTP_H
#define KF_HTTP_H

#include <stddef.h>

enum http_verdict {
	HTTP_MORE = 0, /* no complete head yet: read on */
	HTTP_GET = 200, /* GET /metrics */
	HTTP_HEAD = 1, /* HEAD /metrics: the headers of the GET answer */
	HTTP_BAD = 400, /* malformed */
	HTTP_NOT_FOUND = 404, /* another path */
	HTTP_METHOD = 405, /* another method */
	HTTP_BODY = 413, /* a request body (none is read) */
	HTTP_TOO_LARGE =
	    431, /* head over KF_METRICS_REQ_MAX or too many lines */
	HTTP_VERSION = 505, /* not HTTP/1.0 or 1.1 */
};

/*
 * The bytes received so far, buf[0..n): a verdict as soon as one is
 * certain (a bad request line is answered before its headers come),
 * HTTP_MORE while the head may still be complete and valid.
 */
enum http_verdict http_judge(const char *buf, size_t n);

/* The status line text of a verdict's code ("Not Found"). */
const char *http_reason(int code);

#endif
