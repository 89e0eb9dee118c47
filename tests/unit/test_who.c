/*
 * test_who.c - the listener's row for `keepftpd who` (priv/who.c):
 * LSN_STATUS applied to the row the listener chose by the sender's pid
 * (the payload names no session), refused whole when malformed; a
 * login's user (LSN_LOGIN_STATE) starting the row again; the
 * rate from two reports of one transfer, reset by a new one; the admin
 * row written and read back as strictly.
 */
#include "cm.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "ipc/ipc.h"
#include "ipc/proto.h"
#include "priv/who.h"

static void
status(struct ipc_msg *m, const char *user, const char *verb, const char *path,
    uint64_t bytes, uint32_t age)
{
	ipc_init(m, LSN_STATUS);
	ipc_put_str(m, user, 4096);
	ipc_put_str(m, verb, 4096);
	ipc_put_str(m, path, 4096);
	ipc_put_u32(m, (uint32_t)(bytes >> 32));
	ipc_put_u32(m, (uint32_t)bytes);
	ipc_put_u32(m, age);
}

static int
apply(struct who_row *r, struct ipc_msg *m, int64_t now)
{
	m->off = 0;
	return who_apply(r, m, now);
}

/* Only the row given changes; the payload has no field to name another. */
static void
test_apply_own_row_only(void **state)
{
	struct who_row rows[2];
	struct ipc_msg m;

	who_init(&rows[0], 1, 1000, 1700000000);
	who_init(&rows[1], 2, 1000, 1700000000);
	status(&m, "alice", "RETR", "/a", 5, 0);
	assert_int_equal(apply(&rows[0], &m, 2000), 0);
	assert_string_equal(rows[0].user, "alice");
	assert_string_equal(rows[0].verb, "RETR");
	assert_true(rows[0].id == 1);
	assert_string_equal(rows[1].user, "");
	assert_string_equal(rows[1].verb, "");
	assert_true(rows[1].id == 2 && rows[1].at_ms == 1000);
	/* a session id appended is a trailing byte: refused whole */
	status(&m, "bob", "STOR", "/b", 9, 0);
	ipc_put_u32(&m, 0);
	ipc_put_u32(&m, 2);
	assert_int_equal(apply(&rows[0], &m, 3000), -1);
	assert_string_equal(rows[0].user, "alice");
	assert_true(rows[0].bytes == 5);
}

static void
test_apply_malformed(void **state)
{
	char path[KF_WHO_PATH_MAX + 2], user[KF_USER_MAX + 2];
	struct who_row r;
	struct ipc_msg m;

	who_init(&r, 1, 1000, 0);
	memset(path, 'p', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	memset(user, 'u', sizeof(user) - 1);
	user[sizeof(user) - 1] = '\0';
	status(&m, "a", "RETR", path, 1, 0);
	assert_int_equal(apply(&r, &m, 2000), -1);
	status(&m, user, "RETR", "/", 1, 0);
	assert_int_equal(apply(&r, &m, 2000), -1);
	status(&m, "a", "RE\x1bTR", "/", 1, 0);
	assert_int_equal(apply(&r, &m, 2000), -1);
	status(&m, "a", "RETRRETR9", "/", 1, 0);
	assert_int_equal(apply(&r, &m, 2000), -1);
	status(&m, "a", "RETR", "/", 1, KF_WHO_AGE_MAX_MS + 1);
	assert_int_equal(apply(&r, &m, 2000), -1);
	ipc_init(&m, LSN_STATUS);
	ipc_put_str(&m, "a", 10);
	assert_int_equal(apply(&r, &m, 2000), -1);
	assert_string_equal(r.user, "");
	assert_true(r.at_ms == 1000);
	/* control bytes in a path are kept as they are (escaped on output) */
	status(&m, "a", "RETR", "/x\x1b[2J\x07", 1, 0);
	assert_int_equal(apply(&r, &m, 2000), 0);
	assert_string_equal(r.path, "/x\x1b[2J\x07");
}

/* The rate between two reports of one transfer; the age is honoured. */
static void
test_rate(void **state)
{
	struct who_row r;
	struct ipc_msg m;

	who_init(&r, 1, 0, 0);
	status(&m, "a", "RETR", "/big", 0, 0);
	assert_int_equal(apply(&r, &m, 10000), 0);
	assert_true(r.rate == 0);
	/* received by the monitor 200 ms ago: 2 MiB over 1 s */
	status(&m, "a", "RETR", "/big", 2 << 20, 200);
	assert_int_equal(apply(&r, &m, 11200), 0);
	assert_true(r.rate == 2 << 20);
	assert_true(r.at_ms == 11000);
	/* under half a second later: the rate stays */
	status(&m, "a", "RETR", "/big", 3 << 20, 0);
	assert_int_equal(apply(&r, &m, 11300), 0);
	assert_true(r.rate == 2 << 20);
	status(&m, "a", "RETR", "/big", 4 << 20, 0);
	assert_int_equal(apply(&r, &m, 12000), 0);
	assert_true(r.rate == 2 << 20);
	/* another file: starts again */
	status(&m, "a", "RETR", "/other", 1 << 20, 0);
	assert_int_equal(apply(&r, &m, 13000), 0);
	assert_true(r.rate == 0);
	/* idle: no rate */
	status(&m, "a", "", "", 0, 0);
	assert_int_equal(apply(&r, &m, 14000), 0);
	assert_true(r.rate == 0);
}

/* A login (LSN_LOGIN_STATE) names the user and starts the row idle. */
static void
test_login_starts_row(void **state)
{
	char longname[KF_USER_MAX + 8];
	struct who_row r;
	struct ipc_msg m;

	(void)state;
	who_init(&r, 7, 0, 0);
	status(&m, "a", "RETR", "/big", 5 << 20, 0);
	assert_int_equal(apply(&r, &m, 1000), 0);
	who_login(&r, "", 2000); /* REIN */
	assert_string_equal(r.user, "");
	assert_string_equal(r.verb, "");
	assert_string_equal(r.path, "");
	assert_true(r.bytes == 0 && r.rate == 0 && r.at_ms == 2000);
	assert_true(r.id == 7);
	who_login(&r, "bob", 3000);
	assert_string_equal(r.user, "bob");
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	who_login(&r, longname, 4000);
	assert_int_equal(strlen(r.user), KF_USER_MAX);
}

static void
test_line_roundtrip(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct who_line l, back;
	struct who_row r;
	struct ipc_msg m;
	int i;

	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(40000);
	inet_pton(AF_INET, "192.0.2.7", &sin->sin_addr);
	who_init(&r, 77, 1000, 1700000000);
	who_line_of(&r, 1234, &ss, 6500, &l);
	assert_string_equal(l.state, "LOGIN");
	assert_string_equal(l.addr, "192.0.2.7");
	assert_int_equal(l.port, 40000);
	assert_int_equal(l.idle_s, 5);
	status(&m, "alice", "STOR", "/up", 99, 0);
	assert_int_equal(apply(&r, &m, 7000), 0);
	who_line_of(&r, 1234, &ss, 7000, &l);
	assert_string_equal(l.state, "STOR");
	assert_true(l.bytes == 99);
	ipc_init(&m, ADM_WHO_ROWS);
	for (i = 0; i < KF_WHO_PER_MSG; i++)
		assert_int_equal(who_put(&m, &l), 0);
	/* KF_WHO_PER_MSG rows of the largest size fit in one message */
	memset(l.user, 'u', KF_USER_MAX);
	memset(l.path, 'p', KF_WHO_PATH_MAX);
	ipc_init(&m, ADM_WHO_ROWS);
	for (i = 0; i < KF_WHO_PER_MSG; i++)
		assert_int_equal(who_put(&m, &l), 0);
	m.off = 0;
	for (i = 0; i < KF_WHO_PER_MSG; i++) {
		assert_int_equal(who_get(&m, &back), 0);
		assert_memory_equal(&back, &l, sizeof(l));
	}
	assert_int_equal(ipc_end(&m), 0);
	assert_int_equal(who_get(&m, &back), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apply_own_row_only),
		cmocka_unit_test(test_apply_malformed),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_login_starts_row),
		cmocka_unit_test(test_line_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
