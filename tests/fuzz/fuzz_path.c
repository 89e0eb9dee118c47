/*
 * fuzz_path.c - lexical path clean-up: path_resolve("/a/b", arg) with
 * arg the input up to its first NUL. A result is absolute, clean (no
 * empty, "." or ".." component, no final "/" but for the root), fits
 * its buffer, and resolving it again changes nothing.
 * Runs in: fuzz target only.
 */
#include <string.h>

#include "common/limits.h"
#include "fs/path.h"
#include "fuzz.h"

#define OUTSZ (KF_PATH_MAX + 1)

static void
check_clean(const char *p)
{
	const char *c = p + 1, *slash;
	size_t n;

	FUZZ_CHECK(p[0] == '/');
	if (p[1] == '\0')
		return;
	for (;;) {
		slash = strchr(c, '/');
		n = slash != NULL ? (size_t)(slash - c) : strlen(c);
		FUZZ_CHECK(n > 0 && n <= KF_NAME_MAX);
		FUZZ_CHECK(!(n == 1 && c[0] == '.'));
		FUZZ_CHECK(!(n == 2 && c[0] == '.' && c[1] == '.'));
		if (slash == NULL)
			break;
		c = slash + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *arg, *out, *out2, *tiny;

	arg = malloc(size + 1);
	out = malloc(OUTSZ);
	out2 = malloc(OUTSZ);
	tiny = malloc(2);
	if (arg == NULL || out == NULL || out2 == NULL || tiny == NULL)
		goto done;
	memcpy(arg, data, size);
	arg[size] = '\0';
	if (path_resolve("/a/b", arg, out, OUTSZ) == 0) {
		FUZZ_CHECK(strlen(out) < OUTSZ);
		check_clean(out);
		FUZZ_CHECK(path_resolve("/a/b", out, out2, OUTSZ) == 0);
		FUZZ_CHECK(strcmp(out, out2) == 0);
		FUZZ_CHECK(path_resolve("/", out, out2, OUTSZ) == 0);
		FUZZ_CHECK(strcmp(out, out2) == 0);
	}
	/* a tiny buffer must fail cleanly, never overflow */
	if (path_resolve("/a/b", arg, tiny, 2) == 0)
		FUZZ_CHECK(strcmp(tiny, "/") == 0);
done:
	free(arg);
	free(out);
	free(out2);
	free(tiny);
	return 0;
}
