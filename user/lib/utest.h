/*
 * utest.h - header-only helpers for the Exo-OS user-space test programs.
 *
 * Every test case prints exactly one line to fd 1 with write(2):
 *     UTEST <program> <case> ok
 *     UTEST <program> <case> FAIL <detail>
 * The program name is basename(argv[0]) (so "t_hello.glibc" reports as itself); without argv it
 * falls back to UTEST_PROGRAM (plus ".glibc" under glibc).  utest_done() returns the exit status:
 * 0 when every case passed, 1 otherwise.  Only the test's main process prints case lines; forked
 * children report to the parent through exit statuses, pipes or shared memory.
 *
 * Paths of helper programs go through utest_path(), which prefixes the environment variable
 * UTEST_ROOT (default "") so the same binaries run on the host from a staging directory.
 *
 * Include this header first: it defines _GNU_SOURCE.
 */
#ifndef UTEST_H
#define UTEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef __GLIBC__
#define UTEST_LIBC "glibc"
#else
#define UTEST_LIBC "musl"
#endif

/* A pid that cannot exist: above PID_MAX_LIMIT (4M) on Linux. */
#define UTEST_BADPID 0x3ffffff0

static char utest_prog[64] = "unknown";
static int utest_npass, utest_nfail;

static inline const char *utest_errname(int e)
{
	switch (e) {
	case 0: return "0";
	case EPERM: return "EPERM"; case ENOENT: return "ENOENT"; case ESRCH: return "ESRCH";
	case EINTR: return "EINTR"; case EIO: return "EIO"; case ENXIO: return "ENXIO";
	case E2BIG: return "E2BIG"; case ENOEXEC: return "ENOEXEC"; case EBADF: return "EBADF";
	case ECHILD: return "ECHILD"; case EAGAIN: return "EAGAIN"; case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES"; case EFAULT: return "EFAULT"; case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST"; case EXDEV: return "EXDEV"; case ENODEV: return "ENODEV";
	case ENOTDIR: return "ENOTDIR"; case EISDIR: return "EISDIR"; case EINVAL: return "EINVAL";
	case ENFILE: return "ENFILE"; case EMFILE: return "EMFILE"; case ENOTTY: return "ENOTTY";
	case ETXTBSY: return "ETXTBSY"; case EFBIG: return "EFBIG"; case ENOSPC: return "ENOSPC";
	case ESPIPE: return "ESPIPE"; case EROFS: return "EROFS"; case EMLINK: return "EMLINK";
	case EPIPE: return "EPIPE"; case EDOM: return "EDOM"; case ERANGE: return "ERANGE";
	case EDEADLK: return "EDEADLK"; case ENAMETOOLONG: return "ENAMETOOLONG";
	case ENOSYS: return "ENOSYS"; case ENOTEMPTY: return "ENOTEMPTY"; case ELOOP: return "ELOOP";
	case EOVERFLOW: return "EOVERFLOW"; case ETIMEDOUT: return "ETIMEDOUT";
	case EOPNOTSUPP: return "EOPNOTSUPP"; case ENOTCONN: return "ENOTCONN";
	default: return "E?";
	}
}

static inline void utest_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

/* printf to fd 1 through a stack buffer and one write(2): no stdio buffering, no malloc. */
__attribute__((format(printf, 1, 2)))
static inline void utest_printf(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int saved = errno;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof buf) {
		n = sizeof buf - 1;
		buf[n - 1] = '\n';
	}
	utest_write_all(1, buf, (size_t)n);
	errno = saved;
}

static inline void utest_init(int argc, char **argv)
{
	const char *name = NULL;
	if (argc > 0 && argv && argv[0] && argv[0][0]) {
		name = strrchr(argv[0], '/');
		name = name ? name + 1 : argv[0];
	}
#ifdef UTEST_PROGRAM
	if (!name || !*name) {
#ifdef __GLIBC__
		name = UTEST_PROGRAM ".glibc";
#else
		name = UTEST_PROGRAM;
#endif
	}
#endif
	if (name && *name)
		snprintf(utest_prog, sizeof utest_prog, "%s", name);
}

static inline void utest_ok(const char *name)
{
	utest_npass++;
	utest_printf("UTEST %s %s ok\n", utest_prog, name);
}

__attribute__((format(printf, 2, 3)))
static inline void utest_fail(const char *name, const char *fmt, ...)
{
	char detail[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	for (char *p = detail; *p; p++)
		if (*p == '\n')
			*p = ' ';
	utest_nfail++;
	utest_printf("UTEST %s %s FAIL %s\n", utest_prog, name, detail);
}

/* Report a case from a condition; returns the condition. */
__attribute__((format(printf, 3, 4)))
static inline int utest_check(const char *name, int cond, const char *fmt, ...)
{
	if (cond) {
		utest_ok(name);
	} else {
		char detail[768];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(detail, sizeof detail, fmt, ap);
		va_end(ap);
		utest_fail(name, "%s", detail);
	}
	return cond;
}

static inline int utest_check_ret(const char *name, long got, int err, long expected, const char *expr)
{
	if (got == expected) {
		utest_ok(name);
		return 1;
	}
	utest_fail(name, "%s: expected %ld got %ld (errno %s/%d)", expr, expected, got,
		   utest_errname(err), err);
	return 0;
}

static inline int utest_check_err(const char *name, long got, int err, int experr, const char *expr)
{
	if (got == -1 && err == experr) {
		utest_ok(name);
		return 1;
	}
	utest_fail(name, "%s: expected -1 errno %s/%d, got %ld errno %s/%d", expr,
		   utest_errname(experr), experr, got, utest_errname(err), err);
	return 0;
}

static inline int utest_done(void)
{
	utest_printf("# %s: %d passed, %d failed\n", utest_prog, utest_npass, utest_nfail);
	return utest_nfail ? 1 : 0;
}

/* CHECK(case, cond): passes when cond is true. */
#define CHECK(name, cond) utest_check((name), !!(cond), "%s", #cond)
/* CHECKF(case, cond, fmt, ...): same, with a printf detail on failure. */
#define CHECKF(name, cond, ...) utest_check((name), !!(cond), __VA_ARGS__)
/* CHECK_RET(case, expr, expected): expr (as long) must equal expected. */
#define CHECK_RET(name, expr, expected)                                                        \
	({                                                                                         \
		errno = 0;                                                                             \
		long utest_r_ = (long)(expr);                                                          \
		int utest_e_ = errno;                                                                  \
		utest_check_ret((name), utest_r_, utest_e_, (long)(expected), #expr);                  \
	})
/* CHECK_ERR(case, expr, E): expr must return -1 with errno == E. */
#define CHECK_ERR(name, expr, experr)                                                          \
	({                                                                                         \
		errno = 0;                                                                             \
		long utest_r_ = (long)(expr);                                                          \
		int utest_e_ = errno;                                                                  \
		utest_check_err((name), utest_r_, utest_e_, (experr), #expr);                          \
	})
/* CHECK_SYSERR(case, syscall(...), E): the same for raw syscall(), which returns -1/errno. */
#define CHECK_SYSERR(name, expr, experr) CHECK_ERR(name, expr, experr)
/* CHECK_OK(case, expr): expr must not return -1 (reports errno otherwise). */
#define CHECK_OK(name, expr)                                                                   \
	({                                                                                         \
		errno = 0;                                                                             \
		long utest_r_ = (long)(expr);                                                          \
		int utest_e_ = errno;                                                                  \
		utest_check((name), utest_r_ != -1, "%s: returned -1 errno %s/%d", #expr,             \
			    utest_errname(utest_e_), utest_e_);                                        \
	})
/* CHECK_EQ(case, a, b): two integer values must be equal. */
#define CHECK_EQ(name, a, b)                                                                   \
	({                                                                                         \
		long utest_a_ = (long)(a), utest_b_ = (long)(b);                                       \
		utest_check((name), utest_a_ == utest_b_, "%s == %s: got %ld vs %ld (0x%lx vs 0x%lx)", \
			    #a, #b, utest_a_, utest_b_, utest_a_, utest_b_);                           \
	})

/* ---- helpers shared by several tests ---- */

/* UTEST_ROOT + path, in one of 8 rotating static buffers. */
static inline const char *utest_path(const char *path)
{
	static char bufs[8][512];
	static int next;
	const char *root = getenv("UTEST_ROOT");
	char *b = bufs[next++ & 7];
	snprintf(b, sizeof bufs[0], "%s%s", root ? root : "", path);
	return b;
}

/* Human-readable wait status, in a static buffer. */
static inline const char *utest_wstr(int st)
{
	static char buf[64];
	if (WIFEXITED(st))
		snprintf(buf, sizeof buf, "exit=%d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, sizeof buf, "signal=%d", WTERMSIG(st));
	else if (WIFSTOPPED(st))
		snprintf(buf, sizeof buf, "stopped=%d", WSTOPSIG(st));
	else
		snprintf(buf, sizeof buf, "status=0x%x", st);
	return buf;
}

/* waitpid() restarted on EINTR; returns the wait status, or -1000 - errno on failure. */
static inline int utest_wait(pid_t pid)
{
	int st;
	pid_t r;
	do
		r = waitpid(pid, &st, 0);
	while (r < 0 && errno == EINTR);
	return r == pid ? st : -1000 - errno;
}

/* Runs argv[0] (through utest_path) with argv and an empty environment, its stdout and stderr
 * captured into out (NUL-terminated, at most cap - 1 bytes); returns its wait status, or a value
 * below -1000 if the pipe could not be made. */
static inline int utest_run_capture(char *const argv[], char *out, size_t cap)
{
	int p[2];
	if (pipe(p))
		return -1000 - errno;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		char *envp[] = { NULL };
		execve(utest_path(argv[0]), argv, envp);
		_exit(127);
	}
	close(p[1]);
	size_t len = 0;
	ssize_t n;
	while ((n = read(p[0], out + len, cap - 1 - len)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			len += (size_t)n;
	out[len] = 0;
	close(p[0]);
	return utest_wait(pid);
}

/* Runs fn() in a forked child — as uid/gid 65534 ("nobody") when `drop` — and returns its exit
 * code: fn's value, 90 if the ids could not be dropped, 100 + the signal if it was killed. */
static inline int utest_in_child(int (*fn)(void), int drop)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (drop && (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(90);
		_exit(fn());
	}
	int st = utest_wait(pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

/* Check that a child's wait status is a normal exit with the given code. */
static inline int utest_check_exit(const char *name, int st, int code)
{
	if (st <= -1000)
		return utest_check(name, 0, "waitpid failed: errno %s/%d", utest_errname(-st - 1000),
				   -st - 1000);
	return utest_check(name, WIFEXITED(st) && WEXITSTATUS(st) == code,
			   "expected exit=%d, got %s", code, utest_wstr(st));
}

/* Check that a child's wait status is death by the given signal. */
static inline int utest_check_signaled(const char *name, int st, int sig)
{
	if (st <= -1000)
		return utest_check(name, 0, "waitpid failed: errno %s/%d", utest_errname(-st - 1000),
				   -st - 1000);
	return utest_check(name, WIFSIGNALED(st) && WTERMSIG(st) == sig,
			   "expected signal=%d, got %s", sig, utest_wstr(st));
}

static inline int64_t utest_now_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void utest_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

#endif /* UTEST_H */
