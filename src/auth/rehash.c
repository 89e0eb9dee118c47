/*
 * rehash.c - rehash on login (pwhash_rehash): after a good password
 * whose stored hash is a legacy crypt(3) hash, or argon2id at another
 * cost than the configured one, that user's line in the users file
 * gets a fresh argon2id hash at the configured cost, so legacy hashes
 * die out. The file is replaced the way `keepftpd user` replaces it:
 * under the same lock (FILE.lock; when `keepftpd user` holds it, this
 * login skips the rehash rather than wait), a temporary file in the
 * same directory with the old file's owner and mode, fsync, rename,
 * fsync of the directory. A line whose hash changed meanwhile is left
 * alone; a users file that is not a regular file (a symlink) is never
 * replaced. Only the hash field of that one line changes.
 * Runs in: monitor (wherever auth_check_vhost runs).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "../common/buf.h"
#include "../common/log.h"
#include "../common/sys.h"
#include "auth.h"
#include "users.h"

/*
 * The text with the hash field of name's line replaced by hash, into
 * out; -1 when the line is missing, malformed or no longer holds old.
 */
static int
hash_splice(const char *text, size_t len, const char *name, const char *old,
    const char *hash, struct buf *out)
{
	struct users_entry e;
	const char *p = text, *end = text + len, *line, *err = "", *h;
	size_t n;

	while (users_next_line(&p, end, &line, &n)) {
		if (users_parse_line(line, n, &e, &err) != 1 ||
		    strcmp(e.name, name) != 0)
			continue;
		h = line + strlen(name) + 1; /* "name:hash:..." */
		if (strcmp(e.hash, old) != 0 ||
		    n <= strlen(name) + 1 + strlen(old) ||
		    memcmp(h, old, strlen(old)) != 0 || h[strlen(old)] != ':')
			return -1;
		if (buf_append(out, text, (size_t)(h - text)) < 0 ||
		    buf_append(out, hash, strlen(hash)) < 0 ||
		    buf_append(out, h + strlen(old),
			(size_t)(end - h) - strlen(old)) < 0)
			return -1;
		return 0;
	}
	return -1;
}

static void
sync_dir(const char *file)
{
	char copy[KF_PATH_MAX + 1];
	size_t n = strlen(file);
	int fd;

	if (n >= sizeof(copy))
		return;
	memcpy(copy, file, n + 1);
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	(void)fsync(fd);
	close(fd);
}

/* The new text under the old file's owner and mode, then renamed over it. */
static int
replace(const char *file, const struct stat *st, const struct buf *b)
{
	char tmp[KF_PATH_MAX + 32];
	int fd, r;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", file) >=
		sizeof(tmp) ||
	    (fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		return -1;
	r = fchown(fd, st->st_uid, st->st_gid) < 0 ||
		fchmod(fd, st->st_mode & 07777) < 0 ||
		sys_write_all(fd, buf_data(b), buf_len(b)) < 0 ||
		fsync(fd) < 0 ?
	    -1 :
	    0;
	if (close(fd) < 0)
		r = -1;
	if (r == 0 && rename(tmp, file) < 0)
		r = -1;
	if (r < 0) {
		unlink(tmp);
		return -1;
	}
	sync_dir(file);
	return 0;
}

/* The new text still parses, and name's line holds hash. */
static int
valid_with(const struct buf *b, const char *name, const char *hash)
{
	struct users_entry e;
	const char *err = "";
	size_t no = 0;

	return users_find(buf_data(b), buf_len(b), name, &e, &no, &err) == 1 &&
	    strcmp(e.hash, hash) == 0;
}

/* The users file rewritten with hash for name; the lock is held. */
static const char *
rewrite_locked(const char *file, const char *name, const char *old,
    const char *hash)
{
	struct buf *out;
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	const char *why = NULL;

	if (lstat(file, &st) < 0 || !S_ISREG(st.st_mode))
		return "not a regular file";
	if (users_load(file, &text, &len) < 0)
		return "cannot read it";
	if ((out = buf_new(KF_USERS_FILE_MAX)) == NULL)
		why = "out of memory";
	else if (hash_splice(text, len, name, old, hash, out) < 0)
		why = "the line changed meanwhile";
	else if (!valid_with(out, name, hash))
		why = "the new line would be too long";
	else if (replace(file, &st, out) < 0)
		why = strerror(errno);
	buf_free(out);
	users_unload(text);
	return why;
}

void
auth_rehash(const struct conf *c, const char *name, const char *old,
    const char *pass)
{
	char hash[crypto_pwhash_STRBYTES];
	const char *why = "users file locked (keepftpd user)";
	int lk;

	if (auth_hash_password(pass, c->pwhash_opslimit,
		(size_t)c->pwhash_memlimit_kib * 1024, hash,
		sizeof(hash)) < 0) {
		log_warn("rehash: user=%s hashing failed", name);
		return;
	}
	if ((lk = users_lock(c->users_file, 0)) >= 0) {
		why = rewrite_locked(c->users_file, name, old, hash);
		close(lk);
	}
	sodium_memzero(hash, sizeof(hash));
	if (why != NULL)
		log_warn("rehash: user=%s users_file=%s not changed: %-s", name,
		    c->users_file, why);
	else
		log_info("rehash: user=%s password hash upgraded to argon2id "
			 "(opslimit %lu, memlimit %lu KiB)",
		    name, c->pwhash_opslimit, c->pwhash_memlimit_kib);
}
