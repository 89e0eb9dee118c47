/*
 * list.h - LIST (ls -l style), NLST, MLSD and MLST output, built in one
 * buffered writer: no syscall per line, one fstatat per entry. Output
 * goes to a flush callback that is first called only when there is
 * something to send, so a caller that opens the data connection in it
 * can still answer 550 for a bad path.
 * Runs in: post-login worker.
 */
#ifndef KF_LIST_H
#define KF_LIST_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "../common/buf.h"
#include "idmap.h"

#define LIST_LONG	   0x01 /* ls -l lines (LIST); else names (NLST) */
#define LIST_ALL	   0x02 /* -a: dot files too */
#define LIST_RECURSE	   0x04 /* -R was asked (set by args_list_opts) */
#define LIST_ALLOW_RECURSE 0x08 /* caller: -R is permitted (config) */
#define LIST_MLSD	   0x10 /* RFC 3659 facts; the path must be a dir */
#define LIST_WRITABLE	   0x20 /* session may write: perm a,c,d,f,m,p,w */
#define LIST_DIRSELF	   0x40 /* -d: a directory itself, not its entries */

/* How list_format_facts() presents one entry. */
#define LIST_FACT_CDIR 0x01 /* type=cdir: the listed directory */
#define LIST_FACT_PDIR 0x02 /* type=pdir: its parent */
#define LIST_FACT_MLST 0x04 /* MLST on the control connection: " facts" */

/* The facts (RFC 3659 7.5), a bit each, for OPTS MLST. */
#define LIST_F_TYPE    0x01
#define LIST_F_SIZE    0x02
#define LIST_F_MODIFY  0x04
#define LIST_F_PERM    0x08
#define LIST_F_UNIQUE  0x10
#define LIST_F_MODE    0x20
#define LIST_F_OWNER   0x40
#define LIST_F_GROUP   0x80
#define LIST_FACTS_ALL 0xff
#define LIST_F_NONE    0x100 /* OPTS MLST with no facts */
#define LIST_FACTS_N   8

struct list_opts {
	unsigned flags; /* LIST_* */
	const struct idmap *ids; /* NULL: numeric owner/group */
	uid_t uid; /* session identity, for perm */
	gid_t gid;
	int (*hide)(void *, const char *name);
	void *hide_arg; /* e.g. glob_set_hide, &set */
	/*
	 * NULL, or < 0 when the directory or entry at real (resolved,
	 * fs_open_real) may not be listed: -EACCES for the path asked
	 * for, left out below it (-R, globs)
	 */
	int (*may)(void *, const char *real);
	void *may_arg;
	size_t max_entries; /* 0: KF_LIST_ENTRIES_MAX */
	time_t now; /* 0: the wall clock now */
	const char *label; /* -R top header; NULL: "." */
	unsigned facts; /* LIST_F_*; 0: all */
	int (*flush)(void *, const char *, size_t);
	void *flush_arg;
};

int list_format_long(struct buf *, const char *name, const struct stat *,
    const char *link, const struct idmap *, time_t now);
int list_format_facts(struct buf *, const char *name, const struct stat *,
    const struct list_opts *, unsigned how);
unsigned list_facts_parse(const char *arg);
int list_facts_text(unsigned mask, int stars, char *out, size_t outsz);
int list_path(int rootfd, const char *vpath, const struct list_opts *);
int list_glob(int rootfd, const char *cwd, const char *arg,
    const struct list_opts *);
int list_mlst(int rootfd, const char *vpath, const struct list_opts *,
    struct buf *out);

/*
 * list_format_long: one "ls -l" line, CRLF-terminated. Owner and group
 *   names from the idmap, numbers when unknown. The date is "Mon dd
 *   HH:MM" when now - 6 months < mtime <= now, else "Mon dd  YYYY"
 *   (UTC, as GNU ls). 0 or -ENOSPC.
 * list_format_facts: "type=..;size=..;modify=YYYYMMDDHHMMSS;perm=..;
 *   unique=<dev hex>U<ino hex>;UNIX.mode=0nnn;UNIX.owner=..;UNIX.group=..;
 *   name\r\n" (size only for regular files). type is file, dir,
 *   cdir/pdir (how), or OS.unix=symlink|fifo|socket|chr|blk for the
 *   entry itself (lstat: links are not followed). perm uses the mode
 *   bits for o->uid/o->gid (owner, else group, else other; no
 *   supplementary groups): files "adfrw", dirs "cdeflmp", links and
 *   others "df"; without LIST_WRITABLE only r, e, l are given.
 * list_path: lists vpath (a resolved virtual path): a directory's
 *   entries, or the one entry when it is not a directory. LIST_MLSD:
 *   a "type=cdir" line named "." first, then every entry (dot files
 *   included, MLSD has no -a); a non-directory is -ENOTDIR (answer
 *   501). LIST_RECURSE with LIST_ALLOW_RECURSE: like "ls -lR": a
 *   "label:" header, then for each subdirectory "\r\nlabel/sub:" and
 *   its entries, at most KF_LIST_DEPTH_MAX levels down; symlinks are
 *   never descended, each directory is opened with O_NOFOLLOW.
 *   LIST_RECURSE alone is ignored. LIST_DIRSELF (not with MLSD): the
 *   one line of vpath itself, a directory too ("." for the working
 *   directory and the root), like "ls -d". Names holding CR or LF are skipped
 *   (they would forge lines). A name the hide hook accepts is left out,
 *   and a vpath with a hidden component is -ENOENT.
 * list_glob: for LIST/NLST arguments: when arg has no wildcard, or
 *   names an existing path as typed, list_path(path_resolve(cwd, arg)).
 *   Otherwise glob_expand(cwd, arg) and one line per match, named as
 *   typed ("sub/a.txt"); a matched directory is one entry (like ls -d),
 *   not its contents, and -R does not apply. No match is -ENOENT.
 *   ".." in arg is resolved by the kernel inside the root, not
 *   lexically as path_resolve does (the two differ only via symlinks).
 * list_mlst: " facts vpath\r\n" for MLST into out (the caller wraps it
 *   in "250-" ... "250 End"). -ENOENT or another -errno.
 *
 * Errors of list_path/list_glob: -errno from opening the path (nothing
 * flushed), -E2BIG when a bound was hit (max_entries, depth, glob caps):
 * what was listed until then HAS been flushed, so the listing is
 * incomplete and the caller should answer 451 rather than 226 (a mirror
 * client must not take a cut listing as complete), -ENOMEM, or the
 * flush callback's own negative value.
 */

#endif
