/*
 * password.c - password hashing (argon2id, libsodium) and verification
 * of argon2id and legacy crypt(3) hashes (sha512-crypt, bcrypt), in
 * constant time; the dummy verification that makes an unknown user cost
 * what a wrong password costs.
 * Runs in: monitor (verification), keepftpd user command (hashing).
 */
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

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

static int
verify_crypt(const char *hash, const char *pass)
{
	struct crypt_data *cd;
	const char *out;
	size_t n = strlen(hash);
	int r = -1;

	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return -1;
	out = crypt_r(pass, hash, cd);
	if (out != NULL && out[0] != '*' && strlen(out) == n &&
	    sodium_memcmp(out, hash, n) == 0)
		r = 0;
	sodium_memzero(cd, sizeof(*cd));
	free(cd);
	return r;
}

int
password_verify(const char *hash, const char *pass)
{
	if (sodium_init() < 0)
		return -1;
	if (strncmp(hash, "$argon2id$", 10) == 0)
		return crypto_pwhash_str_verify(hash, pass, strlen(pass)) == 0 ?
		    0 :
		    -1;
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
	if (crypto_pwhash_str_verify(dummy, pass, strlen(pass)) == 0)
		return -1; /* cannot happen: the "hash" is random */
	return -1;
}
