/*
 * kf_pgauth.c - kf-pgauth, the users database's one client in a running
 * server (users_backend = postgresql): `keepftpd-pgauth --pgauth`,
 * executed afresh by the listener (src/priv/lsn_pgauth.c) with two
 * descriptors: its end of the request socket (3) and the sealed
 * configuration (4, pg_conninfo kept in this copy only). It enters its
 * sandbox (src/sandbox/pg_sandbox.c: service user in the empty root,
 * no_new_privs, its own seccomp list) before it opens any connection.
 *
 * It keeps up to pg_pool connections. A request (PGA_LOGIN, with its
 * own answer socket) is taken only while a connection is idle, sent as
 * one parameterised query (PQsendQueryParams, the name as $1), and its
 * answer read without blocking; the password is verified here against
 * the row's hash with the users file's verifier (password_verify), an
 * unknown name spending the dummy verification; the verdict and the
 * user's line (its hash replaced) go back on the answer socket. With no
 * connection open (the database down) a request is answered PGA_R_DOWN
 * at once; a query not answered within pg_timeout is answered
 * PGA_R_DOWN and its connection dropped. Connections are opened again
 * with a doubling pause (KF_PG_BACKOFF_MIN_MS .. KF_PG_BACKOFF_MAX_MS).
 * Runs in: kf-pgauth.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "../auth/pgask.h"
#include "../common/log.h"
#include "../common/sys.h"
#include "../ipc/ipc.h"
#include "../ipc/proto.h"
#include "../sandbox/sandbox.h"
#include "bantab.h"
#include "kf_pgauth.h"
#include "spawn.h"

enum slot_state {
	S_DOWN,
	S_IDLE,
	S_BUSY,
};

enum query_kind {
	Q_LOGIN, /* a PGA_LOGIN: its answer socket waits */
	Q_BAN_ADD, /* pg_bans: a ban of this node written */
	Q_BAN_POLL, /* pg_bans: new rows of keepftpd_bans read */
};

struct slot {
	enum slot_state st;
	enum query_kind kind;
	int fresh; /* the query's result is still to be taken */
	PGconn *pg;
	int answer; /* the request's answer socket, -1 once answered */
	int64_t deadline_ms;
	struct pga_req rq;
};

static const char sql_user[] =
    "SELECT name, hash, uid, gid, home, flags FROM keepftpd_users "
    "WHERE name = $1";

static const char sql_ban_add[] =
    "INSERT INTO keepftpd_bans (addr, until, node) "
    "VALUES ($1, now() + make_interval(secs => $2), $3)";
static const char sql_ban_poll[] =
    "SELECT id, host(addr), LEAST(ceil(extract(epoch FROM until - now()) "
    "* 1000), 2000000000)::bigint FROM keepftpd_bans "
    "WHERE id > $1 AND until > now() ORDER BY id LIMIT 200";

/* pg_bans: bans of this node waiting to be written, the rows read so far */
struct ban_req {
	char addr[BANTAB_ADDR_STR + 1];
	char secs[16];
};
static struct ban_req banq[KF_PG_BANS_QUEUE];
static unsigned banq_n, bans_dropped;
static uint64_t ban_last_id;
static int64_t ban_poll_ms;
static int ban_polling;
static char node[65];

static struct spawn_conf sc;
static struct slot pool[KF_PG_POOL_MAX];
static unsigned npool;
static int64_t next_try_ms, backoff_ms;
static int db_up = -1; /* -1: not known yet; for one log line per change */
static char def_user[65], timeout_s[16];

static void __attribute__((noreturn)) fatal(const char *why)
{
	log_err("kf-pgauth: %-s", why);
	_exit(1);
}

static void
read_conf(void)
{
	spawn_conf_take(PGA_FD_CONF, &sc);
	npool = (unsigned)sc.conf.pg_pool;
	if (npool < 1 || npool > KF_PG_POOL_MAX)
		fatal("pg_pool out of range");
	snprintf(timeout_s, sizeof(timeout_s), "%lu", sc.conf.pg_timeout);
}

/*
 * libpq's default database user is the process's account name, which
 * it would look up in /etc/passwd: not there in the empty root. It is
 * looked up now (the conninfo's user= still wins).
 */
static void
default_user(uid_t uid)
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL && strlen(pw->pw_name) < sizeof(def_user))
		memcpy(def_user, pw->pw_name, strlen(pw->pw_name) + 1);
}

static void
enter_sandbox(void)
{
	struct sandbox_spec sp = { .root = "/", .parent = getppid() };
	int null_fd;

	if ((null_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0 ||
	    dup2(null_fd, STDIN_FILENO) < 0 || dup2(null_fd, STDOUT_FILENO) < 0)
		fatal("cannot open /dev/null");
	close(null_fd);
	tzset();
	(void)signal(SIGPIPE, SIG_IGN);
	if (geteuid() == 0) {
		if (!sc.service_ok)
			fatal("service_user does not exist, or is root");
		sp.root = sc.conf.empty_dir;
		sp.uid = sc.service_uid;
		sp.gid = sc.service_gid;
		default_user(sc.service_uid);
	} else
		default_user(getuid());
	if (sodium_init() < 0)
		fatal("libsodium");
	if (gethostname(node, sizeof(node) - 1) < 0)
		node[0] = '\0';
	sandbox_pgauth(&sp);
}

/* ---- connections ---- */

static void
db_state(int up, const char *why)
{
	if (up == db_up)
		return;
	db_up = up;
	if (up)
		log_info("kf-pgauth: users database connected");
	else
		log_err("kf-pgauth: users database unavailable: error=%s", why);
}

static void
slot_drop(struct slot *s)
{
	if (s->pg != NULL)
		PQfinish(s->pg);
	s->pg = NULL;
	s->st = S_DOWN;
}

/* The error text of libpq, its first line. */
static const char *
first_line(const char *msg, char *out, size_t outsz)
{
	size_t n = strcspn(msg, "\n");

	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, msg, n);
	out[n] = '\0';
	return out;
}

/* One connection opened, at most pg_timeout seconds (connect_timeout). */
static void
slot_connect(struct slot *s)
{
	const char *kw[7], *val[7];
	char why[256];
	int n = 0;

	if (def_user[0] != '\0') {
		kw[n] = "user";
		val[n++] = def_user;
	}
	kw[n] = "gssencmode";
	val[n++] = "disable";
	kw[n] = "application_name";
	val[n++] = "kf-pgauth";
	kw[n] = "dbname"; /* the conninfo, expanded here: it wins over above */
	val[n++] = sc.conf.pg_conninfo;
	kw[n] = "connect_timeout";
	val[n++] = timeout_s;
	kw[n] = NULL;
	val[n] = NULL;
	s->pg = PQconnectdbParams(kw, val, 1);
	if (s->pg != NULL && PQstatus(s->pg) == CONNECTION_OK) {
		s->st = S_IDLE;
		backoff_ms = 0;
		next_try_ms = 0;
		db_state(1, "");
		return;
	}
	db_state(0,
	    s->pg != NULL ?
		first_line(PQerrorMessage(s->pg), why, sizeof(why)) :
		"out of memory");
	slot_drop(s);
	backoff_ms = backoff_ms == 0		  ? KF_PG_BACKOFF_MIN_MS :
	    backoff_ms * 2 > KF_PG_BACKOFF_MAX_MS ? KF_PG_BACKOFF_MAX_MS :
						    backoff_ms * 2;
	next_try_ms = sys_now_ms() + backoff_ms;
}

static unsigned
count(enum slot_state st)
{
	unsigned i, n = 0;

	for (i = 0; i < npool; i++)
		n += pool[i].st == st;
	return n;
}

/* One more connection when none is idle and the pause is over. */
static void
maintain(void)
{
	unsigned i;

	if (count(S_IDLE) > 0 || sys_now_ms() < next_try_ms)
		return;
	for (i = 0; i < npool; i++)
		if (pool[i].st == S_DOWN) {
			slot_connect(&pool[i]);
			return;
		}
}

/* ---- answers ---- */

static void
answer(struct slot *s, uint32_t res, const struct users_entry *e)
{
	static char line[KF_USERS_LINE_MAX + 1];
	static struct users_entry out;
	struct ipc_msg m;

	line[0] = '\0';
	if (res == PGA_R_OK && e != NULL) {
		out = *e;
		memset(out.hash, 0, sizeof(out.hash));
		memcpy(out.hash, PGA_HASH_PLACEHOLDER,
		    sizeof(PGA_HASH_PLACEHOLDER));
		if (pgrow_line(&out, line, sizeof(line)) < 0) {
			res = PGA_R_DOWN;
			line[0] = '\0';
		}
		sodium_memzero(&out, sizeof(out));
	}
	ipc_init(&m, PGA_VERDICT);
	if (s->answer >= 0 && ipc_put_u32(&m, res) == 0 &&
	    ipc_put_str(&m, line, KF_USERS_LINE_MAX) == 0)
		(void)ipc_send(s->answer, &m);
	sys_close(&s->answer);
	sodium_memzero(&s->rq, sizeof(s->rq));
}

/* The row's hash against the password; costs the same when no row. */
static uint32_t
judge(const struct slot *s, const struct users_entry *e)
{
	const char *pass = s->rq.pass;
	int stale;

	if (s->rq.kind == PGA_K_LOOKUP)
		return e != NULL ? PGA_R_OK : PGA_R_NOUSER;
	if (e == NULL || pass[0] == '\0') {
		(void)password_verify_dummy(&sc.conf, pass);
		return e == NULL ? PGA_R_NOUSER : PGA_R_BAD;
	}
	stale = password_needs_rehash(&sc.conf, e->hash);
	if (password_verify(e->hash, pass) == 0)
		return PGA_R_OK;
	if (stale)
		(void)password_verify_dummy(&sc.conf, pass);
	return PGA_R_BAD;
}

static void
take_result(struct slot *s, PGresult *res)
{
	const char *col[PGROW_COLS], *err = "";
	struct users_entry e;
	char why[256];
	int i;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_err("kf-pgauth: query failed: error=%s",
		    first_line(PQresultErrorMessage(res), why, sizeof(why)));
		answer(s, PGA_R_DOWN, NULL);
		return;
	}
	if (PQntuples(res) == 0 || PQnfields(res) != PGROW_COLS) {
		answer(s, judge(s, NULL), NULL);
		return;
	}
	for (i = 0; i < PGROW_COLS; i++)
		col[i] = PQgetisnull(res, 0, i) ? NULL : PQgetvalue(res, 0, i);
	if (pgrow_parse(col, &e, &err) < 0) {
		log_warn("kf-pgauth: keepftpd_users row refused (%-s): user=%s",
		    err, s->rq.user);
		(void)password_verify_dummy(&sc.conf, s->rq.pass);
		answer(s, PGA_R_BAD, NULL);
		return;
	}
	answer(s, judge(s, &e), &e);
	sodium_memzero(&e, sizeof(e));
}

/* ---- requests ---- */

static int
req_ok(const struct pga_req *rq)
{
	return (rq->kind == PGA_K_LOGIN || rq->kind == PGA_K_LOOKUP) &&
	    memchr(rq->user, '\0', sizeof(rq->user)) != NULL &&
	    memchr(rq->pass, '\0', sizeof(rq->pass)) != NULL &&
	    users_valid_name(rq->user, strlen(rq->user));
}

static struct slot *
idle_slot(void)
{
	unsigned i;

	for (i = 0; i < npool; i++)
		if (pool[i].st == S_IDLE)
			return &pool[i];
	return NULL;
}

/* A request from the socket; the listener gone ends this process. */
static void
take_request(void)
{
	struct slot tmp, *s;
	const char *vals[1];
	int fd = -1, r;

	memset(&tmp, 0, sizeof(tmp));
	r = ipc_recv_fds(PGA_FD_REQ, PGA_LOGIN, &tmp.rq, sizeof(tmp.rq), &fd, 1,
	    NULL, NULL);
	if (r == -EPIPE)
		_exit(0);
	if (r < 0)
		return; /* malformed: its descriptors are closed, no answer */
	tmp.answer = fd;
	if (!req_ok(&tmp.rq)) {
		answer(&tmp, PGA_R_BAD, NULL);
		return;
	}
	if ((s = idle_slot()) == NULL) {
		answer(&tmp, PGA_R_DOWN, NULL);
		return;
	}
	vals[0] = tmp.rq.user;
	if (!PQsendQueryParams(s->pg, sql_user, 1, NULL, vals, NULL, NULL, 0)) {
		slot_drop(s);
		answer(&tmp, PGA_R_DOWN, NULL);
		return;
	}
	s->rq = tmp.rq;
	s->answer = tmp.answer;
	s->kind = Q_LOGIN;
	s->fresh = 1;
	s->deadline_ms = sys_now_ms() + (int64_t)sc.conf.pg_timeout * 1000;
	s->st = S_BUSY;
	sodium_memzero(&tmp, sizeof(tmp));
}

/* ---- pg_bans ---- */

/* A query that will not answer: a login gets 421, a ban poll is redone. */
static void
query_failed(struct slot *s)
{
	s->fresh = 0;
	if (s->kind == Q_LOGIN)
		answer(s, PGA_R_DOWN, NULL);
	else if (s->kind == Q_BAN_POLL)
		ban_polling = 0;
}

/* Digits only, as PostgreSQL writes a bigint; -1 otherwise. */
static int
u64_of(const char *t, uint64_t *v)
{
	*v = 0;
	if (*t == '\0')
		return -1;
	for (; *t != '\0'; t++) {
		if (*t < '0' || *t > '9' || *v > (UINT64_MAX - 9) / 10)
			return -1;
		*v = *v * 10 + (uint64_t)(*t - '0');
	}
	return 0;
}

static void
ban_seen(const char *addr, uint64_t ms)
{
	struct ipc_msg m;

	if (ms == 0 || ms > KF_PG_BAN_MS_MAX || strlen(addr) > BANTAB_ADDR_STR)
		return;
	ipc_init(&m, PGA_BAN_SEEN);
	if (ipc_put_str(&m, addr, BANTAB_ADDR_STR) == 0 &&
	    ipc_put_u32(&m, (uint32_t)ms) == 0)
		(void)ipc_send(PGA_FD_LSN, &m);
}

static void
take_ban_result(struct slot *s, PGresult *res)
{
	char why[256];
	uint64_t id, ms;
	int i, n;

	if (s->kind == Q_BAN_POLL)
		ban_polling = 0;
	if (PQresultStatus(res) != PGRES_TUPLES_OK &&
	    PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_err("kf-pgauth: keepftpd_bans: error=%s",
		    first_line(PQresultErrorMessage(res), why, sizeof(why)));
		return;
	}
	if (s->kind != Q_BAN_POLL || PQnfields(res) != 3)
		return;
	n = PQntuples(res);
	for (i = 0; i < n && i < KF_PG_BANS_ROWS; i++) {
		if (PQgetisnull(res, i, 0) || PQgetisnull(res, i, 1) ||
		    PQgetisnull(res, i, 2) ||
		    u64_of(PQgetvalue(res, i, 0), &id) < 0 ||
		    u64_of(PQgetvalue(res, i, 2), &ms) < 0)
			continue;
		if (id > ban_last_id)
			ban_last_id = id;
		ban_seen(PQgetvalue(res, i, 1), ms);
	}
}

/* PGA_BAN_ADD from the listener: queued until a connection is free. */
static void
read_bans(void)
{
	char addr[BANTAB_ADDR_STR + 1];
	struct ipc_msg m;
	uint32_t secs;
	int i;

	for (i = 0; i < KF_PG_BANS_QUEUE; i++) {
		if (ipc_recv(PGA_FD_LSN, &m) < 0)
			return;
		if (m.type != PGA_BAN_ADD ||
		    ipc_get_str(&m, addr, sizeof(addr)) < 0 ||
		    ipc_get_u32(&m, &secs) < 0 || ipc_end(&m) < 0 ||
		    secs == 0 || addr[0] == '\0')
			continue;
		if (banq_n == KF_PG_BANS_QUEUE) {
			if (bans_dropped++ == 0)
				log_warn("kf-pgauth: bans queue full; a ban "
					 "stays on this node only");
			continue;
		}
		memcpy(banq[banq_n].addr, addr, sizeof(addr));
		snprintf(banq[banq_n].secs, sizeof(banq[banq_n].secs), "%u",
		    secs);
		banq_n++;
	}
}

static void
ban_send(struct slot *s, enum query_kind kind)
{
	char last[24];
	const char *v[3];
	int ok;

	if (kind == Q_BAN_ADD) {
		v[0] = banq[0].addr;
		v[1] = banq[0].secs;
		v[2] = node;
		ok = PQsendQueryParams(s->pg, sql_ban_add, 3, NULL, v, NULL,
		    NULL, 0);
		memmove(&banq[0], &banq[1], --banq_n * sizeof(banq[0]));
	} else {
		snprintf(last, sizeof(last), "%llu",
		    (unsigned long long)ban_last_id);
		v[0] = last;
		ok = PQsendQueryParams(s->pg, sql_ban_poll, 1, NULL, v, NULL,
		    NULL, 0);
		ban_polling = ok;
		ban_poll_ms = sys_now_ms() + KF_PG_BANS_POLL_MS;
	}
	if (!ok) {
		slot_drop(s);
		return;
	}
	s->kind = kind;
	s->fresh = 1;
	s->answer = -1;
	s->deadline_ms = sys_now_ms() + (int64_t)sc.conf.pg_timeout * 1000;
	s->st = S_BUSY;
}

/* A free connection writes a queued ban, or reads the new rows. */
static void
bans_work(void)
{
	struct slot *s;

	if (!sc.conf.pg_bans)
		return;
	read_bans();
	if ((s = idle_slot()) == NULL)
		return;
	if (banq_n > 0)
		ban_send(s, Q_BAN_ADD);
	else if (!ban_polling && sys_now_ms() >= ban_poll_ms)
		ban_send(s, Q_BAN_POLL);
}

/* Input on a connection: a busy one's answer, an idle one's end. */
static void
slot_input(struct slot *s)
{
	PGresult *res;

	if (!PQconsumeInput(s->pg) || PQstatus(s->pg) != CONNECTION_OK) {
		if (s->st == S_BUSY && s->fresh)
			query_failed(s);
		slot_drop(s);
		return;
	}
	while (s->st == S_BUSY && !PQisBusy(s->pg)) {
		if ((res = PQgetResult(s->pg)) == NULL) {
			if (s->fresh) /* no result at all */
				query_failed(s);
			s->st = S_IDLE;
			break;
		}
		if (s->fresh) {
			s->fresh = 0;
			if (s->kind == Q_LOGIN)
				take_result(s, res);
			else
				take_ban_result(s, res);
		}
		PQclear(res);
	}
	while (s->st == S_IDLE && (res = PQgetResult(s->pg)) != NULL)
		PQclear(res); /* notices and the like, never expected */
}

static void
expire(int64_t now)
{
	unsigned i;

	for (i = 0; i < npool; i++)
		if (pool[i].st == S_BUSY && now >= pool[i].deadline_ms) {
			log_err("kf-pgauth: no answer from the users database "
				"in %lu s; connection dropped",
			    sc.conf.pg_timeout);
			if (pool[i].fresh)
				query_failed(&pool[i]);
			slot_drop(&pool[i]);
			db_state(0, "query timeout");
		}
}

static int
poll_timeout(int64_t now)
{
	int64_t t = 1000;
	unsigned i;

	for (i = 0; i < npool; i++)
		if (pool[i].st == S_BUSY && pool[i].deadline_ms - now < t)
			t = pool[i].deadline_ms - now;
	if (count(S_IDLE) == 0 && count(S_DOWN) > 0 && next_try_ms - now < t)
		t = next_try_ms - now;
	if (sc.conf.pg_bans && !ban_polling && ban_poll_ms - now < t)
		t = ban_poll_ms - now;
	return t < 0 ? 0 : (int)t;
}

static void __attribute__((noreturn)) serve(void)
{
	struct pollfd p[KF_PG_POOL_MAX + 2];
	struct slot *who[KF_PG_POOL_MAX + 2];
	unsigned i, n;
	int r;

	for (;;) {
		maintain();
		n = 0;
		/* take a request while it can be sent, or answered DOWN */
		if (count(S_IDLE) > 0 || count(S_BUSY) == 0) {
			p[n].fd = PGA_FD_REQ;
			p[n].events = POLLIN;
			who[n++] = NULL;
		}
		if (sc.conf.pg_bans) {
			p[n].fd = PGA_FD_LSN;
			p[n].events = POLLIN;
			who[n++] = NULL;
		}
		for (i = 0; i < npool; i++)
			if (pool[i].st != S_DOWN) {
				p[n].fd = PQsocket(pool[i].pg);
				p[n].events = POLLIN;
				who[n++] = &pool[i];
			}
		r = poll(p, n, poll_timeout(sys_now_ms()));
		if (r < 0 && errno != EINTR)
			fatal("poll");
		for (i = 0; r > 0 && i < n; i++) {
			if (p[i].revents == 0)
				continue;
			if (p[i].fd == PGA_FD_LSN)
				continue; /* read by bans_work */
			if (who[i] == NULL) {
				if (p[i].revents & (POLLHUP | POLLERR) &&
				    !(p[i].revents & POLLIN))
					_exit(0);
				take_request();
			} else if (who[i]->st != S_DOWN)
				slot_input(who[i]);
		}
		expire(sys_now_ms());
		bans_work();
	}
}

int
pgauth_main(void)
{
	unsigned i;

	prctl(PR_SET_NAME, "kf-pgauth");
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(1);
	read_conf();
	for (i = 0; i < KF_PG_POOL_MAX; i++)
		pool[i].answer = -1;
	enter_sandbox();
	log_info("kf-pgauth: started, pool of %u connections", npool);
	serve();
}
