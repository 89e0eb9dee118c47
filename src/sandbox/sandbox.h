/*
 * sandbox.h - the only module that calls chroot, setuid, capset, prctl,
 * landlock and seccomp. One function per transition; each verifies its
 * result and exits the process on a mismatch.
 * Runs in: spawners, pre-login and post-login workers and the TLS relay
 * (just after fork; sb_worker.c, in keepftpd-worker only); the listener
 * (sandbox_prepare_empty_dir), the monitor (sandbox_monitor_shrink) and
 * the PAM session keeper (sandbox_pam_keeper) in sb_priv.c.
 */
#ifndef KF_SANDBOX_H
#define KF_SANDBOX_H

#include <stddef.h>
#include <sys/types.h>

#include "phase.h"

struct sandbox_spec {
	enum sandbox_phase phase;
	const char *root; /* absolute directory to confine into */
	uid_t uid; /* identity to take when root */
	gid_t gid;
	int writable; /* Landlock write rights under root */
	pid_t parent; /* die with it (0: no death signal) */
};

/*
 * Enters the sandbox for the phase. Root: chroot(root), setgroups/
 * setresgid/setresuid to uid/gid. Rootless: Landlock limits file access
 * to root (read-only unless writable). Both: every capability dropped,
 * PR_SET_NO_NEW_PRIVS, rlimits (no fork, bounded files, no core),
 * Landlock, then the phase's seccomp allow-list. Returns a directory fd
 * of the session root for fs_open (src/fs/walk.c) (post-login), or -1
 * for the pre-login phase. On any failure: logs and _exit(1).
 */
int sandbox_enter(const struct sandbox_spec *);

/*
 * The monitor after a login: keeps only the capabilities its remaining
 * work needs (forking workers with an identity and a root, killing
 * them, verifying logins, opening quota files; docs/SECURITY.md names
 * each), drops the rest from the effective, permitted and (with
 * CAP_SETPCAP) bounding sets, sets PR_SET_NO_NEW_PRIVS and loads the
 * monitor's seccomp allow-list. Once per process; later calls do
 * nothing. On any failure: logs and _exit(1).
 */
struct conf;
void sandbox_monitor_shrink(const struct conf *);
/*
 * The process that keeps a PAM session open (auth/pam.c): every
 * capability dropped but AUDIT_WRITE, no_new_privs, no seccomp (session
 * modules may exec). On failure: _exit(1).
 */
void sandbox_pam_keeper(void);

/*
 * Spawners (src/priv/spawner.c). sandbox_spawner: a spawner of
 * unprivileged workers enters root as uid/gid (rootless: pins its
 * ids), no capabilities, no_new_privs. sandbox_child: in its child,
 * the death signal (parent), rlimits, Landlock and the phase's seccomp
 * program. sandbox_keep_caps: the post-login spawner keeps only the
 * capabilities in keep. Any failure: logged, _exit(1).
 */
void sandbox_spawner(const struct sandbox_spec *);
void sandbox_child(enum sandbox_phase, pid_t parent);
void sandbox_keep_caps(const int *keep, size_t n);
/*
 * An upload hook's runner and the hook (hook_spawn.c): bounding set
 * emptied, uid/gid (root: never 0) with one group, the death signal
 * (parent), no capability, no_new_privs, no core; rootless pins its
 * ids. Any failure: logged, _exit(1).
 */
void sandbox_hook(uid_t uid, gid_t gid, pid_t parent);

/*
 * The configuration parser child (conf_sandbox.c), before it reads any
 * configuration: no capability, no_new_privs, Landlock read-only, a
 * seccomp allow-list whose only write is to result_fd. Keeps its uid.
 * On failure: a line on stderr, _exit(2).
 */
void sandbox_conf_parser(int result_fd);

/*
 * kf-log (log_sandbox.c): sandbox_spawner's identity and root, then
 * no fork, few files, and a seccomp list of reading, writing, polling
 * and closing. Any failure: logged, _exit(1).
 */
void sandbox_log_writer(const struct sandbox_spec *);
/*
 * kf-pgauth (pg_sandbox.c): sandbox_spawner's identity and root, then no
 * fork, few files, bounded memory, and a seccomp list of database
 * sockets, reading, writing and polling; opening files refused
 * (EACCES). Any failure: logged, _exit(1).
 */
void sandbox_pgauth(const struct sandbox_spec *);

/* Creates/validates the empty root-owned pre-login directory. 0 or -1. */
int sandbox_prepare_empty_dir(const char *path);

#endif
