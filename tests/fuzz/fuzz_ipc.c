/*
 * fuzz_ipc.c - the monitor's message decoder: ipc_decode on a frame,
 * then the typed getters as the monitor and the pre-login worker use
 * them (MON_LOGIN, MON_LOGIN_RESULT, MON_TLS_SESSION), as the listener
 * reads a monitor's report (LSN_LOGIN_FAILED) and the admin socket's
 * requests, and as `keepftpd ban` reads the answers (ADM_*); any other type is read as a
 * small program of getters taken from the type's bits. Whatever a
 * getter returns, the cursor stays in the payload; a message that
 * ipc_end accepts is re-encoded with the putters to the same bytes.
 * Then the same frame goes through the monitor's real dispatch
 * (mon_dispatch: the table and the real handlers, with fake side
 * effects), from both senders in every phase, twice: a refusal always
 * says why, an answer has the request's answer type and one u32, the
 * failure count never passes max_login_failures, no password is
 * verified past it, and a "once" request taken is refused the second
 * time.
 * Runs in: fuzz target only.
 */
#include <stdarg.h>
#include <string.h>

#include "conf/conf.h"
#include "fuzz.h"
#include "ipc/ipc.h"
#include "ipc/proto.h"
#include "priv/mon_state.h"

static struct ipc_msg msg, again;

enum { OP_U32, OP_STR_SMALL, OP_STR_BIG, OP_STOP };

static int
get_str(size_t outsz)
{
	char *out;
	size_t off = msg.off;
	int r;

	if ((out = malloc(outsz)) == NULL)
		return -1;
	if ((r = ipc_get_str(&msg, out, outsz)) == 0) {
		FUZZ_CHECK(strlen(out) < outsz);
		FUZZ_CHECK(msg.off == off + 4 + strlen(out));
		FUZZ_CHECK(ipc_put_str(&again, out, outsz - 1) == 0);
	}
	free(out);
	return r;
}

static int
get_u32(void)
{
	uint32_t v;
	int r;

	if ((r = ipc_get_u32(&msg, &v)) == 0)
		FUZZ_CHECK(ipc_put_u32(&again, v) == 0);
	return r;
}

static int
get_blob(void)
{
	static unsigned char out[KF_TLS_SESSION_MAX];
	size_t off = msg.off, n;
	int r;

	if ((r = ipc_get_blob(&msg, out, sizeof(out), &n)) == 0) {
		FUZZ_CHECK(n <= sizeof(out));
		FUZZ_CHECK(msg.off == off + 4 + n);
		FUZZ_CHECK(ipc_put_blob(&again, out, n, sizeof(out)) == 0);
	}
	return r;
}

static int
step(int op)
{
	int r;

	switch (op) {
	case OP_U32:
		r = get_u32();
		break;
	case OP_STR_SMALL:
		r = get_str(16);
		break;
	case OP_STR_BIG:
		r = get_str(KF_PASS_MAX + 1);
		break;
	default:
		return 1;
	}
	FUZZ_CHECK(msg.off <= msg.len);
	return r;
}

/* ADM_BANS as `keepftpd ban list` reads it: a count, then the entries. */
static int
get_bans(void)
{
	uint32_t n, i;

	if (ipc_get_u32(&msg, &n) < 0)
		return -1;
	FUZZ_CHECK(ipc_put_u32(&again, n) == 0);
	if (n == 0 || n > ADM_BANS_PER_MSG)
		return -1;
	for (i = 0; i < n; i++)
		if (get_str(ADM_ADDR_MAX + 1) < 0 || get_u32() < 0)
			return -1;
	return 0;
}

static int
walk(void)
{
	uint32_t prog = msg.type;
	int i, r;

	switch (msg.type) {
	case MON_LOGIN:
		if (get_str(KF_USER_MAX + 1) < 0 ||
		    get_str(KF_PASS_MAX + 1) < 0 ||
		    get_str(CONF_HOST_MAX + 1) < 0 || get_u32() < 0)
			return -1;
		return 0;
	case MON_LOGIN_RESULT:
	case MON_AUTH_TLS_RESULT:
	case MON_CCC_RESULT:
		return get_u32();
	case LSN_LOGIN_FAILED:
	case ADM_BAN_LIST:
		return 0; /* no payload: ipc_end decides */
	case ADM_BAN_ADD:
		if (get_str(ADM_ADDR_MAX + 1) < 0)
			return -1;
		return get_u32();
	case ADM_BAN_CLEAR:
		return get_str(ADM_ADDR_MAX + 1);
	case ADM_BANS:
		return get_bans();
	case ADM_DONE:
		if (get_u32() < 0)
			return -1;
		return get_str(ADM_TEXT_MAX + 1);
	case MON_AUTH_TLS:
		return get_u32() < 0 || get_str(CONF_HOST_MAX + 1) < 0 ? -1 : 0;
	case MON_CCC:
	case RELAY_CCC:
	case RELAY_CCC_DONE:
		return 0;
	case MON_TLS_SESSION:
		return get_blob();
	case MON_TLS_PEER:
		return get_str(KF_USER_MAX + 1);
	}
	/* a failed getter is fatal to the session: stop there */
	for (i = 0; i < 16; i++, prog >>= 2)
		if ((r = step(prog & 3)) != 0)
			return r < 0 ? -1 : 0;
	return 0;
}

/* ---- the monitor's dispatch, with fake side effects ---- */

static struct conf mon_conf;
static struct mon_state st;
static struct auth_identity ident;
static unsigned char sess[KF_TLS_SESSION_MAX];
static size_t sess_len;
static struct sockaddr_storage peer;
static unsigned verifies_past_max;

static int
f_verify(const struct conf *c, const char *inl, const struct conf_vhost *vh,
    const char *user, const char *pass, struct auth_identity *id)
{
	if (st.failures >= c->max_login_failures)
		verifies_past_max++;
	if (strcmp(pass, "good") != 0)
		return -1;
	memcpy(id->name, "u", 2);
	memcpy(id->root, "/", 2);
	return 0;
}

static int
f_cert(const struct conf *c, const char *inl, const char *user,
    struct auth_identity *id)
{
	memcpy(id->name, "u", 2);
	return 0;
}

static int
f_tls_required(const struct conf *c, const char *u,
    const struct auth_identity *id)
{
	return u[0] == 't';
}

static void
f_sleep(unsigned ms)
{
	FUZZ_CHECK(ms <= KF_LOGIN_DELAY_MAX_MS);
}

static void __attribute__((format(printf, 2, 3)))
f_log(int prio, const char *fmt, ...)
{
	char line[KF_LOG_LINE_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
}

static void
f_report(void *ctx)
{
}

static int
f_tls_ready(void *ctx)
{
	return 1;
}

static int f_ccc(void *);

static const struct mon_ops fops = {
	.verify = f_verify,
	.by_cert = f_cert,
	.tls_required = f_tls_required,
	.sleep_ms = f_sleep,
	.log = f_log,
	.report_failed = f_report,
	.tls_ready = f_tls_ready,
	.ccc = f_ccc,
};

/* The relay confirms CCC through the table, as the real one does. */
static int
f_ccc(void *ctx)
{
	static const unsigned char done[8] = { 0, 0, 0, RELAY_CCC_DONE };
	struct mon_out out;

	return mon_dispatch(&st, &fops, MON_SRC_RELAY, done, sizeof(done),
		   &out) == MON_V_NONE;
}

static uint32_t
answer_type(uint32_t type)
{
	switch (type) {
	case MON_LOGIN:
		return MON_LOGIN_RESULT;
	case MON_AUTH_TLS:
		return MON_AUTH_TLS_RESULT;
	case MON_CCC:
		return MON_CCC_RESULT;
	}
	return 0;
}

static const struct mon_req *
row_of(uint32_t type)
{
	size_t i;

	for (i = 0; i < mon_table_len; i++)
		if (mon_table[i].type == type)
			return &mon_table[i];
	return NULL;
}

static enum mon_verdict
dispatch_once(enum mon_src src, const uint8_t *data, size_t size)
{
	uint32_t seen = st.seen, failures = st.failures;
	struct mon_out out;
	enum mon_verdict v;

	v = mon_dispatch(&st, &fops, src, data, size, &out);
	FUZZ_CHECK(st.failures <= mon_conf.max_login_failures);
	FUZZ_CHECK(st.failures >= failures);
	FUZZ_CHECK(verifies_past_max == 0);
	if (v == MON_V_FATAL) {
		FUZZ_CHECK(out.why[0] != '\0');
		FUZZ_CHECK(strlen(out.why) < sizeof(out.why));
		FUZZ_CHECK(st.seen == seen);
	} else if (v == MON_V_REPLY) {
		FUZZ_CHECK(size >= IPC_HDR_LEN);
		FUZZ_CHECK(out.rep.type ==
		    answer_type(
			((uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
			    (uint32_t)data[2] << 8 | data[3])));
		FUZZ_CHECK(out.rep.len == 4);
	}
	return v;
}

static void
drive_monitor(const uint8_t *data, size_t size)
{
	static const enum mon_phase phases[] = { MPH_PRELOGIN, MPH_EXITING,
		MPH_SESSION, MPH_CCC };
	const struct mon_req *rq;
	enum mon_verdict v;
	size_t p, s, k;

	if (mon_conf.max_login_failures == 0) {
		conf_defaults(&mon_conf);
		mon_conf.max_login_failures = 3;
		mon_conf.login_fail_delay_ms = 1;
		mon_conf.tls_ccc_enable = 1;
		mon_conf.tls_client_cert_login = 1;
	}
	/* s: bit 0 TLS, bit 1 relay running, bit 2 from the relay, bit 3
	 * failures used up */
	for (p = 0; p < 4; p++)
		for (s = 0; s < 16; s++) {
			mon_state_init(&st, &mon_conf, NULL, &peer, "192.0.2.1",
			    &ident, sess, &sess_len);
			st.phase = phases[p];
			st.tls = (s & 1) != 0;
			st.relay = (s & 2) != 0;
			st.failures = (unsigned)(s & 8 ? 3 : 0);
			verifies_past_max = 0;
			v = dispatch_once(s & 4 ? MON_SRC_RELAY :
						  MON_SRC_WORKER,
			    data, size);
			rq = size >= IPC_HDR_LEN ?
			    row_of(data[3] | (uint32_t)data[2] << 8 |
				(uint32_t)data[1] << 16 |
				(uint32_t)data[0] << 24) :
			    NULL;
			/* again, and more: the count and "once" hold */
			for (k = 0; k < 4 && v != MON_V_FATAL; k++) {
				uint32_t seen = st.seen;
				enum mon_verdict w = dispatch_once(s & 4 ?
					MON_SRC_RELAY :
					MON_SRC_WORKER,
				    data, size);

				if (rq != NULL && rq->once &&
				    (seen & (1u << rq->type)))
					FUZZ_CHECK(w == MON_V_FATAL);
				v = w;
			}
		}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	drive_monitor(data, size);
	if (ipc_decode(&msg, data, size) < 0)
		return 0;
	FUZZ_CHECK(msg.len == size - IPC_HDR_LEN && msg.off == 0);
	ipc_init(&again, msg.type);
	if (walk() == 0 && ipc_end(&msg) == 0) {
		FUZZ_CHECK(again.len == msg.len);
		FUZZ_CHECK(memcmp(again.data, msg.data, msg.len) == 0);
	}
	FUZZ_CHECK(msg.off <= msg.len);
	return 0;
}
