/*
 * quota.h - per-user quotas (quota_bytes=, quota_files= in the users
 * file). A user's usage lives in one small file, quota_dir/NAME, as one
 * fixed-length record rewritten in place under an fcntl OFD write lock;
 * every session of the user holds it open, so the sessions and the
 * `keepftpd quota` command see one count and two sessions cannot both
 * pass the quota. APPE and REST+STOR charge each block before writing
 * it; a STOR is checked as it grows and charged when it gets its name
 * (quota_check, quota_commit); deletes, overwrites and renames over a
 * file credit what they free. Temporary upload files (upload.h) are
 * never counted.
 * Counted: regular files (apparent size, a hard-linked file once) and
 * directories (as files for quota_files, no bytes; the root itself is
 * not counted), not symlinks or other kinds.
 * Runs in: post-login worker (accounting; quota_open just before the
 * sandbox), keepftpd quota command (walk, recompute); unit tests.
 */
#ifndef KF_QUOTA_H
#define KF_QUOTA_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct quota_usage {
	uint64_t bytes;
	uint64_t files;
};

/* The record: "keepftpd-usage 1 bytes=%020llu files=%020llu\n". */
#define QUOTA_RECORD_LEN 71

/* ---- pure ---- */

/* Writes the record (QUOTA_RECORD_LEN bytes, then a NUL) into out. */
void quota_format(const struct quota_usage *, char *out, size_t outsz);
/* 0 and *u from exactly one record, or -EINVAL. */
int quota_parse(const char *p, size_t n, struct quota_usage *u);
/*
 * 1 when u plus bytes and files stays within max_bytes and max_files
 * (0: no limit); files_slack more files are allowed for an upload that
 * replaces a file (its temporary file exists until the rename).
 */
int quota_fits(const struct quota_usage *u, uint64_t max_bytes,
    uint64_t max_files, uint64_t bytes, uint64_t files, uint64_t files_slack);
/* Takes bytes and files off u, never below 0. */
void quota_sub(struct quota_usage *u, uint64_t bytes, uint64_t files);

/*
 * The usage of the tree under dirfd, never following a symlink
 * (openat O_NOFOLLOW, fstatat AT_SYMLINK_NOFOLLOW), a directory met
 * again below itself (same dev/ino: a bind mount) not entered twice,
 * a directory on another mount than dirfd's (a shared folder's bind
 * mount, as root; any file system mounted in the tree) not entered,
 * hard links counted once. -ELOOP deeper than max_depth, -E2BIG past
 * max_entries entries, -errno on a read error: no partial count.
 */
int quota_walk(int dirfd, unsigned max_depth, size_t max_entries,
    struct quota_usage *out);

/* ---- the usage file ---- */

/*
 * quota_dir/name (a users-file name: no '/', no leading '.'), opened
 * read-write and created (0600) when missing; never through a symlink.
 * Refused (-EPERM) unless quota_dir is writable by its owner only and
 * the file is a regular file with one link and the same owner (root
 * creating it gives it to the directory's owner, the server's account).
 * The fd, or -errno.
 */
int quota_open(const char *dir, const char *name);
/* Under the lock: read (1: a valid record, 0: none yet), write. */
int quota_lock(int fd);
void quota_unlock(int fd);
int quota_read(int fd, struct quota_usage *);
int quota_write(int fd, const struct quota_usage *);

/* ---- a session's accounting ---- */

struct quota {
	int fd; /* the usage file; -1: no quota */
	uint64_t max_bytes; /* 0: no limit */
	uint64_t max_files;
	int broken; /* usage unknown: uploads refused */
};

/*
 * At login: the usage from the file, or, when it holds no record yet,
 * from a walk of the session's root (under the lock). 0, or -errno
 * (q->broken is then set).
 */
int quota_start(struct quota *, int rootfd);
/* Adds bytes and files when they fit: 0, -EDQUOT, or -EIO (broken). */
int quota_charge(struct quota *, uint64_t bytes, uint64_t files,
    uint64_t files_slack);
/* Gives bytes and files back (a failed upload, a truncation). */
void quota_credit(struct quota *, uint64_t bytes, uint64_t files);
/*
 * renameat(fromdir, from, todir, to) under the lock, crediting the
 * regular file it replaces. The renameat result (errno kept).
 */
int quota_rename(struct quota *, int fromdir, const char *from, int todir,
    const char *to);
/*
 * unlinkat(dirfd, name, flags) under the lock, crediting a regular file
 * or (AT_REMOVEDIR) a directory.
 */
int quota_unlink(struct quota *, int dirfd, const char *name, int flags);
/*
 * mkdirat(dirfd, name, mode) under the lock, charging one file: -1 with
 * errno EDQUOT past quota_files, EIO when the usage is unknown, else
 * mkdirat's result and errno.
 */
int quota_mkdir(struct quota *, int dirfd, const char *name, mode_t mode);

/*
 * A STOR's new file is charged only when it gets its name, so that a
 * worker that dies mid-upload leaves no charge behind (its temporary
 * file is unnamed, or swept and never counted; upload.h):
 * quota_check: while the file grows, under the lock, whether bytes and
 *   files would fit once freed (the file it will replace) is gone;
 *   nothing is written. 0, -EDQUOT or -EIO.
 * quota_commit: under the lock: what replacing todir/to frees is taken
 *   off, bytes and one file must fit, place(arg) names the file (0, or
 *   -1 with errno), and the usage is written. 0, -EDQUOT, -EIO or the
 *   -errno of place; nothing is charged unless place succeeded.
 * Uploads that run at once are each checked against the committed
 * usage: all may grow to the limit, the first to commit wins and the
 * others fail with 552 at their end.
 */
int quota_check(struct quota *, uint64_t bytes, uint64_t files,
    const struct quota_usage *freed);
int quota_commit(struct quota *, uint64_t bytes, int todir, const char *to,
    int (*place)(void *), void *arg);

#endif
