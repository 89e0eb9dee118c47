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

#endif
