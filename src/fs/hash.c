/*
 * hash.c - HASH and XCRC/XMD5/XSHA*: a table of algorithms and the
 * digest of a byte range of an open file, read with pread in bounded
 * chunks. OpenSSL objects are fetched once, by hash_init, before the
 * sandbox; nothing here opens a file or loads a provider afterwards.
 * Runs in: pre-login and post-login spawners (hash_init, at their
 * start), pre-login and post-login workers.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "hash.h"
#include "hash_rec.h"

struct hash_algo {
	const char *name; /* as FEAT and OPTS HASH spell it */
	const char *verb; /* the X... command for it */
	const char *evp; /* OpenSSL name; NULL for CRC32 (zlib) */
	size_t len; /* digest bytes */
	unsigned id; /* in a stored record (hash_rec.h) */
	EVP_MD *md; /* fetched by hash_init */
};

/* FEAT order. */
static struct hash_algo algos[] = {
	{ "SHA-1", "XSHA1", "SHA1", 20, HASH_ID_SHA1, NULL },
	{ "SHA-256", "XSHA256", "SHA2-256", 32, HASH_ID_SHA256, NULL },
	{ "SHA-512", "XSHA512", "SHA2-512", 64, HASH_ID_SHA512, NULL },
	{ "MD5", "XMD5", "MD5", 16, HASH_ID_MD5, NULL },
	{ "CRC32", "XCRC", NULL, 4, HASH_ID_CRC32, NULL },
};

#define NALGOS	     (sizeof(algos) / sizeof(algos[0]))
#define DEFAULT_ALGO (&algos[1])

/* A running digest: an EVP context, or a CRC32 value. */
struct digest {
	const struct hash_algo *algo;
	EVP_MD_CTX *ctx;
	uLong crc;
};

static int
usable(const struct hash_algo *a)
{
	return a->evp == NULL || a->md != NULL;
}

/* An OpenSSL call failed: leave no stale error for the TLS code. */
static int
ssl_fail(void)
{
	ERR_clear_error();
	return -EIO;
}

static int
fetch(struct hash_algo *a)
{
	a->md = EVP_MD_fetch(NULL, a->evp, NULL);
	if (a->md != NULL && (size_t)EVP_MD_get_size(a->md) == a->len)
		return 0;
	EVP_MD_free(a->md);
	a->md = NULL;
	return ssl_fail();
}

int
hash_init(void)
{
	size_t i;
	int r = 0;

	for (i = 0; i < NALGOS; i++)
		if (!usable(&algos[i]) && fetch(&algos[i]) < 0)
			r = -EIO;
	return r;
}

void
hash_fini(void)
{
	size_t i;

	for (i = 0; i < NALGOS; i++) {
		EVP_MD_free(algos[i].md);
		algos[i].md = NULL;
	}
}

static const struct hash_algo *
find(const char *s, int by_verb)
{
	const char *key;
	size_t i;

	if (s == NULL)
		return NULL;
	for (i = 0; i < NALGOS; i++) {
		key = by_verb ? algos[i].verb : algos[i].name;
		if (strcasecmp(s, key) == 0)
			return usable(&algos[i]) ? &algos[i] : NULL;
	}
	return NULL;
}

const struct hash_algo *
hash_lookup(const char *name)
{
	return find(name, 0);
}

const struct hash_algo *
hash_alias(const char *verb)
{
	return find(verb, 1);
}

/* SHA-256; should it be missing, the first usable one (CRC32 at worst). */
const struct hash_algo *
hash_default(void)
{
	size_t i;

	if (usable(DEFAULT_ALGO))
		return DEFAULT_ALGO;
	for (i = 0; !usable(&algos[i]); i++)
		continue;
	return &algos[i];
}

const char *
hash_name(const struct hash_algo *a)
{
	return a->name;
}

size_t
hash_hex_len(const struct hash_algo *a)
{
	return 2 * a->len;
}

unsigned
hash_id(const struct hash_algo *a)
{
	return a->id;
}

/* "HASH SHA-1;SHA-256*;SHA-512;MD5;CRC32": 0, or -ERANGE if too long. */
int
hash_feat_line(const struct hash_algo *sel, char *out, size_t outsz)
{
	const char *sep = "HASH ";
	size_t i, len = 0;
	int n;

	for (i = 0; i < NALGOS; i++) {
		if (!usable(&algos[i]))
			continue;
		n = snprintf(out + len, outsz - len, "%s%s%s", sep,
		    algos[i].name, &algos[i] == sel ? "*" : "");
		if (n < 0 || (size_t)n >= outsz - len)
			return -ERANGE;
		len += (size_t)n;
		sep = ";";
	}
	return 0;
}

static int
digest_begin(struct digest *d, const struct hash_algo *a)
{
	d->algo = a;
	d->ctx = NULL;
	d->crc = crc32(0L, Z_NULL, 0);
	if (a->evp == NULL)
		return 0;
	if ((d->ctx = EVP_MD_CTX_new()) == NULL ||
	    !EVP_DigestInit_ex2(d->ctx, a->md, NULL))
		return ssl_fail();
	return 0;
}

/* Any n: zlib's uInt takes it in HASH_CHUNK pieces. */
static int
digest_update(struct digest *d, const unsigned char *p, size_t n)
{
	size_t k;

	if (d->algo->evp == NULL) {
		for (; n > 0; p += k, n -= k) {
			k = n < HASH_CHUNK ? n : HASH_CHUNK;
			d->crc = crc32(d->crc, p, (uInt)k);
		}
		return 0;
	}
	if (!EVP_DigestUpdate(d->ctx, p, n))
		return ssl_fail();
	return 0;
}

/* md: EVP_MAX_MD_SIZE bytes; CRC32 comes out big-endian. */
static int
digest_final(struct digest *d, unsigned char *md)
{
	unsigned int n;

	if (d->algo->evp == NULL) {
		md[0] = (unsigned char)(d->crc >> 24);
		md[1] = (unsigned char)(d->crc >> 16);
		md[2] = (unsigned char)(d->crc >> 8);
		md[3] = (unsigned char)d->crc;
		return 0;
	}
	if (!EVP_DigestFinal_ex(d->ctx, md, &n) || n != d->algo->len)
		return ssl_fail();
	return 0;
}

static void
digest_free(struct digest *d)
{
	EVP_MD_CTX_free(d->ctx);
	d->ctx = NULL;
}

void
hash_to_hex(const unsigned char *p, size_t n, char *out)
{
	static const char xd[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = xd[p[i] >> 4];
		out[2 * i + 1] = xd[p[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

/* Feeds [pos, end) of fd to d, one pread of at most bufsz at a time. */
static int
feed(struct digest *d, int fd, uint64_t pos, uint64_t end,
    const struct hash_stop *stop, unsigned char *buf, size_t bufsz)
{
	uint64_t start = pos;
	ssize_t n;
	size_t want;
	int r;

	while (pos < end) {
		if (stop != NULL && stop->check(stop->arg, pos - start) != 0)
			return -EINTR;
		want = end - pos < bufsz ? (size_t)(end - pos) : bufsz;
		n = pread(fd, buf, want, (off_t)pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENODATA;
		if ((r = digest_update(d, buf, (size_t)n)) < 0)
			return r;
		pos += (uint64_t)n;
	}
	return 0;
}

static int
check_args(const struct hash_algo *a, uint64_t start, uint64_t end,
    uint64_t max_bytes, size_t hexcap)
{
	if (a == NULL || !usable(a) || hexcap < 2 * a->len + 1)
		return -EINVAL;
	if (start > end || end > (uint64_t)INT64_MAX)
		return -EINVAL;
	if (end - start > max_bytes)
		return -EFBIG;
	return 0;
}

/*
 * Digest of bytes [start, end) of fd, in lowercase hex. 0, or -EINVAL
 * (arguments), -EFBIG (range over max_bytes), -EINTR (stop's check
 * said to stop), -ENODATA (end of file before end), -ENOMEM, -EIO
 * (OpenSSL), or the -errno of pread. stop may be NULL.
 */
int
hash_fd(const struct hash_algo *a, int fd, uint64_t start, uint64_t end,
    uint64_t max_bytes, const struct hash_stop *stop, char *hex, size_t hexcap)
{
	unsigned char md[EVP_MAX_MD_SIZE], *buf = NULL;
	struct digest d;
	size_t bufsz;
	int r;

	if (hex == NULL)
		return -EINVAL;
	if (hexcap > 0)
		hex[0] = '\0';
	if ((r = check_args(a, start, end, max_bytes, hexcap)) < 0)
		return r;
	bufsz = end - start < HASH_CHUNK ? (size_t)(end - start) : HASH_CHUNK;
	if (bufsz > 0 && (buf = malloc(bufsz)) == NULL)
		return -ENOMEM;
	if ((r = digest_begin(&d, a)) == 0 &&
	    (r = feed(&d, fd, start, end, stop, buf, bufsz)) == 0 &&
	    (r = digest_final(&d, md)) == 0)
		hash_to_hex(md, a->len, hex);
	digest_free(&d);
	free(buf);
	return r;
}

/* ---------------------------------------------- digests of an upload */

struct hash_multi {
	size_t n;
	struct digest d[HASH_REC_ALGOS];
};

/* The usable algorithm with record id id, or NULL. */
static const struct hash_algo *
by_id(unsigned id)
{
	size_t i;

	for (i = 0; i < NALGOS; i++)
		if (algos[i].id == id)
			return usable(&algos[i]) ? &algos[i] : NULL;
	return NULL;
}

struct hash_multi *
hash_multi_new(unsigned mask)
{
	const struct hash_algo *a;
	struct hash_multi *m;
	unsigned id;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	for (id = 1; id <= HASH_REC_ALGOS; id++) {
		if ((mask & (1U << id)) == 0 || (a = by_id(id)) == NULL)
			continue;
		if (digest_begin(&m->d[m->n++], a) < 0) {
			hash_multi_free(m);
			return NULL;
		}
	}
	if (m->n > 0)
		return m;
	hash_multi_free(m);
	return NULL;
}

int
hash_multi_update(struct hash_multi *m, const void *p, size_t n)
{
	size_t i;
	int r;

	for (i = 0; i < m->n; i++)
		if ((r = digest_update(&m->d[i], p, n)) < 0)
			return r;
	return 0;
}

int
hash_multi_final(struct hash_multi *m, struct hash_rec *rec)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	const struct hash_algo *a;
	size_t i;
	int r;

	rec->mask = 0;
	for (i = 0; i < m->n; i++) {
		a = m->d[i].algo;
		if ((r = digest_final(&m->d[i], md)) < 0)
			return r;
		memcpy(rec->digest[a->id], md, a->len);
		rec->mask |= 1U << a->id;
	}
	return 0;
}

void
hash_multi_free(struct hash_multi *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++)
		digest_free(&m->d[i]);
	free(m);
}
