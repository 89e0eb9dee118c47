/*
 * buf.h - growable byte buffer with a hard maximum fixed at creation.
 * Runs in: all processes. Fields are private to buf.c.
 */
#ifndef KF_BUF_H
#define KF_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf;

struct buf *buf_new(size_t max);
void buf_free(struct buf *);
int buf_append(struct buf *, const void *, size_t);
int buf_append_str(struct buf *, const char *);
int buf_appendf(struct buf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
int buf_vappendf(struct buf *, const char *, va_list)
    __attribute__((format(printf, 2, 0)));
void buf_consume(struct buf *, size_t);
void buf_reset(struct buf *);
const char *buf_data(const struct buf *);
size_t buf_len(const struct buf *);
size_t buf_room(const struct buf *);
const char *buf_cstr(struct buf *);

#endif
