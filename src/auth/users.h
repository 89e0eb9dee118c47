/*
 * users.h - the virtual users file: strict line parser, lookup, bounded
 * loading, and password verification helpers shared by the monitor
 * (auth.c) and the `keepftpd user` command (users_cli.c).
 * Runs in: monitor, keepftpd user command.
 */
#ifndef KF_USERS_H
#define KF_USERS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/limits.h"
#include "../common/perm.h"
#include "../conf/conf.h"

#define USERS_HASH_MAX		512
#define USERS_FLAG_WRITE	0x1u
/* rates and quotas: the bit says the key=value flag was given */
#define USERS_FLAG_DOWN_RATE	0x100u
#define USERS_FLAG_UP_RATE	0x200u
#define USERS_FLAG_QUOTA_BYTES	0x400u
#define USERS_FLAG_QUOTA_FILES	0x800u
#define USERS_RATE_MAX		4000000000ULL /* bytes/s */
#define USERS_QUOTA_MAX		(1ULL << 60)
#define USERS_FLAG_TLS		0x2u /* logins need TLS */
/* per-user limits (docs/PERMISSIONS.md "Per-user limits") */
#define USERS_FLAG_FXP		0x4u /* data connections to/from other hosts */
#define USERS_FLAG_MAX_SESSIONS 0x1000u
#define USERS_FLAG_UMASK	0x2000u

struct buf;

struct users_entry {
	char name[KF_USER_MAX + 1];
	char hash[USERS_HASH_MAX + 1];
	uid_t uid;
	gid_t gid;
	char home[KF_PATH_MAX + 1];
	unsigned flags;
	/* rates and quotas, valid when their USERS_FLAG_ bit is set */
	uint64_t down_rate;
	uint64_t up_rate;
	uint64_t quota_bytes;
	uint64_t quota_files;
	/* client address lists (net/addr.h syntax, ','-separated); "": none */
	char allow_from[KF_USERS_ADDRS_MAX + 1];
	char deny_from[KF_USERS_ADDRS_MAX + 1];
	/* per-directory permissions: "perm=PATH:PERMS" flags (perm.h) */
	struct perm_set perms;
	/* shared folders (folder = names, ','-separated); "": none */
	char folders[KF_FOLDERS_LIST_MAX + 1];
	/* per-user limits: max_sessions= (flag bit), umask= (flag bit), login_hours= ("": any time) */
	uint64_t max_sessions;
	unsigned umask;
	char login_hours[KF_LOGIN_HOURS_MAX + 1];
};

int users_valid_name(const char *, size_t);
/* 1: an entry, 0: blank or comment, -1: malformed (*err says why). */
int users_parse_line(const char *line, size_t len, struct users_entry *,
    const char **err);
/* Next line of [*p, end) without its "\n"; 0 at the end. */
int users_next_line(const char **p, const char *end, const char **line,
    size_t *len);
/* 1: found, 0: not found, -1: malformed (*lineno, *err). Whole text checked. */
int users_find(const char *text, size_t len, const char *name,
    struct users_entry *, size_t *lineno, const char **err);
int users_format_line(const struct users_entry *, struct buf *);
/* The flags field as users_format_line writes it ("write,up_rate=N"). */
int users_format_flags(const struct users_entry *, struct buf *);
int users_format_addrs(struct buf *, const char **sep, const char *key,
    const char *list);
/* The perm= flags of a rule set, as users_format_flags writes them. */
int users_format_perms(struct buf *, const char **sep, const struct perm_set *);
/*
 * Reads a whole users file into a mapping of its own (NUL-terminated);
 * 0, or -errno (-ENOENT, -EFBIG, ...). users_unload() unmaps it: the
 * other accounts' lines never reach the caller's heap.
 */
int users_load(const char *path, char **text, size_t *len);
/* users_load() of an open regular file (a memfd), read by offset. */
int users_load_fd(int fd, char **text, size_t *len);
void users_unload(char *text);
/* An empty text in such a mapping (a users file yet to be made); 0 or -1. */
int users_empty(char **text, size_t *len);

/* password.c: 0 when pass matches hash, -1 otherwise. */
int password_verify(const char *hash, const char *pass);
/*
 * 1 when password_verify() checks hash with no heap memory of its own:
 * a crypt(3) hash, or an argon2id string with a 16-byte salt and p=1.
 */
int password_here(const char *hash);
/* Longest argon2id key password_here() takes, in bytes. */
#define ARGON2ID_KEY_MAX 64
/*
 * An argon2id string decoded and recomputed here: 0 on a match, -1 on
 * none, -2 when the string is not one password_here() takes.
 */
int password_argon2id_check(const char *hash, const char *pass);
/*
 * 1 when hash is not argon2id at the configured cost (a legacy crypt(3)
 * hash, or argon2id with other parameters), else 0.
 */
int password_needs_rehash(const struct conf *, const char *hash);
/* Spends one verification at the configured cost; always -1. */
int password_verify_dummy(const struct conf *, const char *pass);

/* pam.c: 0 and *id filled on success, -1 otherwise. */
struct auth_identity;
int pam_check(const struct conf *, const char *user, const char *pass,
    struct auth_identity *);

/* FILE.lock around a rewrite of the users file; fd, or -1 and errno. */
int users_lock(const char *file, int wait);

#endif
