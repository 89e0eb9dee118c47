/*
 * log.h - format-checked logging; escaping happens at the sink, so no
 * caller has to remember it. Workers send their lines to the monitor,
 * which escapes and writes them.
 * Runs in: all processes.
 */
#ifndef KF_LOG_H
#define KF_LOG_H

#include <stddef.h>
#include <syslog.h>

enum log_sink {
	LOG_SINK_STDERR,
	LOG_SINK_SYSLOG,
	LOG_SINK_FD,		/* a worker: datagrams to the monitor */
};

void	log_open(enum log_sink, const char *ident, int fd);
void	log_set_level(int prio);
/* The sink and level in use (a spawner takes the listener's). */
void	log_get(enum log_sink *, int *prio);
void	log_set_prefix(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_msg(int prio, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_raw(int prio, const char *bytes, size_t n);
int	log_forward(int fd);
size_t	log_escape(const char *in, size_t n, char *out, size_t outsz);

#define log_err(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
