/*
 * hash_rec.c - the digest record of an uploaded file (hash_rec.h):
 * encoding, and a strict bounded parse.
 * Runs in: post-login worker; unit tests.
 */
#include <errno.h>
#include <string.h>

#include "hash_rec.h"

static const unsigned char magic[4] = { 'K', 'F', 'H', 1 };

static void
put_be(unsigned char *p, uint64_t v, unsigned bytes)
{
	while (bytes-- > 0) {
		p[bytes] = (unsigned char)v;
		v >>= 8;
	}
}

static uint64_t
get_be(const unsigned char *p, unsigned bytes)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

static size_t
rec_len(unsigned mask, unsigned *count)
{
	size_t len = HASH_REC_HEAD;
	unsigned id;

	*count = 0;
	for (id = 1; id <= HASH_REC_ALGOS; id++)
		if (mask & (1U << id)) {
			len += 1 + hash_names_digest_len(id);
			(*count)++;
		}
	return len;
}

int
hash_rec_encode(const struct hash_rec *r, unsigned char *out, size_t outsz)
{
	unsigned count, id;
	size_t len, at;

	if (r->mask == 0 || (r->mask & ~0x3eU) != 0 ||
	    r->mtime_nsec >= 1000000000U)
		return -EINVAL;
	if ((len = rec_len(r->mask, &count)) > outsz)
		return -ENOSPC;
	memcpy(out, magic, sizeof(magic));
	put_be(out + 4, r->size, 8);
	put_be(out + 12, r->mtime_sec, 8);
	put_be(out + 20, r->mtime_nsec, 4);
	out[24] = (unsigned char)count;
	at = HASH_REC_HEAD;
	for (id = 1; id <= HASH_REC_ALGOS; id++)
		if (r->mask & (1U << id)) {
			out[at++] = (unsigned char)id;
			memcpy(out + at, r->digest[id],
			    hash_names_digest_len(id));
			at += hash_names_digest_len(id);
		}
	return (int)len;
}

/* The entries after the head: ids ascending, each digest whole. */
static int
parse_entries(const unsigned char *p, size_t n, unsigned count,
    struct hash_rec *r)
{
	unsigned id, last = 0;
	size_t at = 0, len;

	while (count-- > 0) {
		if (at >= n)
			return -EINVAL;
		id = p[at++];
		if ((len = hash_names_digest_len(id)) == 0 || id <= last ||
		    len > n - at)
			return -EINVAL;
		memcpy(r->digest[id], p + at, len);
		r->mask |= 1U << id;
		at += len;
		last = id;
	}
	return at == n ? 0 : -EINVAL;
}

int
hash_rec_parse(const unsigned char *p, size_t n, struct hash_rec *r)
{
	unsigned count;

	memset(r, 0, sizeof(*r));
	if (n < HASH_REC_HEAD || n > HASH_REC_MAX ||
	    memcmp(p, magic, sizeof(magic)) != 0)
		return -EINVAL;
	r->size = get_be(p + 4, 8);
	r->mtime_sec = get_be(p + 12, 8);
	r->mtime_nsec = (uint32_t)get_be(p + 20, 4);
	count = p[24];
	if (r->mtime_nsec >= 1000000000U || count == 0 ||
	    count > HASH_REC_ALGOS ||
	    parse_entries(p + HASH_REC_HEAD, n - HASH_REC_HEAD, count, r) < 0) {
		memset(r, 0, sizeof(*r));
		return -EINVAL;
	}
	return 0;
}
