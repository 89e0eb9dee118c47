/*
 * quota_cli.c - `keepftpd quota [-c CONF] [-f USERS] [-d DIR] NAME
 * [--recompute]`: shows a user's recorded usage against the quota, or
 * recomputes it from the user's home: a bounded walk that never follows
 * a symlink (quota_walk), written in place under the same lock the
 * sessions take, so a recompute and running uploads do not lose counts.
 * Runs in: keepftpd quota command (as root or the server's account).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../auth/users.h"
#include "../common/limits.h"
#include "../conf/conf.h"
#include "quota.h"
#include "quota_cli.h"

struct qopts {
	const char *conf;
	const char *users;
	const char *dir;
	const char *name;
	int recompute;
};

static int
usage(void)
{
	fprintf(stderr,
	    "usage: keepftpd quota [-c CONF] [-f USERS_FILE] "
	    "[-d QUOTA_DIR] NAME [--recompute]\n");
	return 2;
}

static int
parse(struct qopts *o, int argc, char **argv)
{
	int i;

	memset(o, 0, sizeof(*o));
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--recompute") == 0)
			o->recompute = 1;
		else if (a[0] != '-' && o->name == NULL)
			o->name = a;
		else if (v == NULL)
			return -1;
		else if (strcmp(a, "-c") == 0)
			o->conf = v, i++;
		else if (strcmp(a, "-f") == 0)
			o->users = v, i++;
		else if (strcmp(a, "-d") == 0)
			o->dir = v, i++;
		else
			return -1;
	}
	return o->name != NULL ? 0 : -1;
}

/* The configuration's users_file and quota_dir, unless given. */
static int
settle_paths(struct qopts *o, struct conf *c)
{
	struct conf_errors e;
	size_t i;

	memset(&e, 0, sizeof(e));
	conf_defaults(c);
	if (o->conf != NULL && conf_load(c, o->conf, &e) < 0) {
		for (i = 0; i < e.count && i < 16; i++)
			fprintf(stderr, "%s\n", e.msg[i]);
		return -1;
	}
	if (o->users == NULL)
		o->users = c->users_file;
	if (o->dir == NULL)
		o->dir = c->quota_dir;
	if (o->users[0] == '\0') {
		fprintf(stderr, "keepftpd quota: no users file (-f or -c)\n");
		return -1;
	}
	return 0;
}

static int
find_user(const struct qopts *o, struct users_entry *e)
{
	const char *err = "";
	size_t len, line = 0;
	char *text;
	int r;

	if ((r = users_load(o->users, &text, &len)) < 0) {
		fprintf(stderr, "keepftpd quota: %s: %s\n", o->users,
		    strerror(-r));
		return -1;
	}
	r = users_find(text, len, o->name, e, &line, &err);
	users_unload(text);
	if (r < 0)
		fprintf(stderr, "%s:%zu: %s\n", o->users, line, err);
	else if (r == 0)
		fprintf(stderr, "keepftpd quota: no user %s in %s\n", o->name,
		    o->users);
	return r == 1 ? 0 : -1;
}

static int
recompute(const struct users_entry *e, int fd, struct quota_usage *u)
{
	int home, r;

	if ((home = open(e->home, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "keepftpd quota: %s: %s\n", e->home,
		    strerror(errno));
		return -1;
	}
	r = quota_walk(home, KF_QUOTA_DEPTH_MAX, KF_QUOTA_ENTRIES_MAX, u);
	close(home);
	if (r == -ELOOP)
		fprintf(stderr, "keepftpd quota: %s: deeper than %d levels\n",
		    e->home, KF_QUOTA_DEPTH_MAX);
	else if (r == -E2BIG)
		fprintf(stderr, "keepftpd quota: %s: more than %d entries\n",
		    e->home, KF_QUOTA_ENTRIES_MAX);
	else if (r < 0)
		fprintf(stderr, "keepftpd quota: walking %s: %s\n", e->home,
		    strerror(-r));
	else if ((r = quota_write(fd, u)) < 0 || fsync(fd) < 0)
		fprintf(stderr, "keepftpd quota: writing the usage: %s\n",
		    strerror(r < 0 ? -r : errno));
	else
		return 0;
	return -1;
}

static int
run(const struct qopts *o, const struct users_entry *e)
{
	struct quota_usage u = { 0, 0 };
	int fd, r;

	if ((fd = quota_open(o->dir, e->name)) < 0) {
		fprintf(stderr, "keepftpd quota: %s/%s: %s\n", o->dir, e->name,
		    strerror(-fd));
		return 1;
	}
	if (quota_lock(fd) < 0) {
		close(fd);
		return 1;
	}
	if (o->recompute)
		r = recompute(e, fd, &u) < 0 ? -1 : 1;
	else
		r = quota_read(fd, &u);
	quota_unlock(fd);
	close(fd);
	if (r < 0)
		return 1;
	if (r == 0)
		printf("%s: no usage recorded yet (counted at the next login, "
		       "or with --recompute)\n",
		    e->name);
	else
		printf("%s bytes=%llu files=%llu quota_bytes=%llu "
		       "quota_files=%llu\n",
		    e->name, (unsigned long long)u.bytes,
		    (unsigned long long)u.files,
		    (unsigned long long)e->quota_bytes,
		    (unsigned long long)e->quota_files);
	return 0;
}

int
quota_cli(int argc, char **argv)
{
	static struct conf c;
	struct users_entry e;
	struct qopts o;

	if (argc < 1 || strcmp(argv[0], "quota") != 0 ||
	    parse(&o, argc, argv) < 0)
		return usage();
	if (settle_paths(&o, &c) < 0 || find_user(&o, &e) < 0)
		return 1;
	return run(&o, &e);
}
