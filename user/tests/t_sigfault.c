/*
 * t_sigfault - default signal actions and hardware-fault signals: children killed by SIGTERM,
 * SIGKILL, SIGUSR1, SIGPIPE; stop/continue reported by wait (WUNTRACED, WCONTINUED, waitid);
 * ignored-by-default signals; faults without handlers (NULL dereference -> SIGSEGV is an
 * acceptance check, divide by zero -> SIGFPE, ud2 -> SIGILL, int3 -> SIGTRAP, stack overflow)
 * and with handlers (si_code, si_addr, recovery with siglongjmp, resuming after the handler).
 */
#define UTEST_PROGRAM "t_sigfault"
#include "utest.h"

#include <setjmp.h>
#include <sys/mman.h>
#include <sys/resource.h>

/* Fault sites with global labels, so si_addr can be compared with the faulting instruction. */
extern char ud2_insn[], div_insn[], int3_after[];

__attribute__((noinline)) static void do_ud2(void)
{
	__asm__ volatile(".globl ud2_insn\nud2_insn: ud2" ::: "memory");
}

__attribute__((noinline)) static int do_div0(void)
{
	int q;
	__asm__ volatile("xor %%ecx, %%ecx\n mov $1, %%eax\n cltd\n"
			 ".globl div_insn\ndiv_insn: idivl %%ecx"
			 : "=a"(q) : : "ecx", "edx", "memory");
	return q;
}

__attribute__((noinline)) static void do_int3(void)
{
	__asm__ volatile("int3\n.globl int3_after\nint3_after: nop" ::: "memory");
}

static int *volatile null_ptr; /* volatile: the compiler cannot see that it is NULL */
__attribute__((noinline)) static void do_null(void)
{
	*null_ptr = 1;
}

static volatile int recurse_limit = 1 << 30;
__attribute__((noinline)) static int recurse(int n)
{
	volatile char buf[1024];
	buf[0] = (char)n;
	if (n >= recurse_limit)
		return 0;
	return recurse(n + 1) + buf[0];
}

/* Run fn in a child without core dumps; return its wait status. */
static int in_child(void (*fn)(void))
{
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit nocore = { 0, 0 };
		setrlimit(RLIMIT_CORE, &nocore);
		fn();
		_exit(0);
	}
	return utest_wait(pid);
}

static void f_null(void) { do_null(); }
static void f_div(void) { do_div0(); }
static void f_ud2(void) { do_ud2(); }
static void f_int3(void) { do_int3(); }
static void f_abort(void) { abort(); }
static void f_overflow(void) { recurse(0); }
static void f_usr1(void) { raise(SIGUSR1); }
static void f_rodata(void)
{
	static const int ro = 5;
	*(volatile int *)&ro = 6;
}
static void f_pipe(void)
{
	int p[2];
	if (pipe(p) == 0) {
		close(p[0]);
		if (write(p[1], "x", 1) < 0)
			_exit(2);
	}
}
static void f_ignored(void)
{
	signal(SIGUSR1, SIG_IGN);
	kill(getpid(), SIGUSR1);
	kill(getpid(), SIGCHLD);
	kill(getpid(), SIGURG);
	kill(getpid(), SIGWINCH);
	kill(getpid(), SIGCONT);
	_exit(17);
}

static void check_default_actions(void)
{
	utest_check_signaled("dfl.segv_null", in_child(f_null), SIGSEGV);
	utest_check_signaled("dfl.fpe_div0", in_child(f_div), SIGFPE);
	utest_check_signaled("dfl.ill_ud2", in_child(f_ud2), SIGILL);
	utest_check_signaled("dfl.trap_int3", in_child(f_int3), SIGTRAP);
	utest_check_signaled("dfl.abort", in_child(f_abort), SIGABRT);
	utest_check_signaled("dfl.segv_rodata", in_child(f_rodata), SIGSEGV);
	utest_check_signaled("dfl.segv_stack_overflow", in_child(f_overflow), SIGSEGV);
	utest_check_signaled("dfl.usr1", in_child(f_usr1), SIGUSR1);
	utest_check_signaled("dfl.sigpipe", in_child(f_pipe), SIGPIPE);
	utest_check_exit("dfl.ignored_signals", in_child(f_ignored), 17);
}

static pid_t sleeper(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

static void check_kill_stop_cont(void)
{
	pid_t pid = sleeper();
	CHECK_RET("kill.sigterm", kill(pid, SIGTERM), 0);
	utest_check_signaled("dfl.sigterm", utest_wait(pid), SIGTERM);
	pid = sleeper();
	kill(pid, SIGKILL);
	utest_check_signaled("dfl.sigkill", utest_wait(pid), SIGKILL);

	pid = sleeper();
	int st = 0;
	kill(pid, SIGSTOP);
	pid_t w = waitpid(pid, &st, WUNTRACED);
	CHECKF("wait.stopped", w == pid && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP, "waitpid=%d %s",
	       w, utest_wstr(st));
	CHECK_RET("wait.stopped_reported_once", waitpid(pid, &st, WUNTRACED | WNOHANG), 0);
	kill(pid, SIGCONT);
	w = waitpid(pid, &st, WCONTINUED);
	CHECKF("wait.continued", w == pid && WIFCONTINUED(st), "waitpid=%d status=%#x", w, st);

	kill(pid, SIGSTOP);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	CHECK_RET("waitid.stopped", waitid(P_PID, pid, &si, WSTOPPED), 0);
	CHECKF("waitid.stopped_info", si.si_pid == pid && si.si_code == CLD_STOPPED &&
	       si.si_status == SIGSTOP, "pid=%d code=%d status=%d", si.si_pid, si.si_code, si.si_status);
	/* SIGKILL ends a stopped process. */
	kill(pid, SIGKILL);
	utest_check_signaled("dfl.sigkill_stopped", utest_wait(pid), SIGKILL);

	/* SIGTERM to a stopped process stays pending until SIGCONT. */
	pid = sleeper();
	kill(pid, SIGSTOP);
	waitpid(pid, &st, WUNTRACED);
	kill(pid, SIGTERM);
	utest_sleep_ms(20);
	CHECK_RET("stopped.term_pending", waitpid(pid, &st, WNOHANG), 0);
	kill(pid, SIGCONT);
	utest_check_signaled("stopped.term_after_cont", utest_wait(pid), SIGTERM);
}

/* ---- faults with handlers ---- */

static sigjmp_buf jb;
static volatile int h_sig, h_code, h_count;
static void *volatile h_addr;
static char *volatile fix_page;

static void jump_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	h_sig = sig;
	h_code = si->si_code;
	h_addr = si->si_addr;
	h_count++;
	siglongjmp(jb, 1);
}

static void return_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	h_sig = sig;
	h_code = si->si_code;
	h_addr = si->si_addr;
	h_count++;
	if (sig == SIGSEGV && fix_page)
		mprotect(fix_page, 4096, PROT_READ | PROT_WRITE); /* the write is retried */
}

static void install(int sig, void (*fn)(int, siginfo_t *, void *))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(sig, &sa, NULL);
}

static void check_handled_faults(void)
{
	install(SIGSEGV, jump_handler);
	install(SIGFPE, jump_handler);
	install(SIGILL, jump_handler);
	install(SIGTRAP, return_handler);

	h_sig = 0;
	if (sigsetjmp(jb, 1) == 0)
		do_null();
	CHECKF("segv.null_siginfo", h_sig == SIGSEGV && h_addr == NULL && h_code == SEGV_MAPERR,
	       "sig=%d addr=%p code=%d", h_sig, h_addr, h_code);
	h_sig = 0;
	if (sigsetjmp(jb, 1) == 0)
		do_null();
	CHECKF("segv.recovered_twice", h_sig == SIGSEGV, "second fault not delivered (sig=%d)", h_sig);

	h_sig = 0;
	if (sigsetjmp(jb, 1) == 0)
		do_div0();
	CHECKF("fpe.intdiv", h_sig == SIGFPE && h_code == FPE_INTDIV && h_addr == (void *)div_insn,
	       "sig=%d code=%d addr=%p (insn %p)", h_sig, h_code, h_addr, (void *)div_insn);

	h_sig = 0;
	if (sigsetjmp(jb, 1) == 0)
		do_ud2();
	CHECKF("ill.ud2", h_sig == SIGILL && h_code == ILL_ILLOPN && h_addr == (void *)ud2_insn,
	       "sig=%d code=%d addr=%p (insn %p)", h_sig, h_code, h_addr, (void *)ud2_insn);

	h_sig = 0;
	h_count = 0;
	do_int3(); /* the handler returns; execution continues after the int3 */
	CHECKF("trap.int3_resumes", h_sig == SIGTRAP && h_code == SI_KERNEL && h_count == 1,
	       "sig=%d code=%d (SI_KERNEL=%d) count=%d", h_sig, h_code, SI_KERNEL, h_count);

	/* A SIGSEGV handler that fixes the protection and returns: the write is retried. */
	install(SIGSEGV, return_handler);
	char *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED) {
		fix_page = p;
		h_count = 0;
		h_sig = 0;
		((volatile char *)p)[100] = 42;
		fix_page = NULL;
		CHECKF("segv.retry_after_fix", h_count == 1 && h_sig == SIGSEGV && h_code == SEGV_ACCERR &&
		       h_addr == p + 100 && p[100] == 42, "count=%d sig=%d code=%d addr=%p (want %p) "
		       "value=%d", h_count, h_sig, h_code, h_addr, (void *)(p + 100), p[100]);
		munmap(p, 4096);
	}

	/* A fault while the same signal is blocked kills the process (in a child). */
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit nocore = { 0, 0 };
		setrlimit(RLIMIT_CORE, &nocore);
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGSEGV);
		sigprocmask(SIG_BLOCK, &set, NULL);
		do_null();
		_exit(0);
	}
	utest_check_signaled("segv.blocked_kills", utest_wait(pid), SIGSEGV);

	signal(SIGSEGV, SIG_DFL);
	signal(SIGFPE, SIG_DFL);
	signal(SIGILL, SIG_DFL);
	signal(SIGTRAP, SIG_DFL);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	check_default_actions();
	check_kill_stop_cont();
	check_handled_faults();
	return utest_done();
}
