/*
 * proto.h - THE catalogue of privileged requests. Every message a
 * worker may send its monitor is listed here with its payload, the
 * phase it is allowed in and the check the monitor applies; the
 * monitor enforces sender, phase, "once" and size from one table,
 * mon_table in priv/mon_dispatch.c. Anything else, or anything
 * malformed, ends the session.
 *
 * The comment above each type is its one description: direction,
 * payload, phase, the receiver's check, why it is privileged, its
 * effect. docs/PRIVSEP.md shows them, generated from here by
 * scripts/check-privsep.py --write (meson test "privsep-catalogue"
 * fails when the two differ). A comment opens with "NAME: sender ->
 * receiver."; a type with no comment of its own shares the one above
 * it. Blank comment lines separate paragraphs.
 * Runs in: monitor and workers (header only).
 */
#ifndef KF_PROTO_H
#define KF_PROTO_H

/*
 * Requests to a session's monitor and its answers. The workers' requests
 * come on their own SOCK_SEQPACKET socketpair; the TLS relay's on its
 * own socketpair, never a worker's.
 */
enum mon_type {
	/*
	 * MON_LOGIN: pre-login worker -> monitor.
	 *
	 * Payload: str user (0..KF_USER_MAX), str pass (0..KF_PASS_MAX),
	 * str host (0..CONF_HOST_MAX; empty: no HOST, or no vhost matched),
	 * u32 tls flags (MON_TLS_PBSZ, MON_TLS_PROT_P: what PBSZ and PROT
	 * set before login, so that the post-login worker starts with
	 * them).
	 *
	 * Phase: pre-login only, while not logged in; at most
	 * max_login_failures failures (the monitor's own count, per
	 * connection, kept across REIN): a MON_LOGIN after that is fatal
	 * and is not verified. A request after a successful login is fatal.
	 *
	 * Check: host must be empty or a well-formed, lowercase host name
	 * (conf_host_norm: letters, digits, `.-:[]`), else fatal. It
	 * selects a vhost of the monitor's OWN configuration; a name not
	 * configured there means the default host and is logged (an honest
	 * worker sends only configured names). Then auth_check_vhost()
	 * against the monitor's own configuration (anonymous, inline
	 * quick-mode user, users file, PAM); the vhost only changes an
	 * anonymous login's root (its ANON_ROOT instead of anon_root). A
	 * good password is still a failure when the client's address is
	 * refused by the user's own allow_from / deny_from (users file;
	 * logged with the reason), and when the TLS policy forbids the
	 * login (control connection not TLS while tls_required_anon /
	 * tls_required_users or the user's `tls` flag asks for it). tls
	 * flags other than the two bits, or any bit while the control
	 * connection is not TLS, end the session. A string over its bound,
	 * a NUL, a bad host or trailing bytes end the session.
	 *
	 * Effect: a failure is reported to the listener (LSN_LOGIN_FAILED),
	 * counted, and answered after login_fail_delay_ms * 2^(n-1) for
	 * the n-th failure, at most KF_LOGIN_DELAY_MAX_MS, slept by the
	 * monitor so that a worker cannot skip it; the answer at
	 * max_login_failures is FAILED_CLOSE. A success first opens a PAM
	 * login's session (auth_session_open; a failure there is a failed
	 * login, reason `pam-session`), then tells the listener
	 * (LSN_LOGIN_STATE 1, for max_prelogin).
	 */
	MON_LOGIN = 1,
	/*
	 * MON_LOGIN_RESULT: monitor -> pre-login worker.
	 * Payload: u32 enum mon_login_result. On OK the worker exits
	 * without replying; the post-login worker sends 230. On
	 * FAILED_CLOSE the worker answers 530 and ends the session (the
	 * monitor ends it anyway). On UNAVAILABLE (users_backend =
	 * postgresql, the database down or slower than pg_timeout) the
	 * worker answers 421 Service not available and ends the session;
	 * not counted as a failure. On REFUSED_SESSIONS (421) and
	 * REFUSED_HOURS (530) the worker answers with the reason and ends
	 * the session: the monitor only takes its exit (phase EXITING).
	 */
	MON_LOGIN_RESULT = 2,
	/*
	 * MON_AUTH_TLS: pre-login worker -> monitor, on AUTH TLS / AUTH SSL.
	 *
	 * Payload: u32 host_done (0/1: HOST was accepted), str host
	 * (0..CONF_HOST_MAX: empty, or a vhost name of the monitor's own
	 * configuration, as conf_host_norm writes it; a name it does not
	 * hold is fatal). The next pre-login worker starts with that HOST
	 * state (RFC 7151 puts HOST before AUTH); REIN clears it.
	 *
	 * Phase: pre-login, not logged in, control connection not yet TLS,
	 * tls_cert configured, once granted (an answer 0 may be asked
	 * again); anything else (after login, a second time, TLS off,
	 * trailing bytes) ends the session.
	 *
	 * Why privileged: the relay that takes over the control socket is
	 * started by the relay spawner (which alone holds the private key)
	 * at the monitor's request, and the monitor holds that socket; a
	 * worker can neither fork (RLIMIT_NPROC 0, seccomp) nor hold the
	 * key.
	 *
	 * Effect: the monitor answers MON_AUTH_TLS_RESULT; the worker then
	 * drops what the client pipelined after AUTH (never executed),
	 * sends 234 and exits; the monitor waits for it, starts the TLS
	 * relay on the raw socket and a new pre-login worker on the relay's
	 * plain text end.
	 */
	MON_AUTH_TLS = 3,
	/*
	 * MON_AUTH_TLS_RESULT: monitor -> pre-login worker, the answer to
	 * MON_AUTH_TLS. Payload: u32 1, or 0 when no certificate is loaded
	 * (a failed reload; the worker answers 431).
	 */
	MON_AUTH_TLS_RESULT = 4,
	/*
	 * MON_TLS_SESSION: TLS relay -> monitor, on the relay's own
	 * socketpair (never a worker's).
	 *
	 * Payload: blob (u32 length + bytes, 1..KF_TLS_SESSION_MAX): the
	 * control connection's TLS 1.2 session, DER (i2d_SSL_SESSION).
	 *
	 * Phase: after the relay's handshake; the latest one is kept.
	 *
	 * Check: only the type, the bound and the exact end; the monitor
	 * never decodes it. The next post-login worker inherits it and
	 * decodes it (unprivileged) to let TLS 1.2 data connections resume
	 * by session id, as curl does (TLS 1.3 and ticket resumption need
	 * nothing from here). Anything else from the relay kills it and
	 * ends the session.
	 *
	 * Why through the monitor: the session lives in the relay, and the
	 * relay and the workers share nothing but the plain text stream.
	 */
	MON_TLS_SESSION = 5,
	/*
	 * MON_CCC: post-login worker -> monitor, on CCC (RFC 4217), after
	 * the worker has written its 200 reply. MON_CCC_RESULT: the answer.
	 *
	 * Payload: none. The answer: u32 1, or 0 when the relay did not
	 * confirm (the worker then ends the session).
	 *
	 * Phase: logged in, control connection under TLS (relay running),
	 * tls_ccc_enable, once per connection; anything else is fatal.
	 *
	 * Why privileged: the relay is the monitor's child; the worker has
	 * no channel to it but the plain text stream, which the relay must
	 * not parse.
	 *
	 * Effect: the monitor sends RELAY_CCC to the relay and waits up to
	 * KF_TLS_CCC_MS for RELAY_CCC_DONE (MON_TLS_SESSION may come before
	 * it); the relay sends what the worker wrote so far (the 200) under
	 * TLS, then close_notify, waits for the client's, and copies plain
	 * text from then on. The monitor answers MON_CCC_RESULT; the
	 * connection can never go back to TLS (AUTH after REIN: 534).
	 */
	MON_CCC = 6,
	MON_CCC_RESULT = 7,
	/*
	 * RELAY_CCC: monitor -> TLS relay, no payload (see MON_CCC).
	 * RELAY_CCC_DONE: relay -> monitor, no payload, only while the
	 * monitor waits for it; it ends the wait.
	 */
	RELAY_CCC = 8,
	RELAY_CCC_DONE = 9,
	/*
	 * MON_TLS_PEER: TLS relay -> monitor, on the relay's own
	 * socketpair, once, after a handshake in which the client's
	 * certificate verified against tls_client_ca.
	 *
	 * Payload: str cn (1..KF_USER_MAX): the subject's common name,
	 * UTF-8, no NUL.
	 *
	 * Check: bound, no NUL, well-formed users-file name (else ignored
	 * and logged), once whatever it held (a second one is fatal). Used
	 * only with tls_client_cert_login: a MON_LOGIN for exactly that
	 * virtual user, while the control connection is still TLS, gets the
	 * user's identity without a password check (auth_identity_by_cert).
	 * This trusts the relay: it did the handshake that proved the
	 * client holds the certificate's key (docs/SECURITY.md).
	 */
	MON_TLS_PEER = 10,
	/*
	 * MON_STATUS: post-login worker -> monitor, for `keepftpd who`: at
	 * the start and the end of a transfer or listing, during one at
	 * most once per KF_WHO_REPORT_MS, and after other commands at most
	 * once per KF_WHO_REPORT_MS. No answer.
	 *
	 * Payload: str verb (0..KF_WHO_VERB_MAX: the running command's
	 * name from the worker's own command table, A-Z and 0-9 only;
	 * empty: idle), str path (0..KF_WHO_PATH_MAX: the transfer's
	 * virtual path, cut by the worker; any byte but NUL), u32 bytes
	 * high, u32 bytes low (moved so far). No session id, pid or user:
	 * the monitor knows whose session it serves.
	 *
	 * Phase: after login (a post-login worker), any number of times.
	 *
	 * Check: the bounds, the verb's characters, the exact end, else
	 * fatal. Then a token bucket (KF_WHO_RATE a second, burst
	 * KF_WHO_BURST): a report over it is dropped and counted, never
	 * logged one by one (one line at the end of the session).
	 *
	 * Why through the monitor: only the monitor may talk to the
	 * listener (workers close the report channel), and it stamps the
	 * report with its own session.
	 *
	 * Effect: the monitor keeps the latest (its arrival is the
	 * session's last activity) and forwards it to the listener
	 * (LSN_STATUS) at most once per KF_WHO_REPORT_MS on average
	 * (burst KF_WHO_FWD_BURST; a newer one waits for the next slot).
	 */
	MON_STATUS = 30,
	/*
	 * MON_XFER_DONE: post-login worker -> monitor, after each file
	 * transfer (RETR, STOR, APPE, STOU), only when metrics_listen is
	 * set. No answer.
	 *
	 * Payload: u32 direction (0 download, 1 upload), u32 result (0
	 * failed, 1 ok), u32 bytes high, u32 bytes low: what the transfer
	 * moved.
	 *
	 * Phase: logged in (MPH_SESSION), any number of times.
	 *
	 * Check: direction and result 0 or 1, exact end; else fatal. The
	 * monitor only adds the counts to its session's tally (saturating),
	 * which it sends to the listener (LSN_METRICS_TALLY); the numbers
	 * are the worker's word: a subverted worker can inflate its own
	 * session's transfer counters, nothing else.
	 */
	MON_XFER_DONE = 40,
	/*
	 * MON_TLS_HANDSHAKE: TLS relay -> monitor, on the relay's own
	 * socketpair, once: the control connection's handshake ended.
	 * Payload: u32 result (0 failed or timed out, 1 ok).
	 *
	 * Check: 0 or 1, exact end, the first one only (a second one is
	 * ignored); else fatal. Counted in the session's tally for
	 * metrics_listen.
	 */
	MON_TLS_HANDSHAKE = 41,
	/*
	 * MON_UPLOAD_HOOK: post-login worker -> monitor, after a completed
	 * upload (upload_hook_mode after: once the file has its name; check:
	 * a STOR's file before it has one), with one descriptor: the
	 * uploaded file, open for reading (check: the unnamed or hidden
	 * temporary file).
	 *
	 * Payload: str path (1..KF_PATH_MAX): the file as the client sees
	 * it, absolute in the session's root.
	 *
	 * Phase: after login only; upload_hook configured. Without a hook,
	 * before login, without exactly one descriptor, oversized, a path
	 * that is not absolute or holds an empty, `.` or `..` component,
	 * or trailing bytes: the session ends. One at a time: the monitor
	 * answers (or, in after mode, finishes) one before it reads the
	 * next, so a session never has two hooks.
	 *
	 * Why privileged: the hook runs as the user (or upload_hook_user)
	 * in a process the worker cannot make (RLIMIT_NPROC 0, seccomp: no
	 * fork, no exec), outside the session's root and sandbox. The
	 * worker chooses only the path; the monitor adds what it must not
	 * choose (user, uid, gid, root, session number, client address) and
	 * asks the hook spawner (kf-spawn-hook, SPAWN_HOOK) with the
	 * descriptor. The program, its argv and environment are fixed by
	 * the configuration; the spawner checks that the path the hook is
	 * given names the same file as the descriptor (docs/SECURITY.md).
	 *
	 * Effect: after mode: no answer (the client has its 226 already).
	 * check mode: MON_UPLOAD_HOOK_RESULT, u32 1 when the hook exited 0
	 * (the worker then gives the file its name), 0 for anything else
	 * (another exit status, a timeout, no slot, no spawner): the worker
	 * answers 550 Upload rejected and drops the data.
	 */
	MON_UPLOAD_HOOK = 50,
	MON_UPLOAD_HOOK_RESULT = 51,
	/*
	 * MON_PROXY: pre-login worker -> monitor, on a `proxy` listener
	 * only, as its first request: the PROXY protocol header the worker
	 * read (src/net/proxyproto.c) before any reply was sent.
	 *
	 * Payload: u32 local (1: LOCAL, UNKNOWN or family UNSPEC, the
	 * connection's own addresses; 0: a client), u32 family (4 or 6; 0
	 * with local), blob src (4 or 16 bytes; empty with local), u32 src
	 * port (1..65535; 0 with local).
	 *
	 * Check: exact length, family and address size agree, the address
	 * is not all zeros, the port is 1..65535; only while the monitor expects a
	 * header (a second one is fatal), and until it has come every other
	 * request of the worker is fatal. Privileged because the address
	 * becomes the session's client address for every check: the
	 * monitor asks the listener (LSN_PROXY) and waits at most
	 * KF_PROXY_VERDICT_MS for its verdict.
	 *
	 * Effect: admitted, the address and port replace the session's
	 * peer (log prefix and the JSON log's client port, users' allow_from, the next workers' PORT/EPRT and
	 * PASV/EPSV checks) and the monitor answers MON_PROXY_RESULT 1;
	 * refused, the monitor writes the listener's 421 text and ends the
	 * session.
	 */
	MON_PROXY = 60,
	/* MON_PROXY_RESULT: monitor -> pre-login worker. Payload: u32 1. */
	MON_PROXY_RESULT = 61,
	/*
	 * MON_ANON_OWN: post-login worker -> monitor, with one descriptor:
	 * a file an anonymous session uploaded into an anon_upload_dir,
	 * once it is complete and has its name (a STOR's temporary file
	 * placed, a STOU's, a file an APPE made), opened afresh by that
	 * name. MON_ANON_OWN_RESULT: the answer.
	 *
	 * Payload: none; the answer: u32 1 (handed over) or 0 (a system
	 * call failed, logged: the worker removes the file if it can and
	 * answers 451).
	 *
	 * Phase: after login only; the session anonymous, anon_upload_owner
	 * set and found by the listener; exactly one descriptor; at most
	 * KF_ANON_OWN_RATE a second (burst KF_ANON_OWN_BURST). Anything
	 * else ends the session.
	 *
	 * Check (fatal when it fails, the monitor trusts nothing the worker
	 * says): fstat: a regular file, owned by the session's uid (the
	 * anonymous account), one link, no set-id or sticky bit; its one
	 * name (the kernel's, /proc/self/fd) lies beneath one of the
	 * anon_upload_dirs of the session's root, each opened by the
	 * monitor component by component without following symlinks, and
	 * names that very inode (fstatat of the name: same device and
	 * inode). A file already given away is no longer the anonymous
	 * account's: asking twice for one upload is fatal.
	 *
	 * Why privileged: giving a file to another account needs
	 * CAP_CHOWN, which no worker ever has; the monitor keeps it after
	 * login only for an anonymous session with anon_upload_owner
	 * (docs/SECURITY.md).
	 *
	 * Effect: fchown to root first (the worker can no longer change
	 * it), fchmod to anon_upload_mode (as its owner: no CAP_FOWNER),
	 * the link count and the name checked again (a race: the file is
	 * left root's, mode 0, and the session ends), then fchown to
	 * anon_upload_owner's uid and gid.
	 */
	MON_ANON_OWN = 150,
	MON_ANON_OWN_RESULT = 151,
};

/*
 * The report channel: one SOCK_DGRAM socketpair made by the listener
 * before any fork. The listener keeps one end (SO_PASSCRED on), every
 * monitor inherits the other; workers close it first thing
 * (worker_setup), so a worker can neither send nor forge a report.
 */
enum lsn_type {
	/*
	 * LSN_LOGIN_FAILED: monitor -> listener, after each failed
	 * login. Payload: none (an empty payload, exactly).
	 *
	 * Check: the sender's pid, from the kernel (SCM_CREDENTIALS),
	 * must be one of the listener's own monitors; the address that
	 * failed is that session's peer in the listener's own table, never
	 * from the message, so even a subverted monitor can only report its
	 * own client. Any other type, a payload, a truncated datagram or an
	 * unknown pid is dropped and logged. Reports are read before exited
	 * monitors are reaped, so a monitor's last report is not lost.
	 */
	LSN_LOGIN_FAILED = 64,
	/*
	 * LSN_LOGIN_STATE: monitor -> listener, at each login ok (1) and
	 * at each REIN back to pre-login (0), for max_prelogin, and for
	 * `keepftpd who` the session's row starts again (the user, idle):
	 * one datagram per login, not a second LSN_STATUS. Payload: u32
	 * state (0 or 1), str user (0..KF_USER_MAX: the monitor's own
	 * identity's name; empty exactly when state is 0), exactly.
	 *
	 * Check: as LSN_LOGIN_FAILED, by the sender's pid; another value,
	 * a trailing byte or an unknown pid is dropped and logged. It
	 * changes only that session's own slot, and a subverted monitor can
	 * at worst make its own session count as logged in (it then
	 * escapes only the pre-login bound, never max_clients or
	 * max_per_ip, and name its own user in `keepftpd who`).
	 */
	LSN_LOGIN_STATE = 65,
	/*
	 * LSN_STATUS: monitor -> listener, for `keepftpd who`: the
	 * worker's latest MON_STATUS (a login and a REIN start the row
	 * through LSN_LOGIN_STATE), at most once per KF_WHO_REPORT_MS on average
	 * (burst KF_WHO_FWD_BURST).
	 *
	 * Payload: str user (0..KF_USER_MAX: the monitor's own identity's
	 * name; empty: not logged in), str verb (0..KF_WHO_VERB_MAX, as in
	 * MON_STATUS), str path (0..KF_WHO_PATH_MAX), u32 bytes high, u32
	 * bytes low, u32 age_ms (0..KF_WHO_AGE_MAX_MS: how long ago the
	 * monitor received that state).
	 *
	 * Check: as LSN_LOGIN_FAILED, by the sender's pid; a bound, a bad
	 * verb character, a NUL or a trailing byte drops it (logged,
	 * rate-limited). The payload names no session: it changes only the
	 * row of the sender's own slot, so a monitor (and its worker,
	 * which cannot send here at all) can only describe its own session.
	 * The listener computes the rate from successive reports.
	 */
	LSN_STATUS = 75,
	/*
	 * LSN_METRICS_VERIFY: monitor -> listener, only when
	 * metrics_listen is set: a password verification starts (a login
	 * that is neither anonymous nor by certificate). Payload: none.
	 *
	 * Check: the sender's pid as above; the listener marks that
	 * session's slot as verifying (the gauge of verifications
	 * waiting), until the session's LSN_METRICS_LOGIN or its end.
	 * Metrics reports are taken at KF_METRICS_REPORT_RATE (burst
	 * KF_METRICS_REPORT_BURST); the rest, and malformed ones, are
	 * counted as dropped (keepftpd_reports_dropped_total), not logged.
	 */
	LSN_METRICS_VERIFY = 80,
	/*
	 * LSN_METRICS_LOGIN: monitor -> listener, only when metrics_listen
	 * is set, after each login attempt. Payload: u32 result (0 failed,
	 * 1 ok), u32 method (enum mx_method, metrics/metrics.h).
	 *
	 * Check: as LSN_METRICS_VERIFY; values in range, exact end. It
	 * adds one login and ends the slot's verification.
	 */
	LSN_METRICS_LOGIN = 81,
	/*
	 * LSN_METRICS_TALLY: monitor -> listener, only when metrics_listen
	 * is set: the session's counts since its last tally, sent at most
	 * every KF_METRICS_FLUSH_MS while transfers run and once at the
	 * session's end. Payload: u32 transfers[download, upload][failed,
	 * ok] (4), u64 bytes[download, upload] (each as u32 high, u32
	 * low), u32 TLS handshakes[failed, ok].
	 *
	 * Check: as LSN_METRICS_VERIFY; exact end. The listener adds them
	 * to its counters page. A subverted monitor can only make the
	 * metrics wrong.
	 */
	LSN_METRICS_TALLY = 82,
	/*
	 * LSN_LOG_FILES: listener -> kf-log, on kf-log's own
	 * SOCK_SEQPACKET channel (not the report channel), at its start,
	 * on SIGUSR1 and on SIGHUP. Payload: struct logd_files (u32 json,
	 * u32 has_log, u32 has_xfer), with 1 to 3 descriptors: the records
	 * socket (the read end of the SOCK_DGRAM socketpair whose send end
	 * the listener and every monitor hold), then log_file and
	 * xferlog_file as flagged, opened by the listener (O_APPEND,
	 * O_NOFOLLOW, a regular file, created 0640).
	 *
	 * Check: kf-log takes exactly this type, payload size and a
	 * descriptor count matching the flags, else ends (the listener
	 * starts it again). The records on the socket are struct logrec
	 * items (src/common/logrec.h), bounded and decoded with every
	 * length checked; a record that does not decode is dropped.
	 * Workers never hold the socket: their lines go through their
	 * monitor, which stamps session, client and user itself.
	 */
	LSN_LOG_FILES = 70,
	/*
	 * LSN_PROXY: monitor -> listener, once per session on a `proxy`
	 * listener, after MON_PROXY. Payload: u32 local (1: keep the
	 * connection's address), u32 family (4 or 6; 0 with local), blob
	 * address (4 or 16 bytes; empty with local), u32 the client's
	 * source port (1..65535; 0 with local), exactly.
	 *
	 * Check: by the sender's pid, a session of the listener's own that
	 * still waits for its header (else dropped and logged); the sizes,
	 * the family and the port as above. The listener applies
	 * deny_from/allow_from, bans, max_conn_rate and max_per_ip to that
	 * address, counts the session under it from then on (address and
	 * port become the slot's peer: `keepftpd who` rows, the listener's
	 * log records), and answers with a queued signal (LSN_PROXY_SIGNAL, value: enum
	 * lsn_proxy_verdict) to that pid; the monitor takes it only from its
	 * parent. A subverted monitor (root already) could at most choose
	 * its own session's address.
	 */
	LSN_PROXY = 90,
	/*
	 * LSN_SESSION_RESERVE: monitor -> listener, at a login whose
	 * identity has a session cap (users-file max_sessions=, or
	 * anon_max_sessions), after the password and every other check,
	 * before the monitor says the login is good. Payload: str user
	 * (1..KF_USER_MAX, the monitor's own identity name), u32 anonymous
	 * (0/1), u32 max (1..KF_USER_SESSIONS_MAX), u32 seq (the monitor's
	 * own count of these requests), exactly.
	 *
	 * Check: by the sender's pid, a session of the listener's own not
	 * waiting for its PROXY header; else dropped and logged. The
	 * listener counts the other sessions holding a reservation for the
	 * same user and kind; below max, this session holds one from now
	 * on (until its LSN_LOGIN_STATE 0 or its end), else not. The
	 * answer is a queued LSN_PROXY_SIGNAL to that pid, value seq * 2 +
	 * 1 when reserved, seq * 2 when over the cap. The listener reads
	 * its reports one at a time, so two logins at once cannot both
	 * take the last place. A subverted monitor can only reserve (or
	 * not) for its own session.
	 */
	LSN_SESSION_RESERVE = 170,
};

/* LSN_PROXY's verdict, the value of the LSN_PROXY_SIGNAL signal. */
enum lsn_proxy_verdict {
	LSN_PROXY_ADMIT = 0,
	LSN_PROXY_DENIED = 1, /* deny_from, allow_from */
	LSN_PROXY_BANNED = 2,
	LSN_PROXY_RATE = 3, /* max_conn_rate */
	LSN_PROXY_PER_IP = 4, /* max_per_ip */
};
/* The listener's verdict to a monitor (a real-time signal, queued). */
#define LSN_PROXY_SIGNAL (SIGRTMIN + 2)

/*
 * The admin socket (admin_socket): SOCK_SEQPACKET, one request and its
 * answer per connection, from `keepftpd ban`, `who` and `kick` to the
 * listener. The listener checks SO_PEERCRED (uid 0 or its own uid, and
 * neither the peer pid nor its parent is a session monitor) before
 * reading, then exact consumption. It waits at most 1 s for the request
 * and 1 s per answer message, KF_ADMIN_ANSWER_MS for a whole answer.
 * Every message is framed as above.
 */
enum adm_type {
	/* ADM_BAN_LIST: client -> listener. Payload: none. */
	ADM_BAN_LIST = 80,
	/*
	 * ADM_BAN_ADD: client -> listener. Payload: str addr (numeric
	 * IPv4 or IPv6, inet_pton, at most ADM_ADDR_MAX bytes), u32 seconds
	 * (1..ADM_BAN_SECONDS_MAX; 0: ban_seconds).
	 */
	ADM_BAN_ADD = 81,
	/*
	 * ADM_BAN_CLEAR: client -> listener. Payload: str addr (as
	 * above), or the empty string: every ban.
	 */
	ADM_BAN_CLEAR = 82,
	/*
	 * ADM_BANS: listener -> client, answer to ADM_BAN_LIST, before
	 * ADM_DONE; as many as the bans need. Payload: u32 n
	 * (1..ADM_BANS_PER_MSG), then n times: str addr, u32 seconds left.
	 * The client reads it as strictly.
	 */
	ADM_BANS = 83,
	/*
	 * ADM_DONE: listener -> client, the last message. Payload: u32
	 * status (0 ok, 1 refused), str text (at most ADM_TEXT_MAX).
	 */
	ADM_DONE = 84,
	/*
	 * ADM_UPGRADE: client -> listener (`keepftpd upgrade`). Payload:
	 * none. The listener starts the new binary and answers with one
	 * ADM_DONE when it has taken over (status 0) or failed (status 1,
	 * the old listener still accepting); up to KF_UPGRADE_READY_MS
	 * plus the hand-over.
	 */
	ADM_UPGRADE = 85,
	/*
	 * ADM_WHO: client -> listener (`keepftpd who`). Payload: none.
	 * The answer: ADM_WHO_ROWS as many as the sessions need, then
	 * ADM_DONE; the whole answer within KF_ADMIN_ANSWER_MS (cut, and
	 * said in ADM_DONE, after that).
	 */
	ADM_WHO = 103,
	/*
	 * ADM_WHO_ROWS: listener -> client. Payload: u32 n
	 * (1..KF_WHO_PER_MSG), then n rows: u32 id high, u32 id low, u32
	 * pid, str user (0..KF_USER_MAX, empty before login), str addr
	 * (ADM_ADDR_MAX), u32 port, u32 connected (seconds since the
	 * epoch, high), u32 (low), u32 idle seconds, str state
	 * (0..KF_WHO_VERB_MAX: "" idle, "LOGIN" before login, else the
	 * running command), str path (0..KF_WHO_PATH_MAX), u32 bytes high,
	 * u32 bytes low, u32 rate high, u32 rate low (bytes a second). User
	 * and path are raw bytes the client chose: the reader escapes them.
	 */
	ADM_WHO_ROWS = 104,
	/*
	 * ADM_KICK: client -> listener (`keepftpd kick`). Payload: u32
	 * what (ADM_KICK_ID, ADM_KICK_USER, ADM_KICK_ADDR), u32 id high,
	 * u32 id low, str text (the user name, 1..KF_USER_MAX, or the
	 * numeric address; empty for an id). Every matching session's
	 * monitor gets SIGUSR2: its worker answers 421 (a running transfer
	 * 426 first) and the session ends. ADM_DONE says how many.
	 */
	ADM_KICK = 105,
};

/*
 * The hand-over (src/priv/upgrade.c) on a SOCK_SEQPACKET socketpair
 * between the running listener ("old") and the binary it executed
 * ("new"), which got its end at fd 3 with KEEPFTPD_UPGRADE_FD=3. Framed
 * as above, descriptors with SCM_RIGHTS (at most KF_UPGRADE_FDS_MAX per
 * message). Each side reads every message to the last byte; anything
 * else fails the upgrade, which leaves the old listener accepting.
 */
enum upg_type {
	/*
	 * UPG_READY: new -> old, once its configuration is read and its
	 * spawners run. Payload: u32 pid.
	 */
	UPG_READY = 96,
	/*
	 * UPG_SOCKETS: old -> new. Payload: u32 n listening sockets
	 * (1..KF_LISTEN_MAX), n times u32 marks (0 plain, 1 implicit, 2
	 * proxy; anything else refused), u32 passed (1: they came from the
	 * service manager, and are all kept with their marks, plus those of
	 * the new listen lines naming their addresses; 0: the new listener
	 * keeps those its listen lines still name, with the lines' marks,
	 * binds the new lines and closes the rest), u32 has_admin, str
	 * admin_path. Descriptors: the n sockets, the report channel's read
	 * end, then the admin socket when has_admin.
	 */
	UPG_SOCKETS = 97,
	/*
	 * UPG_SESSIONS: old -> new, as many as the sessions need. Payload:
	 * u32 n (1..KF_UPGRADE_SESSIONS_MSG), n times: u32 pid, u32
	 * logged_in, blob peer (a struct sockaddr_storage). Descriptors:
	 * the n sessions' pidfds, in order.
	 */
	UPG_SESSIONS = 98,
	/*
	 * UPG_BANS: old -> new, as many as the address table needs.
	 * Payload: u32 n (1..KF_UPGRADE_BANS_MSG), n times: u32 family, blob
	 * address (16 bytes), u32 banned, u32 rate_n, u32 fail_n, then
	 * rate_start, fail_start, ban_until (ms, CLOCK_MONOTONIC) each as
	 * two u32 (high, low).
	 */
	UPG_BANS = 99,
	/*
	 * UPG_END: old -> new. Payload: u32 sessions, u32 entries (the
	 * totals sent, checked by the new listener).
	 */
	UPG_END = 100,
	/*
	 * UPG_TAKEN: new -> old: it accepts from now on. Payload: none.
	 * UPG_GO: old -> new: the old listener has stopped accepting and
	 * told the service manager the new main pid. Payload: none.
	 */
	UPG_TAKEN = 101,
	UPG_GO = 102,
};

/*
 * kf-pgauth's channel (users_backend = postgresql). One SOCK_SEQPACKET
 * socketpair per server, made by the listener: kf-pgauth holds one end,
 * the listener and every monitor (through the verifier child it forks
 * for a login) the other. Nothing is ever written on kf-pgauth's end
 * of it, so a monitor reading its own end reads nothing: each request
 * carries its own fresh answer socket, and the verdict goes there
 * alone. One session can never read another's answer, nor see its
 * request (a request queued on kf-pgauth's end is readable only there).
 */
enum pga_type {
	/*
	 * PGA_LOGIN: verifier child (of a monitor) -> kf-pgauth.
	 *
	 * Payload: struct pga_req (src/auth/pgask.h; fixed size, exactly): u32 kind (PGA_K_LOGIN,
	 * or PGA_K_LOOKUP for tls_client_cert_login: no password), the user
	 * (NUL-terminated in KF_USER_MAX + 1 bytes), the password
	 * (NUL-terminated in KF_PASS_MAX + 1 bytes). With it, one
	 * descriptor: one end of a fresh SOCK_SEQPACKET socketpair, where
	 * the verdict goes.
	 *
	 * Check: the exact size, one descriptor, a kind it knows, both
	 * strings terminated and the name a valid users-file name; else the
	 * answer is PGA_R_BAD (a malformed request from a root process is
	 * still only a failed login). kf-pgauth takes a request only while
	 * a database connection is free (the rest wait in the socket), or
	 * at once with PGA_R_DOWN while none is open.
	 *
	 * Why a process of its own: libpq, OpenSSL's client side and the
	 * database's answers stay out of the privileged image; kf-pgauth
	 * runs as service_user in the empty root with its own seccomp list,
	 * and the hashes it reads never leave it.
	 *
	 * Effect: SELECT of the user's row (PQexecParams-style, $1 = name),
	 * the password verified against its hash (password_verify, as for
	 * the users file; an unknown name spends the dummy verification),
	 * then PGA_VERDICT on the answer socket, which is closed.
	 */
	PGA_LOGIN = 111,
	/*
	 * PGA_VERDICT: kf-pgauth -> verifier child, on the request's own
	 * answer socket. Payload: u32 result (enum pga_result), str line
	 * (0..KF_USERS_LINE_MAX): with PGA_R_OK, the user's users-file line
	 * with the hash replaced by a placeholder (the verifier parses it
	 * with users_parse_line); else empty.
	 */
	PGA_VERDICT = 112,
	/*
	 * PGU_REQ: `keepftpd user` -> `keepftpd-pgauth --pgusers` (its
	 * child, on a socketpair at descriptor 3; both run as the
	 * administrator who typed the command). Payload: u32 op (enum
	 * pgu_op), u32 timeout (seconds), str conninfo
	 * (0..KF_PG_CONNINFO_MAX), str name (0..KF_USER_MAX), str line
	 * (0..KF_USERS_LINE_MAX: the users-file line to store, for
	 * PGU_OP_ADD and PGU_OP_PUT). The answer: PGU_ROW per user
	 * (PGU_OP_GET, PGU_OP_LIST; str line, the row as a users-file
	 * line), then PGU_END (u32 status enum pgu_status, str message).
	 */
	PGU_REQ = 113,
	PGU_ROW = 114,
	PGU_END = 115,
	/*
	 * PGA_BAN_ADD: listener -> kf-pgauth (pg_bans = yes), on a second
	 * socketpair that only the listener holds (monitors close it at
	 * fork). Payload: str addr (1..BANTAB_ADDR_STR, as
	 * bantab_addr_to_str writes it), u32 seconds (1..ban_seconds).
	 * Sent when a ban starts here (ban_failures). kf-pgauth INSERTs it
	 * into keepftpd_bans (addr, until = now() + seconds, parameters
	 * only) when a connection is free; at most KF_PG_BANS_QUEUE wait,
	 * more are dropped and counted in its log.
	 *
	 * PGA_BAN_SEEN: kf-pgauth -> listener, on that socketpair. Payload:
	 * str addr (1..BANTAB_ADDR_STR), u32 ms (1..KF_PG_BAN_MS_MAX): a ban
	 * of keepftpd_bans (any node's, this one's too) with that much time
	 * left, found by polling the table every KF_PG_BANS_POLL_MS.
	 *
	 * Check (listener): the type, the bounds, the exact end, an address
	 * bantab_addr_parse takes; else the message is dropped and logged.
	 * The ban is applied for min(ms, ban_seconds): a node never bans
	 * longer than its own configuration says. At most
	 * KF_PG_BANS_PER_TICK a loop turn.
	 *
	 * Why through kf-pgauth: the listener holds no database connection
	 * (no libpq in its image) and must not block on one.
	 */
	PGA_BAN_ADD = 116,
	PGA_BAN_SEEN = 117,
};

/* enum pga_kind, pga_result: src/auth/pgask.h; pgu_op, pgu_status: src/auth/users_pgcli.h */

#define ADM_ADDR_MAX	    64
#define ADM_TEXT_MAX	    256
#define ADM_BANS_PER_MSG    100
#define ADM_BAN_SECONDS_MAX 31536000

/* ADM_KICK what */
#define ADM_KICK_ID   1u
#define ADM_KICK_USER 2u
#define ADM_KICK_ADDR 3u

/* MON_LOGIN tls flags. */
#define MON_TLS_PBSZ   0x1u
#define MON_TLS_PROT_P 0x2u

enum mon_login_result {
	MON_LOGIN_FAILED = 0,
	MON_LOGIN_OK = 1,
	MON_LOGIN_FAILED_CLOSE = 2,
	/*
	 * users_backend = postgresql: the database is down or did not
	 * answer within pg_timeout; the worker answers 421 Service not
	 * available and ends the session. Not a failed login (no delay,
	 * not counted for bans).
	 */
	MON_LOGIN_UNAVAILABLE = 110,
	/* per-user limits: the worker answers and ends the session */
	MON_LOGIN_REFUSED_SESSIONS = 171, /* 421: max_sessions reached */
	MON_LOGIN_REFUSED_HOURS = 172, /* 530: outside login_hours */
};

#endif
