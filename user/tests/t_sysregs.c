/*
 * t_sysregs - the registers a system call preserves. The x86-64 Linux ABI clobbers only rax
 * (the result), rcx and r11; every other general register must come back as it was, whatever
 * way the kernel took: its fast path (getppid), the complete path of calls that take the whole
 * register frame (sigaltstack, a failing execve, unimplemented numbers, numbers past the
 * table), fork (the child's registers are a copy of the parent's), the return work after a
 * call (a signal delivered on the way out, its handler clobbering registers before
 * rt_sigreturn), and a blocking call interrupted by a signal (rt_sigsuspend). Each call is made from
 * assembly with a distinct value in every register.
 */
#define UTEST_PROGRAM "t_sysregs"
#include "utest.h"

/* The registers sr_call loads before `syscall` and stores after it (offsets in the asm). */
struct regs {
	uint64_t rbx, rbp, rdx, rsi, rdi, r8, r9, r10, r12, r13, r14, r15, rax;
};

/* sr_call(in, out): loads every register of *in (rax = the number), runs `syscall`, stores
 * every register into *out. */
void sr_call(const struct regs *in, struct regs *out);
__asm__(".text\n"
	".globl sr_call\n"
	".type sr_call, @function\n"
	"sr_call:\n"
	".intel_syntax noprefix\n"
	"	push rbx\n"
	"	push rbp\n"
	"	push r12\n"
	"	push r13\n"
	"	push r14\n"
	"	push r15\n"
	"	push rsi\n"            /* [rsp + 8] after the push below: out */
	"	mov rax, [rdi + 96]\n"
	"	mov rbx, [rdi + 0]\n"
	"	mov rbp, [rdi + 8]\n"
	"	mov rdx, [rdi + 16]\n"
	"	mov rsi, [rdi + 24]\n"
	"	mov r8, [rdi + 40]\n"
	"	mov r9, [rdi + 48]\n"
	"	mov r10, [rdi + 56]\n"
	"	mov r12, [rdi + 64]\n"
	"	mov r13, [rdi + 72]\n"
	"	mov r14, [rdi + 80]\n"
	"	mov r15, [rdi + 88]\n"
	"	mov rdi, [rdi + 32]\n"
	"	syscall\n"
	"	push rdi\n"
	"	mov rdi, [rsp + 8]\n"
	"	mov [rdi + 0], rbx\n"
	"	mov [rdi + 8], rbp\n"
	"	mov [rdi + 16], rdx\n"
	"	mov [rdi + 24], rsi\n"
	"	mov [rdi + 40], r8\n"
	"	mov [rdi + 48], r9\n"
	"	mov [rdi + 56], r10\n"
	"	mov [rdi + 64], r12\n"
	"	mov [rdi + 72], r13\n"
	"	mov [rdi + 80], r14\n"
	"	mov [rdi + 88], r15\n"
	"	mov [rdi + 96], rax\n"
	"	pop rax\n"
	"	mov [rdi + 32], rax\n"
	"	add rsp, 8\n"
	"	pop r15\n"
	"	pop r14\n"
	"	pop r13\n"
	"	pop r12\n"
	"	pop rbp\n"
	"	pop rbx\n"
	"	ret\n"
	".att_syntax prefix\n"
	".size sr_call, . - sr_call\n");

static const char *names[] = { "rbx", "rbp", "rdx", "rsi", "rdi", "r8", "r9", "r10",
			       "r12", "r13", "r14", "r15" };

/* Distinct values; the argument registers get the call's arguments where it has some. */
static struct regs pattern(uint64_t nr)
{
	struct regs r;
	uint64_t *w = (uint64_t *)&r;
	for (int i = 0; i < 12; i++)
		w[i] = 0x5a5a000000000000ull ^ ((uint64_t)(i + 1) << 40) ^ (0x1111ull * (i + 3));
	r.rax = nr;
	return r;
}

/* Compares every preserved register; writes the first difference into detail. */
static int same(const struct regs *in, const struct regs *out, char *detail, size_t len)
{
	const uint64_t *a = (const uint64_t *)in, *b = (const uint64_t *)out;
	for (int i = 0; i < 12; i++) {
		if (a[i] != b[i]) {
			snprintf(detail, len, "%s was %#llx, came back %#llx (rax %lld)", names[i],
				 (unsigned long long)a[i], (unsigned long long)b[i], (long long)out->rax);
			return 0;
		}
	}
	return 1;
}

static void check_call(const char *name, struct regs in, long want_rax)
{
	struct regs out;
	char detail[160] = "";
	memset(&out, 0, sizeof out);
	sr_call(&in, &out);
	if (!same(&in, &out, detail, sizeof detail))
		utest_fail(name, "%s", detail);
	else
		CHECKF(name, (long)out.rax == want_rax, "rax %lld, want %ld", (long long)out.rax, want_rax);
}

static volatile int hits;

/* Clobbers what C lets it (the caller-saved registers) and counts. */
static void on_usr1(int sig)
{
	(void)sig;
	__asm__ volatile("mov $-1, %%rdi; mov $-1, %%rsi; mov $-1, %%rdx; mov $-1, %%r8;"
			 "mov $-1, %%r9; mov $-1, %%r10; mov $-1, %%r11; mov $-1, %%rcx"
			 ::: "rdi", "rsi", "rdx", "r8", "r9", "r10", "r11", "rcx", "memory");
	hits++;
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);

	/* The fast path, many times (timer interrupts land in between). */
	{
		int bad = 0;
		char detail[160] = "";
		for (int i = 0; i < 20000 && !bad; i++) {
			struct regs in = pattern(SYS_getppid), out;
			in.rbx += (uint64_t)i;
			in.r15 -= (uint64_t)i;
			sr_call(&in, &out);
			if (!same(&in, &out, detail, sizeof detail) || (long)out.rax != getppid())
				bad = 1;
		}
		CHECKF("fast_path.getppid", !bad, "%s", detail);
	}

	/* The complete path: a call that takes the frame, and one that fails there. */
	{
		stack_t old;
		struct regs in = pattern(SYS_sigaltstack);
		in.rdi = 0;
		in.rsi = (uint64_t)&old;
		check_call("complete_path.sigaltstack", in, 0);

		in = pattern(SYS_execve);
		in.rdi = (uint64_t)"/nonexistent/t_sysregs";
		in.rsi = 0;
		in.rdx = 0;
		check_call("complete_path.execve_fails", in, -ENOENT);
	}

	/* Unimplemented numbers: an empty slot and one past the table. */
	check_call("complete_path.enosys", pattern(511), -ENOSYS);
	check_call("complete_path.past_table", pattern(100000), -ENOSYS);

	/* fork: the child's registers are the parent's (rax aside). */
	{
		struct regs in = pattern(SYS_fork), out;
		char detail[160] = "";
		sr_call(&in, &out);
		if (out.rax == 0)
			_exit(same(&in, &out, detail, sizeof detail) ? 0 : 1);
		int ok = same(&in, &out, detail, sizeof detail) && (long)out.rax > 0;
		int status = -1;
		if ((long)out.rax > 0)
			waitpid((pid_t)out.rax, &status, 0);
		CHECKF("fork.parent", ok, "%s", detail);
		CHECKF("fork.child", WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
	}

	/* A signal delivered on the way out of the call (kill to itself): the handler runs,
	 * clobbers registers, rt_sigreturn restores the state the call returned with. */
	{
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_usr1;
		sigaction(SIGUSR1, &sa, NULL);
		hits = 0;
		struct regs in = pattern(SYS_kill);
		in.rdi = (uint64_t)getpid();
		in.rsi = SIGUSR1;
		check_call("signal_on_return.kill", in, 0);
		CHECKF("signal_on_return.handled", hits == 1, "handler ran %d times", hits);
	}

	/* A blocking call interrupted by a signal: rt_sigsuspend (SIGUSR2 blocked until then, so
	 * the child's kill cannot come before the wait) returns EINTR after the handler. */
	{
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_usr1;
		sigaction(SIGUSR2, &sa, NULL);
		sigset_t block, none;
		sigemptyset(&block);
		sigaddset(&block, SIGUSR2);
		sigemptyset(&none);
		sigprocmask(SIG_BLOCK, &block, NULL);
		hits = 0;
		pid_t parent = getpid();
		pid_t child = fork();
		if (child == 0) {
			struct timespec ts = { 0, 20000000 };
			nanosleep(&ts, NULL);
			kill(parent, SIGUSR2);
			_exit(0);
		}
		struct regs in = pattern(SYS_rt_sigsuspend);
		in.rdi = (uint64_t)&none;
		in.rsi = 8;
		check_call("interrupted.rt_sigsuspend", in, -EINTR);
		CHECKF("interrupted.handled", hits == 1, "handler ran %d times", hits);
		sigprocmask(SIG_UNBLOCK, &block, NULL);
		waitpid(child, NULL, 0);
	}

	return utest_done();
}
