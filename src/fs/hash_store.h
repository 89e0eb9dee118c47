/*
 * hash_store.h - digests stored with uploaded files (hash_store =
 * xattr): computed while an upload's bytes go into the file (an xfer
 * tap), written with the file's size and mtime into the
 * user.keepftpd.hash extended attribute (hash_rec.h) before the file
 * is closed or named, and read back by HASH and XSHA256 etc., which
 * trust a record only when it parses and the file's size and mtime
 * are still the ones it holds.
 *
 * Only a whole file written from offset 0 by one upload (STOR, STOU)
 * gets a record. APPE and REST+STOR edit a file in place; a digest
 * cannot be continued from a stored one, so they remove the record
 * (hash_store_drop) before their first byte and after their last.
 * Runs in: post-login worker.
 */
#ifndef KF_HASH_STORE_H
#define KF_HASH_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct hash_multi;

struct hash_store {
	struct hash_multi *m; /* NULL: nothing to store */
	uint64_t bytes; /* digested so far */
	int failed; /* a digest update failed: store nothing */
};

/* mask: HASH_ID_* bits to keep (0: none, hash_store = off). */
void hash_store_begin(struct hash_store *, unsigned mask);
/* struct xfer_tap's fn; arg is the struct hash_store. */
void hash_store_tap(void *arg, const char *p, size_t n);
/*
 * After the upload's last byte: the record onto fd (open for writing),
 * when every byte of the file went through the tap. 0, or a negative
 * errno (-EOPNOTSUPP: the file system keeps no user xattrs).
 */
int hash_store_commit(struct hash_store *, int fd);
void hash_store_end(struct hash_store *);
/* The record of fd removed, if there is one. */
void hash_store_drop(int fd);
/*
 * The stored digest of algorithm id for fd, whose fstat is sb, into md
 * (HASH_REC_DIGEST_MAX bytes): its length, or 0 (no record, malformed,
 * another size or mtime, no such digest).
 */
size_t hash_store_lookup(int fd, const struct stat *sb, unsigned id,
    unsigned char *md);

#endif
