/*
 * t_fork - process creation and reaping: fork, exit statuses, wait4/waitpid/waitid (WNOHANG,
 * WNOWAIT, error cases), vfork, copy-on-write, re-parenting of orphans, process groups and
 * sessions, kill(pid, 0) and a loop of 200 fork+wait.
 */
#define UTEST_PROGRAM "t_fork"
#include "utest.h"

#include <sys/mman.h>
#include <sys/resource.h>

static int global_var = 1000;

static void check_basic(void)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0)
		_exit(getppid() == parent && getpid() != parent ? 7 : 8);
	if (!CHECKF("fork.returns_pid", pid > 0 && pid != parent, "fork()=%d errno %d", pid, errno))
		return;
	int st = 0;
	pid_t w = wait4(pid, &st, 0, NULL);
	CHECK_EQ("wait4.pid", w, pid);
	utest_check_exit("fork.child_sees_ids", st, 7);

	static const int codes[] = { 0, 1, 255 };
	for (int i = 0; i < 3; i++) {
		char name[32];
		snprintf(name, sizeof name, "exit_status.%d", codes[i]);
		pid = fork();
		if (pid == 0)
			_exit(codes[i]);
		utest_check_exit(name, utest_wait(pid), codes[i]);
	}

	/* exit() through libc (atexit path) also reports the status. */
	pid = fork();
	if (pid == 0)
		exit(42);
	utest_check_exit("exit_status.libc_exit", utest_wait(pid), 42);

	/* rusage is filled by wait4. */
	pid = fork();
	if (pid == 0)
		_exit(0);
	struct rusage ru;
	memset(&ru, 0xff, sizeof ru);
	w = wait4(pid, &st, 0, &ru);
	CHECKF("wait4.rusage", w == pid && ru.ru_utime.tv_sec >= 0 && ru.ru_utime.tv_usec >= 0 &&
	       ru.ru_utime.tv_usec < 1000000, "w=%d utime=%ld.%06ld", w, (long)ru.ru_utime.tv_sec,
	       (long)ru.ru_utime.tv_usec);
}

static void check_wait_variants(void)
{
	int pfd[2];
	if (pipe(pfd) < 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		close(pfd[1]);
		_exit(read(pfd[0], &c, 1) == 0 ? 5 : 6); /* EOF once the parent closes */
	}
	close(pfd[0]);
	int st = 0;
	CHECK_RET("wnohang.running", waitpid(pid, &st, WNOHANG), 0);
	CHECK_RET("kill0.running", kill(pid, 0), 0);
	close(pfd[1]);
	/* waitid(WNOWAIT) waits for the exit but leaves the zombie. */
	siginfo_t si;
	memset(&si, 0, sizeof si);
	CHECK_RET("waitid.wnowait", waitid(P_PID, pid, &si, WEXITED | WNOWAIT), 0);
	CHECKF("waitid.wnowait_info", si.si_pid == pid && si.si_code == CLD_EXITED && si.si_status == 5,
	       "si_pid=%d (want %d) si_code=%d si_status=%d", si.si_pid, pid, si.si_code, si.si_status);
	CHECK_RET("kill0.zombie", kill(pid, 0), 0);
	memset(&si, 0, sizeof si);
	CHECK_RET("waitid.exited", waitid(P_PID, pid, &si, WEXITED), 0);
	CHECKF("waitid.siginfo", si.si_signo == SIGCHLD && si.si_pid == pid && si.si_code == CLD_EXITED &&
	       si.si_status == 5 && si.si_uid == getuid(), "signo=%d pid=%d code=%d status=%d uid=%d",
	       si.si_signo, si.si_pid, si.si_code, si.si_status, si.si_uid);
	CHECK_ERR("kill0.reaped", kill(pid, 0), ESRCH);
	CHECK_ERR("waitpid.after_reap", waitpid(pid, &st, 0), ECHILD);

	CHECK_ERR("wait.no_children", wait(&st), ECHILD);
	CHECK_ERR("waitpid.no_children_wnohang", waitpid(-1, &st, WNOHANG), ECHILD);
	CHECK_ERR("waitpid.not_child", waitpid(getppid(), &st, 0), ECHILD);
	CHECK_ERR("waitpid.bad_pid", waitpid(UTEST_BADPID, &st, 0), ECHILD);
	CHECK_SYSERR("wait4.bad_options", syscall(SYS_wait4, -1, &st, 0x100, NULL), EINVAL);
	CHECK_SYSERR("wait4.wnowait_invalid", syscall(SYS_wait4, -1, &st, WNOWAIT, NULL), EINVAL);
	CHECK_SYSERR("waitid.no_options", syscall(SYS_waitid, P_ALL, 0, &si, 0, NULL), EINVAL);
	CHECK_SYSERR("waitid.bad_idtype", syscall(SYS_waitid, 42, 0, &si, WEXITED, NULL), EINVAL);
	CHECK_ERR("waitid.no_children", waitid(P_ALL, 0, &si, WEXITED), ECHILD);

	/* waitid(WNOHANG) with a running child returns 0 and si_pid 0. */
	if (pipe(pfd) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		char c;
		close(pfd[1]);
		_exit(read(pfd[0], &c, 1) == 0 ? 0 : 1);
	}
	close(pfd[0]);
	memset(&si, 0xff, sizeof si);
	int r = waitid(P_PID, pid, &si, WEXITED | WNOHANG);
	CHECKF("waitid.wnohang_running", r == 0 && si.si_pid == 0, "r=%d si_pid=%d", r, si.si_pid);
	close(pfd[1]);
	utest_check_exit("waitid.wnohang_child", utest_wait(pid), 0);
}

static void check_vfork_and_cow(void)
{
	static volatile int vflag;
	vflag = 0;
	pid_t pid = vfork();
	if (pid == 0) {
		vflag = 1; /* shared with the suspended parent */
		_exit(3);
	}
	CHECKF("vfork.child_ran_first", vflag == 1, "flag=%d: parent resumed before the child exited",
	       vflag);
	utest_check_exit("vfork.exit", utest_wait(pid), 3);

	char *const argv[] = { "t_hello", "exit", "9", NULL };
	char *const envp[] = { NULL };
	const char *path = utest_path("/bin/tests/t_hello");
	pid = vfork();
	if (pid == 0) {
		execve(path, argv, envp);
		_exit(127);
	}
	CHECKF("vfork.exec_resumes", pid > 0, "vfork()=%d", pid);
	utest_check_exit("vfork.exec_status", utest_wait(pid), 9);

	volatile int stack_var = 77;
	global_var = 1000;
	pid = fork();
	if (pid == 0) {
		global_var = 2000;
		stack_var = 88;
		_exit(global_var == 2000 && stack_var == 88 ? 0 : 1);
	}
	utest_check_exit("cow.child_writes", utest_wait(pid), 0);
	CHECKF("cow.parent_unchanged", global_var == 1000 && stack_var == 77, "global=%d stack=%d",
	       global_var, stack_var);
}

static void check_orphan(void)
{
	/* shared[0]: dead parent's pid; shared[1]: grandchild's ppid after re-parenting; shared[2]: done. */
	volatile int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
				    -1, 0);
	if (shared == MAP_FAILED)
		return;
	shared[0] = shared[1] = shared[2] = 0;
	pid_t child = fork();
	if (child == 0) {
		shared[0] = getpid();
		pid_t g = fork();
		if (g == 0) {
			int64_t end = utest_now_ns(CLOCK_MONOTONIC) + 5000000000LL;
			while (getppid() == shared[0] && utest_now_ns(CLOCK_MONOTONIC) < end)
				utest_sleep_ms(1);
			shared[1] = getppid();
			__atomic_store_n(&shared[2], 1, __ATOMIC_SEQ_CST);
			_exit(0);
		}
		_exit(g > 0 ? 0 : 1);
	}
	utest_check_exit("orphan.parent_exit", utest_wait(child), 0);
	int64_t end = utest_now_ns(CLOCK_MONOTONIC) + 6000000000LL;
	while (!__atomic_load_n(&shared[2], __ATOMIC_SEQ_CST) && utest_now_ns(CLOCK_MONOTONIC) < end)
		utest_sleep_ms(1);
	CHECKF("orphan.reparented", shared[2] == 1 && shared[1] != shared[0] && shared[1] > 0,
	       "done=%d dead parent=%d new ppid=%d", shared[2], shared[0], shared[1]);
	if (getpid() != 1 && getppid() == 1)
		CHECKF("orphan.to_init", shared[1] == 1 || shared[1] == getpid(), "new ppid=%d",
		       shared[1]);
	munmap((void *)shared, 4096);
}

static void check_pgrp_session(void)
{
	int pfd[2], qfd[2];
	if (pipe(pfd) < 0 || pipe(qfd) < 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		int rc = 0;
		if (setpgid(0, 0) != 0 || getpgid(0) != getpid() || getpgrp() != getpid())
			rc |= 1;
		if (write(qfd[1], "r", 1) != 1 || read(pfd[0], &c, 1) != 1)
			rc |= 2;
		/* A process-group leader may not create a session. */
		if (setsid() != -1 || errno != EPERM)
			rc |= 4;
		_exit(rc);
	}
	char c;
	if (read(qfd[0], &c, 1) == 1)
		CHECK_EQ("getpgid.child_group", getpgid(pid), pid);
	if (write(pfd[1], "g", 1) != 1)
		kill(pid, SIGKILL);
	int st = utest_wait(pid);
	CHECKF("setpgid.own_group", WIFEXITED(st) && !(WEXITSTATUS(st) & 1), "child %s",
	       utest_wstr(st));
	CHECKF("setsid.group_leader_eperm", WIFEXITED(st) && !(WEXITSTATUS(st) & 4), "child %s",
	       utest_wstr(st));
	close(pfd[0]), close(pfd[1]), close(qfd[0]), close(qfd[1]);

	CHECK_ERR("setpgid.negative", setpgid(0, -1), EINVAL);
	CHECK_ERR("setpgid.bad_pid", setpgid(UTEST_BADPID, 0), ESRCH);
	CHECK_ERR("getpgid.bad_pid", getpgid(UTEST_BADPID), ESRCH);
	CHECK_EQ("getpgid.self", getpgid(0), getpgrp());
	CHECK_EQ("getpgid.self_pid", getpgid(getpid()), getpgrp());

	pid = fork();
	if (pid == 0) {
		pid_t s = setsid();
		int rc = 0;
		if (s != getpid())
			rc |= 1;
		if (getsid(0) != getpid() || getpgid(0) != getpid())
			rc |= 2;
		if (setsid() != -1 || errno != EPERM) /* now a session leader */
			rc |= 4;
		_exit(rc);
	}
	st = utest_wait(pid);
	CHECKF("setsid.child", WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %s (bits: 1 ret 2 ids 4 "
	       "second setsid)", utest_wstr(st));
	pid_t sid = getsid(0);
	CHECKF("getsid.self", sid >= 0 && sid == getsid(getpid()), "getsid(0)=%d getsid(pid)=%d", sid,
	       getsid(getpid()));
	CHECK_ERR("getsid.bad_pid", getsid(UTEST_BADPID), ESRCH);
}

static void check_many(void)
{
	int bad = 0, first_bad = -1, bad_st = 0;
	for (int i = 0; i < 200; i++) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(i & 0xff);
		int st = pid > 0 ? utest_wait(pid) : -1;
		if (pid < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != (i & 0xff)) {
			if (!bad++)
				first_bad = i, bad_st = st;
		}
	}
	CHECKF("fork.loop_200", bad == 0, "%d failures, first at %d: %s", bad, first_bad,
	       utest_wstr(bad_st));

	/* Several children at once, reaped with waitpid(-1) in any order. */
	pid_t kids[16];
	int seen = 0;
	for (int i = 0; i < 16; i++) {
		kids[i] = fork();
		if (kids[i] == 0)
			_exit(100 + i);
	}
	for (int n = 0; n < 16; n++) {
		int st;
		pid_t w = waitpid(-1, &st, 0);
		for (int i = 0; i < 16; i++)
			if (w == kids[i] && WIFEXITED(st) && WEXITSTATUS(st) == 100 + i)
				seen |= 1 << i;
	}
	CHECKF("waitpid.any_16", seen == 0xffff, "seen mask %#x", seen);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	check_basic();
	check_wait_variants();
	check_vfork_and_cow();
	check_orphan();
	check_pgrp_session();
	check_many();
	return utest_done();
}
