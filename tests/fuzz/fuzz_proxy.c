/*
 * fuzz_proxy.c - the PROXY protocol parser (src/net/proxyproto.c), fed
 * as the pre-login worker feeds it (exactly the bytes it asks for) and
 * whole.
 * Runs in: fuzz target only.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "common/limits.h"
#include "net/proxyproto.h"

static void
check_hdr(const struct proxy_hdr *h)
{
	int f = h->src.ss_family;

	FUZZ_CHECK(f == AF_UNSPEC || f == AF_INET || f == AF_INET6);
	FUZZ_CHECK(h->dst.ss_family == f);
	FUZZ_CHECK(!h->local || f == AF_UNSPEC);
	FUZZ_CHECK(h->version == 1 || h->version == 2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_hdr whole, step;
	size_t have = 0, need = 0;
	ssize_t r, s;

	r = proxy_parse(data, size, KF_PROXY_HDR_MAX, &whole, &need);
	FUZZ_CHECK(r == -EINVAL || (r >= 0 && (size_t)r <= size));
	FUZZ_CHECK(r != 0 || need > size);
	if (r > 0) {
		FUZZ_CHECK((size_t)r <= KF_PROXY_HDR_MAX);
		check_hdr(&whole);
	} else
		FUZZ_CHECK(whole.src.ss_family == AF_UNSPEC && !whole.local);
	/* the reader's way: never asked for a byte past the header */
	for (;;) {
		s = proxy_parse(data, have, KF_PROXY_HDR_MAX, &step, &need);
		if (s != 0)
			break;
		FUZZ_CHECK(need > have);
		FUZZ_CHECK(r <= 0 || need <= (size_t)r);
		if (need > size)
			break;
		have = need;
	}
	if (s > 0) {
		/* the same header as parsed whole, from the same bytes */
		FUZZ_CHECK(s == r && (size_t)s == have);
		FUZZ_CHECK(memcmp(&step, &whole, sizeof(step)) == 0);
	} else if (s < 0)
		FUZZ_CHECK(r < 0);
	else /* waiting for bytes not given: the whole may be refused */
		FUZZ_CHECK(r <= 0);
	return 0;
}
