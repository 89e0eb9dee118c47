/*
 * auth.h - login checks, run by the session monitor only. Callers pass
 * bounded, NUL-free strings taken from a typed IPC message.
 * Runs in: monitor (auth_check), listener (auth_slots_init), the
 * `keepftpd user` command (users_cli).
 */
#ifndef KF_AUTH_H
#define KF_AUTH_H

#include <stdint.h>
#include <sys/types.h>

#include "../common/limits.h"
#include "../common/perm.h"
#include "../conf/conf.h"

struct auth_identity {
	char name[KF_USER_MAX + 1]; /* login name (for logs) */
	uid_t uid; /* identity of the post-login worker */
	gid_t gid;
	char root[KF_PATH_MAX + 1]; /* absolute: the session's root */
	int writable; /* may upload, delete, rename, mkdir */
	int anonymous;
	/* rates and quotas (users-file flags, else the configuration) */
	uint64_t down_rate; /* bytes/s; 0: no limit */
	uint64_t up_rate;
	uint64_t quota_bytes; /* 0: no quota */
	uint64_t quota_files;
	/* the users file's allow_from= / deny_from= ("": none), checked by the monitor */
	char allow_from[KF_USERS_ADDRS_MAX + 1];
	char deny_from[KF_USERS_ADDRS_MAX + 1];
	int tls_required; /* users-file flag "tls" */
	int pam; /* a system user (PAM): a session to open */
	/*
	 * per-directory permissions (common/perm.h): the users file's perm=
	 * flags, or anon_upload_dirs for anonymous sessions; where no rule
	 * matches, writable decides (PERM_ALL, else PERM_READ)
	 */
	struct perm_set perms;
	/* shared folders: bit i is conf->folder[i] (users-file folders=,
	   anon_folders), resolved by the monitor at login */
	uint32_t folders;
	/* per-user limits (users file; anon_max_sessions for anonymous) */
	unsigned max_sessions; /* concurrent, counted by the listener; 0: any */
	int has_umask; /* umask= given: the worker's umask, SITE UMASK's floor */
	unsigned umask;
	int fxp; /* PORT/EPRT to, PASV/EPSV from, other addresses */
	/* login_hours= ("": any time), checked by the monitor at login */
	char login_hours[KF_LOGIN_HOURS_MAX + 1];
};

/*
 * Checks user/pass against, in order: anonymous (when enabled; user
 * "anonymous" or "ftp", any password; the root is vh->anon_root when
 * the session chose a virtual host vh with HOST, else conf->anon_root),
 * the inline users text (quick mode; users-file format; may be NULL),
 * conf->users_file, then PAM (when conf->pam_enable). Unknown user and
 * wrong password take the same path and about the same time (a dummy
 * hash is verified). Empty passwords are never accepted for
 * non-anonymous users. vh may be NULL and must come from conf itself.
 * With users_backend = postgresql the database (through kf-pgauth)
 * replaces the users file. Returns 0 and fills *id on success, -2 when
 * the users database is unavailable (the login answers 421), -1
 * otherwise. Never logs passwords.
 */
/*
 * A login name that means anonymous (anonymous_enable and "anonymous"
 * or "ftp"): its check reads no password, hash or users file.
 */
int auth_is_anonymous(const struct conf *, const char *user);
int auth_check_vhost(const struct conf *, const char *inline_users,
    const struct conf_vhost *vh, const char *user, const char *pass,
    struct auth_identity *id);
/*
 * auth_check_vhost() for a caller that runs it in memory it unmaps with
 * the verdict (src/priv/verify.c): the same answers, or AUTH_ELSEWHERE,
 * before any verification, where the check would use memory the caller
 * does not own: PAM, the users database, a rehash, an argon2id string
 * only libsodium's own check reads.
 */
#define AUTH_ELSEWHERE (-3)
int auth_check_here(const struct conf *, const char *inline_users,
    const struct conf_vhost *vh, const char *user, const char *pass,
    struct auth_identity *id);
/*
 * tls_client_cert_login: the identity of a virtual user (inline users,
 * then the users file) with no password check; the caller has verified
 * a client certificate naming user. Never anonymous, never PAM.
 * 0 and *id filled, or -1.
 */
int auth_identity_by_cert(const struct conf *, const char *inline_users,
    const char *user, struct auth_identity *id);
/*
 * pam.c: after a PAM login, pam_open_session (pam_limits and the like
 * act on the calling process, which must be the session's monitor: its
 * post-login worker inherits the result); no-op for other logins.
 * 0, or -1 (logged): the login must fail. auth_session_close() ends it
 * (at logout, REIN or the end of the connection); no-op when none.
 */
int auth_session_open(const struct conf *, const struct auth_identity *);
void auth_session_close(void);
/* A system account's ids, looked up once by name (auth_account). */
struct auth_account {
	char name[65]; /* service_user and anon_user: at most 64 bytes */
	int valid, ok; /* ok: it exists and is not root */
	uid_t uid;
	gid_t gid;
};
void auth_account(struct auth_account *, const char *name, int force);
/*
 * Looks anon_user up (again when force, or when the name changed) and
 * keeps its ids for auth_check_vhost(): the listener calls it before it
 * forks each monitor, which then inherits the answer.
 */
void auth_anon_lookup(const struct conf *, int force);
/* auth_check_vhost() with no virtual host. */
int auth_check(const struct conf *, const char *inline_users, const char *user,
    const char *pass, struct auth_identity *id);

/*
 * Concurrency cap on password verification, shared by all monitors:
 * acquire waits in line for a token (0), or says there is no cap to
 * wait for (1: none made, or removed), or fails (-1); release takes
 * what acquire returned.
 */
int auth_slots_init(unsigned n); /* listener, before any fork */
int auth_slots_id(void); /* the semaphore set, for the monitor's filter */
void auth_slots_end(void); /* listener, when its sessions have ended */
int auth_slot_acquire(void);
void auth_slot_release(int slot);

/* argon2id string of pass (libsodium), or -1. out: crypto_pwhash_STRBYTES. */
int auth_hash_password(const char *pass, unsigned long opslimit,
    size_t memlimit_bytes, char *out, size_t outsz);

/*
 * rehash.c (pwhash_rehash): name's line in conf->users_file gets an
 * argon2id hash of pass at the configured cost, if it still holds old.
 * Logs what it did; never blocks on `keepftpd user`'s lock.
 */
void auth_rehash(const struct conf *, const char *name, const char *old,
    const char *pass);

/* `keepftpd user add|passwd|del|list ...`; returns the exit status. */
int users_cli(int argc, char **argv);

#endif
