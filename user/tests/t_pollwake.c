/*
 * t_pollwake - readiness waits wake only the waiters of the file that changed: a process
 * blocked in poll() or epoll_wait() on an idle pipe is not woken by 2,000 round trips on
 * another pipe pair between two other processes (fewer than 20 voluntary context switches,
 * getrusage ru_nvcsw; at least one: the wait itself blocks).  Also the wake-ups that must
 * happen: poll on several pipes woken by the right one, select, epoll level- and
 * edge-triggered across a change, epoll_ctl ADD of a ready file while another thread waits,
 * nested epoll (epoll_wait and poll on an inner instance), eventfd, a closed writer (POLLHUP),
 * a signal (EINTR), and a timeout that still times out.
 */
#define UTEST_PROGRAM "t_pollwake"
#include "utest.h"

#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/select.h>

#define ROUND_TRIPS 2000
#define MAX_WAKES 20

static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

static long nvcsw(void)
{
	struct rusage ru;
	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_nvcsw : -1;
}

static long elapsed_ms(int64_t start)
{
	return (long)((utest_now_ns(CLOCK_MONOTONIC) - start) / 1000000);
}

/* A child that writes one byte to `fd` after `ms` milliseconds. */
static pid_t write_later(int fd, int ms)
{
	pid_t pid = fork();
	if (pid == 0) {
		utest_sleep_ms(ms);
		_exit(write(fd, "x", 1) == 1 ? 0 : 1);
	}
	return pid;
}

/* Two processes bouncing a byte ROUND_TRIPS times over the pipes a (ping) and b (pong). */
static pid_t ping_pong(void)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	int a[2], b[2];
	if (pipe(a) || pipe(b))
		_exit(2);
	pid_t pong = fork();
	char c = 'p';
	if (pong == 0) {
		for (int i = 0; i < ROUND_TRIPS; i++)
			if (read(a[0], &c, 1) != 1 || write(b[1], &c, 1) != 1)
				_exit(3);
		_exit(0);
	}
	int ok = 1;
	for (int i = 0; i < ROUND_TRIPS && ok; i++)
		ok = write(a[1], &c, 1) == 1 && read(b[0], &c, 1) == 1;
	int st = 0;
	waitpid(pong, &st, 0);
	_exit(ok && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 4);
}

/*
 * The isolation case: a child blocks (poll, or epoll_wait when `use_epoll`) on an idle pipe
 * while two other processes do their round trips; then the parent wakes it through that pipe.
 * The child sends back how many voluntary switches its wait cost.
 */
static void check_isolation(const char *name, int use_epoll)
{
	char label[64];
	int idle[2], ready[2], result[2];
	if (pipe(idle) || pipe(ready) || pipe(result)) {
		utest_fail(name, "pipe: %s", utest_errname(errno));
		return;
	}
	pid_t poller = fork();
	if (poller == 0) {
		long delta = -1;
		int ep = -1;
		if (use_epoll) {
			struct epoll_event ev = { .events = EPOLLIN, .data.fd = idle[0] };
			ep = epoll_create1(0);
			if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, idle[0], &ev) != 0)
				_exit(1);
		}
		long before = nvcsw();
		write(ready[1], "r", 1);
		int r;
		if (use_epoll) {
			struct epoll_event ev;
			r = epoll_wait(ep, &ev, 1, 20000);
		} else {
			struct pollfd p = { .fd = idle[0], .events = POLLIN };
			r = poll(&p, 1, 20000);
		}
		long after = nvcsw();
		if (r == 1 && before >= 0 && after >= 0)
			delta = after - before;
		write(result[1], &delta, sizeof delta);
		_exit(0);
	}
	char c;
	read(ready[0], &c, 1);
	utest_sleep_ms(50); /* let it block in its wait */
	pid_t pp = ping_pong();
	int st = utest_wait(pp);
	snprintf(label, sizeof label, "%s.round_trips", name);
	utest_check_exit(label, st, 0);
	write(idle[1], "w", 1);
	long delta = -2;
	read(result[0], &delta, sizeof delta);
	utest_wait(poller);
	snprintf(label, sizeof label, "%s.nvcsw_counts", name);
	CHECKF(label, delta >= 1, "voluntary switches of the wait: %ld (it blocked, so at least 1)", delta);
	snprintf(label, sizeof label, "%s.not_woken", name);
	CHECKF(label, delta >= 0 && delta < MAX_WAKES, "woken %ld times by %d round trips elsewhere", delta,
	       ROUND_TRIPS);
	close(idle[0]), close(idle[1]), close(ready[0]), close(ready[1]), close(result[0]), close(result[1]);
}

static void check_poll_right_one(void)
{
	int p[3][2];
	for (int i = 0; i < 3; i++)
		pipe(p[i]);
	struct pollfd fds[3];
	for (int i = 0; i < 3; i++)
		fds[i] = (struct pollfd){ .fd = p[i][0], .events = POLLIN };
	pid_t w = write_later(p[1][1], 50);
	int64_t start = utest_now_ns(CLOCK_MONOTONIC);
	CHECK_RET("poll.several_woken", poll(fds, 3, 5000), 1);
	CHECKF("poll.several_right_one", fds[0].revents == 0 && fds[1].revents == POLLIN && fds[2].revents == 0,
	       "revents %#x %#x %#x", fds[0].revents, fds[1].revents, fds[2].revents);
	long ms = elapsed_ms(start);
	CHECKF("poll.several_waited", ms >= 30 && ms < 4000, "returned after %ld ms", ms);
	utest_wait(w);
	for (int i = 0; i < 3; i++)
		close(p[i][0]), close(p[i][1]);
}

static void check_select(void)
{
	int p[2], q[2];
	pipe(p), pipe(q);
	fd_set rd;
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	FD_SET(q[0], &rd);
	pid_t w = write_later(q[1], 50);
	struct timeval tv = { .tv_sec = 5 };
	int nfds = (p[0] > q[0] ? p[0] : q[0]) + 1;
	CHECK_RET("select.woken", select(nfds, &rd, NULL, NULL, &tv), 1);
	CHECK("select.right_one", FD_ISSET(q[0], &rd) && !FD_ISSET(p[0], &rd));
	utest_wait(w);
	close(p[0]), close(p[1]), close(q[0]), close(q[1]);
}

static void check_epoll_modes(void)
{
	int lt[2], et[2];
	pipe(lt), pipe(et);
	int ep_lt = epoll_create1(0), ep_et = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = lt[0] };
	epoll_ctl(ep_lt, EPOLL_CTL_ADD, lt[0], &ev);
	ev = (struct epoll_event){ .events = EPOLLIN | EPOLLET, .data.fd = et[0] };
	epoll_ctl(ep_et, EPOLL_CTL_ADD, et[0], &ev);
	struct epoll_event out;

	pid_t w = write_later(lt[1], 50);
	CHECK_RET("epoll.level_woken", epoll_wait(ep_lt, &out, 1, 5000), 1);
	CHECK_RET("epoll.level_again", epoll_wait(ep_lt, &out, 1, 0), 1);
	utest_wait(w);

	w = write_later(et[1], 50);
	CHECK_RET("epoll.edge_woken", epoll_wait(ep_et, &out, 1, 5000), 1);
	CHECK_RET("epoll.edge_once", epoll_wait(ep_et, &out, 1, 50), 0);
	utest_wait(w);
	/* More data is a new edge: it wakes a waiter although the pipe was readable already. */
	w = write_later(et[1], 50);
	CHECK_RET("epoll.edge_new_data_wakes", epoll_wait(ep_et, &out, 1, 5000), 1);
	utest_wait(w);
	close(ep_lt), close(ep_et), close(lt[0]), close(lt[1]), close(et[0]), close(et[1]);
}

struct ctl_waiter {
	int ep;
	int result;
};

static void *ctl_wait(void *arg)
{
	struct ctl_waiter *w = arg;
	struct epoll_event out;
	w->result = epoll_wait(w->ep, &out, 1, 5000);
	return NULL;
}

/* A ready file added while another thread waits on an instance that watched nothing. */
static void check_epoll_ctl_wakes(void)
{
	struct ctl_waiter w = { .ep = epoll_create1(0), .result = -2 };
	int efd = eventfd(1, 0);
	pthread_t t;
	if (pthread_create(&t, NULL, ctl_wait, &w) != 0) {
		utest_fail("epoll.ctl_add_wakes", "pthread_create failed");
		return;
	}
	utest_sleep_ms(50);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = efd };
	int64_t start = utest_now_ns(CLOCK_MONOTONIC);
	epoll_ctl(w.ep, EPOLL_CTL_ADD, efd, &ev);
	pthread_join(t, NULL);
	long ms = elapsed_ms(start);
	CHECKF("epoll.ctl_add_wakes", w.result == 1 && ms < 2000, "epoll_wait returned %d after %ld ms", w.result, ms);
	close(efd), close(w.ep);
}

static void check_nested(void)
{
	int p[2];
	pipe(p);
	int inner = epoll_create1(0), outer = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = p[0] };
	epoll_ctl(inner, EPOLL_CTL_ADD, p[0], &ev);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = inner };
	epoll_ctl(outer, EPOLL_CTL_ADD, inner, &ev);
	struct epoll_event out = { 0 };
	pid_t w = write_later(p[1], 50);
	CHECK_RET("nested.epoll_woken", epoll_wait(outer, &out, 1, 5000), 1);
	CHECK_EQ("nested.epoll_reports_inner", out.data.fd, inner);
	utest_wait(w);
	char c;
	read(p[0], &c, 1);

	struct pollfd pfd = { .fd = inner, .events = POLLIN };
	CHECK_RET("nested.poll_idle", poll(&pfd, 1, 0), 0);
	w = write_later(p[1], 50);
	CHECK_RET("nested.poll_woken", poll(&pfd, 1, 5000), 1);
	CHECK_EQ("nested.poll_revents", pfd.revents, POLLIN);
	utest_wait(w);
	close(outer), close(inner), close(p[0]), close(p[1]);
}

static void check_eventfd(void)
{
	int efd = eventfd(0, 0);
	struct pollfd pfd = { .fd = efd, .events = POLLIN };
	pid_t pid = fork();
	if (pid == 0) {
		utest_sleep_ms(50);
		uint64_t one = 1;
		_exit(write(efd, &one, 8) == 8 ? 0 : 1);
	}
	CHECK_RET("eventfd.poll_woken", poll(&pfd, 1, 5000), 1);
	CHECK_EQ("eventfd.poll_revents", pfd.revents, POLLIN);
	utest_wait(pid);
	close(efd);
}

static void check_hangup(void)
{
	int p[2];
	pipe(p);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		utest_sleep_ms(50);
		_exit(0); /* closes the last write end */
	}
	close(p[1]);
	struct pollfd pfd = { .fd = p[0], .events = POLLIN };
	CHECK_RET("hangup.poll_woken", poll(&pfd, 1, 5000), 1);
	CHECK_EQ("hangup.pollhup", pfd.revents, POLLHUP);
	utest_wait(pid);
	close(p[0]);
}

static void check_signal_and_timeout(void)
{
	int p[2];
	pipe(p);
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigaction(SIGUSR1, &sa, NULL);
	pid_t parent = getpid(), pid = fork();
	if (pid == 0) {
		utest_sleep_ms(50);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	struct pollfd pfd = { .fd = p[0], .events = POLLIN };
	CHECK_ERR("signal.poll_eintr", poll(&pfd, 1, 5000), EINTR);
	CHECK_EQ("signal.handled", handled, 1);
	utest_wait(pid);

	int64_t start = utest_now_ns(CLOCK_MONOTONIC);
	CHECK_RET("timeout.poll", poll(&pfd, 1, 100), 0);
	long ms = elapsed_ms(start);
	CHECKF("timeout.poll_waited", ms >= 90 && ms < 2000, "returned after %ld ms", ms);
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = p[0] }, out;
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
	start = utest_now_ns(CLOCK_MONOTONIC);
	CHECK_RET("timeout.epoll", epoll_wait(ep, &out, 1, 100), 0);
	ms = elapsed_ms(start);
	CHECKF("timeout.epoll_waited", ms >= 90 && ms < 2000, "returned after %ld ms", ms);
	close(ep), close(p[0]), close(p[1]);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	check_isolation("isolation.poll", 0);
	check_isolation("isolation.epoll", 1);
	check_poll_right_one();
	check_select();
	check_epoll_modes();
	check_epoll_ctl_wakes();
	check_nested();
	check_eventfd();
	check_hangup();
	check_signal_and_timeout();
	return utest_done();
}
