/*
 * basic.c - replies that are the same before and after login (NOOP,
 * SYST, FEAT, HELP; OPTS UTF8 before login), and the workers' signal
 * handling.
 * Runs in: pre-login and post-login workers.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../fs/hash.h"
#include "../fs/list.h"
#include "../ipc/proto.h"
#include "session.h"

volatile sig_atomic_t session_stop;
volatile sig_atomic_t session_drain;
static unsigned drained, cut; /* transfers that ended during a drain */

/*
 * The server's stop (docs/OPERATIONS.md): a first SIGTERM drains (the
 * session ends when idle, a running transfer goes on), a second one or
 * SESSION_SIG_CUT (the monitor's cut, which two SIGTERMs in a row could
 * not be: they may merge) cuts: the transfer ends with 426.
 * SIGALRM: session_max_seconds. SIGUSR2: `keepftpd kick` (its monitor
 * passes it on): 421 now, a running transfer ends with 426.
 */
static void
on_term(int sig)
{
	if (sig == SIGALRM)
		session_stop = SESSION_STOP_LIMIT;
	else if (sig == SIGUSR2) {
		session_drain = 1;
		session_stop = SESSION_STOP_KICK;
	} else if (sig == SIGTERM && !session_drain)
		session_drain = 1;
	else { /* a second SIGTERM, or the monitor's cut */
		session_drain = 1;
		session_stop = SESSION_STOP_TERM;
	}
}

void
session_drain_note(int finished)
{
	if (!session_drain)
		return;
	if (finished)
		drained++;
	else
		cut++;
}

int
session_exit_status(void)
{
	return cut > 0	? SESSION_EXIT_CUT :
	    drained > 0 ? SESSION_EXIT_DRAINED :
			  0;
}

const char *
session_stop_reason(void)
{
	if (session_stop == SESSION_STOP_KICK)
		return "Session ended by the administrator";
	return session_stop == SESSION_STOP_LIMIT ?
	    "Session time limit reached" :
	    "Server shutting down";
}

/*
 * SIGTERM, SESSION_SIG_CUT, SIGUSR2 (kick) and SIGALRM at
 * session_max_seconds interrupt a wait (no SA_RESTART) and ask for a
 * clean end.
 */
void
session_install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SESSION_SIG_CUT, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL); /* log rotation, the listener's */
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

static void
stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SESSION_SIG_CUT);
	sigaddset(set, SIGUSR2);
	sigaddset(set, SIGALRM);
}

void
session_signals_hold(sigset_t *old)
{
	sigset_t set;

	stop_signals(&set);
	sigprocmask(SIG_BLOCK, &set, old);
}

void
session_signals_release(const sigset_t *old)
{
	sigprocmask(SIG_SETMASK, old, NULL);
}

/* Features that need no state, in FEAT order around the others. */
static const char *const feats_tls[] = { "AUTH TLS", "AUTH SSL", "PBSZ",
	"PROT" };
static const char *const feats_a[] = { "EPRT", "EPSV" };
static const char *const feats_b[] = { "HOST", "MDTM", "MFMT" };
static const char *const feats_c[] = { "PASV", "REST STREAM", "SIZE", "TVFS",
	"UTF8" };

#define FEAT_LINES    20
#define FEAT_LINE_MAX 160

static void
add_lines(const char **lines, size_t *n, const char *const *src, size_t k)
{
	size_t i;

	for (i = 0; i < k && *n < FEAT_LINES; i++)
		lines[(*n)++] = src[i];
}

/*
 * FEAT (RFC 2389), the same before and after login: HASH (when
 * hash_max_mib > 0) with the selected digest starred, MLST with the
 * selected facts starred. conf NULL: only the stateless lines.
 */
int
proto_reply_feat(struct ctrl *c, const struct conf *conf,
    const struct hash_algo *sel, unsigned mlst_facts)
{
	char hash[FEAT_LINE_MAX], mlst[FEAT_LINE_MAX];
	const char *lines[FEAT_LINES];
	size_t n = 0;

	if (conf != NULL && conf->tls_cert[0] != '\0')
		add_lines(lines, &n, feats_tls,
		    sizeof(feats_tls) / sizeof(feats_tls[0]));
	add_lines(lines, &n, feats_a, sizeof(feats_a) / sizeof(feats_a[0]));
	if (conf != NULL && conf->hash_max_mib > 0 && sel != NULL &&
	    hash_feat_line(sel, hash, sizeof(hash)) == 0)
		lines[n++] = hash;
	add_lines(lines, &n, feats_b, sizeof(feats_b) / sizeof(feats_b[0]));
	memcpy(mlst, "MLST ", 5);
	if (conf != NULL &&
	    list_facts_text(mlst_facts, 1, mlst + 5, sizeof(mlst) - 5) == 0)
		lines[n++] = mlst;
	add_lines(lines, &n, feats_c, sizeof(feats_c) / sizeof(feats_c[0]));
	return ctrl_reply_lines(c, 211, "Features:", lines, n, "End");
}

/* HELP: the verbs that have a help text, about 70 columns a row. */
static int
reply_help(struct ctrl *c)
{
	const struct cmd_def *t;
	struct ctrl_lines l;
	char row[96];
	size_t n, i;
	int len = 0;

	ctrl_lines_begin(&l, 214, "The following commands are recognized.");
	t = cmd_table(&n);
	for (i = 0; i < n; i++) {
		if (t[i].help == NULL)
			continue;
		len += snprintf(row + len, sizeof(row) - (size_t)len,
		    len > 0 ? " %-4s" : "%-4s", t[i].name);
		if (len > 70) {
			ctrl_lines_add(&l, "%s", row);
			len = 0;
		}
	}
	if (len > 0)
		ctrl_lines_add(&l, "%s", row);
	return ctrl_lines_end(c, &l, "Help OK.");
}

/* UTF-8 is always on (RFC 2640); nothing else is an option here. */
static void
reply_opts(struct ctrl *c, const struct cmd *cmd)
{
	if (strcasecmp(cmd->arg, "UTF8 ON") == 0 ||
	    strcasecmp(cmd->arg, "UTF8") == 0)
		ctrl_reply(c, 200, "UTF8 is always on.");
	else if (strcasecmp(cmd->arg, "UTF8 OFF") == 0)
		ctrl_reply(c, 504, "UTF8 cannot be turned off.");
	else
		ctrl_reply(c, 501, "Option not understood.");
}

/* 1 when handled. */
int
proto_reply_basic(struct ctrl *c, const struct cmd *cmd)
{
	switch (cmd->def->id) {
	case CMD_NOOP:
		ctrl_reply(c, 200, "NOOP ok.");
		return 1;
	case CMD_SYST:
		ctrl_reply(c, 215, "UNIX Type: L8");
		return 1;
	case CMD_FEAT:
		proto_reply_feat(c, NULL, NULL, 0);
		return 1;
	case CMD_HELP:
		reply_help(c);
		return 1;
	case CMD_OPTS:
		reply_opts(c, cmd);
		return 1;
	default:
		return 0;
	}
}

/*
 * PBSZ 0 and PROT C/P (RFC 4217), the same before and after login, once
 * TLS is on: *flags holds MON_TLS_PBSZ and MON_TLS_PROT_P.
 */
void
proto_reply_prot(struct ctrl *c, const struct cmd *cmd, int tls,
    unsigned *flags)
{
	if (!tls) {
		ctrl_reply(c, 503, "%s needs AUTH TLS first.", cmd->def->name);
		return;
	}
	if (cmd->def->id == CMD_PBSZ) {
		*flags |= MON_TLS_PBSZ;
		ctrl_reply(c, 200, "PBSZ=0");
	} else if (!(*flags & MON_TLS_PBSZ))
		ctrl_reply(c, 503, "PBSZ must come before PROT.");
	else if (strcasecmp(cmd->arg, "P") == 0) {
		*flags |= MON_TLS_PROT_P;
		ctrl_reply(c, 200, "Protection level set to Private.");
	} else if (strcasecmp(cmd->arg, "C") == 0) {
		*flags &= ~MON_TLS_PROT_P;
		ctrl_reply(c, 200, "Protection level set to Clear.");
	} else
		ctrl_reply(c, 536, "Only PROT C and PROT P are supported.");
}
