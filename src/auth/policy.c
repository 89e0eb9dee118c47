/*
 * policy.c - session policy read from the configuration alone (TLS
 * requirements, session time limit), out of the protocol code so that
 * the privileged image can link it without any FTP.
 * Runs in: monitor, pre-login and post-login workers, spawners.
 */
#include <strings.h>

#include "policy.h"

int64_t
policy_deadline_ms(const struct conf *c, int64_t start_ms)
{
	if (c->session_max_seconds == 0)
		return -1;
	return start_ms + (int64_t)c->session_max_seconds * 1000;
}

/*
 * TLS policy. Before login (id NULL) the name decides: anonymous
 * names follow tls_required_anon, others tls_required_users. After
 * the check (id set) the user's own "tls" flag counts too.
 */
int
policy_tls_required(const struct conf *c, const char *user,
    const struct auth_identity *id)
{
	int anon = id != NULL ? id->anonymous :
				c->anonymous_enable &&
		(strcasecmp(user, "anonymous") == 0 ||
		    strcasecmp(user, "ftp") == 0);

	if (anon)
		return c->tls_required_anon;
	return c->tls_required_users || (id != NULL && id->tls_required);
}

int
policy_prot_required(const struct conf *c, int anonymous)
{
	return anonymous ? c->tls_prot_required_anon :
			   c->tls_prot_required_users;
}
