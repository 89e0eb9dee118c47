/*
 * users.c - the virtual users file: strict parser, lookup and loader.
 * Runs in: monitor (login), keepftpd user command (edits).
 *
 * Format: one user per line,
 *
 *	name:hash:uid:gid:home:flags
 *
 * '#' comment lines and blank lines are ignored; a trailing CR is
 * tolerated. Lines are at most KF_USERS_LINE_MAX bytes, the file at most
 * KF_USERS_FILE_MAX bytes.
 *   name   1..KF_USER_MAX bytes of [A-Za-z0-9._@-], not starting with
 *          '-' or '.'.
 *   hash   $argon2id$... (libsodium), $6$... (sha512-crypt) or
 *          $2b$ / $2y$ / $2a$ (bcrypt); printable, no ':'.
 *   uid    decimal, 1..4294967294 (0 refused: a session never runs as
 *          root). Ignored for the process identity when rootless.
 *   gid    same as uid.
 *   home   absolute path, no ':' and no control characters; the root of
 *          the user's sessions.
 *   flags  comma-separated, each "key" or "key=value": "write" (may
 *          upload, delete, rename, mkdir), "tls" (logins need TLS on the
 *          control connection). Empty: read-only, TLS as configured.
 *          An unknown flag is an error.
 * A malformed line is an error with its line number; at login a
 * malformed file is treated as "no such user". When a name appears on
 * several lines the first wins (`keepftpd user add` refuses duplicates).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/cursor.h"
#include "../common/sys.h"
#include "users.h"

#define ID_MAX	4294967294ULL

struct flag_def {
	const char	*key;
	unsigned	 bit;
	int		 has_value;
};

static const struct flag_def flag_defs[] = {
	{ "write", USERS_FLAG_WRITE, 0 },
	{ "tls", USERS_FLAG_TLS, 0 },
};

static const char *hash_prefixes[] = {
	"$argon2id$", "$6$", "$2b$", "$2y$", "$2a$",
};

static int
name_char(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '@' ||
	    ch == '-';
}

int
users_valid_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > KF_USER_MAX || s[0] == '-' || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!name_char((unsigned char)s[i]))
			return 0;
	return 1;
}

static int
copy_field(char *dst, size_t dstsz, const char *s, size_t n)
{
	if (n >= dstsz)
		return -1;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

static int
parse_name(struct cursor *c, struct users_entry *e, const char **err)
{
	const char *t = c->p;
	size_t n;

	while (c->p < c->end && *c->p != ':')
		c->p++;
	n = (size_t)(c->p - t);
	if (!users_valid_name(t, n)) {
		*err = "bad user name";
		return -1;
	}
	return copy_field(e->name, sizeof(e->name), t, n);
}

static int
hash_known(const char *s, size_t n)
{
	size_t i, k;

	for (i = 0; i < sizeof(hash_prefixes) / sizeof(hash_prefixes[0]); i++) {
		k = strlen(hash_prefixes[i]);
		if (n > k && memcmp(s, hash_prefixes[i], k) == 0)
			return 1;
	}
	return 0;
}

static int
parse_hash(struct cursor *c, struct users_entry *e, const char **err)
{
	const char *t = c->p;
	size_t n;

	while (c->p < c->end && *c->p > 0x20 && *c->p < 0x7f && *c->p != ':')
		c->p++;
	n = (size_t)(c->p - t);
	*err = "bad password hash";
	if (n > USERS_HASH_MAX || !hash_known(t, n))
		return -1;
	return copy_field(e->hash, sizeof(e->hash), t, n);
}

static int
parse_id(struct cursor *c, uint64_t *v, const char **err, const char *what)
{
	*err = what;
	if (cursor_u64(c, ID_MAX, v) < 0 || *v == 0)
		return -1;
	return 0;
}

static int
parse_home(struct cursor *c, struct users_entry *e, const char **err)
{
	const char *t = c->p;

	while (c->p < c->end && *c->p != ':') {
		if ((unsigned char)*c->p < 0x20 || *c->p == 0x7f)
			break;
		c->p++;
	}
	*err = "bad home (absolute path, no ':' or control characters)";
	if (c->p == t || *t != '/')
		return -1;
	return copy_field(e->home, sizeof(e->home), t, (size_t)(c->p - t));
}

static int
parse_flag(const char *s, size_t n, unsigned *flags, const char **err)
{
	const char *eq = memchr(s, '=', n);
	size_t klen = eq != NULL ? (size_t)(eq - s) : n;
	size_t i;

	for (i = 0; i < sizeof(flag_defs) / sizeof(flag_defs[0]); i++) {
		if (strlen(flag_defs[i].key) != klen ||
		    memcmp(flag_defs[i].key, s, klen) != 0)
			continue;
		if ((eq != NULL) != flag_defs[i].has_value) {
			*err = eq != NULL ? "flag takes no value" :
			    "flag needs a value";
			return -1;
		}
		*flags |= flag_defs[i].bit;
		return 0;
	}
	*err = "unknown flag";
	return -1;
}

static int
parse_flags(struct cursor *c, struct users_entry *e, const char **err)
{
	const char *t;
	size_t n;

	e->flags = 0;
	if (cursor_eof(c))
		return 0;
	for (;;) {
		if (cursor_token(c, ",", &t, &n) < 0) {
			*err = "empty flag";
			return -1;
		}
		if (parse_flag(t, n, &e->flags, err) < 0)
			return -1;
		if (cursor_eof(c))
			return 0;
		c->p++;		/* the ',' */
	}
}

static int
expect_colon(struct cursor *c, const char **err)
{
	if (cursor_eat(c, ':'))
		return 0;
	*err = "expected name:hash:uid:gid:home:flags";
	return -1;
}

static int
parse_fields(struct cursor *c, struct users_entry *e, const char **err)
{
	uint64_t uid, gid;

	if (parse_name(c, e, err) < 0 || expect_colon(c, err) < 0 ||
	    parse_hash(c, e, err) < 0 || expect_colon(c, err) < 0 ||
	    parse_id(c, &uid, err, "bad uid (1..4294967294)") < 0 ||
	    expect_colon(c, err) < 0 ||
	    parse_id(c, &gid, err, "bad gid (1..4294967294)") < 0 ||
	    expect_colon(c, err) < 0 || parse_home(c, e, err) < 0 ||
	    expect_colon(c, err) < 0 || parse_flags(c, e, err) < 0)
		return -1;
	e->uid = (uid_t)uid;
	e->gid = (gid_t)gid;
	return 0;
}

int
users_parse_line(const char *line, size_t len, struct users_entry *e,
    const char **err)
{
	struct cursor c;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > KF_USERS_LINE_MAX) {
		*err = "line too long";
		return -1;
	}
	if (len == 0 || line[0] == '#')
		return 0;
	memset(e, 0, sizeof(*e));
	cursor_init(&c, line, len);
	if (parse_fields(&c, e, err) < 0)
		return -1;
	return 1;
}

int
users_next_line(const char **p, const char *end, const char **line,
    size_t *len)
{
	const char *nl;

	if (*p >= end)
		return 0;
	*line = *p;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	if (nl == NULL) {
		*len = (size_t)(end - *p);
		*p = end;
	} else {
		*len = (size_t)(nl - *p);
		*p = nl + 1;
	}
	return 1;
}

int
users_find(const char *text, size_t len, const char *name,
    struct users_entry *out, size_t *lineno, const char **err)
{
	struct users_entry e;
	const char *p = text, *end = text + len, *line;
	size_t n, no = 0;
	int r, found = 0;

	while (users_next_line(&p, end, &line, &n)) {
		no++;
		if ((r = users_parse_line(line, n, &e, err)) < 0) {
			*lineno = no;
			return -1;
		}
		if (r == 1 && !found && strcmp(e.name, name) == 0) {
			*out = e;
			found = 1;
		}
	}
	return found;
}

int
users_format_line(const struct users_entry *e, struct buf *b)
{
	unsigned f = e->flags & (USERS_FLAG_WRITE | USERS_FLAG_TLS);

	return buf_appendf(b, "%s:%s:%lu:%lu:%s:%s\n", e->name, e->hash,
	    (unsigned long)e->uid, (unsigned long)e->gid, e->home,
	    f == (USERS_FLAG_WRITE | USERS_FLAG_TLS) ? "write,tls" :
	    f == USERS_FLAG_WRITE ? "write" : f == USERS_FLAG_TLS ? "tls" : "");
}

static int
read_all(int fd, char *p, size_t max, size_t *len)
{
	ssize_t r;

	*len = 0;
	while ((r = sys_read(fd, p + *len, max + 1 - *len)) > 0) {
		*len += (size_t)r;
		if (*len > max)
			return -EFBIG;
	}
	return r < 0 ? -errno : 0;
}

int
users_load(const char *path, char **text, size_t *len)
{
	struct stat st;
	char *p = NULL;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode))
		r = -EINVAL;
	else if (st.st_size > KF_USERS_FILE_MAX)
		r = -EFBIG;
	else if ((p = malloc((size_t)st.st_size + 2)) == NULL)
		r = -ENOMEM;
	else	/* a file growing under us reads as too big */
		r = read_all(fd, p, (size_t)st.st_size, len);
	close(fd);
	if (r < 0) {
		free(p);
		return r;
	}
	p[*len] = '\0';
	*text = p;
	return 0;
}
