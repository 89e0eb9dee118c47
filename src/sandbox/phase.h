/*
 * phase.h - the sandbox phases, apart so that seccomp.h and sandbox.h
 * both name them without including each other.
 * Runs in: pre-login and post-login workers, TLS relay, monitor,
 * kf-metrics.
 */
#ifndef KF_SANDBOX_PHASE_H
#define KF_SANDBOX_PHASE_H

enum sandbox_phase {
	SANDBOX_PRELOGIN, /* no file system at all, no new sockets */
	SANDBOX_POSTLOGIN, /* files under root, TCP sockets for data */
	SANDBOX_RELAY, /* TLS relay: like pre-login, its own filter */
	SANDBOX_MONITOR, /* the monitor after login (seccomp only) */
	SANDBOX_METRICS, /* kf-metrics: accept, read, write; no files */
};

#endif
