/*
 * xfer.h - the transfer engine: one loop per direction (file -> data
 * connection, data connection -> file, a buffer -> data connection for
 * listings, and the TYPE A forms of each) that holds every transfer
 * policy once: the stall timeout, the pace (rate limit, pace.h), the
 * minimum rate, the quota charged before each write (quota.h), ABOR and
 * STAT served from the control connection, the stop flag (SIGTERM), and
 * what a truncated upload means.
 *
 * Under it, a transport (struct xfer_ops): how bytes cross the data
 * connection. The plain one is here (xfer_io_plain); the TLS one lives
 * in tls/ (tls_xfer.h) and is handed in as a table. The control
 * connection is reached only through a callback (struct xfer_watch), so
 * this layer knows neither proto/ nor tls/.
 * Runs in: post-login worker; unit tests (with a fake transport).
 */
#ifndef KF_XFER_H
#define KF_XFER_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "pace.h"
#include "quota.h"

enum xfer_status {
	XFER_OK,
	XFER_ABORTED, /* ABOR from the client */
	XFER_STOPPED, /* server shutting down */
	XFER_CTRL_GONE, /* control connection closed */
	XFER_DATA_ERROR, /* data connection failed or closed early */
	XFER_TIMEOUT, /* no progress for data_timeout */
	XFER_DISK_FULL, /* ENOSPC: 452 */
	XFER_QUOTA, /* EDQUOT, EFBIG, the user's quota: 552 */
	XFER_IO_ERROR, /* any other local error: 451 */
	XFER_TOO_SLOW, /* under min_rate over a window: 426 */
	XFER_TRUNCATED, /* TLS upload ended without close_notify */
	XFER_REJECTED, /* upload_hook_mode check: the hook said no: 550 */
};

/*
 * What a transport call returns when it moved nothing: > 0 is a byte
 * count, 0 the end (recv: the peer's orderly end, with close_notify
 * under TLS; sendfile: the end of the file).
 */
#define XIO_WANT_READ  (-1) /* wait until the data fd is readable */
#define XIO_WANT_WRITE (-2) /* wait until the data fd is writable */
#define XIO_TRUNCATED  (-3) /* recv: the peer closed without close_notify */
#define XIO_PEER       (-4) /* the data connection failed */
#define XIO_LOCAL      (-5) /* sendfile: reading the file failed (errno) */

struct xfer_io;

/*
 * A transport. Every call is non-blocking; a want result names what to
 * wait for, and the engine waits (poll on io->fd, with the control
 * connection). sendfile is NULL where the transport cannot move a file
 * itself: the engine then reads blocks of io->read_chunk and sends them.
 * finish ends the data connection (TLS: close_notify, bounded) and
 * closes the fd. note: how downloads go, for the debug log (or NULL).
 */
struct xfer_ops {
	const char *note;
	ssize_t (*send)(struct xfer_io *, const char *, size_t);
	ssize_t (*recv)(struct xfer_io *, char *, size_t);
	ssize_t (*sendfile)(struct xfer_io *, int filefd, off_t *off, size_t n);
	void (*finish)(struct xfer_io *);
};

struct xfer_io {
	const struct xfer_ops *ops;
	int fd; /* the data connection */
	void *ctx; /* the transport's (TLS: SSL) */
	size_t read_chunk; /* file reads without sendfile */
};

/* The plain TCP transport on fd (non-blocking). */
void xfer_io_plain(struct xfer_io *, int fd);

/*
 * The control connection during a transfer, as the session sees it:
 * fd: the descriptor to watch for input (-1: do not watch now, e.g. its
 * buffer is full and holds no ABOR); take: serve what arrived (STAT is
 * answered with bytes, ABOR ends the transfer): XFER_OK, XFER_ABORTED
 * or XFER_CTRL_GONE.
 */
struct xfer_watch {
	int (*fd)(void *arg);
	enum xfer_status (*take)(void *arg, uint64_t bytes);
	void *arg;
};

/* Progress, for `keepftpd who`: fn(arg, bytes) at most once per
 * KF_WHO_REPORT_MS while bytes move (fn NULL: none). */
struct xfer_progress {
	void (*fn)(void *arg, uint64_t bytes);
	void *arg;
	int64_t next_ms;
};

/*
 * An upload's bytes as they go into the file (after TYPE A
 * conversion), for the digests of hash_store: fn(arg, p, n) after each
 * write. fn NULL: none.
 */
struct xfer_tap {
	void (*fn)(void *arg, const char *p, size_t n);
	void *arg;
};

struct xfer {
	struct xfer_io io;
	struct xfer_watch watch;
	int timeout_ms; /* stall, and rate window */
	volatile sig_atomic_t *stop;
	uint64_t bytes;
	struct pace pace; /* rate 0: unpaced */
	uint64_t min_rate; /* bytes/s; 0: off */
	struct quota *quota; /* uploads; NULL: none */
	uint64_t charged; /* bytes charged to it */
	int quota_at_end; /* check only (STOR) */
	struct quota_usage quota_freed; /* what the end frees */
	int64_t last_ms; /* last progress */
	int64_t win_ms; /* start of the rate window */
	uint64_t win_bytes; /* bytes in the window */
	uint64_t next_check; /* bytes: look at ctrl */
	int accept_truncated; /* TLS */
	struct xfer_progress progress;
	struct xfer_tap tap; /* uploads */
};

/* A transfer over io, watching the control connection through watch. */
void xfer_init(struct xfer *, const struct xfer_io *, const struct xfer_watch *,
    int timeout_ms, volatile sig_atomic_t *stop);
/*
 * Pace at rate bytes/s (0: none) and require min_rate bytes/s over
 * each timeout_ms window (0: none; never more than half the pace).
 */
void xfer_set_rates(struct xfer *, uint64_t rate, uint64_t min_rate);

enum xfer_status xfer_send_file(struct xfer *, int filefd, off_t offset);
enum xfer_status xfer_send_buf(struct xfer *, const char *, size_t);
enum xfer_status xfer_recv_file(struct xfer *, int filefd);
/* TYPE A: LF <-> CRLF on the wire; filefd positioned by the caller. */
enum xfer_status xfer_send_ascii(struct xfer *, int filefd);
enum xfer_status xfer_recv_ascii(struct xfer *, int filefd);

#endif
