/*
 * test_hash_rec.c - the digest record stored with an upload: names,
 * hash_store_algos, encode, and a parse that rejects every malformed
 * record whole; the digests of a stream (hash_multi) against hash_fd.
 */
#include "cm.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/hash.h"
#include "fs/hash_rec.h"

#define BIT(id) (1U << (id))

static void
sample(struct hash_rec *r, unsigned mask)
{
	unsigned id;

	memset(r, 0, sizeof(*r));
	r->size = 0x0102030405060708ULL;
	r->mtime_sec = 1764900000;
	r->mtime_nsec = 999999999;
	r->mask = mask;
	for (id = 1; id <= HASH_REC_ALGOS; id++)
		if (mask & BIT(id))
			memset(r->digest[id], (int)(0x10 * id),
			    hash_names_digest_len(id));
}

static void
test_names(void **state)
{
	(void)state;
	assert_int_equal(hash_names_id("sha256", 6), HASH_ID_SHA256);
	assert_int_equal(hash_names_id("SHA-256", 7), HASH_ID_SHA256);
	assert_int_equal(hash_names_id("Sha-1", 5), HASH_ID_SHA1);
	assert_int_equal(hash_names_id("md5", 3), HASH_ID_MD5);
	assert_int_equal(hash_names_id("CRC32", 5), HASH_ID_CRC32);
	assert_int_equal(hash_names_id("sha512", 6), HASH_ID_SHA512);
	assert_int_equal(hash_names_id("sha2", 4), 0);
	assert_int_equal(hash_names_id("sha2567", 7), 0);
	assert_int_equal(hash_names_id("sha256", 5), 0);
	assert_int_equal(hash_names_id("", 0), 0);
	assert_int_equal(hash_names_id("-", 1), 0);
	assert_int_equal(hash_names_digest_len(0), 0);
	assert_int_equal(hash_names_digest_len(6), 0);
	assert_int_equal(hash_names_digest_len(HASH_ID_SHA512), 64);
}

static void
test_algos_parse(void **state)
{
	unsigned m;

	(void)state;
	assert_int_equal(hash_names_algos_parse("sha256", &m), 0);
	assert_int_equal(m, BIT(HASH_ID_SHA256));
	assert_int_equal(hash_names_algos_parse(" sha256 , SHA-1,md5 ", &m), 0);
	assert_int_equal(m,
	    BIT(HASH_ID_SHA256) | BIT(HASH_ID_SHA1) | BIT(HASH_ID_MD5));
	assert_int_equal(hash_names_algos_parse("sha1,sha256,sha512,md5,crc32",
			     &m),
	    0);
	assert_int_equal(m, 0x3eU);
	assert_int_equal(hash_names_algos_parse("", &m), -EINVAL);
	assert_int_equal(hash_names_algos_parse("sha256,", &m), -EINVAL);
	assert_int_equal(hash_names_algos_parse(",sha256", &m), -EINVAL);
	assert_int_equal(hash_names_algos_parse("sha256,,md5", &m), -EINVAL);
	assert_int_equal(hash_names_algos_parse("sha256,sha-256", &m), -EINVAL);
	assert_int_equal(hash_names_algos_parse("sha256 md5", &m), -EINVAL);
	assert_int_equal(hash_names_algos_parse("sha3", &m), -EINVAL);
}

static void
test_round_trip(void **state)
{
	unsigned char out[HASH_REC_MAX];
	struct hash_rec r, back;
	unsigned mask;
	int n;

	(void)state;
	for (mask = 2; mask <= 0x3eU; mask += 2) {
		sample(&r, mask);
		n = hash_rec_encode(&r, out, sizeof(out));
		assert_true(n >= HASH_REC_HEAD + 5 && n <= HASH_REC_MAX);
		assert_int_equal(hash_rec_parse(out, (size_t)n, &back), 0);
		assert_memory_equal(&r, &back, sizeof(r));
	}
	/* every algorithm: exactly the largest record */
	sample(&r, 0x3eU);
	assert_int_equal(hash_rec_encode(&r, out, sizeof(out)), HASH_REC_MAX);
}

static void
test_layout(void **state)
{
	static const unsigned char want[] = {
		'K',
		'F',
		'H',
		1,
		1,
		2,
		3,
		4,
		5,
		6,
		7,
		8, /* size */
		0,
		0,
		0,
		0,
		0x69,
		0x32,
		0x3c,
		0xa0, /* 1764900000 */
		0x3b,
		0x9a,
		0xc9,
		0xff, /* 999999999 */
		1, /* count */
		HASH_ID_CRC32,
		0x50,
		0x50,
		0x50,
		0x50,
	};
	unsigned char out[HASH_REC_MAX];
	struct hash_rec r;

	(void)state;
	sample(&r, BIT(HASH_ID_CRC32));
	assert_int_equal(hash_rec_encode(&r, out, sizeof(out)), sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
}

static void
test_encode_refuses(void **state)
{
	unsigned char out[HASH_REC_MAX];
	struct hash_rec r;

	(void)state;
	sample(&r, 0);
	assert_int_equal(hash_rec_encode(&r, out, sizeof(out)), -EINVAL);
	sample(&r, BIT(6) | BIT(HASH_ID_SHA256));
	assert_int_equal(hash_rec_encode(&r, out, sizeof(out)), -EINVAL);
	sample(&r, 1U);
	assert_int_equal(hash_rec_encode(&r, out, sizeof(out)), -EINVAL);
	sample(&r, BIT(HASH_ID_SHA256));
	r.mtime_nsec = 1000000000U;
	assert_int_equal(hash_rec_encode(&r, out, sizeof(out)), -EINVAL);
	sample(&r, BIT(HASH_ID_SHA256));
	assert_int_equal(hash_rec_encode(&r, out, HASH_REC_HEAD + 32), -ENOSPC);
	assert_int_equal(hash_rec_encode(&r, out, HASH_REC_HEAD + 33),
	    HASH_REC_HEAD + 33);
}

/* A good SHA-256 + MD5 record, then one change at a time. */
static size_t
good(unsigned char *out)
{
	struct hash_rec r;

	sample(&r, BIT(HASH_ID_SHA256) | BIT(HASH_ID_MD5));
	return (size_t)hash_rec_encode(&r, out, HASH_REC_MAX + 16);
}

static void
rejected(const unsigned char *p, size_t n)
{
	struct hash_rec r;

	memset(&r, 0xaa, sizeof(r));
	assert_int_equal(hash_rec_parse(p, n, &r), -EINVAL);
	/* nothing half-filled is left behind */
	assert_int_equal(r.mask, 0);
	assert_int_equal(r.size, 0);
}

static void
test_parse_rejects(void **state)
{
	unsigned char b[HASH_REC_MAX + 16];
	size_t n, i;

	(void)state;
	n = good(b); /* 25 + 33 + 17 */
	assert_int_equal(n, 75);
	for (i = 0; i < n; i++)
		rejected(b, i); /* every truncation */
	b[n] = 0;
	rejected(b, n + 1); /* a trailing byte */
	n = good(b), b[3] = 2, rejected(b, n); /* version */
	n = good(b), b[0] = 'k', rejected(b, n); /* magic */
	n = good(b), b[24] = 0, rejected(b, n); /* count 0 */
	n = good(b), b[24] = 1, rejected(b, n); /* count short */
	n = good(b), b[24] = 3, rejected(b, n); /* count long */
	n = good(b), b[24] = 6, rejected(b, n); /* count over the ids */
	n = good(b), b[25] = 9, rejected(b, n); /* unknown id */
	n = good(b), b[25] = 0, rejected(b, n); /* id 0 */
	n = good(b), b[58] = HASH_ID_SHA256, rejected(b, n); /* repeat */
	n = good(b), b[25] = HASH_ID_SHA512, rejected(b, n); /* wrong length */
	/* descending ids: MD5 first, then SHA-256 */
	n = good(b);
	memmove(b + 25 + 17, b + 25, 33);
	b[25] = HASH_ID_MD5;
	memset(b + 26, 0x40, 16);
	rejected(b, n);
	/* nsec 1e9 */
	n = good(b);
	b[20] = 0x3b, b[21] = 0x9a, b[22] = 0xca, b[23] = 0x00;
	rejected(b, n);
	/* over the bound, even if well-formed so far */
	memset(b, 0, sizeof(b));
	rejected(b, HASH_REC_MAX + 1);
}

static void
test_parse_accepts_edges(void **state)
{
	unsigned char b[HASH_REC_MAX + 16];
	struct hash_rec r;
	size_t n;

	(void)state;
	n = good(b);
	memset(b + 4, 0xff, 16); /* size and seconds at their maximum */
	assert_int_equal(hash_rec_parse(b, n, &r), 0);
	assert_true(r.size == UINT64_MAX && r.mtime_sec == UINT64_MAX);
	assert_int_equal(r.mtime_nsec, 999999999);
	assert_int_equal(r.mask, BIT(HASH_ID_SHA256) | BIT(HASH_ID_MD5));
}

/* hash_multi over a stream equals hash_fd over the same bytes. */
static void
test_multi_matches_hash_fd(void **state)
{
	static const char *names[] = { "SHA-1", "SHA-256", "SHA-512", "MD5",
		"CRC32" };
	char path[] = "/tmp/kf-hashrec-XXXXXX", hex[HASH_HEX_MAX],
	     mhex[HASH_HEX_MAX];
	const struct hash_algo *a;
	struct hash_multi *m;
	struct hash_rec r;
	unsigned char *buf;
	size_t len = 3 * HASH_CHUNK + 12345, at, k, i;
	int fd;

	(void)state;
	buf = malloc(len);
	assert_non_null(buf);
	for (at = 0; at < len; at++)
		buf[at] = (unsigned char)(at * 7 + at / 251);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	m = hash_multi_new(0x3eU | 1U | BIT(7));
	assert_non_null(m);
	/* uneven pieces, one larger than HASH_CHUNK (CRC32's uInt) */
	for (at = 0, k = 1; at < len; at += k, k = k * 3 + 1)
		hash_multi_update(m, buf + at, len - at < k ? len - at : k);
	memset(&r, 0, sizeof(r));
	assert_int_equal(hash_multi_final(m, &r), 0);
	hash_multi_free(m);
	assert_int_equal(r.mask, 0x3eU);
	for (i = 0; i < 5; i++) {
		a = hash_lookup(names[i]);
		assert_int_equal(hash_fd(a, fd, 0, len, len, NULL, hex,
				     sizeof(hex)),
		    0);
		hash_to_hex(r.digest[hash_id(a)], hash_hex_len(a) / 2, mhex);
		assert_string_equal(hex, mhex);
	}
	assert_null(hash_multi_new(0));
	assert_null(hash_multi_new(1U));
	close(fd);
	free(buf);
}

static int
setup(void **state)
{
	(void)state;
	return hash_init();
}

static int
teardown(void **state)
{
	(void)state;
	hash_fini();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_algos_parse),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_parse_accepts_edges),
		cmocka_unit_test(test_multi_matches_hash_fd),
	};

	return cmocka_run_group_tests(t, setup, teardown);
}
