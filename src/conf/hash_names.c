/*
 * hash_names.c - the digest algorithms a stored record knows, by id
 * and name, and hash_store_algos parsed into a set of ids.
 * Runs in: the configuration parser child (hash_store_algos), post-login
 * worker; unit tests.
 */
#include <errno.h>
#include <stddef.h>

#include "hash_names.h"

struct algo_name {
	const char *name; /* without dashes, lowercase */
	size_t len;
};

/* Indexed by id; 0 is no algorithm. */
static const struct algo_name ids[HASH_NAMES_MAX + 1] = {
	{ "", 0 },
	{ "sha1", 20 },
	{ "sha256", 32 },
	{ "sha512", 64 },
	{ "md5", 16 },
	{ "crc32", 4 },
};

size_t
hash_names_digest_len(unsigned id)
{
	return id >= 1 && id <= HASH_NAMES_MAX ? ids[id].len : 0;
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* s[0..n), dashes skipped and case folded, equals name. */
static int
same_name(const char *s, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '-')
			continue;
		if (*name == '\0' || lower((unsigned char)s[i]) != *name)
			return 0;
		name++;
	}
	return *name == '\0';
}

unsigned
hash_names_id(const char *s, size_t n)
{
	unsigned id;

	for (id = 1; id <= HASH_NAMES_MAX; id++)
		if (n > 0 && same_name(s, n, ids[id].name))
			return id;
	return 0;
}

static int
blank(char c)
{
	return c == ' ' || c == '\t';
}

int
hash_names_algos_parse(const char *s, unsigned *mask)
{
	const char *p = s, *e;
	unsigned id;

	*mask = 0;
	for (;;) {
		while (blank(*p))
			p++;
		for (e = p; *e != '\0' && *e != ',' && !blank(*e); e++)
			continue;
		id = hash_names_id(p, (size_t)(e - p));
		if (id == 0 || (*mask & (1U << id)) != 0)
			return -EINVAL;
		*mask |= 1U << id;
		while (blank(*e))
			e++;
		if (*e == '\0')
			return 0;
		if (*e != ',')
			return -EINVAL;
		p = e + 1;
	}
}
