/*
 * lsn_metrics.h - the listener's side of metrics_listen: the counters
 * page it alone writes, the monitors' metrics reports it takes, and
 * kf-metrics, which it starts, restarts and stops. Every function does
 * nothing while metrics_listen is empty.
 * Runs in: listener.
 */
#ifndef KF_LSN_METRICS_H
#define KF_LSN_METRICS_H

#include <stddef.h>
#include <sys/types.h>

#include "../conf/conf.h"
#include "../metrics/metrics.h"
#include "spawn.h"

/*
 * At start, before any fork: binds metrics_listen (the listener may
 * bind a privileged port), makes the page, starts kf-metrics with sc's
 * identity. 0 (also when off), or -1 (logged).
 */
int lsn_metrics_init(const struct conf *, const struct spawn_conf *sc);
/* In a new monitor: the page's and the socket's descriptors closed. */
void lsn_metrics_forget(void);
/* 1 when pid was kf-metrics (then restarted after KF_SPAWN_RESTART_MS). */
int lsn_metrics_reaped(pid_t pid, int status);
/* Restarts kf-metrics when its pause is over; 1 while it is down. */
int lsn_metrics_tick(void);
/* At the stop: kf-metrics ends. */
void lsn_metrics_stop(void);

/* Events the listener sees itself. */
void lsn_metrics_session(void);
void lsn_metrics_refused(enum mx_reason);
void lsn_metrics_gauges(size_t prelogin, size_t logged_in, size_t banned);
/* A monitor ended; verifying: its slot's flag (the gauge drops). */
void lsn_metrics_gone(int verifying);

/*
 * A monitor's report (already known to come from one of ours): 1 when
 * it was a metrics type (taken, or dropped and counted), 0 when not.
 * *verifying is the sender's slot flag (LSN_METRICS_VERIFY sets it,
 * LSN_METRICS_LOGIN clears it).
 */
int lsn_metrics_report(const unsigned char *frame, size_t n, int *verifying);

#endif
