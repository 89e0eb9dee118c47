/*
 * list.h - LIST (ls -l style) and NLST output, built in one buffered
 * writer: no syscall per line, one fstatat per entry.
 * Runs in: post-login worker.
 */
#ifndef KF_LIST_H
#define KF_LIST_H

#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

#include "../common/buf.h"

#define LIST_LONG	0x01
#define LIST_ALL	0x02

int	list_parse_opts(const char **arg, unsigned *flags);
int	list_format_entry(struct buf *, const char *name, const struct stat *,
	    const char *link, time_t now);
int	list_run(int rootfd, const char *vpath, unsigned flags,
	    int (*flush)(void *, const char *, size_t), void *ctx);

#endif
