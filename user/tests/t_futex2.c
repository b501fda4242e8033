/*
 * t_futex2 - the futex2 calls (Linux 6.7+): futex_wake, futex_wait, futex_requeue — flags
 * (32-bit words only, EINVAL for other sizes and NUMA), masks, absolute timeouts on a named
 * clock, value mismatch (EAGAIN), requeue between words, and interplay with the classic
 * futex(2) on the same word.
 */
#define UTEST_PROGRAM "t_futex2"
#include "utest.h"

#include <pthread.h>
#include <stdatomic.h>

#ifndef SYS_futex_wake
#define SYS_futex_wake 454
#define SYS_futex_wait 455
#define SYS_futex_requeue 456
#endif
#ifndef FUTEX_WAIT_PRIVATE
#define FUTEX_WAIT_PRIVATE 128
#endif
#define F2_U8 0x00
#define F2_U32 0x02
#define F2_NUMA 0x04
#define F2_PRIVATE 128

struct waitv {
	uint64_t val, uaddr;
	uint32_t flags, reserved;
};

static uint32_t word_a, word_b;
static atomic_int started, finished;

static long f2_wake(uint32_t *w, unsigned long mask, int n, unsigned flags)
{
	return syscall(SYS_futex_wake, w, mask, n, flags);
}

static long f2_wait(uint32_t *w, unsigned long val, unsigned long mask, unsigned flags, struct timespec *ts, int clock)
{
	return syscall(SYS_futex_wait, w, val, mask, flags, ts, clock);
}

struct arg {
	uint32_t *word;
	unsigned long mask;
	int classic;
	long result;
};

static void *waiter(void *p)
{
	struct arg *a = p;
	atomic_fetch_add(&started, 1);
	if (a->classic)
		a->result = syscall(SYS_futex, a->word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	else
		a->result = f2_wait(a->word, 0, a->mask, F2_U32 | F2_PRIVATE, NULL, 0);
	atomic_fetch_add(&finished, 1);
	return NULL;
}

/* Wakes `word` with `mask` until `want` waiters were woken (they may not be queued yet). */
static long wake_until(uint32_t *word, unsigned long mask, int want)
{
	long total = 0;
	for (int i = 0; i < 2000 && total < want; i++) {
		long n = f2_wake(word, mask, want - total, F2_U32 | F2_PRIVATE);
		if (n < 0)
			return n;
		total += n;
		if (total < want)
			usleep(1000);
	}
	return total;
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	CHECK_RET("wake_nobody", f2_wake(&word_a, ~0u, 1, F2_U32 | F2_PRIVATE), 0);
	CHECK_RET("wake_zero", f2_wake(&word_a, ~0u, 0, F2_U32), 0);
	CHECK_ERR("wake_u8", f2_wake(&word_a, ~0u, 1, F2_U8), EINVAL);
	/* A NUMA futex: the value, then its node (-1: any, which the kernel replaces). */
	static uint32_t numa[2] = {0, 0xffffffffu};
	CHECK_RET("wake_numa", f2_wake(numa, ~0u, 1, F2_U32 | F2_NUMA), 0);
	CHECKF("numa_node_set", numa[1] != 0xffffffffu, "node word %#x", numa[1]);
	numa[1] = 4000;
	CHECK_ERR("wake_numa_bad_node", f2_wake(numa, ~0u, 1, F2_U32 | F2_NUMA), EINVAL);
	CHECK_ERR("wake_bad_flag", f2_wake(&word_a, ~0u, 1, F2_U32 | 0x10000), EINVAL);
	CHECK_ERR("wake_mask_zero", f2_wake(&word_a, 0, 1, F2_U32), EINVAL);
	CHECK_ERR("wake_mask_wide", f2_wake(&word_a, 1ul << 40, 1, F2_U32), EINVAL);
	CHECK_ERR("wait_mismatch", f2_wait(&word_a, 5, ~0u, F2_U32, NULL, 0), EAGAIN);
	CHECK_ERR("wait_value_wide", f2_wait(&word_a, 1ul << 33, ~0u, F2_U32, NULL, 0), EINVAL);
	CHECK_ERR("wait_mask_zero", f2_wait(&word_a, 0, 0, F2_U32, NULL, 0), EINVAL);
	CHECK_ERR("wait_fault", f2_wait((uint32_t *)8, 0, ~0u, F2_U32, NULL, 0), EFAULT);
	struct timespec past;
	clock_gettime(CLOCK_MONOTONIC, &past);
	CHECK_ERR("wait_timeout_monotonic", f2_wait(&word_a, 0, ~0u, F2_U32, &past, CLOCK_MONOTONIC), ETIMEDOUT);
	struct timespec soon;
	clock_gettime(CLOCK_REALTIME, &soon);
	soon.tv_nsec += 20 * 1000 * 1000;
	if (soon.tv_nsec >= 1000000000) {
		soon.tv_sec++;
		soon.tv_nsec -= 1000000000;
	}
	CHECK_ERR("wait_timeout_realtime", f2_wait(&word_a, 0, ~0u, F2_U32, &soon, CLOCK_REALTIME), ETIMEDOUT);
	CHECK_ERR("wait_bad_clock", f2_wait(&word_a, 0, ~0u, F2_U32, &past, CLOCK_BOOTTIME), EINVAL);

	/* A futex2 waiter woken by futex_wake; the mask must intersect. */
	pthread_t t;
	struct arg a = {&word_a, 0x1, 0, -99};
	pthread_create(&t, NULL, waiter, &a);
	while (atomic_load(&started) < 1)
		usleep(1000);
	usleep(20000);
	CHECK_RET("wake_other_mask", f2_wake(&word_a, 0x2, 1, F2_U32 | F2_PRIVATE), 0);
	CHECK_RET("wake_mask", wake_until(&word_a, 0x1, 1), 1);
	pthread_join(t, NULL);
	CHECK_RET("waiter_result", a.result, 0);

	/* A classic FUTEX_WAIT_PRIVATE waiter, woken by futex_wake. */
	struct arg c = {&word_a, ~0u, 1, -99};
	pthread_create(&t, NULL, waiter, &c);
	CHECK_RET("wake_classic_waiter", wake_until(&word_a, ~0u, 1), 1);
	pthread_join(t, NULL);
	CHECK_RET("classic_result", c.result, 0);

	/* Requeue: two waiters on a, one woken, one moved to b, then woken there. */
	struct waitv wv[2] = {{0, (uintptr_t)&word_a, F2_U32 | F2_PRIVATE, 0}, {0, (uintptr_t)&word_b, F2_U32 | F2_PRIVATE, 0}};
	CHECK_ERR("requeue_flags", syscall(SYS_futex_requeue, wv, 1, 1, 1), EINVAL);
	wv[1].reserved = 1;
	CHECK_ERR("requeue_reserved", syscall(SYS_futex_requeue, wv, 0, 1, 1), EINVAL);
	wv[1].reserved = 0;
	wv[0].val = 3;
	CHECK_ERR("requeue_mismatch", syscall(SYS_futex_requeue, wv, 0, 1, 1), EAGAIN);
	wv[0].val = 0;
	wv[0].flags = F2_U8;
	CHECK_ERR("requeue_bad_size", syscall(SYS_futex_requeue, wv, 0, 1, 1), EINVAL);
	wv[0].flags = F2_U32 | F2_PRIVATE;
	CHECK_ERR("requeue_fault", syscall(SYS_futex_requeue, (void *)8, 0, 1, 1), EFAULT);
	struct arg r1 = {&word_a, ~0u, 0, -99}, r2 = {&word_a, ~0u, 0, -99};
	pthread_t t1, t2;
	atomic_store(&started, 0);
	atomic_store(&finished, 0);
	pthread_create(&t1, NULL, waiter, &r1);
	pthread_create(&t2, NULL, waiter, &r2);
	while (atomic_load(&started) < 2)
		usleep(1000);
	usleep(50000);
	/* Each call wakes one waiter of a and moves one to b: 2 when both were queued. */
	long handled = 0;
	for (int i = 0; i < 2000 && handled < 2; i++) {
		long n = syscall(SYS_futex_requeue, wv, 0, 1, 1);
		if (n < 0)
			break;
		handled += n;
		if (handled < 2)
			usleep(1000);
	}
	CHECKF("requeue", handled == 2, "requeue handled %ld waiters", handled);
	for (int i = 0; i < 2000 && atomic_load(&finished) < 2; i++) {
		f2_wake(&word_b, ~0u, 2, F2_U32 | F2_PRIVATE);
		usleep(1000);
	}
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	CHECK("requeue_all_woken", r1.result == 0 && r2.result == 0);
	return utest_done();
}
