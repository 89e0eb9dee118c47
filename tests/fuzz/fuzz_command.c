/*
 * fuzz_command.c - the control-line parser: telnet_strip, then
 * cmd_clean_line and cmd_parse on one line as ctrl.c hands it over
 * (LF already removed, at most KF_LINE_MAX bytes).
 * Runs in: fuzz target only.
 */
#include <string.h>

#include "fuzz.h"
#include "proto/command.h"

static void
check_strip(const uint8_t *data, size_t size)
{
	char *line;
	size_t n;

	if ((line = malloc(size + 1)) == NULL)
		return;
	memcpy(line, data, size);
	n = telnet_strip(line, size);
	FUZZ_CHECK(n <= size);
	/* no IAC at all: nothing to strip */
	if (memchr(data, 255, size) == NULL)
		FUZZ_CHECK(n == size && memcmp(line, data, n) == 0);
	free(line);
}

static void
check_cmd(const struct cmd *c, const char *line, size_t n)
{
	size_t vlen = strnlen(c->verb, sizeof(c->verb));

	FUZZ_CHECK(vlen >= 1 && vlen <= KF_CMD_NAME_MAX);
	FUZZ_CHECK(c->def == NULL || strcmp(c->def->name, c->verb) == 0);
	if (c->arglen == 0 && c->arg[0] == '\0')
		return;
	FUZZ_CHECK(c->arg > line && c->arg + c->arglen == line + n);
	FUZZ_CHECK(strlen(c->arg) == c->arglen);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cmd c;
	char *line;
	size_t n = size;

	if (size > KF_LINE_MAX)
		return 0;
	check_strip(data, size);
	/* exactly size + 1 bytes: cmd_clean_line writes the NUL at n */
	if ((line = malloc(size + 1)) == NULL)
		return 0;
	memcpy(line, data, size);
	if (cmd_clean_line(line, &n) == 0) {
		FUZZ_CHECK(n <= size && line[n] == '\0');
		FUZZ_CHECK(strlen(line) == n && memchr(line, '\r', n) == NULL);
		if (cmd_parse(line, n, &c) == 0)
			check_cmd(&c, line, n);
	}
	free(line);
	return 0;
}
