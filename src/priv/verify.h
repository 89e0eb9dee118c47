/*
 * verify.h - password and certificate-name checks in a short-lived
 * child of the monitor, so that what the check reads (the users file,
 * the shadow file through PAM, other accounts' hashes) dies with the
 * child and never stays in the monitor's heap.
 * Runs in: monitor.
 */
#ifndef KF_VERIFY_H
#define KF_VERIFY_H

#include "../auth/auth.h"

/* Quick mode's inline users: the sealed memfd the verifier reads (-1: none). */
void verify_init(int inline_fd);
/* auth_check_vhost() in a child; inline_users NULL: the memfd's text. */
int verify_login(const struct conf *, const char *inline_users,
    const struct conf_vhost *vh, const char *user, const char *pass,
    struct auth_identity *id);
/* Waits for the last check's child, if any (it ends once it answered). */
void verify_reap(void);
/* auth_identity_by_cert() in a child, likewise. */
int verify_cert(const struct conf *, const char *inline_users, const char *user,
    struct auth_identity *id);

#endif
