/*
 * t_signalfd - signalfd / signalfd4: reading pending signals of the mask as
 * struct signalfd_siginfo (128 bytes; EINVAL shorter, EAGAIN when none), several per read,
 * sigqueue values and SIGCHLD fields, a new mask on an existing descriptor, poll/epoll
 * readiness, a blocked read woken by a signal from another process, and the error cases.
 */
#define UTEST_PROGRAM "t_signalfd"
#include "utest.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

static void block(int sig)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_BLOCK, &s, NULL);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	CHECK_EQ("siginfo_size", sizeof(struct signalfd_siginfo), 128);
	block(SIGUSR1);
	block(SIGUSR2);
	block(SIGRTMIN);
	block(SIGCHLD);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGRTMIN);
	int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (!CHECK_OK("create", fd))
		return utest_done();
	CHECK("cloexec", fcntl(fd, F_GETFD) & FD_CLOEXEC);
	struct signalfd_siginfo si[4];
	CHECK_ERR("read.empty_eagain", read(fd, si, sizeof si), EAGAIN);
	struct pollfd p = {fd, POLLIN, 0};
	CHECK_RET("poll.empty", poll(&p, 1, 0), 0);
	kill(getpid(), SIGUSR1);
	CHECK_RET("poll.ready", poll(&p, 1, 1000), 1);
	char small[64];
	CHECK_ERR("read.short", read(fd, small, sizeof small), EINVAL);
	CHECK_RET("read.one", read(fd, si, sizeof si), 128);
	CHECK_EQ("read.signo", si[0].ssi_signo, SIGUSR1);
	CHECK_EQ("read.code", si[0].ssi_code, SI_USER);
	CHECK_EQ("read.pid", si[0].ssi_pid, getpid());
	CHECK_EQ("read.uid", si[0].ssi_uid, getuid());
	CHECK_ERR("read.consumed", read(fd, si, sizeof si), EAGAIN);
	/* Queued values, several records per read; signals outside the mask stay pending. */
	union sigval v = {.sival_int = 1234};
	sigqueue(getpid(), SIGRTMIN, v);
	v.sival_int = 5678;
	sigqueue(getpid(), SIGRTMIN, v);
	kill(getpid(), SIGUSR2);
	CHECK_RET("read.two", read(fd, si, sizeof si), 256);
	CHECK_EQ("read.rt_code", si[0].ssi_code, SI_QUEUE);
	CHECK_EQ("read.rt_value1", si[0].ssi_int, 1234);
	CHECK_EQ("read.rt_value2", si[1].ssi_int, 5678);
	sigset_t pend;
	sigpending(&pend);
	CHECK("usr2_still_pending", sigismember(&pend, SIGUSR2));
	/* A new mask on the same descriptor. */
	sigaddset(&mask, SIGUSR2);
	sigaddset(&mask, SIGCHLD);
	CHECK_RET("update_mask", signalfd(fd, &mask, 0), fd);
	CHECK_RET("read.usr2", read(fd, si, sizeof si), 128);
	CHECK_EQ("read.usr2_signo", si[0].ssi_signo, SIGUSR2);
	/* SIGCHLD fields, through epoll. */
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 3};
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	pid_t child = fork();
	if (child == 0)
		_exit(7);
	struct epoll_event out;
	CHECK_RET("epoll.sigchld", epoll_wait(ep, &out, 1, 5000), 1);
	CHECK_RET("read.sigchld", read(fd, si, sizeof si), 128);
	CHECK_EQ("sigchld.signo", si[0].ssi_signo, SIGCHLD);
	CHECK_EQ("sigchld.code", si[0].ssi_code, CLD_EXITED);
	CHECK_EQ("sigchld.pid", si[0].ssi_pid, child);
	CHECK_EQ("sigchld.status", si[0].ssi_status, 7);
	waitpid(child, NULL, 0);
	close(ep);
	/* A blocking read woken by another process's signal. */
	int bfd = signalfd(-1, &mask, 0);
	pid_t parent = getpid();
	child = fork();
	if (child == 0) {
		usleep(50000);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	/* The child's SIGCHLD may be pending too by the time this thread runs (a loaded machine):
	 * then both come, SIGUSR1 first (lowest number). */
	ssize_t got = read(bfd, si, sizeof si);
	CHECKF("read.blocking", got == 128 || (got == 256 && si[1].ssi_signo == SIGCHLD), "read %zd", got);
	CHECK_EQ("read.blocking_signo", si[0].ssi_signo, SIGUSR1);
	waitpid(child, NULL, 0);
	/* drain SIGCHLD */
	while (read(fd, si, sizeof si) > 0)
		;
	close(bfd);
	/* Errors. */
	CHECK_ERR("bad_flags", signalfd(-1, &mask, 0x1), EINVAL);
	CHECK_ERR("bad_size", syscall(SYS_signalfd4, -1, &mask, 4, 0), EINVAL);
	CHECK_ERR("efault", syscall(SYS_signalfd4, -1, (void *)8, 8, 0), EFAULT);
	int pfd[2];
	pipe(pfd);
	CHECK_ERR("not_signalfd", signalfd(pfd[0], &mask, 0), EINVAL);
	CHECK_ERR("ebadf", signalfd(999, &mask, 0), EBADF);
	CHECK_ERR("write", write(fd, si, 128), EINVAL);
	int old = syscall(SYS_signalfd, -1, &mask, 8);
	CHECK_OK("signalfd_old", old);
	close(old);
	close(fd);
	return utest_done();
}
