/*
 * hash.h - file digests for HASH (draft-ietf-ftpext2-hash-03) and the
 * XCRC/XMD5/XSHA* verbs: SHA-1, SHA-256, SHA-512, MD5 through OpenSSL 3
 * EVP, CRC32 through zlib.
 *
 * hash_init fetches every EVP_MD once and must run before chroot and
 * seccomp (OpenSSL reads its config and loads providers on the first
 * fetch); afterwards only the cached objects are used. An algorithm
 * whose fetch failed (MD5 under a FIPS-only config, say) is hidden:
 * hash_lookup and hash_alias give NULL for it and FEAT leaves it out.
 * Names compare case-insensitively.
 *
 * Runs in: listener (hash_init, before any fork), post-login worker.
 */
#ifndef KF_HASH_H
#define KF_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_HEX_MAX (128 + 1) /* SHA-512 in hex, NUL included */
#define HASH_CHUNK   (256 * 1024) /* one pread while hashing */

struct hash_algo;

int hash_init(void);
void hash_fini(void);

const struct hash_algo *hash_lookup(const char *name);
const struct hash_algo *hash_alias(const char *verb);
const struct hash_algo *hash_default(void);
const char *hash_name(const struct hash_algo *);
size_t hash_hex_len(const struct hash_algo *);

int hash_feat_line(const struct hash_algo *selected, char *out, size_t outsz);
/*
 * Asked before each chunk with the bytes digested so far: non-zero ends
 * the digest with -EINTR (ABOR, a time limit, SIGTERM: the caller's).
 */
struct hash_stop {
	int (*check)(void *arg, uint64_t done);
	void *arg;
};

/*
 * Digests of an upload as its bytes go by, for the algorithms in mask
 * (bits 1 << HASH_ID_*, hash_rec.h; an unusable one is left out).
 * new: NULL when none is usable or memory ran out. final fills rec's
 * digests and mask (not its size or mtime), once.
 */
struct hash_rec;
struct hash_multi;
struct hash_multi *hash_multi_new(unsigned mask);
int hash_multi_update(struct hash_multi *, const void *p, size_t n);
int hash_multi_final(struct hash_multi *, struct hash_rec *rec);
void hash_multi_free(struct hash_multi *);

/* Record id (HASH_ID_*) of an algorithm. */
unsigned hash_id(const struct hash_algo *);
/* n bytes as lowercase hex into out (2n + 1 bytes). */
void hash_to_hex(const unsigned char *p, size_t n, char *out);

int hash_fd(const struct hash_algo *, int fd, uint64_t start, uint64_t end,
    uint64_t max_bytes, const struct hash_stop *stop, char *hex, size_t hexcap);

#endif
