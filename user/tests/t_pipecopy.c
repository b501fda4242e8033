/*
 * t_pipecopy - read(2)/write(2) on a pipe copy straight between user memory and the pipe's
 * ring (no kernel bounce buffer): a bad user buffer must never lose or invent bytes. A read
 * into a bad buffer fails with EFAULT and leaves the bytes in the pipe; an atomic write
 * (<= PIPE_BUF) from a partly bad buffer puts nothing in; any call that reports n bytes moved
 * exactly n; data that wraps around the ring and large transfers come out in order.
 */
#define UTEST_PROGRAM "t_pipecopy"
#include "utest.h"

#include <sys/ioctl.h>
#include <sys/mman.h>

#define PAGE 4096

static int held(int fd)
{
	int n = -1;
	if (ioctl(fd, FIONREAD, &n) != 0)
		return -1;
	return n;
}

/* Two pages, the second PROT_NONE: returns the start of the first. */
static char *guarded(void)
{
	char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || mprotect(p + PAGE, PAGE, PROT_NONE) != 0)
		return NULL;
	return p;
}

static void bad_buffers(void)
{
	int p[2];
	char buf[256];
	char *g = guarded();
	if (!CHECK("guarded_mmap", g != NULL) || !CHECK_RET("pipe", pipe(p), 0))
		return;
	memset(g, 'g', PAGE);
	CHECK_RET("write10", write(p[1], "0123456789", 10), 10);
	CHECK_ERR("read_null", syscall(SYS_read, p[0], NULL, 10), EFAULT);
	CHECK_EQ("read_null_keeps", held(p[0]), 10);
	CHECK_ERR("read_guard", syscall(SYS_read, p[0], g + PAGE, 10), EFAULT);
	CHECK_EQ("read_guard_keeps", held(p[0]), 10);
	/* Half of the buffer is bad: whatever is reported read has left the pipe, no more. */
	long r = syscall(SYS_read, p[0], g + PAGE - 4, 10);
	CHECKF("read_straddle", (r < 0 && errno == EFAULT && held(p[0]) == 10) || (r > 0 && held(p[0]) == 10 - r),
	       "r=%ld held=%d", r, held(p[0]));
	while (held(p[0]) > 0 && read(p[0], buf, sizeof buf) > 0)
		;
	CHECK_ERR("write_null", syscall(SYS_write, p[1], NULL, 10), EFAULT);
	CHECK_ERR("write_atomic_straddle", syscall(SYS_write, p[1], g + PAGE - 100, 200), EFAULT);
	CHECK_EQ("write_atomic_straddle_nothing", held(p[0]), 0);
	/* A large write from a partly bad buffer: what it reports is what the pipe holds. */
	char *big = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (CHECK("big_mmap", big != MAP_FAILED) && CHECK_RET("big_guard", mprotect(big + 3 * PAGE, PAGE, PROT_NONE), 0)) {
		memset(big, 'b', 3 * PAGE);
		long w = syscall(SYS_write, p[1], big + PAGE, 3 * PAGE);
		CHECKF("write_large_straddle", (w < 0 && errno == EFAULT && held(p[0]) == 0) || (w > 0 && held(p[0]) == w),
		       "w=%ld held=%d", w, held(p[0]));
		munmap(big, 4 * PAGE);
	}
	/* The copy moves 8-byte words, then the tail: whatever the fault's offset within a word or
	 * the tail, the count reported is what reached the buffer and what left the pipe. */
	static const char pattern[] = "0123456789abcdefghijklmnopqrstuvwxyzABCD";
	int bad = 0;
	for (int k = 0; k <= 24 && !bad; k++) {
		while (held(p[0]) > 0 && read(p[0], buf, sizeof buf) > 0)
			;
		if (write(p[1], pattern, 40) != 40) {
			bad = 1000 + k;
			break;
		}
		memset(g + PAGE - 40, 'g', 40);
		long r = syscall(SYS_read, p[0], g + PAGE - k, 40);
		if (r < 0)
			bad = (errno == EFAULT && held(p[0]) == 40) ? 0 : 2000 + k;
		else if (r > k || held(p[0]) != 40 - r || memcmp(g + PAGE - k, pattern, (size_t)r) != 0)
			bad = 3000 + k;
	}
	CHECKF("read_straddle_every_offset", bad == 0, "case %d", bad);
	close(p[0]);
	close(p[1]);
	munmap(g, 2 * PAGE);
}

/* Odd-sized writes and reads walk the data around the ring many times; a checksum of positions. */
static void wrapping_order(void)
{
	int p[2];
	static unsigned char out[9000], in[9000];
	if (!CHECK_RET("pipe2", pipe(p), 0))
		return;
	unsigned long pos_w = 0, pos_r = 0, bad = 0;
	for (int round = 0; round < 200; round++) {
		size_t n = 1 + (size_t)(round * 7919) % sizeof out;
		for (size_t i = 0; i < n; i++)
			out[i] = (unsigned char)((pos_w + i) * 31);
		if (write(p[1], out, n) != (ssize_t)n) {
			bad++;
			break;
		}
		pos_w += n;
		while (pos_r < pos_w) {
			size_t want = 1 + (size_t)(pos_r * 13) % sizeof in;
			ssize_t got = read(p[0], in, want);
			if (got <= 0) {
				bad++;
				break;
			}
			for (ssize_t i = 0; i < got; i++)
				if (in[i] != (unsigned char)((pos_r + (unsigned long)i) * 31))
					bad++;
			pos_r += (unsigned long)got;
		}
	}
	CHECKF("wrap_order", bad == 0 && pos_r == pos_w, "bad=%lu read=%lu written=%lu", bad, pos_r, pos_w);
	close(p[0]);
	close(p[1]);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	bad_buffers();
	wrapping_order();
	return utest_done();
}
