/*
 * t_pidfd - pidfd_open (close-on-exec, PIDFD_NONBLOCK, EINVAL/ESRCH), poll on a pidfd (not
 * readable while the process runs, POLLIN once it has exited), pidfd_send_signal (signal 0,
 * SIGKILL, a siginfo naming another signal EINVAL, a non-pidfd EBADF, flags EINVAL, ESRCH once
 * reaped, EPERM across users) and pidfd_getfd (a copy of a child's pipe end that works, EBADF,
 * EINVAL, EPERM across users).
 */
#define UTEST_PROGRAM "t_pidfd"
#include "utest.h"

#include <fcntl.h>
#include <poll.h>

#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif

static int pidfd_open(pid_t pid, unsigned flags) { return (int)syscall(SYS_pidfd_open, pid, flags); }
static int pidfd_send(int fd, int sig, siginfo_t *info, unsigned flags)
{
	return (int)syscall(SYS_pidfd_send_signal, fd, sig, info, flags);
}
static int pidfd_getfd(int fd, int target, unsigned flags) { return (int)syscall(SYS_pidfd_getfd, fd, target, flags); }

static pid_t sleeper(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

static void check_open_poll_signal(void)
{
	CHECK_ERR("open.badflags", pidfd_open(getpid(), 1), EINVAL);
	CHECK_ERR("open.zero", pidfd_open(0, 0), EINVAL);
	CHECK_ERR("open.negative", pidfd_open(-1, 0), EINVAL);
	CHECK_ERR("open.nosuch", pidfd_open(UTEST_BADPID, 0), ESRCH);
	pid_t pid = sleeper();
	int fd = pidfd_open(pid, 0);
	CHECK("open", fd >= 0);
	CHECK_EQ("open.cloexec", fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	int nb = pidfd_open(pid, PIDFD_NONBLOCK);
	CHECK_EQ("open.nonblock", fcntl(nb, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	close(nb);
	struct pollfd p = { fd, POLLIN, 0 };
	CHECK_RET("poll.running", poll(&p, 1, 0), 0);
	CHECK_RET("send.zero", pidfd_send(fd, 0, NULL, 0), 0);
	CHECK_ERR("send.flags", pidfd_send(fd, SIGKILL, NULL, 8), EINVAL);
	CHECK_ERR("send.flags.two", pidfd_send(fd, SIGKILL, NULL, 3), EINVAL);
	CHECK_RET("send.flags.thread", pidfd_send(fd, 0, NULL, 1), 0);
	CHECK_ERR("send.badsig", pidfd_send(fd, 1000, NULL, 0), EINVAL);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	si.si_signo = SIGUSR1;
	si.si_code = SI_QUEUE;
	CHECK_ERR("send.info.mismatch", pidfd_send(fd, SIGUSR2, &si, 0), EINVAL);
	si.si_signo = SIGUSR2;
	si.si_code = SI_USER;
	CHECK_ERR("send.info.poscode", pidfd_send(fd, SIGUSR2, &si, 0), EPERM);
	int pipefd[2];
	if (pipe(pipefd) == 0) {
		CHECK_ERR("send.notpidfd", pidfd_send(pipefd[0], SIGKILL, NULL, 0), EBADF);
		CHECK_ERR("getfd.notpidfd", pidfd_getfd(pipefd[0], 0, 0), EBADF);
		close(pipefd[0]);
		close(pipefd[1]);
	}
	CHECK_ERR("send.badfd", pidfd_send(-1, SIGKILL, NULL, 0), EBADF);
	CHECK_RET("send.kill", pidfd_send(fd, SIGKILL, NULL, 0), 0);
	p.revents = 0;
	CHECK_RET("poll.exited", poll(&p, 1, 5000), 1);
	CHECK("poll.pollin", p.revents & POLLIN);
	int st;
	waitpid(pid, &st, 0);
	CHECKF("send.kill.status", WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "%s", utest_wstr(st));
	CHECK_ERR("send.reaped", pidfd_send(fd, SIGKILL, NULL, 0), ESRCH);
	close(fd);
}

static void check_getfd(void)
{
	int fds[2], ready[2];
	if (pipe(fds) != 0 || pipe(ready) != 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		/* The write end at descriptor 42, then wait for one byte on the read end. */
		dup2(fds[1], 42);
		close(fds[1]);
		close(ready[0]);
		char c = 'r';
		if (write(ready[1], &c, 1) != 1)
			_exit(2);
		if (read(fds[0], &c, 1) != 1)
			_exit(3);
		_exit(c == 'x' ? 0 : 4);
	}
	close(fds[1]);
	close(ready[1]);
	char c;
	if (read(ready[0], &c, 1) != 1)
		c = 0;
	int pfd = pidfd_open(pid, 0);
	CHECK_ERR("getfd.flags", pidfd_getfd(pfd, 42, 1), EINVAL);
	CHECK_ERR("getfd.badtarget", pidfd_getfd(pfd, 77, 0), EBADF);
	int got = pidfd_getfd(pfd, 42, 0);
	CHECK("getfd", got >= 0);
	CHECK_EQ("getfd.cloexec", fcntl(got, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	CHECK_RET("getfd.write", write(got, "x", 1), 1);
	int st;
	waitpid(pid, &st, 0);
	CHECKF("getfd.child.read", WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", utest_wstr(st));
	close(got);
	close(pfd);
	close(fds[0]);
	close(ready[0]);
}

/* A user's process may neither signal nor take descriptors of root's. */
static void check_perm(void)
{
	if (getuid() != 0) {
		utest_ok("perm.send");
		utest_ok("perm.getfd");
		return;
	}
	pid_t victim = sleeper();
	int fd = pidfd_open(victim, 0);
	pid_t pid = fork();
	if (pid == 0) {
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(90);
		int r = 0;
		if (pidfd_send(fd, SIGTERM, NULL, 0) != -1 || errno != EPERM)
			r |= 1;
		if (pidfd_getfd(fd, 0, 0) != -1 || errno != EPERM)
			r |= 2;
		_exit(r);
	}
	int st;
	waitpid(pid, &st, 0);
	CHECKF("perm.send", WIFEXITED(st) && (WEXITSTATUS(st) & 1) == 0, "%s", utest_wstr(st));
	CHECKF("perm.getfd", WIFEXITED(st) && (WEXITSTATUS(st) & 2) == 0, "%s", utest_wstr(st));
	kill(victim, SIGKILL);
	waitpid(victim, &st, 0);
	close(fd);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	check_open_poll_signal();
	check_getfd();
	check_perm();
	return utest_done();
}
