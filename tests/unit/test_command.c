/* test_command.c - command line clean-up, telnet, parsing, the table. */
#include "cm.h"
#include <errno.h>
#include <string.h>

#include "proto/command.h"

static int
parse(const char *in, size_t n, struct cmd *c, char *buf)
{
	memcpy(buf, in, n);
	if (cmd_clean_line(buf, &n) < 0)
		return -2;
	return cmd_parse(buf, n, c);
}

static void
test_parse_basic(void **state)
{
	char buf[KF_LINE_MAX + 1];
	struct cmd c;

	assert_int_equal(parse("retr a b.txt\r", 13, &c, buf), 0);
	assert_string_equal(c.verb, "RETR");
	assert_non_null(c.def);
	assert_int_equal(c.def->id, CMD_RETR);
	assert_string_equal(c.arg, "a b.txt");
	assert_int_equal(c.arglen, 7);

	assert_int_equal(parse("NOOP", 4, &c, buf), 0);
	assert_int_equal(c.def->id, CMD_NOOP);
	assert_int_equal(c.arglen, 0);

	assert_int_equal(parse("XPWD", 4, &c, buf), 0);
	assert_int_equal(c.def->id, CMD_PWD);

	assert_int_equal(parse("XYZW CHMOD 777 x", 16, &c, buf), 0);
	assert_null(c.def);
	assert_string_equal(c.verb, "XYZW");

	/* digits after the first letter (XSHA256), never first */
	assert_int_equal(parse("XSHA256 f", 9, &c, buf), 0);
	assert_int_equal(c.def->id, CMD_XSHA256);
	assert_int_equal(parse("1ABC", 4, &c, buf), -EINVAL);
}

static void
test_parse_hostile(void **state)
{
	char buf[KF_LINE_MAX + 1];
	struct cmd c;

	assert_int_equal(parse("", 0, &c, buf), -EINVAL);
	assert_int_equal(parse(" NOOP", 5, &c, buf), -EINVAL);
	/* a digit is part of the verb: an unknown command, not NOOP */
	assert_int_equal(parse("NO0P", 4, &c, buf), 0);
	assert_null(c.def);
	assert_int_equal(parse("0NOOP", 5, &c, buf), -EINVAL);
	assert_int_equal(parse("ABCDEFGHIJ", 10, &c, buf), -EINVAL);
	assert_int_equal(parse("US\0ER x", 7, &c, buf), -2);
	assert_int_equal(parse("USER a\rb", 8, &c, buf), -2);
	assert_int_equal(parse("\xc3\xa9T", 3, &c, buf), -EINVAL);
}

static void
test_telnet(void **state)
{
	char buf[32];
	size_t n;

	/* IAC IP IAC DM ABOR */
	memcpy(buf,
	    "\xff\xf4\xff\xf2"
	    "ABOR",
	    8);
	n = telnet_strip(buf, 8);
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "ABOR", 4);
	/* IAC IAC is a data byte; IAC WILL x drops three bytes */
	memcpy(buf,
	    "a\xff\xff"
	    "b\xff\xfb\x01"
	    "c",
	    8);
	n = telnet_strip(buf, 8);
	assert_int_equal(n, 4);
	assert_memory_equal(buf,
	    "a\xff"
	    "bc",
	    4);
	/* a lone IAC at the end vanishes */
	memcpy(buf, "x\xff", 2);
	assert_int_equal(telnet_strip(buf, 2), 1);
}

static void
test_table_sorted(void **state)
{
	const struct cmd_def *t;
	size_t n, i;

	t = cmd_table(&n);
	for (i = 1; i < n; i++)
		assert_true(strcmp(t[i - 1].name, t[i].name) < 0);
	for (i = 0; i < n; i++)
		assert_ptr_equal(cmd_lookup(t[i].name), &t[i]);
	assert_null(cmd_lookup("AAAA"));
	assert_null(cmd_lookup("ZZZZ"));
}

/*
 * The phase column: every command is answered after login; before it,
 * exactly the login, TLS and harmless ones (prelogin.c's handlers).
 */
static void
test_table_phase(void **state)
{
	static const char *const pre[] = { "ACCT", "AUTH", "CCC", "FEAT",
		"HELP", "HOST", "NOOP", "OPTS", "PASS", "PBSZ", "PROT", "QUIT",
		"SYST", "USER" };
	const struct cmd_def *t;
	size_t n, i, k, npre = 0;

	t = cmd_table(&n);
	for (i = 0; i < n; i++) {
		assert_true(t[i].phase & CMD_PH_POST);
		if (!(t[i].phase & CMD_PH_PRE))
			continue;
		npre++;
		for (k = 0; k < sizeof(pre) / sizeof(pre[0]); k++)
			if (strcmp(pre[k], t[i].name) == 0)
				break;
		assert_true(k < sizeof(pre) / sizeof(pre[0]));
	}
	assert_int_equal(npre, sizeof(pre) / sizeof(pre[0]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_basic),
		cmocka_unit_test(test_parse_hostile),
		cmocka_unit_test(test_telnet),
		cmocka_unit_test(test_table_sorted),
		cmocka_unit_test(test_table_phase),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
