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

struct perm_set;
/*
 * A shared folder for a post-login worker (sb_folders.c): source on the
 * host, mount an absolute clean path in the session's tree, writable
 * when both the folder (`rw`) and the user may write.
 */
struct sandbox_folder {
	const char *source;
	const char *mount;
	int writable;
	int fd; /* out: rootless, source's O_PATH fd; -1: not mapped (root: always) */
};

struct sandbox_spec {
	enum sandbox_phase phase;
	const char *root; /* absolute directory to confine into */
	uid_t uid; /* identity to take when root */
	gid_t gid;
	int writable; /* Landlock write rights under root */
	/*
	 * not writable: write rights only beneath the directories whose
	 * rule grants a change (common/perm.h); NULL: none
	 */
	const struct perm_set *perms;
	/* opens a rule's directory under the root (fs_open), else -1 */
	int (*open_dir)(int rootfd, const char *path);
	pid_t parent; /* die with it (0: no death signal) */
	struct sandbox_folder *folders; /* post-login: shared folders */
	size_t nfolders;
};

/*
 * Enters the sandbox for the phase. Root: chroot(root), setgroups/
 * setresgid/setresuid to uid/gid. Rootless: Landlock limits file access
 * to root (read-only unless writable). Both: every capability dropped,
 * PR_SET_NO_NEW_PRIVS, rlimits (no fork, bounded files, no core),
 * Landlock, then the phase's seccomp allow-list. Returns a directory fd
 * of the session root for fs_open (src/fs/walk.c) (post-login), or -1
 * for the pre-login phase. On any failure: logs and _exit(1).
 * Shared folders (post-login): as root, first a mount namespace of the
 * worker's own with each folder bound on its mount point (needs
 * CAP_SYS_ADMIN, which the post-login spawner keeps only when folders
 * are configured); rootless, each folder's fd is set and a Landlock
 * rule granted beneath it (read, plus write when writable).
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
void sandbox_monitor_shrink(const struct conf *, int anon_owner);
/* After REIN: CAP_CHOWN kept for anon_upload_owner is given up. */
void sandbox_monitor_drop_owner(const struct conf *);
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
/* 1 when the capability is in the effective set (spawners' set-up). */
int sandbox_have_cap(int cap);
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
/*
 * The listener as root with CAP_SETPCAP, at start: its bounding set
 * limited to the capabilities keepftpd uses (sb_priv.c).
 */
void sandbox_listener_bounding(void);

#endif
