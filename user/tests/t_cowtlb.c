/*
 * t_cowtlb - memory soundness of copy-on-write and the fault path (issue 11, items 1, 2, 6, 7):
 * a thread that keeps reading a copy-on-write page must see a sibling thread's write once the
 * sibling published it (no stale TLB entry on another CPU after the copy-on-write break); a
 * read() into a copy-on-write page made read-only fails with EFAULT and leaves the page
 * read-only; two threads whose read()s fault on the same copy-on-write page at once leave both
 * processes their data; mmap of /proc/self/maps returns (no deadlock); mremap MREMAP_FIXED to
 * page zero is refused.
 */
#define UTEST_PROGRAM "t_cowtlb"
#include "utest.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/mount.h>

#define PAGE 4096
#define ROUNDS 400
#define ATTEMPTS 8
#define OLD_VALUE 0x5a5a5a5aUL

/* ---- stale TLB after a copy-on-write break ---- */

static unsigned char *cow_pages; /* ROUNDS pages, copy-on-write after the fork */

/* Shared state of the two threads, in a shared page (never copy-on-write). */
struct cow_state {
	_Atomic long reader_at; /* round whose page the reader has in its TLB */
	_Atomic long writer_at; /* round whose page the writer has written */
	long stale_rounds, first_stale;
	unsigned long first_stale_value;
};
static struct cow_state *st;

static volatile unsigned long *cow_word(long round)
{
	return (volatile unsigned long *)(cow_pages + (size_t)round * PAGE);
}

static void *cow_reader(void *arg)
{
	(void)arg;
	unsigned long sink = 0;
	for (long r = 0; r < ROUNDS; r++) {
		volatile unsigned long *word = cow_word(r);
		/* Load the translation into this CPU's TLB and keep it hot. */
		sink += *word;
		atomic_store(&st->reader_at, r);
		while (atomic_load(&st->writer_at) < r)
			sink += *word;
		unsigned long seen = *word;
		if (seen != OLD_VALUE + 1 + (unsigned long)r) {
			if (st->first_stale < 0) {
				st->first_stale = r;
				st->first_stale_value = seen;
			}
			st->stale_rounds++;
		}
	}
	return (void *)sink;
}

static void *cow_writer(void *arg)
{
	(void)arg;
	for (long r = 0; r < ROUNDS; r++) {
		while (atomic_load(&st->reader_at) < r)
			;
		/* Copy-on-write break on this CPU, then publish (in a page that is not shared). */
		*cow_word(r) = OLD_VALUE + 1 + (unsigned long)r;
		atomic_store(&st->writer_at, r);
	}
	return NULL;
}

/* One attempt: ROUNDS fresh copy-on-write pages, a sharer child, the two threads. */
static int cow_attempt(const char *name)
{
	cow_pages = mmap(NULL, (size_t)ROUNDS * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (cow_pages == MAP_FAILED) {
		utest_fail(name, "mmap: errno %s", utest_errname(errno));
		return 0;
	}
	for (long r = 0; r < ROUNDS; r++)
		*cow_word(r) = OLD_VALUE;
	int hold[2];
	if (pipe(hold) != 0) {
		utest_fail(name, "pipe: errno %s", utest_errname(errno));
		return 0;
	}
	pid_t child = fork();
	if (child == 0) {
		/* Keep every page shared until the parent is done. */
		char c;
		close(hold[1]);
		while (read(hold[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(hold[0]);
	atomic_store(&st->reader_at, -1);
	atomic_store(&st->writer_at, -1);
	pthread_t reader, writer;
	pthread_create(&reader, NULL, cow_reader, NULL);
	pthread_create(&writer, NULL, cow_writer, NULL);
	pthread_join(writer, NULL);
	pthread_join(reader, NULL);
	close(hold[1]);
	int status = 0;
	waitpid(child, &status, 0);
	munmap(cow_pages, (size_t)ROUNDS * PAGE);
	return 1;
}

static void test_cow_tlb(void)
{
	const char *name = "cow_break_seen_by_sibling_thread";
	/* Shared, so that the forks never make it copy-on-write. */
	st = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED) {
		utest_fail(name, "mmap: errno %s", utest_errname(errno));
		return;
	}
	st->first_stale = -1;
	/* The scheduler decides where the threads run: several attempts make it very likely
	 * that some run them on two CPUs at once. */
	for (int attempt = 0; attempt < ATTEMPTS; attempt++)
		if (!cow_attempt(name))
			return;
	CHECKF(name, st->stale_rounds == 0, "%ld of %d rounds read the old frame (first: round %ld read %#lx)",
	       st->stale_rounds, ATTEMPTS * ROUNDS, st->first_stale, st->first_stale_value);
	munmap(st, PAGE);
}

/* ---- read() into a copy-on-write page made read-only ---- */

static void test_read_into_readonly_cow(void)
{
	unsigned char *page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		utest_fail("readonly_cow_read_efault", "mmap: errno %s", utest_errname(errno));
		return;
	}
	memset(page, 0x11, PAGE);
	int hold[2], data[2];
	if (pipe(hold) != 0 || pipe(data) != 0) {
		utest_fail("readonly_cow_read_efault", "pipe: errno %s", utest_errname(errno));
		return;
	}
	pid_t sharer = fork();
	if (sharer == 0) {
		char c;
		close(hold[1]);
		while (read(hold[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(hold[0]);
	/* The page is copy-on-write now; make it read-only, then let the kernel write into it. */
	CHECK_OK("readonly_cow_mprotect", mprotect(page, PAGE, PROT_READ));
	char buf[64];
	memset(buf, 0x22, sizeof buf);
	if (write(data[1], buf, sizeof buf) != (ssize_t)sizeof buf)
		utest_fail("readonly_cow_read_efault", "pipe write: errno %s", utest_errname(errno));
	CHECK_ERR("readonly_cow_read_efault", read(data[0], page, sizeof buf), EFAULT);
	CHECKF("readonly_cow_unchanged", page[0] == 0x11 && page[63] == 0x11, "page starts %#x", page[0]);
	/* A user write must still fault. */
	pid_t writer = fork();
	if (writer == 0) {
		signal(SIGSEGV, SIG_DFL);
		page[0] = 0x33;
		_exit(0);
	}
	int status = 0;
	waitpid(writer, &status, 0);
	CHECKF("readonly_cow_write_segv", WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
	       "writer status %#x", status);
	close(hold[1]);
	waitpid(sharer, &status, 0);
	close(data[0]);
	close(data[1]);
	munmap(page, PAGE);
}

/* ---- two threads' read()s fault on the same copy-on-write page at once ---- */

#define RACE_PAGES 128

struct race_state {
	_Atomic int arrived[2]; /* per round: how many threads reached the start line */
	_Atomic long round;
	int fds[2][2];          /* a pipe per thread */
	unsigned char *pages;
};
static struct race_state *race;

static void *race_thread(void *arg)
{
	long me = (long)arg;
	for (long r = 0; r < RACE_PAGES; r++) {
		/* Both threads leave the start line together, then fault on page r in read(). */
		atomic_fetch_add(&race->arrived[r & 1], 1);
		while (atomic_load(&race->arrived[r & 1]) < 2 * (r / 2 + 1))
			;
		if (read(race->fds[me][0], race->pages + (size_t)r * PAGE + (size_t)me * 8, 8) != 8)
			return (void *)1;
	}
	return NULL;
}

static void test_concurrent_kernel_cow_faults(void)
{
	const char *name = "concurrent_kernel_cow_faults";
	race = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	unsigned char *pages = mmap(NULL, (size_t)RACE_PAGES * PAGE, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (race == MAP_FAILED || pages == MAP_FAILED) {
		utest_fail(name, "mmap: errno %s", utest_errname(errno));
		return;
	}
	race->pages = pages;
	for (int r = 0; r < RACE_PAGES; r++)
		memset(pages + (size_t)r * PAGE, r + 1, PAGE);
	int go[2];
	if (pipe(go) != 0 || pipe(race->fds[0]) != 0 || pipe(race->fds[1]) != 0) {
		utest_fail(name, "pipe: errno %s", utest_errname(errno));
		return;
	}
	pid_t sharer = fork();
	if (sharer == 0) {
		/* Keeps the original frames; once the parent is done, checks they still hold its
		 * data (a frame released twice would have been reused meanwhile). */
		char c;
		close(go[1]);
		while (read(go[0], &c, 1) < 0 && errno == EINTR)
			;
		for (int r = 0; r < RACE_PAGES; r++)
			for (int i = 0; i < PAGE; i++)
				if (pages[(size_t)r * PAGE + i] != (unsigned char)(r + 1))
					_exit(1);
		_exit(0);
	}
	close(go[0]);
	static const char bytes[16] = "abcdefghABCDEFGH";
	for (int r = 0; r < RACE_PAGES; r++)
		if (write(race->fds[0][1], bytes, 8) != 8 || write(race->fds[1][1], bytes + 8, 8) != 8)
			utest_fail(name, "pipe write: errno %s", utest_errname(errno));
	pthread_t threads[2];
	pthread_create(&threads[0], NULL, race_thread, (void *)0L);
	pthread_create(&threads[1], NULL, race_thread, (void *)1L);
	void *results[2];
	pthread_join(threads[0], &results[0]);
	pthread_join(threads[1], &results[1]);
	/* Our copies must hold both reads, and the original data around them. */
	int bad = -1;
	for (int r = 0; r < RACE_PAGES && bad < 0; r++) {
		unsigned char *page = pages + (size_t)r * PAGE;
		if (memcmp(page, bytes, 16) != 0 || page[16] != (unsigned char)(r + 1) || page[PAGE - 1] != (unsigned char)(r + 1))
			bad = r;
	}
	/* Churn: new pages may reuse any frame freed by mistake. */
	unsigned char *churn = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (churn != MAP_FAILED) {
		memset(churn, 0xee, 4 << 20);
		munmap(churn, 4 << 20);
	}
	close(go[1]);
	int status = 0;
	waitpid(sharer, &status, 0);
	CHECKF(name, results[0] == NULL && results[1] == NULL && bad < 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "reads %p/%p, first bad page of ours %d, sharer status %#x (exit 1: its data changed)",
	       results[0], results[1], bad, status);
	for (int k = 0; k < 2; k++) {
		close(race->fds[k][0]);
		close(race->fds[k][1]);
	}
	munmap(pages, (size_t)RACE_PAGES * PAGE);
	munmap(race, PAGE);
}

/* ---- mmap of /proc/self/maps ---- */

static void test_mmap_proc_maps(void)
{
	const char *name = "mmap_proc_self_maps_returns";
	/* Under the Exo-OS test runner nothing is mounted on /proc yet. */
	int mounted = 0;
	if (access("/proc/self/maps", R_OK) != 0) {
		if (mount("proc", "/proc", "proc", 0, NULL) != 0) {
			utest_fail(name, "mount proc: errno %s", utest_errname(errno));
			return;
		}
		mounted = 1;
	}
	pid_t child = fork();
	if (child == 0) {
		alarm(20);
		int fd = open("/proc/self/maps", O_RDONLY);
		if (fd < 0)
			_exit(10);
		unsigned char *map = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED)
			_exit(errno == ENODEV ? 0 : 11); /* Linux: procfs files have no mmap */
		/* Exo-OS copies the text in: it must be the maps text (an address first). */
		int hex = (map[0] >= '0' && map[0] <= '9') || (map[0] >= 'a' && map[0] <= 'f');
		_exit(hex ? 0 : 12);
	}
	int status = 0;
	for (int waited = 0; waited < 300; waited++) {
		if (waitpid(child, &status, WNOHANG) == child)
			break;
		usleep(100 * 1000);
		if (waited == 299) {
			kill(child, SIGKILL);
			utest_fail(name, "mmap of /proc/self/maps did not return within 30 s");
			return;
		}
	}
	CHECKF(name, WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
	if (mounted)
		umount("/proc");
}

/* ---- mremap MREMAP_FIXED below the mmap floor ---- */

static void test_mremap_fixed_zero(void)
{
	unsigned char *page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		utest_fail("mremap_fixed_zero_eperm", "mmap: errno %s", utest_errname(errno));
		return;
	}
	page[0] = 0x44;
	pid_t child = fork();
	if (child == 0) {
		/* Root may map low pages on Linux (CAP_SYS_RAWIO): an unprivileged user may not. */
		if (setuid(1000) != 0)
			_exit(20);
		void *moved = mremap(page, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)0);
		if (moved != MAP_FAILED)
			_exit(21);
		if (errno != EPERM)
			_exit(22);
		/* The old mapping is still there. */
		_exit(page[0] == 0x44 ? 0 : 25);
	}
	int status = 0;
	waitpid(child, &status, 0);
	CHECKF("mremap_fixed_zero_eperm", WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "child status %#x (exit 21: mapped page zero, 22: wrong errno)", status);
	munmap(page, PAGE);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	test_cow_tlb();
	test_read_into_readonly_cow();
	test_concurrent_kernel_cow_faults();
	test_mmap_proc_maps();
	test_mremap_fixed_zero();
	return utest_done();
}
