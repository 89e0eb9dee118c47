/*
 * log.c - the log sink. Every byte that reaches stderr or syslog passes
 * through log_escape(): control characters, backslash and non-ASCII
 * bytes become \xNN, so a client string can never start a new line or
 * move a terminal cursor (invariant 10).
 * Runs in: all processes (workers use LOG_SINK_FD).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "limits.h"
#include "log.h"

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
log_get(enum log_sink *s, int *prio)
{
	*s = sink;
	*prio = max_prio;
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
	if (sink == LOG_SINK_SYSLOG)
		syslog(prio, "%s%s%s", prefix, prefix[0] ? " " : "", esc);
	else
		write_stderr(prio, esc);
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
 * Monitor side: one datagram from a worker. The first byte is the
 * priority (clamped), the rest is opaque text, escaped by log_raw().
 * Returns 0, or -1 when the worker has closed its end.
 */
int
log_forward(int fd)
{
	char msg[KF_LOG_LINE_MAX + 1];
	ssize_t n;
	int prio;

	n = recv(fd, msg, sizeof(msg), MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1;
	prio = (unsigned char)msg[0];
	if (prio < LOG_ERR)
		prio = LOG_ERR;	/* a worker cannot raise emergencies */
	if (prio > LOG_DEBUG)
		prio = LOG_DEBUG;
	log_raw(prio, msg + 1, (size_t)n - 1);
	return 0;
}
