/*
 * who.h - `keepftpd who` and `keepftpd kick`: a session's row as the
 * listener keeps it (LSN_STATUS from the session's own monitor applied
 * to it), and rows framed for the admin socket (ADM_WHO_ROWS) and read
 * back by the command.
 * Runs in: listener (who_init, who_apply, who_line_of, who_put); the
 * `keepftpd who` command (who_get).
 */
#ifndef KF_WHO_H
#define KF_WHO_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "../common/limits.h"
#include "../ipc/ipc.h"
#include "../ipc/proto.h"

/* Kept per session slot by the listener. */
struct who_row {
	uint64_t id; /* the session id of the log lines ([sN ...]) */
	int64_t connect_s; /* wall clock, seconds since the epoch */
	int64_t at_ms; /* last activity (listener's clock) */
	char user[KF_USER_MAX + 1]; /* "" before login */
	char verb[KF_WHO_VERB_MAX + 1]; /* "" idle */
	char path[KF_WHO_PATH_MAX + 1];
	uint64_t bytes;
	uint64_t rate; /* bytes a second, between the last two reports */
	int64_t rate_ms; /* the report the rate starts from */
	uint64_t rate_bytes;
};

/* One row as the admin socket carries it. */
struct who_line {
	uint64_t id;
	uint32_t pid;
	char user[KF_USER_MAX + 1];
	char addr[ADM_ADDR_MAX + 1];
	uint32_t port;
	uint64_t connect_s;
	uint32_t idle_s;
	char state[KF_WHO_VERB_MAX + 1]; /* "" idle, "LOGIN", a verb */
	char path[KF_WHO_PATH_MAX + 1];
	uint64_t bytes;
	uint64_t rate;
};

void who_init(struct who_row *, uint64_t id, int64_t now_ms, int64_t wall_s);
/*
 * An LSN_STATUS payload (msg after its header) applied to the row: 0,
 * or -1 (malformed: a bound, a verb character, a NUL, a trailing byte)
 * with the row unchanged. The payload names no session: the caller
 * chose the row by the sender's pid.
 */
int who_apply(struct who_row *, struct ipc_msg *, int64_t now_ms);
/* A login (user) or a REIN (""): the row starts again, idle. */
void who_login(struct who_row *, const char *user, int64_t now_ms);
/* A verb as the command tables spell it: A-Z, 0-9 ("" too). */
int who_verb_ok(const char *);
void who_line_of(const struct who_row *, pid_t, const struct sockaddr_storage *,
    int64_t now_ms, struct who_line *);
/* A row appended to an ADM_WHO_ROWS message; -1 when it does not fit. */
int who_put(struct ipc_msg *, const struct who_line *);
/* A row read back, as strictly; -1 when malformed. */
int who_get(struct ipc_msg *, struct who_line *);

#endif
