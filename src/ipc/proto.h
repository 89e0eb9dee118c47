/*
 * proto.h - THE catalogue of privileged requests. Every message a
 * worker may send its monitor is listed here with its payload, the
 * phase it is allowed in and the check the monitor applies. Anything
 * else, or anything malformed, ends the session. See docs/PRIVSEP.md.
 * Runs in: monitor and workers (header only).
 */
#ifndef KF_PROTO_H
#define KF_PROTO_H

enum mon_type {
	/*
	 * MON_LOGIN: pre-login worker -> monitor.
	 * Payload: str user (0..KF_USER_MAX), str pass (0..KF_PASS_MAX),
	 * str host (0..CONF_HOST_MAX; empty: no HOST, or no vhost matched).
	 * Phase: pre-login only, while not logged in; at most
	 * max_login_failures failures (counted across REIN), then the
	 * session ends.
	 * Check: host must be empty or a well-formed name (conf_host_norm,
	 * already lowercase); it selects a vhost of the monitor's OWN
	 * configuration, and a name not configured there means the
	 * default host (logged). Then auth_check() against the monitor's
	 * own configuration; the vhost only changes an anonymous login's
	 * root. A string over its bound, a NUL, a bad host or trailing
	 * bytes end the session.
	 */
	MON_LOGIN = 1,
	/*
	 * MON_LOGIN_RESULT: monitor -> pre-login worker.
	 * Payload: u32 enum mon_login_result. On OK the worker exits
	 * without replying; the post-login worker sends 230. On
	 * FAILED_CLOSE the worker answers 530 and ends the session (the
	 * monitor ends it anyway).
	 */
	MON_LOGIN_RESULT = 2,
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
	 * Check: the sender's pid, from the kernel (SCM_CREDENTIALS),
	 * must be one of the listener's own monitors; the address that
	 * failed is that session's peer in the listener's own table, so
	 * even a subverted monitor can only report its own client. Any
	 * other type, a payload or an unknown pid is dropped and logged.
	 */
	LSN_LOGIN_FAILED = 64,
};

/*
 * The admin socket (admin_socket): SOCK_SEQPACKET, one request and its
 * answer per connection, from `keepftpd ban` to the listener. The
 * listener checks SO_PEERCRED (uid 0 or its own uid, and not one of its
 * own sessions) before reading. Every message is framed as above.
 */
enum adm_type {
	/* ADM_BAN_LIST: client -> listener. Payload: none. */
	ADM_BAN_LIST = 80,
	/*
	 * ADM_BAN_ADD: client -> listener. Payload: str addr (numeric
	 * IPv4 or IPv6, at most ADM_ADDR_MAX bytes), u32 seconds
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
	 */
	ADM_BANS = 83,
	/*
	 * ADM_DONE: listener -> client, the last message. Payload: u32
	 * status (0 ok, 1 refused), str text (at most ADM_TEXT_MAX).
	 */
	ADM_DONE = 84,
};

#define ADM_ADDR_MAX		64
#define ADM_TEXT_MAX		256
#define ADM_BANS_PER_MSG	100
#define ADM_BAN_SECONDS_MAX	31536000

enum mon_login_result {
	MON_LOGIN_FAILED = 0,
	MON_LOGIN_OK = 1,
	MON_LOGIN_FAILED_CLOSE = 2,
};

#endif
