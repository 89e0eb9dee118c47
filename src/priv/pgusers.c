/*
 * pgusers.c - the `keepftpd user` database helper (users_backend =
 * postgresql): `keepftpd-pgauth --pgusers`, forked and executed by the
 * `keepftpd user` command (src/auth/users_cli.c) with one socketpair at
 * descriptor 3, so that libpq is never mapped into the privileged
 * keepftpd image. One request (PGU_REQ), one connection, one
 * parameterised statement (PQexecParams: every value a $n parameter,
 * no SQL built from strings), the rows (PGU_ROW) and the status
 * (PGU_END). It runs as the administrator who typed the command, as the
 * command itself does; it holds no secret the administrator lacks.
 * Runs in: the `keepftpd user` helper.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "../auth/pgask.h"
#include "../ipc/ipc.h"
#include "../ipc/proto.h"
#include "../auth/users_pgcli.h"
#include "kf_pgauth.h"

#define COLS "name, hash, uid, gid, home, flags"

static const char sql_list[] = "SELECT " COLS
			       " FROM keepftpd_users ORDER BY name";
static const char sql_get[] = "SELECT " COLS " FROM keepftpd_users "
			      "WHERE name = $1";
static const char sql_add[] = "INSERT INTO keepftpd_users (" COLS
			      ") VALUES ($1, $2, $3, $4, $5, $6)";
static const char sql_put[] = "UPDATE keepftpd_users SET hash = $2, "
			      "uid = $3, gid = $4, home = $5, flags = $6 "
			      "WHERE name = $1";
static const char sql_del[] = "DELETE FROM keepftpd_users WHERE name = $1";

struct pgu_req {
	uint32_t op, timeout;
	char conninfo[KF_PG_CONNINFO_MAX + 1];
	char name[KF_USER_MAX + 1];
	char line[KF_USERS_LINE_MAX + 1];
};

static int
end(uint32_t status, const char *msg)
{
	char text[512];
	struct ipc_msg m;
	size_t n = strcspn(msg, "\n"); /* libpq's first line */

	if (n >= sizeof(text))
		n = sizeof(text) - 1;
	memcpy(text, msg, n);
	text[n] = '\0';
	ipc_init(&m, PGU_END);
	(void)ipc_put_u32(&m, status);
	(void)ipc_put_str(&m, text, sizeof(text) - 1);
	(void)ipc_send(PGU_FD, &m);
	return status == PGU_OK ? 0 : 1;
}

static int
row_out(PGresult *res, int i)
{
	const char *col[PGROW_COLS], *err = "";
	char line[KF_USERS_LINE_MAX + 1];
	struct users_entry e;
	struct ipc_msg m;
	int c;

	for (c = 0; c < PGROW_COLS; c++)
		col[c] = PQgetisnull(res, i, c) ? NULL : PQgetvalue(res, i, c);
	if (pgrow_parse(col, &e, &err) < 0) {
		fprintf(stderr, "keepftpd user: row %d (%s): %s\n", i + 1,
		    col[0] != NULL ? col[0] : "NULL", err);
		return -1;
	}
	ipc_init(&m, PGU_ROW);
	if (pgrow_line(&e, line, sizeof(line)) < 0 ||
	    ipc_put_str(&m, line, KF_USERS_LINE_MAX) < 0 ||
	    ipc_send(PGU_FD, &m) < 0)
		return -1;
	return 0;
}

static int
rows_out(PGresult *res)
{
	int i, n = PQntuples(res);

	if (PQnfields(res) != PGROW_COLS || n > KF_PG_ROWS_MAX)
		return end(PGU_ERROR, "unexpected answer from keepftpd_users");
	if (n == 0)
		return end(PGU_NOUSER, "no such user");
	for (i = 0; i < n; i++)
		if (row_out(res, i) < 0)
			return end(PGU_ERROR,
			    "malformed row in keepftpd_users");
	return end(PGU_OK, "");
}

/* The six parameters of ADD and PUT, from the users-file line. */
static int
params_of(const char *line, struct users_entry *e, char ids[2][16], char *flags,
    size_t flagsz, const char *vals[6])
{
	const char *err = "";

	if (users_parse_line(line, strlen(line), e, &err) != 1 ||
	    pgrow_flags(e, flags, flagsz) < 0)
		return -1;
	snprintf(ids[0], sizeof(ids[0]), "%lu", (unsigned long)e->uid);
	snprintf(ids[1], sizeof(ids[1]), "%lu", (unsigned long)e->gid);
	vals[0] = e->name;
	vals[1] = e->hash;
	vals[2] = ids[0];
	vals[3] = ids[1];
	vals[4] = e->home;
	vals[5] = flags;
	return 0;
}

static int
run(PGconn *pg, const struct pgu_req *rq)
{
	static struct users_entry e;
	char ids[2][16], flags[KF_USERS_LINE_MAX + 1];
	const char *vals[6] = { rq->name }, *sql, *state;
	PGresult *res;
	int n = 1, r;

	if (rq->op == PGU_OP_LIST) {
		sql = sql_list;
		n = 0;
	} else if (rq->op == PGU_OP_GET)
		sql = sql_get;
	else if (rq->op == PGU_OP_DEL)
		sql = sql_del;
	else if (rq->op == PGU_OP_ADD || rq->op == PGU_OP_PUT) {
		if (params_of(rq->line, &e, ids, flags, sizeof(flags), vals) <
		    0)
			return end(PGU_ERROR, "malformed user line");
		sql = rq->op == PGU_OP_ADD ? sql_add : sql_put;
		n = 6;
	} else
		return end(PGU_ERROR, "unknown request");
	res = PQexecParams(pg, sql, n, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		r = rows_out(res);
	else if (PQresultStatus(res) == PGRES_COMMAND_OK)
		r = strcmp(PQcmdTuples(res), "0") == 0 ?
		    end(PGU_NOUSER, "no such user") :
		    end(PGU_OK, "");
	else {
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (state != NULL && strcmp(state, "23505") == 0)
			r = end(PGU_EXISTS, "exists");
		else
			r = end(PGU_ERROR, PQresultErrorMessage(res));
	}
	PQclear(res);
	return r;
}

static int
read_req(struct pgu_req *rq)
{
	struct ipc_msg m;

	memset(rq, 0, sizeof(*rq));
	return ipc_recv(PGU_FD, &m) < 0 || m.type != PGU_REQ ||
		ipc_get_u32(&m, &rq->op) < 0 ||
		ipc_get_u32(&m, &rq->timeout) < 0 ||
		ipc_get_str(&m, rq->conninfo, sizeof(rq->conninfo)) < 0 ||
		ipc_get_str(&m, rq->name, sizeof(rq->name)) < 0 ||
		ipc_get_str(&m, rq->line, sizeof(rq->line)) < 0 ||
		ipc_end(&m) < 0 ?
	    -1 :
	    0;
}

int
pgusers_main(void)
{
	static struct pgu_req rq;
	const char *kw[4] = { "dbname", "connect_timeout", "application_name",
		NULL };
	const char *val[4] = { NULL, NULL, "keepftpd-user", NULL };
	char timeout[16];
	PGconn *pg;
	int r;

	if (read_req(&rq) < 0)
		return end(PGU_ERROR, "malformed request");
	snprintf(timeout, sizeof(timeout), "%u", rq.timeout);
	val[0] = rq.conninfo;
	val[1] = timeout;
	pg = PQconnectdbParams(kw, val, 1);
	if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
		r = end(PGU_ERROR,
		    pg != NULL ? PQerrorMessage(pg) : "out of memory");
		PQfinish(pg);
		return r;
	}
	r = run(pg, &rq);
	PQfinish(pg);
	return r;
}
