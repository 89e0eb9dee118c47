/*
 * kf_metrics.h - kf-metrics from outside: its descriptors after exec (the
 * listener puts them there, src/priv/lsn_metrics.c) and its entry point.
 * Runs in: listener (the numbers), kf-metrics.
 */
#ifndef KF_KF_METRICS_H
#define KF_KF_METRICS_H

#define MX_FD_LISTEN 3 /* the listening socket, non-blocking */
#define MX_FD_CONF   4 /* struct spawn_conf, sealed memfd */
#define MX_FD_PAGE   5 /* struct metrics_page, opened O_RDONLY */

/* `keepftpd-worker --metrics`: never returns. */
int metrics_main(void) __attribute__((noreturn));

#endif
