/*
 * sess_xfer.c - downloads: RETR and REST, and what every transfer
 * shares (its set-up from the session, its final reply, its log line).
 * Runs in: post-login worker.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/cursor.h"
#include "../common/log.h"
#include "../common/sys.h"
#include "../fs/path.h"
#include "../ipc/ipc.h"
#include "../ipc/proto.h"
#include "sess.h"

static void
init_xfer(struct sess *s, struct xfer *x, int fd)
{
	struct xfer_watch w;
	struct xfer_io io;

	sess_data_io(s, &io, fd);
	ctrl_watch(&s->ctrl, &w);
	xfer_init(x, &io, &w, (int)s->conf->data_timeout * 1000, &session_stop);
	xfer_set_rates(x, 0, s->conf->data_min_rate);
	s->min_rate = x->min_rate;
	x->accept_truncated = s->conf->tls_accept_truncated;
}

/* A transfer on fd: unpaced (listings), with the minimum rate. */
void
sess_init_xfer(struct sess *s, struct xfer *x, int fd)
{
	init_xfer(s, x, fd);
	sess_who_start(s, x, "");
}

/* A file transfer: paced at the user's rate for its direction. */
void
sess_init_file_xfer(struct sess *s, struct xfer *x, int fd, int upload)
{
	init_xfer(s, x, fd);
	sess_who_start(s, x, s->path);
	xfer_set_rates(x, upload ? s->id->up_rate : s->id->down_rate,
	    s->conf->data_min_rate);
	s->min_rate = x->min_rate;
	if (upload && s->quota.fd >= 0)
		x->quota = &s->quota;
}

/* The final reply for a transfer, and the end of the session if due. */
void
sess_reply_xfer(struct sess *s, enum xfer_status st, const char *ok)
{
	session_drain_note(st == XFER_OK);
	switch (st) {
	case XFER_OK:
		ctrl_reply(&s->ctrl, 226, "%s", ok);
		break;
	case XFER_ABORTED:
		ctrl_reply(&s->ctrl, 426, "Transfer aborted.");
		ctrl_reply(&s->ctrl, 226, "ABOR successful.");
		break;
	case XFER_STOPPED:
		ctrl_reply(&s->ctrl, 426, "Transfer aborted. %s.",
		    session_stop_reason());
		break;
	case XFER_CTRL_GONE:
		s->quit = 1;
		break;
	case XFER_TIMEOUT:
		ctrl_reply(&s->ctrl, 426, "Data connection timed out.");
		break;
	case XFER_TOO_SLOW:
		ctrl_reply(&s->ctrl, 426,
		    "Transfer too slow (under %llu bytes/s); "
		    "aborted.",
		    (unsigned long long)s->min_rate);
		break;
	case XFER_DATA_ERROR:
		ctrl_reply(&s->ctrl, 426,
		    "Data connection failed; transfer aborted.");
		break;
	case XFER_DISK_FULL:
		ctrl_reply(&s->ctrl, 452, "Insufficient storage space.");
		break;
	case XFER_QUOTA:
		ctrl_reply(&s->ctrl, 552, "Exceeded storage allocation.");
		break;
	case XFER_IO_ERROR:
		ctrl_reply(&s->ctrl, 451, "Local error in processing.");
		break;
	case XFER_TRUNCATED:
		ctrl_reply(&s->ctrl, 451,
		    "Upload truncated: the TLS data "
		    "connection ended without close_notify; file not kept.");
		break;
	case XFER_REJECTED:
		ctrl_reply(&s->ctrl, 550, "Upload rejected.");
		break;
	}
}

static const char *
xfer_status_name(enum xfer_status st)
{
	static const char *const names[] = { "ok", "aborted", "stopped",
		"control-closed", "data-error", "timeout", "disk-full", "quota",
		"io-error", "too-slow", "truncated", "rejected" };

	return names[st];
}

/*
 * metrics_listen: the transfer's direction, result and bytes to the
 * monitor (MON_XFER_DONE, no answer), which tallies them.
 */
static void
report_xfer(struct sess *s, int upload, const struct xfer *x,
    enum xfer_status st)
{
	struct ipc_msg m;

	if (s->conf->metrics_listen[0] == '\0')
		return;
	ipc_init(&m, MON_XFER_DONE);
	if (ipc_put_u32(&m, upload ? 1 : 0) == 0 &&
	    ipc_put_u32(&m, st == XFER_OK) == 0 &&
	    ipc_put_u32(&m, (uint32_t)(x->bytes >> 32)) == 0 &&
	    ipc_put_u32(&m, (uint32_t)x->bytes) == 0 &&
	    ipc_send(s->si->mon_fd, &m) < 0)
		log_warn("transfer not reported to the monitor");
}

void
sess_log_xfer(struct sess *s, const char *verb, const struct xfer *x,
    int64_t t0, enum xfer_status st)
{
	int64_t ms = sys_now_ms() - t0;

	report_xfer(s, verb[0] != 'R', x, st);
	/*
	 * One "transfer" event per transfer, whatever its end: kf-log
	 * makes the xferlog line of it (bytes actually moved, status c or
	 * i); the monitor stamps the user on the record, the text line
	 * names it too.
	 */
	log_field_str("command", verb);
	log_field_num("duration_ms", (long long)ms);
	log_field_str("type", s->ascii ? "ascii" : "binary");
	log_event(LOG_INFO, "transfer",
	    "%-s path=%s bytes=%llu ms=%lld status=%-s user=%s", verb, s->path,
	    (unsigned long long)x->bytes, (long long)ms, xfer_status_name(st),
	    s->id->name);
	if (st == XFER_TOO_SLOW)
		log_warn(
		    "%-s path=%s aborted: under data_min_rate %llu bytes/s over "
		    "%lu s",
		    verb, s->path, (unsigned long long)x->min_rate,
		    s->conf->data_timeout);
}

void
do_retr(struct sess *s, const struct cmd *c)
{
	enum xfer_status st;
	struct stat sb;
	struct xfer x;
	char what[128];
	int64_t t0;
	int fd, dfd;

	if (sess_need_data(s) < 0 || sess_resolve(s, c->arg) < 0)
		return;
	fd = fs_open_real(s->rootfd, s->path, O_RDONLY, 0, s->real,
	    sizeof(s->real));
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		ctrl_reply(&s->ctrl, 550, "Failed to open file.");
		goto out;
	}
	if (sess_may(s, s->real, PERM_DOWNLOAD, "RETR") < 0 ||
	    sess_anon_servable(s, &sb) < 0)
		goto out;
	if (s->rest > (uint64_t)sb.st_size) {
		ctrl_reply(&s->ctrl, 554,
		    "Restart offset beyond the end of the file.");
		goto out;
	}
	/* REST was given in TYPE I, then TYPE A: no offset in ASCII */
	if (s->rest != 0 && s->ascii) {
		ctrl_reply(&s->ctrl, 504,
		    "REST is not supported in ASCII mode.");
		goto out;
	}
	snprintf(what, sizeof(what),
	    "Opening %s mode data connection (%lld bytes).",
	    s->ascii ? "ASCII" : "BINARY", (long long)sb.st_size);
	if ((dfd = sess_open_data(s, what)) < 0)
		goto out;
	sess_init_file_xfer(s, &x, dfd, 0);
	t0 = sys_now_ms();
	st = s->ascii ? xfer_send_ascii(&x, fd) :
			xfer_send_file(&x, fd, (off_t)s->rest);
	sess_close_data(s, dfd);
	sess_log_xfer(s, "RETR", &x, t0, st);
	sess_reply_xfer(s, st, "Transfer complete.");
out:
	if (fd >= 0)
		close(fd);
	data_reset(&s->data);
}

void
do_rest(struct sess *s, const struct cmd *c)
{
	uint64_t off;

	s->rest = 0; /* a refused REST leaves no older offset behind */
	if (args_rest(c->arg, &off) < 0) {
		ctrl_reply(&s->ctrl, 501, "Bad restart offset.");
		return;
	}
	if (s->ascii && off != 0) {
		ctrl_reply(&s->ctrl, 504,
		    "REST is not supported in ASCII mode.");
		return;
	}
	s->rest = off;
	ctrl_reply(&s->ctrl, 350, "Restart position accepted (%llu).",
	    (unsigned long long)off);
}
