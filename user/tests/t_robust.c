/*
 * t_robust - robust mutexes and FUTEX_WAKE_OP, the futex operations that change user words
 * from the kernel.  A robust mutex whose owner thread exits, whose owner process exits (shared
 * memory, also with a waiter blocked on it) or execs is handed to the next locker with
 * EOWNERDEAD (the kernel walks the owner's robust list); FUTEX_WAKE_OP's operations and
 * comparisons, its wake-ups and errors.  Built with musl and glibc (user/tests/GLIBC).
 */
#define UTEST_PROGRAM "t_robust"
#include "utest.h"

#include <pthread.h>
#include <sys/mman.h>

#ifndef FUTEX_WAKE_OP
#define FUTEX_WAIT 0
#define FUTEX_WAKE_OP 5
#endif
#define OP(op, oparg, cmp, cmparg) (((op) << 28) | ((cmp) << 24) | ((oparg) << 12) | (cmparg))

static pthread_mutex_t *make_robust(int shared)
{
	pthread_mutex_t *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (shared)
		pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(m, &a);
	return m;
}

static void *lock_and_exit(void *p)
{
	pthread_mutex_lock(p);
	return NULL; /* exits holding it */
}

/* Locks `m` expecting EOWNERDEAD, makes it consistent, and checks it works again. */
static void expect_owner_dead(const char *name, pthread_mutex_t *m)
{
	int r = pthread_mutex_lock(m);
	int ok = r == EOWNERDEAD;
	if (ok) {
		ok = pthread_mutex_consistent(m) == 0 && pthread_mutex_unlock(m) == 0 && pthread_mutex_lock(m) == 0 && pthread_mutex_unlock(m) == 0;
	}
	CHECKF(name, ok, "pthread_mutex_lock: %d (%s)", r, utest_errname(r));
}

static void check_thread_exit(void)
{
	pthread_mutex_t *m = make_robust(0);
	pthread_t t;
	pthread_create(&t, NULL, lock_and_exit, m);
	pthread_join(t, NULL);
	expect_owner_dead("thread_exit", m);
}

static void check_process_exit(int with_waiter, int by_exec, const char *name)
{
	pthread_mutex_t *m = make_robust(1);
	int fds[2];
	pipe(fds);
	pid_t pid = fork();
	if (pid == 0) {
		pthread_mutex_lock(m);
		write(fds[1], "x", 1);
		if (with_waiter)
			utest_sleep_ms(200);
		if (by_exec) {
			char *const argv[] = {"t_hello", "exit", "0", NULL};
			execv(utest_path("/bin/tests/t_hello"), argv);
		}
		_exit(0);
	}
	char c;
	read(fds[0], &c, 1);
	if (!with_waiter)
		utest_wait(pid);
	expect_owner_dead(name, m);
	if (with_waiter)
		utest_wait(pid);
	close(fds[0]);
	close(fds[1]);
}

static uint32_t w1, w2;

static void *futex_waiter(void *p)
{
	syscall(SYS_futex, p, FUTEX_WAIT, 0, NULL, NULL, 0);
	return NULL;
}

static void check_wake_op(void)
{
	w2 = 5;
	CHECK_RET("wake_op_none", syscall(SYS_futex, &w1, FUTEX_WAKE_OP, 1, 1, &w2, OP(0, 7, 0, 5)), 0);
	CHECK_EQ("wake_op_set", w2, 7);
	CHECK_RET("wake_op_add", syscall(SYS_futex, &w1, FUTEX_WAKE_OP, 1, 1, &w2, OP(1, 3, 1, 0)), 0);
	CHECK_EQ("wake_op_add_value", w2, 10);
	CHECK_RET("wake_op_or_shift", syscall(SYS_futex, &w1, FUTEX_WAKE_OP, 1, 1, &w2, OP(8 | 2, 4, 0, 0)), 0);
	CHECK_EQ("wake_op_or_shift_value", w2, 26);
	CHECK_RET("wake_op_andn", syscall(SYS_futex, &w1, FUTEX_WAKE_OP, 1, 1, &w2, OP(3, 2, 0, 0)), 0);
	CHECK_EQ("wake_op_andn_value", w2, 24);
	CHECK_RET("wake_op_xor", syscall(SYS_futex, &w1, FUTEX_WAKE_OP, 1, 1, &w2, OP(4, 0xff, 0, 0)), 0);
	CHECK_EQ("wake_op_xor_value", w2, 0xe7);
	CHECK_ERR("wake_op_bad_op", syscall(SYS_futex, &w1, FUTEX_WAKE_OP, 1, 1, &w2, OP(6, 0, 0, 0)), ENOSYS);
	CHECK_ERR("wake_op_bad_cmp", syscall(SYS_futex, &w1, FUTEX_WAKE_OP, 1, 1, &w2, OP(0, 0, 7, 0)), ENOSYS);
	CHECK_ERR("wake_op_fault", syscall(SYS_futex, &w1, FUTEX_WAKE_OP, 1, 1, (void *)16, OP(0, 0, 0, 0)), EFAULT);
	const uint32_t *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK_ERR("wake_op_read_only", syscall(SYS_futex, &w1, FUTEX_WAKE_OP, 1, 1, ro, OP(0, 1, 0, 0)), EFAULT);

	/* A waiter on each word: the comparison decides whether the second is woken. */
	w1 = 0;
	w2 = 0;
	pthread_t a, b;
	pthread_create(&a, NULL, futex_waiter, &w1);
	pthread_create(&b, NULL, futex_waiter, &w2);
	utest_sleep_ms(100);
	long total = 0;
	/* w2 is 0: SET 1 with "old == 0" holds, both woken (retried while one was not queued). */
	for (int i = 0; i < 200 && total < 2; i++) {
		long n = syscall(SYS_futex, &w1, FUTEX_WAKE_OP, 1, 1, &w2, OP(0, 0, 0, 0));
		total += n > 0 ? n : 0;
		if (total < 2)
			utest_sleep_ms(10);
	}
	CHECKF("wake_op_wakes_both", total == 2, "woke %ld", total);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	check_thread_exit();
	check_process_exit(0, 0, "process_exit");
	check_process_exit(1, 0, "process_exit_waiter");
	check_process_exit(0, 1, "process_exec");
	check_wake_op();
	CHECK_ERR("set_robust_list_len", syscall(SYS_set_robust_list, NULL, 7), EINVAL);
	return utest_done();
}
