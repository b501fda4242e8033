/*
 * t_cputime - user/system CPU time split: getrusage, times, wait4's rusage, CPU clocks
 * (clock_getcpuclockid, pthread_getcpuclockid), ITIMER_VIRTUAL/ITIMER_PROF, settimeofday and
 * adjtimex error rules. Timing checks use generous bounds (TCG).
 */
#define UTEST_PROGRAM "t_cputime"
#include "utest.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>

static double tv_s(struct timeval tv) { return tv.tv_sec + tv.tv_usec / 1e6; }

static double clock_s(clockid_t c)
{
	struct timespec ts;
	if (clock_gettime(c, &ts))
		return -1;
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static volatile unsigned long sink;

/* Spins in user mode for `s` seconds of process CPU time. */
static void burn_user(double s)
{
	double end = clock_s(CLOCK_PROCESS_CPUTIME_ID) + s;
	while (clock_s(CLOCK_PROCESS_CPUTIME_ID) < end)
		for (int i = 0; i < 200000; i++)
			sink += i * 7;
}

/* Spends `s` seconds of CPU time mostly in system calls. */
static void burn_system(double s)
{
	double end = clock_s(CLOCK_PROCESS_CPUTIME_ID) + s;
	static char buf[65536];
	memset(buf, 1, sizeof buf);
	int fd = open("/dev/null", O_WRONLY);
	int p[2];
	if (pipe(p))
		return;
	while (clock_s(CLOCK_PROCESS_CPUTIME_ID) < end)
		for (int i = 0; i < 50; i++) {
			(void)!write(p[1], buf, 4096);
			(void)!read(p[0], buf, 4096);
			if (fd >= 0)
				(void)!write(fd, buf, sizeof buf);
			syscall(SYS_getppid);
		}
	close(p[0]);
	close(p[1]);
	if (fd >= 0)
		close(fd);
}

static void check_split(void)
{
	struct rusage a, b;
	getrusage(RUSAGE_SELF, &a);
	burn_user(0.4);
	getrusage(RUSAGE_SELF, &b);
	double du = tv_s(b.ru_utime) - tv_s(a.ru_utime), ds = tv_s(b.ru_stime) - tv_s(a.ru_stime);
	CHECKF("user_burn.utime", du > 0.2, "utime grew %.3f s, stime %.3f s", du, ds);
	CHECKF("user_burn.mostly_user", du > ds, "utime %.3f <= stime %.3f", du, ds);
	getrusage(RUSAGE_SELF, &a);
	burn_system(0.4);
	getrusage(RUSAGE_SELF, &b);
	ds = tv_s(b.ru_stime) - tv_s(a.ru_stime);
	CHECKF("sys_burn.stime", ds > 0.02, "stime grew %.3f s", ds);
	double total = tv_s(b.ru_utime) + tv_s(b.ru_stime), clock = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	CHECKF("rusage_matches_clock", total <= clock + 0.05 && total > clock * 0.8 - 0.05, "rusage %.3f clock %.3f", total, clock);
	CHECKF("maxrss", b.ru_maxrss > 0, "ru_maxrss=%ld", b.ru_maxrss);
	struct rusage t;
	CHECK_RET("getrusage.thread", getrusage(RUSAGE_THREAD, &t), 0);
	CHECKF("thread_le_self", tv_s(t.ru_utime) <= tv_s(b.ru_utime) + 0.05, "thread %.3f self %.3f", tv_s(t.ru_utime), tv_s(b.ru_utime));
	CHECK_ERR("getrusage.bad_who", getrusage(5, &t), EINVAL);
	struct tms tm;
	CHECK_OK("times", times(&tm));
	CHECKF("times.utime", tm.tms_utime >= 20, "tms_utime=%ld", (long)tm.tms_utime);
	CHECKF("times.stime", tm.tms_stime >= 1, "tms_stime=%ld", (long)tm.tms_stime);
}

static void check_children(void)
{
	pid_t child = fork();
	if (child == 0) {
		burn_user(0.3);
		_exit(0);
	}
	clockid_t cc;
	int r = clock_getcpuclockid(child, &cc);
	CHECKF("getcpuclockid.child", r == 0, "r=%d", r);
	if (r == 0) {
		struct timespec ts;
		CHECK_RET("clock_gettime.child_clock", clock_gettime(cc, &ts), 0);
		CHECK_RET("clock_getres.child_clock", clock_getres(cc, &ts), 0);
	}
	int status;
	struct rusage ru;
	CHECK_RET("wait4", wait4(child, &status, 0, &ru), child);
	CHECKF("wait4.utime", tv_s(ru.ru_utime) > 0.15, "child utime %.3f", tv_s(ru.ru_utime));
	struct rusage c;
	getrusage(RUSAGE_CHILDREN, &c);
	CHECKF("rusage_children", tv_s(c.ru_utime) > 0.15, "children utime %.3f", tv_s(c.ru_utime));
	struct tms tm;
	times(&tm);
	CHECKF("times.cutime", tm.tms_cutime >= 15, "tms_cutime=%ld", (long)tm.tms_cutime);
	/* A dead pid's CPU clock: EINVAL. */
	clockid_t dead = ((~(clockid_t)child) << 3) | 2;
	struct timespec ts;
	CHECK_ERR("clock_gettime.dead_pid", clock_gettime(dead, &ts), EINVAL);
	CHECK_ERR("clock_gettime.bad_type", clock_gettime(((~(clockid_t)getpid()) << 3) | 3, &ts), EINVAL);
	clockid_t self;
	clock_getcpuclockid(getpid(), &self);
	CHECKF("own_cpuclock", clock_s(self) > 0.3, "%.3f", clock_s(self));
	clockid_t tc;
	CHECK_RET("pthread_getcpuclockid", pthread_getcpuclockid(pthread_self(), &tc), 0);
	CHECKF("thread_cpuclock", clock_s(tc) > 0.1, "%.3f", clock_s(tc));
}

static volatile sig_atomic_t got_vt, got_prof;
static void on_vt(int s) { (void)s; got_vt++; }
static void on_prof(int s) { (void)s; got_prof++; }

static void check_itimers(void)
{
	signal(SIGVTALRM, on_vt);
	signal(SIGPROF, on_prof);
	struct itimerval v = {{0, 0}, {0, 50000}}, old;
	CHECK_RET("setitimer.virtual", setitimer(ITIMER_VIRTUAL, &v, NULL), 0);
	CHECK_RET("getitimer.virtual", getitimer(ITIMER_VIRTUAL, &old), 0);
	CHECKF("getitimer.virtual_value", old.it_value.tv_sec == 0 && old.it_value.tv_usec <= 100000 && old.it_value.tv_usec > 0,
	       "%ld.%06ld", (long)old.it_value.tv_sec, (long)old.it_value.tv_usec);
	double end = clock_s(CLOCK_MONOTONIC) + 10;
	while (!got_vt && clock_s(CLOCK_MONOTONIC) < end)
		for (int i = 0; i < 100000; i++)
			sink += i;
	CHECK("sigvtalrm", got_vt == 1);
	struct itimerval p = {{0, 20000}, {0, 20000}};
	CHECK_RET("setitimer.prof", setitimer(ITIMER_PROF, &p, NULL), 0);
	end = clock_s(CLOCK_MONOTONIC) + 10;
	while (got_prof < 3 && clock_s(CLOCK_MONOTONIC) < end)
		for (int i = 0; i < 100000; i++)
			sink += i;
	CHECKF("sigprof_periodic", got_prof >= 3, "got %d", (int)got_prof);
	struct itimerval zero = {{0, 0}, {0, 0}};
	CHECK_RET("setitimer.prof_off", setitimer(ITIMER_PROF, &zero, &old), 0);
	CHECKF("setitimer.old_interval", old.it_interval.tv_usec == 20000, "%ld", (long)old.it_interval.tv_usec);
	CHECK_ERR("setitimer.bad_which", setitimer(3, &zero, NULL), EINVAL);
	struct itimerval bad = {{0, 0}, {0, 1000000}};
	CHECK_ERR("setitimer.bad_usec", setitimer(ITIMER_VIRTUAL, &bad, NULL), EINVAL);
	CHECK_ERR("getitimer.bad_which", getitimer(7, &old), EINVAL);
}

static void check_clock_setting(void)
{
	struct timeval tv = {0, 1000000};
	CHECK_ERR("settimeofday.bad_usec", settimeofday(&tv, NULL), EINVAL);
	struct timex tx;
	memset(&tx, 0, sizeof tx);
	int r = adjtimex(&tx);
	CHECKF("adjtimex.query", r >= 0 && r <= 5, "r=%d errno=%d", r, errno);
	memset(&tx, 0, sizeof tx);
	CHECK_ERR("clock_adjtime.monotonic", syscall(SYS_clock_adjtime, CLOCK_MONOTONIC, &tx), EOPNOTSUPP);
	CHECK_ERR("clock_adjtime.bad_clock", syscall(SYS_clock_adjtime, 99, &tx), EINVAL);
	pid_t child = fork();
	if (child == 0) {
		if (setuid(65534))
			_exit(10);
		struct timeval now;
		gettimeofday(&now, NULL);
		if (settimeofday(&now, NULL) != -1 || errno != EPERM)
			_exit(1);
		struct timex t2;
		memset(&t2, 0, sizeof t2);
		t2.modes = ADJ_FREQUENCY;
		if (adjtimex(&t2) != -1 || errno != EPERM)
			_exit(2);
		memset(&t2, 0, sizeof t2);
		if (adjtimex(&t2) < 0)
			_exit(3);
		_exit(0);
	}
	int status = -1;
	waitpid(child, &status, 0);
	CHECKF("nonroot_clock_rules", WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	check_split();
	check_children();
	check_itimers();
	check_clock_setting();
	return utest_done();
}
