/*
 * sess_data.c - the data connection: PASV, EPSV, PORT, EPRT, ABOR, and
 * opening one (with its TLS handshake under PROT P) for a transfer.
 * Runs in: post-login worker.
 */
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../common/log.h"
#include "../ipc/proto.h"
#include "../net/addr.h"
#include "../tls/tls_xfer.h"
#include "sess.h"

/*
 * PROT P: the TLS handshake on the new data connection, which must
 * resume the control connection's session unless the check is off.
 * Replies 522 or 425 itself on failure.
 */
static int
protect_data(struct sess *s, int fd)
{
	char why[400];
	int r;

	r = tlsd_accept(tls_data_ctx(s->conf), fd,
	    (int)s->conf->data_timeout * 1000, s->conf->tls_data_reuse_required,
	    &s->dssl, why, sizeof(why));
	if (r == TLSD_OK)
		return fd;
	close(fd);
	log_warn("data connection refused: %-s", why);
	if (r == TLSD_NOT_RESUMED)
		ctrl_reply(&s->ctrl, 522,
		    "Data connection refused: it must "
		    "resume the control connection's TLS session.");
	else
		ctrl_reply(&s->ctrl, 425,
		    "TLS negotiation on the data "
		    "connection failed.");
	return -1;
}

/* Opens the data connection after a 150; replies 425 itself on failure. */
int
sess_open_data(struct sess *s, const char *what)
{
	int fd;

	ctrl_reply(&s->ctrl, 150, "%s", what);
	fd = data_open(&s->data, &s->si->local, &s->si->peer,
	    (int)s->conf->data_timeout * 1000);
	if (fd < 0)
		ctrl_reply(&s->ctrl, 425,
		    "Failed to establish data connection.");
	else if (s->tls_flags & MON_TLS_PROT_P)
		fd = protect_data(s, fd);
	return fd;
}

/* The transport of the data connection fd: TLS under PROT P. */
void
sess_data_io(struct sess *s, struct xfer_io *io, int fd)
{
	if (s->dssl != NULL)
		tlsx_io(io, s->dssl, fd);
	else
		xfer_io_plain(io, fd);
}

/* The end of a data connection: close_notify first under PROT P. */
void
sess_close_data(struct sess *s, int fd)
{
	struct xfer_io io;

	sess_data_io(s, &io, fd);
	io.ops->finish(&io);
	s->dssl = NULL;
}

int
sess_need_data(struct sess *s)
{
	if (!(s->tls_flags & MON_TLS_PROT_P) &&
	    policy_prot_required(s->conf, s->id->anonymous)) {
		ctrl_reply(&s->ctrl, 521,
		    "Data connections must be "
		    "protected: use PBSZ 0 and PROT P.");
		data_reset(&s->data);
		return -1;
	}
	if (data_pending(&s->data))
		return 0;
	ctrl_reply(&s->ctrl, 425, "Use PORT, EPRT, PASV or EPSV first.");
	return -1;
}

static int
passive_ok(struct sess *s)
{
	if (!s->conf->pasv_enable) {
		ctrl_reply(&s->ctrl, 502, "Passive mode is disabled.");
		return 0;
	}
	return 1;
}

/*
 * Behind a load balancer that does not forward passive ports
 * (pasv_proxy = no), EPSV would send the client to the balancer's
 * address, which leads nowhere: refused, so that clients fall back to
 * PASV, which announces this node's address.
 */
static int
epsv_ok(struct sess *s)
{
	if (!s->si->proxied || s->conf->pasv_proxy)
		return 1;
	ctrl_reply(&s->ctrl, 502,
	    "EPSV is not available behind the load balancer; use PASV.");
	return 0;
}

void
do_pasv(struct sess *s, const struct cmd *c)
{
	uint8_t ip[4];
	uint16_t port;

	if (!passive_ok(s))
		return;
	if (s->epsv_all) {
		ctrl_reply(&s->ctrl, 503,
		    "Only EPSV is allowed after EPSV ALL.");
		return;
	}
	if (addr_ipv4(&s->si->local, ip) < 0) {
		ctrl_reply(&s->ctrl, 425, "PASV needs IPv4; use EPSV.");
		return;
	}
	/* behind NAT: the address configured for the client's network */
	(void)conf_pasv_announce(s->conf, &s->si->peer, ip);
	if (data_listen(&s->data, &s->si->local,
		(unsigned)s->conf->pasv_min_port,
		(unsigned)s->conf->pasv_max_port, &port) < 0) {
		ctrl_reply(&s->ctrl, 425, "Cannot open a passive port.");
		return;
	}
	ctrl_reply(&s->ctrl, 227, "Entering Passive Mode (%u,%u,%u,%u,%u,%u).",
	    ip[0], ip[1], ip[2], ip[3], port >> 8, port & 255);
}

void
do_epsv(struct sess *s, const struct cmd *c)
{
	char want[2] = { (char)('0' + addr_family_proto(&s->si->local)), '\0' };
	uint16_t port;

	if (!passive_ok(s) || !epsv_ok(s))
		return;
	if (strcasecmp(c->arg, "ALL") == 0) {
		s->epsv_all = 1;
		ctrl_reply(&s->ctrl, 200, "EPSV ALL ok.");
		return;
	}
	if (c->arglen > 0 && strcmp(c->arg, want) != 0) {
		ctrl_reply(&s->ctrl, 522,
		    "Network protocol not supported, use (%s).", want);
		return;
	}
	if (data_listen(&s->data, &s->si->local,
		(unsigned)s->conf->pasv_min_port,
		(unsigned)s->conf->pasv_max_port, &port) < 0) {
		ctrl_reply(&s->ctrl, 425, "Cannot open a passive port.");
		return;
	}
	ctrl_reply(&s->ctrl, 229, "Entering Extended Passive Mode (|||%u|).",
	    port);
}

void
do_port(struct sess *s, const struct cmd *c)
{
	struct sockaddr_storage a;
	socklen_t len;
	int r;

	if (!s->conf->port_enable) {
		ctrl_reply(&s->ctrl, 502, "Active mode is disabled.");
		return;
	}
	if (s->epsv_all) {
		ctrl_reply(&s->ctrl, 503,
		    "Only EPSV is allowed after EPSV ALL.");
		return;
	}
	r = c->def->id == CMD_PORT ? args_port(c->arg, &a, &len) :
				     args_eprt(c->arg, &a, &len);
	if (r < 0) {
		ctrl_reply(&s->ctrl, 501, "Illegal %s command.", c->def->name);
		return;
	}
	if (data_set_port(&s->data, &a, &s->si->peer) < 0) {
		log_warn("%-s to a foreign address or privileged port refused",
		    c->def->name);
		ctrl_reply(&s->ctrl, 501,
		    "%s refused: only to %sa port >= 1024.", c->def->name,
		    s->data.fxp ? "" : "your own address and ");
		return;
	}
	ctrl_reply(&s->ctrl, 200, "%s command successful.", c->def->name);
}

void
do_abor(struct sess *s, const struct cmd *c)
{
	data_reset(&s->data);
	ctrl_reply(&s->ctrl, 225, "No transfer to ABOR.");
}
