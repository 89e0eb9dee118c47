/*
 * users_cli.c - `keepftpd user add|passwd|del|list`: edits the virtual
 * users file under an exclusive lock, atomically (temporary file,
 * fsync, rename, fsync of the directory), or, with users_backend =
 * postgresql, the rows of keepftpd_users (users_pgcli.c). Passwords come from the
 * terminal with echo off, or from the first line of stdin; never from
 * the command line.
 * Runs in: keepftpd user command.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "../common/buf.h"
#include "../common/cursor.h"
#include "../common/sys.h"
#include "auth.h"
#include "hours.h"
#include "users.h"
#include "users_pgcli.h"

#define DEFAULT_CONF "/etc/keepftpd/keepftpd.conf"
#define ID_MAX	     4294967294ULL

enum cmd { CMD_NONE, CMD_ADD, CMD_PASSWD, CMD_DEL, CMD_LIST, CMD_SET };

/* --down-rate, --up-rate, --quota-bytes, --quota-files: users-file flags. */
struct limit_opt {
	const char *opt;
	unsigned bit;
	uint64_t max;
};

static const struct limit_opt limit_opts[] = {
	{ "--down-rate", USERS_FLAG_DOWN_RATE, USERS_RATE_MAX },
	{ "--up-rate", USERS_FLAG_UP_RATE, USERS_RATE_MAX },
	{ "--quota-bytes", USERS_FLAG_QUOTA_BYTES, USERS_QUOTA_MAX },
	{ "--quota-files", USERS_FLAG_QUOTA_FILES, USERS_QUOTA_MAX },
	{ "--max-sessions", USERS_FLAG_MAX_SESSIONS, KF_USER_SESSIONS_MAX },
};
#define LIMIT_OPTS (sizeof(limit_opts) / sizeof(limit_opts[0]))

struct opts {
	enum cmd cmd;
	const char *file;
	const char *conf; /* -c: pwhash_opslimit, pwhash_memlimit_kib */
	const char *name;
	const char *home;
	const char *uid;
	const char *gid;
	int write;
	const char *allow_from; /* LIST, ',' or ';' between addresses */
	const char *deny_from;
	int tls;
	unsigned long ops; /* 0: the configuration's */
	unsigned long mem_kib;
	int add_only; /* an add-only option was given */
	const char *folders; /* --folders LIST: ',' or ';' between; "": none */
	unsigned limit_bits; /* limit options given */
	uint64_t limit[LIMIT_OPTS]; /* their values */
	/* --perm PATH:PERMS and --no-perm PATH (add, set) */
	const char *perm[KF_PERM_RULES_MAX];
	size_t nperm;
	const char *noperm[KF_PERM_RULES_MAX];
	size_t nnoperm;
	int use_pg; /* users_backend = postgresql and no -f */
	struct users_pgcli pg;
	/* per-user limits: --umask, --login-hours, --fxp / --no-fxp */
	const char *umask; /* OOO, or "none" */
	const char *login_hours; /* SPEC, or "none" */
	int fxp; /* 1: --fxp, -1: --no-fxp, 0: unchanged */
};

static int
usage(void)
{
	fprintf(stderr,
	    "usage: keepftpd user [-c CONF] [-f FILE] add NAME "
	    "--home DIR [--uid UID] [--gid GID] [--write] [--tls]\n"
	    "\t\t[--allow-from LIST] [--deny-from LIST]\n"
	    "\t\t[--opslimit N] [--memlimit-kib N] [LIMITS]\n"
	    "       keepftpd user [-c CONF] [-f FILE] set NAME LIMITS\n"
	    "PERMS (add, set; repeatable): [--perm PATH:PERMS] "
	    "[--no-perm PATH]\n"
	    "  PERMS: list,download,upload,overwrite,delete,rename,mkdir,"
	    "rmdir,chmod,mtime, * or none\n"
	    "       keepftpd user [-c CONF] [-f FILE] passwd NAME\n"
	    "       keepftpd user [-c CONF] [-f FILE] del NAME\n"
	    "       keepftpd user [-c CONF] [-f FILE] list\n"
	    "LIMITS: [--down-rate B/S] [--up-rate B/S] [--quota-bytes N] "
	    "[--quota-files N] [--max-sessions N] (0: none)\n"
	    "\t[--folders NAME,... (\"\": none)]\n"
	    "\t[--umask OOO|none] [--login-hours SPEC|none] [--fxp|--no-fxp]\n"
	    "SPEC: \"Mon-Fri 08:00-18:00,Sat 09:00-12:00\" (server local "
	    "time)\n"
	    "The argon2id cost is pwhash_opslimit and pwhash_memlimit_kib of "
	    "CONF\n(default " DEFAULT_CONF ", when it exists), unless "
	    "--opslimit or --memlimit-kib say else.\n"
	    "FILE: -f, else the users_file of CONF; there is no other "
	    "default.\n"
	    "With users_backend = postgresql in CONF (and no -f), the users "
	    "are\nrows of keepftpd_users in the pg_conninfo database.\n");
	return 2;
}

static int
cmd_of(const char *s)
{
	if (strcmp(s, "add") == 0)
		return CMD_ADD;
	if (strcmp(s, "passwd") == 0)
		return CMD_PASSWD;
	if (strcmp(s, "del") == 0)
		return CMD_DEL;
	if (strcmp(s, "list") == 0)
		return CMD_LIST;
	if (strcmp(s, "set") == 0)
		return CMD_SET;
	return -1;
}

static int
opt_ulong(const char *s, unsigned long lo, unsigned long hi, unsigned long *v)
{
	uint64_t u;

	if (s == NULL || parse_u64(s, hi, &u) < 0 || u < lo)
		return -1;
	*v = (unsigned long)u;
	return 0;
}

/* A rate or quota option: 0, 1 when k is not one, -1 for a bad value. */
static int
limit_opt(struct opts *o, const char *k, const char *v)
{
	uint64_t x;
	size_t i;

	for (i = 0; i < LIMIT_OPTS; i++) {
		if (strcmp(k, limit_opts[i].opt) != 0)
			continue;
		if (parse_u64(v, limit_opts[i].max, &x) < 0) {
			fprintf(stderr, "keepftpd user: %s: 0..%llu\n", k,
			    (unsigned long long)limit_opts[i].max);
			return -1;
		}
		o->limit_bits |= limit_opts[i].bit;
		o->limit[i] = x;
		return 0;
	}
	return 1;
}

/*
 * --folders: the names (',' or ';' between) into e->folders, checked as
 * the users file's parser checks them; "" clears. 0, or -1 (said).
 */
static int
apply_folders(const char *list, struct users_entry *e)
{
	size_t n = strlen(list), i, start = 0;

	if (n > KF_FOLDERS_LIST_MAX)
		goto bad;
	for (i = 0; n > 0 && i <= n; i++) {
		if (i < n && list[i] != ',' && list[i] != ';')
			continue;
		if (!conf_folder_name_ok(list + start, i - start))
			goto bad;
		start = i + 1;
	}
	for (i = 0; i < n; i++)
		e->folders[i] = list[i] == ';' ? ',' : list[i];
	e->folders[n] = '\0';
	return 0;
bad:
	fprintf(stderr,
	    "keepftpd user: --folders %s: folder names (letters, digits, "
	    "'_', '-'; at most %d bytes each) separated by ','\n",
	    list, KF_FOLDER_NAME_MAX);
	return -1;
}

/* The limits given on the command line, into e's flags. */
static void
apply_limits(const struct opts *o, struct users_entry *e)
{
	uint64_t *field[LIMIT_OPTS] = { &e->down_rate, &e->up_rate,
		&e->quota_bytes, &e->quota_files, &e->max_sessions };
	size_t i;

	for (i = 0; i < LIMIT_OPTS; i++) {
		if (!(o->limit_bits & limit_opts[i].bit))
			continue;
		e->flags |= limit_opts[i].bit;
		*field[i] = o->limit[i];
	}
}

/* --perm / --no-perm: 0, 1 when k is neither, -1 when too many. */
static int
perm_opt(struct opts *o, const char *k, const char *v)
{
	const char **to;
	size_t *n;

	if (strcmp(k, "--perm") == 0)
		to = o->perm, n = &o->nperm;
	else if (strcmp(k, "--no-perm") == 0)
		to = o->noperm, n = &o->nnoperm;
	else
		return 1;
	if (*n >= KF_PERM_RULES_MAX) {
		fprintf(stderr, "keepftpd user: at most %d %s options\n",
		    KF_PERM_RULES_MAX, k);
		return -1;
	}
	to[(*n)++] = v;
	return 0;
}

/*
 * The --no-perm then --perm options applied to e's rules; a bad rule,
 * a rule that is not there or one too many is said: -1.
 */
static int
apply_perms(const struct opts *o, struct users_entry *e)
{
	struct perm_rule r;
	size_t i;

	for (i = 0; i < o->nnoperm; i++)
		if (perm_set_del(&e->perms, o->noperm[i]) < 0) {
			fprintf(stderr, "keepftpd user: no rule for %s\n",
			    o->noperm[i]);
			return -1;
		}
	for (i = 0; i < o->nperm; i++) {
		if (perm_parse_rule(o->perm[i], strlen(o->perm[i]), &r) < 0) {
			fprintf(stderr,
			    "keepftpd user: --perm %s: not PATH:PERMS (a clean "
			    "absolute path; see docs/PERMISSIONS.md)\n",
			    o->perm[i]);
			return -1;
		}
		if (perm_set_put(&e->perms, &r) < 0) {
			fprintf(stderr, "keepftpd user: at most %d rules\n",
			    KF_PERM_RULES_MAX);
			return -1;
		}
	}
	return 0;
}

/* Any option that `set` changes (rates, quotas, per-user limits). */
static int
ulimits_given(const struct opts *o)
{
	return o->limit_bits != 0 || o->umask != NULL ||
	    o->login_hours != NULL || o->fxp != 0;
}

/* --umask OOO (octal, 000..777) or "none": into e. */
static int
apply_umask(const char *v, struct users_entry *e)
{
	struct cursor c;
	uint64_t x;

	if (strcmp(v, "none") == 0) {
		e->flags &= ~USERS_FLAG_UMASK;
		e->umask = 0;
		return 0;
	}
	cursor_init_str(&c, v);
	if (strlen(v) == 0 || strlen(v) > 4 ||
	    cursor_u64_base(&c, 8, 0777, &x) < 0 || !cursor_eof(&c)) {
		fprintf(stderr,
		    "keepftpd user: --umask %s: octal, 000 to 777\n", v);
		return -1;
	}
	e->umask = (unsigned)x;
	e->flags |= USERS_FLAG_UMASK;
	return 0;
}

/* --login-hours SPEC (',' or ';' between windows) or "none": into e. */
static int
apply_hours(const char *v, struct users_entry *e)
{
	const char *err = "";
	struct hours h;
	size_t n = strlen(v), i;

	e->login_hours[0] = '\0';
	if (strcmp(v, "none") == 0)
		return 0;
	if (hours_parse(v, n, &h, &err) < 0) {
		fprintf(stderr, "keepftpd user: --login-hours '%s': %s\n", v,
		    err);
		return -1;
	}
	/* the users file separates flags with ',': windows with ';' */
	for (i = 0; i < n; i++)
		e->login_hours[i] = v[i] == ',' ? ';' : v[i];
	e->login_hours[n] = '\0';
	return 0;
}

/* The per-user limits given on the command line, into e. */
static int
apply_ulimits(const struct opts *o, struct users_entry *e)
{
	if (o->umask != NULL && apply_umask(o->umask, e) < 0)
		return -1;
	if (o->login_hours != NULL && apply_hours(o->login_hours, e) < 0)
		return -1;
	if (o->fxp > 0)
		e->flags |= USERS_FLAG_FXP;
	else if (o->fxp < 0)
		e->flags &= ~USERS_FLAG_FXP;
	return 0;
}

/* One option with its argument at argv[*i + 1]; -1 on a usage error. */
static int
parse_opt(struct opts *o, int argc, char **argv, int *i)
{
	const char *k = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
	int r;

	if (strcmp(k, "--write") == 0)
		return o->write = o->add_only = 1, 0;
	if (strcmp(k, "--tls") == 0)
		return o->tls = o->add_only = 1, 0;
	if (strcmp(k, "--fxp") == 0 || strcmp(k, "--no-fxp") == 0)
		return o->fxp = k[2] == 'f' ? 1 : -1, 0;
	if (v == NULL)
		return -1;
	(*i)++;
	if (strcmp(k, "--umask") == 0)
		return o->umask = v, 0;
	if (strcmp(k, "--login-hours") == 0)
		return o->login_hours = v, 0;
	if (strcmp(k, "-f") == 0)
		return o->file = v, 0;
	if (strcmp(k, "-c") == 0)
		return o->conf = v, 0;
	if ((r = limit_opt(o, k, v)) <= 0)
		return r;
	if ((r = perm_opt(o, k, v)) <= 0)
		return r;
	if (strcmp(k, "--folders") == 0)
		return o->folders = v, 0;
	o->add_only = 1;
	if (strcmp(k, "--home") == 0)
		return o->home = v, 0;
	if (strcmp(k, "--uid") == 0)
		return o->uid = v, 0;
	if (strcmp(k, "--gid") == 0)
		return o->gid = v, 0;
	if (strcmp(k, "--allow-from") == 0)
		return o->allow_from = v, 0;
	if (strcmp(k, "--deny-from") == 0)
		return o->deny_from = v, 0;
	if (strcmp(k, "--opslimit") == 0)
		return opt_ulong(v, 1, 20, &o->ops);
	if (strcmp(k, "--memlimit-kib") == 0)
		return opt_ulong(v, 8, 4194304, &o->mem_kib);
	return -1;
}

static int
parse_word(struct opts *o, const char *w)
{
	int c;

	if (o->cmd == CMD_NONE) {
		if ((c = cmd_of(w)) < 0)
			return -1;
		o->cmd = (enum cmd)c;
		return 0;
	}
	if (o->name != NULL || o->cmd == CMD_LIST)
		return -1;
	o->name = w;
	return 0;
}

static int
parse_args(struct opts *o, int argc, char **argv)
{
	int i;

	memset(o, 0, sizeof(*o));
	for (i = 1; i < argc; i++) {
		if (argv[i][0] == '-' ? parse_opt(o, argc, argv, &i) < 0 :
					parse_word(o, argv[i]) < 0)
			return -1;
	}
	if (o->cmd == CMD_NONE || (o->cmd != CMD_LIST && o->name == NULL))
		return -1;
	if (o->cmd != CMD_ADD && o->add_only)
		return -1;
	if (o->cmd == CMD_ADD && o->home == NULL)
		return -1;
	if (ulimits_given(o) && o->cmd != CMD_ADD && o->cmd != CMD_SET)
		return -1;
	if ((o->nperm != 0 || o->nnoperm != 0 || o->folders != NULL) &&
	    o->cmd != CMD_ADD && o->cmd != CMD_SET)
		return -1;
	if (o->cmd == CMD_SET && !ulimits_given(o) && o->nperm == 0 &&
	    o->nnoperm == 0 && o->folders == NULL)
		return -1;
	return 0;
}

/* ---- passwords ---- */

/* One line from fd, byte by byte (so nothing after it is consumed). */
static int
read_line(int fd, char *out, size_t outsz)
{
	size_t n = 0;
	ssize_t r;
	char ch;

	while ((r = sys_read(fd, &ch, 1)) == 1 && ch != '\n') {
		if (n + 1 >= outsz)
			return -EMSGSIZE;
		out[n++] = ch;
	}
	if (r < 0)
		return -errno;
	if (n > 0 && out[n - 1] == '\r')
		n--;
	out[n] = '\0';
	return (int)n;
}

static int
prompt(const char *what, char *out, size_t outsz)
{
	struct termios old, quiet;
	int r;

	fprintf(stderr, "%s", what);
	if (tcgetattr(0, &old) < 0)
		return -errno;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	if (tcsetattr(0, TCSAFLUSH, &quiet) < 0)
		return -errno;
	r = read_line(0, out, outsz);
	(void)tcsetattr(0, TCSAFLUSH, &old);
	fprintf(stderr, "\n");
	return r;
}

static int
check_pass(int r, const char *pass)
{
	if (r == -EMSGSIZE || r > KF_PASS_MAX) {
		fprintf(stderr,
		    "keepftpd user: password longer than %d "
		    "bytes\n",
		    KF_PASS_MAX);
		return -1;
	}
	if (r < 0) {
		fprintf(stderr, "keepftpd user: reading password: %s\n",
		    strerror(-r));
		return -1;
	}
	if (r == 0 || strlen(pass) != (size_t)r) {
		fprintf(stderr, "keepftpd user: empty or invalid password\n");
		return -1;
	}
	return 0;
}

static int
get_password(char *pass, size_t passsz)
{
	char again[KF_PASS_MAX + 2];
	int r;

	if (!isatty(0))
		return check_pass(read_line(0, pass, passsz), pass);
	if (check_pass(prompt("Password: ", pass, passsz), pass) < 0)
		return -1;
	r = prompt("Again: ", again, sizeof(again));
	if (r < 0 || strcmp(again, pass) != 0) {
		sodium_memzero(again, sizeof(again));
		fprintf(stderr, "keepftpd user: passwords differ\n");
		return -1;
	}
	sodium_memzero(again, sizeof(again));
	return 0;
}

static int
new_hash(const struct opts *o, char *out, size_t outsz)
{
	char pass[KF_PASS_MAX + 2];
	int r;

	if (get_password(pass, sizeof(pass)) < 0) {
		sodium_memzero(pass, sizeof(pass));
		return -1;
	}
	r = auth_hash_password(pass, o->ops, (size_t)o->mem_kib * 1024, out,
	    outsz);
	sodium_memzero(pass, sizeof(pass));
	if (r < 0)
		fprintf(stderr,
		    "keepftpd user: hashing failed (out of "
		    "memory?)\n");
	return r;
}

/* ---- uid / gid ---- */

static int
resolve_id(const char *s, int is_group, unsigned long *out)
{
	struct passwd *pw;
	struct group *gr;
	uint64_t v;

	if (parse_u64(s, ID_MAX, &v) == 0)
		*out = (unsigned long)v;
	else if (!is_group && (pw = getpwnam(s)) != NULL)
		*out = pw->pw_uid;
	else if (is_group && (gr = getgrnam(s)) != NULL)
		*out = gr->gr_gid;
	else {
		fprintf(stderr, "keepftpd user: unknown %s: %s\n",
		    is_group ? "group" : "user", s);
		return -1;
	}
	if (*out == 0) {
		fprintf(stderr,
		    "keepftpd user: %s 0 refused (sessions never "
		    "run as root)\n",
		    is_group ? "gid" : "uid");
		return -1;
	}
	return 0;
}

static int
pick_id(const char *s, int is_group, unsigned long *out)
{
	if (s != NULL)
		return resolve_id(s, is_group, out);
	if (geteuid() == 0) {
		fprintf(stderr,
		    "keepftpd user: running as root: give --uid "
		    "and --gid\n");
		return -1;
	}
	*out = is_group ? (unsigned long)getgid() : (unsigned long)getuid();
	if (*out == 0) {
		fprintf(stderr, "keepftpd user: give --uid and --gid\n");
		return -1;
	}
	return 0;
}

/* ---- file edits ---- */

static int
lock_file(const char *file)
{
	int fd;

	if ((fd = users_lock(file, 1)) < 0)
		fprintf(stderr, "keepftpd user: lock %s.lock: %s\n", file,
		    strerror(errno));
	return fd;
}

static int
sync_dir(const char *file)
{
	char copy[KF_PATH_MAX + 1];
	size_t n = strlen(file);
	int fd, r;

	if (n >= sizeof(copy))
		return -1;
	memcpy(copy, file, n + 1);
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

static int
write_tmp(int fd, const struct buf *b)
{
	if (fchmod(fd, 0600) < 0 ||
	    sys_write_all(fd, buf_data(b), buf_len(b)) < 0 || fsync(fd) < 0)
		return -1;
	return 0;
}

static int
replace_file(const char *file, const struct buf *b)
{
	char tmp[KF_PATH_MAX + 32];
	int fd, r;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", file) >=
	    sizeof(tmp))
		return -1;
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		fprintf(stderr, "keepftpd user: %s: %s\n", tmp,
		    strerror(errno));
		return -1;
	}
	r = write_tmp(fd, b);
	if (close(fd) < 0)
		r = -1;
	if (r == 0 && rename(tmp, file) < 0)
		r = -1;
	if (r < 0) {
		fprintf(stderr, "keepftpd user: writing %s: %s\n", file,
		    strerror(errno));
		unlink(tmp);
		return -1;
	}
	(void)sync_dir(file);
	return 0;
}

/* Current file text (empty when missing and missing_ok). */
static int
load(const char *file, int missing_ok, char **text, size_t *len)
{
	int r;

	if ((r = users_load(file, text, len)) == 0)
		return 0;
	if (r == -ENOENT && missing_ok)
		return users_empty(text, len);
	fprintf(stderr, "keepftpd user: %s: %s\n", file, strerror(-r));
	return -1;
}

/*
 * Copies text to out, replacing the line of e->name by e (passwd) or
 * dropping it (del: repl NULL). Returns 1 when the name was found.
 */
static int
rewrite(const char *file, const char *text, size_t len, const char *name,
    const struct users_entry *repl, struct buf *out)
{
	struct users_entry e;
	const char *p = text, *end = text + len, *line, *err = "";
	size_t n, no = 0;
	int r, found = 0;

	while (users_next_line(&p, end, &line, &n)) {
		no++;
		if ((r = users_parse_line(line, n, &e, &err)) < 0) {
			fprintf(stderr, "%s:%zu: %s\n", file, no, err);
			return -1;
		}
		if (r == 1 && strcmp(e.name, name) == 0) {
			found = 1;
			if (repl != NULL && users_format_line(repl, out) < 0) {
				fprintf(stderr,
				    "keepftpd user: %s: the line "
				    "would be longer than %d bytes\n",
				    name, KF_USERS_LINE_MAX);
				return -1;
			}
			continue;
		}
		if (buf_append(out, line, n) < 0 ||
		    buf_append(out, "\n", 1) < 0)
			return -1;
	}
	return found;
}

/* ---- subcommands ---- */

/* The name and home of a new user, said plainly before the line is built. */
static int
check_name_home(const struct opts *o)
{
	const char *why = NULL;
	struct stat st;

	if (!users_valid_name(o->name, strlen(o->name))) {
		fprintf(stderr,
		    "keepftpd user: '%s' is not a valid user name "
		    "(1 to %d of A-Z a-z 0-9 . _ @ -, not starting with . "
		    "or -)\n",
		    o->name, KF_USER_MAX);
		return -1;
	}
	if (o->home[0] != '/') {
		fprintf(stderr,
		    "keepftpd user: --home %s: not an absolute "
		    "path\n",
		    o->home);
		return -1;
	}
	if (stat(o->home, &st) < 0)
		why = strerror(errno);
	else if (!S_ISDIR(st.st_mode))
		why = "not a directory";
	if (why != NULL) {
		fprintf(stderr,
		    "keepftpd user: --home %s: %s (the user's "
		    "root must be an existing directory)\n",
		    o->home, why);
		return -1;
	}
	return 0;
}

static int
build_entry(const struct opts *o, struct users_entry *e)
{
	struct buf *b;
	const char *err = "", *sep;
	unsigned long uid, gid;
	int r = -1;

	if (check_name_home(o) < 0)
		return -1;
	if (pick_id(o->uid, 0, &uid) < 0 || pick_id(o->gid, 1, &gid) < 0)
		return -1;
	if ((b = buf_new(KF_USERS_LINE_MAX + 2)) == NULL)
		return -1;
	sep = o->write || o->tls ? "," : "";
	/* an empty --allow-from "" is written, and refused by the parser */
	if (buf_appendf(b, "%s:$argon2id$x:%lu:%lu:%s:%s", o->name, uid, gid,
		o->home,
		o->write && o->tls ? "write,tls" :
		    o->write	   ? "write" :
		    o->tls	   ? "tls" :
				     "") < 0 ||
	    users_format_addrs(b, &sep, "allow_from", o->allow_from) < 0 ||
	    users_format_addrs(b, &sep, "deny_from", o->deny_from) < 0)
		err = "line too long";
	else
		r = users_parse_line(buf_data(b), buf_len(b), e, &err);
	if (r != 1)
		fprintf(stderr, "keepftpd user: %s\n", err);
	buf_free(b);
	if (r == 1)
		apply_limits(o, e);
	if (r == 1 && o->folders != NULL && apply_folders(o->folders, e) < 0)
		return -1;
	if (r == 1 && apply_ulimits(o, e) < 0)
		return -1;
	return r == 1 ? apply_perms(o, e) : -1;
}

static int
do_add(const struct opts *o, const char *text, size_t len, struct buf *out)
{
	struct users_entry e;
	int r;

	if (build_entry(o, &e) < 0)
		return -1;
	if ((r = rewrite(o->file, text, len, o->name, &e, out)) != 0) {
		if (r > 0)
			fprintf(stderr, "keepftpd user: %s exists\n", o->name);
		return -1;
	}
	if (new_hash(o, e.hash, sizeof(e.hash)) < 0)
		return -1;
	return users_format_line(&e, out);
}

/* The entry of o->name; a parse error or a missing user is said, -1. */
static int
find_user(const struct opts *o, const char *text, size_t len,
    struct users_entry *e)
{
	size_t no = 0;
	const char *err = "";
	int r;

	if ((r = users_find(text, len, o->name, e, &no, &err)) < 0)
		fprintf(stderr, "%s:%zu: %s\n", o->file, no, err);
	if (r == 0)
		fprintf(stderr, "keepftpd user: no user %s\n", o->name);
	return r == 1 ? 0 : -1;
}

static int
do_passwd(const struct opts *o, const char *text, size_t len, struct buf *out)
{
	struct users_entry e;

	if (find_user(o, text, len, &e) < 0 ||
	    new_hash(o, e.hash, sizeof(e.hash)) < 0)
		return -1;
	return rewrite(o->file, text, len, o->name, &e, out) == 1 ? 0 : -1;
}

/* set: new rate, quota and folders flags for an existing user. */
static int
do_set(const struct opts *o, const char *text, size_t len, struct buf *out)
{
	struct users_entry e;

	if (find_user(o, text, len, &e) < 0)
		return -1;
	apply_limits(o, &e);
	if (apply_perms(o, &e) < 0 ||
	    (o->folders != NULL && apply_folders(o->folders, &e) < 0) ||
	    apply_ulimits(o, &e) < 0)
		return -1;
	return rewrite(o->file, text, len, o->name, &e, out) == 1 ? 0 : -1;
}

static int
do_del(const struct opts *o, const char *text, size_t len, struct buf *out)
{
	int r;

	if ((r = rewrite(o->file, text, len, o->name, NULL, out)) == 0)
		fprintf(stderr, "keepftpd user: no user %s\n", o->name);
	return r == 1 ? 0 : -1;
}

/* "name uid gid home flags" ("-" for no flags). */
static int
list_entry(const struct users_entry *e)
{
	struct buf *b;

	if ((b = buf_new(KF_USERS_LINE_MAX)) == NULL ||
	    users_format_flags(e, b) < 0) {
		buf_free(b);
		return -1;
	}
	printf("%s %lu %lu %s %s\n", e->name, (unsigned long)e->uid,
	    (unsigned long)e->gid, e->home, buf_len(b) > 0 ? buf_cstr(b) : "-");
	buf_free(b);
	return 1;
}

static int
do_list(const struct opts *o)
{
	struct users_entry e;
	char *text;
	const char *p, *end, *line, *err = "";
	size_t n, len, no = 0;
	int r = 0;

	if (load(o->file, 0, &text, &len) < 0)
		return 1;
	p = text;
	end = text + len;
	while (r >= 0 && users_next_line(&p, end, &line, &n)) {
		no++;
		if ((r = users_parse_line(line, n, &e, &err)) < 0)
			fprintf(stderr, "%s:%zu: %s\n", o->file, no, err);
		else if (r == 1)
			r = list_entry(&e);
	}
	users_unload(text);
	/* a list lost on the way out (disk full, closed pipe) fails */
	return r < 0 || fflush(stdout) != 0 || ferror(stdout) ? 1 : 0;
}

static int
edit(const struct opts *o)
{
	struct buf *out = NULL;
	char *text = NULL;
	size_t len = 0;
	int lk, r = -1;

	if ((lk = lock_file(o->file)) < 0)
		return 1;
	if (load(o->file, o->cmd == CMD_ADD, &text, &len) < 0)
		goto done;
	if ((out = buf_new(KF_USERS_FILE_MAX)) == NULL)
		goto done;
	if (o->cmd == CMD_ADD)
		r = do_add(o, text, len, out);
	else if (o->cmd == CMD_PASSWD)
		r = do_passwd(o, text, len, out);
	else if (o->cmd == CMD_SET)
		r = do_set(o, text, len, out);
	else
		r = do_del(o, text, len, out);
	if (r == 0)
		r = replace_file(o->file, out);
done:
	buf_free(out);
	users_unload(text);
	close(lk);
	return r < 0 ? 1 : 0;
}

/*
 * The argon2id cost not given on the command line comes from the
 * configuration the server reads (-c, else DEFAULT_CONF when it
 * exists, else the defaults): one cost for the hashes made here, the
 * server's dummy hash and its rehash on login. The users file not
 * given with -f is that configuration's users_file.
 */
static int
settle_cost(struct opts *o)
{
	static struct conf c;
	struct conf_errors e;
	const char *path = o->conf;
	size_t i;

	conf_defaults(&c);
	memset(&e, 0, sizeof(e));
	if (path == NULL && access(DEFAULT_CONF, F_OK) == 0)
		path = DEFAULT_CONF;
	if (path != NULL && conf_load(&c, path, &e) < 0) {
		for (i = 0; i < e.count && i < 16; i++)
			fprintf(stderr, "%s\n", e.msg[i]);
		return -1;
	}
	if (o->ops == 0)
		o->ops = c.pwhash_opslimit;
	if (o->mem_kib == 0)
		o->mem_kib = c.pwhash_memlimit_kib;
	if (o->file == NULL && strcmp(c.users_backend, "postgresql") == 0) {
		o->use_pg = 1;
		o->pg.conninfo = c.pg_conninfo;
		o->pg.timeout = (uint32_t)c.pg_timeout;
	}
	if (o->file == NULL && c.users_file[0] != '\0')
		o->file = c.users_file;
	return 0;
}

/* ---- users_backend = postgresql (users_pgcli.c) ---- */

static int
pg_say(const struct opts *o, int r, const char *msg)
{
	if (r == PGU_OK)
		return 0;
	if (r == PGU_NOUSER)
		fprintf(stderr, "keepftpd user: no user %s\n", o->name);
	else if (r == PGU_EXISTS)
		fprintf(stderr, "keepftpd user: %s exists\n", o->name);
	else
		fprintf(stderr, "keepftpd user: users database: %s\n", msg);
	return -1;
}

static int
pg_keep(const struct users_entry *e, void *arg)
{
	*(struct users_entry *)arg = *e;
	return 0;
}

static int
pg_list_one(const struct users_entry *e, void *arg)
{
	return list_entry(e) < 0 ? -1 : 0;
}

static int
pg_run(const struct opts *o)
{
	static struct users_entry e;
	char msg[512];
	int r;

	if (o->cmd == CMD_LIST) {
		r = users_pgcli(&o->pg, PGU_OP_LIST, NULL, NULL, pg_list_one,
		    NULL, msg, sizeof(msg));
		if (r == PGU_NOUSER)
			r = PGU_OK; /* no rows: an empty list */
		return pg_say(o, r, msg) < 0 || fflush(stdout) != 0 ? 1 : 0;
	}
	if (o->cmd == CMD_DEL)
		return pg_say(o,
			   users_pgcli(&o->pg, PGU_OP_DEL, o->name, NULL, NULL,
			       NULL, msg, sizeof(msg)),
			   msg) < 0;
	if (o->cmd == CMD_ADD) {
		if (build_entry(o, &e) < 0 ||
		    new_hash(o, e.hash, sizeof(e.hash)) < 0)
			return 1;
		r = users_pgcli(&o->pg, PGU_OP_ADD, o->name, &e, NULL, NULL,
		    msg, sizeof(msg));
		sodium_memzero(&e, sizeof(e));
		return pg_say(o, r, msg) < 0;
	}
	r = users_pgcli(&o->pg, PGU_OP_GET, o->name, NULL, pg_keep, &e, msg,
	    sizeof(msg));
	if (pg_say(o, r, msg) < 0)
		return 1;
	if (o->cmd == CMD_PASSWD && new_hash(o, e.hash, sizeof(e.hash)) < 0)
		return 1;
	if (o->cmd == CMD_SET)
		apply_limits(o, &e);
	r = users_pgcli(&o->pg, PGU_OP_PUT, o->name, &e, NULL, NULL, msg,
	    sizeof(msg));
	sodium_memzero(&e, sizeof(e));
	return pg_say(o, r, msg) < 0;
}

int
users_cli(int argc, char **argv)
{
	struct opts o;

	if (argc < 1 || strcmp(argv[0], "user") != 0 ||
	    parse_args(&o, argc, argv) < 0)
		return usage();
	if (settle_cost(&o) < 0)
		return 1;
	if (o.use_pg)
		return pg_run(&o);
	if (o.file == NULL) {
		/* as users_file, which is empty by default: no file assumed */
		fprintf(stderr,
		    "keepftpd user: which users file? Give -f FILE, "
		    "or -c CONF with users_file set (there is no default)\n");
		return 2;
	}
	if (o.cmd == CMD_LIST)
		return do_list(&o);
	return edit(&o);
}
