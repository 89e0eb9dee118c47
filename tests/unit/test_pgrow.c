/* test_pgrow.c - a keepftpd_users row read as a users-file entry
 * (src/auth/pgrow.c): the same record, the same checks, and a column
 * holding ':' or a line break never shifts the fields. */
#include "cm.h"

#include <string.h>

#include "auth/pgask.h"
#include "auth/users.h"
#include "common/buf.h"

#define HASH "$6$saltsalt$abc"

static int
row(const char *name, const char *hash, const char *uid, const char *gid,
    const char *home, const char *flags, struct users_entry *e)
{
	const char *col[PGROW_COLS] = { name, hash, uid, gid, home, flags };
	const char *err = NULL;
	int r;

	memset(e, 0, sizeof(*e));
	r = pgrow_parse(col, e, &err);
	if (r < 0)
		assert_non_null(err);
	return r;
}

static void
test_row_valid(void **state)
{
	struct users_entry e;

	(void)state;
	assert_int_equal(row("alice", HASH, "1000", "1001", "/srv/a",
			     "write,tls,down_rate=5,quota_files=7", &e),
	    0);
	assert_string_equal(e.name, "alice");
	assert_string_equal(e.hash, HASH);
	assert_int_equal(e.uid, 1000);
	assert_int_equal(e.gid, 1001);
	assert_string_equal(e.home, "/srv/a");
	assert_true(e.flags & USERS_FLAG_WRITE);
	assert_true(e.flags & USERS_FLAG_TLS);
	assert_true(e.flags & USERS_FLAG_DOWN_RATE);
	assert_int_equal(e.down_rate, 5);
	assert_int_equal(e.quota_files, 7);
	/* no flags: read-only */
	assert_int_equal(row("bob", HASH, "5", "5", "/", "", &e), 0);
	assert_int_equal(e.flags, 0);
	/* IPv6 addresses hold ':' and live in the last column */
	assert_int_equal(row("carol", HASH, "5", "5", "/h",
			     "allow_from=::1;2001:db8::/32", &e),
	    0);
	assert_string_equal(e.allow_from, "::1,2001:db8::/32");
}

static void
test_row_invalid(void **state)
{
	struct users_entry e;

	(void)state;
	/* a ':' in any column but flags would shift the fields */
	assert_int_equal(row("al:ice", HASH, "1", "1", "/h", "", &e), -1);
	assert_int_equal(row("alice", "$6$a:b$c", "1", "1", "/h", "", &e), -1);
	assert_int_equal(row("alice", HASH, "1:2", "1", "/h", "", &e), -1);
	assert_int_equal(row("alice", HASH, "1", "1", "/h:write", "", &e), -1);
	/* line breaks, NULL */
	assert_int_equal(row("alice", HASH, "1", "1", "/h", "write\nx", &e),
	    -1);
	assert_int_equal(row("alice", HASH "\r", "1", "1", "/h", "", &e), -1);
	assert_int_equal(row("alice", NULL, "1", "1", "/h", "", &e), -1);
	assert_int_equal(row("alice", HASH, "1", "1", "/h", NULL, &e), -1);
	/* what the users file refuses, the table cannot hold either */
	assert_int_equal(row("o'brien", HASH, "1", "1", "/h", "", &e), -1);
	assert_int_equal(row("x' OR '1'='1", HASH, "1", "1", "/h", "", &e), -1);
	assert_int_equal(row("", HASH, "1", "1", "/h", "", &e), -1);
	assert_int_equal(row("#alice", HASH, "1", "1", "/h", "", &e), -1);
	assert_int_equal(row("alice", "plaintext", "1", "1", "/h", "", &e), -1);
	assert_int_equal(row("alice", HASH, "0", "1", "/h", "", &e), -1);
	assert_int_equal(row("alice", HASH, "-1", "1", "/h", "", &e), -1);
	assert_int_equal(row("alice", HASH, "4294967295", "1", "/h", "", &e),
	    -1);
	assert_int_equal(row("alice", HASH, "1", "1", "relative", "", &e), -1);
	assert_int_equal(row("alice", HASH, "1", "1", "/h", "sudo", &e), -1);
	assert_int_equal(row("alice", HASH, "1", "1", "/h", "write,write", &e),
	    -1);
}

static void
test_row_too_long(void **state)
{
	char home[KF_USERS_LINE_MAX];
	struct users_entry e;

	(void)state;
	home[0] = '/';
	memset(home + 1, 'h', sizeof(home) - 2);
	home[sizeof(home) - 1] = '\0';
	assert_int_equal(row("alice", HASH, "1", "1", home, "", &e), -1);
}

/* The flags column written back is what the row held. */
static void
test_flags_roundtrip(void **state)
{
	char flags[KF_USERS_LINE_MAX + 1];
	struct users_entry e, f;

	(void)state;
	assert_int_equal(
	    row("alice", HASH, "1", "1", "/h",
		"write,up_rate=9,quota_bytes=100,deny_from=10.0.0.0/8", &e),
	    0);
	assert_int_equal(pgrow_flags(&e, flags, sizeof(flags)), 0);
	assert_int_equal(row("alice", HASH, "1", "1", "/h", flags, &f), 0);
	assert_memory_equal(&e, &f, sizeof(e));
	assert_int_equal(pgrow_flags(&e, flags, 4), -1);
	/* the whole entry as one line, read back the same */
	{
		char line[KF_USERS_LINE_MAX + 1];
		const char *err = NULL;

		assert_int_equal(pgrow_line(&e, line, sizeof(line)), 0);
		assert_null(strchr(line, '\n'));
		assert_int_equal(users_parse_line(line, strlen(line), &f, &err),
		    1);
		assert_memory_equal(&e, &f, sizeof(e));
		assert_int_equal(pgrow_line(&e, line, 8), -1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_row_valid),
		cmocka_unit_test(test_row_invalid),
		cmocka_unit_test(test_row_too_long),
		cmocka_unit_test(test_flags_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
