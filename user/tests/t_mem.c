/*
 * t_mem - address-space syscalls: brk, mmap (anonymous private/shared, fixed, error cases),
 * page-fault signals (si_addr, si_code), mprotect, munmap, mremap, madvise, demand paging and
 * copy-on-write across fork.
 */
#define UTEST_PROGRAM "t_mem"
#include "utest.h"

#include <setjmp.h>
#include <sys/mman.h>

#define PG 4096UL
#define MAP_ANON_PRIV (MAP_PRIVATE | MAP_ANONYMOUS)

static sigjmp_buf fault_jmp;
static volatile int fault_sig, fault_code;
static void *volatile fault_addr;

static void fault_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	fault_sig = sig;
	fault_code = si->si_code;
	fault_addr = si->si_addr;
	siglongjmp(fault_jmp, 1);
}

/* Touch one byte (read, or write when wr); returns 0 or the signal number it raised. */
static int probe(void *addr, int wr)
{
	fault_sig = 0;
	fault_code = 0;
	fault_addr = NULL;
	if (sigsetjmp(fault_jmp, 1) == 0) {
		volatile char *p = addr;
		if (wr)
			*p = 0x11;
		else
			(void)*p;
	}
	return fault_sig;
}

/* Expect a SIGSEGV with the given si_code at addr. */
static void expect_segv(const char *name, void *addr, int wr, int code)
{
	int sig = probe(addr, wr);
	CHECKF(name, sig == SIGSEGV && fault_addr == addr && fault_code == code,
	       "%s %p: expected SIGSEGV code %d addr %p, got sig %d code %d addr %p",
	       wr ? "write" : "read", addr, code, addr, sig, fault_code, fault_addr);
}

/* Raw mmap/mprotect for error cases: musl's wrappers round or reject some arguments themselves. */
#define RMMAP(a, l, p, f, fd, off) syscall(SYS_mmap, (a), (l), (p), (f), (fd), (off))
#define RMPROTECT(a, l, p) syscall(SYS_mprotect, (a), (l), (p))

static void *map(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_ANON_PRIV, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static int all_bytes(const void *p, size_t len, unsigned char v)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < len; i++)
		if (c[i] != v)
			return 0;
	return 1;
}

static void check_brk(void)
{
	unsigned long cur = syscall(SYS_brk, 0);
	CHECKF("brk.query", cur != 0 && cur != (unsigned long)-1, "brk(0)=%#lx", cur);
	unsigned long grown = syscall(SYS_brk, cur + 64 * 1024);
	if (!CHECKF("brk.grow", grown == cur + 64 * 1024, "brk(+64K)=%#lx expected %#lx", grown,
		    cur + 64 * 1024))
		return;
	unsigned long page = (cur + PG - 1) & ~(PG - 1);
	CHECK("brk.zeroed", all_bytes((void *)page, cur + 64 * 1024 - page, 0));
	memset((void *)cur, 0x77, 64 * 1024);
	CHECK("brk.usable", all_bytes((void *)cur, 64 * 1024, 0x77));
	CHECK_EQ("brk.shrink", syscall(SYS_brk, cur), cur);
	expect_segv("brk.shrunk_faults", (void *)(page + 32 * 1024), 0, SEGV_MAPERR);
	CHECK_EQ("brk.regrow", syscall(SYS_brk, cur + 64 * 1024), cur + 64 * 1024);
	CHECK("brk.regrow_zeroed", all_bytes((void *)page, cur + 64 * 1024 - page, 0));
	CHECK_EQ("brk.below_start", syscall(SYS_brk, 4096), cur + 64 * 1024);
	syscall(SYS_brk, cur);
}

static void check_mmap_basic(void)
{
	char *p = map(3 * PG, PROT_READ | PROT_WRITE);
	if (!CHECKF("mmap.anon", p != NULL && ((unsigned long)p & (PG - 1)) == 0, "mmap=%p", p))
		return;
	CHECK("mmap.anon_zeroed", all_bytes(p, 3 * PG, 0));
	memset(p, 0xab, 3 * PG);
	CHECK("mmap.anon_writable", all_bytes(p, 3 * PG, 0xab));

	/* MAP_FIXED over the middle page replaces it with a fresh zero page. */
	void *q = mmap(p + PG, PG, PROT_READ | PROT_WRITE, MAP_ANON_PRIV | MAP_FIXED, -1, 0);
	CHECK_EQ("mmap.fixed_replace", q, p + PG);
	CHECK("mmap.fixed_replaced_zero", all_bytes(p + PG, PG, 0));
	CHECK("mmap.fixed_neighbours", all_bytes(p, PG, 0xab) && all_bytes(p + 2 * PG, PG, 0xab));
	CHECK_SYSERR("mmap.fixed_noreplace", RMMAP(p, PG, PROT_READ, MAP_ANON_PRIV | MAP_FIXED_NOREPLACE,
					       -1, 0), EEXIST);

	CHECK_SYSERR("mmap.len0", RMMAP(NULL, 0, PROT_READ, MAP_ANON_PRIV, -1, 0), EINVAL);
	CHECK_SYSERR("mmap.fixed_unaligned", RMMAP(p + 1, PG, PROT_READ, MAP_ANON_PRIV | MAP_FIXED, -1, 0),
		  EINVAL);
	CHECK_SYSERR("mmap.shared_and_private",
		  RMMAP(NULL, PG, PROT_READ, MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL);
	CHECK_SYSERR("mmap.no_type", RMMAP(NULL, PG, PROT_READ, MAP_ANONYMOUS, -1, 0), EINVAL);
	CHECK_SYSERR("mmap.bad_fd", RMMAP(NULL, PG, PROT_READ, MAP_PRIVATE, 999, 0), EBADF);
	CHECK_SYSERR("mmap.fd_minus1", RMMAP(NULL, PG, PROT_READ, MAP_PRIVATE, -1, 0), EBADF);
	CHECK_SYSERR("mmap.unaligned_offset", RMMAP(NULL, PG, PROT_READ, MAP_ANON_PRIV, -1, 100), EINVAL);
	CHECK_SYSERR("mmap.huge_len", RMMAP(NULL, ~0UL - PG, PROT_READ, MAP_ANON_PRIV, -1, 0), ENOMEM);
	munmap(p, 3 * PG);
}

static void check_fork_sharing(void)
{
	volatile int *sh = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	volatile int *pv = map(PG, PROT_READ | PROT_WRITE);
	if (!CHECKF("mmap.shared_anon", sh != MAP_FAILED && pv != NULL, "mmap failed errno %d", errno))
		return;
	sh[0] = 1;
	pv[0] = 100;
	int pfd[2];
	if (pipe(pfd) < 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		sh[0] = 2; /* parent must see this */
		int saw_old = pv[0] == 100;
		pv[0] = 200; /* parent must not see this */
		if (read(pfd[0], &c, 1) != 1)
			_exit(3);
		/* The parent wrote 300 to its copy before the byte arrived. */
		_exit(saw_old && pv[0] == 200 ? 0 : 4);
	}
	int st = -1;
	if (pid > 0) {
		pv[0] = 300;
		if (write(pfd[1], "x", 1) != 1)
			kill(pid, SIGKILL);
		st = utest_wait(pid);
	}
	close(pfd[0]);
	close(pfd[1]);
	utest_check_exit("fork.cow_child_view", st, 0);
	CHECKF("fork.shared_visible", sh[0] == 2, "shared word=%d, expected 2", sh[0]);
	CHECKF("fork.private_not_shared", pv[0] == 300, "private word=%d, expected 300", pv[0]);
	munmap((void *)sh, PG);
	munmap((void *)pv, PG);
}

static void check_faults(void)
{
	char *p = map(4 * PG, PROT_READ | PROT_WRITE);
	if (!p)
		return;
	memset(p, 0x5c, 4 * PG);

	CHECK_RET("mprotect.none", mprotect(p, PG, PROT_NONE), 0);
	expect_segv("fault.prot_none_read", p + 100, 0, SEGV_ACCERR);
	expect_segv("fault.prot_none_write", p + 200, 1, SEGV_ACCERR);

	CHECK_RET("mprotect.readonly", mprotect(p + PG, PG, PROT_READ), 0);
	CHECKF("fault.readonly_read_ok", probe(p + PG + 8, 0) == 0, "read of read-only page faulted");
	expect_segv("fault.readonly_write", p + PG + 8, 1, SEGV_ACCERR);
	CHECK("mprotect.data_kept", all_bytes(p + PG, PG, 0x5c));
	CHECK_RET("mprotect.back_rw", mprotect(p, 2 * PG, PROT_READ | PROT_WRITE), 0);
	CHECKF("mprotect.rw_write_ok", probe(p + PG + 8, 1) == 0 && probe(p, 1) == 0,
	       "write after mprotect RW faulted");

	CHECK_SYSERR("mprotect.unaligned", RMPROTECT(p + 1, PG, PROT_READ), EINVAL);
	CHECK_SYSERR("mprotect.bad_prot", RMPROTECT(p, PG, 0x100), EINVAL);

	/* Unmapped page: map then unmap. */
	char *u = map(PG, PROT_READ);
	munmap(u, PG);
	expect_segv("fault.unmapped_read", u + 16, 0, SEGV_MAPERR);
	expect_segv("fault.unmapped_write", u + 32, 1, SEGV_MAPERR);
	CHECK_SYSERR("mprotect.unmapped", RMPROTECT(u, PG, PROT_READ), ENOMEM);

	/* munmap of the middle page leaves a hole with intact neighbours. */
	CHECK_RET("munmap.middle", munmap(p + 2 * PG, PG), 0);
	expect_segv("munmap.hole_faults", p + 2 * PG + 5, 0, SEGV_MAPERR);
	CHECK("munmap.neighbours_intact", probe(p + PG + 4, 0) == 0 && probe(p + 3 * PG + 4, 0) == 0 &&
		  all_bytes(p + 3 * PG, PG, 0x5c));
	CHECK_ERR("munmap.unaligned", munmap(p + 1, PG), EINVAL);
	CHECK_ERR("munmap.len0", munmap(p, 0), EINVAL);
	CHECK_RET("munmap.already_unmapped", munmap(u, PG), 0);
	munmap(p, 4 * PG);

	/* A write to a mapping created read-only from the start. */
	char *ro = map(PG, PROT_READ);
	if (ro) {
		CHECK("mmap.readonly_zero", all_bytes(ro, PG, 0));
		expect_segv("fault.mmap_readonly_write", ro + 9, 1, SEGV_ACCERR);
		munmap(ro, PG);
	}
	expect_segv("fault.null_read", NULL, 0, SEGV_MAPERR);
}

static void check_mremap(void)
{
	/* Grow in place: reserve 4 pages, keep the first 2. */
	char *p = map(4 * PG, PROT_READ | PROT_WRITE);
	if (!p)
		return;
	munmap(p + 2 * PG, 2 * PG);
	memset(p, 0x31, 2 * PG);
	char *q = mremap(p, 2 * PG, 4 * PG, 0);
	if (CHECKF("mremap.grow_in_place", q == p, "mremap=%p expected %p errno %d", q, p, errno)) {
		CHECK("mremap.grow_kept", all_bytes(p, 2 * PG, 0x31));
		CHECK("mremap.grow_new_zero", all_bytes(p + 2 * PG, 2 * PG, 0));
	}

	/* Block growth with a mapping right after, then grow with and without MAYMOVE. */
	munmap(p + 2 * PG, 2 * PG);
	char *blk = mmap(p + 2 * PG, PG, PROT_READ, MAP_ANON_PRIV | MAP_FIXED, -1, 0);
	CHECK_EQ("mremap.blocker", blk, p + 2 * PG);
	CHECK_SYSERR("mremap.no_maymove", syscall(SYS_mremap, p, 2 * PG, 8 * PG, 0), ENOMEM);
	q = mremap(p, 2 * PG, 8 * PG, MREMAP_MAYMOVE);
	if (CHECKF("mremap.maymove", q != MAP_FAILED && q != p, "mremap=%p old %p errno %d", q, p,
		   errno)) {
		CHECK("mremap.moved_contents", all_bytes(q, 2 * PG, 0x31) && all_bytes(q + 2 * PG, 6 * PG, 0));
		expect_segv("mremap.old_unmapped", p, 0, SEGV_MAPERR);
		memset(q, 0x42, 8 * PG);
		char *s = mremap(q, 8 * PG, PG, 0);
		CHECK_EQ("mremap.shrink", s, q);
		expect_segv("mremap.shrunk_tail_faults", q + 4 * PG, 0, SEGV_MAPERR);
		CHECK("mremap.shrink_kept", all_bytes(q, PG, 0x42));
		munmap(q, PG);
	}
	CHECK_SYSERR("mremap.unaligned", syscall(SYS_mremap, blk + 1, PG, 2 * PG, MREMAP_MAYMOVE),
		     EINVAL);
	CHECK_SYSERR("mremap.bad_flags", syscall(SYS_mremap, blk, PG, 2 * PG, 0x80), EINVAL);
	munmap(blk, PG);
}

static void check_madvise_and_paging(void)
{
	char *p = map(8 * PG, PROT_READ | PROT_WRITE);
	if (!p)
		return;
	memset(p, 0x99, 8 * PG);
	CHECK_RET("madvise.dontneed", madvise(p + 2 * PG, 4 * PG, MADV_DONTNEED), 0);
	CHECK("madvise.dontneed_zero", all_bytes(p + 2 * PG, 4 * PG, 0));
	CHECK("madvise.dontneed_rest_kept", all_bytes(p, 2 * PG, 0x99) && all_bytes(p + 6 * PG, 2 * PG, 0x99));
	CHECK_ERR("madvise.unaligned", madvise(p + 1, PG, MADV_DONTNEED), EINVAL);
	CHECK_ERR("madvise.bad_advice", madvise(p, PG, 12345), EINVAL);
	munmap(p, 8 * PG);

	/* 64 MiB touched sparsely: only touched pages need frames. */
	size_t big = 64UL << 20;
	unsigned char *b = map(big, PROT_READ | PROT_WRITE);
	if (CHECKF("mmap.64mib", b != NULL, "mmap 64 MiB failed errno %d", errno)) {
		int ok = 1;
		for (size_t off = 0; off < big; off += 1UL << 20)
			b[off + (off >> 20)] = (unsigned char)(off >> 20);
		for (size_t off = 0; off < big; off += 1UL << 20)
			ok = ok && b[off + (off >> 20)] == (unsigned char)(off >> 20) && b[off + 2 * PG] == 0;
		ok = ok && b[big - 1] == 0;
		CHECK("mmap.64mib_sparse", ok);
		CHECK_RET("munmap.64mib", munmap(b, big), 0);
	}

	/* Many small mappings, one at a time and many at once. */
	int ok = 1;
	for (int i = 0; i < 1000 && ok; i++) {
		int *m = map(PG, PROT_READ | PROT_WRITE);
		ok = m != NULL && m[5] == 0;
		if (m) {
			m[5] = i;
			ok = ok && m[5] == i && munmap(m, PG) == 0;
		}
	}
	CHECK("mmap.many_sequential", ok);
	static int *maps[256];
	ok = 1;
	for (int i = 0; i < 256; i++) {
		maps[i] = map(PG * (1 + i % 3), PROT_READ | PROT_WRITE);
		if (!maps[i])
			ok = 0;
		else
			maps[i][0] = i;
	}
	for (int i = 0; i < 256; i++)
		if (maps[i]) {
			ok = ok && maps[i][0] == i;
			ok = ok && munmap(maps[i], PG * (1 + i % 3)) == 0;
		}
	CHECK("mmap.many_concurrent", ok);
}

/* Operations over a huge, sparse area take as long as what is mapped in it, not its length:
 * mprotect, mremap and munmap of a 1 TiB area with three pages touched, and the exit of a
 * SIGKILLed process holding one. Each walked the area 4 KiB at a time (2^28 steps, minutes
 * under TCG, unkillable meanwhile: the fuzzer's mmap of 1 TiB). */
#define HUGE_AREA (1UL << 40)

static long elapsed_ms(int64_t since)
{
	return (long)((utest_now_ns(CLOCK_MONOTONIC) - since) / 1000000);
}

static void check_huge_sparse(void)
{
	int64_t t0 = utest_now_ns(CLOCK_MONOTONIC);
	pid_t child = fork();
	if (child == 0) {
		alarm(60);
		char *p = mmap(NULL, HUGE_AREA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			_exit(10);
		p[0] = 1;
		p[HUGE_AREA / 2] = 2;
		p[HUGE_AREA - 1] = 3;
		if (mprotect(p, HUGE_AREA, PROT_READ) != 0)
			_exit(11);
		if (p[0] != 1 || p[HUGE_AREA / 2] != 2 || p[HUGE_AREA - 1] != 3)
			_exit(12);
		char *q = mremap(p, HUGE_AREA, HUGE_AREA + 4096, MREMAP_MAYMOVE);
		if (q == MAP_FAILED)
			_exit(13);
		if (q[0] != 1 || q[HUGE_AREA / 2] != 2 || q[HUGE_AREA - 1] != 3)
			_exit(14);
		if (munmap(q, HUGE_AREA + 4096) != 0)
			_exit(15);
		_exit(0);
	}
	int st = utest_wait(child);
	long ms = elapsed_ms(t0);
	CHECKF("huge_sparse.ops", WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %s", utest_wstr(st));
	CHECKF("huge_sparse.ops_fast", ms < 10000, "mprotect+mremap+munmap of 1 TiB took %ld ms", ms);

	/* A process killed while holding such an area is gone at once. */
	int ready[2];
	if (pipe(ready) != 0)
		return;
	child = fork();
	if (child == 0) {
		alarm(60);
		char *p = mmap(NULL, HUGE_AREA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p != MAP_FAILED) {
			p[0] = 1;
			p[HUGE_AREA - 1] = 1;
		}
		write(ready[1], "x", 1);
		pause();
		_exit(0);
	}
	char c;
	close(ready[1]);
	read(ready[0], &c, 1);
	close(ready[0]);
	t0 = utest_now_ns(CLOCK_MONOTONIC);
	kill(child, SIGKILL);
	st = utest_wait(child);
	ms = elapsed_ms(t0);
	CHECKF("huge_sparse.kill_fast", WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && ms < 5000, "child %s after %ld ms",
	       utest_wstr(st), ms);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = fault_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);

	check_brk();
	check_mmap_basic();
	check_fork_sharing();
	check_faults();
	check_mremap();
	check_madvise_and_paging();
	check_huge_sparse();
	return utest_done();
}
