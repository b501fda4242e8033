/*
 * t_poll - readiness multiplexing and its file kinds: poll/ppoll/select/pselect6 on pipes
 * (timeouts, POLLHUP/POLLERR/POLLNVAL, EBADF, signal interruption and temporary masks), epoll
 * (create1, ctl errors, level/edge-triggered/one-shot, timeouts, nesting), eventfd (counter,
 * semaphore mode, EAGAIN, EINVAL, overflow, readiness), FIFOs (mkfifo/mknod, open rules, two
 * processes, EOF), sendfile/copy_file_range, and mknod of device nodes.  Works under /tmp.
 */
#define UTEST_PROGRAM "t_poll"
#include "utest.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

static char dir[64];
static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

static long elapsed_ms(uint64_t start)
{
	return (long)((utest_now_ns(CLOCK_MONOTONIC) - start) / 1000000);
}

/* A child that sends SIGUSR1 to the parent after `ms` milliseconds. */
static pid_t signal_later(int ms)
{
	pid_t parent = getpid(), pid = fork();
	if (pid == 0) {
		utest_sleep_ms(ms);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	return pid;
}

static short revents_of(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	return poll(&p, 1, 0) < 0 ? -1 : p.revents;
}

static void check_poll(void)
{
	int p[2];
	if (!CHECK_RET("poll.pipe", pipe(p), 0))
		return;
	struct pollfd fds[2] = { { .fd = p[0], .events = POLLIN }, { .fd = -1, .events = POLLIN } };
	CHECK_RET("poll.empty_timeout0", poll(fds, 1, 0), 0);
	CHECK_EQ("poll.empty_revents", fds[0].revents, 0);
	CHECK_EQ("poll.write_end_pollout", revents_of(p[1], POLLOUT), POLLOUT);
	CHECK_RET("poll.write", write(p[1], "x", 1), 1);
	CHECK_RET("poll.data", poll(fds, 2, 0), 1);
	CHECK_EQ("poll.data_pollin", fds[0].revents, POLLIN);
	CHECK_EQ("poll.negative_fd_skipped", fds[1].revents, 0);
	CHECK_EQ("poll.rdnorm", revents_of(p[0], POLLRDNORM), POLLRDNORM);
	char c;
	read(p[0], &c, 1);
	close(p[1]);
	CHECK_EQ("poll.closed_writer_pollhup", revents_of(p[0], POLLIN), POLLHUP);
	close(p[0]);

	pipe(p);
	close(p[0]);
	CHECK_EQ("poll.closed_reader_pollerr", revents_of(p[1], POLLOUT), POLLOUT | POLLERR);
	close(p[1]);

	struct pollfd bad = { .fd = 987, .events = POLLIN };
	CHECK_RET("poll.nval", poll(&bad, 1, 0), 1);
	CHECK_EQ("poll.nval_revents", bad.revents, POLLNVAL);
	CHECK_ERR("poll.nfds_over_rlimit", poll(&bad, 1u << 30, 0), EINVAL);

	pipe(p);
	fds[0].fd = p[0];
	uint64_t start = utest_now_ns(CLOCK_MONOTONIC);
	CHECK_RET("poll.timeout", poll(fds, 1, 100), 0);
	long ms = elapsed_ms(start);
	CHECKF("poll.timeout_measured", ms >= 95 && ms < 3000, "slept %ld ms", ms);

	pid_t child = fork();
	if (child == 0) {
		utest_sleep_ms(50);
		write(p[1], "y", 1);
		_exit(0);
	}
	CHECK_RET("poll.wakes_on_data", poll(fds, 1, 5000), 1);
	utest_wait(child);
	read(p[0], &c, 1);

	struct sigaction sa = { .sa_handler = on_usr1 };
	sigaction(SIGUSR1, &sa, NULL);
	handled = 0;
	child = signal_later(50);
	CHECK_ERR("poll.eintr", poll(fds, 1, -1), EINTR);
	CHECK_EQ("poll.eintr_handled", handled, 1);
	utest_wait(child);

	/* ppoll: SIGUSR1 blocked and pending; the temporary mask lets it in. */
	sigset_t block, empty, now;
	sigemptyset(&block);
	sigemptyset(&empty);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, NULL);
	handled = 0;
	raise(SIGUSR1);
	struct timespec ts = { 0, 0 };
	CHECK_RET("ppoll.blocked_signal_waits", ppoll(fds, 1, &ts, NULL), 0);
	ts.tv_nsec = 500000000;
	CHECK_ERR("ppoll.mask_eintr", ppoll(fds, 1, &ts, &empty), EINTR);
	CHECK_EQ("ppoll.mask_handled", handled, 1);
	sigprocmask(SIG_BLOCK, NULL, &now);
	CHECK("ppoll.mask_restored", sigismember(&now, SIGUSR1));
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	ts.tv_nsec = 50000000;
	start = utest_now_ns(CLOCK_MONOTONIC);
	CHECK_RET("ppoll.timeout", ppoll(fds, 1, &ts, &empty), 0);
	ms = elapsed_ms(start);
	CHECKF("ppoll.timeout_measured", ms >= 45 && ms < 3000, "slept %ld ms", ms);
	ts.tv_nsec = 1000000000;
	CHECK_ERR("ppoll.bad_timespec", ppoll(fds, 1, &ts, NULL), EINVAL);
	close(p[0]);
	close(p[1]);
}

static void check_select(void)
{
	int p[2];
	pipe(p);
	fd_set r, w;
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	struct timeval tv = { 0, 0 };
	CHECK_RET("select.empty", select(p[0] + 1, &r, NULL, NULL, &tv), 0);
	CHECK("select.empty_cleared", !FD_ISSET(p[0], &r));
	write(p[1], "x", 1);
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	FD_ZERO(&w);
	FD_SET(p[1], &w);
	int n = p[0] > p[1] ? p[0] : p[1];
	CHECK_RET("select.ready", select(n + 1, &r, &w, NULL, NULL), 2);
	CHECK("select.ready_sets", FD_ISSET(p[0], &r) && FD_ISSET(p[1], &w));
	char c;
	read(p[0], &c, 1);

	FD_ZERO(&r);
	FD_SET(p[0], &r);
	tv.tv_usec = 100000;
	uint64_t start = utest_now_ns(CLOCK_MONOTONIC);
	/* The raw call: libcs may pass the kernel a copy of the timeval. */
	CHECK_RET("select.timeout", syscall(SYS_select, p[0] + 1, &r, NULL, NULL, &tv), 0);
	long ms = elapsed_ms(start);
	CHECKF("select.timeout_measured", ms >= 95 && ms < 3000, "slept %ld ms", ms);
	CHECKF("select.timeout_updated", tv.tv_sec == 0 && tv.tv_usec == 0, "left %ld.%06ld",
	       (long)tv.tv_sec, (long)tv.tv_usec);

	int closed = dup(p[0]);
	close(closed);
	FD_ZERO(&r);
	FD_SET(closed, &r);
	tv.tv_usec = 0;
	CHECK_ERR("select.ebadf", select(closed + 1, &r, NULL, NULL, &tv), EBADF);
	CHECK_ERR("select.negative_nfds", select(-1, NULL, NULL, NULL, &tv), EINVAL);

	handled = 0;
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	pid_t child = signal_later(50);
	CHECK_ERR("select.eintr", select(p[0] + 1, &r, NULL, NULL, NULL), EINTR);
	utest_wait(child);

	sigset_t block, empty;
	sigemptyset(&block);
	sigemptyset(&empty);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, NULL);
	handled = 0;
	raise(SIGUSR1);
	struct timespec ts = { 1, 0 };
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	CHECK_ERR("pselect.mask_eintr", pselect(p[0] + 1, &r, NULL, NULL, &ts, &empty), EINTR);
	CHECK_EQ("pselect.mask_handled", handled, 1);
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	write(p[1], "x", 1);
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	CHECK_RET("pselect.ready", pselect(p[0] + 1, &r, NULL, NULL, &ts, &empty), 1);
	close(p[0]);
	close(p[1]);
}

static int wait1(int ep, struct epoll_event *ev, int timeout)
{
	return epoll_wait(ep, ev, 1, timeout);
}

static void check_epoll(void)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (!CHECKF("epoll.create1", ep >= 0, "errno %s", utest_errname(errno)))
		return;
	CHECK_EQ("epoll.cloexec", fcntl(ep, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	CHECK_ERR("epoll.create1_bad_flags", epoll_create1(1), EINVAL);
	CHECK_SYSERR("epoll.create_zero", syscall(SYS_epoll_create, 0), EINVAL);
	int p[2];
	pipe(p);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0x1122334455667788ull };
	CHECK_RET("epoll.ctl_add", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0);
	CHECK_ERR("epoll.ctl_add_eexist", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), EEXIST);
	CHECK_ERR("epoll.ctl_mod_enoent", epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev), ENOENT);
	CHECK_ERR("epoll.ctl_del_enoent", epoll_ctl(ep, EPOLL_CTL_DEL, p[1], &ev), ENOENT);
	CHECK_ERR("epoll.ctl_ebadf", epoll_ctl(ep, EPOLL_CTL_ADD, 987, &ev), EBADF);
	CHECK_ERR("epoll.ctl_not_epoll", epoll_ctl(p[1], EPOLL_CTL_ADD, p[0], &ev), EINVAL);
	CHECK_ERR("epoll.ctl_self", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev), EINVAL);
	CHECK_ERR("epoll.ctl_bad_op", epoll_ctl(ep, 99, p[0], &ev), EINVAL);
	char path[128];
	snprintf(path, sizeof path, "%s/regular", dir);
	int reg = open(path, O_RDWR | O_CREAT, 0600);
	CHECK_ERR("epoll.ctl_regular_eperm", epoll_ctl(ep, EPOLL_CTL_ADD, reg, &ev), EPERM);
	close(reg);
	unlink(path);
	int ep2 = epoll_create1(0);
	CHECK_RET("epoll.nest", epoll_ctl(ep2, EPOLL_CTL_ADD, ep, &ev), 0);
	CHECK_ERR("epoll.nest_eloop", epoll_ctl(ep, EPOLL_CTL_ADD, ep2, &ev), ELOOP);

	struct epoll_event out[4];
	CHECK_ERR("epoll.wait_maxevents0", epoll_wait(ep, out, 0, 0), EINVAL);
	uint64_t start = utest_now_ns(CLOCK_MONOTONIC);
	CHECK_RET("epoll.wait_timeout", wait1(ep, out, 100), 0);
	long ms = elapsed_ms(start);
	CHECKF("epoll.wait_timeout_measured", ms >= 95 && ms < 3000, "slept %ld ms", ms);
	write(p[1], "x", 1);
	memset(out, 0, sizeof out);
	CHECK_RET("epoll.level", wait1(ep, out, 1000), 1);
	CHECKF("epoll.level_event", out[0].events == EPOLLIN && out[0].data.u64 == 0x1122334455667788ull,
	       "events %#x data %#llx", out[0].events, (unsigned long long)out[0].data.u64);
	CHECK_RET("epoll.level_again", wait1(ep, out, 0), 1);
	CHECK_EQ("epoll.nested_ready", revents_of(ep2, POLLIN), POLLIN);
	CHECK_RET("epoll.nested_wait", wait1(ep2, out, 0), 1);
	CHECK_EQ("epoll.pollable", revents_of(ep, POLLIN), POLLIN);

	ev.events = EPOLLIN | EPOLLET;
	CHECK_RET("epoll.ctl_mod_et", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev), 0);
	CHECK_RET("epoll.et_first", wait1(ep, out, 0), 1);
	CHECK_RET("epoll.et_no_new_edge", wait1(ep, out, 0), 0);
	write(p[1], "x", 1);
	CHECK_RET("epoll.et_new_data", wait1(ep, out, 1000), 1);
	CHECK_RET("epoll.et_consumed", wait1(ep, out, 0), 0);

	ev.events = EPOLLIN | EPOLLONESHOT;
	CHECK_RET("epoll.ctl_mod_oneshot", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev), 0);
	CHECK_RET("epoll.oneshot_first", wait1(ep, out, 0), 1);
	write(p[1], "x", 1);
	CHECK_RET("epoll.oneshot_disabled", wait1(ep, out, 0), 0);
	CHECK_RET("epoll.oneshot_rearm", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev), 0);
	CHECK_RET("epoll.oneshot_rearmed", wait1(ep, out, 0), 1);

	ev.events = EPOLLOUT;
	ev.data.fd = p[1];
	CHECK_RET("epoll.ctl_add_out", epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev), 0);
	memset(out, 0, sizeof out);
	CHECK_RET("epoll.out", epoll_wait(ep, out, 4, 0), 1);
	CHECKF("epoll.out_event", out[0].events == EPOLLOUT && out[0].data.fd == p[1], "events %#x fd %d",
	       out[0].events, out[0].data.fd);
	CHECK_RET("epoll.ctl_del", epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL), 0);
	CHECK_RET("epoll.after_del", epoll_wait(ep, out, 4, 0), 0);

	sigset_t block, empty;
	sigemptyset(&block);
	sigemptyset(&empty);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, NULL);
	handled = 0;
	raise(SIGUSR1);
	CHECK_ERR("epoll.pwait_mask_eintr", epoll_pwait(ep, out, 4, 1000, &empty), EINTR);
	CHECK_EQ("epoll.pwait_handled", handled, 1);
	sigprocmask(SIG_UNBLOCK, &block, NULL);

	/* Closing the last descriptor of a watched file removes it from the set. */
	int q[2];
	pipe(q);
	ev.events = EPOLLIN;
	epoll_ctl(ep, EPOLL_CTL_ADD, q[0], &ev);
	write(q[1], "x", 1);
	close(q[0]);
	CHECK_RET("epoll.closed_removed", epoll_wait(ep, out, 4, 0), 0);
	close(q[1]);
	close(p[0]);
	close(p[1]);
	close(ep2);
	close(ep);
}

static void check_eventfd(void)
{
	int fd = eventfd(0, 0);
	if (!CHECKF("eventfd.create", fd >= 0, "errno %s", utest_errname(errno)))
		return;
	uint64_t v = 3;
	CHECK_RET("eventfd.write", write(fd, &v, 8), 8);
	v = 4;
	write(fd, &v, 8);
	CHECK_EQ("eventfd.poll_ready", revents_of(fd, POLLIN | POLLOUT), POLLIN | POLLOUT);
	v = 0;
	CHECK_RET("eventfd.read", read(fd, &v, 8), 8);
	CHECK_EQ("eventfd.read_sum", v, 7);
	CHECK_EQ("eventfd.poll_empty", revents_of(fd, POLLIN | POLLOUT), POLLOUT);
	CHECK_ERR("eventfd.short_read", read(fd, &v, 4), EINVAL);
	CHECK_ERR("eventfd.short_write", write(fd, &v, 4), EINVAL);
	v = UINT64_MAX;
	CHECK_ERR("eventfd.write_max_einval", write(fd, &v, 8), EINVAL);
	pid_t child = fork();
	if (child == 0) {
		utest_sleep_ms(50);
		uint64_t one = 1;
		write(fd, &one, 8);
		_exit(0);
	}
	CHECK_RET("eventfd.blocking_read", read(fd, &v, 8), 8);
	CHECK_EQ("eventfd.blocking_value", v, 1);
	utest_wait(child);
	close(fd);

	fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	CHECK_EQ("eventfd.cloexec", fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	CHECK_ERR("eventfd.nonblock_eagain", read(fd, &v, 8), EAGAIN);
	v = UINT64_MAX - 1;
	CHECK_RET("eventfd.fill", write(fd, &v, 8), 8);
	CHECK_EQ("eventfd.full_not_writable", revents_of(fd, POLLIN | POLLOUT), POLLIN);
	v = 1;
	CHECK_ERR("eventfd.overflow_eagain", write(fd, &v, 8), EAGAIN);
	v = 0;
	CHECK_RET("eventfd.write_zero_ok", write(fd, &v, 8), 8);
	close(fd);

	fd = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
	uint64_t a = 0, b = 0;
	read(fd, &a, 8);
	read(fd, &b, 8);
	CHECKF("eventfd.semaphore", a == 1 && b == 1, "read %llu %llu", (unsigned long long)a,
	       (unsigned long long)b);
	CHECK_ERR("eventfd.semaphore_empty", read(fd, &a, 8), EAGAIN);
	close(fd);
	CHECK_ERR("eventfd.bad_flags", eventfd(0, 0x4000), EINVAL);
}

static void check_fifo(void)
{
	char path[128], buf[64];
	snprintf(path, sizeof path, "%s/fifo", dir);
	if (!CHECK_RET("fifo.mkfifo", mkfifo(path, 0600), 0))
		return;
	struct stat st;
	stat(path, &st);
	CHECK("fifo.stat_isfifo", S_ISFIFO(st.st_mode));
	CHECK_ERR("fifo.nonblock_writer_enxio", open(path, O_WRONLY | O_NONBLOCK), ENXIO);
	int r = open(path, O_RDONLY | O_NONBLOCK);
	CHECKF("fifo.nonblock_reader", r >= 0, "errno %s", utest_errname(errno));
	CHECK_EQ("fifo.no_writer_yet_no_hup", revents_of(r, POLLIN), 0);
	CHECK_RET("fifo.no_writer_eof", read(r, buf, sizeof buf), 0);
	int w = open(path, O_WRONLY | O_NONBLOCK);
	CHECKF("fifo.writer_with_reader", w >= 0, "errno %s", utest_errname(errno));
	struct stat fst;
	fstat(w, &fst);
	CHECK("fifo.fstat_same_inode", S_ISFIFO(fst.st_mode) && fst.st_ino == st.st_ino);
	CHECK_RET("fifo.write", write(w, "abc", 3), 3);
	CHECK_EQ("fifo.pollin", revents_of(r, POLLIN), POLLIN);
	CHECK_RET("fifo.read", read(r, buf, sizeof buf), 3);
	CHECK_ERR("fifo.empty_eagain", read(r, buf, sizeof buf), EAGAIN);
	close(w);
	CHECK_EQ("fifo.writer_gone_hup", revents_of(r, POLLIN), POLLHUP);
	CHECK_RET("fifo.eof", read(r, buf, sizeof buf), 0);
	close(r);
	int rw = open(path, O_RDWR);
	CHECKF("fifo.rdwr_no_block", rw >= 0, "errno %s", utest_errname(errno));
	CHECK_RET("fifo.rdwr_loop", write(rw, "z", 1) + read(rw, buf, 1), 2);
	close(rw);

	pid_t child = fork();
	if (child == 0) {
		int fd = open(path, O_WRONLY);
		if (fd < 0)
			_exit(1);
		utest_sleep_ms(20);
		_exit(write(fd, "hello fifo", 10) == 10 ? 0 : 2);
	}
	r = open(path, O_RDONLY);
	CHECKF("fifo.blocking_open", r >= 0, "errno %s", utest_errname(errno));
	size_t got = 0;
	ssize_t n;
	while (got < sizeof buf && (n = read(r, buf + got, sizeof buf - got)) > 0)
		got += (size_t)n;
	CHECKF("fifo.two_processes", got == 10 && memcmp(buf, "hello fifo", 10) == 0, "got %zu", got);
	close(r);
	utest_check_exit("fifo.writer_exit", utest_wait(child), 0);
	CHECK_RET("fifo.unlink", unlink(path), 0);
}

static void check_sendfile(void)
{
	char path[128], buf[32] = { 0 };
	snprintf(path, sizeof path, "%s/data", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	write(fd, "0123456789", 10);
	lseek(fd, 0, SEEK_SET);
	int p[2];
	pipe(p);
	CHECK_RET("sendfile.to_pipe", sendfile(p[1], fd, NULL, 100), 10);
	CHECK_RET("sendfile.offset_moved", lseek(fd, 0, SEEK_CUR), 10);
	CHECK_RET("sendfile.pipe_data", read(p[0], buf, sizeof buf), 10);
	CHECK("sendfile.data", memcmp(buf, "0123456789", 10) == 0);
	off_t off = 2;
	CHECK_RET("sendfile.with_offset", sendfile(p[1], fd, &off, 5), 5);
	CHECK_EQ("sendfile.offset_updated", off, 7);
	CHECK_RET("sendfile.file_offset_kept", lseek(fd, 0, SEEK_CUR), 10);
	memset(buf, 0, sizeof buf);
	read(p[0], buf, sizeof buf);
	CHECK("sendfile.offset_data", memcmp(buf, "23456", 5) == 0);
	CHECK_RET("sendfile.eof", sendfile(p[1], fd, NULL, 10), 0);
	CHECK_ERR("sendfile.from_write_end", sendfile(p[1], p[1], NULL, 1), EBADF);

	char path2[128];
	snprintf(path2, sizeof path2, "%s/copy", dir);
	int out = open(path2, O_RDWR | O_CREAT | O_TRUNC, 0600);
	off_t in_off = 3;
	CHECK_RET("copy_file_range", syscall(SYS_copy_file_range, fd, &in_off, out, NULL, 4, 0), 4);
	memset(buf, 0, sizeof buf);
	pread(out, buf, sizeof buf, 0);
	CHECKF("copy_file_range.data", memcmp(buf, "3456", 5) == 0 && in_off == 7, "got %s", buf);
	close(out);
	out = open(path2, O_WRONLY | O_APPEND);
	CHECK_ERR("sendfile.append_einval", sendfile(out, fd, NULL, 1), EINVAL);
	close(out);
	close(fd);
	close(p[0]);
	close(p[1]);
	unlink(path);
	unlink(path2);
}

static void check_mknod(void)
{
	char path[128];
	struct stat st;
	snprintf(path, sizeof path, "%s/node", dir);
	CHECK_RET("mknod.fifo", mknod(path, S_IFIFO | 0600, 0), 0);
	CHECK("mknod.fifo_type", stat(path, &st) == 0 && S_ISFIFO(st.st_mode));
	unlink(path);
	CHECK_RET("mknod.regular", mknod(path, S_IFREG | 0640, 0), 0);
	CHECK("mknod.regular_type", stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0640);
	CHECK_ERR("mknod.eexist", mknod(path, S_IFIFO | 0600, 0), EEXIST);
	unlink(path);
	CHECK_ERR("mknod.dir_eperm", mknod(path, S_IFDIR | 0700, 0), EPERM);
	if (geteuid() == 0) {
		CHECK_RET("mknod.chr_root", mknod(path, S_IFCHR | 0600, makedev(1, 3)), 0);
		CHECKF("mknod.chr_rdev", stat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3),
		       "mode %o rdev %#lx", st.st_mode, (unsigned long)st.st_rdev);
		unlink(path);
	} else {
		CHECK_ERR("mknod.chr_eperm", mknod(path, S_IFCHR | 0600, makedev(1, 3)), EPERM);
	}
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	umask(022);
	snprintf(dir, sizeof dir, "/tmp/t_poll.%d", (int)getpid());
	if (!CHECK_RET("mkdir_tmp", mkdir(dir, 0755), 0))
		return utest_done();
	check_poll();
	check_select();
	check_epoll();
	check_eventfd();
	check_fifo();
	check_sendfile();
	check_mknod();
	CHECK_RET("rmdir_tmp", rmdir(dir), 0);
	return utest_done();
}
