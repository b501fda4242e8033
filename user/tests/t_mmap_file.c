/*
 * t_mmap_file - file-backed mmap: MAP_SHARED stores seen by read(2), by a second mapping and by
 * a forked child; write(2) seen by an existing mapping; msync(MS_SYNC) then a fresh fd;
 * MAP_PRIVATE copy-on-write (and later file changes visible in pages never written); SIGBUS
 * (BUS_ADRERR) past the end of the file and after a truncate; the zeroed tail of the last page;
 * EACCES for a writable shared mapping of a read-only fd (mmap and mprotect); msync's errors;
 * data persisted after munmap; an 8 MiB mapping; the /proc/self/maps line.
 *
 * Files go to $T_MMAP_DIR (default /tmp), so the same test runs on tmpfs and on a disk.
 */
#define UTEST_PROGRAM "t_mmap_file"
#include "utest.h"

#include <fcntl.h>
#include <setjmp.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>

#define PG 4096

static char dir[256];
static char path[300];
static sigjmp_buf jump;
static volatile int bus_code;
static volatile void *bus_addr;

static void on_bus(int sig, siginfo_t *info, void *ctx)
{
	(void)sig;
	(void)ctx;
	bus_code = info->si_code;
	bus_addr = info->si_addr;
	siglongjmp(jump, 1);
}

/* Creates the test file with `len` bytes: byte i is (i * 7 + 3) & 0xff. Returns an O_RDWR fd. */
static int make_file(const char *name, size_t len)
{
	snprintf(path, sizeof path, "%s/t_mmap_file.%d.%s", dir, (int)getpid(), name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	char buf[PG];
	for (size_t done = 0; done < len;) {
		size_t n = len - done < PG ? len - done : PG;
		for (size_t i = 0; i < n; i++)
			buf[i] = (char)(((done + i) * 7 + 3) & 0xff);
		if (write(fd, buf, n) != (ssize_t)n) {
			close(fd);
			return -1;
		}
		done += n;
	}
	return fd;
}

static char byte_at(size_t i)
{
	return (char)((i * 7 + 3) & 0xff);
}

/* Returns 1 if touching *p (read, or write when `store`) raised SIGBUS with BUS_ADRERR. */
static int bus_on(volatile char *p, int store)
{
	struct sigaction sa = {0}, old;
	sa.sa_sigaction = on_bus;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGBUS, &sa, &old);
	bus_code = 0;
	bus_addr = 0;
	int hit = 0;
	if (sigsetjmp(jump, 1) == 0) {
		if (store)
			*p = 1;
		else
			(void)*p;
	} else {
		hit = bus_code == BUS_ADRERR && bus_addr == (void *)p;
	}
	sigaction(SIGBUS, &old, 0);
	return hit;
}

static void test_shared(void)
{
	int fd = make_file("shared", 3 * PG);
	if (!CHECK("shared_setup", fd >= 0))
		return;
	char *a = mmap(0, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *b = mmap(0, 3 * PG, PROT_READ, MAP_SHARED, fd, 0);
	if (!CHECK("shared_mmap", a != MAP_FAILED && b != MAP_FAILED))
		return;
	CHECK("shared_contents", a[0] == byte_at(0) && a[PG + 5] == byte_at(PG + 5) && b[2 * PG + 9] == byte_at(2 * PG + 9));
	memcpy(a + PG + 100, "hello", 5);
	char buf[8] = {0};
	CHECK("shared_store_read2", pread(fd, buf, 5, PG + 100) == 5 && memcmp(buf, "hello", 5) == 0);
	CHECK("shared_second_mapping", memcmp(b + PG + 100, "hello", 5) == 0);
	CHECK_RET("shared_pwrite", pwrite(fd, "WORLD", 5, 2 * PG + 7), 5);
	CHECK("write_visible_in_mapping", memcmp(a + 2 * PG + 7, "WORLD", 5) == 0 && memcmp(b + 2 * PG + 7, "WORLD", 5) == 0);

	/* A forked child shares the pages both ways. */
	int ready[2], done[2];
	if (pipe(ready) || pipe(done))
		return;
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		memcpy(a + 10, "child", 5);
		if (write(ready[1], "x", 1) != 1 || read(done[0], &c, 1) != 1)
			_exit(2);
		/* The parent's store after the fork. */
		_exit(memcmp(a + 20, "parent", 6) == 0 && memcmp(b + 20, "parent", 6) == 0 ? 0 : 1);
	}
	char c;
	CHECK("fork_sync", read(ready[0], &c, 1) == 1);
	CHECK("fork_child_store_seen", memcmp(a + 10, "child", 5) == 0 && memcmp(b + 10, "child", 5) == 0);
	memset(buf, 0, sizeof buf);
	CHECK("fork_child_store_read2", pread(fd, buf, 5, 10) == 5 && memcmp(buf, "child", 5) == 0);
	memcpy(a + 20, "parent", 6);
	CHECK("fork_sync2", write(done[1], "x", 1) == 1);
	utest_check_exit("fork_parent_store_seen", utest_wait(pid), 0);
	close(ready[0]);
	close(ready[1]);
	close(done[0]);
	close(done[1]);

	/* msync(MS_SYNC), then a fresh descriptor reads the data. */
	memcpy(a + 2 * PG + 300, "synced", 6);
	CHECK_OK("msync_sync", msync(a, 3 * PG, MS_SYNC));
	CHECK_OK("msync_async", msync(a + PG, PG, MS_ASYNC));
	int fd2 = open(path, O_RDONLY);
	memset(buf, 0, sizeof buf);
	CHECK("msync_fresh_fd", fd2 >= 0 && pread(fd2, buf, 6, 2 * PG + 300) == 6 && memcmp(buf, "synced", 6) == 0);
	close(fd2);

	/* msync's errors. */
	CHECK_ERR("msync_unaligned", msync(a + 1, PG, MS_SYNC), EINVAL);
	CHECK_ERR("msync_both", msync(a, PG, MS_SYNC | MS_ASYNC), EINVAL);
	CHECK_ERR("msync_badflag", msync(a, PG, 0x100), EINVAL);
	munmap(b, 3 * PG);
	CHECK_ERR("msync_unmapped", msync(b, 3 * PG, MS_SYNC), ENOMEM);

	/* /proc/self/maps names the file (under the Exo-OS test runner /proc is mounted here). */
	int mounted = 0;
	if (access("/proc/self/maps", R_OK) != 0 && mount("proc", "/proc", "proc", 0, NULL) == 0)
		mounted = 1;
	int maps = open("/proc/self/maps", O_RDONLY);
	CHECKF("proc_maps_open", maps >= 0, "errno %s", utest_errname(errno));
	if (maps >= 0) {
		static char text[65536];
		ssize_t n, total = 0;
		while (total < (ssize_t)sizeof text - 1 && (n = read(maps, text + total, sizeof text - 1 - total)) > 0)
			total += n;
		text[total] = 0;
		close(maps);
		char want[64];
		snprintf(want, sizeof want, "%lx-", (unsigned long)a);
		char *line = strstr(text, want);
		char *end = line ? strchr(line, '\n') : 0;
		if (end)
			*end = 0;
		CHECKF("proc_maps_path", line && strstr(line, path) && strstr(line, " rw-s "), "line: %s", line ? line : "(none)");
		/* A procfs file cannot be mapped (Linux: ENODEV). */
		maps = open("/proc/self/maps", O_RDONLY);
		CHECK("proc_mmap_enodev", mmap(0, PG, PROT_READ, MAP_PRIVATE, maps, 0) == MAP_FAILED && errno == ENODEV);
		close(maps);
	}
	if (mounted)
		umount("/proc");

	/* munmap, close, reopen: the data is in the file. */
	memcpy(a + 4000, "persist", 7);
	CHECK_OK("munmap", munmap(a, 3 * PG));
	close(fd);
	fd = open(path, O_RDONLY);
	memset(buf, 0, sizeof buf);
	CHECK("persisted", fd >= 0 && pread(fd, buf, 7, 4000) == 7 && memcmp(buf, "persist", 7) == 0);
	close(fd);
	unlink(path);
}

static void test_private(void)
{
	int fd = make_file("private", 2 * PG);
	if (!CHECK("private_setup", fd >= 0))
		return;
	char *p = mmap(0, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (!CHECK("private_mmap", p != MAP_FAILED))
		return;
	CHECK("private_contents", p[5] == byte_at(5) && p[PG + 5] == byte_at(PG + 5));
	p[5] = 'X';
	char c = 0;
	CHECK("private_store_not_in_file", pread(fd, &c, 1, 5) == 1 && c == byte_at(5) && p[5] == 'X');
	/* A page never written shows later changes to the file; a written one does not. */
	CHECK_RET("private_pwrite", pwrite(fd, "new", 3, PG + 10), 3);
	CHECK_RET("private_pwrite2", pwrite(fd, "new", 3, 100), 3);
	CHECK("private_unwritten_page_follows_file", memcmp(p + PG + 10, "new", 3) == 0);
	CHECK("private_written_page_is_own", p[100] == byte_at(100) && p[5] == 'X');
	/* A private writable mapping of a read-only descriptor is allowed. */
	int ro = open(path, O_RDONLY);
	char *q = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
	CHECK("private_of_rdonly", q != MAP_FAILED);
	if (q != MAP_FAILED) {
		q[0] = 'Q';
		CHECK("private_of_rdonly_store", q[0] == 'Q' && pread(fd, &c, 1, 0) == 1 && c == byte_at(0));
		munmap(q, PG);
	}
	/* A fork: the child's private store stays in the child. */
	pid_t pid = fork();
	if (pid == 0) {
		p[PG + 200] = 'C';
		_exit(p[PG + 200] == 'C' ? 0 : 1);
	}
	utest_check_exit("private_fork_child", utest_wait(pid), 0);
	CHECK("private_fork_parent_unchanged", p[PG + 200] == byte_at(PG + 200) && pread(fd, &c, 1, PG + 200) == 1 && c == byte_at(PG + 200));
	munmap(p, 2 * PG);
	close(ro);
	close(fd);
	unlink(path);
}

static void test_eof(void)
{
	int fd = make_file("eof", PG + 100);
	if (!CHECK("eof_setup", fd >= 0))
		return;
	char *p = mmap(0, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!CHECK("eof_mmap", p != MAP_FAILED))
		return;
	CHECK("eof_last_page_data", p[PG + 99] == byte_at(PG + 99));
	CHECK("eof_tail_zero", p[PG + 100] == 0 && p[2 * PG - 1] == 0);
	p[PG + 500] = 'T'; /* past the end: never written to the file */
	CHECK("eof_sigbus_read", bus_on(p + 2 * PG, 0));
	CHECK("eof_sigbus_write", bus_on(p + 2 * PG + 8, 1));
	CHECK_OK("eof_msync", msync(p, 2 * PG, MS_SYNC));
	struct stat st;
	CHECK("eof_size_kept", fstat(fd, &st) == 0 && st.st_size == PG + 100);

	/* Truncate: the second page goes away in every mapping. */
	p[PG] = 'S';
	CHECK_OK("truncate", ftruncate(fd, PG));
	CHECK("truncate_sigbus", bus_on(p + PG, 0));
	CHECK("truncate_first_page_kept", p[0] == byte_at(0));
	/* Growing the file again makes the page reachable, reading zeros. */
	CHECK_OK("truncate_grow", ftruncate(fd, 2 * PG));
	CHECK("truncate_grow_zero", p[PG] == 0 && p[PG + 50] == 0);
	munmap(p, 3 * PG);

	/* Unaligned offset, pipes. */
	CHECK("mmap_unaligned_offset", mmap(0, PG, PROT_READ, MAP_SHARED, fd, 100) == MAP_FAILED && errno == EINVAL);
	char *off = mmap(0, PG, PROT_READ, MAP_SHARED, fd, 0);
	CHECK("mmap_offset_ok", off != MAP_FAILED && off[0] == byte_at(0));
	munmap(off, PG);
	int pfd[2];
	if (pipe(pfd) == 0) {
		CHECK("mmap_pipe_enodev", mmap(0, PG, PROT_READ, MAP_SHARED, pfd[0], 0) == MAP_FAILED && errno == ENODEV);
		close(pfd[0]);
		close(pfd[1]);
	}
	close(fd);
	unlink(path);
}

static void test_offset(void)
{
	int fd = make_file("offset", 4 * PG);
	if (!CHECK("offset_setup", fd >= 0))
		return;
	char *p = mmap(0, 2 * PG, PROT_READ, MAP_SHARED, fd, 2 * PG);
	CHECK("offset_contents", p != MAP_FAILED && p[0] == byte_at(2 * PG) && p[PG + 3] == byte_at(3 * PG + 3));
	/* mremap keeps the file mapping. */
	char *q = mremap(p, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, (char *)p + 64 * PG);
	if (q == MAP_FAILED) {
		q = mremap(p, 2 * PG, 4 * PG, MREMAP_MAYMOVE);
	}
	CHECK("mremap_file", q != MAP_FAILED && q[0] == byte_at(2 * PG) && q[PG + 3] == byte_at(3 * PG + 3));
	CHECK_RET("mremap_pwrite", pwrite(fd, "mv", 2, 3 * PG + 3), 2);
	CHECK("mremap_follows_file", q != MAP_FAILED && memcmp(q + PG + 3, "mv", 2) == 0);
	if (q != MAP_FAILED)
		munmap(q, 2 * PG);
	close(fd);
	unlink(path);
}

static void test_eacces(void)
{
	int fd = make_file("eacces", PG);
	if (!CHECK("eacces_setup", fd >= 0))
		return;
	int ro = open(path, O_RDONLY);
	CHECK("eacces_mmap", mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0) == MAP_FAILED && errno == EACCES);
	char *p = mmap(0, PG, PROT_READ, MAP_SHARED, ro, 0);
	if (CHECK("eacces_readonly_ok", p != MAP_FAILED)) {
		CHECK_ERR("eacces_mprotect", mprotect(p, PG, PROT_READ | PROT_WRITE), EACCES);
		munmap(p, PG);
	}
	/* A writable fd mapped read-only may become writable, and then stores reach the file. */
	p = mmap(0, PG, PROT_READ, MAP_SHARED, fd, 0);
	if (CHECK("mprotect_rw_setup", p != MAP_FAILED)) {
		CHECK_OK("mprotect_rw", mprotect(p, PG, PROT_READ | PROT_WRITE));
		p[1] = 'W';
		char c = 0;
		CHECK("mprotect_rw_store", pread(fd, &c, 1, 1) == 1 && c == 'W');
		munmap(p, PG);
	}
	int wo = open(path, O_WRONLY);
	CHECK("eacces_wronly", mmap(0, PG, PROT_READ, MAP_SHARED, wo, 0) == MAP_FAILED && errno == EACCES);
	close(wo);
	close(ro);
	close(fd);
	unlink(path);
}

static void test_big(void)
{
	const size_t len = 8 << 20;
	snprintf(path, sizeof path, "%s/t_mmap_file.%d.big", dir, (int)getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (!CHECK("big_setup", fd >= 0 && ftruncate(fd, len) == 0))
		return;
	char *p = mmap(0, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!CHECK("big_mmap", p != MAP_FAILED))
		return;
	for (size_t i = 0; i < len; i += PG)
		*(uint64_t *)(p + i) = i * 31 + 1;
	CHECK_OK("big_msync", msync(p, len, MS_SYNC));
	CHECK_OK("big_munmap", munmap(p, len));
	int bad = 0;
	for (size_t i = 0; i < len; i += PG) {
		uint64_t v = 0;
		if (pread(fd, &v, 8, i) != 8 || v != i * 31 + 1)
			bad++;
	}
	CHECKF("big_read_back", bad == 0, "%d pages wrong", bad);
	close(fd);
	unlink(path);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	const char *env = getenv("T_MMAP_DIR");
	snprintf(dir, sizeof dir, "%s", env && *env ? env : "/tmp");
	test_shared();
	test_private();
	test_eof();
	test_offset();
	test_eacces();
	test_big();
	return utest_done();
}
