/*
 * pam.c - system users through PAM (pam_authenticate, pam_acct_mgmt),
 * then the account's uid, gid and home from the passwd database; the
 * PAM session of a logged-in system user (pam_open_session,
 * pam_close_session). Only the password prompt is answered; PAM's
 * failure delay is off. The session is opened and kept by a child of
 * the monitor (kf-pam-session) that closes it when the monitor says so
 * or dies: what session modules read (the shadow file) never reaches the
 * monitor's memory, and the shrunk monitor's filter allows no exec,
 * which session modules may need at close (pam_exec).
 * Runs in: monitor (the session part in the session's own monitor, and
 * its PAM session keeper).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "../common/limits.h"
#include "../common/log.h"
#include "../common/sys.h"
#include "../sandbox/sandbox.h"
#include "auth.h"
#include "users.h"

static void
free_replies(struct pam_response *r, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (r[i].resp != NULL) {
			explicit_bzero(r[i].resp, strlen(r[i].resp));
			free(r[i].resp);
		}
	}
	free(r);
}

/* Answers the password prompt only; anything else fails the login. */
static int
conv(int n, const struct pam_message **msg, struct pam_response **resp,
    void *data)
{
	struct pam_response *r;
	int i;

	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	if ((r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF ||
		    (r[i].resp = strdup(data)) == NULL) {
			free_replies(r, n);
			return PAM_CONV_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/*
 * Replaces PAM's failure delay: it would sleep while holding an auth
 * slot; the monitor delays failed logins itself.
 */
static void
no_delay(int retval, unsigned usec, void *data)
{
	(void)retval;
	(void)usec;
	(void)data;
}

static int
pam_identity(const struct conf *c, const char *user, struct auth_identity *id)
{
	struct passwd *pw;
	size_t n;

	if ((pw = getpwnam(user)) == NULL || pw->pw_uid == 0) {
		log_warn("pam: user=%s has no passwd entry, or is root", user);
		return -1;
	}
	n = strlen(pw->pw_dir);
	if (pw->pw_dir[0] != '/' || n >= sizeof(id->root))
		return -1;
	memcpy(id->root, pw->pw_dir, n + 1);
	id->uid = geteuid() == 0 ? pw->pw_uid : getuid();
	id->gid = geteuid() == 0 ? pw->pw_gid : getgid();
	id->writable = c->pam_write;
	id->anonymous = 0;
	id->pam = 1;
	return 0;
}

int
pam_check(const struct conf *c, const char *user, const char *pass,
    struct auth_identity *id)
{
	struct pam_conv pc;
	pam_handle_t *ph = NULL;
	int r;

	pc.conv = conv;
	pc.appdata_ptr = (void *)(uintptr_t)pass;
	if (pam_start(c->pam_service, user, &pc, &ph) != PAM_SUCCESS) {
		log_warn("pam_start failed: pam_service=%s", c->pam_service);
		return -1;
	}
	(void)pam_set_item(ph, PAM_TTY, "keepftpd");
	(void)pam_set_item(ph, PAM_FAIL_DELAY,
	    (const void *)(uintptr_t)no_delay);
	r = pam_authenticate(ph, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (r == PAM_SUCCESS)
		r = pam_acct_mgmt(ph, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (r != PAM_SUCCESS)
		log_info("pam: %-s user=%s", pam_strerror(ph, r), user);
	pam_end(ph, r);
	if (r != PAM_SUCCESS)
		return -1;
	return pam_identity(c, user, id);
}

/*
 * The keeper of the open session, if any, and the socket that ends it:
 * one status byte comes up when the session is open (0) or not (1);
 * EOF going down ends it.
 */
static pid_t keeper;
static int keeper_fd = -1;

static int
no_conv(int n, const struct pam_message **msg, struct pam_response **resp,
    void *data)
{
	(void)n;
	(void)msg;
	(void)resp;
	(void)data;
	return PAM_CONV_ERR;
}

/* In the keeper: pam_start, setcred, open_session. The handle, or NULL. */
static pam_handle_t *
open_session(const struct conf *c, const struct auth_identity *id)
{
	struct pam_conv pc = { no_conv, NULL };
	pam_handle_t *ph = NULL;
	int r;

	if (pam_start(c->pam_service, id->name, &pc, &ph) != PAM_SUCCESS) {
		log_warn("pam_start failed: pam_service=%s", c->pam_service);
		return NULL;
	}
	(void)pam_set_item(ph, PAM_TTY, "keepftpd");
	r = pam_setcred(ph, PAM_ESTABLISH_CRED | PAM_SILENT);
	if (r == PAM_SUCCESS)
		r = pam_open_session(ph, PAM_SILENT);
	if (r != PAM_SUCCESS) {
		log_warn("pam: session of user=%s failed: %-s", id->name,
		    pam_strerror(ph, r));
		pam_end(ph, r);
		return NULL;
	}
	return ph;
}

/*
 * The keeper, a child of the monitor: it opens the session itself, so
 * that what the session modules read (the shadow file, for one) never
 * reaches the monitor's memory; says whether that worked; then, with
 * its rights cut down, waits until the monitor closes its end (logout,
 * or the monitor's death) and closes the session. It reads nothing but
 * that end of file.
 */
static void __attribute__((noreturn))
keep_session(const struct conf *c, const struct auth_identity *id, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	pam_handle_t *ph;
	char st, b;
	int r;

	prctl(PR_SET_NAME, "kf-pam-session");
	(void)signal(SIGTERM, SIG_IGN); /* the session ends by the socket */
	/* stdio (the log) and the socket: nothing else of the monitor's */
	if (fd > 3)
		close_range(3, (unsigned)fd - 1, 0);
	close_range((unsigned)fd + 1, ~0U, 0);
	ph = open_session(c, id);
	st = ph != NULL ? 0 : 1;
	if (sys_write_all(fd, &st, 1) < 0 || ph == NULL)
		_exit(1);
	sandbox_pam_keeper();
	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
	while (read(fd, &b, 1) > 0)
		;
	r = pam_close_session(ph, PAM_SILENT);
	(void)pam_setcred(ph, PAM_DELETE_CRED | PAM_SILENT);
	pam_end(ph, r);
	_exit(r == PAM_SUCCESS ? 0 : 1);
}

/* The keeper's first byte: 0 when the session is open, else -1. */
static int
keeper_status(int fd)
{
	char st = 1;

	if (sys_poll1(fd, POLLIN, KF_PAM_CLOSE_MS) <= 0 ||
	    read(fd, &st, 1) != 1)
		return -1;
	return st == 0 ? 0 : -1;
}

static void keeper_end(void);

int
auth_session_open(const struct conf *c, const struct auth_identity *id)
{
	pid_t pid;
	int fd;

	if (!id->pam || keeper > 0)
		return 0;
	if ((pid = sys_fork_pair(SOCK_STREAM, &fd)) < 0) {
		log_warn("pam: session of user=%s has no keeper process: %-s",
		    id->name, strerror(errno));
		return -1;
	}
	if (pid == 0)
		keep_session(c, id, fd);
	keeper = pid;
	keeper_fd = fd;
	if (keeper_status(keeper_fd) == 0)
		return 0;
	keeper_end();
	return -1;
}

/* EOF to the keeper, then KF_PAM_CLOSE_MS for it to close and exit. */
static void
keeper_end(void)
{
	int64_t until = sys_now_ms() + KF_PAM_CLOSE_MS;

	if (keeper <= 0)
		return;
	sys_close(&keeper_fd);
	while (waitpid(keeper, NULL, WNOHANG) == 0) {
		if (sys_now_ms() >= until) {
			log_warn("pam: session close took over %d ms; keeper "
				 "killed",
			    KF_PAM_CLOSE_MS);
			kill(keeper, SIGKILL);
			waitpid(keeper, NULL, 0);
			break;
		}
		sys_sleep_ms(10);
	}
	keeper = 0;
}

void
auth_session_close(void)
{
	keeper_end();
}
