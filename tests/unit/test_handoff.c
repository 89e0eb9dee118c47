/*
 * test_handoff.c - a spawner's checks: fd passing takes exactly the
 * descriptors it expects, and handoff_check refuses every field out of
 * range.
 */
#include "cm.h"
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc/handoff.h"
#include "ipc/ipc.h"
#include "ipc/proto.h"

static struct handoff h;

static void
base(uint32_t type)
{
	struct sockaddr_in *a = (struct sockaddr_in *)&h.local;

	memset(&h, 0, sizeof(h));
	a->sin_family = AF_INET;
	h.peer = h.local;
	if (type == SPAWN_POSTLOGIN) {
		strcpy(h.user.name, "alice");
		strcpy(h.user.root, "/srv/ftp");
		h.user.uid = 1000;
		h.user.gid = 1000;
	}
}

static void
test_valid(void **state)
{
	(void)state;
	base(SPAWN_PRELOGIN);
	assert_int_equal(handoff_check(&h, SPAWN_PRELOGIN, 1), 0);
	base(SPAWN_RELAY);
	assert_int_equal(handoff_check(&h, SPAWN_RELAY, 1), 0);
	base(SPAWN_POSTLOGIN);
	assert_int_equal(handoff_check(&h, SPAWN_POSTLOGIN, 1), 0);
	strcpy(h.host, "ftp.example.org");
	assert_int_equal(handoff_check(&h, SPAWN_POSTLOGIN, 1), 0);
}

static void
test_refused(void **state)
{
	(void)state;
	base(SPAWN_PRELOGIN);
	h.flags = 0x100;
	assert_int_equal(handoff_check(&h, SPAWN_PRELOGIN, 1), -EBADMSG);
	base(SPAWN_PRELOGIN);
	h.tls_flags = 4;
	assert_int_equal(handoff_check(&h, SPAWN_PRELOGIN, 1), -EBADMSG);
	base(SPAWN_PRELOGIN);
	h.peer.ss_family = AF_UNIX;
	assert_int_equal(handoff_check(&h, SPAWN_PRELOGIN, 1), -EBADMSG);
	base(SPAWN_PRELOGIN);
	memset(h.host, 'a', sizeof(h.host)); /* no NUL */
	assert_int_equal(handoff_check(&h, SPAWN_PRELOGIN, 1), -EBADMSG);
	base(SPAWN_PRELOGIN);
	strcpy(h.host, "UPPER"); /* not normalised */
	assert_int_equal(handoff_check(&h, SPAWN_PRELOGIN, 1), -EBADMSG);
	base(SPAWN_PRELOGIN);
	h.user.uid = 1; /* an identity before login */
	assert_int_equal(handoff_check(&h, SPAWN_PRELOGIN, 1), -EBADMSG);
	base(SPAWN_PRELOGIN);
	h.tls_sess_len = 1;
	assert_int_equal(handoff_check(&h, SPAWN_PRELOGIN, 1), -EBADMSG);
	base(SPAWN_POSTLOGIN);
	h.tls_sess_len = KF_TLS_SESSION_MAX + 1;
	assert_int_equal(handoff_check(&h, SPAWN_POSTLOGIN, 1), -EBADMSG);
	base(SPAWN_POSTLOGIN);
	h.user.uid = 0;
	assert_int_equal(handoff_check(&h, SPAWN_POSTLOGIN, 1), -EBADMSG);
	assert_int_equal(handoff_check(&h, SPAWN_POSTLOGIN, 0), 0);
	base(SPAWN_POSTLOGIN);
	strcpy(h.user.root, "relative");
	assert_int_equal(handoff_check(&h, SPAWN_POSTLOGIN, 1), -EBADMSG);
	base(SPAWN_POSTLOGIN);
	memset(h.user.name, 'a', sizeof(h.user.name));
	assert_int_equal(handoff_check(&h, SPAWN_POSTLOGIN, 1), -EBADMSG);
	base(SPAWN_POSTLOGIN);
	h.user.writable = 2;
	assert_int_equal(handoff_check(&h, SPAWN_POSTLOGIN, 1), -EBADMSG);
	/* permission rules: bounded count, clean paths, known rights */
	base(SPAWN_POSTLOGIN);
	h.user.perms.n = 1;
	strcpy(h.user.perms.r[0].path, "/incoming");
	h.user.perms.r[0].mask = PERM_UPLOAD;
	assert_int_equal(handoff_check(&h, SPAWN_POSTLOGIN, 1), 0);
	h.user.perms.n = KF_PERM_RULES_MAX + 1;
	assert_int_equal(handoff_check(&h, SPAWN_POSTLOGIN, 1), -EBADMSG);
	h.user.perms.n = 1;
	h.user.perms.r[0].mask = PERM_ALL + 1;
	assert_int_equal(handoff_check(&h, SPAWN_POSTLOGIN, 1), -EBADMSG);
	h.user.perms.r[0].mask = PERM_UPLOAD;
	strcpy(h.user.perms.r[0].path, "/a/../b");
	assert_int_equal(handoff_check(&h, SPAWN_POSTLOGIN, 1), -EBADMSG);
	memset(h.user.perms.r[0].path, 'a', sizeof(h.user.perms.r[0].path));
	assert_int_equal(handoff_check(&h, SPAWN_POSTLOGIN, 1), -EBADMSG);
	base(SPAWN_PRELOGIN);
	h.user.perms.n = 1; /* no identity, no rules before login */
	assert_int_equal(handoff_check(&h, SPAWN_PRELOGIN, 1), -EBADMSG);
	/* per-user limits: flags 0/1, a umask of 9 bits, a terminated spec */
	base(SPAWN_POSTLOGIN);
	h.user.has_umask = 1;
	h.user.umask = 0777;
	h.user.fxp = 1;
	assert_int_equal(handoff_check(&h, SPAWN_POSTLOGIN, 1), 0);
	h.user.umask = 01000;
	assert_int_equal(handoff_check(&h, SPAWN_POSTLOGIN, 1), -EBADMSG);
	base(SPAWN_POSTLOGIN);
	h.user.has_umask = 2;
	assert_int_equal(handoff_check(&h, SPAWN_POSTLOGIN, 1), -EBADMSG);
	base(SPAWN_POSTLOGIN);
	h.user.fxp = 2;
	assert_int_equal(handoff_check(&h, SPAWN_POSTLOGIN, 1), -EBADMSG);
	base(SPAWN_POSTLOGIN);
	memset(h.user.login_hours, 'a', sizeof(h.user.login_hours));
	assert_int_equal(handoff_check(&h, SPAWN_POSTLOGIN, 1), -EBADMSG);
	base(SPAWN_PRELOGIN);
	assert_int_equal(handoff_check(&h, 0x9999, 1), -EBADMSG);
}

static int
is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static void
test_fds_exact(void **state)
{
	int sv[2], p[2], got[4] = { -1, -1, -1, -1 };
	uint32_t v = 7, w = 0;
	size_t n = 0;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(pipe(p), 0);
	/* two fds sent, one expected: refused, and nothing leaks */
	assert_int_equal(ipc_send_fds(sv[0], 5, &v, sizeof(v), p, 2), 0);
	assert_int_equal(ipc_recv_fds(sv[1], 5, &w, sizeof(w), got, 1, NULL,
			     NULL),
	    -EBADMSG);
	assert_int_equal(got[1], -1);
	/* wrong type */
	assert_int_equal(ipc_send_fds(sv[0], 6, &v, sizeof(v), p, 2), 0);
	assert_int_equal(ipc_recv_fds(sv[1], 5, &w, sizeof(w), got, 2, NULL,
			     NULL),
	    -EBADMSG);
	/* wrong size */
	assert_int_equal(ipc_send_fds(sv[0], 5, &v, 2, p, 2), 0);
	assert_int_equal(ipc_recv_fds(sv[1], 5, &w, sizeof(w), got, 2, NULL,
			     NULL),
	    -EBADMSG);
	/* exact: both arrive, close-on-exec */
	assert_int_equal(ipc_send_fds(sv[0], 5, &v, sizeof(v), p, 2), 0);
	assert_int_equal(ipc_recv_fds(sv[1], 5, &w, sizeof(w), got, 2, NULL,
			     NULL),
	    0);
	assert_int_equal(w, 7);
	assert_true(is_open(got[0]) && is_open(got[1]));
	assert_int_equal(fcntl(got[0], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	/* a range: 1..3 accepted, *got says how many */
	assert_int_equal(ipc_send_fds(sv[0], 5, &v, sizeof(v), p, 2), 0);
	assert_int_equal(ipc_recv_fds(sv[1], 5, &w, sizeof(w), got + 2, 2, &n,
			     NULL),
	    0);
	assert_int_equal(n, 2);
	/* no fds where one is wanted */
	assert_int_equal(ipc_send_fds(sv[0], 5, &v, sizeof(v), NULL, 0), 0);
	assert_int_equal(ipc_recv_fds(sv[1], 5, &w, sizeof(w), got, 1, &n,
			     NULL),
	    -EBADMSG);
	/* a peer gone */
	close(sv[0]);
	assert_int_equal(ipc_recv_fds(sv[1], 5, &w, sizeof(w), got, 1, NULL,
			     NULL),
	    -EPIPE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_fds_exact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
