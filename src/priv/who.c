/*
 * who.c - a session's row for `keepftpd who`: LSN_LOGIN_STATE's user
 * and LSN_STATUS applied to the slot the listener chose by the sender's
 * pid (the reports name no session), the rate from two successive reports of one transfer, and
 * the row's framing on the admin socket, written and read as strictly.
 * Runs in: listener; the `keepftpd who` command.
 */
#include <string.h>

#include "../net/addr.h"
#include "who.h"

void
who_init(struct who_row *r, uint64_t id, int64_t now_ms, int64_t wall_s)
{
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->connect_s = wall_s;
	r->at_ms = now_ms;
}

int
who_verb_ok(const char *v)
{
	for (; *v != '\0'; v++)
		if (!((*v >= 'A' && *v <= 'Z') || (*v >= '0' && *v <= '9')))
			return 0;
	return 1;
}

static int
get_u64(struct ipc_msg *m, uint64_t *v)
{
	uint32_t hi, lo;

	if (ipc_get_u32(m, &hi) < 0 || ipc_get_u32(m, &lo) < 0)
		return -1;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

static int
put_u64(struct ipc_msg *m, uint64_t v)
{
	if (ipc_put_u32(m, (uint32_t)(v >> 32)) < 0 ||
	    ipc_put_u32(m, (uint32_t)v) < 0)
		return -1;
	return 0;
}

/*
 * The rate: over the span since the report it starts from, while the
 * same transfer goes on and at least half a second has passed; a new
 * transfer (another verb or path, fewer bytes) starts again at 0.
 */
static void
update_rate(struct who_row *r, const struct who_row *n, int64_t t)
{
	int same = n->verb[0] != '\0' && strcmp(n->verb, r->verb) == 0 &&
	    strcmp(n->path, r->path) == 0 && n->bytes >= r->rate_bytes;

	if (!same) {
		r->rate = 0;
		r->rate_ms = t;
		r->rate_bytes = n->bytes;
		return;
	}
	if (t - r->rate_ms < 500)
		return;
	r->rate = (n->bytes - r->rate_bytes) * 1000 /
	    (uint64_t)(t - r->rate_ms);
	r->rate_ms = t;
	r->rate_bytes = n->bytes;
}

int
who_apply(struct who_row *r, struct ipc_msg *m, int64_t now_ms)
{
	struct who_row n;
	uint32_t age;

	if (ipc_get_str(m, n.user, sizeof(n.user)) < 0 ||
	    ipc_get_str(m, n.verb, sizeof(n.verb)) < 0 ||
	    ipc_get_str(m, n.path, sizeof(n.path)) < 0 ||
	    get_u64(m, &n.bytes) < 0 || ipc_get_u32(m, &age) < 0 ||
	    ipc_end(m) < 0 || age > KF_WHO_AGE_MAX_MS || !who_verb_ok(n.verb))
		return -1;
	update_rate(r, &n, now_ms - age);
	memcpy(r->user, n.user, sizeof(r->user));
	memcpy(r->verb, n.verb, sizeof(r->verb));
	memcpy(r->path, n.path, sizeof(r->path));
	r->bytes = n.bytes;
	r->at_ms = now_ms - age;
	return 0;
}

void
who_login(struct who_row *r, const char *user, int64_t now_ms)
{
	size_t n = strlen(user);

	if (n >= sizeof(r->user))
		n = sizeof(r->user) - 1;
	memcpy(r->user, user, n);
	r->user[n] = '\0';
	r->verb[0] = '\0';
	r->path[0] = '\0';
	r->bytes = 0;
	r->rate = 0;
	r->rate_ms = now_ms;
	r->rate_bytes = 0;
	r->at_ms = now_ms;
}

void
who_line_of(const struct who_row *r, pid_t pid,
    const struct sockaddr_storage *peer, int64_t now_ms, struct who_line *l)
{
	int64_t idle = (now_ms - r->at_ms) / 1000;

	memset(l, 0, sizeof(*l));
	l->id = r->id;
	l->pid = (uint32_t)pid;
	memcpy(l->user, r->user, sizeof(l->user));
	addr_to_str(peer, l->addr, sizeof(l->addr));
	l->port = addr_port(peer);
	l->connect_s = r->connect_s > 0 ? (uint64_t)r->connect_s : 0;
	l->idle_s = idle < 0  ? 0 :
	    idle > UINT32_MAX ? UINT32_MAX :
				(uint32_t)idle;
	if (r->user[0] == '\0')
		memcpy(l->state, "LOGIN", sizeof("LOGIN"));
	else
		memcpy(l->state, r->verb, sizeof(l->state));
	if (l->state[0] != '\0' && r->user[0] != '\0') {
		memcpy(l->path, r->path, sizeof(l->path));
		l->bytes = r->bytes;
		l->rate = r->rate;
	}
}

int
who_put(struct ipc_msg *m, const struct who_line *l)
{
	size_t was = m->len;

	if (put_u64(m, l->id) < 0 || ipc_put_u32(m, l->pid) < 0 ||
	    ipc_put_str(m, l->user, KF_USER_MAX) < 0 ||
	    ipc_put_str(m, l->addr, ADM_ADDR_MAX) < 0 ||
	    ipc_put_u32(m, l->port) < 0 || put_u64(m, l->connect_s) < 0 ||
	    ipc_put_u32(m, l->idle_s) < 0 ||
	    ipc_put_str(m, l->state, KF_WHO_VERB_MAX) < 0 ||
	    ipc_put_str(m, l->path, KF_WHO_PATH_MAX) < 0 ||
	    put_u64(m, l->bytes) < 0 || put_u64(m, l->rate) < 0) {
		m->len = was;
		return -1;
	}
	return 0;
}

int
who_get(struct ipc_msg *m, struct who_line *l)
{
	memset(l, 0, sizeof(*l));
	if (get_u64(m, &l->id) < 0 || ipc_get_u32(m, &l->pid) < 0 ||
	    ipc_get_str(m, l->user, sizeof(l->user)) < 0 ||
	    ipc_get_str(m, l->addr, sizeof(l->addr)) < 0 ||
	    ipc_get_u32(m, &l->port) < 0 || get_u64(m, &l->connect_s) < 0 ||
	    ipc_get_u32(m, &l->idle_s) < 0 ||
	    ipc_get_str(m, l->state, sizeof(l->state)) < 0 ||
	    ipc_get_str(m, l->path, sizeof(l->path)) < 0 ||
	    get_u64(m, &l->bytes) < 0 || get_u64(m, &l->rate) < 0 ||
	    !who_verb_ok(l->state) || l->port > 65535)
		return -1;
	return 0;
}
