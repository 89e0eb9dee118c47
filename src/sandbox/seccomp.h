/*
 * seccomp.h - per-phase system call allow-lists, compiled once before
 * any fork (prepare) and loaded as the last step of a sandbox (apply).
 * Runs in: spawners, pre-login and post-login workers and the TLS relay
 * (seccomp_worker.c); the listener and the monitor after login
 * (seccomp_monitor.c).
 */
#ifndef KF_SECCOMP_H
#define KF_SECCOMP_H

#include "phase.h"

/* The workers' phases (keepftpd-worker): pre-login, post-login, relay. */
int seccomp_prepare(void);
int seccomp_apply(enum sandbox_phase);

/*
 * The monitor's program (keepftpd): SANDBOX_MONITOR. semid: the
 * verification cap's semaphore set (auth_slots_id), the only one semop
 * may name; -1: none.
 */
int seccomp_prepare_monitor(int semid);
int seccomp_apply_monitor(void);

#endif
