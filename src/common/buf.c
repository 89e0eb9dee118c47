/*
 * buf.c - the one buffer type: appends check n > max - len before
 * touching memory, so no length arithmetic can overflow.
 * Runs in: all processes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "grow.h"

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

struct buf *
buf_new(size_t max)
{
	struct buf *b;

	if (max == 0 || max > (size_t)1 << 30)
		return NULL;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->max = max;
	return b;
}

void
buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	free(b);
}

static int
reserve(struct buf *b, size_t n)
{
	if (n > b->max - b->len)
		return -ENOSPC;
	/* one spare byte so buf_cstr() never needs to grow */
	return grow_array(&b->data, &b->cap, b->len + n + 1, 1, 64,
		   b->max + 1) < 0 ?
	    -ENOMEM :
	    0;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	int r;

	if (n == 0)
		return 0;
	if ((r = reserve(b, n)) < 0)
		return r;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int
buf_append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_vappendf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n, r;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return -EINVAL;
	if ((r = reserve(b, (size_t)n)) < 0)
		return r;
	(void)vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
buf_appendf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vappendf(b, fmt, ap);
	va_end(ap);
	return r;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
}

const char *
buf_data(const struct buf *b)
{
	return b->data != NULL ? b->data : "";
}

size_t
buf_len(const struct buf *b)
{
	return b->len;
}

size_t
buf_room(const struct buf *b)
{
	return b->max - b->len;
}

const char *
buf_cstr(struct buf *b)
{
	if (b->data == NULL)
		return "";
	b->data[b->len] = '\0'; /* reserve() keeps one spare byte */
	return b->data;
}
