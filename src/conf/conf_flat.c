/*
 * conf_flat.c - the checks the listener makes on a struct conf that
 * comes back from the parser child, before it uses any of it: the
 * struct is plain data, so each field is checked against its type and
 * its option's range in the table (conf.h), never against the parser's
 * word. Pure.
 * Runs in: listener (conf_child_load).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "conf_child.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

static int
in_range(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v >= lo && v <= hi;
}

/* A string ends (NUL) inside its array. */
static int
ended(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static int
listen_ok(const struct conf_listen *l)
{
	if (l->implicit != 0 && l->implicit != 1)
		return 0;
	if (l->proxy != 0 && l->proxy != 1)
		return 0;
	if (l->addr.ss_family == AF_INET)
		return l->len == sizeof(struct sockaddr_in);
	if (l->addr.ss_family == AF_INET6)
		return l->len == sizeof(struct sockaddr_in6);
	return 0;
}

static int
listens_ok(const struct conf_listen *l, size_t count, size_t max)
{
	size_t i;

	if (count < 1 || count > max)
		return 0;
	for (i = 0; i < count; i++)
		if (!listen_ok(&l[i]))
			return 0;
	return 1;
}

static int
vhosts_ok(const struct conf_vhost *v, size_t count, size_t max)
{
	size_t i;

	if (count > max)
		return 0;
	for (i = 0; i < count; i++)
		if (!ended(v[i].name, sizeof(v[i].name)) ||
		    !ended(v[i].anon_root, sizeof(v[i].anon_root)) ||
		    !ended(v[i].banner_text, sizeof(v[i].banner_text)))
			return 0;
	return 1;
}

/* Names, paths ended; absolute paths; writable 0 or 1. */
static int
folders_ok(const struct conf_folder *f, size_t count, size_t max)
{
	size_t i;

	if (count > max)
		return 0;
	for (i = 0; i < count; i++)
		if (!ended(f[i].name, sizeof(f[i].name)) ||
		    !ended(f[i].source, sizeof(f[i].source)) ||
		    !ended(f[i].mount, sizeof(f[i].mount)) ||
		    f[i].source[0] != '/' || f[i].mount[0] != '/' ||
		    (f[i].writable & ~1) != 0)
			return 0;
	return 1;
}

static const uint8_t no_addr[4];

/*
 * Empty with no address; or a name, and when the name is an IPv4
 * address, that address (a host name's cannot be checked here).
 */
static int
pasvaddr_ok(const char *name, size_t size, const uint8_t ip[4])
{
	uint8_t lit[4];

	if (!ended(name, size))
		return 0;
	if (name[0] == '\0')
		return memcmp(ip, no_addr, 4) == 0;
	if (inet_pton(AF_INET, name, lit) == 1)
		return memcmp(ip, lit, 4) == 0;
	return 1;
}

/* Networks of 0..32 bits with no host bit set. */
static int
pasvmap_ok(const struct conf_pasv_map *m, size_t count, size_t max)
{
	size_t i;
	unsigned b;

	if (count > max)
		return 0;
	for (i = 0; i < count; i++) {
		if (m[i].bits > 32)
			return 0;
		for (b = m[i].bits; b < 32; b++)
			if (m[i].net[b / 8] & (0x80u >> (b % 8)))
				return 0;
	}
	return 1;
}

#define FLAT_BOOL(c, n, lo, hi)	    in_range((uint64_t)(c)->n, 0, 1)
#define FLAT_AUTO(c, n, lo, hi)	    in_range((uint64_t)(c)->n, 0, 1)
#define FLAT_UINT(c, n, lo, hi)	    in_range((c)->n, (lo), (hi))
#define FLAT_MODE(c, n, lo, hi)	    in_range((c)->n, (lo), (hi))
#define FLAT_STR(c, n, lo, hi)	    ended((c)->n, sizeof((c)->n))
#define FLAT_PATH(c, n, lo, hi)	    ended((c)->n, sizeof((c)->n))
#define FLAT_PATTERNS(c, n, lo, hi) ended((c)->n, sizeof((c)->n))
#define FLAT_TEXTFILE(c, n, lo, hi) \
	(ended((c)->n, sizeof((c)->n)) && \
	    ended((c)->n##_text, sizeof((c)->n##_text)))
#define FLAT_LISTEN(c, n, lo, hi) \
	listens_ok((c)->n, (c)->n##_count, NITEMS((c)->n))
#define FLAT_VHOST(c, n, lo, hi) \
	vhosts_ok((c)->n, (c)->n##_count, NITEMS((c)->n))
#define FLAT_PASVADDR(c, n, lo, hi) \
	pasvaddr_ok((c)->n, sizeof((c)->n), (c)->n##_ip)
#define FLAT_PASVMAP(c, n, lo, hi) \
	pasvmap_ok((c)->n, (c)->n##_count, NITEMS((c)->n))
#define FLAT_FOLDER(c, n, lo, hi) \
	folders_ok((c)->n, (c)->n##_count, NITEMS((c)->n))
#define FLAT_CHECK(t, n, d, lo, hi, doc) \
	if (!FLAT_##t(c, n, lo, hi)) { \
		*what = #n; \
		return -1; \
	}

int
conf_check_flat(const struct conf *c, const char **what)
{
	CONF_OPTIONS(FLAT_CHECK)
	if (c->pasv_min_port > c->pasv_max_port) {
		*what = "pasv_min_port";
		return -1;
	}
	return 0;
}

int
conf_check_result(const struct conf_result *r, const char **what)
{
	const struct conf_errors *e = &r->errs;
	size_t i;

	*what = "ok";
	if (r->ok != 0 && r->ok != 1)
		return -1;
	*what = "errors";
	for (i = 0; i < NITEMS(e->msg); i++)
		if (!ended(e->msg[i], sizeof(e->msg[i])))
			return -1;
	if (r->ok == 0)
		return e->count > 0 ? 0 : -1;
	return conf_check_flat(&r->conf, what);
}
