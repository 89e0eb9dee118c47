/*
 * glob.c - wildcard matching with a step budget, and expansion of a
 * pattern in the virtual path space, one directory at a time.
 * The matcher is the linear "resume after the last star" algorithm:
 * a star-free segment is fixed-length, so matching each one leftmost
 * is optimal and only the last star ever needs to take more. Work is
 * O(len(pat) * len(name)) and every step is charged to the budget.
 * Runs in: post-login worker.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/grow.h"
#include "../common/limits.h"
#include "glob.h"
#include "path.h"

static int
spend(size_t *budget)
{
	if (*budget == 0)
		return -E2BIG;
	(*budget)--;
	return 0;
}

/* Length of the bracket expression at p, 0 when "[" starts none. */
static size_t
class_len(const char *p)
{
	const char *q = p + 1;

	if (*q == '!' || *q == '^')
		q++;
	if (*q == ']')
		q++;
	for (; *q != '\0' && *q != ']'; q++)
		if (*q == '\\' && q[1] != '\0')
			q++;
	return *q == ']' ? (size_t)(q - p) + 1 : 0;
}

static unsigned char
class_elem(const char **q, const char *end)
{
	if (**q == '\\' && *q + 1 < end)
		(*q)++;
	return (unsigned char)*(*q)++;
}

/* p..p+len is a valid bracket expression (class_len). 1, 0 or -E2BIG. */
static int
class_match(const char *p, size_t len, unsigned char c, size_t *budget)
{
	const char *q = p + 1, *end = p + len - 1;
	unsigned char lo, hi;
	int neg = 0, hit = 0;

	if (*q == '!' || *q == '^') {
		neg = 1;
		q++;
	}
	while (q < end) {
		if (spend(budget) < 0)
			return -E2BIG;
		lo = hi = class_elem(&q, end);
		if (*q == '-' && q + 1 < end) {
			q++;
			hi = class_elem(&q, end);
		}
		if (lo <= c && c <= hi)
			hit = 1;
	}
	return hit != neg;
}

/* One pattern item (not "*") against byte c; advances *pp on a match. */
static int
match_one(const char **pp, unsigned char c, size_t *budget)
{
	const char *p = *pp;
	size_t n = 1;
	int r;

	if (*p == '\0')
		return 0;
	if (*p == '?')
		r = 1;
	else if (*p == '[' && (n = class_len(p)) > 0)
		r = class_match(p, n, c, budget);
	else {
		n = 1;
		if (*p == '\\' && p[1] != '\0')
			p++, n = 2;
		r = (unsigned char)*p == c;
	}
	if (r > 0)
		*pp += n;
	return r;
}

static int
match(const char *p, const char *s, size_t *budget)
{
	const char *star = NULL, *resume = NULL;
	int r;

	for (;;) {
		if (spend(budget) < 0)
			return -E2BIG;
		if (*p == '*') {
			while (*p == '*')
				p++;
			if (*p == '\0')
				return 1;
			star = p;
			resume = s;
			continue;
		}
		if (*s == '\0')
			return *p == '\0';
		if ((r = match_one(&p, (unsigned char)*s, budget)) < 0)
			return r;
		if (r > 0)
			s++;
		else if (star == NULL)
			return 0;
		else {
			p = star;
			s = ++resume;
		}
	}
}

/* Unescaped wildcards in p[0..n); with stop_at_first, 0 or 1. */
static size_t
count_wild(const char *p, size_t n, int stop_at_first)
{
	const char *end = p + n;
	size_t count = 0;

	for (; p < end; p++) {
		if (*p == '\\' && p + 1 < end)
			p++;
		else if (*p == '*' || *p == '?' ||
		    (*p == '[' && class_len(p) > 0))
			count++;
		if (count > 0 && stop_at_first)
			break;
	}
	return count;
}

int
glob_check(const char *pat)
{
	size_t n = strnlen(pat, KF_PATH_MAX + 1);

	if (n > KF_PATH_MAX)
		return -ENAMETOOLONG;
	return count_wild(pat, n, 0) > KF_GLOB_WILD_MAX ? -EINVAL : 0;
}

int
glob_has_magic(const char *pat)
{
	return count_wild(pat, strlen(pat), 1) > 0;
}

int
glob_match(const char *pat, const char *name, size_t *budget)
{
	size_t own = KF_GLOB_STEPS_MAX;
	int r;

	if ((r = glob_check(pat)) < 0)
		return r;
	return match(pat, name, budget != NULL ? budget : &own);
}

int
glob_set_match(const struct glob_set *set, const char *name)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (glob_match(set->pat[i], name, NULL) != 0)
			return 1;
	return 0;
}

int
glob_set_hide(void *set, const char *name)
{
	return glob_set_match(set, name);
}

/* ---- expansion ---- */

struct gx {
	int rootfd;
	const struct glob_opts *o;
	size_t max_matches;
	size_t max_scan;
	size_t budget;
	struct glob_stats st;
	int hits;
	const char *pend; /* end of pat */
	size_t dstart; /* display path starts here */
	char pat[KF_PATH_MAX + 1]; /* "/" made NUL */
	char path[KF_PATH_MAX + 1]; /* base "/" shown */
};

/* Matched names of one directory: a NUL-separated pool, then sorted. */
struct names {
	char *pool;
	size_t len;
	size_t cap;
	char **v;
	size_t n;
};

static int
names_add(struct names *nm, const char *s)
{
	size_t n = strlen(s) + 1;

	/* the capacity changes only with the memory */
	if (grow_array(&nm->pool, &nm->cap, nm->len + n, 1, 1024, SIZE_MAX) < 0)
		return -ENOMEM;
	memcpy(nm->pool + nm->len, s, n);
	nm->len += n;
	nm->n++;
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
names_sort(struct names *nm)
{
	size_t i, off = 0;

	if (nm->n == 0)
		return 0;
	if ((nm->v = calloc(nm->n, sizeof(*nm->v))) == NULL)
		return -ENOMEM;
	for (i = 0; i < nm->n; i++) {
		nm->v[i] = nm->pool + off;
		off += strlen(nm->v[i]) + 1;
	}
	qsort(nm->v, nm->n, sizeof(*nm->v), cmp_str);
	return 0;
}

static void
names_free(struct names *nm)
{
	free(nm->pool);
	free(nm->v);
}

static int
is_dot_name(const char *s)
{
	return s[0] == '.' && (s[1] == '\0' || (s[1] == '.' && s[2] == '\0'));
}

static int
hidden(struct gx *g, const char *name)
{
	if (g->o->hide == NULL || is_dot_name(name))
		return 0;
	return g->o->hide(g->o->hide_arg, name) != 0;
}

/* Next component after c, or pend. */
static const char *
next_comp(const struct gx *g, const char *c)
{
	c += strlen(c) + 1;
	while (c < g->pend && *c == '\0')
		c++;
	return c < g->pend ? c : g->pend;
}

/* Appends "/" name; -1 when it would not fit. */
static int
push(struct gx *g, size_t *len, const char *name)
{
	size_t n = strlen(name);

	if (n > KF_PATH_MAX - *len - 1)
		return -1;
	g->path[(*len)++] = '/';
	memcpy(g->path + *len, name, n);
	*len += n;
	g->path[*len] = '\0';
	return 0;
}

static const char *
open_path(struct gx *g, size_t len)
{
	g->path[len] = '\0';
	return len == 0 ? "/" : g->path;
}

static const char *
display(struct gx *g, size_t len)
{
	if (len > g->dstart)
		return g->path + g->dstart;
	return g->dstart == 0 ? "/" : ".";
}

static int
deliver(struct gx *g, size_t len, int dirfd, const char *name)
{
	struct glob_hit h;
	struct stat st;
	int r;

	if (fstatat(dirfd, name, &st,
		AT_SYMLINK_NOFOLLOW | (*name == '\0' ? AT_EMPTY_PATH : 0)) < 0)
		return 0; /* vanished meanwhile */
	h.path = display(g, len);
	h.dirfd = dirfd;
	h.name = name;
	h.st = &st;
	if ((r = g->o->found(g->o->found_arg, &h)) < 0)
		return r;
	g->hits++;
	return 0;
}

/* fs_open, and NULL/-1 (left out) where the listing rule says no. */
static int
open_may(struct gx *g, size_t len, int flags)
{
	char real[KF_PATH_MAX + 1];
	int fd;

	fd = fs_open_real(g->rootfd, open_path(g, len), flags, 0, real,
	    sizeof(real));
	if (fd >= 0 && g->o->may != NULL &&
	    g->o->may(g->o->may_arg, real) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The pattern ended on a component without wildcards: does it exist? */
static int
final_literal(struct gx *g, size_t len)
{
	int fd, r;

	if (++g->st.matches > g->max_matches)
		return -E2BIG;
	fd = open_may(g, len, O_PATH | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	r = deliver(g, len, fd, "");
	close(fd);
	return r;
}

/* Could this entry lead on to another directory? Links: the kernel says. */
static int
maybe_dir(DIR *d, const struct dirent *de)
{
	struct stat st;

	if (de->d_type == DT_DIR || de->d_type == DT_LNK)
		return 1;
	if (de->d_type != DT_UNKNOWN)
		return 0;
	if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	return S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode);
}

static int
take(struct gx *g, const char *c, DIR *d, const struct dirent *de, int last)
{
	int r;

	if (++g->st.scanned > g->max_scan)
		return -E2BIG;
	if (is_dot_name(de->d_name) || (de->d_name[0] == '.' && c[0] != '.'))
		return 0;
	if ((r = match(c, de->d_name, &g->budget)) <= 0)
		return r;
	if (hidden(g, de->d_name) || (!last && !maybe_dir(d, de)))
		return 0;
	if (++g->st.matches > g->max_matches)
		return -E2BIG;
	return 1;
}

static int
collect(struct gx *g, const char *c, DIR *d, int last, struct names *nm)
{
	struct dirent *de;
	int r;

	while ((de = readdir(d)) != NULL) {
		if ((r = take(g, c, d, de, last)) < 0)
			return r;
		if (r > 0 && (r = names_add(nm, de->d_name)) < 0)
			return r;
	}
	return names_sort(nm);
}

static int walk(struct gx *, const char *, size_t);

static int
descend(struct gx *g, const char *c, size_t len, struct names *nm)
{
	size_t i, n;
	int r;

	for (i = 0; i < nm->n; i++) {
		n = len;
		if (push(g, &n, nm->v[i]) < 0)
			continue;
		if ((r = walk(g, next_comp(g, c), n)) < 0)
			return r;
	}
	return 0;
}

static int
finish(struct gx *g, DIR *d, size_t len, struct names *nm)
{
	size_t i, n;
	int r;

	for (i = 0; i < nm->n; i++) {
		n = len;
		if (push(g, &n, nm->v[i]) < 0)
			continue;
		if ((r = deliver(g, n, dirfd(d), nm->v[i])) < 0)
			return r;
	}
	return 0;
}

/* Component c has wildcards: match it against the directory at path. */
static int
expand_here(struct gx *g, const char *c, size_t len)
{
	struct names nm = { 0 };
	int last = next_comp(g, c) == g->pend, fd, r;
	DIR *d;

	fd = open_may(g, len, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return 0; /* not a directory, gone, or no access */
	if ((d = fdopendir(fd)) == NULL) {
		r = -errno;
		close(fd);
		return r;
	}
	r = collect(g, c, d, last, &nm);
	if (r == 0 && last)
		r = finish(g, d, len, &nm);
	closedir(d);
	if (r == 0 && !last)
		r = descend(g, c, len, &nm);
	names_free(&nm);
	return r;
}

static int
walk(struct gx *g, const char *c, size_t len)
{
	for (; c < g->pend; c = next_comp(g, c)) {
		if (count_wild(c, strlen(c), 1) > 0)
			return expand_here(g, c, len);
		if (hidden(g, c) || push(g, &len, c) < 0)
			return 0;
	}
	return final_literal(g, len);
}

static int
gx_init(struct gx *g, int rootfd, const char *base, const char *pattern,
    const struct glob_opts *o)
{
	size_t n = strlen(base), i;
	int r;

	if ((r = glob_check(pattern)) < 0)
		return r;
	g->rootfd = rootfd;
	g->o = o;
	g->max_matches = o->max_matches ? o->max_matches : KF_GLOB_MATCHES_MAX;
	g->max_scan = o->max_scan ? o->max_scan : KF_GLOB_SCAN_MAX;
	g->budget = o->max_steps ? o->max_steps : KF_GLOB_STEPS_MAX;
	if (pattern[0] == '/' || n == 0)
		n = 0;
	else if (n >= KF_PATH_MAX)
		return -ENAMETOOLONG;
	while (n > 0 && base[n - 1] == '/')
		n--;
	memcpy(g->path, base, n);
	g->path[n] = '\0';
	g->dstart = pattern[0] == '/' ? 0 : n + 1;
	n = strlen(pattern);
	memcpy(g->pat, pattern, n + 1);
	for (i = 0; i < n; i++)
		if (g->pat[i] == '/')
			g->pat[i] = '\0';
	g->pend = g->pat + n;
	return 0;
}

int
glob_expand(int rootfd, const char *base, const char *pattern,
    const struct glob_opts *o)
{
	struct gx *g;
	size_t steps;
	int r;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return -ENOMEM;
	if ((r = gx_init(g, rootfd, base, pattern, o)) == 0) {
		steps = g->budget;
		r = walk(g, g->pat[0] == '\0' ? next_comp(g, g->pat) : g->pat,
		    strlen(g->path));
		g->st.steps = steps - g->budget;
		if (r == 0)
			r = g->hits;
	}
	if (o->stats != NULL)
		*o->stats = g->st;
	free(g);
	return r;
}
