/* test_users.c - users file parser, password verification, auth_check,
 * auth slots and the `keepftpd user` command. */
#include "cm.h"

#include <crypt.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "auth/auth.h"
#include "auth/users.h"
#include "common/buf.h"

#define HASH_A	"$6$saltsalt$abc"
#define OK_LINE "alice:" HASH_A ":1000:1001:/srv/ftp/alice:write"

static char tmpdir[64];
static char ufile[128];

static int
parse(const char *line, struct users_entry *e)
{
	const char *err = NULL;
	int r = users_parse_line(line, strlen(line), e, &err);

	if (r < 0)
		assert_non_null(err);
	return r;
}

static void
test_parse_valid(void **state)
{
	struct users_entry e;

	(void)state;
	assert_int_equal(parse(OK_LINE, &e), 1);
	assert_string_equal(e.name, "alice");
	assert_string_equal(e.hash, HASH_A);
	assert_int_equal(e.uid, 1000);
	assert_int_equal(e.gid, 1001);
	assert_string_equal(e.home, "/srv/ftp/alice");
	assert_int_equal(e.flags, USERS_FLAG_WRITE);
	assert_int_equal(parse("b.o-b_@x:$argon2id$v=19$x:1:2:/:", &e), 1);
	assert_int_equal(e.flags, 0);
	assert_string_equal(e.name, "b.o-b_@x");
	assert_int_equal(parse(OK_LINE "\r", &e), 1);
	assert_string_equal(e.home, "/srv/ftp/alice");
	assert_int_equal(parse("c:$2b$04$xyz:5:5:/h:\r", &e), 1);
	assert_int_equal(parse("d:$2y$04$xyz:5:5:/h:", &e), 1);
	assert_int_equal(parse("d:$2a$04$xyz:5:5:/h:", &e), 1);
	assert_int_equal(parse("", &e), 0);
	assert_int_equal(parse("\r", &e), 0);
	assert_int_equal(parse("# a comment: x", &e), 0);
	assert_int_equal(parse("e:" HASH_A ":4294967294:4294967294:/h:", &e),
	    1);
	assert_int_equal(e.uid, 4294967294U);
}

static void
test_parse_invalid(void **state)
{
	static const char *bad[] = {
		":" HASH_A ":1:1:/h:", /* empty name */
		"-a:" HASH_A ":1:1:/h:", /* leading '-' */
		".a:" HASH_A ":1:1:/h:", /* leading '.' */
		"a b:" HASH_A ":1:1:/h:", /* space */
		"a/b:" HASH_A ":1:1:/h:", /* slash */
		"a:plain:1:1:/h:", /* unknown hash */
		"a:$1$md5$x:1:1:/h:", /* md5-crypt */
		"a:$6$:1:1:/h:x", /* ':' splits hash */
		"a::1:1:/h:", /* empty hash */
		"a:" HASH_A ":0:1:/h:", /* uid 0 */
		"a:" HASH_A ":1:0:/h:", /* gid 0 */
		"a:" HASH_A ":-1:1:/h:", /* signed */
		"a:" HASH_A ":x:1:/h:", /* not a number */
		"a:" HASH_A ":4294967295:1:/h:", /* (uid_t)-1 */
		"a:" HASH_A ":99999999999999999999:1:/h:",
		"a:" HASH_A ": 1:1:/h:", /* space */
		"a:" HASH_A ":1:1:h:", /* relative home */
		"a:" HASH_A ":1:1::", /* empty home */
		"a:" HASH_A ":1:1:/a:b:write", /* ':' in home */
		"a:" HASH_A ":1:1:/a\tb:", /* control char */
		"a:" HASH_A ":1:1:/h:admin", /* unknown flag */
		"a:" HASH_A ":1:1:/h:write=1", /* value */
		"a:" HASH_A ":1:1:/h:write,", /* empty flag */
		"a:" HASH_A ":1:1:/h:,write", "a:" HASH_A ":1:1:/h:Write",
		"a:" HASH_A ":1:1:/h", /* missing field */
		"a:" HASH_A ":1:1", "a",
		"a:" HASH_A ":1:1:/h:\r\r", /* one CR only */
	};
	struct users_entry e;
	char line[KF_USERS_LINE_MAX + 64];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &e) != -1)
			fail_msg("accepted: %s", bad[i]);
	}
	memset(line, 'a', sizeof(line));
	n = strlen(":" HASH_A ":1:1:/h:");
	memcpy(line + KF_USER_MAX + 1, ":" HASH_A ":1:1:/h:", n + 1);
	assert_int_equal(parse(line, &e), -1); /* name too long */
	n = strlen("a:" HASH_A ":1:1:/");
	memcpy(line, "a:" HASH_A ":1:1:/", n);
	memset(line + n, 'x', sizeof(line) - n);
	line[KF_USERS_LINE_MAX + 1] = '\0';
	assert_int_equal(parse(line, &e), -1); /* line too long */
	line[KF_USERS_LINE_MAX - 1] = ':';
	line[KF_USERS_LINE_MAX] = '\0';
	assert_int_equal(parse(line, &e), 1); /* just fits */
}

/* Rate and quota flags: values, bounds, duplicates, written back. */
static void
test_parse_limits(void **state)
{
	static const char *bad[] = {
		"a:" HASH_A ":1:1:/h:down_rate", /* needs a value */
		"a:" HASH_A ":1:1:/h:down_rate=",
		"a:" HASH_A ":1:1:/h:up_rate=-1",
		"a:" HASH_A ":1:1:/h:up_rate=1k",
		"a:" HASH_A ":1:1:/h:up_rate=4000000001",
		"a:" HASH_A ":1:1:/h:quota_bytes=1152921504606846977",
		"a:" HASH_A ":1:1:/h:quota_files= 1",
		"a:" HASH_A ":1:1:/h:quota_files=1,quota_files=2",
		"a:" HASH_A ":1:1:/h:write,write",
		"a:" HASH_A ":1:1:/h:down_rate=1=2",
	};
	const char *line =
	    "a:" HASH_A ":1:1:/h:write,down_rate=0,"
	    "up_rate=4000000000,quota_bytes=1152921504606846976,quota_files=7";
	struct users_entry e;
	struct buf *b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i], &e) != -1)
			fail_msg("accepted: %s", bad[i]);
	assert_int_equal(parse(line, &e), 1);
	assert_int_equal(e.flags,
	    USERS_FLAG_WRITE | USERS_FLAG_DOWN_RATE | USERS_FLAG_UP_RATE |
		USERS_FLAG_QUOTA_BYTES | USERS_FLAG_QUOTA_FILES);
	assert_true(e.down_rate == 0 && e.up_rate == 4000000000ULL);
	assert_true(e.quota_bytes == (1ULL << 60) && e.quota_files == 7);
	/* the flags come back in one canonical order */
	assert_int_equal(
	    parse(
		"a:" HASH_A ":1:1:/h:quota_files=7,"
		"quota_bytes=1152921504606846976,up_rate=4000000000,down_rate=0,"
		"write",
		&e),
	    1);
	assert_non_null(b = buf_new(KF_USERS_LINE_MAX + 2));
	assert_int_equal(users_format_line(&e, b), 0);
	assert_int_equal(buf_len(b), strlen(line) + 1);
	assert_memory_equal(buf_data(b), line, strlen(line));
	buf_free(b);
}

/* Per-user limits: max_sessions=, umask=, login_hours=, fxp. */
static void
test_parse_user_limits(void **state)
{
	static const char *bad[] = {
		"a:" HASH_A ":1:1:/h:max_sessions=10001",
		"a:" HASH_A ":1:1:/h:max_sessions=",
		"a:" HASH_A ":1:1:/h:max_sessions",
		"a:" HASH_A ":1:1:/h:umask=",
		"a:" HASH_A ":1:1:/h:umask=8",
		"a:" HASH_A ":1:1:/h:umask=1000",
		"a:" HASH_A ":1:1:/h:umask=00000",
		"a:" HASH_A ":1:1:/h:umask=-1",
		"a:" HASH_A ":1:1:/h:umask=022,umask=027",
		"a:" HASH_A ":1:1:/h:umask",
		"a:" HASH_A ":1:1:/h:login_hours=",
		"a:" HASH_A ":1:1:/h:login_hours=Mon 25:00-01:00",
		"a:" HASH_A ":1:1:/h:login_hours=Mon,login_hours=Tue",
		"a:" HASH_A ":1:1:/h:login_hours=Mon\x01",
		"a:" HASH_A ":1:1:/h:fxp=1",
		"a:" HASH_A ":1:1:/h:fxp,fxp",
	};
	const char *line = "a:" HASH_A ":1:1:/h:write,fxp,max_sessions=3,"
			   "umask=027,login_hours=Mon-Fri 08:00-18:00;Sat "
			   "09:00-12:00";
	struct users_entry e;
	struct buf *b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i], &e) != -1)
			fail_msg("accepted: %s", bad[i]);
	assert_int_equal(parse(line, &e), 1);
	assert_true(e.flags & USERS_FLAG_FXP);
	assert_true(e.flags & USERS_FLAG_MAX_SESSIONS);
	assert_true(e.max_sessions == 3);
	assert_true((e.flags & USERS_FLAG_UMASK) && e.umask == 027);
	assert_string_equal(e.login_hours,
	    "Mon-Fri 08:00-18:00;Sat 09:00-12:00");
	assert_non_null(b = buf_new(KF_USERS_LINE_MAX + 2));
	assert_int_equal(users_format_line(&e, b), 0);
	assert_int_equal(buf_len(b), strlen(line) + 1);
	assert_memory_equal(buf_data(b), line, strlen(line));
	buf_free(b);
	assert_int_equal(parse("a:" HASH_A ":1:1:/h:umask=0", &e), 1);
	assert_true((e.flags & USERS_FLAG_UMASK) && e.umask == 0);
}

static void
test_parse_addr_flags(void **state)
{
	struct users_entry e;
	struct buf *b;
	const char *err = NULL;

	(void)state;
	assert_int_equal(parse("a:$6$x:5:5:/h:write,allow_from=10.0.0.0/8;"
			       "2001:db8::/32,deny_from=10.9.9.9",
			     &e),
	    1);
	assert_int_equal(e.flags, USERS_FLAG_WRITE);
	assert_string_equal(e.allow_from, "10.0.0.0/8,2001:db8::/32");
	assert_string_equal(e.deny_from, "10.9.9.9");
	/* written back as read */
	assert_non_null(b = buf_new(KF_USERS_LINE_MAX + 2));
	assert_int_equal(users_format_line(&e, b), 0);
	assert_int_equal(buf_len(b),
	    strlen("a:$6$x:5:5:/h:write,allow_from="
		   "10.0.0.0/8;2001:db8::/32,deny_from=10.9.9.9\n"));
	assert_memory_equal(buf_data(b),
	    "a:$6$x:5:5:/h:write,allow_from="
	    "10.0.0.0/8;2001:db8::/32,deny_from=10.9.9.9\n",
	    buf_len(b));
	buf_free(b);
	assert_int_equal(parse("a:$6$x:5:5:/h:deny_from=::1", &e), 1);
	assert_string_equal(e.allow_from, "");
	assert_non_null(b = buf_new(KF_USERS_LINE_MAX + 2));
	assert_int_equal(users_format_line(&e, b), 0);
	assert_memory_equal(buf_data(b), "a:$6$x:5:5:/h:deny_from=::1\n",
	    buf_len(b));
	buf_free(b);
	/* bad lists, empty values, repeats and blanks are errors */
	assert_int_equal(
	    users_parse_line("a:$6$x:5:5:/h:allow_from=10.0.0.0/33",
		strlen("a:$6$x:5:5:/h:allow_from=10.0.0.0/33"), &e, &err),
	    -1);
	assert_non_null(err);
	assert_int_equal(parse("a:$6$x:5:5:/h:allow_from=", &e), -1);
	assert_int_equal(parse("a:$6$x:5:5:/h:allow_from=host.example", &e),
	    -1);
	assert_int_equal(parse("a:$6$x:5:5:/h:allow_from=1.2.3.4;;5.6.7.8", &e),
	    -1);
	assert_int_equal(parse("a:$6$x:5:5:/h:allow_from=1.2.3.4 ", &e), -1);
	assert_int_equal(parse("a:$6$x:5:5:/h:allow_from=1.2.3.4,"
			       "allow_from=5.6.7.8",
			     &e),
	    -1);
	assert_int_equal(parse("a:$6$x:5:5:/h:deny_from", &e), -1);
}

static void
test_parse_folders_flag(void **state)
{
	static const char line[] =
	    "a:$6$x:5:5:/h:write,deny_from=::1,folders=shared;Rep_2-x";
	struct users_entry e;
	struct buf *b;

	(void)state;
	assert_int_equal(parse(line, &e), 1);
	assert_int_equal(e.flags, USERS_FLAG_WRITE);
	assert_string_equal(e.folders, "shared,Rep_2-x");
	/* written back as read */
	assert_non_null(b = buf_new(KF_USERS_LINE_MAX + 2));
	assert_int_equal(users_format_line(&e, b), 0);
	assert_int_equal(buf_len(b), strlen(line) + 1);
	assert_memory_equal(buf_data(b), line, strlen(line));
	buf_free(b);
	assert_int_equal(parse("a:$6$x:5:5:/h:folders=one", &e), 1);
	assert_string_equal(e.folders, "one");
	/* empty lists and names, bad names, repeats are errors */
	assert_int_equal(parse("a:$6$x:5:5:/h:folders=", &e), -1);
	assert_int_equal(parse("a:$6$x:5:5:/h:folders=a;;b", &e), -1);
	assert_int_equal(parse("a:$6$x:5:5:/h:folders=a;", &e), -1);
	assert_int_equal(parse("a:$6$x:5:5:/h:folders=;a", &e), -1);
	assert_int_equal(parse("a:$6$x:5:5:/h:folders=a.b", &e), -1);
	assert_int_equal(parse("a:$6$x:5:5:/h:folders=a b", &e), -1);
	assert_int_equal(parse("a:$6$x:5:5:/h:folders="
			       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
			     &e),
	    -1);
	assert_int_equal(parse("a:$6$x:5:5:/h:folders=a,folders=b", &e), -1);
	assert_int_equal(parse("a:$6$x:5:5:/h:folders", &e), -1);
}

static void
test_find(void **state)
{
	const char *text = "# users\n\nalice:" HASH_A ":1000:1000:/a:write\r\n"
			   "bob:" HASH_A ":1001:1001:/b:\n";
	const char *broken = "alice:" HASH_A ":1000:1000:/a:\n\nbob:x:1:1:/b:";
	struct users_entry e;
	const char *err = NULL;
	size_t line = 0;

	(void)state;
	assert_int_equal(users_find(text, strlen(text), "bob", &e, &line, &err),
	    1);
	assert_int_equal(e.uid, 1001);
	assert_string_equal(e.home, "/b");
	assert_int_equal(users_find(text, strlen(text), "alice", &e, &line,
			     &err),
	    1);
	assert_int_equal(e.flags, USERS_FLAG_WRITE);
	assert_int_equal(users_find(text, strlen(text), "Alice", &e, &line,
			     &err),
	    0);
	assert_int_equal(users_find(text, strlen(text), "carol", &e, &line,
			     &err),
	    0);
	assert_int_equal(users_find(broken, strlen(broken), "alice", &e, &line,
			     &err),
	    -1);
	assert_int_equal(line, 3);
	assert_string_equal(err, "bad password hash");
	assert_int_equal(users_find("", 0, "alice", &e, &line, &err), 0);
}

static void
test_verify_argon2id(void **state)
{
	char h[crypto_pwhash_STRBYTES];

	(void)state;
	assert_int_equal(auth_hash_password("s3cret", 1, 8 * 1024 * 1024, h,
			     sizeof(h)),
	    0);
	assert_true(strncmp(h, "$argon2id$", 10) == 0);
	assert_int_equal(password_verify(h, "s3cret"), 0);
	assert_int_equal(password_verify(h, "s3creT"), -1);
	assert_int_equal(password_verify(h, ""), -1);
	assert_int_equal(auth_hash_password("x", 1, 8 * 1024 * 1024, h, 64),
	    -1);
}

/*
 * The argon2id decoder gives libsodium's own string check's answer for
 * every string it takes, and declines (-2) what it does not.
 */
static void
test_argon2id_decoder(void **state)
{
	static const char *const bad[] = {
		"$argon2id$v=19$m=8192,t=1,p=2$c2FsdHNhbHRzYWx0c2FsdA$"
		"YWJjZGVmZ2hpamtsbW5vcA", /* p = 2 */
		"$argon2id$v=16$m=8192,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		"YWJjZGVmZ2hpamtsbW5vcA", /* version */
		"$argon2id$v=19$m=8192,t=1,p=1$c2FsdA$YWJjZGVmZ2hpamtsbW5vcA",
		"$argon2id$v=19$m=08192,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		"YWJjZGVmZ2hpamtsbW5vcA", /* leading zero */
		"$argon2id$v=19$m=4,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		"YWJjZGVmZ2hpamtsbW5vcA", /* memory below the minimum */
		"$argon2id$v=19$m=8192,t=0,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		"YWJjZGVmZ2hpamtsbW5vcA",
		"$argon2id$v=19$m=99999999999999999999,t=1,p=1$"
		"c2FsdHNhbHRzYWx0c2FsdA$YWJjZGVmZ2hpamtsbW5vcA",
		"$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$YWJj",
		"$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		"YWJjZGVmZ2hpamtsbW5vcA==", /* padding */
		"$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA",
	};
	char h[crypto_pwhash_STRBYTES];
	size_t i;

	(void)state;
	assert_int_equal(crypto_pwhash_str(h, "right", 5, 1, 8 << 20), 0);
	assert_int_equal(password_here(h), 1);
	assert_int_equal(password_argon2id_check(h, "right"), 0);
	assert_int_equal(password_argon2id_check(h, "wrong"), -1);
	assert_int_equal(crypto_pwhash_str_verify(h, "right", 5), 0);
	/* another key (a base64 digit in its middle changed): both say no */
	h[strlen(h) - 8] = h[strlen(h) - 8] == 'A' ? 'B' : 'A';
	assert_int_equal(password_argon2id_check(h, "right"), -1);
	assert_int_not_equal(crypto_pwhash_str_verify(h, "right", 5), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(password_here(bad[i]), 0);
		assert_int_equal(password_argon2id_check(bad[i], "x"), -2);
		assert_int_equal(password_verify(bad[i], "x"), -1);
	}
	assert_int_equal(password_here("$6$saltsalt$abc"), 1);
	assert_int_equal(password_here("plain"), 0);
}

static void
test_verify_crypt(void **state)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	char salt[64], h6[256], hb[256];
	const char *o;

	(void)state;
	assert_non_null(cd);
	o = crypt_r("pw6", "$6$saltsalt$", cd);
	assert_non_null(o);
	snprintf(h6, sizeof(h6), "%s", o);
	assert_true(strncmp(h6, "$6$saltsalt$", 12) == 0);
	assert_non_null(
	    crypt_gensalt_rn("$2b$", 5, NULL, 0, salt, sizeof(salt)));
	assert_int_equal(strlen(salt), 7 + 22);
	o = crypt_r("pwb", salt, cd);
	assert_non_null(o);
	snprintf(hb, sizeof(hb), "%s", o);
	assert_true(strncmp(hb, "$2b$05$", 7) == 0);
	free(cd);

	assert_int_equal(password_verify(h6, "pw6"), 0);
	assert_int_equal(password_verify(h6, "pw7"), -1);
	assert_int_equal(password_verify(h6, ""), -1);
	assert_int_equal(password_verify(hb, "pwb"), 0);
	assert_int_equal(password_verify(hb, "pwB"), -1);
	h6[strlen(h6) - 1] ^= 1; /* corrupted hash */
	assert_int_equal(password_verify(h6, "pw6"), -1);
	assert_int_equal(password_verify("$6$saltsalt$short", "pw6"), -1);
}

static void
test_conf(struct conf *c)
{
	conf_defaults(c);
	c->pwhash_opslimit = 1;
	c->pwhash_memlimit_kib = 8192;
}

static char *
inline_users(void)
{
	char h[crypto_pwhash_STRBYTES], e[crypto_pwhash_STRBYTES];
	char *out;

	assert_int_equal(auth_hash_password("right", 1, 8 << 20, h, sizeof(h)),
	    0);
	assert_int_equal(auth_hash_password("", 1, 8 << 20, e, sizeof(e)), 0);
	out = malloc(2048);
	assert_non_null(out);
	snprintf(out, 2048,
	    "# quick\nuser1:%s:1234:2345:/srv/u1:write\n"
	    "ro:%s:1234:2345:/srv/ro:\nnopw:%s:1234:2345:/srv/np:\n",
	    h, h, e);
	return out;
}

static void
test_auth_inline(void **state)
{
	struct conf c;
	struct auth_identity id;
	char *users = inline_users();

	(void)state;
	test_conf(&c);
	memset(&id, 0, sizeof(id));
	assert_int_equal(auth_check(&c, users, "user1", "right", &id), 0);
	assert_string_equal(id.name, "user1");
	assert_string_equal(id.root, "/srv/u1");
	assert_int_equal(id.writable, 1);
	assert_int_equal(id.anonymous, 0);
	assert_int_equal(id.uid, geteuid() == 0 ? 1234 : getuid());
	assert_int_equal(id.gid, geteuid() == 0 ? 2345 : getgid());
	assert_int_equal(auth_check(&c, users, "ro", "right", &id), 0);
	assert_string_equal(id.root, "/srv/ro");
	assert_int_equal(id.writable, 0);

	memset(&id, 0x5a, sizeof(id));
	assert_int_equal(auth_check(&c, users, "user1", "wrong", &id), -1);
	assert_int_equal(id.name[0], 0x5a); /* untouched on failure */
	assert_int_equal(auth_check(&c, users, "User1", "right", &id), -1);
	assert_int_equal(auth_check(&c, users, "nobody9", "right", &id), -1);
	assert_int_equal(auth_check(&c, users, "user1", "", &id), -1);
	assert_int_equal(auth_check(&c, users, "nopw", "", &id), -1);
	assert_int_equal(auth_check(&c, NULL, "user1", "right", &id), -1);
	assert_int_equal(auth_check(&c, "bad line\n", "user1", "right", &id),
	    -1);
	free(users);
}

/*
 * auth_check_here answers as auth_check for what it checks itself, and
 * AUTH_ELSEWHERE, before verifying, for what needs memory of its own.
 */
static void
test_auth_here(void **state)
{
	char *users = inline_users(), legacy[512], odd[512];
	struct auth_identity id;
	struct conf c;

	(void)state;
	test_conf(&c);
	assert_int_equal(auth_check_here(&c, users, NULL, "user1", "right",
			     &id),
	    0);
	assert_string_equal(id.root, "/srv/u1");
	assert_int_equal(auth_check_here(&c, users, NULL, "user1", "wrong",
			     &id),
	    -1);
	assert_int_equal(auth_check_here(&c, users, NULL, "nobody9", "right",
			     &id),
	    -1);
	c.pam_enable = 1; /* an unknown name may be a PAM user */
	assert_int_equal(auth_check_here(&c, users, NULL, "nobody9", "right",
			     &id),
	    AUTH_ELSEWHERE);
	c.pam_enable = 0;
	/* a salt of 8 bytes: only libsodium's string check reads it */
	snprintf(odd, sizeof(odd),
	    "odd:$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHQ$"
	    "YWJjZGVmZ2hpamtsbW5vcA:1:1:/srv/o:\n");
	assert_int_equal(auth_check_here(&c, odd, NULL, "odd", "x", &id),
	    AUTH_ELSEWHERE);
	assert_int_equal(auth_check(&c, odd, "odd", "x", &id), -1);
	/* sha512-crypt in the users file with pwhash_rehash: a rewrite */
	snprintf(legacy, sizeof(legacy), "old:%s:1:1:/srv/o:\n",
	    crypt("pw", "$6$saltsalt$"));
	assert_int_equal(auth_check_here(&c, legacy, NULL, "old", "pw", &id),
	    0);
	free(users);
}

static double
ms_of_check(const struct conf *c, const char *users, const char *user,
    const char *pass)
{
	struct auth_identity id;
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(auth_check(c, users, user, pass, &id), -1);
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a.tv_sec) * 1e3 +
	    (double)(b.tv_nsec - a.tv_nsec) / 1e6;
}

/* A good password for user1: its own (cheap) hash only. */
static double
ms_of_ok(const struct conf *c, const char *users)
{
	struct auth_identity id;
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(auth_check(c, users, "user1", "right", &id), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a.tv_sec) * 1e3 +
	    (double)(b.tv_nsec - a.tv_nsec) / 1e6;
}

/*
 * An unknown user, an empty password and a wrong password for a hash
 * cheaper than the configured cost each cost one real argon2id
 * verification at the configured cost (a broken dummy hash would fail
 * in microseconds; a cheap hash alone costs what a good login costs).
 */
static void
test_auth_unknown_costs(void **state)
{
	struct conf c;
	char *users = inline_users();
	double wrong = 1e9, unknown = 1e9, empty = 1e9, ok = 1e9, t;
	int i;

	(void)state;
	test_conf(&c);
	c.pwhash_opslimit = 2;
	c.pwhash_memlimit_kib = 32768;
	for (i = 0; i < 3; i++) {
		t = ms_of_check(&c, users, "user1", "wrong");
		wrong = t < wrong ? t : wrong;
		t = ms_of_check(&c, users, "ghost", "wrong");
		unknown = t < unknown ? t : unknown;
		t = ms_of_check(&c, users, "user1", "");
		empty = t < empty ? t : empty;
		t = ms_of_ok(&c, users);
		ok = t < ok ? t : ok;
	}
	/* user1's hash costs 1 pass, 8 MiB; the dummy 2 passes, 32 MiB */
	assert_true(unknown > 2 * ok);
	assert_true(empty > 2 * ok);
	assert_true(wrong > 2 * ok);
	free(users);
}

/* Which stored hashes pwhash_rehash replaces, and which cost the dummy too. */
static void
test_needs_rehash(void **state)
{
	struct conf c;
	char h[crypto_pwhash_STRBYTES];

	(void)state;
	test_conf(&c);
	c.pwhash_opslimit = 1;
	c.pwhash_memlimit_kib = 8192;
	assert_int_equal(auth_hash_password("pw", 1, 8192 * 1024, h, sizeof(h)),
	    0);
	assert_int_equal(password_needs_rehash(&c, h), 0);
	c.pwhash_opslimit = 2;
	assert_int_equal(password_needs_rehash(&c, h), 1);
	assert_int_equal(password_needs_rehash(&c, "$6$salt$abcdef"), 1);
	assert_int_equal(password_needs_rehash(&c, "$2b$10$abc"), 1);
	assert_int_equal(password_needs_rehash(&c,
			     "$argon2i$v=19$m=8192,"
			     "t=1,p=1$c2FsdHNhbHQ$aGFzaA"),
	    1);
}

static void
test_auth_pam_refused(void **state)
{
	struct conf c;
	struct auth_identity id;

	(void)state;
	test_conf(&c);
	c.pam_enable = 1;
	snprintf(c.pam_service, sizeof(c.pam_service), "kf-test-no-such");
	memset(&id, 0x5a, sizeof(id));
	assert_int_equal(auth_check(&c, NULL, "root", "x", &id), -1);
	assert_int_equal(auth_check(&c, NULL, "no-such-user-kf", "x", &id), -1);
	assert_int_equal(auth_check(&c, NULL, "bad name", "x", &id), -1);
	assert_int_equal(auth_check(&c, NULL, "root", "", &id), -1);
	assert_int_equal(id.name[0], 0x5a);
}

static void
test_auth_anonymous(void **state)
{
	struct conf c;
	struct auth_identity id;

	(void)state;
	test_conf(&c);
	snprintf(c.anon_root, sizeof(c.anon_root), "/srv/anon");
	assert_int_equal(auth_check(&c, NULL, "anonymous", "", &id), -1);
	assert_int_equal(auth_check(&c, NULL, "ftp", "x@y", &id), -1);
	c.anonymous_enable = 1;
	if (geteuid() == 0 && getpwnam(c.anon_user) == NULL)
		skip();
	memset(&id, 0, sizeof(id));
	assert_int_equal(auth_check(&c, NULL, "anonymous", "", &id), 0);
	assert_string_equal(id.name, "anonymous");
	assert_string_equal(id.root, "/srv/anon");
	assert_int_equal(id.anonymous, 1);
	assert_int_equal(id.writable, 0);
	assert_int_not_equal(id.uid, 0);
	if (geteuid() == 0)
		assert_int_equal(id.uid, getpwnam(c.anon_user)->pw_uid);
	c.anon_write = 1;
	assert_int_equal(auth_check(&c, NULL, "FTP", "guest", &id), 0);
	assert_string_equal(id.name, "anonymous");
	assert_int_equal(id.writable, 1);
	assert_int_equal(auth_check(&c, NULL, "AnonyMous", "a@b", &id), 0);
	assert_int_equal(auth_check(&c, NULL, "anonymous2", "", &id), -1);
}

/* The identity's rates: user flags, else anon_*_rate, else the global. */
static void
test_auth_rates(void **state)
{
	char h[crypto_pwhash_STRBYTES], users[1024];
	struct auth_identity id;
	struct conf c;

	(void)state;
	test_conf(&c);
	c.download_rate = 5000;
	c.upload_rate = 6000;
	c.anon_download_rate = 700;
	assert_int_equal(auth_hash_password("right", 1, 8 << 20, h, sizeof(h)),
	    0);
	snprintf(users, sizeof(users),
	    "lim:%s:1:1:/srv/l:up_rate=0,"
	    "quota_bytes=99,quota_files=3\nplain:%s:1:1:/srv/p:\n",
	    h, h);
	assert_int_equal(auth_check(&c, users, "lim", "right", &id), 0);
	assert_true(id.down_rate == 5000 && id.up_rate == 0);
	assert_true(id.quota_bytes == 99 && id.quota_files == 3);
	assert_int_equal(auth_check(&c, users, "plain", "right", &id), 0);
	assert_true(id.down_rate == 5000 && id.up_rate == 6000);
	assert_true(id.quota_bytes == 0 && id.quota_files == 0);
	c.anonymous_enable = 1;
	snprintf(c.anon_root, sizeof(c.anon_root), "/srv/anon");
	if (geteuid() == 0 && getpwnam(c.anon_user) == NULL)
		skip();
	assert_int_equal(auth_check(&c, NULL, "anonymous", "", &id), 0);
	assert_true(id.down_rate == 700 && id.up_rate == 6000);
}

/* A child that waits for a slot, says c once it has it, then lets go. */
static pid_t
slot_child(int wfd, char c, int hold)
{
	pid_t pid = fork();
	int s;

	assert_true(pid >= 0);
	if (pid == 0) {
		s = auth_slot_acquire();
		if (s != 0 || write(wfd, &c, 1) != 1)
			_exit(1);
		if (hold)
			pause();
		auth_slot_release(s);
		_exit(0);
	}
	return pid;
}

/* Waits until n processes wait for a slot. */
static void
await_waiters(int n)
{
	int i;

	for (i = 0; i < 2000; i++) {
		if (semctl(auth_slots_id(), 0, GETNCNT) == n)
			return;
		usleep(1000);
	}
	fail_msg("%d waiters never queued", n);
}

/*
 * The verification cap: tokens go to waiters in the order they came
 * (a returned token goes to the first in line), a killed holder's
 * token comes back, and without a set there is nothing to wait for.
 */
static void
test_slots(void **state)
{
	int fds[2], status;
	pid_t a, b, c;
	char got[3] = "";

	(void)state;
	assert_int_equal(auth_slot_acquire(), 1); /* not initialised */
	auth_slot_release(1);
	assert_int_equal(auth_slots_init(0), -1);
	assert_int_equal(auth_slots_init(KF_AUTH_SLOTS_MAX + 1), -1);
	assert_int_equal(auth_slots_init(2), 0);
	assert_true(auth_slots_id() >= 0);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(auth_slot_acquire(), 0);
	assert_int_equal(auth_slot_acquire(), 0);
	assert_int_equal(semctl(auth_slots_id(), 0, GETVAL), 0);
	/* two in line, A first: one token back serves A, then B */
	a = slot_child(fds[1], 'A', 0);
	await_waiters(1);
	b = slot_child(fds[1], 'B', 0);
	await_waiters(2);
	auth_slot_release(0);
	assert_int_equal(read(fds[0], got, 1), 1);
	assert_int_equal(read(fds[0], got + 1, 1), 1);
	assert_string_equal(got, "AB");
	assert_int_equal(waitpid(a, &status, 0), a);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(waitpid(b, &status, 0), b);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(semctl(auth_slots_id(), 0, GETVAL), 1);
	/* a holder killed with its token: the kernel gives it back */
	c = slot_child(fds[1], 'C', 1);
	assert_int_equal(read(fds[0], got, 1), 1);
	assert_int_equal(got[0], 'C');
	assert_int_equal(semctl(auth_slots_id(), 0, GETVAL), 0);
	kill(c, SIGKILL);
	assert_int_equal(waitpid(c, &status, 0), c);
	assert_int_equal(semctl(auth_slots_id(), 0, GETVAL), 1);
	auth_slot_release(0);
	assert_int_equal(semctl(auth_slots_id(), 0, GETVAL), 2);
	/* made again with one token: a new set */
	assert_int_equal(auth_slots_init(1), 0);
	assert_int_equal(auth_slot_acquire(), 0);
	auth_slot_release(0);
	auth_slots_end(); /* removed: nothing to wait for */
	assert_int_equal(auth_slots_id(), -1);
	assert_int_equal(auth_slot_acquire(), 1);
	close(fds[0]);
	close(fds[1]);
}

/* ---- keepftpd user ---- */

static int
cli(const char *input, const char *out, char **argv)
{
	int p[2], in0, out1 = -1, fd, argc = 0, r;

	while (argv[argc] != NULL)
		argc++;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], input, strlen(input)),
	    (ssize_t)strlen(input));
	close(p[1]);
	in0 = dup(0);
	assert_int_equal(dup2(p[0], 0), 0);
	close(p[0]);
	if (out != NULL) {
		fflush(stdout);
		out1 = dup(1);
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		assert_true(fd >= 0);
		assert_int_equal(dup2(fd, 1), 1);
		close(fd);
	}
	r = users_cli(argc, argv);
	if (out != NULL) {
		fflush(stdout);
		dup2(out1, 1);
		close(out1);
	}
	dup2(in0, 0);
	close(in0);
	return r;
}

static char *
slurp(const char *path)
{
	static char b[8192];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	n = read(fd, b, sizeof(b) - 1);
	assert_true(n >= 0);
	b[n] = '\0';
	close(fd);
	return b;
}

static int
login(const char *user, const char *pass)
{
	struct conf c;
	struct auth_identity id;

	test_conf(&c);
	snprintf(c.users_file, sizeof(c.users_file), "%s", ufile);
	return auth_check(&c, NULL, user, pass, &id);
}

/* KF_PASS_MAX-style long password: n 'p' bytes, then tail. */
static const char *
longpw(size_t n, const char *tail)
{
	static char b[KF_PASS_MAX * 2 + 8];

	assert_true(n + strlen(tail) < sizeof(b));
	memset(b, 'p', n);
	memcpy(b + n, tail, strlen(tail) + 1);
	return b;
}

#define ADD(name, extra...) \
	((char *[]){ "user", "-f", ufile, "add", name, "--home", "/tmp", \
	    "--uid", "1500", "--gid", "1600", "--opslimit", "1", \
	    "--memlimit-kib", "8192", ##extra, NULL })

static void
test_cli_roundtrip(void **state)
{
	char out[160], lck[160];
	struct stat st;

	(void)state;
	snprintf(out, sizeof(out), "%s/out", tmpdir);
	assert_int_equal(cli("pw-one\n", NULL, ADD("carol", "--write")), 0);
	assert_int_equal(stat(ufile, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(cli("pw-two\r\n", NULL, ADD("dave")), 0);
	assert_int_equal(cli("x\n", NULL, ADD("dave")), 1); /* exists */
	assert_int_equal(cli("\n", NULL, ADD("erin")), 1); /* empty pw */
	assert_int_equal(cli("", NULL, ADD("erin")), 1); /* no pw */
	assert_int_equal(cli("pw\n", NULL, ADD("b*d")), 1); /* bad name */
	assert_int_equal(cli(longpw(KF_PASS_MAX + 1, "\n"), NULL, ADD("erin")),
	    1);
	assert_int_equal(cli(longpw(KF_PASS_MAX + 1, "\r\n"), NULL,
			     ADD("erin")),
	    1);
	assert_int_equal(cli(longpw(KF_PASS_MAX + 100, ""), NULL, ADD("erin")),
	    1);
	assert_int_equal(cli(longpw(KF_PASS_MAX, "\r\n"), NULL, ADD("gus")), 0);
	assert_int_equal(login("gus", longpw(KF_PASS_MAX, "")), 0);
	assert_int_equal(cli("", NULL,
			     (char *[]){ "user", "-f", ufile, "del", "gus",
				 NULL }),
	    0);
	assert_int_equal(login("carol", "pw-one"), 0);
	assert_int_equal(login("dave", "pw-two"), 0);
	assert_int_equal(login("dave", "pw-one"), -1);
	assert_int_equal(login("erin", "pw"), -1);

	assert_int_equal(cli("", out,
			     (char *[]){ "user", "list", "-f", ufile, NULL }),
	    0);
	assert_string_equal(slurp(out),
	    "carol 1500 1600 /tmp write\n"
	    "dave 1500 1600 /tmp -\n");
	assert_null(strstr(slurp(ufile), "pw-one"));

	assert_int_equal(cli("pw-new\n", NULL,
			     (char *[]){ "user", "-f", ufile, "passwd", "carol",
				 "--opslimit", "1", NULL }),
	    2);
	assert_int_equal(cli("pw-new\n", NULL,
			     (char *[]){ "user", "-f", ufile, "passwd", "carol",
				 NULL }),
	    0);
	assert_int_equal(login("carol", "pw-one"), -1);
	assert_int_equal(login("carol", "pw-new"), 0);
	assert_int_equal(cli("pw\n", NULL,
			     (char *[]){ "user", "passwd", "zed", "-f", ufile,
				 NULL }),
	    1);

	assert_int_equal(cli("", NULL,
			     (char *[]){ "user", "-f", ufile, "del", "carol",
				 NULL }),
	    0);
	assert_int_equal(cli("", NULL,
			     (char *[]){ "user", "-f", ufile, "del", "carol",
				 NULL }),
	    1);
	assert_int_equal(login("carol", "pw-new"), -1);
	assert_int_equal(login("dave", "pw-two"), 0);
	assert_int_equal(cli("", out,
			     (char *[]){ "user", "-f", ufile, "list", NULL }),
	    0);
	assert_string_equal(slurp(out), "dave 1500 1600 /tmp -\n");

	/* rate and quota flags: add, set, list */
	assert_int_equal(cli("pw-h\n", NULL,
			     ADD("hal", "--down-rate", "5000", "--quota-files",
				 "3")),
	    0);
	assert_int_equal(cli("", NULL,
			     (char *[]){ "user", "-f", ufile, "set", "hal",
				 "--up-rate", "7", "--quota-files", "0",
				 NULL }),
	    0);
	assert_int_equal(cli("", NULL,
			     (char *[]){ "user", "-f", ufile, "set", "dave",
				 "--quota-bytes", "99", NULL }),
	    0);
	assert_int_equal(cli("", out,
			     (char *[]){ "user", "-f", ufile, "list", NULL }),
	    0);
	assert_string_equal(slurp(out),
	    "dave 1500 1600 /tmp "
	    "quota_bytes=99\nhal 1500 1600 /tmp "
	    "down_rate=5000,up_rate=7,quota_files=0\n");
	assert_int_equal(login("hal", "pw-h"), 0); /* password kept */
	assert_int_equal(cli("", NULL,
			     (char *[]){ "user", "-f", ufile, "set", "hal",
				 NULL }),
	    2); /* nothing to set */
	assert_int_equal(cli("", NULL,
			     (char *[]){ "user", "-f", ufile, "set", "hal",
				 "--up-rate", "4000000001", NULL }),
	    2);
	assert_int_equal(cli("", NULL,
			     (char *[]){ "user", "-f", ufile, "set", "nobody9",
				 "--up-rate", "1", NULL }),
	    1);
	assert_int_equal(cli("", NULL,
			     (char *[]){ "user", "-f", ufile, "del",
				 "--quota-files", "1", "hal", NULL }),
	    2);
	assert_int_equal(cli("", NULL,
			     (char *[]){ "user", "-f", ufile, "del", "hal",
				 NULL }),
	    0);
	assert_int_equal(cli("", NULL,
			     (char *[]){ "user", "-f", ufile, "set", "dave",
				 "--quota-bytes", "0", NULL }),
	    0);

	/* usage errors */
	assert_int_equal(cli("", NULL, (char *[]){ "user", NULL }), 2);
	assert_int_equal(cli("", NULL, (char *[]){ "user", "frob", NULL }), 2);
	assert_int_equal(cli("", NULL,
			     (char *[]){ "user", "-f", ufile, "add", "x",
				 NULL }),
	    2); /* no --home */
	assert_int_equal(cli("", NULL,
			     (char *[]){ "user", "-f", ufile, "del", NULL }),
	    2);
	assert_int_equal(cli("", NULL, (char *[]){ "user", "list", "x", NULL }),
	    2);
	assert_int_equal(cli("", NULL, (char *[]){ "user", "-f", NULL }), 2);
	assert_int_equal(cli("pw\n", NULL, ADD("fay", "--uid", "0")), 1);
	assert_int_equal(cli("pw\n", NULL,
			     (char *[]){ "user", "-f", ufile, "add", "fay",
				 "--home", "rel", "--uid", "5", "--gid", "5",
				 NULL }),
	    1);
	if (geteuid() == 0) /* root must name the ids */
		assert_int_equal(cli("pw\n", NULL,
				     (char *[]){ "user", "-f", ufile, "add",
					 "fay", "--home", "/f", NULL }),
		    1);

	/* a broken file is refused, not rewritten */
	snprintf(lck, sizeof(lck), "%s.lock", ufile);
	assert_int_equal(access(lck, F_OK), 0);
	{
		int fd = open(ufile, O_WRONLY | O_APPEND);

		assert_true(fd >= 0);
		assert_int_equal(write(fd, "junk\n", 5), 5);
		close(fd);
	}
	assert_int_equal(cli("", NULL,
			     (char *[]){ "user", "-f", ufile, "del", "dave",
				 NULL }),
	    1);
	assert_non_null(strstr(slurp(ufile), "junk"));
	assert_int_equal(login("dave", "pw-two"), -1); /* malformed file */
	unlink(out);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/kf-users-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(ufile, sizeof(ufile), "%s/users", tmpdir);
	return 0;
}

static int
teardown(void **state)
{
	char p[200];

	(void)state;
	unlink(ufile);
	snprintf(p, sizeof(p), "%s.lock", ufile);
	unlink(p);
	rmdir(tmpdir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_parse_user_limits),
		cmocka_unit_test(test_auth_rates),
		cmocka_unit_test(test_parse_addr_flags),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_verify_argon2id),
		cmocka_unit_test(test_argon2id_decoder),
		cmocka_unit_test(test_verify_crypt),
		cmocka_unit_test(test_auth_here),
		cmocka_unit_test(test_auth_inline),
		cmocka_unit_test(test_auth_unknown_costs),
		cmocka_unit_test(test_needs_rehash),
		cmocka_unit_test(test_auth_pam_refused),
		cmocka_unit_test(test_auth_anonymous),
		cmocka_unit_test(test_slots),
		cmocka_unit_test(test_cli_roundtrip),
		cmocka_unit_test(test_parse_folders_flag),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
