/*
 * t_flock - file locks: POSIX record locks (F_GETLK/F_SETLK/F_SETLKW: conflicts between
 * processes, ranges with SEEK_SET/CUR/END and negative lengths, splitting, EAGAIN, EDEADLK,
 * EINTR, EBADF for the access mode, release on any close and at exit, not inherited by fork),
 * open-file-description locks (F_OFD_*), and flock(2) (shared/exclusive, conversions,
 * LOCK_NB, per open file description, independent of record locks).  Works under /tmp.
 */
#define UTEST_PROGRAM "t_flock"
#include "utest.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>

static char path[96];

static int lk(int fd, int cmd, short type, short whence, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = whence, .l_start = start, .l_len = len };
	return fcntl(fd, cmd, &fl);
}

/* F_GETLK (or F_OFD_GETLK) of a request; the answer in *out. */
static int getlk(int fd, int cmd, short type, off_t start, off_t len, struct flock *out)
{
	memset(out, 0, sizeof *out);
	out->l_type = type;
	out->l_whence = SEEK_SET;
	out->l_start = start;
	out->l_len = len;
	return fcntl(fd, cmd, out);
}

/* Runs fn(arg) in a child; its result is the child's exit code (errno values fit). */
static int in_child(int (*fn)(long), long arg)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn(arg));
	int st = utest_wait(pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

/* Child: F_SETLK write over [arg, arg] on a fresh descriptor; 0 or errno. */
static int child_trylock(long at)
{
	int fd = open(path, O_RDWR);
	if (fd < 0)
		return 200;
	return lk(fd, F_SETLK, F_WRLCK, SEEK_SET, at, 1) == 0 ? 0 : errno;
}

/* Child: what F_GETLK says of a write request over [arg, arg]: the l_type, or 100+errno. */
static struct flock reported;
static int child_getlk(long at)
{
	int fd = open(path, O_RDONLY);
	struct flock fl;
	if (fd < 0 || getlk(fd, F_GETLK, F_WRLCK, at, 1, &fl) != 0)
		return 100 + errno;
	/* Encode start/len/pid checks against what the parent put in `reported`. */
	if (fl.l_type == F_UNLCK)
		return F_UNLCK;
	if (fl.l_start != reported.l_start || fl.l_len != reported.l_len || fl.l_whence != SEEK_SET)
		return 50;
	if (fl.l_pid != getppid())
		return 51;
	return fl.l_type;
}

static void expect_lock(const char *name, long at, short type, off_t start, off_t len)
{
	reported.l_start = start;
	reported.l_len = len;
	CHECK_EQ(name, in_child(child_getlk, at), type);
}

static void check_record_basics(int fd)
{
	/* The bug: F_GETLK reported the requested type and F_SETLK always succeeded. */
	struct flock fl;
	CHECK_RET("getlk.none", getlk(fd, F_GETLK, F_WRLCK, 0, 0, &fl), 0);
	CHECK_EQ("getlk.none_unlck", fl.l_type, F_UNLCK);
	CHECK_RET("setlk.w", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 10, 10), 0);
	CHECK_EQ("setlk.conflict_eagain", in_child(child_trylock, 15), EAGAIN);
	CHECK_EQ("setlk.outside_ok", in_child(child_trylock, 20), 0);
	expect_lock("getlk.reports_owner", 12, F_WRLCK, 10, 10);
	expect_lock("getlk.free_byte", 9, F_UNLCK, 0, 0);
	/* Own locks never conflict. */
	CHECK_RET("getlk.own", getlk(fd, F_GETLK, F_WRLCK, 10, 1, &fl), 0);
	CHECK_EQ("getlk.own_unlck", fl.l_type, F_UNLCK);
	/* A read lock to the end of every file, from SEEK_END with a negative start. */
	CHECK_RET("setlk.r_to_eof", lk(fd, F_SETLK, F_RDLCK, SEEK_END, -70, 0), 0); /* size 100: [30, max] */
	expect_lock("getlk.to_eof", 1000, F_RDLCK, 30, 0);
	/* Splitting: unlock the middle of [10,19]. */
	CHECK_RET("unlock.middle", lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 14, 2), 0);
	expect_lock("split.left", 13, F_WRLCK, 10, 4);
	expect_lock("split.hole", 14, F_UNLCK, 0, 0);
	expect_lock("split.right", 17, F_WRLCK, 16, 4);
	/* Negative length: [20 - 10, 19]; merges with the right piece. */
	CHECK_RET("setlk.neg_len", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 20, -10), 0);
	expect_lock("merge.neg_len", 11, F_WRLCK, 10, 10);
	/* SEEK_CUR. */
	lseek(fd, 50, SEEK_SET);
	CHECK_RET("setlk.seek_cur", lk(fd, F_SETLK, F_UNLCK, SEEK_CUR, -20, 0), 0);
	expect_lock("seek_cur.unlocked", 40, F_UNLCK, 0, 0);
	CHECK_RET("unlock.all", lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0), 0);
	expect_lock("unlock.all_free", 12, F_UNLCK, 0, 0);
}

static void check_record_errors(int fd)
{
	CHECK_ERR("err.bad_type", lk(fd, F_SETLK, 7, SEEK_SET, 0, 1), EINVAL);
	CHECK_ERR("err.bad_whence", lk(fd, F_SETLK, F_WRLCK, 9, 0, 1), EINVAL);
	CHECK_ERR("err.neg_start", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, -1, 1), EINVAL);
	CHECK_ERR("err.neg_len_before_0", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 5, -6), EINVAL);
	CHECK_ERR("err.overflow", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, LLONG_MAX, 2), EOVERFLOW);
	CHECK_ERR("err.getlk_unlck", lk(fd, F_GETLK, F_UNLCK, SEEK_SET, 0, 1), EINVAL);
	CHECK_ERR("err.badfd", lk(-1, F_SETLK, F_WRLCK, SEEK_SET, 0, 1), EBADF);
	CHECK_ERR("err.efault", fcntl(fd, F_SETLK, (struct flock *)0), EFAULT);
	int ro = open(path, O_RDONLY), wo = open(path, O_WRONLY);
	CHECK_ERR("err.wrlck_on_rdonly", lk(ro, F_SETLK, F_WRLCK, SEEK_SET, 0, 1), EBADF);
	CHECK_ERR("err.rdlck_on_wronly", lk(wo, F_SETLK, F_RDLCK, SEEK_SET, 0, 1), EBADF);
	CHECK_RET("ok.rdlck_on_rdonly", lk(ro, F_SETLK, F_RDLCK, SEEK_SET, 0, 1), 0);
	CHECK_RET("ok.unlck_on_wronly", lk(wo, F_SETLK, F_UNLCK, SEEK_SET, 0, 1), 0);
	close(ro);
	close(wo);
}

static int child_lock_and_exit(long at)
{
	int fd = open(path, O_RDWR);
	return fd < 0 || lk(fd, F_SETLK, F_WRLCK, SEEK_SET, at, 1) != 0 ? 1 : 0;
}

static void check_release(int fd)
{
	/* Closing ANY descriptor of the file drops all the process's locks on it. */
	CHECK_RET("close.lock", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1), 0);
	int other = open(path, O_RDONLY);
	CHECK_EQ("close.held", in_child(child_trylock, 0), EAGAIN);
	close(other);
	CHECK_EQ("close.released_by_other_fd", in_child(child_trylock, 0), 0);
	/* dup2 over a descriptor of the file closes it too. */
	CHECK_RET("dup2.lock", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1), 0);
	int dupd = dup(fd), pp[2];
	if (pipe(pp) == 0) {
		dup2(pp[0], dupd);
		CHECK_EQ("dup2.released", in_child(child_trylock, 0), 0);
		close(pp[0]);
		close(pp[1]);
	}
	close(dupd);
	lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);
	/* A child's locks go when it exits. */
	CHECK_EQ("exit.child_locked", in_child(child_lock_and_exit, 5), 0);
	CHECK_RET("exit.released", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 5, 1), 0);
	/* A forked child does not inherit its parent's locks: they conflict with its own. */
	pid_t pid = fork();
	if (pid == 0)
		_exit(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 5, 1) == 0 ? 0 : errno);
	CHECK_EQ("fork.not_inherited", WEXITSTATUS(utest_wait(pid)), EAGAIN);
	lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void check_waiting(int fd)
{
	int go[2];
	if (pipe(go) != 0)
		return;
	/* F_SETLKW waits for the holder to unlock. */
	pid_t pid = fork();
	if (pid == 0) {
		int cfd = open(path, O_RDWR);
		lk(cfd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1);
		write(go[1], "x", 1);
		utest_sleep_ms(150);
		_exit(0);
	}
	char c;
	read(go[0], &c, 1);
	int64_t start = utest_now_ns(CLOCK_MONOTONIC);
	CHECK_RET("setlkw.waits", lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1), 0);
	long ms = (long)((utest_now_ns(CLOCK_MONOTONIC) - start) / 1000000);
	CHECKF("setlkw.waited", ms >= 80, "waited %ld ms", ms);
	utest_wait(pid);
	/* Deadlock: the child holds 1 and waits for 0 (ours); our wait for 1 is EDEADLK. */
	pid = fork();
	if (pid == 0) {
		int cfd = open(path, O_RDWR);
		lk(cfd, F_SETLK, F_WRLCK, SEEK_SET, 1, 1);
		write(go[1], "x", 1);
		_exit(lk(cfd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1) == 0 ? 0 : errno);
	}
	read(go[0], &c, 1);
	utest_sleep_ms(150);
	CHECK_ERR("setlkw.edeadlk", lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 1, 1), EDEADLK);
	CHECK_RET("setlkw.unlock_for_child", lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 1), 0);
	CHECK_EQ("setlkw.child_got_it", WEXITSTATUS(utest_wait(pid)), 0);
	/* A signal interrupts the wait (no SA_RESTART): EINTR. */
	CHECK_RET("eintr.lock", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1), 0);
	pid = fork();
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = on_alarm };
		sigaction(SIGALRM, &sa, NULL);
		int cfd = open(path, O_RDWR);
		alarm(1);
		_exit(lk(cfd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1) == 0 ? 0 : errno);
	}
	CHECK_EQ("setlkw.eintr", WEXITSTATUS(utest_wait(pid)), EINTR);
	lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);
	close(go[0]);
	close(go[1]);
}

static void check_ofd(void)
{
	int a = open(path, O_RDWR), b = open(path, O_RDWR);
	struct flock fl;
	CHECK_RET("ofd.lock_a", lk(a, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 10), 0);
	/* Same process, another open file description: conflicts. */
	CHECK_ERR("ofd.conflict_b", lk(b, F_OFD_SETLK, F_WRLCK, SEEK_SET, 5, 1), EAGAIN);
	CHECK_ERR("ofd.conflicts_posix", lk(b, F_SETLK, F_RDLCK, SEEK_SET, 5, 1), EAGAIN);
	CHECK_RET("ofd.getlk", getlk(b, F_OFD_GETLK, F_RDLCK, 3, 1, &fl), 0);
	CHECK_EQ("ofd.getlk_type", fl.l_type, F_WRLCK);
	CHECK_EQ("ofd.getlk_pid", fl.l_pid, -1);
	CHECK_EQ("ofd.getlk_range", fl.l_start * 100 + fl.l_len, 10);
	/* A duplicate shares the description, so it owns the lock too. */
	int d = dup(a);
	CHECK_RET("ofd.dup_same_owner", lk(d, F_OFD_SETLK, F_RDLCK, SEEK_SET, 0, 10), 0);
	struct flock bad = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_pid = 1 };
	CHECK_ERR("ofd.pid_einval", fcntl(a, F_OFD_SETLK, &bad), EINVAL);
	CHECK_ERR("ofd.getlk_pid_einval", fcntl(a, F_OFD_GETLK, &bad), EINVAL);
	/* Closing one descriptor does not drop an OFD lock; the last one does. */
	close(a);
	CHECK_ERR("ofd.kept_after_close", lk(b, F_OFD_SETLK, F_WRLCK, SEEK_SET, 5, 1), EAGAIN);
	close(d);
	CHECK_RET("ofd.released_last_close", lk(b, F_OFD_SETLK, F_WRLCK, SEEK_SET, 5, 1), 0);
	close(b);
}

static void check_flock(void)
{
	int a = open(path, O_RDONLY), b = open(path, O_RDONLY);
	CHECK_RET("flock.ex_a", flock(a, LOCK_EX), 0);
	CHECK_ERR("flock.ex_b_nb", flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
	CHECK_ERR("flock.sh_b_nb", flock(b, LOCK_SH | LOCK_NB), EWOULDBLOCK);
	CHECK_RET("flock.relock_same", flock(a, LOCK_EX | LOCK_NB), 0);
	CHECK_RET("flock.convert_sh", flock(a, LOCK_SH), 0);
	CHECK_RET("flock.sh_b", flock(b, LOCK_SH | LOCK_NB), 0);
	CHECK_ERR("flock.upgrade_blocked", flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
	CHECK_RET("flock.un_a", flock(a, LOCK_UN), 0);
	CHECK_RET("flock.upgrade_b", flock(b, LOCK_EX | LOCK_NB), 0);
	/* Independent of record locks. */
	int w = open(path, O_RDWR);
	CHECK_RET("flock.fcntl_independent", lk(w, F_SETLK, F_WRLCK, SEEK_SET, 0, 0), 0);
	/* Inherited descriptors share the description: the child holds b's lock already. */
	pid_t pid = fork();
	if (pid == 0)
		_exit(flock(b, LOCK_EX | LOCK_NB) == 0 ? 0 : errno);
	CHECK_EQ("flock.fork_shares", WEXITSTATUS(utest_wait(pid)), 0);
	/* A child's own open is another description: blocked. */
	pid = fork();
	if (pid == 0) {
		int c = open(path, O_RDONLY);
		_exit(flock(c, LOCK_SH | LOCK_NB) == 0 ? 0 : errno);
	}
	CHECK_EQ("flock.child_blocked", WEXITSTATUS(utest_wait(pid)), EWOULDBLOCK);
	close(b);
	CHECK_RET("flock.released_by_close", flock(a, LOCK_EX | LOCK_NB), 0);
	CHECK_ERR("flock.einval", flock(a, 0), EINVAL);
	CHECK_ERR("flock.einval_both", flock(a, LOCK_SH | LOCK_EX), EINVAL);
	CHECK_ERR("flock.ebadf", flock(-1, LOCK_SH), EBADF);
	close(a);
	close(w);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	snprintf(path, sizeof path, "/tmp/t_flock.%d", (int)getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (!CHECK_OK("create", fd))
		return utest_done();
	char buf[100] = { 0 };
	write(fd, buf, sizeof buf);
	check_record_basics(fd);
	check_record_errors(fd);
	check_release(fd);
	check_waiting(fd);
	check_ofd();
	check_flock();
	close(fd);
	unlink(path);
	return utest_done();
}
