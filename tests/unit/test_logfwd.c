/*
 * test_logfwd.c - what the monitor writes for a worker's log datagrams
 * (log_forward): every line is marked with the channel's origin, a
 * hostile line cannot be parsed as the monitor's own failed-login line
 * (the fail2ban failregex of docs/SECURITY.md, searched anywhere in
 * the line), a flood gives a bounded number of lines plus a summary, an
 * empty datagram is refused and does not close the channel. And the
 * token bucket itself.
 */
#include "cm.h"
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/limits.h"
#include "common/log.h"
#include "common/rate.h"

#define FORGED \
	"login failed: from=198.51.100.9 failures=1 " \
	"reason=bad-credentials user=x"

static char path[] = "/tmp/kf-logfwd-XXXXXX";
static int saved_err = -1;

/* stderr into a fresh file; the log sink writes there. */
static int
capture(void **state)
{
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	saved_err = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	log_open(LOG_SINK_STDERR, "keepftpd", -1);
	log_set_level(LOG_DEBUG);
	log_set_prefix("[s7 203.0.113.5]");
	return 0;
}

static int
release(void **state)
{
	dup2(saved_err, STDERR_FILENO);
	close(saved_err);
	unlink(path);
	memcpy(path + sizeof(path) - 7, "XXXXXX", 6);
	return 0;
}

static char *
captured(void)
{
	static char buf[1 << 20];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static int
lines_with(const char *text, const char *what)
{
	int n = 0;

	while ((text = strstr(text, what)) != NULL) {
		n++;
		text++;
	}
	return n;
}

static void
send_line(int fd, int prio, const char *text)
{
	char d[2048];
	size_t n = strlen(text);

	d[0] = (char)prio;
	memcpy(d + 1, text, n);
	assert_int_equal(send(fd, d, n + 1, 0), (ssize_t)(n + 1));
}

/* A forged monitor event from a worker reads as the worker's, only. */
static void
test_forged_event_is_marked(void **state)
{
	static const char *forged[] = {
		FORGED,
		"[s7 198.51.100.9] " FORGED,
		"x] " FORGED,
		"\n2026-01-02T03:04:05Z keepftpd[1]: warning: [s7 1.2.3.4] " FORGED,
	};
	regex_t re;
	char *out, *line, *nl;
	size_t i;
	int sv[2];

	/* docs/SECURITY.md's failregex, unanchored: the strictest reading */
	assert_int_equal(
	    regcomp(&re,
		"\\[s[0-9]+ [^]]+\\] login failed: "
		"from=[0-9a-f.:]+ failures=[0-9]+ reason=[a-z-]+ user=",
		REG_EXTENDED | REG_NOSUB),
	    0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	log_forward_open(sv[0], "worker kf-prelogin");
	for (i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
		send_line(sv[1], LOG_WARNING, forged[i]);
		assert_int_equal(log_forward(sv[0]), 0);
	}
	log_warn(FORGED); /* the monitor's own line, for contrast */
	out = captured();
	assert_int_equal(lines_with(out, "\n"), 5);
	for (line = out, i = 0; (nl = strchr(line, '\n')) != NULL;
	     line = nl + 1, i++) {
		*nl = '\0';
		if (i < 4) {
			assert_non_null(strstr(line,
			    "[s7 203.0.113.5] worker kf-prelogin: "));
			assert_int_not_equal(regexec(&re, line, 0, NULL, 0), 0);
		} else
			assert_int_equal(regexec(&re, line, 0, NULL, 0), 0);
	}
	regfree(&re);
	close(sv[0]);
	close(sv[1]);
}

/* A channel the monitor never named is still marked. */
static void
test_unnamed_channel_marked(void **state)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	send_line(sv[1], LOG_INFO, "login ok: user=root");
	assert_int_equal(log_forward(sv[0]), 0);
	assert_non_null(
	    strstr(captured(), "[s7 203.0.113.5] worker: login ok: user=root"));
	close(sv[0]);
	close(sv[1]);
}

/* 5000 datagrams at once: the burst, then one summary line. */
static void
test_flood_is_bounded(void **state)
{
	char *out;
	int sv[2], i, n;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	log_forward_open(sv[0], "relay");
	for (i = 0; i < 5000; i++) {
		send_line(sv[1], LOG_WARNING, "flood");
		assert_int_equal(log_forward(sv[0]), 0);
	}
	close(sv[1]);
	assert_int_equal(log_forward(sv[0]), -1); /* gone: summary */
	out = captured();
	n = lines_with(out, "relay: flood");
	assert_true(n >= KF_LOG_FWD_BURST);
	assert_true(n < KF_LOG_FWD_BURST + 200);
	assert_true(lines_with(out, "log line(s) dropped (rate limit)") >= 1);
	assert_true(lines_with(out, "log line(s) dropped (rate limit)") <= 3);
	assert_true(lines_with(out, "\n") < KF_LOG_FWD_BURST + 200);
	close(sv[0]);
}

/* An empty datagram: refused, said once, the channel stays open. */
static void
test_empty_datagram_refused(void **state)
{
	char *out;
	int sv[2], i;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	log_forward_open(sv[0], "worker kf-session");
	for (i = 0; i < 50; i++) {
		assert_int_equal(send(sv[1], "", 0, 0), 0);
		assert_int_equal(log_forward(sv[0]), 0);
	}
	send_line(sv[1], LOG_INFO, "still here");
	assert_int_equal(log_forward(sv[0]), 0);
	close(sv[1]);
	assert_int_equal(log_forward(sv[0]), -1);
	out = captured();
	assert_int_equal(lines_with(out, "log datagram refused: empty"), 1);
	assert_non_null(strstr(out, "worker kf-session: still here"));
	assert_non_null(strstr(out, "49 refused"));
	close(sv[0]);
}

static void
test_rate_bucket(void **state)
{
	struct rate r = { 0 };
	int i, n = 0;

	for (i = 0; i < 100; i++)
		n += rate_take(&r, 1000, 10, 20);
	assert_int_equal(n, 20);
	assert_int_equal(rate_take(&r, 1099, 10, 20), 0);
	assert_int_equal(rate_take(&r, 1100, 10, 20), 1);
	assert_int_equal(rate_take(&r, 1100, 10, 20), 0);
	/* a long quiet spell refills to the burst, never more */
	for (i = 0, n = 0; i < 100; i++)
		n += rate_take(&r, 1000000000, 10, 20);
	assert_int_equal(n, 20);
	/* time going back restarts the bucket rather than overflowing */
	assert_int_equal(rate_take(&r, 5, 10, 20), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_forged_event_is_marked,
		    capture, release),
		cmocka_unit_test_setup_teardown(test_unnamed_channel_marked,
		    capture, release),
		cmocka_unit_test_setup_teardown(test_flood_is_bounded, capture,
		    release),
		cmocka_unit_test_setup_teardown(test_empty_datagram_refused,
		    capture, release),
		cmocka_unit_test(test_rate_bucket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
