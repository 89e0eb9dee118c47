/*
 * metrics.h - the counters page (metrics_listen): its fixed layout,
 * shared by the listener, which alone writes it (a MAP_SHARED memfd
 * mapping, MADV_DONTFORK: no monitor inherits it), and kf-metrics,
 * which maps it read-only from a descriptor opened O_RDONLY and turns
 * it into the Prometheus text format (metrics_render). The labels are
 * enums here; their names are expose.c's.
 * Runs in: listener (writes), kf-metrics (reads), monitor (the enums of
 * its reports), header only.
 */
#ifndef KF_METRICS_H
#define KF_METRICS_H

#include <stddef.h>
#include <stdint.h>

enum mx_method {
	MX_M_ANONYMOUS,
	MX_M_USERS_FILE, /* the users file or the quick mode's users */
	MX_M_PAM,
	MX_M_CERTIFICATE,
	MX_M_PASSWORD, /* a failed password login: no store is named */
	MX_METHODS
};

enum mx_result { MX_FAILED, MX_OK, MX_RESULTS };

enum mx_dir { MX_DOWNLOAD, MX_UPLOAD, MX_DIRS };

enum mx_reason {
	MX_R_MAX_CLIENTS,
	MX_R_MAX_PRELOGIN,
	MX_R_PER_IP,
	MX_R_RATE,
	MX_R_BAN,
	MX_R_ALLOW_DENY,
	MX_R_TLS, /* implicit listener while no certificate loads */
	MX_REASONS
};

#define METRICS_MAGIC 0x6b666d78u

/* Every field a u64 written whole (relaxed atomics): no torn value. */
struct metrics_page {
	uint64_t magic;
	uint64_t size; /* sizeof(struct metrics_page) */
	uint64_t sessions_prelogin; /* gauges */
	uint64_t sessions_logged_in;
	uint64_t bans_active;
	uint64_t verifying;
	uint64_t sessions_total; /* counters */
	uint64_t logins[MX_METHODS][MX_RESULTS];
	uint64_t transfers[MX_DIRS][MX_RESULTS];
	uint64_t bytes[MX_DIRS];
	uint64_t tls[MX_RESULTS];
	uint64_t refusals[MX_REASONS];
	uint64_t reports_dropped;
};

/* A field's value as kf-metrics reads it. */
static inline uint64_t
metrics_get(const uint64_t *f)
{
	return __atomic_load_n(f, __ATOMIC_RELAXED);
}

/*
 * The page as text (Prometheus exposition format 0.0.4) into out:
 * the length written, or -1 when outsz is too small. Pure.
 */
long metrics_render(const struct metrics_page *, const char *version, char *out,
    size_t outsz);

#endif
