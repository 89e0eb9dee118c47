/*
 * list.c - directory listings: LIST (ls -l), NLST, LIST -R, MLSD, MLST
 * and LIST/NLST of wildcard arguments. Formatters are pure; the walkers
 * use only fs_open (openat, one name at a time), getdents (readdir),
 * fstatat, readlinkat and close.
 * Runs in: post-login worker.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/grow.h"
#include "../common/limits.h"
#include "glob.h"
#include "list.h"
#include "path.h"

#define SIX_MONTHS     (31556952L / 2) /* GNU ls: half a Gregorian year */
#define TIME_MAX_SHOWN 253402300799LL /* 9999-12-31 23:59:59 UTC */

/* ---- pure formatters ---- */

/*
 * One listing line, built whole in a fixed buffer and appended to the
 * listing with one copy: no printf (whose cost was a third of a
 * 10,000-entry LIST), every field with its exact width.
 */
struct fline {
	char s[2 * KF_PATH_MAX + 256]; /* name and link target */
	size_t n;
	int over;
};

static void
put_mem(struct fline *l, const char *p, size_t n)
{
	if (l->over || n > sizeof(l->s) - l->n) {
		l->over = 1;
		return;
	}
	memcpy(l->s + l->n, p, n);
	l->n += n;
}

static void
put_str(struct fline *l, const char *p)
{
	put_mem(l, p, strlen(p));
}

/* p, then spaces up to width bytes ("%-*s"). */
static void
put_left(struct fline *l, const char *p, size_t width)
{
	static const char sp[] = "                ";
	size_t n = strlen(p);

	put_mem(l, p, n);
	while (n < width) {
		size_t k = width - n < sizeof(sp) - 1 ? width - n :
							sizeof(sp) - 1;

		put_mem(l, sp, k);
		n += k;
	}
}

/* v in base 8, 10 or 16 (lower case), at least width digits, left-padded. */
static void
put_num(struct fline *l, unsigned long long v, unsigned base, size_t width,
    char pad)
{
	char d[32];
	size_t i = sizeof(d);

	do {
		d[--i] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v != 0);
	while (sizeof(d) - i < width && i > 0)
		d[--i] = pad;
	put_mem(l, d + i, sizeof(d) - i);
}

static int
put_line(struct buf *b, const struct fline *l)
{
	return l->over ? -ENAMETOOLONG : buf_append(b, l->s, l->n);
}

static void
mode_string(mode_t m, char out[11])
{
	static const char rwx[] = "rwxrwxrwx";
	int i;

	out[0] = S_ISDIR(m) ? 'd' :
	    S_ISLNK(m)	    ? 'l' :
	    S_ISFIFO(m)	    ? 'p' :
	    S_ISSOCK(m)	    ? 's' :
	    S_ISCHR(m)	    ? 'c' :
	    S_ISBLK(m)	    ? 'b' :
			      '-';
	for (i = 0; i < 9; i++)
		out[i + 1] = (m & (0400 >> i)) ? rwx[i] : '-';
	if (m & S_ISUID)
		out[3] = (m & S_IXUSR) ? 's' : 'S';
	if (m & S_ISGID)
		out[6] = (m & S_IXGRP) ? 's' : 'S';
	if (m & S_ISVTX)
		out[9] = (m & S_IXOTH) ? 't' : 'T';
	out[10] = '\0';
}

/* UTC, clamped to years 1970..9999 so every field has its width. */
static void
utc(time_t t, struct tm *tm)
{
	if (t < 0)
		t = 0;
	if ((long long)t > TIME_MAX_SHOWN)
		t = (time_t)TIME_MAX_SHOWN;
	if (gmtime_r(&t, tm) == NULL)
		memset(tm, 0, sizeof(*tm));
}

/* Two digits, or a space and a digit when pad is ' ' and v < 10. */
static char *
put2(char *p, unsigned v, char pad)
{
	p[0] = v >= 10 ? (char)('0' + v / 10 % 10) : pad;
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

/*
 * The wall clock's second, read to the nanosecond: time() reads the
 * clock of the last tick, which can still be in the second before the
 * mtime the file system just gave a file (timestamps are fine-grained
 * once someone looks at them), and that file would be listed as one
 * from the future: its year, not its time.
 */
static time_t
wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

/* "Mon dd hh:mm" or "Mon dd  yyyy": always 12 bytes and a NUL. */
static void
ls_date(time_t t, time_t now, char out[13])
{
	static const char mon[12][4] = { "Jan", "Feb", "Mar", "Apr", "May",
		"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	unsigned year;
	char *p = out;

	utc(t, &tm);
	memcpy(p, mon[(unsigned)tm.tm_mon % 12], 3);
	p[3] = ' ';
	p = put2(p + 4, (unsigned)tm.tm_mday % 100, ' ');
	*p++ = ' ';
	if (t <= now && t > now - SIX_MONTHS) {
		p = put2(p, (unsigned)tm.tm_hour % 100, '0');
		*p++ = ':';
		p = put2(p, (unsigned)tm.tm_min % 100, '0');
	} else {
		year = (unsigned)(tm.tm_year + 1900) % 10000;
		*p++ = ' ';
		p = put2(p, year / 100, '0');
		p = put2(p, year % 100, '0');
	}
	*p = '\0';
}

static const char *
id_name(const char *name, unsigned id, char *num, size_t n)
{
	if (name != NULL)
		return name;
	snprintf(num, n, "%u", id);
	return num;
}

/* A symlink target goes on a listing line: no control bytes. */
static void
defang(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* GNU ls -l: time for the last six months, the year otherwise (UTC). */
int
list_format_long(struct buf *b, const char *name, const struct stat *st,
    const char *link, const struct idmap *ids, time_t now)
{
	char mode[11], when[13], un[16], gn[16];
	struct fline l;

	l.n = 0;
	l.over = 0;
	mode_string(st->st_mode, mode);
	ls_date(st->st_mtime, now, when);
	put_mem(&l, mode, 10);
	put_mem(&l, " ", 1);
	put_num(&l, (unsigned long long)st->st_nlink, 10, 4, ' ');
	put_mem(&l, " ", 1);
	put_left(&l,
	    id_name(idmap_user(ids, st->st_uid), st->st_uid, un, sizeof(un)),
	    8);
	put_mem(&l, " ", 1);
	put_left(&l,
	    id_name(idmap_group(ids, st->st_gid), st->st_gid, gn, sizeof(gn)),
	    8);
	put_mem(&l, " ", 1);
	put_num(&l, st->st_size > 0 ? (unsigned long long)st->st_size : 0, 10,
	    12, ' ');
	put_mem(&l, " ", 1);
	put_mem(&l, when, 12);
	put_mem(&l, " ", 1);
	put_str(&l, name);
	if (link != NULL) {
		put_mem(&l, " -> ", 4);
		put_str(&l, link);
	}
	put_mem(&l, "\r\n", 2);
	return put_line(b, &l);
}

static const char *
fact_type(const struct stat *st, unsigned how)
{
	if (how & LIST_FACT_CDIR)
		return "cdir";
	if (how & LIST_FACT_PDIR)
		return "pdir";
	switch (st->st_mode & S_IFMT) {
	case S_IFREG:
		return "file";
	case S_IFDIR:
		return "dir";
	case S_IFLNK:
		return "OS.unix=symlink";
	case S_IFIFO:
		return "OS.unix=fifo";
	case S_IFSOCK:
		return "OS.unix=socket";
	case S_IFCHR:
		return "OS.unix=chr";
	case S_IFBLK:
		return "OS.unix=blk";
	}
	return "OS.unix=unknown";
}

/* rwx bits (4 2 1) that apply to uid/gid; no capability overrides them. */
static unsigned
access_bits(const struct stat *st, uid_t uid, gid_t gid)
{
	if (st->st_uid == uid)
		return (st->st_mode >> 6) & 7;
	if (st->st_gid == gid)
		return (st->st_mode >> 3) & 7;
	return st->st_mode & 7;
}

static void
perm_string(const struct stat *st, const struct list_opts *o, char *p)
{
	unsigned a = access_bits(st, o->uid, o->gid);
	int w = (o->flags & LIST_WRITABLE) != 0, ww = w && (a & 2);

	if (S_ISREG(st->st_mode)) {
		if (ww)
			*p++ = 'a';
		if (w)
			*p++ = 'd', *p++ = 'f';
		if (a & 4)
			*p++ = 'r';
		if (ww)
			*p++ = 'w';
	} else if (S_ISDIR(st->st_mode)) {
		if (ww)
			*p++ = 'c';
		if (w)
			*p++ = 'd';
		if (a & 1)
			*p++ = 'e';
		if (w)
			*p++ = 'f';
		if (a & 4)
			*p++ = 'l';
		if (ww)
			*p++ = 'm', *p++ = 'p';
	} else if (w)
		*p++ = 'd', *p++ = 'f';
	*p = '\0';
}

/* RFC 3659 7.8: the facts keepftpd knows, in the order they are sent. */
static const char *const fact_names[LIST_FACTS_N] = {
	"type",
	"size",
	"modify",
	"perm",
	"unique",
	"UNIX.mode",
	"UNIX.owner",
	"UNIX.group",
};

/* "type;size;" (OPTS MLST), case-insensitive; unknown names are dropped. */
unsigned
list_facts_parse(const char *arg)
{
	unsigned mask = 0, i;
	const char *p = arg, *semi;
	size_t n;

	while (*p != '\0') {
		semi = strchr(p, ';');
		n = semi != NULL ? (size_t)(semi - p) : strlen(p);
		for (i = 0; i < LIST_FACTS_N; i++)
			if (strlen(fact_names[i]) == n &&
			    strncasecmp(fact_names[i], p, n) == 0)
				mask |= 1U << i;
		p += n;
		if (*p == ';')
			p++;
	}
	return mask;
}

/* "type*;size*;..." for FEAT (star: selected), or the selected ones. */
int
list_facts_text(unsigned mask, int stars, char *out, size_t outsz)
{
	size_t o = 0, i;
	int n;

	out[0] = '\0';
	for (i = 0; i < LIST_FACTS_N; i++) {
		if (!stars && !(mask & (1U << i)))
			continue;
		n = snprintf(out + o, outsz - o, "%s%s;", fact_names[i],
		    stars && (mask & (1U << i)) ? "*" : "");
		if (n < 0 || (size_t)n >= outsz - o)
			return -ERANGE;
		o += (size_t)n;
	}
	return 0;
}

int
list_format_facts(struct buf *b, const char *name, const struct stat *st,
    const struct list_opts *o, unsigned how)
{
	unsigned m = o->facts != 0 ? o->facts : LIST_FACTS_ALL;
	char perm[8], un[16], gn[16];
	struct fline l;
	struct tm tm;

	l.n = 0;
	l.over = 0;
	if (how & LIST_FACT_MLST)
		put_mem(&l, " ", 1);
	if (m & LIST_F_TYPE) {
		put_mem(&l, "type=", 5);
		put_str(&l, fact_type(st, how));
		put_mem(&l, ";", 1);
	}
	if ((m & LIST_F_SIZE) && S_ISREG(st->st_mode) &&
	    !(how & (LIST_FACT_CDIR | LIST_FACT_PDIR))) {
		put_mem(&l, "size=", 5);
		put_num(&l,
		    st->st_size > 0 ? (unsigned long long)st->st_size : 0, 10,
		    1, '0');
		put_mem(&l, ";", 1);
	}
	if (m & LIST_F_MODIFY) {
		utc(st->st_mtime, &tm);
		put_mem(&l, "modify=", 7);
		put_num(&l, (unsigned)(tm.tm_year + 1900) % 10000, 10, 4, '0');
		put_num(&l, (unsigned)(tm.tm_mon + 1) % 100, 10, 2, '0');
		put_num(&l, (unsigned)tm.tm_mday % 100, 10, 2, '0');
		put_num(&l, (unsigned)tm.tm_hour % 100, 10, 2, '0');
		put_num(&l, (unsigned)tm.tm_min % 100, 10, 2, '0');
		put_num(&l, (unsigned)tm.tm_sec % 100, 10, 2, '0');
		put_mem(&l, ";", 1);
	}
	if (m & LIST_F_PERM) {
		perm_string(st, o, perm);
		put_mem(&l, "perm=", 5);
		put_str(&l, perm);
		put_mem(&l, ";", 1);
	}
	if (m & LIST_F_UNIQUE) {
		put_mem(&l, "unique=", 7);
		put_num(&l, (unsigned long long)st->st_dev, 16, 1, '0');
		put_mem(&l, "U", 1);
		put_num(&l, (unsigned long long)st->st_ino, 16, 1, '0');
		put_mem(&l, ";", 1);
	}
	if (m & LIST_F_MODE) {
		put_mem(&l, "UNIX.mode=", 10);
		put_num(&l, (unsigned)(st->st_mode & 07777), 8, 4, '0');
		put_mem(&l, ";", 1);
	}
	if (m & LIST_F_OWNER) {
		put_mem(&l, "UNIX.owner=", 11);
		put_str(&l,
		    id_name(idmap_user(o->ids, st->st_uid), st->st_uid, un,
			sizeof(un)));
		put_mem(&l, ";", 1);
	}
	if (m & LIST_F_GROUP) {
		put_mem(&l, "UNIX.group=", 11);
		put_str(&l,
		    id_name(idmap_group(o->ids, st->st_gid), st->st_gid, gn,
			sizeof(gn)));
		put_mem(&l, ";", 1);
	}
	put_mem(&l, " ", 1);
	put_str(&l, name);
	put_mem(&l, "\r\n", 2);
	return put_line(b, &l);
}

/* ---- the writer ---- */

/* -R: names of subdirectories still to list, NUL-separated, a stack. */
struct stack {
	char *mem;
	size_t len;
	size_t cap;
};

struct lister {
	const struct list_opts *o;
	struct buf *b;
	int rootfd;
	time_t now;
	size_t count;
	size_t max;
	int recurse;
	int cut; /* a bound was hit: -E2BIG at the end */
	struct stack subs;
	char path[KF_PATH_MAX + 1]; /* vpath being listed */
	char disp[KF_PATH_MAX + 1]; /* its -R header */
};

static int
stack_push(struct stack *s, const char *name)
{
	size_t n = strlen(name) + 1;

	if (n > KF_LIST_TREE_BUF - s->len)
		return -E2BIG;
	if (grow_array(&s->mem, &s->cap, s->len + n, 1, 4096,
		KF_LIST_TREE_BUF) < 0)
		return -ENOMEM;
	memcpy(s->mem + s->len, name, n);
	s->len += n;
	return 0;
}

static int
flush_if(struct lister *l, int force)
{
	struct buf *b = l->b;
	int r;

	if (buf_len(b) == 0 || (!force && buf_room(b) > KF_LIST_BUF / 4))
		return 0;
	r = l->o->flush(l->o->flush_arg, buf_data(b), buf_len(b));
	buf_reset(b);
	return r;
}

static int
is_dot_name(const char *s)
{
	return s[0] == '.' && (s[1] == '\0' || (s[1] == '.' && s[2] == '\0'));
}

static int
hidden(const struct list_opts *o, const char *name)
{
	return o->hide != NULL && o->hide(o->hide_arg, name) != 0;
}

/* 1: list the entry; 0: skip it; -E2BIG: over the entry budget. */
static int
admit(struct lister *l, const char *name)
{
	if (name[0] == '.' &&
	    (is_dot_name(name) || !(l->o->flags & (LIST_ALL | LIST_MLSD))))
		return 0;
	if (strpbrk(name, "\r\n") != NULL || hidden(l->o, name))
		return 0;
	if (l->count >= l->max)
		return -E2BIG;
	l->count++;
	return 1;
}

/* One line for an entry already lstat'ed; name is its name in dfd. */
static int
emit_stat(struct lister *l, int dfd, const char *name, const char *shown,
    const struct stat *st)
{
	char target[KF_PATH_MAX + 1];
	ssize_t n;

	if (l->o->flags & LIST_MLSD)
		return list_format_facts(l->b, shown, st, l->o, 0);
	if (!(l->o->flags & LIST_LONG)) {
		int r = buf_append_str(l->b, shown);

		return r < 0 ? r : buf_append(l->b, "\r\n", 2);
	}
	if (!S_ISLNK(st->st_mode))
		return list_format_long(l->b, shown, st, NULL, l->o->ids,
		    l->now);
	n = readlinkat(dfd, name, target, sizeof(target) - 1);
	target[n < 0 ? 0 : n] = '\0';
	defang(target);
	return list_format_long(l->b, shown, st, target, l->o->ids, l->now);
}

/* One directory entry; *isdir says a real directory (never a link). */
static int
emit(struct lister *l, int dfd, const struct dirent *de, int *isdir)
{
	struct stat st;

	*isdir = de->d_type == DT_DIR;
	if (!(l->o->flags & (LIST_LONG | LIST_MLSD)) &&
	    (de->d_type != DT_UNKNOWN || !l->recurse))
		return buf_appendf(l->b, "%s\r\n", de->d_name);
	if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0; /* vanished meanwhile */
	*isdir = S_ISDIR(st.st_mode);
	return emit_stat(l, dfd, de->d_name, de->d_name, &st);
}

static int
list_entries(struct lister *l, int fd)
{
	struct dirent *de;
	int r = 0, isdir;
	DIR *d;

	if ((d = fdopendir(fd)) == NULL) {
		r = -errno;
		close(fd);
		return r;
	}
	while (r == 0 && (de = readdir(d)) != NULL) {
		if ((r = admit(l, de->d_name)) <= 0)
			continue;
		r = emit(l, dirfd(d), de, &isdir);
		if (r == 0 && isdir && l->recurse)
			r = stack_push(&l->subs, de->d_name);
		if (r == 0)
			r = flush_if(l, 0);
	}
	closedir(d);
	return r;
}

/* Appends "/" name to a path of length *len; -1 when it would not fit. */
static int
join(char *p, size_t *len, const char *name)
{
	size_t n = strlen(name), sep = !(*len == 1 && p[0] == '/');

	if (n + sep > KF_PATH_MAX - *len)
		return -1;
	if (sep)
		p[(*len)++] = '/';
	memcpy(p + *len, name, n + 1);
	*len += n;
	return 0;
}

static int tree(struct lister *, int, size_t, size_t, int);

static int
subtree(struct lister *l, size_t plen, size_t dlen, int depth, size_t off)
{
	size_t p = plen, d = dlen;

	if (depth >= KF_LIST_DEPTH_MAX ||
	    join(l->path, &p, l->subs.mem + off) < 0 ||
	    join(l->disp, &d, l->subs.mem + off) < 0) {
		l->cut = 1;
		return 0;
	}
	return tree(l, -1, p, d, depth + 1);
}

/* fs_open, then the listing rule (o->may) on where it landed. */
static int
open_may(int rootfd, const struct list_opts *o, const char *vpath, int flags)
{
	char real[KF_PATH_MAX + 1];
	int fd;

	fd = fs_open_real(rootfd, vpath, flags, 0, real, sizeof(real));
	if (fd >= 0 && o->may != NULL && o->may(o->may_arg, real) < 0) {
		close(fd);
		errno = EACCES;
		return -1;
	}
	return fd;
}

/* fs_open_parent, and the listing rule on the entry (not followed). */
static int
open_parent_may(int rootfd, const struct list_opts *o, const char *vpath,
    const char **name)
{
	char real[KF_PATH_MAX + 1];
	int fd;

	fd = fs_open_parent_real(rootfd, vpath, name, real, sizeof(real));
	if (fd >= 0 && o->may != NULL && o->may(o->may_arg, real) < 0) {
		close(fd);
		errno = EACCES;
		return -1;
	}
	return fd;
}

/*
 * Lists the directory at l->path (fd, or opened here without following
 * a final symlink), then each subdirectory found, depth first.
 */
static int
tree(struct lister *l, int fd, size_t plen, size_t dlen, int depth)
{
	size_t base = l->subs.len, off;
	int r;

	l->path[plen] = l->disp[dlen] = '\0';
	if (fd < 0)
		fd = open_may(l->rootfd, l->o, l->path,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (fd < 0)
		return 0; /* replaced, gone or unreadable: skip */
	r = buf_appendf(l->b, "%s%s:\r\n", depth > 0 ? "\r\n" : "", l->disp);
	if (r == 0)
		r = flush_if(l, 0);
	if (r == 0)
		r = list_entries(l, fd);
	else
		close(fd);
	for (off = base; r == 0 && off < l->subs.len;
	     off += strlen(l->subs.mem + off) + 1)
		r = subtree(l, plen, dlen, depth, off);
	l->subs.len = base;
	return r;
}

/* -R: "label:" and the listing, then every subdirectory below. */
static int
list_tree(struct lister *l, int fd, const char *vpath)
{
	const char *label = l->o->label;
	size_t n, p = strlen(vpath);

	if (label == NULL || *label == '\0' || strpbrk(label, "\r\n") != NULL)
		label = ".";
	n = strlen(label);

	if (n > KF_PATH_MAX || p > KF_PATH_MAX) {
		close(fd);
		return -ENAMETOOLONG;
	}
	while (n > 1 && label[n - 1] == '/')
		n--;
	memcpy(l->disp, label, n);
	memcpy(l->path, vpath, p);
	return tree(l, fd, p, n, 0);
}

static int
list_dir(struct lister *l, int fd, const char *vpath)
{
	struct stat st;
	int r;

	if (l->recurse)
		return list_tree(l, fd, vpath);
	if (l->o->flags & LIST_MLSD) {
		r = fstatat(fd, "", &st, AT_EMPTY_PATH) < 0 ?
		    -errno :
		    list_format_facts(l->b, ".", &st, l->o, LIST_FACT_CDIR);
		if (r < 0) {
			close(fd);
			return r;
		}
	}
	return list_entries(l, fd);
}

/* vpath is not a directory: its one line, named by its last component. */
static int
list_one(struct lister *l, const char *vpath)
{
	const char *name;
	struct stat st;
	int fd, r;

	if ((fd = open_parent_may(l->rootfd, l->o, vpath, &name)) < 0)
		return -errno;
	if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	else if (strpbrk(name, "\r\n") != NULL)
		r = -ENOENT;
	else
		r = emit_stat(l, fd, name, name, &st);
	close(fd);
	return r;
}

static struct lister *
lister_new(int rootfd, const struct list_opts *o)
{
	struct lister *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	if ((l->b = buf_new(KF_LIST_BUF)) == NULL) {
		free(l);
		return NULL;
	}
	l->o = o;
	l->rootfd = rootfd;
	l->now = o->now != 0 ? o->now : wall_now();
	l->max = o->max_entries != 0 ? o->max_entries : KF_LIST_ENTRIES_MAX;
	l->recurse = (o->flags & (LIST_RECURSE | LIST_ALLOW_RECURSE)) ==
		(LIST_RECURSE | LIST_ALLOW_RECURSE) &&
	    !(o->flags & LIST_MLSD);
	return l;
}

/* Flushes what was listed (also when cut short) and frees. */
static int
lister_end(struct lister *l, int r)
{
	int f;

	if (r == 0 && l->cut)
		r = -E2BIG;
	if (r == 0 || r == -E2BIG) {
		if ((f = flush_if(l, 1)) < 0)
			r = f;
	}
	buf_free(l->b);
	free(l->subs.mem);
	free(l);
	return r;
}

/* Any component of vpath that the hide hook hides? */
static int
path_hidden(const struct list_opts *o, const char *vpath)
{
	char name[KF_NAME_MAX + 1];
	const char *s = vpath, *e;
	size_t n;

	for (; o->hide != NULL && *s != '\0'; s = *e == '\0' ? e : e + 1) {
		e = strchrnul(s, '/');
		n = (size_t)(e - s);
		if (n == 0 || n > KF_NAME_MAX)
			continue;
		memcpy(name, s, n);
		name[n] = '\0';
		if (!is_dot_name(name) && hidden(o, name))
			return 1;
	}
	return 0;
}

/* "." of the working directory itself (-d without a path, or "/"). */
static int
list_dot(struct lister *l, const char *vpath)
{
	struct stat st;
	int fd, r;

	if ((fd = open_may(l->rootfd, l->o, vpath, O_PATH)) < 0)
		return -errno;
	r = fstatat(fd, "", &st, AT_EMPTY_PATH) < 0 ?
	    -errno :
	    emit_stat(l, fd, "", ".", &st);
	close(fd);
	return r;
}

/* -d: the entry itself, a directory too, not its contents (ls -d). */
static int
list_self(int rootfd, const char *vpath, const struct list_opts *o)
{
	struct lister *l;
	int r;

	if ((l = lister_new(rootfd, o)) == NULL)
		return -ENOMEM;
	l->recurse = 0;
	if (o->label == NULL || *o->label == '\0' || strcmp(vpath, "/") == 0)
		r = list_dot(l, vpath);
	else
		r = list_one(l, vpath);
	return lister_end(l, r);
}

int
list_path(int rootfd, const char *vpath, const struct list_opts *o)
{
	struct lister *l;
	int fd, r;

	if (path_hidden(o, vpath))
		return -ENOENT;
	if ((o->flags & (LIST_DIRSELF | LIST_MLSD)) == LIST_DIRSELF)
		return list_self(rootfd, vpath, o);
	fd = open_may(rootfd, o, vpath, O_RDONLY | O_DIRECTORY);
	if (fd < 0 && (errno != ENOTDIR || (o->flags & LIST_MLSD)))
		return -errno;
	if ((l = lister_new(rootfd, o)) == NULL) {
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	r = fd >= 0 ? list_dir(l, fd, vpath) : list_one(l, vpath);
	return lister_end(l, r);
}

static int
on_hit(void *arg, const struct glob_hit *h)
{
	struct lister *l = arg;
	int r;

	if (strpbrk(h->path, "\r\n") != NULL)
		return 0;
	if (l->count >= l->max)
		return -E2BIG;
	l->count++;
	if ((r = emit_stat(l, h->dirfd, h->name, h->path, h->st)) < 0)
		return r;
	return flush_if(l, 0);
}

static int
exists(int rootfd, const char *vpath)
{
	int fd = fs_open(rootfd, vpath, O_PATH, 0);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

int
list_glob(int rootfd, const char *cwd, const char *arg,
    const struct list_opts *o)
{
	char vpath[KF_PATH_MAX + 1];
	struct glob_opts g = { .found = on_hit,
		.hide = o->hide,
		.hide_arg = o->hide_arg,
		.may = o->may,
		.may_arg = o->may_arg };
	struct lister *l;
	int r;

	if ((r = path_resolve(cwd, arg, vpath, sizeof(vpath))) < 0)
		return r;
	if ((o->flags & LIST_MLSD) || !glob_has_magic(arg) ||
	    exists(rootfd, vpath))
		return list_path(rootfd, vpath, o);
	if ((l = lister_new(rootfd, o)) == NULL)
		return -ENOMEM;
	g.found_arg = l;
	r = glob_expand(rootfd, cwd, arg, &g);
	return lister_end(l, r == 0 ? -ENOENT : r > 0 ? 0 : r);
}

int
list_mlst(int rootfd, const char *vpath, const struct list_opts *o,
    struct buf *out)
{
	struct stat st;
	int fd, r;

	if (path_hidden(o, vpath) || strpbrk(vpath, "\r\n") != NULL)
		return -ENOENT;
	if ((fd = open_may(rootfd, o, vpath, O_PATH | O_NOFOLLOW)) < 0)
		return -errno;
	r = fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ?
	    -errno :
	    list_format_facts(out, vpath, &st, o, LIST_FACT_MLST);
	close(fd);
	return r;
}
