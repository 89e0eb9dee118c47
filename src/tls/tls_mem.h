/*
 * tls_mem.h - OpenSSL's allocation functions (tls_mem.c).
 * Runs in: every process (main of both images).
 */
#ifndef KF_TLS_MEM_H
#define KF_TLS_MEM_H

/*
 * First thing in main(), before OpenSSL allocates: OpenSSL's freed
 * blocks are wiped. 0 or -1.
 */
int tls_init_memory(void);

#endif
