/*
 * t_execthreads - execve from a multi-threaded process: the other threads are ended and the new
 * program runs (exit status as it chooses, not SIGKILL); two threads calling execve at the same
 * moment must not wait for each other forever: exactly one program runs, the other thread just
 * dies (Linux: the first to reach the point of no return kills the others). Each child gets a
 * deadline; a hang is reported (and the child killed) instead of blocking the suite.
 */
#define UTEST_PROGRAM "t_execthreads"
#include "utest.h"

#include <fcntl.h>
#include <pthread.h>

static const char *hello;
static pthread_barrier_t barrier;

static void exec_hello(const char *code)
{
	char *argv[] = { "t_hello", "exit", (char *)code, NULL }, *envp[] = { NULL };
	int null = open("/dev/null", O_WRONLY);
	if (null >= 0)
		dup2(null, 1); /* t_hello greets on stdout */
	execve(hello, argv, envp);
	_exit(90 + errno % 10);
}

static void *spinner(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&barrier);
	for (;;)
		__asm__ volatile("pause");
	return NULL;
}

static void *sleeper(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&barrier);
	for (;;)
		pause();
	return NULL;
}

static void *execer(void *arg)
{
	pthread_barrier_wait(&barrier);
	exec_hello(arg);
	return NULL;
}

/* Waits up to 10 s for the child; kills it on timeout. Returns the wait status or -1. */
static int wait_deadline(pid_t pid)
{
	int st;
	for (int i = 0; i < 1000; i++) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return st;
		if (r < 0 && errno != EINTR)
			return -1000 - errno;
		utest_sleep_ms(10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

/* Child: `nthreads` helper threads of kind `fn` (args "11", "12"...), then the main thread
 * execs itself too (`main_execs`) or sleeps. */
static int run(void *(*fn)(void *), int nthreads, int main_execs)
{
	pid_t pid = fork();
	if (pid == 0) {
		static const char *codes[] = { "11", "12", "13" };
		pthread_barrier_init(&barrier, NULL, (unsigned)nthreads + 1);
		for (int i = 0; i < nthreads; i++) {
			pthread_t t;
			if (pthread_create(&t, NULL, fn, (void *)codes[i]) != 0)
				_exit(80);
		}
		pthread_barrier_wait(&barrier);
		if (main_execs)
			exec_hello("10");
		for (;;)
			pause();
	}
	return wait_deadline(pid);
}

static int exited_with_one_of(int st, int lo, int hi)
{
	return st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) >= lo && WEXITSTATUS(st) <= hi;
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	hello = utest_path("/bin/tests/t_hello");
	int st;

	st = run(spinner, 2, 1);
	CHECKF("exec.other_threads_spin", exited_with_one_of(st, 10, 10), "expected exit=10, got %s",
	       st == -1 ? "a hang" : utest_wstr(st));
	st = run(sleeper, 2, 1);
	CHECKF("exec.other_threads_sleep", exited_with_one_of(st, 10, 10), "expected exit=10, got %s",
	       st == -1 ? "a hang" : utest_wstr(st));

	int bad = 0;
	char detail[128] = "";
	for (int round = 0; round < 20 && !bad; round++) {
		st = run(execer, 2, 0);
		if (!exited_with_one_of(st, 11, 12)) {
			bad = 1;
			snprintf(detail, sizeof detail, "round %d: %s", round, st == -1 ? "a hang" : utest_wstr(st));
		}
	}
	CHECKF("exec.two_threads_race", !bad, "expected exit 11 or 12, got %s", detail);
	bad = 0;
	for (int round = 0; round < 20 && !bad; round++) {
		st = run(execer, 1, 1);
		if (!exited_with_one_of(st, 10, 11)) {
			bad = 1;
			snprintf(detail, sizeof detail, "round %d: %s", round, st == -1 ? "a hang" : utest_wstr(st));
		}
	}
	CHECKF("exec.main_and_thread_race", !bad, "expected exit 10 or 11, got %s", detail);
	return utest_done();
}
