/*
 * notify.c - sd_notify(3) and sd_listen_fds_with_names(3) for the
 * listener. The messages: READY=1 once every listener is bound and the
 * spawners are up; RELOADING=1 with MONOTONIC_USEC (Type=notify-reload
 * needs it; plain Type=notify accepts it) then READY=1 around a SIGHUP;
 * STOPPING=1 at stop; STATUS= with the session counts after each
 * change; MAINPID= the new listener at `keepftpd upgrade`. NOTIFY_SOCKET stays in the environment: only the listener
 * calls these, and the unit sets NotifyAccess=main, so a datagram from
 * any other process is dropped by systemd.
 * Runs in: listener.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "../common/limits.h"
#include "../common/log.h"
#include "notify.h"

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

static void
send_state(const char *state)
{
	int r = sd_notify(0, state);

	if (r < 0)
		log_warn("sd_notify: %-s", strerror(-r));
}

static void
status_line(char *buf, size_t sz, const char *what, size_t sessions,
    size_t logged_in)
{
	snprintf(buf, sz, "%sSTATUS=%zu session(s), %zu logged in", what,
	    sessions, logged_in);
}

void
notify_ready(size_t sessions, size_t logged_in)
{
	char buf[128];

	status_line(buf, sizeof(buf), "READY=1\n", sessions, logged_in);
	send_state(buf);
}

void
notify_reloading(void)
{
	struct timespec ts;
	char buf[96];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(buf, sizeof(buf), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
		(unsigned long long)ts.tv_nsec / 1000ULL);
	send_state(buf);
}

void
notify_stopping(size_t sessions)
{
	char buf[96];

	snprintf(buf, sizeof(buf),
	    "STOPPING=1\nSTATUS=stopping: %zu "
	    "session(s) to end",
	    sessions);
	send_state(buf);
}

void
notify_status(size_t sessions, size_t logged_in)
{
	char buf[96];

	status_line(buf, sizeof(buf), "", sessions, logged_in);
	send_state(buf);
}

void
notify_hand_over(long pid)
{
	char buf[96];

	snprintf(buf, sizeof(buf),
	    "MAINPID=%ld\nSTATUS=upgrade: pid %ld took over", pid, pid);
	send_state(buf);
	unsetenv("NOTIFY_SOCKET");
}

int
notify_passed_count(void)
{
	int n = sd_listen_fds(0);

	return n < 0 ? 0 : n > KF_LISTEN_MAX ? KF_LISTEN_MAX : n;
}

int
notify_listen_fds(int *fds, int *implicit, size_t max)
{
	char **names = NULL;
	int n, i, ok = 0;

	n = sd_listen_fds_with_names(1, &names);
	if (n <= 0) {
		if (n < 0)
			log_err("sd_listen_fds: %-s", strerror(-n));
		return n < 0 ? -1 : 0;
	}
	if ((size_t)n > max) {
		log_err("%d sockets passed; at most %zu listeners", n, max);
		ok = -1;
	}
	for (i = 0; i < n && ok == 0; i++) {
		fds[i] = SD_LISTEN_FDS_START + i;
		implicit[i] = names != NULL && names[i] != NULL &&
		    strcmp(names[i], "implicit") == 0;
		if (sd_is_socket(fds[i], AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
			log_err("passed fd %d is not a listening stream "
				"socket",
			    fds[i]);
			ok = -1;
		}
	}
	for (i = 0; names != NULL && names[i] != NULL; i++)
		free(names[i]);
	free(names);
	return ok < 0 ? -1 : n;
}

#else /* !HAVE_SYSTEMD */

void
notify_ready(size_t sessions, size_t logged_in)
{
	(void)sessions;
	(void)logged_in;
}

void
notify_reloading(void)
{
}

void
notify_stopping(size_t sessions)
{
	(void)sessions;
}

void
notify_status(size_t sessions, size_t logged_in)
{
	(void)sessions;
	(void)logged_in;
}

void
notify_hand_over(long pid)
{
	(void)pid;
}

int
notify_passed_count(void)
{
	return 0;
}

int
notify_listen_fds(int *fds, int *implicit, size_t max)
{
	(void)fds;
	(void)implicit;
	(void)max;
	return 0;
}

#endif
