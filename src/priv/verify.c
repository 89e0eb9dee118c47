/*
 * verify.c - each login check runs in a child forked for it: it runs
 * auth_check_vhost() (anonymous, inline users, users file, PAM) or
 * auth_identity_by_cert(), writes the verdict and the identity back in
 * a fixed layout on a socketpair, and exits. The users file, the
 * shadow lines PAM read and every hash compared die with it; the
 * monitor's heap only ever gets the verdict. With users_backend =
 * postgresql the child asks kf-pgauth (src/auth/pgask.c) instead of
 * reading the users file; -2 says the database is unavailable. An anonymous login reads
 * no secret (the account was looked up before the monitor was forked):
 * the monitor checks it itself and forks nothing. The monitor goes on
 * as soon as it has the verdict: the child's exit (its address space
 * torn down) runs beside the rest of the login, and verify_reap()
 * collects it where the monitor waits anyway (the pre-login worker's
 * end), or before the next check.
 * Runs in: monitor (verify_*), verifier child (check).
 */
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/sys.h"
#include "verify.h"

/* The answer, exactly this many bytes. */
struct verdict {
	int32_t ok; /* 1: accepted; 2: the users database is unavailable */
	struct auth_identity id;
};

struct check {
	const struct conf *c;
	const char *inline_users;
	const struct conf_vhost *vh;
	const char *user;
	const char *pass; /* NULL: by certificate */
};

static int inline_fd = -1;
static pid_t pending = -1; /* a verifier not yet reaped */

void
verify_init(int fd)
{
	inline_fd = fd;
}

/* In the child: the memfd's text, NUL-terminated, or NULL. */
static char *
inline_text(void)
{
	struct stat st;
	char *t;

	if (inline_fd < 0 || fstat(inline_fd, &st) < 0 || st.st_size < 0 ||
	    (size_t)st.st_size > KF_USERS_FILE_MAX ||
	    (t = malloc((size_t)st.st_size + 1)) == NULL)
		return NULL;
	if (pread(inline_fd, t, (size_t)st.st_size, 0) != st.st_size) {
		free(t);
		return NULL;
	}
	t[st.st_size] = '\0';
	return t;
}

static void __attribute__((noreturn)) child(const struct check *k, int out)
{
	const char *text = k->inline_users;
	struct verdict v;
	int r;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(1);
	memset(&v, 0, sizeof(v));
	if (text == NULL)
		text = inline_text();
	if (k->pass != NULL) {
		r = auth_check_vhost(k->c, text, k->vh, k->user, k->pass,
		    &v.id);
		v.ok = r == 0 ? 1 : r == -2 ? 2 : 0;
	} else
		v.ok = auth_identity_by_cert(k->c, text, k->user, &v.id) == 0;
	(void)sys_write_all(out, &v, sizeof(v));
	_exit(0);
}

/* Forks the check; 0 and *id when the child said yes, else -1. */
static int
run(const struct check *k, struct auth_identity *id)
{
	struct verdict v;
	int sv[2], r = -1;
	ssize_t n;
	pid_t pid;

	verify_reap();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		child(k, sv[1]);
	}
	close(sv[1]);
	memset(&v, 0, sizeof(v));
	n = sys_read(sv[0], &v, sizeof(v));
	close(sv[0]);
	pending = pid; /* it has nothing left to do but end */
	if (n == (ssize_t)sizeof(v) && v.ok == 1) {
		*id = v.id;
		r = 0;
	} else if (n == (ssize_t)sizeof(v) && v.ok == 2)
		r = -2;
	sodium_memzero(&v, sizeof(v));
	return r;
}

void
verify_reap(void)
{
	if (pending < 0)
		return;
	while (waitpid(pending, NULL, 0) < 0 && errno == EINTR)
		;
	pending = -1;
}

int
verify_login(const struct conf *c, const char *inline_users,
    const struct conf_vhost *vh, const char *user, const char *pass,
    struct auth_identity *id)
{
	struct check k = { c, inline_users, vh, user, pass };

	if (auth_is_anonymous(c, user))
		return auth_check_vhost(c, inline_users, vh, user, pass, id);
	return run(&k, id);
}

int
verify_cert(const struct conf *c, const char *inline_users, const char *user,
    struct auth_identity *id)
{
	struct check k = { c, inline_users, NULL, user, NULL };

	return run(&k, id);
}
