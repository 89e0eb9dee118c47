/*
 * notify.h - the service manager's side channels: readiness and status
 * (sd_notify) and the listening sockets it passes (socket activation).
 * Without libsystemd (meson -Dsystemd=disabled) every call does nothing
 * and no socket is ever taken from the environment.
 * Runs in: listener.
 */
#ifndef KF_NOTIFY_H
#define KF_NOTIFY_H

#include <stddef.h>

void notify_ready(size_t sessions, size_t logged_in);
void notify_reloading(void);
void notify_stopping(size_t sessions);
void notify_status(size_t sessions, size_t logged_in);
/*
 * `keepftpd upgrade`, in the old listener: MAINPID= the new listener
 * (the unit's NotifyAccess=main accepts it from the main pid only, so
 * the old one says it), then NOTIFY_SOCKET is dropped: this process is
 * no longer the main one and says nothing more.
 */
void notify_hand_over(long pid);

/*
 * How many sockets the service manager passed to this process (checked
 * against LISTEN_PID; at most KF_LISTEN_MAX), for main() to keep them
 * open when it closes what else was inherited. 0 without libsystemd.
 */
int notify_passed_count(void);
/*
 * The sockets passed by the service manager (LISTEN_FDS), at most max:
 * their numbers in fds, implicit[i] set for those named "implicit"
 * (FileDescriptorName=implicit), proxy[i] for those named "proxy".
 * Returns how many (0: none passed), or -1 when one is not a listening
 * stream socket. The environment variables are removed, so no child
 * sees them.
 */
int notify_listen_fds(int *fds, int *implicit, int *proxy, size_t max);

#endif
