/*
 * relay.h - the per-session TLS relay: owns the raw control socket,
 * does the TLS handshake, and moves plain text between it and a
 * socketpair whose other end the monitor hands to the current worker.
 * It parses no FTP.
 * Runs in: TLS relay (service user, empty root, seccomp), forked by the
 * session monitor.
 */
#ifndef KF_RELAY_H
#define KF_RELAY_H

#include <stdint.h>

#include "tls.h"

struct relay_args {
	SSL_CTX *ctx; /* the control context */
	int raw_fd; /* the client's socket */
	int plain_fd; /* to the workers */
	int mon_fd; /* MON_TLS_SESSION out */
	int64_t handshake_deadline_ms;
};

/* Handshake, then relay until either side ends. Never returns. */
void relay_run(const struct relay_args *) __attribute__((noreturn));

#endif
