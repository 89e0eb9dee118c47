/*
 * ctrl.h - the control connection: line reading with every bound, and
 * replies. Two read modes: EXACT consumes the socket only up to the end
 * of the line (pre-login: bytes pipelined after PASS stay in the kernel
 * for the post-login worker, nothing crosses processes), BUFFERED reads
 * ahead (post-login).
 * Runs in: pre-login and post-login workers.
 */
#ifndef KF_CTRL_H
#define KF_CTRL_H

#include <signal.h>
#include <stddef.h>

#include "../common/limits.h"
#include "command.h"

enum ctrl_mode {
	CTRL_EXACT,
	CTRL_BUFFERED,
};

struct ctrl {
	int fd;
	enum ctrl_mode mode;
	int discarding; /* inside an overlong line */
	int broken; /* write failed: session is over */
	/* waiting for a line: unblock these signals only inside the wait */
	const sigset_t *wait_mask; /* NULL: plain poll */
	/* run once when a wait for a line has lasted KF_SHED_IDLE_MS */
	void (*on_idle)(void);
	size_t len;
	char in[KF_LINE_MAX + 1];
};

void ctrl_init(struct ctrl *, int fd, enum ctrl_mode);
enum line_status ctrl_read_line(struct ctrl *, char *out, size_t *outlen,
    int timeout_ms);
/* During a transfer: ABOR or a bare STAT taken off the queue. */
#define CTRL_XFER_ABOR 1
#define CTRL_XFER_STAT 2
int ctrl_take_abor(struct ctrl *);
/* The transfer engine's view of c: ABOR and STAT (fs/xfer.h). */
struct xfer_watch;
void ctrl_watch(struct ctrl *, struct xfer_watch *);
int ctrl_reply(struct ctrl *, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int ctrl_reply_lines(struct ctrl *, int code, const char *first,
    const char *const *lines, size_t n, const char *last);
int ctrl_write(struct ctrl *, const char *, size_t);

/*
 * A multi-line reply: begin ("code-first"; fmt NULL: no first line),
 * lines, end ("code last"; sends it whole, frees; -1 when a line did
 * not fit in KF_REPLY_LINES_MAX, and then nothing was sent).
 */
struct buf;

struct ctrl_lines {
	struct buf *b;
	int code;
	int failed;
};

int ctrl_lines_begin(struct ctrl_lines *, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ctrl_lines_add(struct ctrl_lines *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void ctrl_lines_text(struct ctrl_lines *, const char *text, size_t n);
void ctrl_lines_bytes(struct ctrl_lines *, const char *, size_t);
int ctrl_lines_end(struct ctrl *, struct ctrl_lines *, const char *last);

#endif
