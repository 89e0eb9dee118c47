/*
 * logrec.h - a log line as a structured record: what the listener and
 * the monitors send to kf-log, and what a worker sends to its monitor
 * after its text line. A record is a run of items: u8 kind, u8 key
 * length, the key, u16 value length (little-endian), the value. The
 * decoder checks every length against the datagram; the renderers
 * write the text line (byte for byte what stderr gets), one JSON
 * object, or one xferlog(5) line, each bounded by KF_LOG_OUT_MAX.
 * Runs in: all processes (encoding), the monitors (decoding a
 * worker's fields), kf-log (rendering).
 */
#ifndef KF_LOGREC_H
#define KF_LOGREC_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"

/* Item kinds. Meta items carry no key; fields carry one. */
enum {
	LR_PRIO = 'p', /* level: LOG_ERR .. LOG_DEBUG, digits */
	LR_TIME = 't', /* ms since the epoch, digits */
	LR_IDENT = 'i', /* "keepftpd" */
	LR_PID = 'd', /* the writing process, digits */
	LR_EVENT = 'e', /* event name: [a-z0-9_] */
	LR_MSG = 'm', /* the message as formatted, not escaped */
	LR_TEXT = 'x', /* the text line after "level: ", escaped */
	LR_ORIGIN = 'o', /* the forwarded line's origin (monitor) */
	LR_SESSION = 'S', /* session id, digits (monitor, listener) */
	LR_CLIENT = 'c', /* client address (monitor) */
	LR_PORT = 'P', /* client port, digits (monitor) */
	LR_USER = 'u', /* the logged-in user (monitor) */
	LR_ACCESS = 'a', /* a (anonymous) or r (real), after login */
	LR_STR = 's', /* a string field */
	LR_NUM = 'n', /* a number field: digits, maybe a leading '-' */
};

struct logrec_item {
	char kind;
	char key[KF_LOG_KEY_MAX + 1];
	const char *val; /* not NUL-terminated */
	size_t len;
};

struct logrec {
	int prio;
	int64_t time_ms;
	const char *ident, *event, *msg, *text, *origin, *session, *client,
	    *port, *user, *access, *pid;
	size_t ident_len, event_len, msg_len, text_len, origin_len, session_len,
	    client_len, port_len, user_len, access_len, pid_len;
	size_t nfields;
	struct logrec_item f[KF_LOG_FIELDS_MAX];
};

/* A record being built in buf (at most KF_LOG_REC_MAX bytes). */
struct logrec_buf {
	unsigned char b[KF_LOG_REC_MAX];
	size_t len;
};

/* Appends one item; -1 (nothing appended) when it does not fit. */
int logrec_put(struct logrec_buf *, char kind, const char *key, const char *val,
    size_t len);
int logrec_put_num(struct logrec_buf *, char kind, const char *key,
    long long v);
/* A field name keepftpd may use: 1..KF_LOG_KEY_MAX of [a-z0-9_]. */
int logrec_key_ok(const char *key, size_t n);
/* A name the JSON object holds itself (time, level, session, user...). */
int logrec_reserved(const char *key);
/* Decodes b[0..n) into r (pointing into b); 0, or -1 if malformed. */
int logrec_decode(const void *b, size_t n, struct logrec *r);
/* The field named key, or NULL. */
const struct logrec_item *logrec_field(const struct logrec *, const char *key);

/*
 * Renderers: out gets one line with its '\n', the length is returned
 * (0: nothing to write). outsz >= 64.
 */
size_t logrec_text(const struct logrec *, char *out, size_t outsz);
size_t logrec_json(const struct logrec *, char *out, size_t outsz);
/* Only a worker's "transfer" event makes an xferlog line. */
size_t logrec_xferlog(const struct logrec *, char *out, size_t outsz);
/*
 * The JSON string escaping of in[0..n) (no quotes): valid UTF-8 stays,
 * '"' '\' and controls are escaped, each byte of invalid UTF-8 is
 * \u00XX. Stops before out would pass outsz - 1; returns the bytes
 * written (NUL-terminated).
 */
size_t logrec_json_escape(const char *in, size_t n, char *out, size_t outsz);
/*
 * Length of the valid UTF-8 sequence at in[0..n) (RFC 3629), or 0;
 * and the characters no log line holds raw (controls, separators,
 * bidirectional overrides). Shared with log.c's escaping.
 */
size_t log_utf8_seq(const unsigned char *in, size_t n, uint32_t *cp);
int log_unsafe_char(uint32_t c);
/* A file name for xferlog: space, controls, '\' and invalid UTF-8 as \ooo. */
size_t logrec_xfer_name(const char *in, size_t n, char *out, size_t outsz);

#endif
