/*
 * proxyread.h - reading a PROXY protocol header (proxyproto.h) off a
 * socket: exactly the header's bytes, never one of the connection's
 * own, within KF_PROXY_HDR_MAX bytes and a deadline. Shared by the
 * pre-login worker (the control connection on a `proxy` listener) and
 * the post-login worker (passive data connections with pasv_proxy).
 * Runs in: pre-login worker, post-login worker.
 */
#ifndef KF_PROXYREAD_H
#define KF_PROXYREAD_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "proxyproto.h"

/*
 * Reads fd (blocking or not) until the parser has a whole header or
 * deadline_ms (sys_now_ms()'s clock) passes. *have: the bytes read.
 * stop (may be NULL): a flag set by a signal handler that ends the
 * wait. 0 and *h; -ETIMEDOUT (or -EINTR when *stop); -ECONNRESET: the
 * peer closed first (or the read failed); -EINVAL: not a valid header,
 * or longer than KF_PROXY_HDR_MAX.
 */
int proxy_read(int fd, int64_t deadline_ms, const volatile sig_atomic_t *stop,
    struct proxy_hdr *h, size_t *have);

#endif
