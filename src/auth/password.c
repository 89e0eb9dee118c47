/*
 * password.c - password hashing (argon2id, libsodium) and verification
 * of argon2id and legacy crypt(3) hashes (sha512-crypt, bcrypt), in
 * constant time; the dummy verification that makes an unknown user cost
 * what a wrong password costs. The hash compared is only ever in the
 * caller's buffer and on the stack: crypt_r() works in a crypt_data on
 * the stack, and an argon2id string is decoded here and recomputed with
 * crypto_pwhash() (libsodium's own string check copies the decoded hash
 * into heap memory it frees). A string that decoder does not take
 * (another salt length, p > 1) falls back to libsodium's check;
 * password_here() tells which.
 * Runs in: monitor (verification), keepftpd user command (hashing).
 */
#include <crypt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../common/sys.h"
#include "auth.h"
#include "users.h"

int
auth_hash_password(const char *pass, unsigned long opslimit,
    size_t memlimit_bytes, char *out, size_t outsz)
{
	if (outsz < crypto_pwhash_STRBYTES || sodium_init() < 0)
		return -1;
	if (crypto_pwhash_str(out, pass, strlen(pass), opslimit,
		memlimit_bytes) != 0)
		return -1;
	return 0;
}

/*
 * crypt_r's data on the stack. Only the fields before its scratch area
 * are zeroed, before and after (the library erases what it wrote to
 * the scratch area itself): the 30 KiB it does not use stay untouched
 * pages.
 */
static int
verify_crypt(const char *hash, const char *pass)
{
	struct crypt_data cd SYS_UNINIT;
	const char *out;
	size_t n = strlen(hash);
	int r = -1;

	memset(&cd, 0, offsetof(struct crypt_data, internal));
	out = crypt_r(pass, hash, &cd);
	if (out != NULL && out[0] != '*' && strlen(out) == n &&
	    sodium_memcmp(out, hash, n) == 0)
		r = 0;
	sodium_memzero(&cd, offsetof(struct crypt_data, internal));
	return r;
}

/* An argon2id string as crypto_pwhash() takes it. */
struct argon2id {
	unsigned long long ops;
	size_t mem; /* bytes */
	unsigned char salt[crypto_pwhash_SALTBYTES];
	unsigned char key[ARGON2ID_KEY_MAX];
	size_t keylen;
};

/* Decimal, no sign, no leading zero; the end in *end. 0 or -1. */
static int
decimal(const char *s, const char **end, unsigned long long max,
    unsigned long long *v)
{
	unsigned long long x = 0;
	const char *p = s;

	if (*p < '0' || *p > '9' || (*p == '0' && p[1] >= '0' && p[1] <= '9'))
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (x > (max - (unsigned long long)(*p - '0')) / 10)
			return -1;
		x = x * 10 + (unsigned long long)(*p - '0');
	}
	*v = x;
	*end = p;
	return 0;
}

/* One base64 field (no padding) up to stop; exactly [min, max] bytes. */
static int
b64_field(const char *s, char stop, unsigned char *out, size_t min, size_t max,
    size_t *len, const char **end)
{
	const char *e = strchr(s, stop);
	size_t n;

	if (e == NULL)
		return -1;
	if (sodium_base642bin(out, max, s, (size_t)(e - s), NULL, &n, NULL,
		sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0 ||
	    n < min || n > max)
		return -1;
	*len = n;
	*end = e;
	return 0;
}

/*
 * "$argon2id$v=19$m=KIB,t=OPS,p=1$SALT$KEY" with a 16-byte salt and
 * crypto_pwhash()'s bounds: 0, or -1 for anything else.
 */
static int
argon2id_decode(const char *h, struct argon2id *a)
{
	static const char head[] = "$argon2id$v=19$m=";
	unsigned long long m, t;
	const char *p;
	size_t n;

	if (strncmp(h, head, sizeof(head) - 1) != 0)
		return -1;
	p = h + sizeof(head) - 1;
	if (decimal(p, &p, crypto_pwhash_MEMLIMIT_MAX / 1024, &m) < 0 ||
	    strncmp(p, ",t=", 3) != 0 ||
	    decimal(p + 3, &p, crypto_pwhash_OPSLIMIT_MAX, &t) < 0 ||
	    strncmp(p, ",p=1$", 5) != 0)
		return -1;
	if (m * 1024 < crypto_pwhash_MEMLIMIT_MIN ||
	    t < crypto_pwhash_OPSLIMIT_MIN)
		return -1;
	if (b64_field(p + 5, '$', a->salt, sizeof(a->salt), sizeof(a->salt), &n,
		&p) < 0 ||
	    b64_field(p + 1, '\0', a->key, crypto_pwhash_BYTES_MIN,
		sizeof(a->key), &a->keylen, &p) < 0)
		return -1;
	a->ops = t;
	a->mem = (size_t)m * 1024;
	return 0;
}

/* 0: pass matches; -1: it does not, or a is not computable. */
static int
argon2id_check(const struct argon2id *a, const char *pass)
{
	unsigned char out[ARGON2ID_KEY_MAX];
	int r = -1;

	if (crypto_pwhash(out, a->keylen, pass, strlen(pass), a->salt, a->ops,
		a->mem, crypto_pwhash_ALG_ARGON2ID13) == 0 &&
	    sodium_memcmp(out, a->key, a->keylen) == 0)
		r = 0;
	sodium_memzero(out, sizeof(out));
	return r;
}

int
password_argon2id_check(const char *hash, const char *pass)
{
	struct argon2id a;
	int r;

	if (argon2id_decode(hash, &a) < 0)
		r = -2;
	else
		r = argon2id_check(&a, pass);
	sodium_memzero(&a, sizeof(a));
	return r;
}

int
password_here(const char *hash)
{
	struct argon2id a;
	int r;

	if (strncmp(hash, "$argon2id$", 10) != 0)
		return hash[0] == '$';
	r = argon2id_decode(hash, &a) == 0;
	sodium_memzero(&a, sizeof(a));
	return r;
}

int
password_verify(const char *hash, const char *pass)
{
	int r;

	if (sodium_init() < 0)
		return -1;
	if (strncmp(hash, "$argon2id$", 10) == 0) {
		if ((r = password_argon2id_check(hash, pass)) != -2)
			return r;
		return crypto_pwhash_str_verify(hash, pass, strlen(pass)) == 0 ?
		    0 :
		    -1;
	}
	if (hash[0] == '$')
		return verify_crypt(hash, pass);
	return -1;
}

int
password_needs_rehash(const struct conf *c, const char *hash)
{
	if (sodium_init() < 0 || strncmp(hash, "$argon2id$", 10) != 0)
		return 1;
	return crypto_pwhash_str_needs_rehash(hash, c->pwhash_opslimit,
		   (size_t)c->pwhash_memlimit_kib * 1024) != 0;
}

/*
 * A well-formed argon2id string with the configured cost, a random salt
 * and a random "hash": verifying it costs exactly one real verification,
 * and making it costs nothing (no timing difference on first use).
 */
static int
make_dummy(const struct conf *c, char *out, size_t outsz)
{
	unsigned char salt[crypto_pwhash_SALTBYTES], key[32];
	char s64[64], k64[64];
	int n;

	randombytes_buf(salt, sizeof(salt));
	randombytes_buf(key, sizeof(key));
	sodium_bin2base64(s64, sizeof(s64), salt, sizeof(salt),
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	sodium_bin2base64(k64, sizeof(k64), key, sizeof(key),
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	n = snprintf(out, outsz, "$argon2id$v=19$m=%lu,t=%lu,p=1$%s$%s",
	    c->pwhash_memlimit_kib, c->pwhash_opslimit, s64, k64);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

int
password_verify_dummy(const struct conf *c, const char *pass)
{
	static char dummy[crypto_pwhash_STRBYTES];
	static unsigned long ops, mem;

	if (sodium_init() < 0)
		return -1;
	if (dummy[0] == '\0' || ops != c->pwhash_opslimit ||
	    mem != c->pwhash_memlimit_kib) {
		if (make_dummy(c, dummy, sizeof(dummy)) < 0)
			return -1;
		ops = c->pwhash_opslimit;
		mem = c->pwhash_memlimit_kib;
	}
	(void)password_verify(dummy, pass); /* the "hash" is random */
	return -1;
}
