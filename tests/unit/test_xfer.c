/*
 * test_xfer.c - the transfer engine over a fake transport: short writes
 * and would-block results, sendfile and read+send downloads, an upload's
 * end (close_notify, truncation accepted or not, TYPE A), ABOR and STAT
 * from the control connection in the middle of a block, the stall
 * timeout, the minimum rate, the quota cutting an upload, the pace.
 * The fake's fd is one end of a socketpair, so the engine's waits are
 * real polls; the control connection is a pipe.
 */
#include "cm.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/limits.h"
#include "common/sys.h"
#include "fs/xfer.h"

#define BIG (3 * 1024 * 1024 + 17)

/*
 * The fake transport. Each call takes the next step of its script (the
 * last one repeats): a step > 0 moves at most that many bytes, a step
 * <= 0 is returned as is (0: the end, XIO_*: what the engine must
 * handle). Sent bytes go to out; received bytes come from in, then
 * recv returns end (0: close_notify, or XIO_TRUNCATED).
 */
struct fake {
	const ssize_t *steps;
	size_t nsteps, step;
	char *out;
	size_t outlen, outcap;
	const char *in;
	size_t inlen, inoff;
	ssize_t end; /* recv once in is all read */
	size_t maxreq; /* the largest request seen */
	size_t calls;
	int abor_at_call; /* ctrl gets "ABOR" at this call */
	int ctrlw;
	useconds_t delay_us; /* each call takes this long */
	int finished;
};

static ssize_t
next_step(struct fake *f, size_t n)
{
	ssize_t s = f->steps[f->step < f->nsteps ? f->step : f->nsteps - 1];

	f->step++;
	f->calls++;
	if (n > f->maxreq)
		f->maxreq = n;
	if (f->abor_at_call > 0 && f->calls == (size_t)f->abor_at_call)
		assert_int_equal(write(f->ctrlw, "A", 1), 1);
	if (f->delay_us > 0)
		usleep(f->delay_us);
	return s > 0 && (size_t)s > n ? (ssize_t)n : s;
}

static ssize_t
fake_send(struct xfer_io *io, const char *p, size_t n)
{
	struct fake *f = io->ctx;
	ssize_t s = next_step(f, n);

	if (s <= 0)
		return s;
	assert_true(f->outlen + (size_t)s <= f->outcap);
	memcpy(f->out + f->outlen, p, (size_t)s);
	f->outlen += (size_t)s;
	return s;
}

static ssize_t
fake_recv(struct xfer_io *io, char *p, size_t n)
{
	struct fake *f = io->ctx;
	ssize_t s;

	if (f->inoff == f->inlen)
		return f->end;
	if ((s = next_step(f, n)) <= 0)
		return s;
	if ((size_t)s > f->inlen - f->inoff)
		s = (ssize_t)(f->inlen - f->inoff);
	memcpy(p, f->in + f->inoff, (size_t)s);
	f->inoff += (size_t)s;
	return s;
}

static ssize_t
fake_sendfile(struct xfer_io *io, int filefd, off_t *off, size_t n)
{
	struct fake *f = io->ctx;
	ssize_t s = next_step(f, n), r;

	if (s <= 0)
		return s;
	r = pread(filefd, f->out + f->outlen, (size_t)s, *off);
	if (r < 0)
		return XIO_LOCAL;
	f->outlen += (size_t)r;
	*off += r;
	return r;
}

static void
fake_finish(struct xfer_io *io)
{
	((struct fake *)io->ctx)->finished = 1;
}

static const struct xfer_ops fake_ops = {
	.send = fake_send,
	.recv = fake_recv,
	.sendfile = fake_sendfile,
	.finish = fake_finish,
};

static const struct xfer_ops fake_ops_nosendfile = {
	.send = fake_send,
	.recv = fake_recv,
	.sendfile = NULL,
	.finish = fake_finish,
};

/* The control connection: a pipe; take reads it and acts. */
struct ctl {
	int r, w;
	int stat_only; /* each byte is a STAT, not an ABOR */
	uint64_t stat_bytes; /* what the last STAT reported */
	int takes;
};

static int
ctl_fd(void *arg)
{
	return ((struct ctl *)arg)->r;
}

static enum xfer_status
ctl_take(void *arg, uint64_t bytes)
{
	struct ctl *c = arg;
	char b[16];

	c->takes++;
	if (read(c->r, b, sizeof(b)) <= 0)
		return XFER_CTRL_GONE;
	if (c->stat_only) {
		c->stat_bytes = bytes;
		return XFER_OK;
	}
	return XFER_ABORTED;
}

struct rig {
	struct fake f;
	struct ctl c;
	struct xfer x;
	int sv[2]; /* sv[0]: the fake's data fd */
	volatile sig_atomic_t stop;
	char *src; /* BIG bytes of a pattern */
	char path[64];
	int file; /* a temporary file */
};

static void
rig_init(struct rig *g, const ssize_t *steps, size_t nsteps,
    const struct xfer_ops *ops, int timeout_ms)
{
	struct xfer_watch w;
	struct xfer_io io;
	int p[2];
	size_t i;

	memset(g, 0, sizeof(*g));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, g->sv), 0);
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	g->c.r = p[0];
	g->c.w = p[1];
	g->f.ctrlw = p[1];
	g->f.steps = steps;
	g->f.nsteps = nsteps;
	g->f.outcap = 2 * BIG + 16;
	assert_non_null(g->f.out = malloc(g->f.outcap));
	assert_non_null(g->src = malloc(BIG));
	for (i = 0; i < BIG; i++)
		g->src[i] = (char)(i * 7 + i / 251);
	snprintf(g->path, sizeof(g->path), "/tmp/kf-xfer-unit-XXXXXX");
	assert_true((g->file = mkstemp(g->path)) >= 0);
	memset(&io, 0, sizeof(io));
	io.ops = ops;
	io.fd = g->sv[0];
	io.ctx = &g->f;
	io.read_chunk = 100000;
	w.fd = ctl_fd;
	w.take = ctl_take;
	w.arg = &g->c;
	xfer_init(&g->x, &io, &w, timeout_ms, &g->stop);
}

static void
rig_free(struct rig *g)
{
	close(g->sv[0]);
	close(g->sv[1]);
	close(g->c.r);
	close(g->c.w);
	close(g->file);
	unlink(g->path);
	free(g->f.out);
	free(g->src);
}

/* The temporary file's content into buf (at most cap bytes). */
static size_t
file_bytes(struct rig *g, char *buf, size_t cap)
{
	ssize_t n = pread(g->file, buf, cap, 0);

	assert_true(n >= 0);
	return (size_t)n;
}

static void
put_file(struct rig *g, const char *p, size_t n)
{
	assert_int_equal(sys_write_all(g->file, p, n), 0);
}

/* Short writes with would-block in between: every byte, in order. */
static void
test_send_buf_short_writes(void **state)
{
	static const ssize_t steps[] = { 1, 4096, XIO_WANT_WRITE, 65536,
		XIO_WANT_WRITE, XIO_WANT_WRITE, 777, 300000 };
	struct rig g;

	(void)state;
	rig_init(&g, steps, sizeof(steps) / sizeof(steps[0]), &fake_ops, 2000);
	assert_int_equal(xfer_send_buf(&g.x, g.src, BIG), XFER_OK);
	assert_int_equal(g.f.outlen, BIG);
	assert_memory_equal(g.f.out, g.src, BIG);
	assert_true(g.x.bytes == BIG);
	rig_free(&g);
}

/* sendfile, with short results and would-block, from an offset. */
static void
test_send_file_sendfile(void **state)
{
	static const ssize_t steps[] = { 10, XIO_WANT_WRITE, 500000,
		XIO_WANT_WRITE, 1 << 20 };
	struct rig g;

	(void)state;
	rig_init(&g, steps, 5, &fake_ops, 2000);
	put_file(&g, g.src, BIG);
	assert_int_equal(xfer_send_file(&g.x, g.file, 1000), XFER_OK);
	assert_int_equal(g.f.outlen, BIG - 1000);
	assert_memory_equal(g.f.out, g.src + 1000, BIG - 1000);
	/* never more than a block at once */
	assert_true(g.f.maxreq <= KF_XFER_CHUNK);
	rig_free(&g);
}

/* A transport without sendfile: reads of read_chunk, then sends. */
static void
test_send_file_read(void **state)
{
	static const ssize_t steps[] = { 3000, XIO_WANT_WRITE, 1 << 20 };
	struct rig g;

	(void)state;
	rig_init(&g, steps, 3, &fake_ops_nosendfile, 2000);
	put_file(&g, g.src, BIG);
	assert_int_equal(xfer_send_file(&g.x, g.file, 0), XFER_OK);
	assert_int_equal(g.f.outlen, BIG);
	assert_memory_equal(g.f.out, g.src, BIG);
	assert_true(g.f.maxreq <= 100000);
	rig_free(&g);
}

/* A failed data connection, and a failed file read, are reported. */
static void
test_send_errors(void **state)
{
	static const ssize_t peer[] = { 5000, XIO_PEER };
	static const ssize_t local[] = { XIO_LOCAL };
	struct rig g;

	(void)state;
	rig_init(&g, peer, 2, &fake_ops, 2000);
	assert_int_equal(xfer_send_buf(&g.x, g.src, BIG), XFER_DATA_ERROR);
	assert_int_equal(g.f.outlen, 5000);
	rig_free(&g);
	rig_init(&g, local, 1, &fake_ops, 2000);
	put_file(&g, g.src, 100);
	assert_int_equal(xfer_send_file(&g.x, g.file, 0), XFER_IO_ERROR);
	rig_free(&g);
}

/* TYPE A download: LF -> CRLF across the engine's blocks. */
static void
test_send_ascii(void **state)
{
	static const ssize_t steps[] = { 3, XIO_WANT_WRITE, 1 << 20 };
	static const char text[] = "one\ntwo\r\nthree\n\n";
	struct rig g;

	(void)state;
	rig_init(&g, steps, 3, &fake_ops, 2000);
	put_file(&g, text, sizeof(text) - 1);
	assert_int_equal(lseek(g.file, 0, SEEK_SET), 0);
	assert_int_equal(xfer_send_ascii(&g.x, g.file), XFER_OK);
	assert_int_equal(g.f.outlen, sizeof("one\r\ntwo\r\nthree\r\n\r\n") - 1);
	assert_memory_equal(g.f.out, "one\r\ntwo\r\nthree\r\n\r\n", g.f.outlen);
	rig_free(&g);
}

/* An upload with would-block between records, then close_notify. */
static void
test_recv_eagain_end(void **state)
{
	static const ssize_t steps[] = { 16384, XIO_WANT_READ, 100,
		XIO_WANT_READ, 16384 };
	struct rig g;
	char *got;

	(void)state;
	rig_init(&g, steps, 5, &fake_ops, 2000);
	/* the fake's fd is readable whenever the engine waits */
	assert_int_equal(write(g.sv[1], "x", 1), 1);
	g.f.in = g.src;
	g.f.inlen = BIG;
	assert_int_equal(xfer_recv_file(&g.x, g.file), XFER_OK);
	assert_non_null(got = malloc(BIG + 1));
	assert_int_equal(file_bytes(&g, got, BIG + 1), BIG);
	assert_memory_equal(got, g.src, BIG);
	assert_true(g.x.bytes == BIG);
	free(got);
	rig_free(&g);
}

/* No close_notify: refused, or accepted by config (data kept). */
static void
test_recv_truncated(void **state)
{
	static const ssize_t steps[] = { 4000 };
	char got[16384];
	struct rig g;

	(void)state;
	rig_init(&g, steps, 1, &fake_ops, 2000);
	g.f.in = g.src;
	g.f.inlen = 10000;
	g.f.end = XIO_TRUNCATED;
	assert_int_equal(xfer_recv_file(&g.x, g.file), XFER_TRUNCATED);
	rig_free(&g);

	rig_init(&g, steps, 1, &fake_ops, 2000);
	g.f.in = g.src;
	g.f.inlen = 10000;
	g.f.end = XIO_TRUNCATED;
	g.x.accept_truncated = 1;
	assert_int_equal(xfer_recv_file(&g.x, g.file), XFER_OK);
	assert_int_equal(file_bytes(&g, got, sizeof(got)), 10000);
	assert_memory_equal(got, g.src, 10000);
	rig_free(&g);
}

/* TYPE A upload: CRLF split across records; a last CR is kept. */
static void
test_recv_ascii(void **state)
{
	static const ssize_t steps[] = { 4, 1, 3 };
	static const char wire[] = "ab\r\ncd\r\r\nx\r";
	char got[64];
	struct rig g;
	size_t n;

	(void)state;
	rig_init(&g, steps, 3, &fake_ops, 2000);
	g.f.in = wire;
	g.f.inlen = sizeof(wire) - 1;
	assert_int_equal(xfer_recv_ascii(&g.x, g.file), XFER_OK);
	n = file_bytes(&g, got, sizeof(got));
	assert_int_equal(n, sizeof("ab\ncd\r\nx\r") - 1);
	assert_memory_equal(got, "ab\ncd\r\nx\r", n);
	rig_free(&g);
}

/*
 * ABOR arrives while a block is half sent and the data connection
 * would block: the wait serves it and the transfer ends there.
 */
static void
test_abor_mid_block(void **state)
{
	static const ssize_t steps[] = { 1000, 2000, XIO_WANT_WRITE };
	struct rig g;

	(void)state;
	rig_init(&g, steps, 3, &fake_ops, 5000);
	g.f.abor_at_call = 2;
	/* the data fd never becomes writable: only ctrl can end the wait */
	{
		char fill[65536];

		memset(fill, 0, sizeof(fill));
		while (send(g.sv[0], fill, sizeof(fill), MSG_DONTWAIT) > 0)
			;
	}
	assert_int_equal(xfer_send_buf(&g.x, g.src, BIG), XFER_ABORTED);
	assert_int_equal(g.f.outlen, 3000);
	assert_int_equal(g.c.takes, 1);
	rig_free(&g);
}

/* ABOR during a busy upload that never waits: seen within 8 blocks. */
static void
test_abor_busy(void **state)
{
	static const ssize_t steps[] = { 1 << 20 };
	struct rig g;
	char *in;

	(void)state;
	rig_init(&g, steps, 1, &fake_ops, 5000);
	assert_non_null(in = calloc(1, 32 << 20));
	g.f.in = in;
	g.f.inlen = 32 << 20;
	g.f.abor_at_call = 3;
	assert_int_equal(xfer_recv_file(&g.x, g.file), XFER_ABORTED);
	assert_true(g.x.bytes <= 8 * KF_XFER_CHUNK);
	free(in);
	rig_free(&g);
}

/* STAT is answered with the bytes so far and the transfer goes on. */
static void
test_stat_mid_transfer(void **state)
{
	static const ssize_t steps[] = { 1000, 1000, XIO_WANT_WRITE, 1 << 20 };
	struct rig g;

	(void)state;
	rig_init(&g, steps, 4, &fake_ops, 5000);
	g.c.stat_only = 1;
	g.f.abor_at_call = 2;
	assert_int_equal(xfer_send_buf(&g.x, g.src, BIG), XFER_OK);
	assert_int_equal(g.c.takes, 1);
	assert_true(g.c.stat_bytes == 1000 || g.c.stat_bytes == 2000);
	assert_int_equal(g.f.outlen, BIG);
	rig_free(&g);
}

/* The stop flag (SIGTERM) ends a transfer. */
static void
test_stop(void **state)
{
	static const ssize_t steps[] = { 1000 };
	struct rig g;

	(void)state;
	rig_init(&g, steps, 1, &fake_ops, 5000);
	g.stop = 1;
	assert_int_equal(xfer_send_buf(&g.x, g.src, BIG), XFER_STOPPED);
	rig_free(&g);
}

/* No progress for timeout_ms: the stall timeout. */
static void
test_stall_timeout(void **state)
{
	static const ssize_t steps[] = { 100, XIO_WANT_READ };
	struct rig g;
	int64_t t0;

	(void)state;
	rig_init(&g, steps, 2, &fake_ops, 150);
	g.f.in = g.src;
	g.f.inlen = BIG;
	t0 = sys_now_ms();
	assert_int_equal(xfer_recv_file(&g.x, g.file), XFER_TIMEOUT);
	assert_true(sys_now_ms() - t0 >= 140);
	assert_true(g.x.bytes == 100);
	rig_free(&g);
}

/* Steady but under min_rate over a window: too slow. */
static void
test_min_rate(void **state)
{
	static const ssize_t steps[] = { 10 };
	struct rig g;

	(void)state;
	rig_init(&g, steps, 1, &fake_ops, 100);
	xfer_set_rates(&g.x, 0, 1000000);
	g.f.delay_us = 2000; /* 10 bytes every 2 ms: 5 kB/s */
	assert_int_equal(xfer_send_buf(&g.x, g.src, BIG), XFER_TOO_SLOW);
	assert_true(g.x.bytes < 2000);
	rig_free(&g);

	/* the same pace over the minimum: done */
	rig_init(&g, steps, 1, &fake_ops, 100);
	xfer_set_rates(&g.x, 0, 100);
	g.f.delay_us = 2000;
	assert_int_equal(xfer_send_buf(&g.x, g.src, 1000), XFER_OK);
	rig_free(&g);
}

/* The pace never lets the minimum rate fail its own transfer. */
static void
test_min_rate_capped_by_pace(void **state)
{
	static const ssize_t steps[] = { 1 << 20 };
	struct rig g;

	(void)state;
	rig_init(&g, steps, 1, &fake_ops, 100);
	xfer_set_rates(&g.x, 100000, 1000000);
	assert_true(g.x.min_rate == 50000);
	rig_free(&g);
}

/*
 * A paced download: blocks of one slice (rate / (1000 /
 * KF_PACE_SLICE_MS)), and the time the rate asks for, less the one
 * slice of burst.
 */
static void
test_pace(void **state)
{
	static const ssize_t steps[] = { 1 << 20 };
	const uint64_t rate = 2000000;
	const size_t total = 600000;
	struct rig g;
	int64_t t0, ms;

	(void)state;
	rig_init(&g, steps, 1, &fake_ops, 5000);
	put_file(&g, g.src, total);
	xfer_set_rates(&g.x, rate, 0);
	t0 = sys_now_ms();
	assert_int_equal(xfer_send_file(&g.x, g.file, 0), XFER_OK);
	ms = sys_now_ms() - t0;
	assert_int_equal(g.f.outlen, total);
	assert_int_equal(g.f.maxreq, rate / (1000 / KF_PACE_SLICE_MS));
	/* 300 ms at the rate, less at most two slices of burst */
	assert_true(ms >= 300 - 2 * KF_PACE_SLICE_MS - 5);
	assert_true(ms < 2000);
	rig_free(&g);
}

/*
 * The quota cuts an upload: the block that would pass it is neither
 * written nor charged; with quota_at_end it is only checked.
 */
static void
test_quota_cut(void **state)
{
	static const ssize_t steps[] = { 1000, XIO_WANT_READ, 1000,
		XIO_WANT_READ, 1000, XIO_WANT_READ, 1000, XIO_WANT_READ, 1000 };
	struct quota q = { .max_bytes = 2500 };
	struct quota_usage u;
	char dir[64], got[8192], p[128];
	int at_end;
	struct rig g;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/kf-xfer-quota-XXXXXX");
	assert_non_null(mkdtemp(dir));
	for (at_end = 0; at_end <= 1; at_end++) {
		assert_true((q.fd = quota_open(dir, "alice")) >= 0);
		assert_int_equal(quota_write(q.fd,
				     &(struct quota_usage){ 0, 0 }),
		    0);
		rig_init(&g, steps, 9, &fake_ops, 2000);
		assert_int_equal(write(g.sv[1], "x", 1), 1);
		g.f.in = g.src;
		g.f.inlen = 5000;
		g.x.quota = &q;
		g.x.quota_at_end = at_end;
		assert_int_equal(xfer_recv_file(&g.x, g.file), XFER_QUOTA);
		assert_int_equal(file_bytes(&g, got, sizeof(got)), 2000);
		assert_true(g.x.charged == 2000);
		assert_int_equal(quota_read(q.fd, &u), 1);
		assert_true(u.bytes == (at_end ? 0 : 2000));
		rig_free(&g);
		close(q.fd);
	}
	snprintf(p, sizeof(p), "%s/alice", dir);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* The plain transport on a real socketpair, both directions. */
static void
test_plain_transport(void **state)
{
	struct xfer_io io;
	char buf[16];
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
			     sv),
	    0);
	xfer_io_plain(&io, sv[0]);
	assert_int_equal(io.ops->recv(&io, buf, sizeof(buf)), XIO_WANT_READ);
	assert_int_equal(io.ops->send(&io, "hello", 5), 5);
	assert_int_equal(read(sv[1], buf, sizeof(buf)), 5);
	assert_int_equal(write(sv[1], "abc", 3), 3);
	assert_int_equal(io.ops->recv(&io, buf, sizeof(buf)), 3);
	close(sv[1]);
	assert_int_equal(io.ops->recv(&io, buf, sizeof(buf)), 0);
	assert_int_equal(io.ops->send(&io, "x", 1), XIO_PEER);
	io.ops->finish(&io);
	assert_int_equal(io.fd, -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_send_buf_short_writes),
		cmocka_unit_test(test_send_file_sendfile),
		cmocka_unit_test(test_send_file_read),
		cmocka_unit_test(test_send_errors),
		cmocka_unit_test(test_send_ascii),
		cmocka_unit_test(test_recv_eagain_end),
		cmocka_unit_test(test_recv_truncated),
		cmocka_unit_test(test_recv_ascii),
		cmocka_unit_test(test_abor_mid_block),
		cmocka_unit_test(test_abor_busy),
		cmocka_unit_test(test_stat_mid_transfer),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_stall_timeout),
		cmocka_unit_test(test_min_rate),
		cmocka_unit_test(test_min_rate_capped_by_pace),
		cmocka_unit_test(test_pace),
		cmocka_unit_test(test_quota_cut),
		cmocka_unit_test(test_plain_transport),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
