/*
 * test_conf_flat.c - conf_check_flat and conf_check_result: what the
 * listener checks in the struct the configuration parser child returns.
 * A good configuration passes; each corrupted copy is refused and the
 * field it names is the one corrupted. And the parser child's sandbox
 * from inside: what it must do works, the rest dies with SIGSYS.
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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/conf_child.h"
#include "sandbox/sandbox.h"

#define UNUSED __attribute__((unused))

static const char good_text[] = "listen = 127.0.0.1:2121\n"
				"listen = [::1]:2121\n"
				"anonymous_enable = yes\n"
				"anon_root = /srv/ftp\n"
				"vhost = a.example /srv/a\n"
				"vhost = b.example /srv/b\n"
				"hide_patterns = *.bak\n"
				"pasv_address = 203.0.113.9\n"
				"pasv_address_map = 10.0.0.0/8=10.0.0.5\n"
				"pasv_address_map = 127.0.0.2/32=localhost\n";

/* A configuration as the child makes it: parsed and checked. */
static struct conf *
good(void)
{
	static struct conf c;
	struct conf_errors e;

	memset(&e, 0, sizeof(e));
	conf_defaults(&c);
	assert_int_equal(conf_parse(&c, "t.conf", good_text,
			     sizeof(good_text) - 1, &e),
	    0);
	assert_int_equal(conf_check(&c, &e), 0);
	return &c;
}

static void
refused(const struct conf *c, const char *field)
{
	const char *what = NULL;

	assert_int_equal(conf_check_flat(c, &what), -1);
	assert_non_null(what);
	assert_string_equal(what, field);
}

static void
test_good(void **state UNUSED)
{
	const char *what = NULL;
	struct conf c;

	assert_int_equal(conf_check_flat(good(), &what), 0);
	conf_defaults(&c);
	c.tls_required_users = 0; /* settled as conf_check does */
	assert_int_equal(conf_check_flat(&c, &what), 0);
}

static void
test_strings_end(void **state UNUSED)
{
	struct conf c;

	c = *good();
	memset(c.banner, 'A', sizeof(c.banner));
	refused(&c, "banner");
	c = *good();
	memset(c.anon_root, '/', sizeof(c.anon_root));
	refused(&c, "anon_root");
	c = *good();
	memset(c.hide_patterns, '*', sizeof(c.hide_patterns));
	refused(&c, "hide_patterns");
	c = *good();
	memset(c.banner_file_text, 'x', sizeof(c.banner_file_text));
	refused(&c, "banner_file");
	c = *good();
	memset(c.log_level, 'd', sizeof(c.log_level));
	refused(&c, "log_level");
}

static void
test_counts(void **state UNUSED)
{
	struct conf c;

	c = *good();
	c.listen_count = KF_LISTEN_MAX + 1;
	refused(&c, "listen");
	c = *good();
	c.listen_count = 0;
	refused(&c, "listen");
	c = *good();
	c.listen_count = (size_t)-1;
	refused(&c, "listen");
	c = *good();
	c.vhost_count = CONF_VHOST_MAX + 1;
	refused(&c, "vhost");
}

static void
test_listen_entries(void **state UNUSED)
{
	struct conf c;

	c = *good();
	c.listen[1].len = sizeof(struct sockaddr_in); /* an IPv6 one */
	refused(&c, "listen");
	c = *good();
	c.listen[0].len = sizeof(struct sockaddr_storage) + 1;
	refused(&c, "listen");
	c = *good();
	c.listen[0].addr.ss_family = AF_UNIX;
	refused(&c, "listen");
	c = *good();
	c.listen[0].implicit = 2;
	refused(&c, "listen");
}

static void
test_vhost_entries(void **state UNUSED)
{
	struct conf c;

	c = *good();
	memset(c.vhost[1].name, 'a', sizeof(c.vhost[1].name));
	refused(&c, "vhost");
	c = *good();
	memset(c.vhost[0].anon_root, 'a', sizeof(c.vhost[0].anon_root));
	refused(&c, "vhost");
	c = *good();
	memset(c.vhost[0].banner_text, 'a', sizeof(c.vhost[0].banner_text));
	refused(&c, "vhost");
}

static void
test_numbers(void **state UNUSED)
{
	struct conf c;

	c = *good();
	c.anonymous_enable = 2;
	refused(&c, "anonymous_enable");
	c = *good();
	c.pasv_enable = -1;
	refused(&c, "pasv_enable");
	c = *good();
	c.tls_required_users = CONF_AUTO; /* never settled */
	refused(&c, "tls_required_users");
	c = *good();
	c.max_clients = 0; /* 1..100000 */
	refused(&c, "max_clients");
	c = *good();
	c.max_clients = 100001;
	refused(&c, "max_clients");
	c = *good();
	c.pwhash_memlimit_kib = 8191;
	refused(&c, "pwhash_memlimit_kib");
	c = *good();
	c.umask = 01000;
	refused(&c, "umask");
	c = *good();
	c.pasv_min_port = 41000;
	c.pasv_max_port = 40000;
	refused(&c, "pasv_min_port");
}

static void
test_result(void **state UNUSED)
{
	struct conf_result *r = calloc(1, sizeof(*r));
	const char *what = NULL;

	assert_non_null(r);
	r->ok = 1;
	r->conf = *good();
	assert_int_equal(conf_check_result(r, &what), 0);
	r->ok = 2;
	assert_int_equal(conf_check_result(r, &what), -1);
	assert_string_equal(what, "ok");
	r->ok = 1;
	r->conf.idle_timeout = 0;
	assert_int_equal(conf_check_result(r, &what), -1);
	assert_string_equal(what, "idle_timeout");
	/* a refusal must say why, in strings that end */
	memset(r, 0, sizeof(*r));
	assert_int_equal(conf_check_result(r, &what), -1);
	assert_string_equal(what, "errors");
	r->errs.count = 1;
	snprintf(r->errs.msg[0], sizeof(r->errs.msg[0]), "t.conf:1: why");
	assert_int_equal(conf_check_result(r, &what), 0);
	memset(r->errs.msg[15], 'x', sizeof(r->errs.msg[15]));
	assert_int_equal(conf_check_result(r, &what), -1);
	assert_string_equal(what, "errors");
	free(r);
}

/* Any one byte of a string field set non-zero where its NUL was. */
/* The PASV addresses and networks as the parser leaves them. */
static void
test_pasv_entries(void **state UNUSED)
{
	struct conf c;

	c = *good();
	memset(c.pasv_address, 'a', sizeof(c.pasv_address));
	refused(&c, "pasv_address");
	c = *good();
	c.pasv_address_ip[3] = 10; /* not the literal's address */
	refused(&c, "pasv_address");
	c = *good();
	c.pasv_address[0] = '\0'; /* empty, but an address */
	refused(&c, "pasv_address");
	c = *good();
	c.pasv_address_map_count = KF_PASV_MAP_MAX + 1;
	refused(&c, "pasv_address_map");
	c = *good();
	c.pasv_address_map_count = (size_t)-1;
	refused(&c, "pasv_address_map");
	c = *good();
	c.pasv_address_map[1].bits = 33;
	refused(&c, "pasv_address_map");
	c = *good();
	c.pasv_address_map[0].net[3] = 1; /* a host bit of 10.0.0.0/8 */
	refused(&c, "pasv_address_map");
	c = *good();
	memset(c.pasv_address, 0, sizeof(c.pasv_address));
	memset(c.pasv_address_ip, 0, sizeof(c.pasv_address_ip));
	c.pasv_address_map_count = 0;
	assert_int_equal(conf_check_flat(&c, &(const char *){ NULL }), 0);
}

static void
test_every_string(void **state UNUSED)
{
	const size_t offs[] = { offsetof(struct conf, tls_cert),
		offsetof(struct conf, tls_min),
		offsetof(struct conf, allow_from),
		offsetof(struct conf, admin_socket),
		offsetof(struct conf, users_file),
		offsetof(struct conf, empty_dir),
		offsetof(struct conf, banner_file),
		offsetof(struct conf, deny_patterns),
		offsetof(struct conf, quota_dir), offsetof(struct conf, log) };
	const char *what;
	struct conf c;
	size_t i;

	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		c = *good();
		memset((char *)&c + offs[i], 'z', KF_CONF_VALUE_MAX + 1);
		assert_int_equal(conf_check_flat(&c, &what), -1);
	}
}

/*
 * What getaddrinfo may do in the sandbox: a UDP socket above the
 * result descriptor, connected and asked its name; a netlink socket
 * and an executable mapping of a file refused with an errno (not
 * killed). 0 when all is as expected.
 */
static int
resolver_calls(int result_fd)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	void *m;
	int s, fd;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(9);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s <= result_fd ||
	    connect(s, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(s, (struct sockaddr *)&sin, &len) < 0 ||
	    sendto(s, "x", 1, 0, NULL, 0) != 1)
		return 1;
	close(s);
	if (socket(AF_NETLINK, SOCK_RAW, 0) != -1 || errno != EAFNOSUPPORT)
		return 2;
	if ((fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)) < 0)
		return 3;
	m = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	if (m != MAP_FAILED || errno != EACCES)
		return 4;
	return 0;
}

/*
 * The parser child's sandbox (conf_sandbox.c), from inside: in a fork,
 * sandbox_conf_parser(fd), then one action. How the fork ended.
 */
static int
sandboxed(int action)
{
	int p[2], st = 0, fd;
	char b[16];
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	if ((pid = fork()) == 0) {
		sandbox_conf_parser(p[1]);
		switch (action) {
		case 0: /* what the parser does: read a file, write fd */
			fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
			_exit(fd < 0 || read(fd, b, sizeof(b)) <= 0 ||
			    write(p[1], b, 1) != 1);
		case 1:
			if (write(STDERR_FILENO, "x", 1) < 0)
				_exit(9);
			break;
		case 2:
			(void)open("/tmp/kf-conf-child", O_WRONLY | O_CREAT,
			    0600);
			break;
		case 3:
			(void)open("/etc/passwd", O_RDWR);
			break;
		case 4:
			(void)mmap(NULL, 4096, PROT_READ | PROT_EXEC,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			break;
		case 5:
			(void)fork();
			break;
		case 6:
			(void)execl("/bin/true", "true", (char *)NULL);
			break;
		case 7:
			(void)kill(getppid(), SIGTERM);
			break;
		case 8:
			(void)socket(AF_PACKET, SOCK_RAW, 0);
			break;
		case 9: /* resolver calls only above the result fd */
			(void)sendto(STDERR_FILENO, "x", 1, 0, NULL, 0);
			break;
		case 10:
			(void)connect(p[1], NULL, 0);
			break;
		case 11:
			(void)mmap(NULL, 4096, PROT_READ | PROT_EXEC,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			break;
		case 20: /* the resolver: sockets, netlink and mapping refused */
			_exit(resolver_calls(p[1]));
		}
		_exit(0);
	}
	close(p[1]);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	close(p[0]);
	return st;
}

static void
test_parser_sandbox(void **state UNUSED)
{
	int action, st;

	st = sandboxed(0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = sandboxed(20);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("resolver calls: status %#x", st);
	for (action = 1; action <= 11; action++) {
		st = sandboxed(action);
		if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS)
			fail_msg("action %d: status %#x, not SIGSYS", action,
			    st);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_strings_end),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_listen_entries),
		cmocka_unit_test(test_vhost_entries),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_result),
		cmocka_unit_test(test_every_string),
		cmocka_unit_test(test_pasv_entries),
		cmocka_unit_test(test_parser_sandbox),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
