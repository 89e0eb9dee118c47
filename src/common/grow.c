/*
 * grow.c - grow_array (grow.h): doubling capacity, reallocarray, state
 * changed only after success.
 * Runs in: all processes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"

int
grow_array(void *pp, size_t *cap, size_t need, size_t size, size_t first,
    size_t max)
{
	void *old, *p;
	size_t c;

	if (need <= *cap)
		return 0;
	if (need > max)
		return -E2BIG;
	c = *cap != 0 ? *cap : first;
	if (c == 0)
		c = 1;
	while (c < need)
		c = c > max / 2 ? max : c * 2;
	if (c > max)
		c = max;
	/* reallocarray checks this too; ASan would abort on it instead */
	if (size != 0 && c > SIZE_MAX / size)
		return -ENOMEM;
	memcpy(&old, pp, sizeof(old));
	if ((p = reallocarray(old, c, size)) == NULL)
		return -ENOMEM;
	memcpy(pp, &p, sizeof(p));
	*cap = c;
	return 0;
}
