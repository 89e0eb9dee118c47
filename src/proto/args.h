/*
 * args.h - parsers of the post-login commands' client arguments.
 * Runs in: post-login worker. Pure.
 */
#ifndef KF_ARGS_H
#define KF_ARGS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "../common/cursor.h"
#include "../common/limits.h"
#include "../conf/conf.h"
#include "../fs/glob.h"

/* A comma-separated pattern option, split once per session. */
struct patterns {
	char text[KF_CONF_VALUE_MAX + 1];
	const char *pat[CONF_PATTERNS_MAX];
	struct glob_set set;
};

/*
 * args_rest: REST's offset, 0..INT64_MAX; 0 or -1.
 * args_timeval: p[0..n) "YYYYMMDDHHMMSS[.f..fff]" (RFC 3659 time-val,
 *   UTC, years 1970..9999, second 60 allowed) to *out; 0 or -1.
 * args_mfmt: MFMT's "time-val path" (arg[0..n), NUL-terminated);
 *   *path points into arg, never empty; 0 or -1.
 * args_mode: p[0..n) 1..4 octal digits, at most max; 0 or -1.
 * args_chmod: SITE CHMOD's "mode path", mode at most 07777; 0 or -1.
 * args_word: the word w (any case), then the end or one space (eaten):
 *   1 and the cursor moved, or 0 and it unmoved.
 * args_patterns: text "a, b,c" split at commas, blanks around each
 *   pattern dropped, empty ones skipped, at most CONF_PATTERNS_MAX.
 * args_port: PORT "h1,h2,h3,h4,p1,p2" (each 0..255, port not 0).
 * args_eprt: EPRT "<d>proto<d>addr<d>port<d>" (RFC 2428; d printable
 *   ASCII but a digit, proto 1 or 2, port 1..65535). Both: 0 or
 *   -EINVAL.
 * args_list_opts: eats leading "-alR..." words (any letters and
 *   digits; a A l R d set LIST_* flags, the rest such as 1 t r h F are
 *   ignored) into *flags and moves *arg past them; -EINVAL when a word
 *   after '-' holds anything else (it is a name).
 */
int args_rest(const char *arg, uint64_t *off);
int args_timeval(const char *p, size_t n, time_t *out);
int args_mfmt(const char *arg, size_t n, time_t *t, const char **path);
int args_mode(const char *p, size_t n, unsigned max, unsigned *out);
int args_chmod(const char *arg, size_t n, unsigned *mode, const char **path);
int args_word(struct cursor *cur, const char *w);
void args_patterns(struct patterns *p, const char *text);
int args_port(const char *arg, struct sockaddr_storage *out, socklen_t *len);
int args_eprt(const char *arg, struct sockaddr_storage *out, socklen_t *len);
int args_list_opts(const char **arg, unsigned *flags);

#endif
