/*
 * ascii.h - RFC 959 TYPE A conversion between the local form (LF line
 * ends) and the network form (CRLF), streaming and pure: no syscalls,
 * no allocation, bounded by the caller's output capacity.
 *
 * To the network (RETR, listings): every LF that is not already
 * preceded by a CR in the input becomes CRLF; an existing CRLF is sent
 * as is (never CRCRLF); a CR on its own is sent as is.
 * From the network (STOR, APPE): CRLF becomes LF; a CR not followed by
 * LF is kept; a bare LF is kept.
 *
 * Both directions keep their state across calls, so a CR at the end of
 * one chunk and an LF at the start of the next are seen as one CRLF.
 * Each call returns the bytes written to out and sets *consumed to the
 * input bytes it took. Every consumed byte is fully accounted for in
 * out, except one CR that ascii_from_net holds back until it sees the
 * next byte: at end of stream, ascii_from_net_end writes it.
 * With inlen > 0 and outcap >= ASCII_OUT_MIN a call always consumes at
 * least one byte; with out of ASCII_TO_NET_MAX(inlen) or
 * ASCII_FROM_NET_MAX(inlen) bytes one call consumes all of the input.
 *
 * Runs in: post-login worker.
 */
#ifndef KF_ASCII_H
#define KF_ASCII_H

#include <stddef.h>

#define ASCII_OUT_MIN	      2
#define ASCII_TO_NET_MAX(n)   (2 * (n))
#define ASCII_FROM_NET_MAX(n) ((n) + 1)

/* One per transfer and direction; set up with ascii_init. */
struct ascii_state {
	unsigned char to_net_cr; /* last input byte to the net was CR */
	unsigned char from_net_cr; /* a CR from the net is held back */
};

void ascii_init(struct ascii_state *);
size_t ascii_to_net(struct ascii_state *, const char *in, size_t inlen,
    size_t *consumed, char *out, size_t outcap);
size_t ascii_from_net(struct ascii_state *, const char *in, size_t inlen,
    size_t *consumed, char *out, size_t outcap);
size_t ascii_from_net_end(struct ascii_state *, char *out, size_t outcap);

#endif
