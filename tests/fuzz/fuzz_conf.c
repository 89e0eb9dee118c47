/*
 * fuzz_conf.c - the configuration parser (conf_parse, then conf_check
 * on what it accepted). A failed parse must leave the struct as it was;
 * kept error messages are NUL-terminated.
 * Note: banner_file and vhost lines make conf_parse read the named
 * regular file (at most CONF_TEXT_MAX bytes), as it does for real.
 * Runs in: fuzz target only.
 */
#include <string.h>

#include "conf/conf.h"
#include "fuzz.h"

static struct conf conf, before;
static struct conf_errors errs;

static void
check_errs(const struct conf_errors *e)
{
	size_t i, kept = e->count < 16 ? e->count : 16;

	for (i = 0; i < kept; i++)
		FUZZ_CHECK(memchr(e->msg[i], '\0', sizeof(e->msg[i])) != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	/* an exact-size copy, so reading past the end is caught */
	if ((text = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	memset(&conf, 0, sizeof(conf));
	conf_defaults(&conf);
	memcpy(&before, &conf, sizeof(before));
	memset(&errs, 0, sizeof(errs));
	if (conf_parse(&conf, "fuzz.conf", text, size, &errs) < 0) {
		FUZZ_CHECK(errs.count > 0);
		FUZZ_CHECK(memcmp(&conf, &before, sizeof(conf)) == 0);
	} else {
		FUZZ_CHECK(errs.count == 0);
		(void)conf_check(&conf, &errs);
		FUZZ_CHECK(conf_greeting(&conf) != NULL);
	}
	check_errs(&errs);
	free(text);
	return 0;
}
