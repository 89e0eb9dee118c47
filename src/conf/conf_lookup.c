/*
 * conf_lookup.c - what the sessions look up in a parsed configuration:
 * a HOST name normalised, its vhost, the 220 greeting, the address
 * PASV announces to a client, a list of shared folders as a mask. Apart from conf.c so that the privileged
 * processes, which never parse the configuration, hold only this. Pure.
 * Runs in: monitor (MON_LOGIN's host), pre-login workers, post-login
 * workers (PASV), and the configuration parser child (vhost lines).
 */
#include <errno.h>
#include <string.h>

#include "conf.h"
#include "../net/addr.h"

/* conf_folder_mask: a bit per folder in a uint32_t. */
_Static_assert(KF_FOLDERS_MAX <= 32, "KF_FOLDERS_MAX must fit a 32-bit mask");

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

int
conf_folder_name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > KF_FOLDER_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= 'A' && s[i] <= 'Z') ||
			(s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
			s[i] == '-'))
			return 0;
	return 1;
}

/* The index of the folder named s[0..n), or -1. */
static int
folder_index(const struct conf *c, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < c->folder_count && i < KF_FOLDERS_MAX; i++)
		if (strlen(c->folder[i].name) == n &&
		    memcmp(c->folder[i].name, s, n) == 0)
			return (int)i;
	return -1;
}

int
conf_folder_mask(const struct conf *c, const char *list, uint32_t *mask)
{
	const char *p = list, *end;
	int unknown = 0, i;
	size_t n;

	*mask = 0;
	if (strlen(list) > KF_FOLDERS_LIST_MAX)
		return -EINVAL;
	while (*p != '\0') {
		p += strspn(p, " \t");
		end = p + strcspn(p, ",");
		n = (size_t)(end - p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (!conf_folder_name_ok(p, n))
			return -EINVAL;
		if ((i = folder_index(c, p, n)) < 0)
			unknown++;
		else
			*mask |= 1u << i;
		if (*end == '\0')
			break;
		p = end + 1;
		if (*p == '\0')
			return -EINVAL; /* a trailing comma */
	}
	return unknown;
}
