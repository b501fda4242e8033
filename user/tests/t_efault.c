/*
 * t_efault - acceptance check: every pointer-taking syscall given a bad user pointer fails with
 * EFAULT instead of crashing the kernel or the process.
 *
 * Pointer kinds (the case name is <syscall>.<kind>):
 *   null      NULL
 *   kernel    0xffff800000000000 (start of the kernel half)
 *   ktext     0xffffffff80000000 (kernel image)
 *   noncanon  0x0000800000000000 (first non-canonical address: a #GP, not a #PF, if touched)
 *   unmapped  a page that was mapped and then unmapped
 *   protnone  a PROT_NONE page
 *   rdonly    a read-only page (only for buffers the kernel writes)
 * Kinds Linux accepts for a given argument are left out with a comment (e.g. NULL for optional
 * outputs).  Raw syscall() is used throughout so libc neither checks nor dereferences pointers.
 */
#define UTEST_PROGRAM "t_efault"
#include "utest.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>

enum { K_NULL, K_KERNEL, K_KTEXT, K_NONCANON, K_UNMAPPED, K_PROTNONE, K_RDONLY, NKINDS };
static const char *const kind_name[NKINDS] = { "null", "kernel", "ktext", "noncanon",
					       "unmapped", "protnone", "rdonly" };
static void *kind_ptr[NKINDS];

#define IN (((1 << NKINDS) - 1) & ~(1 << K_RDONLY)) /* pointers the kernel reads */
#define OUT ((1 << NKINDS) - 1)                      /* pointers the kernel writes */
#define NONULL(m) ((m) & ~(1 << K_NULL))             /* NULL is valid for this argument */

static int calls;

static void efault_case(const char *sys, int kind, long r, int err)
{
	char name[64];
	snprintf(name, sizeof name, "%s.%s", sys, kind_name[kind]);
	calls++;
	utest_check(name, r == -1 && err == EFAULT, "%s(%p): expected -1 EFAULT, got %ld errno %s/%d",
		    sys, kind_ptr[kind], r, utest_errname(err), err);
}

/* EF(name, kinds, expr): evaluate expr once per kind with P bound to that kind's pointer. */
#define EF(sys, kinds, expr)                                                                   \
	for (int k_ = 0; k_ < NKINDS; k_++) {                                                      \
		if (!(((kinds) >> k_) & 1))                                                            \
			continue;                                                                      \
		void *P = kind_ptr[k_];                                                                \
		(void)P;                                                                               \
		errno = 0;                                                                             \
		long r_ = (long)(expr);                                                                \
		efault_case((sys), k_, r_, errno);                                                     \
	}

static void setup_kinds(void)
{
	kind_ptr[K_NULL] = NULL;
	kind_ptr[K_KERNEL] = (void *)0xffff800000000000UL;
	kind_ptr[K_KTEXT] = (void *)0xffffffff80000000UL;
	kind_ptr[K_NONCANON] = (void *)0x0000800000000000UL;
	char *pages = mmap(NULL, 3 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pages == MAP_FAILED) {
		utest_fail("setup", "mmap failed errno %d", errno);
		exit(utest_done());
	}
	munmap(pages, 4096);
	mprotect(pages + 4096, 4096, PROT_NONE);
	kind_ptr[K_UNMAPPED] = pages;
	kind_ptr[K_PROTNONE] = pages + 4096;
	kind_ptr[K_RDONLY] = pages + 2 * 4096;
}

/* A child that has exited but is not reaped yet; returns its pid. */
static pid_t make_zombie(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	siginfo_t si;
	waitid(P_PID, pid, &si, WEXITED | WNOWAIT);
	return pid;
}

/* execve in a child, so a kernel that wrongly succeeds cannot replace this test.  Returns -1
 * with the child's execve errno, or the exit status of whatever the child became. */
static long exec_in_child(const void *path, void *argv)
{
	pid_t pid = fork();
	if (pid == 0) {
		syscall(SYS_execve, path, argv, (char *[]){ NULL });
		_exit(100 + errno);
	}
	int st = utest_wait(pid);
	if (WIFEXITED(st) && WEXITSTATUS(st) >= 100) {
		errno = WEXITSTATUS(st) - 100;
		return -1;
	}
	errno = 0;
	return 1000 + st;
}

static void check_io(void)
{
	int fd = open(utest_path("/init"), O_RDONLY);
	if (!CHECKF("open_init", fd >= 0, "open %s: errno %d", utest_path("/init"), errno))
		return;
	EF("read", OUT, (lseek(fd, 0, SEEK_SET), syscall(SYS_read, fd, P, 16)));
	EF("pread64", OUT, syscall(SYS_pread64, fd, P, 16, 0));
	EF("write", IN, syscall(SYS_write, 1, P, 16));
	EF("readv", IN, syscall(SYS_readv, fd, P, 1));
	EF("writev", IN, syscall(SYS_writev, 1, P, 1));
	EF("readv_base", OUT, (lseek(fd, 0, SEEK_SET),
			       syscall(SYS_readv, fd, &(struct iovec){ P, 16 }, 1)));
	EF("writev_base", IN, syscall(SYS_writev, 1, &(struct iovec){ P, 16 }, 1));
	EF("fstat", OUT, syscall(SYS_fstat, fd, P));
	close(fd);

	int dfd = open("/", O_RDONLY | O_DIRECTORY);
	if (dfd >= 0) {
		EF("getdents64", OUT, (lseek(dfd, 0, SEEK_SET), syscall(SYS_getdents64, dfd, P, 4096)));
		close(dfd);
	}
	EF("pipe", OUT, syscall(SYS_pipe, P));
	EF("pipe2", OUT, syscall(SYS_pipe2, P, 0));
}

static void check_paths(void)
{
	struct stat st;
	char buf[64];
	EF("open", IN, syscall(SYS_open, P, O_RDONLY));
	EF("openat", IN, syscall(SYS_openat, AT_FDCWD, P, O_RDONLY));
	EF("stat.path", IN, syscall(SYS_stat, P, &st));
	EF("lstat.path", IN, syscall(SYS_lstat, P, &st));
	EF("newfstatat.path", IN, syscall(SYS_newfstatat, AT_FDCWD, P, &st, 0));
	EF("stat.buf", OUT, syscall(SYS_stat, "/", P));
	EF("lstat.buf", OUT, syscall(SYS_lstat, "/", P));
	EF("newfstatat.buf", OUT, syscall(SYS_newfstatat, AT_FDCWD, "/", P, 0));
	EF("access", IN, syscall(SYS_access, P, F_OK));
	EF("chdir", IN, syscall(SYS_chdir, P));
	EF("mkdir", IN, syscall(SYS_mkdir, P, 0755));
	EF("unlink", IN, syscall(SYS_unlink, P));
	EF("rmdir", IN, syscall(SYS_rmdir, P));
	EF("readlink.path", IN, syscall(SYS_readlink, P, buf, sizeof buf));
	EF("getcwd", OUT, syscall(SYS_getcwd, P, 4096));
	EF("execve.path", IN, exec_in_child(P, (char *[]){ "x", NULL }));
	/* A NULL argv is accepted by Linux (it substitutes an empty one). */
	EF("execve.argv", NONULL(IN), exec_in_child(utest_path("/bin/echoargs"), P));
}

static void check_info(void)
{
	EF("uname", OUT, syscall(SYS_uname, P));
	EF("sysinfo", OUT, syscall(SYS_sysinfo, P));
	EF("getrandom", OUT, syscall(SYS_getrandom, P, 16, 0));
	EF("clock_gettime", OUT, syscall(SYS_clock_gettime, CLOCK_MONOTONIC, P));
	/* clock_getres, gettimeofday, times and time accept NULL (nothing is stored). */
	EF("clock_getres", NONULL(OUT), syscall(SYS_clock_getres, CLOCK_MONOTONIC, P));
	EF("gettimeofday", NONULL(OUT), syscall(SYS_gettimeofday, P, NULL));
	EF("times", NONULL(OUT), syscall(SYS_times, P));
	EF("time", NONULL(OUT), syscall(SYS_time, P));
	EF("nanosleep", IN, syscall(SYS_nanosleep, P, NULL));
	EF("clock_nanosleep", IN, syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, P, NULL));
	EF("getrlimit", OUT, syscall(SYS_getrlimit, RLIMIT_NOFILE, P));
	EF("setrlimit", IN, syscall(SYS_setrlimit, RLIMIT_NOFILE, P));
	/* prlimit64: a NULL new limit means "only read", a NULL old one "do not report". */
	EF("prlimit64.new", NONULL(IN), syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, P, NULL));
	EF("prlimit64.old", NONULL(OUT), syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, P));
	uid_t u;
	EF("getresuid", OUT, syscall(SYS_getresuid, P, &u, &u));
	EF("getresgid", OUT, syscall(SYS_getresgid, &u, &u, P));
	EF("sched_getaffinity", OUT, syscall(SYS_sched_getaffinity, 0, 128, P));
	EF("arch_prctl.get_fs", OUT, syscall(SYS_arch_prctl, 0x1003 /* ARCH_GET_FS */, P));
	EF("futex.wait", IN, syscall(SYS_futex, P, 0 /* FUTEX_WAIT */, 0, NULL, NULL, 0));
	EF("futex.wait_private", IN, syscall(SYS_futex, P, 128 /* FUTEX_WAIT_PRIVATE */, 0, NULL,
					     NULL, 0));
	EF("futex.timeout", NONULL(IN), (syscall(SYS_futex, &calls, 0, calls, P, NULL, 0)));
}

static void check_signals(void)
{
	/* NULL act / NULL oldact / NULL set / NULL old set are valid queries. */
	EF("rt_sigaction.act", NONULL(IN), syscall(SYS_rt_sigaction, SIGUSR1, P, NULL, 8));
	EF("rt_sigaction.oldact", NONULL(OUT), syscall(SYS_rt_sigaction, SIGUSR1, NULL, P, 8));
	EF("rt_sigprocmask.set", NONULL(IN), syscall(SYS_rt_sigprocmask, SIG_BLOCK, P, NULL, 8));
	EF("rt_sigprocmask.oldset", NONULL(OUT), syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, P, 8));
	EF("rt_sigpending", OUT, syscall(SYS_rt_sigpending, P, 8));
	EF("sigaltstack.ss", NONULL(IN), syscall(SYS_sigaltstack, P, NULL));
	EF("sigaltstack.oldss", NONULL(OUT), syscall(SYS_sigaltstack, NULL, P));
	struct timespec zero = { 0, 0 };
	EF("rt_sigtimedwait.set", IN, syscall(SYS_rt_sigtimedwait, P, NULL, &zero, 8));

	/* wait4 reaps the zombie before storing the status: one zombie per case.  NULL status and
	 * rusage pointers mean "do not store". */
	EF("wait4.status", NONULL(OUT), ({
		   pid_t z_ = make_zombie();
		   long r2_ = syscall(SYS_wait4, z_, P, 0, NULL);
		   int e2_ = errno;
		   waitpid(z_, NULL, WNOHANG);
		   errno = e2_;
		   r2_;
	   }));
	EF("wait4.rusage", NONULL(OUT), ({
		   pid_t z_ = make_zombie();
		   long r2_ = syscall(SYS_wait4, z_, NULL, 0, P);
		   int e2_ = errno;
		   waitpid(z_, NULL, WNOHANG);
		   errno = e2_;
		   r2_;
	   }));
	/* waitid with a NULL infop is accepted by Linux. */
	EF("waitid.infop", NONULL(OUT), ({
		   pid_t z_ = make_zombie();
		   long r2_ = syscall(SYS_waitid, P_PID, z_, P, WEXITED, NULL);
		   int e2_ = errno;
		   waitpid(z_, NULL, WNOHANG);
		   errno = e2_;
		   r2_;
	   }));
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	setup_kinds();
	check_io();
	check_paths();
	check_info();
	check_signals();

	/* Still alive, and the process state is intact. */
	struct timespec ts;
	CHECKF("alive", getpid() > 0 && clock_gettime(CLOCK_MONOTONIC, &ts) == 0, "after %d calls",
	       calls);
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	CHECK("mask_unchanged", !sigismember(&cur, SIGUSR1));
	utest_printf("# t_efault: %d bad-pointer calls made, the kernel is still up\n", calls);
	return utest_done();
}
