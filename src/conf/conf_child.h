/*
 * conf_child.h - the configuration is parsed in a child that gave up
 * its privileges (docs/SECURITY.md, "The configuration parser"): the
 * listener starts it, waits for it with a time bound and checks what
 * it returns before it uses any of it.
 * Runs in: listener (conf_child_load, conf_check_result), the parser
 * child (struct conf_result, CONF_CHILD_*).
 */
#ifndef KF_CONF_CHILD_H
#define KF_CONF_CHILD_H

#include <stddef.h>

#include "conf.h"

/* argv[1] of the parser child: keepftpd CONF_CHILD_ARG PATH [KEY=VALUE]... */
#define CONF_CHILD_ARG "--conf-child"
/* The descriptor the child writes its struct conf_result to. */
#define CONF_CHILD_FD  3

/*
 * What the child writes, exactly sizeof(struct conf_result) bytes: ok 1
 * and the checked configuration, or ok 0 and the errors as they were
 * found ("file:line: why", "file: PATH: why").
 */
struct conf_result {
	int ok;
	struct conf_errors errs;
	struct conf conf;
};

/*
 * Runs the parser child on path (NULL: none) and the n overrides
 * ("KEY=VALUE", at most KF_CONF_ARGS_MAX), waits at most
 * KF_CONF_PARSE_MS, checks the result. 0 and *out, or -1 and errs (the
 * child's own, or why the child failed: its exit status or signal).
 */
int conf_child_load(const char *path, const char *const *ov, size_t n,
    struct conf *out, struct conf_errors *errs);

/*
 * The result is well formed: ok is 0 or 1; the error strings end inside
 * their arrays; when ok, conf_check_flat. 0, or -1 and *what names the
 * first field found wrong.
 */
int conf_check_result(const struct conf_result *, const char **what);

/*
 * A struct conf as a parser could have made it: every string ends
 * inside its array, every count is within its array, every number is
 * within its option's range, booleans are 0 or 1 (AUTO settled), the
 * listen addresses are IPv4 or IPv6 of their size, pasv_min_port <=
 * pasv_max_port, pasv_address has no address when empty and its own
 * when it is an IPv4 literal, pasv_address_map's networks have no host
 * bit. 0, or -1 and *what names the field.
 */
int conf_check_flat(const struct conf *, const char **what);

#endif
