/*
 * t_mqueue - POSIX message queues: mq_open's name rules (ENOENT, EACCES, ENAMETOOLONG),
 * O_CREAT/O_EXCL, attributes (defaults 10/8192, EINVAL for zero or, for a non-root user,
 * above 10 messages / 8192 bytes), RLIMIT_MSGQUEUE (EMFILE), priority order with FIFO within
 * a priority, EMSGSIZE both ways, EINVAL for a priority of MQ_PRIO_MAX, O_NONBLOCK (EAGAIN),
 * ETIMEDOUT at the absolute deadline, EBADF for the wrong access mode or a non-queue
 * descriptor, mq_setattr, poll readiness, fstat, close-on-exec, mq_notify (SIGEV_SIGNAL with
 * SI_MESGQ and the value, one registration per queue: EBUSY), mq_unlink (owner only, the
 * queue lives on while open), and across fork a blocked receiver woken by a send.
 */
#define UTEST_PROGRAM "t_mqueue"
#include "utest.h"

#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>

static char name[64], name2[64];
static volatile sig_atomic_t notified, notify_code;
static volatile long notify_value;

static void on_usr1(int sig, siginfo_t *info, void *ctx)
{
	(void)sig;
	(void)ctx;
	notified++;
	notify_code = info->si_code;
	notify_value = (long)info->si_value.sival_ptr;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static int child_status(pid_t pid)
{
	int st = 0;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static mqd_t open_attr(const char *n, int flags, long maxmsg, long msgsize)
{
	struct mq_attr a = { 0 };
	a.mq_maxmsg = maxmsg;
	a.mq_msgsize = msgsize;
	return mq_open(n, flags, 0600, &a);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	snprintf(name, sizeof name, "/t_mqueue.%d", (int)getpid());
	snprintf(name2, sizeof name2, "/t_mqueue2.%d", (int)getpid());
	char buf[8192];
	unsigned prio;

	/* names */
	CHECK_ERR("open.enoent", mq_open(name, O_RDWR), ENOENT);
	CHECK_ERR("open.empty", mq_open("/", O_RDWR | O_CREAT, 0600, NULL), ENOENT);
	CHECK_ERR("open.slash", mq_open("/a/b", O_RDWR | O_CREAT, 0600, NULL), EACCES);
	char longname[300] = "/";
	memset(longname + 1, 'n', 256);
	CHECK_ERR("open.toolong", mq_open(longname, O_RDWR | O_CREAT, 0600, NULL), ENAMETOOLONG);

	/* attributes */
	CHECK_ERR("attr.zero_msgs", open_attr(name, O_RDWR | O_CREAT, 0, 10), EINVAL);
	CHECK_ERR("attr.zero_size", open_attr(name, O_RDWR | O_CREAT, 10, 0), EINVAL);
	CHECK_ERR("attr.negative", open_attr(name, O_RDWR | O_CREAT, -1, 10), EINVAL);
	mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
	CHECK("open.create", q != (mqd_t)-1);
	struct mq_attr a;
	CHECK_OK("getattr", mq_getattr(q, &a));
	CHECK("getattr.defaults", a.mq_maxmsg == 10 && a.mq_msgsize == 8192 && a.mq_curmsgs == 0 && a.mq_flags == 0);
	CHECK_ERR("open.excl", mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, NULL), EEXIST);
	mqd_t q2 = mq_open(name, O_RDWR);
	CHECK("open.existing", q2 != (mqd_t)-1);
	mq_close(q2);

	/* priority order, FIFO within a priority */
	CHECK_OK("send.a", mq_send(q, "a", 1, 1));
	CHECK_OK("send.b", mq_send(q, "b", 1, 5));
	CHECK_OK("send.c", mq_send(q, "c", 1, 1));
	CHECK_OK("send.d", mq_send(q, "dd", 2, 5));
	CHECK_OK("getattr.cur", mq_getattr(q, &a));
	CHECK_EQ("getattr.curmsgs", a.mq_curmsgs, 4);
	char order[8] = { 0 };
	unsigned prios[4];
	for (int i = 0; i < 4; i++) {
		mq_receive(q, buf, sizeof buf, &prio);
		order[i] = buf[0];
		prios[i] = prio;
	}
	CHECK("order", strcmp(order, "bdac") == 0 && prios[0] == 5 && prios[1] == 5 && prios[2] == 1 && prios[3] == 1);

	/* sizes and priorities */
	CHECK_ERR("send.emsgsize", mq_send(q, buf, 8193, 0), EMSGSIZE);
	CHECK_ERR("send.prio", mq_send(q, "x", 1, 32768), EINVAL);
	CHECK_OK("send.prio_max", mq_send(q, "x", 1, 32767));
	CHECK_ERR("receive.emsgsize", mq_receive(q, buf, 8191, NULL), EMSGSIZE);
	CHECK_EQ("receive.len", mq_receive(q, buf, sizeof buf, &prio), 1);
	CHECK_EQ("receive.prio", prio, 32767);

	/* non-blocking and timeouts */
	mqd_t small = open_attr(name2, O_RDWR | O_CREAT | O_NONBLOCK, 2, 16);
	CHECK("small", small != (mqd_t)-1);
	CHECK_ERR("nonblock.empty", mq_receive(small, buf, 16, NULL), EAGAIN);
	mq_send(small, "1", 1, 0);
	mq_send(small, "2", 1, 0);
	CHECK_ERR("nonblock.full", mq_send(small, "3", 1, 0), EAGAIN);
	struct mq_attr na = { 0 }, old;
	CHECK_OK("setattr", mq_setattr(small, &na, &old));
	CHECK("setattr.old", old.mq_flags == O_NONBLOCK && old.mq_curmsgs == 2 && old.mq_maxmsg == 2 && old.mq_msgsize == 16);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 50000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	CHECK_ERR("timed.send", mq_timedsend(small, "3", 1, 0, &ts), ETIMEDOUT);
	mq_receive(small, buf, 16, NULL);
	mq_receive(small, buf, 16, NULL);
	CHECK_ERR("timed.receive", mq_timedreceive(small, buf, 16, NULL, &ts), ETIMEDOUT);
	struct timespec bad = { 0, 1000000000 };
	CHECK_ERR("timed.einval", mq_timedreceive(small, buf, 16, NULL, &bad), EINVAL);
	na.mq_flags = O_NONBLOCK;
	CHECK_OK("setattr.nonblock", mq_setattr(small, &na, NULL));
	CHECK_ERR("setattr.nonblock.applies", mq_receive(small, buf, 16, NULL), EAGAIN);

	/* access modes and other descriptors */
	mqd_t ro = mq_open(name, O_RDONLY), wo = mq_open(name, O_WRONLY);
	CHECK("open.modes", ro != (mqd_t)-1 && wo != (mqd_t)-1);
	CHECK_ERR("ebadf.send_rdonly", mq_send(ro, "x", 1, 0), EBADF);
	CHECK_ERR("ebadf.receive_wronly", mq_receive(wo, buf, sizeof buf, NULL), EBADF);
	int p[2];
	CHECK_OK("pipe", pipe(p));
	CHECK_ERR("ebadf.pipe", mq_send((mqd_t)p[1], "x", 1, 0), EBADF);
	CHECK_ERR("ebadf.closed", mq_send((mqd_t)999, "x", 1, 0), EBADF);
	close(p[0]);
	close(p[1]);

	/* descriptors are files */
	struct stat st;
	CHECK_OK("fstat", fstat((int)q, &st));
	CHECK("fstat.mode", S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600);
	struct pollfd pfd = { (int)q, POLLIN | POLLOUT, 0 };
	CHECK_EQ("poll.empty", poll(&pfd, 1, 0), 1);
	CHECK_EQ("poll.empty.bits", pfd.revents, POLLOUT);
	mq_send(wo, "p", 1, 0);
	CHECK_EQ("poll.data", poll(&pfd, 1, 0), 1);
	CHECK_EQ("poll.data.bits", pfd.revents, POLLIN | POLLOUT);
	mq_receive(ro, buf, sizeof buf, NULL);
	int cfd = (int)syscall(SYS_mq_open, name + 1, O_RDWR | O_CLOEXEC, 0, NULL);
	CHECK("cloexec", cfd >= 0 && (fcntl(cfd, F_GETFD) & FD_CLOEXEC));
	close(cfd);

	/* a blocked receiver is woken by another process's send */
	pid_t pid = fork();
	if (pid == 0) {
		ssize_t n = mq_receive(ro, buf, sizeof buf, &prio);
		_exit(n == 4 && prio == 3 && memcmp(buf, "wake", 4) == 0 ? 0 : 1);
	}
	sleep_ms(50);
	CHECK_OK("block.send", mq_send(wo, "wake", 4, 3));
	CHECK_EQ("block.woken", child_status(pid), 0);
	/* poll wakes too */
	pid = fork();
	if (pid == 0) {
		struct pollfd w = { (int)ro, POLLIN, 0 };
		_exit(poll(&w, 1, 5000) == 1 && (w.revents & POLLIN) ? 0 : 1);
	}
	sleep_ms(50);
	mq_send(wo, "poll", 4, 0);
	CHECK_EQ("poll.woken", child_status(pid), 0);
	mq_receive(ro, buf, sizeof buf, NULL);

	/* notification */
	struct sigaction sa = { 0 };
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);
	struct sigevent ev = { 0 };
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGUSR1;
	ev.sigev_value.sival_ptr = (void *)0x1234;
	CHECK_OK("notify", mq_notify(q, &ev));
	CHECK_ERR("notify.ebusy_self", mq_notify(q, &ev), EBUSY);
	pid = fork();
	if (pid == 0)
		_exit(mq_notify(q, &ev) == -1 && errno == EBUSY ? 0 : 1);
	CHECK_EQ("notify.ebusy_other", child_status(pid), 0);
	mq_send(wo, "n", 1, 0);
	for (int i = 0; i < 100 && !notified; i++)
		sleep_ms(5);
	CHECK("notify.delivered", notified == 1 && notify_code == SI_MESGQ && notify_value == 0x1234);
	mq_send(wo, "n", 1, 0);
	CHECK_EQ("notify.once", notified, 1);
	mq_receive(q, buf, sizeof buf, NULL);
	mq_receive(q, buf, sizeof buf, NULL);
	CHECK_OK("notify.again", mq_notify(q, &ev));
	CHECK_OK("notify.remove", mq_notify(q, NULL));
	mq_send(wo, "n", 1, 0);
	sleep_ms(20);
	CHECK_EQ("notify.removed", notified, 1);
	mq_receive(q, buf, sizeof buf, NULL);
	ev.sigev_notify = 99;
	CHECK_ERR("notify.einval", mq_notify(q, &ev), EINVAL);

	/* another user */
	pid = fork();
	if (pid == 0) {
		if (setgid(1000) || setuid(1000))
			_exit(90);
		if (mq_open(name, O_RDONLY) != (mqd_t)-1 || errno != EACCES)
			_exit(1);
		if (mq_unlink(name) != -1 || errno != EACCES)
			_exit(2);
		char own[80];
		snprintf(own, sizeof own, "/t_mqueue3.%d", (int)getpid());
		if (open_attr(own, O_RDWR | O_CREAT, 11, 16) != (mqd_t)-1 || errno != EINVAL)
			_exit(3);
		if (open_attr(own, O_RDWR | O_CREAT, 10, 8193) != (mqd_t)-1 || errno != EINVAL)
			_exit(4);
		struct rlimit rl = { 1000, 1000 };
		if (setrlimit(RLIMIT_MSGQUEUE, &rl))
			_exit(5);
		if (mq_open(own, O_RDWR | O_CREAT, 0600, NULL) != (mqd_t)-1 || errno != EMFILE)
			_exit(6);
		mqd_t tiny = open_attr(own, O_RDWR | O_CREAT, 1, 8);
		if (tiny == (mqd_t)-1)
			_exit(7);
		if (mq_unlink(own) != 0)
			_exit(8);
		_exit(0);
	}
	CHECK_EQ("perm.other_user", child_status(pid), 0);

	/* unlink: the name goes, the queue lives on while open */
	CHECK_OK("unlink", mq_unlink(name));
	CHECK_ERR("unlink.again", mq_unlink(name), ENOENT);
	CHECK_ERR("unlink.gone", mq_open(name, O_RDWR), ENOENT);
	CHECK_OK("unlink.still_usable", mq_send(q, "z", 1, 0));
	CHECK_EQ("unlink.still_usable.receive", mq_receive(q, buf, sizeof buf, NULL), 1);
	mq_close(q);
	mq_close(ro);
	mq_close(wo);
	mq_close(small);
	CHECK_OK("unlink.second", mq_unlink(name2));
	return utest_done();
}
