/*
 * users_pgcli.c - `keepftpd user` against the users database
 * (users_backend = postgresql): each subcommand is one request to the
 * database helper, `keepftpd-pgauth --pgusers` (src/priv/pgusers.c),
 * forked and executed here (spawn_exec_pgusers) with a socketpair at
 * descriptor 3. This
 * image never maps libpq; the helper runs as the administrator, as
 * this command does, and lives for one request.
 * Runs in: keepftpd user command.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../auth/pgask.h"
#include "../auth/users_pgcli.h"
#include "../common/sys.h"
#include "../ipc/ipc.h"
#include "../ipc/proto.h"
#include "spawn.h"

static int
send_req(int fd, const struct users_pgcli *p, uint32_t op, const char *name,
    const struct users_entry *e)
{
	static char line[KF_USERS_LINE_MAX + 1];
	struct ipc_msg m;
	int r = -1;

	line[0] = '\0';
	if (e != NULL && pgrow_line(e, line, sizeof(line)) < 0)
		return -1;
	ipc_init(&m, PGU_REQ);
	if (ipc_put_u32(&m, op) == 0 && ipc_put_u32(&m, p->timeout) == 0 &&
	    ipc_put_str(&m, p->conninfo, KF_PG_CONNINFO_MAX) == 0 &&
	    ipc_put_str(&m, name != NULL ? name : "", KF_USER_MAX) == 0 &&
	    ipc_put_str(&m, line, KF_USERS_LINE_MAX) == 0 &&
	    ipc_send(fd, &m) == 0)
		r = 0;
	explicit_bzero(&m, sizeof(m));
	explicit_bzero(line, sizeof(line));
	return r;
}

/* PGU_ROW lines to row(), then PGU_END's status; -1 if malformed. */
static int
read_answer(int fd, users_pgcli_row row, void *arg, char *msg, size_t msgsz)
{
	char line[KF_USERS_LINE_MAX + 1];
	struct users_entry e;
	const char *err = "";
	struct ipc_msg m;
	uint32_t st;

	for (;;) {
		if (ipc_recv(fd, &m) < 0)
			return -1;
		if (m.type == PGU_END)
			break;
		if (m.type != PGU_ROW ||
		    ipc_get_str(&m, line, sizeof(line)) < 0 ||
		    ipc_end(&m) < 0 ||
		    users_parse_line(line, strlen(line), &e, &err) != 1)
			return -1;
		if (row != NULL && row(&e, arg) < 0)
			return -1;
	}
	if (ipc_get_u32(&m, &st) < 0 || ipc_get_str(&m, msg, msgsz) < 0 ||
	    ipc_end(&m) < 0)
		return -1;
	return (int)st;
}

int
users_pgcli(const struct users_pgcli *p, uint32_t op, const char *name,
    const struct users_entry *e, users_pgcli_row row, void *arg, char *msg,
    size_t msgsz)
{
	int fd, r = -1, status;
	pid_t pid;

	snprintf(msg, msgsz, "the database helper failed");
	if ((pid = sys_fork_pair(SOCK_SEQPACKET, &fd)) < 0)
		return -1;
	if (pid == 0)
		spawn_exec_pgusers(fd);
	if (send_req(fd, p, op, name, e) == 0)
		r = read_answer(fd, row, arg, msg, msgsz);
	close(fd);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return r;
}
