/*
 * hash_names.h - the digest algorithms of a stored digest record
 * (fs/hash_rec.h) by id, and the hash_store_algos option's names for
 * them. Pure.
 * Runs in: the configuration parser child (hash_store_algos), post-login
 * worker; unit tests.
 */
#ifndef KF_HASH_NAMES_H
#define KF_HASH_NAMES_H

#include <stddef.h>

/* Algorithm ids, as the record stores them (never renumbered). */
enum hash_id {
	HASH_ID_SHA1 = 1,
	HASH_ID_SHA256 = 2,
	HASH_ID_SHA512 = 3,
	HASH_ID_MD5 = 4,
	HASH_ID_CRC32 = 5,
};

#define HASH_NAMES_MAX 5 /* ids 1..5 */

/* Digest length of id in bytes; 0 for an unknown id. */
size_t hash_names_digest_len(unsigned id);
/*
 * The id of an algorithm name: its FEAT name (SHA-256) or the same
 * without dashes (sha256), case-insensitively, n bytes of s. 0: none.
 */
unsigned hash_names_id(const char *s, size_t n);
/*
 * "sha256,sha1,md5" (commas, blanks around names ignored) into a mask
 * of (1 << id). 0, or -EINVAL (an unknown or empty name, a repeat, or
 * nothing at all).
 */
int hash_names_algos_parse(const char *s, unsigned *mask);

#endif
