/*
 * sess_tls.c - TLS commands after login: PBSZ, PROT (RFC 4217) and CCC,
 * which has the monitor's relay end TLS on the control connection.
 * Runs in: post-login worker.
 */
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#include "../common/log.h"
#include "../ipc/ipc.h"
#include "../ipc/proto.h"
#include "sess.h"

/* PBSZ 0 and PROT C/P (RFC 4217) after login. */
void
do_prot(struct sess *s, const struct cmd *c)
{
	if (!s->si->tls) {
		ctrl_reply(&s->ctrl, 503, "%s needs AUTH TLS first.",
		    c->def->name);
		return;
	}
	if (c->def->id == CMD_PBSZ) {
		s->pbsz = 1;
		ctrl_reply(&s->ctrl, 200, "PBSZ=0");
	} else if (!s->pbsz)
		ctrl_reply(&s->ctrl, 503, "PBSZ must come before PROT.");
	else if (strcasecmp(c->arg, "P") == 0) {
		s->prot_p = 1;
		ctrl_reply(&s->ctrl, 200, "Protection level set to Private.");
	} else if (strcasecmp(c->arg, "C") == 0) {
		s->prot_p = 0;
		ctrl_reply(&s->ctrl, 200, "Protection level set to Clear.");
	} else
		ctrl_reply(&s->ctrl, 536, "Only PROT C and PROT P are "
		    "supported.");
}

/*
 * CCC (RFC 4217): the 200 goes out under TLS, then the monitor has the
 * relay end TLS (MON_CCC). Data connections keep their PROT level.
 */
void
do_ccc(struct sess *s, const struct cmd *c)
{
	struct ipc_msg m;
	uint32_t ok;

	if (!s->si->tls || s->ccc) {
		ctrl_reply(&s->ctrl, 533, "The control connection is not "
		    "protected.");
		return;
	}
	if (!s->conf->tls_ccc_enable) {
		ctrl_reply(&s->ctrl, 534, "CCC is not allowed on this server.");
		return;
	}
	if (ctrl_reply(&s->ctrl, 200, "Control connection in plain text "
	    "from now on.") < 0)
		return;
	ipc_init(&m, MON_CCC);
	if (ipc_send(s->si->mon_fd, &m) < 0 || ipc_recv(s->si->mon_fd, &m) < 0 ||
	    m.type != MON_CCC_RESULT || ipc_get_u32(&m, &ok) < 0 ||
	    ipc_end(&m) < 0 || ok != 1) {
		log_warn("CCC: the TLS relay did not end TLS; closing");
		_exit(1);
	}
	s->ccc = 1;
	log_info("CCC: the control connection is in plain text");
}
