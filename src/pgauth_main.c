/*
 * pgauth_main.c - keepftpd-pgauth, the third image (users_backend =
 * postgresql), the only one that maps libpq: started by the listener
 * as `keepftpd-pgauth --pgauth` (kf-pgauth, src/priv/kf_pgauth.c, with
 * its request socket and configuration at fixed descriptors), or by
 * `keepftpd user` as `keepftpd-pgauth --pgusers` (src/priv/pgusers.c,
 * one request on descriptor 3). Neither the privileged keepftpd nor
 * the FTP workers' keepftpd-worker link libpq.
 * Runs in: kf-pgauth, the `keepftpd user` database helper.
 */
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "priv/kf_pgauth.h"

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--pgauth") == 0) {
		/* the request socket, the configuration, the bans socket */
		if (syscall(SYS_close_range, PGA_FD_LSN + 1, ~0U, 0) < 0)
			return 1;
		pgauth_main();
	}
	if (argc == 2 && strcmp(argv[1], "--pgusers") == 0) {
		if (syscall(SYS_close_range, PGU_FD + 1, ~0U, 0) < 0)
			return 1;
		return pgusers_main();
	}
	fprintf(stderr, "keepftpd-pgauth: started by keepftpd only\n");
	return 2;
}
