/*
 * t_signal - signal delivery to handlers: siginfo contents (SI_TKILL, SI_USER, SI_QUEUE,
 * CLD_EXITED), masks and pending sets, sigsuspend, sigtimedwait, sigaltstack, SA_RESETHAND,
 * SA_NODEFER, EINTR versus SA_RESTART, interrupted nanosleep, FP state across handlers,
 * real-time signal queueing and the error cases of the signal syscalls.
 * Default actions and hardware-fault signals are in t_sigfault.
 */
#define UTEST_PROGRAM "t_signal"
#include "utest.h"

#include <stdint.h>

static volatile sig_atomic_t hits, depth, max_depth;
static volatile int last_signo, last_code, last_pid, last_status, last_value;
static volatile int mask_had_sig, mask_had_extra;
static volatile uintptr_t local_addr;
static volatile int onstack_flag;

static void info_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	hits++;
	last_signo = si->si_signo;
	last_code = si->si_code;
	last_pid = si->si_pid;
	last_status = si->si_status;
	last_value = si->si_value.sival_int;
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	mask_had_sig = sigismember(&cur, sig);
	mask_had_extra = sigismember(&cur, SIGWINCH);
	(void)sig;
}

static void set_handler(int sig, void (*fn)(int, siginfo_t *, void *), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | flags;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGWINCH);
	sigaction(sig, &sa, NULL);
}

static void reset(void)
{
	hits = depth = max_depth = 0;
	last_signo = last_code = last_pid = last_status = last_value = -1;
}

static void check_siginfo(void)
{
	set_handler(SIGUSR1, info_handler, 0);
	set_handler(SIGUSR2, info_handler, 0);
	reset();
	CHECK_RET("raise", raise(SIGUSR1), 0);
	CHECKF("raise.siginfo", hits == 1 && last_signo == SIGUSR1 && last_code == SI_TKILL &&
	       last_pid == getpid(), "hits=%d signo=%d code=%d (SI_TKILL=%d) pid=%d",
	       hits, last_signo, last_code, SI_TKILL, last_pid);
	CHECKF("handler.mask_during", mask_had_sig == 1 && mask_had_extra == 1,
	       "in handler: signal blocked=%d, sa_mask signal blocked=%d", mask_had_sig, mask_had_extra);
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	CHECK("handler.mask_restored", !sigismember(&cur, SIGUSR1) && !sigismember(&cur, SIGWINCH));

	reset();
	CHECK_RET("kill.self", kill(getpid(), SIGUSR2), 0);
	CHECKF("kill.siginfo", hits == 1 && last_signo == SIGUSR2 && last_code == SI_USER &&
	       last_pid == getpid(), "hits=%d signo=%d code=%d pid=%d", hits, last_signo, last_code,
	       last_pid);

	reset();
	CHECK_RET("sigqueue", sigqueue(getpid(), SIGUSR1, (union sigval){ .sival_int = 4321 }), 0);
	CHECKF("sigqueue.siginfo", hits == 1 && last_code == SI_QUEUE && last_value == 4321,
	       "hits=%d code=%d value=%d", hits, last_code, last_value);

	reset();
	CHECK_RET("tgkill.self", syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1), 0);
	CHECKF("tgkill.delivered", hits == 1 && last_code == SI_TKILL, "hits=%d code=%d", hits,
	       last_code);
}

static void check_masks(void)
{
	sigset_t set, old, pend;
	reset();
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	CHECK_RET("sigprocmask.block", sigprocmask(SIG_BLOCK, &set, &old), 0);
	kill(getpid(), SIGUSR1);
	kill(getpid(), SIGUSR1);
	CHECKF("blocked.not_delivered", hits == 0, "hits=%d", hits);
	sigemptyset(&pend);
	CHECK_RET("sigpending", sigpending(&pend), 0);
	CHECK("sigpending.has_sig", sigismember(&pend, SIGUSR1) && !sigismember(&pend, SIGUSR2));
	CHECK_RET("sigprocmask.unblock", sigprocmask(SIG_SETMASK, &old, NULL), 0);
	CHECKF("unblock.delivered_once", hits == 1, "hits=%d (standard signals do not queue)", hits);
	sigpending(&pend);
	CHECK("sigpending.cleared", !sigismember(&pend, SIGUSR1));

	/* Real-time signals queue every instance. */
	int rt = SIGRTMIN + 4;
	set_handler(rt, info_handler, 0);
	reset();
	sigemptyset(&set);
	sigaddset(&set, rt);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (int i = 0; i < 3; i++)
		sigqueue(getpid(), rt, (union sigval){ .sival_int = i });
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	CHECKF("rt.queued_3", hits == 3 && last_value == 2, "hits=%d last value=%d", hits, last_value);

	/* SIGKILL and SIGSTOP cannot be blocked. */
	sigfillset(&set);
	sigprocmask(SIG_SETMASK, &set, &old);
	sigprocmask(SIG_SETMASK, NULL, &set);
	sigprocmask(SIG_SETMASK, &old, NULL);
	CHECK("mask.kill_stop_unblockable", !sigismember(&set, SIGKILL) && !sigismember(&set, SIGSTOP) &&
	      sigismember(&set, SIGUSR1));

	/* sigtimedwait takes a pending blocked signal without running the handler. */
	reset();
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, &old);
	kill(getpid(), SIGUSR2);
	siginfo_t si;
	struct timespec to = { 1, 0 };
	CHECK_RET("sigtimedwait.pending", sigtimedwait(&set, &si, &to), SIGUSR2);
	CHECKF("sigtimedwait.info", si.si_signo == SIGUSR2 && si.si_code == SI_USER && hits == 0,
	       "signo=%d code=%d hits=%d", si.si_signo, si.si_code, hits);
	to.tv_sec = 0;
	to.tv_nsec = 10000000;
	CHECK_ERR("sigtimedwait.timeout", sigtimedwait(&set, &si, &to), EAGAIN);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

static void check_errors(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	uint64_t m = 0;
	CHECK_SYSERR("sigaction.sig0", syscall(SYS_rt_sigaction, 0, &sa, NULL, 8), EINVAL);
	CHECK_SYSERR("sigaction.sig65", syscall(SYS_rt_sigaction, 65, &sa, NULL, 8), EINVAL);
	CHECK_SYSERR("sigaction.sigkill", syscall(SYS_rt_sigaction, SIGKILL, &sa, NULL, 8), EINVAL);
	CHECK_SYSERR("sigaction.sigstop", syscall(SYS_rt_sigaction, SIGSTOP, &sa, NULL, 8), EINVAL);
	CHECK_SYSERR("sigaction.bad_sigsetsize", syscall(SYS_rt_sigaction, SIGUSR1, &sa, NULL, 4),
		     EINVAL);
	CHECK_ERR("sigaction.libc_sigkill", sigaction(SIGKILL, &sa, NULL), EINVAL);
	CHECK_RET("sigaction.query_sigkill", syscall(SYS_rt_sigaction, SIGKILL, NULL, &sa, 8), 0);
	CHECK_SYSERR("sigprocmask.bad_how", syscall(SYS_rt_sigprocmask, 3, &m, NULL, 8), EINVAL);
	CHECK_SYSERR("sigprocmask.bad_size", syscall(SYS_rt_sigprocmask, SIG_BLOCK, &m, NULL, 4), EINVAL);
	CHECK_RET("sigprocmask.how_ignored_without_set", syscall(SYS_rt_sigprocmask, 3, NULL, &m, 8), 0);
	CHECK_ERR("kill.bad_signal", kill(getpid(), 65), EINVAL);
	CHECK_ERR("kill.bad_pid", kill(UTEST_BADPID, 0), ESRCH);
	CHECK_SYSERR("tgkill.bad_tid", syscall(SYS_tgkill, getpid(), UTEST_BADPID, SIGUSR1), ESRCH);
	CHECK_SYSERR("tgkill.zero_tid", syscall(SYS_tgkill, getpid(), 0, SIGUSR1), EINVAL);
	CHECK_SYSERR("tgkill.bad_signal", syscall(SYS_tgkill, getpid(), getpid(), 99), EINVAL);
	CHECK_SYSERR("tkill.bad_tid", syscall(SYS_tkill, UTEST_BADPID, SIGUSR1), ESRCH);
	CHECK_SYSERR("tkill.negative_tid", syscall(SYS_tkill, -5, SIGUSR1), EINVAL);
	CHECK_RET("kill.sig0_self", kill(getpid(), 0), 0);
}

static void nest_handler(int sig, siginfo_t *si, void *uc)
{
	(void)si, (void)uc;
	hits++;
	depth++;
	if (depth > max_depth)
		max_depth = depth;
	if (hits == 1)
		raise(sig); /* nested: immediate with SA_NODEFER, deferred otherwise */
	depth--;
}

static void check_flags(void)
{
	set_handler(SIGUSR1, nest_handler, SA_NODEFER);
	reset();
	raise(SIGUSR1);
	CHECKF("sa_nodefer.nested", hits == 2 && max_depth == 2, "hits=%d max depth=%d", hits, max_depth);
	set_handler(SIGUSR1, nest_handler, 0);
	reset();
	raise(SIGUSR1);
	CHECKF("deferred.not_nested", hits == 2 && max_depth == 1, "hits=%d max depth=%d", hits,
	       max_depth);

	/* SA_RESETHAND: the first delivery resets to SIG_DFL; the second kills (in a child). */
	int pfd[2];
	if (pipe(pfd) < 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		set_handler(SIGUSR1, info_handler, SA_RESETHAND);
		reset();
		raise(SIGUSR1);
		struct sigaction q;
		sigaction(SIGUSR1, NULL, &q);
		char c = (hits == 1 && q.sa_handler == SIG_DFL) ? 'y' : 'n';
		if (write(pfd[1], &c, 1) != 1)
			_exit(2);
		raise(SIGUSR1);
		_exit(0);
	}
	close(pfd[1]);
	char c = 0;
	if (read(pfd[0], &c, 1) != 1)
		c = '?';
	close(pfd[0]);
	CHECKF("sa_resethand.first", c == 'y', "child reported '%c'", c);
	utest_check_signaled("sa_resethand.second_kills", utest_wait(pid), SIGUSR1);
	set_handler(SIGUSR1, info_handler, 0);
}

static void altstack_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)si, (void)uc;
	volatile int local = 0;
	local_addr = (uintptr_t)&local;
	stack_t cur;
	sigaltstack(NULL, &cur);
	onstack_flag = cur.ss_flags;
	/* Disabling the stack while running on it is refused. */
	stack_t off = { .ss_flags = SS_DISABLE };
	last_status = sigaltstack(&off, NULL) == -1 ? errno : 0;
	hits++;
}

static void check_altstack(void)
{
	static char altstack[65536];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0 }, old;
	CHECK_RET("sigaltstack.set", sigaltstack(&ss, &old), 0);
	set_handler(SIGUSR2, altstack_handler, SA_ONSTACK);
	reset();
	raise(SIGUSR2);
	CHECKF("sigaltstack.used", hits == 1 && local_addr >= (uintptr_t)altstack &&
	       local_addr < (uintptr_t)altstack + sizeof altstack, "local at %#lx, stack %p+%zu",
	       (unsigned long)local_addr, (void *)altstack, sizeof altstack);
	CHECKF("sigaltstack.ss_onstack", onstack_flag & SS_ONSTACK, "ss_flags=%d", onstack_flag);
	CHECKF("sigaltstack.disable_onstack_eperm", last_status == EPERM, "errno %d", last_status);
	stack_t cur;
	sigaltstack(NULL, &cur);
	CHECKF("sigaltstack.query", cur.ss_sp == altstack && cur.ss_size == sizeof altstack &&
	       !(cur.ss_flags & SS_ONSTACK), "sp=%p size=%zu flags=%d", cur.ss_sp, cur.ss_size,
	       cur.ss_flags);
	stack_t small = { .ss_sp = altstack, .ss_size = 1024, .ss_flags = 0 };
	CHECK_ERR("sigaltstack.too_small", sigaltstack(&small, NULL), ENOMEM);
	stack_t badf = { .ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0x1234 };
	CHECK_ERR("sigaltstack.bad_flags", sigaltstack(&badf, NULL), EINVAL);
	stack_t dis = { .ss_flags = SS_DISABLE };
	CHECK_RET("sigaltstack.disable", sigaltstack(&dis, NULL), 0);
	sigaltstack(NULL, &cur);
	CHECK("sigaltstack.disabled", cur.ss_flags & SS_DISABLE);
}

static void check_child_signals(void)
{
	/* SIGCHLD with siginfo; blocked until sigsuspend, so no race with the exit. */
	sigset_t block, old, waitmask;
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	set_handler(SIGCHLD, info_handler, 0);
	reset();
	pid_t pid = fork();
	if (pid == 0)
		_exit(3);
	sigfillset(&waitmask);
	sigdelset(&waitmask, SIGCHLD);
	CHECK_ERR("sigsuspend.sigchld", sigsuspend(&waitmask), EINTR);
	CHECKF("sigchld.siginfo", hits == 1 && last_signo == SIGCHLD && last_pid == pid &&
	       last_code == CLD_EXITED && last_status == 3, "hits=%d signo=%d pid=%d/%d code=%d "
	       "status=%d", hits, last_signo, last_pid, pid, last_code, last_status);
	utest_wait(pid);

	/* sigsuspend woken by a signal sent by a child. */
	reset();
	pid_t parent = getpid();
	pid = fork();
	if (pid == 0)
		_exit(kill(parent, SIGUSR1) == 0 ? 0 : 1);
	sigfillset(&waitmask);
	sigdelset(&waitmask, SIGUSR1);
	CHECK_ERR("sigsuspend.from_child", sigsuspend(&waitmask), EINTR);
	CHECKF("sigsuspend.handler_ran", hits >= 1 && last_signo == SIGUSR1 && last_pid == pid &&
	       last_code == SI_USER, "hits=%d signo=%d pid=%d/%d code=%d", hits, last_signo,
	       last_pid, pid, last_code);
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	CHECK("sigsuspend.mask_restored", sigismember(&cur, SIGUSR1) && sigismember(&cur, SIGCHLD));
	sigprocmask(SIG_SETMASK, &old, NULL);
	utest_wait(pid);
	signal(SIGCHLD, SIG_DFL);
}

/* Fork a child that signals us after delay_ms, then exits after a further 50 ms. */
static pid_t signal_later(int sig, int delay_ms)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		utest_sleep_ms(delay_ms);
		kill(parent, sig);
		utest_sleep_ms(50);
		_exit(0);
	}
	return pid;
}

static void check_eintr(void)
{
	/* Without SA_RESTART, wait4 fails with EINTR (retry if the signal came too early). */
	long r = 0;
	int err = 0;
	for (int attempt = 0; attempt < 3; attempt++) {
		set_handler(SIGUSR1, info_handler, 0);
		reset();
		pid_t pid = signal_later(SIGUSR1, 30 + attempt * 100);
		int st;
		errno = 0;
		r = wait4(pid, &st, 0, NULL);
		err = errno;
		if (r == -1)
			utest_wait(pid);
		if (r == -1 || hits == 0)
			break;
	}
	CHECKF("wait4.eintr", r == -1 && err == EINTR && hits == 1, "wait4=%ld errno %s, hits=%d", r,
	       utest_errname(err), hits);

	set_handler(SIGUSR1, info_handler, SA_RESTART);
	reset();
	pid_t pid = signal_later(SIGUSR1, 30);
	int st = 0;
	r = wait4(pid, &st, 0, NULL);
	CHECKF("wait4.sa_restart", r == pid && hits == 1 && WIFEXITED(st), "wait4=%ld (child %d) "
	       "errno %d hits=%d", r, pid, errno, hits);

	/* nanosleep interrupted: EINTR and the remaining time. */
	set_handler(SIGUSR1, info_handler, 0);
	reset();
	pid = signal_later(SIGUSR1, 30);
	struct timespec req = { 2, 0 }, rem = { 0, 0 };
	int64_t t0 = utest_now_ns(CLOCK_MONOTONIC);
	CHECK_ERR("nanosleep.eintr", nanosleep(&req, &rem), EINTR);
	int64_t el = utest_now_ns(CLOCK_MONOTONIC) - t0;
	int64_t remns = (int64_t)rem.tv_sec * 1000000000 + rem.tv_nsec;
	CHECKF("nanosleep.remaining", remns > 0 && remns < 2000000000LL && remns + el >= 1900000000LL,
	       "rem=%lld ns after %lld ns", (long long)remns, (long long)el);
	utest_wait(pid);
}

static volatile double fp_sink;
static void fp_handler(int sig)
{
	(void)sig;
	double x = 1.0;
	for (int i = 1; i < 200; i++)
		x = x * 1.0001 + 1.0 / i; /* clobbers xmm registers */
	fp_sink = x;
	hits++;
}

__attribute__((noinline)) static double fp_work(volatile long n)
{
	double a = 0.5, b = 1.25;
	long cnt = n;
	for (long i = 0; i < cnt; i++) {
		a = a * 0.999999 + b / (i + 1.0);
		b = b * 1.0000001 - a * 1e-9;
	}
	return a + b;
}

static void check_fp_state(void)
{
	/* Recompute a fixed FP sequence while a child sends 200 signals whose handler clobbers
	 * the FP registers; every result must match the one computed without signals. */
	signal(SIGUSR2, fp_handler);
	volatile long n = 200000;
	double want = fp_work(n);
	reset();
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 200; i++) {
			kill(parent, SIGUSR2);
			utest_sleep_ms(1);
		}
		_exit(0);
	}
	int rounds = 0, bad = 0, st;
	double got = want;
	int64_t end = utest_now_ns(CLOCK_MONOTONIC) + 20000000000LL;
	while (waitpid(pid, &st, WNOHANG) == 0 && utest_now_ns(CLOCK_MONOTONIC) < end) {
		double r = fp_work(n);
		rounds++;
		if (r != want && !bad++)
			got = r;
	}
	CHECKF("fp_state.preserved", bad == 0 && hits > 0, "%d of %d results differ (%.17g, want "
	       "%.17g), %d handler runs", bad, rounds, got, want, hits);
	utest_printf("# t_signal: fp_state %d rounds, %d signals\n", rounds, hits);
	signal(SIGUSR2, SIG_DFL);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	check_siginfo();
	check_masks();
	check_errors();
	check_flags();
	check_altstack();
	check_child_signals();
	check_eintr();
	check_fp_state();
	return utest_done();
}
