/*
 * t_cpustate - CPU state that the kernel loads from user-controlled values: the signal frame
 * restored by rt_sigreturn (MXCSR with reserved bits, a non-canonical RIP, privileged RFLAGS
 * bits) and a signal handler at a non-canonical address. Each forged state must end in SIGSEGV
 * for the process (Linux's badframe / faulting iret), never in a kernel fault, and legal values
 * must still be restored exactly. A user-set RFLAGS.AC survives interrupts and syscalls (the
 * kernel clears it only for itself; the ktests check that it does).
 */
#define UTEST_PROGRAM "t_cpustate"
#include "utest.h"

#include <sys/resource.h>
#include <ucontext.h>

#define FL_IOPL 0x3000ull
#define FL_NT 0x4000ull
#define FL_IF 0x200ull
#define FL_DF 0x400ull

/* What the SIGUSR1 handler forges in the frame it returns through. */
enum forge { MXCSR_ALL, MXCSR_RESERVED, MXCSR_VALID, RIP_HIGH, RIP_USER_END, RIP_KERNEL, FLAGS };
static volatile int forge;

/* The MXCSR field of the FXSAVE image (byte 24); MXCSR_MASK is at 28. */
static uint32_t *mxcsr_of(ucontext_t *uc) { return (uint32_t *)((char *)uc->uc_mcontext.fpregs + 24); }

static void on_usr1(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	(void)sig;
	(void)si;
	switch (forge) {
	case MXCSR_ALL:
		mxcsr_of(uc)[0] = 0xffffffff;
		mxcsr_of(uc)[1] = 0xffffffff; /* a forged MXCSR_MASK must not vouch for it */
		break;
	case MXCSR_RESERVED:
		mxcsr_of(uc)[0] = 0x1f80 | 0x10000;
		break;
	case MXCSR_VALID:
		mxcsr_of(uc)[0] = 0x1f80 | 0x6000 | 0x8000; /* round toward zero, flush to zero */
		break;
	case RIP_HIGH:
		uc->uc_mcontext.gregs[REG_RIP] = (long long)0x8000000000000000ull;
		break;
	case RIP_USER_END:
		uc->uc_mcontext.gregs[REG_RIP] = 0x800000000000ll;
		break;
	case RIP_KERNEL:
		uc->uc_mcontext.gregs[REG_RIP] = (long long)0xffffffff80001000ull;
		break;
	case FLAGS:
		uc->uc_mcontext.gregs[REG_EFL] |= (long long)(FL_IOPL | FL_NT | 0x20000 /* VM */);
		uc->uc_mcontext.gregs[REG_EFL] &= ~(long long)FL_IF;
		break;
	}
}

static void on_segv_exit7(int sig) { (void)sig; _exit(7); }

static uint32_t get_mxcsr(void)
{
	uint32_t v;
	__asm__ volatile("stmxcsr %0" : "=m"(v));
	return v;
}

static uint64_t get_flags(void)
{
	uint64_t f;
	__asm__ volatile("pushfq; popq %0" : "=r"(f));
	return f;
}

/* Child: install the handler (and optionally a SIGSEGV handler), forge, raise; then report. */
static int run(int what, int segv_handler)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit nocore = { 0, 0 };
		setrlimit(RLIMIT_CORE, &nocore);
		struct sigaction sa = { 0 };
		sa.sa_sigaction = on_usr1;
		sa.sa_flags = SA_SIGINFO;
		sigaction(SIGUSR1, &sa, NULL);
		if (segv_handler)
			signal(SIGSEGV, on_segv_exit7);
		forge = what;
		raise(SIGUSR1);
		if (what == MXCSR_VALID)
			_exit(get_mxcsr() == (0x1f80 | 0x6000 | 0x8000) ? 0 : 1);
		if (what == FLAGS) {
			uint64_t f = get_flags();
			_exit((f & (FL_IOPL | FL_NT)) == 0 && (f & FL_IF) ? 0 : 2);
		}
		_exit(3); /* the forged frame was accepted */
	}
	return utest_wait(pid);
}

/* Sets AC (a user program may), spins through timer interrupts, makes a syscall, and returns
 * the flags seen afterwards (AC cleared again before any C code: with CR0.AM an unaligned access
 * would raise #AC). The kernel clears AC for itself on every entry but must give the program
 * its own flags back. */
static uint64_t ac_round_trip(void)
{
	uint64_t after;
	__asm__ volatile("pushfq; orq $0x40000, (%%rsp); popfq\n"
			 "mov $5000000, %%ecx\n"
			 "1: pause; dec %%ecx; jnz 1b\n"
			 "mov $39, %%eax; syscall\n" /* getpid */
			 "pushfq; popq %0\n"
			 "pushfq; andq $~0x40000, (%%rsp); popfq\n"
			 : "=r"(after) : : "rax", "rcx", "r11", "memory", "cc");
	return after;
}

/* Child: a handler at a non-canonical address. */
static int run_bad_handler(unsigned long long addr)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit nocore = { 0, 0 };
		setrlimit(RLIMIT_CORE, &nocore);
		struct sigaction sa = { 0 };
		sa.sa_handler = (void (*)(int))(uintptr_t)addr;
		if (sigaction(SIGUSR1, &sa, NULL) != 0)
			_exit(4);
		raise(SIGUSR1);
		_exit(3);
	}
	return utest_wait(pid);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	utest_check_signaled("mxcsr.all_bits", run(MXCSR_ALL, 0), SIGSEGV);
	utest_check_signaled("mxcsr.reserved_bit", run(MXCSR_RESERVED, 0), SIGSEGV);
	utest_check_exit("mxcsr.valid_restored", run(MXCSR_VALID, 0), 0);
	utest_check_signaled("rip.noncanonical", run(RIP_HIGH, 0), SIGSEGV);
	utest_check_signaled("rip.user_end", run(RIP_USER_END, 0), SIGSEGV);
	utest_check_signaled("rip.kernel", run(RIP_KERNEL, 0), SIGSEGV);
	utest_check_exit("rip.noncanonical_handled", run(RIP_HIGH, 1), 7);
	utest_check_exit("flags.sanitized", run(FLAGS, 0), 0);
	utest_check_signaled("handler.noncanonical", run_bad_handler(0x8000000000000000ull), SIGSEGV);
	utest_check_signaled("handler.user_end", run_bad_handler(0x800000000000ull), SIGSEGV);
	uint64_t flags = ac_round_trip();
	CHECKF("ac.user_flag_kept", (flags & 0x40000) && (flags & FL_IF), "flags after %#llx",
	       (unsigned long long)flags);
	/* Still alive and well: a plain handler round trip. */
	utest_check_exit("after.valid", run(MXCSR_VALID, 0), 0);
	return utest_done();
}
