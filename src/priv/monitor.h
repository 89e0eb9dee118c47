/*
 * monitor.h - the per-session monitor.
 * Runs in: monitor (forked by the listener, privileged, never reads
 * the network).
 */
#ifndef KF_MONITOR_H
#define KF_MONITOR_H

#include <sys/socket.h>

#include "../conf/conf.h"
#include "spawn.h"

struct monitor_args {
	const struct conf *conf;
	int inline_fd; /* quick mode's users, sealed memfd, or -1 */
	int spawn_chan[SPAWN_ROLES]; /* to the spawners, or -1 */
	int ctrl_fd;
	int report_fd; /* to the listener; workers close it */
	struct sockaddr_storage local;
	struct sockaddr_storage peer;
	unsigned long id;
	int implicit; /* implicit FTPS listener */
	int proxy; /* a proxy listener: the worker reads a PROXY header */
	int tls_ready; /* the relay spawner loaded the certificate and key */
	int service_ok; /* service_user was found */
	uid_t service_uid; /* its ids, looked up by the */
	gid_t service_gid; /* listener, not per session */
	int owner_ok; /* anon_upload_owner was found (and is not root) */
	uid_t owner_uid; /* its ids, looked up likewise */
	gid_t owner_gid;
};

void monitor_run(const struct monitor_args *) __attribute__((noreturn));
/*
 * The 421 text of an LSN_PROXY verdict (enum lsn_proxy_verdict, > 0):
 * the words the listener refuses a direct client with for that reason
 * (listener.c, accept_one); the monitor writes it, the listener logs it.
 */
const char *proxy_verdict_text(int verdict);

#endif
