/*
 * cursor.c - strict, bounded parsing helpers.
 * Runs in: all processes. Pure: returns 0 or a negative errno.
 */
#include <errno.h>
#include <string.h>

#include "cursor.h"

void
cursor_init(struct cursor *c, const char *p, size_t n)
{
	c->p = p;
	c->end = p + n;
}

void
cursor_init_str(struct cursor *c, const char *s)
{
	cursor_init(c, s, strlen(s));
}

size_t
cursor_left(const struct cursor *c)
{
	return (size_t)(c->end - c->p);
}

int
cursor_eof(const struct cursor *c)
{
	return c->p >= c->end;
}

int
cursor_peek(const struct cursor *c)
{
	return c->p < c->end ? (unsigned char)*c->p : -1;
}

int
cursor_eat(struct cursor *c, char ch)
{
	if (c->p >= c->end || *c->p != ch)
		return 0;
	c->p++;
	return 1;
}

static int
lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch;
}

/* Consumes the ASCII word w, case-insensitively, or nothing. */
int
cursor_eat_ci(struct cursor *c, const char *w)
{
	size_t n = strlen(w), i;

	if (n > cursor_left(c))
		return 0;
	for (i = 0; i < n; i++)
		if (lower((unsigned char)c->p[i]) != lower((unsigned char)w[i]))
			return 0;
	c->p += n;
	return 1;
}

size_t
cursor_skip_ws(struct cursor *c)
{
	size_t n = 0;

	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t')) {
		c->p++;
		n++;
	}
	return n;
}

static int
digit(int ch, unsigned base)
{
	int v;

	if (ch >= '0' && ch <= '9')
		v = ch - '0';
	else if (ch >= 'a' && ch <= 'z')
		v = ch - 'a' + 10;
	else if (ch >= 'A' && ch <= 'Z')
		v = ch - 'A' + 10;
	else
		return -1;
	return (unsigned)v < base ? v : -1;
}

/* At least one digit; no sign, no leading space; value <= max. */
int
cursor_u64_base(struct cursor *c, unsigned base, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	int d, any = 0;

	while (c->p < c->end && (d = digit((unsigned char)*c->p, base)) >= 0) {
		if ((uint64_t)d > max || v > (max - (uint64_t)d) / base)
			return -ERANGE;
		v = v * base + (uint64_t)d;
		c->p++;
		any = 1;
	}
	if (!any)
		return -EINVAL;
	*out = v;
	return 0;
}

int
cursor_u64(struct cursor *c, uint64_t max, uint64_t *out)
{
	return cursor_u64_base(c, 10, max, out);
}

/* A non-empty run of bytes up to any byte in stop (or the end). */
int
cursor_token(struct cursor *c, const char *stop, const char **tok, size_t *len)
{
	const char *s = c->p;

	while (c->p < c->end && strchr(stop, *c->p) == NULL)
		c->p++;
	if (c->p == s)
		return -EINVAL;
	*tok = s;
	*len = (size_t)(c->p - s);
	return 0;
}

/* The whole string must be a decimal number <= max. */
int
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	struct cursor c;
	int r;

	cursor_init_str(&c, s);
	if ((r = cursor_u64(&c, max, out)) < 0)
		return r;
	return cursor_eof(&c) ? 0 : -EINVAL;
}
