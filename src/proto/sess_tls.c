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

/* PBSZ 0 and PROT C/P (RFC 4217) after login: basic.c, as before it. */
void
do_prot(struct sess *s, const struct cmd *c)
{
	proto_reply_prot(&s->ctrl, c, s->si->tls, &s->tls_flags);
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
		ctrl_reply(&s->ctrl, 533,
		    "The control connection is not "
		    "protected.");
		return;
	}
	if (!s->conf->tls_ccc_enable) {
		ctrl_reply(&s->ctrl, 534, "CCC is not allowed on this server.");
		return;
	}
	if (ctrl_reply(&s->ctrl, 200,
		"Control connection in plain text "
		"from now on.") < 0)
		return;
	ipc_init(&m, MON_CCC);
	if (ipc_send(s->si->mon_fd, &m) < 0 ||
	    ipc_recv(s->si->mon_fd, &m) < 0 || m.type != MON_CCC_RESULT ||
	    ipc_get_u32(&m, &ok) < 0 || ipc_end(&m) < 0 || ok != 1) {
		log_warn("CCC: the TLS relay did not end TLS; closing");
		_exit(1);
	}
	s->ccc = 1;
	log_info("CCC: the control connection is in plain text");
}
