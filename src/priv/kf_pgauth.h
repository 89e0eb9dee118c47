/*
 * kf_pgauth.h - kf-pgauth from outside (users_backend = postgresql): its
 * descriptors after exec (the listener puts them there,
 * src/priv/lsn_pgauth.c) and the entry points of the two libpq users in
 * keepftpd-worker: kf-pgauth and the `keepftpd user` database helper.
 * Runs in: listener (the numbers), kf-pgauth, `keepftpd user` (the
 * helper's descriptor).
 */
#ifndef KF_KF_PGAUTH_H
#define KF_KF_PGAUTH_H

#define PGA_FD_REQ  3 /* kf-pgauth's end of the request socket (SEQPACKET) */
#define PGA_FD_CONF 4 /* struct spawn_conf, sealed memfd, pg_conninfo kept */
#define PGA_FD_LSN  5 /* bans with the listener (SEQPACKET, pg_bans) */

#define PGU_FD 3 /* the `keepftpd user` helper's socketpair */

/* `keepftpd-pgauth --pgauth`: never returns. */
int pgauth_main(void) __attribute__((noreturn));
/* `keepftpd-pgauth --pgusers`: one request of `keepftpd user`; the status. */
int pgusers_main(void);

#endif
