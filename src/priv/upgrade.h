/*
 * upgrade.h - `keepftpd upgrade`: the running listener executes the
 * binary at the path it was started from and hands it its listening
 * sockets, its report channel, its admin socket, its sessions (pid,
 * pidfd, address, logged in) and its address table; the new listener
 * accepts from then on, the old one ends when its sessions have.
 * The messages are UPG_* in ipc/proto.h; docs/OPERATIONS.md tells the
 * sequence.
 * Runs in: listener (old and new), the `keepftpd upgrade` command is
 * admin_cli.
 */
#ifndef KF_UPGRADE_H
#define KF_UPGRADE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "../common/limits.h"
#include "../conf/conf.h"

struct bantab;
struct ipc_msg;

/* The descriptor number and variable the new binary finds its end at. */
#define UPGRADE_FD  3
#define UPGRADE_ENV "KEEPFTPD_UPGRADE_FD"

/* One session as it is handed over. */
struct upgrade_session {
	pid_t pid;
	int pidfd;
	int logged_in;
	struct sockaddr_storage peer;
};

/* What the new listener gets besides sessions and the address table. */
struct upgrade_sockets {
	int fds[KF_LISTEN_MAX];
	int implicit[KF_LISTEN_MAX];
	int proxy[KF_LISTEN_MAX]; /* a PROXY header first (proxy_from) */
	size_t n;
	int passed; /* the sockets came from the service manager */
	int report_rd; /* the old monitors' report channel */
	int admin_fd; /* -1: none */
	char admin_path[KF_CONF_VALUE_MAX + 1];
};

/* ---- the old listener ---- */

/*
 * At start: remembers the path of the running binary and argv (the
 * new one is started with the same arguments). 0 or -1 (logged).
 */
int upgrade_init(char **argv);
/*
 * fork + exec of the binary at the remembered path, opened afresh and
 * checked (regular file, owned by root or by this uid, writable by no
 * one else), with the channel at UPGRADE_FD. *chan: the old side's
 * end. The child's pid, or -1 with why filled.
 */
pid_t upgrade_spawn(int *chan, char *why, size_t whysz);
int upgrade_send_sockets(int chan, const struct upgrade_sockets *);
/* All of them, in batches; pidfds stay the caller's. */
int upgrade_send_sessions(int chan, const struct upgrade_session *, size_t n);
/* The whole table; *n: the entries sent. */
int upgrade_send_bans(int chan, const struct bantab *, size_t *n);
int upgrade_send_end(int chan, size_t sessions, size_t entries);

/* ---- the new listener ---- */

/*
 * In main, before any descriptor is closed: UPGRADE_FD when this
 * process was started by `keepftpd upgrade` (the variable is removed),
 * else -1.
 */
int upgrade_env_fd(void);
int upgrade_recv_sockets(int chan, struct upgrade_sockets *);
/*
 * Sessions (to fn, which owns the pidfd) and address table entries (to
 * t) until UPG_END, whose totals must match. 0 or -1.
 */
int upgrade_recv_state(int chan, struct bantab *t,
    void (*fn)(const struct upgrade_session *, void *), void *arg);

/* ---- both ---- */

/* A message without payload (or UPG_READY's pid); 0 or -1. */
int upgrade_send_simple(int chan, uint32_t type, uint32_t value);
/* Waits up to ms for a message of type (its u32 into *value). 0 or -1. */
int upgrade_wait(int chan, uint32_t type, int ms, uint32_t *value);

#endif
