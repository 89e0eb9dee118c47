/*
 * fuzz.h - what every libFuzzer target here shares: the entry point's
 * prototype (the build has -Wmissing-prototypes) and a check that
 * aborts, so a broken invariant is reported like a memory error.
 * Runs in: fuzz targets only (tests/fuzz, clang -fsanitize=fuzzer).
 */
#ifndef KF_FUZZ_H
#define KF_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", \
			    __FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

#endif
