/*
 * idmap.c - bounded uid/gid -> name tables, parsed from passwd(5) and
 * group(5) text with a cursor; sorted once, then binary-searched with
 * no syscalls. Runs in: post-login spawner (load, at its start),
 * post-login worker (lookups).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/cursor.h"
#include "../common/grow.h"
#include "../common/limits.h"
#include "../common/sys.h"
#include "idmap.h"

#define CHUNK 16384 /* file read buffer; a longer line is skipped */

struct ident {
	uint32_t id;
	uint32_t seq; /* line order: the first line for an id wins */
	char name[KF_IDMAP_NAME_MAX + 1];
};

struct idtab {
	struct ident *v;
	size_t n;
	size_t cap;
};

struct idmap {
	struct idtab t[2];
};

struct idmap *
idmap_new(void)
{
	return calloc(1, sizeof(struct idmap));
}

void
idmap_free(struct idmap *m)
{
	if (m == NULL)
		return;
	free(m->t[IDMAP_USERS].v);
	free(m->t[IDMAP_GROUPS].v);
	free(m);
}

static int
name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > KF_IDMAP_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= 'A' && s[i] <= 'Z') ||
			(s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
			s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

static int
tab_add(struct idtab *t, uint32_t id, const char *name, size_t n)
{
	struct ident *v;

	if (t->n >= KF_IDMAP_ENTRIES_MAX)
		return 0;
	if (grow_array(&t->v, &t->cap, t->n + 1, sizeof(*t->v), 64,
		KF_IDMAP_ENTRIES_MAX) < 0)
		return -ENOMEM;
	v = &t->v[t->n];
	v->id = id;
	v->seq = (uint32_t)t->n;
	memcpy(v->name, name, n);
	v->name[n] = '\0';
	t->n++;
	return 0;
}

/* "name:passwd:id[:...]" -> name and id; -EINVAL for anything else. */
static int
parse_line(const char *p, size_t len, const char **name, size_t *nlen,
    uint32_t *id)
{
	struct cursor c;
	const char *skip;
	size_t slen;
	uint64_t v;

	cursor_init(&c, p, len);
	if (cursor_token(&c, ":", name, nlen) < 0 || !cursor_eat(&c, ':'))
		return -EINVAL;
	if (cursor_peek(&c) != ':' && cursor_token(&c, ":", &skip, &slen) < 0)
		return -EINVAL;
	if (!cursor_eat(&c, ':') || cursor_u64(&c, UINT32_MAX - 1, &v) < 0)
		return -EINVAL;
	if (!cursor_eof(&c) && cursor_peek(&c) != ':')
		return -EINVAL;
	*id = (uint32_t)v;
	return name_ok(*name, *nlen) ? 0 : -EINVAL;
}

static int
add_line(struct idtab *t, const char *p, size_t len)
{
	const char *name;
	size_t nlen;
	uint32_t id;

	if (parse_line(p, len, &name, &nlen, &id) < 0)
		return 0;
	return tab_add(t, id, name, nlen);
}

static int
cmp_ident(const void *a, const void *b)
{
	const struct ident *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sorts by id and keeps the first line for each id. */
static void
tab_settle(struct idtab *t)
{
	size_t i, j = 0;

	if (t->n == 0)
		return;
	qsort(t->v, t->n, sizeof(*t->v), cmp_ident);
	for (i = 1; i < t->n; i++)
		if (t->v[i].id != t->v[j].id)
			t->v[++j] = t->v[i];
	t->n = j + 1;
	for (i = 0; i < t->n; i++)
		t->v[i].seq = (uint32_t)i;
}

/* Adds complete lines of [p, p+len); returns the bytes used. */
static size_t
parse_lines(struct idtab *t, const char *p, size_t len, int final, int *err)
{
	const char *s = p, *end = p + len, *nl;

	while (s < end && *err == 0) {
		nl = memchr(s, '\n', (size_t)(end - s));
		if (nl == NULL && !final)
			break;
		if (nl == NULL)
			nl = end;
		*err = add_line(t, s, (size_t)(nl - s));
		s = nl < end ? nl + 1 : end;
	}
	return (size_t)(s - p);
}

int
idmap_parse(struct idmap *m, enum idmap_kind k, const char *text, size_t len)
{
	struct idtab *t = &m->t[k];
	int err = 0;

	parse_lines(t, text, len, 1, &err);
	tab_settle(t);
	return err;
}

/* Drops the rest of an over-long line: returns bytes to keep, or 0. */
static size_t
skip_long(char *buf, size_t have, int *skipping)
{
	char *nl = memchr(buf, '\n', have);

	if (nl == NULL)
		return 0;
	*skipping = 0;
	have -= (size_t)(nl + 1 - buf);
	memmove(buf, nl + 1, have);
	return have;
}

static int
feed(struct idtab *t, int fd, char *buf)
{
	size_t have = 0, used, total = 0;
	int err = 0, skipping = 0;
	ssize_t n;

	while (err == 0 && total < KF_IDMAP_FILE_MAX) {
		if ((n = sys_read(fd, buf + have, CHUNK - have)) < 0)
			return -errno;
		total += (size_t)n;
		have += (size_t)n;
		if (skipping)
			have = skip_long(buf, have, &skipping);
		used = skipping ? 0 : parse_lines(t, buf, have, n == 0, &err);
		have -= used;
		memmove(buf, buf + used, have);
		if (n == 0)
			break;
		if (have == CHUNK) {
			have = 0;
			skipping = 1;
		}
	}
	return err;
}

int
idmap_load_file(struct idmap *m, enum idmap_kind k, const char *path)
{
	char *buf;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return -errno;
	if ((buf = malloc(CHUNK)) == NULL) {
		close(fd);
		return -ENOMEM;
	}
	r = feed(&m->t[k], fd, buf);
	free(buf);
	close(fd);
	tab_settle(&m->t[k]);
	return r;
}

struct idmap *
idmap_load_system(void)
{
	struct idmap *m;

	if ((m = idmap_new()) == NULL)
		return NULL;
	if (idmap_load_file(m, IDMAP_USERS, "/etc/passwd") == -ENOMEM ||
	    idmap_load_file(m, IDMAP_GROUPS, "/etc/group") == -ENOMEM) {
		idmap_free(m);
		return NULL;
	}
	return m;
}

static const char *
lookup(const struct idmap *m, enum idmap_kind k, uint32_t id)
{
	const struct idtab *t;
	size_t lo = 0, hi, mid;

	if (m == NULL)
		return NULL;
	t = &m->t[k];
	hi = t->n;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (t->v[mid].id == id)
			return t->v[mid].name;
		if (t->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *
idmap_user(const struct idmap *m, uid_t uid)
{
	return lookup(m, IDMAP_USERS, (uint32_t)uid);
}

const char *
idmap_group(const struct idmap *m, gid_t gid)
{
	return lookup(m, IDMAP_GROUPS, (uint32_t)gid);
}

size_t
idmap_count(const struct idmap *m, enum idmap_kind k)
{
	return m == NULL ? 0 : m->t[k].n;
}
