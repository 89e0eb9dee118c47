/*
 * grow.h - the one way a table or pool in this tree grows.
 * Runs in: all processes. Pure but for the allocation.
 */
#ifndef KF_GROW_H
#define KF_GROW_H

#include <stddef.h>

/*
 * grow_array: makes room for need elements of size bytes in the array
 * *pp (a T ** passed as void *) of *cap elements: the capacity doubles
 * from first (at least need), never past max, and the new size is
 * computed by reallocarray (no overflow). *pp and *cap change together
 * and only on success, so a failed grow leaves a table that is still
 * consistent. 0; -E2BIG when need > max; -ENOMEM.
 */
int grow_array(void *pp, size_t *cap, size_t need, size_t size, size_t first,
    size_t max);

#endif
