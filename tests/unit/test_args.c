/* test_args.c - the parsers of post-login client arguments (args.c). */
#include "cm.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fs/list.h"
#include "net/addr.h"
#include "proto/args.h"

static void
test_rest(void **state)
{
	uint64_t off = 7;

	assert_int_equal(args_rest("0", &off), 0);
	assert_int_equal(off, 0);
	assert_int_equal(args_rest("9223372036854775807", &off), 0);
	assert_int_equal(off, INT64_MAX);
	assert_int_equal(args_rest("9223372036854775808", &off), -1);
	assert_int_equal(args_rest("-1", &off), -1);
	assert_int_equal(args_rest("+1", &off), -1);
	assert_int_equal(args_rest("1 ", &off), -1);
	assert_int_equal(args_rest("0x10", &off), -1);
	assert_int_equal(args_rest("", &off), -1);
}

static int
tv(const char *s, time_t *t)
{
	return args_timeval(s, strlen(s), t);
}

static void
test_timeval(void **state)
{
	time_t t;

	assert_int_equal(tv("19700101000000", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(tv("20000229235959", &t), 0);
	assert_int_equal(t, 951868799);
	assert_int_equal(tv("20000229235959.5", &t), 0);
	assert_int_equal(tv("20000229235959.123", &t), 0);
	assert_int_equal(tv("20000229235959.1234", &t), -1);
	assert_int_equal(tv("20000229235959.", &t), -1);
	assert_int_equal(tv("20000229235959,1", &t), -1);
	assert_int_equal(tv("20000229235959.x", &t), -1);
	assert_int_equal(tv("1969123123595", &t), -1);
	assert_int_equal(tv("19691231235959", &t), -1);
	assert_int_equal(tv("20001301000000", &t), -1);
	assert_int_equal(tv("20000100000000", &t), -1);
	assert_int_equal(tv("20000132000000", &t), -1);
	assert_int_equal(tv("20000101240000", &t), -1);
	assert_int_equal(tv("20000101236000", &t), -1);
	assert_int_equal(tv("2000010123+900", &t), -1);
	assert_int_equal(tv("2000-1-1000000", &t), -1);
	/* a leap second parses (timegm folds it into the next minute) */
	assert_int_equal(tv("20161231235960", &t), 0);
}

static void
test_mfmt(void **state)
{
	const char *a = "20200102030405 dir/a b", *path = NULL;
	time_t t;

	assert_int_equal(args_mfmt(a, strlen(a), &t, &path), 0);
	assert_int_equal(t, 1577934245);
	assert_string_equal(path, "dir/a b");
	a = "20200102030405 ";
	assert_int_equal(args_mfmt(a, strlen(a), &t, &path), -1);
	a = "20200102030405";
	assert_int_equal(args_mfmt(a, strlen(a), &t, &path), -1);
	a = "2020010203040 x";
	assert_int_equal(args_mfmt(a, strlen(a), &t, &path), -1);
	a = " 20200102030405 x";
	assert_int_equal(args_mfmt(a, strlen(a), &t, &path), -1);
}

static void
test_mode(void **state)
{
	const char *path;
	unsigned m = 0;

	assert_int_equal(args_mode("755", 3, 0777, &m), 0);
	assert_int_equal(m, 0755);
	assert_int_equal(args_mode("0644", 4, 0777, &m), 0);
	assert_int_equal(m, 0644);
	assert_int_equal(args_mode("4755", 4, 0777, &m), -1);
	assert_int_equal(args_mode("4755", 4, 07777, &m), 0);
	assert_int_equal(m, 04755);
	assert_int_equal(args_mode("00755", 5, 07777, &m), -1);
	assert_int_equal(args_mode("8", 1, 0777, &m), -1);
	assert_int_equal(args_mode("", 0, 0777, &m), -1);
	assert_int_equal(args_mode("7x", 2, 0777, &m), -1);
	assert_int_equal(args_chmod("640 f", 5, &m, &path), 0);
	assert_int_equal(m, 0640);
	assert_string_equal(path, "f");
	assert_int_equal(args_chmod("640", 3, &m, &path), -1);
	assert_int_equal(args_chmod("640 ", 4, &m, &path), -1);
	assert_int_equal(args_chmod("17777 f", 7, &m, &path), -1);
}

static void
test_word(void **state)
{
	struct cursor c;

	cursor_init_str(&c, "chmod 644 x");
	assert_int_equal(args_word(&c, "CHMOD"), 1);
	assert_string_equal(c.p, "644 x");
	cursor_init_str(&c, "CHMODX");
	assert_int_equal(args_word(&c, "CHMOD"), 0);
	assert_string_equal(c.p, "CHMODX");
	cursor_init_str(&c, "help");
	assert_int_equal(args_word(&c, "HELP"), 1);
	assert_true(cursor_eof(&c));
}

static void
test_patterns(void **state)
{
	struct patterns p;

	args_patterns(&p, " *.tmp ,, secret\t,a b ,");
	assert_int_equal(p.set.n, 3);
	assert_ptr_equal(p.set.pat, p.pat);
	assert_string_equal(p.pat[0], "*.tmp");
	assert_string_equal(p.pat[1], "secret");
	assert_string_equal(p.pat[2], "a b");
	/* the last pattern loses its trailing blanks too (fuzz_args) */
	args_patterns(&p, "a ,b \t");
	assert_int_equal(p.set.n, 2);
	assert_string_equal(p.pat[0], "a");
	assert_string_equal(p.pat[1], "b");
	args_patterns(&p, "");
	assert_int_equal(p.set.n, 0);
}

/* More patterns than CONF_PATTERNS_MAX: the first ones are kept. */
static void
test_patterns_max(void **state)
{
	char text[4 * CONF_PATTERNS_MAX + 8];
	struct patterns p;
	size_t i, o = 0;

	for (i = 0; i < CONF_PATTERNS_MAX + 3; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "%c,",
		    (char)('A' + i % 26));
	args_patterns(&p, text);
	assert_int_equal(p.set.n, CONF_PATTERNS_MAX);
	assert_string_equal(p.pat[0], "A");
}

static void
test_port_parser(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	socklen_t len;

	assert_int_equal(args_port("127,0,0,1,4,1", &ss, &len), 0);
	assert_int_equal(ntohs(sin->sin_port), 1025);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(addr_port(&ss), 1025);
	assert_int_equal(args_port("127,0,0,1,4", &ss, &len), -EINVAL);
	assert_int_equal(args_port("127,0,0,1,4,1,", &ss, &len), -EINVAL);
	assert_int_equal(args_port("256,0,0,1,4,1", &ss, &len), -EINVAL);
	assert_int_equal(args_port("127,0,0,1,0,0", &ss, &len), -EINVAL);
	assert_int_equal(args_port("127, 0,0,1,4,1", &ss, &len), -EINVAL);
	assert_int_equal(args_port("-1,0,0,1,4,1", &ss, &len), -EINVAL);
}

static void
test_eprt_parser(void **state)
{
	struct sockaddr_storage ss, peer;
	socklen_t len;

	assert_int_equal(args_eprt("|1|127.0.0.1|2000|", &ss, &len), 0);
	assert_int_equal(addr_port(&ss), 2000);
	assert_int_equal(args_eprt("|2|::1|3000|", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(args_eprt("!1!127.0.0.1!2000!", &ss, &len), 0);
	assert_int_equal(args_eprt("|3|127.0.0.1|2000|", &ss, &len), -EINVAL);
	assert_int_equal(args_eprt("|1|::1|2000|", &ss, &len), -EINVAL);
	assert_int_equal(args_eprt("|1|127.0.0.1|70000|", &ss, &len), -EINVAL);
	assert_int_equal(args_eprt("|1|127.0.0.1|2000", &ss, &len), -EINVAL);
	assert_int_equal(args_eprt("|1|127.0.0.1|2000|x", &ss, &len), -EINVAL);
	assert_int_equal(args_eprt("1|1|127.0.0.1|2000|", &ss, &len), -EINVAL);
	assert_int_equal(args_eprt("", &ss, &len), -EINVAL);

	/* same host: IPv4 against IPv4-mapped IPv6 */
	assert_int_equal(args_eprt("|1|127.0.0.1|2000|", &ss, &len), 0);
	assert_int_equal(args_eprt("|2|::ffff:127.0.0.1|1|", &peer, &len), 0);
	assert_true(addr_same_host(&ss, &peer));
	assert_int_equal(args_eprt("|1|127.0.0.2|2000|", &peer, &len), 0);
	assert_false(addr_same_host(&ss, &peer));
	assert_int_equal(args_eprt("|2|::1|1|", &peer, &len), 0);
	assert_false(addr_same_host(&ss, &peer));
}

static void
test_list_opts(void **state)
{
	const char *arg = "-laR  sub";
	unsigned flags = 0;

	assert_int_equal(args_list_opts(&arg, &flags), 0);
	assert_string_equal(arg, "sub");
	assert_int_equal(flags, LIST_LONG | LIST_ALL | LIST_RECURSE);
	/* any ls letter or digit is accepted; -d is kept, the rest ignored */
	flags = 0;
	arg = "-1 -t -rh -d name";
	assert_int_equal(args_list_opts(&arg, &flags), 0);
	assert_string_equal(arg, "name");
	assert_int_equal(flags, LIST_DIRSELF);
	arg = "-x";
	assert_int_equal(args_list_opts(&arg, &flags), 0);
	assert_string_equal(arg, "");
	/* a word with other bytes is a name */
	arg = "-x.txt";
	assert_int_equal(args_list_opts(&arg, &flags), -EINVAL);
	arg = "--all";
	assert_int_equal(args_list_opts(&arg, &flags), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rest),
		cmocka_unit_test(test_timeval),
		cmocka_unit_test(test_mfmt),
		cmocka_unit_test(test_mode),
		cmocka_unit_test(test_word),
		cmocka_unit_test(test_patterns),
		cmocka_unit_test(test_patterns_max),
		cmocka_unit_test(test_port_parser),
		cmocka_unit_test(test_eprt_parser),
		cmocka_unit_test(test_list_opts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
