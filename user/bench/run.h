/*
 * run.h - the driver side of the Exo-OS / Linux micro-benchmark (bench.c): PID 1 set-up and the
 * supervisor that runs each case in a child process of its own process group, with a timeout.
 *
 * A case function runs n iterations between bench_start()/bench_stop() and returns NULL, or
 * the reason it cannot run.  run_case() forks; the child runs a warm-up batch (n / 10, at
 * least 1), then the measured batch, and writes its BENCH line into a close-on-exec pipe.  The
 * parent waits for EOF on that pipe (every process of the case gone) with poll() and a single
 * timeout (no periodic wake-up that would disturb the measurement), prints the line, or an
 * "unsupported timeout / crashed / no result" line; on timeout it SIGKILLs the process group.
 */
#ifndef BENCH_RUN_H
#define BENCH_RUN_H

#include "bench.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

struct bench_case {
	const char *name;
	const char *(*fn)(long n);
	long iters;
};

/* In the case's own process: warm-up, measured batch, result line written to fd out. */
static void run_in_child(const struct bench_case *c, long n, int out)
{
	long warm = n / 10 > 0 ? n / 10 : 1;
	bench_measuring = 0;
	const char *err = c->fn(warm);
	if (!err) {
		bench_reset();
		bench_extra[0] = 0;
		bench_measuring = 1;
		err = c->fn(n);
	}
	if (err) {
		bench_fdprintf(out, "BENCH %s unsupported %s\n", c->name, err);
		return;
	}
	unsigned long long cyc = (bench_cyc_total + (uint64_t)n / 2) / (uint64_t)n;
	unsigned long long ns10 = (bench_ns_total * 10 + (uint64_t)n / 2) / (uint64_t)n;
	bench_fdprintf(out, "BENCH %s cycles=%llu ns=%llu.%llu iters=%ld%s\n", c->name, cyc,
		       ns10 / 10, ns10 % 10, n, bench_extra);
}

/* Runs one case in a child process group with a timeout and prints its line. */
static void run_case(const struct bench_case *c, long n, int timeout_s)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0) {
		bench_fdprintf(1, "BENCH %s unsupported %s\n", c->name, bench_fail("pipe2"));
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		bench_fdprintf(1, "BENCH %s unsupported %s\n", c->name, bench_fail("fork"));
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid == 0) {
		setpgid(0, 0);
		close(p[0]);
		run_in_child(c, n, p[1]);
		_exit(0);
	}
	setpgid(pid, pid);
	close(p[1]);
	char line[512];
	size_t len = 0;
	int timed_out = 0;
	uint64_t deadline = bench_mono_ns() + (uint64_t)timeout_s * 1000000000ull;
	for (;;) { /* read the line until EOF: every process of the case has closed the pipe */
		uint64_t now = bench_mono_ns();
		int ms = now >= deadline ? 0 : (int)((deadline - now) / 1000000 + 1);
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		int r = poll(&pfd, 1, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		if (r == 0) {
			if (ms == 0) {
				timed_out = 1;
				break;
			}
			continue;
		}
		ssize_t got = read(p[0], line + len, sizeof line - 1 - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0 || (len += (size_t)got) == sizeof line - 1)
			break;
	}
	close(p[0]);
	if (timed_out) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	while (waitpid(-1, NULL, WNOHANG) > 0) /* helpers re-parented to PID 1 */
		;
	if (len > 0 && !timed_out) {
		write_full(1, line, len);
	} else if (timed_out) {
		bench_fdprintf(1, "BENCH %s unsupported timeout after %d s\n", c->name, timeout_s);
	} else if (WIFSIGNALED(st)) {
		bench_fdprintf(1, "BENCH %s unsupported crashed: signal %d\n", c->name, WTERMSIG(st));
	} else {
		bench_fdprintf(1, "BENCH %s unsupported no result: exit %d\n", c->name,
			       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	}
}

/* PID 1 set-up: /dev, the console on fds 0-2, /tmp.  Problems go to `warn`. */
static void setup_pid1(char *warn, size_t size)
{
	int w = 0;
	mkdir("/dev", 0755);
	if (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) != 0 && errno != EBUSY)
		w += snprintf(warn + w, size - w, "# bench: mount devtmpfs: errno %d\n", errno);
	if (access("/dev/null", F_OK) != 0 && mknod("/dev/null", S_IFCHR | 0666, makedev(1, 3)) != 0)
		w += snprintf(warn + w, size - w, "# bench: mknod /dev/null: errno %d\n", errno);
	if (access("/dev/console", F_OK) != 0)
		mknod("/dev/console", S_IFCHR | 0600, makedev(5, 1));
	if (fcntl(1, F_GETFD) < 0) {
		int fd = open("/dev/console", O_RDWR | O_NOCTTY);
		for (int i = 0; fd >= 0 && i <= 2; i++)
			if (fd != i && fcntl(i, F_GETFD) < 0)
				dup2(fd, i);
		if (fd > 2)
			close(fd);
	}
	mkdir("/tmp", 01777);
	if (mount("tmpfs", "/tmp", "tmpfs", 0, NULL) != 0 && errno != EBUSY)
		w += snprintf(warn + w, size - w, "# bench: mount tmpfs: errno %d\n", errno);
	chmod("/tmp", 01777);
}

#endif
