/*
 * conf.c - the configuration: defaults, the `key = value` parser, command
 * line overrides, cross-field checks and the generated documentation, all
 * driven by one table built from CONF_OPTIONS in conf.h.
 * Runs in: the configuration parser child (`keepftpd --conf-child`, for
 * the server's start, SIGHUP and `-t`; conf_child.c), and in-process
 * only in start-up of quick mode (`keepftpd serve`, no file) and the
 * command-line tools (`user`, `quota`, `ban`, `migrate`, --config-*);
 * never in the listener after start-up. Pure except conf_load (reads
 * one file), the TEXTFILE and VHOST options (read their banner files
 * while they are parsed, so that workers never open them), the
 * PASVADDR and PASVMAP options (resolve host names, resolve.c) and
 * conf_print_doc (writes to a descriptor); it never exits (but aborts
 * on a bad built-in default) and never logs: errors go to struct
 * conf_errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "../common/cursor.h"
#include "../common/sys.h"
#include "hash_names.h"
#include "../common/perm.h"
#include "../net/addr.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

/* A line may hold a key, blanks, quotes and escapes around a full value. */
#define CONF_LINE_MAX	 (KF_CONF_VALUE_MAX + 128)
#define CONF_ERRS_KEPT	 NITEMS(((struct conf_errors *)0)->msg)
#define CONF_ERR_LEN	 sizeof(((struct conf_errors *)0)->msg[0])
#define CONF_SHOW_MAX	 48 /* bytes of a bad value quoted in an error */
#define CONF_LISTEN_TEXT 128 /* longest "[v6addr]:port" we look at */

enum conf_type {
	CONF_T_BOOL,
	CONF_T_AUTO,
	CONF_T_UINT,
	CONF_T_MODE,
	CONF_T_STR,
	CONF_T_PATH,
	CONF_T_LISTEN,
	CONF_T_TEXTFILE,
	CONF_T_PATTERNS,
	CONF_T_VHOST,
	CONF_T_PASVADDR,
	CONF_T_PASVMAP,
	CONF_T_FOLDER,
};

struct conf_opt {
	const char *name;
	enum conf_type type;
	size_t off; /* offsetof(struct conf, name) */
	size_t aux_off; /* LISTEN, VHOST: offsetof(name_count);
					   TEXTFILE: offsetof(name_text) */
	uint64_t min;
	uint64_t max;
	const char *def;
	const char *doc;
};

#define CONF_AUX_BOOL(n)     0
#define CONF_AUX_AUTO(n)     0
#define CONF_AUX_UINT(n)     0
#define CONF_AUX_MODE(n)     0
#define CONF_AUX_STR(n)	     0
#define CONF_AUX_PATH(n)     0
#define CONF_AUX_LISTEN(n)   offsetof(struct conf, n##_count)
#define CONF_AUX_TEXTFILE(n) offsetof(struct conf, n##_text)
#define CONF_AUX_PATTERNS(n) 0
#define CONF_AUX_VHOST(n)    offsetof(struct conf, n##_count)
#define CONF_AUX_PASVADDR(n) offsetof(struct conf, n##_ip)
#define CONF_AUX_PASVMAP(n)  offsetof(struct conf, n##_count)
#define CONF_AUX_FOLDER(n)   offsetof(struct conf, n##_count)

#define CONF_OPT(t, n, d, lo, hi, doc) \
	{ #n, CONF_T_##t, offsetof(struct conf, n), CONF_AUX_##t(n), (lo), \
		(hi), (d), (doc) },

static const struct conf_opt opts[] = { CONF_OPTIONS(CONF_OPT) };

/* The table's bounds must fit the fields that hold the values. */
#define CONF_ASSERT_BOOL(n, lo, hi) \
	_Static_assert((lo) == 0 && (hi) == 1, #n ": bool bounds");
#define CONF_ASSERT_AUTO(n, lo, hi) \
	_Static_assert((lo) == 0 && (hi) == 1, #n ": auto bounds");
#define CONF_ASSERT_UINT(n, lo, hi) \
	_Static_assert((lo) <= (hi) && (hi) <= 0xffffffffUL, #n ": range");
#define CONF_ASSERT_MODE(n, lo, hi) \
	_Static_assert((lo) <= (hi) && (hi) <= 07777, #n ": mode range");
#define CONF_ASSERT_STR(n, lo, hi) \
	_Static_assert((lo) <= (hi) && (hi) <= KF_CONF_VALUE_MAX, \
	    #n ": length");
#define CONF_ASSERT_PATH(n, lo, hi) \
	_Static_assert((lo) == 0 && (hi) == 0, #n ": path takes no range");
#define CONF_ASSERT_LISTEN(n, lo, hi) \
	_Static_assert((lo) == 0 && (hi) == 0, #n ": listen takes no range");
#define CONF_ASSERT_TEXTFILE(n, lo, hi) \
	_Static_assert((lo) == 0 && (hi) == 0, #n ": text file takes no range");
#define CONF_ASSERT_PATTERNS(n, lo, hi) \
	_Static_assert((lo) == 0 && (hi) <= KF_CONF_VALUE_MAX, #n ": length");
#define CONF_ASSERT_VHOST(n, lo, hi) \
	_Static_assert((lo) == 0 && (hi) == 0, #n ": vhost takes no range");
#define CONF_ASSERT_PASVADDR(n, lo, hi) \
	_Static_assert((lo) == 0 && (hi) == 0, #n ": address takes no range");
#define CONF_ASSERT_PASVMAP(n, lo, hi) \
	_Static_assert((lo) == 0 && (hi) == 0, #n ": map takes no range");
#define CONF_ASSERT_FOLDER(n, lo, hi) \
	_Static_assert((lo) == 0 && (hi) == 0, #n ": folder takes no range");
#define CONF_ASSERT(t, n, d, lo, hi, doc) CONF_ASSERT_##t(n, lo, hi)

CONF_OPTIONS(CONF_ASSERT)

/*
 * Where a value comes from: errors are "where:line: message" (no line for
 * the command line); append is set for a repeated listen or vhost line.
 */
struct ectx {
	struct conf_errors *errs;
	const char *where;
	size_t line; /* 0: no line number */
	size_t nerr;
	int append;
};

typedef int conf_setter(struct conf *, const struct conf_opt *, const char *,
    size_t, struct ectx *);

static int fail(struct ectx *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* Records "where[:line]: message"; keeps the first few, counts all. */
static int
fail(struct ectx *e, const char *fmt, ...)
{
	va_list ap;
	char *m;
	int k;

	e->nerr++;
	if (e->errs == NULL)
		return -1;
	if (e->errs->count < CONF_ERRS_KEPT) {
		m = e->errs->msg[e->errs->count];
		if (e->line > 0)
			k = snprintf(m, CONF_ERR_LEN, "%s:%zu: ", e->where,
			    e->line);
		else
			k = snprintf(m, CONF_ERR_LEN, "%s: ", e->where);
		if (k < 0 || (size_t)k >= CONF_ERR_LEN)
			k = 0;
		va_start(ap, fmt);
		(void)vsnprintf(m + k, CONF_ERR_LEN - (size_t)k, fmt, ap);
		va_end(ap);
	}
	e->errs->count++;
	return -1;
}

/* A bad value as it may appear in a message: printable ASCII, bounded. */
struct shown {
	char s[CONF_SHOW_MAX + 4];
};

static const char *
show(struct shown *b, const char *v, size_t n)
{
	size_t i, k = n > CONF_SHOW_MAX ? CONF_SHOW_MAX : n;

	for (i = 0; i < k; i++)
		b->s[i] = v[i] >= 0x20 && v[i] < 0x7f ? v[i] : '?';
	if (k < n) {
		memcpy(b->s + k, "...", 3);
		k += 3;
	}
	b->s[k] = '\0';
	return b->s;
}

/*
 * "file: PATH: why" when path may be changed by someone other than root
 * and the account we run as (files.c); secret: a private key.
 */
static int
file_unsafe(struct ectx *e, const char *path, int secret)
{
	char why[KF_CONF_VALUE_MAX];
	struct ectx f = { e->errs, "file", 0, 0, 0 };

	/* paths hold no control characters (set_path, vhost_item) */
	if (conf_file_safe(path, secret, why, sizeof(why)) == 0)
		return 0;
	fail(&f, "%s: %s", path, why);
	e->nerr++;
	return -1;
}

static int
is_ctl(unsigned char ch)
{
	return ch < 0x20 || ch == 0x7f;
}

static int
has_ctl(const char *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (is_ctl((unsigned char)v[i]))
			return 1;
	return 0;
}

static void *
field(struct conf *c, const struct conf_opt *o)
{
	return (char *)c + o->off;
}

static void *
aux(struct conf *c, const struct conf_opt *o)
{
	return (char *)c + o->aux_off;
}

static const struct conf_opt *
find_opt(const char *key, size_t n)
{
	size_t i;

	for (i = 0; i < NITEMS(opts); i++)
		if (strlen(opts[i].name) == n &&
		    memcmp(opts[i].name, key, n) == 0)
			return &opts[i];
	return NULL;
}

static const struct {
	const char *word;
	int val;
} bools[] = {
	{ "yes", 1 },
	{ "no", 0 },
	{ "true", 1 },
	{ "false", 0 },
	{ "on", 1 },
	{ "off", 0 },
	{ "1", 1 },
	{ "0", 0 },
};

static int
set_bool(struct conf *c, const struct conf_opt *o, const char *v, size_t n,
    struct ectx *e)
{
	struct cursor cur;
	struct shown s;
	size_t i;

	for (i = 0; i < NITEMS(bools); i++) {
		cursor_init(&cur, v, n);
		if (cursor_eat_ci(&cur, bools[i].word) && cursor_eof(&cur)) {
			*(int *)field(c, o) = bools[i].val;
			return 0;
		}
	}
	return fail(e,
	    "%s: '%s' is not a boolean (use yes/no, true/false, "
	    "on/off or 1/0)",
	    o->name, show(&s, v, n));
}

/* A bool, or `auto` (CONF_AUTO, settled by conf_check). */
static int
set_auto(struct conf *c, const struct conf_opt *o, const char *v, size_t n,
    struct ectx *e)
{
	struct cursor cur;
	struct shown s;
	size_t i;

	cursor_init(&cur, v, n);
	if (cursor_eat_ci(&cur, "auto") && cursor_eof(&cur)) {
		*(int *)field(c, o) = CONF_AUTO;
		return 0;
	}
	for (i = 0; i < NITEMS(bools); i++) {
		cursor_init(&cur, v, n);
		if (cursor_eat_ci(&cur, bools[i].word) && cursor_eof(&cur)) {
			*(int *)field(c, o) = bools[i].val;
			return 0;
		}
	}
	return fail(e,
	    "%s: '%s' is not a boolean or auto (use yes/no, "
	    "true/false, on/off, 1/0 or auto)",
	    o->name, show(&s, v, n));
}

static int
all_digits(const char *v, size_t n, unsigned base)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (v[i] < '0' || v[i] >= (char)('0' + base))
			return 0;
	return 1;
}

/* Decimal (UINT) or octal (MODE) within [min, max]. */
static int
parse_num(const struct conf_opt *o, const char *v, size_t n, uint64_t *out,
    struct ectx *e)
{
	unsigned base = o->type == CONF_T_MODE ? 8 : 10;
	struct cursor cur;
	struct shown s;
	int r;

	if (!all_digits(v, n, base))
		return fail(e, "%s: '%s' is not %s", o->name, show(&s, v, n),
		    base == 8 ? "an octal mode" : "a decimal number");
	cursor_init(&cur, v, n);
	r = cursor_u64_base(&cur, base, o->max, out);
	if (r == 0 && *out >= o->min)
		return 0;
	if (base == 8)
		return fail(e, "%s: %s is out of range (%#llo..%#llo)", o->name,
		    show(&s, v, n), (unsigned long long)o->min,
		    (unsigned long long)o->max);
	return fail(e, "%s: %s is out of range (%llu..%llu)", o->name,
	    show(&s, v, n), (unsigned long long)o->min,
	    (unsigned long long)o->max);
}

static int
set_uint(struct conf *c, const struct conf_opt *o, const char *v, size_t n,
    struct ectx *e)
{
	uint64_t x = 0;

	if (parse_num(o, v, n, &x, e) < 0)
		return -1;
	*(unsigned long *)field(c, o) = (unsigned long)x;
	return 0;
}

static int
set_mode(struct conf *c, const struct conf_opt *o, const char *v, size_t n,
    struct ectx *e)
{
	uint64_t x = 0;

	if (parse_num(o, v, n, &x, e) < 0)
		return -1;
	*(unsigned *)field(c, o) = (unsigned)x;
	return 0;
}

static void
store_text(struct conf *c, const struct conf_opt *o, const char *v, size_t n)
{
	char *dst = field(c, o);

	memcpy(dst, v, n);
	dst[n] = '\0';
}

/* String options that take one of a few words. */
static const char *const log_words[] = { "stderr", "syslog", NULL };
static const char *const level_words[] = { "error", "warning", "info", "debug",
	NULL };
static const char *const tls_min_words[] = { "1.2", "1.3", NULL };
static const char *const hook_mode_words[] = { "after", "check", NULL };
static const char *const log_format_words[] = { "text", "json", NULL };
static const char *const hash_store_words[] = { "xattr", "off", NULL };
static const struct {
	const char *opt;
	const char *const *words;
	const char *say;
} choices[] = {
	{ "log", log_words, "stderr or syslog" },
	{ "log_level", level_words, "error, warning, info or debug" },
	{ "tls_min", tls_min_words, "1.2 or 1.3" },
	{ "upload_hook_mode", hook_mode_words, "after or check" },
	{ "log_format", log_format_words, "text or json" },
	{ "hash_store", hash_store_words, "xattr or off" },
};

/* v[0..n) is a hash_store_algos list (hash_names.h). */
static int
hash_algos_ok(const char *v, size_t n)
{
	char text[KF_CONF_VALUE_MAX + 1];
	unsigned mask;

	if (n > KF_CONF_VALUE_MAX)
		return 0;
	memcpy(text, v, n);
	text[n] = '\0';
	return hash_names_algos_parse(text, &mask) == 0;
}

/* v[0..n) is an address list (net/addr.c). */
static int
addr_list_ok(const char *v, size_t n)
{
	char text[KF_CONF_VALUE_MAX + 1];

	if (n > KF_CONF_VALUE_MAX)
		return 0;
	memcpy(text, v, n);
	text[n] = '\0';
	return addr_list_check(text) == 0;
}

/* v[0..n) is a list of drop-box directories (common/perm.c). */
static int
upload_dirs_ok(const char *v, size_t n)
{
	struct perm_set set = { 0 };

	return perm_set_dirs(&set, v, n, PERM_UPLOAD) == 0;
}

/* v[0..n) is one of the NULL-terminated words. */
static int
one_of(const char *v, size_t n, const char *const *words)
{
	for (; *words != NULL; words++)
		if (strlen(*words) == n && memcmp(v, *words, n) == 0)
			return 1;
	return 0;
}

static int
set_str(struct conf *c, const struct conf_opt *o, const char *v, size_t n,
    struct ectx *e)
{
	struct shown s;
	size_t i;

	if (has_ctl(v, n))
		return fail(e, "%s: control character in value", o->name);
	if (n > o->max)
		return fail(e, "%s: value is %zu bytes, longer than %llu",
		    o->name, n, (unsigned long long)o->max);
	if (n < o->min)
		return fail(e, "%s: value must be at least %llu byte%s",
		    o->name, (unsigned long long)o->min,
		    o->min == 1 ? "" : "s");
	for (i = 0; i < NITEMS(choices); i++)
		if (strcmp(o->name, choices[i].opt) == 0 &&
		    !one_of(v, n, choices[i].words))
			return fail(e, "%s: '%s' is not %s", o->name,
			    show(&s, v, n), choices[i].say);
	if ((strcmp(o->name, "allow_from") == 0 ||
		strcmp(o->name, "deny_from") == 0 ||
		strcmp(o->name, "proxy_from") == 0) &&
	    !addr_list_ok(v, n))
		return fail(e,
		    "%s: '%s' is not a list of addresses with "
		    "optional /bits (at most %d)",
		    o->name, show(&s, v, n), ADDR_LIST_MAX);
	if (strcmp(o->name, "hash_store_algos") == 0 && !hash_algos_ok(v, n))
		return fail(e,
		    "%s: '%s' is not a list of sha256, sha1, sha512, md5, "
		    "crc32 (each at most once)",
		    o->name, show(&s, v, n));
	if (strcmp(o->name, "anon_upload_dirs") == 0 && !upload_dirs_ok(v, n))
		return fail(e,
		    "%s: '%s' is not a list of clean absolute directories "
		    "(at most %d)",
		    o->name, show(&s, v, n), KF_PERM_RULES_MAX);
	store_text(c, o, v, n);
	return 0;
}

static int
set_path(struct conf *c, const struct conf_opt *o, const char *v, size_t n,
    struct ectx *e)
{
	struct shown s;

	if (has_ctl(v, n))
		return fail(e, "%s: control character in value", o->name);
	if (n > KF_CONF_VALUE_MAX)
		return fail(e, "%s: path is longer than %d bytes", o->name,
		    KF_CONF_VALUE_MAX);
	if (n > 0 && v[0] != '/')
		return fail(e, "%s: '%s' is not an absolute path", o->name,
		    show(&s, v, n));
	store_text(c, o, v, n);
	return 0;
}

/* One "addr:port" of a listen list, reported on failure. */
static int
listen_item(const struct conf_opt *o, const char *v, size_t n,
    struct conf_listen *out, struct ectx *e)
{
	char buf[CONF_LISTEN_TEXT];
	struct shown s;
	int r = -EINVAL;

	if (n < sizeof(buf)) {
		memcpy(buf, v, n);
		buf[n] = '\0';
		r = conf_parse_listen(buf, out);
	}
	if (r == -ERANGE)
		return fail(e, "%s: '%s': port out of range (1..65535)",
		    o->name, show(&s, v, n));
	if (r < 0)
		return fail(e, "%s: '%s' is not a.b.c.d:port or [v6addr]:port",
		    o->name, show(&s, v, n));
	return 0;
}

/* word after an address ("implicit", "proxy"): 1 when it was there. */
static int
listen_word(struct cursor *cur, const char *word)
{
	const char *tok;
	size_t len;
	struct cursor save = *cur;

	if (cursor_token(cur, ", \t", &tok, &len) == 0 && len == strlen(word) &&
	    memcmp(tok, word, len) == 0)
		return 1;
	*cur = save;
	return 0;
}

/* "implicit" (implicit FTPS) and "proxy" (a PROXY header), in any order. */
static void
listen_flags(struct cursor *cur, struct conf_listen *l)
{
	int i;

	l->implicit = l->proxy = 0;
	for (i = 0; i < 2; i++) {
		cursor_skip_ws(cur);
		if (!l->implicit && listen_word(cur, "implicit"))
			l->implicit = 1;
		else if (!l->proxy && listen_word(cur, "proxy"))
			l->proxy = 1;
	}
}

/* A comma-separated list; replaces the list or appends to it. */
static int
set_listen(struct conf *c, const struct conf_opt *o, const char *v, size_t n,
    struct ectx *e)
{
	struct conf_listen *list = field(c, o), tmp[KF_LISTEN_MAX];
	size_t *count = aux(c, o);
	size_t k = e->append ? *count : 0;
	struct cursor cur;
	const char *tok;
	size_t len;

	memcpy(tmp, list, k * sizeof(tmp[0]));
	cursor_init(&cur, v, n);
	for (;;) {
		cursor_skip_ws(&cur);
		if (cursor_token(&cur, ", \t", &tok, &len) < 0)
			return fail(e, "%s: empty address in list", o->name);
		if (k == KF_LISTEN_MAX)
			return fail(e, "%s: more than %d addresses", o->name,
			    KF_LISTEN_MAX);
		if (listen_item(o, tok, len, &tmp[k], e) < 0)
			return -1;
		listen_flags(&cur, &tmp[k]);
		k++;
		cursor_skip_ws(&cur);
		if (cursor_eof(&cur))
			break;
		if (!cursor_eat(&cur, ','))
			return fail(e, "%s: expected ',' between addresses",
			    o->name);
	}
	memcpy(list, tmp, k * sizeof(tmp[0]));
	*count = k;
	return 0;
}

/* Reads at most cap bytes of fd; *n == cap: maybe more (too big). */
static int
read_upto(int fd, char *buf, size_t cap, size_t *n)
{
	ssize_t r;

	*n = 0;
	while (*n < cap) {
		r = sys_read(fd, buf + *n, cap - *n);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		*n += (size_t)r;
	}
	return 0;
}

/* A regular file of at most max bytes into buf (max + 1 bytes). */
static int
read_small(const char *path, char *buf, size_t max, size_t *n)
{
	struct stat st;
	int fd, r = 0;

	/* O_NONBLOCK: a FIFO in place of the file must not hang the load */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode))
		r = -EINVAL;
	else if (read_upto(fd, buf, max + 1, n) < 0)
		r = -errno;
	else if (*n > max)
		r = -EFBIG;
	sys_close(&fd);
	return r;
}

/*
 * Banner text in place: lines end in LF or CRLF; no control character
 * but tab; kept with LF between lines and no final newline; 1 to
 * CONF_TEXT_LINES_MAX lines.
 */
static int
clean_text(const char *what, const char *path, char *t, size_t *n,
    struct ectx *e)
{
	size_t i, k = 0, line = 1;
	struct shown s;
	unsigned char ch;

	for (i = 0; i < *n; i++) {
		ch = (unsigned char)t[i];
		if (ch == '\r' && i + 1 < *n && t[i + 1] == '\n')
			continue;
		if (ch == '\n')
			line++;
		else if (ch != '\t' && is_ctl(ch))
			return fail(e,
			    "%s: '%s': control character on line %zu", what,
			    show(&s, path, strlen(path)), line);
		t[k++] = (char)ch;
	}
	while (k > 0 && t[k - 1] == '\n') {
		k--;
		line--;
	}
	if (k == 0)
		return fail(e, "%s: '%s' is empty", what,
		    show(&s, path, strlen(path)));
	if (line > CONF_TEXT_LINES_MAX)
		return fail(e, "%s: '%s' has more than %d lines", what,
		    show(&s, path, strlen(path)), CONF_TEXT_LINES_MAX);
	t[k] = '\0';
	*n = k;
	return 0;
}

/* The text of a banner file into out (CONF_TEXT_MAX + 1 bytes). */
static int
load_text(const char *what, const char *path, char *out, struct ectx *e)
{
	char t[CONF_TEXT_MAX + 1];
	struct shown s;
	size_t n = 0;
	int r;

	if ((r = read_small(path, t, CONF_TEXT_MAX, &n)) == -EFBIG)
		return fail(e, "%s: '%s' is larger than %d bytes", what,
		    show(&s, path, strlen(path)), CONF_TEXT_MAX);
	if (r == -EINVAL)
		return fail(e, "%s: '%s' is not a regular file", what,
		    show(&s, path, strlen(path)));
	/* the parser child has no DAC override: say why, as root would */
	if (r == -EACCES && file_unsafe(e, path, 0) < 0)
		return -1;
	if (r < 0)
		return fail(e, "%s: '%s': cannot read: %s", what,
		    show(&s, path, strlen(path)), strerror(-r));
	if (clean_text(what, path, t, &n, e) < 0 || file_unsafe(e, path, 0) < 0)
		return -1;
	memcpy(out, t, n + 1);
	return 0;
}

/* A path, and the text of the file it names (none when empty). */
static int
set_textfile(struct conf *c, const struct conf_opt *o, const char *v, size_t n,
    struct ectx *e)
{
	char *text = aux(c, o);

	if (set_path(c, o, v, n, e) < 0)
		return -1;
	text[0] = '\0';
	if (n == 0)
		return 0;
	return load_text(o->name, field(c, o), text, e);
}

/* A '[' must be closed; "[]x]" and "[!]x]" hold a literal ']'. */
static int
class_closed(const char *p, size_t n, size_t *i)
{
	size_t j = *i + 1;

	if (j < n && (p[j] == '!' || p[j] == '^'))
		j++;
	if (j < n && p[j] == ']')
		j++;
	for (; j < n; j++)
		if (p[j] == ']') {
			*i = j;
			return 1;
		}
	return 0;
}

static int
check_pattern(const struct conf_opt *o, const char *p, size_t n, size_t nth,
    struct ectx *e)
{
	struct shown s;
	size_t i;

	if (n == 0)
		return fail(e, "%s: pattern %zu is empty", o->name, nth);
	if (nth > CONF_PATTERNS_MAX)
		return fail(e, "%s: more than %d patterns", o->name,
		    CONF_PATTERNS_MAX);
	if (n > KF_NAME_MAX)
		return fail(e, "%s: pattern %zu is longer than %d bytes",
		    o->name, nth, KF_NAME_MAX);
	if (memchr(p, '/', n) != NULL)
		return fail(e,
		    "%s: pattern '%s' holds '/' (patterns match "
		    "one name)",
		    o->name, show(&s, p, n));
	for (i = 0; i < n; i++)
		if (p[i] == '[' && !class_closed(p, n, &i))
			return fail(e, "%s: pattern '%s': '[' without ']'",
			    o->name, show(&s, p, n));
	return 0;
}

/* Stored as "a,b,c": the blanks around each pattern are dropped. */
static int
set_patterns(struct conf *c, const struct conf_opt *o, const char *v, size_t n,
    struct ectx *e)
{
	char out[KF_CONF_VALUE_MAX + 1];
	const char *end = v + n, *p = v, *q;
	size_t k = 0, nth = 0, len;

	if (has_ctl(v, n))
		return fail(e, "%s: control character in value", o->name);
	if (n > o->max)
		return fail(e, "%s: value is %zu bytes, longer than %llu",
		    o->name, n, (unsigned long long)o->max);
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (p < end) {
		q = memchr(p, ',', (size_t)(end - p));
		len = (size_t)((q != NULL ? q : end) - p);
		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (check_pattern(o, p, len, ++nth, e) < 0)
			return -1;
		if (k > 0)
			out[k++] = ',';
		memcpy(out + k, p, len);
		k += len;
		if (q == NULL)
			break;
		p = q + 1;
		if (p == end) /* a trailing comma: an empty last pattern */
			return fail(e, "%s: pattern %zu is empty", o->name,
			    nth + 1);
	}
	store_text(c, o, out, k);
	return 0;
}

/* Splits v at blanks into at most max words; returns the count, or max + 1. */
static size_t
split_words(const char *v, size_t n, const char **w, size_t *wl, size_t max)
{
	struct cursor cur;
	size_t k = 0;

	cursor_init(&cur, v, n);
	for (;;) {
		cursor_skip_ws(&cur);
		if (cursor_eof(&cur))
			return k;
		if (k == max)
			return max + 1;
		cursor_token(&cur, " \t", &w[k], &wl[k]);
		k++;
	}
}

/* One vhost line into *vh. */
static int
vhost_item(const struct conf_opt *o, const char *v, size_t n,
    struct conf_vhost *vh, struct ectx *e)
{
	char path[KF_CONF_VALUE_MAX + 1];
	const char *w[3];
	size_t wl[3], k;
	struct shown s;

	k = split_words(v, n, w, wl, 3);
	if (k < 2 || k > 3)
		return fail(e, "%s: expected NAME ANON_ROOT [BANNER_FILE]",
		    o->name);
	if (conf_host_norm(w[0], wl[0], vh->name) < 0)
		return fail(e,
		    "%s: '%s' is not a host name (letters, digits, "
		    "'.-:[]', at most %d bytes)",
		    o->name, show(&s, w[0], wl[0]), CONF_HOST_MAX);
	if (w[1][0] != '/')
		return fail(e, "%s: '%s' is not an absolute path", o->name,
		    show(&s, w[1], wl[1]));
	memcpy(vh->anon_root, w[1], wl[1]);
	vh->anon_root[wl[1]] = '\0';
	vh->banner_text[0] = '\0';
	if (k < 3)
		return 0;
	if (w[2][0] != '/')
		return fail(e, "%s: '%s' is not an absolute path", o->name,
		    show(&s, w[2], wl[2]));
	memcpy(path, w[2], wl[2]);
	path[wl[2]] = '\0';
	return load_text(o->name, path, vh->banner_text, e);
}

/* Appends a vhost (a first line replaces the list; empty: no vhosts). */
static int
set_vhost(struct conf *c, const struct conf_opt *o, const char *v, size_t n,
    struct ectx *e)
{
	struct conf_vhost *list = field(c, o), vh;
	size_t *count = aux(c, o), k = e->append ? *count : 0, i;

	if (has_ctl(v, n))
		return fail(e, "%s: control character in value", o->name);
	if (n == 0 && !e->append) {
		*count = 0;
		return 0;
	}
	if (k == CONF_VHOST_MAX)
		return fail(e, "%s: more than %d virtual hosts", o->name,
		    CONF_VHOST_MAX);
	if (vhost_item(o, v, n, &vh, e) < 0)
		return -1;
	for (i = 0; i < k; i++)
		if (strcmp(list[i].name, vh.name) == 0)
			return fail(e, "%s: virtual host '%s' is given twice",
			    o->name, vh.name);
	list[k] = vh;
	*count = k + 1;
	return 0;
}

/*
 * A virtual path as a folder's MOUNT_PATH: absolute, not "/", no empty,
 * "." or ".." name, no trailing slash.
 */
static int
mount_path_ok(const char *p, size_t n)
{
	size_t i = 0, k;

	if (n < 2 || p[0] != '/' || p[n - 1] == '/')
		return 0;
	while (i < n) {
		i++; /* the slash */
		k = i;
		while (i < n && p[i] != '/')
			i++;
		if (i == k || (i - k == 1 && p[k] == '.') ||
		    (i - k == 2 && p[k] == '.' && p[k + 1] == '.') ||
		    i - k > KF_NAME_MAX)
			return 0;
	}
	return 1;
}

/* The optional fourth word of a folder line: 0 ro, 1 rw, -1 neither. */
static int
folder_mode(const char *w, size_t n)
{
	if (n == 2 && memcmp(w, "ro", 2) == 0)
		return 0;
	if (n == 2 && memcmp(w, "rw", 2) == 0)
		return 1;
	return -1;
}

/* One folder line into *f. */
static int
folder_item(const struct conf_opt *o, const char *v, size_t n,
    struct conf_folder *f, struct ectx *e)
{
	const char *w[4];
	size_t wl[4], k;
	struct shown s;

	k = split_words(v, n, w, wl, 4);
	if (k < 3 || k > 4)
		return fail(e,
		    "%s: expected NAME SOURCE_DIR MOUNT_PATH [ro|rw]", o->name);
	if (!conf_folder_name_ok(w[0], wl[0]))
		return fail(e,
		    "%s: '%s' is not a folder name (letters, digits, '_', "
		    "'-', at most %d bytes)",
		    o->name, show(&s, w[0], wl[0]), KF_FOLDER_NAME_MAX);
	if (w[1][0] != '/')
		return fail(e, "%s: '%s' is not an absolute path", o->name,
		    show(&s, w[1], wl[1]));
	if (!mount_path_ok(w[2], wl[2]))
		return fail(e,
		    "%s: '%s' is not a mount path (absolute, clean, not /)",
		    o->name, show(&s, w[2], wl[2]));
	f->writable = k == 4 ? folder_mode(w[3], wl[3]) : 0;
	if (f->writable < 0)
		return fail(e, "%s: '%s' is neither ro nor rw", o->name,
		    show(&s, w[3], wl[3]));
	memcpy(f->name, w[0], wl[0]);
	f->name[wl[0]] = '\0';
	memcpy(f->source, w[1], wl[1]);
	f->source[wl[1]] = '\0';
	memcpy(f->mount, w[2], wl[2]);
	f->mount[wl[2]] = '\0';
	return 0;
}

/* Appends a folder (a first line replaces the list; empty: none). */
static int
set_folder(struct conf *c, const struct conf_opt *o, const char *v, size_t n,
    struct ectx *e)
{
	struct conf_folder *list = field(c, o), f;
	size_t *count = aux(c, o), k = e->append ? *count : 0, i;

	if (has_ctl(v, n))
		return fail(e, "%s: control character in value", o->name);
	if (n == 0 && !e->append) {
		*count = 0;
		return 0;
	}
	if (k == KF_FOLDERS_MAX)
		return fail(e, "%s: more than %d shared folders", o->name,
		    KF_FOLDERS_MAX);
	if (folder_item(o, v, n, &f, e) < 0)
		return -1;
	for (i = 0; i < k; i++)
		if (strcmp(list[i].name, f.name) == 0)
			return fail(e, "%s: folder '%s' is given twice",
			    o->name, f.name);
	list[k] = f;
	*count = k + 1;
	return 0;
}

/*
 * A PASV address (IPv4 literal or host name, resolve.c) in
 * v[0..n) into ip; text, when not NULL, keeps it as written.
 */
static int
pasv_target(const struct conf_opt *o, const char *v, size_t n, uint8_t ip[4],
    char *text, struct ectx *e)
{
	char buf[CONF_HOST_MAX + 1], why[160];
	struct shown s;

	if (has_ctl(v, n))
		return fail(e, "%s: control character in value", o->name);
	if (n == 0 || n > CONF_HOST_MAX)
		return fail(e, "%s: '%s' is not an IPv4 address or a host name",
		    o->name, show(&s, v, n));
	memcpy(buf, v, n);
	buf[n] = '\0';
	if (conf_resolve_v4(buf, ip, why, sizeof(why)) < 0)
		return fail(e, "%s: '%s' %s", o->name, show(&s, v, n), why);
	if (text != NULL)
		memcpy(text, buf, n + 1);
	return 0;
}

/* pasv_address: empty, an IPv4 address or a host name resolved now. */
static int
set_pasvaddr(struct conf *c, const struct conf_opt *o, const char *v, size_t n,
    struct ectx *e)
{
	uint8_t ip[4];

	if (n == 0) {
		store_text(c, o, v, 0);
		memset(aux(c, o), 0, 4);
		return 0;
	}
	if (pasv_target(o, v, n, ip, field(c, o), e) < 0)
		return -1;
	memcpy(aux(c, o), ip, 4);
	return 0;
}

/* An IPv4 network a.b.c.d[/bits] (or ::ffff:a.b.c.d/bits), net/addr.c. */
static int
pasv_net(const struct conf_opt *o, const char *v, size_t n,
    struct conf_pasv_map *m, struct ectx *e)
{
	char buf[ADDR_STR_MAX];
	struct shown s;
	int r = -1;

	if (n > 0 && n < sizeof(buf)) {
		memcpy(buf, v, n);
		buf[n] = '\0';
		r = addr_cidr_v4(buf, m->net, &m->bits);
	}
	if (r < 0)
		return fail(e,
		    "%s: '%s' is not an IPv4 network a.b.c.d/bits "
		    "(PASV serves only IPv4 clients)",
		    o->name, show(&s, v, n));
	return 0;
}

/* One "CIDR=ADDRESS" into *m. */
static int
pasv_map_item(const struct conf_opt *o, const char *v, size_t n,
    struct conf_pasv_map *m, struct ectx *e)
{
	const char *eq = memchr(v, '=', n);
	size_t a, b;
	struct shown s;

	if (eq == NULL)
		return fail(e, "%s: '%s' is not CIDR=ADDRESS", o->name,
		    show(&s, v, n));
	a = (size_t)(eq - v);
	b = n - a - 1;
	while (a > 0 && (v[a - 1] == ' ' || v[a - 1] == '\t'))
		a--;
	while (b > 0 && (eq[1] == ' ' || eq[1] == '\t')) {
		eq++;
		b--;
	}
	if (pasv_net(o, v, a, m, e) < 0)
		return -1;
	return pasv_target(o, eq + 1, b, m->addr, NULL, e);
}

/* One entry of a list at cur, then the ',' after it, if any. */
static int
pasv_map_next(const struct conf_opt *o, struct cursor *cur,
    struct conf_pasv_map *m, struct ectx *e)
{
	const char *tok;
	size_t len;

	cursor_skip_ws(cur);
	if (cursor_token(cur, ",", &tok, &len) < 0)
		return fail(e, "%s: empty entry in list", o->name);
	while (len > 0 && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
		len--;
	if (pasv_map_item(o, tok, len, m, e) < 0)
		return -1;
	if (cursor_eat(cur, ',') && cursor_eof(cur))
		return fail(e, "%s: empty entry in list", o->name);
	return 0;
}

/* A comma-separated list; the first line replaces, later lines add. */
static int
set_pasvmap(struct conf *c, const struct conf_opt *o, const char *v, size_t n,
    struct ectx *e)
{
	struct conf_pasv_map *list = field(c, o), tmp[KF_PASV_MAP_MAX];
	size_t *count = aux(c, o), k = e->append ? *count : 0;
	struct cursor cur;

	if (has_ctl(v, n))
		return fail(e, "%s: control character in value", o->name);
	memcpy(tmp, list, k * sizeof(tmp[0]));
	cursor_init(&cur, v, n);
	cursor_skip_ws(&cur);
	while (!cursor_eof(&cur)) {
		if (k == KF_PASV_MAP_MAX)
			return fail(e, "%s: more than %d entries", o->name,
			    KF_PASV_MAP_MAX);
		if (pasv_map_next(o, &cur, &tmp[k], e) < 0)
			return -1;
		k++;
	}
	memcpy(list, tmp, k * sizeof(tmp[0]));
	*count = k;
	return 0;
}

static conf_setter *const setters[] = {
	[CONF_T_BOOL] = set_bool,
	[CONF_T_AUTO] = set_auto,
	[CONF_T_UINT] = set_uint,
	[CONF_T_MODE] = set_mode,
	[CONF_T_STR] = set_str,
	[CONF_T_PATH] = set_path,
	[CONF_T_LISTEN] = set_listen,
	[CONF_T_TEXTFILE] = set_textfile,
	[CONF_T_PATTERNS] = set_patterns,
	[CONF_T_VHOST] = set_vhost,
	[CONF_T_PASVADDR] = set_pasvaddr,
	[CONF_T_PASVMAP] = set_pasvmap,
	[CONF_T_FOLDER] = set_folder,
};

static int
set_opt(struct conf *c, const struct conf_opt *o, const char *v, size_t n,
    struct ectx *e)
{
	return setters[o->type](c, o, v, n, e);
}

void
conf_defaults(struct conf *c)
{
	struct ectx e = { NULL, "default", 0, 0, 0 };
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < NITEMS(opts); i++)
		if (set_opt(c, &opts[i], opts[i].def, strlen(opts[i].def), &e) <
		    0)
			abort();
}

/* The parser's state: a scratch copy, committed only when all is well. */
struct parse {
	struct conf conf;
	struct ectx e;
	size_t seen[NITEMS(opts)]; /* line of first use, or 0 */
};

/* A double-quoted value; only \" and \\ are escapes. */
static int
unquote(struct cursor *cur, const struct conf_opt *o, char *out, size_t *outlen,
    struct ectx *e)
{
	size_t k = 0;
	int ch;

	for (;;) {
		if ((ch = cursor_peek(cur)) < 0)
			return fail(e, "%s: missing closing quote", o->name);
		cur->p++;
		if (ch == '"')
			break;
		if (ch == '\\') {
			ch = cursor_peek(cur);
			if (ch != '"' && ch != '\\')
				return fail(e,
				    "%s: unknown escape in quoted "
				    "value (only \\\" and \\\\)",
				    o->name);
			cur->p++;
		}
		if (k == KF_CONF_VALUE_MAX)
			return fail(e, "%s: value is longer than %d bytes",
			    o->name, KF_CONF_VALUE_MAX);
		out[k++] = (char)ch;
	}
	cursor_skip_ws(cur);
	if (!cursor_eof(cur))
		return fail(e, "%s: text after the closing quote", o->name);
	*outlen = k;
	return 0;
}

/* The rest of the line, blanks trimmed, maybe quoted; into out. */
static int
read_value(struct cursor *cur, const struct conf_opt *o, char *out,
    size_t *outlen, struct ectx *e)
{
	size_t n;

	cursor_skip_ws(cur);
	if (cursor_eat(cur, '"'))
		return unquote(cur, o, out, outlen, e);
	n = cursor_left(cur);
	while (n > 0 && (cur->p[n - 1] == ' ' || cur->p[n - 1] == '\t'))
		n--;
	if (n > KF_CONF_VALUE_MAX)
		return fail(e, "%s: value is longer than %d bytes", o->name,
		    KF_CONF_VALUE_MAX);
	memcpy(out, cur->p, n);
	*outlen = n;
	return 0;
}

/* Finds the option named at the cursor and consumes "key =". */
static const struct conf_opt *
read_key(struct cursor *cur, struct ectx *e)
{
	const struct conf_opt *o;
	const char *key;
	struct shown s;
	size_t n;

	if (cursor_token(cur, " \t=", &key, &n) < 0) {
		fail(e, "missing option name before '='");
		return NULL;
	}
	cursor_skip_ws(cur);
	if (!cursor_eat(cur, '=')) {
		fail(e, "expected 'key = value'");
		return NULL;
	}
	if ((o = find_opt(key, n)) == NULL)
		fail(e, "unknown option '%s'", show(&s, key, n));
	return o;
}

/* Rejects what no line may hold; trims the CR of a CRLF ending. */
static int
check_line(const char *line, size_t *n, struct ectx *e)
{
	size_t i;

	if (*n > 0 && line[*n - 1] == '\r')
		(*n)--;
	if (*n > CONF_LINE_MAX)
		return fail(e, "line is longer than %d bytes", CONF_LINE_MAX);
	if (memchr(line, '\0', *n) != NULL)
		return fail(e, "NUL byte in line");
	for (i = 0; i < *n; i++)
		if (line[i] != '\t' && is_ctl((unsigned char)line[i]))
			return fail(e, "control character in line");
	return 0;
}

static int
repeatable(const struct conf_opt *o)
{
	return o->type == CONF_T_LISTEN || o->type == CONF_T_VHOST ||
	    o->type == CONF_T_PASVMAP || o->type == CONF_T_FOLDER;
}

static void
parse_line(struct parse *ps, const char *line, size_t n)
{
	char val[KF_CONF_VALUE_MAX];
	const struct conf_opt *o;
	struct cursor cur;
	size_t i, vlen = 0;

	if (check_line(line, &n, &ps->e) < 0)
		return;
	cursor_init(&cur, line, n);
	cursor_skip_ws(&cur);
	if (cursor_eof(&cur) || cursor_peek(&cur) == '#')
		return;
	if ((o = read_key(&cur, &ps->e)) == NULL)
		return;
	i = (size_t)(o - opts);
	if (ps->seen[i] > 0 && !repeatable(o)) {
		fail(&ps->e, "duplicate option '%s' (first set on line %zu)",
		    o->name, ps->seen[i]);
		return;
	}
	ps->e.append = ps->seen[i] > 0;
	if (!ps->e.append)
		ps->seen[i] = ps->e.line;
	if (read_value(&cur, o, val, &vlen, &ps->e) < 0)
		return;
	set_opt(&ps->conf, o, val, vlen, &ps->e);
}

int
conf_parse(struct conf *c, const char *name, const char *text, size_t len,
    struct conf_errors *errs)
{
	struct parse ps;
	const char *p = text, *end = text + len, *nl;

	memset(&ps, 0, sizeof(ps));
	ps.conf = *c;
	ps.e.errs = errs;
	ps.e.where = name != NULL ? name : "config";
	if (len > KF_CONF_FILE_MAX)
		return fail(&ps.e, "file is larger than %d bytes",
		    KF_CONF_FILE_MAX);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		ps.e.line++;
		parse_line(&ps, p, (size_t)((nl != NULL ? nl : end) - p));
		p = nl != NULL ? nl + 1 : end;
	}
	if (ps.e.nerr > 0)
		return -1;
	*c = ps.conf;
	return 0;
}

int
conf_load(struct conf *c, const char *path, struct conf_errors *errs)
{
	struct ectx e = { errs, path, 0, 0, 0 };
	char *buf = NULL;
	size_t n = 0;
	int fd, r = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == EACCES && file_unsafe(&e, path, 0) < 0)
		return -1; /* as in load_text */
	if (fd < 0)
		return fail(&e, "cannot read: %s", strerror(errno));

	if ((buf = malloc(KF_CONF_FILE_MAX + 1)) == NULL)
		fail(&e, "cannot read: %s", strerror(ENOMEM));
	else if (read_upto(fd, buf, KF_CONF_FILE_MAX + 1, &n) < 0)
		fail(&e, "cannot read: %s", strerror(errno));
	else if (n > KF_CONF_FILE_MAX)
		fail(&e, "file is larger than %d bytes", KF_CONF_FILE_MAX);
	else if (file_unsafe(&e, path, 0) == 0)
		r = conf_parse(c, path, buf, n, errs);
	sys_close(&fd);
	free(buf);
	return r;
}

int
conf_set(struct conf *c, const char *key, const char *value, const char *where,
    struct conf_errors *errs)
{
	struct ectx e = { errs, where != NULL ? where : "command line", 0, 0,
		0 };
	const struct conf_opt *o;
	struct shown s;
	size_t n;

	if ((o = find_opt(key, strlen(key))) == NULL)
		return fail(&e, "unknown option '%s'",
		    show(&s, key, strlen(key)));
	n = strnlen(value, KF_CONF_VALUE_MAX + 1);
	if (n > KF_CONF_VALUE_MAX)
		return fail(&e, "%s: value is longer than %d bytes", o->name,
		    KF_CONF_VALUE_MAX);
	return set_opt(c, o, value, n, &e);
}

static void
check_listen(const struct conf *c, struct ectx *e)
{
	const struct conf_listen *a, *b;
	size_t i, j;

	if (c->listen_count == 0)
		fail(e, "no listen address");
	for (i = 0; i < c->listen_count; i++)
		for (j = i + 1; j < c->listen_count; j++) {
			a = &c->listen[i];
			b = &c->listen[j];
			if (a->len == b->len &&
			    memcmp(&a->addr, &b->addr, a->len) == 0)
				fail(e,
				    "listen address %zu repeats "
				    "address %zu",
				    j + 1, i + 1);
		}
}

/* metrics_listen: empty, or one ADDR:PORT no FTP listener uses. */
static void
check_metrics(const struct conf *c, struct ectx *e)
{
	struct conf_listen m;
	struct shown s;
	size_t i;

	if (c->metrics_listen[0] == '\0')
		return;
	if (conf_parse_listen(c->metrics_listen, &m) < 0) {
		fail(e, "metrics_listen '%s' is not ADDR:PORT",
		    show(&s, c->metrics_listen, strlen(c->metrics_listen)));
		return;
	}
	for (i = 0; i < c->listen_count; i++)
		if (m.len == c->listen[i].len &&
		    memcmp(&m.addr, &c->listen[i].addr, m.len) == 0)
			fail(e, "metrics_listen is listen address %zu", i + 1);
}

/* users_backend: file or postgresql; postgresql needs pg_conninfo. */
static void
check_backend(const struct conf *c, struct ectx *e)
{
	struct shown s;

	if (strcmp(c->users_backend, "postgresql") == 0) {
		if (c->pg_conninfo[0] == '\0')
			fail(e, "users_backend = postgresql needs pg_conninfo");
		return;
	}
	if (c->pg_bans)
		fail(e, "pg_bans needs users_backend = postgresql");
	if (strcmp(c->users_backend, "file") != 0)
		fail(e, "users_backend '%s' is neither file nor postgresql",
		    show(&s, c->users_backend, strlen(c->users_backend)));
}

/*
 * A proxy listener needs the balancers' addresses, pasv_proxy a proxy
 * listener; implicit FTPS behind one is not offered (the header comes before the TLS handshake, which
 * the relay starts before any worker reads).
 */
static void
check_proxy(const struct conf *c, struct ectx *e)
{
	size_t i, proxied = 0;

	for (i = 0; i < c->listen_count; i++) {
		if (c->listen[i].proxy && c->proxy_from[0] == '\0')
			fail(e,
			    "listen address %zu is proxy but proxy_from "
			    "is empty",
			    i + 1);
		if (c->listen[i].proxy && c->listen[i].implicit)
			fail(e,
			    "listen address %zu is both proxy and implicit; "
			    "implicit FTPS behind a PROXY header is not "
			    "supported",
			    i + 1);
		proxied += c->listen[i].proxy;
	}
	if (c->pasv_proxy && proxied == 0)
		fail(e, "pasv_proxy is set but no listen address is proxy");
}

/* TLS options that need a certificate; the files are tls/tls.c's. */
static void
check_tls(const struct conf *c, struct ectx *e)
{
	size_t i;

	if (c->tls_cert[0] != '\0')
		return;
	for (i = 0; i < c->listen_count; i++)
		if (c->listen[i].implicit)
			fail(e,
			    "listen address %zu is implicit but tls_cert "
			    "is empty",
			    i + 1);
	if (c->tls_required_anon || c->tls_required_users == 1 ||
	    c->tls_prot_required_anon || c->tls_prot_required_users)
		fail(e,
		    "a tls_required or tls_prot_required option is set "
		    "but tls_cert is empty");
	if (c->tls_key[0] != '\0')
		fail(e, "tls_key is set but tls_cert is empty");
	if (c->tls_client_ca[0] != '\0')
		fail(e, "tls_client_ca is set but tls_cert is empty");
}

static void
check_client_certs(const struct conf *c, struct ectx *e)
{
	if (c->tls_client_ca[0] == '\0' &&
	    (c->tls_client_cert_required || c->tls_client_cert_login))
		fail(e,
		    "tls_client_cert_required and tls_client_cert_login "
		    "need tls_client_ca");
}

/* 1 when mount path a lies strictly inside b ("/b/x" in "/b"). */
static int
mount_inside(const char *a, const char *b)
{
	size_t n = strlen(b);

	return strncmp(a, b, n) == 0 && a[n] == '/';
}

/*
 * Folders: no MOUNT_PATH inside another's (one may be shared, the
 * session takes the first); anon_folders names folders only.
 */
static void
check_folders(const struct conf *c, struct ectx *e)
{
	size_t i, j;
	uint32_t mask;
	int r;

	for (i = 0; i < c->folder_count; i++)
		for (j = 0; j < c->folder_count; j++)
			if (mount_inside(c->folder[i].mount,
				c->folder[j].mount))
				fail(e,
				    "folder %s: mount path %s lies inside "
				    "folder %s's",
				    c->folder[i].name, c->folder[i].mount,
				    c->folder[j].name);
	r = conf_folder_mask(c, c->anon_folders, &mask);
	if (r < 0)
		fail(e,
		    "anon_folders: not a comma-separated list of folder "
		    "names");
	else if (r > 0)
		fail(e, "anon_folders: %d name(s) are no folder", r);
}

/*
 * anon_upload_owner: no drop-box in an anonymous shared folder (the
 * monitor checks a file's place in the anonymous root, where a folder's
 * files do not lie).
 */
static void
check_owner_folders(const struct conf *c, struct ectx *e)
{
	struct perm_set set = { 0 };
	uint32_t mask = 0, i;
	size_t f;

	if (perm_set_dirs(&set, c->anon_upload_dirs,
		strlen(c->anon_upload_dirs), PERM_UPLOAD) < 0 ||
	    conf_folder_mask(c, c->anon_folders, &mask) < 0)
		return;
	for (f = 0; f < c->folder_count && f < 32; f++) {
		if ((mask & (1u << f)) == 0)
			continue;
		for (i = 0; i < set.n; i++)
			if (strcmp(set.r[i].path, c->folder[f].mount) == 0 ||
			    mount_inside(set.r[i].path, c->folder[f].mount))
				fail(e,
				    "anon_upload_owner: anon_upload_dirs %s "
				    "lies in shared folder %s",
				    set.r[i].path, c->folder[f].name);
	}
}

/*
 * anon_upload_owner: only with drop-boxes, and never an account that
 * runs sessions or may do anything (its ids are checked at load too,
 * by the listener: load_owner in main.c).
 */
static void
check_anon_owner(const struct conf *c, struct ectx *e)
{
	const char *o = c->anon_upload_owner;

	if (o[0] == '\0')
		return;
	if (c->anon_upload_dirs[0] == '\0')
		fail(e, "anon_upload_owner needs anon_upload_dirs");
	if (strcmp(o, "root") == 0 || strcmp(o, c->anon_user) == 0 ||
	    strcmp(o, c->service_user) == 0)
		fail(e,
		    "anon_upload_owner: not root, anon_user or service_user "
		    "(%s)",
		    o);
	check_owner_folders(c, e);
}

/* `auto` becomes yes or no once every option is known. */
static void
settle_auto(struct conf *c)
{
	if (c->tls_required_users == CONF_AUTO)
		c->tls_required_users = c->tls_cert[0] != '\0';
}

int
conf_check(struct conf *c, struct conf_errors *errs)
{
	struct ectx e = { errs, "config", 0, 0, 0 };

	if (c->pasv_min_port > c->pasv_max_port)
		fail(&e, "pasv_min_port (%lu) is above pasv_max_port (%lu)",
		    c->pasv_min_port, c->pasv_max_port);
	if (c->anonymous_enable && c->anon_root[0] == '\0')
		fail(&e, "anonymous_enable is set but anon_root is empty");
	check_listen(c, &e);
	check_metrics(c, &e);
	check_backend(c, &e);
	check_tls(c, &e);
	check_proxy(c, &e);
	check_client_certs(c, &e);
	check_folders(c, &e);
	if (strcmp(c->upload_hook_user, "root") == 0)
		fail(&e, "upload_hook_user: a hook never runs as root");
	check_anon_owner(c, &e);
	if (e.nerr > 0)
		return -1;
	settle_auto(c);
	return 0;
}

/*
 * upload_hook: as the other files (owner, no one else may write it or a
 * directory above it), and a regular file someone may execute; it is
 * executed with no shell, so nothing else makes it a program.
 */
static void
hook_unfit(struct ectx *e, const char *path)
{
	char why[KF_CONF_VALUE_MAX];
	struct ectx f = { e->errs, "file", 0, 0, 0 };

	if (file_unsafe(e, path, 0) < 0)
		return;
	if (conf_file_executable(path, why, sizeof(why)) == 0)
		return;
	fail(&f, "upload_hook %s: %s", path, why);
	e->nerr++;
}

int
conf_check_files(const struct conf *c, struct conf_errors *errs)
{
	struct ectx e = { errs, "file", 0, 0, 0 };

	if (c->users_file[0] != '\0')
		file_unsafe(&e, c->users_file, 0);
	if (c->tls_cert[0] != '\0')
		file_unsafe(&e, c->tls_cert, c->tls_key[0] == '\0');
	if (c->tls_key[0] != '\0')
		file_unsafe(&e, c->tls_key, 1);
	if (c->tls_client_ca[0] != '\0')
		file_unsafe(&e, c->tls_client_ca, 0);
	if (c->upload_hook[0] != '\0')
		hook_unfit(&e, c->upload_hook);
	return e.nerr > 0 ? -1 : 0;
}

/* Decimal 1..65535, no sign, no leading zero, nothing after. */
static int
parse_port(struct cursor *cur, uint16_t *port)
{
	uint64_t v;
	int r;

	if (cursor_peek(cur) == '0' && cursor_left(cur) > 1)
		return -EINVAL;
	if ((r = cursor_u64(cur, 65535, &v)) < 0)
		return r;
	if (!cursor_eof(cur))
		return -EINVAL;
	if (v == 0)
		return -ERANGE;
	*port = (uint16_t)v;
	return 0;
}

static int
fill_addr(struct conf_listen *out, int v6, const char *host, uint16_t port)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)&out->addr;
	struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)&out->addr;

	memset(out, 0, sizeof(*out));
	if (v6) {
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -EINVAL;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		out->len = sizeof(*s6);
	} else {
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -EINVAL;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		out->len = sizeof(*s4);
	}
	return 0;
}

int
conf_parse_listen(const char *text, struct conf_listen *out)
{
	char host[INET6_ADDRSTRLEN];
	struct cursor cur;
	const char *h;
	size_t n = strnlen(text, CONF_LISTEN_TEXT), hlen;
	uint16_t port;
	int v6, r;

	if (n == CONF_LISTEN_TEXT)
		return -EINVAL;
	cursor_init(&cur, text, n);
	v6 = cursor_eat(&cur, '[');
	if (cursor_token(&cur, v6 ? "]" : ":[]", &h, &hlen) < 0)
		return -EINVAL;
	if ((v6 && !cursor_eat(&cur, ']')) || !cursor_eat(&cur, ':'))
		return -EINVAL;
	if ((r = parse_port(&cur, &port)) < 0)
		return r;
	if (hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	return fill_addr(out, v6, host, port);
}

/*
 * conf_print_doc: a small buffered writer, then the text. With cap set,
 * the text goes to cap (at most capmax - 1 bytes, NUL-terminated)
 * instead of fd: conf_print_man turns the same text into roff.
 */
struct out {
	int fd;
	size_t n;
	char *cap;
	size_t caplen;
	size_t capmax;
	char b[4096];
};

static void
out_flush(struct out *w)
{
	size_t k;

	if (w->n > 0 && w->cap != NULL) {
		k = w->capmax - 1 - w->caplen;
		if (k > w->n)
			k = w->n;
		memcpy(w->cap + w->caplen, w->b, k);
		w->caplen += k;
		w->cap[w->caplen] = '\0';
	} else if (w->n > 0)
		sys_write_all(w->fd, w->b, w->n);
	w->n = 0;
}

static void
out_put(struct out *w, const char *s, size_t n)
{
	size_t k;

	while (n > 0) {
		if (w->n == sizeof(w->b))
			out_flush(w);
		k = sizeof(w->b) - w->n;
		if (k > n)
			k = n;
		memcpy(w->b + w->n, s, k);
		w->n += k;
		s += k;
		n -= k;
	}
}

static void out_fmt(struct out *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
out_fmt(struct out *w, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (k > 0)
		out_put(w, line,
		    (size_t)k < sizeof(line) ? (size_t)k : sizeof(line) - 1);
}

/* Table cell text: '|' would end the cell. */
static void
out_cell(struct out *w, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '|')
			out_put(w, "\\", 1);
		out_put(w, s, 1);
	}
}

static const char *const type_names[] = {
	[CONF_T_BOOL] = "bool",
	[CONF_T_AUTO] = "bool or auto",
	[CONF_T_UINT] = "integer",
	[CONF_T_MODE] = "octal mode",
	[CONF_T_STR] = "string",
	[CONF_T_PATH] = "path",
	[CONF_T_LISTEN] = "address list",
	[CONF_T_TEXTFILE] = "path (text file)",
	[CONF_T_PATTERNS] = "pattern list",
	[CONF_T_VHOST] = "virtual host",
	[CONF_T_PASVADDR] = "IPv4 address or host name",
	[CONF_T_PASVMAP] = "CIDR=ADDRESS list",
	[CONF_T_FOLDER] = "shared folder",
};

static void
out_range(struct out *w, const struct conf_opt *o)
{
	unsigned long long lo = o->min, hi = o->max;

	switch (o->type) {
	case CONF_T_BOOL:
		out_fmt(w, "yes or no");
		break;
	case CONF_T_AUTO:
		out_fmt(w, "yes, no or auto");
		break;
	case CONF_T_UINT:
		out_fmt(w, "%llu to %llu", lo, hi);
		break;
	case CONF_T_MODE:
		out_fmt(w, "%#llo to %#llo", lo, hi);
		break;
	case CONF_T_STR:
		out_fmt(w, "%llu to %llu bytes", lo, hi);
		break;
	case CONF_T_PATH:
		out_fmt(w, "absolute, or empty");
		break;
	case CONF_T_LISTEN:
		out_fmt(w, "1 to %d addresses", KF_LISTEN_MAX);
		break;
	case CONF_T_TEXTFILE:
		out_fmt(w,
		    "absolute, or empty; the file at most %d bytes, %d "
		    "lines",
		    CONF_TEXT_MAX, CONF_TEXT_LINES_MAX);
		break;
	case CONF_T_PATTERNS:
		out_fmt(w, "%llu to %llu bytes, at most %d patterns", lo, hi,
		    CONF_PATTERNS_MAX);
		break;
	case CONF_T_VHOST:
		out_fmt(w, "0 to %d lines", CONF_VHOST_MAX);
		break;
	case CONF_T_PASVADDR:
		out_fmt(w, "empty, or at most %d bytes", CONF_HOST_MAX);
		break;
	case CONF_T_PASVMAP:
		out_fmt(w, "0 to %d entries", KF_PASV_MAP_MAX);
		break;
	case CONF_T_FOLDER:
		out_fmt(w, "0 to %d lines", KF_FOLDERS_MAX);
		break;
	}
}

static void
out_option(struct out *w, const struct conf_opt *o)
{
	out_fmt(w, "| `%s` | %s | ", o->name, type_names[o->type]);
	if (o->def[0] != '\0')
		out_fmt(w, "`%s`", o->def);
	else
		out_fmt(w, "*(empty)*");
	out_fmt(w, " | ");
	out_range(w, o);
	out_fmt(w, " | ");
	out_cell(w, o->doc);
	out_fmt(w, " |\n");
}

static const char doc_intro[] =
    "# keepftpd configuration\n"
    "\n"
    "This page is generated by `keepftpd --config-doc` from the option table\n"
    "in `src/conf/conf.h`; edit the table, not this page.\n"
    "\n"
    "## File format\n"
    "\n"
    "- One `key = value` per line. Blanks (spaces, tabs) around the key and\n"
    "  the value are ignored. Lines may end in LF or CRLF.\n"
    "- An empty line, or one whose first non-blank character is `#`, is a\n"
    "  comment. A `#` anywhere else is part of the value.\n"
    "- A value may be written in double quotes, to keep leading or trailing\n"
    "  blanks or to give an empty value: `banner = \"  Welcome  \"`. Inside\n"
    "  the quotes `\\\"` stands for `\"` and `\\\\` for `\\`; there is no other\n"
    "  escape. Only blanks may follow the closing quote. Without quotes a\n"
    "  value is taken as written.\n"
    "- Each option may be set once. The exceptions are `listen`: its first\n"
    "  line replaces the default, later lines add addresses (a `listen`\n"
    "  value may also be a comma-separated list); `vhost`: each line\n"
    "  adds one virtual host; `folder`: each line adds one shared\n"
    "  folder; and `pasv_address_map`: like `listen`, its later lines\n"
    "  add entries, in order.\n"
    "- Booleans are `yes`/`no`, `true`/`false`, `on`/`off` or `1`/`0` (any\n"
    "  case). Integers are decimal digits only, modes octal digits only (no\n"
    "  sign, no spaces). Paths are absolute, or empty.\n"
    "  Strings may not hold control characters.\n";

static const char doc_rest[] =
    "- Unknown options, malformed values and values out of range are\n"
    "  errors, reported as `FILE:LINE: message`. A file with an error\n"
    "  is not used at all.\n"
    "- `keepftpd -o key=value` overrides one option after the file is\n"
    "  read, with the same checks; for `listen` the (comma-separated)\n"
    "  value replaces the whole list, for `vhost` the value replaces all\n"
    "  virtual hosts (an empty value removes them).\n"
    "- Banner files (`banner_file`, and the third word of a `vhost`) are\n"
    "  read while the configuration is loaded, and again on SIGHUP; an\n"
    "  unreadable file, one over the size or line limit, an empty one or\n"
    "  one with control characters (other than tab) is an error at the\n"
    "  line that names it.\n"
    "- `log` is `stderr` or `syslog`, `log_level` one of `error`,\n"
    "  `warning`, `info`, `debug`, `tls_min` `1.2` or `1.3`; virtual host\n"
    "  names must differ (without regard to case). These are line errors\n"
    "  too.\n"
    "\n"
    "## Checks across options\n"
    "\n"
    "After reading (and after `-o`), keepftpd checks, reporting each as\n"
    "`config: message`: that `pasv_min_port` is not above\n"
    "`pasv_max_port`; that `anon_root` is set when `anonymous_enable` is;\n"
    "that there is at least one `listen` address, none given twice; that\n"
    "no listen address is `implicit`, no `tls_required_anon`,\n"
    "`tls_required_users`,\n"
    "`tls_prot_required_anon` or `tls_prot_required_users` is `yes`, and\n"
    "neither `tls_key` nor `tls_client_ca` is set, while `tls_cert` is\n"
    "empty; and that `tls_client_cert_required` and\n"
    "`tls_client_cert_login` have a `tls_client_ca`. Then `auto` values\n"
    "are settled (`tls_required_users`: `yes` when `tls_cert` is set).\n"
    "\n"
    "## The files the configuration names\n"
    "\n"
    "The config file, banner files, `users_file`, `tls_cert`, `tls_key`\n"
    "and `tls_client_ca` must be owned by root or by the account keepftpd\n"
    "runs as, and writable by no one else; so must every directory on\n"
    "their real paths, except a directory with the sticky bit (such as\n"
    "`/tmp`: others cannot rename or remove what they do not own). The\n"
    "private key (`tls_key`, or `tls_cert` when it holds the key) must not\n"
    "be readable by others (a group, such as Debian's `ssl-cert`, may\n"
    "read it). Each failure is a `file: PATH: message` error at start-up,\n"
    "on SIGHUP and with `-t`, which also reads the users file\n"
    "(`USERS:LINE: message`). Then the certificate and key must load and\n"
    "match (`FILE: TLS: message`). On SIGHUP, a file with any error, or a\n"
    "TLS part that does not load, keeps the whole running configuration.\n"
    "\n"
    "## Virtual hosts (HOST, RFC 7151)\n"
    "\n"
    "A client may send `HOST name` before `USER`. With `vhost` lines, a\n"
    "configured name is answered `220` with that host's banner (or the\n"
    "server's greeting when it has none), and an anonymous login that\n"
    "follows gets that host's `ANON_ROOT`; an unknown name is answered\n"
    "`504` and the session goes on with the default host. Without `vhost`\n"
    "lines, any well-formed name is answered `220` with the greeting and\n"
    "changes nothing. Virtual users, PAM users and every other option are\n"
    "the same for all hosts.\n"
    "\n"
    "## Options\n"
    "\n"
    "| Option | Type | Default | Range | Description |\n"
    "|---|---|---|---|---|\n";

static void
out_intro(struct out *w)
{
	out_put(w, doc_intro, sizeof(doc_intro) - 1);
	out_fmt(w,
	    "- Limits: a value holds at most %d bytes, a line %d "
	    "bytes,\n  the file %d bytes. NUL bytes and control characters "
	    "other\n  than tab are errors.\n",
	    KF_CONF_VALUE_MAX, CONF_LINE_MAX, KF_CONF_FILE_MAX);
	out_put(w, doc_rest, sizeof(doc_rest) - 1);
}

void
conf_print_doc(int fd)
{
	struct out w = { .fd = fd, .n = 0 };
	size_t i;

	out_intro(&w);
	for (i = 0; i < NITEMS(opts); i++)
		out_option(&w, &opts[i]);
	out_flush(&w);
}

/*
 * conf_print_example: keepftpd.conf.example, from the same table. Each
 * option's text as a comment, then "#name = default"; the few options
 * the example sets are written uncommented, their default said above.
 */
static const struct {
	const char *name;
	const char *value;
} example_sets[] = {
	{ "listen", "0.0.0.0:21, [::]:21" },
	{ "log", "syslog" },
};

/* Section headings, before the option that opens each. */
static const struct {
	const char *first;
	const char *title;
} example_heads[] = {
	{ "listen", "Listeners" },
	{ "tls_cert", "FTPS" },
	{ "max_clients", "Connections, address lists and bans" },
	{ "pasv_enable", "Data connections" },
	{ "anonymous_enable", "Logins" },
	{ "banner", "Greeting and virtual hosts" },
	{ "message_enable", "Listings and checksums" },
	{ "idle_timeout", "Timeouts, rates and quotas" },
	{ "login_fail_delay_ms", "Failed logins and password hashing" },
	{ "umask", "Files and logging" },
};

static const char example_intro[] =
    "# keepftpd.conf.example - a starting point for /etc/keepftpd/keepftpd.conf.\n"
    "#\n"
    "# Generated by `keepftpd --config-example` from the option table in\n"
    "# src/conf/conf.h (as docs/CONFIG.md is by `keepftpd --config-doc`); edit\n"
    "# the table, not this file.\n"
    "#\n"
    "# One \"key = value\" per line; a line whose first non-blank character is\n"
    "# '#' is a comment. Each line \"#key = value\" below holds that option's\n"
    "# default value, so that uncommenting it changes nothing. The few lines\n"
    "# not commented are this example's choices, with the default above\n"
    "# each. The config file, and every file it names, must be writable\n"
    "# only by root (or the account keepftpd runs as).\n";

/* s as comment lines of at most 76 columns, "# " first. */
static void
out_comment(struct out *w, const char *s)
{
	size_t col = 0, n;
	const char *sp;

	while (*s != '\0') {
		sp = strchr(s, ' ');
		n = sp != NULL ? (size_t)(sp - s) : strlen(s);
		if (col > 0 && col + 1 + n > 76) {
			out_put(w, "\n", 1);
			col = 0;
		}
		if (col == 0) {
			out_put(w, "#", 1);
			col = 1;
		}
		out_put(w, " ", 1);
		out_put(w, s, n);
		col += 1 + n;
		s += n;
		while (*s == ' ')
			s++;
	}
	if (col > 0)
		out_put(w, "\n", 1);
}

static void
out_example(struct out *w, const struct conf_opt *o)
{
	size_t i;

	for (i = 0; i < NITEMS(example_heads); i++)
		if (strcmp(example_heads[i].first, o->name) == 0)
			out_fmt(w, "\n# --- %s ---\n", example_heads[i].title);
	out_put(w, "\n", 1);
	out_comment(w, o->doc);
	for (i = 0; i < NITEMS(example_sets); i++)
		if (strcmp(example_sets[i].name, o->name) == 0) {
			out_fmt(w, "# default: %s\n%s = %s\n", o->def, o->name,
			    example_sets[i].value);
			return;
		}
	out_fmt(w, "#%s =%s%s\n", o->name, o->def[0] != '\0' ? " " : "",
	    o->def);
}

void
conf_print_example(int fd)
{
	struct out w = { .fd = fd, .n = 0 };
	size_t i;

	out_put(&w, example_intro, sizeof(example_intro) - 1);
	for (i = 0; i < NITEMS(opts); i++)
		out_example(&w, &opts[i]);
	out_flush(&w);
}

/*
 * conf_print_man: keepftpd.conf(5) in man(7) roff, from the same text
 * and table as conf_print_doc. The Markdown of the introduction is of a
 * small known shape: "## " headings, "- " items continued by lines
 * indented two blanks, paragraphs, `code`, *(text)*; the title, the
 * line that names the generator and the table header are left out.
 */
#define MAN_INTRO_MAX 16384

/* Inline text: `code` bold, *(x)* italic, roff's escape character. */
static void
man_text(struct out *w, const char *s, size_t n)
{
	size_t i;
	int code = 0;

	if (n > 0 && (s[0] == '.' || s[0] == '\''))
		out_put(w, "\\&", 2);
	for (i = 0; i < n; i++) {
		if (s[i] == '`') {
			out_put(w, code ? "\\fR" : "\\fB", 3);
			code = !code;
		} else if (!code && s[i] == '*' && i + 1 < n &&
		    s[i + 1] == '(') {
			out_put(w, "\\fI(", 4);
			i++;
		} else if (!code && s[i] == ')' && i + 1 < n &&
		    s[i + 1] == '*') {
			out_put(w, ")\\fR", 4);
			i++;
		} else if (s[i] == '\\')
			out_put(w, "\\e", 2);
		else if (s[i] == '-' && i + 1 < n && s[i + 1] == '-')
			out_put(w, "\\-", 2);
		else
			out_put(w, s + i, 1);
	}
	if (code)
		out_put(w, "\\fR", 3);
	out_put(w, "\n", 1);
}

static void
man_heading(struct out *w, const char *s, size_t n)
{
	size_t i;
	char c;

	out_put(w, ".SH \"", 5);
	for (i = 0; i < n; i++) {
		c = s[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c == '"' || c == '\\' || c == '`')
			continue;
		out_put(w, &c, 1);
	}
	out_put(w, "\"\n", 2);
}

/*
 * One line of the introduction's Markdown; *para: 1 a .PP is due, -1
 * none may come (right after a heading).
 */
static void
man_line(struct out *w, const char *s, size_t n, int *started, int *para)
{
	if (n >= 3 && memcmp(s, "## ", 3) == 0) {
		*started = 1;
		*para = -1;
		man_heading(w, s + 3, n - 3);
		return;
	}
	if (!*started || (n > 0 && s[0] == '|'))
		return;
	if (n == 0) {
		if (*para == 0)
			*para = 1;
		return;
	}
	if (n >= 2 && memcmp(s, "- ", 2) == 0) {
		out_fmt(w, ".IP \\(bu 2\n");
		man_text(w, s + 2, n - 2);
	} else {
		if (*para == 1)
			out_fmt(w, ".PP\n");
		while (n > 0 && *s == ' ') {
			s++;
			n--;
		}
		man_text(w, s, n);
	}
	*para = 0;
}

static void
man_intro(struct out *w)
{
	static char md[MAN_INTRO_MAX];
	struct out m = { .fd = -1, .cap = md, .capmax = sizeof(md) };
	const char *p, *nl;
	int started = 0, para = 0;

	out_intro(&m);
	out_flush(&m);
	for (p = md; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		man_line(w, p, (size_t)(nl - p), &started, &para);
		if (*nl == '\0')
			break;
	}
}

static void
man_option(struct out *w, const struct conf_opt *o)
{
	out_fmt(w, ".TP\n.B %s\n", o->name);
	out_fmt(w, "\\fI%s\\fR; default: ", type_names[o->type]);
	if (o->def[0] != '\0')
		out_fmt(w, "\\fB%s\\fR", o->def);
	else
		out_fmt(w, "\\fI(empty)\\fR");
	out_fmt(w, "; range: ");
	out_range(w, o);
	out_fmt(w, ".\n.br\n");
	man_text(w, o->doc, strlen(o->doc));
}

static const char man_head[] =
    ".\\\" keepftpd.conf.5 - generated by `keepftpd --config-man` from the\n"
    ".\\\" option table in src/conf/conf.h; edit the table, not this file.\n"
    ".TH KEEPFTPD.CONF 5 %s \"keepftpd %s\" \"File Formats Manual\"\n"
    ".SH NAME\n"
    "keepftpd.conf \\- configuration file of the keepftpd FTP server\n"
    ".SH SYNOPSIS\n"
    ".B /etc/keepftpd/keepftpd.conf\n"
    ".SH DESCRIPTION\n"
    ".B keepftpd\n"
    "reads its configuration from the file given with\n"
    ".BR \\-c ;\n"
    "a package installs\n"
    ".I /etc/keepftpd/keepftpd.conf\n"
    "(which serves nothing until edited).\n"
    ".B keepftpd \\-t \\-c\n"
    ".I FILE\n"
    "checks a file without starting the server.\n"
    "The same text is in docs/CONFIG.md\n"
    ".RB ( \"keepftpd \\-\\-config\\-doc\" ).\n";

static const char man_tail[] =
    ".SH FILES\n"
    ".TP\n"
    ".I /etc/keepftpd/keepftpd.conf\n"
    "the configuration file.\n"
    ".TP\n"
    ".I /etc/pam.d/keepftpd\n"
    "the PAM service of system users\n"
    ".RB ( pam_enable ).\n"
    ".TP\n"
    ".I /usr/share/doc/keepftpd/examples/keepftpd.conf.example\n"
    "every option with its default, commented\n"
    ".RB ( \"keepftpd \\-\\-config\\-example\" ).\n"
    ".SH SEE ALSO\n"
    ".BR keepftpd (8),\n"
    ".BR pam (7),\n"
    ".BR systemd.service (5)\n";

void
conf_print_man(int fd, const char *version, const char *date)
{
	struct out w = { .fd = fd, .n = 0 };
	size_t i;

	out_fmt(&w, man_head, date, version);
	man_intro(&w);
	for (i = 0; i < NITEMS(opts); i++)
		man_option(&w, &opts[i]);
	out_put(&w, man_tail, sizeof(man_tail) - 1);
	out_flush(&w);
}
