/*
 * bench.h - timing and output helpers of the Exo-OS / Linux micro-benchmark (bench.c).
 *
 * A case brackets its measured loop with bench_start() / bench_stop(); both read the TSC (with
 * lfence on either side, so the reads do not drift into the measured code) and
 * CLOCK_MONOTONIC.  Under QEMU with `-icount shift=0` one TSC tick is one retired guest
 * instruction, so the cycle counts are deterministic.  A case may also call bench_start/stop
 * several times: the spans add up (page_fault times only the touches, not the mmap/munmap).
 *
 * Output goes through one write(2) per line, never through stdio buffers.  Also: errno names
 * for "unsupported" reasons, and read/write/wait helpers that retry on EINTR.
 */
#ifndef BENCH_H
#define BENCH_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

static inline uint64_t bench_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi) : : "memory");
	return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t bench_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Accumulated measurement of the current case. */
static uint64_t bench_cyc_total, bench_ns_total, bench_cyc0, bench_ns0;
/* Extra fields a case appends to its line (" MBps=..."). */
static char bench_extra[64];
/* 1 while the measured batch runs (0 during the warm-up). */
static int bench_measuring;

static inline void bench_reset(void)
{
	bench_cyc_total = bench_ns_total = 0;
}

static inline void bench_start(void)
{
	bench_ns0 = bench_mono_ns();
	bench_cyc0 = bench_rdtsc();
}

static inline void bench_stop(void)
{
	uint64_t c = bench_rdtsc();
	uint64_t t = bench_mono_ns();
	bench_cyc_total += c - bench_cyc0;
	bench_ns_total += t - bench_ns0;
}

/* Writes all of buf to fd, retrying on EINTR and short writes; 0 on success. */
static inline int write_full(int fd, const void *buf, size_t len)
{
	for (const char *p = buf; len > 0;) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* printf to fd through a stack buffer and one write(2). */
__attribute__((format(printf, 2, 3)))
static inline void bench_fdprintf(int fd, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int saved = errno;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof buf)
		n = sizeof buf - 1;
	write_full(fd, buf, (size_t)n);
	errno = saved;
}

/* Reason buffer for a case that cannot run: "<what>: <errno name>/<n>". */
static char bench_reason[160];

static inline const char *bench_errname(int e)
{
	switch (e) {
	case EPERM: return "EPERM"; case ENOENT: return "ENOENT"; case ESRCH: return "ESRCH";
	case EINTR: return "EINTR"; case EIO: return "EIO"; case EBADF: return "EBADF";
	case ECHILD: return "ECHILD"; case EAGAIN: return "EAGAIN"; case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES"; case EFAULT: return "EFAULT"; case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST"; case ENODEV: return "ENODEV"; case EINVAL: return "EINVAL";
	case EMFILE: return "EMFILE"; case ENOSPC: return "ENOSPC"; case EPIPE: return "EPIPE";
	case ENOSYS: return "ENOSYS"; case EOPNOTSUPP: return "EOPNOTSUPP";
	case EAFNOSUPPORT: return "EAFNOSUPPORT"; case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
	case ENOEXEC: return "ENOEXEC"; case ETIMEDOUT: return "ETIMEDOUT";
	default: return "E?";
	}
}

/* Records why a case failed (what + current errno) and returns it: `return bench_fail(...)`. */
static inline const char *bench_fail(const char *what)
{
	int e = errno;
	snprintf(bench_reason, sizeof bench_reason, "%s: %s/%d", what, bench_errname(e), e);
	return bench_reason;
}

/* Waits for pid; returns 0 when it exited with status 0. */
static inline int wait_ok(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static inline int read_full(int fd, void *buf, size_t len)
{
	for (char *p = buf; len > 0;) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

#endif
