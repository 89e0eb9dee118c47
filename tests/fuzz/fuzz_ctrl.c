/*
 * fuzz_ctrl.c - the control-line reader (proto/ctrl.c): the input is
 * written to a socket, closed, and read back with ctrl_read_line, in
 * either mode (first byte, bit 0), as lines of at most KF_LINE_MAX
 * bytes. Every answer is checked against a model that splits the same
 * bytes at LF: a line that fits (with its LF) comes back cleaned
 * (cmd_clean_line) or as LINE_BAD_CHAR; a longer one is LINE_TOO_LONG
 * once; the unterminated rest ends in LINE_EOF. With bit 1 set,
 * ctrl_take_abor runs first, as during a transfer: it may take ABOR and
 * STAT lines out of the queue and must leave the queue bounded.
 * Runs in: fuzz target only.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "proto/ctrl.h"

/* The input stays under the socket buffer: written in one go. */
#define FUZZ_CTRL_MAX (4 * KF_LINE_MAX)

/* What the model expects for the segment s[0..n) (its LF not counted). */
static void
check_line(enum line_status st, const char *out, size_t outlen,
    const uint8_t *s, size_t n)
{
	char ref[KF_LINE_MAX + 1];
	size_t rn = n;

	if (n + 1 > KF_LINE_MAX) {
		FUZZ_CHECK(st == LINE_TOO_LONG);
		return;
	}
	memcpy(ref, s, n);
	if (cmd_clean_line(ref, &rn) < 0) {
		FUZZ_CHECK(st == LINE_BAD_CHAR);
		return;
	}
	FUZZ_CHECK(st == LINE_OK && outlen == rn && out[outlen] == '\0');
	FUZZ_CHECK(memcmp(out, ref, rn) == 0);
}

static void
read_all(struct ctrl *c, const uint8_t *data, size_t size)
{
	char out[KF_LINE_MAX + 1];
	const uint8_t *p = data, *end = data + size, *nl;
	enum line_status st;
	size_t n;

	for (;;) {
		n = 0;
		st = ctrl_read_line(c, out, &n, 1000);
		FUZZ_CHECK(c->len <= KF_LINE_MAX);
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL) {
			FUZZ_CHECK(st == LINE_EOF);
			return;
		}
		check_line(st, out, n, p, (size_t)(nl - p));
		p = nl + 1;
	}
}

/* During a transfer: ABOR/STAT taken out, the rest left queued. */
static void
take_abor(struct ctrl *c)
{
	int r, rounds = 0;

	while ((r = ctrl_take_abor(c)) > 0 && rounds++ < 64)
		FUZZ_CHECK(r == CTRL_XFER_ABOR || r == CTRL_XFER_STAT);
	FUZZ_CHECK(c->len <= KF_LINE_MAX);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctrl c;
	int sv[2];

	if (size < 1 || size > FUZZ_CTRL_MAX)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	if (write(sv[1], data + 1, size - 1) != (ssize_t)(size - 1))
		abort();
	close(sv[1]);
	ctrl_init(&c, sv[0], (data[0] & 1) ? CTRL_BUFFERED : CTRL_EXACT);
	if (data[0] & 2)
		take_abor(&c);
	else
		read_all(&c, data + 1, size - 1);
	close(sv[0]);
	return 0;
}
