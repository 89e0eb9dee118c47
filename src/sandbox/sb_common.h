/*
 * sb_common.h - shared by the two sides of the sandbox (sb_priv.c,
 * sb_worker.c) and the configuration parser's (conf_sandbox.c); defined
 * in sb_common.c. Not for use outside
 * src/sandbox/: the public functions are in sandbox.h.
 * Runs in: the monitor after login, the PAM session keeper, spawners,
 * pre-login and post-login workers, the TLS relay, the configuration
 * parser child.
 */
#ifndef KF_SB_COMMON_H
#define KF_SB_COMMON_H

#include <stddef.h>
#include <sys/capability.h>

#define SB_CAP_PROBE_MAX 64 /* capabilities fit in 64 bits */
#define SB_NELEM(a)	 (sizeof(a) / sizeof((a)[0]))

/* Log the step and errno (sb_fail) or the reason, then _exit(1). */
void sb_fail(const char *step) __attribute__((noreturn));
void sb_refuse(const char *why) __attribute__((noreturn));

/* Whether c is in the effective set. */
int sb_have_cap(cap_value_t c);

/*
 * Needs CAP_SETPCAP: every capability not in keep leaves the bounding
 * set, read back.
 */
void sb_shrink_bounding(const cap_value_t *keep, size_t n);
/* Those not in keep leave the bounding set; kept ones are not checked. */
void sb_limit_bounding(const cap_value_t *keep, size_t n);

/*
 * Effective and permitted: exactly keep; inheritable and ambient: none;
 * read back.
 */
void sb_shrink_caps(const cap_value_t *keep, size_t n);

/* no_new_privs and not dumpable, read back. */
void sb_no_new_privs(void);

/* KF_SANITIZE: LeakSanitizer's exit check off from here on. */
void sb_mark_sandboxed(void);

#endif
