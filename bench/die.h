/*
 * bench/die.h - the fatal-error exit kfload and rawsend share: "PROG:
 * message" on stderr, exit status 1. Each program names itself in
 * die_prog before anything can fail.
 */
#ifndef BENCH_DIE_H
#define BENCH_DIE_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static const char *die_prog = "bench";

static void die(const char *, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", die_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

#endif
