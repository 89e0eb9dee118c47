/*
 * mon_metrics.h - a monitor's part of metrics_listen: what it reports
 * to the listener (LSN_METRICS_*), only when metrics_listen is set.
 * Runs in: monitor.
 */
#ifndef KF_MON_METRICS_H
#define KF_MON_METRICS_H

#include <stdint.h>

#include "../conf/conf.h"

/* At the monitor's start: on when c->metrics_listen is set. */
void mon_metrics_init(const struct conf *c, int report_fd);
/* A password verification starts (the gauge; not anonymous, not cert). */
void mon_metrics_verify(const struct conf *c, const char *user);
/* A login's result (enum mx_result) and method (enum mx_method). */
void mon_metrics_login(unsigned result, unsigned method);
/* A transfer ended; sent on (tallied) at most every KF_METRICS_FLUSH_MS. */
void mon_metrics_xfer(unsigned dir, unsigned ok, uint64_t bytes);
/* The relay's handshake ended. */
void mon_metrics_tls(unsigned ok);
/* At the session's end: what is not sent yet. */
void mon_metrics_flush(void);

#endif
