/*
 * bench - LMbench-style micro-benchmarks run side by side on Exo-OS and Linux.
 *
 * The same static binary is PID 1 (/init) of a tiny initramfs on both kernels, under QEMU with
 * `-icount shift=0,sleep=off`, where one TSC tick is one retired guest instruction: the cycle
 * counts are then deterministic and comparable between the kernels.  It also runs as an ordinary
 * process on a host (getpid() != 1): no mounts, no power-off.
 *
 * Output, one write(2) per line on fd 1 (anything else, e.g. "# ..." lines, is commentary):
 *     BENCH-START kernel=<uname -r> cpus=<n>
 *     BENCH <case> cycles=<TSC cycles per op> ns=<CLOCK_MONOTONIC ns per op> iters=<n> [MBps=<x>]
 *     BENCH <case> unsupported <reason>
 *     BENCH-END
 * Each case runs in a child process of its own process group (run.h: a case that hangs or
 * crashes is reported, after $BENCH_TIMEOUT seconds, default 10, and killed): a warm-up batch of
 * a tenth of the iterations, then the measured batch.  Two-process cases do one untimed round
 * first.  Timing and output helpers are in bench.h; the cases added for issue 13 in more.h, the
 * socket cases of issue 15 in net.h (before the cases run, `lo` is brought up if it is down),
 * the storage cases of issue 16 in disk.h (before the first of them, PID 1 loads the kernel
 * modules listed in /lib/modules/order, if any, and mounts /dev/vda on /mnt).
 *
 * Environment: BENCH_MODE (`scaling`: run the scaling axis of scaling.h instead of the cases;
 * it adds "SCALE" lines), BENCH_FILTER (run only cases whose name contains it), BENCH_SCALE (divide every
 * iteration count by it, default 1), BENCH_TIMEOUT (seconds), BENCH_SELF (path of this program
 * for fork_execve_wait; default argv[0], else /proc/self/exe).  `bench exit` exits 0 at once
 * (the program fork_execve_wait executes).
 *
 * As PID 1 it first mounts devtmpfs on /dev (or makes /dev/null and /dev/console itself), opens
 * /dev/console as fds 0-2 if fd 1 is not open, mounts tmpfs on /tmp; at the end it syncs and
 * powers off with reboot(2).
 */
#define _GNU_SOURCE
#include "bench.h"
#include "run.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

/* reboot(2) magic numbers and command, futex ops (<linux/reboot.h>, <linux/futex.h>). */
#define REBOOT_MAGIC1 0xfee1deadUL
#define REBOOT_MAGIC2 672274793UL
#define REBOOT_CMD_POWER_OFF 0x4321fedcUL
#define FUTEX_WAIT_OP 0
#define FUTEX_WAKE_OP 1

#define TEST_FILE "/tmp/bench.file"
#define PAGE 4096
#define FAULT_BATCH 256 /* pages per mapping in page_fault */

static const char *self_path;

/* ---- single-process cases ---- */

static const char *case_null_syscall(long n)
{
	bench_start();
	for (long i = 0; i < n; i++)
		getppid();
	bench_stop();
	return NULL;
}

static const char *case_clock_gettime(long n)
{
	struct timespec ts;
	bench_start();
	for (long i = 0; i < n; i++)
		clock_gettime(CLOCK_MONOTONIC, &ts);
	bench_stop();
	return NULL;
}

static const char *case_write_devnull(long n)
{
	int fd = open("/dev/null", O_WRONLY);
	if (fd < 0)
		return bench_fail("open /dev/null");
	char c = 'x';
	bench_start();
	for (long i = 0; i < n; i++)
		if (write(fd, &c, 1) != 1)
			return bench_fail("write /dev/null");
	bench_stop();
	close(fd);
	return NULL;
}

static int make_test_file(void)
{
	int fd = open(TEST_FILE, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	int r = write_full(fd, "bench\n", 6);
	close(fd);
	return r;
}

static const char *case_open_close(long n)
{
	if (make_test_file() < 0)
		return bench_fail("create " TEST_FILE);
	bench_start();
	for (long i = 0; i < n; i++) {
		int fd = open(TEST_FILE, O_RDONLY);
		if (fd < 0)
			return bench_fail("open " TEST_FILE);
		close(fd);
	}
	bench_stop();
	unlink(TEST_FILE);
	return NULL;
}

static const char *case_stat(long n)
{
	struct stat st;
	if (make_test_file() < 0)
		return bench_fail("create " TEST_FILE);
	bench_start();
	for (long i = 0; i < n; i++)
		if (stat(TEST_FILE, &st) != 0)
			return bench_fail("stat " TEST_FILE);
	bench_stop();
	unlink(TEST_FILE);
	return NULL;
}

static const char *case_mmap_touch_munmap(long n)
{
	bench_start();
	for (long i = 0; i < n; i++) {
		volatile char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return bench_fail("mmap");
		p[0] = 1;
		munmap((void *)p, PAGE);
	}
	bench_stop();
	return NULL;
}

/* n pages in mappings of FAULT_BATCH pages; only the first write to each page is timed. */
static const char *case_page_fault(long n)
{
	for (long done = 0; done < n;) {
		long pages = n - done < FAULT_BATCH ? n - done : FAULT_BATCH;
		size_t len = (size_t)pages * PAGE;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return bench_fail("mmap");
		madvise(p, len, MADV_NOHUGEPAGE); /* one fault per 4 KiB page on Linux too */
		bench_start();
		for (long i = 0; i < pages; i++)
			((volatile char *)p)[i * PAGE] = 1;
		bench_stop();
		munmap(p, len);
		done += pages;
	}
	return NULL;
}

static void *thread_fn(void *arg)
{
	return arg;
}

static const char *case_thread_create_join(long n)
{
	bench_start();
	for (long i = 0; i < n; i++) {
		pthread_t t;
		int e = pthread_create(&t, NULL, thread_fn, NULL);
		if (e != 0) {
			errno = e;
			return bench_fail("pthread_create");
		}
		pthread_join(t, NULL);
	}
	bench_stop();
	return NULL;
}

/* ---- process cases ---- */

static const char *case_fork_exit_wait(long n)
{
	bench_start();
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0)
			return bench_fail("fork");
		if (pid == 0)
			_exit(0);
		if (wait_ok(pid) != 0)
			return bench_fail("child status");
	}
	bench_stop();
	return NULL;
}

static const char *case_fork_execve_wait(long n)
{
	char *argv[] = { (char *)self_path, "exit", NULL };
	char *envp[] = { NULL };
	if (!self_path || access(self_path, X_OK) != 0)
		return bench_fail("no executable path of this program (set BENCH_SELF)");
	bench_start();
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0)
			return bench_fail("fork");
		if (pid == 0) {
			execve(self_path, argv, envp);
			_exit(127);
		}
		if (wait_ok(pid) != 0)
			return bench_fail("execve child status");
	}
	bench_stop();
	return NULL;
}

/*
 * 1-byte ping-pong: the parent writes to pw and reads from pr, the child reads from cr and
 * writes back to cw; n + 1 round trips, the first untimed.
 */
static const char *pingpong(long n, int pw, int pr, int cr, int cw)
{
	pid_t pid = fork();
	if (pid < 0)
		return bench_fail("fork");
	if (pid == 0) {
		char c;
		for (long i = 0; i <= n; i++)
			if (read_full(cr, &c, 1) != 0 || write_full(cw, &c, 1) != 0)
				_exit(1);
		_exit(0);
	}
	char c = 'p';
	for (long i = 0; i <= n; i++) {
		if (i == 1)
			bench_start();
		if (write_full(pw, &c, 1) != 0 || read_full(pr, &c, 1) != 0)
			return bench_fail("ping-pong transfer");
	}
	bench_stop();
	if (wait_ok(pid) != 0)
		return bench_fail("ping-pong child status");
	return NULL;
}

static const char *case_pipe_roundtrip(long n)
{
	int a[2], b[2];
	if (pipe(a) != 0 || pipe(b) != 0)
		return bench_fail("pipe");
	const char *r = pingpong(n, a[1], b[0], a[0], b[1]);
	close(a[0]); close(a[1]); close(b[0]); close(b[1]);
	return r;
}

static const char *case_unix_roundtrip(long n)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return bench_fail("socketpair(AF_UNIX, SOCK_STREAM)");
	const char *r = pingpong(n, sv[0], sv[0], sv[1], sv[1]);
	close(sv[0]); close(sv[1]);
	return r;
}

static long futex_op(volatile int *addr, int op, int val)
{
	return syscall(SYS_futex, addr, op, val, NULL, NULL, 0);
}

/* Shared word: the parent sets 1 and wakes, the child sets 0 and wakes; n + 1 rounds. */
static const char *case_futex_pingpong(long n)
{
	volatile int *w = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (w == MAP_FAILED)
		return bench_fail("mmap MAP_SHARED");
	*w = 0;
	pid_t pid = fork();
	if (pid < 0)
		return bench_fail("fork");
	if (pid == 0) {
		for (long i = 0; i <= n; i++) {
			while (__atomic_load_n(w, __ATOMIC_SEQ_CST) != 1)
				futex_op(w, FUTEX_WAIT_OP, 0);
			__atomic_store_n(w, 0, __ATOMIC_SEQ_CST);
			futex_op(w, FUTEX_WAKE_OP, 1);
		}
		_exit(0);
	}
	for (long i = 0; i <= n; i++) {
		if (i == 1)
			bench_start();
		__atomic_store_n(w, 1, __ATOMIC_SEQ_CST);
		futex_op(w, FUTEX_WAKE_OP, 1);
		while (__atomic_load_n(w, __ATOMIC_SEQ_CST) == 1)
			futex_op(w, FUTEX_WAIT_OP, 1);
	}
	bench_stop();
	int r = wait_ok(pid);
	munmap((void *)w, PAGE);
	return r ? bench_fail("futex child status") : NULL;
}

/* Both processes call sched_yield n times; timed from the child's "ready" to its exit. */
static const char *case_sched_yield_pair(long n)
{
	int p[2];
	char c = 'r';
	if (pipe(p) != 0)
		return bench_fail("pipe");
	pid_t pid = fork();
	if (pid < 0)
		return bench_fail("fork");
	if (pid == 0) {
		if (write_full(p[1], &c, 1) != 0)
			_exit(1);
		for (long i = 0; i < n; i++)
			sched_yield();
		_exit(0);
	}
	if (read_full(p[0], &c, 1) != 0)
		return bench_fail("ready byte");
	bench_start();
	for (long i = 0; i < n; i++)
		sched_yield();
	int r = wait_ok(pid);
	bench_stop();
	close(p[0]);
	close(p[1]);
	return r ? bench_fail("yield child status") : NULL;
}

#include "more.h"
#include "fusionbench.h"
#include "scaling.h"
#include "net.h"
#include "disk.h"

/*
 * Loads the modules named in /lib/modules/order (one a line, dependencies first) from
 * /lib/modules/<name>.ko with finit_module: the Linux run's initramfs carries virtio-blk and
 * ext4 that way (xtask/src/sidebyside.rs).  No list: nothing to do.  ENOSYS (Exo-OS, no
 * modules) ends the loop; EEXIST (built in, already loaded) is fine; other problems are
 * commentary, and the disk cases then report what they find.
 */
static void load_modules(void)
{
	static char list[1024];
	int fd = open("/lib/modules/order", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t len = read(fd, list, sizeof list - 1);
	close(fd);
	if (len <= 0)
		return;
	list[len] = 0;
	for (char *name = strtok(list, "\n"); name; name = strtok(NULL, "\n")) {
		char path[128];
		snprintf(path, sizeof path, "/lib/modules/%s.ko", name);
		int ko = open(path, O_RDONLY | O_CLOEXEC);
		if (ko < 0) {
			bench_fdprintf(1, "# bench: open %s: %s\n", path, bench_errname(errno));
			continue;
		}
		long r = syscall(SYS_finit_module, ko, "", 0);
		int e = errno;
		close(ko);
		if (r != 0 && e == ENOSYS)
			return;
		if (r != 0 && e != EEXIST)
			bench_fdprintf(1, "# bench: finit_module %s: %s/%d\n", name, bench_errname(e), e);
	}
}

static const struct bench_case cases[] = {
	{ "null_syscall", case_null_syscall, 20000 },
	{ "clock_gettime", case_clock_gettime, 20000 },
	{ "gettimeofday", case_gettimeofday, 20000 },
	{ "time", case_time, 20000 },
	{ "getcpu", case_getcpu, 20000 },
	{ "write_devnull", case_write_devnull, 20000 },
	{ "open_close", case_open_close, 5000 },
	{ "stat", case_stat, 5000 },
	{ "fstat", case_fstat, 20000 },
	{ "getdents64", case_getdents64, 1000 },
	{ "pipe_roundtrip", case_pipe_roundtrip, 2000 },
	{ "unix_roundtrip", case_unix_roundtrip, 2000 },
	{ "futex_pingpong", case_futex_pingpong, 2000 },
	{ "sched_yield_pair", case_sched_yield_pair, 5000 },
	{ "pipe_throughput_64k", case_pipe_throughput_64k, 256 }, /* 16 MiB */
	{ "pipe_throughput_4k", case_pipe_throughput_4k, 4096 }, /* 16 MiB */
	{ "fork_exit_wait", case_fork_exit_wait, 200 },
	{ "fork_exit_wait_64m", case_fork_exit_wait_64m, 100 },
	{ "fork_execve_wait", case_fork_execve_wait, 100 },
	{ "vfork_execve_wait", case_vfork_execve_wait, 100 },
	{ "mmap_touch_munmap", case_mmap_touch_munmap, 5000 },
	{ "page_fault", case_page_fault, 4096 },
	{ "thread_create_join", case_thread_create_join, 1000 },
	{ "fusion_roundtrip", case_fusion_roundtrip, 2000 },
	{ "fusion_poll_rt_2cpu", case_fusion_poll_rt_2cpu, 2000 },
	{ "futex_pingpong_2cpu", case_futex_pingpong_2cpu, 2000 },
	{ "fusion_batch_64b", case_fusion_batch_64b, 20000 },
	{ "fusion_grant_1m", case_fusion_grant_1m, 64 },
	{ "pipe_copy_1m", case_pipe_copy_1m, 32 },
	{ "pipe_msgs_64b", case_pipe_msgs_64b, 20000 },
	{ "fusion_rpc", case_fusion_rpc, 2000 },
	{ "unix_stream_64k", case_unix_stream_64k, 256 }, /* 16 MiB */
	{ "unix_stream_4k", case_unix_stream_4k, 2048 }, /* 8 MiB */
	{ "tcp_loopback_roundtrip", case_tcp_loopback_roundtrip, 2000 },
	{ "tcp_loopback_stream", case_tcp_loopback_stream, 128 }, /* 8 MiB */
	{ "tcp_loopback_stream_4k", case_tcp_loopback_stream_4k, 2048 }, /* 8 MiB */
	{ "udp_loopback_roundtrip", case_udp_loopback_roundtrip, 2000 },
	{ "udp_loopback_1k", case_udp_loopback_1k, 2000 },
	/* Last: the disk is set up (modules, mount) only when the first of these runs.  The small
	 * files first, on the fresh file system (see disk.h). */
	{ "disk_create_10k", case_disk_create_10k, 10000 },
	{ "disk_stat_10k", case_disk_stat_10k, 10000 },
	{ "disk_unlink_10k", case_disk_unlink_10k, 10000 },
	{ "disk_seq_write_64m", case_disk_seq_write_64m, 64 }, /* MiB */
	{ "disk_seq_read_cold_64m", case_disk_seq_read_cold_64m, 64 }, /* MiB */
	{ "disk_seq_read_cached_64m", case_disk_seq_read_cached_64m, 64 }, /* MiB */
};

/*
 * The disk cases' timeout is this many times the others': their I/O waits cost virtual time
 * (QEMU's clock jumps to the next timer event while the guest waits; Linux's 64 MiB write
 * took from 7 s to over 60 s of it, depending on the host's latency).
 */
#define DISK_TIMEOUT_FACTOR 60

static long env_long(const char *name, long dflt)
{
	const char *s = getenv(name);
	long v = s && *s ? strtol(s, NULL, 10) : dflt;
	return v > 0 ? v : dflt;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "exit") == 0)
		_exit(0);
	int pid1 = getpid() == 1;
	char warn[512] = "";
	const char *mode = getenv("BENCH_MODE");
	int scaling = mode && strcmp(mode, "scaling") == 0;
	if (pid1)
		setup_pid1(warn, sizeof warn);
	/* The scaling axis reads /proc/stat; the other cases run without procfs, as before. */
	if (pid1 && scaling) {
		mkdir("/proc", 0555);
		if (mount("proc", "/proc", "proc", 0, NULL) != 0 && errno != EBUSY)
			snprintf(warn + strlen(warn), sizeof warn - strlen(warn), "# bench: mount proc: errno %d\n", errno);
	}

	static char exe[4096];
	self_path = getenv("BENCH_SELF");
	if (!self_path || !*self_path) {
		self_path = NULL;
		if (argc > 0 && argv[0] && strchr(argv[0], '/')) {
			self_path = argv[0];
		} else {
			ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
			if (k > 0) {
				exe[k] = 0;
				self_path = exe;
			}
		}
	}
	const char *filter = getenv("BENCH_FILTER");
	long scale = env_long("BENCH_SCALE", 1);
	int timeout_s = (int)env_long("BENCH_TIMEOUT", 10);

	struct utsname u;
	if (uname(&u) != 0)
		strcpy(u.release, "unknown");
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (!scaling) /* the socket cases need lo up (net.h) */
		bench_lo_up(warn + strlen(warn), sizeof warn - strlen(warn));
	bench_fdprintf(1, "BENCH-START kernel=%s cpus=%ld\n", u.release, cpus);
	if (warn[0])
		write_full(1, warn, strlen(warn));

	const struct bench_case *list = scaling ? scale_cases : cases;
	size_t count = scaling ? sizeof scale_cases / sizeof scale_cases[0] : sizeof cases / sizeof cases[0];
	int disk_ready = 0;
	for (size_t i = 0; i < count; i++) {
		if (filter && *filter && !strstr(list[i].name, filter))
			continue;
		int disk = strncmp(list[i].name, "disk_", 5) == 0;
		if (disk && !disk_ready) {
			if (pid1)
				load_modules();
			disk_setup(pid1);
			disk_ready = 1;
		}
		long n = list[i].iters / scale;
		run_case(&list[i], n > 0 ? n : 1, disk ? timeout_s * DISK_TIMEOUT_FACTOR : timeout_s);
	}
	bench_fdprintf(1, "BENCH-END\n");
	if (disk_ready)
		disk_teardown();

	if (!pid1)
		return 0;
	sync();
	syscall(SYS_reboot, REBOOT_MAGIC1, REBOOT_MAGIC2, REBOOT_CMD_POWER_OFF, NULL);
	bench_fdprintf(1, "# bench: reboot(2) failed: errno %d\n", errno);
	for (;;)
		pause(); /* PID 1 must not exit */
}
