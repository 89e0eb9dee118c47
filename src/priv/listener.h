/*
 * listener.h - binds, accepts, applies connection policy, forks a
 * monitor per session. Never parses FTP.
 * Runs in: listener (root, or the invoking user when rootless).
 */
#ifndef KF_LISTENER_H
#define KF_LISTENER_H

#include "../conf/conf.h"

struct listener {
	struct conf conf;
	int inline_fd; /* quick mode's users (sealed memfd), or -1 */
	int (*reload)(struct conf *); /* NULL: nothing to reload */
	int fds[KF_LISTEN_MAX];
	size_t nfds;
	char **argv; /* `keepftpd upgrade` runs it again; NULL: cannot */
	int upgrade_fd; /* >= 0: started by `keepftpd upgrade` (upgrade.h) */
};

int listener_bind(struct listener *);
int listener_run(struct listener *);

#endif
