/*
 * log.c - the log sink. Every byte that reaches stderr or syslog passes
 * through log_escape(): control characters, backslash and non-ASCII
 * bytes become \xNN, so a client string can never start a new line or
 * move a terminal cursor (invariant 10).
 * Runs in: all processes (workers use LOG_SINK_FD).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "limits.h"
#include "log.h"
#include "rate.h"
#include "sys.h"

static enum log_sink	sink = LOG_SINK_STDERR;
static int		sink_fd = -1;
static int		max_prio = LOG_INFO;
static char		ident[32] = "keepftpd";
static char		prefix[160];

void
log_open(enum log_sink s, const char *id, int fd)
{
	sink = s;
	sink_fd = fd;
	if (id != NULL)
		snprintf(ident, sizeof(ident), "%s", id);
	if (s == LOG_SINK_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_FTP);
}

void
log_set_level(int prio)
{
	max_prio = prio;
}

void
log_set_prefix(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
}

size_t
log_escape(const char *in, size_t n, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;
	unsigned char ch;

	if (outsz == 0)
		return 0;
	for (i = 0; i < n; i++) {
		ch = (unsigned char)in[i];
		if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
			if (o + 1 >= outsz)
				break;
			out[o++] = (char)ch;
			continue;
		}
		if (o + 4 >= outsz)
			break;
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[ch >> 4];
		out[o++] = hex[ch & 15];
	}
	out[o] = '\0';
	return o;
}

static const char *
prio_name(int prio)
{
	switch (prio) {
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_DEBUG:
		return "debug";
	default:
		return "info";
	}
}

static void
write_stderr(int prio, const char *esc)
{
	char line[KF_LOG_LINE_MAX * 4 + 256], ts[32];
	struct timespec now;
	struct tm tm;
	int n;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(line, sizeof(line), "%s %s[%ld]: %s: %s%s%s\n", ts, ident,
	    (long)getpid(), prio_name(prio), prefix, prefix[0] ? " " : "", esc);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* one write per line: lines from many processes do not interleave */
	while (write(STDERR_FILENO, line, (size_t)n) < 0 && errno == EINTR)
		;
}

/* An escaped line to the real sink (stderr or syslog). */
static void
emit(int prio, const char *esc)
{
	if (sink == LOG_SINK_SYSLOG)
		syslog(prio, "%s%s%s", prefix, prefix[0] ? " " : "", esc);
	else
		write_stderr(prio, esc);
}

void
log_raw(int prio, const char *bytes, size_t n)
{
	char esc[KF_LOG_LINE_MAX * 4 + 1];
	unsigned char p;

	if (prio > max_prio)
		return;
	if (n > KF_LOG_LINE_MAX)
		n = KF_LOG_LINE_MAX;
	if (sink == LOG_SINK_FD) {
		char msg[KF_LOG_LINE_MAX + 1];

		p = (unsigned char)prio;
		msg[0] = (char)p;
		memcpy(msg + 1, bytes, n);
		while (send(sink_fd, msg, n + 1, MSG_DONTWAIT) < 0 &&
		    errno == EINTR)
			;
		return;
	}
	log_escape(bytes, n, esc, sizeof(esc));
	emit(prio, esc);
}

void
log_msg(int prio, const char *fmt, ...)
{
	char msg[KF_LOG_LINE_MAX + 1];
	va_list ap;
	int n;

	if (prio > max_prio)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > KF_LOG_LINE_MAX)
		n = KF_LOG_LINE_MAX;
	log_raw(prio, msg, (size_t)n);
}

/*
 * Monitor side: the log channels of its worker and relay. Each is
 * known by its descriptor and named by the monitor (log_forward_open),
 * since the monitor knows which socket it reads; a channel it never
 * named is just "worker". Each has its own token bucket; what is
 * dropped or refused is counted and said in one summary line.
 */
#define FWD_CHANS	4
#define FWD_ORIGIN_MAX	32
#define FWD_REFUSED_EMPTY	0x1u

struct fwd_chan {
	int		fd;		/* -1: free */
	ino_t		ino;		/* the socket's: fd numbers are reused */
	char		origin[FWD_ORIGIN_MAX];
	struct rate	bucket;
	unsigned long	dropped;	/* over the rate, since the summary */
	unsigned long	refused;	/* refused frames, since the summary */
	unsigned	said;		/* refusal reasons already logged */
	int64_t		summary_ms;
};

static struct fwd_chan	fwd[FWD_CHANS] = { { .fd = -1 }, { .fd = -1 },
			    { .fd = -1 }, { .fd = -1 } };
static unsigned		fwd_next;	/* the slot to take when all are used */

static void
fwd_summary(struct fwd_chan *ch)
{
	char line[FWD_ORIGIN_MAX + 128];

	if (ch->dropped == 0 && ch->refused == 0)
		return;
	snprintf(line, sizeof(line), "%s: %lu log line(s) dropped (rate "
	    "limit), %lu refused", ch->origin, ch->dropped, ch->refused);
	emit(LOG_WARNING, line);
	ch->dropped = 0;
	ch->refused = 0;
	ch->summary_ms = sys_now_ms();
}

static ino_t
fd_ino(int fd)
{
	struct stat sb;

	return fstat(fd, &sb) == 0 ? sb.st_ino : 0;
}

static void
fwd_reset(struct fwd_chan *ch, int fd, const char *origin)
{
	fwd_summary(ch);
	memset(ch, 0, sizeof(*ch));
	ch->fd = fd;
	ch->ino = fd_ino(fd);
	snprintf(ch->origin, sizeof(ch->origin), "%s", origin);
}

static struct fwd_chan *
fwd_slot(int fd)
{
	struct fwd_chan *ch;
	size_t i;

	for (i = 0; i < FWD_CHANS; i++)
		if (fwd[i].fd == fd)
			return &fwd[i];
	for (i = 0; i < FWD_CHANS; i++)
		if (fwd[i].fd < 0)
			return &fwd[i];
	ch = &fwd[fwd_next++ % FWD_CHANS];
	fwd_summary(ch);
	return ch;
}

void
log_forward_open(int fd, const char *origin)
{
	if (fd >= 0)
		fwd_reset(fwd_slot(fd), fd, origin);
}

static int
fwd_close(struct fwd_chan *ch)
{
	fwd_summary(ch);
	ch->fd = -1;
	return -1;
}

/* A refused frame: its reason once, then only in the summaries. */
static int
fwd_refuse(struct fwd_chan *ch, unsigned reason, const char *why)
{
	char line[FWD_ORIGIN_MAX + 96];

	if ((ch->said & reason) == 0) {
		ch->said |= reason;
		snprintf(line, sizeof(line), "%s: log datagram refused: %s "
		    "(further ones are counted)", ch->origin, why);
		emit(LOG_WARNING, line);
	} else
		ch->refused++;
	return 0;
}

/*
 * The text is escaped, then its brackets too, so that nothing in it
 * reads as the "[sID ADDR]" that starts the monitor's own lines; and it
 * comes after "ORIGIN: ", where the monitor's events (login failed:,
 * login ok:, ban: ...) would stand. A worker's line can take neither.
 */
static void
fwd_line(const struct fwd_chan *ch, int prio, const char *text, size_t n)
{
	char esc[KF_LOG_LINE_MAX * 4 + 1];
	char line[FWD_ORIGIN_MAX + KF_LOG_LINE_MAX * 4 + 8];
	size_t i, o;

	log_escape(text, n, esc, sizeof(esc));
	o = (size_t)snprintf(line, sizeof(line), "%s: ", ch->origin);
	for (i = 0; esc[i] != '\0' && o + 5 < sizeof(line); i++) {
		if (esc[i] == '[' || esc[i] == ']') {
			memcpy(line + o, esc[i] == '[' ? "\\x5b" : "\\x5d", 4);
			o += 4;
		} else
			line[o++] = esc[i];
	}
	line[o] = '\0';
	emit(prio, line);
}

/* 1 when fd's peer has closed its end (a 0-byte read is then EOF). */
static int
peer_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };

	return poll(&p, 1, 0) < 0 ||
	    (p.revents & (POLLHUP | POLLRDHUP | POLLERR)) != 0;
}

/*
 * One datagram from a worker or the relay. The first byte is the
 * priority (clamped), the rest is opaque text, marked with the
 * channel's origin and escaped. An empty datagram is refused, not taken
 * for the end. Returns 0, or -1 when the sender has closed its end.
 */
int
log_forward(int fd)
{
	char msg[KF_LOG_LINE_MAX + 1];
	struct fwd_chan *ch = fwd_slot(fd);
	int64_t now;
	ssize_t n;
	int prio;

	if (ch->fd != fd || ch->ino != fd_ino(fd))
		fwd_reset(ch, fd, "worker");	/* a channel never named */
	n = recv(fd, msg, sizeof(msg), MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : fwd_close(ch);
	if (n == 0)
		return peer_gone(fd) ? fwd_close(ch) :
		    fwd_refuse(ch, FWD_REFUSED_EMPTY, "empty datagram");
	if ((size_t)n > sizeof(msg))
		n = sizeof(msg);	/* cut, like any long line */
	prio = (unsigned char)msg[0];
	if (prio < LOG_ERR)
		prio = LOG_ERR;	/* a worker cannot raise emergencies */
	if (prio > LOG_DEBUG)
		prio = LOG_DEBUG;
	if (prio > max_prio)
		return 0;
	now = sys_now_ms();
	if (!rate_take(&ch->bucket, now, KF_LOG_FWD_RATE, KF_LOG_FWD_BURST)) {
		ch->dropped++;
		if (now - ch->summary_ms >= KF_DROP_SUMMARY_MS)
			fwd_summary(ch);
		return 0;
	}
	if (now - ch->summary_ms >= KF_DROP_SUMMARY_MS)
		fwd_summary(ch);
	fwd_line(ch, prio, msg + 1, (size_t)n - 1);
	return 0;
}
