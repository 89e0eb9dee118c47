/*
 * test_conf.c - unit tests of the configuration parser, overrides,
 * cross-field checks, file loading and generated documentation.
 * Runs in: the test runner (cmocka).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "net/addr.h"

#define F      "t.conf"
#define UNUSED __attribute__((unused))

/* Parses a C string as file F into a fresh default config. */
static int
parse(struct conf *c, struct conf_errors *e, const char *text)
{
	conf_defaults(c);
	memset(e, 0, sizeof(*e));
	return conf_parse(c, F, text, strlen(text), e);
}

static void
assert_one_error(const struct conf_errors *e, const char *want)
{
	assert_int_equal(e->count, 1);
	assert_string_equal(e->msg[0], want);
}

static void
assert_v4(const struct conf_listen *l, const char *addr, unsigned port)
{
	const struct sockaddr_in *s = (const struct sockaddr_in *)&l->addr;
	char buf[INET_ADDRSTRLEN];

	assert_int_equal(l->len, sizeof(struct sockaddr_in));
	assert_int_equal(s->sin_family, AF_INET);
	assert_int_equal(ntohs(s->sin_port), port);
	assert_non_null(inet_ntop(AF_INET, &s->sin_addr, buf, sizeof(buf)));
	assert_string_equal(buf, addr);
}

static void
assert_v6(const struct conf_listen *l, const char *addr, unsigned port)
{
	const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&l->addr;
	char buf[INET6_ADDRSTRLEN];

	assert_int_equal(l->len, sizeof(struct sockaddr_in6));
	assert_int_equal(s->sin6_family, AF_INET6);
	assert_int_equal(ntohs(s->sin6_port), port);
	assert_non_null(inet_ntop(AF_INET6, &s->sin6_addr, buf, sizeof(buf)));
	assert_string_equal(buf, addr);
}

/* The repository root, from this file's path as the compiler saw it. */
static void
repo_path(char *out, size_t outsz, const char *rel)
{
	const char *me = __FILE__, *tail = "tests/unit/test_conf.c";
	size_t n = strlen(me), t = strlen(tail);

	assert_true(n >= t && strcmp(me + n - t, tail) == 0);
	assert_true((size_t)snprintf(out, outsz, "%.*s%s", (int)(n - t), me,
			rel) < outsz);
}

static void
write_file(char *path, const char *data, size_t n)
{
	int fd;

	memcpy(path, "/tmp/test_conf.XXXXXX", 22);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	while (n > 0) {
		ssize_t r = write(fd, data, n);

		assert_true(r > 0);
		data += r;
		n -= (size_t)r;
	}
	close(fd);
}

static void
test_defaults(void **state UNUSED)
{
	struct conf_errors e = { 0 };
	struct conf c;

	conf_defaults(&c);
	assert_int_equal(c.listen_count, 1);
	assert_v4(&c.listen[0], "127.0.0.1", 2121);
	assert_int_equal(c.max_clients, 200);
	assert_int_equal(c.max_per_ip, 20);
	assert_int_equal(c.pasv_enable, 1);
	assert_int_equal(c.pasv_min_port, 40000);
	assert_int_equal(c.pasv_max_port, 40999);
	assert_string_equal(c.pasv_address, "");
	assert_int_equal(c.port_enable, 1);
	assert_int_equal(c.anonymous_enable, 0);
	assert_string_equal(c.anon_root, "");
	assert_string_equal(c.anon_user, "nobody");
	assert_string_equal(c.pam_service, "keepftpd");
	assert_string_equal(c.empty_dir, "/run/keepftpd/empty");
	assert_string_equal(c.banner, "keepftpd ready.");
	assert_int_equal(c.idle_timeout, 300);
	assert_int_equal(c.login_fail_delay_ms, 1000);
	assert_int_equal(c.pwhash_memlimit_kib, 32768);
	assert_int_equal(c.umask, 022);
	assert_string_equal(c.log, "stderr");
	assert_string_equal(c.log_level, "info");
	assert_int_equal(conf_check(&c, &e), 0);
	assert_int_equal(e.count, 0);
}

static void
test_basic_file(void **state UNUSED)
{
	struct conf_errors e;
	struct conf c;

	assert_int_equal(parse(&c, &e,
			     "# a comment\n"
			     "\n"
			     "   \t\n"
			     "  # indented comment\n"
			     "max_clients = 50\n"
			     "\tidle_timeout\t=\t120\t\n"
			     "banner=Hello # not a comment\n"
			     "anon_root = /srv/ftp\n"
			     "umask = 077"),
	    0);
	assert_int_equal(e.count, 0);
	assert_int_equal(c.max_clients, 50);
	assert_int_equal(c.idle_timeout, 120);
	assert_string_equal(c.banner, "Hello # not a comment");
	assert_string_equal(c.anon_root, "/srv/ftp");
	assert_int_equal(c.umask, 077);
	assert_int_equal(c.max_per_ip, 20); /* untouched */
}

static void
test_empty_input(void **state UNUSED)
{
	struct conf_errors e;
	struct conf c, d;

	conf_defaults(&d);
	assert_int_equal(parse(&c, &e, ""), 0);
	assert_memory_equal(&c, &d, sizeof(c));
}

static void
test_crlf(void **state UNUSED)
{
	struct conf_errors e;
	struct conf c;

	assert_int_equal(
	    parse(&c, &e,
		"# dos file\r\n\r\nbanner = hi there \r\nmax_clients = 7\r\n"
		"listen = [::1]:21\r\n"),
	    0);
	assert_string_equal(c.banner, "hi there");
	assert_int_equal(c.max_clients, 7);
	assert_v6(&c.listen[0], "::1", 21);
	assert_int_equal(parse(&c, &e, "banner = a\rb\n"), -1);
	assert_one_error(&e, F ":1: control character in line");
}

static void
test_bool(void **state UNUSED)
{
	static const struct {
		const char *text;
		int want;
	} ok[] = {
		{ "yes", 1 },
		{ "no", 0 },
		{ "true", 1 },
		{ "false", 0 },
		{ "on", 1 },
		{ "off", 0 },
		{ "1", 1 },
		{ "0", 0 },
		{ "YES", 1 },
		{ "Off", 0 },
		{ "TrUe", 1 },
	};
	struct conf_errors e;
	struct conf c;
	char line[64];
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(line, sizeof(line), "pasv_enable = %s\n", ok[i].text);
		assert_int_equal(parse(&c, &e, line), 0);
		assert_int_equal(c.pasv_enable, ok[i].want);
	}
	assert_int_equal(parse(&c, &e, "pasv_enable = maybe\n"), -1);
	assert_one_error(&e,
	    F ":1: pasv_enable: 'maybe' is not a boolean "
	      "(use yes/no, true/false, on/off or 1/0)");
	assert_int_equal(parse(&c, &e, "pasv_enable = yess\n"), -1);
	assert_int_equal(parse(&c, &e, "pasv_enable = 2\n"), -1);
	assert_int_equal(parse(&c, &e, "pasv_enable =\n"), -1);
	assert_one_error(&e,
	    F ":1: pasv_enable: '' is not a boolean "
	      "(use yes/no, true/false, on/off or 1/0)");
}

static void
test_uint_range(void **state UNUSED)
{
	struct conf_errors e;
	struct conf c;

	assert_int_equal(parse(&c, &e, "max_clients = 1\n"), 0);
	assert_int_equal(c.max_clients, 1);
	assert_int_equal(parse(&c, &e, "max_clients = 100000\n"), 0);
	assert_int_equal(c.max_clients, 100000);
	assert_int_equal(parse(&c, &e, "max_clients = 000042\n"), 0);
	assert_int_equal(c.max_clients, 42);
	assert_int_equal(parse(&c, &e, "max_per_ip = 0\n"), 0);
	assert_int_equal(c.max_per_ip, 0);
	assert_int_equal(parse(&c, &e, "pwhash_memlimit_kib = 4194304\n"), 0);
	assert_int_equal(c.pwhash_memlimit_kib, 4194304);

	assert_int_equal(parse(&c, &e, "max_clients = 0\n"), -1);
	assert_one_error(&e,
	    F ":1: max_clients: 0 is out of range "
	      "(1..100000)");
	assert_int_equal(parse(&c, &e, "max_clients = 100001\n"), -1);
	assert_one_error(&e,
	    F ":1: max_clients: 100001 is out of range "
	      "(1..100000)");
	assert_int_equal(parse(&c, &e,
			     "max_clients = 99999999999999999999999999\n"),
	    -1);
	assert_one_error(&e,
	    F ":1: max_clients: 99999999999999999999999999 "
	      "is out of range (1..100000)");
	assert_int_equal(parse(&c, &e, "pasv_min_port = 1023\n"), -1);
	assert_one_error(&e,
	    F ":1: pasv_min_port: 1023 is out of range "
	      "(1024..65535)");
	assert_int_equal(parse(&c, &e, "max_clients = 200\n"), 0);
}

static void
test_uint_syntax(void **state UNUSED)
{
	static const char *const bad[] = {
		"max_clients = -1\n",
		"max_clients = +5\n",
		"max_clients = 1 2\n",
		"max_clients = 12abc\n",
		"max_clients = 0x10\n",
		"max_clients =\n",
		"max_clients = 1.5\n",
	};
	struct conf_errors e;
	struct conf c;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(&c, &e, bad[i]), -1);
		assert_int_equal(e.count, 1);
		assert_non_null(strstr(e.msg[0], "is not a decimal number"));
		assert_int_equal(c.max_clients, 200);
	}
	assert_int_equal(parse(&c, &e, "max_clients = 12abc\n"), -1);
	assert_one_error(&e,
	    F ":1: max_clients: '12abc' is not a decimal "
	      "number");
}

static void
test_mode(void **state UNUSED)
{
	struct conf_errors e;
	struct conf c;

	assert_int_equal(parse(&c, &e, "umask = 0\n"), 0);
	assert_int_equal(c.umask, 0);
	assert_int_equal(parse(&c, &e, "umask = 777\n"), 0);
	assert_int_equal(c.umask, 0777);
	assert_int_equal(parse(&c, &e, "umask = 0027\n"), 0);
	assert_int_equal(c.umask, 027);
	assert_int_equal(parse(&c, &e, "umask = 1000\n"), -1);
	assert_one_error(&e, F ":1: umask: 1000 is out of range (0..0777)");
	assert_int_equal(parse(&c, &e, "umask = 8\n"), -1);
	assert_one_error(&e, F ":1: umask: '8' is not an octal mode");
	assert_int_equal(parse(&c, &e, "umask = 0o22\n"), -1);
	assert_int_equal(parse(&c, &e, "umask = 079\n"), -1);
	assert_int_equal(parse(&c, &e, "umask =\n"), -1);
	assert_int_equal(c.umask, 022);
}

static void
test_str(void **state UNUSED)
{
	char line[400], want[128];
	struct conf_errors e;
	struct conf c;

	/* banner: 0..256 bytes */
	memcpy(line, "banner = ", 9);
	memset(line + 9, 'x', 256);
	memcpy(line + 9 + 256, "\n", 2);
	assert_int_equal(parse(&c, &e, line), 0);
	assert_int_equal(strlen(c.banner), 256);
	memcpy(line + 9 + 256, "y\n", 3);
	assert_int_equal(parse(&c, &e, line), -1);
	assert_one_error(&e,
	    F ":1: banner: value is 257 bytes, longer than "
	      "256");
	assert_string_equal(c.banner, "keepftpd ready.");
	assert_int_equal(parse(&c, &e, "banner =\n"), 0);
	assert_string_equal(c.banner, "");

	/* anon_user: 1..64 bytes */
	assert_int_equal(parse(&c, &e, "anon_user = ftp\n"), 0);
	assert_string_equal(c.anon_user, "ftp");
	assert_int_equal(parse(&c, &e, "anon_user = \"\"\n"), -1);
	assert_one_error(&e, F ":1: anon_user: value must be at least 1 byte");
	memset(line, 0, sizeof(line));
	memcpy(line, "anon_user = ", 12);
	memset(line + 12, 'u', 64);
	assert_int_equal(parse(&c, &e, line), 0);
	assert_int_equal(strlen(c.anon_user), 64);
	line[12 + 64] = 'u';
	assert_int_equal(parse(&c, &e, line), -1);
	snprintf(want, sizeof(want), "%s",
	    F ":1: anon_user: value is 65 "
	      "bytes, longer than 64");
	assert_one_error(&e, want);

	/* UTF-8 is fine, a tab inside a (quoted) value is not */
	assert_int_equal(parse(&c, &e, "banner = caf\xc3\xa9\n"), 0);
	assert_string_equal(c.banner, "caf\xc3\xa9");
	assert_int_equal(parse(&c, &e, "banner = \"a\tb\"\n"), -1);
	assert_one_error(&e, F ":1: banner: control character in value");
}

static void
test_path(void **state UNUSED)
{
	char line[KF_CONF_VALUE_MAX + 64];
	struct conf_errors e;
	struct conf c;

	assert_int_equal(parse(&c, &e, "users_file = /etc/keepftpd/users\n"),
	    0);
	assert_string_equal(c.users_file, "/etc/keepftpd/users");
	assert_int_equal(parse(&c, &e, "empty_dir =\n"), 0);
	assert_string_equal(c.empty_dir, "");
	assert_int_equal(parse(&c, &e, "anon_root = srv/ftp\n"), -1);
	assert_one_error(&e,
	    F ":1: anon_root: 'srv/ftp' is not an absolute "
	      "path");
	assert_int_equal(parse(&c, &e, "anon_root = ./x\n"), -1);

	/* exactly KF_CONF_VALUE_MAX bytes fits, one more does not */
	memset(line, 0, sizeof(line));
	memcpy(line, "anon_root = /", 13);
	memset(line + 13, 'p', KF_CONF_VALUE_MAX - 1);
	assert_int_equal(parse(&c, &e, line), 0);
	assert_int_equal(strlen(c.anon_root), KF_CONF_VALUE_MAX);
	line[13 + KF_CONF_VALUE_MAX - 1] = 'p';
	assert_int_equal(parse(&c, &e, line), -1);
	assert_one_error(&e,
	    F ":1: anon_root: value is longer than 1024 "
	      "bytes");
}

static void
test_quoted(void **state UNUSED)
{
	struct conf_errors e;
	struct conf c;

	assert_int_equal(parse(&c, &e, "banner = \"  Welcome  \"  \n"), 0);
	assert_string_equal(c.banner, "  Welcome  ");
	assert_int_equal(parse(&c, &e, "banner = \"say \\\"hi\\\" \\\\o/\"\n"),
	    0);
	assert_string_equal(c.banner, "say \"hi\" \\o/");
	assert_int_equal(parse(&c, &e, "banner = \"# not a comment\"\n"), 0);
	assert_string_equal(c.banner, "# not a comment");
	assert_int_equal(parse(&c, &e, "max_clients = \"12\"\n"), 0);
	assert_int_equal(c.max_clients, 12);
	/* without quotes, quotes and backslashes are literal */
	assert_int_equal(parse(&c, &e, "banner = a \"b\" \\n\n"), 0);
	assert_string_equal(c.banner, "a \"b\" \\n");

	assert_int_equal(parse(&c, &e, "banner = \"open\n"), -1);
	assert_one_error(&e, F ":1: banner: missing closing quote");
	assert_int_equal(parse(&c, &e, "banner = \"a\" b\n"), -1);
	assert_one_error(&e, F ":1: banner: text after the closing quote");
	assert_int_equal(parse(&c, &e, "banner = \"a\\nb\"\n"), -1);
	assert_one_error(&e,
	    F ":1: banner: unknown escape in quoted value "
	      "(only \\\" and \\\\)");
	assert_int_equal(parse(&c, &e, "banner = \"a\\\"\n"), -1);
	assert_one_error(&e, F ":1: banner: missing closing quote");
	assert_string_equal(c.banner, "keepftpd ready.");
}

static void
test_syntax_errors(void **state UNUSED)
{
	struct conf_errors e;
	struct conf c;

	assert_int_equal(parse(&c, &e, "# x\n\nmax_clients 5\n"), -1);
	assert_one_error(&e, F ":3: expected 'key = value'");
	assert_int_equal(parse(&c, &e, "= 5\n"), -1);
	assert_one_error(&e, F ":1: missing option name before '='");
	assert_int_equal(parse(&c, &e, "Max_Clients = 5\n"), -1);
	assert_one_error(&e, F ":1: unknown option 'Max_Clients'");
}

static void
test_unknown_key(void **state UNUSED)
{
	struct conf_errors e;
	struct conf c;

	assert_int_equal(
	    parse(&c, &e,
		"max_clients = 5\n# comment\nnosuch = 1\nbanner = x\n"),
	    -1);
	assert_one_error(&e, F ":3: unknown option 'nosuch'");
	/* a failed parse changes nothing */
	assert_int_equal(c.max_clients, 200);
	assert_string_equal(c.banner, "keepftpd ready.");
	/* odd bytes in the key are not echoed as they are */
	assert_int_equal(parse(&c, &e, "k\xff\xfe = 1\n"), -1);
	assert_one_error(&e,
	    F ":1: unknown option 'k?"
	      "?'");
}

static void
test_duplicate_key(void **state UNUSED)
{
	struct conf_errors e;
	struct conf c;

	assert_int_equal(
	    parse(&c, &e, "\nmax_clients = 5\nbanner = a\nmax_clients = 6\n"),
	    -1);
	assert_one_error(&e,
	    F ":4: duplicate option 'max_clients' "
	      "(first set on line 2)");
	assert_int_equal(c.max_clients, 200);
}

static void
test_listen_repeat(void **state UNUSED)
{
	struct conf_errors e;
	struct conf c;

	assert_int_equal(parse(&c, &e,
			     "listen = 0.0.0.0:21\n"
			     "banner = x\n"
			     "listen = [2001:db8::1]:2121\n"
			     "listen = 192.0.2.7:65535, [::]:1\n"),
	    0);
	assert_int_equal(c.listen_count, 4);
	assert_v4(&c.listen[0], "0.0.0.0", 21); /* default replaced */
	assert_v6(&c.listen[1], "2001:db8::1", 2121);
	assert_v4(&c.listen[2], "192.0.2.7", 65535);
	assert_v6(&c.listen[3], "::", 1);
}

/* "implicit" after an address: implicit FTPS on that listener only. */
static void
test_listen_implicit(void **state UNUSED)
{
	struct conf_errors e;
	struct conf c;

	assert_int_equal(parse(&c, &e,
			     "listen = 0.0.0.0:21, 0.0.0.0:990 implicit\n"
			     "listen = [::]:990 implicit\n"
			     "tls_cert = /etc/keepftpd/cert.pem\n"),
	    0);
	assert_int_equal(c.listen_count, 3);
	assert_int_equal(c.listen[0].implicit, 0);
	assert_v4(&c.listen[1], "0.0.0.0", 990);
	assert_int_equal(c.listen[1].implicit, 1);
	assert_int_equal(c.listen[2].implicit, 1);
	assert_int_equal(conf_check(&c, &e), 0);
	/* a word other than implicit is not an address either */
	assert_int_equal(parse(&c, &e, "listen = 0.0.0.0:990 explicit\n"), -1);
	/* implicit needs a certificate */
	assert_int_equal(parse(&c, &e, "listen = 0.0.0.0:990 implicit\n"), 0);
	memset(&e, 0, sizeof(e));
	assert_int_equal(conf_check(&c, &e), -1);
	assert_non_null(strstr(e.msg[0], "implicit but tls_cert is empty"));
}

/* "proxy" after an address: a PROXY header first, from proxy_from. */
static void
test_listen_proxy(void **state UNUSED)
{
	struct conf_errors e;
	struct conf c;

	assert_int_equal(parse(&c, &e,
			     "listen = 0.0.0.0:21 proxy, 0.0.0.0:2121\n"
			     "listen = [::]:21 proxy\n"
			     "proxy_from = 10.0.0.2, 2001:db8::/64\n"),
	    0);
	assert_int_equal(c.listen_count, 3);
	assert_int_equal(c.listen[0].proxy, 1);
	assert_int_equal(c.listen[0].implicit, 0);
	assert_int_equal(c.listen[1].proxy, 0);
	assert_int_equal(c.listen[2].proxy, 1);
	assert_int_equal(conf_check(&c, &e), 0);
	/* twice, or a list that is not one: refused */
	assert_int_equal(parse(&c, &e, "listen = 0.0.0.0:21 proxy proxy\n"),
	    -1);
	assert_int_equal(parse(&c, &e, "proxy_from = 10.0.0.300\n"), -1);
	/* proxy needs proxy_from; implicit and proxy: not together */
	assert_int_equal(parse(&c, &e, "listen = 0.0.0.0:21 proxy\n"), 0);
	memset(&e, 0, sizeof(e));
	assert_int_equal(conf_check(&c, &e), -1);
	assert_non_null(strstr(e.msg[0], "proxy but proxy_from is empty"));
	assert_int_equal(parse(&c, &e,
			     "listen = 0.0.0.0:990 proxy implicit\n"
			     "proxy_from = 10.0.0.2\n"
			     "tls_cert = /etc/keepftpd/cert.pem\n"),
	    0);
	assert_int_equal(c.listen[0].implicit, 1);
	assert_int_equal(c.listen[0].proxy, 1);
	memset(&e, 0, sizeof(e));
	assert_int_equal(conf_check(&c, &e), -1);
	assert_non_null(strstr(e.msg[0], "both proxy and implicit"));
}

/* TLS options: tls_min's words, policy without a certificate. */
static void
test_tls_options(void **state UNUSED)
{
	struct conf_errors e;
	struct conf c;

	assert_int_equal(parse(&c, &e, "tls_min = 1.3\n"), 0);
	assert_string_equal(c.tls_min, "1.3");
	assert_int_equal(c.tls_data_reuse_required, 1);
	assert_int_equal(c.tls_accept_truncated, 0);
	assert_int_equal(parse(&c, &e, "tls_min = 1.0\n"), -1);
	assert_int_equal(parse(&c, &e, "tls_required_users = yes\n"), 0);
	memset(&e, 0, sizeof(e));
	assert_int_equal(conf_check(&c, &e), -1);
	assert_int_equal(parse(&c, &e, "tls_key = /k.pem\n"), 0);
	memset(&e, 0, sizeof(e));
	assert_int_equal(conf_check(&c, &e), -1);
}

/* tls_required_users = auto (the default): yes exactly when tls_cert is set. */
static void
test_tls_required_users_auto(void **state UNUSED)
{
	struct conf_errors e;
	struct conf c;

	conf_defaults(&c);
	assert_int_equal(c.tls_required_users, CONF_AUTO);
	memset(&e, 0, sizeof(e));
	assert_int_equal(conf_check(&c, &e), 0);
	assert_int_equal(c.tls_required_users, 0);
	assert_int_equal(parse(&c, &e, "tls_cert = /c.pem\n"), 0);
	assert_int_equal(conf_check(&c, &e), 0);
	assert_int_equal(c.tls_required_users, 1);
	assert_int_equal(parse(&c, &e,
			     "tls_cert = /c.pem\n"
			     "tls_required_users = no\n"),
	    0);
	assert_int_equal(conf_check(&c, &e), 0);
	assert_int_equal(c.tls_required_users, 0);
	assert_int_equal(parse(&c, &e, "tls_required_users = AUTO\n"), 0);
	assert_int_equal(c.tls_required_users, CONF_AUTO);
	assert_int_equal(parse(&c, &e, "tls_required_users = maybe\n"), -1);
	assert_one_error(&e,
	    F ":1: tls_required_users: 'maybe' is not a "
	      "boolean or auto (use yes/no, true/false, on/off, 1/0 or auto)");
}

static void
test_listen_max(void **state UNUSED)
{
	char text[512];
	struct conf_errors e;
	struct conf c;
	size_t i, k = 0;

	for (i = 0; i < KF_LISTEN_MAX; i++)
		k += (size_t)snprintf(text + k, sizeof(text) - k,
		    "listen = 10.0.0.%zu:21\n", i + 1);
	assert_int_equal(parse(&c, &e, text), 0);
	assert_int_equal(c.listen_count, KF_LISTEN_MAX);
	assert_v4(&c.listen[KF_LISTEN_MAX - 1], "10.0.0.8", 21);
	snprintf(text + k, sizeof(text) - k, "listen = 10.0.0.99:21\n");
	assert_int_equal(parse(&c, &e, text), -1);
	assert_one_error(&e, F ":9: listen: more than 8 addresses");
	assert_int_equal(c.listen_count, 1);
}

static void
test_listen_bad(void **state UNUSED)
{
	static const char *const bad[] = {
		"garbage",
		"1.2.3.4",
		"1.2.3.4:",
		"1.2.3.4:x",
		"1.2.3.4:021",
		"1.2.3.4:+21",
		"1.2.3.4:21 x",
		"1.2.3.256:21",
		"01.2.3.4:21",
		"::1:21",
		"[::1:21",
		"[::1]21",
		"[::1]:",
		"::1]:21",
		"[1.2.3.4]:21",
		"[fe80::1%eth0]:21",
		"[]:21",
		":21",
		"host.example:21",
		"1.2.3.4:21:22",
		"[::1]:21]",
	};
	struct conf_listen l;
	struct conf_errors e;
	struct conf c;
	char line[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(conf_parse_listen(bad[i], &l), -EINVAL);
		snprintf(line, sizeof(line), "listen = %s\n", bad[i]);
		assert_int_equal(parse(&c, &e, line), -1);
		assert_int_equal(e.count, 1);
	}
	assert_int_equal(parse(&c, &e, "listen = garbage\n"), -1);
	assert_one_error(&e,
	    F ":1: listen: 'garbage' is not a.b.c.d:port or "
	      "[v6addr]:port");
	assert_int_equal(conf_parse_listen("1.2.3.4:0", &l), -ERANGE);
	assert_int_equal(conf_parse_listen("1.2.3.4:65536", &l), -ERANGE);
	assert_int_equal(conf_parse_listen("[::1]:0", &l), -ERANGE);
	assert_int_equal(conf_parse_listen("[::1]:99999999999", &l), -ERANGE);
	assert_int_equal(parse(&c, &e, "listen = 1.2.3.4:0\n"), -1);
	assert_one_error(&e,
	    F ":1: listen: '1.2.3.4:0': port out of range "
	      "(1..65535)");
	assert_int_equal(parse(&c, &e, "listen = [::1]:65536\n"), -1);
	assert_one_error(&e,
	    F ":1: listen: '[::1]:65536': port out of range "
	      "(1..65535)");
	assert_int_equal(parse(&c, &e, "listen =\n"), -1);
	assert_one_error(&e, F ":1: listen: empty address in list");
	assert_int_equal(parse(&c, &e, "listen = 1.2.3.4:21,\n"), -1);
	assert_one_error(&e, F ":1: listen: empty address in list");
	assert_int_equal(parse(&c, &e, "listen = 1.2.3.4:21 [::1]:21\n"), -1);
	assert_one_error(&e, F ":1: listen: expected ',' between addresses");
	assert_int_equal(c.listen_count, 1);
	assert_v4(&c.listen[0], "127.0.0.1", 2121);
}

static void
test_parse_listen_direct(void **state UNUSED)
{
	struct conf_listen l;
	char big[300];

	assert_int_equal(conf_parse_listen("127.0.0.1:1", &l), 0);
	assert_v4(&l, "127.0.0.1", 1);
	assert_int_equal(conf_parse_listen("[::ffff:192.0.2.1]:65535", &l), 0);
	assert_v6(&l, "::ffff:192.0.2.1", 65535);
	assert_int_equal(conf_parse_listen("", &l), -EINVAL);
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(conf_parse_listen(big, &l), -EINVAL);
	memcpy(big, "[", 1);
	assert_int_equal(conf_parse_listen(big, &l), -EINVAL);
}

static void
test_nul_and_control(void **state UNUSED)
{
	static const char text[] = "banner = a\nmax_clients = 5\0 6\n";
	struct conf_errors e = { 0 };
	struct conf c;

	conf_defaults(&c);
	assert_int_equal(conf_parse(&c, F, text, sizeof(text) - 1, &e), -1);
	assert_one_error(&e, F ":2: NUL byte in line");
	assert_string_equal(c.banner, "keepftpd ready.");
	assert_int_equal(c.max_clients, 200);

	memset(&e, 0, sizeof(e));
	assert_int_equal(conf_parse(&c, F, "# \0\n", 4, &e), -1);
	assert_one_error(&e, F ":1: NUL byte in line");

	assert_int_equal(parse(&c, &e, "banner = a\x01z\n"), -1);
	assert_one_error(&e, F ":1: control character in line");
	assert_int_equal(parse(&c, &e, "banner = a\x7fz\n"), -1);
	assert_one_error(&e, F ":1: control character in line");
	assert_int_equal(parse(&c, &e, "banner = \x1b[2J\n"), -1);
	assert_one_error(&e, F ":1: control character in line");
}

static void
test_long_line(void **state UNUSED)
{
	size_t max = KF_CONF_VALUE_MAX + 128;
	struct conf_errors e;
	struct conf c;
	char *text = malloc(max + 64);
	char want[64];

	if (text == NULL) {
		fail_msg("out of memory");
		return;
	}
	/* a comment of exactly the longest line is fine */
	memset(text, ' ', max);
	text[0] = '#';
	memcpy(text + max, "\nmax_clients = 3\n", 18);
	assert_int_equal(parse(&c, &e, text), 0);
	assert_int_equal(c.max_clients, 3);
	/* one byte more is not, even for a comment */
	memset(text, ' ', max + 1);
	text[0] = '#';
	memcpy(text + max + 1, "\nmax_clients = 3\n", 18);
	assert_int_equal(parse(&c, &e, text), -1);
	snprintf(want, sizeof(want), F ":1: line is longer than %zu bytes",
	    max);
	assert_one_error(&e, want);
	free(text);
}

static void
test_error_cap(void **state UNUSED)
{
	struct conf_errors e;
	struct conf c;
	char text[1024];
	size_t i, k = 0;

	for (i = 0; i < 20; i++)
		k += (size_t)snprintf(text + k, sizeof(text) - k,
		    "bad%zu = 1\n", i + 1);
	assert_int_equal(parse(&c, &e, text), -1);
	assert_int_equal(e.count, 20);
	assert_string_equal(e.msg[0], F ":1: unknown option 'bad1'");
	assert_string_equal(e.msg[15], F ":16: unknown option 'bad16'");
}

static void
test_errors_accumulate(void **state UNUSED)
{
	struct conf_errors e = { 0 };
	struct conf c;

	conf_defaults(&c);
	assert_int_equal(conf_parse(&c, "a", "x = 1\n", 6, &e), -1);
	assert_int_equal(conf_set(&c, "y", "1", "-o", &e), -1);
	assert_int_equal(e.count, 2);
	assert_string_equal(e.msg[0], "a:1: unknown option 'x'");
	assert_string_equal(e.msg[1], "-o: unknown option 'y'");
	/* NULL errs: still refused */
	assert_int_equal(conf_set(&c, "y", "1", "-o", NULL), -1);
	assert_int_equal(conf_parse(&c, "a", "x = 1\n", 6, NULL), -1);
}

static void
test_conf_set(void **state UNUSED)
{
	struct conf_errors e = { 0 };
	struct conf c;

	conf_defaults(&c);
	assert_int_equal(conf_set(&c, "max_clients", "5", "command line", &e),
	    0);
	assert_int_equal(c.max_clients, 5);
	assert_int_equal(conf_set(&c, "banner", "  spaced ", NULL, &e), 0);
	assert_string_equal(c.banner, "  spaced ");
	assert_int_equal(conf_set(&c, "anonymous_enable", "on", NULL, &e), 0);
	assert_int_equal(c.anonymous_enable, 1);
	assert_int_equal(conf_set(&c, "umask", "007", NULL, &e), 0);
	assert_int_equal(c.umask, 07);
	assert_int_equal(conf_set(&c, "listen", "10.1.1.1:21,[::1]:2121", NULL,
			     &e),
	    0);
	assert_int_equal(c.listen_count, 2);
	assert_v4(&c.listen[0], "10.1.1.1", 21);
	assert_v6(&c.listen[1], "::1", 2121);
	assert_int_equal(conf_set(&c, "listen", "10.2.2.2:990", NULL, &e), 0);
	assert_int_equal(c.listen_count, 1);
	assert_v4(&c.listen[0], "10.2.2.2", 990);
	assert_int_equal(e.count, 0);

	assert_int_equal(conf_set(&c, "nosuch", "1", "command line", &e), -1);
	assert_one_error(&e, "command line: unknown option 'nosuch'");
	memset(&e, 0, sizeof(e));
	assert_int_equal(conf_set(&c, "max_clients", "0", "command line", &e),
	    -1);
	assert_one_error(&e,
	    "command line: max_clients: 0 is out of range "
	    "(1..100000)");
	assert_int_equal(c.max_clients, 5);
	memset(&e, 0, sizeof(e));
	assert_int_equal(conf_set(&c, "listen", "10.3.3.3:21,bad", NULL, &e),
	    -1);
	assert_one_error(&e,
	    "command line: listen: 'bad' is not "
	    "a.b.c.d:port or [v6addr]:port");
	assert_int_equal(c.listen_count, 1);
	assert_v4(&c.listen[0], "10.2.2.2", 990);
	memset(&e, 0, sizeof(e));
	assert_int_equal(conf_set(&c, "banner", "a\nb", NULL, &e), -1);
	assert_one_error(&e,
	    "command line: banner: control character in "
	    "value");
}

static void
test_conf_set_long(void **state UNUSED)
{
	char v[KF_CONF_VALUE_MAX + 2];
	struct conf_errors e = { 0 };
	struct conf c;

	conf_defaults(&c);
	v[0] = '/';
	memset(v + 1, 'a', sizeof(v) - 2);
	v[sizeof(v) - 1] = '\0';
	assert_int_equal(conf_set(&c, "anon_root", v, NULL, &e), -1);
	assert_one_error(&e,
	    "command line: anon_root: value is longer than "
	    "1024 bytes");
	v[sizeof(v) - 2] = '\0';
	assert_int_equal(conf_set(&c, "anon_root", v, NULL, &e), 0);
	assert_int_equal(strlen(c.anon_root), KF_CONF_VALUE_MAX);
}

static void
test_check_cross(void **state UNUSED)
{
	struct conf_errors e = { 0 };
	struct conf c;

	conf_defaults(&c);
	c.pasv_min_port = 50000;
	c.pasv_max_port = 49999;
	assert_int_equal(conf_check(&c, &e), -1);
	assert_one_error(&e,
	    "config: pasv_min_port (50000) is above "
	    "pasv_max_port (49999)");
	c.pasv_max_port = 50000;
	memset(&e, 0, sizeof(e));
	assert_int_equal(conf_check(&c, &e), 0);

	c.anonymous_enable = 1;
	assert_int_equal(conf_check(&c, &e), -1);
	assert_one_error(&e,
	    "config: anonymous_enable is set but anon_root "
	    "is empty");
	memcpy(c.anon_root, "/srv/ftp", 9);
	memset(&e, 0, sizeof(e));
	assert_int_equal(conf_check(&c, &e), 0);
}

static void
test_check_values(void **state UNUSED)
{
	static const char *const good_addr[] = { "", "203.0.113.9", "0.0.0.0" };
	static const char *const bad_addr[] = { "1.2.3", "::1", "203.0.113.256",
		"1.2.3.4 ", "-x.example", "a_b", "a b", ".x" };
	struct conf_errors e = { 0 };
	struct conf c;
	size_t i;

	conf_defaults(&c);
	for (i = 0; i < sizeof(good_addr) / sizeof(good_addr[0]); i++) {
		assert_int_equal(conf_set(&c, "pasv_address", good_addr[i],
				     NULL, &e),
		    0);
		assert_int_equal(conf_check(&c, &e), 0);
	}
	/* refused where it is set, so that errors name the line */
	for (i = 0; i < sizeof(bad_addr) / sizeof(bad_addr[0]); i++) {
		memset(&e, 0, sizeof(e));
		assert_int_equal(conf_set(&c, "pasv_address", bad_addr[i], NULL,
				     &e),
		    -1);
		assert_int_equal(e.count, 1);
	}
	assert_string_equal(e.msg[0],
	    "command line: pasv_address: '.x' is neither an IPv4 address "
	    "nor a host name");
	memset(&e, 0, sizeof(e));
	assert_int_equal(conf_set(&c, "pasv_address", "::1", NULL, &e), -1);
	assert_string_equal(e.msg[0],
	    "command line: pasv_address: '::1' is an IPv6 address; PASV can "
	    "announce only IPv4 (RFC 2428) and EPSV announces no address");
	memset(&e, 0, sizeof(e));
	assert_int_equal(conf_set(&c, "pasv_address", "1.2.3", NULL, &e), -1);
	assert_string_equal(e.msg[0],
	    "command line: pasv_address: '1.2.3' is neither an IPv4 address "
	    "nor a host name");
	c.pasv_address[0] = '\0';

	memset(&e, 0, sizeof(e));
	assert_int_equal(conf_set(&c, "log", "syslog", NULL, &e), 0);
	assert_int_equal(conf_set(&c, "log_level", "debug", NULL, &e), 0);
	assert_int_equal(conf_check(&c, &e), 0);
	/* the word is checked where it is set, so errors name the line */
	assert_int_equal(conf_set(&c, "log", "file", "f.conf:3", &e), -1);
	assert_int_equal(conf_set(&c, "log_level", "verbose", NULL, &e), -1);
	assert_int_equal(conf_set(&c, "log_level", "info ", NULL, &e), -1);
	assert_int_equal(e.count, 3);
	assert_string_equal(e.msg[0],
	    "f.conf:3: log: 'file' is not stderr "
	    "or syslog");
	assert_string_equal(e.msg[1],
	    "command line: log_level: 'verbose' is "
	    "not error, warning, info or debug");
	assert_string_equal(c.log, "syslog");
	assert_string_equal(c.log_level, "debug");
	assert_int_equal(conf_check(&c, &e), 0);
}

static void
test_address_lists(void **state UNUSED)
{
	static const char *const good[] = { "", "127.0.0.1", "10.0.0.0/8",
		"::1, 192.168.0.0/16 ,fe80::/10", "0.0.0.0/0", "::/0" };
	static const char *const bad[] = { "127.0.0.1/33", "::1/129", "host",
		"1.2.3.4/", "1.2.3.4/08x", ",", "1.2.3.4,,5.6.7.8", "1.2.3" };
	struct conf_errors e = { 0 };
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct sockaddr_storage ss;
	struct conf c;
	size_t i;

	conf_defaults(&c);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(conf_set(&c, "allow_from", good[i], NULL, &e),
		    0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(conf_set(&c, "deny_from", bad[i], NULL, &e),
		    -1);
	inet_pton(AF_INET, "10.1.2.3", &a.sin_addr);
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, &a, sizeof(a));
	assert_int_equal(addr_list_match("10.0.0.0/8", &ss), 1);
	assert_int_equal(addr_list_match("10.1.2.2/31", &ss), 1);
	assert_int_equal(addr_list_match("10.1.2.4/31", &ss), 0);
	assert_int_equal(addr_list_match("::/0", &ss), 0); /* v4 is not v6 */
	assert_int_equal(addr_list_match("11.0.0.0/8, 10.1.2.3", &ss), 1);
	assert_int_equal(addr_list_match("bogus", &ss), -EINVAL);
}

static void
test_check_listen(void **state UNUSED)
{
	struct conf_errors e = { 0 };
	struct conf c;

	conf_defaults(&c);
	c.listen_count = 0;
	assert_int_equal(conf_check(&c, &e), -1);
	assert_one_error(&e, "config: no listen address");

	memset(&e, 0, sizeof(e));
	assert_int_equal(conf_set(&c, "listen",
			     "[::1]:21, 1.2.3.4:21, "
			     "[::1]:21",
			     NULL, &e),
	    0);
	assert_int_equal(conf_check(&c, &e), -1);
	assert_one_error(&e, "config: listen address 3 repeats address 1");

	memset(&e, 0, sizeof(e));
	assert_int_equal(conf_set(&c, "listen", "[::1]:21,[::1]:22", NULL, &e),
	    0);
	assert_int_equal(conf_check(&c, &e), 0);
}

static void
test_load(void **state UNUSED)
{
	static const char text[] = "max_clients = 9\nbanner = \"from file\"\n";
	struct conf_errors e = { 0 };
	struct conf c;
	char path[32];

	write_file(path, text, sizeof(text) - 1);
	conf_defaults(&c);
	assert_int_equal(conf_load(&c, path, &e), 0);
	assert_int_equal(e.count, 0);
	assert_int_equal(c.max_clients, 9);
	assert_string_equal(c.banner, "from file");
	unlink(path);

	write_file(path, "\nnope = 1\n", 10);
	assert_int_equal(conf_load(&c, path, &e), -1);
	assert_int_equal(e.count, 1);
	assert_true(strncmp(e.msg[0], path, strlen(path)) == 0);
	assert_string_equal(e.msg[0] + strlen(path),
	    ":2: unknown option 'nope'");
	unlink(path);
}

static void
test_load_missing(void **state UNUSED)
{
	struct conf_errors e = { 0 };
	struct conf c;

	conf_defaults(&c);
	assert_int_equal(conf_load(&c, "/nonexistent/keepftpd.conf", &e), -1);
	assert_one_error(&e,
	    "/nonexistent/keepftpd.conf: cannot read: "
	    "No such file or directory");
	assert_int_equal(c.max_clients, 200);
	memset(&e, 0, sizeof(e));
	assert_int_equal(conf_load(&c, "/tmp", &e), -1);
	assert_one_error(&e, "/tmp: cannot read: Is a directory");
}

static void
test_load_sizes(void **state UNUSED)
{
	size_t line = 64, n = KF_CONF_FILE_MAX, i;
	struct conf_errors e = { 0 };
	char path[32], want[96];
	struct conf c;
	char *big = malloc(n + 1);

	/* comment lines up to exactly KF_CONF_FILE_MAX bytes: accepted */
	assert_non_null(big);
	memset(big, ' ', n + 1);
	for (i = 0; i + line <= n + 1; i += line) {
		big[i] = '#';
		big[i + line - 1] = '\n';
	}
	write_file(path, big, n);
	conf_defaults(&c);
	assert_int_equal(conf_load(&c, path, &e), 0);
	unlink(path);

	/* one byte more: refused */
	write_file(path, big, n + 1);
	assert_int_equal(conf_load(&c, path, &e), -1);
	snprintf(want, sizeof(want), "%s: file is larger than %d bytes", path,
	    KF_CONF_FILE_MAX);
	assert_one_error(&e, want);
	unlink(path);
	free(big);
}

static void
test_example_file(void **state UNUSED)
{
	struct conf_errors e = { 0 };
	char path[4096];
	struct conf c;
	size_t i;

	repo_path(path, sizeof(path), "keepftpd.conf.example");
	conf_defaults(&c);
	if (access(path, R_OK) != 0)
		skip();
	assert_int_equal(conf_load(&c, path, &e), 0);
	assert_int_equal(conf_check(&c, &e), 0);
	for (i = 0; i < e.count && i < 16; i++)
		print_error("%s\n", e.msg[i]);
	assert_int_equal(e.count, 0);
}

/* Parses text formatted from fmt (to name a temporary file). */
static int parse_with(struct conf *, struct conf_errors *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static int
parse_with(struct conf *c, struct conf_errors *e, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	return parse(c, e, text);
}

/* The error for a banner file, as "t.conf:LINE: OPT: 'PATH'REST". */
static void
assert_file_error(const struct conf_errors *e, int line, const char *opt,
    const char *path, const char *rest)
{
	char want[256];

	snprintf(want, sizeof(want), F ":%d: %s: '%s'%s", line, opt, path,
	    rest);
	assert_one_error(e, want);
}

static void
test_new_defaults(void **state UNUSED)
{
	struct conf c;

	conf_defaults(&c);
	assert_string_equal(c.banner_file, "");
	assert_string_equal(c.banner_file_text, "");
	assert_int_equal(c.message_enable, 0);
	assert_int_equal(c.list_recursive, 0);
	assert_int_equal(c.hash_max_mib, 4096);
	assert_string_equal(c.hide_patterns, "");
	assert_string_equal(c.deny_patterns, "");
	assert_int_equal(c.vhost_count, 0);
	assert_string_equal(conf_greeting(&c), "keepftpd ready.");
}

static void
test_banner_file(void **state UNUSED)
{
	static const char text[] = "Welcome\r\n\tto \xc3\xa9t\xc3\xa9\r\n\n"
				   "last\n\n";
	struct conf_errors e;
	struct conf c;
	char path[32];

	write_file(path, text, sizeof(text) - 1);
	assert_int_equal(parse_with(&c, &e, "banner = one\nbanner_file = %s\n",
			     path),
	    0);
	assert_string_equal(c.banner_file, path);
	/* CRLF becomes LF, the final newlines go, inner empty lines stay */
	assert_string_equal(c.banner_file_text,
	    "Welcome\n\tto \xc3\xa9t\xc3\xa9\n\nlast");
	assert_string_equal(conf_greeting(&c), c.banner_file_text);
	assert_string_equal(c.banner, "one");
	unlink(path);

	/* the file is read at load time: gone afterwards, the text stays */
	assert_int_equal(parse_with(&c, &e, "\nbanner_file = %s\n", path), -1);
	assert_file_error(&e, 2, "banner_file", path,
	    ": cannot read: No such file or directory");
	assert_int_equal(parse(&c, &e, "banner_file = banner.txt\n"), -1);
	assert_one_error(&e,
	    F ":1: banner_file: 'banner.txt' is not an "
	      "absolute path");
	assert_int_equal(parse(&c, &e, "banner_file = /tmp\n"), -1);
	assert_one_error(&e,
	    F ":1: banner_file: '/tmp' is not a regular "
	      "file");
	assert_int_equal(parse(&c, &e, "banner_file =\n"), 0);
	assert_string_equal(c.banner_file_text, "");
}

static void
test_banner_file_bad(void **state UNUSED)
{
	static char big[CONF_TEXT_MAX + 2];
	struct conf_errors e;
	struct conf c;
	char path[32], lines[128];
	size_t i;

	write_file(path, "ok\nbad \x1b[31m\n", 13);
	assert_int_equal(parse_with(&c, &e, "# x\n\nbanner_file = %s\n", path),
	    -1);
	assert_file_error(&e, 3, "banner_file", path,
	    ": control character on line 2");
	unlink(path);

	write_file(path, "lone\rCR\n", 8);
	assert_int_equal(parse_with(&c, &e, "banner_file = %s\n", path), -1);
	assert_file_error(&e, 1, "banner_file", path,
	    ": control character on line 1");
	unlink(path);

	write_file(path, "a\0b\n", 4);
	assert_int_equal(parse_with(&c, &e, "banner_file = %s\n", path), -1);
	assert_file_error(&e, 1, "banner_file", path,
	    ": control character on line 1");
	unlink(path);

	write_file(path, "\n\r\n", 3);
	assert_int_equal(parse_with(&c, &e, "banner_file = %s\n", path), -1);
	assert_file_error(&e, 1, "banner_file", path, " is empty");
	unlink(path);

	/* 20 lines fit, 21 do not */
	for (i = 0; i < 20; i++)
		memcpy(lines + i * 2, "x\n", 2);
	write_file(path, lines, 40);
	assert_int_equal(parse_with(&c, &e, "banner_file = %s\n", path), 0);
	unlink(path);
	write_file(path,
	    "x\nx\nx\nx\nx\nx\nx\nx\nx\nx\nx\nx\nx\nx\nx\nx\nx\n"
	    "x\nx\nx\nx",
	    41);
	assert_int_equal(parse_with(&c, &e, "banner_file = %s\n", path), -1);
	assert_file_error(&e, 1, "banner_file", path,
	    " has more than 20 lines");
	unlink(path);

	/* 4096 bytes fit, 4097 do not */
	memset(big, 'b', sizeof(big));
	write_file(path, big, CONF_TEXT_MAX);
	assert_int_equal(parse_with(&c, &e, "banner_file = %s\n", path), 0);
	assert_int_equal(strlen(c.banner_file_text), CONF_TEXT_MAX);
	unlink(path);
	write_file(path, big, CONF_TEXT_MAX + 1);
	assert_int_equal(parse_with(&c, &e, "banner_file = %s\n", path), -1);
	assert_file_error(&e, 1, "banner_file", path,
	    " is larger than 4096 bytes");
	unlink(path);
}

static void
test_hash_and_bools(void **state UNUSED)
{
	struct conf_errors e;
	struct conf c;

	assert_int_equal(parse(&c, &e,
			     "hash_max_mib = 0\nmessage_enable = yes\n"
			     "list_recursive = on\n"),
	    0);
	assert_int_equal(c.hash_max_mib, 0);
	assert_int_equal(c.message_enable, 1);
	assert_int_equal(c.list_recursive, 1);
	assert_int_equal(parse(&c, &e, "hash_max_mib = 1048576\n"), 0);
	assert_int_equal(c.hash_max_mib, 1048576);
	assert_int_equal(parse(&c, &e, "hash_max_mib = 1048577\n"), -1);
	assert_one_error(&e,
	    F ":1: hash_max_mib: 1048577 is out of range "
	      "(0..1048576)");
	assert_int_equal(parse(&c, &e, "list_recursive = maybe\n"), -1);
	assert_one_error(&e,
	    F ":1: list_recursive: 'maybe' is not a boolean "
	      "(use yes/no, true/false, on/off or 1/0)");
	assert_int_equal(parse(&c, &e, "utf8 = yes\n"), -1);
	assert_one_error(&e, F ":1: unknown option 'utf8'");
}

static void
test_patterns(void **state UNUSED)
{
	char line[1200];
	struct conf_errors e;
	struct conf c;
	size_t i, k;

	assert_int_equal(
	    parse(&c, &e,
		"hide_patterns = *.tmp , .git,"
		"[!a-c]?x , my file*, []x]\ndeny_patterns = \"  .htpasswd  \"\n"),
	    0);
	assert_string_equal(c.hide_patterns,
	    "*.tmp,.git,[!a-c]?x,my file*,"
	    "[]x]");
	assert_string_equal(c.deny_patterns, ".htpasswd");
	assert_int_equal(parse(&c, &e, "hide_patterns = \"  \"\n"), 0);
	assert_string_equal(c.hide_patterns, "");

	assert_int_equal(parse(&c, &e, "hide_patterns = a,,b\n"), -1);
	assert_one_error(&e, F ":1: hide_patterns: pattern 2 is empty");
	assert_int_equal(parse(&c, &e, "hide_patterns = a, \n"), -1);
	assert_one_error(&e, F ":1: hide_patterns: pattern 2 is empty");
	assert_int_equal(parse(&c, &e, "deny_patterns = a,\n"), -1);
	assert_one_error(&e, F ":1: deny_patterns: pattern 2 is empty");
	assert_int_equal(parse(&c, &e, "deny_patterns = ,a\n"), -1);
	assert_one_error(&e, F ":1: deny_patterns: pattern 1 is empty");
	assert_int_equal(parse(&c, &e, "\ndeny_patterns = x, sub/*.c\n"), -1);
	assert_one_error(&e,
	    F ":2: deny_patterns: pattern 'sub/*.c' holds "
	      "'/' (patterns match one name)");
	assert_int_equal(parse(&c, &e, "hide_patterns = a[bc\n"), -1);
	assert_one_error(&e,
	    F ":1: hide_patterns: pattern 'a[bc': '[' "
	      "without ']'");
	assert_int_equal(parse(&c, &e, "hide_patterns = x[]\n"), -1);
	assert_one_error(&e,
	    F ":1: hide_patterns: pattern 'x[]': '[' "
	      "without ']'");
	assert_int_equal(parse(&c, &e, "hide_patterns = \"a\tb\"\n"), -1);
	assert_one_error(&e,
	    F ":1: hide_patterns: control character in "
	      "value");

	/* 32 patterns fit, 33 do not */
	k = (size_t)snprintf(line, sizeof(line), "hide_patterns = p0");
	for (i = 1; i < 32; i++)
		k += (size_t)snprintf(line + k, sizeof(line) - k, ",p%zu", i);
	memcpy(line + k, "\n", 2);
	assert_int_equal(parse(&c, &e, line), 0);
	memcpy(line + k, ",p32\n", 6);
	assert_int_equal(parse(&c, &e, line), -1);
	assert_one_error(&e, F ":1: hide_patterns: more than 32 patterns");

	/* a value over 1024 bytes */
	memcpy(line, "hide_patterns = ", 16);
	memset(line + 16, 'a', 1025);
	memcpy(line + 16 + 1025, "\n", 2);
	assert_int_equal(parse(&c, &e, line), -1);
	assert_one_error(&e,
	    F ":1: hide_patterns: value is longer than 1024 "
	      "bytes");
	/* one pattern over 255 bytes */
	line[16 + 256] = '\n';
	line[16 + 257] = '\0';
	assert_int_equal(parse(&c, &e, line), -1);
	assert_one_error(&e,
	    F ":1: hide_patterns: pattern 1 is longer than "
	      "255 bytes");
}

static void
test_host_norm(void **state UNUSED)
{
	char out[CONF_HOST_MAX + 1], big[CONF_HOST_MAX + 2];

	assert_int_equal(conf_host_norm("FTP.Example.COM", 15, out), 0);
	assert_string_equal(out, "ftp.example.com");
	assert_int_equal(conf_host_norm("[2001:DB8::1]", 13, out), 0);
	assert_string_equal(out, "[2001:db8::1]");
	assert_int_equal(conf_host_norm("192.0.2.1", 9, out), 0);
	assert_int_equal(conf_host_norm("", 0, out), -EINVAL);
	assert_int_equal(conf_host_norm("a b", 3, out), -EINVAL);
	assert_int_equal(conf_host_norm("a_b", 3, out), -EINVAL);
	assert_int_equal(conf_host_norm("a/b", 3, out), -EINVAL);
	assert_int_equal(conf_host_norm("a\0b", 3, out), -EINVAL);
	assert_int_equal(conf_host_norm("caf\xc3\xa9", 5, out), -EINVAL);
	memset(big, 'h', sizeof(big));
	assert_int_equal(conf_host_norm(big, CONF_HOST_MAX, out), 0);
	assert_int_equal(strlen(out), CONF_HOST_MAX);
	assert_int_equal(conf_host_norm(big, CONF_HOST_MAX + 1, out), -EINVAL);
}

static void
test_vhost(void **state UNUSED)
{
	const struct conf_vhost *v;
	struct conf_errors e;
	struct conf c;
	char path[32], text[256];

	write_file(path, "Hello from B\nsecond line\n", 25);
	snprintf(text, sizeof(text),
	    "vhost = A.Example.com /srv/a\n"
	    "banner = x\n"
	    "vhost = \tb.example.com   /srv/b  %s \n"
	    "vhost = [::1] /srv/v6\n",
	    path);
	assert_int_equal(parse(&c, &e, text), 0);
	assert_int_equal(c.vhost_count, 3);
	assert_string_equal(c.vhost[0].name, "a.example.com");
	assert_string_equal(c.vhost[0].anon_root, "/srv/a");
	assert_string_equal(c.vhost[0].banner_text, "");
	assert_string_equal(c.vhost[1].name, "b.example.com");
	assert_string_equal(c.vhost[1].anon_root, "/srv/b");
	assert_string_equal(c.vhost[1].banner_text,
	    "Hello from B\nsecond line");
	assert_string_equal(c.vhost[2].name, "[::1]");
	assert_non_null(v = conf_vhost_find(&c, "b.example.com"));
	assert_ptr_equal(v, &c.vhost[1]);
	assert_null(
	    conf_vhost_find(&c, "B.example.com")); /* normalized first */
	assert_null(conf_vhost_find(&c, "c.example.com"));
	unlink(path);
	/* the banner file is read at load time */
	assert_int_equal(parse(&c, &e, text), -1);
	assert_file_error(&e, 3, "vhost", path,
	    ": cannot read: No such file or directory");
}

static void
test_vhost_bad(void **state UNUSED)
{
	struct conf_errors e;
	struct conf c;
	char text[64 * 20], name[300];
	size_t i, k = 0;

	assert_int_equal(parse(&c, &e,
			     "vhost = a.example /srv/a\n"
			     "vhost = A.EXAMPLE /srv/b\n"),
	    -1);
	assert_one_error(&e,
	    F ":2: vhost: virtual host 'a.example' is given "
	      "twice");
	assert_int_equal(parse(&c, &e, "vhost = a.example\n"), -1);
	assert_one_error(&e,
	    F ":1: vhost: expected NAME ANON_ROOT "
	      "[BANNER_FILE]");
	assert_int_equal(parse(&c, &e, "vhost = a /r /b c\n"), -1);
	assert_one_error(&e,
	    F ":1: vhost: expected NAME ANON_ROOT "
	      "[BANNER_FILE]");
	assert_int_equal(parse(&c, &e, "vhost = a_b /r\n"), -1);
	assert_one_error(&e,
	    F ":1: vhost: 'a_b' is not a host name (letters, "
	      "digits, '.-:[]', at most 255 bytes)");
	assert_int_equal(parse(&c, &e, "vhost = a srv\n"), -1);
	assert_one_error(&e, F ":1: vhost: 'srv' is not an absolute path");
	assert_int_equal(parse(&c, &e, "vhost = a /srv banner\n"), -1);
	assert_one_error(&e, F ":1: vhost: 'banner' is not an absolute path");
	assert_int_equal(parse(&c, &e, "banner = b\nvhost = \"a\t/srv\"\n"),
	    -1);
	assert_one_error(&e, F ":2: vhost: control character in value");
	/* a first empty line means none; a later one is an error */
	assert_int_equal(parse(&c, &e, "vhost =\n"), 0);
	assert_int_equal(c.vhost_count, 0);
	assert_int_equal(parse(&c, &e, "vhost = a /a\nvhost =\n"), -1);
	assert_one_error(&e,
	    F ":2: vhost: expected NAME ANON_ROOT "
	      "[BANNER_FILE]");

	/* a 256-byte name */
	memset(name, 'n', 256);
	snprintf(text, sizeof(text), "vhost = %.256s /srv\n", name);
	assert_int_equal(parse(&c, &e, text), -1);
	assert_int_equal(e.count, 1);
	snprintf(text, sizeof(text), "vhost = %.255s /srv\n", name);
	assert_int_equal(parse(&c, &e, text), 0);

	/* 16 vhosts fit, 17 do not */
	for (i = 0; i < 16; i++)
		k += (size_t)snprintf(text + k, sizeof(text) - k,
		    "vhost = h%zu /srv/%zu\n", i, i);
	assert_int_equal(parse(&c, &e, text), 0);
	assert_int_equal(c.vhost_count, 16);
	snprintf(text + k, sizeof(text) - k, "vhost = h16 /srv/16\n");
	assert_int_equal(parse(&c, &e, text), -1);
	assert_one_error(&e, F ":17: vhost: more than 16 virtual hosts");
}

static void
test_vhost_set(void **state UNUSED)
{
	struct conf_errors e = { 0 };
	struct conf c;

	assert_int_equal(parse(&c, &e, "vhost = a /a\nvhost = b /b\n"), 0);
	assert_int_equal(conf_set(&c, "vhost", "C /c", NULL, &e), 0);
	assert_int_equal(c.vhost_count, 1); /* -o replaces the list */
	assert_string_equal(c.vhost[0].name, "c");
	assert_int_equal(conf_set(&c, "vhost", "bad!name /x", NULL, &e), -1);
	assert_int_equal(c.vhost_count, 1); /* unchanged on error */
	assert_string_equal(c.vhost[0].name, "c");
	assert_int_equal(conf_set(&c, "vhost", "", NULL, &e), 0);
	assert_int_equal(c.vhost_count, 0);
}

static void
test_folder(void **state UNUSED)
{
	struct conf_errors e;
	struct conf c;

	assert_int_equal(parse(&c, &e,
			     "folder = shared /srv/shared /shared\n"
			     "folder = Rep_2-x /srv/reports /pub/reports rw\n"
			     "folder = ro2 /srv/shared /shared ro\n"),
	    0);
	assert_int_equal(c.folder_count, 3);
	assert_string_equal(c.folder[0].name, "shared");
	assert_string_equal(c.folder[0].source, "/srv/shared");
	assert_string_equal(c.folder[0].mount, "/shared");
	assert_int_equal(c.folder[0].writable, 0); /* ro by default */
	assert_string_equal(c.folder[1].name, "Rep_2-x");
	assert_string_equal(c.folder[1].mount, "/pub/reports");
	assert_int_equal(c.folder[1].writable, 1);
	assert_int_equal(c.folder[2].writable, 0);
	/* one mount path for two folders is fine (ro and rw variants) */
	assert_int_equal(conf_check(&c, &e), 0);
	/* -o replaces the list, an empty value empties it */
	assert_int_equal(conf_set(&c, "folder", "x /a /b rw", NULL, &e), 0);
	assert_int_equal(c.folder_count, 1);
	assert_string_equal(c.folder[0].name, "x");
	assert_int_equal(conf_set(&c, "folder", "", NULL, &e), 0);
	assert_int_equal(c.folder_count, 0);
}

static void
test_folder_bad(void **state UNUSED)
{
	static const struct {
		const char *line, *err;
	} bad[] = {
		{ "folder = a /srv",
		    "expected NAME SOURCE_DIR MOUNT_PATH [ro|rw]" },
		{ "folder = a /srv /m rw x",
		    "expected NAME SOURCE_DIR MOUNT_PATH [ro|rw]" },
		{ "folder = a.b /srv /m",
		    "'a.b' is not a folder name (letters, digits, '_', '-', "
		    "at most 32 bytes)" },
		{ "folder = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa /srv /m",
		    "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' is not a folder name "
		    "(letters, digits, '_', '-', at most 32 bytes)" },
		{ "folder = a srv /m", "'srv' is not an absolute path" },
		{ "folder = a /srv m",
		    "'m' is not a mount path (absolute, clean, not /)" },
		{ "folder = a /srv /",
		    "'/' is not a mount path (absolute, clean, not /)" },
		{ "folder = a /srv /m/",
		    "'/m/' is not a mount path (absolute, clean, not /)" },
		{ "folder = a /srv /m//n",
		    "'/m//n' is not a mount path (absolute, clean, not /)" },
		{ "folder = a /srv /m/../n",
		    "'/m/../n' is not a mount path (absolute, clean, not /)" },
		{ "folder = a /srv /./n",
		    "'/./n' is not a mount path (absolute, clean, not /)" },
		{ "folder = a /srv /..",
		    "'/..' is not a mount path (absolute, clean, not /)" },
		{ "folder = a /srv /m RW", "'RW' is neither ro nor rw" },
	};
	char want[512];
	struct conf_errors e;
	struct conf c;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(&c, &e, bad[i].line), -1);
		snprintf(want, sizeof(want), F ":1: folder: %s", bad[i].err);
		assert_one_error(&e, want);
	}
	assert_int_equal(parse(&c, &e,
			     "folder = a /srv /a\nfolder = a /srv2 /b\n"),
	    -1);
	assert_one_error(&e, F ":2: folder: folder 'a' is given twice");
	assert_int_equal(parse(&c, &e, "folder = \"a\t/srv /m\"\n"), -1);
	assert_one_error(&e, F ":1: folder: control character in value");
}

static void
test_folder_too_many(void **state UNUSED)
{
	char text[64 * (KF_FOLDERS_MAX + 1)], want[128];
	struct conf_errors e;
	struct conf c;
	size_t i, k = 0;

	for (i = 0; i <= KF_FOLDERS_MAX; i++)
		k += (size_t)snprintf(text + k, sizeof(text) - k,
		    "folder = f%zu /srv/%zu /m%zu\n", i, i, i);
	assert_int_equal(parse(&c, &e, text), -1);
	snprintf(want, sizeof(want),
	    F ":%d: folder: more than %d shared folders", KF_FOLDERS_MAX + 1,
	    KF_FOLDERS_MAX);
	assert_one_error(&e, want);
}

/* conf_check: no mount path inside another; anon_folders known names. */
static void
test_folder_check(void **state UNUSED)
{
	struct conf_errors e;
	struct conf c;

	assert_int_equal(parse(&c, &e,
			     "folder = a /srv/a /pub\n"
			     "folder = b /srv/b /pub/b\n"),
	    0);
	assert_int_equal(conf_check(&c, &e), -1);
	assert_one_error(&e,
	    "config: folder b: mount path /pub/b lies inside folder a's");
	/* a name that only starts like another's is not inside it */
	assert_int_equal(parse(&c, &e,
			     "folder = a /srv/a /pub\n"
			     "folder = b /srv/b /public\n"
			     "anon_folders = b, a\n"),
	    0);
	assert_int_equal(conf_check(&c, &e), 0);
	assert_int_equal(parse(&c, &e,
			     "folder = a /srv/a /pub\nanon_folders = a,nope\n"),
	    0);
	assert_int_equal(conf_check(&c, &e), -1);
	assert_one_error(&e, "config: anon_folders: 1 name(s) are no folder");
	assert_int_equal(parse(&c, &e, "anon_folders = a,\n"), 0);
	assert_int_equal(conf_check(&c, &e), -1);
	assert_one_error(&e,
	    "config: anon_folders: not a comma-separated list of folder names");
}

/* conf_check: anon_upload_owner's names, its drop-boxes, its folders. */
static void
test_anon_upload_owner_check(void **state UNUSED)
{
	static const char *const bad[] = { "root", "nobody", "kfsvc" };
	struct conf_errors e;
	struct conf c;
	char text[256], want[256];
	size_t i;

	assert_int_equal(parse(&c, &e,
			     "anon_upload_dirs = /incoming\n"
			     "anon_upload_owner = daemon\n"),
	    0);
	assert_int_equal(conf_check(&c, &e), 0);
	assert_int_equal(parse(&c, &e, "anon_upload_owner = daemon\n"), 0);
	assert_int_equal(conf_check(&c, &e), -1);
	assert_one_error(&e,
	    "config: anon_upload_owner needs anon_upload_dirs");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text),
		    "anon_upload_dirs = /in\nservice_user = kfsvc\n"
		    "anon_upload_owner = %s\n",
		    bad[i]);
		assert_int_equal(parse(&c, &e, text), 0);
		assert_int_equal(conf_check(&c, &e), -1);
		snprintf(want, sizeof(want),
		    "config: anon_upload_owner: not root, anon_user or "
		    "service_user (%s)",
		    bad[i]);
		assert_one_error(&e, want);
	}
	/* a drop-box in an anonymous shared folder, or beneath one */
	assert_int_equal(parse(&c, &e,
			     "folder = f /srv/f /pub\nanon_folders = f\n"
			     "anon_upload_dirs = /in, /pub/in\n"
			     "anon_upload_owner = daemon\n"),
	    0);
	assert_int_equal(conf_check(&c, &e), -1);
	assert_one_error(&e,
	    "config: anon_upload_owner: anon_upload_dirs /pub/in lies in "
	    "shared folder f");
	/* a folder no anonymous session gets is no concern */
	assert_int_equal(parse(&c, &e,
			     "folder = f /srv/f /pub\n"
			     "anon_upload_dirs = /pub\n"
			     "anon_upload_owner = daemon\n"),
	    0);
	assert_int_equal(conf_check(&c, &e), 0);
}

static void
test_folder_mask(void **state UNUSED)
{
	struct conf_errors e;
	struct conf c;
	uint32_t m;

	assert_int_equal(parse(&c, &e,
			     "folder = a /srv/a /a\nfolder = b /srv/b /b\n"
			     "folder = c /srv/c /c\n"),
	    0);
	assert_int_equal(conf_folder_mask(&c, "", &m), 0);
	assert_int_equal(m, 0);
	assert_int_equal(conf_folder_mask(&c, "c,a", &m), 0);
	assert_int_equal(m, 5);
	assert_int_equal(conf_folder_mask(&c, "b, x ,y", &m), 2);
	assert_int_equal(m, 2);
	assert_int_equal(conf_folder_mask(&c, "a,,b", &m), -EINVAL);
	assert_int_equal(conf_folder_mask(&c, "a/b", &m), -EINVAL);
	assert_int_equal(conf_folder_mask(&c, ",a", &m), -EINVAL);
	assert_int_equal(conf_folder_mask(&c, "A", &m), 1); /* case counts */
	assert_int_equal(m, 0);
}

/* docs/CONFIG.md must be exactly what conf_print_doc writes. */
static void
test_doc(void **state UNUSED)
{
	static const char *const names[] = { "`listen`", "`max_clients`",
		"`umask`", "`log_level`", "`pwhash_memlimit_kib`" };
	char path[4096], tmp[32], *got, *want;
	size_t ngot, nwant, i;
	int fd;
	FILE *f;

	memcpy(tmp, "/tmp/test_conf.XXXXXX", 22);
	assert_true((fd = mkstemp(tmp)) >= 0);
	conf_print_doc(fd);
	close(fd);
	got = malloc(1 << 20);
	want = malloc(1 << 20);
	assert_true(got != NULL && want != NULL);
	assert_non_null(f = fopen(tmp, "r"));
	ngot = fread(got, 1, (1 << 20) - 1, f);
	fclose(f);
	unlink(tmp);
	got[ngot] = '\0';
	assert_true(strncmp(got, "# keepftpd configuration\n", 25) == 0);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_non_null(strstr(got, names[i]));
	assert_non_null(strstr(got,
	    "| `umask` | octal mode | `022` | "
	    "0 to 0777 |"));
	assert_non_null(strstr(got, "| `anon_root` | path | *(empty)* |"));

	repo_path(path, sizeof(path), "docs/CONFIG.md");
	if ((f = fopen(path, "r")) != NULL) {
		nwant = fread(want, 1, (1 << 20) - 1, f);
		fclose(f);
		want[nwant] = '\0';
		assert_string_equal(got, want);
	}
	free(got);
	free(want);
	if (f == NULL)
		skip();
}

/* A host name (from /etc/hosts: `localhost`) resolves at load. */
static void
test_pasv_address_name(void **state UNUSED)
{
	static const uint8_t lo[4] = { 127, 0, 0, 1 },
			     ip9[4] = { 203, 0, 113, 9 };
	struct conf_errors e;
	struct conf c;

	assert_int_equal(parse(&c, &e, "pasv_address = localhost\n"), 0);
	assert_string_equal(c.pasv_address, "localhost");
	assert_memory_equal(c.pasv_address_ip, lo, 4);
	assert_int_equal(parse(&c, &e, "pasv_address = 203.0.113.9\n"), 0);
	assert_memory_equal(c.pasv_address_ip, ip9, 4);
	assert_int_equal(parse(&c, &e,
			     "\npasv_address = no-such-host.invalid\n"),
	    -1);
	assert_int_equal(e.count, 1);
	assert_true(strncmp(e.msg[0],
			"t.conf:2: pasv_address: 'no-such-host.invalid' does "
			"not resolve: ",
			62) == 0);
}

static void
assert_map(const struct conf_pasv_map *m, const char *net, unsigned bits,
    const char *addr)
{
	uint8_t a[4];

	assert_int_equal(inet_pton(AF_INET, net, a), 1);
	assert_memory_equal(m->net, a, 4);
	assert_int_equal(m->bits, bits);
	assert_int_equal(inet_pton(AF_INET, addr, a), 1);
	assert_memory_equal(m->addr, a, 4);
}

static void
test_pasv_map_parse(void **state UNUSED)
{
	struct conf_errors e;
	struct conf c;

	assert_int_equal(
	    parse(&c, &e,
		"pasv_address_map = 10.1.2.3/8 = 10.0.0.5, "
		"192.168.0.0/16=localhost\n"
		"pasv_address_map = ::ffff:172.16.0.0/108=1.2.3.4\n"
		"pasv_address_map = 198.51.100.7=0.0.0.0\n"),
	    0);
	assert_int_equal(c.pasv_address_map_count, 4);
	/* host bits cleared; a v4-mapped network is the IPv4 one */
	assert_map(&c.pasv_address_map[0], "10.0.0.0", 8, "10.0.0.5");
	assert_map(&c.pasv_address_map[1], "192.168.0.0", 16, "127.0.0.1");
	assert_map(&c.pasv_address_map[2], "172.16.0.0", 12, "1.2.3.4");
	assert_map(&c.pasv_address_map[3], "198.51.100.7", 32, "0.0.0.0");
	/* the command line replaces the list; empty: none */
	memset(&e, 0, sizeof(e));
	assert_int_equal(conf_set(&c, "pasv_address_map", "1.0.0.0/8=1.1.1.1",
			     NULL, &e),
	    0);
	assert_int_equal(c.pasv_address_map_count, 1);
	assert_int_equal(conf_set(&c, "pasv_address_map", "", NULL, &e), 0);
	assert_int_equal(c.pasv_address_map_count, 0);
}

static void
test_pasv_map_bad(void **state UNUSED)
{
	static const struct {
		const char *line, *msg;
	} bad[] = {
		{ "10.0.0.0/8", "'10.0.0.0/8' is not CIDR=ADDRESS" },
		{ "10.0.0.0/33=1.2.3.4",
		    "'10.0.0.0/33' is not an IPv4 network a.b.c.d/bits "
		    "(PASV serves only IPv4 clients)" },
		{ "2001:db8::/32=1.2.3.4",
		    "'2001:db8::/32' is not an IPv4 network a.b.c.d/bits "
		    "(PASV serves only IPv4 clients)" },
		{ "10.0.0.0/8=", "'' is not an IPv4 address or a host name" },
		{ "10.0.0.0/8=::1",
		    "'::1' is an IPv6 address; PASV can announce only IPv4 "
		    "(RFC 2428) and EPSV announces no address" },
		{ "10.0.0.0/8=1.2.3.4,", "empty entry in list" },
		{ "10.0.0.0/8=1.2.3.4,,2.0.0.0/8=1.1.1.1",
		    "empty entry in list" },
	};
	char text[256], want[256];
	struct conf_errors e;
	struct conf c;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "pasv_address_map = %s\n",
		    bad[i].line);
		snprintf(want, sizeof(want), "t.conf:1: pasv_address_map: %s",
		    bad[i].msg);
		assert_int_equal(parse(&c, &e, text), -1);
		assert_one_error(&e, want);
		assert_int_equal(c.pasv_address_map_count, 0);
	}
}

/* KF_PASV_MAP_MAX entries in all lines; one more is an error. */
static void
test_pasv_map_too_many(void **state UNUSED)
{
	char text[KF_PASV_MAP_MAX * 48 + 64];
	struct conf_errors e;
	struct conf c;
	size_t i, k = 0;

	for (i = 0; i < KF_PASV_MAP_MAX; i++)
		k += (size_t)snprintf(text + k, sizeof(text) - k,
		    "pasv_address_map = 10.%zu.0.0/16=1.2.3.4\n", i);
	assert_int_equal(parse(&c, &e, text), 0);
	assert_int_equal(c.pasv_address_map_count, KF_PASV_MAP_MAX);
	snprintf(text + k, sizeof(text) - k,
	    "pasv_address_map = 11.0.0.0/8=1.2.3.4\n");
	assert_int_equal(parse(&c, &e, text), -1);
	snprintf(text, sizeof(text),
	    "t.conf:%d: pasv_address_map: more than %d entries",
	    KF_PASV_MAP_MAX + 1, KF_PASV_MAP_MAX);
	assert_one_error(&e, text);
}

static void
peer4(struct sockaddr_storage *ss, const char *a)
{
	struct sockaddr_in *s = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	s->sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, a, &s->sin_addr), 1);
}

static void
peer6(struct sockaddr_storage *ss, const char *a)
{
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	s->sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, a, &s->sin6_addr), 1);
}

static void
assert_announce(const struct conf *c, const struct sockaddr_storage *ss,
    const char *want)
{
	uint8_t ip[4], w[4];

	if (want == NULL) {
		assert_int_equal(conf_pasv_announce(c, ss, ip), 0);
		return;
	}
	assert_int_equal(conf_pasv_announce(c, ss, ip), 1);
	assert_int_equal(inet_pton(AF_INET, want, w), 1);
	assert_memory_equal(ip, w, 4);
}

/* First match wins, v4-mapped peers match IPv4 networks, else default. */
static void
test_pasv_map_match(void **state UNUSED)
{
	struct sockaddr_storage ss;
	struct conf_errors e;
	struct conf c;

	assert_int_equal(parse(&c, &e,
			     "pasv_address_map = 10.1.0.0/16=10.1.0.1, "
			     "10.0.0.0/8=10.0.0.5\n"
			     "pasv_address_map = 10.2.0.0/16=10.2.0.1\n"
			     "pasv_address_map = 0.0.0.0/0=192.0.2.1\n"),
	    0);
	peer4(&ss, "10.1.9.9");
	assert_announce(&c, &ss, "10.1.0.1");
	peer4(&ss, "10.2.9.9"); /* 10.0.0.0/8 comes first */
	assert_announce(&c, &ss, "10.0.0.5");
	peer6(&ss, "::ffff:10.1.2.3");
	assert_announce(&c, &ss, "10.1.0.1");
	peer4(&ss, "203.0.113.1");
	assert_announce(&c, &ss, "192.0.2.1");
	peer6(&ss, "2001:db8::1"); /* not IPv4: no network holds it */
	assert_announce(&c, &ss, NULL);

	assert_int_equal(parse(&c, &e,
			     "pasv_address = 198.51.100.2\n"
			     "pasv_address_map = 127.0.0.2/32=127.0.0.9\n"),
	    0);
	peer4(&ss, "127.0.0.2");
	assert_announce(&c, &ss, "127.0.0.9");
	peer4(&ss, "127.0.0.3");
	assert_announce(&c, &ss, "198.51.100.2");
	peer6(&ss, "2001:db8::1");
	assert_announce(&c, &ss, "198.51.100.2");
	assert_int_equal(parse(&c, &e, ""), 0);
	peer4(&ss, "127.0.0.3");
	assert_announce(&c, &ss, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_basic_file),
		cmocka_unit_test(test_empty_input),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_uint_range),
		cmocka_unit_test(test_uint_syntax),
		cmocka_unit_test(test_mode),
		cmocka_unit_test(test_str),
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_quoted),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_listen_repeat),
		cmocka_unit_test(test_listen_implicit),
		cmocka_unit_test(test_tls_options),
		cmocka_unit_test(test_listen_max),
		cmocka_unit_test(test_listen_bad),
		cmocka_unit_test(test_parse_listen_direct),
		cmocka_unit_test(test_nul_and_control),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_errors_accumulate),
		cmocka_unit_test(test_conf_set),
		cmocka_unit_test(test_conf_set_long),
		cmocka_unit_test(test_check_cross),
		cmocka_unit_test(test_check_values),
		cmocka_unit_test(test_address_lists),
		cmocka_unit_test(test_check_listen),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_load_missing),
		cmocka_unit_test(test_load_sizes),
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_tls_required_users_auto),
		cmocka_unit_test(test_new_defaults),
		cmocka_unit_test(test_banner_file),
		cmocka_unit_test(test_banner_file_bad),
		cmocka_unit_test(test_hash_and_bools),
		cmocka_unit_test(test_patterns),
		cmocka_unit_test(test_host_norm),
		cmocka_unit_test(test_vhost),
		cmocka_unit_test(test_vhost_bad),
		cmocka_unit_test(test_vhost_set),
		cmocka_unit_test(test_folder),
		cmocka_unit_test(test_folder_bad),
		cmocka_unit_test(test_folder_too_many),
		cmocka_unit_test(test_anon_upload_owner_check),
		cmocka_unit_test(test_folder_check),
		cmocka_unit_test(test_folder_mask),
		cmocka_unit_test(test_doc),
		cmocka_unit_test(test_pasv_address_name),
		cmocka_unit_test(test_pasv_map_parse),
		cmocka_unit_test(test_pasv_map_bad),
		cmocka_unit_test(test_pasv_map_too_many),
		cmocka_unit_test(test_pasv_map_match),
		cmocka_unit_test(test_listen_proxy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
