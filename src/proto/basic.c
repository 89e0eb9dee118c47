/*
 * basic.c - replies that are the same before and after login (NOOP,
 * SYST, FEAT, HELP), and the workers' signal handling.
 * Runs in: pre-login and post-login workers.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "session.h"

volatile sig_atomic_t session_stop;

static void
on_term(int sig)
{
	(void)sig;
	session_stop = 1;
}

/* SIGTERM interrupts a wait (no SA_RESTART) and asks for a clean end. */
void
session_install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

static int
reply_feat(struct ctrl *c)
{
	static const char *const feats[] = {
		"EPRT", "EPSV", "MDTM", "PASV", "REST STREAM", "SIZE",
	};

	return ctrl_reply_lines(c, 211, "Features:", feats,
	    sizeof(feats) / sizeof(feats[0]), "End");
}

static int
reply_help(struct ctrl *c)
{
	const struct cmd_def *t;
	const char *lines[8];
	char text[8][96];
	size_t n, i, row = 0;
	int len = 0;

	t = cmd_table(&n);
	for (i = 0; i < n && row < 8; i++) {
		if (t[i].help == NULL)
			continue;
		len += snprintf(text[row] + len, sizeof(text[row]) - (size_t)len,
		    len > 0 ? " %-4s" : "%-4s", t[i].name);
		if (len > 70) {
			lines[row] = text[row];
			row++;
			len = 0;
		}
	}
	if (len > 0 && row < 8) {
		lines[row] = text[row];
		row++;
	}
	return ctrl_reply_lines(c, 214, "The following commands are recognized.",
	    lines, row, "Help OK.");
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
		reply_feat(c);
		return 1;
	case CMD_HELP:
		reply_help(c);
		return 1;
	default:
		return 0;
	}
}
