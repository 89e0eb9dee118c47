/*
 * fuzz_glob.c - the bounded wildcard matcher. The input is "pattern
 * NUL name" (no NUL: all pattern, empty name). glob_match runs with a
 * small budget and with the full one: it never spends more steps than
 * it is given (the budget only goes down, and reaches 0 when it says
 * -E2BIG), a run that finishes within the small budget gives the same
 * answer as the full run, and the work stays within the documented
 * O(len(pat) * len(name)).
 * Runs in: fuzz target only.
 */
#include <errno.h>
#include <string.h>

#include "common/limits.h"
#include "fs/glob.h"
#include "fuzz.h"

static int
run(const char *pat, const char *name, size_t given, size_t *used)
{
	size_t budget = given;
	int r;

	r = glob_match(pat, name, &budget);
	FUZZ_CHECK(budget <= given);
	*used = given - budget;
	FUZZ_CHECK(r == 0 || r == 1 || r == -E2BIG || r == -EINVAL ||
	    r == -ENAMETOOLONG);
	if (r == -E2BIG)
		FUZZ_CHECK(budget == 0);
	if (r == -EINVAL || r == -ENAMETOOLONG)
		FUZZ_CHECK(*used == 0);
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t plen = nul != NULL ? (size_t)(nul - data) : size;
	size_t nlen = nul != NULL ? size - plen - 1 : 0;
	size_t small, used, used_full;
	char *pat, *name;
	int r, full;

	pat = malloc(plen + 1);
	name = malloc(nlen + 1);
	if (pat == NULL || name == NULL)
		goto done;
	memcpy(pat, data, plen);
	pat[plen] = '\0';
	if (nlen > 0)
		memcpy(name, nul + 1, nlen);
	name[nlen] = '\0';
	/* the name may hold NULs: it ends at the first, like a C string */
	nlen = strlen(name);

	full = run(pat, name, KF_GLOB_STEPS_MAX, &used_full);
	if (full != -E2BIG)
		FUZZ_CHECK(used_full <= 4 * (plen + 2) * (nlen + 2));
	small = size % 64;
	r = run(pat, name, small, &used);
	if (r == 0 || r == 1)
		FUZZ_CHECK(r == full && used == used_full);
	/* no budget: no step at all */
	r = run(pat, name, 0, &used);
	FUZZ_CHECK(used == 0 && r < 0);
done:
	free(pat);
	free(name);
	return 0;
}
