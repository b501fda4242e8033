/*
 * t_prctl - prctl's common options (NAME, PDEATHSIG with its delivery when the parent dies,
 * CHILD_SUBREAPER with the re-parenting of orphans, DUMPABLE, NO_NEW_PRIVS, KEEPCAPS,
 * GET_SECCOMP, CAPBSET_READ, TIMERSLACK, GET_TID_ADDRESS, SET_MM, unknown options), and
 * personality, unshare, setns, membarrier, vhangup and acct with their error cases.
 */
#define UTEST_PROGRAM "t_prctl"
#include "utest.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/prctl.h>

#ifndef PR_GET_TID_ADDRESS
#define PR_GET_TID_ADDRESS 40
#endif


static void check_simple(void)
{
	char name[16] = { 0 };
	CHECK_RET("name.set", prctl(PR_SET_NAME, "t_prctl-x"), 0);
	CHECK_RET("name.get", prctl(PR_GET_NAME, name), 0);
	CHECKF("name.value", strcmp(name, "t_prctl-x") == 0, "name=%s", name);
	CHECK_ERR("pdeathsig.bad", prctl(PR_SET_PDEATHSIG, 99), EINVAL);
	int sig = -1;
	CHECK_RET("pdeathsig.set", prctl(PR_SET_PDEATHSIG, SIGUSR1), 0);
	CHECK_RET("pdeathsig.get", prctl(PR_GET_PDEATHSIG, &sig), 0);
	CHECK_EQ("pdeathsig.value", sig, SIGUSR1);
	prctl(PR_SET_PDEATHSIG, 0);
	CHECK_ERR("pdeathsig.get.efault", prctl(PR_GET_PDEATHSIG, (int *)8), EFAULT);
	CHECK_ERR("dumpable.bad", prctl(PR_SET_DUMPABLE, 2), EINVAL);
	CHECK_RET("dumpable.clear", prctl(PR_SET_DUMPABLE, 0), 0);
	CHECK_RET("dumpable.get0", prctl(PR_GET_DUMPABLE), 0);
	CHECK_RET("dumpable.set", prctl(PR_SET_DUMPABLE, 1), 0);
	CHECK_RET("dumpable.get1", prctl(PR_GET_DUMPABLE), 1);
	CHECK_ERR("keepcaps.bad", prctl(PR_SET_KEEPCAPS, 2), EINVAL);
	CHECK_RET("keepcaps.set", prctl(PR_SET_KEEPCAPS, 1), 0);
	CHECK_RET("keepcaps.get", prctl(PR_GET_KEEPCAPS), 1);
	prctl(PR_SET_KEEPCAPS, 0);
	CHECK_RET("seccomp.get", prctl(PR_GET_SECCOMP), 0);
	CHECK_RET("capbset.read", prctl(PR_CAPBSET_READ, 0), 1);
	CHECK_ERR("capbset.read.bad", prctl(PR_CAPBSET_READ, 1000), EINVAL);
	long slack0 = prctl(PR_GET_TIMERSLACK);
	CHECK_RET("timerslack.set", prctl(PR_SET_TIMERSLACK, 123456), 0);
	CHECK_RET("timerslack.get", prctl(PR_GET_TIMERSLACK), 123456);
	prctl(PR_SET_TIMERSLACK, 0);
	CHECK_EQ("timerslack.reset", prctl(PR_GET_TIMERSLACK), slack0);
	unsigned long tid_addr = 0;
	CHECK_RET("tid_address", prctl(PR_GET_TID_ADDRESS, &tid_addr), 0);
	CHECK("tid_address.set", tid_addr != 0);
	CHECK_ERR("unknown", prctl(9999, 0, 0, 0, 0), EINVAL);
	int sub = -1;
	CHECK_RET("subreaper.get0", prctl(PR_GET_CHILD_SUBREAPER, &sub), 0);
	CHECK_EQ("subreaper.value0", sub, 0);
}

static int no_new_privs(void)
{
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0)
		return 1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0) != -1 || errno != EINVAL)
		return 2;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 1, 0, 0) != -1 || errno != EINVAL)
		return 3;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return 4;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 5;
	if (prctl(PR_GET_NO_NEW_PRIVS, 1, 0, 0, 0) != -1 || errno != EINVAL)
		return 6;
	/* Inherited by a child. */
	pid_t pid = fork();
	if (pid == 0)
		_exit(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 0 : 1);
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 7;
}

static int user_denied(void)
{
	if (prctl(PR_SET_MM, 1 /* PR_SET_MM_START_CODE */, 0x1000, 0, 0) != -1 || errno != EPERM)
		return 1;
	if (syscall(SYS_vhangup) != -1 || errno != EPERM)
		return 2;
	if (syscall(SYS_acct, NULL) != -1 || errno != EPERM)
		return 3;
	if (unshare(CLONE_NEWNS) != -1 || errno != EPERM)
		return 4;
	if (unshare(CLONE_NEWUTS | CLONE_FILES) != -1 || errno != EPERM)
		return 5;
	return 0;
}

/* A middle process with children: one with PDEATHSIG=SIGKILL, one without. When the middle
 * exits, the first is killed; both are adopted by this process (a child subreaper). */
static void check_pdeathsig_subreaper(void)
{
	CHECK_RET("subreaper.set", prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	int sub = 0;
	prctl(PR_GET_CHILD_SUBREAPER, &sub);
	CHECK_EQ("subreaper.get1", sub, 1);
	int fds[2];
	if (pipe(fds) != 0)
		return;
	pid_t top = getpid();
	pid_t middle = fork();
	if (middle == 0) {
		pid_t kids[2];
		for (int i = 0; i < 2; i++) {
			kids[i] = fork();
			if (kids[i] == 0) {
				pid_t parent = getppid();
				if (i == 0)
					prctl(PR_SET_PDEATHSIG, SIGKILL);
				char c = 'r';
				if (write(fds[1], &c, 1) != 1)
					_exit(2);
				/* Wait to be orphaned, then report the new parent. */
				for (int n = 0; n < 2000 && getppid() == parent; n++)
					usleep(2000);
				usleep(100 * 1000);
				_exit(getppid() == top ? 0 : 42);
			}
		}
		char c;
		for (int i = 0; i < 2; i++)
			if (read(fds[0], &c, 1) != 1)
				_exit(3);
		if (write(fds[1], kids, sizeof kids) != sizeof kids)
			_exit(4);
		_exit(0);
	}
	int st;
	waitpid(middle, &st, 0);
	pid_t kids[2] = { -1, -1 };
	/* The two 'r' bytes were read by the middle: the pids follow. */
	ssize_t n = read(fds[0], kids, sizeof kids);
	close(fds[0]);
	close(fds[1]);
	CHECKF("pdeathsig.pids", n == sizeof kids, "n=%zd", n);
	int st0 = 0, st1 = 0;
	pid_t g0 = waitpid(kids[0], &st0, 0);
	pid_t g1 = waitpid(kids[1], &st1, 0);
	CHECKF("pdeathsig.killed", g0 == kids[0] && WIFSIGNALED(st0) && WTERMSIG(st0) == SIGKILL,
	       "got=%d %s", g0, utest_wstr(st0));
	/* The orphan's new parent is this process (it exits 0 when getppid() says so). */
	CHECKF("subreaper.adopted", g1 == kids[1] && WIFEXITED(st1) && WEXITSTATUS(st1) == 0, "got=%d %s", g1, utest_wstr(st1));
	prctl(PR_SET_CHILD_SUBREAPER, 0);
}

static int orphan_parent(void)
{
	/* Forks a grandchild that reports its parent after this process exits. */
	int fds[2];
	if (pipe(fds) != 0)
		return 1;
	pid_t mid = fork();
	if (mid == 0) {
		pid_t self = getpid();
		pid_t g = fork();
		if (g == 0) {
			while (getppid() == self)
				usleep(2000);
			pid_t p = getppid();
			if (write(fds[1], &p, sizeof p) != sizeof p)
				_exit(1);
			_exit(0);
		}
		_exit(0);
	}
	waitpid(mid, NULL, 0);
	pid_t p = 0;
	if (read(fds[0], &p, sizeof p) != sizeof p)
		return 2;
	wait(NULL);
	return p == getpid() ? 0 : 3;
}

static int subreaper_child(void)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		return 10;
	return orphan_parent();
}

static void check_personality(void)
{
	int cur = personality(0xffffffff);
	CHECK("personality.query", cur != -1);
	CHECK_RET("personality.set", personality(cur | ADDR_NO_RANDOMIZE), cur);
	CHECK_RET("personality.query2", personality(0xffffffff), cur | ADDR_NO_RANDOMIZE);
	pid_t pid = fork();
	if (pid == 0)
		_exit(personality(0xffffffff) == (cur | ADDR_NO_RANDOMIZE) ? 0 : 1);
	int st;
	waitpid(pid, &st, 0);
	CHECKF("personality.inherited", WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", utest_wstr(st));
	CHECK_RET("personality.restore", personality(cur), cur | ADDR_NO_RANDOMIZE);
}

static void check_unshare_setns(void)
{
	CHECK_RET("unshare.none", unshare(0), 0);
	CHECK_RET("unshare.files", unshare(CLONE_FILES), 0);
	CHECK_RET("unshare.fs", unshare(CLONE_FS), 0);
	CHECK_RET("unshare.sysvsem", unshare(CLONE_SYSVSEM), 0);
	CHECK_ERR("unshare.unknown", unshare(0x1), EINVAL);
	CHECK_ERR("setns.badfd", setns(-1, 0), EBADF);
	int fd = open("/", O_RDONLY);
	CHECK_ERR("setns.notns", setns(fd, 0), EINVAL);
	close(fd);
}

#define MB_QUERY 0
#define MB_GLOBAL 1
#define MB_PRIV 8
#define MB_REG_PRIV 16
#define MB_PRIV_CORE 32
#define MB_REG_PRIV_CORE 64

static int membarrier_fresh(void)
{
	long q = syscall(SYS_membarrier, MB_QUERY, 0, 0);
	if (q < 0 || (q & (MB_GLOBAL | MB_PRIV | MB_REG_PRIV)) != (MB_GLOBAL | MB_PRIV | MB_REG_PRIV))
		return 1;
	if (syscall(SYS_membarrier, MB_PRIV, 0, 0) != -1 || errno != EPERM)
		return 2;
	if (syscall(SYS_membarrier, MB_REG_PRIV, 0, 0) != 0)
		return 3;
	if (syscall(SYS_membarrier, MB_PRIV, 0, 0) != 0)
		return 4;
	if ((q & MB_PRIV_CORE) && (syscall(SYS_membarrier, MB_PRIV_CORE, 0, 0) != -1 || errno != EPERM))
		return 5;
	if ((q & MB_REG_PRIV_CORE) && syscall(SYS_membarrier, MB_REG_PRIV_CORE, 0, 0) != 0)
		return 6;
	if ((q & MB_PRIV_CORE) && syscall(SYS_membarrier, MB_PRIV_CORE, 0, 0) != 0)
		return 7;
	if (syscall(SYS_membarrier, MB_GLOBAL, 0, 0) != 0)
		return 8;
	if (syscall(SYS_membarrier, MB_QUERY, 1, 0) != -1 || errno != EINVAL)
		return 9;
	if (syscall(SYS_membarrier, 12345, 0, 0) != -1 || errno != EINVAL)
		return 10;
	return 0;
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	check_simple();
	CHECK_EQ("no_new_privs", utest_in_child(no_new_privs, 0), 0);
	CHECK_EQ("user.denied", utest_in_child(user_denied, 1), 0);
	check_pdeathsig_subreaper();
	CHECK_EQ("subreaper.getppid", utest_in_child(subreaper_child, 0), 0);
	check_personality();
	check_unshare_setns();
	CHECK_EQ("membarrier", utest_in_child(membarrier_fresh, 0), 0);
	return utest_done();
}
