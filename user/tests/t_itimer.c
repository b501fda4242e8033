/*
 * t_itimer - the real-time interval timer (what busybox ping paces itself with): alarm's
 * return values, setitimer/getitimer of ITIMER_REAL (one shot, interval reloads, disarm, the
 * old value), SIGALRM delivery interrupting a blocking call, EINVAL for bad values and other
 * timers, EFAULT, and a fork child not inheriting the timer.  Passes on Linux too.
 */
#define UTEST_PROGRAM "t_itimer"
#include "utest.h"

#include <sys/time.h>

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL);

	CHECK_RET("alarm.first", alarm(5), 0);
	CHECK_RET("alarm.replaced", alarm(0), 5);
	CHECK_RET("alarm.disarmed", alarm(0), 0);

	struct itimerval v = { .it_value = { .tv_sec = 0, .tv_usec = 50000 } }, old, cur;
	CHECK_RET("setitimer.one_shot", setitimer(ITIMER_REAL, &v, NULL), 0);
	CHECK_RET("getitimer.ok", getitimer(ITIMER_REAL, &cur), 0);
	CHECKF("getitimer.left", cur.it_value.tv_sec == 0 && cur.it_value.tv_usec > 0 && cur.it_value.tv_usec <= 50000, "%ld.%06ld",
	       (long)cur.it_value.tv_sec, (long)cur.it_value.tv_usec);
	/* The signal interrupts a blocking read of an empty pipe. */
	int p[2];
	pipe(p);
	char c;
	int64_t t0 = utest_now_ns(CLOCK_MONOTONIC);
	CHECK_ERR("sigalrm.interrupts_read", read(p[0], &c, 1), EINTR);
	long ms = (long)((utest_now_ns(CLOCK_MONOTONIC) - t0) / 1000000);
	CHECKF("sigalrm.delivered", alarms == 1 && ms >= 30 && ms < 2000, "alarms %d after %ld ms", alarms, ms);
	CHECK_RET("getitimer.after_shot", (getitimer(ITIMER_REAL, &cur), cur.it_value.tv_sec + cur.it_value.tv_usec), 0);

	/* An interval reloads. */
	alarms = 0;
	v.it_interval.tv_usec = 20000;
	v.it_value.tv_usec = 20000;
	CHECK_RET("setitimer.interval", setitimer(ITIMER_REAL, &v, NULL), 0);
	for (int i = 0; i < 200 && alarms < 3; i++)
		utest_sleep_ms(10);
	CHECKF("interval.fires_again", alarms >= 3, "%d", alarms);
	struct itimerval zero = { 0 };
	CHECK_RET("setitimer.disarm", setitimer(ITIMER_REAL, &zero, &old), 0);
	CHECKF("setitimer.old_interval", old.it_interval.tv_sec == 0 && old.it_interval.tv_usec == 20000, "%ld", (long)old.it_interval.tv_usec);
	int before = alarms;
	utest_sleep_ms(100);
	CHECK_EQ("disarm.stays_quiet", alarms, before);

	struct itimerval bad = { .it_value = { .tv_sec = 0, .tv_usec = 1000000 } };
	CHECK_ERR("setitimer.bad_usec", setitimer(ITIMER_REAL, &bad, NULL), EINVAL);
	CHECK_ERR("setitimer.bad_which", syscall(SYS_setitimer, 7, &v, NULL), EINVAL);
	CHECK_ERR("setitimer.efault", syscall(SYS_setitimer, ITIMER_REAL, (void *)8, NULL), EFAULT);
	CHECK_ERR("getitimer.efault", syscall(SYS_getitimer, ITIMER_REAL, (void *)8), EFAULT);

	/* A fork child does not inherit the timer. */
	alarm(10);
	pid_t pid = fork();
	if (pid == 0)
		_exit(alarm(0) == 0 ? 0 : 1);
	CHECK_EQ("fork.not_inherited", utest_wait(pid), 0);
	CHECKF("fork.parent_keeps", alarm(0) >= 9, "kept");
	return utest_done();
}
