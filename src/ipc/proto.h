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

enum mon_login_result {
	MON_LOGIN_FAILED = 0,
	MON_LOGIN_OK = 1,
	MON_LOGIN_FAILED_CLOSE = 2,
};

#endif
