/*
 * sess_upload.c - uploads: STOR, APPE (and REST + STOR) and STOU; the
 * target opened, the temporary file placed or discarded, the quota
 * charged; the upload hook asked for (MON_UPLOAD_HOOK): after the
 * commit, or in check mode as the gate before a STOR's file gets its
 * name; the digests hash_store keeps, computed on the way in.
 * Runs in: post-login worker.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/sys.h"
#include "../fs/hash_store.h"
#include "../fs/path.h"
#include "../fs/upload.h"
#include "../ipc/ipc.h"
#include "../ipc/proto.h"
#include "sess.h"

static int
hook_on(const struct sess *s)
{
	return s->conf->upload_hook[0] != '\0';
}

static int
hook_checks(const struct sess *s)
{
	return hook_on(s) && strcmp(s->conf->upload_hook_mode, "check") == 0;
}

/*
 * MON_UPLOAD_HOOK with the file (vpath: as the client sees it). Check
 * mode: 1 when the monitor says the hook accepted it, else 0 (also
 * when the monitor cannot be asked: the gate stays shut). After mode:
 * no answer comes.
 */
static int
hook_request(struct sess *s, const char *vpath, int fd)
{
	struct ipc_msg m;
	uint32_t ok;

	ipc_init(&m, MON_UPLOAD_HOOK);
	if (ipc_put_str(&m, vpath, KF_PATH_MAX) < 0 ||
	    ipc_send_fds(s->si->mon_fd, MON_UPLOAD_HOOK, m.data, m.len, &fd,
		1) < 0)
		return 0;
	if (!hook_checks(s))
		return 1;
	if (ipc_recv(s->si->mon_fd, &m) < 0 ||
	    m.type != MON_UPLOAD_HOOK_RESULT || ipc_get_u32(&m, &ok) < 0 ||
	    ipc_end(&m) < 0)
		return 0;
	return ok == 1;
}

/*
 * Check mode: an upload that is not gated (APPE, REST+STOR, STOU: its
 * bytes land under a visible name) is refused with 550. 1 when refused.
 */
static int
hook_refuses(struct sess *s, int gated)
{
	if (!hook_checks(s) || gated)
		return 0;
	ctrl_reply(&s->ctrl, 550,
	    "Only STOR from the start is allowed with upload checks.");
	return 1;
}

/* The committed file, opened afresh by its name, or -1. */
static int
open_placed(int dirfd, const char *name)
{
	const int f = O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	int fd = openat(dirfd, name, O_RDONLY | f);

	/* anon_upload_mode may leave its owner writing only */
	return fd >= 0 ? fd : openat(dirfd, name, O_WRONLY | f);
}

/*
 * After mode: the committed file to the hook: own, when the upload was
 * handed to anon_upload_owner (opened before, so still readable), else
 * opened afresh read-only.
 */
static void
hook_after(struct sess *s, int dirfd, const char *name, const char *vpath,
    int own)
{
	int fd;

	if (!hook_on(s) || hook_checks(s))
		return;
	if (own >= 0) {
		hook_request(s, vpath, own);
		return;
	}
	fd = openat(dirfd, name,
	    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return;
	hook_request(s, vpath, fd);
	close(fd);
}

/* No rule is this: perm_lookup's answer when none matched. */
#define NO_RULE 0x80000000u

/*
 * anon_upload_owner: an anonymous upload whose target lies in a
 * drop-box (the identity's rules are anon_upload_dirs, and only them).
 */
static int
anon_owned(const struct sess *s, const char *real)
{
	return s->id->anonymous && s->conf->anon_upload_owner[0] != '\0' &&
	    perm_lookup(&s->id->perms, real, NO_RULE) != NO_RULE;
}

/* MON_ANON_OWN with fd: 1 when the monitor gave it away. */
static int
anon_own_request(struct sess *s, int fd)
{
	struct ipc_msg m;
	uint32_t ok;

	if (ipc_send_fds(s->si->mon_fd, MON_ANON_OWN, NULL, 0, &fd, 1) < 0 ||
	    ipc_recv(s->si->mon_fd, &m) < 0 || m.type != MON_ANON_OWN_RESULT ||
	    ipc_get_u32(&m, &ok) < 0 || ipc_end(&m) < 0)
		return 0;
	return ok == 1;
}

/*
 * The file an anonymous upload left in a drop-box (dirfd, name), opened
 * by its name, goes to anon_upload_owner. st as it was, or
 * XFER_IO_ERROR (451) when the monitor could not: the file is removed
 * then, as far as the anonymous account still may. *own: the file,
 * open for the upload hook, or -1.
 */
static enum xfer_status
anon_hand_over(struct sess *s, int dirfd, const char *name, enum xfer_status st,
    int *own)
{
	*own = open_placed(dirfd, name);
	if (*own >= 0 && anon_own_request(s, *own) == 1)
		return st;
	log_warn("anon_upload_owner: name=%s not handed over; removed", name);
	if (*own >= 0)
		close(*own);
	*own = -1;
	unlinkat(dirfd, name, 0);
	return XFER_IO_ERROR;
}

/*
 * Upload target. A plain STOR writes a temporary file in the target's
 * directory (upload.h: unnamed where possible, else a hidden, locked
 * name), which replaces the target only on success (invariant 8), and
 * is charged to the quota only then. APPE and REST+STOR are explicit
 * edits of the existing file, charged block by block, by one writer at
 * a time (an OFD lock held while they run, which shared file systems
 * such as NFSv4 carry between nodes: a second one gets 450). The last
 * component is opened with O_NOFOLLOW: the parent was resolved in the
 * root, and a symlink as the final name is refused, not followed.
 */
struct upload {
	int dirfd;
	int fd;
	int temp;
	int created; /* APPE made the file */
	uint64_t start; /* length before an APPE or REST */
	uint64_t files; /* files charged to the quota */
	const char *name;
	struct upload_tmp tmp; /* STOR */
	struct quota_usage freed; /* what the STOR's target frees */
};

/* The quota's file count for a file APPE or REST+STOR creates. */
static int
upload_charge_file(struct sess *s, struct upload *u)
{
	int r = quota_charge(&s->quota, 0, 1, 0);

	if (r == 0)
		u->files = 1;
	return r;
}

/*
 * The one writer continuing a file, on any node sharing it: -EBUSY when
 * another session holds the lock. A file system without locks (ENOLCK)
 * goes on unlocked, as before; the lock ends with the fd.
 */
static int
lock_writer(int fd)
{
	struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	if (fcntl(fd, F_OFD_SETLK, &l) == 0)
		return 0;
	return errno == EAGAIN || errno == EACCES ? -EBUSY : 0;
}

/* APPE, REST + STOR: the existing file, continued. */
static int
upload_open_existing(struct sess *s, struct upload *u, int append, int flags)
{
	struct stat sb;

	u->fd = openat(u->dirfd, u->name, flags | (append ? O_APPEND : 0),
	    0666);
	if (u->fd < 0)
		return -1;
	if (fstat(u->fd, &sb) < 0 || !S_ISREG(sb.st_mode))
		return -1;
	if (lock_writer(u->fd) < 0)
		return -EBUSY;
	/* the length now, under the lock: the last writer may have grown it */
	if (fstat(u->fd, &sb) < 0)
		return -1;
	if (append) {
		u->start = (uint64_t)sb.st_size;
		return 0;
	}
	if (s->rest > (uint64_t)sb.st_size ||
	    ftruncate(u->fd, (off_t)s->rest) < 0 ||
	    lseek(u->fd, (off_t)s->rest, SEEK_SET) < 0)
		return -1;
	u->start = s->rest;
	quota_credit(&s->quota, (uint64_t)sb.st_size - s->rest, 0);
	return 0;
}

/*
 * STOR: the temporary file, once the quota has room for one more file
 * (the target's own slot counts when it is a regular file it replaces:
 * replacing is allowed at the limit).
 */
static int
upload_open_temp(struct sess *s, struct upload *u, const struct stat *old)
{
	int r;

	if (old != NULL && S_ISREG(old->st_mode) && old->st_nlink == 1)
		u->freed = (struct quota_usage){ (uint64_t)old->st_size, 1 };
	if ((r = quota_check(&s->quota, 0, 1, &u->freed)) < 0)
		return r;
	if (upload_tmp_open(u->dirfd, s->conf->upload_tmpfile, &u->tmp) < 0)
		return -1;
	u->fd = u->tmp.fd;
	return 0;
}

/*
 * 0, or -1 (553), -EDQUOT (552), -EIO (451), -EBUSY (450); nothing left
 * on failure.
 */
static int
upload_open(struct sess *s, const struct cmd *c, struct upload *u)
{
	/* REST n then STOR or APPE: continue the existing file at n */
	int append = c->def->id == CMD_APPE && s->rest == 0;
	int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC;
	struct stat sb;
	int exists, r;

	u->fd = u->tmp.fd = -1;
	u->dirfd = fs_open_parent_real(s->rootfd, s->path, &u->name, s->real,
	    sizeof(s->real));
	if (u->dirfd < 0)
		return -1;
	exists = fstatat(u->dirfd, u->name, &sb, AT_SYMLINK_NOFOLLOW) == 0;
	/* a new name: upload; an existing one (STOR, APPE, REST): overwrite */
	if (sess_may(s, s->real, exists ? PERM_OVERWRITE : PERM_UPLOAD,
		c->def->name) < 0)
		return -EACCES;
	u->temp = c->def->id == CMD_STOR && s->rest == 0;
	if (u->temp)
		return upload_open_temp(s, u, exists ? &sb : NULL);
	if (!exists && (r = upload_charge_file(s, u)) < 0)
		return r;
	u->created = !exists;
	/* a name that appeared meanwhile is not ours to remove on failure */
	r = upload_open_existing(s, u, append, flags | (exists ? 0 : O_EXCL));
	if (r < 0) {
		if (u->fd >= 0)
			close(u->fd);
		/*
		 * REST past the end of a file we just made: it goes again
		 * (not when busy: the file stays, with its charge, for the
		 * upload that writes it already)
		 */
		if (r == -EBUSY && u->created)
			u->files = 0;
		else if (u->fd >= 0 && u->created)
			unlinkat(u->dirfd, u->name, 0);
		u->fd = -1;
		quota_credit(&s->quota, 0, u->files);
	}
	return r;
}

/*
 * Over quota while continuing a file: what did not fit is cut off (the
 * file is back to its length before), and a file APPE created goes.
 */
static void
upload_undo(struct sess *s, struct upload *u, uint64_t *charged)
{
	if (ftruncate(u->fd, (off_t)u->start) < 0)
		return;
	quota_credit(&s->quota, *charged, 0);
	*charged = 0;
	if (u->created)
		quota_unlink(&s->quota, u->dirfd, u->name, 0);
}

static int
place_temp(void *arg)
{
	struct upload *u = arg;

	return upload_tmp_place(u->dirfd, &u->tmp, u->name);
}

/*
 * A STOR's end: on success the temporary file takes the target's name
 * and its size is charged, in one step under the quota lock (552 when
 * another session's upload took the room meanwhile); otherwise, or
 * then, it is discarded.
 */
static enum xfer_status
temp_commit(struct sess *s, struct upload *u, enum xfer_status st)
{
	struct stat sb;
	int r;

	if (st == XFER_OK && fstat(u->fd, &sb) < 0)
		st = XFER_IO_ERROR;
	/* the gate: not named, not charged unless the hook said yes */
	if (st == XFER_OK && hook_checks(s) &&
	    hook_request(s, s->path, u->fd) != 1)
		st = XFER_REJECTED;
	if (st == XFER_OK &&
	    (r = quota_commit(&s->quota, (uint64_t)sb.st_size, u->dirfd,
		 u->name, place_temp, u)) < 0)
		st = r == -EDQUOT ? XFER_QUOTA :
		    r == -ENOSPC  ? XFER_DISK_FULL :
				    XFER_IO_ERROR;
	upload_tmp_discard(u->dirfd, &u->tmp);
	u->fd = -1;
	return st;
}

/*
 * The end of an upload: a STOR's temporary file placed or discarded; an
 * APPE or REST+STOR over the quota cut back.
 */
static enum xfer_status
upload_commit(struct sess *s, struct upload *u, enum xfer_status st,
    uint64_t charged)
{
	if (u->temp)
		return temp_commit(s, u, st);
	if (st == XFER_QUOTA)
		upload_undo(s, u, &charged);
	if (close(u->fd) < 0 && st == XFER_OK)
		st = errno == ENOSPC ? XFER_DISK_FULL : XFER_IO_ERROR;
	u->fd = -1;
	return st;
}

/* The reply when upload_open fails. */
static void
reply_upload_open(struct sess *s, int r)
{
	if (r == -EACCES)
		return; /* sess_may answered */
	if (r == -EDQUOT)
		ctrl_reply(&s->ctrl, 552, "Quota exceeded: at most %llu files.",
		    (unsigned long long)s->quota.max_files);
	else if (r == -EIO)
		ctrl_reply(&s->ctrl, 451,
		    "Quota usage unknown; uploads refused.");
	else if (r == -EBUSY)
		ctrl_reply(&s->ctrl, 450,
		    "File busy: another upload is writing it; try again "
		    "later.");
	else
		ctrl_reply(&s->ctrl, 553, "Could not create file.");
}

/*
 * anon_upload_dirs: a file an anonymous session made gets
 * anon_upload_mode, whatever the umask (docs/PERMISSIONS.md).
 */
static int
anon_mode(struct sess *s, int fd)
{
	if (!s->id->anonymous || s->conf->anon_upload_dirs[0] == '\0')
		return 0;
	return fchmod(fd, (mode_t)s->conf->anon_upload_mode);
}

/*
 * The upload loop for the session's TYPE; its bytes through h's
 * digests when h computes any (hash_store.h).
 */
static enum xfer_status
recv_into(struct sess *s, struct xfer *x, int fd, struct hash_store *h)
{
	if (h->m != NULL)
		x->tap = (struct xfer_tap){ hash_store_tap, h };
	return s->ascii ? xfer_recv_ascii(x, fd) : xfer_recv_file(x, fd);
}

/* A whole new file (STOR, STOU) gets its digests; an edit drops them. */
static void
hash_begin(struct sess *s, struct hash_store *h, int whole, int fd)
{
	if (whole)
		hash_store_begin(h, s->hash_store);
	else
		hash_store_drop(fd);
}

/*
 * After the last byte, before the file is closed or named: the digests
 * stored (a STOR or STOU that succeeded), or the record an edit may
 * have met on the way dropped again (APPE, REST+STOR; see hash_store.h).
 */
static void
hash_end(struct hash_store *h, int whole, int fd, enum xfer_status st)
{
	int r;

	if (!whole)
		hash_store_drop(fd);
	else if (st == XFER_OK && h->m != NULL &&
	    (r = hash_store_commit(h, fd)) < 0)
		log_debug("hash_store: digest not stored (errno %d)", -r);
	hash_store_end(h);
}

void
do_stor(struct sess *s, const struct cmd *c)
{
	struct upload u = { .dirfd = -1, .fd = -1 };
	struct hash_store h = { NULL, 0, 0 };
	enum xfer_status st;
	struct xfer x;
	int64_t t0;
	int dfd, r, own = -1;

	if (sess_need_data(s) < 0 || sess_resolve(s, c->arg) < 0)
		return;
	if (hook_refuses(s, c->def->id == CMD_STOR && s->rest == 0))
		goto out;
	if ((r = upload_open(s, c, &u)) < 0) {
		reply_upload_open(s, r);
		goto out;
	}
	if ((u.temp || u.created) && anon_mode(s, u.fd) < 0) {
		upload_commit(s, &u, XFER_IO_ERROR, 0);
		ctrl_reply(&s->ctrl, 553, "Could not create file.");
		goto out;
	}
	if ((dfd = sess_open_data(s, "Ok to send data.")) < 0) {
		upload_commit(s, &u, XFER_DATA_ERROR, 0);
		goto out;
	}
	sess_init_file_xfer(s, &x, dfd, 1);
	x.quota_at_end = u.temp;
	x.quota_freed = u.freed;
	hash_begin(s, &h, u.temp, u.fd);
	t0 = sys_now_ms();
	st = recv_into(s, &x, u.fd, &h);
	sess_close_data(s, dfd);
	hash_end(&h, u.temp, u.fd, st);
	st = upload_commit(s, &u, st, x.charged);
	/* a file APPE made stays, whole or not: handed over either way */
	if ((st == XFER_OK || u.created) && anon_owned(s, s->real))
		st = anon_hand_over(s, u.dirfd, u.name, st, &own);
	sess_log_xfer(s, c->def->name, &x, t0, st);
	sess_reply_xfer(s, st, "Transfer complete.");
	if (st == XFER_OK)
		hook_after(s, u.dirfd, u.name, s->path, own);
	if (own >= 0)
		close(own);
out:
	if (u.dirfd >= 0)
		close(u.dirfd);
	data_reset(&s->data);
}

/*
 * STOU: a new file under a name the server picks (RFC 959, RFC 1123
 * 4.1.2.9: the 150 reply says "FILE: name"). The name is created with
 * O_EXCL, so nothing is ever replaced; a failed upload removes it.
 */
static int
stou_create(struct sess *s, int dirfd, const char *base, char *name,
    size_t namesz)
{
	unsigned char rnd[4];
	unsigned i;
	int fd;

	for (i = 0; i < 100; i++) {
		if (i == 0)
			snprintf(name, namesz, "%s", base);
		else
			snprintf(name, namesz, "%s.%u", base, i);
		fd = openat(dirfd, name,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	randombytes_buf(rnd, sizeof(rnd));
	snprintf(name, namesz, "%s.%02x%02x%02x%02x", base, rnd[0], rnd[1],
	    rnd[2], rnd[3]);
	return openat(dirfd, name,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
}

/* s->path (the STOU argument's) becomes the file's: its dir + name. */
static int
stou_vpath(char *path, const char *name)
{
	char *slash = strrchr(path, '/');
	size_t at = slash != NULL ? (size_t)(slash - path) + 1 : 0;

	if (at + strlen(name) > KF_PATH_MAX)
		return 0;
	memcpy(path + at, name, strlen(name) + 1);
	return 1;
}

void
do_stou(struct sess *s, const struct cmd *c)
{
	char name[NAME_MAX + 1], what[NAME_MAX + 64];
	const char *base;
	struct hash_store h = { NULL, 0, 0 };
	enum xfer_status st;
	struct xfer x;
	int dirfd, fd = -1, dfd, r, own = -1;
	int64_t t0;

	if (sess_need_data(s) < 0)
		return;
	if (s->rest != 0) {
		ctrl_reply(&s->ctrl, 503, "REST is not allowed with STOU.");
		goto out;
	}
	if (hook_refuses(s, 0))
		goto out;
	if ((dirfd = sess_parent_of(s, c->arglen > 0 ? c->arg : "stou",
		 &base)) < 0)
		goto out;
	if (sess_may(s, s->real, PERM_UPLOAD, "STOU") < 0) {
		close(dirfd);
		goto out;
	}
	if ((r = quota_charge(&s->quota, 0, 1, 0)) < 0) {
		reply_upload_open(s, r);
		close(dirfd);
		goto out;
	}
	if (strlen(base) > NAME_MAX - 12 ||
	    (fd = stou_create(s, dirfd, base, name, sizeof(name))) < 0) {
		ctrl_reply(&s->ctrl, 553, "Could not create a unique file.");
		quota_credit(&s->quota, 0, 1);
		close(dirfd);
		goto out;
	}
	if (anon_mode(s, fd) < 0) {
		ctrl_reply(&s->ctrl, 553, "Could not create a unique file.");
		close(fd);
		unlinkat(dirfd, name, 0);
		quota_credit(&s->quota, 0, 1);
		close(dirfd);
		goto out;
	}
	snprintf(what, sizeof(what), "FILE: %s", name);
	if ((dfd = sess_open_data(s, what)) < 0) {
		close(fd);
		unlinkat(dirfd, name, 0);
		quota_credit(&s->quota, 0, 1);
		close(dirfd);
		goto out;
	}
	sess_init_file_xfer(s, &x, dfd, 1);
	hash_begin(s, &h, 1, fd);
	t0 = sys_now_ms();
	st = recv_into(s, &x, fd, &h);
	sess_close_data(s, dfd);
	hash_end(&h, 1, fd, st);
	if (close(fd) < 0 && st == XFER_OK)
		st = XFER_IO_ERROR;
	if (st != XFER_OK) {
		unlinkat(dirfd, name, 0);
		quota_credit(&s->quota, x.charged, 1);
	} else if (anon_owned(s, s->real))
		st = anon_hand_over(s, dirfd, name, st, &own);
	sess_log_xfer(s, "STOU", &x, t0, st);
	if (st == XFER_OK)
		ctrl_reply(&s->ctrl, 226,
		    "Transfer complete (unique file name: %s).", name);
	else
		sess_reply_xfer(s, st, "");
	if (st == XFER_OK && stou_vpath(s->path, name))
		hook_after(s, dirfd, name, s->path, own);
	if (own >= 0)
		close(own);
	close(dirfd);
out:
	data_reset(&s->data);
}
