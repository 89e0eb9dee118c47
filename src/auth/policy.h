/*
 * policy.h - session policy read from the configuration alone: the
 * TLS requirements and the session time limit. Pure functions, linked
 * by the privileged keepftpd (monitor) and by keepftpd-worker alike.
 * Runs in: monitor, pre-login and post-login workers, spawners.
 */
#ifndef KF_POLICY_H
#define KF_POLICY_H

#include <stdint.h>

#include "../conf/conf.h"
#include "auth.h"

/* The session's end under session_max_seconds, ms (< 0: none). */
int64_t policy_deadline_ms(const struct conf *, int64_t start_ms);
/* Must this login use TLS on the control connection? */
int policy_tls_required(const struct conf *, const char *user,
    const struct auth_identity *);
/* Must this session's data connections be PROT P? */
int policy_prot_required(const struct conf *, int anonymous);

#endif
