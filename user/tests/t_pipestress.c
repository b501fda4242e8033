/*
 * t_pipestress - pipes under load: many writer and reader processes on one pipe with random
 * transfer sizes (every byte and its checksum accounted for, blocking writes of up to PIPE_BUF
 * bytes never short), the `dd bs=64k count=64 | cat | wc -c` pipeline of issue 11 (it froze the whole
 * system on one CPU), and a sleeping process that keeps running meanwhile.
 * Every child arms alarm(): a lost wake-up ends it with SIGALRM instead of hanging the test.
 */
#define UTEST_PROGRAM "t_pipestress"
#include "utest.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>

#define WRITERS 4
#define READERS 3
#define PER_WRITER (1536 * 1024)
#define CHAIN_BLOCKS 64
#define CHAIN_BLOCK 65536

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A random size: often small (atomic writes), sometimes up to 96 KiB (split writes). */
static size_t random_size(uint64_t *s)
{
	uint64_t r = rng_next(s);
	switch (r & 3) {
	case 0: return 1 + (r >> 8) % 64;
	case 1: return 1 + (r >> 8) % PIPE_BUF;
	case 2: return 1 + (r >> 8) % 16384;
	default: return 1 + (r >> 8) % (96 * 1024);
	}
}

struct totals {
	uint64_t bytes, sum, torn;
};

/* Writer w writes the byte w+1 in writes of random sizes; the readers count bytes and sum them,
 * so a lost, duplicated or corrupted byte shows. A blocking write of up to PIPE_BUF bytes must
 * never come back short. */
static void writer(int fd, int w, struct totals *out)
{
	static unsigned char buf[96 * 1024];
	uint64_t seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(w + 1);
	uint64_t left = PER_WRITER;
	memset(buf, w + 1, sizeof buf);
	while (left > 0) {
		size_t n = random_size(&seed);
		if (n > left)
			n = left;
		ssize_t r = write(fd, buf, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			_exit(10);
		if (n <= PIPE_BUF && (size_t)r != n)
			out->torn++;
		left -= (uint64_t)r;
		out->bytes += (uint64_t)r;
		out->sum += (uint64_t)r * (uint64_t)(w + 1);
	}
}

static void reader(int fd, int r, struct totals *out)
{
	static unsigned char buf[128 * 1024];
	uint64_t seed = 0x2545f4914f6cdd1dULL * (uint64_t)(r + 7);
	for (;;) {
		size_t n = random_size(&seed);
		ssize_t got = read(fd, buf, n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			_exit(11);
		if (got == 0)
			return;
		out->bytes += (uint64_t)got;
		for (ssize_t i = 0; i < got; i++)
			out->sum += buf[i];
	}
}

static void many_writers_readers(void)
{
	struct totals *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED) {
		utest_fail("many", "mmap: %s", utest_errname(errno));
		return;
	}
	memset(shared, 0, 4096);
	int p[2];
	if (pipe(p) != 0) {
		utest_fail("many", "pipe: %s", utest_errname(errno));
		return;
	}
	pid_t pids[WRITERS + READERS];
	for (int i = 0; i < WRITERS + READERS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			alarm(60);
			if (i < WRITERS) {
				close(p[0]);
				writer(p[1], i, &shared[i]);
			} else {
				close(p[1]);
				reader(p[0], i - WRITERS, &shared[i]);
			}
			_exit(0);
		}
	}
	close(p[0]);
	close(p[1]);
	int bad = 0;
	char detail[256] = "";
	for (int i = 0; i < WRITERS + READERS; i++) {
		int st = utest_wait(pids[i]);
		if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0) && !bad) {
			bad = 1;
			snprintf(detail, sizeof detail, "child %d: %s", i, utest_wstr(st));
		}
	}
	struct totals in = {0}, out = {0};
	for (int i = 0; i < WRITERS; i++) {
		in.bytes += shared[i].bytes;
		in.sum += shared[i].sum;
		in.torn += shared[i].torn;
	}
	for (int i = WRITERS; i < WRITERS + READERS; i++) {
		out.bytes += shared[i].bytes;
		out.sum += shared[i].sum;
	}
	CHECKF("many.children", !bad, "%s", detail);
	CHECKF("many.bytes", in.bytes == (uint64_t)WRITERS * PER_WRITER && out.bytes == in.bytes,
	       "written %llu read %llu expected %llu", (unsigned long long)in.bytes,
	       (unsigned long long)out.bytes, (unsigned long long)WRITERS * PER_WRITER);
	CHECKF("many.checksum", out.sum == in.sum, "written %llu read %llu",
	       (unsigned long long)in.sum, (unsigned long long)out.sum);
	CHECKF("many.atomic", in.torn == 0, "%llu small writes were split", (unsigned long long)in.torn);
	munmap(shared, 4096);
}

/* dd if=/dev/zero bs=65536 count=64 | cat | wc -c, with a sleeper that must keep ticking. */
static void chain(void)
{
	int a[2], b[2], c[2], tick[2];
	if (pipe(tick)) {
		utest_fail("chain", "pipe: %s", utest_errname(errno));
		return;
	}
	pid_t sleeper = fork();
	if (sleeper == 0) {
		/* The background `while sleep 1; do echo alive; done` of the issue, faster. */
		close(tick[0]);
		alarm(60);
		for (;;) {
			struct timespec ts = { 0, 20 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			if (write(tick[1], "t", 1) != 1)
				_exit(0);
		}
	}
	close(tick[1]);
	fcntl(tick[0], F_SETFL, O_NONBLOCK);
	if (pipe(a) || pipe(b) || pipe(c)) {
		utest_fail("chain", "pipe: %s", utest_errname(errno));
		return;
	}
	pid_t dd = fork();
	if (dd == 0) {
		static char block[CHAIN_BLOCK];
		alarm(60);
		dup2(a[1], 1);
		close(a[0]); close(a[1]); close(b[0]); close(b[1]); close(c[0]); close(c[1]);
		for (int i = 0; i < CHAIN_BLOCKS; i++) {
			size_t done = 0;
			while (done < sizeof block) {
				ssize_t n = write(1, block + done, sizeof block - done);
				if (n <= 0)
					_exit(12);
				done += (size_t)n;
			}
		}
		_exit(0);
	}
	pid_t cat = fork();
	if (cat == 0) {
		static char buf[CHAIN_BLOCK];
		alarm(60);
		dup2(a[0], 0);
		dup2(b[1], 1);
		close(a[0]); close(a[1]); close(b[0]); close(b[1]); close(c[0]); close(c[1]);
		for (;;) {
			ssize_t n = read(0, buf, sizeof buf);
			if (n == 0)
				_exit(0);
			if (n < 0)
				_exit(13);
			for (ssize_t done = 0; done < n;) {
				ssize_t w = write(1, buf + done, (size_t)(n - done));
				if (w <= 0)
					_exit(14);
				done += w;
			}
		}
	}
	pid_t wc = fork();
	if (wc == 0) {
		static char buf[4096];
		alarm(60);
		close(a[0]); close(a[1]); close(b[1]); close(c[0]);
		uint64_t count = 0;
		for (;;) {
			ssize_t n = read(b[0], buf, sizeof buf);
			if (n == 0)
				break;
			if (n < 0)
				_exit(15);
			count += (uint64_t)n;
		}
		if (write(c[1], &count, sizeof count) != sizeof count)
			_exit(16);
		_exit(0);
	}
	close(a[0]); close(a[1]); close(b[0]); close(b[1]); close(c[1]);
	int ticks_before = 0;
	char t[64];
	ssize_t n;
	while ((n = read(tick[0], t, sizeof t)) > 0)
		ticks_before += (int)n;
	uint64_t count = 0;
	ssize_t got = read(c[0], &count, sizeof count);
	int st_dd = utest_wait(dd), st_cat = utest_wait(cat), st_wc = utest_wait(wc);
	/* Let the sleeper tick a few more times: it must still be scheduled. */
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	int ticks = 0;
	while ((n = read(tick[0], t, sizeof t)) > 0)
		ticks += (int)n;
	kill(sleeper, SIGKILL);
	utest_wait(sleeper);
	close(tick[0]);
	close(c[0]);
	CHECKF("chain.count", got == sizeof count && count == (uint64_t)CHAIN_BLOCKS * CHAIN_BLOCK,
	       "wc got %llu (read %zd), expected %d", (unsigned long long)count, got, CHAIN_BLOCKS * CHAIN_BLOCK);
	CHECKF("chain.exits", WIFEXITED(st_dd) && !WEXITSTATUS(st_dd) && WIFEXITED(st_cat) &&
	       !WEXITSTATUS(st_cat) && WIFEXITED(st_wc) && !WEXITSTATUS(st_wc),
	       "dd %s, cat %d, wc %d", utest_wstr(st_dd), st_cat, st_wc);
	CHECKF("chain.sleeper_runs", ticks > 0, "the sleeper ticked %d times before, 0 after", ticks_before);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	many_writers_readers();
	chain();
	return utest_done();
}
