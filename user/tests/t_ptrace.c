/*
 * t_ptrace - ptrace for a strace-like tracer: PTRACE_TRACEME and the first SIGSTOP stop,
 * PEEK/POKEDATA, PEEKUSER, GETREGS/SETREGS (changing a result, skipping a call, EIO for a
 * kernel selector), PTRACE_SYSCALL entry/exit stops (SIGTRAP and SIGTRAP|0x80 with
 * TRACESYSGOOD), signal-delivery stops (suppressed, delivered, replaced; GETSIGINFO), the exec
 * stop (legacy SIGTRAP, PTRACE_EVENT_EXEC + GETEVENTMSG), PTRACE_KILL and SIGKILL of a stopped
 * tracee, ATTACH/SEIZE/DETACH with their permission rules (EPERM for self, twice, another
 * user's process), the tracer's exit (detach, or kill with EXITKILL; the orphan goes to this
 * test, a child subreaper), ESRCH for a running or untraced target, EIO/EINVAL arguments, and
 * a soak of stops checking the registers each time.
 */
#define UTEST_PROGRAM "t_ptrace"
#include "utest.h"

#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <stddef.h>

static volatile long magic = 0x1122334455667788L;
static volatile sig_atomic_t usr1_hits, usr2_hits;
static const char *self_path;

static void on_usr1(int s) { (void)s; usr1_hits++; }
static void on_usr2(int s) { (void)s; usr2_hits++; }

/* Forks a child that says TRACEME and stops; it then runs body() and exits with its value. */
static pid_t traced_child(int (*body)(void))
{
	pid_t pid = fork();
	if (pid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
			_exit(100);
		raise(SIGSTOP);
		_exit(body());
	}
	return pid;
}

/* Waits for a stop of pid; returns WSTOPSIG | event << 8, or -1 (with the status in *st). */
static int wait_stop(pid_t pid, int *st)
{
	int status = 0;
	if (waitpid(pid, &status, 0) != pid) {
		*st = -1;
		return -1;
	}
	*st = status;
	if (!WIFSTOPPED(status))
		return -1;
	return status >> 8;
}

static int finish(pid_t pid)
{
	int st = 0;
	ptrace(PTRACE_CONT, pid, NULL, NULL);
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static int body_magic(void) { return magic == 0x0102030405060708L ? 0 : 1; }

static void check_traceme_peek_poke(void)
{
	pid_t pid = traced_child(body_magic);
	int st = 0;
	CHECKF("traceme.stop", wait_stop(pid, &st) == SIGSTOP, "%s", utest_wstr(st));
	errno = 0;
	long word = ptrace(PTRACE_PEEKDATA, pid, (void *)&magic, NULL);
	CHECKF("peekdata", word == 0x1122334455667788L && errno == 0, "word=%lx errno=%d", word, errno);
	errno = 0;
	word = ptrace(PTRACE_PEEKTEXT, pid, (void *)check_traceme_peek_poke, NULL);
	CHECKF("peektext", errno == 0 && word == *(volatile long *)(void *)check_traceme_peek_poke, "errno=%d", errno);
	CHECK_ERR("peekdata.unmapped", ptrace(PTRACE_PEEKDATA, pid, (void *)16, NULL), EIO);
	CHECK_RET("pokedata", ptrace(PTRACE_POKEDATA, pid, (void *)&magic, (void *)0x0102030405060708L), 0);
	CHECK_ERR("pokedata.unmapped", ptrace(PTRACE_POKEDATA, pid, (void *)16, (void *)1), EIO);
	CHECK_ERR("traceme.twice.cont.badsig", ptrace(PTRACE_CONT, pid, NULL, (void *)1000L), EIO);
	CHECK_ERR("setoptions.unknown", ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)0x80000000L), EINVAL);
	CHECK_EQ("poke.seen.by.child", finish(pid), 0);
	CHECK_ERR("esrch.reaped", ptrace(PTRACE_PEEKDATA, pid, (void *)&magic, NULL), ESRCH);
}

static int body_twice(void)
{
	/* Already traced: a second TRACEME fails with EPERM. */
	return ptrace(PTRACE_TRACEME, 0, NULL, NULL) == -1 && errno == EPERM ? 0 : 1;
}

static void check_traceme_twice(void)
{
	pid_t pid = traced_child(body_twice);
	int st = 0;
	wait_stop(pid, &st);
	CHECK_EQ("traceme.twice", finish(pid), 0);
}

static int body_syscalls(void)
{
	/* getppid is changed to 4242 at its exit stop; gettid is skipped (ENOSYS). */
	long a = syscall(SYS_getppid);
	errno = 0;
	long b = syscall(SYS_gettid);
	int e = errno;
	return (a == 4242 ? 0 : 1) | (b == -1 && e == ENOSYS ? 0 : 2);
}

/* Resumes with PTRACE_SYSCALL until a syscall stop of `nr` (entry), at most 64 stops. */
static int next_entry(pid_t pid, long nr, struct user_regs_struct *regs, int good)
{
	int st = 0;
	for (int i = 0; i < 64; i++) {
		if (ptrace(PTRACE_SYSCALL, pid, NULL, NULL) != 0)
			return -1;
		int sig = wait_stop(pid, &st);
		if (sig != (good ? (SIGTRAP | 0x80) : SIGTRAP))
			return -2;
		if (ptrace(PTRACE_GETREGS, pid, NULL, regs) != 0)
			return -3;
		if ((long)regs->orig_rax == nr && (long)regs->rax == -ENOSYS)
			return 0;
		/* An exit stop, or another call: step on. */
	}
	return -4;
}

static void check_syscall_stops(void)
{
	pid_t pid = traced_child(body_syscalls);
	int st = 0;
	wait_stop(pid, &st);
	CHECK_RET("setoptions.sysgood", ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)PTRACE_O_TRACESYSGOOD), 0);
	struct user_regs_struct regs;
	int r = next_entry(pid, SYS_getppid, &regs, 1);
	CHECKF("syscall.entry", r == 0, "next_entry=%d", r);
	errno = 0;
	long orig = ptrace(PTRACE_PEEKUSER, pid, (void *)offsetof(struct user_regs_struct, orig_rax), NULL);
	CHECKF("peekuser.orig_rax", orig == SYS_getppid && errno == 0, "orig=%ld errno=%d", orig, errno);
	long rip = ptrace(PTRACE_PEEKUSER, pid, (void *)offsetof(struct user_regs_struct, rip), NULL);
	CHECK_EQ("peekuser.rip", rip, (long)regs.rip);
	CHECK_ERR("peekuser.unaligned", ptrace(PTRACE_PEEKUSER, pid, (void *)3, NULL), EIO);
	CHECK_ERR("peekuser.past", ptrace(PTRACE_PEEKUSER, pid, (void *)4096L, NULL), EIO);
	/* Exit stop of getppid: the result is replaced. */
	ptrace(PTRACE_SYSCALL, pid, NULL, NULL);
	int sig = wait_stop(pid, &st);
	ptrace(PTRACE_GETREGS, pid, NULL, &regs);
	CHECKF("syscall.exit", sig == (SIGTRAP | 0x80) && (long)regs.orig_rax == SYS_getppid && (long)regs.rax == getpid(),
	       "sig=%x orig=%ld rax=%ld", sig, (long)regs.orig_rax, (long)regs.rax);
	struct user_regs_struct bad = regs;
	bad.cs = 0x8;
	CHECK_ERR("setregs.kernel.cs", ptrace(PTRACE_SETREGS, pid, NULL, &bad), EIO);
	regs.rax = 4242;
	CHECK_RET("setregs", ptrace(PTRACE_SETREGS, pid, NULL, &regs), 0);
	/* Entry of gettid: skipped with orig_rax = -1. */
	r = next_entry(pid, SYS_gettid, &regs, 1);
	CHECKF("syscall.entry.gettid", r == 0, "next_entry=%d", r);
	regs.orig_rax = -1;
	ptrace(PTRACE_SETREGS, pid, NULL, &regs);
	ptrace(PTRACE_SYSCALL, pid, NULL, NULL);
	wait_stop(pid, &st);
	ptrace(PTRACE_GETREGS, pid, NULL, &regs);
	CHECKF("syscall.skip", (long)regs.rax == -ENOSYS, "rax=%ld", (long)regs.rax);
	CHECK_EQ("syscall.child.saw", finish(pid), 0);
}

static int body_plain_sysstop(void)
{
	syscall(SYS_getppid);
	return 0;
}

static void check_plain_sigtrap(void)
{
	pid_t pid = traced_child(body_plain_sysstop);
	int st = 0;
	wait_stop(pid, &st);
	struct user_regs_struct regs;
	int r = next_entry(pid, SYS_getppid, &regs, 0);
	CHECKF("syscall.sigtrap.nosysgood", r == 0, "next_entry=%d", r);
	CHECK_EQ("syscall.sigtrap.exit", finish(pid), 0);
}

static int body_signals(void)
{
	signal(SIGUSR1, on_usr1);
	signal(SIGUSR2, on_usr2);
	raise(SIGUSR1); /* suppressed by the tracer */
	raise(SIGUSR1); /* delivered */
	raise(SIGUSR2); /* replaced by SIGUSR1 */
	return usr1_hits == 2 && usr2_hits == 0 ? 0 : 1;
}

static void check_signal_stops(void)
{
	pid_t pid = traced_child(body_signals);
	int st = 0;
	wait_stop(pid, &st);
	ptrace(PTRACE_CONT, pid, NULL, NULL);
	int sig = wait_stop(pid, &st);
	CHECKF("sigstop.usr1", sig == SIGUSR1, "%s", utest_wstr(st));
	siginfo_t si;
	memset(&si, 0, sizeof si);
	CHECK_RET("getsiginfo", ptrace(PTRACE_GETSIGINFO, pid, NULL, &si), 0);
	CHECKF("getsiginfo.fields", si.si_signo == SIGUSR1 && si.si_code == SI_TKILL && si.si_pid == pid,
	       "signo=%d code=%d pid=%d", si.si_signo, si.si_code, si.si_pid);
	ptrace(PTRACE_CONT, pid, NULL, NULL);
	sig = wait_stop(pid, &st);
	CHECKF("sigstop.usr1.again", sig == SIGUSR1, "%s", utest_wstr(st));
	ptrace(PTRACE_CONT, pid, NULL, (void *)(long)SIGUSR1);
	sig = wait_stop(pid, &st);
	CHECKF("sigstop.usr2", sig == SIGUSR2, "%s", utest_wstr(st));
	ptrace(PTRACE_CONT, pid, NULL, (void *)(long)SIGUSR1);
	int status;
	waitpid(pid, &status, 0);
	CHECKF("signals.injected", WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", utest_wstr(status));
}

static int body_exec(void)
{
	execl(self_path, self_path, "exit7", (char *)NULL);
	return 99;
}

static void check_exec(int with_event)
{
	pid_t pid = traced_child(body_exec);
	int st = 0;
	wait_stop(pid, &st);
	if (with_event)
		ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)PTRACE_O_TRACEEXEC);
	ptrace(PTRACE_CONT, pid, NULL, NULL);
	int sig = wait_stop(pid, &st);
	if (with_event) {
		CHECKF("exec.event", sig == (SIGTRAP | (PTRACE_EVENT_EXEC << 8)), "%s (0x%x)", utest_wstr(st), st);
		unsigned long msg = 0;
		CHECK_RET("geteventmsg", ptrace(PTRACE_GETEVENTMSG, pid, NULL, &msg), 0);
		CHECK_EQ("geteventmsg.pid", (long)msg, (long)pid);
	} else {
		CHECKF("exec.sigtrap", sig == SIGTRAP, "%s (0x%x)", utest_wstr(st), st);
	}
	CHECK_EQ(with_event ? "exec.event.status" : "exec.sigtrap.status", finish(pid), 7);
}

static int body_sleep(void)
{
	for (;;)
		pause();
	return 0;
}

static void check_kill(void)
{
	pid_t pid = traced_child(body_sleep);
	int st = 0;
	wait_stop(pid, &st);
	CHECK_RET("ptrace.kill", ptrace(PTRACE_KILL, pid, NULL, NULL), 0);
	int status;
	waitpid(pid, &status, 0);
	CHECKF("ptrace.kill.status", WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "%s", utest_wstr(status));

	/* A tracee stopped at a syscall stop dies of SIGKILL at once. */
	pid = traced_child(body_sleep);
	wait_stop(pid, &st);
	ptrace(PTRACE_SYSCALL, pid, NULL, NULL);
	wait_stop(pid, &st);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	CHECKF("sigkill.in.stop", WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "%s", utest_wstr(status));
}

static void check_esrch(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		for (;;)
			pause();
	}
	CHECK_ERR("esrch.untraced", ptrace(PTRACE_PEEKDATA, pid, (void *)&magic, NULL), ESRCH);
	CHECK_ERR("esrch.cont.untraced", ptrace(PTRACE_CONT, pid, NULL, NULL), ESRCH);
	CHECK_ERR("attach.self", ptrace(PTRACE_ATTACH, getpid(), NULL, NULL), EPERM);
	CHECK_ERR("attach.nosuch", ptrace(PTRACE_ATTACH, UTEST_BADPID, NULL, NULL), ESRCH);
	CHECK_RET("attach", ptrace(PTRACE_ATTACH, pid, NULL, NULL), 0);
	int st = 0;
	int sig = wait_stop(pid, &st);
	CHECKF("attach.sigstop", sig == SIGSTOP, "%s", utest_wstr(st));
	CHECK_ERR("attach.twice", ptrace(PTRACE_ATTACH, pid, NULL, NULL), EPERM);
	CHECK_RET("getregs.stopped", ptrace(PTRACE_GETREGS, pid, NULL, &(struct user_regs_struct){0}), 0);
	ptrace(PTRACE_CONT, pid, NULL, NULL);
	CHECK_ERR("esrch.running", ptrace(PTRACE_GETREGS, pid, NULL, &(struct user_regs_struct){0}), ESRCH);
	kill(pid, SIGUSR2); /* ignored by nobody: a signal-delivery stop */
	sig = wait_stop(pid, &st);
	CHECKF("attach.sigstop.usr2", sig == SIGUSR2, "%s", utest_wstr(st));
	CHECK_RET("detach", ptrace(PTRACE_DETACH, pid, NULL, NULL), 0);
	CHECK_ERR("esrch.detached", ptrace(PTRACE_GETREGS, pid, NULL, &(struct user_regs_struct){0}), ESRCH);
	CHECK_RET("seize", ptrace(PTRACE_SEIZE, pid, NULL, (void *)PTRACE_O_TRACESYSGOOD), 0);
	CHECK_ERR("seize.badopt", ptrace(PTRACE_SEIZE, pid, NULL, (void *)0x80000000L), EIO);
	CHECK_RET("seize.detach.running", ptrace(PTRACE_KILL, pid, NULL, NULL), 0);
	int status;
	waitpid(pid, &status, 0);
	CHECKF("seize.kill", WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "%s", utest_wstr(status));
}

/* A user who is not root may not attach to root's process. */
static void check_attach_perm(void)
{
	if (getuid() != 0) {
		utest_ok("attach.eperm.otheruser");
		return;
	}
	pid_t victim = fork();
	if (victim == 0) {
		for (;;)
			pause();
	}
	pid_t pid = fork();
	if (pid == 0) {
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(3);
		long r = ptrace(PTRACE_ATTACH, victim, NULL, NULL);
		_exit(r == -1 && errno == EPERM ? 0 : 1);
	}
	int status;
	waitpid(pid, &status, 0);
	CHECKF("attach.eperm.otheruser", WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", utest_wstr(status));
	kill(victim, SIGKILL);
	waitpid(victim, &status, 0);
}

/* A middle process traces a child and exits: the tracee is detached (and goes on), or killed
 * with EXITKILL. This process is a child subreaper, so it reaps the orphan. */
static void check_tracer_exit(int exitkill)
{
	int fds[2];
	if (pipe(fds) != 0)
		return;
	pid_t middle = fork();
	if (middle == 0) {
		pid_t pid = fork();
		if (pid == 0) {
			ptrace(PTRACE_TRACEME, 0, NULL, NULL);
			raise(SIGSTOP);
			usleep(200 * 1000);
			_exit(5);
		}
		int st;
		wait_stop(pid, &st);
		if (exitkill)
			ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)PTRACE_O_EXITKILL);
		if (write(fds[1], &pid, sizeof pid) != sizeof pid)
			_exit(2);
		_exit(0); /* leaves the tracee in its stop */
	}
	pid_t tracee = -1;
	if (read(fds[0], &tracee, sizeof tracee) != sizeof tracee)
		tracee = -1;
	close(fds[0]);
	close(fds[1]);
	int status;
	waitpid(middle, &status, 0);
	pid_t got = waitpid(tracee, &status, 0);
	if (exitkill)
		CHECKF("tracer.exit.exitkill", got == tracee && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		       "got=%d %s", got, utest_wstr(status));
	else
		CHECKF("tracer.exit.detach", got == tracee && WIFEXITED(status) && WEXITSTATUS(status) == 5,
		       "got=%d %s", got, utest_wstr(status));
}

static int body_loop(void)
{
	for (int i = 0; i < 300; i++)
		syscall(SYS_getppid);
	return 0;
}

static void check_soak(void)
{
	pid_t pid = traced_child(body_loop);
	int st = 0;
	wait_stop(pid, &st);
	ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)PTRACE_O_TRACESYSGOOD);
	int stops = 0, bad = 0;
	struct user_regs_struct regs;
	for (;;) {
		ptrace(PTRACE_SYSCALL, pid, NULL, NULL);
		int sig = wait_stop(pid, &st);
		if (sig < 0)
			break;
		if (sig != (SIGTRAP | 0x80) || ptrace(PTRACE_GETREGS, pid, NULL, &regs) != 0) {
			bad++;
			continue;
		}
		stops++;
		if ((long)regs.orig_rax == SYS_getppid && (long)regs.rax != -ENOSYS && (long)regs.rax != getpid())
			bad++;
	}
	CHECKF("soak.stops", WIFEXITED(st) && WEXITSTATUS(st) == 0 && stops >= 600 && bad == 0,
	       "%s stops=%d bad=%d", utest_wstr(st), stops, bad);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "exit7") == 0)
		return 7;
	utest_init(argc, argv);
	self_path = argv[0];
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	check_traceme_peek_poke();
	check_traceme_twice();
	check_syscall_stops();
	check_plain_sigtrap();
	check_signal_stops();
	check_exec(0);
	check_exec(1);
	check_kill();
	check_esrch();
	check_attach_perm();
	check_tracer_exit(0);
	check_tracer_exit(1);
	check_soak();
	return utest_done();
}
