/*
 * args.h - the fuzzer's argument generators (part of fuzz.c, included once): the worker's PRNG,
 * raw system-call stubs, its scratch region (valid, read-only and PROT_NONE pages), one
 * generator per argument type of systab.h, the worker's fixed fds, FUZZ_SKIP, and `confine`,
 * which keeps the calls the worker must survive inside its own scratch region and family.
 */
#ifndef FUZZ_ARGS_H
#define FUZZ_ARGS_H

static uint64_t rs;
static uint64_t rnd(void)
{
	/* xorshift64* */
	rs ^= rs >> 12;
	rs ^= rs << 25;
	rs ^= rs >> 27;
	return rs * 0x2545F4914F6CDD1DULL;
}
#define PICK(arr) ((arr)[rnd() % (sizeof(arr) / sizeof((arr)[0]))])

static inline long rsys(long n, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

/* fork/vfork/clone/clone3: the child (rax == 0) exits at once, touching no memory. */
long rclone(long nr, long a, long b, long c, long d, long e);
__asm__(".text\n.globl rclone\n.type rclone,@function\nrclone:\n"
	"\tmov %rdi, %rax\n\tmov %rsi, %rdi\n\tmov %rdx, %rsi\n\tmov %rcx, %rdx\n"
	"\tmov %r8, %r10\n\tmov %r9, %r8\n\tsyscall\n\ttest %rax, %rax\n\tjnz 1f\n"
	"\tmov $60, %eax\n\txor %edi, %edi\n\tsyscall\n\tud2\n1:\tret\n");

/* The restorer of the handlers the fuzzer installs. */
void fuzz_restorer(void);
__asm__(".text\n.globl fuzz_restorer\n.type fuzz_restorer,@function\nfuzz_restorer:\n"
	"\tmov $15, %eax\n\tsyscall\n\tud2\n");

static void on_signal(int sig)
{
	(void)sig;
}

static int is_fault_signal(long sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP || sig == SIGSYS;
}

static unsigned char *scratch; /* SCRATCH_PAGES pages between two PROT_NONE guard pages */
#define RO_PAGE (scratch + 8 * PAGE)
#define NONE_PAGE (scratch + 9 * PAGE)
#define SLOT_TS (scratch + 0 * PAGE)     /* timespecs */
#define SLOT_IOV (scratch + 1 * PAGE)    /* iovec arrays */
#define SLOT_SIGACT (scratch + 2 * PAGE) /* struct sigaction */
#define SLOT_PATH (scratch + 3 * PAGE)   /* path strings */
#define SLOT_CLONE (scratch + 4 * PAGE)  /* clone_args */
#define DATA_FIRST 10                    /* pages 10.. hold random data */

static int my_index, my_uid;
static pid_t my_pid, last_child;
static char my_dir[64];

static void restore_scratch(void)
{
	void *m = mmap(scratch, SCRATCH_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (m != scratch)
		_exit(90);
	for (size_t i = 0; i < SCRATCH_PAGES * PAGE / 8; i += 1 + rnd() % 61)
		((uint64_t *)scratch)[i] = rnd();
	mprotect(RO_PAGE, PAGE, PROT_READ);
	mprotect(NONE_PAGE, PAGE, PROT_NONE);
}

static const char *const paths[] = {
	"/", "/proc", "/proc/self/maps", "/proc/self/status", "/proc/meminfo", "/proc/1/status",
	"/dev/null", "/dev/console", "/bin/true", "/nonexistent", "", ".", "..", "/tmp",
	"/proc/self/fd/0", "/etc/passwd",
};

static const char *const root_paths[] = {
	"/proc", "/proc/self/maps", "/proc/self/status", "/proc/meminfo", "/proc/1/status", "/nonexistent", "",
	".", "..", "/proc/self/fd/0", "/proc/self",
};

/* A path argument: a scratch file or directory, a system path, or a bad pointer. */
static long gen_path(int scratch_only)
{
	char *buf = (char *)SLOT_PATH + (rnd() % 4) * 512;
	switch (rnd() % (scratch_only ? 3 : 8)) {
	case 0:
	case 1:
	case 2: {
		static const char *const leaf[] = { "a", "b", "d", "d/e", "d/e/f", "l", "fifo", "a/x" };
		snprintf(buf, 512, "%s/%s", my_dir, PICK(leaf));
		return (long)buf;
	}
	case 3:
	case 4: /* root workers keep off the system's files (they could delete /bin) */
		snprintf(buf, 512, "%s", my_uid ? PICK(paths) : PICK(root_paths));
		return (long)buf;
	case 5: { /* long or odd names */
		size_t n = rnd() % 511;
		for (size_t i = 0; i < n; i++)
			buf[i] = (char)(rnd() % 3 == 0 ? '/' : 'a' + rnd() % 26);
		buf[n] = 0;
		return (long)buf;
	}
	case 6: /* unterminated, running into the read-only page and on to the PROT_NONE one */
		memset(RO_PAGE - 64, 'z', 64);
		return (long)(RO_PAGE - 64);
	default: {
		static const long bad[] = { 0, 1, 0xffff800000000000L, 0x0000800000000000L, -4096L };
		return PICK(bad);
	}
	}
}

static long gen_ptr(int writable)
{
	switch (rnd() % 12) {
	case 0:
		return 0;
	case 1:
		return (long)(RO_PAGE + rnd() % PAGE);
	case 2:
		return (long)(NONE_PAGE + rnd() % PAGE);
	case 3:
		return (long)(RO_PAGE - 1 - rnd() % 16); /* straddles into the read-only page */
	case 4: {
		static const long bad[] = { 0xffff800000000000L, (long)0xffffffff80000000UL, (long)0xffffff0000001000UL,
					    0x0000800000000000L, (long)0x8000000000000000UL, 0x1000, 0x10000, -1L,
					    0x00007ffffffffffcL };
		long b = PICK(bad);
		return writable && b == 0x00007ffffffffffcL ? 0x1000 : b;
	}
	default:
		return (long)(scratch + DATA_FIRST * PAGE + rnd() % ((SCRATCH_PAGES - DATA_FIRST) * PAGE));
	}
}

static long gen_size(void)
{
	static const long sizes[] = { 0, 1, 2, 8, 16, 64, 4095, 4096, 4097, 8192, 65536, 1L << 20, 1L << 40,
				      -1L, 0x7fffffffL, 0x80000000L };
	return rnd() % 4 == 0 ? (long)(rnd() % 8192) : PICK(sizes);
}

static long gen_fd(void)
{
	static const long fds[] = { 0, 1, 2, 10, 11, 12, 13, 14, 15, 16, 17, 3, 200, 1023, 4096, -1, -100 /* AT_FDCWD */,
				    0x7fffffffL, (long)0x80000000UL };
	return rnd() % 8 == 0 ? (long)(rnd() % 64) : PICK(fds);
}

static long gen_int(void)
{
	static const long v[] = { 0, 1, 2, 3, 4, -1, 16, 255 };
	return rnd() % 3 == 0 ? (long)(rnd() % 32) : PICK(v);
}

static long gen_any_int(void)
{
	static const long v[] = { 0, 1, -1, 0x7fffffffL, (long)0xffffffff80000000UL, 0x7fffffffffffffffL,
				  (long)0x8000000000000000UL, 4096, 0x80000000L };
	switch (rnd() % 3) {
	case 0:
		return (long)rnd();
	case 1:
		return (long)(rnd() & 0xffffffff);
	default:
		return PICK(v);
	}
}

static long gen_flags(void)
{
	switch (rnd() % 4) {
	case 0:
		return 0;
	case 1:
		return (long)(rnd() & 0xfff);
	case 2:
		return (long)(1UL << (rnd() % 64));
	default:
		return (long)rnd();
	}
}

/* A pid of the worker's own family only (never -1, 1 or the supervisor). */
static long gen_pid(void)
{
	long v[] = { 0, my_pid, my_pid, last_child > 0 ? last_child : my_pid, -(long)my_pid, 99999, -99999,
		     (long)0x80000000UL, 0x7fffffff, (long)(int)0x80000000 };
	return PICK(v);
}

static long gen_sig(void)
{
	static const long s[] = { 0, SIGUSR1, SIGUSR2, SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SIGKILL, SIGSEGV,
				  SIGPIPE, SIGALRM, SIGWINCH, 32, 33, 64, 65, -1 };
	return rnd() % 3 == 0 ? (long)(rnd() % 66) : PICK(s);
}

static long gen_uid(void)
{
	static const long u[] = { 0, 1000, 65534, -1, 1 };
	return rnd() % 5 == 0 ? (long)(rnd() & 0xffffffff) : PICK(u);
}

static long gen_timespec(void)
{
	switch (rnd() % 8) {
	case 0:
		return 0;
	case 1:
		return gen_ptr(0);
	default: {
		struct timespec *ts = (struct timespec *)SLOT_TS + rnd() % 8;
		static const long nsec[] = { 0, 1, 1000000, 5000000, 999999999, 1000000000, -1 };
		ts->tv_sec = rnd() % 16 == 0 ? (long)rnd() : 0;
		ts->tv_nsec = PICK(nsec);
		return (long)ts;
	}
	}
}

static long gen_iov(void)
{
	if (rnd() % 6 == 0)
		return gen_ptr(0);
	struct iovec *iov = (struct iovec *)SLOT_IOV;
	for (int i = 0; i < 8; i++) {
		iov[i].iov_base = (void *)gen_ptr(1);
		iov[i].iov_len = (size_t)(rnd() % 3 == 0 ? gen_size() : (long)(rnd() % 512));
	}
	return (long)iov;
}

/* An address for memory-management calls: in the scratch region (page-aligned or not), or one no
 * mapping can have (NULL, kernel, non-canonical).  Never the worker's own image or stack. */
static long gen_addr(void)
{
	switch (rnd() % 8) {
	case 0:
		return 0;
	case 1:
		return rnd() % 2 ? (long)0xffff800000000000UL : 0x0000800000000000L;
	case 2:
		return (long)(scratch + DATA_FIRST * PAGE + rnd() % ((SCRATCH_PAGES - DATA_FIRST) * PAGE));
	default:
		return (long)(scratch + (DATA_FIRST + rnd() % (SCRATCH_PAGES - DATA_FIRST)) * PAGE);
	}
}

/* A length for a call on [addr, addr+len): confined to the scratch region when addr is in it. */
static long confine_len(long addr, long len)
{
	long lo = (long)(scratch + DATA_FIRST * PAGE), hi = (long)(scratch + SCRATCH_PAGES * PAGE);
	if (addr == 0 && (unsigned long)len < (1UL << 62) && len > 0x10000)
		return 0x10000; /* [0, len) would reach the worker's own image */
	if (addr < lo || addr >= hi)
		return len;
	if ((unsigned long)len >= (1UL << 62))
		return len; /* wraps around: must be refused */
	if (len > hi - addr)
		return (hi - addr) & ~(long)(PAGE - 1);
	return len;
}

static long gen(char t)
{
	switch (t) {
	case 'f': return gen_fd();
	case 'p': return gen_ptr(0);
	case 'o': return gen_ptr(1);
	case 's': return gen_path(0);
	case 'd': return gen_path(1);
	case 'n': return gen_size();
	case 'F': return gen_flags();
	case 'i': return gen_int();
	case 'I': return gen_any_int();
	case 'P': return gen_pid();
	case 'S': return gen_sig();
	case 'm': return (long)(rnd() % 3 == 0 ? rnd() : rnd() & 0177777);
	case 'u': return gen_uid();
	case 'c': return rnd() % 4 == 0 ? (long)(int)rnd() : (long)(rnd() % 12);
	case 't': return gen_timespec();
	case 'T': return rnd() % 4 == 0 ? 0 : (long)(rnd() % 20);
	case 'v': return gen_iov();
	case 'a': return gen_addr();
	case '0': return 0;
	default:
		switch (rnd() % 5) {
		case 0: return gen_fd();
		case 1: return gen_ptr(1);
		case 2: return gen_size();
		case 3: return gen_int();
		default: return gen_any_int();
		}
	}
}

/* Whether the path argument `arg` (a pointer the fuzzer made, maybe bad) resolves inside the
 * worker's scratch directory. */
static int inside_my_dir(long arg)
{
	char resolved[PATH_MAX];
	size_t n = strlen(my_dir);
	if ((unsigned long)arg < 4096 || (unsigned long)arg >= 0x800000000000UL)
		return 1; /* a bad pointer: the kernel answers EFAULT */
	if (!realpath((const char *)arg, resolved))
		return 0;
	return strncmp(resolved, my_dir, n) == 0 && (resolved[n] == 0 || resolved[n] == '/');
}

/* Adjusts the arguments of calls the worker must survive; returns 0 to skip the call. */
static int confine(long nr, long *a)
{
	switch (nr) {
	case SYS_mmap:
		a[1] = rnd() % 8 == 0 ? gen_size() : (long)((1 + rnd() % 16) * PAGE);
		if (a[3] & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
			a[0] = gen_addr();
			a[1] = confine_len(a[0], a[1]);
		}
		a[2] &= 0xf; /* PROT_* (and a few unknown bits) */
		if (rnd() % 2)
			a[3] = (long)((rnd() % 2 ? MAP_PRIVATE : MAP_SHARED) | MAP_ANONYMOUS | (rnd() % 4 == 0 ? MAP_FIXED : 0));
		if (a[3] & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
			a[0] = gen_addr();
			a[1] = confine_len(a[0], a[1]);
		}
		if (a[3] & MAP_POPULATE && (unsigned long)a[1] > (16UL << 20))
			a[1] = 16 << 20;
		return 1;
	case SYS_mprotect:
	case SYS_munmap:
	case SYS_madvise:
	case SYS_msync:
	case SYS_mlock:
	case SYS_munlock:
	case 216: /* remap_file_pages */
	case 237: /* mbind */
	case 325: /* mlock2 */
	case 329: /* pkey_mprotect */
	case 450: /* set_mempolicy_home_node */
	case 453: /* map_shadow_stack */
	case 462: /* mseal */
		a[1] = confine_len(a[0], a[1]);
		return 1;
	case SYS_mremap:
		a[1] = confine_len(a[0], a[1]);
		if (a[3] & MREMAP_FIXED) {
			a[4] = gen_addr();
			a[2] = confine_len(a[4], a[2]);
		}
		return 1;
	case SYS_brk:
		if (rnd() % 2)
			a[0] = rsys(SYS_brk, 0, 0, 0, 0, 0, 0) + (long)((rnd() % 64) * PAGE) - (long)(8 * PAGE);
		return 1;
	case SYS_rt_sigaction: {
		struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } *sa = (void *)SLOT_SIGACT;
		void *handlers[] = { SIG_DFL, SIG_IGN, on_signal, on_signal };
		sa->handler = is_fault_signal(a[0]) ? SIG_DFL : PICK(handlers);
		sa->flags = (unsigned long)(rnd() & 0x1c000005UL) | 0x04000000UL; /* SA_RESTORER */
		sa->restorer = fuzz_restorer;
		sa->mask = rnd();
		if (rnd() % 4)
			a[1] = (long)sa;
		if (rnd() % 8)
			a[3] = 8;
		return 1;
	}
	case SYS_rt_sigreturn:
		return rnd() % 64 == 0; /* garbage frame: the worker dies (the kernel must not) */
	case SYS_exit:
	case SYS_exit_group:
		return rnd() % 64 == 0;
	case SYS_execve:
	case 322: /* execveat */
		return rnd() % 32 == 0;
	case SYS_arch_prctl:
		if (a[0] == 0x1002) /* ARCH_SET_FS would break the C library's TLS */
			a[0] = 0x1003;
		return 1;
	case SYS_ptrace:
		/* PTRACE_TRACEME would hand the worker to the supervisor, which never resumes a
		 * ptrace stop (the worker would sit in its first signal stop until killed). */
		if (a[0] == 0)
			a[0] = 2;
		return 1;
	case SYS_reboot:
		if (a[0] == (long)0xfee1deadUL)
			a[0] = 0;
		return 1;
	case SYS_setpgid:
		a[1] = rnd() % 2 ? 0 : my_pid; /* never into the supervisor's group */
		return 1;
	case SYS_rt_sigprocmask:
	case SYS_rt_sigsuspend:
	case SYS_rt_sigtimedwait:
		if (rnd() % 4)
			a[nr == SYS_rt_sigprocmask ? 3 : nr == SYS_rt_sigtimedwait ? 3 : 1] = 8;
		return 1;
	case SYS_close_range:
		if (rnd() % 2)
			a[0] = 3 + (long)(rnd() % 64); /* keep 0-2 (/dev/null) mostly */
		return 1;
	case SYS_mount:
	case SYS_umount2:
	case SYS_chroot:
	case SYS_pivot_root:
		/* Scratch paths may be (or pass through) symlinks the worker made to any path, and
		 * these calls follow them: a root worker once mounted a tmpfs over /proc that way,
		 * hiding it from every process (Linux would do the same). Only paths that still
		 * resolve inside the worker's directory are used. */
		return inside_my_dir(nr == SYS_mount ? a[1] : a[0]) &&
		       (nr != SYS_pivot_root || inside_my_dir(a[1]));
	default:
		return 1;
	}
}

/* The fds 10..17 every worker starts from (reopened now and then). */
static void open_fds(void)
{
	int p[2];
	char path[96];
	snprintf(path, sizeof path, "%s/file", my_dir);
	int fds[8] = { open("/dev/null", O_RDWR), open(path, O_RDWR | O_CREAT, 0644), -1, -1,
		       (int)rsys(SYS_eventfd2, 1, 0, 0, 0, 0, 0), (int)rsys(SYS_epoll_create1, 0, 0, 0, 0, 0, 0),
		       open(my_dir, O_RDONLY | O_DIRECTORY), open("/proc/self/status", O_RDONLY) };
	if (pipe2(p, O_NONBLOCK) == 0) {
		fds[2] = p[0];
		fds[3] = p[1];
	}
	for (int i = 0; i < 8; i++) {
		if (fds[i] >= 0 && fds[i] != 10 + i) {
			dup2(fds[i], 10 + i);
			close(fds[i]);
		}
	}
}

/* FUZZ_SKIP=n,n,...: numbers never called (triage of a finding). */
static unsigned char skip[SYS_MAX];
static void parse_skip(void)
{
	const char *v = getenv("FUZZ_SKIP");
	while (v && *v) {
		long n = strtol(v, (char **)&v, 10);
		if (n >= 0 && n < SYS_MAX)
			skip[n] = 1;
		while (*v && (*v < '0' || *v > '9'))
			v++;
	}
}

#endif
