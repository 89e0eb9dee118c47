/*
 * rawsend: the raw loopback limit of bench/ (issue 6).
 * Runs in: the benchmark, as the trivial sender `kfload raw` reads from.
 *
 * Listens on HOST:PORT (default 127.0.0.1), prints "ready" and, for each
 * accepted connection in turn, forever until SIGTERM, sendfile()s the whole
 * FILE in chunks as large as the kernel takes, then closes it.
 *
 * Build: cc -O2 -Wall -Wextra -Werror -o rawsend rawsend.c
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "die.h"

#define SENDFILE_MAX 0x7ffff000 /* Linux's largest single transfer */

static void
usage(void)
{
	fputs("usage: rawsend [-h HOST] PORT FILE\n", stderr);
	exit(1);
}

static int
listen_on(const char *host, const char *port)
{
	struct addrinfo hints, *res;
	int fd, one = 1, r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0)
		die("cannot resolve %s port %s: %s", host, port,
		    gai_strerror(r));
	if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		die("socket: %s", strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
		die("setsockopt: %s", strerror(errno));
	if (bind(fd, res->ai_addr, res->ai_addrlen) != 0)
		die("bind %s port %s: %s", host, port, strerror(errno));
	if (listen(fd, 16) != 0)
		die("listen: %s", strerror(errno));
	freeaddrinfo(res);
	return fd;
}

/* Sends the whole file; a client that goes away early is reported. */
static void
send_file(int cfd, int ffd, off_t size)
{
	off_t off = 0;
	ssize_t n;
	size_t want;

	while (off < size) {
		want = size - off > SENDFILE_MAX ? SENDFILE_MAX :
						   (size_t)(size - off);
		if ((n = sendfile(cfd, ffd, &off, want)) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "rawsend: sendfile: %s\n",
			    strerror(errno));
			return;
		}
		if (n == 0) {
			fprintf(stderr, "rawsend: file shrank at %lld\n",
			    (long long)off);
			return;
		}
	}
}

int
main(int argc, char **argv)
{
	const char *host = "127.0.0.1", *p;
	struct stat st;
	int lfd, ffd, cfd;

	die_prog = "rawsend";
	if (argc == 5 && strcmp(argv[1], "-h") == 0) {
		host = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (argc != 3)
		usage();
	for (p = argv[1]; *p != '\0'; p++)
		if (*p < '0' || *p > '9' || p - argv[1] > 5)
			usage();
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		die("signal: %s", strerror(errno));
	if ((ffd = open(argv[2], O_RDONLY | O_CLOEXEC)) < 0)
		die("%s: %s", argv[2], strerror(errno));
	if (fstat(ffd, &st) != 0)
		die("%s: %s", argv[2], strerror(errno));
	if (!S_ISREG(st.st_mode))
		die("%s: not a regular file", argv[2]);
	lfd = listen_on(host, argv[1]);
	if (printf("ready\n") < 0 || fflush(stdout) != 0)
		die("stdout: %s", strerror(errno));
	for (;;) {
		if ((cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept: %s", strerror(errno));
		}
		send_file(cfd, ffd, st.st_size);
		if (close(cfd) != 0)
			fprintf(stderr, "rawsend: close: %s\n",
			    strerror(errno));
	}
}
