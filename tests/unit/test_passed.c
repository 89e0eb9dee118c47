/*
 * test_passed.c - the marks a passed listening socket takes from the
 * listen lines naming its address (priv/passed.c): the same port and
 * host, or a wildcard on either side; marks only added; implicit and
 * proxy together refused.
 */
#include "cm.h"
#include <string.h>

#include "conf/conf.h"
#include "net/addr.h"
#include "priv/passed.h"

static struct conf_listen
line(const char *text, int implicit, int proxy)
{
	struct conf_listen l;

	memset(&l, 0, sizeof(l));
	assert_int_equal(conf_parse_listen(text, &l), 0);
	l.implicit = implicit;
	l.proxy = proxy;
	return l;
}

/* The marks of sock (a passed socket at text, its own marks 0). */
static int
marks(const char *text, const struct conf_listen *lines, size_t n,
    int *implicit, int *proxy)
{
	struct conf_listen l = line(text, 0, 0);
	int r = passed_marks(&l, lines, n);

	*implicit = l.implicit;
	*proxy = l.proxy;
	return r;
}

static void
test_by_address(void **state)
{
	struct conf_listen lines[3];
	int imp, px;

	lines[0] = line("127.0.0.1:2121", 0, 1);
	lines[1] = line("127.0.0.1:990", 1, 0);
	lines[2] = line("127.0.0.1:21", 0, 0);
	assert_int_equal(marks("127.0.0.1:2121", lines, 3, &imp, &px), 0);
	assert_true(px && !imp);
	assert_int_equal(marks("127.0.0.1:990", lines, 3, &imp, &px), 0);
	assert_true(imp && !px);
	assert_int_equal(marks("127.0.0.1:21", lines, 3, &imp, &px), 0);
	assert_true(!imp && !px);
	/* another host, another port: no line names it */
	assert_int_equal(marks("127.0.0.2:2121", lines, 3, &imp, &px), 0);
	assert_false(px);
	assert_int_equal(marks("127.0.0.1:2122", lines, 3, &imp, &px), 0);
	assert_false(px);
}

static void
test_wildcards(void **state)
{
	struct conf_listen lines[1];
	int imp, px;

	/* systemd's ListenStream=21 is [::]:21; the line says 0.0.0.0:21 */
	lines[0] = line("0.0.0.0:21", 0, 1);
	assert_int_equal(marks("[::]:21", lines, 1, &imp, &px), 0);
	assert_true(px);
	assert_int_equal(marks("192.0.2.5:21", lines, 1, &imp, &px), 0);
	assert_true(px);
	/* a wildcard socket is named by a line for one of its hosts */
	lines[0] = line("[2001:db8::5]:21", 0, 1);
	assert_int_equal(marks("0.0.0.0:21", lines, 1, &imp, &px), 0);
	assert_true(px);
	/* an IPv4-mapped socket and its IPv4 line */
	lines[0] = line("192.0.2.5:21", 0, 1);
	assert_int_equal(marks("[::ffff:192.0.2.5]:21", lines, 1, &imp, &px),
	    0);
	assert_true(px);
}

static void
test_only_added_and_both_refused(void **state)
{
	struct conf_listen lines[1], l;

	/* the name said proxy, no line names it: it stays proxy */
	l = line("127.0.0.1:21", 0, 1);
	assert_int_equal(passed_marks(&l, NULL, 0), 0);
	assert_true(l.proxy);
	lines[0] = line("127.0.0.1:21", 0, 0);
	assert_int_equal(passed_marks(&l, lines, 1), 0);
	assert_true(l.proxy);
	/* named implicit, a proxy line for its address: refused */
	l = line("127.0.0.1:21", 1, 0);
	lines[0] = line("127.0.0.1:21", 0, 1);
	assert_int_equal(passed_marks(&l, lines, 1), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_by_address),
		cmocka_unit_test(test_wildcards),
		cmocka_unit_test(test_only_added_and_both_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
