/*
 * expose.c - the counters page as Prometheus text (exposition format
 * 0.0.4): a HELP and a TYPE line per family, names keepftpd_*, counters
 * ending in _total, one line per label set, in a fixed order from the
 * tables below. Pure: no allocation, no system call.
 * Runs in: kf-metrics (and the unit tests, the fuzz target).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"

struct out {
	char *p;
	size_t len, size;
	int full;
};

static void __attribute__((format(printf, 2, 3)))
put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->size - o->len) {
		o->full = 1;
		return;
	}
	o->len += (size_t)n;
}

static void
family(struct out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP keepftpd_%s %s\n# TYPE keepftpd_%s %s\n", name, help,
	    name, type);
}

static void
sample(struct out *o, const char *name, const char *labels, const uint64_t *v)
{
	put(o, "keepftpd_%s%s %llu\n", name, labels,
	    (unsigned long long)metrics_get(v));
}

static const char *const results[MX_RESULTS] = { "failed", "ok" };
static const char *const dirs[MX_DIRS] = { "download", "upload" };
static const char *const methods[MX_METHODS] = { "anonymous", "users_file",
	"pam", "certificate", "password" };
static const char *const reasons[MX_REASONS] = { "max_clients", "max_prelogin",
	"per_ip", "rate", "ban", "allow_deny", "tls_unavailable" };

/* The (method, result) pairs that can happen (metrics.h). */
static const struct {
	enum mx_method m;
	enum mx_result r;
} login_pairs[] = {
	{ MX_M_ANONYMOUS, MX_OK },
	{ MX_M_USERS_FILE, MX_OK },
	{ MX_M_PAM, MX_OK },
	{ MX_M_CERTIFICATE, MX_OK },
	{ MX_M_ANONYMOUS, MX_FAILED },
	{ MX_M_PASSWORD, MX_FAILED },
	{ MX_M_CERTIFICATE, MX_FAILED },
};

static void
gauges(struct out *o, const struct metrics_page *pg)
{
	family(o, "sessions", "gauge", "Sessions open now, by state.");
	sample(o, "sessions", "{state=\"prelogin\"}", &pg->sessions_prelogin);
	sample(o, "sessions", "{state=\"logged_in\"}", &pg->sessions_logged_in);
	family(o, "bans_active", "gauge", "Client addresses banned now.");
	sample(o, "bans_active", "", &pg->bans_active);
	family(o, "password_verifications_waiting", "gauge",
	    "Password logins being verified or waiting for a slot.");
	sample(o, "password_verifications_waiting", "", &pg->verifying);
}

static void
logins(struct out *o, const struct metrics_page *pg)
{
	char l[96];
	size_t i;

	family(o, "logins_total", "counter",
	    "Login attempts, by result and "
	    "method.");
	for (i = 0; i < sizeof(login_pairs) / sizeof(login_pairs[0]); i++) {
		snprintf(l, sizeof(l), "{result=\"%s\",method=\"%s\"}",
		    results[login_pairs[i].r], methods[login_pairs[i].m]);
		sample(o, "logins_total", l,
		    &pg->logins[login_pairs[i].m][login_pairs[i].r]);
	}
}

static void
transfers(struct out *o, const struct metrics_page *pg)
{
	char l[96];
	int d, r;

	family(o, "transfers_total", "counter",
	    "File transfers ended, by direction and result.");
	for (d = 0; d < MX_DIRS; d++)
		for (r = MX_RESULTS - 1; r >= 0; r--) {
			snprintf(l, sizeof(l),
			    "{direction=\"%s\",result=\"%s\"}", dirs[d],
			    results[r]);
			sample(o, "transfers_total", l, &pg->transfers[d][r]);
		}
	family(o, "transfer_bytes_total", "counter",
	    "File bytes moved on data connections, by direction.");
	for (d = 0; d < MX_DIRS; d++) {
		snprintf(l, sizeof(l), "{direction=\"%s\"}", dirs[d]);
		sample(o, "transfer_bytes_total", l, &pg->bytes[d]);
	}
}

static void
connections(struct out *o, const struct metrics_page *pg)
{
	char l[64];
	int i;

	family(o, "sessions_total", "counter", "Sessions started.");
	sample(o, "sessions_total", "", &pg->sessions_total);
	family(o, "refusals_total", "counter",
	    "Connections refused before a session, by reason.");
	for (i = 0; i < MX_REASONS; i++) {
		snprintf(l, sizeof(l), "{reason=\"%s\"}", reasons[i]);
		sample(o, "refusals_total", l, &pg->refusals[i]);
	}
	family(o, "tls_handshakes_total", "counter",
	    "TLS handshakes on control connections, by result.");
	for (i = MX_RESULTS - 1; i >= 0; i--) {
		snprintf(l, sizeof(l), "{result=\"%s\"}", results[i]);
		sample(o, "tls_handshakes_total", l, &pg->tls[i]);
	}
	family(o, "reports_dropped_total", "counter",
	    "Monitor reports the listener dropped (over its rate, or "
	    "malformed).");
	sample(o, "reports_dropped_total", "", &pg->reports_dropped);
}

long
metrics_render(const struct metrics_page *pg, const char *version, char *buf,
    size_t size)
{
	struct out o = { buf, 0, size, size == 0 };

	gauges(&o, pg);
	connections(&o, pg);
	logins(&o, pg);
	transfers(&o, pg);
	family(&o, "build_info", "gauge", "The running version, always 1.");
	put(&o, "keepftpd_build_info{version=\"%s\"} 1\n", version);
	return o.full ? -1 : (long)o.len;
}
