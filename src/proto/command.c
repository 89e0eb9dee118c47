/*
 * command.c - the command table and the line parser. A line arrives
 * without its LF; telnet sequences are stripped, the CR removed, NUL
 * and lone CR refused; the verb is 1..KF_CMD_NAME_MAX letters, then
 * optionally one space and the argument (kept byte for byte).
 * Runs in: pre-login and post-login workers. Pure.
 */
#include <errno.h>
#include <string.h>

#include "command.h"

/* phases: both workers, or the post-login one only */
#define B (CMD_PH_PRE | CMD_PH_POST)
#define L CMD_PH_POST
#define A CMD_F_ARG
#define N CMD_F_NOARG
#define W CMD_F_WRITE

static const struct cmd_def table[] = {
	{ "ABOR", CMD_ABOR, L, N, "abort the transfer in progress" },
	{ "ACCT", CMD_ACCT, B, A, "account (not needed here)" },
	{ "ALLO", CMD_ALLO, L, A, "allocate storage (not needed)" },
	{ "APPE", CMD_APPE, L, A | W, "append to a file" },
	{ "AUTH", CMD_AUTH, B, A, "start TLS (AUTH TLS, RFC 4217)" },
	{ "CCC", CMD_CCC, B, N, NULL }, /* answers 502: not in HELP */
	{ "CDUP", CMD_CDUP, L, N, "go to the parent directory" },
	{ "CWD", CMD_CWD, L, A, "change directory" },
	{ "DELE", CMD_DELE, L, A | W, "delete a file" },
	{ "EPRT", CMD_EPRT, L, A, "active data connection, any family" },
	{ "EPSV", CMD_EPSV, L, 0, "passive data connection, any family" },
	{ "FEAT", CMD_FEAT, B, N, "list extensions" },
	{ "HASH", CMD_HASH, L, A, "checksum of a file (RFC draft HASH)" },
	{ "HELP", CMD_HELP, B, 0, "this list" },
	{ "HOST", CMD_HOST, B, A, "virtual host (RFC 7151), before USER" },
	{ "LIST", CMD_LIST, L, 0, "long directory listing" },
	{ "MDTM", CMD_MDTM, L, A, "modification time of a file" },
	{ "MFMT", CMD_MFMT, L, A | W, "set the modification time of a file" },
	{ "MKD", CMD_MKD, L, A | W, "make a directory" },
	{ "MLSD", CMD_MLSD, L, 0, "machine listing of a directory" },
	{ "MLST", CMD_MLST, L, 0, "machine listing of one entry" },
	{ "MODE", CMD_MODE, L, A, "transfer mode (S)" },
	{ "NLST", CMD_NLST, L, 0, "name list" },
	{ "NOOP", CMD_NOOP, B, N, "do nothing" },
	{ "OPTS", CMD_OPTS, B, A, "command options" },
	{ "PASS", CMD_PASS, B, 0, "password" },
	{ "PASV", CMD_PASV, L, N, "passive data connection, IPv4" },
	{ "PBSZ", CMD_PBSZ, B, A, "protection buffer size (0, TLS)" },
	{ "PORT", CMD_PORT, L, A, "active data connection, IPv4" },
	{ "PROT", CMD_PROT, B, A, "data protection (C or P, TLS)" },
	{ "PWD", CMD_PWD, L, N, "print working directory" },
	{ "QUIT", CMD_QUIT, B, N, "end the session" },
	{ "REIN", CMD_REIN, L, N, "log out, keep the connection" },
	{ "REST", CMD_REST, L, A, "restart a download at an offset" },
	{ "RETR", CMD_RETR, L, A, "download a file" },
	{ "RMD", CMD_RMD, L, A | W, "remove a directory" },
	{ "RNFR", CMD_RNFR, L, A | W, "rename from" },
	{ "RNTO", CMD_RNTO, L, A | W, "rename to" },
	{ "SITE", CMD_SITE, L, A, "site-specific commands" },
	{ "SIZE", CMD_SIZE, L, A, "size of a file" },
	{ "SMNT", CMD_SMNT, L, A, NULL }, /* answers 502: not in HELP */
	{ "STAT", CMD_STAT, L, 0, "session status" },
	{ "STOR", CMD_STOR, L, A | W, "upload a file" },
	{ "STOU", CMD_STOU, L, W, "upload to a unique name" },
	{ "STRU", CMD_STRU, L, A, "file structure (F)" },
	{ "SYST", CMD_SYST, B, N, "system type" },
	{ "TYPE", CMD_TYPE, L, A, "representation type (A, I)" },
	{ "USER", CMD_USER, B, A, "user name" },
	{ "XCRC", CMD_XCRC, L, A, "CRC-32 of a file" },
	{ "XCUP", CMD_CDUP, L, N, NULL },
	{ "XCWD", CMD_CWD, L, A, NULL },
	{ "XMD5", CMD_XMD5, L, A, "MD5 of a file" },
	{ "XMKD", CMD_MKD, L, A | W, NULL },
	{ "XPWD", CMD_PWD, L, N, NULL },
	{ "XRMD", CMD_RMD, L, A | W, NULL },
	{ "XSHA1", CMD_XSHA1, L, A, "SHA-1 of a file" },
	{ "XSHA256", CMD_XSHA256, L, A, "SHA-256 of a file" },
};

#undef B
#undef L
#undef A
#undef N
#undef W

const struct cmd_def *
cmd_table(size_t *count)
{
	*count = sizeof(table) / sizeof(table[0]);
	return table;
}

const struct cmd_def *
cmd_lookup(const char *verb)
{
	size_t lo = 0, hi = sizeof(table) / sizeof(table[0]), mid;
	int c;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		c = strcmp(verb, table[mid].name);
		if (c == 0)
			return &table[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/*
 * RFC 854 in place: IAC IAC is a data byte 0xff, IAC WILL/WONT/DO/DONT
 * takes an option byte, any other IAC x (IP, DM, ...) is dropped.
 */
size_t
telnet_strip(char *line, size_t n)
{
	size_t i, o = 0;
	unsigned char b;

	for (i = 0; i < n; i++) {
		if ((unsigned char)line[i] != 255) {
			line[o++] = line[i];
			continue;
		}
		if (++i >= n)
			break;
		b = (unsigned char)line[i];
		if (b == 255)
			line[o++] = (char)b;
		else if (b >= 251 && b <= 254)
			i++;
	}
	return o;
}

/* Strips telnet, the final CR; refuses NUL and inner CR. Terminates. */
int
cmd_clean_line(char *line, size_t *n)
{
	size_t len = telnet_strip(line, *n);

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (memchr(line, '\0', len) != NULL || memchr(line, '\r', len) != NULL)
		return -EINVAL;
	line[len] = '\0';
	*n = len;
	return 0;
}

/* line is clean (cmd_clean_line) and NUL-terminated at n. */
int
cmd_parse(char *line, size_t n, struct cmd *c)
{
	size_t i = 0;
	char ch;

	memset(c, 0, sizeof(*c));
	c->arg = "";
	for (; i < n && line[i] != ' '; i++) {
		ch = line[i];
		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		/* letters, and digits after the first (XSHA256) */
		if (i >= KF_CMD_NAME_MAX ||
		    !((ch >= 'A' && ch <= 'Z') ||
			(i > 0 && ch >= '0' && ch <= '9')))
			return -EINVAL;
		c->verb[i] = ch;
	}
	if (i == 0)
		return -EINVAL;
	c->verb[i] = '\0';
	if (i < n) {
		c->arg = line + i + 1;
		c->arglen = n - i - 1;
	}
	c->def = cmd_lookup(c->verb);
	return 0;
}
