/*
 * log.h - format-checked logging that no caller can get wrong.
 * In a log format, "%s" writes the string as a quoted field ("..." with
 * \" \\ and \xNN escapes; NULL writes a bare -): use it for every
 * string that is not a word keepftpd chose, with a key before it
 * (path=%s, user=%s). "%-s" writes a string bare: only for words from
 * the code, library error texts and addresses the server formatted.
 * Also: %d %i %u %x with no length, l, ll or z; %%. Nothing else
 * (no width or precision): the line ends in "<bad log format>".
 * The sink escapes control characters and invalid UTF-8 in the whole
 * line; workers send their lines to the monitor, which writes them.
 * Each conversion after "key=" is also a typed field of the line's
 * record, and the line has an event name (its leading words, or
 * log_event's): with log_file, the listener and the monitors send
 * records to kf-log (logrec.h), which writes text or JSON.
 * Runs in: all processes.
 */
#ifndef KF_LOG_H
#define KF_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <syslog.h>

enum log_sink {
	LOG_SINK_STDERR,
	LOG_SINK_SYSLOG,
	LOG_SINK_FD, /* a worker: datagrams to the monitor */
};

void log_open(enum log_sink, const char *ident, int fd);
void log_set_level(int prio);
/* printf's own rules: the prefix holds only what the server formatted */
/* The sink and level in use (a spawner takes the listener's). */
void log_get(enum log_sink *, int *prio);
void log_set_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_msg(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_event(int prio, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_raw(int prio, const char *bytes, size_t n);
/* Typed fields of the next line only (beyond the key= of its format). */
void log_field_str(const char *key, const char *val);
void log_field_num(const char *key, long long v);
/*
 * Listener, monitors: records to kf-log on fd (a datagram socket), the
 * sink only when it cannot take them; xfer_only (xferlog_file without
 * log_file): lines to the sink, and only transfer records to kf-log. Monitors: the session's stamps
 * (id, client address and port; the user once logged in, or NULL).
 */
void log_set_pipe(int fd, int xfer_only);
/*
 * The listener while kf-log is down: its own lines to the sink, so
 * that they are seen; its forks (monitors) call log_pipe_hold(0) and
 * queue theirs for the next kf-log.
 */
void log_pipe_hold(int on);
void log_set_session(unsigned long id, const char *client, unsigned port);
void log_set_user(const char *user, int anonymous);

/* Monitor: names a worker's or the relay's log channel (its origin). */
void log_forward_open(int fd, const char *origin);
int log_forward(int fd);
size_t log_escape(const char *in, size_t n, char *out, size_t outsz);
size_t log_quote(const char *in, size_t n, char *out, size_t outsz);
size_t log_vformat(char *out, size_t outsz, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
size_t log_format(char *out, size_t outsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
