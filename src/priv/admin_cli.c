/*
 * admin_cli.c - `keepftpd ban`, `keepftpd upgrade`, `keepftpd who`,
 * `keepftpd kick`: one request to the running server's admin socket,
 * its answer printed.
 * The answer is read as strictly as the server reads the request
 * (ADM_BANS or ADM_WHO_ROWS, then ADM_DONE; anything else is an
 * error). User names and paths in `who` are the client's bytes: they
 * are printed escaped as in the log (\" \\ \xNN), never raw.
 * Runs in: the `keepftpd ban`, `upgrade`, `who` and `kick` commands (as
 * root, or the server's user).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../common/cursor.h"
#include "../common/grow.h"
#include "../common/log.h"
#include "../ipc/ipc.h"
#include "../ipc/proto.h"
#include "admin.h"
#include "who.h"

#define CLI_TIMEOUT_SEC 5
/* upgrade: the new listener's start, then the hand-over */
#define CLI_UPGRADE_SEC ((KF_UPGRADE_READY_MS + 4 * KF_UPGRADE_IO_MS) / 1000)

static const char *prog = "keepftpd ban"; /* for error lines */

static int
usage(void)
{
	if (strcmp(prog, "keepftpd upgrade") == 0) {
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
		fprintf(stderr, "%s: %s: path too long\n", prog, path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
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
	fprintf(stderr, "%s: no valid answer from the server\n", prog);
	return 1;
}

/* The request for argv (after the options); -1 on a usage error. */
static int
build(int argc, char **argv, struct ipc_msg *m)
{
	uint64_t secs = 0;

	if (strcmp(prog, "keepftpd upgrade") == 0) {
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
		fprintf(stderr, "%s: admin_socket is not set\n", prog);
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

	prog = upgrade ? "keepftpd upgrade" : "keepftpd ban";
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
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		close(fd);
		return 1;
	}
	r = read_answer(fd, m.type == ADM_BAN_LIST);
	close(fd);
	return r;
}

/* ---- keepftpd who ---- */

struct rows {
	struct who_line *v;
	size_t n, cap;
};

/* A name or path as a word (safe characters only) or quoted, escaped. */
static void
esc(const char *in, char *out, size_t outsz)
{
	const char *p;

	for (p = in; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9') || strchr("._-@/+", *p)))
			break;
	if (*p == '\0' && in[0] != '\0')
		snprintf(out, outsz, "%s", in);
	else
		log_quote(in, strlen(in), out, outsz);
}

/* As a JSON string: the escaped text of the log (without its quotes). */
static void
json_str(const char *in)
{
	char q[4 * KF_WHO_PATH_MAX + 16];
	size_t n = log_quote(in, strlen(in), q, sizeof(q)), i;

	putchar('"');
	for (i = 1; i + 1 < n; i++) {
		if (q[i] == '"' || q[i] == '\\')
			putchar('\\');
		if ((unsigned char)q[i] < 0x20)
			printf("\\u%04x", (unsigned char)q[i]);
		else
			putchar(q[i]);
	}
	putchar('"');
}

static const char *
state_of(const struct who_line *l)
{
	return l->state[0] == '\0'	   ? "idle" :
	    strcmp(l->state, "LOGIN") == 0 ? "login" :
					     l->state;
}

static void
utc(uint64_t t, char *out, size_t outsz)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outsz, "-");
}

static void
print_json(const struct who_line *l)
{
	char when[32];

	utc(l->connect_s, when, sizeof(when));
	printf("{\"session\":%llu,\"pid\":%lu,\"user\":",
	    (unsigned long long)l->id, (unsigned long)l->pid);
	if (l->user[0] != '\0')
		json_str(l->user);
	else
		printf("null");
	printf(",\"addr\":\"%s\",\"port\":%lu,\"connected\":%llu,"
	       "\"connected_utc\":\"%s\",\"idle\":%lu,\"state\":\"%s\","
	       "\"path\":",
	    l->addr, (unsigned long)l->port, (unsigned long long)l->connect_s,
	    when, (unsigned long)l->idle_s, state_of(l));
	if (l->path[0] != '\0')
		json_str(l->path);
	else
		printf("null");
	printf(",\"bytes\":%llu,\"rate\":%llu}\n", (unsigned long long)l->bytes,
	    (unsigned long long)l->rate);
}

/* Aligned columns; the path (which may hold spaces, quoted) last. */
static void
print_table(const struct rows *r)
{
	char user[4 * KF_USER_MAX + 16], addr[ADM_ADDR_MAX + 16], when[32];
	char path[4 * KF_WHO_PATH_MAX + 16], bytes[24], rate[24];
	int wu = 4, wa = 7, n;
	size_t i;

	for (i = 0; i < r->n; i++) {
		esc(r->v[i].user, user, sizeof(user));
		n = snprintf(addr, sizeof(addr),
		    strchr(r->v[i].addr, ':') ? "[%s]:%lu" : "%s:%lu",
		    r->v[i].addr, (unsigned long)r->v[i].port);
		wu = r->v[i].user[0] != '\0' && (int)strlen(user) > wu ?
		    (int)strlen(user) :
		    wu;
		wa = n > wa ? n : wa;
	}
	printf("%-7s %-7s %-*s %-*s %-20s %6s %-7s %12s %10s %s\n", "SESSION",
	    "PID", wu, "USER", wa, "ADDRESS", "CONNECTED", "IDLE", "STATE",
	    "BYTES", "RATE/S", "PATH");
	for (i = 0; i < r->n; i++) {
		const struct who_line *l = &r->v[i];
		int busy = l->state[0] != '\0' &&
		    strcmp(l->state, "LOGIN") != 0;

		if (l->user[0] != '\0')
			esc(l->user, user, sizeof(user));
		else
			snprintf(user, sizeof(user), "-");
		if (l->path[0] != '\0')
			esc(l->path, path, sizeof(path));
		else
			snprintf(path, sizeof(path), "-");
		snprintf(addr, sizeof(addr),
		    strchr(l->addr, ':') ? "[%s]:%lu" : "%s:%lu", l->addr,
		    (unsigned long)l->port);
		snprintf(bytes, sizeof(bytes), busy ? "%llu" : "-",
		    (unsigned long long)l->bytes);
		snprintf(rate, sizeof(rate), busy ? "%llu" : "-",
		    (unsigned long long)l->rate);
		utc(l->connect_s, when, sizeof(when));
		printf("%-7llu %-7lu %-*s %-*s %-20s %6lu %-7s %12s %10s %s\n",
		    (unsigned long long)l->id, (unsigned long)l->pid, wu, user,
		    wa, addr, when, (unsigned long)l->idle_s, state_of(l),
		    bytes, rate, path);
	}
}

/* One ADM_WHO_ROWS message, its rows appended. */
static int
take_rows(struct ipc_msg *m, struct rows *r)
{
	uint32_t n, i;

	if (ipc_get_u32(m, &n) < 0 || n == 0 || n > KF_WHO_PER_MSG)
		return -1;
	for (i = 0; i < n; i++) {
		if (grow_array(&r->v, &r->cap, r->n + 1, sizeof(*r->v), 64,
			SIZE_MAX / sizeof(*r->v)) < 0 ||
		    who_get(m, &r->v[r->n]) < 0)
			return -1;
		r->n++;
	}
	return ipc_end(m);
}

static int
read_rows(int fd, struct rows *r)
{
	char text[ADM_TEXT_MAX + 1];
	struct ipc_msg m;
	uint32_t status;

	for (;;) {
		if (ipc_recv(fd, &m) < 0)
			break;
		if (m.type == ADM_WHO_ROWS) {
			if (take_rows(&m, r) < 0)
				break;
			continue;
		}
		if (m.type != ADM_DONE || ipc_get_u32(&m, &status) < 0 ||
		    ipc_get_str(&m, text, sizeof(text)) < 0 || ipc_end(&m) < 0)
			break;
		if (status != 0)
			fprintf(stderr, "%s: %s\n", prog, text);
		return status == 0 ? 0 : 1;
	}
	fprintf(stderr, "%s: no valid answer from the server\n", prog);
	return -1;
}

/* -c FILE and -s SOCKET; *i at the first other argument. */
static int
common_opts(int argc, char **argv, int *i, const char **file, const char **sock,
    int *json)
{
	for (; *i < argc && argv[*i][0] == '-'; (*i)++) {
		if (json != NULL && strcmp(argv[*i], "--json") == 0)
			*json = 1;
		else if (*i + 1 < argc && strcmp(argv[*i], "-c") == 0)
			*file = argv[++(*i)];
		else if (*i + 1 < argc && strcmp(argv[*i], "-s") == 0)
			*sock = argv[++(*i)];
		else
			return json != NULL || argv[*i][1] != '-' ? -1 : 0;
	}
	return 0;
}

/* The request sent, the connection open: its fd, or -1. */
static int
ask(const char *file, const char *sock, const struct ipc_msg *m)
{
	char path[KF_CONF_VALUE_MAX + 1];
	int fd;

	if (socket_path(file, sock, path, sizeof(path)) < 0 ||
	    (fd = connect_to(path, CLI_TIMEOUT_SEC)) < 0)
		return -1;
	if (ipc_send(fd, m) < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
admin_who_cli(int argc, char **argv)
{
	const char *file = NULL, *sock = NULL;
	struct rows r = { 0 };
	struct ipc_msg m;
	int i = 1, json = 0, fd, st;
	size_t k;

	prog = "keepftpd who";
	if (common_opts(argc, argv, &i, &file, &sock, &json) < 0 || i != argc) {
		fprintf(stderr,
		    "usage: keepftpd who [--json] [-c FILE | -s SOCKET]\n");
		return 2;
	}
	ipc_init(&m, ADM_WHO);
	if ((fd = ask(file, sock, &m)) < 0)
		return 1;
	st = read_rows(fd, &r);
	close(fd);
	if (st < 0) {
		free(r.v);
		return 1;
	}
	if (json)
		for (k = 0; k < r.n; k++)
			print_json(&r.v[k]);
	else
		print_table(&r);
	free(r.v);
	return st;
}

/* SESSION (12 or s12), --user NAME or --addr ADDR into m. */
static int
kick_build(int argc, char **argv, struct ipc_msg *m)
{
	uint64_t id = 0;
	const char *a;

	ipc_init(m, ADM_KICK);
	if (argc == 2 && strcmp(argv[0], "--user") == 0 && argv[1][0] != '\0')
		return ipc_put_u32(m, ADM_KICK_USER) < 0 ||
			ipc_put_u32(m, 0) < 0 || ipc_put_u32(m, 0) < 0 ||
			ipc_put_str(m, argv[1], KF_USER_MAX) < 0 ?
		    -1 :
		    0;
	if (argc == 2 && strcmp(argv[0], "--addr") == 0 && argv[1][0] != '\0')
		return ipc_put_u32(m, ADM_KICK_ADDR) < 0 ||
			ipc_put_u32(m, 0) < 0 || ipc_put_u32(m, 0) < 0 ||
			ipc_put_str(m, argv[1], ADM_ADDR_MAX) < 0 ?
		    -1 :
		    0;
	if (argc != 1)
		return -1;
	a = argv[0][0] == 's' ? argv[0] + 1 : argv[0];
	if (parse_u64(a, UINT64_MAX, &id) < 0 || id == 0)
		return -1;
	return ipc_put_u32(m, ADM_KICK_ID) < 0 ||
		ipc_put_u32(m, (uint32_t)(id >> 32)) < 0 ||
		ipc_put_u32(m, (uint32_t)id) < 0 || ipc_put_str(m, "", 0) < 0 ?
	    -1 :
	    0;
}

int
admin_kick_cli(int argc, char **argv)
{
	const char *file = NULL, *sock = NULL;
	struct ipc_msg m;
	int i = 1, fd, r;

	prog = "keepftpd kick";
	if (common_opts(argc, argv, &i, &file, &sock, NULL) < 0 ||
	    kick_build(argc - i, argv + i, &m) < 0) {
		fprintf(stderr,
		    "usage: keepftpd kick [-c FILE | -s SOCKET] "
		    "SESSION|--user NAME|--addr ADDR\n");
		return 2;
	}
	if ((fd = ask(file, sock, &m)) < 0)
		return 1;
	r = read_answer(fd, 0);
	close(fd);
	return r;
}
