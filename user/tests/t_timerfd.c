/*
 * t_timerfd - timerfd_create / timerfd_settime / timerfd_gettime: expiry counts read as
 * 8 bytes (EINVAL shorter, EAGAIN non-blocking), periodic timers, absolute times, old
 * values, poll and epoll readiness, TFD_TIMER_CANCEL_ON_SET, and the error cases.
 */
#define UTEST_PROGRAM "t_timerfd"
#include "utest.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>

static struct itimerspec spec(long value_ns, long interval_ns)
{
	struct itimerspec s = {{interval_ns / 1000000000, interval_ns % 1000000000}, {value_ns / 1000000000, value_ns % 1000000000}};
	return s;
}

static void check_basic(void)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);
	if (!CHECK_OK("create", fd))
		return;
	struct itimerspec cur;
	CHECK_RET("gettime.unarmed", timerfd_gettime(fd, &cur), 0);
	CHECK("gettime.zero", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);
	struct itimerspec s = spec(20000000, 0);
	CHECK_RET("settime.oneshot", timerfd_settime(fd, 0, &s, NULL), 0);
	CHECK_RET("gettime.armed", timerfd_gettime(fd, &cur), 0);
	CHECKF("gettime.left", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 20000000, "%ld", cur.it_value.tv_nsec);
	uint64_t n = 0;
	CHECK_RET("read.blocks_then_1", read(fd, &n, 8), 8);
	CHECK_EQ("read.count", n, 1);
	char small[4];
	CHECK_ERR("read.short", read(fd, small, 4), EINVAL);
	/* Periodic: several expiries counted. */
	s = spec(5000000, 5000000);
	struct itimerspec old;
	CHECK_RET("settime.periodic", timerfd_settime(fd, 0, &s, &old), 0);
	CHECK("settime.old_disarmed", old.it_value.tv_sec == 0 && old.it_value.tv_nsec == 0);
	usleep(100000);
	CHECK_RET("read.periodic", read(fd, &n, 8), 8);
	CHECKF("read.periodic_count", n >= 3, "count %llu", (unsigned long long)n);
	s = spec(0, 0);
	CHECK_RET("settime.disarm", timerfd_settime(fd, 0, &s, &old), 0);
	CHECK_EQ("settime.old_interval", old.it_interval.tv_nsec, 5000000);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	CHECK_ERR("read.eagain", read(fd, &n, 8), EAGAIN);
	CHECK_ERR("write", write(fd, &n, 8), EINVAL);
	close(fd);
}

static void check_abs_and_poll(void)
{
	int fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (!CHECK_OK("create.realtime", fd))
		return;
	CHECK("cloexec", fcntl(fd, F_GETFD) & FD_CLOEXEC);
	CHECK("nonblock", fcntl(fd, F_GETFL) & O_NONBLOCK);
	uint64_t n;
	CHECK_ERR("read.nonblock_unarmed", read(fd, &n, 8), EAGAIN);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct itimerspec s = {{0, 0}, {now.tv_sec, now.tv_nsec}};
	s.it_value.tv_nsec += 30000000;
	if (s.it_value.tv_nsec >= 1000000000) {
		s.it_value.tv_sec++;
		s.it_value.tv_nsec -= 1000000000;
	}
	CHECK_RET("settime.abs", timerfd_settime(fd, TFD_TIMER_ABSTIME, &s, NULL), 0);
	struct pollfd p = {fd, POLLIN, 0};
	CHECK_RET("poll.not_yet", poll(&p, 1, 0), 0);
	CHECK_RET("poll.fires", poll(&p, 1, 5000), 1);
	CHECK("poll.pollin", p.revents & POLLIN);
	CHECK_RET("read.abs", read(fd, &n, 8), 8);
	CHECK_EQ("read.abs_count", n, 1);
	/* Absolute time in the past: expires at once. */
	struct itimerspec past = {{0, 0}, {1, 0}};
	CHECK_RET("settime.abs_past", timerfd_settime(fd, TFD_TIMER_ABSTIME, &past, NULL), 0);
	CHECK_RET("poll.past", poll(&p, 1, 5000), 1);
	read(fd, &n, 8);
	/* epoll */
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7};
	CHECK_RET("epoll.add", epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
	s = spec(10000000, 0);
	timerfd_settime(fd, 0, &s, NULL);
	struct epoll_event out;
	CHECK_RET("epoll.wait", epoll_wait(ep, &out, 1, 5000), 1);
	CHECK_EQ("epoll.data", out.data.u32, 7);
	close(ep);
	close(fd);
}

static void check_cancel_on_set(void)
{
	int fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct itimerspec s = {{0, 0}, {now.tv_sec + 3600, 0}};
	CHECK_RET("cancel.settime", timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &s, NULL), 0);
	clock_gettime(CLOCK_REALTIME, &now);
	if (clock_settime(CLOCK_REALTIME, &now) == 0) {
		struct pollfd p = {fd, POLLIN, 0};
		CHECK_RET("cancel.poll", poll(&p, 1, 5000), 1);
		uint64_t n;
		CHECK_ERR("cancel.read", read(fd, &n, 8), ECANCELED);
	} else {
		CHECK("cancel(skipped: clock_settime not permitted)", 1);
	}
	close(fd);
}

static int nobody_alarm(void)
{
	int fd = timerfd_create(CLOCK_BOOTTIME_ALARM, 0);
	return fd == -1 && errno == EPERM ? 0 : 1;
}

static void check_errors(void)
{
	CHECK_ERR("create.bad_clock", timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0), EINVAL);
	CHECK_ERR("create.bad_clock2", timerfd_create(99, 0), EINVAL);
	CHECK_ERR("create.bad_flags", timerfd_create(CLOCK_MONOTONIC, 1), EINVAL);
	int fd = timerfd_create(CLOCK_BOOTTIME, 0);
	CHECK_OK("create.boottime", fd);
	struct itimerspec s = spec(1000, 0), cur;
	CHECK_ERR("settime.bad_flags", timerfd_settime(fd, 4, &s, NULL), EINVAL);
	struct itimerspec bad = {{0, 0}, {0, 1000000000}};
	CHECK_ERR("settime.bad_nsec", timerfd_settime(fd, 0, &bad, NULL), EINVAL);
	CHECK_ERR("settime.efault", timerfd_settime(fd, 0, (void *)8, NULL), EFAULT);
	CHECK_ERR("settime.ebadf", timerfd_settime(999, 0, &s, NULL), EBADF);
	CHECK_ERR("gettime.ebadf", timerfd_gettime(999, &cur), EBADF);
	int pfd[2];
	pipe(pfd);
	CHECK_ERR("settime.not_timerfd", timerfd_settime(pfd[0], 0, &s, NULL), EINVAL);
	CHECK_ERR("gettime.not_timerfd", timerfd_gettime(pfd[0], &cur), EINVAL);
	close(pfd[0]);
	close(pfd[1]);
	close(fd);
	pid_t child = fork();
	if (child == 0) {
		if (setuid(65534))
			_exit(100);
		_exit(nobody_alarm());
	}
	int status = -1;
	waitpid(child, &status, 0);
	CHECKF("alarm.eperm_nonroot", WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	check_basic();
	check_abs_and_poll();
	check_cancel_on_set();
	check_errors();
	return utest_done();
}
