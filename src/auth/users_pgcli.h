/*
 * users_pgcli.h - `keepftpd user` against the users database, through
 * the helper `keepftpd-pgauth --pgusers` (no libpq in this image).
 * Runs in: keepftpd user command.
 */
#ifndef KF_USERS_PGCLI_H
#define KF_USERS_PGCLI_H

#include <stddef.h>
#include <stdint.h>

#include "users.h"

/* PGU_REQ's op and PGU_END's status (docs/PRIVSEP.md) */
enum pgu_op {
	PGU_OP_LIST = 1,
	PGU_OP_GET = 2,
	PGU_OP_ADD = 3, /* INSERT; an existing name is PGU_EXISTS */
	PGU_OP_PUT = 4, /* UPDATE of an existing name */
	PGU_OP_DEL = 5,
};

enum pgu_status {
	PGU_OK = 0,
	PGU_NOUSER = 1,
	PGU_EXISTS = 2,
	PGU_ERROR = 3,
};

struct users_pgcli {
	const char *conninfo;
	uint32_t timeout; /* seconds: connect_timeout */
};

/* Called for each row (a users-file entry); -1 stops. */
typedef int (*users_pgcli_row)(const struct users_entry *, void *);

/*
 * One request: op (enum pgu_op), name (GET, DEL), e (ADD, PUT). Returns
 * enum pgu_status, or -1 when the helper failed; msg says why.
 */
int users_pgcli(const struct users_pgcli *, uint32_t op, const char *name,
    const struct users_entry *e, users_pgcli_row row, void *arg, char *msg,
    size_t msgsz);

#endif
