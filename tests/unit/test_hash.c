/* test_hash.c - HASH digests of file ranges, limits, names and FEAT. */
#include "cm.h"
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/hash.h"

#define MILLION 1000000
#define MIB	(1024 * 1024)
#define PRE	300000 /* 'b' bytes before the million 'a' */
#define POST	5000 /* 'c' bytes after */

enum { SHA1, SHA256, SHA512, MD5, CRC };

static const char *names[] = { "SHA-1", "SHA-256", "SHA-512", "MD5", "CRC32" };

/* Published vectors (FIPS 180, RFC 1321), CRC32 as zlib and gzip give. */
static const char *abc[] = {
	"a9993e364706816aba3e25717850c26c9cd0d89d",
	"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
	 "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
	"900150983cd24fb0d6963f7d28e17f72",
	"352441c2",
};

static const char *empty[] = {
	"da39a3ee5e6b4b0d3255bfef95601890afd80709",
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	("cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
	 "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"),
	"d41d8cd98f00b204e9800998ecf8427e",
	"00000000",
};

/* One million 'a'. */
static const char *million_a[] = {
	"34aa973cd4c4daa4f61eeb2bdbad27316534016f",
	"cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
	("e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
	 "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b"),
	"7707d6ae4e027c70eea2a935c2296f21",
	"dc25bfbc",
};

/* 1 MiB of 'a' (coreutils sha*sum, md5sum; gzip's trailer). */
static const char *mib_a[] = {
	"454027d64e3b855735552d42230eea1cbd645fa0",
	"9bc1b2a288b26af7257a36277ae3816a7d4f16e89c1e7e77d0a5c48bad62b360",
	("f083039442f4a8cee2985641fa49cada4ca54d9bf3de03f9ef9f1f726dbb655d"
	 "2a844aa1014e54fd239a5b3f37ae46d64744fee51ab2d7f5fe9b209e90b5ad52"),
	"7202826a7791073fe2787f0c94603278",
	"d7cd5672",
};

/* An unlinked temporary file holding p. */
static int
tmpfile_with(const void *p, size_t n)
{
	char name[] = "/tmp/kf-hash-XXXXXX";
	int fd;

	fd = mkstemp(name);
	assert_true(fd >= 0);
	assert_int_equal(unlink(name), 0);
	if (n > 0)
		assert_int_equal(write(fd, p, n), (ssize_t)n);
	return fd;
}

static int
tmpfile_of(int c, size_t n, size_t pre, size_t post)
{
	char *p;
	int fd;

	p = malloc(pre + n + post);
	assert_non_null(p);
	memset(p, 'b', pre);
	memset(p + pre, c, n);
	memset(p + pre + n, 'c', post);
	fd = tmpfile_with(p, pre + n + post);
	free(p);
	return fd;
}

static const struct hash_algo *
algo(int i)
{
	const struct hash_algo *a = hash_lookup(names[i]);

	assert_non_null(a);
	return a;
}

/* Every algorithm over [start, end) of fd gives want[]. */
static void
check_all(int fd, uint64_t start, uint64_t end, const char **want)
{
	char hex[HASH_HEX_MAX];
	int i;

	for (i = SHA1; i <= CRC; i++) {
		assert_int_equal(hash_fd(algo(i), fd, start, end, UINT64_MAX,
				     NULL, hex, sizeof(hex)),
		    0);
		assert_string_equal(hex, want[i]);
		assert_int_equal(strlen(hex), hash_hex_len(algo(i)));
	}
}

static void
test_abc_and_empty(void **state)
{
	int fd;

	fd = tmpfile_with("abc", 3);
	check_all(fd, 0, 3, abc);
	check_all(fd, 0, 0, empty);
	check_all(fd, 3, 3, empty);
	close(fd);
	fd = tmpfile_with("", 0);
	check_all(fd, 0, 0, empty);
	close(fd);
}

static void
test_crc32_check_value(void **state)
{
	char hex[HASH_HEX_MAX];
	int fd;

	fd = tmpfile_with("123456789", 9);
	assert_int_equal(hash_fd(algo(CRC), fd, 0, 9, 9, NULL, hex,
			     sizeof(hex)),
	    0);
	assert_string_equal(hex, "cbf43926");
	close(fd);
}

/* Several reads of HASH_CHUNK. */
static void
test_one_mib(void **state)
{
	int fd;

	fd = tmpfile_of('a', MIB, 0, 0);
	check_all(fd, 0, MIB, mib_a);
	close(fd);
}

/* A range in the middle, off chunk boundaries; and "abc" inside text. */
static void
test_middle_range(void **state)
{
	int fd;

	fd = tmpfile_of('a', MILLION, PRE, POST);
	check_all(fd, PRE, PRE + MILLION, million_a);
	close(fd);
	fd = tmpfile_with("xxabcyy", 7);
	check_all(fd, 2, 5, abc);
	close(fd);
}

static void
test_limits(void **state)
{
	char hex[HASH_HEX_MAX];
	int fd;

	fd = tmpfile_of('a', 1000, 0, 0);
	assert_int_equal(hash_fd(algo(SHA256), fd, 0, 1000, 999, NULL, hex,
			     sizeof(hex)),
	    -EFBIG);
	assert_string_equal(hex, "");
	assert_int_equal(hash_fd(algo(SHA256), fd, 1, 1000, 999, NULL, hex,
			     sizeof(hex)),
	    0);
	assert_int_equal(hash_fd(algo(SHA256), fd, 0, 0, 0, NULL, hex,
			     sizeof(hex)),
	    0);
	assert_string_equal(hex, empty[SHA256]);
	/* end of file before end */
	assert_int_equal(hash_fd(algo(MD5), fd, 0, 1001, UINT64_MAX, NULL, hex,
			     sizeof(hex)),
	    -ENODATA);
	assert_int_equal(hash_fd(algo(MD5), fd, 5000, 6000, UINT64_MAX, NULL,
			     hex, sizeof(hex)),
	    -ENODATA);
	close(fd);
}

static void
test_bad_args(void **state)
{
	char hex[HASH_HEX_MAX];
	int fd;

	fd = tmpfile_with("abc", 3);
	assert_int_equal(hash_fd(NULL, fd, 0, 3, 3, NULL, hex, sizeof(hex)),
	    -EINVAL);
	assert_int_equal(hash_fd(algo(SHA1), fd, 2, 1, 3, NULL, hex,
			     sizeof(hex)),
	    -EINVAL);
	assert_int_equal(hash_fd(algo(SHA1), fd, 0, UINT64_MAX, UINT64_MAX,
			     NULL, hex, sizeof(hex)),
	    -EINVAL);
	/* room for the hex and its NUL, not one byte less */
	assert_int_equal(hash_fd(algo(SHA1), fd, 0, 3, 3, NULL, hex, 40),
	    -EINVAL);
	assert_int_equal(hash_fd(algo(SHA1), fd, 0, 3, 3, NULL, hex, 41), 0);
	assert_string_equal(hex, abc[SHA1]);
	assert_int_equal(hash_fd(algo(CRC), fd, 0, 3, 3, NULL, hex, 9), 0);
	close(fd);
	assert_int_equal(hash_fd(algo(SHA1), fd, 0, 3, 3, NULL, hex,
			     sizeof(hex)),
	    -EBADF);
	assert_int_equal(hash_fd(algo(CRC), -1, 0, 3, 3, NULL, hex,
			     sizeof(hex)),
	    -EBADF);
}

/* Stops once at least *arg bytes were digested; counts its calls. */
struct stop_after {
	uint64_t at;
	uint64_t last;
	int calls;
};

static int
stop_after(void *arg, uint64_t done)
{
	struct stop_after *s = arg;

	s->calls++;
	s->last = done;
	return done >= s->at;
}

static void
test_stop(void **state)
{
	struct stop_after sa = { .at = 0 };
	struct hash_stop stop = { stop_after, &sa };
	char hex[HASH_HEX_MAX];
	int fd, i;

	fd = tmpfile_of('a', MIB, 0, 0);
	for (i = SHA1; i <= CRC; i++)
		assert_int_equal(hash_fd(algo(i), fd, 0, MIB, UINT64_MAX, &stop,
				     hex, sizeof(hex)),
		    -EINTR);
	/* asked before every chunk, with the bytes done: stops mid-file */
	sa = (struct stop_after){ .at = 2 * HASH_CHUNK };
	assert_int_equal(hash_fd(algo(SHA256), fd, 0, MIB, UINT64_MAX, &stop,
			     hex, sizeof(hex)),
	    -EINTR);
	assert_int_equal(sa.calls, 3);
	assert_int_equal(sa.last, 2 * HASH_CHUNK);
	sa = (struct stop_after){ .at = UINT64_MAX };
	assert_int_equal(hash_fd(algo(SHA256), fd, 0, MIB, UINT64_MAX, &stop,
			     hex, sizeof(hex)),
	    0);
	assert_int_equal(sa.calls, MIB / HASH_CHUNK);
	assert_string_equal(hex, mib_a[SHA256]);
	close(fd);
}

static void
test_lookup(void **state)
{
	static const char *bad[] = { "", "SHA256", "SHA-2566", "SHA-25",
		"SHA-224", "CRC", "MD5 ", " MD5", "XMD5", "SHA-1;" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_string_equal(hash_name(algo((int)i)), names[i]);
	assert_ptr_equal(hash_lookup("sha-256"), algo(SHA256));
	assert_ptr_equal(hash_lookup("Sha-512"), algo(SHA512));
	assert_ptr_equal(hash_lookup("md5"), algo(MD5));
	assert_ptr_equal(hash_lookup("crc32"), algo(CRC));
	assert_ptr_equal(hash_lookup("sHa-1"), algo(SHA1));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(hash_lookup(bad[i]));
	assert_null(hash_lookup(NULL));
	assert_ptr_equal(hash_default(), algo(SHA256));
	assert_int_equal(hash_hex_len(algo(SHA512)) + 1, HASH_HEX_MAX);
}

static void
test_alias(void **state)
{
	assert_ptr_equal(hash_alias("XCRC"), algo(CRC));
	assert_ptr_equal(hash_alias("XMD5"), algo(MD5));
	assert_ptr_equal(hash_alias("XSHA1"), algo(SHA1));
	assert_ptr_equal(hash_alias("XSHA256"), algo(SHA256));
	assert_ptr_equal(hash_alias("XSHA512"), algo(SHA512));
	assert_ptr_equal(hash_alias("xsha256"), algo(SHA256));
	assert_null(hash_alias("XSHA"));
	assert_null(hash_alias("HASH"));
	assert_null(hash_alias("SHA-256"));
	assert_null(hash_alias(""));
	assert_null(hash_alias(NULL));
}

static void
test_feat(void **state)
{
	char out[64];

	assert_int_equal(hash_feat_line(hash_default(), out, sizeof(out)), 0);
	assert_string_equal(out, "HASH SHA-1;SHA-256*;SHA-512;MD5;CRC32");
	assert_int_equal(hash_feat_line(algo(CRC), out, sizeof(out)), 0);
	assert_string_equal(out, "HASH SHA-1;SHA-256;SHA-512;MD5;CRC32*");
	assert_int_equal(hash_feat_line(algo(SHA1), out, sizeof(out)), 0);
	assert_string_equal(out, "HASH SHA-1*;SHA-256;SHA-512;MD5;CRC32");
	assert_int_equal(hash_feat_line(NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "HASH SHA-1;SHA-256;SHA-512;MD5;CRC32");
	/* the line and its NUL fit exactly; one byte less does not */
	assert_int_equal(hash_feat_line(algo(MD5), out, 38), 0);
	assert_string_equal(out, "HASH SHA-1;SHA-256;SHA-512;MD5*;CRC32");
	assert_int_equal(hash_feat_line(algo(MD5), out, 37), -ERANGE);
	assert_int_equal(hash_feat_line(algo(MD5), out, 3), -ERANGE);
	assert_int_equal(hash_feat_line(algo(MD5), out, 0), -ERANGE);
}

/* A second hash_init keeps the same objects; fini then init again. */
static void
test_init_again(void **state)
{
	const struct hash_algo *a = algo(SHA512);
	int fd;

	assert_int_equal(hash_init(), 0);
	assert_ptr_equal(algo(SHA512), a);
	hash_fini();
	assert_null(hash_lookup("SHA-512"));
	assert_null(hash_alias("XMD5"));
	assert_ptr_equal(hash_lookup("CRC32"), algo(CRC)); /* zlib */
	assert_int_equal(hash_init(), 0);
	fd = tmpfile_with("abc", 3);
	check_all(fd, 0, 3, abc);
	close(fd);
}

static int
setup(void **state)
{
	return hash_init();
}

static int
teardown(void **state)
{
	hash_fini();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_abc_and_empty),
		cmocka_unit_test(test_crc32_check_value),
		cmocka_unit_test(test_one_mib),
		cmocka_unit_test(test_middle_range),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_alias),
		cmocka_unit_test(test_feat),
		cmocka_unit_test(test_init_again),
	};

	return cmocka_run_group_tests(t, setup, teardown);
}
