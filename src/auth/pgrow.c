/*
 * pgrow.c - a keepftpd_users row as a users-file entry, and back: the
 * row is read by the users-file parser itself (one record type, one set
 * of checks), so the database holds exactly what the file may hold.
 * Runs in: kf-pgauth, the `keepftpd user` database helper
 * (keepftpd-pgauth --pgusers), unit tests.
 */
#include <string.h>

#include "../common/buf.h"
#include "pgask.h"

/* ':' splits the line: only the last column, flags, may hold one. */
static int
column_ok(const char *s, int last)
{
	for (; *s != '\0'; s++)
		if (*s == '\n' || *s == '\r' || (*s == ':' && !last))
			return 0;
	return 1;
}

int
pgrow_parse(const char *const col[PGROW_COLS], struct users_entry *e,
    const char **err)
{
	struct buf *b;
	int i, r = -1;

	*err = "malformed row";
	for (i = 0; i < PGROW_COLS; i++)
		if (col[i] == NULL || !column_ok(col[i], i == PGROW_FLAGS)) {
			*err = "a column holds ':', a line break or NULL";
			return -1;
		}
	if ((b = buf_new(KF_USERS_LINE_MAX + 1)) == NULL)
		return -1;
	if (buf_appendf(b, "%s:%s:%s:%s:%s:%s", col[PGROW_NAME],
		col[PGROW_HASH], col[PGROW_UID], col[PGROW_GID],
		col[PGROW_HOME], col[PGROW_FLAGS]) < 0 ||
	    buf_len(b) > KF_USERS_LINE_MAX)
		*err = "row too long";
	else if ((r = users_parse_line(buf_data(b), buf_len(b), e, err)) == 0)
		*err = "not a user";
	buf_free(b);
	return r == 1 ? 0 : -1;
}

int
pgrow_flags(const struct users_entry *e, char *out, size_t outsz)
{
	struct buf *b;
	int r = -1;

	if ((b = buf_new(KF_USERS_LINE_MAX)) == NULL)
		return -1;
	if (users_format_flags(e, b) == 0 && buf_len(b) < outsz) {
		memcpy(out, buf_data(b), buf_len(b));
		out[buf_len(b)] = '\0';
		r = 0;
	}
	buf_free(b);
	return r;
}

int
pgrow_line(const struct users_entry *e, char *out, size_t outsz)
{
	struct buf *b;
	size_t n;
	int r = -1;

	if ((b = buf_new(KF_USERS_LINE_MAX + 2)) == NULL)
		return -1;
	/* users_format_line ends the line with "\n": left out here */
	if (users_format_line(e, b) == 0 && (n = buf_len(b)) > 1 &&
	    n - 1 < outsz) {
		memcpy(out, buf_data(b), n - 1);
		out[n - 1] = '\0';
		r = 0;
	}
	buf_free(b);
	return r;
}
