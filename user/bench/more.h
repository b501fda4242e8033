/*
 * more.h - the benchmark cases added for issue 13 (included once, by bench.c, after its own
 * cases): the time calls musl may serve from a vDSO (gettimeofday, time, sched_getcpu), fstat,
 * getdents64 of a 100-entry directory, pipe throughput with 4 KiB and 64 KiB writes (16 MiB
 * each), fork+exit+wait from a parent that has touched 64 MiB of heap, vfork+execve+wait.
 *
 * Needs from bench.c: TEST_FILE, make_test_file(), self_path, PAGE.
 */
#ifndef BENCH_MORE_H
#define BENCH_MORE_H

#include "bench.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>

#define DENTS_DIR "/tmp/bench.dir"
#define DENTS_FILES 100
#define BIG_HEAP (64ul << 20)

static const char *case_gettimeofday(long n)
{
	struct timeval tv;
	bench_start();
	for (long i = 0; i < n; i++)
		if (gettimeofday(&tv, NULL) != 0)
			return bench_fail("gettimeofday");
	bench_stop();
	return NULL;
}

static const char *case_time(long n)
{
	bench_start();
	for (long i = 0; i < n; i++)
		if (time(NULL) == (time_t)-1)
			return bench_fail("time");
	bench_stop();
	return NULL;
}

static const char *case_getcpu(long n)
{
	bench_start();
	for (long i = 0; i < n; i++)
		if (sched_getcpu() < 0)
			return bench_fail("sched_getcpu");
	bench_stop();
	return NULL;
}

static const char *case_fstat(long n)
{
	struct stat st;
	if (make_test_file() < 0)
		return bench_fail("create " TEST_FILE);
	int fd = open(TEST_FILE, O_RDONLY);
	if (fd < 0)
		return bench_fail("open " TEST_FILE);
	bench_start();
	for (long i = 0; i < n; i++)
		if (fstat(fd, &st) != 0)
			return bench_fail("fstat " TEST_FILE);
	bench_stop();
	close(fd);
	unlink(TEST_FILE);
	return NULL;
}

/* Creates DENTS_DIR with DENTS_FILES empty files (kept if it already exists and is full). */
static int make_dents_dir(void)
{
	char path[64];
	if (mkdir(DENTS_DIR, 0755) != 0 && errno != EEXIST)
		return -1;
	for (int i = 0; i < DENTS_FILES; i++) {
		snprintf(path, sizeof path, DENTS_DIR "/f%03d", i);
		int fd = open(path, O_WRONLY | O_CREAT, 0644);
		if (fd < 0)
			return -1;
		close(fd);
	}
	return 0;
}

/* One operation: rewind the directory and read it to the end (102 entries with . and ..). */
static const char *case_getdents64(long n)
{
	static char buf[16384];
	if (make_dents_dir() != 0)
		return bench_fail("create " DENTS_DIR);
	int fd = open(DENTS_DIR, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return bench_fail("open " DENTS_DIR);
	bench_start();
	for (long i = 0; i < n; i++) {
		if (lseek(fd, 0, SEEK_SET) != 0)
			return bench_fail("lseek " DENTS_DIR);
		long entries = 0;
		for (;;) {
			long got = syscall(SYS_getdents64, fd, buf, sizeof buf);
			if (got < 0)
				return bench_fail("getdents64");
			if (got == 0)
				break;
			for (long off = 0; off < got;) {
				unsigned short reclen;
				memcpy(&reclen, buf + off + 16, sizeof reclen); /* d_reclen */
				if (reclen == 0)
					return bench_fail("getdents64: zero d_reclen");
				off += reclen;
				entries++;
			}
		}
		if (entries != DENTS_FILES + 2) {
			errno = EIO;
			return bench_fail("getdents64: wrong entry count");
		}
	}
	bench_stop();
	close(fd);
	return NULL;
}

/*
 * The child writes n + 1 chunks of `chunk` bytes; the parent reads them in chunks of the same
 * size, the first untimed.  Appends " MBps=<x>" to the result line.
 */
static const char *pipe_throughput(long n, size_t chunk)
{
	static char buf[64 * 1024];
	int p[2];
	if (chunk > sizeof buf)
		return bench_fail("chunk too large");
	if (pipe(p) != 0)
		return bench_fail("pipe");
	memset(buf, 'b', sizeof buf);
	pid_t pid = fork();
	if (pid < 0)
		return bench_fail("fork");
	if (pid == 0) {
		close(p[0]);
		for (long i = 0; i <= n; i++)
			if (write_full(p[1], buf, chunk) != 0)
				_exit(1);
		_exit(0);
	}
	close(p[1]);
	for (long i = 0; i <= n; i++) {
		if (i == 1)
			bench_start();
		if (read_full(p[0], buf, chunk) != 0)
			return bench_fail("pipe read");
	}
	bench_stop();
	close(p[0]);
	if (wait_ok(pid) != 0)
		return bench_fail("writer status");
	uint64_t ns = bench_ns_total ? bench_ns_total : 1;
	uint64_t mbps10 = (uint64_t)n * chunk * 10000ull / ns; /* 10 x bytes per us */
	snprintf(bench_extra, sizeof bench_extra, " MBps=%llu.%llu", (unsigned long long)(mbps10 / 10),
		 (unsigned long long)(mbps10 % 10));
	return NULL;
}

static const char *case_pipe_throughput_4k(long n)
{
	return pipe_throughput(n, 4096);
}

static const char *case_pipe_throughput_64k(long n)
{
	return pipe_throughput(n, 64 * 1024);
}

/* fork+exit+wait from a parent whose 64 MiB anonymous heap is touched (mapped once). */
static const char *case_fork_exit_wait_64m(long n)
{
	static char *heap;
	if (!heap) {
		char *p = mmap(NULL, BIG_HEAP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return bench_fail("mmap 64 MiB");
		madvise(p, BIG_HEAP, MADV_NOHUGEPAGE); /* 4 KiB pages on Linux too */
		for (size_t off = 0; off < BIG_HEAP; off += PAGE)
			p[off] = 1;
		heap = p;
	}
	return case_fork_exit_wait(n); /* the same loop, with the big heap mapped */
}

static const char *case_vfork_execve_wait(long n)
{
	char *argv[] = { (char *)self_path, "exit", NULL };
	char *envp[] = { NULL };
	if (!self_path || access(self_path, X_OK) != 0)
		return bench_fail("no executable path of this program (set BENCH_SELF)");
	bench_start();
	for (long i = 0; i < n; i++) {
		pid_t pid = vfork();
		if (pid < 0)
			return bench_fail("vfork");
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

#endif
