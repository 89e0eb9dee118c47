/*
 * glob.h - shell-style wildcards with bounded work: "*", "?", "[...]"
 * (ranges, "!" or "^" negation, "]" first is literal) and backslash
 * escapes. No braces, no "**", no [:classes:]. A "[" without its "]"
 * is an ordinary byte.
 * Runs in: post-login worker (glob_match also wherever the config's
 * name patterns are checked).
 */
#ifndef KF_GLOB_H
#define KF_GLOB_H

#include <stddef.h>
#include <sys/stat.h>

/* One result of glob_expand(), valid during the found() call only. */
struct glob_hit {
	const char *path; /* as typed, wildcards filled in */
	int dirfd; /* with name: the entry, for *at() */
	const char *name; /* "": dirfd is the entry (O_PATH) */
	const struct stat *st; /* lstat() of the entry */
};

struct glob_stats {
	size_t matches; /* names matched, at every level */
	size_t scanned; /* directory entries read */
	size_t steps; /* matcher steps spent */
};

struct glob_opts {
	int (*found)(void *, const struct glob_hit *); /* < 0 stops */
	void *found_arg;
	int (*hide)(void *, const char *name); /* NULL, or 1: skip */
	void *hide_arg;
	/*
	 * NULL, or < 0: the directory or entry at real (the resolved path,
	 * fs_open_real) may not be listed; it is left out
	 */
	int (*may)(void *, const char *real);
	void *may_arg;
	size_t max_matches; /* 0: KF_GLOB_MATCHES_MAX */
	size_t max_scan; /* 0: KF_GLOB_SCAN_MAX */
	size_t max_steps; /* 0: KF_GLOB_STEPS_MAX */
	struct glob_stats *stats; /* NULL, or filled in on return */
};

/* A list of name patterns, e.g. from the config; usable as a hide hook. */
struct glob_set {
	const char *const *pat;
	size_t n;
};

int glob_check(const char *pat);
int glob_has_magic(const char *pat);
int glob_match(const char *pat, const char *name, size_t *budget);
int glob_set_match(const struct glob_set *, const char *name);
int glob_set_hide(void *set, const char *name);
int glob_expand(int rootfd, const char *base, const char *pattern,
    const struct glob_opts *);

/*
 * glob_check: 0, -ENAMETOOLONG (over KF_PATH_MAX) or -EINVAL (more
 *   than KF_GLOB_WILD_MAX wildcards). Use it on config patterns.
 * glob_has_magic: 1 when pat holds an unescaped wildcard.
 * glob_match: 1 match, 0 no match, -E2BIG when *budget steps ran out
 *   (budget is decremented; NULL means a fresh KF_GLOB_STEPS_MAX), or a
 *   glob_check() error. The whole name is matched; "/" and a leading
 *   "." are ordinary bytes here. Work is O(len(pat) * len(name)).
 * glob_set_match: 1 when any pattern matches; fails closed (a bad
 *   pattern or an exhausted budget counts as a match).
 * glob_set_hide: glob_set_match with a void * set, for hide hooks.
 * glob_expand: expands pattern (relative to the virtual directory
 *   base, or absolute) one component at a time through fs_open(), which
 *   keeps every lookup in the root. Components without a wildcard are
 *   taken verbatim ("." and ".." included, resolved by fs_open, never
 *   matched); a wildcard component only matches
 *   directories unless it is the last, skips "." and "..", and matches
 *   a leading "." only when it starts with "."; hidden names (hide) are
 *   skipped, literal components included. Matches of one directory come
 *   in strcmp order. Returns the number of found() calls, or -EINVAL /
 *   -ENAMETOOLONG (pattern), -E2BIG (matches, scan or step bound hit;
 *   hits before it were delivered), or found()'s own negative value.
 */

#endif
