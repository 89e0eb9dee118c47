/*
 * seccomp.h - per-phase system call allow-lists.
 * Runs in: pre-login and post-login workers.
 */
#ifndef KF_SECCOMP_H
#define KF_SECCOMP_H

#include "phase.h"

int seccomp_prepare(void);
int seccomp_apply(enum sandbox_phase);

#endif
