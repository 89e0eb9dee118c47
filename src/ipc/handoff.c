/*
 * handoff.c - the spawner's check of a struct handoff, field by field.
 * Pure: no system calls, no logging.
 * Runs in: spawners.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "../auth/users.h"
#include "proto.h"
#include "handoff.h"

static int
terminated(const char *s, size_t n)
{
	return memchr(s, '\0', n) != NULL;
}

static int
inet(const struct sockaddr_storage *a)
{
	return a->ss_family == AF_INET || a->ss_family == AF_INET6;
}

static int
host_ok(const char *host)
{
	char norm[CONF_HOST_MAX + 1];
	size_t n;

	if (!terminated(host, CONF_HOST_MAX + 1))
		return 0;
	n = strlen(host);
	return n == 0 ||
	    (conf_host_norm(host, n, norm) == 0 && strcmp(norm, host) == 0);
}

static int
user_ok(const struct auth_identity *u, int root)
{
	if (!terminated(u->name, sizeof(u->name)) ||
	    !terminated(u->root, sizeof(u->root)) ||
	    !terminated(u->allow_from, sizeof(u->allow_from)) ||
	    !terminated(u->deny_from, sizeof(u->deny_from)) ||
	    !terminated(u->login_hours, sizeof(u->login_hours)))
		return 0;
	if ((u->has_umask & ~1) != 0 || u->umask > 0777 || (u->fxp & ~1) != 0)
		return 0;
	if (u->root[0] != '/' || (u->writable & ~1) != 0 ||
	    (u->anonymous & ~1) != 0 || (u->tls_required & ~1) != 0)
		return 0;
	if (root && (u->uid == 0 || u->gid == 0))
		return 0;
	if (perm_set_check(&u->perms) < 0)
		return 0;
	/* anonymous logins keep the name they were given ("ftp", ...) */
	return users_valid_name(u->name, strlen(u->name)) || u->anonymous;
}

static int
zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	unsigned char acc = 0;
	size_t i;

	for (i = 0; i < n; i++)
		acc |= b[i];
	return acc == 0;
}

int
handoff_check(const struct handoff *h, uint32_t type, int root)
{
	if ((h->flags & ~HANDOFF_FLAGS) != 0 ||
	    (h->tls_flags & ~(MON_TLS_PBSZ | MON_TLS_PROT_P)) != 0 ||
	    !inet(&h->local) || !inet(&h->peer) || !host_ok(h->host) ||
	    h->tls_sess_len > sizeof(h->tls_sess) || h->start_ms < 0)
		return -EBADMSG;
	switch (type) {
	case SPAWN_PRELOGIN:
	case SPAWN_RELAY:
		if ((h->flags & HANDOFF_QUOTA) || h->tls_sess_len != 0 ||
		    !zero(&h->user, sizeof(h->user)))
			return -EBADMSG;
		return 0;
	case SPAWN_POSTLOGIN:
		return user_ok(&h->user, root) ? 0 : -EBADMSG;
	default:
		return -EBADMSG;
	}
}
