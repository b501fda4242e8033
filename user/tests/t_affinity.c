/*
 * t_affinity - sched_setaffinity really pins: a thread pinned to CPU 1 (or the last CPU)
 * reports that CPU in getcpu across many yields and sleeps; the mask is inherited by fork and
 * by threads; sched_getaffinity returns it; EINVAL for a mask without an online CPU or a bad
 * size, ESRCH for no such thread, EPERM for another user's thread.
 */
#define UTEST_PROGRAM "t_affinity"
#include "utest.h"

#include <pthread.h>
#include <sched.h>
#include <sys/wait.h>

static int cpu_now(void)
{
	unsigned cpu = 999;
	syscall(SYS_getcpu, &cpu, NULL, NULL);
	return (int)cpu;
}

/* Whether the caller stays on `cpu` across `n` yields and short sleeps. */
static int stays_on(int cpu, int n)
{
	for (int i = 0; i < n; i++) {
		if (i % 10 == 0)
			usleep(1000);
		else
			sched_yield();
		if (cpu_now() != cpu)
			return 0;
	}
	return 1;
}

static int pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof set, &set);
}

static void *thread_body(void *arg)
{
	int cpu = (int)(long)arg;
	cpu_set_t set;
	CPU_ZERO(&set);
	sched_getaffinity(0, sizeof set, &set);
	return (void *)(long)(CPU_COUNT(&set) == 1 && CPU_ISSET(cpu, &set) && stays_on(cpu, 50));
}

static int nobody_eperm(void)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (sched_setaffinity(1, sizeof set, &set) != -1 || errno != EPERM)
		return 1;
	return 0;
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	cpu_set_t all;
	CPU_ZERO(&all);
	CHECK_RET("getaffinity", sched_getaffinity(0, sizeof all, &all), 0);
	int n = CPU_COUNT(&all);
	CHECKF("getaffinity.count", n >= 1, "%d CPUs", n);
	int raw = syscall(SYS_sched_getaffinity, 0, sizeof all, &all);
	CHECKF("getaffinity.raw_size", raw >= 8 && raw % 8 == 0, "%d", raw);
	CHECK_ERR("getaffinity.unaligned", syscall(SYS_sched_getaffinity, 0, 3, &all), EINVAL);
	CHECK_ERR("getaffinity.no_pid", sched_getaffinity(999999, sizeof all, &all), ESRCH);

	cpu_set_t none;
	CPU_ZERO(&none);
	CHECK_ERR("setaffinity.empty", sched_setaffinity(0, sizeof none, &none), EINVAL);
	CPU_SET(CPU_SETSIZE - 1, &none);
	CHECK_ERR("setaffinity.offline_cpu", sched_setaffinity(0, sizeof none, &none), EINVAL);
	CHECK_ERR("setaffinity.no_pid", sched_setaffinity(999999, sizeof all, &all), ESRCH);
	CHECK_ERR("setaffinity.efault", sched_setaffinity(0, sizeof all, (cpu_set_t *)8), EFAULT);

	int target = -1;
	for (int c = CPU_SETSIZE - 1; c >= 0; c--)
		if (CPU_ISSET(c, &all) && (target < 0 || c == 1)) {
			target = c;
			if (c == 1)
				break;
		}
	if (n >= 2 && target >= 0) {
		CHECK_RET("pin", pin(target), 0);
		cpu_set_t got;
		CPU_ZERO(&got);
		sched_getaffinity(0, sizeof got, &got);
		CHECKF("pin.mask", CPU_COUNT(&got) == 1 && CPU_ISSET(target, &got), "count %d", CPU_COUNT(&got));
		CHECKF("pin.now", cpu_now() == target, "on CPU %d, want %d", cpu_now(), target);
		CHECK("pin.stays", stays_on(target, 300));
		pid_t child = fork();
		if (child == 0) {
			cpu_set_t c;
			CPU_ZERO(&c);
			sched_getaffinity(0, sizeof c, &c);
			_exit(CPU_COUNT(&c) == 1 && CPU_ISSET(target, &c) && stays_on(target, 100) ? 0 : 1);
		}
		int status = -1;
		waitpid(child, &status, 0);
		CHECKF("fork.inherits", WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
		pthread_t th;
		void *ok = 0;
		pthread_create(&th, NULL, thread_body, (void *)(long)target);
		pthread_join(th, &ok);
		CHECK("thread.inherits", ok == (void *)1);
		/* Move to CPU 0: the change takes effect at once. */
		CHECK_RET("repin0", pin(0), 0);
		CHECKF("repin0.now", cpu_now() == 0, "on CPU %d", cpu_now());
		CHECK("repin0.stays", stays_on(0, 100));
		/* Pin another thread from outside. */
		child = fork();
		if (child == 0) {
			sched_setaffinity(0, sizeof all, &all);
			for (int i = 0; i < 2000; i++) {
				cpu_set_t c;
				sched_getaffinity(0, sizeof c, &c);
				if (CPU_COUNT(&c) == 1)
					_exit(stays_on(target, 100) ? 0 : 1);
				usleep(1000);
			}
			_exit(2);
		}
		cpu_set_t one;
		CPU_ZERO(&one);
		CPU_SET(target, &one);
		usleep(10000);
		CHECK_RET("pin_other", sched_setaffinity(child, sizeof one, &one), 0);
		waitpid(child, &status, 0);
		CHECKF("pin_other.stays", WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
	} else {
		CHECK("pin(skipped: one CPU)", 1);
	}
	CHECK_RET("unpin", sched_setaffinity(0, sizeof all, &all), 0);
	pid_t child = fork();
	if (child == 0) {
		if (setuid(65534))
			_exit(100);
		_exit(nobody_eperm());
	}
	int status = -1;
	waitpid(child, &status, 0);
	CHECKF("nonroot.eperm", WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
	return utest_done();
}
