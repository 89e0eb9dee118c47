/*
 * session.h - what the monitor hands its workers, and the workers'
 * entry points.
 * Runs in: monitor (forks) and workers.
 */
#ifndef KF_SESSION_H
#define KF_SESSION_H

#include <signal.h>
#include <sys/socket.h>

#include "../auth/auth.h"
#include "../conf/conf.h"
#include "ctrl.h"

struct session_info {
	const struct conf	*conf;
	int			 ctrl_fd;
	int			 mon_fd;	/* typed IPC with the monitor */
	struct sockaddr_storage	 local;
	struct sockaddr_storage	 peer;
	unsigned long		 id;
};

extern volatile sig_atomic_t session_stop;

void	session_install_signals(void);
int	proto_reply_basic(struct ctrl *, const struct cmd *);
void	prelogin_run(const struct session_info *) __attribute__((noreturn));
void	session_run(const struct session_info *, const struct auth_identity *,
	    int rootfd) __attribute__((noreturn));

#endif
