/*
 * lsn_pgauth.h - the listener's side of kf-pgauth (users_backend =
 * postgresql): the request socket, the process, its restart.
 * Runs in: listener (all), monitor (lsn_pgauth_forget after fork).
 */
#ifndef KF_LSN_PGAUTH_H
#define KF_LSN_PGAUTH_H

#include <sys/types.h>

#include "bantab.h"
#include "spawn.h"

/* Makes the socket and starts kf-pgauth (sc: pg_conninfo kept). 0 or -1. */
int lsn_pgauth_init(const struct spawn_conf *sc);
/* In a new monitor: kf-pgauth's end and the configuration closed. */
void lsn_pgauth_forget(void);
/* 1 when p was kf-pgauth (it is started again after a pause). */
int lsn_pgauth_reaped(pid_t p, int status);
/* Restarts a dead kf-pgauth when due; 1 while it is down. */
int lsn_pgauth_tick(void);
void lsn_pgauth_stop(void);
/* pg_bans: the listener's end of the bans channel (-1: none). */
int lsn_pgauth_bans_fd(void);
/* A ban that started here, for keepftpd_bans (dropped when the queue is full). */
void lsn_pgauth_ban(const char *addr, unsigned long seconds);
/* The next ban another node (or this one) wrote: 0, 1 none, -1 malformed. */
int lsn_pgauth_seen(struct bantab_addr *, char *addr, size_t addrsz,
    uint32_t *ms);

#endif
