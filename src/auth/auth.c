/*
 * auth.c - the login check: anonymous, inline users, the users file,
 * then PAM; and the cap on concurrent password verifications (a
 * System V semaphore shared by all monitors).
 * Runs in: monitor (auth_check), listener (auth_slots_init,
 * auth_slots_end).
 */
#include <errno.h>
#include <pwd.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/sem.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/sys.h"
#include "auth.h"
#include "pgask.h"
#include "users.h"

/*
 * The cap is a semaphore of auth_concurrency tokens. The kernel keeps
 * the monitors that wait for one in a queue and hands a returned token
 * to the first of them, so a newcomer never overtakes a session that
 * waits (with a lock per slot, a waiter slept on one slot while another
 * came free and went to a newcomer: the bench's p99 paid for it), and
 * it gives a dead holder's token back (SEM_UNDO). The listener removes
 * the set when its last session has ended (auth_slots_end). It lives in
 * an IPC namespace of the server's own when the listener may make one
 * (root): nothing outside the server sees it, and even a listener that
 * was killed leaves nothing behind. Otherwise (rootless) it is in the
 * host's namespace, mode 0600. Workers never reach it: their filters
 * allow no System V call, and the monitor's allows semop on this set
 * only.
 */
static int slot_sem = -1;

int
auth_slots_init(unsigned n)
{
	static int tried_ns;
	int id;

	if (n == 0 || n > KF_AUTH_SLOTS_MAX)
		return -1;
	if (!tried_ns) { /* EPERM when rootless: the host's namespace */
		tried_ns = 1;
		(void)unshare(CLONE_NEWIPC);
	}
	if ((id = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600)) < 0)
		return -1;
	if (semctl(id, 0, SETVAL, (int)n) < 0) {
		(void)semctl(id, 0, IPC_RMID);
		return -1;
	}
	auth_slots_end(); /* made again: the old set goes */
	slot_sem = id;
	return 0;
}

int
auth_slots_id(void)
{
	return slot_sem;
}

void
auth_slots_end(void)
{
	if (slot_sem >= 0)
		(void)semctl(slot_sem, 0, IPC_RMID);
	slot_sem = -1;
}

int
auth_slot_acquire(void)
{
	struct sembuf take = { .sem_num = 0,
		.sem_op = -1,
		.sem_flg = SEM_UNDO };

	if (slot_sem < 0)
		return 1;
	while (semop(slot_sem, &take, 1) < 0) {
		if (errno == EINTR)
			continue;
		/* removed (a test's auth_slots_end): no cap to wait for */
		if (errno == EIDRM || errno == EINVAL)
			return 1;
		return -1;
	}
	return 0;
}

void
auth_slot_release(int slot)
{
	struct sembuf give = { .sem_num = 0, .sem_op = 1, .sem_flg = SEM_UNDO };

	if (slot == 0 && slot_sem >= 0)
		(void)semop(slot_sem, &give, 1);
}

static int
verify(const char *hash, const char *pass)
{
	int slot, r;

	if ((slot = auth_slot_acquire()) < 0)
		return -1;
	r = password_verify(hash, pass);
	auth_slot_release(slot);
	return r;
}

static int
verify_dummy(const struct conf *c, const char *pass)
{
	int slot;

	if ((slot = auth_slot_acquire()) < 0)
		return -1;
	(void)password_verify_dummy(c, pass);
	auth_slot_release(slot);
	return -1;
}

/* PAM's own failure delay is off (the monitor delays failures). */
static int
verify_pam(const struct conf *c, const char *user, const char *pass,
    struct auth_identity *id)
{
	int slot, r;

	if ((slot = auth_slot_acquire()) < 0)
		return -1;
	r = pam_check(c, user, pass, id);
	auth_slot_release(slot);
	if (r < 0) /* as slow as a wrong password of a virtual user */
		return verify_dummy(c, pass);
	return 0;
}

static int
set_str(char *dst, size_t dstsz, const char *src)
{
	size_t n = strlen(src);

	if (n >= dstsz)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

/*
 * A system account's ids, kept by name: the listener looks service_user
 * and anon_user up (auth_account) before it forks a monitor, so that no
 * session does the NSS work (files read, heap written) itself. A name
 * that differs from the kept one, or force (start, SIGHUP), looks it up
 * again. ok: the account exists and is not root.
 */
void
auth_account(struct auth_account *a, const char *name, int force)
{
	size_t n = strlen(name);
	struct passwd *pw;

	if (!force && a->valid && strcmp(a->name, name) == 0)
		return;
	a->valid = n < sizeof(a->name);
	if (a->valid)
		memcpy(a->name, name, n + 1);
	pw = a->valid ? getpwnam(name) : NULL;
	a->ok = pw != NULL && pw->pw_uid != 0;
	a->uid = pw != NULL ? pw->pw_uid : 0;
	a->gid = pw != NULL ? pw->pw_gid : 0;
}

static struct auth_account anon_acct SYS_HOT;

void
auth_anon_lookup(const struct conf *c, int force)
{
	auth_account(&anon_acct, c->anon_user, force);
}

/*
 * A users-file folders= list, or anon_folders, as the mask the spawner
 * reads. A name the configuration has no folder for is left out and
 * logged (the configuration may have been reloaded without it).
 */
static void
folders_of(const struct conf *c, const char *list, struct auth_identity *id)
{
	int r = conf_folder_mask(c, list, &id->folders);

	if (r < 0)
		id->folders = 0;
	if (r != 0)
		log_warn("user %-s: %d shared folder name(s) are not in the "
			 "configuration; left out",
		    id->name, r < 0 ? 1 : r);
}

static int
anon_identity(const struct conf *c, const struct conf_vhost *vh,
    struct auth_identity *id)
{
	id->uid = getuid();
	id->gid = getgid();
	if (geteuid() == 0) {
		auth_anon_lookup(c, 0);
		if (!anon_acct.ok) {
			log_warn("anon_user=%s has no account, or is root",
			    c->anon_user);
			return -1;
		}
		id->uid = anon_acct.uid;
		id->gid = anon_acct.gid;
	}
	id->writable = c->anon_write;
	id->anonymous = 1;
	/* anon_upload_dirs: drop-boxes (checked by the configuration) */
	if (perm_set_dirs(&id->perms, c->anon_upload_dirs,
		strlen(c->anon_upload_dirs), PERM_UPLOAD) < 0)
		return -1;
	id->max_sessions = (unsigned)c->anon_max_sessions;
	if (c->anon_download_rate > 0)
		id->down_rate = c->anon_download_rate;
	if (c->anon_upload_rate > 0)
		id->up_rate = c->anon_upload_rate;
	if (set_str(id->name, sizeof(id->name), "anonymous") < 0 ||
	    set_str(id->root, sizeof(id->root),
		vh != NULL ? vh->anon_root : c->anon_root) < 0)
		return -1;
	folders_of(c, c->anon_folders, id);
	return 0;
}

int
auth_is_anonymous(const struct conf *c, const char *user)
{
	return c->anonymous_enable &&
	    (strcasecmp(user, "anonymous") == 0 ||
		strcasecmp(user, "ftp") == 0);
}

/* 1: found in text, 0: not found (or malformed: logged). */
static int
find_in(const char *what, const char *text, size_t len, const char *user,
    struct users_entry *e)
{
	const char *err = "";
	size_t line = 0;
	int r;

	r = users_find(text, len, user, e, &line, &err);
	if (r < 0) {
		log_warn("%-s:%zu: %-s", what, line, err);
		return 0;
	}
	return r;
}

static int
find_in_file(const struct conf *c, const char *user, struct users_entry *e)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	if (c->users_file[0] == '\0')
		return 0;
	if ((r = users_load(c->users_file, &text, &len)) < 0) {
		log_warn("users_file=%s unreadable: %-s", c->users_file,
		    strerror(-r));
		return 0;
	}
	r = find_in("users file", text, len, user, e);
	users_unload(text);
	return r;
}

static int
virtual_identity(const struct conf *c, const struct users_entry *e,
    struct auth_identity *id)
{
	if (geteuid() == 0) {
		id->uid = e->uid;
		id->gid = e->gid;
	} else {
		id->uid = getuid();
		id->gid = getgid();
	}
	id->writable = (e->flags & USERS_FLAG_WRITE) != 0;
	id->perms = e->perms;
	id->tls_required = (e->flags & USERS_FLAG_TLS) != 0;
	id->anonymous = 0;
	if (e->flags & USERS_FLAG_DOWN_RATE)
		id->down_rate = e->down_rate;
	if (e->flags & USERS_FLAG_UP_RATE)
		id->up_rate = e->up_rate;
	if (e->flags & USERS_FLAG_QUOTA_BYTES)
		id->quota_bytes = e->quota_bytes;
	if (e->flags & USERS_FLAG_QUOTA_FILES)
		id->quota_files = e->quota_files;
	/* per-user limits */
	id->max_sessions = (unsigned)e->max_sessions;
	id->has_umask = (e->flags & USERS_FLAG_UMASK) != 0;
	id->umask = e->umask;
	id->fxp = (e->flags & USERS_FLAG_FXP) != 0;
	memcpy(id->login_hours, e->login_hours, sizeof(id->login_hours));
	if (set_str(id->allow_from, sizeof(id->allow_from), e->allow_from) <
		0 ||
	    set_str(id->deny_from, sizeof(id->deny_from), e->deny_from) < 0)
		return -1;
	folders_of(c, e->folders, id);
	return set_str(id->root, sizeof(id->root), e->home);
}

/* pwhash_rehash, under an auth slot: hashing costs what verifying does. */
static void
rehash(const struct conf *c, const struct users_entry *e, const char *pass)
{
	int slot;

	if ((slot = auth_slot_acquire()) < 0)
		return;
	auth_rehash(c, e->name, e->hash, pass);
	auth_slot_release(slot);
}

/*
 * from_file: e comes from users_file (inline users cannot be
 * rewritten). A wrong password for a hash cheaper than the configured
 * argon2id (sha512-crypt: about 2 ms) also spends the dummy
 * verification, so that it costs what an unknown name costs and the
 * timing does not tell which names have legacy hashes. here
 * (auth_check_here): AUTH_ELSEWHERE before any verification when the
 * check would need memory of its own (a rehash, a hash only libsodium's
 * string check reads).
 */
static int
check_virtual(const struct conf *c, const struct users_entry *e, int from_file,
    const char *pass, struct auth_identity *id, int here)
{
	int stale;

	if (pass[0] == '\0')
		return verify_dummy(c, pass);
	stale = password_needs_rehash(c, e->hash);
	if (here &&
	    (!password_here(e->hash) ||
		(stale && from_file && c->pwhash_rehash)))
		return AUTH_ELSEWHERE;
	if (verify(e->hash, pass) < 0)
		return stale ? verify_dummy(c, pass) : -1;
	if (stale && from_file && c->pwhash_rehash)
		rehash(c, e, pass);
	return virtual_identity(c, e, id);
}

/*
 * users_backend = postgresql: kf-pgauth verifies (the hash never comes
 * here). -2 when the database is down: the login answers 421. A name
 * the database does not hold may still be a PAM user.
 */
static int
check_pg(const struct conf *c, const char *user, const char *pass,
    struct auth_identity *id)
{
	struct users_entry e;
	int r;

	if (pass[0] == '\0' || !users_valid_name(user, strlen(user)))
		return verify_dummy(c, pass);
	r = pgask_login(c, user, pass, &e);
	if (r == PGA_R_OK)
		return virtual_identity(c, &e, id);
	if (r == PGA_R_DOWN)
		return -2;
	if (r == PGA_R_NOUSER && c->pam_enable)
		return verify_pam(c, user, pass, id);
	return -1;
}

static int
check_login(const struct conf *c, const char *inline_users,
    const struct conf_vhost *vh, const char *user, const char *pass,
    struct auth_identity *id, int here)
{
	struct users_entry e SYS_UNINIT; /* filled before read */

	if (auth_is_anonymous(c, user))
		return anon_identity(c, vh, id);
	if (inline_users != NULL &&
	    find_in("inline users", inline_users, strlen(inline_users), user,
		&e))
		return check_virtual(c, &e, 0, pass, id, here);
	if (pgask_backend(c))
		return here ? AUTH_ELSEWHERE : check_pg(c, user, pass, id);
	if (find_in_file(c, user, &e))
		return check_virtual(c, &e, 1, pass, id, here);
	if (c->pam_enable && pass[0] != '\0' &&
	    users_valid_name(user, strlen(user)))
		return here ? AUTH_ELSEWHERE : verify_pam(c, user, pass, id);
	return verify_dummy(c, pass);
}

/*
 * Every identity starts here, whatever proved it (password, PAM, client
 * certificate): the configured rates, unless the user's kind or flags
 * say else.
 */
static int
identity_start(const struct conf *c, const char *user, struct auth_identity *id)
{
	memset(id, 0, sizeof(*id));
	id->down_rate = c->download_rate;
	id->up_rate = c->upload_rate;
	return set_str(id->name, sizeof(id->name), user);
}

static int
check_vhost(const struct conf *c, const char *inline_users,
    const struct conf_vhost *vh, const char *user, const char *pass,
    struct auth_identity *id, int here)
{
	struct auth_identity tmp SYS_UNINIT; /* filled before read */
	int r;

	if (identity_start(c, user, &tmp) < 0)
		return verify_dummy(c, pass);
	r = check_login(c, inline_users, vh, user, pass, &tmp, here);
	if (r == 0)
		*id = tmp;
	return r;
}

int
auth_check_vhost(const struct conf *c, const char *inline_users,
    const struct conf_vhost *vh, const char *user, const char *pass,
    struct auth_identity *id)
{
	return check_vhost(c, inline_users, vh, user, pass, id, 0);
}

int
auth_check_here(const struct conf *c, const char *inline_users,
    const struct conf_vhost *vh, const char *user, const char *pass,
    struct auth_identity *id)
{
	return check_vhost(c, inline_users, vh, user, pass, id, 1);
}

int
auth_identity_by_cert(const struct conf *c, const char *inline_users,
    const char *user, struct auth_identity *id)
{
	struct auth_identity tmp;
	struct users_entry e;

	if (auth_is_anonymous(c, user) || identity_start(c, user, &tmp) < 0)
		return -1;
	if (!((inline_users != NULL &&
		  find_in("inline users", inline_users, strlen(inline_users),
		      user, &e)) ||
		(pgask_backend(c) ? pgask_login(c, user, NULL, &e) == PGA_R_OK :
				    find_in_file(c, user, &e))))
		return -1;
	if (virtual_identity(c, &e, &tmp) < 0)
		return -1;
	*id = tmp;
	return 0;
}

int
auth_check(const struct conf *c, const char *inline_users, const char *user,
    const char *pass, struct auth_identity *id)
{
	return auth_check_vhost(c, inline_users, NULL, user, pass, id);
}
