/*
 * sys.h - syscall wrappers: retry on EINTR, CLOEXEC always, errno kept.
 * Runs in: all processes.
 */
#ifndef KF_SYS_H
#define KF_SYS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

ssize_t	sys_read(int fd, void *, size_t);
ssize_t	sys_write(int fd, const void *, size_t);
int	sys_write_all(int fd, const void *, size_t);
int	sys_set_nonblock(int fd, int on);
int	sys_set_cloexec(int fd);
int	sys_poll1(int fd, short events, int timeout_ms);
int64_t	sys_now_ms(void);
void	sys_sleep_ms(unsigned ms);
void	sys_close(int *fd);
/* n bytes in a sealed memfd (close-on-exec), or -1. */
int	sys_memfd_sealed(const char *name, const void *, size_t n);
void	sys_shed_memory(void);

#endif
