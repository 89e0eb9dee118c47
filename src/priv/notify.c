/*
 * notify.c - sd_notify(3) and sd_listen_fds_with_names(3) for the
 * listener. The messages: READY=1 once every listener is bound and the
 * spawners are up; RELOADING=1 with MONOTONIC_USEC (Type=notify-reload
 * needs it; plain Type=notify accepts it) then READY=1 around a SIGHUP;
 * STOPPING=1 at stop; STATUS= with the session counts after each
 * change; MAINPID= the new listener at `keepftpd upgrade`. NOTIFY_SOCKET stays in the environment: only the listener
 * calls these, and the unit sets NotifyAccess=main, so a datagram from
 * any other process is dropped by systemd.
 *
 * libsystemd is opened (dlopen) only when the environment says systemd
 * started us (NOTIFY_SOCKET or LISTEN_FDS), and only then: with it come
 * libgcrypt, liblzma, libzstd, liblz4 and libgpg-error, about 35
 * mappings that every monitor and verifier forked from the listener
 * would otherwise copy and tear down (docs/PERFORMANCE.md). Without
 * those variables libsystemd's calls do nothing; so do these.
 * Runs in: listener.
 */
#include <dlfcn.h>
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

/* The calls used, resolved from libsystemd.so.0 at the first need. */
struct sd_api {
	int (*notify)(int, const char *);
	int (*listen_fds)(int);
	int (*listen_fds_with_names)(int, char ***);
	int (*is_socket)(int, int, int, int);
};

static int
sd_resolve(void *h, struct sd_api *a)
{
	*(void **)&a->notify = dlsym(h, "sd_notify");
	*(void **)&a->listen_fds = dlsym(h, "sd_listen_fds");
	*(void **)&a->listen_fds_with_names = dlsym(h,
	    "sd_listen_fds_with_names");
	*(void **)&a->is_socket = dlsym(h, "sd_is_socket");
	return a->notify != NULL && a->listen_fds != NULL &&
		a->listen_fds_with_names != NULL && a->is_socket != NULL ?
	    0 :
	    -1;
}

/* NULL: not started by systemd, or libsystemd unusable (logged once). */
static const struct sd_api *
sd(void)
{
	static struct sd_api api;
	static int state; /* 0: not tried, 1: usable, -1: not */
	void *h;

	if (state != 0)
		return state > 0 ? &api : NULL;
	state = -1;
	if (getenv("NOTIFY_SOCKET") == NULL && getenv("LISTEN_FDS") == NULL)
		return NULL;
	if ((h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL)) == NULL) {
		log_err("started by systemd, but libsystemd.so.0: %-s",
		    dlerror());
		return NULL;
	}
	if (sd_resolve(h, &api) < 0) {
		log_err("libsystemd.so.0 lacks sd_notify or sd_listen_fds");
		dlclose(h);
		return NULL;
	}
	state = 1;
	return &api;
}

static void
send_state(const char *state)
{
	const struct sd_api *a = sd();
	int r;

	if (a == NULL)
		return;
	if ((r = a->notify(0, state)) < 0)
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
	const struct sd_api *a = sd();
	int n = a != NULL ? a->listen_fds(0) : 0;

	return n < 0 ? 0 : n > KF_LISTEN_MAX ? KF_LISTEN_MAX : n;
}

static int
named(char **names, int i, const char *what)
{
	return names != NULL && names[i] != NULL && strcmp(names[i], what) == 0;
}

int
notify_listen_fds(int *fds, int *implicit, int *proxy, size_t max)
{
	const struct sd_api *a = sd();
	char **names = NULL;
	int n, i, ok = 0;

	if (a == NULL)
		return 0;
	n = a->listen_fds_with_names(1, &names);
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
		implicit[i] = named(names, i, "implicit");
		proxy[i] = named(names, i, "proxy");
		if (a->is_socket(fds[i], AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
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
notify_listen_fds(int *fds, int *implicit, int *proxy, size_t max)
{
	(void)fds;
	(void)implicit;
	(void)proxy;
	(void)max;
	return 0;
}

#endif
