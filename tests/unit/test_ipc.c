/* test_ipc.c - the privileged message decoder refuses every malformation. */
#include "cm.h"
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf/conf.h"
#include "ipc/ipc.h"
#include "ipc/proto.h"

static size_t
frame(unsigned char *f, uint32_t type, uint32_t len, const void *p, size_t n)
{
	unsigned char h[8] = { type >> 24, type >> 16, type >> 8, type,
		len >> 24, len >> 16, len >> 8, len };

	memcpy(f, h, 8);
	memcpy(f + 8, p, n);
	return 8 + n;
}

static void
test_roundtrip_socketpair(void **state)
{
	struct ipc_msg m, r;
	char user[KF_USER_MAX + 1], pass[KF_PASS_MAX + 1];
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	ipc_init(&m, MON_LOGIN);
	assert_int_equal(ipc_put_str(&m, "alice", KF_USER_MAX), 0);
	assert_int_equal(ipc_put_str(&m, "", KF_PASS_MAX), 0);
	assert_int_equal(ipc_send(sv[0], &m), 0);
	assert_int_equal(ipc_recv(sv[1], &r), 0);
	assert_int_equal(r.type, MON_LOGIN);
	assert_int_equal(ipc_get_str(&r, user, sizeof(user)), 0);
	assert_int_equal(ipc_get_str(&r, pass, sizeof(pass)), 0);
	assert_string_equal(user, "alice");
	assert_string_equal(pass, "");
	assert_int_equal(ipc_end(&r), 0);
	close(sv[0]);
	assert_int_equal(ipc_recv(sv[1], &r), -EPIPE);
	close(sv[1]);
}

static void
test_length_mismatch(void **state)
{
	unsigned char f[64];
	struct ipc_msg m;
	size_t n;

	/* header says 10 bytes, 4 present */
	n = frame(f, MON_LOGIN, 10, "abcd", 4);
	assert_int_equal(ipc_decode(&m, f, n), -EBADMSG);
	/* header says 2 bytes, 4 present: trailing bytes */
	n = frame(f, MON_LOGIN, 2, "abcd", 4);
	assert_int_equal(ipc_decode(&m, f, n), -EBADMSG);
	/* short header */
	assert_int_equal(ipc_decode(&m, f, 7), -EBADMSG);
	/* frame larger than the maximum */
	assert_int_equal(ipc_decode(&m, f, KF_IPC_MSG_MAX + 1), -EBADMSG);
}

static void
test_getters_bounded(void **state)
{
	unsigned char f[64], p[32];
	struct ipc_msg m;
	char out[8];
	uint32_t v;
	size_t n;

	/* string length beyond the payload */
	memcpy(p,
	    "\0\0\0\x20"
	    "ab",
	    6);
	n = frame(f, MON_LOGIN, 6, p, 6);
	assert_int_equal(ipc_decode(&m, f, n), 0);
	assert_int_equal(ipc_get_str(&m, out, sizeof(out)), -EBADMSG);
	/* string longer than the destination */
	memcpy(p,
	    "\0\0\0\x08"
	    "abcdefgh",
	    12);
	n = frame(f, MON_LOGIN, 12, p, 12);
	assert_int_equal(ipc_decode(&m, f, n), 0);
	assert_int_equal(ipc_get_str(&m, out, sizeof(out)), -EBADMSG);
	/* an inner NUL */
	memcpy(p,
	    "\0\0\0\x03"
	    "a\0b",
	    7);
	n = frame(f, MON_LOGIN, 7, p, 7);
	assert_int_equal(ipc_decode(&m, f, n), 0);
	assert_int_equal(ipc_get_str(&m, out, sizeof(out)), -EBADMSG);
	/* u32 past the end, and a message not consumed exactly */
	n = frame(f, MON_LOGIN_RESULT, 3, "\0\0\0", 3);
	assert_int_equal(ipc_decode(&m, f, n), 0);
	assert_int_equal(ipc_get_u32(&m, &v), -EBADMSG);
	assert_int_equal(ipc_end(&m), -EBADMSG);
	n = frame(f, MON_LOGIN_RESULT, 5, "\0\0\0\1x", 5);
	assert_int_equal(ipc_decode(&m, f, n), 0);
	assert_int_equal(ipc_get_u32(&m, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(ipc_end(&m), -EBADMSG);
}

static void
test_put_limits(void **state)
{
	static char big[KF_IPC_MSG_MAX];
	struct ipc_msg m;

	memset(big, 'a', sizeof(big) - 1);
	ipc_init(&m, MON_LOGIN);
	assert_int_equal(ipc_put_str(&m, "abc", 2), -EMSGSIZE);
	assert_int_equal(ipc_put_str(&m, big, sizeof(big)), -EMSGSIZE);
	assert_int_equal(m.len, 0); /* a failed put leaves nothing behind */
}

/* MON_LOGIN as the pre-login worker writes it: user, pass, host. */
static void
put_login(struct ipc_msg *m, const char *user, const char *pass,
    const char *host)
{
	ipc_init(m, MON_LOGIN);
	assert_int_equal(ipc_put_str(m, user, KF_USER_MAX), 0);
	assert_int_equal(ipc_put_str(m, pass, KF_PASS_MAX), 0);
	assert_int_equal(ipc_put_str(m, host, CONF_HOST_MAX), 0);
	assert_int_equal(ipc_put_u32(m, MON_TLS_PBSZ | MON_TLS_PROT_P), 0);
}

/* ...and as the monitor reads it: every field bounded, nothing after. */
static int
get_login(struct ipc_msg *m, char *user, char *pass, char *host)
{
	uint32_t tls;

	if (m->type != MON_LOGIN || ipc_get_str(m, user, KF_USER_MAX + 1) < 0 ||
	    ipc_get_str(m, pass, KF_PASS_MAX + 1) < 0 ||
	    ipc_get_str(m, host, CONF_HOST_MAX + 1) < 0 ||
	    ipc_get_u32(m, &tls) < 0 || tls != (MON_TLS_PBSZ | MON_TLS_PROT_P))
		return -1;
	return ipc_end(m) < 0 ? -1 : 0;
}

static void
test_login_host_roundtrip(void **state)
{
	char user[KF_USER_MAX + 1], pass[KF_PASS_MAX + 1];
	char host[CONF_HOST_MAX + 1], big[CONF_HOST_MAX + 2];
	struct ipc_msg m, r;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	put_login(&m, "anonymous", "guest@", "ftp.example.com");
	assert_int_equal(ipc_send(sv[0], &m), 0);
	assert_int_equal(ipc_recv(sv[1], &r), 0);
	assert_int_equal(get_login(&r, user, pass, host), 0);
	assert_string_equal(user, "anonymous");
	assert_string_equal(pass, "guest@");
	assert_string_equal(host, "ftp.example.com");

	/* empty host: no HOST, or no vhost */
	put_login(&m, "alice", "pw", "");
	assert_int_equal(ipc_send(sv[0], &m), 0);
	assert_int_equal(ipc_recv(sv[1], &r), 0);
	assert_int_equal(get_login(&r, user, pass, host), 0);
	assert_string_equal(host, "");

	/* the longest host fits; one byte more cannot be sent */
	memset(big, 'h', sizeof(big));
	big[CONF_HOST_MAX] = '\0';
	put_login(&m, "a", "b", big);
	assert_int_equal(ipc_send(sv[0], &m), 0);
	assert_int_equal(ipc_recv(sv[1], &r), 0);
	assert_int_equal(get_login(&r, user, pass, host), 0);
	assert_int_equal(strlen(host), CONF_HOST_MAX);
	big[CONF_HOST_MAX] = 'h';
	big[CONF_HOST_MAX + 1] = '\0';
	assert_int_equal(ipc_put_str(&m, big, CONF_HOST_MAX), -EMSGSIZE);
	close(sv[0]);
	close(sv[1]);
}

/* A hostile worker's frames: each one must fail to decode as MON_LOGIN. */
static void
test_login_host_malformed(void **state)
{
	char user[KF_USER_MAX + 1], pass[KF_PASS_MAX + 1];
	char host[CONF_HOST_MAX + 1];
	unsigned char f[1024], p[512];
	struct ipc_msg m;
	size_t n, k;

	/* the old two-field MON_LOGIN: the host is missing */
	memcpy(p, "\0\0\0\1u\0\0\0\1p", 10);
	n = frame(f, MON_LOGIN, 10, p, 10);
	assert_int_equal(ipc_decode(&m, f, n), 0);
	assert_int_equal(get_login(&m, user, pass, host), -1);

	/* a host of 256 bytes, longer than the monitor's buffer */
	k = 10;
	memcpy(p + k, "\0\0\1\0", 4);
	k += 4;
	memset(p + k, 'h', 256);
	k += 256;
	n = frame(f, MON_LOGIN, (uint32_t)k, p, k);
	assert_int_equal(ipc_decode(&m, f, n), 0);
	assert_int_equal(get_login(&m, user, pass, host), -1);

	/* a NUL inside the host */
	memcpy(p + 10, "\0\0\0\3a\0b", 7);
	n = frame(f, MON_LOGIN, 17, p, 17);
	assert_int_equal(ipc_decode(&m, f, n), 0);
	assert_int_equal(get_login(&m, user, pass, host), -1);

	/* a host length past the payload */
	memcpy(p + 10,
	    "\0\0\0\x09"
	    "abc",
	    7);
	n = frame(f, MON_LOGIN, 17, p, 17);
	assert_int_equal(ipc_decode(&m, f, n), 0);
	assert_int_equal(get_login(&m, user, pass, host), -1);

	/* a well-formed host, no tls flags (the pre-TLS layout) */
	memcpy(p + 10, "\0\0\0\3abc", 7);
	n = frame(f, MON_LOGIN, 17, p, 17);
	assert_int_equal(ipc_decode(&m, f, n), 0);
	assert_int_equal(get_login(&m, user, pass, host), -1);

	/* with the tls flags and a trailing byte */
	memcpy(p + 17, "\0\0\0\3X", 5);
	n = frame(f, MON_LOGIN, 22, p, 22);
	assert_int_equal(ipc_decode(&m, f, n), 0);
	assert_int_equal(get_login(&m, user, pass, host), -1);

	/* and the same without it decodes */
	n = frame(f, MON_LOGIN, 21, p, 21);
	assert_int_equal(ipc_decode(&m, f, n), 0);
	assert_int_equal(get_login(&m, user, pass, host), 0);
	assert_string_equal(host, "abc");
}

/* Opaque blobs (MON_TLS_SESSION): bounded both ways, exact length. */
static void
test_blob(void **state)
{
	unsigned char out[8], f[64];
	struct ipc_msg m;
	size_t n;

	ipc_init(&m, MON_TLS_SESSION);
	assert_int_equal(ipc_put_blob(&m, "\0abc\0", 5, 8), 0);
	assert_int_equal(ipc_put_blob(&m, "123456789", 9, 8), -EMSGSIZE);
	m.off = 0;
	assert_int_equal(ipc_get_blob(&m, out, sizeof(out), &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "\0abc\0", 5);
	assert_int_equal(ipc_end(&m), 0);
	/* a length over the reader's bound */
	n = frame(f, MON_TLS_SESSION, 13,
	    "\0\0\0\x09"
	    "123456789",
	    13);
	assert_int_equal(ipc_decode(&m, f, n), 0);
	assert_int_equal(ipc_get_blob(&m, out, sizeof(out), &n), -EBADMSG);
	/* a length past the payload */
	n = frame(f, MON_TLS_SESSION, 7,
	    "\0\0\0\x05"
	    "abc",
	    7);
	assert_int_equal(ipc_decode(&m, f, n), 0);
	assert_int_equal(ipc_get_blob(&m, out, sizeof(out), &n), -EBADMSG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_socketpair),
		cmocka_unit_test(test_length_mismatch),
		cmocka_unit_test(test_getters_bounded),
		cmocka_unit_test(test_put_limits),
		cmocka_unit_test(test_login_host_roundtrip),
		cmocka_unit_test(test_login_host_malformed),
		cmocka_unit_test(test_blob),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
