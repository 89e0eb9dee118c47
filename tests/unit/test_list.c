/* test_list.c - ls -l and MLSD formatting, owner names, listings, -R. */
#include "cm.h"
#include "tree.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/limits.h"
#include "fs/glob.h"
#include "fs/idmap.h"
#include "fs/list.h"

#define NOW ((time_t)1700000000) /* 2023-11-14 22:13:20 UTC */

/* ---- idmap ---- */

static const char passwd[] =
    "root:x:0:0:root:/root:/bin/bash\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "bad name:x:2:2::/:/bin/sh\n"
    "evil\x1b[31m:x:3:3::/:\n"
    "toolong_abcdefghijklmnopqrstuvwxy:x:4:4::/:\n" /* 33 bytes */
    "exactly32_abcdefghijklmnopqrstuv:x:5:5::/:\n" /* 32 bytes */
    "neg:x:-1:1::/:\n"
    "allones:x:4294967295:1::/:\n"
    "max:x:4294967294:1::/:\n"
    "hex:x:0x10:1::/:\n"
    "junk:x:12junk:1::/:\n"
    ":x:13:1::/:\n"
    "nocolon\n"
    "short:x\n"
    "dup:x:0:0::/:\n"
    "+nis:x:14:1::/:\n"
    "emptypw::15:1::/:\n"
    "crlf:x:16\r\n"
    "nul\0x:x:18:1\n"
    "# comment:x:19:\n"
    "\n"
    "dots.and-dash_:x:20:1::/:\n"
    "last:x:17";

#define GROUPS "wheel:x:10:alice,bob\nstaff:x:50:\n"

static void
test_idmap_parse(void **state)
{
	struct idmap *ids = idmap_new();

	assert_non_null(ids);
	assert_int_equal(idmap_parse(ids, IDMAP_USERS, passwd,
			     sizeof(passwd) - 1),
	    0);
	assert_string_equal(idmap_user(ids, 0), "root"); /* first wins */
	assert_string_equal(idmap_user(ids, 1), "daemon");
	assert_null(idmap_user(ids, 2)); /* space */
	assert_null(idmap_user(ids, 3)); /* escape sequence */
	assert_null(idmap_user(ids, 4)); /* 33 bytes */
	assert_string_equal(idmap_user(ids, 5),
	    "exactly32_abcdefghijklmnopqrstuv");
	assert_null(idmap_user(ids, 4294967295U));
	assert_string_equal(idmap_user(ids, 4294967294U), "max");
	assert_null(idmap_user(ids, 12));
	assert_null(idmap_user(ids, 13));
	assert_null(idmap_user(ids, 14));
	assert_string_equal(idmap_user(ids, 15), "emptypw");
	assert_null(idmap_user(ids, 16)); /* "16\r" is not a number */
	assert_null(idmap_user(ids, 18)); /* NUL in the name */
	assert_null(idmap_user(ids, 19));
	assert_string_equal(idmap_user(ids, 20), "dots.and-dash_");
	assert_string_equal(idmap_user(ids, 17), "last"); /* no newline */
	assert_null(idmap_user(ids, 0x10));
	assert_null(idmap_group(ids, 0)); /* users only so far */
	assert_int_equal(idmap_count(ids, IDMAP_USERS), 7);

	assert_int_equal(idmap_parse(ids, IDMAP_GROUPS, GROUPS, strlen(GROUPS)),
	    0);
	assert_string_equal(idmap_group(ids, 10), "wheel");
	assert_string_equal(idmap_group(ids, 50), "staff");
	/* a later load does not replace an earlier name */
	assert_int_equal(idmap_parse(ids, IDMAP_GROUPS, "other:x:10:\n", 12),
	    0);
	assert_string_equal(idmap_group(ids, 10), "wheel");
	assert_null(idmap_user(NULL, 0));
	idmap_free(ids);
}

static void
test_idmap_cap(void **state)
{
	struct idmap *ids = idmap_new();
	struct buf *b = buf_new(1 << 20);
	unsigned i;

	for (i = 0; i < 5000; i++)
		assert_int_equal(buf_appendf(b, "u%u:x:%u:1::/:\n", i,
				     5000 - i),
		    0);
	assert_int_equal(idmap_parse(ids, IDMAP_USERS, buf_data(b), buf_len(b)),
	    0);
	assert_int_equal(idmap_count(ids, IDMAP_USERS), KF_IDMAP_ENTRIES_MAX);
	assert_string_equal(idmap_user(ids, 5000), "u0");
	assert_string_equal(idmap_user(ids, 5000 - 4095), "u4095");
	assert_null(idmap_user(ids, 5000 - 4096));
	buf_free(b);
	idmap_free(ids);
}

/* A file read in chunks: a line longer than a chunk is skipped whole. */
static void
test_idmap_file(void **state)
{
	char path[] = "/tmp/kf-idmap-XXXXXX";
	struct idmap *ids = idmap_new();
	struct buf *b = buf_new(1 << 20);
	unsigned i;
	int fd;

	assert_int_equal(buf_append_str(b, "first:x:10:\n"), 0);
	for (i = 0; i < 40000; i++)
		assert_int_equal(buf_append(b, "y", 1), 0);
	assert_int_equal(buf_append_str(b, ":x:11:\nafter:x:12:\n"), 0);
	for (i = 0; i < 3000; i++)
		assert_int_equal(buf_appendf(b, "n%u:x:%u:\n", i, 100 + i), 0);
	assert_int_equal(buf_append_str(b, "tail:x:13"), 0);
	assert_true((fd = mkstemp(path)) >= 0);
	assert_true(write(fd, buf_data(b), buf_len(b)) == (ssize_t)buf_len(b));
	close(fd);
	assert_int_equal(idmap_load_file(ids, IDMAP_USERS, path), 0);
	assert_string_equal(idmap_user(ids, 10), "first");
	assert_null(idmap_user(ids, 11));
	assert_string_equal(idmap_user(ids, 12), "after");
	assert_string_equal(idmap_user(ids, 100), "n0");
	assert_string_equal(idmap_user(ids, 3099), "n2999");
	assert_string_equal(idmap_user(ids, 13), "tail");
	assert_int_equal(idmap_count(ids, IDMAP_USERS), 3003);
	unlink(path);
	assert_int_equal(idmap_load_file(ids, IDMAP_GROUPS, path), -ENOENT);
	assert_int_equal(idmap_count(ids, IDMAP_GROUPS), 0);
	buf_free(b);
	idmap_free(ids);
}

/* ---- pure formatters ---- */

static struct stat
mkstat(mode_t mode, uid_t uid, gid_t gid, off_t size, time_t mtime)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_mode = mode;
	st.st_nlink = 1;
	st.st_uid = uid;
	st.st_gid = gid;
	st.st_size = size;
	st.st_mtime = mtime;
	st.st_dev = 0x803;
	st.st_ino = 0x2a;
	return st;
}

static struct idmap *
names(void)
{
	struct idmap *ids = idmap_new();

	const char *u = "root:x:0:0::/:\nalice:x:1000:1000::/:\n";
	const char *g = "wheel:x:0:\nstaff:x:50:\n";

	assert_int_equal(idmap_parse(ids, IDMAP_USERS, u, strlen(u)), 0);
	assert_int_equal(idmap_parse(ids, IDMAP_GROUPS, g, strlen(g)), 0);
	return ids;
}

static void
long_is(const struct stat *st, const char *link, const struct idmap *ids,
    const char *want)
{
	struct buf *b = buf_new(4096);

	assert_int_equal(list_format_long(b, "file.txt", st, link, ids, NOW),
	    0);
	assert_string_equal(buf_cstr(b), want);
	buf_free(b);
}

static void
test_format_long(void **state)
{
	struct idmap *ids = names();
	struct stat st;

	st = mkstat(S_IFREG | 0644, 0, 0, 1234, NOW - 3600);
	long_is(&st, NULL, ids,
	    "-rw-r--r--    1 root     wheel            "
	    "1234 Nov 14 21:13 file.txt\r\n");
	long_is(&st, NULL, NULL,
	    "-rw-r--r--    1 0        0                "
	    "1234 Nov 14 21:13 file.txt\r\n");
	/* unknown ids are numbers even with a map */
	st = mkstat(S_IFREG | 0600, 4242, 50, 0, NOW - 13 * 86400);
	long_is(&st, NULL, ids,
	    "-rw-------    1 4242     staff               "
	    "0 Nov  1 22:13 file.txt\r\n");
	/* more than six months ago: the year */
	st = mkstat(S_IFREG | 0644, 1000, 50, 7, NOW - 200 * 86400);
	long_is(&st, NULL, ids,
	    "-rw-r--r--    1 alice    staff               "
	    "7 Apr 28  2023 file.txt\r\n");
	/* the six-month edge, as GNU ls: strictly younger shows the time */
	st = mkstat(S_IFREG | 0644, 0, 0, 7, NOW - 15778476 + 1);
	long_is(&st, NULL, NULL,
	    "-rw-r--r--    1 0        0                   "
	    "7 May 16 07:18 file.txt\r\n");
	st = mkstat(S_IFREG | 0644, 0, 0, 7, NOW - 15778476);
	long_is(&st, NULL, NULL,
	    "-rw-r--r--    1 0        0                   "
	    "7 May 16  2023 file.txt\r\n");
	/* in the future, even by a day: the year */
	st = mkstat(S_IFREG | 0644, 0, 0, 7, NOW + 86400);
	long_is(&st, NULL, NULL,
	    "-rw-r--r--    1 0        0                   "
	    "7 Nov 15  2023 file.txt\r\n");
	st = mkstat(S_IFREG | 0644, 0, 0, 7, NOW + 60);
	long_is(&st, NULL, NULL,
	    "-rw-r--r--    1 0        0                   "
	    "7 Nov 14  2023 file.txt\r\n");
	st = mkstat(S_IFREG | 0644, 0, 0, 7, NOW);
	long_is(&st, NULL, NULL,
	    "-rw-r--r--    1 0        0                   "
	    "7 Nov 14 22:13 file.txt\r\n");
	/* links, set-id and sticky bits */
	st = mkstat(S_IFLNK | 0777, 0, 0, 6, NOW - 60);
	long_is(&st, "target", ids,
	    "lrwxrwxrwx    1 root     wheel            "
	    "   6 Nov 14 22:12 file.txt -> target\r\n");
	st = mkstat(S_IFDIR | 01777, 0, 0, 4096, NOW - 60);
	long_is(&st, NULL, ids,
	    "drwxrwxrwt    1 root     wheel            "
	    "4096 Nov 14 22:12 file.txt\r\n");
	st = mkstat(S_IFREG | 06644, 0, 0, 1, NOW - 60);
	long_is(&st, NULL, ids,
	    "-rwSr-Sr--    1 root     wheel            "
	    "   1 Nov 14 22:12 file.txt\r\n");
	/* fields wider than their column widen the line, never cut it */
	st = mkstat(S_IFREG | 0644, 4000000000u, 4294967294u,
	    (off_t)1234567890123456LL, NOW - 60);
	st.st_nlink = 123456;
	long_is(&st, NULL, ids,
	    "-rw-r--r-- 123456 4000000000 4294967294 "
	    "1234567890123456 Nov 14 22:12 file.txt\r\n");
	idmap_free(ids);
}

/* The longest name and link target a line can carry fit whole. */
static void
test_format_long_longest(void **state)
{
	struct buf *b = buf_new(3 * KF_PATH_MAX);
	char name[KF_PATH_MAX + 1], link[KF_PATH_MAX + 1];
	struct stat st = mkstat(S_IFLNK | 0777, 0, 0, 1, NOW - 60);
	const char *s;

	memset(name, 'n', KF_PATH_MAX);
	name[KF_PATH_MAX] = '\0';
	memset(link, 'l', KF_PATH_MAX);
	link[KF_PATH_MAX] = '\0';
	assert_int_equal(list_format_long(b, name, &st, link, NULL, NOW), 0);
	s = buf_cstr(b);
	assert_int_equal(strlen(s), 60 + 2 * KF_PATH_MAX + 4 + 2);
	assert_memory_equal(s + strlen(s) - 2, "\r\n", 2);
	assert_non_null(strstr(s, " -> l"));
	buf_free(b);
}

static void
facts_are(const struct stat *st, const struct list_opts *o, unsigned how,
    const char *want)
{
	struct buf *b = buf_new(4096);

	assert_int_equal(list_format_facts(b, "file.txt", st, o, how), 0);
	assert_string_equal(buf_cstr(b), want);
	buf_free(b);
}

static void
test_format_facts(void **state)
{
	struct idmap *ids = names();
	struct list_opts rw = { .flags = LIST_WRITABLE,
		.ids = ids,
		.uid = 0,
		.gid = 0 };
	struct list_opts ro = { .ids = ids, .uid = 0, .gid = 0 };
	struct list_opts num = { .flags = LIST_WRITABLE, .uid = 0, .gid = 0 };
	struct stat st;

	st = mkstat(S_IFREG | 0644, 0, 0, 1234, NOW - 3600);
	facts_are(&st, &rw, 0,
	    "type=file;size=1234;modify=20231114211320;"
	    "perm=adfrw;unique=803U2a;UNIX.mode=0644;UNIX.owner=root;"
	    "UNIX.group=wheel; file.txt\r\n");
	facts_are(&st, &ro, 0,
	    "type=file;size=1234;modify=20231114211320;"
	    "perm=r;unique=803U2a;UNIX.mode=0644;UNIX.owner=root;"
	    "UNIX.group=wheel; file.txt\r\n");
	facts_are(&st, &num, 0,
	    "type=file;size=1234;modify=20231114211320;"
	    "perm=adfrw;unique=803U2a;UNIX.mode=0644;UNIX.owner=0;"
	    "UNIX.group=0; file.txt\r\n");
	/* MLST on the control connection: a leading space */
	facts_are(&st, &ro, LIST_FACT_MLST,
	    " type=file;size=1234;"
	    "modify=20231114211320;perm=r;unique=803U2a;UNIX.mode=0644;"
	    "UNIX.owner=root;UNIX.group=wheel; file.txt\r\n");

	/* someone else's file: "other" bits apply */
	st = mkstat(S_IFREG | 0640, 1000, 50, 3, NOW - 200 * 86400);
	facts_are(&st, &rw, 0,
	    "type=file;size=3;modify=20230428221320;"
	    "perm=df;unique=803U2a;UNIX.mode=0640;UNIX.owner=alice;"
	    "UNIX.group=staff; file.txt\r\n");
	facts_are(&st, &ro, 0,
	    "type=file;size=3;modify=20230428221320;"
	    "perm=;unique=803U2a;UNIX.mode=0640;UNIX.owner=alice;"
	    "UNIX.group=staff; file.txt\r\n");
	/* group bits when the group matches */
	rw.gid = 50;
	facts_are(&st, &rw, 0,
	    "type=file;size=3;modify=20230428221320;"
	    "perm=dfr;unique=803U2a;UNIX.mode=0640;UNIX.owner=alice;"
	    "UNIX.group=staff; file.txt\r\n");
	rw.gid = 0;

	st = mkstat(S_IFDIR | 0755, 0, 0, 4096, NOW - 3600);
	facts_are(&st, &rw, 0,
	    "type=dir;modify=20231114211320;"
	    "perm=cdeflmp;unique=803U2a;UNIX.mode=0755;UNIX.owner=root;"
	    "UNIX.group=wheel; file.txt\r\n");
	facts_are(&st, &ro, 0,
	    "type=dir;modify=20231114211320;"
	    "perm=el;unique=803U2a;UNIX.mode=0755;UNIX.owner=root;"
	    "UNIX.group=wheel; file.txt\r\n");
	facts_are(&st, &ro, LIST_FACT_CDIR,
	    "type=cdir;modify=20231114211320;"
	    "perm=el;unique=803U2a;UNIX.mode=0755;UNIX.owner=root;"
	    "UNIX.group=wheel; file.txt\r\n");
	st = mkstat(S_IFDIR | 0555, 0, 0, 4096, NOW - 3600);
	facts_are(&st, &rw, 0,
	    "type=dir;modify=20231114211320;"
	    "perm=defl;unique=803U2a;UNIX.mode=0555;UNIX.owner=root;"
	    "UNIX.group=wheel; file.txt\r\n");

	/* links are reported as themselves, never followed */
	st = mkstat(S_IFLNK | 0777, 0, 0, 6, NOW - 3600);
	facts_are(&st, &rw, 0,
	    "type=OS.unix=symlink;modify=20231114211320;"
	    "perm=df;unique=803U2a;UNIX.mode=0777;UNIX.owner=root;"
	    "UNIX.group=wheel; file.txt\r\n");
	facts_are(&st, &ro, 0,
	    "type=OS.unix=symlink;modify=20231114211320;"
	    "perm=;unique=803U2a;UNIX.mode=0777;UNIX.owner=root;"
	    "UNIX.group=wheel; file.txt\r\n");
	st = mkstat(S_IFIFO | 0644, 0, 0, 0, NOW - 3600);
	facts_are(&st, &ro, 0,
	    "type=OS.unix=fifo;modify=20231114211320;"
	    "perm=;unique=803U2a;UNIX.mode=0644;UNIX.owner=root;"
	    "UNIX.group=wheel; file.txt\r\n");
	/* a time before 1970 or after 9999 keeps 14 digits */
	st = mkstat(S_IFREG | 0644, 0, 0, 0, -5);
	facts_are(&st, &ro, 0,
	    "type=file;size=0;modify=19700101000000;"
	    "perm=r;unique=803U2a;UNIX.mode=0644;UNIX.owner=root;"
	    "UNIX.group=wheel; file.txt\r\n");
	idmap_free(ids);
}

/* ---- listings on a real tree ---- */

struct out {
	struct buf *b;
	int calls;
};

static int
collect(void *arg, const char *p, size_t n)
{
	struct out *o = arg;

	o->calls++;
	return buf_append(o->b, p, n);
}

static char root[] = "/tmp/kf-list-XXXXXX";
static int rootfd = -1;

static void
mk(const char *rel, int dir, const char *content)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	if (dir) {
		assert_int_equal(mkdir(p, 0755), 0);
		return;
	}
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	if (content != NULL)
		assert_true(write(fd, content, strlen(content)) ==
		    (ssize_t)strlen(content));
	close(fd);
}

static void
ln(const char *target, const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	assert_int_equal(symlink(target, p), 0);
}

static int
setup_tree(void **state)
{
	char p[128];
	int i;
	size_t n;

	umask(022);
	assert_non_null(mkdtemp(root));
	mk("f1.txt", 0, "hello");
	mk(".dot", 0, NULL);
	mk("bad\r\nname", 0, NULL);
	mk("sub", 1, NULL);
	mk("sub/s1", 0, NULL);
	mk("sub/deeper", 1, NULL);
	mk("sub/deeper/d1", 0, NULL);
	mk("empty", 1, NULL);
	mk("lit[1]", 0, NULL);
	mk("lit1", 0, NULL);
	ln("sub", "lnk");
	ln("..", "sub/loop");
	/* 20 levels: chain/n/n/.../n */
	snprintf(p, sizeof(p), "chain");
	mk(p, 1, NULL);
	for (i = 0; i < 20; i++) {
		n = strlen(p);
		snprintf(p + n, sizeof(p) - n, "/n");
		mk(p, 1, NULL);
	}
	rootfd = open(root, O_PATH | O_DIRECTORY);
	return rootfd >= 0 ? 0 : -1;
}

static int
teardown_tree(void **state)
{
	close(rootfd);
	(void)tree_remove(root);
	return 0;
}

static int
run(const char *vpath, struct list_opts *o, struct out *out)
{
	int r;

	out->b = buf_new(1 << 22);
	out->calls = 0;
	o->flush = collect;
	o->flush_arg = out;
	r = list_path(rootfd, vpath, o);
	buf_cstr(out->b);
	return r;
}

static size_t
lines(struct out *out)
{
	const char *p = buf_cstr(out->b);
	size_t n = 0;

	while ((p = strstr(p, "\r\n")) != NULL) {
		n++;
		p += 2;
	}
	return n;
}

static int
has_line(struct out *out, const char *line)
{
	char want[512];

	snprintf(want, sizeof(want), "\n%s\r\n", line);
	if (strncmp(buf_cstr(out->b), want + 1, strlen(want + 1)) == 0)
		return 1;
	return strstr(buf_cstr(out->b), want) != NULL;
}

static void
done(struct out *out)
{
	buf_free(out->b);
}

static int
hide_name(void *arg, const char *name)
{
	return strcmp(name, arg) == 0;
}

static void
test_list_plain(void **state)
{
	struct list_opts o = { 0 };
	struct out out;

	assert_int_equal(run("/", &o, &out), 0);
	assert_int_equal(out.calls, 1); /* one buffered write */
	assert_true(has_line(&out, "f1.txt"));
	assert_true(has_line(&out, "sub"));
	assert_true(has_line(&out, "lnk"));
	assert_false(has_line(&out, ".dot"));
	assert_null(strstr(buf_cstr(out.b), "bad")); /* CR/LF names */
	assert_int_equal(lines(&out), 7);
	done(&out);

	o.flags = LIST_ALL;
	assert_int_equal(run("/", &o, &out), 0);
	assert_true(has_line(&out, ".dot"));
	assert_false(has_line(&out, "."));
	assert_false(has_line(&out, ".."));
	assert_int_equal(lines(&out), 8);
	done(&out);

	o.flags = LIST_LONG;
	assert_int_equal(run("/", &o, &out), 0);
	assert_non_null(strstr(buf_cstr(out.b), " lnk -> sub\r\n"));
	assert_non_null(strstr(buf_cstr(out.b), " 5 "));
	assert_true(buf_cstr(out.b)[0] == '-' || buf_cstr(out.b)[0] == 'd' ||
	    buf_cstr(out.b)[0] == 'l');
	done(&out);

	/* one file: its line, by name */
	o.flags = 0;
	assert_int_equal(run("/sub/s1", &o, &out), 0);
	assert_string_equal(buf_cstr(out.b), "s1\r\n");
	done(&out);

	/* an empty directory flushes nothing; a bad path neither */
	assert_int_equal(run("/empty", &o, &out), 0);
	assert_int_equal(out.calls, 0);
	done(&out);
	assert_int_equal(run("/nope", &o, &out), -ENOENT);
	assert_int_equal(out.calls, 0);
	done(&out);
}

static void
test_list_hidden(void **state)
{
	struct list_opts o = { .hide = hide_name, .hide_arg = "sub" };
	struct out out;

	assert_int_equal(run("/", &o, &out), 0);
	assert_false(has_line(&out, "sub"));
	assert_true(has_line(&out, "f1.txt"));
	done(&out);
	/* a hidden component anywhere in the path: not found */
	assert_int_equal(run("/sub", &o, &out), -ENOENT);
	done(&out);
	assert_int_equal(run("/sub/s1", &o, &out), -ENOENT);
	assert_int_equal(out.calls, 0);
	done(&out);
}

static void
test_list_budget(void **state)
{
	struct list_opts o = { .max_entries = 2 };
	struct out out;

	/* cut short: what was listed is flushed, then -E2BIG */
	assert_int_equal(run("/", &o, &out), -E2BIG);
	assert_int_equal(out.calls, 1);
	assert_int_equal(lines(&out), 2);
	done(&out);
}

static void
test_mlsd(void **state)
{
	struct list_opts o = { .flags = LIST_MLSD | LIST_WRITABLE,
		.uid = getuid(),
		.gid = getgid() };
	struct buf *b;
	struct out out;
	const char *s;

	assert_int_equal(run("/", &o, &out), 0);
	s = buf_cstr(out.b);
	assert_true(strncmp(s, "type=cdir;modify=", 17) == 0);
	assert_non_null(strstr(s, ";perm=cdeflmp;"));
	assert_non_null(strstr(s, "; .\r\n"));
	assert_non_null(strstr(s, "\ntype=file;size=5;modify="));
	assert_non_null(strstr(s, ";perm=adfrw;"));
	assert_non_null(strstr(s, ";UNIX.mode=0644;"));
	assert_non_null(strstr(s, "; f1.txt\r\n"));
	assert_non_null(strstr(s, "\ntype=dir;"));
	assert_non_null(strstr(s, "\ntype=OS.unix=symlink;"));
	assert_non_null(strstr(s, "; .dot\r\n")); /* MLSD has no -a */
	assert_null(strstr(s, "; ..\r\n"));
	assert_null(strstr(s, "bad"));
	assert_int_equal(lines(&out), 9);
	done(&out);

	/* MLSD needs a directory */
	assert_int_equal(run("/f1.txt", &o, &out), -ENOTDIR);
	assert_int_equal(out.calls, 0);
	done(&out);

	b = buf_new(4096);
	assert_int_equal(list_mlst(rootfd, "/f1.txt", &o, b), 0);
	s = buf_cstr(b);
	assert_true(strncmp(s, " type=file;size=5;modify=", 25) == 0);
	assert_non_null(strstr(s, "; /f1.txt\r\n"));
	buf_reset(b);
	assert_int_equal(list_mlst(rootfd, "/lnk", &o, b), 0);
	assert_true(strncmp(buf_cstr(b), " type=OS.unix=symlink;", 22) == 0);
	buf_reset(b);
	assert_int_equal(list_mlst(rootfd, "/sub", &o, b), 0);
	assert_true(strncmp(buf_cstr(b), " type=dir;", 10) == 0);
	buf_reset(b);
	assert_int_equal(list_mlst(rootfd, "/nope", &o, b), -ENOENT);
	assert_int_equal(buf_len(b), 0);
	buf_free(b);
}

static void
test_recursive(void **state)
{
	struct list_opts o = { .flags = LIST_RECURSE };
	struct out out;
	const char *s;

	/* -R without the caller's permission: a plain listing */
	assert_int_equal(run("/sub", &o, &out), 0);
	assert_null(strstr(buf_cstr(out.b), ":\r\n"));
	assert_int_equal(lines(&out), 3);
	done(&out);

	o.flags = LIST_RECURSE | LIST_ALLOW_RECURSE;
	assert_int_equal(run("/sub", &o, &out), 0);
	s = buf_cstr(out.b);
	assert_true(strncmp(s, ".:\r\n", 4) == 0);
	assert_non_null(strstr(s, "\r\n\r\n./deeper:\r\nd1\r\n"));
	assert_true(has_line(&out, "loop"));
	/* the symlink to ".." is listed, never entered */
	assert_null(strstr(s, "./loop:"));
	assert_int_equal(lines(&out), 7);
	done(&out);

	/* from the root: links are not followed, the label is the caller's */
	o.flags |= LIST_LONG;
	o.label = "top/";
	assert_int_equal(run("/", &o, &out), -E2BIG); /* chain is too deep */
	s = buf_cstr(out.b);
	assert_true(strncmp(s, "top:\r\n", 6) == 0);
	assert_non_null(strstr(s, "\r\ntop/sub:\r\n"));
	assert_non_null(strstr(s, "\r\ntop/sub/deeper:\r\n"));
	assert_non_null(strstr(s, "\r\ntop/empty:\r\n"));
	assert_null(strstr(s, "top/lnk:"));
	assert_null(strstr(s, "top/sub/loop:"));
	done(&out);
	o.label = NULL;

	/* the entry budget covers the whole tree */
	o.max_entries = 3;
	assert_int_equal(run("/sub", &o, &out), -E2BIG);
	assert_int_equal(lines(&out), 3 + 3); /* entries, 2 headers, gap */
	done(&out);
	o.max_entries = 0;
}

/* chain/n/.../n is 20 deep: 16 levels are listed, then -E2BIG. */
static void
test_recursive_depth(void **state)
{
	struct list_opts o = { .flags = LIST_RECURSE | LIST_ALLOW_RECURSE };
	char hdr[128];
	struct out out;
	size_t n;
	int i;

	assert_int_equal(run("/chain", &o, &out), -E2BIG);
	snprintf(hdr, sizeof(hdr), "\r\n.");
	for (i = 0; i < KF_LIST_DEPTH_MAX; i++) {
		n = strlen(hdr);
		snprintf(hdr + n, sizeof(hdr) - n, "/n");
	}
	n = strlen(hdr);
	snprintf(hdr + n, sizeof(hdr) - n, ":\r\n");
	assert_non_null(strstr(buf_cstr(out.b), hdr));
	snprintf(hdr + n, sizeof(hdr) - n, "/n:\r\n");
	assert_null(strstr(buf_cstr(out.b), hdr));
	assert_int_equal(lines(&out), 1 + 1 + 16 * 3);
	done(&out);
}

static int
glob_run(const char *cwd, const char *arg, struct list_opts *o, struct out *out)
{
	int r;

	out->b = buf_new(1 << 20);
	out->calls = 0;
	o->flush = collect;
	o->flush_arg = out;
	r = list_glob(rootfd, cwd, arg, o);
	buf_cstr(out->b);
	return r;
}

static void
test_glob_listing(void **state)
{
	struct list_opts o = { 0 };
	struct out out;

	assert_int_equal(glob_run("/", "*.txt", &o, &out), 0);
	assert_string_equal(buf_cstr(out.b), "f1.txt\r\n");
	done(&out);
	/* shown as typed, a matched directory is one entry */
	assert_int_equal(glob_run("/", "s*/*", &o, &out), 0);
	assert_string_equal(buf_cstr(out.b),
	    "sub/deeper\r\nsub/loop\r\n"
	    "sub/s1\r\n");
	done(&out);
	assert_int_equal(glob_run("/sub", "../s?b/d*/*", &o, &out), 0);
	assert_string_equal(buf_cstr(out.b), "../sub/deeper/d1\r\n");
	done(&out);
	/* no match: -ENOENT, nothing flushed */
	assert_int_equal(glob_run("/", "*.none", &o, &out), -ENOENT);
	assert_int_equal(out.calls, 0);
	done(&out);
	/* a name that exists as typed wins over the pattern */
	assert_int_equal(glob_run("/", "lit[1]", &o, &out), 0);
	assert_string_equal(buf_cstr(out.b), "lit[1]\r\n");
	done(&out);
	assert_int_equal(glob_run("/", "li?[1]", &o, &out), 0);
	assert_string_equal(buf_cstr(out.b), "lit1\r\n");
	done(&out);
	/* no wildcard: an ordinary listing of the path */
	assert_int_equal(glob_run("/", "sub/deeper", &o, &out), 0);
	assert_string_equal(buf_cstr(out.b), "d1\r\n");
	done(&out);

	o.flags = LIST_LONG;
	assert_int_equal(glob_run("/", "*/s1", &o, &out), 0);
	assert_true(buf_cstr(out.b)[0] == '-');
	assert_non_null(strstr(buf_cstr(out.b), " sub/s1\r\n"));
	assert_int_equal(lines(&out), 2); /* sub/s1 and lnk/s1 */
	done(&out);

	o.flags = 0;
	o.hide = hide_name;
	o.hide_arg = "s1";
	assert_int_equal(glob_run("/", "sub/s*", &o, &out), -ENOENT);
	done(&out);
	o.hide = NULL;

	o.max_entries = 1;
	assert_int_equal(glob_run("/", "*", &o, &out), -E2BIG);
	assert_int_equal(lines(&out), 1);
	done(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idmap_parse),
		cmocka_unit_test(test_idmap_cap),
		cmocka_unit_test(test_idmap_file),
		cmocka_unit_test(test_format_long),
		cmocka_unit_test(test_format_long_longest),
		cmocka_unit_test(test_format_facts),
		cmocka_unit_test(test_list_plain),
		cmocka_unit_test(test_list_hidden),
		cmocka_unit_test(test_list_budget),
		cmocka_unit_test(test_mlsd),
		cmocka_unit_test(test_recursive),
		cmocka_unit_test(test_recursive_depth),
		cmocka_unit_test(test_glob_listing),
	};

	return cmocka_run_group_tests(tests, setup_tree, teardown_tree);
}
