/*
 * sess_ext.c - extensions: HASH and XCRC/XMD5/XSHA1/XSHA256 (a checksum
 * that ABOR, STAT and the idle limit reach), FEAT and OPTS.
 * Runs in: post-login worker.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/cursor.h"
#include "../common/sys.h"
#include "../fs/hash.h"
#include "../fs/hash_rec.h"
#include "../fs/hash_store.h"
#include "../fs/list.h"
#include "../fs/path.h"
#include "sess.h"

/* ---------------------------------------------- extensions */

/* Why a running checksum ended early. */
enum hash_end {
	HASH_RAN,
	HASH_ABOR, /* ABOR on the control connection */
	HASH_IDLE, /* longer than the session's idle limit */
	HASH_STOP, /* SIGTERM, session_max_seconds */
	HASH_GONE, /* the control connection closed */
};

struct hash_run {
	struct sess *s;
	int64_t deadline; /* ms */
	enum hash_end end;
};

/*
 * Between chunks: the stop flag, the time limit, and what the client
 * sent (ABOR ends it, STAT is answered with the progress, anything
 * else waits, as during a transfer).
 */
static int
hash_check(void *arg, uint64_t done)
{
	struct hash_run *h = arg;
	struct ctrl *c = &h->s->ctrl;
	int r;

	if (session_stop)
		h->end = HASH_STOP;
	else if (sys_now_ms() >= h->deadline)
		h->end = HASH_IDLE;
	else if (c->len < KF_LINE_MAX &&
	    sys_poll1(c->fd, POLLIN | POLLPRI, 0) > 0) {
		while ((r = ctrl_take_abor(c)) == CTRL_XFER_STAT)
			ctrl_reply(c, 213, "Status: %llu bytes checksummed.",
			    (unsigned long long)done);
		if (r < 0)
			h->end = HASH_GONE;
		else if (r == CTRL_XFER_ABOR)
			h->end = HASH_ABOR;
	}
	return h->end != HASH_RAN;
}

/* The session's cap in MiB: anonymous sessions have their own, smaller. */
static unsigned long
hash_cap(const struct sess *s)
{
	unsigned long cap = s->conf->hash_max_mib;

	if (s->id->anonymous && s->conf->anon_hash_max_mib < cap)
		cap = s->conf->anon_hash_max_mib;
	return cap;
}

/* The reply for a checksum that did not run to its end. */
static void
reply_hash_end(struct sess *s, enum hash_end end)
{
	switch (end) {
	case HASH_ABOR:
		ctrl_reply(&s->ctrl, 426, "Checksum aborted.");
		ctrl_reply(&s->ctrl, 226, "ABOR successful.");
		break;
	case HASH_IDLE:
		ctrl_reply(&s->ctrl, 451,
		    "Checksum aborted: it took longer "
		    "than the idle time limit (%u seconds).",
		    s->idle);
		break;
	case HASH_GONE:
		s->quit = 1;
		break;
	case HASH_STOP:
	case HASH_RAN:
		break; /* the session's 421 is the answer */
	}
}

/* The answer to HASH or XSHA256 etc. with the digest in hex. */
static void
reply_hash(struct sess *s, const struct cmd *c, const struct hash_algo *a,
    const struct stat *sb, const char *hex)
{
	if (c->def->id == CMD_HASH)
		ctrl_reply(&s->ctrl, 213, "%s 0-%lld %s %s", hash_name(a),
		    (long long)sb->st_size, hex, s->path);
	else
		ctrl_reply(&s->ctrl, 250, "%s", hex);
}

/*
 * The digest an upload stored with the file (hash_store = xattr), when
 * the file still has the size and mtime it had then: 1 when answered.
 */
static int
stored_hash(struct sess *s, const struct cmd *c, const struct hash_algo *a,
    int fd, const struct stat *sb)
{
	unsigned char md[HASH_REC_DIGEST_MAX];
	char hex[HASH_HEX_MAX];
	size_t n;

	if (s->hash_store == 0 ||
	    (n = hash_store_lookup(fd, sb, hash_id(a), md)) == 0)
		return 0;
	hash_to_hex(md, n, hex);
	reply_hash(s, c, a, sb, hex);
	return 1;
}

/*
 * HASH path (draft-ietf-ftpext2-hash): "213 ALGO 0-SIZE HEX path".
 * XCRC/XMD5/XSHA1/XSHA256 path: "250 HEX". Regular files only, at most
 * hash_max_mib (anon_hash_max_mib for anonymous sessions). ABOR, the
 * idle limit (the checksum may run that long), SIGTERM and the session
 * limit stop it between chunks. A digest stored at upload (hash_store)
 * answers at once, whatever the file's size.
 */
void
do_hash(struct sess *s, const struct cmd *c)
{
	const struct hash_algo *a = c->def->id == CMD_HASH ?
	    s->hash :
	    hash_alias(c->def->name);
	struct hash_run h = { .s = s, .end = HASH_RAN };
	struct hash_stop stop = { hash_check, &h };
	unsigned long cap = hash_cap(s);
	char hex[HASH_HEX_MAX];
	struct stat sb;
	int fd, r;

	if (cap == 0 || a == NULL) {
		ctrl_reply(&s->ctrl, 502, "HASH is disabled.");
		return;
	}
	if (sess_resolve(s, c->arg) < 0)
		return;
	fd = fs_open_real(s->rootfd, s->path, O_RDONLY | O_NONBLOCK, 0, s->real,
	    sizeof(s->real));
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		ctrl_reply(&s->ctrl, 550, "Not a plain file.");
		goto out;
	}
	/* a digest tells what a file holds: the download right */
	if (sess_may(s, s->real, PERM_DOWNLOAD, c->def->name) < 0 ||
	    sess_anon_servable(s, &sb) < 0)
		goto out;
	if (stored_hash(s, c, a, fd, &sb))
		goto out;
	h.deadline = sys_now_ms() + (int64_t)s->idle * 1000;
	r = hash_fd(a, fd, 0, (uint64_t)sb.st_size, (uint64_t)cap << 20, &stop,
	    hex, sizeof(hex));
	if (r == -EINTR)
		reply_hash_end(s, h.end);
	else if (r == -EFBIG)
		ctrl_reply(&s->ctrl, 550,
		    "File too large to hash (over %lu MiB).", cap);
	else if (r < 0)
		ctrl_reply(&s->ctrl, 550, "Could not hash the file.");
	else
		reply_hash(s, c, a, &sb, hex);
out:
	if (fd >= 0)
		close(fd);
}

void
do_feat(struct sess *s, const struct cmd *c)
{
	/* no HASH line for a session that may not checksum */
	proto_reply_feat(&s->ctrl, s->conf, hash_cap(s) > 0 ? s->hash : NULL,
	    s->facts == 0 ? LIST_FACTS_ALL : s->facts & LIST_FACTS_ALL);
}

/* OPTS MLST fact;fact;...: the facts MLST and MLSD send (RFC 3659 7.9). */
static void
opts_mlst(struct sess *s, const char *arg)
{
	char text[128];

	/* none asked: none sent (LIST_F_NONE has no fact bit) */
	s->facts = list_facts_parse(arg);
	list_facts_text(s->facts, 0, text, sizeof(text));
	if (s->facts == 0)
		s->facts = LIST_F_NONE;
	ctrl_reply(&s->ctrl, 200, "MLST OPTS %s", text);
}

/* OPTS UTF8 ON|OFF, OPTS HASH [algo], OPTS MLST facts. */
void
do_opts(struct sess *s, const struct cmd *c)
{
	const struct hash_algo *a;
	struct cursor cur;

	cursor_init(&cur, c->arg, c->arglen);
	if (strcasecmp(c->arg, "UTF8 ON") == 0 ||
	    strcasecmp(c->arg, "UTF8") == 0)
		ctrl_reply(&s->ctrl, 200, "UTF8 is always on.");
	else if (strcasecmp(c->arg, "UTF8 OFF") == 0)
		ctrl_reply(&s->ctrl, 504, "UTF8 cannot be turned off.");
	else if (strcasecmp(c->arg, "HASH") == 0)
		ctrl_reply(&s->ctrl, 200, "%s", hash_name(s->hash));
	else if (cursor_eat_ci(&cur, "MLST")) {
		cursor_eat(&cur, ' ');
		opts_mlst(s, cur.p);
	} else if (cursor_eat_ci(&cur, "HASH ")) {
		if ((a = hash_lookup(cur.p)) == NULL) {
			ctrl_reply(&s->ctrl, 501, "Unknown hash algorithm.");
			return;
		}
		s->hash = a;
		ctrl_reply(&s->ctrl, 200, "%s", hash_name(a));
	} else
		ctrl_reply(&s->ctrl, 501, "Option not understood.");
}
