/*
 * cursor.h - parse by advancing a cursor over [p, end); never strtol,
 * atoi or sscanf on untrusted bytes.
 * Runs in: all processes.
 */
#ifndef KF_CURSOR_H
#define KF_CURSOR_H

#include <stddef.h>
#include <stdint.h>

struct cursor {
	const char *p;
	const char *end;
};

void cursor_init(struct cursor *, const char *, size_t);
void cursor_init_str(struct cursor *, const char *);
size_t cursor_left(const struct cursor *);
int cursor_eof(const struct cursor *);
int cursor_peek(const struct cursor *);
int cursor_eat(struct cursor *, char);
int cursor_eat_ci(struct cursor *, const char *);
size_t cursor_skip_ws(struct cursor *);
int cursor_u64(struct cursor *, uint64_t max, uint64_t *out);
int cursor_u64_base(struct cursor *, unsigned base, uint64_t max,
    uint64_t *out);
int cursor_token(struct cursor *, const char *stop, const char **tok,
    size_t *len);
int parse_u64(const char *s, uint64_t max, uint64_t *out);

#endif
