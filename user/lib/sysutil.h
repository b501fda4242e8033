/*
 * sysutil.h - header-only helpers shared by the system programs that run as PID 1 or beside it
 * (init, the fuzzer, the soak): one formatted write(2) to fd 1 that survives EINTR and short
 * writes, a monotonic millisecond clock, an EINTR-proof sleep, numeric environment knobs, and
 * the mounts a PID 1 makes (/proc, /dev, /tmp).
 * (The test programs use utest.h instead.)
 */
#ifndef SYSUTIL_H
#define SYSUTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Formats into one buffer (up to 1 KiB) and writes it to fd 1 completely. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
static void say(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n >= (int)sizeof buf)
		n = sizeof buf - 1;
	for (char *p = buf; n > 0;) {
		ssize_t w = write(1, p, (size_t)n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (int)w;
	}
}

/* Milliseconds of CLOCK_MONOTONIC. */
static __attribute__((unused)) int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps `ms` milliseconds, resuming after signal handlers. */
static __attribute__((unused)) void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* A number from the environment when the variable is set and not empty, else `dflt`. */
static __attribute__((unused)) long env_long(const char *name, long dflt)
{
	const char *v = getenv(name);
	return v && *v ? atol(v) : dflt;
}

/* Mounts proc on /proc, devtmpfs on /dev and tmpfs on /tmp (mode 1777); failures are reported
 * with the `who:` prefix, not fatal. */
static __attribute__((unused)) void mount_filesystems(const char *who)
{
	static const struct { const char *src, *dir, *type; } fs[] = {
		{ "proc", "/proc", "proc" },
		{ "sysfs", "/sys", "sysfs" },
		{ "devtmpfs", "/dev", "devtmpfs" },
		{ "tmpfs", "/tmp", "tmpfs" },
	};
	for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++) {
		mkdir(fs[i].dir, 0755);
		if (mount(fs[i].src, fs[i].dir, fs[i].type, 0, NULL) != 0)
			say("%s: mount %s on %s: errno %d\n", who, fs[i].type, fs[i].dir, errno);
	}
	chmod("/tmp", 01777);
}

/* Prints /proc/<pid>/stack (where each thread of pid is in the kernel; root only) with the
 * prefix `tag`, for a process that hangs or will not die. */
static __attribute__((unused)) void say_kernel_stack(const char *tag, int pid)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/stack", pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		say("%s %s: errno %d\n", tag, path, errno);
		return;
	}
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	for (char *line = buf, *end; *line; line = end + 1) {
		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line) - 1;
		else
			*end = 0;
		say("%s pid=%d %s\n", tag, pid, line);
	}
}

#endif
