/*
 * t_fastsig - signals reach a thread that only makes cheap system calls (issue 13): the
 * syscall fast path returns to user mode with one check of pending work, so a signal raised
 * while a process loops on getppid() or on 1-byte writes to /dev/null must still be delivered
 * promptly: SIGUSR1 sent to the process by a child process, and SIGUSR2 sent to the looping
 * thread by a sibling thread (tgkill), each running on the other CPU while the target loops.
 * (Interval timers, setitimer/alarm, are not implemented yet: no SIGALRM case.)
 */
#define UTEST_PROGRAM "t_fastsig"
#include "utest.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

/* Longest a loop waits for its signal. */
#define LIMIT_NS 3000000000LL

static volatile sig_atomic_t got;

static void on_signal(int sig)
{
	(void)sig;
	got++;
}

/* Loops on one cheap call until `got` moves or LIMIT_NS passes; returns the calls made. */
static long spin_until_signal(int devnull)
{
	static const char byte = 'x';
	int64_t start = utest_now_ns(CLOCK_MONOTONIC);
	long calls = 0;
	while (!got) {
		if (devnull >= 0)
			(void)write(devnull, &byte, 1);
		else
			(void)syscall(SYS_getppid);
		calls++;
		if ((calls & 1023) == 0 && utest_now_ns(CLOCK_MONOTONIC) - start > LIMIT_NS)
			break;
	}
	return calls;
}

struct target {
	pthread_t thread;
};

static void *sibling(void *arg)
{
	struct target *t = arg;
	utest_sleep_ms(20);
	pthread_kill(t->thread, SIGUSR2);
	return NULL;
}

static void check_thread_kill(const char *name, int devnull)
{
	got = 0;
	struct target t = { .thread = pthread_self() };
	pthread_t helper;
	int err = pthread_create(&helper, NULL, sibling, &t);
	CHECKF(name, err == 0, "pthread_create: %s", utest_errname(err));
	if (err != 0)
		return;
	long calls = spin_until_signal(devnull);
	CHECKF(name, got == 1, "SIGUSR2 from a sibling thread not delivered after %ld calls (got %d)",
	       calls, (int)got);
	pthread_join(helper, NULL);
}

/* /dev/null, from a devtmpfs of our own if the test image mounts no /dev (-1 if neither). */
static int open_devnull(void)
{
	int fd = open("/dev/null", O_WRONLY);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	mkdir("/tmp/t_fastsig.dev", 0755);
	if (mount("devtmpfs", "/tmp/t_fastsig.dev", "devtmpfs", 0, NULL) == 0) {
		fd = open("/tmp/t_fastsig.dev/null", O_WRONLY);
		umount2("/tmp/t_fastsig.dev", MNT_DETACH);
	}
	rmdir("/tmp/t_fastsig.dev");
	return fd;
}

static void check_remote_kill(const char *name, int devnull)
{
	got = 0;
	pid_t parent = getpid();
	pid_t child = fork();
	if (child == 0) {
		utest_sleep_ms(20);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	CHECKF(name, child > 0, "fork: %s", utest_errname(errno));
	if (child <= 0)
		return;
	long calls = spin_until_signal(devnull);
	CHECKF(name, got == 1, "SIGUSR1 from the child not delivered after %ld calls (got %d)", calls,
	       (int)got);
	utest_check_exit(name, utest_wait(child), 0);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	CHECK_OK("sigaction.usr1", sigaction(SIGUSR1, &sa, NULL));
	CHECK_OK("sigaction.usr2", sigaction(SIGUSR2, &sa, NULL));
	int devnull = open_devnull();
	CHECKF("open.devnull", devnull >= 0, "open /dev/null: %s", utest_errname(errno));
	for (int round = 0; round < 5; round++) {
		check_thread_kill("tkill.getppid", -1);
		check_remote_kill("kill.getppid", -1);
		if (devnull >= 0) {
			check_thread_kill("tkill.write_devnull", devnull);
			check_remote_kill("kill.write_devnull", devnull);
		}
	}
	return utest_done();
}
