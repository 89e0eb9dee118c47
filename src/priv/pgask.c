/*
 * pgask.c - the verifier's side of kf-pgauth (users_backend =
 * postgresql): one request on the server's pool socket, carrying a
 * fresh socketpair end for its own verdict, then a bounded wait for
 * that verdict. No libpq here: the database is kf-pgauth's alone.
 * Runs in: verifier child (pgask_login), listener and monitor (the
 * descriptor, pgask_init).
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "../common/sys.h"
#include "../ipc/ipc.h"
#include "../ipc/proto.h"
#include "../auth/pgask.h"

static int pool_fd = -1;

void
pgask_init(int fd)
{
	pool_fd = fd;
}

int
pgask_fd(void)
{
	return pool_fd;
}

int
pgask_backend(const struct conf *c)
{
	return strcmp(c->users_backend, "postgresql") == 0;
}

static int
send_req(const char *user, const char *pass, int answer)
{
	struct pga_req rq;
	int r;

	memset(&rq, 0, sizeof(rq));
	rq.kind = pass != NULL ? PGA_K_LOGIN : PGA_K_LOOKUP;
	if (strlen(user) > KF_USER_MAX ||
	    (pass != NULL && strlen(pass) > KF_PASS_MAX))
		return -1;
	memcpy(rq.user, user, strlen(user));
	if (pass != NULL)
		memcpy(rq.pass, pass, strlen(pass));
	r = ipc_send_fds(pool_fd, PGA_LOGIN, &rq, sizeof(rq), &answer, 1);
	sodium_memzero(&rq, sizeof(rq));
	return r;
}

/* The verdict within ms, or PGA_R_DOWN. */
static int
get_verdict(int fd, int ms, struct users_entry *e)
{
	char line[KF_USERS_LINE_MAX + 1];
	struct pollfd p = { fd, POLLIN, 0 };
	int64_t end = sys_now_ms() + ms, left;
	const char *err = "";
	struct ipc_msg m;
	uint32_t res;
	int r;

	for (;;) {
		if ((left = end - sys_now_ms()) <= 0)
			return PGA_R_DOWN;
		r = poll(&p, 1, (int)left);
		if (r > 0)
			break;
		if (r < 0 && errno != EINTR)
			return PGA_R_DOWN;
	}
	if (ipc_recv(fd, &m) < 0 || m.type != PGA_VERDICT ||
	    ipc_get_u32(&m, &res) < 0 ||
	    ipc_get_str(&m, line, sizeof(line)) < 0 || ipc_end(&m) < 0 ||
	    res > PGA_R_DOWN)
		return PGA_R_DOWN;
	if (res != PGA_R_OK)
		return (int)res;
	if (users_parse_line(line, strlen(line), e, &err) != 1)
		return PGA_R_BAD;
	return PGA_R_OK;
}

int
pgask_login(const struct conf *c, const char *user, const char *pass,
    struct users_entry *e)
{
	int sv[2], r;

	if (pool_fd < 0)
		return PGA_R_DOWN;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return PGA_R_DOWN;
	r = send_req(user, pass, sv[1]);
	close(sv[1]);
	if (r < 0) {
		close(sv[0]);
		return PGA_R_DOWN;
	}
	r = get_verdict(sv[0], (int)c->pg_timeout * 1000 + KF_PG_WAIT_SLACK_MS,
	    e);
	close(sv[0]);
	return r;
}
