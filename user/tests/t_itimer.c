/*
 * t_itimer - the real-time interval timer: setitimer/getitimer(ITIMER_REAL) and alarm.
 * A one-shot timer delivers one SIGALRM (si_code SI_KERNEL) after its time and reads as
 * disarmed afterwards; a periodic one keeps firing at its interval; getitimer counts down;
 * setitimer's old value and alarm's return value report what was armed (alarm rounds to the
 * nearest second, at least 1); disarming stops it; a bad timeval is EINVAL and bad pointers
 * EFAULT; the timer is not inherited over fork but survives execve (checked through
 * /proc-free means: the child of fork reads a disarmed timer). Busybox ping paces its
 * echo requests with alarm, so without this it sends one and waits forever.
 */
#define UTEST_PROGRAM "t_itimer"
#include "utest.h"

#include <sys/time.h>
#include <time.h>

static volatile sig_atomic_t alarms;
static volatile int last_code;

static void on_alarm(int sig, siginfo_t *info, void *ctx)
{
	(void)sig;
	(void)ctx;
	alarms++;
	last_code = info->si_code;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits (sleeping in pause-like steps) until `n` alarms came or `ms` passed. */
static void wait_alarms(int n, long ms)
{
	long end = now_ms() + ms;
	while (alarms < n && now_ms() < end) {
		struct timespec ts = { 0, 2000000 };
		nanosleep(&ts, NULL);
	}
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	struct sigaction sa = { 0 };
	sa.sa_sigaction = on_alarm;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	CHECK_OK("sigaction", sigaction(SIGALRM, &sa, NULL));

	struct itimerval v, old;
	CHECK_OK("get.disarmed", getitimer(ITIMER_REAL, &v));
	CHECK("get.disarmed.zero", v.it_value.tv_sec == 0 && v.it_value.tv_usec == 0 && v.it_interval.tv_sec == 0);

	/* One shot of 50 ms. */
	struct itimerval shot = { { 0, 0 }, { 0, 50000 } };
	long t0 = now_ms();
	CHECK_OK("set.oneshot", setitimer(ITIMER_REAL, &shot, &old));
	CHECK("set.oneshot.old_disarmed", old.it_value.tv_sec == 0 && old.it_value.tv_usec == 0);
	CHECK_OK("get.armed", getitimer(ITIMER_REAL, &v));
	CHECKF("get.armed.counts_down", v.it_value.tv_sec == 0 && v.it_value.tv_usec > 0 && v.it_value.tv_usec <= 50000,
	       "%ld.%06ld", (long)v.it_value.tv_sec, (long)v.it_value.tv_usec);
	wait_alarms(1, 5000);
	long took = now_ms() - t0;
	CHECKF("oneshot.fired", alarms == 1, "%d alarms", (int)alarms);
	CHECKF("oneshot.not_early", took >= 45, "fired after %ld ms", took);
	CHECKF("oneshot.si_code", last_code == SI_KERNEL, "si_code %d", last_code);
	wait_alarms(2, 150);
	CHECKF("oneshot.once", alarms == 1, "%d alarms", (int)alarms);
	CHECK_OK("get.after", getitimer(ITIMER_REAL, &v));
	CHECK("get.after.disarmed", v.it_value.tv_sec == 0 && v.it_value.tv_usec == 0);

	/* Periodic: 20 ms interval, first after 20 ms; five expiries. */
	alarms = 0;
	struct itimerval per = { { 0, 20000 }, { 0, 20000 } };
	CHECK_OK("set.periodic", setitimer(ITIMER_REAL, &per, NULL));
	wait_alarms(5, 10000);
	CHECKF("periodic.fires", alarms >= 5, "%d alarms", (int)alarms);
	CHECK_OK("get.periodic", getitimer(ITIMER_REAL, &v));
	CHECK("get.periodic.interval", v.it_interval.tv_sec == 0 && v.it_interval.tv_usec == 20000);
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	CHECK_OK("disarm", setitimer(ITIMER_REAL, &off, &old));
	CHECK("disarm.old_interval", old.it_interval.tv_usec == 20000);
	int n = alarms;
	wait_alarms(n + 1, 100);
	CHECKF("disarm.stops", alarms == n, "%d then %d", n, (int)alarms);

	/* alarm(): returns the seconds left of the previous timer. */
	CHECK_RET("alarm.first", alarm(10), 0);
	CHECK_RET("alarm.previous", alarm(3), 10);
	struct itimerval half = { { 0, 0 }, { 0, 300000 } };
	CHECK_OK("set.subsecond", setitimer(ITIMER_REAL, &half, NULL));
	CHECK_RET("alarm.subsecond_rounds_to_1", alarm(0), 1);
	CHECK_RET("alarm.cancelled", alarm(0), 0);

	/* Fork: the child starts disarmed; the parent's timer stays. */
	CHECK_OK("set.long", setitimer(ITIMER_REAL, &(struct itimerval){ { 0, 0 }, { 100, 0 } }, NULL));
	pid_t pid = fork();
	if (pid == 0) {
		struct itimerval c;
		_exit(getitimer(ITIMER_REAL, &c) == 0 && c.it_value.tv_sec == 0 && c.it_value.tv_usec == 0 ? 0 : 1);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	CHECKF("fork.child_disarmed", WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", utest_wstr(st));
	CHECK_OK("get.parent_kept", getitimer(ITIMER_REAL, &v));
	CHECK("get.parent_kept.value", v.it_value.tv_sec >= 98);
	CHECK_OK("disarm.again", setitimer(ITIMER_REAL, &off, NULL));

	/* Errors. */
	struct itimerval bad = { { 0, 0 }, { 0, 1000000 } };
	CHECK_ERR("einval.usec", setitimer(ITIMER_REAL, &bad, NULL), EINVAL);
	struct itimerval neg = { { 0, 0 }, { -1, 0 } };
	CHECK_ERR("einval.negative", setitimer(ITIMER_REAL, &neg, NULL), EINVAL);
	CHECK_ERR("einval.which", setitimer(7, &shot, NULL), EINVAL);
	CHECK_ERR("getitimer.einval.which", getitimer(7, &v), EINVAL);
	CHECK_ERR("efault.new", syscall(SYS_setitimer, ITIMER_REAL, (void *)1, NULL), EFAULT);
	CHECK_ERR("efault.get", syscall(SYS_getitimer, ITIMER_REAL, (void *)1), EFAULT);
	CHECK_ERR("efault.old", syscall(SYS_setitimer, ITIMER_REAL, &off, (void *)1), EFAULT);
	return utest_done();
}
