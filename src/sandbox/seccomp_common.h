/*
 * seccomp_common.h - shared by the builders of the workers' programs
 * (seccomp_worker.c) and of the monitor's (seccomp_monitor.c); defined
 * in seccomp_common.c. Not for use outside src/sandbox/: the public
 * functions are in seccomp.h.
 * Runs in: spawners, pre-login and post-login workers, the TLS relay,
 * the listener, the monitor after login.
 */
#ifndef KF_SECCOMP_COMMON_H
#define KF_SECCOMP_COMMON_H

#include <seccomp.h>
#include <stddef.h>

#include "phase.h"

#define SC_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Stands for the process id while a program is prepared: above
 * PID_MAX_LIMIT (2^22), so it is no process id.
 */
#define SC_SELF_PID_MARK 0x0f005eccu

/* Allowed only when (argument & mask) == value. */
struct arg_rule {
	const char *name;
	unsigned arg;
	scmp_datum_t mask;
	scmp_datum_t value;
};

/* Adds a phase's rules to a filter; me: the pid (or the mark). 0 or -1. */
typedef int (*sc_build_fn)(scmp_filter_ctx, enum sandbox_phase, scmp_datum_t);

/* One argument condition; all fields set, unlike libseccomp's macros. */
struct scmp_arg_cmp sc_cmp(unsigned arg, enum scmp_compare op, scmp_datum_t a,
    scmp_datum_t b);

/* Rules, each 0 or -1; a name the architecture lacks is skipped. */
int sc_calls(scmp_filter_ctx, uint32_t action, const char *const *names,
    size_t n); /* every name: action, no condition */
int sc_allow_calls(scmp_filter_ctx, const char *const *names, size_t n);
int sc_allow_args(scmp_filter_ctx, const struct arg_rule *t, size_t n);
int sc_allow_base_calls(scmp_filter_ctx); /* pre- and post-login */
int sc_allow_base_args(scmp_filter_ctx); /* mmap, mprotect: no PROT_EXEC */
int sc_allow_modes(scmp_filter_ctx); /* post-login: no set-id modes */
int sc_allow_tcp_sockets(scmp_filter_ctx); /* post-login: TCP only */
int sc_refuse_enosys(scmp_filter_ctx); /* after login: openat2 */
#ifdef KF_SANITIZE
int sc_allow_sanitizer_args(scmp_filter_ctx); /* isatty's TCGETS */
#endif

/*
 * Compiles the phase's program once (me: SC_SELF_PID_MARK); want_mark:
 * whether its rules compare the pid. 0, or -1 when it is to be built
 * in place.
 */
int sc_prepare(enum sandbox_phase, sc_build_fn, int want_mark);

/* Loads the prepared program, or builds and loads it now. 0 or -1. */
int sc_apply(enum sandbox_phase, sc_build_fn);

#endif
