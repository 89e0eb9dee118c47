/*
 * command.h - FTP command parsing and the dispatch table's catalogue.
 * Runs in: pre-login and post-login workers. Pure.
 */
#ifndef KF_COMMAND_H
#define KF_COMMAND_H

#include <stddef.h>

#include "../common/limits.h"

enum cmd_id {
	CMD_USER,
	CMD_PASS,
	CMD_QUIT,
	CMD_NOOP,
	CMD_SYST,
	CMD_FEAT,
	CMD_HELP,
	CMD_TYPE,
	CMD_MODE,
	CMD_STRU,
	CMD_PWD,
	CMD_CWD,
	CMD_CDUP,
	CMD_LIST,
	CMD_NLST,
	CMD_RETR,
	CMD_STOR,
	CMD_APPE,
	CMD_DELE,
	CMD_MKD,
	CMD_RMD,
	CMD_RNFR,
	CMD_RNTO,
	CMD_SIZE,
	CMD_MDTM,
	CMD_REST,
	CMD_PASV,
	CMD_EPSV,
	CMD_PORT,
	CMD_EPRT,
	CMD_ABOR,
	CMD_STAT,
	CMD_HOST,
	CMD_REIN,
	CMD_ACCT,
	CMD_STOU,
	CMD_ALLO,
	CMD_SMNT,
	CMD_MLST,
	CMD_MLSD,
	CMD_MFMT,
	CMD_OPTS,
	CMD_SITE,
	CMD_HASH,
	CMD_XCRC,
	CMD_XMD5,
	CMD_XSHA1,
	CMD_XSHA256,
	CMD_AUTH,
	CMD_PBSZ,
	CMD_PROT,
	CMD_CCC,
	CMD__COUNT
};

/* phase: which workers answer the command (every one answers after login) */
#define CMD_PH_PRE  0x01 /* the pre-login worker (prelogin.c) */
#define CMD_PH_POST 0x02 /* the post-login worker (sess_run.c) */

/* flags */
#define CMD_F_ARG   0x02 /* an argument is required */
#define CMD_F_NOARG 0x04 /* no argument allowed */
#define CMD_F_WRITE 0x08 /* needs a writable session */

struct cmd_def {
	const char *name;
	enum cmd_id id;
	unsigned phase; /* CMD_PH_* */
	unsigned flags; /* CMD_F_* */
	const char *help;
};

struct cmd {
	const struct cmd_def *def; /* NULL: unknown verb */
	char verb[KF_CMD_NAME_MAX + 1];
	const char *arg; /* NUL-terminated; "" when none */
	size_t arglen;
};

enum line_status {
	LINE_OK = 0,
	LINE_TOO_LONG, /* 500, session goes on */
	LINE_BAD_CHAR, /* NUL or lone CR: 500 */
	LINE_EOF,
	LINE_TIMEOUT,
	LINE_INTR, /* a signal arrived; caller checks flags */
	LINE_ERROR,
};

size_t telnet_strip(char *line, size_t n);
int cmd_clean_line(char *line, size_t *n);
int cmd_parse(char *line, size_t n, struct cmd *);
const struct cmd_def *cmd_lookup(const char *verb);
const struct cmd_def *cmd_table(size_t *count);

#endif
