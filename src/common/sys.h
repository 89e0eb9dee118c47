/*
 * sys.h - syscall wrappers: retry on EINTR, CLOEXEC always, errno kept.
 * Runs in: all processes.
 */
#ifndef KF_SYS_H
#define KF_SYS_H

#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/types.h>

struct flock;
struct msghdr;

/* These retry on EINTR and return what the call returns, errno kept. */
ssize_t sys_read(int fd, void *, size_t);
ssize_t sys_write(int fd, const void *, size_t);
ssize_t sys_pread(int fd, void *, size_t, off_t);
ssize_t sys_pwrite(int fd, const void *, size_t, off_t);
ssize_t sys_recv(int fd, void *, size_t, int flags);
ssize_t sys_send(int fd, const void *, size_t, int flags);
ssize_t sys_recvmsg(int fd, struct msghdr *, int flags);
int sys_lock(int fd, int cmd, struct flock *);
int sys_openat(int dirfd, const char *path, int flags, mode_t mode);

int sys_write_all(int fd, const void *, size_t);
int sys_set_nonblock(int fd, int on);
int sys_set_cloexec(int fd);
int sys_poll1(int fd, short events, int timeout_ms);
/* sys_poll1() waiting with the signal mask *mask (ppoll): a signal that
 * was blocked until now and is pending interrupts it at once. */
int sys_poll1_mask(int fd, short events, int timeout_ms, const sigset_t *mask);
int64_t sys_now_ms(void);
void sys_sleep_ms(unsigned ms);
void sys_close(int *fd);
/* n bytes in a sealed memfd (close-on-exec), or -1. */
int sys_memfd_sealed(const char *name, const void *, size_t n);
/*
 * A large local that needs no zeroing (-ftrivial-auto-var-init=zero
 * would clear every byte of it, each page touched): only for buffers
 * written before they are read.
 */
#define SYS_UNINIT __attribute__((uninitialized))
/*
 * A small static that the listener writes per connection, or that
 * every monitor writes for its session: it goes in .data, the page
 * every forked process writes anyway. Left in .bss, each such variable
 * sits on a page of its own that the write (in the listener after the
 * fork, or in the monitor) makes every monitor copy and keep for the
 * whole session: 4 KiB each (docs/PERFORMANCE.md, idle sessions).
 */
#define SYS_HOT	   __attribute__((section(".data")))
/*
 * fn(arg) on the stack below a gap, then the stack pages it wrote given
 * back to the kernel (MADV_DONTNEED); fn's return value.
 */
int sys_call_shed(int (*fn)(void *), void *arg);
/*
 * fork() with a socketpair of type (SOCK_STREAM, SOCK_SEQPACKET;
 * close-on-exec) between parent and child: *fd is the caller's end in
 * each (the other end closed there). The pid, 0 in the child, or -1
 * (errno kept, both ends closed).
 */
pid_t sys_fork_pair(int type, int *fd);
/* The sealed memfd's n bytes, checked: 0, or -1. */
int sys_read_sealed(int fd, void *, size_t n);
void sys_shed_stack(void);
/*
 * n zeroed bytes in a private mapping of their own, for a large struct
 * a forked process fills: only the pages it writes are ever its own
 * (a static or a stack frame would be the parent's pages, copied), and
 * sys_scratch_free gives them back. NULL on failure.
 */
void *sys_scratch(size_t n);
/* Wipes and unmaps what sys_scratch(n) gave; p may be NULL. */
void sys_scratch_free(void *p, size_t n);

#endif
