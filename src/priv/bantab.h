/*
 * bantab.h - the listener's table of client addresses: new connections
 * per window (max_conn_rate), failed logins per window and bans
 * (ban_failures, ban_window, ban_seconds, `keepftpd ban add`).
 * A fixed number of entries (KF_BANTAB_MAX), found through a hash keyed
 * with a per-process random key (libsodium's SipHash, crypto_shorthash:
 * a client cannot pick addresses that collide), evicted by recency:
 * the least recently seen address without a ban goes first, a ban only
 * when every entry holds one. Every operation is O(1) but the sweep
 * and the listing, which walk the bans. Pure: no logging, no clock of
 * its own (the caller passes "now" in ms), no system calls.
 * Runs in: listener.
 */
#ifndef KF_BANTAB_H
#define KF_BANTAB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define BANTAB_KEYBYTES 16 /* crypto_shorthash_KEYBYTES */
#define BANTAB_ADDR_STR 46 /* INET6_ADDRSTRLEN */

/* An IPv4 address (v4-mapped IPv6 counts as IPv4) or an IPv6 address. */
struct bantab_addr {
	uint8_t family; /* 4 or 6 */
	uint8_t a[16]; /* IPv4: the first 4 bytes, the rest 0 */
};

struct bantab_policy {
	unsigned rate_max; /* connections per window; 0: off */
	int64_t rate_window_ms;
	unsigned ban_failures; /* failures per window; 0: off */
	int64_t ban_window_ms;
	int64_t ban_ms; /* length of a ban */
};

enum bantab_verdict {
	BANTAB_PASS = 0,
	BANTAB_BANNED,
	BANTAB_RATE,
};

struct bantab_ban {
	struct bantab_addr addr;
	int64_t until_ms;
};

/* One entry as it is handed to a new listener (`keepftpd upgrade`). */
struct bantab_rec {
	struct bantab_addr addr;
	int banned;
	uint32_t rate_n, fail_n;
	int64_t rate_start, fail_start, ban_until; /* ms, CLOCK_MONOTONIC */
};

struct bantab;

/* cap entries (1..KF_BANTAB_MAX); key: BANTAB_KEYBYTES random bytes. */
struct bantab *bantab_new(size_t cap, const unsigned char *key);
void bantab_free(struct bantab *);

/* A new connection from addr at now: banned, over the rate, or pass. */
enum bantab_verdict bantab_connect(struct bantab *,
    const struct bantab_policy *, const struct bantab_addr *, int64_t now);
/* A failed login from addr; 1 when it starts a ban, else 0. */
int bantab_fail(struct bantab *, const struct bantab_policy *,
    const struct bantab_addr *, int64_t now);
/* Bans addr until now + ms (replacing a ban it has). */
void bantab_ban(struct bantab *, const struct bantab_addr *, int64_t now,
    int64_t ms);
/* 1 when addr had a ban (now lifted), 0 when not. */
int bantab_unban(struct bantab *, const struct bantab_addr *);
/* 1 and *until when addr is banned at now, else 0. */
int bantab_until(const struct bantab *, const struct bantab_addr *, int64_t now,
    int64_t *until);
/* Lifts every ban; returns how many there were. */
size_t bantab_unban_all(struct bantab *);
/* Ends bans whose time is over, calling fn for each; returns the count. */
size_t bantab_expire(struct bantab *, int64_t now,
    void (*fn)(const struct bantab_addr *, void *), void *arg);
/* At most max current bans, most recently seen first; returns the count. */
size_t bantab_list(const struct bantab *, int64_t now, struct bantab_ban *out,
    size_t max);
size_t bantab_count(const struct bantab *); /* entries in use */
size_t bantab_nbanned(const struct bantab *);
/* Bans pushed out because every entry held one (the table was full). */
unsigned long bantab_evicted_bans(const struct bantab *);

/*
 * Every entry, least recently seen first, into out (at most max);
 * returns the count. Importing them in that order rebuilds the recency.
 */
size_t bantab_export(const struct bantab *, struct bantab_rec *out, size_t max);
/* One exported entry into the table: 0, or -EINVAL (a bad family). */
int bantab_import(struct bantab *, const struct bantab_rec *);

/* 0, or -EINVAL for a family other than AF_INET / AF_INET6. */
int bantab_addr_from_sockaddr(const struct sockaddr_storage *,
    struct bantab_addr *);
/* A numeric IPv4 or IPv6 address (no port, no prefix); 0 or -EINVAL. */
int bantab_addr_parse(const char *, struct bantab_addr *);
void bantab_addr_to_str(const struct bantab_addr *, char *out, size_t outsz);

#endif
