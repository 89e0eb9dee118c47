/*
 * main.c - command line: `keepftpd serve [DIR]` (quick mode),
 * `keepftpd -c FILE` (config mode), `keepftpd -t -c FILE` (check),
 * `keepftpd user ...` (users file management), `keepftpd quota ...`
 * (a user's quota usage), `keepftpd ban ...` (the running server's bans),
 * `keepftpd upgrade` (the running server hands over to the binary
 * installed now),
 * `keepftpd who` and `keepftpd kick ...` (its sessions),
 * `keepftpd migrate FILE` (a vsftpd.conf translated), --help, --version,
 * --config-doc, --config-example, --config-man.
 * Runs in: listener (before it starts listening; load_config also on
 * SIGHUP), the configuration parser child (conf_child_main).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <openssl/opensslv.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth/auth.h"
#include "auth/users.h"
#include "common/buf.h"
#include "common/log.h"
#include "conf/conf.h"
#include "conf/conf_child.h"
#include "conf/migrate.h"
#include "fs/quota_cli.h"
#include "net/addr.h"
#include "priv/admin.h"
#include "priv/listener.h"
#include "priv/notify.h"
#include "priv/spawn.h"
#include "priv/upgrade.h"
#include "sandbox/sandbox.h"
#include "common/sys.h"
#include "tls/tls_keys.h"

#define KF_VERSION  "0.1.0"
#define KF_MAN_DATE "2026-12-05" /* of the man pages (.TH) */

#ifdef HAVE_SYSTEMD
#define SYSTEMD_FEATURE \
	"systemd: sd_notify and socket activation (libsystemd.so.0, " \
	"opened when systemd starts the server)"
#else
#define SYSTEMD_FEATURE "systemd: not built in (-Dsystemd=disabled)"
#endif

static const char *conf_path;
static char **main_argv; /* what `keepftpd upgrade` executes again */
static int upgrade_fd = -1; /* started by `keepftpd upgrade` */
static int running; /* errors go to the log once the listener runs */
static const char *overrides[KF_CONF_ARGS_MAX];
static size_t noverrides;

static void __attribute__((noreturn)) usage(int status)
{
	FILE *f = status ? stderr : stdout;

	fprintf(f,
	    "usage: keepftpd serve [DIR] [--listen ADDR:PORT]... [--user NAME]\n"
	    "                      [--pasv-ports MIN-MAX] [--as ACCOUNT] [-o KEY=VALUE]...\n"
	    "       keepftpd -c FILE [-o KEY=VALUE]...\n"
	    "       keepftpd -t -c FILE [-o KEY=VALUE]...\n"
	    "       keepftpd user [-f FILE] add|set|passwd|del|list ...\n"
	    "       keepftpd quota [-c FILE] [-f USERS] [-d DIR] NAME [--recompute]\n"
	    "       keepftpd ban [-c FILE | -s SOCKET] list|add ADDR [SECONDS]|clear ADDR|all\n"
	    "       keepftpd upgrade [-c FILE | -s SOCKET]\n"
	    "       keepftpd who [--json] [-c FILE | -s SOCKET]\n"
	    "       keepftpd kick [-c FILE | -s SOCKET] SESSION|--user NAME|--addr ADDR\n"
	    "       keepftpd migrate [VSFTPD.CONF]\n"
	    "       keepftpd --config-doc | --config-example | --config-man | --version | --help\n");
	if (status == 0)
		fprintf(f,
		    "\n"
		    "  serve          serve DIR read-only to anonymous users, in the foreground\n"
		    "  -c FILE        run from a configuration file (keepftpd.conf(5))\n"
		    "  -t -c FILE     check a configuration file and exit\n"
		    "  -o KEY=VALUE   set one option over the file\n"
		    "  user           manage a virtual users file\n"
		    "  quota          show or recompute a user's quota usage\n"
		    "  ban            list, add or clear the running server's bans\n"
		    "  upgrade        the running server hands over to the binary installed now,\n"
		    "                 dropping no connection and no session\n"
		    "  who            the running server's sessions, one row each\n"
		    "  kick           end sessions (their clients get 421)\n"
		    "  migrate        print the keepftpd.conf equivalent to a vsftpd.conf\n"
		    "  --config-doc   every option as Markdown (docs/CONFIG.md)\n"
		    "  --config-example  every option, commented (keepftpd.conf.example)\n"
		    "  --config-man   keepftpd.conf(5) as roff\n"
		    "\n"
		    "Installed, the configuration is /etc/keepftpd/keepftpd.conf.\n"
		    "See keepftpd(8) and keepftpd.conf(5).\n");
	exit(status);
}

static void
print_errors(const struct conf_errors *e)
{
	size_t i;

	for (i = 0; i < e->count && i < sizeof(e->msg) / sizeof(e->msg[0]);
	     i++) {
		if (running)
			log_err("%-s", e->msg[i]);
		else
			fprintf(stderr, "%s\n", e->msg[i]);
	}
	if (e->count > i)
		fprintf(stderr, "(%zu more errors)\n", e->count - i);
}

static void add_error(struct conf_errors *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
add_error(struct conf_errors *e, const char *fmt, ...)
{
	va_list ap;

	if (e->count < sizeof(e->msg) / sizeof(e->msg[0])) {
		va_start(ap, fmt);
		(void)vsnprintf(e->msg[e->count], sizeof(e->msg[0]), fmt, ap);
		va_end(ap);
	}
	e->count++;
}

static int
apply_overrides(struct conf *c, struct conf_errors *e)
{
	char key[64];
	const char *eq;
	size_t i, n;
	int r = 0;

	for (i = 0; i < noverrides; i++) {
		eq = strchr(overrides[i], '=');
		n = eq ? (size_t)(eq - overrides[i]) : 0;
		if (eq == NULL || n == 0 || n >= sizeof(key)) {
			add_error(e, "-o %s: expected KEY=VALUE", overrides[i]);
			r = -1;
			continue;
		}
		memcpy(key, overrides[i], n);
		key[n] = '\0';
		if (conf_set(c, key, eq + 1, "command line", e) < 0)
			r = -1;
	}
	return r;
}

/* The users file reads and parses: "FILE:LINE: why" or "file: FILE: why". */
static int
check_users(const struct conf *c, struct conf_errors *e)
{
	struct users_entry u;
	const char *err = "";
	char *text = NULL;
	size_t len = 0, no = 0;
	int r;

	if (c->users_file[0] == '\0')
		return 0;
	if ((r = users_load(c->users_file, &text, &len)) < 0) {
		add_error(e, "file: %s: cannot read: %s", c->users_file,
		    r == -EINVAL ? "not a regular file" : strerror(-r));
		return -1;
	}
	r = users_find(text, len, "", &u, &no, &err);
	users_unload(text);
	sodium_memzero(&u, sizeof(u));
	if (r < 0) {
		add_error(e, "%s:%zu: %s", c->users_file, no, err);
		return -1;
	}
	return 0;
}

/*
 * The whole configuration, in the parser child (conf/conf_child.c): the
 * file, then -o overrides, then cross-checks, then the files it names
 * (who may write them; the users file parses). The child's memory,
 * which held the users file's hashes, dies with it.
 */
static int
parse_config(struct conf *c, struct conf_errors *e)
{
	conf_defaults(c);
	if (conf_path != NULL && conf_load(c, conf_path, e) < 0)
		return -1;
	if (apply_overrides(c, e) < 0 || conf_check(c, e) < 0)
		return -1;
	if (conf_check_files(c, e) < 0 || check_users(c, e) < 0)
		return -1;
	return 0;
}

/*
 * `keepftpd --conf-child PATH [KEY=VALUE]...`, started by
 * conf_child_load with its result memfd as CONF_CHILD_FD: sandboxed
 * first, then parse_config, then one struct conf_result written.
 */
static int
conf_child_main(int argc, char **argv)
{
	static struct conf_result r;
	int i;

	sandbox_conf_parser(CONF_CHILD_FD);
	conf_path = argc > 2 && argv[2][0] != '\0' ? argv[2] : NULL;
	for (i = 3; i < argc && noverrides < KF_CONF_ARGS_MAX; i++)
		overrides[noverrides++] = argv[i];
	r.ok = parse_config(&r.conf, &r.errs) == 0;
	_exit(sys_write_all(CONF_CHILD_FD, &r, sizeof(r)) < 0 ? 3 : 0);
}

/* A system account's uid, or -1 when it has none (NSS: not in the child). */
static long
account_uid(const char *name)
{
	struct passwd *pw = getpwnam(name);

	return pw != NULL ? (long)pw->pw_uid : -1;
}

/*
 * anon_upload_owner, here and not in the parser child (whose sandbox
 * cannot load NSS modules): giving a file away needs CAP_CHOWN, which
 * only a server started as root has; the account must exist and share
 * no uid with root, anon_user or service_user (docs/PERMISSIONS.md).
 */
static int
load_owner(const struct conf *c, struct conf_errors *e)
{
	const char *o = c->anon_upload_owner;
	long uid;

	if (o[0] == '\0')
		return 0;
	if (geteuid() != 0) {
		add_error(e,
		    "anon_upload_owner=%s needs keepftpd started as root "
		    "(rootless, nothing may give a file to another account)",
		    o);
		return -1;
	}
	if ((uid = account_uid(o)) < 0) {
		add_error(e, "anon_upload_owner=%s: no such account", o);
		return -1;
	}
	if (uid == 0 || uid == account_uid(c->anon_user) ||
	    uid == account_uid(c->service_user)) {
		add_error(e,
		    "anon_upload_owner=%s: uid %ld is root's, anon_user's or "
		    "service_user's",
		    o, uid);
		return -1;
	}
	return 0;
}

/*
 * The configuration as the parser child makes it; the listener (start,
 * SIGHUP) and `-t` never parse it themselves.
 */
static int
load_config(struct conf *c)
{
	struct conf_errors e;

	memset(&e, 0, sizeof(e));
	if (conf_child_load(conf_path, overrides, noverrides, c, &e) == 0 &&
	    load_owner(c, &e) == 0)
		return 0;
	print_errors(&e);
	return -1;
}

static void
setup_log(const struct conf *c)
{
	static const char *const levels[] = { "error", "warning", "info",
		"debug" };
	static const int prios[] = { LOG_ERR, LOG_WARNING, LOG_INFO,
		LOG_DEBUG };
	size_t i;

	log_open(strcmp(c->log, "syslog") == 0 ? LOG_SINK_SYSLOG :
						 LOG_SINK_STDERR,
	    "keepftpd", -1);
	for (i = 0; i < 4; i++)
		if (strcmp(c->log_level, levels[i]) == 0)
			log_set_level(prios[i]);
}

static int
run(struct listener *L)
{
	setup_log(&L->conf);
	if (listener_bind(L) < 0)
		return 1;
	running = 1;
	return listener_run(L) == 0 ? 0 : 1;
}

static int
config_main(int check_only)
{
	static struct listener L;
	char why[512];

	if (load_config(&L.conf) < 0)
		return 1;
	if (check_only) {
		/* loaded by a relay spawner, as the server does: not here */
		if (tls_configured(&L.conf) &&
		    spawn_check_tls(&L.conf, why, sizeof(why)) < 0) {
			fprintf(stderr, "%s: TLS: %s\n",
			    conf_path ? conf_path : "(defaults)", why);
			return 1;
		}
		printf("%s: configuration OK%s\n",
		    conf_path ? conf_path : "(defaults)",
		    tls_configured(&L.conf) ?
			" (TLS certificate and key load and match)" :
			"");
		return 0;
	}
	L.inline_fd = -1;
	L.reload = conf_path != NULL ? load_config : NULL;
	L.argv = main_argv;
	L.upgrade_fd = upgrade_fd;
	return run(&L);
}

/* Quick mode's sessions run as: --as, else DIR's owner, else nobody. */
static int
quick_account(const char *as, const char *dir, char *name, size_t n, uid_t *uid,
    gid_t *gid)
{
	struct passwd *pw = NULL;
	struct stat st;

	if (geteuid() != 0) {
		*uid = getuid();
		*gid = getgid();
		pw = getpwuid(*uid);
		snprintf(name, n, "%s", pw ? pw->pw_name : "nobody");
		return 0;
	}
	if (as != NULL)
		pw = getpwnam(as);
	else if (stat(dir, &st) == 0 && st.st_uid != 0)
		pw = getpwuid(st.st_uid);
	else
		pw = getpwnam("nobody");
	if (pw == NULL || pw->pw_uid == 0) {
		fprintf(stderr,
		    "keepftpd: %s: no usable (non-root) account for "
		    "sessions; use --as ACCOUNT\n",
		    as ? as : dir);
		return -1;
	}
	snprintf(name, n, "%s", pw->pw_name);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* A read-write login with a fresh password, kept in memory only. */
static char *
quick_user(const struct conf *c, const char *user, uid_t uid, gid_t gid,
    const char *dir, char *pw, size_t pwsz)
{
	unsigned char rnd[18];
	char hash[128];
	struct buf *b;
	char *out;

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2base64(pw, pwsz, rnd, sizeof(rnd),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if (auth_hash_password(pw, c->pwhash_opslimit,
		(size_t)c->pwhash_memlimit_kib * 1024, hash, sizeof(hash)) < 0)
		return NULL;
	if ((b = buf_new(4096)) == NULL)
		return NULL;
	if (buf_appendf(b, "%s:%s:%u:%u:%s:write\n", user, hash, (unsigned)uid,
		(unsigned)gid, dir) < 0) {
		buf_free(b);
		return NULL;
	}
	out = strdup(buf_cstr(b));
	buf_free(b);
	return out;
}

/*
 * The inline users text in a sealed memfd that only the monitors'
 * verifier children read; the heap copy is wiped here.
 */
static int
quick_users_fd(const struct conf *c, const char *user, uid_t uid, gid_t gid,
    const char *dir, char *pw, size_t pwsz)
{
	char *text = quick_user(c, user, uid, gid, dir, pw, pwsz);
	int fd;

	if (text == NULL)
		return -1;
	fd = sys_memfd_sealed("kf-users", text, strlen(text));
	sodium_memzero(text, strlen(text));
	free(text);
	return fd;
}

static void
print_banner(const struct conf *c, const char *dir, const char *user,
    const char *pw, const char *account)
{
	char host[ADDR_STR_MAX], url[ADDR_STR_MAX + 32];
	const struct sockaddr_storage *a = &c->listen[0].addr;
	size_t i;

	for (i = 0; i < c->listen_count; i++) {
		addr_to_str(&c->listen[i].addr, host, sizeof(host));
		snprintf(url, sizeof(url),
		    a->ss_family == AF_INET6 ? "ftp://[%s]:%u/" :
					       "ftp://%s:%u/",
		    host, addr_port(&c->listen[i].addr));
		printf("keepftpd %s: serving %s on %s\n", KF_VERSION, dir, url);
	}
	printf("  anonymous: read-only (user anonymous, any password)\n");
	if (user != NULL)
		printf("  login: %s / %s  (read-write, shown once)\n", user,
		    pw);
	if (geteuid() == 0)
		printf("  sessions run as: %s\n", account);
	addr_to_str(a, host, sizeof(host));
	printf("  try: curl %s  or  lftp -p %u %s\n", url, addr_port(a), host);
	printf("  stop: Ctrl-C\n");
	(void)fflush(stdout);
}

static int
quick_listen(struct conf *c, const char *spec, int *first)
{
	if (*first) {
		c->listen_count = 0;
		*first = 0;
	}
	if (c->listen_count >= KF_LISTEN_MAX ||
	    conf_parse_listen(spec, &c->listen[c->listen_count]) < 0) {
		fprintf(stderr,
		    "keepftpd: --listen %s: expected ADDR:PORT "
		    "or [V6ADDR]:PORT\n",
		    spec);
		return -1;
	}
	c->listen_count++;
	return 0;
}

static int
quick_ports(struct conf *c, const char *spec)
{
	struct conf_errors e;
	char lo[16], hi[16];
	const char *dash = strchr(spec, '-');
	size_t n = dash ? (size_t)(dash - spec) : 0;

	memset(&e, 0, sizeof(e));
	if (dash == NULL || n == 0 || n >= sizeof(lo) ||
	    strlen(dash + 1) >= sizeof(hi)) {
		fprintf(stderr, "keepftpd: --pasv-ports %s: expected MIN-MAX\n",
		    spec);
		return -1;
	}
	memcpy(lo, spec, n);
	lo[n] = '\0';
	snprintf(hi, sizeof(hi), "%s", dash + 1);
	if (conf_set(c, "pasv_min_port", lo, "--pasv-ports", &e) < 0 ||
	    conf_set(c, "pasv_max_port", hi, "--pasv-ports", &e) < 0) {
		print_errors(&e);
		return -1;
	}
	return 0;
}

static int
serve_main(int argc, char **argv)
{
	static struct listener L;
	const char *dir = ".", *user = NULL, *as = NULL;
	char root[PATH_MAX], account[64], pw[64];
	struct conf_errors e;
	int i, first = 1;
	uid_t uid;
	gid_t gid;

	conf_defaults(&L.conf);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
			usage(0);
		if (a[0] != '-') {
			dir = a;
			continue;
		}
		if (v == NULL)
			usage(2);
		i++;
		if (strcmp(a, "--listen") == 0) {
			if (quick_listen(&L.conf, v, &first) < 0)
				return 2;
		} else if (strcmp(a, "--user") == 0)
			user = v;
		else if (strcmp(a, "--as") == 0)
			as = v;
		else if (strcmp(a, "--pasv-ports") == 0) {
			if (quick_ports(&L.conf, v) < 0)
				return 2;
		} else if (strcmp(a, "-o") == 0 &&
		    noverrides < KF_CONF_ARGS_MAX)
			overrides[noverrides++] = v;
		else
			usage(2);
	}
	if (realpath(dir, root) == NULL || strlen(root) > KF_CONF_VALUE_MAX) {
		fprintf(stderr, "keepftpd: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	if (quick_account(as, root, account, sizeof(account), &uid, &gid) < 0)
		return 1;
	memset(&e, 0, sizeof(e));
	if (conf_set(&L.conf, "anonymous_enable", "yes", "serve", &e) < 0 ||
	    conf_set(&L.conf, "anon_root", root, "serve", &e) < 0 ||
	    conf_set(&L.conf, "anon_user", account, "serve", &e) < 0 ||
	    apply_overrides(&L.conf, &e) < 0 || conf_check(&L.conf, &e) < 0 ||
	    conf_check_files(&L.conf, &e) < 0 || load_owner(&L.conf, &e) < 0) {
		print_errors(&e);
		return 2;
	}
	L.inline_fd = -1;
	L.upgrade_fd = -1;
	if (upgrade_fd >= 0)
		close(upgrade_fd); /* quick mode is never upgraded */
	if (user != NULL &&
	    (L.inline_fd = quick_users_fd(&L.conf, user, uid, gid, root, pw,
		 sizeof(pw))) < 0) {
		fprintf(stderr,
		    "keepftpd: --user %s: cannot create the login\n", user);
		return 1;
	}
	setup_log(&L.conf);
	if (listener_bind(&L) < 0)
		return 1;
	print_banner(&L.conf, root, user, pw, account);
	sodium_memzero(pw, sizeof(pw));
	running = 1;
	return listener_run(&L) == 0 ? 0 : 1;
}

/*
 * Every descriptor but 0-2 that the parent left open (`keepftpd -c conf
 * 7</etc/shadow`) is closed before anything here opens a file, so that
 * no listener, monitor, worker or relay inherits one. Without
 * close_range (Linux < 5.9), one close per possible descriptor.
 */
static void
close_inherited(unsigned first)
{
	struct rlimit rl;
	unsigned fd;

	if (close_range(first, ~0U, 0) == 0)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > (1U << 20))
		rl.rlim_cur = 1U << 20;
	for (fd = first; fd < rl.rlim_cur; fd++)
		(void)close((int)fd);
}

int
main(int argc, char **argv)
{
	int i, check = 0;

	if (argc > 1 && strcmp(argv[1], CONF_CHILD_ARG) == 0)
		return conf_child_main(argc, argv);
	main_argv = argv;
	/*
	 * the sockets a service manager passed (3, 4, ...) stay, or, under
	 * `keepftpd upgrade`, the hand-over channel at 3
	 */
	if ((upgrade_fd = upgrade_env_fd()) >= 0)
		close_inherited(UPGRADE_FD + 1);
	else
		close_inherited(3 + (unsigned)notify_passed_count());
	if (sodium_init() < 0) {
		fprintf(stderr, "keepftpd: libsodium failed to initialise\n");
		return 1;
	}
	if (argc > 1 && strcmp(argv[1], "serve") == 0)
		return serve_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "user") == 0)
		return users_cli(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "quota") == 0)
		return quota_cli(argc - 1, argv + 1);
	if (argc > 1 &&
	    (strcmp(argv[1], "ban") == 0 || strcmp(argv[1], "upgrade") == 0))
		return admin_cli(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "who") == 0)
		return admin_who_cli(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "kick") == 0)
		return admin_kick_cli(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "migrate") == 0)
		return migrate_cli(argc - 1, argv + 1);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-t") == 0)
			check = 1;
		else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			conf_path = argv[++i];
		else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc &&
		    noverrides < KF_CONF_ARGS_MAX)
			overrides[noverrides++] = argv[++i];
		else if (strcmp(argv[i], "--config-doc") == 0) {
			conf_print_doc(STDOUT_FILENO);
			return 0;
		} else if (strcmp(argv[i], "--config-example") == 0) {
			conf_print_example(STDOUT_FILENO);
			return 0;
		} else if (strcmp(argv[i], "--config-man") == 0) {
			conf_print_man(STDOUT_FILENO, KF_VERSION, KF_MAN_DATE);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			/* OpenSSL: keepftpd-worker's; this image has none */
			printf("keepftpd %s\nbuilt with %s; libsodium %s\n%s\n",
			    KF_VERSION, OPENSSL_VERSION_TEXT,
			    sodium_version_string(), SYSTEMD_FEATURE);
			return 0;
		} else if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0)
			usage(0);
		else
			usage(2);
	}
	if (conf_path == NULL && check) {
		fprintf(stderr,
		    "keepftpd -t: no configuration file to check; "
		    "give -c FILE\n");
		return 2;
	}
	if (conf_path == NULL)
		usage(2);
	return config_main(check);
}
