/*
 * t_badelf - execve of hand-made hostile ELF files (written to /tmp at run time): an entry point
 * outside the user half (ET_EXEC) or one the load bias overflows (ET_DYN, e_entry = ~0), and
 * PT_LOAD segments below the mmap floor (page zero, 0x1000) for an unprivileged user. The kernel
 * must survive each, and the program must never start.
 *
 * Observable results: a segment below mmap_min_addr kills the process with SIGSEGV on both
 * Linux (its mapping fails past the point of no return) and Exo-OS. A bad entry point is
 * ENOEXEC on Exo-OS (refused while the caller still runs); Linux kills the process with SIGSEGV
 * (BAD_ADDR after the point of no return, or a fault at the wrapped entry), which the test
 * accepts only on Linux. Two valid files built the same way check the builder itself.
 */
#define UTEST_PROGRAM "t_badelf"
#include "utest.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#define ET_EXEC 2
#define ET_DYN 3
#define BASE_EXEC 0x400000ull
/* Where the code starts in the file: right after the ELF header and one program header. */
#define CODE_OFF 120

/* mov edi, 42; mov eax, 60 (exit); syscall */
static const uint8_t exit42[] = { 0xbf, 42, 0, 0, 0, 0xb8, 60, 0, 0, 0, 0x0f, 0x05 };

static int on_exo;

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* A one-segment ELF: the whole file (headers + exit42) mapped R+X at vaddr. */
static size_t build(uint8_t *f, uint16_t type, uint64_t vaddr, uint64_t entry)
{
	size_t len = CODE_OFF + sizeof exit42;
	memset(f, 0, len);
	memcpy(f, "\x7f" "ELF", 4);
	f[4] = 2; /* ELFCLASS64 */
	f[5] = 1; /* little-endian */
	f[6] = 1; /* EV_CURRENT */
	put16(f + 16, type);
	put16(f + 18, 62); /* EM_X86_64 */
	put32(f + 20, 1);
	put64(f + 24, entry);
	put64(f + 32, 64); /* e_phoff */
	put16(f + 52, 64);
	put16(f + 54, 56);
	put16(f + 56, 1);
	uint8_t *ph = f + 64;
	put32(ph, 1);      /* PT_LOAD */
	put32(ph + 4, 5);  /* PF_R | PF_X */
	put64(ph + 8, 0);  /* p_offset */
	put64(ph + 16, vaddr);
	put64(ph + 24, vaddr);
	put64(ph + 32, len);
	put64(ph + 40, len);
	put64(ph + 48, 0x1000);
	memcpy(f + CODE_OFF, exit42, sizeof exit42);
	return len;
}

/* Writes the file, runs it in a child (as uid 1000 if `unprivileged`); returns the wait status.
 * A child whose execve fails exits with 100 + errno. */
static int run(const uint8_t *f, size_t len, int unprivileged)
{
	char path[64];
	snprintf(path, sizeof path, "/tmp/t_badelf.%d", (int)getpid());
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (fd < 0 || write(fd, f, len) != (ssize_t)len || close(fd) != 0)
		return -2000;
	chmod(path, 0755);
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit nocore = { 0, 0 };
		setrlimit(RLIMIT_CORE, &nocore);
		if (unprivileged && (setgid(1000) != 0 || setuid(1000) != 0))
			_exit(99);
		char *argv[] = { path, NULL }, *envp[] = { NULL };
		execve(path, argv, envp);
		_exit(100 + errno);
	}
	int st = utest_wait(pid);
	unlink(path);
	return st;
}

/* Exo-OS: ENOEXEC. Linux: ENOEXEC or death by SIGSEGV (never a started program). */
static void check_refused(const char *name, int st)
{
	int enoexec = WIFEXITED(st) && WEXITSTATUS(st) == 100 + ENOEXEC;
	int segv = WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV;
	CHECKF(name, enoexec || (!on_exo && segv), "expected ENOEXEC%s, got %s",
	       on_exo ? "" : " or SIGSEGV", utest_wstr(st));
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	struct utsname u;
	on_exo = uname(&u) == 0 && strstr(u.version, "Exo-OS") != NULL;
	static uint8_t f[4096];
	size_t len;

	len = build(f, ET_EXEC, BASE_EXEC, BASE_EXEC + CODE_OFF);
	utest_check_exit("valid.exec", run(f, len, 1), 42);
	len = build(f, ET_DYN, 0, CODE_OFF);
	utest_check_exit("valid.dyn", run(f, len, 1), 42);

	len = build(f, ET_DYN, 0, ~0ull);
	check_refused("entry.dyn_overflow", run(f, len, 0));
	len = build(f, ET_DYN, 0, 0x7fffffffffffull);
	check_refused("entry.dyn_beyond_user", run(f, len, 0));
	len = build(f, ET_EXEC, BASE_EXEC, 0x8000000000000000ull);
	check_refused("entry.exec_noncanonical", run(f, len, 0));
	len = build(f, ET_EXEC, BASE_EXEC, 0x800000000000ull);
	check_refused("entry.exec_user_end", run(f, len, 0));
	len = build(f, ET_EXEC, BASE_EXEC, 0xffffffff80000000ull);
	check_refused("entry.exec_kernel", run(f, len, 0));

	len = build(f, ET_EXEC, 0, CODE_OFF);
	utest_check_signaled("floor.page_zero", run(f, len, 1), SIGSEGV);
	/* Linux's floor is vm.mmap_min_addr (often 65536, 4096 on some hosts); Exo-OS's is 64 KiB. */
	unsigned long floor = 65536;
	FILE *mm = on_exo ? NULL : fopen("/proc/sys/vm/mmap_min_addr", "r");
	if (mm) {
		if (fscanf(mm, "%lu", &floor) != 1)
			floor = 65536;
		fclose(mm);
	}
	len = build(f, ET_EXEC, 0x1000, 0x1000 + CODE_OFF);
	if (floor > 0x1000)
		utest_check_signaled("floor.below_64k", run(f, len, 1), SIGSEGV);
	else
		utest_check_exit("floor.below_64k", run(f, len, 1), 42);
	len = build(f, ET_EXEC, 0x10000, 0x10000 + CODE_OFF);
	utest_check_exit("floor.at_64k", run(f, len, 1), 42);

	/* The kernel is still fine: a normal exec works. */
	len = build(f, ET_EXEC, BASE_EXEC, BASE_EXEC + CODE_OFF);
	utest_check_exit("after.valid", run(f, len, 0), 42);
	return utest_done();
}
