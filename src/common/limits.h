/*
 * limits.h - every bound keepftpd enforces, in one place.
 * Runs in: all processes (header only).
 */
#ifndef KF_LIMITS_H
#define KF_LIMITS_H
/* One bound per line with its comment, as check-limits.sh reads them: */
/* clang-format off */

#define KF_LINE_MAX		4096	/* control line, CRLF included */
#define KF_CMD_NAME_MAX		8	/* longest verb we know is 4; room for extensions */
#define KF_PATH_MAX		4096	/* virtual path as the client sees it */
#define KF_NAME_MAX		255	/* one path component */
#define KF_SYMLINKS_MAX		40	/* symlinks followed in one path, as the kernel */
#define KF_USER_MAX		128	/* user name, bytes */
#define KF_PASS_MAX		256	/* password, bytes */
#define KF_IPC_MSG_MAX		8192	/* one privileged message, header included */
#define KF_LOG_LINE_MAX		2048	/* one log line before the sink escapes */
#define KF_LOG_FIELD_MAX	512	/* one quoted field of a log line */
#define KF_LOG_REC_MAX		8192	/* one structured log record between processes */
#define KF_LOG_FIELDS_MAX	16	/* typed fields in one record */
#define KF_LOG_KEY_MAX		24	/* a field's name */
#define KF_LOG_OUT_MAX		(64 * 1024)	/* one rendered log_file / xferlog line */
#define KF_REPLY_LINES_MAX	(64 * 1024)	/* one multi-line reply */
#define KF_REPLY_MAX		8192	/* one (possibly multi-line) reply */
#define KF_CONF_FILE_MAX	(1024 * 1024)
#define KF_CONF_VALUE_MAX	1024
#define KF_CONF_PARSE_MS	10000	/* the configuration parser child's run */
#define KF_CONF_ARGS_MAX	64	/* -o KEY=VALUE overrides */
#define KF_MIGRATE_FILE_MAX	(256 * 1024)	/* vsftpd.conf read by `keepftpd migrate` */
#define KF_MIGRATE_LINE_MAX	4096	/* a line of it */
#define KF_MIGRATE_OUT_MAX	(128 * 1024)	/* the keepftpd.conf it prints */
#define KF_USERS_FILE_MAX	(16 * 1024 * 1024)
#define KF_USERS_LINE_MAX	1024
#define KF_LISTEN_MAX		8	/* listen = lines */
#define KF_PASV_MAP_MAX		32	/* pasv_address_map = entries */
#define KF_FOLDERS_MAX		16	/* folder = lines (shared folders) */
#define KF_FOLDER_NAME_MAX	32	/* a shared folder's name, bytes */
#define KF_FOLDERS_LIST_MAX	256	/* a users-file folders= value, anon_folders, bytes */
#define KF_LIST_ENTRIES_MAX	100000	/* entries in one listing */
#define KF_LIST_BUF		(256 * 1024)
#define KF_XFER_CHUNK		(1024 * 1024)	/* sendfile / upload block */
#define KF_HASH_XATTR_MAX	256	/* a stored digest record (user.keepftpd.hash), read or written */
#define KF_PRELOGIN_CMDS_MAX	64	/* commands before login, then close */
#define KF_PROXY_HDR_MAX	536	/* a PROXY protocol header, v1 or v2 with its TLVs */
#define KF_PROXY_HDR_MS		5000	/* pre-login worker: the whole PROXY header read */
#define KF_PROXY_VERDICT_MS	5000	/* monitor: the listener's admission of the header's address */
#define KF_DATA_PROXY_HDR_MS	2000	/* post-login worker: a passive data connection's PROXY header (pasv_proxy) */
#define KF_SESSION_NOFILE	64	/* RLIMIT_NOFILE of a worker */
#define KF_PRELOGIN_AS		(256UL * 1024 * 1024)	/* RLIMIT_AS, pre-login */
#define KF_POSTLOGIN_AS		(1024UL * 1024 * 1024)	/* RLIMIT_AS, post-login */
#define KF_AUTH_SLOTS_MAX	64	/* concurrent password checks, ceiling */
#define KF_MESSAGE_MAX		4096	/* bytes of a .message shown on CWD */
#define KF_REIN_MAX		100	/* REINs per connection, then the session ends */
#define KF_SECCOMP_INSNS_MAX	1024	/* instructions of a prepared seccomp program */
#define KF_STACK_KEEP		4096	/* stack kept below the frame that sheds memory */
#define KF_STACK_SHED		(512 * 1024)	/* stack range given back below that (inside the 1 MiB guard gap) */
#define KF_SHED_IDLE_MS		500	/* a logged-in monitor or worker idle this long gives back its start-up memory */

#endif

/* ---- listings, globbing, owner names (src/fs/list.c, glob.c, idmap.c) ---- */
#ifndef KF_LIMITS_FS_LIST_H
#define KF_LIMITS_FS_LIST_H

#define KF_LIST_DEPTH_MAX	16	/* LIST -R: levels below the listed dir */
#define KF_LIST_TREE_BUF	(1024 * 1024)	/* LIST -R: pending subdir names */
#define KF_GLOB_WILD_MAX	32	/* wildcards (* ? [) in one pattern */
#define KF_GLOB_MATCHES_MAX	1000	/* names matched by one expansion */
#define KF_GLOB_SCAN_MAX	100000	/* dir entries read by one expansion */
#define KF_GLOB_STEPS_MAX	10000000	/* matcher steps, one expansion (~10s of ms) */
#define KF_IDMAP_ENTRIES_MAX	4096	/* users, and groups, kept for listings */
#define KF_IDMAP_NAME_MAX	32	/* longer owner names show as numbers */
#define KF_IDMAP_FILE_MAX	(16 * 1024 * 1024)	/* bytes read of passwd/group */

#endif

/* ---- transfers: pacing, quotas (src/fs/pace.c, src/fs/quota.c) ---- */
#ifndef KF_LIMITS_FS_XFER_H
#define KF_LIMITS_FS_XFER_H

#define KF_PACE_SLICE_MS	50	/* a paced transfer's slice and burst */
#define KF_QUOTA_DEPTH_MAX	32	/* quota walk: directory levels (an fd each) */
#define KF_QUOTA_ENTRIES_MAX	1000000	/* quota walk: directory entries */
#define KF_UPLOAD_ORPHAN_AGE	60	/* s: an unlocked .kf-upload-* file this old is swept */

#endif

/* ---- connection policy: rate, bans, admin socket (src/priv/bantab.c, admin.c) ---- */
#ifndef KF_LIMITS_CONN_H
#define KF_LIMITS_CONN_H

#define KF_BANTAB_MAX		8192	/* client addresses the listener tracks (rates, failures, bans) */
#define KF_USERS_ADDRS_MAX	512	/* a users-file allow_from= / deny_from= value, bytes */
#define KF_PERM_RULES_MAX	16	/* per-directory permission rules of one user (src/common/perm.c) */
#define KF_PERM_PATH_MAX	255	/* the path of one permission rule, bytes */
#define KF_LOGIN_HOURS_MAX	128	/* a users-file login_hours= value, bytes */
#define KF_LOGIN_HOURS_WINDOWS	16	/* windows in one login_hours= value */
#define KF_USER_SESSIONS_MAX	10000	/* a users-file max_sessions= / anon_max_sessions value */
#define KF_RESERVE_VERDICT_MS	2000	/* a monitor's wait for the listener's max_sessions verdict */

#endif

/* ---- FTPS (src/tls/) ---- */
#ifndef KF_LIMITS_TLS_H
#define KF_LIMITS_TLS_H

#define KF_TLS_SESSION_SECONDS	604800	/* TLS session/ticket lifetime: data resumption */
#define KF_TLS_SECURE_HEAP	(64 * 1024)	/* OpenSSL secure heap for private keys */
#define KF_TLS_RELAY_BUF	(16 * 1024)	/* relay buffer, each direction */
#define KF_TLS_XFER_CHUNK	(128 * 1024)	/* user-space TLS download: one read, encrypted while in cache */
#define KF_TLS_DRAIN_MAX	(64 * 1024)	/* bytes dropped after AUTH TLS, then close */
#define KF_TLS_CLOSE_MS		2000	/* wait for the relay's close_notify at the end */
#define KF_PAM_CLOSE_MS		5000	/* wait for the PAM session keeper to close the session */
#define KF_TLS_SESSION_MAX	4096	/* a TLS 1.2 session, DER, relay -> monitor */
#define KF_TLS_KEY_FILE_MAX	(64 * 1024)	/* tls_key file, PEM */
#define KF_TLS_CCC_MS		5000	/* CCC: the relay must confirm the end of TLS */

#endif

/* ---- the monitor's own counts, its log and report channels (src/priv/mon_*.c, src/common/log.c, src/priv/listener.c) ---- */
#ifndef KF_LIMITS_MON_H
#define KF_LIMITS_MON_H

#define KF_LOGIN_DELAY_MAX_MS	30000	/* failed-login delay: doubled per failure up to this */
#define KF_LOG_FWD_RATE		100	/* forwarded log lines per second, per worker/relay channel */
#define KF_LOG_FWD_BURST	500	/* ... and the burst a channel may send at once */
#define KF_REPORT_RATE		200	/* listener: report datagrams per second, all monitors */
#define KF_REPORT_BURST		1000	/* ... and the burst */
#define KF_DROP_SUMMARY_MS	1000	/* at most one "dropped" summary line per channel per this */

#endif

/* ---- role images: spawners and the verifier (src/priv/spawner.c, verify.c) ---- */
#ifndef KF_LIMITS_SPAWN_H
#define KF_LIMITS_SPAWN_H

#define KF_SPAWN_MSG_MAX	16384	/* one spawner request (struct handoff), header included */
#define KF_IPC_FDS_MAX		6	/* descriptors passed with one message */
#define KF_SPAWN_REPLY_MS	5000	/* monitor's wait for a spawner's pidfd reply */
#define KF_SPAWN_RESTART_MS	1000	/* a spawner that died is started again after this */
#define KF_SPAWN_READY_MS	15000	/* listener's wait for the relay spawner's TLS report */
#define KF_SPAWN_WHY_MAX	512	/* the report's reason text, NUL included */
#define KF_HOOK_OUTPUT_MAX	4096	/* upload hook: bytes of its output kept for the log */
#define KF_HOOK_LINE_MAX	512	/* upload hook: output bytes per log line */
#define KF_HOOK_QUEUE_MAX	64	/* upload hook: requests waiting for a slot (upload_hook_concurrency) */
#define KF_HOOK_GRACE_S		5	/* upload hook: the monitor waits 2 * upload_hook_timeout + this */

#endif

/* ---- upgrade: the hand-over to a new binary (src/priv/upgrade.c) ---- */
#ifndef KF_LIMITS_UPGRADE_H
#define KF_LIMITS_UPGRADE_H

#define KF_UPGRADE_READY_MS	20000	/* the new listener's time to start and say it is ready */
#define KF_UPGRADE_IO_MS	5000	/* one hand-over message, either way */
#define KF_UPGRADE_FDS_MAX	64	/* descriptors passed with one hand-over message */
#define KF_UPGRADE_SESSIONS_MSG	40	/* sessions described in one hand-over message */
#define KF_UPGRADE_BANS_MSG	100	/* address table entries in one hand-over message */
#define KF_UPGRADE_ENV_MAX	1024	/* environment entries passed on to the new binary */

#endif

/* ---- who is online, kick (src/priv/who.c, admin.c, mon_handlers.c, src/proto/sess_run.c) ---- */
#ifndef KF_LIMITS_WHO_H
#define KF_LIMITS_WHO_H

#define KF_WHO_VERB_MAX		8	/* a command verb in a status report, bytes (XSHA256: 7) */
#define KF_WHO_PATH_MAX		256	/* a transfer's path in a status report, bytes; a longer one is cut */
#define KF_WHO_REPORT_MS	1000	/* worker: progress at most once per this; monitor: one LSN_STATUS per this */
#define KF_WHO_FWD_BURST	2	/* LSN_STATUS a monitor may send at once; one per KF_WHO_REPORT_MS on average */
#define KF_WHO_RATE		20	/* MON_STATUS reports per second the monitor takes from its worker */
#define KF_WHO_BURST		40	/* ... and the burst */
#define KF_ANON_OWN_RATE	10000	/* MON_ANON_OWN requests per second the monitor takes; more ends the session */
#define KF_ANON_OWN_BURST	10000	/* ... and the burst */
#define KF_WHO_AGE_MAX_MS	600000	/* the age of a state in an LSN_STATUS */
#define KF_LSN_MSG_MAX		768	/* one datagram on the report channel, header included */
#define KF_WHO_PER_MSG		12	/* session rows per ADM_WHO_ROWS message */
#define KF_ADMIN_ANSWER_MS	5000	/* the whole answer to one admin request (who: every row) */

#endif

/* ---- the metrics endpoint, kf-metrics (src/metrics/, src/priv/lsn_metrics.c, kf_metrics.c) ---- */
#ifndef KF_LIMITS_METRICS_H
#define KF_LIMITS_METRICS_H

#define KF_METRICS_REQ_MAX	8192	/* one HTTP request head, bytes; over it: 431 */
#define KF_METRICS_HEADERS_MAX	64	/* header lines of a request; over it: 431 */
#define KF_METRICS_REQ_MS	5000	/* a connection's whole life: request and answer */
#define KF_METRICS_CONNS_MAX	8	/* connections served at once; more wait in the backlog */
#define KF_METRICS_OUT_MAX	(16 * 1024)	/* the answer: headers and the text */
#define KF_METRICS_REPORT_RATE	5000	/* listener: metrics reports per second, all monitors */
#define KF_METRICS_REPORT_BURST	20000	/* ... and the burst */
#define KF_METRICS_FLUSH_MS	1000	/* a monitor sends its transfer counts at most this often */

#endif

/* ---- users in PostgreSQL, kf-pgauth (src/priv/kf_pgauth.c, lsn_pgauth.c, src/auth/pgask.c) ---- */
#ifndef KF_LIMITS_PG_H
#define KF_LIMITS_PG_H

#define KF_PG_CONNINFO_MAX	1024	/* pg_conninfo, bytes */
#define KF_PG_POOL_MAX		16	/* database connections kf-pgauth holds (pg_pool) */
#define KF_PG_BACKOFF_MIN_MS	250	/* first pause before a failed connection is tried again */
#define KF_PG_BACKOFF_MAX_MS	8000	/* the pause doubles up to this */
#define KF_PG_WAIT_SLACK_MS	2000	/* a verifier waits pg_timeout plus this for its verdict, then 421 */
#define KF_PGAUTH_NOFILE	64	/* RLIMIT_NOFILE of kf-pgauth */
#define KF_PGAUTH_AS		(512UL * 1024 * 1024)	/* RLIMIT_AS of kf-pgauth (libpq, OpenSSL, one argon2id) */
#define KF_PG_ROWS_MAX		100000	/* rows `keepftpd user list` reads from the database */
#define KF_PG_BANS_POLL_MS	2000	/* kf-pgauth reads new rows of keepftpd_bans this often (pg_bans) */
#define KF_PG_BANS_QUEUE	64	/* bans waiting in kf-pgauth to be written; more are dropped */
#define KF_PG_BANS_ROWS		200	/* rows of keepftpd_bans read by one poll */
#define KF_PG_BAN_MS_MAX	2000000000	/* the time left of a ban read from the table, ms */
#define KF_PG_BANS_PER_TICK	256	/* PGA_BAN_SEEN the listener takes per loop turn */

#endif
