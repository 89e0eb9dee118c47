/*
 * hash_rec.h - the digest record stored with an uploaded file (the
 * user.keepftpd.hash extended attribute, hash_store = xattr): which
 * algorithms, their digests, and the size and mtime the file had when
 * the digests were taken. Pure: no OpenSSL, no file system; encode to
 * and parse from bytes, bounded and strict (a malformed record is
 * rejected whole, never half-trusted).
 *
 * Layout, version 1, integers big-endian:
 *   "KFH" 0x01      magic and version (4 bytes)
 *   size            u64, the file's length in bytes
 *   mtime_sec       u64, seconds since the epoch (st_mtim.tv_sec >= 0)
 *   mtime_nsec      u32, < 1000000000
 *   count           u8, 1..HASH_REC_ALGOS
 *   count entries   u8 algorithm id (HASH_ID_*), then its digest,
 *                   whose length the id fixes; ids ascending, no repeat
 * and nothing after the last entry.
 *
 * Runs in: post-login worker; unit tests.
 */
#ifndef KF_HASH_REC_H
#define KF_HASH_REC_H

#include <stddef.h>
#include <stdint.h>

#include "../conf/hash_names.h"

#define HASH_REC_XATTR "user.keepftpd.hash"

#define HASH_REC_ALGOS	    HASH_NAMES_MAX
#define HASH_REC_DIGEST_MAX 64 /* SHA-512 */
#define HASH_REC_HEAD	    25 /* magic, size, mtime, count */
/* The largest record: every algorithm once. */
#define HASH_REC_MAX	    (HASH_REC_HEAD + HASH_REC_ALGOS + 20 + 32 + 64 + 16 + 4)

struct hash_rec {
	uint64_t size;
	uint64_t mtime_sec;
	uint32_t mtime_nsec;
	unsigned mask; /* bit (1 << id) for each digest held */
	unsigned char digest[HASH_REC_ALGOS + 1][HASH_REC_DIGEST_MAX];
};

/*
 * The record into out (outsz >= HASH_REC_MAX is always enough): its
 * length, or -EINVAL (no digest, an unknown id in mask, nsec out of
 * range) or -ENOSPC.
 */
int hash_rec_encode(const struct hash_rec *, unsigned char *out, size_t outsz);
/* n bytes of p into rec: 0, or -EINVAL for anything malformed. */
int hash_rec_parse(const unsigned char *p, size_t n, struct hash_rec *rec);

#endif
