/*
 * t_time - clocks and sleeping: clock_gettime for every supported clock (through libc, which
 * may use a vDSO, and through the raw syscall), monotonicity, clock_getres, gettimeofday and
 * time() consistency, nanosleep and clock_nanosleep (relative and TIMER_ABSTIME) with their
 * error cases, CPU-time clocks and times().
 */
#define UTEST_PROGRAM "t_time"
#include "utest.h"

#include <sys/time.h>
#include <sys/times.h>

#define NS 1000000000LL

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * NS + t->tv_nsec;
}

static int64_t raw_now(clockid_t clk)
{
	struct timespec t;
	if (syscall(SYS_clock_gettime, clk, &t) != 0)
		return -1;
	return ts_ns(&t);
}

static void check_clocks(void)
{
	static const struct { clockid_t id; const char *name; } clocks[] = {
		{ CLOCK_REALTIME, "realtime" },
		{ CLOCK_MONOTONIC, "monotonic" },
		{ CLOCK_BOOTTIME, "boottime" },
		{ CLOCK_PROCESS_CPUTIME_ID, "process_cputime" },
		{ CLOCK_THREAD_CPUTIME_ID, "thread_cputime" },
		{ CLOCK_MONOTONIC_RAW, "monotonic_raw" },
		{ CLOCK_REALTIME_COARSE, "realtime_coarse" },
		{ CLOCK_MONOTONIC_COARSE, "monotonic_coarse" },
	};
	char name[64];
	for (unsigned i = 0; i < sizeof clocks / sizeof *clocks; i++) {
		struct timespec t = { -1, -1 }, r = { -1, -1 };
		snprintf(name, sizeof name, "gettime.%s", clocks[i].name);
		int rc = clock_gettime(clocks[i].id, &t);
		CHECKF(name, rc == 0 && t.tv_sec >= 0 && t.tv_nsec >= 0 && t.tv_nsec < NS,
		       "rc=%d errno %d ts=%lld.%09ld", rc, errno, (long long)t.tv_sec, t.tv_nsec);
		snprintf(name, sizeof name, "gettime_raw.%s", clocks[i].name);
		long rr = syscall(SYS_clock_gettime, clocks[i].id, &r);
		CHECKF(name, rr == 0 && r.tv_sec >= 0 && r.tv_nsec >= 0 && r.tv_nsec < NS,
		       "rc=%ld errno %d ts=%lld.%09ld", rr, errno, (long long)r.tv_sec, r.tv_nsec);
		snprintf(name, sizeof name, "getres.%s", clocks[i].name);
		r.tv_sec = r.tv_nsec = -1;
		rr = syscall(SYS_clock_getres, clocks[i].id, &r);
		CHECKF(name, rr == 0 && r.tv_sec == 0 && r.tv_nsec > 0 && r.tv_nsec <= 10000000,
		       "rc=%ld errno %d res=%lld.%09ld", rr, errno, (long long)r.tv_sec, r.tv_nsec);
	}
	struct timespec t;
	CHECK_SYSERR("gettime.bad_clock", syscall(SYS_clock_gettime, 999, &t), EINVAL);
	CHECK_SYSERR("gettime.bad_clock_16", syscall(SYS_clock_gettime, 16, &t), EINVAL);
	CHECK_SYSERR("getres.bad_clock", syscall(SYS_clock_getres, 999, &t), EINVAL);
	CHECK_RET("getres.null_res", syscall(SYS_clock_getres, CLOCK_MONOTONIC, NULL), 0);
	CHECK_SYSERR("settime.monotonic", syscall(SYS_clock_settime, CLOCK_MONOTONIC, &t), EINVAL);
	CHECK_SYSERR("settime.bad_clock", syscall(SYS_clock_settime, 999, &t), EINVAL);

	clock_gettime(CLOCK_REALTIME, &t);
	CHECKF("realtime.after_2020", t.tv_sec > 1577836800, "realtime=%lld", (long long)t.tv_sec);

	static const clockid_t mono[] = { CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_MONOTONIC_RAW };
	static const char *const mono_names[] = { "monotonic", "boottime", "monotonic_raw" };
	for (int c = 0; c < 3; c++) {
		int64_t prev = 0, prev_raw = 0, bad = 0;
		for (int i = 0; i < 1000; i++) {
			int64_t now = utest_now_ns(mono[c]);
			int64_t nr = raw_now(mono[c]);
			if (now < prev || nr < prev_raw || nr < now)
				bad++;
			prev = now;
			prev_raw = nr;
		}
		snprintf(name, sizeof name, "nondecreasing.%s", mono_names[c]);
		CHECKF(name, bad == 0, "%lld of 1000 reads went backwards", (long long)bad);
	}
	int64_t m = utest_now_ns(CLOCK_MONOTONIC), b = utest_now_ns(CLOCK_BOOTTIME);
	CHECKF("boottime_ge_monotonic", b >= m, "boottime %lld < monotonic %lld", (long long)b,
	       (long long)m);
	int64_t coarse = utest_now_ns(CLOCK_MONOTONIC_COARSE), fine = utest_now_ns(CLOCK_MONOTONIC);
	CHECKF("coarse_close", coarse <= fine && fine - coarse < 100000000LL,
	       "coarse %lld fine %lld", (long long)coarse, (long long)fine);
}

static void check_wallclock(void)
{
	struct timeval tv;
	struct timespec ts;
	CHECK_RET("gettimeofday", gettimeofday(&tv, NULL), 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t d = ts_ns(&ts) - ((int64_t)tv.tv_sec * NS + tv.tv_usec * 1000LL);
	CHECKF("gettimeofday.consistent", tv.tv_usec >= 0 && tv.tv_usec < 1000000 && d >= -1000000 &&
	       d < 500000000LL, "realtime - gettimeofday = %lld ns", (long long)d);
	struct timeval rtv;
	CHECK_RET("gettimeofday.raw", syscall(SYS_gettimeofday, &rtv, NULL), 0);
	CHECK_RET("gettimeofday.null_tv", syscall(SYS_gettimeofday, NULL, NULL), 0);
	time_t t1 = time(NULL), t2 = 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	CHECKF("time.consistent", t1 <= ts.tv_sec && ts.tv_sec - t1 <= 1, "time()=%lld realtime=%lld",
	       (long long)t1, (long long)ts.tv_sec);
	/* Linux's time() syscall reads the tick-updated (coarse) clock: it may trail by a second. */
	long rt = syscall(SYS_time, &t2);
	CHECKF("time.raw", rt >= t1 - 1 && rt == t2 && rt - t1 <= 2, "raw time=%ld stored=%lld, "
	       "time()=%lld", rt, (long long)t2, (long long)t1);
}

static void check_sleep(void)
{
	struct timespec req = { 0, 20000000 }, rem = { 7, 7 };
	int64_t t0 = utest_now_ns(CLOCK_MONOTONIC);
	CHECK_RET("nanosleep.20ms", nanosleep(&req, &rem), 0);
	int64_t el = utest_now_ns(CLOCK_MONOTONIC) - t0;
	CHECKF("nanosleep.duration", el >= 20000000 && el < 5 * NS, "slept %lld ns", (long long)el);
	CHECK_RET("nanosleep.zero", nanosleep(&(struct timespec){ 0, 0 }, NULL), 0);

	CHECK_ERR("nanosleep.nsec_1e9", nanosleep(&(struct timespec){ 0, 1000000000 }, NULL), EINVAL);
	CHECK_ERR("nanosleep.nsec_negative", nanosleep(&(struct timespec){ 0, -1 }, NULL), EINVAL);
	CHECK_ERR("nanosleep.sec_negative", nanosleep(&(struct timespec){ -1, 0 }, NULL), EINVAL);

	struct timespec target;
	clock_gettime(CLOCK_MONOTONIC, &target);
	target.tv_nsec += 20000000;
	if (target.tv_nsec >= NS) {
		target.tv_sec++;
		target.tv_nsec -= NS;
	}
	CHECK_RET("clock_nanosleep.abstime", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &target,
							     NULL), 0);
	int64_t now = utest_now_ns(CLOCK_MONOTONIC);
	CHECKF("clock_nanosleep.reached", now >= ts_ns(&target) && now - ts_ns(&target) < 5 * NS,
	       "woke %lld ns after the target", (long long)(now - ts_ns(&target)));
	/* In the past (but not before the clock's zero: a negative time is EINVAL): returns at once. */
	target.tv_sec = target.tv_sec > 10 ? target.tv_sec - 10 : 0;
	target.tv_nsec = 0;
	t0 = utest_now_ns(CLOCK_MONOTONIC);
	CHECK_RET("clock_nanosleep.past", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &target,
							  NULL), 0);
	CHECKF("clock_nanosleep.past_immediate", utest_now_ns(CLOCK_MONOTONIC) - t0 < NS / 2,
	       "took %lld ns", (long long)(utest_now_ns(CLOCK_MONOTONIC) - t0));

	req.tv_sec = 0;
	req.tv_nsec = 10000000;
	t0 = utest_now_ns(CLOCK_MONOTONIC);
	CHECK_RET("clock_nanosleep.relative", syscall(SYS_clock_nanosleep, CLOCK_REALTIME, 0, &req,
						      NULL), 0);
	CHECKF("clock_nanosleep.relative_duration", utest_now_ns(CLOCK_MONOTONIC) - t0 >= 10000000,
	       "slept %lld ns", (long long)(utest_now_ns(CLOCK_MONOTONIC) - t0));
	CHECK_SYSERR("clock_nanosleep.bad_clock", syscall(SYS_clock_nanosleep, 999, 0, &req, NULL),
		     EINVAL);
	/* Linux has no nanosleep for the calling thread's CPU clock: EOPNOTSUPP (man page: EINVAL). */
	CHECK_SYSERR("clock_nanosleep.thread_cputime",
		     syscall(SYS_clock_nanosleep, CLOCK_THREAD_CPUTIME_ID, 0, &req, NULL), EOPNOTSUPP);
	req.tv_nsec = NS;
	CHECK_SYSERR("clock_nanosleep.bad_nsec", syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &req,
							 NULL), EINVAL);
}

static volatile unsigned long spin_sink;

static void check_cpu_clocks(void)
{
	/* Busy until this thread has used 30 ms of CPU (5 s wall-clock limit). */
	int64_t th0 = utest_now_ns(CLOCK_THREAD_CPUTIME_ID), pr0 = utest_now_ns(CLOCK_PROCESS_CPUTIME_ID);
	struct tms tm0, tm1;
	clock_t c0 = times(&tm0);
	int64_t wall_end = utest_now_ns(CLOCK_MONOTONIC) + 5 * NS;
	int64_t th1 = th0;
	while (th1 - th0 < 60000000 && utest_now_ns(CLOCK_MONOTONIC) < wall_end) {
		for (int i = 0; i < 100000; i++)
			spin_sink += (unsigned long)i * 7;
		th1 = utest_now_ns(CLOCK_THREAD_CPUTIME_ID);
	}
	int64_t pr1 = utest_now_ns(CLOCK_PROCESS_CPUTIME_ID);
	clock_t c1 = times(&tm1);
	CHECKF("thread_cputime.advances", th1 - th0 >= 60000000, "thread CPU advanced %lld ns in 5 s",
	       (long long)(th1 - th0));
	CHECKF("process_cputime.advances", pr1 - pr0 >= th1 - th0 - 1000000,
	       "process CPU %lld ns < thread CPU %lld ns", (long long)(pr1 - pr0), (long long)(th1 - th0));
	CHECKF("times.cpu", (tm1.tms_utime + tm1.tms_stime) - (tm0.tms_utime + tm0.tms_stime) >= 1,
	       "utime+stime advanced %ld ticks after 60 ms CPU",
	       (long)((tm1.tms_utime + tm1.tms_stime) - (tm0.tms_utime + tm0.tms_stime)));
	CHECKF("times.ticks_increase", c0 != (clock_t)-1 && c1 > c0, "times() %ld then %ld", (long)c0,
	       (long)c1);
	CHECK_EQ("sysconf.clk_tck", sysconf(_SC_CLK_TCK), 100);

	int64_t s0 = utest_now_ns(CLOCK_THREAD_CPUTIME_ID);
	utest_sleep_ms(50);
	int64_t slept_cpu = utest_now_ns(CLOCK_THREAD_CPUTIME_ID) - s0;
	CHECKF("thread_cputime.idle", slept_cpu >= 0 && slept_cpu < 10000000,
	       "a 50 ms sleep used %lld ns of thread CPU", (long long)slept_cpu);
	clock_t c2 = times(NULL);
	CHECKF("times.null_buf", c2 >= c1 + 4, "times(NULL)=%ld, 50 ms after %ld", (long)c2, (long)c1);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	check_clocks();
	check_wallclock();
	check_sleep();
	check_cpu_clocks();
	return utest_done();
}
