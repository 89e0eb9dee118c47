/*
 * mon_metrics.c - a monitor's metrics reports to the listener (the
 * report channel, LSN_METRICS_* in ipc/proto.h), only when
 * metrics_listen is set: a verification starting and each login's
 * result and method at once (one datagram each), the session's
 * transfers, bytes and TLS handshake as a tally: its counts since the
 * last one, sent at most every KF_METRICS_FLUSH_MS while transfers run
 * and once at the end. Never a report per data block, nor per
 * transfer: a session of many small files costs one datagram a second.
 * A monitor that is killed loses its last second of transfer counts.
 * Runs in: monitor.
 */
#include <string.h>

#include "../auth/auth.h"
#include "../common/log.h"
#include "../common/sys.h"
#include "../ipc/ipc.h"
#include "../ipc/proto.h"
#include "../metrics/metrics.h"
#include "mon_metrics.h"

static struct {
	int on, fd, dirty;
	int64_t sent_ms;
	uint32_t xfers[MX_DIRS][MX_RESULTS];
	uint64_t bytes[MX_DIRS];
	uint32_t tls[MX_RESULTS];
} t = { .fd = -1 };

static void
send_report(struct ipc_msg *m)
{
	if (ipc_send(t.fd, m) < 0)
		log_warn("metrics report not sent to the listener");
}

void
mon_metrics_init(const struct conf *c, int report_fd)
{
	t.on = c->metrics_listen[0] != '\0';
	t.fd = report_fd;
	t.sent_ms = sys_now_ms();
}

void
mon_metrics_verify(const struct conf *c, const char *user)
{
	struct ipc_msg m SYS_UNINIT;

	if (!t.on || auth_is_anonymous(c, user))
		return;
	ipc_init(&m, LSN_METRICS_VERIFY);
	send_report(&m);
}

void
mon_metrics_login(unsigned result, unsigned method)
{
	struct ipc_msg m SYS_UNINIT;

	if (!t.on)
		return;
	ipc_init(&m, LSN_METRICS_LOGIN);
	if (ipc_put_u32(&m, result) == 0 && ipc_put_u32(&m, method) == 0)
		send_report(&m);
}

static void
put_u64(struct ipc_msg *m, uint64_t v)
{
	ipc_put_u32(m, (uint32_t)(v >> 32));
	ipc_put_u32(m, (uint32_t)v);
}

void
mon_metrics_flush(void)
{
	struct ipc_msg m SYS_UNINIT;
	int d, r;

	if (!t.on || !t.dirty)
		return;
	ipc_init(&m, LSN_METRICS_TALLY);
	for (d = 0; d < MX_DIRS; d++)
		for (r = 0; r < MX_RESULTS; r++)
			ipc_put_u32(&m, t.xfers[d][r]);
	for (d = 0; d < MX_DIRS; d++)
		put_u64(&m, t.bytes[d]);
	for (r = 0; r < MX_RESULTS; r++)
		ipc_put_u32(&m, t.tls[r]);
	send_report(&m);
	memset(t.xfers, 0, sizeof(t.xfers));
	memset(t.bytes, 0, sizeof(t.bytes));
	memset(t.tls, 0, sizeof(t.tls));
	t.dirty = 0;
	t.sent_ms = sys_now_ms();
}

static void
maybe_flush(void)
{
	t.dirty = 1;
	if (sys_now_ms() - t.sent_ms >= KF_METRICS_FLUSH_MS)
		mon_metrics_flush();
}

void
mon_metrics_xfer(unsigned dir, unsigned ok, uint64_t bytes)
{
	if (!t.on || dir >= MX_DIRS || ok >= MX_RESULTS)
		return;
	if (t.xfers[dir][ok] < UINT32_MAX)
		t.xfers[dir][ok]++;
	t.bytes[dir] = bytes > UINT64_MAX - t.bytes[dir] ? UINT64_MAX :
							   t.bytes[dir] + bytes;
	maybe_flush();
}

void
mon_metrics_tls(unsigned ok)
{
	if (!t.on || ok >= MX_RESULTS)
		return;
	t.tls[ok]++;
	maybe_flush();
}
