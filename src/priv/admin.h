/*
 * admin.h - the admin socket (admin_socket): `keepftpd ban` asks the
 * running listener to list, add and lift bans, `keepftpd who` for its
 * sessions, `keepftpd kick` to end some. SOCK_SEQPACKET, one
 * typed request and its answer per connection (ipc/proto.h, ADM_*).
 * Runs in: listener (admin_open, admin_serve, admin_close); the
 * `keepftpd ban`, `upgrade`, `who` and `kick` commands (admin_cli,
 * admin_who_cli, admin_kick_cli).
 */
#ifndef KF_ADMIN_H
#define KF_ADMIN_H

#include <sys/types.h>

#include "../conf/conf.h"

struct bantab;
struct who_line;

/* The listener's sessions, for `keepftpd who` and `keepftpd kick`. */
struct admin_who {
	/* rows from index from, at most max; how many were written */
	size_t (*rows)(struct who_line *, size_t max, size_t from);
	/* SIGUSR2 to each session whose row matches; how many */
	size_t (*kick)(int (*match)(const struct who_line *, const void *),
	    const void *arg);
};

/*
 * Binds path, mode 0600 (its directory created 0700 when missing; a
 * stale socket is replaced, a live one is an error). -1 on error
 * (logged). Empty path: no socket, returns -1 without a log line.
 */
int admin_open(const char *path);
/* Unlinks the socket (the listener is stopping). */
void admin_close(int fd, const char *path);
/*
 * Accepts one client and answers its request. The peer must be root
 * or the listener's own uid, and must not be a session (is_session
 * says whether a pid is one of the listener's monitors; the peer and
 * its parent are checked). Bounded: 1 s to read, 1 s per write.
 */
void admin_serve(int lfd, struct bantab *, const struct conf *,
    int (*is_session)(pid_t), const char *(*upgrade)(int),
    const struct admin_who *);
/*
 * ADM_DONE on a client connection: the last answer. upgrade (above)
 * gets the connection of an ADM_UPGRADE request: NULL when it keeps it
 * (and answers with this later, then closes it), else the reason it
 * refuses (answered here).
 */
void admin_done(int fd, uint32_t status, const char *text);

/*
 * `keepftpd ban [-c FILE | -s SOCKET] list|add ADDR [SECONDS]|clear ADDR|all`
 * and `keepftpd upgrade [-c FILE | -s SOCKET]` (argv[0] says which).
 */
int admin_cli(int argc, char **argv);
/* `keepftpd who [--json] [-c FILE | -s SOCKET]` */
int admin_who_cli(int argc, char **argv);
/* `keepftpd kick [-c FILE | -s SOCKET] SESSION|--user NAME|--addr ADDR` */
int admin_kick_cli(int argc, char **argv);

#endif
