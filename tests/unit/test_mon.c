/*
 * test_mon.c - the monitor's dispatch table and its real handlers,
 * with fake side effects (password check, sleep, log, listener, relay):
 * wrong phase, twice, trailing bytes, oversized, out of order, no
 * verification past max_login_failures, the delay's doubling and cap,
 * MON_TLS_PEER once, REIN count, MON_STATUS (phase, bounds, verb,
 * the rate limit, the once-a-second forward); and a hostile worker process on a real
 * socketpair served by the monitor's own loop (mon_serve_one) with the
 * real sleep.
 */
#include "cm.h"
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/perm.h"
#include "common/rate.h"
#include "common/sys.h"
#include "conf/conf.h"
#include "ipc/ipc.h"
#include "ipc/proto.h"
#include "metrics/metrics.h"
#include "priv/mon_state.h"
#include "tree.h"

static struct conf cf;
static struct auth_identity ident;
static unsigned char sess[KF_TLS_SESSION_MAX];
static size_t sess_len;
static struct sockaddr_storage peer;
static struct mon_state st;

static int verifies, certs, reports, logs, tls_ready = 1;
static unsigned slept[128];
static unsigned nslept;
static int real_sleep;
static char last_log[512];

/* Per-user limits the fake users store gives every identity. */
static unsigned fake_max_sessions;
static char fake_hours[KF_LOGIN_HOURS_MAX + 1];

static int
fake_verify(const struct conf *c, const char *inl, const struct conf_vhost *vh,
    const char *user, const char *pass, struct auth_identity *id)
{
	verifies++;
	if (strcmp(pass, "good") != 0)
		return -1;
	snprintf(id->name, sizeof(id->name), "%s", user);
	snprintf(id->root, sizeof(id->root), "/srv");
	id->max_sessions = fake_max_sessions;
	memcpy(id->login_hours, fake_hours, sizeof(id->login_hours));
	return 0;
}

static int
fake_cert(const struct conf *c, const char *inl, const char *user,
    struct auth_identity *id)
{
	certs++;
	snprintf(id->name, sizeof(id->name), "%s", user);
	return 0;
}

static int
fake_tls_required(const struct conf *c, const char *user,
    const struct auth_identity *id)
{
	return 0;
}

static void
fake_sleep(unsigned ms)
{
	if (nslept < sizeof(slept) / sizeof(slept[0]))
		slept[nslept++] = ms;
	if (real_sleep)
		sys_sleep_ms(ms);
}

static void __attribute__((format(printf, 2, 3)))
fake_log(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
	logs++;
}

static void
fake_report(void *ctx)
{
	reports++;
}

static int
fake_tls_ready(void *ctx)
{
	return tls_ready;
}

static int fake_ccc(void *);

/* MON_STATUS: the clock, and what reached the "listener" */
static int64_t fake_now = 1000000;
static int who_reports;
static struct mon_who who_last;

static int64_t
fake_now_ms(void)
{
	return fake_now;
}

static void
fake_who_report(void *ctx, const struct mon_who *w, int64_t now_ms)
{
	who_reports++;
	who_last = *w;
}

/* The listener's verdict on MON_PROXY; the address it was asked about. */
static int proxy_verdict, proxy_asks;
static struct sockaddr_storage proxy_asked;

static int
fake_proxy_admit(void *ctx, const struct sockaddr_storage *src)
{
	proxy_asks++;
	memset(&proxy_asked, 0, sizeof(proxy_asked));
	if (src != NULL)
		proxy_asked = *src;
	return proxy_verdict;
}

static struct mon_ops ops = {
	.proxy_admit = fake_proxy_admit,
	.verify = fake_verify,
	.by_cert = fake_cert,
	.tls_required = fake_tls_required,
	.sleep_ms = fake_sleep,
	.log = fake_log,
	.report_failed = fake_report,
	.tls_ready = fake_tls_ready,
	.ccc = fake_ccc,
	.who_report = fake_who_report,
	.now_ms = fake_now_ms,
};

/* max_sessions: the listener's answer; login_hours: the clock */
static int reserve_verdict, reserves, releases, opens, open_result;
static unsigned reserve_max;
static int clock_wday, clock_minute;

static int
fake_reserve(void *ctx, const char *user, int anonymous, unsigned max)
{
	reserves++;
	reserve_max = max;
	return reserve_verdict;
}

static void
fake_release(void *ctx)
{
	releases++;
}

static int
fake_local_time(int *wday, int *minute)
{
	*wday = clock_wday;
	*minute = clock_minute;
	return 0;
}

static int
fake_session_open(const struct conf *c, const struct auth_identity *id)
{
	opens++;
	return open_result;
}

static int
setup(void **state)
{
	ops.reserve = NULL;
	ops.release = NULL;
	ops.local_time = NULL;
	ops.session_open = NULL;
	fake_max_sessions = 0;
	fake_hours[0] = '\0';
	reserve_verdict = 1;
	reserves = releases = opens = open_result = 0;
	conf_defaults(&cf);
	cf.max_login_failures = 3;
	cf.login_fail_delay_ms = 100;
	memset(&ident, 0, sizeof(ident));
	sess_len = 0;
	mon_state_init(&st, &cf, NULL, &peer, "192.0.2.1", &ident, sess,
	    &sess_len);
	verifies = certs = reports = logs = 0;
	nslept = 0;
	real_sleep = 0;
	tls_ready = 1;
	last_log[0] = '\0';
	fake_now = 1000000;
	who_reports = 0;
	memset(&who_last, 0, sizeof(who_last));
	proxy_verdict = proxy_asks = 0;
	return 0;
}

/* A whole frame of msg, as a sender would write it. */
static size_t
frame_of(const struct ipc_msg *m, unsigned char *f)
{
	uint32_t t = m->type, l = (uint32_t)m->len;
	unsigned char h[8] = { t >> 24, t >> 16, t >> 8, t, l >> 24, l >> 16,
		l >> 8, l };

	memcpy(f, h, 8);
	memcpy(f + 8, m->data, m->len);
	return 8 + m->len;
}

static enum mon_verdict
send_msg(enum mon_src src, const struct ipc_msg *m, struct mon_out *out)
{
	unsigned char f[KF_IPC_MSG_MAX];

	return mon_dispatch(&st, &ops, src, f, frame_of(m, f), out);
}

static void
login_msg(struct ipc_msg *m, const char *user, const char *pass)
{
	ipc_init(m, MON_LOGIN);
	ipc_put_str(m, user, KF_USER_MAX);
	ipc_put_str(m, pass, KF_PASS_MAX);
	ipc_put_str(m, "", CONF_HOST_MAX);
	ipc_put_u32(m, 0);
}

static uint32_t
result_of(struct mon_out *out)
{
	uint32_t v = 99;

	out->rep.off = 0;
	assert_int_equal(ipc_get_u32(&out->rep, &v), 0);
	assert_int_equal(ipc_end(&out->rep), 0);
	return v;
}

static enum mon_verdict
login(const char *user, const char *pass, struct mon_out *out)
{
	struct ipc_msg m;

	login_msg(&m, user, pass);
	return send_msg(MON_SRC_WORKER, &m, out);
}

/* A worker that ignores FAILED_CLOSE gets no further verification. */
static void
test_failures_beyond_max(void **state)
{
	struct mon_out out;
	unsigned i;

	cf.max_login_failures = 10;
	for (i = 1; i <= 10; i++) {
		assert_int_equal(login("alice", "bad", &out), MON_V_REPLY);
		assert_int_equal(result_of(&out),
		    i < 10 ? MON_LOGIN_FAILED : MON_LOGIN_FAILED_CLOSE);
	}
	assert_int_equal(verifies, 10);
	assert_int_equal(reports, 10);
	/* the 11th, even with the right password: fatal, not verified */
	assert_int_equal(login("alice", "good", &out), MON_V_FATAL);
	assert_int_equal(verifies, 10);
	assert_non_null(strstr(out.why, "max_login_failures"));
	assert_int_equal(st.logged_in, 0);
}

/* The delay the monitor sleeps: doubled per failure up to the cap. */
static void
test_delay_doubles_to_cap(void **state)
{
	static const unsigned want[] = { 100, 200, 400, 800, 1600, 3200, 6400,
		12800, 25600, 30000, 30000, 30000 };
	struct mon_out out;
	unsigned i;

	cf.max_login_failures = 12;
	for (i = 0; i < 12; i++)
		assert_int_equal(login("alice", "bad", &out), MON_V_REPLY);
	assert_int_equal(nslept, 12);
	for (i = 0; i < 12; i++)
		assert_int_equal(slept[i], want[i]);
	assert_int_equal(mon_fail_delay_ms(1000, 1), 1000);
	assert_int_equal(mon_fail_delay_ms(1000, 5), 16000);
	assert_int_equal(mon_fail_delay_ms(1000, 6), KF_LOGIN_DELAY_MAX_MS);
	assert_int_equal(mon_fail_delay_ms(1000, 8), KF_LOGIN_DELAY_MAX_MS);
	assert_int_equal(mon_fail_delay_ms(1, 100), KF_LOGIN_DELAY_MAX_MS);
	assert_int_equal(mon_fail_delay_ms(1, 0xffffffffu),
	    KF_LOGIN_DELAY_MAX_MS);
	assert_int_equal(mon_fail_delay_ms(60000, 1), KF_LOGIN_DELAY_MAX_MS);
	assert_int_equal(mon_fail_delay_ms(0, 50), 0);
}

/*
 * max_sessions: the listener is asked after the password, with the
 * identity's cap; over it, REFUSED_SESSIONS, no failure counted, the
 * worker must exit. A reservation is given back when the PAM session
 * then fails.
 */
static void
test_login_max_sessions(void **state)
{
	struct mon_out out;

	ops.reserve = fake_reserve;
	ops.release = fake_release;
	ops.session_open = fake_session_open;
	fake_max_sessions = 2;
	/* a wrong password never reaches the listener */
	assert_int_equal(login("alice", "bad", &out), MON_V_REPLY);
	assert_int_equal(result_of(&out), MON_LOGIN_FAILED);
	assert_int_equal(reserves, 0);
	/* over the cap */
	reserve_verdict = 0;
	assert_int_equal(login("alice", "good", &out), MON_V_REPLY);
	assert_int_equal(result_of(&out), MON_LOGIN_REFUSED_SESSIONS);
	assert_int_equal(reserves, 1);
	assert_int_equal(reserve_max, 2);
	assert_int_equal(st.failures, 1); /* the bad password only */
	assert_int_equal(reports, 1);
	assert_int_equal(opens, 0);
	assert_int_equal(st.logged_in, 0);
	assert_int_equal(st.phase, MPH_EXITING);
	assert_non_null(strstr(last_log, "reason=max-sessions"));
	assert_int_equal(ident.name[0], '\0');
	/* no answer from the listener: refused the same way */
	setup(NULL);
	ops.reserve = fake_reserve;
	fake_max_sessions = 1;
	reserve_verdict = -1;
	assert_int_equal(login("alice", "good", &out), MON_V_REPLY);
	assert_int_equal(result_of(&out), MON_LOGIN_REFUSED_SESSIONS);
	/* reserved, then the PAM session fails: the place goes back */
	setup(NULL);
	ops.reserve = fake_reserve;
	ops.release = fake_release;
	ops.session_open = fake_session_open;
	fake_max_sessions = 1;
	open_result = -1;
	assert_int_equal(login("alice", "good", &out), MON_V_REPLY);
	assert_int_equal(result_of(&out), MON_LOGIN_FAILED);
	assert_int_equal(reserves, 1);
	assert_int_equal(releases, 1);
	/* reserved and good: OK, nothing given back; no cap: not asked */
	open_result = 0;
	assert_int_equal(login("alice", "good", &out), MON_V_REPLY);
	assert_int_equal(result_of(&out), MON_LOGIN_OK);
	assert_int_equal(reserves, 2);
	assert_int_equal(releases, 1);
	setup(NULL);
	ops.reserve = fake_reserve;
	assert_int_equal(login("alice", "good", &out), MON_V_REPLY);
	assert_int_equal(result_of(&out), MON_LOGIN_OK);
	assert_int_equal(reserves, 0);
}

/* login_hours: the monitor's clock against the identity's windows. */
static void
test_login_hours(void **state)
{
	struct mon_out out;

	ops.local_time = fake_local_time;
	ops.reserve = fake_reserve;
	snprintf(fake_hours, sizeof(fake_hours), "Mon-Fri 08:00-18:00;Sat");
	fake_max_sessions = 3;
	clock_wday = 0; /* Sunday noon: outside */
	clock_minute = 12 * 60;
	assert_int_equal(login("alice", "good", &out), MON_V_REPLY);
	assert_int_equal(result_of(&out), MON_LOGIN_REFUSED_HOURS);
	assert_non_null(strstr(last_log, "reason=login-hours"));
	assert_int_equal(reserves, 0); /* no place taken for a refusal */
	assert_int_equal(st.failures, 0);
	assert_int_equal(reports, 0);
	assert_int_equal(st.phase, MPH_EXITING);
	/* Friday 17:59 and Saturday 23:59: inside */
	setup(NULL);
	ops.local_time = fake_local_time;
	snprintf(fake_hours, sizeof(fake_hours), "Mon-Fri 08:00-18:00;Sat");
	clock_wday = 5;
	clock_minute = 17 * 60 + 59;
	assert_int_equal(login("alice", "good", &out), MON_V_REPLY);
	assert_int_equal(result_of(&out), MON_LOGIN_OK);
	setup(NULL);
	ops.local_time = fake_local_time;
	snprintf(fake_hours, sizeof(fake_hours), "Mon-Fri 08:00-18:00;Sat");
	clock_wday = 6;
	clock_minute = 23 * 60 + 59;
	assert_int_equal(login("alice", "good", &out), MON_V_REPLY);
	assert_int_equal(result_of(&out), MON_LOGIN_OK);
	/* a spec that does not parse (cannot come from the file): refused */
	setup(NULL);
	ops.local_time = fake_local_time;
	snprintf(fake_hours, sizeof(fake_hours), "Someday");
	assert_int_equal(login("alice", "good", &out), MON_V_REPLY);
	assert_int_equal(result_of(&out), MON_LOGIN_REFUSED_HOURS);
}

/* A good login: then any further MON_LOGIN is out of order. */
static void
test_login_then_out_of_order(void **state)
{
	struct mon_out out;

	assert_int_equal(login("alice", "good", &out), MON_V_REPLY);
	assert_int_equal(result_of(&out), MON_LOGIN_OK);
	assert_int_equal(st.logged_in, 1);
	assert_int_equal(st.phase, MPH_EXITING);
	assert_string_equal(ident.name, "alice");
	assert_int_equal(login("alice", "good", &out), MON_V_FATAL);
	assert_non_null(strstr(out.why, "out of order"));
	assert_int_equal(verifies, 1);
}

static void
test_wrong_phase(void **state)
{
	struct mon_out out;
	struct ipc_msg m;

	/* CCC before login */
	st.tls = 1;
	st.relay = 1;
	cf.tls_ccc_enable = 1;
	ipc_init(&m, MON_CCC);
	assert_int_equal(send_msg(MON_SRC_WORKER, &m, &out), MON_V_FATAL);
	assert_non_null(strstr(out.why, "MON_CCC"));
	assert_non_null(strstr(out.why, "out of order"));
	/* MON_LOGIN and AUTH TLS from a post-login worker */
	st.phase = MPH_SESSION;
	assert_int_equal(login("alice", "good", &out), MON_V_FATAL);
	assert_int_equal(verifies, 0);
	ipc_init(&m, MON_AUTH_TLS);
	ipc_put_u32(&m, 0);
	ipc_put_str(&m, "", CONF_HOST_MAX);
	assert_int_equal(send_msg(MON_SRC_WORKER, &m, &out), MON_V_FATAL);
	assert_non_null(strstr(out.why, "out of order"));
}

/* A type of another sender, an answer type, an unknown type. */
static void
test_not_its_request(void **state)
{
	static const uint32_t types[] = { MON_TLS_SESSION, MON_TLS_PEER,
		RELAY_CCC_DONE, MON_LOGIN_RESULT, MON_AUTH_TLS_RESULT,
		MON_CCC_RESULT, RELAY_CCC, LSN_LOGIN_FAILED, 0, 999 };
	struct mon_out out;
	struct ipc_msg m;
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		ipc_init(&m, types[i]);
		assert_int_equal(send_msg(MON_SRC_WORKER, &m, &out),
		    MON_V_FATAL);
		assert_non_null(strstr(out.why, "not its request"));
	}
	login_msg(&m, "alice", "good");
	assert_int_equal(send_msg(MON_SRC_RELAY, &m, &out), MON_V_FATAL);
	assert_non_null(strstr(out.why, "not its request"));
	assert_int_equal(verifies, 0);
	/* RELAY_CCC_DONE when no CCC waits for it */
	ipc_init(&m, RELAY_CCC_DONE);
	assert_int_equal(send_msg(MON_SRC_RELAY, &m, &out), MON_V_FATAL);
	assert_non_null(strstr(out.why, "out of order"));
}

static void
test_trailing_bytes(void **state)
{
	struct mon_out out;
	struct ipc_msg m;

	login_msg(&m, "alice", "good");
	ipc_put_u32(&m, 0);
	assert_int_equal(send_msg(MON_SRC_WORKER, &m, &out), MON_V_FATAL);
	assert_non_null(strstr(out.why, "trailing"));
	assert_int_equal(verifies, 0);
	ipc_init(&m, MON_TLS_PEER);
	ipc_put_str(&m, "alice", KF_USER_MAX);
	ipc_put_bytes(&m, "x", 1);
	assert_int_equal(send_msg(MON_SRC_RELAY, &m, &out), MON_V_FATAL);
	assert_non_null(strstr(out.why, "trailing"));
	assert_string_equal(st.cert_cn, "");
	/* a short one: malformed */
	ipc_init(&m, MON_LOGIN);
	ipc_put_str(&m, "alice", KF_USER_MAX);
	assert_int_equal(send_msg(MON_SRC_WORKER, &m, &out), MON_V_FATAL);
	assert_non_null(strstr(out.why, "malformed MON_LOGIN"));
}

static void
test_oversized_and_empty(void **state)
{
	unsigned char big[KF_IPC_MSG_MAX + 8];
	struct mon_out out;
	struct ipc_msg m;

	memset(big, 0, sizeof(big));
	assert_int_equal(mon_dispatch(&st, &ops, MON_SRC_WORKER, big,
			     sizeof(big), &out),
	    MON_V_FATAL);
	assert_non_null(strstr(out.why, "oversized"));
	assert_int_equal(mon_dispatch(&st, &ops, MON_SRC_WORKER, big, 0, &out),
	    MON_V_FATAL);
	assert_non_null(strstr(out.why, "empty"));
	/* header length that is not the datagram's */
	assert_int_equal(mon_dispatch(&st, &ops, MON_SRC_WORKER, big, 12, &out),
	    MON_V_FATAL);
	assert_non_null(strstr(out.why, "malformed header"));
	/* a payload over the request's own bound */
	ipc_init(&m, MON_TLS_PEER);
	ipc_put_bytes(&m, big, 4 + KF_USER_MAX + 1);
	assert_int_equal(send_msg(MON_SRC_RELAY, &m, &out), MON_V_FATAL);
	assert_non_null(strstr(out.why, "oversized"));
	st.phase = MPH_SESSION;
	ipc_init(&m, MON_CCC);
	ipc_put_u32(&m, 1);
	assert_int_equal(send_msg(MON_SRC_WORKER, &m, &out), MON_V_FATAL);
	assert_non_null(strstr(out.why, "oversized"));
}

/* Once, whatever the first one held (a CN that is not a name). */
static void
test_tls_peer_twice(void **state)
{
	struct mon_out out;
	struct ipc_msg m;

	ipc_init(&m, MON_TLS_PEER);
	ipc_put_str(&m, "not a name!", KF_USER_MAX);
	assert_int_equal(send_msg(MON_SRC_RELAY, &m, &out), MON_V_NONE);
	assert_string_equal(st.cert_cn, "");
	assert_non_null(strstr(last_log, "not a user name"));
	ipc_init(&m, MON_TLS_PEER);
	ipc_put_str(&m, "alice", KF_USER_MAX);
	assert_int_equal(send_msg(MON_SRC_RELAY, &m, &out), MON_V_FATAL);
	assert_non_null(strstr(out.why, "second"));
	assert_string_equal(st.cert_cn, "");
}

static void
proxy_msg(struct ipc_msg *m, uint32_t local, uint32_t fam, const void *a,
    size_t n, uint32_t port)
{
	ipc_init(m, MON_PROXY);
	ipc_put_u32(m, local);
	ipc_put_u32(m, fam);
	ipc_put_blob(m, a, n, 16);
	ipc_put_u32(m, port);
}

/*
 * MON_PROXY: first and once on a proxy listener, never elsewhere; the
 * address is checked before the listener is asked.
 */
static void
test_proxy_header(void **state)
{
	static const unsigned char v4[4] = { 198, 51, 100, 7 }, zero[16];
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)&proxy_asked;
	struct mon_out out;
	struct ipc_msg m;

	/* not a proxy listener: refused, nobody asked */
	proxy_msg(&m, 0, 4, v4, 4, 40000);
	assert_int_equal(send_msg(MON_SRC_WORKER, &m, &out), MON_V_FATAL);
	assert_int_equal(proxy_asks, 0);
	/* a proxy listener: a login before the header is fatal */
	setup(NULL);
	st.proxy_wait = 1;
	assert_int_equal(login("alice", "good", &out), MON_V_FATAL);
	assert_non_null(strstr(out.why, "before the PROXY header"));
	assert_int_equal(verifies, 0);
	/* malformed: sizes that disagree, zeros, port 0 or past 65535 */
	proxy_msg(&m, 0, 4, v4, 3, 1);
	assert_int_equal(send_msg(MON_SRC_WORKER, &m, &out), MON_V_FATAL);
	proxy_msg(&m, 0, 6, v4, 4, 1);
	assert_int_equal(send_msg(MON_SRC_WORKER, &m, &out), MON_V_FATAL);
	proxy_msg(&m, 0, 6, zero, 16, 1);
	assert_int_equal(send_msg(MON_SRC_WORKER, &m, &out), MON_V_FATAL);
	proxy_msg(&m, 0, 4, v4, 4, 65536);
	assert_int_equal(send_msg(MON_SRC_WORKER, &m, &out), MON_V_FATAL);
	proxy_msg(&m, 0, 4, v4, 4, 0);
	assert_int_equal(send_msg(MON_SRC_WORKER, &m, &out), MON_V_FATAL);
	proxy_msg(&m, 1, 4, v4, 4, 1);
	assert_int_equal(send_msg(MON_SRC_WORKER, &m, &out), MON_V_FATAL);
	proxy_msg(&m, 2, 0, "", 0, 0);
	assert_int_equal(send_msg(MON_SRC_WORKER, &m, &out), MON_V_FATAL);
	assert_int_equal(proxy_asks, 0);
	assert_int_equal(st.proxy_wait, 1);
	/* refused by the listener: the end */
	proxy_verdict = -1;
	proxy_msg(&m, 0, 4, v4, 4, 40000);
	assert_int_equal(send_msg(MON_SRC_WORKER, &m, &out), MON_V_FATAL);
	assert_int_equal(proxy_asks, 1);
	/* admitted: the answer, then logins; a second header is fatal */
	proxy_verdict = 0;
	assert_int_equal(send_msg(MON_SRC_WORKER, &m, &out), MON_V_REPLY);
	assert_int_equal(out.rep.type, MON_PROXY_RESULT);
	assert_int_equal(result_of(&out), 1);
	assert_int_equal(s4->sin_family, AF_INET);
	assert_memory_equal(&s4->sin_addr, v4, 4);
	assert_int_equal(ntohs(s4->sin_port), 40000);
	assert_int_equal(st.proxy_wait, 0);
	assert_int_equal(send_msg(MON_SRC_WORKER, &m, &out), MON_V_FATAL);
	assert_int_equal(login("alice", "good", &out), MON_V_REPLY);
	/* LOCAL: the listener is asked about the connection's own address */
	setup(NULL);
	st.proxy_wait = 1;
	proxy_msg(&m, 1, 0, "", 0, 0);
	assert_int_equal(send_msg(MON_SRC_WORKER, &m, &out), MON_V_REPLY);
	assert_int_equal(proxy_asks, 1);
	assert_int_equal(proxy_asked.ss_family, AF_UNSPEC);
}

/* The cert login needs the relay's CN, TLS and the option. */
static void
test_cert_login(void **state)
{
	struct mon_out out;
	struct ipc_msg m;

	cf.tls_client_cert_login = 1;
	st.tls = 1;
	ipc_init(&m, MON_TLS_PEER);
	ipc_put_str(&m, "alice", KF_USER_MAX);
	assert_int_equal(send_msg(MON_SRC_RELAY, &m, &out), MON_V_NONE);
	assert_int_equal(login("bob", "", &out), MON_V_REPLY);
	assert_int_equal(result_of(&out), MON_LOGIN_FAILED);
	assert_int_equal(certs, 0);
	assert_int_equal(login("alice", "", &out), MON_V_REPLY);
	assert_int_equal(result_of(&out), MON_LOGIN_OK);
	assert_int_equal(certs, 1);
}

/* AUTH TLS: no certificate loaded answers 0 and may come again. */
static void
test_auth_tls_once(void **state)
{
	struct mon_out out;
	struct ipc_msg m;

	ipc_init(&m, MON_AUTH_TLS);
	ipc_put_u32(&m, 0);
	ipc_put_str(&m, "", CONF_HOST_MAX);
	tls_ready = 0;
	assert_int_equal(send_msg(MON_SRC_WORKER, &m, &out), MON_V_REPLY);
	assert_int_equal(result_of(&out), 0);
	tls_ready = 1;
	assert_int_equal(send_msg(MON_SRC_WORKER, &m, &out), MON_V_REPLY);
	assert_int_equal(result_of(&out), 1);
	assert_int_equal(st.auth_granted, 1);
	/* the next pre-login worker (after the relay started) */
	st.phase = MPH_PRELOGIN;
	assert_int_equal(send_msg(MON_SRC_WORKER, &m, &out), MON_V_FATAL);
	assert_non_null(strstr(out.why, "second"));
	/* a host the monitor does not hold */
	setup(NULL);
	ipc_init(&m, MON_AUTH_TLS);
	ipc_put_u32(&m, 1);
	ipc_put_str(&m, "evil.example", CONF_HOST_MAX);
	assert_int_equal(send_msg(MON_SRC_WORKER, &m, &out), MON_V_FATAL);
}

/* The fake relay confirms CCC through the table, as the real one does. */
static int
fake_ccc(void *ctx)
{
	struct mon_out out;
	struct ipc_msg m;

	ipc_init(&m, MON_TLS_SESSION);
	ipc_put_blob(&m, "sess", 4, KF_TLS_SESSION_MAX);
	if (send_msg(MON_SRC_RELAY, &m, &out) != MON_V_NONE)
		return 0;
	ipc_init(&m, RELAY_CCC_DONE);
	return send_msg(MON_SRC_RELAY, &m, &out) == MON_V_NONE;
}

static void
test_ccc_once(void **state)
{
	struct mon_out out;
	struct ipc_msg m;

	st.phase = MPH_SESSION;
	st.tls = 1;
	st.relay = 1;
	ipc_init(&m, MON_CCC);
	assert_int_equal(send_msg(MON_SRC_WORKER, &m, &out), MON_V_FATAL);
	assert_non_null(strstr(out.why, "tls_ccc_enable"));
	cf.tls_ccc_enable = 1;
	assert_int_equal(send_msg(MON_SRC_WORKER, &m, &out), MON_V_REPLY);
	assert_int_equal(result_of(&out), 1);
	assert_int_equal(st.tls, 0);
	assert_int_equal(st.ccc, 1);
	assert_int_equal(sess_len, 4);
	assert_int_equal(st.phase, MPH_SESSION);
	st.tls = 1; /* even if it were TLS again */
	assert_int_equal(send_msg(MON_SRC_WORKER, &m, &out), MON_V_FATAL);
	assert_non_null(strstr(out.why, "second"));
}

/* REIN keeps the failure count; at most KF_REIN_MAX. */
static void
test_rein_count(void **state)
{
	struct mon_out out;
	int i;

	assert_int_equal(login("alice", "bad", &out), MON_V_REPLY);
	assert_int_equal(login("alice", "good", &out), MON_V_REPLY);
	for (i = 0; i < KF_REIN_MAX; i++) {
		st.phase = MPH_SESSION;
		assert_int_equal(mon_rein(&st), 0);
		assert_int_equal(st.phase, MPH_PRELOGIN);
		assert_int_equal(st.logged_in, 0);
		assert_string_equal(ident.name, "");
	}
	assert_int_equal(mon_rein(&st), -1);
	assert_int_equal(st.failures, 1);
	assert_int_equal(login("alice", "bad", &out), MON_V_REPLY);
	assert_int_equal(st.failures, 2);
	assert_int_equal(login("alice", "bad", &out), MON_V_REPLY);
	assert_int_equal(result_of(&out), MON_LOGIN_FAILED_CLOSE);
}

/*
 * A hostile pre-login worker: its own process on a real socketpair,
 * sending MON_LOGIN after MON_LOGIN without waiting for the answers
 * and ignoring FAILED_CLOSE. The monitor's loop (mon_serve_one, as
 * monitor.c calls it) verifies max_login_failures of them, sleeps the
 * whole delay before each answer (real time), then ends the session.
 */
static void
test_hostile_worker_loop(void **state)
{
	struct mon_out out;
	struct ipc_msg m;
	enum mon_verdict v = MON_V_NONE;
	int sv[2], gone = 0, i, answers = 0, status;
	int64_t t0;
	pid_t pid;

	real_sleep = 1;
	cf.max_login_failures = 3;
	cf.login_fail_delay_ms = 100;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	if ((pid = fork()) == 0) {
		close(sv[0]);
		for (i = 0; i < 20; i++) {
			login_msg(&m, "alice", i < 19 ? "bad" : "good");
			if (ipc_send(sv[1], &m) < 0)
				break;
		}
		pause();
		_exit(0);
	}
	close(sv[1]);
	t0 = sys_now_ms();
	while (v != MON_V_FATAL && !gone) {
		assert_true(sys_poll1(sv[0], POLLIN, 5000) > 0);
		v = mon_serve_one(&st, &ops, MON_SRC_WORKER, sv[0], &out,
		    &gone);
		if (v == MON_V_REPLY)
			answers++;
	}
	assert_int_equal(v, MON_V_FATAL);
	assert_int_equal(answers, 3);
	assert_int_equal(verifies, 3);
	assert_true(sys_now_ms() - t0 >= 100 + 200 + 400);
	assert_non_null(strstr(out.why, "max_login_failures"));
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(sv[0]);
}

/* An empty datagram on the request socket is refused, not EOF. */
static void
test_serve_empty_and_gone(void **state)
{
	struct mon_out out;
	int sv[2], gone;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(send(sv[1], "", 0, 0), 0);
	assert_int_equal(mon_serve_one(&st, &ops, MON_SRC_WORKER, sv[0], &out,
			     &gone),
	    MON_V_FATAL);
	assert_int_equal(gone, 0);
	assert_non_null(strstr(out.why, "empty"));
	close(sv[1]);
	assert_int_equal(mon_serve_one(&st, &ops, MON_SRC_WORKER, sv[0], &out,
			     &gone),
	    MON_V_NONE);
	assert_int_equal(gone, 1);
	close(sv[0]);
}

static void
status_msg(struct ipc_msg *m, const char *verb, const char *path,
    uint64_t bytes)
{
	ipc_init(m, MON_STATUS);
	ipc_put_str(m, verb, 64);
	ipc_put_str(m, path, 4096);
	ipc_put_u32(m, (uint32_t)(bytes >> 32));
	ipc_put_u32(m, (uint32_t)bytes);
}

static enum mon_verdict
status(const char *verb, const char *path, uint64_t bytes, struct mon_out *out)
{
	struct ipc_msg m;

	status_msg(&m, verb, path, bytes);
	return send_msg(MON_SRC_WORKER, &m, out);
}

/* MON_STATUS: after login only, from the worker only. */
static void
test_status_phase(void **state)
{
	struct mon_out out;
	struct ipc_msg m;

	assert_int_equal(status("RETR", "/a", 1, &out), MON_V_FATAL);
	assert_non_null(strstr(out.why, "out of order"));
	st.phase = MPH_EXITING;
	assert_int_equal(status("RETR", "/a", 1, &out), MON_V_FATAL);
	st.phase = MPH_SESSION;
	status_msg(&m, "RETR", "/a", 1);
	assert_int_equal(send_msg(MON_SRC_RELAY, &m, &out), MON_V_FATAL);
	assert_int_equal(who_reports, 0);
	assert_int_equal(status("RETR", "/a", 1, &out), MON_V_NONE);
	assert_int_equal(who_reports, 1);
	assert_string_equal(who_last.verb, "RETR");
	assert_string_equal(who_last.path, "/a");
	assert_true(who_last.bytes == 1);
}

/*
 * Oversized path or verb, a verb with other characters (client bytes),
 * trailing bytes (an id appended, say): fatal, nothing forwarded.
 */
static void
test_status_bounds(void **state)
{
	char path[KF_WHO_PATH_MAX + 2];
	struct mon_out out;
	struct ipc_msg m;

	st.phase = MPH_SESSION;
	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(status("RETR", path, 1, &out), MON_V_FATAL);
	assert_non_null(strstr(out.why, "MON_STATUS"));
	path[KF_WHO_PATH_MAX] = '\0'; /* exactly the bound: fine */
	assert_int_equal(status("RETR", path, 1, &out), MON_V_NONE);
	assert_int_equal(status("XSHA256X9", "/a", 1, &out), MON_V_FATAL);
	assert_int_equal(status("retr", "/a", 1, &out), MON_V_FATAL);
	assert_non_null(strstr(out.why, "bad verb"));
	assert_int_equal(status("RE\nTR", "/a", 1, &out), MON_V_FATAL);
	status_msg(&m, "RETR", "/a", 1);
	ipc_put_u32(&m, 7);
	assert_int_equal(send_msg(MON_SRC_WORKER, &m, &out), MON_V_FATAL);
	assert_non_null(strstr(out.why, "trailing"));
	assert_int_equal(who_reports, 1);
}

/*
 * Too frequent: one forward per KF_WHO_REPORT_MS (the latest, later);
 * over the bucket, reports are dropped and counted, never logged.
 */
static void
test_status_rate(void **state)
{
	struct mon_out out;
	int i;

	st.phase = MPH_SESSION;
	for (i = 0; i < 1000; i++)
		assert_int_equal(status("RETR", "/big", (uint64_t)i, &out),
		    MON_V_NONE);
	/* the first two at once (the forward burst), then none */
	assert_int_equal(who_reports, KF_WHO_FWD_BURST);
	assert_int_equal(st.who.dropped, 1000 - KF_WHO_BURST);
	assert_int_equal(logs, 0);
	/* the latest kept is the last one under the bucket */
	assert_true(st.who.bytes == KF_WHO_BURST - 1);
	assert_true(mon_who_flush(&st, &ops, fake_now + 999) ==
	    fake_now + KF_WHO_REPORT_MS);
	assert_int_equal(who_reports, KF_WHO_FWD_BURST);
	assert_true(mon_who_flush(&st, &ops, fake_now + 1000) == -1);
	assert_int_equal(who_reports, KF_WHO_FWD_BURST + 1);
	assert_true(who_last.bytes == KF_WHO_BURST - 1);
	/* nothing new: nothing sent */
	assert_true(mon_who_flush(&st, &ops, fake_now + 5000) == -1);
	assert_int_equal(who_reports, KF_WHO_FWD_BURST + 1);
	/* steady: one a second, never two within one */
	fake_now += 5000;
	assert_int_equal(status("RETR", "/big", 1, &out), MON_V_NONE);
	assert_int_equal(status("RETR", "/big", 2, &out), MON_V_NONE);
	assert_int_equal(status("RETR", "/big", 3, &out), MON_V_NONE);
	assert_int_equal(who_reports, KF_WHO_FWD_BURST + 3);
	assert_true(who_last.bytes == 2);
	assert_true(
	    mon_who_flush(&st, &ops, fake_now + 500) == fake_now + 1000);
	fake_now += 3000;
	assert_int_equal(status("", "", 0, &out), MON_V_NONE);
	assert_int_equal(who_reports, KF_WHO_FWD_BURST + 4);
	assert_string_equal(who_last.verb, "");
	/* REIN forgets it */
	assert_int_equal(mon_rein(&st), 0);
	assert_int_equal(st.who.dropped, 0);
	assert_string_equal(st.who.verb, "");
}

static int m_verifies, m_logins, m_xfers, m_tlss;
static unsigned m_result, m_method, m_dir, m_ok;
static uint64_t m_bytes;

static void
fake_m_verify(const struct conf *c, const char *user)
{
	m_verifies++;
}

static void
fake_m_login(unsigned result, unsigned method)
{
	m_logins++;
	m_result = result;
	m_method = method;
}

static void
fake_m_xfer(unsigned dir, unsigned ok, uint64_t bytes)
{
	m_xfers++;
	m_dir = dir;
	m_ok = ok;
	m_bytes = bytes;
}

static void
fake_m_tls(unsigned ok)
{
	m_tlss++;
	m_ok = ok;
}

static enum mon_verdict
xfer(uint32_t dir, uint32_t ok, uint64_t bytes, struct mon_out *out)
{
	struct ipc_msg m;

	ipc_init(&m, MON_XFER_DONE);
	ipc_put_u32(&m, dir);
	ipc_put_u32(&m, ok);
	ipc_put_u32(&m, (uint32_t)(bytes >> 32));
	ipc_put_u32(&m, (uint32_t)bytes);
	return send_msg(MON_SRC_WORKER, &m, out);
}

/*
 * metrics_listen: a verification and a login's result and method per
 * MON_LOGIN, MON_XFER_DONE only after login and in range, the relay's
 * handshake counted once.
 */
static void
test_metrics_reports(void **state)
{
	struct mon_out out;
	struct ipc_msg m;

	ops.m_verify = fake_m_verify;
	ops.m_login = fake_m_login;
	ops.m_xfer = fake_m_xfer;
	ops.m_tls = fake_m_tls;
	m_verifies = m_logins = m_xfers = m_tlss = 0;
	assert_int_equal(xfer(0, 1, 10, &out), MON_V_FATAL); /* before login */
	assert_int_equal(login("alice", "bad", &out), MON_V_REPLY);
	assert_int_equal(m_verifies, 1);
	assert_int_equal(m_logins, 1);
	assert_int_equal(m_result, MX_FAILED);
	assert_int_equal(m_method, MX_M_PASSWORD);
	assert_int_equal(login("alice", "good", &out), MON_V_REPLY);
	assert_int_equal(m_verifies, 2);
	assert_int_equal(m_result, MX_OK);
	assert_int_equal(m_method, MX_M_USERS_FILE);
	st.phase = MPH_SESSION;
	assert_int_equal(xfer(1, 1, (1ULL << 32) + 5, &out), MON_V_NONE);
	assert_int_equal(m_xfers, 1);
	assert_true(m_dir == 1 && m_ok == 1 && m_bytes == (1ULL << 32) + 5);
	assert_int_equal(xfer(2, 1, 5, &out), MON_V_FATAL);
	assert_int_equal(xfer(0, 2, 5, &out), MON_V_FATAL);
	assert_int_equal(m_xfers, 1);
	/* from the relay only, the first one counted */
	ipc_init(&m, MON_TLS_HANDSHAKE);
	ipc_put_u32(&m, 1);
	assert_int_equal(send_msg(MON_SRC_WORKER, &m, &out), MON_V_FATAL);
	assert_int_equal(send_msg(MON_SRC_RELAY, &m, &out), MON_V_NONE);
	assert_int_equal(send_msg(MON_SRC_RELAY, &m, &out), MON_V_NONE);
	assert_int_equal(m_tlss, 1);
	ops.m_verify = NULL;
	ops.m_login = NULL;
	ops.m_xfer = NULL;
	ops.m_tls = NULL;
}

/* MON_UPLOAD_HOOK: the fake hook records what the monitor would run. */
static int hook_calls, hook_answer, hook_fd_seen, hook_check_seen;
static char hook_path[KF_PATH_MAX + 1];

static int
fake_hook(void *ctx, const char *path, int fd, int check)
{
	hook_calls++;
	hook_fd_seen = fd;
	hook_check_seen = check;
	snprintf(hook_path, sizeof(hook_path), "%s", path);
	return hook_answer;
}

static void
hook_setup(void)
{
	ops.upload_hook = fake_hook;
	snprintf(cf.upload_hook, sizeof(cf.upload_hook), "/usr/bin/true");
	st.phase = MPH_SESSION;
	hook_calls = 0;
	hook_answer = 1;
}

static void
hook_msg(struct ipc_msg *m, const char *path)
{
	ipc_init(m, MON_UPLOAD_HOOK);
	assert_int_equal(ipc_put_str(m, path, KF_PATH_MAX), 0);
}

/* A descriptor the frame carries, as mon_serve_one would set it. */
static int
with_fd(void)
{
	int fd = dup(STDIN_FILENO);

	assert_true(fd >= 0);
	st.req_fd = fd;
	return fd;
}

static void
assert_closed(int fd)
{
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	assert_int_equal(st.req_fd, -1);
}

static enum mon_verdict
hook_send(const char *path, struct mon_out *out)
{
	struct ipc_msg m;

	hook_msg(&m, path);
	return send_msg(MON_SRC_WORKER, &m, out);
}

static void
test_upload_hook_phase_and_config(void **state)
{
	struct mon_out out;
	int fd;

	hook_setup();
	st.phase = MPH_PRELOGIN;
	fd = with_fd();
	assert_int_equal(hook_send("/a.txt", &out), MON_V_FATAL);
	assert_non_null(strstr(out.why, "out of order"));
	assert_closed(fd);
	st.phase = MPH_EXITING;
	fd = with_fd();
	assert_int_equal(hook_send("/a.txt", &out), MON_V_FATAL);
	assert_closed(fd);
	/* no hook configured: an honest worker never asks */
	st.phase = MPH_SESSION;
	cf.upload_hook[0] = '\0';
	fd = with_fd();
	assert_int_equal(hook_send("/a.txt", &out), MON_V_FATAL);
	assert_non_null(strstr(out.why, "no upload_hook"));
	assert_closed(fd);
	/* from the relay: not its request */
	snprintf(cf.upload_hook, sizeof(cf.upload_hook), "/usr/bin/true");
	fd = with_fd();
	{
		struct ipc_msg m;

		hook_msg(&m, "/a.txt");
		assert_int_equal(send_msg(MON_SRC_RELAY, &m, &out),
		    MON_V_FATAL);
	}
	assert_closed(fd);
	assert_int_equal(hook_calls, 0);
}

static void
test_upload_hook_descriptors(void **state)
{
	struct mon_out out;
	struct ipc_msg m;
	int fd;

	hook_setup();
	/* missing: the request needs exactly one */
	assert_int_equal(hook_send("/a.txt", &out), MON_V_FATAL);
	assert_non_null(strstr(out.why, "no descriptor"));
	/* one on a request that takes none */
	cf.tls_ccc_enable = 1;
	st.tls = st.relay = 1;
	fd = with_fd();
	ipc_init(&m, MON_CCC);
	assert_int_equal(send_msg(MON_SRC_WORKER, &m, &out), MON_V_FATAL);
	assert_non_null(strstr(out.why, "does not take"));
	assert_closed(fd);
	assert_int_equal(hook_calls, 0);
}

static void
test_upload_hook_path_and_size(void **state)
{
	static const char *const bad[] = { "a.txt", "", "/", "/a/../b",
		"/../etc/passwd", "/a//b", "/./a", "/a/.", "/a/" };
	unsigned char f[KF_IPC_MSG_MAX];
	struct mon_out out;
	struct ipc_msg m;
	size_t i, n;
	int fd;

	hook_setup();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fd = with_fd();
		assert_int_equal(hook_send(bad[i], &out), MON_V_FATAL);
		assert_non_null(strstr(out.why, "clean absolute path"));
		assert_closed(fd);
	}
	/* oversized: a path one byte over KF_PATH_MAX */
	ipc_init(&m, MON_UPLOAD_HOOK);
	ipc_put_u32(&m, KF_PATH_MAX + 1);
	m.data[4] = '/';
	memset(m.data + 5, 'a', KF_PATH_MAX);
	m.len = 4 + KF_PATH_MAX + 1;
	n = frame_of(&m, f);
	fd = with_fd();
	assert_int_equal(mon_dispatch(&st, &ops, MON_SRC_WORKER, f, n, &out),
	    MON_V_FATAL);
	assert_non_null(strstr(out.why, "oversized"));
	assert_closed(fd);
	/* trailing bytes */
	hook_msg(&m, "/a.txt");
	ipc_put_u32(&m, 0);
	fd = with_fd();
	assert_int_equal(send_msg(MON_SRC_WORKER, &m, &out), MON_V_FATAL);
	assert_non_null(strstr(out.why, "trailing"));
	assert_closed(fd);
	/* a name with a newline or a dash is one clean name */
	fd = with_fd();
	assert_int_equal(hook_send("/-x\nrm -rf ;", &out), MON_V_NONE);
	assert_string_equal(hook_path, "/-x\nrm -rf ;");
	assert_closed(fd);
	assert_int_equal(hook_calls, 1);
}

/* After mode: no answer; check mode: the hook's verdict; never "once". */
static void
test_upload_hook_modes_and_twice(void **state)
{
	struct mon_out out;
	int fd;

	hook_setup();
	fd = with_fd();
	assert_int_equal(hook_send("/d/a.txt", &out), MON_V_NONE);
	assert_int_equal(hook_fd_seen, fd);
	assert_int_equal(hook_check_seen, 0);
	assert_closed(fd);
	snprintf(cf.upload_hook_mode, sizeof(cf.upload_hook_mode), "check");
	fd = with_fd();
	assert_int_equal(hook_send("/d/a.txt", &out), MON_V_REPLY);
	assert_int_equal(out.rep.type, MON_UPLOAD_HOOK_RESULT);
	assert_int_equal(result_of(&out), 1);
	assert_int_equal(hook_check_seen, 1);
	assert_closed(fd);
	hook_answer = 0;
	fd = with_fd();
	assert_int_equal(hook_send("/d/a.txt", &out), MON_V_REPLY);
	assert_int_equal(result_of(&out), 0);
	assert_closed(fd);
	assert_int_equal(hook_calls, 3);
	assert_string_equal(hook_path, "/d/a.txt");
}

/* Over a real socketpair: one fd is taken, two end the session. */
static void
test_upload_hook_serve_fds(void **state)
{
	unsigned char f[KF_IPC_MSG_MAX];
	struct mon_out out;
	struct ipc_msg m;
	int sv[2], fds[2], gone;
	size_t n;

	hook_setup();
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	hook_msg(&m, "/x.bin");
	n = frame_of(&m, f);
	fds[0] = fds[1] = STDIN_FILENO;
	assert_int_equal(ipc_send_fds(sv[1], MON_UPLOAD_HOOK, f + 8, n - 8, fds,
			     1),
	    0);
	assert_int_equal(mon_serve_one(&st, &ops, MON_SRC_WORKER, sv[0], &out,
			     &gone),
	    MON_V_NONE);
	assert_int_equal(hook_calls, 1);
	assert_int_equal(st.req_fd, -1);
	assert_int_equal(ipc_send_fds(sv[1], MON_UPLOAD_HOOK, f + 8, n - 8, fds,
			     2),
	    0);
	assert_int_equal(mon_serve_one(&st, &ops, MON_SRC_WORKER, sv[0], &out,
			     &gone),
	    MON_V_FATAL);
	assert_non_null(strstr(out.why, "more than one descriptor"));
	assert_int_equal(hook_calls, 1);
	close(sv[0]);
	close(sv[1]);
}

/*
 * MON_ANON_OWN: the real handler on real files (as root: it changes
 * owners). A drop-box /incoming in a root of its own; the anonymous
 * account is uid 65534, the owner uid 1 (daemon's, whatever its name).
 */
static char own_root[64];

static void
own_setup(void)
{
	char p[128];

	if (geteuid() != 0)
		skip();
	snprintf(own_root, sizeof(own_root), "/tmp/kf-own.XXXXXX");
	assert_non_null(mkdtemp(own_root));
	snprintf(p, sizeof(p), "%s/incoming", own_root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/incoming/sub", own_root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/pub", own_root);
	assert_int_equal(mkdir(p, 0755), 0);
	ident.anonymous = 1;
	ident.uid = ident.gid = 65534;
	snprintf(ident.root, sizeof(ident.root), "%s", own_root);
	assert_int_equal(perm_set_dirs(&ident.perms, "/incoming", 9,
			     PERM_UPLOAD),
	    0);
	st.phase = MPH_SESSION;
	st.logged_in = 1;
	st.owner_ok = 1;
	st.owner_uid = st.owner_gid = 1;
	snprintf(cf.anon_upload_owner, sizeof(cf.anon_upload_owner), "daemon");
	cf.anon_upload_mode = 0640;
}

static void
own_teardown(void)
{
	assert_int_equal(tree_remove(own_root), 0);
}

/* rel in the root made (mode 0600, the anonymous account's), opened. */
static int
own_file(const char *rel, uid_t uid)
{
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", own_root, rel);
	fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fchown(fd, uid, uid), 0);
	return fd;
}

static enum mon_verdict
own_send(int fd, struct mon_out *out)
{
	struct ipc_msg m;

	st.req_fd = fd >= 0 ? dup(fd) : -1;
	ipc_init(&m, MON_ANON_OWN);
	return send_msg(MON_SRC_WORKER, &m, out);
}

static void
assert_own_refused(int fd, const char *why)
{
	struct mon_out out;

	assert_int_equal(own_send(fd, &out), MON_V_FATAL);
	if (strstr(out.why, why) == NULL)
		fail_msg("why: %s (wanted %s)", out.why, why);
	assert_int_equal(st.req_fd, -1);
}

/* Handed over: the owner's, anon_upload_mode; a second time is fatal. */
static void
test_anon_own_gives(void **state)
{
	struct mon_out out;
	struct stat sb;
	int fd;

	own_setup();
	fd = own_file("incoming/a.txt", 65534);
	assert_int_equal(own_send(fd, &out), MON_V_REPLY);
	assert_int_equal(out.rep.type, MON_ANON_OWN_RESULT);
	assert_int_equal(result_of(&out), 1);
	assert_int_equal(fstat(fd, &sb), 0);
	assert_int_equal(sb.st_uid, 1);
	assert_int_equal(sb.st_gid, 1);
	assert_int_equal(sb.st_mode & 07777, 0640);
	assert_non_null(strstr(last_log, "incoming/a.txt"));
	/* the same upload again: no longer the anonymous account's */
	assert_own_refused(fd, "not owned by the anonymous account");
	close(fd);
	/* beneath the drop-box: a subdirectory is in it */
	fd = own_file("incoming/sub/b.txt", 65534);
	assert_int_equal(own_send(fd, &out), MON_V_REPLY);
	assert_int_equal(result_of(&out), 1);
	close(fd);
	own_teardown();
}

/* A hostile worker's files: each refusal ends the session. */
static void
test_anon_own_refuses_files(void **state)
{
	char a[256], b[256];
	struct stat sb;
	int fd;

	own_setup();
	/* not the anonymous account's */
	fd = own_file("incoming/root.txt", 0);
	assert_own_refused(fd, "not owned by the anonymous account");
	close(fd);
	/* a hard link: the file has another name */
	fd = own_file("incoming/l1", 65534);
	snprintf(a, sizeof(a), "%s/incoming/l1", own_root);
	snprintf(b, sizeof(b), "%s/pub/l2", own_root);
	assert_int_equal(link(a, b), 0);
	assert_own_refused(fd, "more than one link");
	assert_int_equal(fstat(fd, &sb), 0);
	assert_int_equal(sb.st_uid, 65534); /* untouched */
	close(fd);
	/* a directory */
	snprintf(a, sizeof(a), "%s/incoming/sub", own_root);
	assert_int_equal(chown(a, 65534, 65534), 0);
	fd = open(a, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_own_refused(fd, "not a regular file");
	close(fd);
	/* outside the drop-boxes */
	fd = own_file("pub/out.txt", 65534);
	assert_own_refused(fd, "not in an anon_upload_dirs");
	close(fd);
	/* a set-id bit */
	fd = own_file("incoming/suid", 65534);
	assert_int_equal(fchmod(fd, 04600), 0);
	assert_own_refused(fd, "set-id");
	close(fd);
	/* no descriptor at all */
	assert_own_refused(-1, "no descriptor");
	own_teardown();
}

/* A drop-box replaced by a symlink to another directory: not followed. */
static void
test_anon_own_symlinked_dir(void **state)
{
	char a[256], b[256];
	int fd;

	own_setup();
	snprintf(a, sizeof(a), "%s/incoming", own_root);
	snprintf(b, sizeof(b), "%s/in.real", own_root);
	assert_int_equal(rename(a, b), 0);
	assert_int_equal(symlink("pub", a), 0);
	fd = own_file("pub/x.txt", 65534);
	assert_own_refused(fd, "not in an anon_upload_dirs");
	close(fd);
	own_teardown();
}

/* The session and the configuration: anonymous, with an owner. */
static void
test_anon_own_session(void **state)
{
	struct mon_out out;
	struct ipc_msg m;
	int fd, i;

	own_setup();
	fd = own_file("incoming/s.txt", 65534);
	ident.anonymous = 0;
	assert_own_refused(fd, "not an anonymous session");
	ident.anonymous = 1;
	st.owner_ok = 0;
	assert_own_refused(fd, "no anon_upload_owner");
	st.owner_ok = 1;
	cf.anon_upload_owner[0] = '\0';
	assert_own_refused(fd, "no anon_upload_owner");
	snprintf(cf.anon_upload_owner, sizeof(cf.anon_upload_owner), "daemon");
	st.phase = MPH_PRELOGIN;
	assert_own_refused(fd, "out of order");
	st.phase = MPH_SESSION;
	/* a payload: it has none */
	st.req_fd = dup(fd);
	ipc_init(&m, MON_ANON_OWN);
	ipc_put_u32(&m, 0);
	assert_int_equal(send_msg(MON_SRC_WORKER, &m, &out), MON_V_FATAL);
	assert_non_null(strstr(out.why, "oversized"));
	/* a flood: the bucket emptied at this instant */
	for (i = 0; i < KF_ANON_OWN_BURST; i++)
		(void)rate_take(&st.own_bucket, fake_now, KF_ANON_OWN_RATE,
		    KF_ANON_OWN_BURST);
	assert_own_refused(fd, "flood");
	close(fd);
	own_teardown();
}

/* Every row is reachable and its handler is the table's only way in. */
static void
test_table_rows(void **state)
{
	size_t i, j;

	assert_int_equal(mon_table_len, 12);
	for (i = 0; i < mon_table_len; i++) {
		assert_non_null(mon_table[i].handler);
		assert_true(mon_table[i].phases != 0);
		/* "once" is a bit of a u32: only types below 32 may be once */
		assert_true(mon_table[i].type < 32 || !mon_table[i].once);
		assert_true(
		    mon_table[i].max_len <= KF_IPC_MSG_MAX - IPC_HDR_LEN);
		for (j = i + 1; j < mon_table_len; j++)
			assert_int_not_equal(mon_table[i].type,
			    mon_table[j].type);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_failures_beyond_max, setup),
		cmocka_unit_test_setup(test_delay_doubles_to_cap, setup),
		cmocka_unit_test_setup(test_login_then_out_of_order, setup),
		cmocka_unit_test_setup(test_login_max_sessions, setup),
		cmocka_unit_test_setup(test_login_hours, setup),
		cmocka_unit_test_setup(test_wrong_phase, setup),
		cmocka_unit_test_setup(test_not_its_request, setup),
		cmocka_unit_test_setup(test_trailing_bytes, setup),
		cmocka_unit_test_setup(test_oversized_and_empty, setup),
		cmocka_unit_test_setup(test_tls_peer_twice, setup),
		cmocka_unit_test_setup(test_cert_login, setup),
		cmocka_unit_test_setup(test_auth_tls_once, setup),
		cmocka_unit_test_setup(test_ccc_once, setup),
		cmocka_unit_test_setup(test_rein_count, setup),
		cmocka_unit_test_setup(test_hostile_worker_loop, setup),
		cmocka_unit_test_setup(test_serve_empty_and_gone, setup),
		cmocka_unit_test_setup(test_status_phase, setup),
		cmocka_unit_test_setup(test_status_bounds, setup),
		cmocka_unit_test_setup(test_status_rate, setup),
		cmocka_unit_test_setup(test_metrics_reports, setup),
		cmocka_unit_test_setup(test_table_rows, setup),
		cmocka_unit_test_setup(test_upload_hook_phase_and_config,
		    setup),
		cmocka_unit_test_setup(test_upload_hook_descriptors, setup),
		cmocka_unit_test_setup(test_upload_hook_path_and_size, setup),
		cmocka_unit_test_setup(test_upload_hook_modes_and_twice, setup),
		cmocka_unit_test_setup(test_upload_hook_serve_fds, setup),
		cmocka_unit_test_setup(test_proxy_header, setup),
		cmocka_unit_test_setup(test_anon_own_gives, setup),
		cmocka_unit_test_setup(test_anon_own_refuses_files, setup),
		cmocka_unit_test_setup(test_anon_own_symlinked_dir, setup),
		cmocka_unit_test_setup(test_anon_own_session, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
