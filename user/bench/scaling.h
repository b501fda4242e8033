/*
 * scaling.h - the scaling axis of the benchmark (BENCH_MODE=scaling, Exo-OS only): the same
 * parallel load - SCALE_WORKERS independent workers, each doing k operations of one kind
 * (fork+exit+wait, 1-byte pipe round trips with a partner process, page faults, futex round
 * trips with a partner process) - run on a machine with 1, 2 or 4 CPUs.
 *
 * Each case runs through run_case() (own process group, timeout).  The case process forks the
 * workers, which wait for a start signal (EOF on a pipe), then it samples /proc/stat, the TSC
 * and CLOCK_MONOTONIC, releases the workers, waits for all of them and samples again.  The
 * measured batch prints (besides its BENCH line):
 *     SCALE <case> cpus=<online CPUs> workers=<w> ops=<w * k> ns=<virtual ns> cycles=<TSC>
 *           busy=<busy ticks of all CPUs> idle=<idle ticks of all CPUs>
 * Under `-icount shift=0,sleep=off` QEMU runs the vCPUs round-robin in one thread and the
 * virtual clock counts the instructions of all of them, so `ns` is the total work of the
 * region; the host (xtask/src/scaling.rs) turns busy/idle into the average number of busy CPUs
 * to get the elapsed time of a truly parallel machine.  busy/idle are -1 without /proc/stat.
 */
#ifndef BENCH_SCALING_H
#define BENCH_SCALING_H

#include "bench.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define SCALE_WORKERS 4

/* Name of the running case in SCALE lines (the warm-up prints none: bench_measuring). */
static const char *scale_name;

/* Busy and idle ticks summed over all CPUs (the "cpu " line of /proc/stat); -1 if unknown. */
static void proc_stat_read(long long *busy, long long *idle)
{
	char buf[512];
	*busy = *idle = -1;
	int fd = open("/proc/stat", O_RDONLY);
	if (fd < 0)
		return;
	ssize_t got = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (got <= 4 || strncmp(buf, "cpu ", 4) != 0)
		return;
	buf[got] = 0;
	/* user nice system idle iowait irq softirq steal */
	long long v[8] = { 0 };
	char *p = buf + 4;
	for (int i = 0; i < 8; i++) {
		char *end;
		v[i] = strtoll(p, &end, 10);
		if (end == p)
			break;
		p = end;
	}
	*busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	*idle = v[3] + v[4];
}

/*
 * proc_stat_read twice, keeping the read with more idle time: a CPU's idle time can be read
 * without its idle thread's current stint while that thread is being switched out, which
 * would make the idle count go backwards between two samples.
 */
static void proc_stat_ticks(long long *busy, long long *idle)
{
	long long b2, i2;
	proc_stat_read(busy, idle);
	proc_stat_read(&b2, &i2);
	if (i2 >= *idle || *idle < 0) {
		*busy = b2;
		*idle = i2;
	}
}

static int sw_fork_exit(long k)
{
	for (long i = 0; i < k; i++) {
		pid_t pid = fork();
		if (pid < 0)
			return -1;
		if (pid == 0)
			_exit(0);
		if (wait_ok(pid) != 0)
			return -1;
	}
	return 0;
}

static int sw_pipe_pair(long k)
{
	int a[2], b[2];
	char c = 'p';
	if (pipe(a) != 0 || pipe(b) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		for (long i = 0; i < k; i++)
			if (read_full(a[0], &c, 1) != 0 || write_full(b[1], &c, 1) != 0)
				_exit(1);
		_exit(0);
	}
	for (long i = 0; i < k; i++)
		if (write_full(a[1], &c, 1) != 0 || read_full(b[0], &c, 1) != 0)
			return -1;
	return wait_ok(pid);
}

static int sw_page_faults(long k)
{
	const long batch = 256;
	for (long done = 0; done < k;) {
		long pages = k - done < batch ? k - done : batch;
		size_t len = (size_t)pages * PAGE;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -1;
		for (long i = 0; i < pages; i++)
			((volatile char *)p)[i * PAGE] = 1;
		munmap(p, len);
		done += pages;
	}
	return 0;
}

static int sw_futex_pair(long k)
{
	volatile int *w = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (w == MAP_FAILED)
		return -1;
	*w = 0;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		for (long i = 0; i < k; i++) {
			while (__atomic_load_n(w, __ATOMIC_SEQ_CST) != 1)
				syscall(SYS_futex, w, 0 /* WAIT */, 0, NULL, NULL, 0);
			__atomic_store_n(w, 0, __ATOMIC_SEQ_CST);
			syscall(SYS_futex, w, 1 /* WAKE */, 1, NULL, NULL, 0);
		}
		_exit(0);
	}
	for (long i = 0; i < k; i++) {
		__atomic_store_n(w, 1, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, w, 1 /* WAKE */, 1, NULL, NULL, 0);
		while (__atomic_load_n(w, __ATOMIC_SEQ_CST) == 1)
			syscall(SYS_futex, w, 0 /* WAIT */, 1, NULL, NULL, 0);
	}
	return wait_ok(pid);
}

/* Forks SCALE_WORKERS workers running fn(k), times the region from their release to the last exit. */
static const char *scale_run(long k, int (*fn)(long))
{
	int go[2];
	pid_t pids[SCALE_WORKERS];
	if (pipe(go) != 0)
		return bench_fail("pipe");
	for (int w = 0; w < SCALE_WORKERS; w++) {
		pids[w] = fork();
		if (pids[w] < 0)
			return bench_fail("fork worker");
		if (pids[w] == 0) {
			char c;
			close(go[1]);
			while (read(go[0], &c, 1) < 0 && errno == EINTR)
				;
			close(go[0]);
			_exit(fn(k) == 0 ? 0 : 1);
		}
	}
	close(go[0]);
	long long busy0, idle0, busy1, idle1;
	proc_stat_ticks(&busy0, &idle0);
	bench_start();
	close(go[1]); /* EOF: every worker starts */
	int failed = 0;
	for (int w = 0; w < SCALE_WORKERS; w++)
		failed |= wait_ok(pids[w]) != 0;
	bench_stop();
	proc_stat_ticks(&busy1, &idle1);
	if (failed) {
		errno = EIO;
		return bench_fail("a worker failed");
	}
	int known = busy0 >= 0 && busy1 >= busy0 && idle1 >= idle0;
	if (bench_measuring)
		bench_fdprintf(1, "SCALE %s cpus=%ld workers=%d ops=%ld ns=%llu cycles=%llu busy=%lld idle=%lld\n",
			       scale_name, sysconf(_SC_NPROCESSORS_ONLN), SCALE_WORKERS,
			       k * SCALE_WORKERS, (unsigned long long)bench_ns_total,
			       (unsigned long long)bench_cyc_total, known ? busy1 - busy0 : -1LL,
			       known ? idle1 - idle0 : -1LL);
	return NULL;
}

static const char *scale_fork_exit(long k) { scale_name = "fork_exit"; return scale_run(k, sw_fork_exit); }
static const char *scale_pipe_pairs(long k) { scale_name = "pipe_pairs"; return scale_run(k, sw_pipe_pair); }
static const char *scale_page_faults(long k) { scale_name = "page_faults"; return scale_run(k, sw_page_faults); }
static const char *scale_futex_pairs(long k) { scale_name = "futex_pairs"; return scale_run(k, sw_futex_pair); }

/* Per-worker iteration counts: 0.1-0.4 s of virtual time per case on one CPU (fork_exit costs
 * about 20x more per fork on 4 CPUs today, hence its smaller count). */
static const struct bench_case scale_cases[] = {
	{ "scale_fork_exit", scale_fork_exit, 100 },
	{ "scale_pipe_pairs", scale_pipe_pairs, 10000 },
	{ "scale_page_faults", scale_page_faults, 32768 },
	{ "scale_futex_pairs", scale_futex_pairs, 10000 },
};

#endif
