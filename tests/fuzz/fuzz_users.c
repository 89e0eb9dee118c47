/*
 * fuzz_users.c - the virtual users file parser: users_find over the
 * whole text, and users_parse_line on each line. Every accepted entry
 * is written back with users_format_line and must parse to the same
 * entry.
 * Runs in: fuzz target only.
 */
#include <string.h>

#include "auth/users.h"
#include "common/buf.h"
#include "fuzz.h"

static struct users_entry e, e2;

static void
check_entry(const struct users_entry *u)
{
	FUZZ_CHECK(users_valid_name(u->name, strlen(u->name)));
	FUZZ_CHECK(u->uid != 0 && u->gid != 0);
	FUZZ_CHECK(u->home[0] == '/');
	FUZZ_CHECK(
	    strchr(u->home, ':') == NULL && strchr(u->hash, ':') == NULL);
}

static void
round_trip(const struct users_entry *u)
{
	const char *err = NULL;
	struct buf *b;
	size_t n;

	if ((b = buf_new(4 * KF_USERS_LINE_MAX)) == NULL)
		return;
	FUZZ_CHECK(users_format_line(u, b) == 0);
	n = buf_len(b);
	FUZZ_CHECK(n > 0 && buf_data(b)[n - 1] == '\n');
	FUZZ_CHECK(users_parse_line(buf_data(b), n - 1, &e2, &err) == 1);
	FUZZ_CHECK(strcmp(u->name, e2.name) == 0);
	FUZZ_CHECK(strcmp(u->hash, e2.hash) == 0);
	FUZZ_CHECK(strcmp(u->home, e2.home) == 0);
	FUZZ_CHECK(u->uid == e2.uid && u->gid == e2.gid);
	FUZZ_CHECK(u->flags == e2.flags);
	FUZZ_CHECK(strcmp(u->allow_from, e2.allow_from) == 0);
	FUZZ_CHECK(strcmp(u->deny_from, e2.deny_from) == 0);
	/* per-user limits */
	FUZZ_CHECK(u->max_sessions == e2.max_sessions);
	FUZZ_CHECK(u->umask == e2.umask && u->umask <= 0777);
	FUZZ_CHECK(strcmp(u->login_hours, e2.login_hours) == 0);
	buf_free(b);
}

static void
each_line(const char *text, size_t size)
{
	const char *p = text, *end = text + size, *line, *err;
	size_t n;
	int r;

	while (users_next_line(&p, end, &line, &n)) {
		FUZZ_CHECK(line >= text && line + n <= end);
		err = NULL;
		r = users_parse_line(line, n, &e, &err);
		FUZZ_CHECK(r == -1 || r == 0 || r == 1);
		FUZZ_CHECK(r >= 0 || err != NULL);
		if (r == 1) {
			check_entry(&e);
			round_trip(&e);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *err = NULL;
	size_t lineno = 0;
	char *text;
	int r;

	/* an exact-size copy, so reading past the end is caught */
	if ((text = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	r = users_find(text, size, "alice", &e, &lineno, &err);
	FUZZ_CHECK(r == -1 || r == 0 || r == 1);
	if (r < 0)
		FUZZ_CHECK(err != NULL && lineno > 0);
	else
		each_line(text, size);
	free(text);
	return 0;
}
