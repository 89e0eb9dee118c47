/*
 * perm.c - per-directory permission rules: parsing (users file,
 * `keepftpd user set --perm`, anon_upload_dirs), the set's bounds and
 * the longest-prefix lookup on a resolved path.
 * Pure: no system calls, no logging.
 * Runs in: monitor, `keepftpd user`, spawners, post-login worker.
 */
#include <errno.h>
#include <string.h>

#include "perm.h"

static const char *const names[] = { "list", "download", "upload", "overwrite",
	"delete", "rename", "mkdir", "rmdir", "chmod", "mtime" };
#define NAMES (sizeof(names) / sizeof(names[0]))

const char *
perm_name(uint32_t bit)
{
	size_t i;

	for (i = 0; i < NAMES; i++)
		if (bit == 1u << i)
			return names[i];
	return "?";
}

/* One component of a rule path: not empty, not a dot name. */
static int
comp_valid(const char *p, size_t n)
{
	if (n == 0 || n > KF_NAME_MAX)
		return 0;
	return !(n == 1 && p[0] == '.') &&
	    !(n == 2 && p[0] == '.' && p[1] == '.');
}

int
perm_path_valid(const char *p, size_t n)
{
	size_t i, start = 1;

	if (n == 0 || n > KF_PERM_PATH_MAX || p[0] != '/')
		return 0;
	if (n == 1)
		return 1;
	for (i = 1; i <= n; i++) {
		if (i < n) {
			unsigned char ch = (unsigned char)p[i];

			if (ch < 0x20 || ch == 0x7f || ch == ',' || ch == ':')
				return 0;
			if (ch != '/')
				continue;
		}
		if (!comp_valid(p + start, i - start))
			return 0;
		start = i + 1;
	}
	return 1;
}

static int
name_bit(const char *s, size_t n, uint32_t *bit)
{
	size_t i;

	for (i = 0; i < NAMES; i++)
		if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0) {
			*bit = 1u << i;
			return 0;
		}
	return -EINVAL;
}

int
perm_parse_mask(const char *s, size_t n, uint32_t *mask)
{
	const char *end = s + n, *t;
	uint32_t m = 0, bit;

	*mask = 0;
	if (n == 0 || (n == 4 && memcmp(s, "none", 4) == 0))
		return 0;
	if (n == 1 && s[0] == '*') {
		*mask = PERM_ALL;
		return 0;
	}
	for (;;) {
		for (t = s; t < end && *t != ',' && *t != ';'; t++)
			;
		if (name_bit(s, (size_t)(t - s), &bit) < 0)
			return -EINVAL; /* also an empty name: ",," */
		m |= bit;
		if (t == end)
			break;
		s = t + 1;
	}
	*mask = m;
	return 0;
}

int
perm_parse_rule(const char *s, size_t n, struct perm_rule *r)
{
	const char *colon = NULL;
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == ':')
			colon = s + i;
	if (colon == NULL || !perm_path_valid(s, (size_t)(colon - s)))
		return -EINVAL;
	if (perm_parse_mask(colon + 1, n - (size_t)(colon - s) - 1, &r->mask) <
	    0)
		return -EINVAL;
	memcpy(r->path, s, (size_t)(colon - s));
	r->path[colon - s] = '\0';
	return 0;
}

int
perm_format_mask(uint32_t mask, char sep, char *out, size_t outsz)
{
	size_t i, o = 0, k;

	if (outsz < 2)
		return -ENOSPC;
	if (mask == PERM_ALL) {
		memcpy(out, "*", 2);
		return 0;
	}
	for (i = 0; i < NAMES; i++) {
		if (!(mask & (1u << i)))
			continue;
		k = strlen(names[i]);
		if (o + (o > 0) + k >= outsz)
			return -ENOSPC;
		if (o > 0)
			out[o++] = sep;
		memcpy(out + o, names[i], k);
		o += k;
	}
	if (o == 0) {
		if (outsz < 5)
			return -ENOSPC;
		memcpy(out, "none", 4);
		o = 4;
	}
	out[o] = '\0';
	return 0;
}

int
perm_set_put(struct perm_set *set, const struct perm_rule *r)
{
	size_t i, n = strnlen(r->path, sizeof(r->path));

	if (n > KF_PERM_PATH_MAX || !perm_path_valid(r->path, n) ||
	    (r->mask & ~PERM_ALL) != 0)
		return -EINVAL;
	for (i = 0; i < set->n; i++)
		if (strcmp(set->r[i].path, r->path) == 0) {
			set->r[i].mask = r->mask;
			return 0;
		}
	if (set->n >= KF_PERM_RULES_MAX)
		return -ENOSPC;
	set->r[set->n] = *r;
	set->n++;
	return 0;
}

int
perm_set_del(struct perm_set *set, const char *path)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (strcmp(set->r[i].path, path) == 0) {
			memmove(&set->r[i], &set->r[i + 1],
			    (set->n - i - 1) * sizeof(set->r[0]));
			set->n--;
			memset(&set->r[set->n], 0, sizeof(set->r[0]));
			return 0;
		}
	return -ENOENT;
}

int
perm_set_check(const struct perm_set *set)
{
	size_t i, n;

	if (set->n > KF_PERM_RULES_MAX)
		return -EINVAL;
	for (i = 0; i < set->n; i++) {
		n = strnlen(set->r[i].path, sizeof(set->r[i].path));
		if (n > KF_PERM_PATH_MAX ||
		    !perm_path_valid(set->r[i].path, n) ||
		    (set->r[i].mask & ~PERM_ALL) != 0)
			return -EINVAL;
	}
	return 0;
}

/* 1 when rule path p is vpath or a parent of it, component-wise. */
static int
covers(const char *p, const char *vpath)
{
	size_t n = strlen(p);

	if (n == 1) /* "/" */
		return 1;
	return strncmp(p, vpath, n) == 0 &&
	    (vpath[n] == '\0' || vpath[n] == '/');
}

uint32_t
perm_lookup(const struct perm_set *set, const char *vpath, uint32_t dflt)
{
	size_t i, n, best = 0; /* 0: no rule matched yet ("/" has 1) */
	uint32_t mask = dflt;

	for (i = 0; i < set->n && i < KF_PERM_RULES_MAX; i++) {
		n = strlen(set->r[i].path);
		if (n > best && covers(set->r[i].path, vpath)) {
			best = n;
			mask = set->r[i].mask;
		}
	}
	return mask;
}

int
perm_rules_within(const struct perm_set *set, const char *vpath)
{
	size_t i;

	for (i = 0; i < set->n && i < KF_PERM_RULES_MAX; i++)
		if (covers(vpath, set->r[i].path))
			return 1;
	return 0;
}

uint32_t
perm_any(const struct perm_set *set, uint32_t dflt)
{
	size_t i;

	for (i = 0; i < set->n && i < KF_PERM_RULES_MAX; i++)
		dflt |= set->r[i].mask;
	return dflt;
}

int
perm_set_dirs(struct perm_set *set, const char *list, size_t n, uint32_t mask)
{
	const char *end = list + n, *t;
	struct perm_rule r = { .mask = mask };
	int e;

	while (list < end) {
		while (list < end && *list == ' ')
			list++;
		for (t = list; t < end && *t != ','; t++)
			;
		if (!perm_path_valid(list, (size_t)(t - list)))
			return -EINVAL;
		memcpy(r.path, list, (size_t)(t - list));
		r.path[t - list] = '\0';
		if ((e = perm_set_put(set, &r)) < 0)
			return e;
		list = t < end ? t + 1 : t;
		if (t < end && list == end)
			return -EINVAL; /* a trailing comma */
	}
	return 0;
}
