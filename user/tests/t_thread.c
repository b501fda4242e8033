/*
 * t_thread - threads (built with musl and glibc): pthread create/join/detach/exit, mutexes,
 * condition variables, __thread variables, gettid, raw futex operations and their error cases,
 * sched_yield, sched_getaffinity, arch_prctl(ARCH_GET_FS), set_robust_list and exit_group
 * from a secondary thread.
 */
#define UTEST_PROGRAM "t_thread"
#include "utest.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

/* <linux/futex.h> is not available with musl-gcc: the ABI values. */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAIT_BITSET 9
#define FUTEX_PRIVATE_FLAG 128
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004

static long futex(void *uaddr, int op, int val, const void *timeout, void *uaddr2, int val3)
{
	return syscall(SYS_futex, uaddr, op, val, timeout, uaddr2, val3);
}

static __thread int tls_val = 42;
static __thread long tls_bss;

/* ---- create/join, TLS, tids ---- */

struct info {
	int idx;
	pid_t tid, pid;
	int tls_ok;
	void *tls_addr;
	void *fs_base, *fs0, *self;
};

static void *info_thread(void *p)
{
	struct info *in = p;
	in->tls_ok = tls_val == 42 && tls_bss == 0;
	tls_val = in->idx;
	tls_bss = in->idx * 3L;
	in->tid = (pid_t)syscall(SYS_gettid);
	in->pid = getpid();
	in->tls_addr = &tls_val;
	unsigned long fs = 0;
	syscall(SYS_arch_prctl, ARCH_GET_FS, &fs);
	in->fs_base = (void *)fs;
	__asm__ volatile("mov %%fs:0, %0" : "=r"(in->fs0));
	in->self = (void *)pthread_self();
	sched_yield();
	in->tls_ok = in->tls_ok && tls_val == in->idx && tls_bss == in->idx * 3L;
	return (void *)(long)(in->idx * 2 + 1);
}

static void check_create_join(void)
{
	enum { N = 16 };
	pthread_t th[N];
	struct info in[N];
	int created = 0, ok = 1;
	for (int i = 0; i < N; i++) {
		in[i] = (struct info){ .idx = i + 1 };
		if (pthread_create(&th[i], NULL, info_thread, &in[i]) != 0)
			break;
		created++;
	}
	CHECKF("create16", created == N, "created %d of %d", created, N);
	for (int i = 0; i < created; i++) {
		void *ret;
		ok = ok && pthread_join(th[i], &ret) == 0 && ret == (void *)(long)((i + 1) * 2 + 1);
	}
	CHECK("join16_values", ok && created == N);

	pid_t me = getpid();
	int tids_ok = 1, tls_ok = tls_val == 42, fs_ok = 1;
	for (int i = 0; i < created; i++) {
		tids_ok = tids_ok && in[i].pid == me && in[i].tid > 0 && in[i].tid != me;
		tls_ok = tls_ok && in[i].tls_ok && in[i].tls_addr != (void *)&tls_val;
		fs_ok = fs_ok && in[i].fs_base == in[i].fs0 && in[i].fs_base == in[i].self;
		for (int j = 0; j < i; j++) {
			tids_ok = tids_ok && in[i].tid != in[j].tid;
			tls_ok = tls_ok && in[i].tls_addr != in[j].tls_addr;
		}
	}
	CHECK("gettid_distinct_getpid_same", tids_ok);
	CHECK("tls_per_thread", tls_ok);
	CHECK("arch_prctl.thread_fs", fs_ok);
}

/* ---- mutex, condvar, detach, pthread_exit ---- */

static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long counter;
static int turn, rounds_done;

static void *incr_thread(void *p)
{
	(void)p;
	for (int i = 0; i < 100000; i++) {
		pthread_mutex_lock(&mtx);
		counter++;
		pthread_mutex_unlock(&mtx);
	}
	return NULL;
}

static void *pingpong_thread(void *p)
{
	int me = (int)(long)p;
	for (int i = 0; i < 1000; i++) {
		pthread_mutex_lock(&mtx);
		while (turn != me)
			pthread_cond_wait(&cond, &mtx);
		turn = 1 - me;
		rounds_done++;
		pthread_cond_broadcast(&cond);
		pthread_mutex_unlock(&mtx);
	}
	return NULL;
}

static atomic_int detached_done;
static void *detached_thread(void *p)
{
	(void)p;
	atomic_store(&detached_done, 1);
	return NULL;
}

__attribute__((noinline)) static void exit_from_callee(long v)
{
	pthread_exit((void *)v);
}
static void *exiting_thread(void *p)
{
	(void)p;
	exit_from_callee(0x1234);
	return NULL;
}

static void check_sync(void)
{
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, incr_thread, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	CHECK_EQ("mutex_counter", counter, 400000);

	turn = 0;
	rounds_done = 0;
	pthread_create(&th[0], NULL, pingpong_thread, (void *)0L);
	pthread_create(&th[1], NULL, pingpong_thread, (void *)1L);
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);
	CHECK_EQ("condvar_pingpong", rounds_done, 2000);

	pthread_t d;
	int r = pthread_create(&d, NULL, detached_thread, NULL);
	CHECK_RET("detach", r == 0 ? pthread_detach(d) : r, 0);
	int64_t end = utest_now_ns(CLOCK_MONOTONIC) + 5000000000LL;
	while (!atomic_load(&detached_done) && utest_now_ns(CLOCK_MONOTONIC) < end)
		utest_sleep_ms(1);
	CHECK("detached_ran", atomic_load(&detached_done));

	void *ret = NULL;
	pthread_create(&d, NULL, exiting_thread, NULL);
	CHECK_RET("pthread_exit.join", pthread_join(d, &ret), 0);
	CHECK_EQ("pthread_exit.value", ret, 0x1234);
}

/* ---- raw futex ---- */

static atomic_int fword, fword2, waiter_ready;
static volatile long waiter_ret;
static volatile int waiter_errno;

static void *futex_waiter(void *p)
{
	atomic_store(&waiter_ready, 1);
	long r;
	do {
		r = futex(p, FUTEX_WAIT, 0, NULL, NULL, 0);
	} while (r == -1 && errno == EINTR);
	waiter_ret = r;
	waiter_errno = r < 0 ? errno : 0;
	return NULL;
}

/* Waits 300 ms at most on the word (no retry: the result is what the wait returned). */
static void *futex_timed_waiter(void *p)
{
	struct timespec to = { 0, 300000000 };
	atomic_store(&waiter_ready, 1);
	long r = futex(p, FUTEX_WAIT, 0, &to, NULL, 0);
	waiter_ret = r;
	waiter_errno = r < 0 ? errno : 0;
	return NULL;
}

static void check_futex(void)
{
	atomic_store(&fword, 1);
	CHECK_SYSERR("futex.wait_mismatch", futex(&fword, FUTEX_WAIT, 0, NULL, NULL, 0), EAGAIN);
	CHECK_SYSERR("futex.wait_private_mismatch",
		     futex(&fword, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 0, NULL, NULL, 0), EAGAIN);

	struct timespec to = { 0, 10000000 };
	int64_t t0 = utest_now_ns(CLOCK_MONOTONIC);
	CHECK_SYSERR("futex.wait_timeout", futex(&fword, FUTEX_WAIT, 1, &to, NULL, 0), ETIMEDOUT);
	int64_t el = utest_now_ns(CLOCK_MONOTONIC) - t0;
	CHECKF("futex.wait_timeout_slept", el >= 10000000 && el < 5000000000LL, "slept %lld ns",
	       (long long)el);
	struct timespec badto = { 0, 1000000000 };
	CHECK_SYSERR("futex.wait_bad_timeout", futex(&fword, FUTEX_WAIT, 1, &badto, NULL, 0), EINVAL);

	CHECK_RET("futex.wake_nobody", futex(&fword, FUTEX_WAKE, 1, NULL, NULL, 0), 0);

	/* WAKE returns the number woken: wake until the waiter is actually asleep. */
	pthread_t th;
	atomic_store(&fword, 0);
	atomic_store(&waiter_ready, 0);
	waiter_ret = -2;
	pthread_create(&th, NULL, futex_waiter, &fword);
	long woke = 0;
	int64_t end = utest_now_ns(CLOCK_MONOTONIC) + 5000000000LL;
	while (woke == 0 && utest_now_ns(CLOCK_MONOTONIC) < end) {
		utest_sleep_ms(1);
		woke = futex(&fword, FUTEX_WAKE, 10, NULL, NULL, 0);
	}
	pthread_join(th, NULL);
	CHECK_EQ("futex.wake_count", woke, 1);
	CHECKF("futex.waiter_returned_0", waiter_ret == 0, "waiter got %ld errno %d", waiter_ret,
	       waiter_errno);

	/* REQUEUE (wake 0, requeue 1) moves the waiter; a wake on the second word frees it. */
	atomic_store(&fword, 0);
	atomic_store(&waiter_ready, 0);
	waiter_ret = -2;
	pthread_create(&th, NULL, futex_waiter, &fword);
	long rq = -1, woke2 = 0;
	end = utest_now_ns(CLOCK_MONOTONIC) + 5000000000LL;
	while (woke2 == 0 && utest_now_ns(CLOCK_MONOTONIC) < end) {
		utest_sleep_ms(1);
		rq = futex(&fword, FUTEX_REQUEUE, 0, (void *)1L, &fword2, 0);
		woke2 = futex(&fword2, FUTEX_WAKE, 1, NULL, NULL, 0);
	}
	pthread_join(th, NULL);
	CHECKF("futex.requeue", woke2 == 1 && rq == 1 && waiter_ret == 0,
	       "requeue returned %ld, wake on 2nd word %ld, waiter %ld", rq, woke2, waiter_ret);

	/* A requeued waiter that times out leaves the second word's queue: nothing stale stays
	 * there for a later wake to count. */
	atomic_store(&fword, 0);
	atomic_store(&fword2, 0);
	atomic_store(&waiter_ready, 0);
	waiter_ret = -2;
	pthread_create(&th, NULL, futex_timed_waiter, &fword);
	rq = 0;
	end = utest_now_ns(CLOCK_MONOTONIC) + 5000000000LL;
	while (rq == 0 && utest_now_ns(CLOCK_MONOTONIC) < end) {
		utest_sleep_ms(1);
		rq = futex(&fword, FUTEX_REQUEUE, 0, (void *)1L, &fword2, 0);
	}
	pthread_join(th, NULL);
	CHECKF("futex.requeued_then_timed_out", rq == 1 && waiter_ret == -1 && waiter_errno == ETIMEDOUT,
	       "requeue returned %ld, waiter %ld errno %d", rq, waiter_ret, waiter_errno);
	CHECK_RET("futex.requeued_waiter_left", futex(&fword2, FUTEX_WAKE, 10, NULL, NULL, 0), 0);
	CHECK_RET("futex.first_word_empty", futex(&fword, FUTEX_WAKE, 10, NULL, NULL, 0), 0);

	int word = 5;
	CHECK_SYSERR("futex.cmp_requeue_mismatch",
		     futex(&word, FUTEX_CMP_REQUEUE, 1, (void *)1L, &fword2, 6), EAGAIN);
	CHECK_RET("futex.cmp_requeue_match", futex(&word, FUTEX_CMP_REQUEUE, 1, (void *)1L, &fword2, 5), 0);
	CHECK_SYSERR("futex.bitset_zero", futex(&word, FUTEX_WAIT_BITSET, 5, NULL, NULL, 0), EINVAL);
	CHECK_SYSERR("futex.wait_null", futex(NULL, FUTEX_WAIT, 0, NULL, NULL, 0), EFAULT);
	CHECK_SYSERR("futex.wait_unaligned", futex((char *)&word + 1, FUTEX_WAIT, 5, NULL, NULL, 0),
		     EINVAL);
	CHECK_SYSERR("futex.unknown_op", futex(&word, 99, 0, NULL, NULL, 0), ENOSYS);
}

/* ---- scheduling, arch_prctl, robust list ---- */

static void *exit_group_thread(void *p)
{
	(void)p;
	exit(5); /* exit_group: takes the whole process down */
}

static void check_misc(void)
{
	CHECK_RET("sched_yield", sched_yield(), 0);
	cpu_set_t set;
	CPU_ZERO(&set);
	CHECK_RET("sched_getaffinity", sched_getaffinity(0, sizeof set, &set), 0);
	CHECKF("sched_getaffinity.count", CPU_COUNT(&set) >= 1, "CPU_COUNT=%d", CPU_COUNT(&set));
	long r = syscall(SYS_sched_getaffinity, 0, sizeof set, &set);
	CHECKF("sched_getaffinity.raw_size", r > 0 && r % 8 == 0 && r <= (long)sizeof set,
	       "raw sched_getaffinity returned %ld errno %d", r, errno);
	CHECK_SYSERR("sched_getaffinity.too_small", syscall(SYS_sched_getaffinity, 0, 1, &set), EINVAL);
	CHECK_SYSERR("sched_getaffinity.bad_pid",
		     syscall(SYS_sched_getaffinity, UTEST_BADPID, sizeof set, &set), ESRCH);

	unsigned long fs = 0;
	void *fs0;
	__asm__ volatile("mov %%fs:0, %0" : "=r"(fs0));
	CHECK_RET("arch_prctl.get_fs", syscall(SYS_arch_prctl, ARCH_GET_FS, &fs), 0);
	CHECKF("arch_prctl.fs_matches", fs != 0 && (void *)fs == fs0 && (void *)fs == (void *)pthread_self(),
	       "ARCH_GET_FS=%#lx fs:0=%p pthread_self=%p", fs, fs0, (void *)pthread_self());
	CHECK_SYSERR("arch_prctl.bad_code", syscall(SYS_arch_prctl, 0x9999, &fs), EINVAL);

	CHECK_SYSERR("set_robust_list.bad_size", syscall(SYS_set_robust_list, NULL, 1), EINVAL);
	void *head = NULL;
	size_t len = 0;
	CHECK_RET("get_robust_list", syscall(SYS_get_robust_list, 0, &head, &len), 0);
	CHECK_EQ("get_robust_list.len", len, 24);

	/* exit() from a secondary thread ends every thread with that status. */
	pid_t pid = fork();
	if (pid == 0) {
		pthread_t t;
		if (pthread_create(&t, NULL, exit_group_thread, NULL) != 0)
			_exit(1);
		for (;;)
			pause();
	}
	utest_check_exit("exit_group_from_thread", utest_wait(pid), 5);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	check_create_join();
	check_sync();
	check_futex();
	check_misc();
	return utest_done();
}
