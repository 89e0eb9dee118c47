/*
 * addr.h - socket address helpers.
 * Runs in: workers and listener. Pure.
 */
#ifndef KF_ADDR_H
#define KF_ADDR_H

#include <stdint.h>
#include <sys/socket.h>

#define ADDR_STR_MAX 64

int addr_same_host(const struct sockaddr_storage *,
    const struct sockaddr_storage *);
int addr_ipv4(const struct sockaddr_storage *, uint8_t out[4]);
uint16_t addr_port(const struct sockaddr_storage *);
void addr_set_port(struct sockaddr_storage *, uint16_t);
socklen_t addr_len(const struct sockaddr_storage *);
void addr_to_str(const struct sockaddr_storage *, char *, size_t);
int addr_family_proto(const struct sockaddr_storage *);

/* "a.b.c.d[/n], v6[/n], ..." (allow_from, deny_from); at most ADDR_LIST_MAX. */
#define ADDR_LIST_MAX 64
int addr_list_check(const char *list); /* 0 or -EINVAL */
int addr_list_match(const char *list, const struct sockaddr_storage *);
/* 1 match, 0 none, -EINVAL bad list */
/*
 * "a.b.c.d[/bits]" or "::ffff:a.b.c.d/96..128" as an IPv4 network: net
 * with its host bits cleared, bits 0..32. 0, or -EINVAL (IPv6 too).
 */
int addr_cidr_v4(const char *text, uint8_t net[4], unsigned *bits);
/* ss (IPv4, or IPv4-mapped IPv6) is in net/bits: 1, else 0. */
int addr_in_v4net(const struct sockaddr_storage *, const uint8_t net[4],
    unsigned bits);

#endif
