/*
 * proxyproto.h - the PROXY protocol header (HAProxy's
 * proxy-protocol.txt), versions 1 (text) and 2 (binary), as a load
 * balancer sends it first on a connection.
 * Runs in: pre-login worker. Pure.
 */
#ifndef KF_PROXYPROTO_H
#define KF_PROXYPROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define PROXY_V1_MAX	107 /* v1 line, CRLF included (the spec's bound) */
#define PROXY_V2_FIXED	16 /* signature, version/command, family, length */
#define PROXY_V2_SIGLEN 12

/*
 * A parsed header. src.ss_family AF_UNSPEC: use the connection's own
 * addresses (v2 LOCAL, a health check; v1 UNKNOWN; v2 family UNSPEC).
 */
struct proxy_hdr {
	int local; /* v2 LOCAL command */
	int version; /* 1 or 2 */
	struct sockaddr_storage src; /* the client */
	struct sockaddr_storage dst; /* the address it connected to */
};

/*
 * buf holds the first n bytes of the connection. > 0: a complete,
 * valid header of that many bytes (<= n; the bytes after it are the
 * session's); 0: a valid prefix, *need (> n) is how many bytes to have
 * before calling again (never more than the header, so a reader that
 * reads exactly *need - n more never takes a session byte); -EINVAL:
 * not a valid header (also: longer than max bytes).
 */
ssize_t proxy_parse(const uint8_t *buf, size_t n, size_t max,
    struct proxy_hdr *out, size_t *need);

#endif
