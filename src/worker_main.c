/*
 * worker_main.c - keepftpd-worker, the unprivileged image: started only
 * by the listener, as `keepftpd-worker --spawner ROLE`
 * (src/priv/spawn.c), with the request channel and the configuration
 * memfd at fixed descriptors; as `keepftpd-worker --metrics`
 * (src/priv/lsn_metrics.c), kf-metrics, with its three; or as kf-log,
 * `keepftpd-worker --log kf-log` (src/priv/kflog.c, the log file
 * writer). It holds the FTP protocol, the file system code, the TLS
 * relay, the metrics endpoint and the log writer; the privileged
 * keepftpd holds none of them.
 * Runs in: spawners (then their workers), kf-metrics, kf-log.
 */
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "priv/kf_metrics.h"
#include "priv/spawn.h"
#include "tls/tls.h"

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--metrics") == 0) {
		/* the socket, the configuration and the counters page */
		if (syscall(SYS_close_range, MX_FD_PAGE + 1, ~0U, 0) < 0)
			return 1;
		metrics_main();
	}
	if (argc == 3 && strcmp(argv[1], "--log") == 0) {
		if (syscall(SYS_close_range, SPAWN_FD_CONF + 1, ~0U, 0) < 0)
			return 1;
		return kflog_main();
	}
	if (argc != 3 || strcmp(argv[1], "--spawner") != 0) {
		fprintf(stderr, "keepftpd-worker: started by keepftpd only\n");
		return 2;
	}
	/* the spawner keeps the channel and the configuration it was given */
	if (syscall(SYS_close_range, SPAWN_FD_CONF + 1, ~0U, 0) < 0)
		return 1;
	if (tls_init_memory() < 0 || sodium_init() < 0)
		return 1;
	spawner_main(argv[2]);
}
