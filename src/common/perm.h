/*
 * perm.h - per-directory permissions (docs/PERMISSIONS.md): rules
 * "PATH:PERMS" of a user, the longest matching path prefix wins. Pure:
 * no system calls, no logging.
 * Runs in: monitor and `keepftpd user` (the users file), spawners (the
 * handoff check), post-login worker (every command's check).
 */
#ifndef KF_PERM_H
#define KF_PERM_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"

#define PERM_LIST      0x001u
#define PERM_DOWNLOAD  0x002u
#define PERM_UPLOAD    0x004u
#define PERM_OVERWRITE 0x008u
#define PERM_DELETE    0x010u
#define PERM_RENAME    0x020u
#define PERM_MKDIR     0x040u
#define PERM_RMDIR     0x080u
#define PERM_CHMOD     0x100u
#define PERM_MTIME     0x200u
#define PERM_ALL       0x3ffu
/* what a read-only user may do without rules; read-write: PERM_ALL */
#define PERM_READ      (PERM_LIST | PERM_DOWNLOAD)
/* the rights that change the file system */
#define PERM_WRITES    (PERM_ALL & ~PERM_READ)

struct perm_rule {
	uint32_t mask; /* PERM_* */
	char path[KF_PERM_PATH_MAX + 1]; /* clean, absolute, in the root */
};

struct perm_set {
	uint32_t n;
	struct perm_rule r[KF_PERM_RULES_MAX];
};

/*
 * A rule path: absolute and clean (no "//", "." or ".." component, no
 * trailing '/' but "/" itself), at most KF_PERM_PATH_MAX bytes, no
 * control byte, ',' or ':' (the users file's separators). 1 or 0.
 */
int perm_path_valid(const char *p, size_t n);
/*
 * PERMS: names from list, download, upload, overwrite, delete, rename,
 * mkdir, rmdir, chmod, mtime, separated by ',' or ';', or "*" (all),
 * or "none" or nothing (no right). 0, or -EINVAL.
 */
int perm_parse_mask(const char *s, size_t n, uint32_t *mask);
/* "PATH:PERMS" (the last ':' separates them). 0, or -EINVAL. */
int perm_parse_rule(const char *s, size_t n, struct perm_rule *r);
/*
 * The names of mask, sep between them ("none" for 0, "*" for all).
 * 0 or -ENOSPC.
 */
int perm_format_mask(uint32_t mask, char sep, char *out, size_t outsz);
/*
 * r added; a rule for the same path is replaced. 0, -ENOSPC when the
 * set holds KF_PERM_RULES_MAX rules, -EINVAL for an invalid rule.
 */
int perm_set_put(struct perm_set *, const struct perm_rule *r);
/* The rule for path removed: 0, or -ENOENT. */
int perm_set_del(struct perm_set *, const char *path);
/* Every field in range (a handoff from another process). 0 or -EINVAL. */
int perm_set_check(const struct perm_set *);
/*
 * The rights at vpath (clean, absolute): the rule with the longest path
 * that is vpath or one of its parents, component-wise ("/pub" is not a
 * parent of "/public"); dflt when no rule matches.
 */
uint32_t perm_lookup(const struct perm_set *, const char *vpath, uint32_t dflt);
/* 1 when a rule's path is vpath or lies below it, else 0. */
int perm_rules_within(const struct perm_set *, const char *vpath);
/* The rights any rule of the set grants, or'ed with dflt. */
uint32_t perm_any(const struct perm_set *, uint32_t dflt);
/*
 * "/a, /b" (anon_upload_dirs): a rule PATH:mask for each, into set.
 * 0, -EINVAL (a bad path, an empty item), -ENOSPC (too many).
 */
int perm_set_dirs(struct perm_set *, const char *list, size_t n, uint32_t mask);
/* One permission's name ("upload"), for messages; "?" for others. */
const char *perm_name(uint32_t bit);

#endif
