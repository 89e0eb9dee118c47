/*
 * sess_perm.c - per-directory permissions in the post-login worker:
 * each command's right (docs/PERMISSIONS.md) checked on the resolved
 * path the command acts on (fs_open_real: symlinks and ".." gone), the
 * user's rules (common/perm.h) with the read-only/read-write flag as
 * the default. A refusal is a 550 and a log line naming the right.
 * Runs in: post-login worker.
 */
#include <errno.h>
#include <sys/stat.h>

#include "../common/log.h"
#include "sess.h"

static uint32_t
dflt(const struct sess *s)
{
	return s->id->writable ? PERM_ALL : PERM_READ;
}

uint32_t
sess_rights(const struct sess *s, const char *real)
{
	return perm_lookup(&s->id->perms, real, dflt(s));
}

/* The first right of need that is missing at real, or 0. */
static uint32_t
missing(const struct sess *s, const char *real, uint32_t need)
{
	uint32_t lack = need & ~sess_rights(s, real);

	return lack & (~lack + 1); /* the lowest bit */
}

int
sess_may_quiet(const struct sess *s, const char *real, uint32_t need)
{
	return missing(s, real, need) == 0 ? 0 : -EACCES;
}

int
sess_may(struct sess *s, const char *real, uint32_t need, const char *verb)
{
	uint32_t lack = missing(s, real, need);

	if (lack == 0)
		return 0;
	log_field_str("command", verb);
	log_field_str("reason", perm_name(lack));
	log_event(LOG_WARNING, "perm",
	    "permission denied: %-s path=%s real=%s user=%s needs %-s", verb,
	    s->path, real, s->id->name, perm_name(lack));
	ctrl_reply(&s->ctrl, 550, "Permission denied (%s).", perm_name(lack));
	return -1;
}

int
sess_may_change(const struct sess *s)
{
	return s->id->writable ||
	    (perm_any(&s->id->perms, 0) & PERM_WRITES) != 0;
}

/*
 * Listings (list_opts.may): the list right; a refusal is logged (the
 * listing answers 550 for the path asked, leaves out what lies below).
 */
int
sess_may_list(void *arg, const char *real)
{
	struct sess *s = arg;

	if (sess_may_quiet(s, real, PERM_LIST) == 0)
		return 0;
	log_field_str("reason", "list");
	log_event(LOG_WARNING, "perm",
	    "permission denied: %-s path=%s real=%s user=%s needs list",
	    s->who_verb != NULL ? s->who_verb : "LIST", s->path, real,
	    s->id->name);
	return -EACCES;
}

/*
 * A file an anonymous session reads (RETR, SIZE, MDTM, HASH) when
 * anon_upload_dirs is set: only one readable by others. Uploads are
 * made with anon_upload_mode (0600 by default), so a file uploaded
 * anonymously is never served to anonymous users, wherever it lies,
 * until an administrator makes it readable (docs/PERMISSIONS.md).
 */
int
sess_anon_servable(struct sess *s, const struct stat *sb)
{
	if (!s->id->anonymous || s->conf->anon_upload_dirs[0] == '\0' ||
	    (sb->st_mode & S_IROTH) != 0)
		return 0;
	log_event(LOG_WARNING, "perm",
	    "permission denied: path=%s user=%s not readable by others "
	    "(an anonymous upload)",
	    s->path, s->id->name);
	ctrl_reply(&s->ctrl, 550, "Permission denied.");
	return -1;
}
