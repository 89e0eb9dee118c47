/*
 * lsn_pgauth.c - the listener's side of kf-pgauth (users_backend =
 * postgresql, docs/PRIVSEP.md "kf-pgauth"). At start the listener makes
 * one SOCK_SEQPACKET socketpair: kf-pgauth gets one end at descriptor
 * 3, the other (pgask_init) is inherited by every monitor, whose
 * verifier child sends each login on it with a fresh answer socket of
 * its own. The listener keeps kf-pgauth's end too, only to hand it to
 * a kf-pgauth started again (KF_SPAWN_RESTART_MS after one ended:
 * requests queued meanwhile are served then, or time out into 421);
 * a monitor closes it right after fork (lsn_pgauth_forget), so no
 * session can read another's request. kf-pgauth gets the spawners'
 * sealed configuration with pg_conninfo, which the spawners' copy
 * leaves out (the database password never reaches a worker). With
 * pg_bans a second socketpair, the listener's alone (a monitor closes
 * both ends at fork), carries bans both ways (PGA_BAN_ADD, PGA_BAN_SEEN).
 * Runs in: listener, monitor (lsn_pgauth_forget).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../auth/pgask.h"
#include "../common/log.h"
#include "../common/sys.h"
#include "../ipc/ipc.h"
#include "../ipc/proto.h"
#include "kf_pgauth.h"
#include "lsn_pgauth.h"

static int req_fd = -1, conf_fd = -1;
static int bans_fd = -1, bans_peer = -1; /* listener's end, kf-pgauth's */
static struct spawn_kid kid = { "kf-pgauth", 0, 0 };

static void
start(void)
{
	int fds[3] = { req_fd, conf_fd, bans_peer };

	if (spawn_kid_fork(&kid) == 0)
		spawn_exec_pg("--pgauth", fds, 3);
}

int
lsn_pgauth_init(const struct spawn_conf *sc)
{
	struct timeval tv = { KF_PG_WAIT_SLACK_MS / 1000,
		(KF_PG_WAIT_SLACK_MS % 1000) * 1000 };
	int sv[2];

	if (spawn_init_pg() < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	/* a verifier never waits on a full queue longer than this */
	if (setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    (conf_fd = sys_memfd_sealed("kf-conf", sc, sizeof(*sc))) < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	pgask_init(sv[0]);
	req_fd = sv[1];
	/* the bans channel: the listener's alone (pg_bans) */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
		0, sv) < 0)
		return -1;
	bans_fd = sv[0];
	bans_peer = sv[1];
	start();
	return 0;
}

int
lsn_pgauth_bans_fd(void)
{
	return bans_fd;
}

void
lsn_pgauth_ban(const char *addr, unsigned long seconds)
{
	struct ipc_msg m;

	if (bans_fd < 0 || seconds == 0)
		return;
	ipc_init(&m, PGA_BAN_ADD);
	if (ipc_put_str(&m, addr, BANTAB_ADDR_STR) == 0 &&
	    ipc_put_u32(&m, (uint32_t)seconds) == 0)
		(void)ipc_send(bans_fd, &m); /* a full queue: this node only */
}

/* One PGA_BAN_SEEN: 0 and the ban, 1 nothing left, -1 malformed. */
int
lsn_pgauth_seen(struct bantab_addr *a, char *addr, size_t addrsz, uint32_t *ms)
{
	struct ipc_msg m;
	int r;

	if (bans_fd < 0)
		return 1;
	if ((r = ipc_recv(bans_fd, &m)) == -EAGAIN || r == -EWOULDBLOCK ||
	    r == -EPIPE)
		return 1;
	if (r < 0 || m.type != PGA_BAN_SEEN ||
	    ipc_get_str(&m, addr, addrsz) < 0 || ipc_get_u32(&m, ms) < 0 ||
	    ipc_end(&m) < 0 || *ms == 0 || *ms > KF_PG_BAN_MS_MAX ||
	    bantab_addr_parse(addr, a) < 0)
		return -1;
	return 0;
}

void
lsn_pgauth_forget(void)
{
	sys_close(&req_fd);
	sys_close(&conf_fd);
	sys_close(&bans_fd);
	sys_close(&bans_peer);
}

int
lsn_pgauth_reaped(pid_t p, int status)
{
	return spawn_kid_reaped(&kid, p, status);
}

int
lsn_pgauth_tick(void)
{
	return spawn_kid_tick(&kid, start);
}

void
lsn_pgauth_stop(void)
{
	spawn_kid_stop(&kid);
}
