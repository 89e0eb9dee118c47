/*
 * conf_lookup.c - what the sessions look up in a parsed configuration:
 * a HOST name normalised, its vhost, the 220 greeting, the address
 * PASV announces to a client. Apart from conf.c so that the privileged
 * processes, which never parse the configuration, hold only this. Pure.
 * Runs in: monitor (MON_LOGIN's host), pre-login workers, post-login
 * workers (PASV), and the configuration parser child (vhost lines).
 */
#include <errno.h>
#include <string.h>

#include "conf.h"
#include "../net/addr.h"

int
conf_host_norm(const char *in, size_t n, char *out)
{
	size_t i;
	char ch;

	if (n == 0 || n > CONF_HOST_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		ch = in[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		else if (!((ch >= 'a' && ch <= 'z') ||
			     (ch >= '0' && ch <= '9') || ch == '.' ||
			     ch == '-' || ch == ':' || ch == '[' || ch == ']'))
			return -EINVAL;
		out[i] = ch;
	}
	out[n] = '\0';
	return 0;
}

const struct conf_vhost *
conf_vhost_find(const struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->vhost_count && i < CONF_VHOST_MAX; i++)
		if (strcmp(c->vhost[i].name, name) == 0)
			return &c->vhost[i];
	return NULL;
}

const char *
conf_greeting(const struct conf *c)
{
	return c->banner_file_text[0] != '\0' ? c->banner_file_text : c->banner;
}

int
conf_pasv_announce(const struct conf *c, const struct sockaddr_storage *peer,
    uint8_t ip[4])
{
	const struct conf_pasv_map *m;
	size_t i;

	for (i = 0; i < c->pasv_address_map_count && i < KF_PASV_MAP_MAX; i++) {
		m = &c->pasv_address_map[i];
		if (addr_in_v4net(peer, m->net, m->bits)) {
			memcpy(ip, m->addr, 4);
			return 1;
		}
	}
	if (c->pasv_address[0] == '\0')
		return 0;
	memcpy(ip, c->pasv_address_ip, 4);
	return 1;
}
