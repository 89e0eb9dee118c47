/*
 * logd.h - the listener's side of kf-log, the log file writer
 * (docs/OPERATIONS.md, "Log files"; docs/SECURITY.md, "kf-log").
 * Runs in: listener.
 */
#ifndef KF_LOGD_H
#define KF_LOGD_H

#include <stdint.h>
#include <sys/types.h>

#include "../conf/conf.h"

/* What kf-log is given at exec, in a sealed memfd (fd 4). */
#define LOGD_CONF_MAGIC 0x6b666c67u
struct logd_conf {
	uint32_t magic;
	uint32_t size; /* sizeof(struct logd_conf) */
	int service_ok; /* service_user exists and is not root */
	uid_t service_uid;
	gid_t service_gid;
	char empty_dir[KF_CONF_VALUE_MAX + 1];
};

/* LSN_LOG_FILES payload (listener -> kf-log, with the descriptors). */
struct logd_files {
	uint32_t json; /* log_format = json */
	uint32_t has_log; /* a log_file descriptor follows the records' */
	uint32_t has_xfer; /* then an xferlog_file one */
};

/*
 * At start: with log_file or xferlog_file, opens them, starts kf-log
 * and sends this process's log lines (and its later forks') to it.
 * 0, or -1 when a file cannot be opened (logged; the start fails).
 */
int logd_start(const struct conf *);
/* SIGUSR1, SIGHUP: the files opened again (by path) and handed over. */
void logd_reopen(const struct conf *, const char *why);
/* From the listener's reap: 1 when pid was kf-log (restarted later). */
int logd_reaped(pid_t pid, int status);
/* 1 while kf-log should run and does not (the loop wakes each second). */
int logd_down(void);
/* Each turn of the accept loop: restarts kf-log if it is down. */
void logd_tick(const struct conf *);
/* At the stop: the last lines flushed, kf-log ends. */
void logd_stop(void);

#endif
