/*
 * bantab.c - bounded, keyed-hash, recency-evicted table of client
 * addresses (see bantab.h). Entries live in one array; a bucket array
 * of chains finds them, two doubly linked recency lists (without a ban,
 * with a ban) order them, and a free list holds the unused ones.
 * Runs in: listener.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "../common/limits.h"
#include "../net/addr.h"
#include "bantab.h"

#define NIL UINT32_MAX

enum { L_PLAIN = 0, L_BANNED = 1 };

struct ent {
	struct bantab_addr key;
	uint8_t used;
	uint8_t banned; /* which recency list */
	uint32_t hnext; /* bucket chain */
	uint32_t prev, next; /* recency list, or free list */
	int64_t rate_start;
	uint32_t rate_n;
	uint32_t fail_n;
	int64_t fail_start;
	int64_t ban_until;
};

struct lru {
	uint32_t head, tail; /* most, least recently seen */
	size_t n;
};

struct bantab {
	unsigned char key[crypto_shorthash_KEYBYTES];
	struct ent *e;
	uint32_t *bucket;
	size_t cap, nbucket; /* nbucket: a power of two */
	size_t fresh; /* e[fresh..cap) never used yet */
	uint32_t free; /* entries given back */
	struct lru list[2];
	unsigned long evicted_bans;
};

_Static_assert(BANTAB_KEYBYTES == crypto_shorthash_KEYBYTES, "key size");

struct bantab *
bantab_new(size_t cap, const unsigned char *key)
{
	struct bantab *t;
	size_t i;

	if (cap == 0 || cap > KF_BANTAB_MAX ||
	    (t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->cap = cap;
	for (t->nbucket = 1; t->nbucket < cap; t->nbucket <<= 1)
		;
	t->e = calloc(cap, sizeof(*t->e));
	t->bucket = malloc(t->nbucket * sizeof(*t->bucket));
	if (t->e == NULL || t->bucket == NULL) {
		bantab_free(t);
		return NULL;
	}
	memcpy(t->key, key, sizeof(t->key));
	for (i = 0; i < t->nbucket; i++)
		t->bucket[i] = NIL;
	/* entries are handed out in order: untouched pages stay unmapped */
	t->fresh = 0;
	t->free = NIL;
	t->list[0] = t->list[1] = (struct lru){ NIL, NIL, 0 };
	return t;
}

void
bantab_free(struct bantab *t)
{
	if (t == NULL)
		return;
	sodium_memzero(t->key, sizeof(t->key));
	free(t->e);
	free(t->bucket);
	free(t);
}

static size_t
slot_of(const struct bantab *t, const struct bantab_addr *a)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, (const unsigned char *)a, sizeof(*a), t->key);
	memcpy(&v, h, sizeof(v));
	return (size_t)(v & (t->nbucket - 1));
}

static int
same(const struct bantab_addr *x, const struct bantab_addr *y)
{
	return x->family == y->family && memcmp(x->a, y->a, sizeof(x->a)) == 0;
}

static void
unlink_lru(struct bantab *t, uint32_t i)
{
	struct ent *e = &t->e[i];
	struct lru *l = &t->list[e->banned];

	if (e->prev != NIL)
		t->e[e->prev].next = e->next;
	else
		l->head = e->next;
	if (e->next != NIL)
		t->e[e->next].prev = e->prev;
	else
		l->tail = e->prev;
	l->n--;
}

static void
push_lru(struct bantab *t, uint32_t i)
{
	struct ent *e = &t->e[i];
	struct lru *l = &t->list[e->banned];

	e->prev = NIL;
	e->next = l->head;
	if (l->head != NIL)
		t->e[l->head].prev = i;
	else
		l->tail = i;
	l->head = i;
	l->n++;
}

/* Most recently seen now. */
static void
touch(struct bantab *t, uint32_t i)
{
	unlink_lru(t, i);
	push_lru(t, i);
}

/* Moves an entry to the other recency list. */
static void
set_banned(struct bantab *t, uint32_t i, int banned)
{
	unlink_lru(t, i);
	t->e[i].banned = (uint8_t)banned;
	push_lru(t, i);
}

static uint32_t
find(const struct bantab *t, const struct bantab_addr *a)
{
	uint32_t i;

	for (i = t->bucket[slot_of(t, a)]; i != NIL; i = t->e[i].hnext)
		if (same(&t->e[i].key, a))
			return i;
	return NIL;
}

static void
remove_ent(struct bantab *t, uint32_t i)
{
	uint32_t *pp = &t->bucket[slot_of(t, &t->e[i].key)];

	while (*pp != i)
		pp = &t->e[*pp].hnext;
	*pp = t->e[i].hnext;
	unlink_lru(t, i);
	memset(&t->e[i], 0, sizeof(t->e[i]));
	t->e[i].next = t->free;
	t->free = i;
}

/* The entry of a, created (evicting the least recent) when missing. */
static uint32_t
get(struct bantab *t, const struct bantab_addr *a)
{
	uint32_t i = find(t, a);
	size_t s;

	if (i != NIL) {
		touch(t, i);
		return i;
	}
	if (t->free == NIL && t->fresh < t->cap)
		i = (uint32_t)t->fresh++;
	else if (t->free == NIL) {
		if (t->list[L_PLAIN].tail != NIL)
			remove_ent(t, t->list[L_PLAIN].tail);
		else {
			remove_ent(t, t->list[L_BANNED].tail);
			t->evicted_bans++;
		}
	}
	if (i == NIL) {
		i = t->free;
		t->free = t->e[i].next;
	}
	memset(&t->e[i], 0, sizeof(t->e[i]));
	t->e[i].key = *a;
	t->e[i].used = 1;
	s = slot_of(t, a);
	t->e[i].hnext = t->bucket[s];
	t->bucket[s] = i;
	push_lru(t, i);
	return i;
}

static int
is_banned(const struct ent *e, int64_t now)
{
	return e->banned && e->ban_until > now;
}

enum bantab_verdict
bantab_connect(struct bantab *t, const struct bantab_policy *p,
    const struct bantab_addr *a, int64_t now)
{
	uint32_t i = find(t, a);
	struct ent *e;

	if (i != NIL && is_banned(&t->e[i], now)) {
		touch(t, i);
		return BANTAB_BANNED;
	}
	if (p->rate_max == 0)
		return BANTAB_PASS;
	e = &t->e[get(t, a)];
	if (e->rate_n == 0 || now - e->rate_start >= p->rate_window_ms) {
		e->rate_start = now;
		e->rate_n = 0;
	}
	if (e->rate_n < UINT32_MAX)
		e->rate_n++;
	return e->rate_n > p->rate_max ? BANTAB_RATE : BANTAB_PASS;
}

int
bantab_fail(struct bantab *t, const struct bantab_policy *p,
    const struct bantab_addr *a, int64_t now)
{
	struct ent *e;
	uint32_t i;

	if (p->ban_failures == 0)
		return 0;
	i = get(t, a);
	e = &t->e[i];
	if (is_banned(e, now))
		return 0;
	if (e->fail_n == 0 || now - e->fail_start >= p->ban_window_ms) {
		e->fail_start = now;
		e->fail_n = 0;
	}
	if (++e->fail_n < p->ban_failures)
		return 0;
	bantab_ban(t, a, now, p->ban_ms);
	return 1;
}

void
bantab_ban(struct bantab *t, const struct bantab_addr *a, int64_t now,
    int64_t ms)
{
	uint32_t i = get(t, a);

	t->e[i].ban_until = now + ms;
	t->e[i].fail_n = 0;
	if (!t->e[i].banned)
		set_banned(t, i, 1);
}

static void
lift(struct bantab *t, uint32_t i)
{
	t->e[i].ban_until = 0;
	t->e[i].fail_n = 0;
	set_banned(t, i, 0);
}

int
bantab_unban(struct bantab *t, const struct bantab_addr *a)
{
	uint32_t i = find(t, a);

	if (i == NIL || !t->e[i].banned)
		return 0;
	lift(t, i);
	return 1;
}

int
bantab_until(const struct bantab *t, const struct bantab_addr *a, int64_t now,
    int64_t *until)
{
	uint32_t i = find(t, a);

	if (i == NIL || !is_banned(&t->e[i], now))
		return 0;
	*until = t->e[i].ban_until;
	return 1;
}

size_t
bantab_unban_all(struct bantab *t)
{
	size_t n = 0;

	while (t->list[L_BANNED].head != NIL) {
		lift(t, t->list[L_BANNED].head);
		n++;
	}
	return n;
}

size_t
bantab_expire(struct bantab *t, int64_t now,
    void (*fn)(const struct bantab_addr *, void *), void *arg)
{
	uint32_t i, next;
	size_t n = 0;

	for (i = t->list[L_BANNED].head; i != NIL; i = next) {
		next = t->e[i].next;
		if (t->e[i].ban_until > now)
			continue;
		if (fn != NULL)
			fn(&t->e[i].key, arg);
		lift(t, i);
		n++;
	}
	return n;
}

size_t
bantab_list(const struct bantab *t, int64_t now, struct bantab_ban *out,
    size_t max)
{
	uint32_t i;
	size_t n = 0;

	for (i = t->list[L_BANNED].head; i != NIL && n < max; i = t->e[i].next)
		if (t->e[i].ban_until > now)
			out[n++] = (struct bantab_ban){ t->e[i].key,
				t->e[i].ban_until };
	return n;
}

size_t
bantab_count(const struct bantab *t)
{
	return t->list[L_PLAIN].n + t->list[L_BANNED].n;
}

size_t
bantab_nbanned(const struct bantab *t)
{
	return t->list[L_BANNED].n;
}

unsigned long
bantab_evicted_bans(const struct bantab *t)
{
	return t->evicted_bans;
}

static size_t
export_list(const struct bantab *t, int which, struct bantab_rec *out, size_t n,
    size_t max)
{
	const struct ent *e;
	uint32_t i;

	for (i = t->list[which].tail; i != NIL && n < max; i = e->prev) {
		e = &t->e[i];
		out[n++] = (struct bantab_rec){ .addr = e->key,
			.banned = e->banned,
			.rate_n = e->rate_n,
			.fail_n = e->fail_n,
			.rate_start = e->rate_start,
			.fail_start = e->fail_start,
			.ban_until = e->ban_until };
	}
	return n;
}

size_t
bantab_export(const struct bantab *t, struct bantab_rec *out, size_t max)
{
	return export_list(t, L_BANNED, out,
	    export_list(t, L_PLAIN, out, 0, max), max);
}

int
bantab_import(struct bantab *t, const struct bantab_rec *r)
{
	struct ent *e;
	uint32_t i;

	if ((r->addr.family != 4 && r->addr.family != 6) ||
	    (r->addr.family == 4 &&
		memcmp(r->addr.a + 4, (uint8_t[12]){ 0 }, 12) != 0))
		return -EINVAL;
	i = get(t, &r->addr);
	e = &t->e[i];
	e->rate_n = r->rate_n;
	e->fail_n = r->fail_n;
	e->rate_start = r->rate_start;
	e->fail_start = r->fail_start;
	e->ban_until = r->banned ? r->ban_until : 0;
	if ((e->banned != 0) != (r->banned != 0))
		set_banned(t, i, r->banned != 0);
	return 0;
}

int
bantab_addr_from_sockaddr(const struct sockaddr_storage *ss,
    struct bantab_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (addr_ipv4(ss, a->a) == 0) {
		a->family = 4;
		return 0;
	}
	if (ss->ss_family != AF_INET6)
		return -EINVAL;
	a->family = 6;
	memcpy(a->a, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	return 0;
}

int
bantab_addr_parse(const char *s, struct bantab_addr *a)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, s, &v4->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, s, &v6->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	else
		return -EINVAL;
	return bantab_addr_from_sockaddr(&ss, a);
}

void
bantab_addr_to_str(const struct bantab_addr *a, char *out, size_t outsz)
{
	if (outsz == 0)
		return;
	if (inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->a, out,
		(socklen_t)outsz) == NULL)
		out[0] = '\0';
}
