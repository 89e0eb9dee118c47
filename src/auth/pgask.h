/*
 * pgask.h - users in PostgreSQL without libpq on the privileged side:
 * a database row as a users-file entry (pgrow_*, pure: kf-pgauth and
 * `keepftpd user` parse rows with the users-file parser), and the
 * request a verifier child sends kf-pgauth (pgask_*; docs/PRIVSEP.md,
 * PGA_LOGIN).
 * Runs in: verifier child (pgask_login), listener (pgask_init),
 * kf-pgauth and the `keepftpd user` helper (pgrow_*).
 */
#ifndef KF_PGASK_H
#define KF_PGASK_H

#include <stdint.h>

#include "../common/limits.h"
#include "../conf/conf.h"
#include "users.h"

/* The columns of keepftpd_users, in the order every SELECT names them. */
enum pgrow_col {
	PGROW_NAME,
	PGROW_HASH,
	PGROW_UID,
	PGROW_GID,
	PGROW_HOME,
	PGROW_FLAGS,
	PGROW_COLS
};

/*
 * The row as the users file would hold it: the columns joined with ':'
 * and read by users_parse_line, so a row and a line mean the same and
 * are checked the same. A column holding ':' where the file could not
 * (every column but flags), a line break, or a NULL is refused.
 * 0 and *e, or -1 and *err.
 */
int pgrow_parse(const char *const col[PGROW_COLS], struct users_entry *e,
    const char **err);
/* e as one users-file line, without "\n", NUL-terminated in out. 0 or -1. */
int pgrow_line(const struct users_entry *e, char *out, size_t outsz);
/* The flags column of e (users_format_flags), NUL-terminated in out. */
int pgrow_flags(const struct users_entry *e, char *out, size_t outsz);

/* kf-pgauth's requests and verdicts (docs/PRIVSEP.md, PGA_LOGIN) */
enum pga_kind {
	PGA_K_LOGIN = 1,
	PGA_K_LOOKUP = 2,
};

enum pga_result {
	PGA_R_BAD = 0, /* wrong password, or a malformed row */
	PGA_R_OK = 1,
	PGA_R_NOUSER = 2, /* no row for the name (dummy verification spent) */
	PGA_R_DOWN = 3, /* the database is down or too slow: 421 */
};

/* The placeholder hash of a verdict's line: verified, never shipped. */
#define PGA_HASH_PLACEHOLDER "$argon2id$verified-by-kf-pgauth"

struct pga_req {
	uint32_t kind; /* enum pga_kind */
	char user[KF_USER_MAX + 1];
	char pass[KF_PASS_MAX + 1];
};

/* The listener's end of kf-pgauth's channel, inherited by monitors. */
void pgask_init(int fd);
int pgask_fd(void);
/*
 * Asks kf-pgauth (pass NULL: lookup, no password). enum pga_result; with
 * PGA_R_OK, *e (its hash the placeholder). PGA_R_DOWN when kf-pgauth is
 * not there or does not answer within pg_timeout + KF_PG_WAIT_SLACK_MS.
 */
int pgask_login(const struct conf *, const char *user, const char *pass,
    struct users_entry *e);
/* users_backend = postgresql */
int pgask_backend(const struct conf *);

#endif
