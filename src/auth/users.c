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
 *          upload, delete, rename, mkdir; without it: read-only);
 *          "tls" (logins need TLS on the control connection);
 *          "down_rate=N" and "up_rate=N" (bytes/s, 0..4000000000, 0: no
 *          limit; replace download_rate and upload_rate);
 *          "quota_bytes=N" and "quota_files=N" (0..2^60, 0: none);
 *          "allow_from=LIST" and "deny_from=LIST", client addresses
 *          as a.b.c.d[/bits] or v6addr[/bits] separated by ';' (at
 *          most 64, KF_USERS_ADDRS_MAX bytes): the monitor refuses this
 *          user's login from an address deny_from matches, or that a
 *          non-empty allow_from does not.
 *          "perm=PATH:PERMS" (repeatable, one per path, at most
 *          KF_PERM_RULES_MAX): per-directory permissions, PERMS
 *          separated by ';' (docs/PERMISSIONS.md, common/perm.h).
 *          "folders=LIST": shared folders (the configuration's folder
 *          names) this user gets, separated by ';' (at most
 *          KF_FOLDERS_LIST_MAX bytes); a name the configuration lacks
 *          is left out at login.
 *          Per-user limits (docs/PERMISSIONS.md): "max_sessions=N"
 *          (1..KF_USER_SESSIONS_MAX concurrent sessions, counted by the
 *          listener), "umask=OOO" (octal, 000..777), "login_hours=SPEC"
 *          (auth/hours.h, ';' between windows), "fxp" (data
 *          connections to and from other addresses than the client's).
 *          An unknown flag, a bad value or a flag given twice is an
 *          error.
 * A malformed line is an error with its line number; at login a
 * malformed file is treated as "no such user". When a name appears on
 * several lines the first wins (`keepftpd user add` refuses duplicates).
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/cursor.h"
#include "../common/sys.h"
#include "../net/addr.h"
#include "hours.h"
#include "users.h"

#define ID_MAX 4294967294ULL

struct flag_def {
	const char *key;
	unsigned bit;
	int has_value;
	size_t off; /* of the uint64_t value in users_entry */
	uint64_t max;
};

#define VALUE_FLAG(key, bit, field, max) \
	{ \
		key, bit, 1, offsetof(struct users_entry, field), max \
	}

static const struct flag_def flag_defs[] = {
	{ "write", USERS_FLAG_WRITE, 0, 0, 0 },
	{ "tls", USERS_FLAG_TLS, 0, 0, 0 },
	{ "fxp", USERS_FLAG_FXP, 0, 0, 0 },
	VALUE_FLAG("max_sessions", USERS_FLAG_MAX_SESSIONS, max_sessions,
	    KF_USER_SESSIONS_MAX),
	VALUE_FLAG("down_rate", USERS_FLAG_DOWN_RATE, down_rate,
	    USERS_RATE_MAX),
	VALUE_FLAG("up_rate", USERS_FLAG_UP_RATE, up_rate, USERS_RATE_MAX),
	VALUE_FLAG("quota_bytes", USERS_FLAG_QUOTA_BYTES, quota_bytes,
	    USERS_QUOTA_MAX),
	VALUE_FLAG("quota_files", USERS_FLAG_QUOTA_FILES, quota_files,
	    USERS_QUOTA_MAX),
};

static const char *hash_prefixes[] = {
	"$argon2id$",
	"$6$",
	"$2b$",
	"$2y$",
	"$2a$",
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

	while (c->p<c->end && * c->p> 0x20 && *c->p < 0x7f && *c->p != ':')
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

/* The decimal value of a key=value flag, into its users_entry field. */
static int
flag_value(const struct flag_def *d, const char *v, size_t n,
    struct users_entry *e, const char **err)
{
	struct cursor c;
	uint64_t x;

	cursor_init(&c, v, n);
	if (n == 0 || cursor_u64(&c, d->max, &x) < 0 || !cursor_eof(&c)) {
		*err = "bad flag value (a decimal number in range)";
		return -1;
	}
	memcpy((char *)e + d->off, &x, sizeof(x));
	return 0;
}

static int
parse_flag(const char *s, size_t n, struct users_entry *e, const char **err)
{
	const char *eq = memchr(s, '=', n);
	size_t klen = eq != NULL ? (size_t)(eq - s) : n;
	const struct flag_def *d;
	size_t i;

	for (i = 0; i < sizeof(flag_defs) / sizeof(flag_defs[0]); i++) {
		d = &flag_defs[i];
		if (strlen(d->key) != klen || memcmp(d->key, s, klen) != 0)
			continue;
		if ((eq != NULL) != d->has_value) {
			*err = eq != NULL ? "flag takes no value" :
					    "flag needs a value";
			return -1;
		}
		if (e->flags & d->bit) {
			*err = "flag given twice";
			return -1;
		}
		if (eq != NULL &&
		    flag_value(d, eq + 1, n - klen - 1, e, err) < 0)
			return -1;
		e->flags |= d->bit;
		return 0;
	}
	*err = "unknown flag";
	return -1;
}

/*
 * allow_from=LIST / deny_from=LIST: 1 when s is one of them (stored with
 * ',' between addresses, as addr_list_match reads it), 0 when it is
 * another flag, -1 when its value is bad.
 */
static int
parse_addr_flag(const char *s, size_t n, struct users_entry *e,
    const char **err)
{
	static const char allow[] = "allow_from=", deny[] = "deny_from=";
	char *dst;
	size_t k, i;

	if (n >= sizeof(allow) - 1 && memcmp(s, allow, sizeof(allow) - 1) == 0)
		dst = e->allow_from, k = sizeof(allow) - 1;
	else if (n >= sizeof(deny) - 1 &&
	    memcmp(s, deny, sizeof(deny) - 1) == 0)
		dst = e->deny_from, k = sizeof(deny) - 1;
	else
		return 0;
	*err =
	    "bad address list (a.b.c.d[/bits] or v6addr[/bits], ';' between)";
	if (dst[0] != '\0' || n == k || n - k > KF_USERS_ADDRS_MAX)
		return -1;
	for (i = k; i < n; i++) {
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f || s[i] == ',')
			return -1;
		dst[i - k] = s[i] == ';' ? ',' : s[i];
	}
	dst[n - k] = '\0';
	if (addr_list_check(dst) < 0) {
		dst[0] = '\0';
		return -1;
	}
	return 1;
}

/*
 * perm=PATH:PERMS: 1 when s is one (added to e->perms), 0 when it is
 * another flag, -1 when it is bad.
 */
static int
parse_perm_flag(const char *s, size_t n, struct users_entry *e,
    const char **err)
{
	static const char key[] = "perm=";
	struct perm_rule r;
	size_t k = sizeof(key) - 1, i;

	if (n < k || memcmp(s, key, k) != 0)
		return 0;
	*err = "bad permission rule (PATH:PERMS, docs/PERMISSIONS.md)";
	if (perm_parse_rule(s + k, n - k, &r) < 0)
		return -1;
	for (i = 0; i < e->perms.n; i++)
		if (strcmp(e->perms.r[i].path, r.path) == 0) {
			*err = "permission rule for that path given twice";
			return -1;
		}
	if (perm_set_put(&e->perms, &r) < 0) {
		*err = "too many permission rules";
		return -1;
	}
	return 1;
}

/*
 * folders=NAME;NAME: 1 when s is it (stored with ',' between names, as
 * conf_folder_mask reads it), 0 when it is another flag, -1 when bad.
 */
static int
parse_folders_flag(const char *s, size_t n, struct users_entry *e,
    const char **err)
{
	static const char key[] = "folders=";
	size_t k = sizeof(key) - 1, i, start;

	if (n < k || memcmp(s, key, k) != 0)
		return 0;
	*err = "bad folder list (folder names, ';' between)";
	if (e->folders[0] != '\0' || n == k || n - k > KF_FOLDERS_LIST_MAX)
		return -1;
	for (i = start = k; i <= n; i++) {
		if (i < n && s[i] != ';')
			continue;
		if (!conf_folder_name_ok(s + start, i - start))
			return -1;
		start = i + 1;
	}
	for (i = k; i < n; i++)
		e->folders[i - k] = s[i] == ';' ? ',' : s[i];
	e->folders[n - k] = '\0';
	return 1;
}

/* umask=OOO: three octal digits at most, 000..777. */
static int
parse_umask(const char *v, size_t n, struct users_entry *e, const char **err)
{
	struct cursor c;
	uint64_t x;

	*err = "bad umask (octal, 000 to 777)";
	cursor_init(&c, v, n);
	if (n == 0 || n > 4 || (e->flags & USERS_FLAG_UMASK) ||
	    cursor_u64_base(&c, 8, 0777, &x) < 0 || !cursor_eof(&c))
		return -1;
	e->umask = (unsigned)x;
	e->flags |= USERS_FLAG_UMASK;
	return 1;
}

/* login_hours=SPEC, checked by hours_parse. */
static int
parse_hours(const char *v, size_t n, struct users_entry *e, const char **err)
{
	struct hours h;

	if (e->login_hours[0] != '\0') {
		*err = "flag given twice";
		return -1;
	}
	/* it takes printable ASCII only: no control byte is stored */
	if (hours_parse(v, n, &h, err) < 0)
		return -1;
	memcpy(e->login_hours, v, n);
	e->login_hours[n] = '\0';
	return 1;
}

/*
 * umask= / login_hours=: 1 when s is one of them, 0 when it is another
 * flag, -1 when its value is bad.
 */
static int
parse_limit_flag(const char *s, size_t n, struct users_entry *e,
    const char **err)
{
	static const char um[] = "umask=", lh[] = "login_hours=";

	if (n >= sizeof(um) - 1 && memcmp(s, um, sizeof(um) - 1) == 0)
		return parse_umask(s + sizeof(um) - 1, n - (sizeof(um) - 1), e,
		    err);
	if (n >= sizeof(lh) - 1 && memcmp(s, lh, sizeof(lh) - 1) == 0)
		return parse_hours(s + sizeof(lh) - 1, n - (sizeof(lh) - 1), e,
		    err);
	return 0;
}

static int
parse_flags(struct cursor *c, struct users_entry *e, const char **err)
{
	const char *t;
	size_t n;
	int r;

	e->flags = 0;
	if (cursor_eof(c))
		return 0;
	for (;;) {
		if (cursor_token(c, ",", &t, &n) < 0) {
			*err = "empty flag";
			return -1;
		}
		if ((r = parse_addr_flag(t, n, e, err)) == 0)
			r = parse_perm_flag(t, n, e, err);
		if (r == 0)
			r = parse_folders_flag(t, n, e, err);
		if (r == 0)
			r = parse_limit_flag(t, n, e, err);
		if (r < 0 || (r == 0 && parse_flag(t, n, e, err) < 0))
			return -1;
		if (cursor_eof(c))
			return 0;
		c->p++; /* the ',' */
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
users_next_line(const char **p, const char *end, const char **line, size_t *len)
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
	struct users_entry e SYS_UNINIT; /* users_parse_line clears it */
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

/*
 * "key=LIST" after *sep, ';' between the addresses, then *sep is ",";
 * nothing when list is NULL. The users file and `keepftpd user` both
 * write address flags with it.
 */
int
users_format_addrs(struct buf *b, const char **sep, const char *key,
    const char *list)
{
	const char *p;
	int r;

	if (list == NULL)
		return 0;
	r = buf_appendf(b, "%s%s=", *sep, key);
	for (p = list; r == 0 && *p != '\0'; p++)
		r = buf_appendf(b, "%c", *p == ',' ? ';' : *p);
	*sep = ",";
	return r;
}

/* "perm=PATH:PERMS" for each rule, after *sep. */
int
users_format_perms(struct buf *b, const char **sep, const struct perm_set *p)
{
	char m[128];
	size_t i;

	for (i = 0; i < p->n; i++) {
		if (perm_format_mask(p->r[i].mask, ';', m, sizeof(m)) < 0 ||
		    buf_appendf(b, "%sperm=%s:%s", *sep, p->r[i].path, m) < 0)
			return -1;
		*sep = ",";
	}
	return 0;
}

int
users_format_flags(const struct users_entry *e, struct buf *b)
{
	const struct flag_def *d;
	const char *sep = "";
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(flag_defs) / sizeof(flag_defs[0]); i++) {
		d = &flag_defs[i];
		if (!(e->flags & d->bit))
			continue;
		if (!d->has_value) {
			if (buf_appendf(b, "%s%s", sep, d->key) < 0)
				return -1;
		} else {
			memcpy(&v, (const char *)e + d->off, sizeof(v));
			if (buf_appendf(b, "%s%s=%llu", sep, d->key,
				(unsigned long long)v) < 0)
				return -1;
		}
		sep = ",";
	}
	/* an empty list is none: no flag */
	if (users_format_addrs(b, &sep, "allow_from",
		e->allow_from[0] != '\0' ? e->allow_from : NULL) < 0 ||
	    users_format_addrs(b, &sep, "deny_from",
		e->deny_from[0] != '\0' ? e->deny_from : NULL) < 0 ||
	    users_format_perms(b, &sep, &e->perms) < 0 ||
	    users_format_addrs(b, &sep, "folders",
		e->folders[0] != '\0' ? e->folders : NULL) < 0)
		return -1;
	/* per-user limits */
	if ((e->flags & USERS_FLAG_UMASK) &&
	    buf_appendf(b, "%sumask=%03o", sep, e->umask) < 0)
		return -1;
	if (e->flags & USERS_FLAG_UMASK)
		sep = ",";
	if (e->login_hours[0] != '\0' &&
	    buf_appendf(b, "%slogin_hours=%s", sep, e->login_hours) < 0)
		return -1;
	return 0;
}

/* The line of e; -1 also when it would be longer than the parser reads. */
int
users_format_line(const struct users_entry *e, struct buf *b)
{
	size_t start = buf_len(b);

	if (buf_appendf(b, "%s:%s:%lu:%lu:%s:", e->name, e->hash,
		(unsigned long)e->uid, (unsigned long)e->gid, e->home) < 0 ||
	    users_format_flags(e, b) < 0)
		return -1;
	if (buf_len(b) - start > KF_USERS_LINE_MAX)
		return -1;
	return buf_append(b, "\n", 1);
}

/*
 * By offset (pread), not by the file position: an inherited descriptor
 * (the inline users' memfd) shares its position with every monitor.
 */
static int
read_all(int fd, char *p, size_t max, size_t *len)
{
	ssize_t r;

	*len = 0;
	while ((r = sys_pread(fd, p + *len, max + 1 - *len, (off_t)*len)) > 0) {
		*len += (size_t)r;
		if (*len > max)
			return -EFBIG;
	}
	return r < 0 ? -errno : 0;
}

/* What precedes a loaded text in its mapping. */
struct users_map {
	size_t size; /* of the whole mapping */
	size_t pad;
};

/* A text mapping for n bytes and a NUL (and the one users_load adds). */
static char *
map_text(size_t n)
{
	struct users_map *m;
	size_t size = sizeof(*m) + n + 2;

	if ((m = sys_scratch(size)) == NULL)
		return NULL;
	m->size = size;
	return (char *)(m + 1);
}

int
users_empty(char **text, size_t *len)
{
	*len = 0;
	return (*text = map_text(0)) != NULL ? 0 : -1;
}

int
users_load_fd(int fd, char **text, size_t *len)
{
	struct stat st;
	char *p = NULL;
	int r;

	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode))
		r = -EINVAL;
	else if (st.st_size > KF_USERS_FILE_MAX)
		r = -EFBIG;
	else if ((p = map_text((size_t)st.st_size)) == NULL)
		r = -ENOMEM;
	else /* a file growing under us reads as too big */
		r = read_all(fd, p, (size_t)st.st_size, len);
	if (r < 0 || p == NULL) { /* p: errno was 0 */
		users_unload(p);
		return r < 0 ? r : -EIO;
	}
	p[*len] = '\0';
	*text = p;
	return 0;
}

int
users_load(const char *path, char **text, size_t *len)
{
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return -errno;
	r = users_load_fd(fd, text, len);
	close(fd);
	return r;
}

void
users_unload(char *text)
{
	struct users_map *m;

	if (text == NULL)
		return;
	m = (struct users_map *)(void *)text - 1;
	munmap(m, m->size);
}

/*
 * FILE.lock, the lock `keepftpd user` and the rehash on login take
 * around a rewrite of the users file: flock, waiting (wait) or not.
 * The fd to keep until the rewrite is done, or -1 with errno.
 */
int
users_lock(const char *file, int wait)
{
	char path[KF_PATH_MAX + 16];
	int fd, e;

	if ((size_t)snprintf(path, sizeof(path), "%s.lock", file) >=
	    sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) <
	    0)
		return -1;
	while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
		if (errno == EINTR && wait)
			continue;
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}
