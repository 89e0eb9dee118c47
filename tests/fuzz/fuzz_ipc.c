/*
 * fuzz_ipc.c - the monitor's message decoder: ipc_decode on a frame,
 * then the typed getters as the monitor and the pre-login worker use
 * them (MON_LOGIN, MON_LOGIN_RESULT, MON_TLS_SESSION), as the listener
 * reads a monitor's report (LSN_LOGIN_FAILED) and the admin socket's
 * requests, and as `keepftpd ban` reads the answers (ADM_*); any other type is read as a
 * small program of getters taken from the type's bits. Whatever a
 * getter returns, the cursor stays in the payload; a message that
 * ipc_end accepts is re-encoded with the putters to the same bytes.
 * Runs in: fuzz target only.
 */
#include <string.h>

#include "conf/conf.h"
#include "fuzz.h"
#include "ipc/ipc.h"
#include "ipc/proto.h"

static struct ipc_msg	msg, again;

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
		if (get_str(KF_USER_MAX + 1) < 0 || get_str(KF_PASS_MAX + 1) < 0 ||
		    get_str(CONF_HOST_MAX + 1) < 0 || get_u32() < 0)
			return -1;
		return 0;
	case MON_LOGIN_RESULT:
	case MON_AUTH_TLS_RESULT:
	case MON_CCC_RESULT:
		return get_u32();
	case LSN_LOGIN_FAILED:
	case ADM_BAN_LIST:
		return 0;	/* no payload: ipc_end decides */
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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
