/*
 * xfer.h - the transfer loops: sendfile for downloads, large reads and
 * writes for uploads; both watch the control connection for ABOR and
 * the stop flag for SIGTERM, with a stall timeout, an optional pace
 * (rate limit, pace.h), an optional minimum rate, and for uploads an
 * optional quota charged before each write (quota.h).
 * Runs in: post-login worker.
 */
#ifndef KF_XFER_H
#define KF_XFER_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "../proto/ctrl.h"
#include "pace.h"
#include "quota.h"

enum xfer_status {
	XFER_OK,
	XFER_ABORTED,		/* ABOR from the client */
	XFER_STOPPED,		/* server shutting down */
	XFER_CTRL_GONE,		/* control connection closed */
	XFER_DATA_ERROR,	/* data connection failed or closed early */
	XFER_TIMEOUT,		/* no progress for data_timeout */
	XFER_DISK_FULL,		/* ENOSPC: 452 */
	XFER_QUOTA,		/* EDQUOT, EFBIG, the user's quota: 552 */
	XFER_IO_ERROR,		/* any other local error: 451 */
	XFER_TOO_SLOW,		/* under min_rate over a window: 426 */
	XFER_TRUNCATED,		/* TLS upload ended without close_notify */
};

struct xfer {
	struct ctrl			*ctrl;
	int				 datafd;	/* non-blocking */
	int				 timeout_ms;	/* stall, and rate window */
	volatile sig_atomic_t		*stop;
	uint64_t			 bytes;
	struct pace			 pace;		/* rate 0: unpaced */
	uint64_t			 min_rate;	/* bytes/s; 0: off */
	struct quota			*quota;		/* uploads; NULL: none */
	uint64_t			 charged;	/* bytes charged to it */
	int				 quota_at_end;	/* check only (STOR) */
	struct quota_usage		 quota_freed;	/* what the end frees */
	int64_t				 last_ms;	/* last progress */
	int64_t				 win_ms;	/* start of the rate window */
	uint64_t			 win_bytes;	/* bytes in the window */
	void				*ssl;	/* PROT P: the data SSL */
	int				 accept_truncated;	/* TLS */
};

/* A transfer on datafd, unpaced, no minimum rate. */
void	xfer_init(struct xfer *, struct ctrl *, int datafd, int timeout_ms,
	    volatile sig_atomic_t *stop);
/*
 * Pace at rate bytes/s (0: none) and require min_rate bytes/s over
 * each timeout_ms window (0: none; never more than half the pace).
 */
void	xfer_set_rates(struct xfer *, uint64_t rate, uint64_t min_rate);

/*
 * The pieces every transfer loop uses (this file's, and any other, such
 * as one over TLS), so that pacing, the minimum rate and the quota hold
 * for all of them:
 * xfer_pace: before moving a block of at most max bytes, waits as the
 *   pace requires (serving ABOR and STAT) and sets *n, the block's size.
 * xfer_moved: after n bytes moved (pace, stall clock, rate window).
 * xfer_charge: before writing n bytes of an upload (the quota): charged
 *   now, or with quota_at_end only checked (quota_check: the bytes so
 *   far and one file, quota_freed off), to be charged at the commit.
 * xfer_wait_ready: waits until the data fd is ready for ev (POLLIN or
 *   POLLOUT), serving ABOR and STAT and checking the stall clock and the
 *   minimum rate meanwhile; XFER_OK when ready.
 * xfer_take_ctrl: serves what the client sent on the control
 *   connection during the transfer (ABOR ends it, STAT is answered).
 */
enum xfer_status xfer_pace(struct xfer *, size_t max, size_t *n);
enum xfer_status xfer_moved(struct xfer *, size_t n);
enum xfer_status xfer_charge(struct xfer *, size_t n);
/* An upload's bytes into the file: xfer_charge, then one write. */
enum xfer_status xfer_write_out(struct xfer *, int filefd, const char *,
		    size_t n);
enum xfer_status xfer_wait_ready(struct xfer *, short ev);
enum xfer_status xfer_take_ctrl(struct xfer *);

enum xfer_status xfer_send_file(struct xfer *, int filefd, off_t offset);
enum xfer_status xfer_send_buf(struct xfer *, const char *, size_t);
enum xfer_status xfer_recv_file(struct xfer *, int filefd);
/* TYPE A: LF <-> CRLF on the wire; filefd positioned by the caller. */
enum xfer_status xfer_send_ascii(struct xfer *, int filefd);
enum xfer_status xfer_recv_ascii(struct xfer *, int filefd);

#endif
