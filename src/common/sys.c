/*
 * sys.c - thin syscall wrappers shared by every process.
 * Runs in: all processes.
 */
#include <errno.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "limits.h"
#include "sys.h"

ssize_t
sys_read(int fd, void *p, size_t n)
{
	ssize_t r;

	do
		r = read(fd, p, n);
	while (r < 0 && errno == EINTR);
	return r;
}

ssize_t
sys_write(int fd, const void *p, size_t n)
{
	ssize_t r;

	do
		r = write(fd, p, n);
	while (r < 0 && errno == EINTR);
	return r;
}

ssize_t
sys_pread(int fd, void *p, size_t n, off_t off)
{
	ssize_t r;

	do
		r = pread(fd, p, n, off);
	while (r < 0 && errno == EINTR);
	return r;
}

ssize_t
sys_pwrite(int fd, const void *p, size_t n, off_t off)
{
	ssize_t r;

	do
		r = pwrite(fd, p, n, off);
	while (r < 0 && errno == EINTR);
	return r;
}

ssize_t
sys_recv(int fd, void *p, size_t n, int flags)
{
	ssize_t r;

	do
		r = recv(fd, p, n, flags);
	while (r < 0 && errno == EINTR);
	return r;
}

ssize_t
sys_send(int fd, const void *p, size_t n, int flags)
{
	ssize_t r;

	do
		r = send(fd, p, n, flags);
	while (r < 0 && errno == EINTR);
	return r;
}

ssize_t
sys_recvmsg(int fd, struct msghdr *mh, int flags)
{
	ssize_t r;

	do
		r = recvmsg(fd, mh, flags);
	while (r < 0 && errno == EINTR);
	return r;
}

/* A record lock (F_SETLK, F_SETLKW, F_OFD_SETLK, F_OFD_SETLKW). */
int
sys_lock(int fd, int cmd, struct flock *fl)
{
	int r;

	do
		r = fcntl(fd, cmd, fl);
	while (r < 0 && errno == EINTR);
	return r;
}

/* openat(2), close-on-exec always. */
int
sys_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	int fd;

	do
		fd = openat(dirfd, path, flags | O_CLOEXEC, mode);
	while (fd < 0 && errno == EINTR);
	return fd;
}

/* Blocking or not: waits for POLLOUT on EAGAIN. */
int
sys_write_all(int fd, const void *p, size_t n)
{
	const char *s = p;
	ssize_t r;

	while (n > 0) {
		r = sys_write(fd, s, n);
		if (r < 0 && errno == EAGAIN) {
			int w = sys_poll1(fd, POLLOUT, 30000);

			if (w == 0 || (w < 0 && errno != EINTR))
				return -1;
			continue;
		}
		if (r <= 0)
			return -1;
		s += r;
		n -= (size_t)r;
	}
	return 0;
}

int
sys_set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl);
}

int
sys_set_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

/* >0 ready, 0 timeout, <0 error; a signal gives -1 with errno EINTR. */
int
sys_poll1(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	return poll(&pfd, 1, timeout_ms);
}

int
sys_poll1_mask(int fd, short events, int timeout_ms, const sigset_t *mask)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	struct timespec ts = { .tv_sec = timeout_ms / 1000,
		.tv_nsec = (long)(timeout_ms % 1000) * 1000000L };

	return ppoll(&pfd, 1, timeout_ms < 0 ? NULL : &ts, mask);
}

int64_t
sys_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
sys_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
		.tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * n bytes in a memfd sealed against writing, growing and shrinking:
 * what its readers see is what was written. The fd, or -1.
 */
int
sys_memfd_sealed(const char *name, const void *p, size_t n)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -1;
	if (sys_write_all(fd, p, n) < 0 ||
	    fcntl(fd, F_ADD_SEALS,
		F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

pid_t
sys_fork_pair(int type, int *fd)
{
	int sv[2], e;
	pid_t pid;

	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	if ((pid = fork()) < 0) {
		e = errno;
		close(sv[0]);
		close(sv[1]);
		errno = e;
		return -1;
	}
	close(sv[pid == 0 ? 0 : 1]);
	*fd = sv[pid == 0 ? 1 : 0];
	return pid;
}

/*
 * sys_memfd_sealed()'s reading side: fd is sealed against writes and
 * size changes and holds exactly n bytes, read into p. 0, or -1.
 */
int
sys_read_sealed(int fd, void *p, size_t n)
{
	int seals = fcntl(fd, F_GET_SEALS),
	    need = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
	struct stat st;

	if (seals < 0 || (seals & need) != need || fstat(fd, &st) < 0 ||
	    (size_t)st.st_size != n || pread(fd, p, n, 0) != (ssize_t)n)
		return -1;
	return 0;
}

void
sys_close(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/*
 * The stack pages below the caller's frame back to the kernel: after
 * sys_call_shed's call, and in a long-lived process idle for
 * KF_SHED_IDLE_MS (a monitor after login, a post-login worker waiting
 * for a command), those that deeper calls (sandbox set-up, login)
 * wrote. Those were copies made at fork or fresh pages: private memory
 * of every idle session. Used again, they come back zero-filled. The
 * range stays inside the kernel's stack guard gap (1 MiB below the
 * stack), where nothing else is ever mapped; madvise skips what is not
 * mapped there.
 *
 * The heap is left as it is: malloc_trim() first consolidates the fast
 * bins and walks every free chunk, and in a process forked from a
 * long-lived one (listener, spawner) those chunks lie on pages still
 * shared with it: each write makes a private copy of one. With it, an
 * idle session's monitor and worker kept 12 and 35 KiB more
 * (docs/PERFORMANCE.md, "Sixth day"). A free at the top of the heap
 * past M_TRIM_THRESHOLD is given back by free() itself.
 */
void __attribute__((noinline)) sys_shed_stack(void)
{
	volatile char here = 0;
	uintptr_t page = (uintptr_t)getpagesize(), top, bottom;

	top = ((uintptr_t)&here & ~(page - 1)) - KF_STACK_KEEP;
	bottom = top - KF_STACK_SHED;
	(void)madvise((void *)bottom, (size_t)(top - bottom), MADV_DONTNEED);
	(void)here;
}

/*
 * fn's frames start below a gap larger than KF_STACK_KEEP and a page,
 * so that they all lie in the range sys_shed_stack() gives back. The
 * gap is written after the call too: no sibling call may pop it first.
 */
static int __attribute__((noinline)) below_gap(int (*fn)(void *), void *arg)
{
	volatile char gap[KF_STACK_KEEP + 2 * 4096] SYS_UNINIT;
	int r;

	gap[0] = 0;
	r = fn(arg);
	gap[sizeof(gap) - 1] = 0;
	return r;
}

/*
 * fn(arg), then the stack pages fn wrote go back to the kernel
 * (MADV_DONTNEED): what it left there is gone, not overwritten; used
 * again, those pages come back zero-filled. fn may use up to
 * KF_STACK_SHED of stack.
 */
int __attribute__((noinline)) sys_call_shed(int (*fn)(void *), void *arg)
{
	int r = below_gap(fn, arg);

	sys_shed_stack();
	return r;
}

void *
sys_scratch(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void
sys_scratch_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	explicit_bzero(p, n);
	(void)munmap(p, n);
}
