/*
 * sb_common.c - what both sides of the sandbox share: the failure exits
 * (log, then _exit(1): nothing runs half-confined) and the verified
 * capability steps (effective, permitted and bounding sets shrunk to a
 * list, then read back).
 * Runs in: the monitor after login and the PAM session keeper (through
 * sb_priv.c); spawners, pre-login and post-login workers and the TLS
 * relay (through sb_worker.c); the configuration parser child (through
 * conf_sandbox.c).
 */
#include <errno.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "../common/log.h"
#include "sb_common.h"

#ifdef KF_SANITIZE
/*
 * LeakSanitizer's exit-time check stops the world with clone and ptrace,
 * which a sandboxed worker can no longer do (seccomp, RLIMIT_NPROC 0,
 * not dumpable). The runtime asks this hook first: leak checking stays
 * on in the listener and the monitor, off in sandboxed workers.
 */
static int sandboxed;

int __lsan_is_turned_off(void);

int
__lsan_is_turned_off(void)
{
	return sandboxed;
}
#endif

/* From here on LeakSanitizer's exit check is off (KF_SANITIZE only). */
void
sb_mark_sandboxed(void)
{
#ifdef KF_SANITIZE
	sandboxed = 1;
#endif
}

void
sb_fail(const char *step)
{
	log_err("sandbox: %-s failed: %-s", step, strerror(errno));
	_exit(1);
}

void
sb_refuse(const char *why)
{
	log_err("sandbox: %-s", why);
	_exit(1);
}

int
sb_have_cap(cap_value_t c)
{
	cap_flag_value_t v = CAP_CLEAR;
	cap_t now;

	if ((now = cap_get_proc()) == NULL)
		sb_fail("cap_get_proc");
	if (cap_get_flag(now, c, CAP_EFFECTIVE, &v) < 0)
		v = CAP_CLEAR;
	cap_free(now);
	return v == CAP_SET;
}

static int
kept(const cap_value_t *keep, size_t n, int c)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (keep[i] == c)
			return 1;
	return 0;
}

/*
 * Needs CAP_SETPCAP: every capability not kept leaves the bounding set.
 * Only those still in it are dropped: each PR_CAPBSET_DROP makes the
 * process a new set of credentials, and a process whose parent shrank
 * the set already (the listener at start, a spawner) has few left.
 */
void
sb_shrink_bounding(const cap_value_t *keep, size_t n)
{
	int c, r;

	for (c = 0; c < SB_CAP_PROBE_MAX; c++) {
		if (kept(keep, n, c))
			continue;
		if ((r = prctl(PR_CAPBSET_READ, c, 0, 0, 0)) < 0 &&
		    errno == EINVAL)
			break; /* past the kernel's last capability */
		if (r == 0)
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
			sb_fail("PR_CAPBSET_DROP");
	}
	for (c = 0; c < SB_CAP_PROBE_MAX; c++) {
		if ((r = prctl(PR_CAPBSET_READ, c, 0, 0, 0)) < 0 &&
		    errno == EINVAL)
			break;
		if (r != kept(keep, n, c))
			sb_refuse("bounding set check: not the set kept");
	}
}

/*
 * At most keep in the bounding set: the others still in it are
 * dropped; a kept one that is missing already stays missing.
 */
void
sb_limit_bounding(const cap_value_t *keep, size_t n)
{
	int c, r;

	for (c = 0; c < SB_CAP_PROBE_MAX; c++) {
		if ((r = prctl(PR_CAPBSET_READ, c, 0, 0, 0)) < 0 &&
		    errno == EINVAL)
			break;
		if (r == 0 || kept(keep, n, c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 ||
		    prctl(PR_CAPBSET_READ, c, 0, 0, 0) != 0)
			sb_fail("PR_CAPBSET_DROP");
	}
}

/* Effective and permitted: exactly keep; inheritable, ambient: none. */
void
sb_shrink_caps(const cap_value_t *keep, size_t n)
{
	cap_t want, now;
	int same;

	if ((want = cap_init()) == NULL)
		sb_fail("cap_init");
	if (n > 0 &&
	    (cap_set_flag(want, CAP_EFFECTIVE, (int)n, keep, CAP_SET) < 0 ||
		cap_set_flag(want, CAP_PERMITTED, (int)n, keep, CAP_SET) < 0))
		sb_fail("cap_set_flag");
	if (cap_set_proc(want) < 0)
		sb_fail("cap_set_proc");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		sb_fail("clear ambient capabilities");
	if ((now = cap_get_proc()) == NULL)
		sb_fail("cap_get_proc");
	same = cap_compare(now, want) == 0;
	cap_free(now);
	cap_free(want);
	if (!same)
		sb_refuse("capability check: not the set kept");
}

/* No privilege through execve ever again; not dumpable: no core, no ptrace peers. */
void
sb_no_new_privs(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		sb_fail("PR_SET_NO_NEW_PRIVS");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		sb_fail("PR_SET_DUMPABLE");
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1 ||
	    prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		sb_refuse("prctl check: no_new_privs or dumpable not set");
}
