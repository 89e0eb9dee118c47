/*
 * verify.c - where each login check runs, so that its memory dies with
 * the verdict and the monitor's heap only ever gets the verdict:
 *   - an anonymous login reads no secret (the account was looked up
 *     before the monitor was forked): the monitor checks it itself;
 *   - a users-file or inline-users password is checked in the monitor
 *     itself (auth_check_here), below a stack gap: the users file and
 *     the inline users' memfd are read into mappings of their own
 *     (users_load, users_unload), the entry, crypt(3)'s data and
 *     argon2id's key are on the stack, and the stack pages the check
 *     wrote go back to the kernel before the monitor goes on
 *     (sys_call_shed). No fork, no address space to copy and tear down;
 *   - what that check cannot do in memory of its own (PAM, whose
 *     modules read the shadow file into the heap; users in PostgreSQL;
 *     a rehash; an argon2id string only libsodium's own check reads;
 *     client certificates) runs in a child forked for it: it runs
 *     auth_check_vhost() or auth_identity_by_cert(), writes the verdict
 *     and the identity back in a fixed layout on a socketpair, and
 *     exits. The monitor goes on as soon as it has the verdict: the
 *     child's exit runs beside the rest of the login, and verify_reap()
 *     collects it where the monitor waits anyway (the pre-login
 *     worker's end), or before the next check.
 * With users_backend = postgresql the child asks kf-pgauth
 * (src/auth/pgask.c); -2 says the database is unavailable.
 * Runs in: monitor (verify_*, the users-file check), verifier child.
 */
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../auth/users.h"
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

/*
 * The inline users' memfd, NUL-terminated, in a mapping of its own
 * (users_unload), or NULL.
 */
static char *
inline_text(void)
{
	size_t len;
	char *t;

	if (inline_fd < 0 || users_load_fd(inline_fd, &t, &len) < 0)
		return NULL;
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
		text = inline_text(); /* the exit unmaps it */
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
	int fd, r = -1;
	ssize_t n;
	pid_t pid;

	verify_reap();
	if ((pid = sys_fork_pair(SOCK_SEQPACKET, &fd)) < 0)
		return -1;
	if (pid == 0)
		child(k, fd);
	memset(&v, 0, sizeof(v));
	n = sys_read(fd, &v, sizeof(v));
	close(fd);
	pending = pid; /* it has nothing left to do but end */
	if (n == (ssize_t)sizeof(v) && v.ok == 1) {
		*id = v.id;
		r = 0;
	} else if (n == (ssize_t)sizeof(v) && v.ok == 2)
		r = -2;
	sodium_memzero(&v, sizeof(v));
	return r;
}

struct here {
	const struct check *k;
	struct auth_identity *id;
};

/* The check itself: everything it writes is on the stack or mapped. */
static int
here_main(void *arg)
{
	const struct here *h = arg;
	const struct check *k = h->k;
	const char *text = k->inline_users;
	char *mapped = NULL;
	int r;

	if (text == NULL && inline_fd >= 0 &&
	    (text = mapped = inline_text()) == NULL)
		return AUTH_ELSEWHERE;
	r = auth_check_here(k->c, text, k->vh, k->user, k->pass, h->id);
	users_unload(mapped);
	return r;
}

/*
 * A password check in the monitor itself: 0 and *id, -1, or
 * AUTH_ELSEWHERE (nothing was checked). The stack pages it wrote are
 * given back to the kernel before this returns (sys_call_shed).
 */
static int
run_here(const struct check *k, struct auth_identity *id)
{
	struct here h = { k, id };

	return sys_call_shed(here_main, &h);
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
	int r;

	if (auth_is_anonymous(c, user))
		return auth_check_vhost(c, inline_users, vh, user, pass, id);
	if ((r = run_here(&k, id)) != AUTH_ELSEWHERE)
		return r;
	return run(&k, id);
}

int
verify_cert(const struct conf *c, const char *inline_users, const char *user,
    struct auth_identity *id)
{
	struct check k = { c, inline_users, NULL, user, NULL };

	return run(&k, id);
}
