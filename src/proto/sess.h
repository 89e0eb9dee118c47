/*
 * sess.h - the post-login worker's session state and the functions its
 * files share (sess_run.c dispatches; sess_*.c hold the commands, one
 * concern a file). Private to src/proto/sess*.c.
 * Runs in: post-login worker.
 */
#ifndef KF_SESS_H
#define KF_SESS_H

#include <stdint.h>

#include "../common/limits.h"
#include "../common/perm.h"
#include "../fs/glob.h"
#include "../fs/quota.h"
#include "../fs/xfer.h"
#include "../net/data.h"
#include "args.h"
#include "command.h"
#include "session.h"

struct sess {
	const struct session_info *si;
	const struct auth_identity *id;
	const struct conf *conf;
	struct ctrl ctrl;
	struct data data;
	int rootfd;
	int ascii;
	int epsv_all;
	int has_rnfr;
	int quit;
	unsigned umask; /* SITE UMASK */
	unsigned idle; /* SITE IDLE, seconds */
	const struct hash_algo *hash; /* OPTS HASH */
	unsigned hash_store; /* HASH_ID_* bits uploads store; 0: off */
	unsigned facts; /* OPTS MLST */
	struct patterns hide; /* hide_patterns */
	struct patterns deny; /* deny_patterns */
	struct quota quota; /* fd -1: none */
	uint64_t min_rate; /* last transfer's, for 426 */
	uint64_t rest;
	unsigned tls_flags; /* MON_TLS_*: PBSZ, PROT P */
	int ccc; /* CCC done */
	SSL *dssl; /* the open data SSL */
	char cwd[KF_PATH_MAX + 1];
	char rnfr[KF_PATH_MAX + 1];
	char path[KF_PATH_MAX + 1]; /* scratch */
	char real[KF_PATH_MAX + 1]; /* path resolved: what the rules judge */
	/* `keepftpd who` (MON_STATUS): the running command, its path */
	const char *who_verb; /* the command table's name */
	int who_busy; /* a transfer's start was reported */
	int64_t who_ms; /* the last report */
	char who_path[KF_WHO_PATH_MAX + 1];
};

typedef void (*handler)(struct sess *, const struct cmd *);

/*
 * `keepftpd who`: a transfer or listing starts on x (path: its virtual
 * path, "" for a listing); its progress goes to the monitor at most
 * once per KF_WHO_REPORT_MS (sess_run.c).
 */
void sess_who_start(struct sess *, struct xfer *, const char *path);

struct list_opts;

/* Shared between the files, by the file that defines them. */

/* sess_file.c */
/*
 * The audit line of a change to the file system: op, the path (from:
 * the old name of a rename), the user, and ok or failed with errno's
 * reason. errno is kept.
 */
void sess_audit(struct sess *s, const char *op, const char *from, int ok);

/* sess_perm.c */
/* The rights at real (a resolved path): the rules, else the default. */
uint32_t sess_rights(const struct sess *s, const char *real);
/* 0 when every right of need is there, else 550, a log line and -1. */
int sess_may(struct sess *s, const char *real, uint32_t need, const char *verb);
/* The same, without reply or log: 0 or -EACCES. */
int sess_may_quiet(const struct sess *s, const char *real, uint32_t need);
/* 1 when some path may be changed: writable, or a rule grants it. */
int sess_may_change(const struct sess *s);
int sess_may_list(void *sess, const char *real);
struct stat;
/* Anonymous reads with anon_upload_dirs: 0, or 550 sent and -1. */
int sess_anon_servable(struct sess *s, const struct stat *sb);

/* sess_run.c */
int denied(const struct sess *s, const char *vpath);
int sess_hide_name(void *arg, const char *name);
int sess_resolve(struct sess *s, const char *arg);

/* sess_data.c */
int sess_open_data(struct sess *s, const char *what);
void sess_close_data(struct sess *s, int fd);
/* The data connection's transport (TLS under PROT P, else plain). */
struct xfer_io;
void sess_data_io(struct sess *s, struct xfer_io *io, int fd);
int sess_need_data(struct sess *s);
void do_pasv(struct sess *s, const struct cmd *c);
void do_epsv(struct sess *s, const struct cmd *c);
void do_port(struct sess *s, const struct cmd *c);
void do_abor(struct sess *s, const struct cmd *c);

/* sess_ext.c */
void do_hash(struct sess *s, const struct cmd *c);
void do_feat(struct sess *s, const struct cmd *c);
void do_opts(struct sess *s, const struct cmd *c);

/* sess_file.c */
void do_pwd(struct sess *s, const struct cmd *c);
void do_cwd(struct sess *s, const struct cmd *c);
int sess_parent_of(struct sess *s, const char *arg, const char **name);
int sess_writable_parent(struct sess *s, const char *arg, const char **name);
void do_dele(struct sess *s, const struct cmd *c);
void do_mkd(struct sess *s, const struct cmd *c);
void do_rnfr(struct sess *s, const struct cmd *c);
void do_rnto(struct sess *s, const struct cmd *c);
void do_size(struct sess *s, const struct cmd *c);
void do_mdtm(struct sess *s, const struct cmd *c);

/* sess_list.c */
void sess_list_setup(struct sess *s, struct list_opts *o, unsigned flags,
    int (*flush)(void *, const char *, size_t), void *arg);
void do_list(struct sess *s, const struct cmd *c);
void do_mlsd(struct sess *s, const struct cmd *c);
void do_mlst(struct sess *s, const struct cmd *c);

/* sess_site.c */
void do_mfmt(struct sess *s, const struct cmd *c);
void do_help(struct sess *s, const struct cmd *c);
void do_site(struct sess *s, const struct cmd *c);

/* sess_stat.c */
void do_stat(struct sess *s, const struct cmd *c);

/* sess_tls.c */
void do_prot(struct sess *s, const struct cmd *c);
void do_ccc(struct sess *s, const struct cmd *c);

/* sess_upload.c */
void do_stor(struct sess *s, const struct cmd *c);
void do_stou(struct sess *s, const struct cmd *c);

/* sess_xfer.c */
void sess_init_xfer(struct sess *s, struct xfer *x, int fd);
void sess_init_file_xfer(struct sess *s, struct xfer *x, int fd, int upload);
void sess_reply_xfer(struct sess *s, enum xfer_status st, const char *ok);
void sess_log_xfer(struct sess *s, const char *verb, const struct xfer *x,
    int64_t t0, enum xfer_status st);
void do_retr(struct sess *s, const struct cmd *c);
void do_rest(struct sess *s, const struct cmd *c);

#endif
