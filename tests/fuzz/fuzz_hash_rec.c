/*
 * fuzz_hash_rec.c - the digest record stored with an upload
 * (src/fs/hash_rec.c), which anyone who may write the file can set
 * (user.keepftpd.hash) and the post-login worker parses. The input is
 * a record: a rejected one leaves nothing set; an accepted one has
 * only known ids, a nanosecond field < 10^9, and encodes back to
 * exactly the input bytes (one layout per record: nothing ignored).
 * The input is also parsed as a hash_store_algos value.
 * Runs in: fuzz target only.
 */
#include <string.h>

#include "fs/hash_rec.h"
#include "fuzz.h"

static void
record(const uint8_t *p, size_t n)
{
	unsigned char out[HASH_REC_MAX];
	struct hash_rec r;
	int len;

	if (hash_rec_parse(p, n, &r) < 0) {
		FUZZ_CHECK(r.mask == 0 && r.size == 0 && r.mtime_sec == 0);
		return;
	}
	FUZZ_CHECK(r.mask != 0 && (r.mask & ~0x3eU) == 0);
	FUZZ_CHECK(r.mtime_nsec < 1000000000U);
	len = hash_rec_encode(&r, out, sizeof(out));
	FUZZ_CHECK(len > 0 && (size_t)len == n && memcmp(out, p, n) == 0);
}

static void
algos(const uint8_t *p, size_t n)
{
	char s[128];
	unsigned mask;

	if (n >= sizeof(s))
		n = sizeof(s) - 1;
	memcpy(s, p, n);
	s[n] = '\0';
	if (hash_names_algos_parse(s, &mask) == 0)
		FUZZ_CHECK(mask != 0 && (mask & ~0x3eU) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	record(p, n);
	algos(p, n);
	return 0;
}
