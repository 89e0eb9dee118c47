/*
 * admin_cli.c - `keepftpd ban` and `keepftpd upgrade`: one request to
 * the running server's admin socket, its answer printed. The answer is read as strictly as
 * the server reads the request (ADM_BANS, then ADM_DONE; anything else
 * is an error).
 * Runs in: the `keepftpd ban` and `keepftpd upgrade` commands (as
 * root, or the server's user).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "../common/cursor.h"
#include "../ipc/ipc.h"
#include "../ipc/proto.h"
#include "admin.h"

#define CLI_TIMEOUT_SEC 5
/* upgrade: the new listener's start, then the hand-over */
#define CLI_UPGRADE_SEC ((KF_UPGRADE_READY_MS + 4 * KF_UPGRADE_IO_MS) / 1000)

static const char *cmd = "keepftpd ban"; /* for the messages */

static int
usage(void)
{
	if (strcmp(cmd, "keepftpd upgrade") == 0) {
		fprintf(stderr,
		    "usage: keepftpd upgrade [-c FILE | -s SOCKET]\n");
		return 2;
	}
	fprintf(stderr,
	    "usage: keepftpd ban [-c FILE | -s SOCKET] list\n"
	    "       keepftpd ban [-c FILE | -s SOCKET] add ADDR [SECONDS]\n"
	    "       keepftpd ban [-c FILE | -s SOCKET] clear ADDR|all\n");
	return 2;
}

static int
connect_to(const char *path, int secs)
{
	struct timeval tv = { .tv_sec = secs };
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "%s: %s: path too long\n", cmd, path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "%s: %s: %s\n", cmd, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* One ADM_BANS message: "ADDR SECONDS" lines. */
static int
print_bans(struct ipc_msg *m)
{
	char addr[ADM_ADDR_MAX + 1];
	uint32_t n, i, secs;

	if (ipc_get_u32(m, &n) < 0 || n == 0 || n > ADM_BANS_PER_MSG)
		return -1;
	for (i = 0; i < n; i++) {
		if (ipc_get_str(m, addr, sizeof(addr)) < 0 ||
		    ipc_get_u32(m, &secs) < 0)
			return -1;
		printf("%s %lu\n", addr, (unsigned long)secs);
	}
	return ipc_end(m);
}

/* Reads the answer; the exit status. */
static int
read_answer(int fd, int listing)
{
	char text[ADM_TEXT_MAX + 1];
	struct ipc_msg m;
	uint32_t status;

	for (;;) {
		if (ipc_recv(fd, &m) < 0)
			break;
		if (m.type == ADM_BANS && listing) {
			if (print_bans(&m) < 0)
				break;
			continue;
		}
		if (m.type != ADM_DONE || ipc_get_u32(&m, &status) < 0 ||
		    ipc_get_str(&m, text, sizeof(text)) < 0 || ipc_end(&m) < 0)
			break;
		fprintf(status == 0 && !listing ? stdout : stderr, "%s\n",
		    text);
		return status == 0 ? 0 : 1;
	}
	fprintf(stderr, "%s: no valid answer from the server\n", cmd);
	return 1;
}

/* The request for argv (after the options); -1 on a usage error. */
static int
build(int argc, char **argv, struct ipc_msg *m)
{
	uint64_t secs = 0;

	if (strcmp(cmd, "keepftpd upgrade") == 0) {
		if (argc != 0)
			return -1;
		ipc_init(m, ADM_UPGRADE);
		return 0;
	}
	if (argc == 1 && strcmp(argv[0], "list") == 0) {
		ipc_init(m, ADM_BAN_LIST);
		return 0;
	}
	if ((argc == 2 || argc == 3) && strcmp(argv[0], "add") == 0) {
		if (argc == 3 &&
		    (parse_u64(argv[2], ADM_BAN_SECONDS_MAX, &secs) < 0 ||
			secs == 0))
			return -1;
		ipc_init(m, ADM_BAN_ADD);
		if (ipc_put_str(m, argv[1], ADM_ADDR_MAX) < 0)
			return -1;
		return ipc_put_u32(m, (uint32_t)secs);
	}
	if (argc == 2 && strcmp(argv[0], "clear") == 0) {
		ipc_init(m, ADM_BAN_CLEAR);
		if (strcmp(argv[1], "all") == 0)
			return ipc_put_str(m, "", ADM_ADDR_MAX);
		if (argv[1][0] == '\0')
			return -1;
		return ipc_put_str(m, argv[1], ADM_ADDR_MAX);
	}
	return -1;
}

/* admin_socket from -s, else from -c FILE, else the default. */
static int
socket_path(const char *file, const char *sock, char *out, size_t outsz)
{
	static struct conf c;
	struct conf_errors e;
	size_t i;

	conf_defaults(&c);
	memset(&e, 0, sizeof(e));
	if (sock == NULL && file != NULL && conf_load(&c, file, &e) < 0) {
		for (i = 0; i < e.count && i < 16; i++)
			fprintf(stderr, "%s\n", e.msg[i]);
		return -1;
	}
	snprintf(out, outsz, "%s", sock != NULL ? sock : c.admin_socket);
	if (out[0] == '\0') {
		fprintf(stderr, "%s: admin_socket is not set\n", cmd);
		return -1;
	}
	return 0;
}

int
admin_cli(int argc, char **argv)
{
	const char *file = NULL, *sock = NULL;
	char path[KF_CONF_VALUE_MAX + 1];
	struct ipc_msg m;
	int i = 1, fd, r, upgrade = strcmp(argv[0], "upgrade") == 0;

	cmd = upgrade ? "keepftpd upgrade" : "keepftpd ban";
	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (strcmp(argv[i], "-c") == 0)
			file = argv[i + 1];
		else if (strcmp(argv[i], "-s") == 0)
			sock = argv[i + 1];
		else
			return usage();
	}
	if ((i >= argc && !upgrade) || build(argc - i, argv + i, &m) < 0)
		return usage();
	if (socket_path(file, sock, path, sizeof(path)) < 0 ||
	    (fd = connect_to(path,
		 upgrade ? CLI_UPGRADE_SEC : CLI_TIMEOUT_SEC)) < 0)
		return 1;
	if (ipc_send(fd, &m) < 0) {
		fprintf(stderr, "%s: %s: %s\n", cmd, path, strerror(errno));
		close(fd);
		return 1;
	}
	r = read_answer(fd, m.type == ADM_BAN_LIST);
	close(fd);
	return r;
}
