/*
 * t_lockorder - the system calls whose lock use lockdep (docs/locking.md) found wrong, each
 * done once so that a debug kernel checks them on every run (a `LOCKDEP:` line on the console
 * fails the user-test stage): wait4 reaping a child (it held the child's creds lock while taking
 * its state lock), reading /proc files through a descriptor (the file offset was a spin lock
 * held while procfs took the memory-map mutex), and FUTEX_WAIT on a word whose page is not
 * present yet (the fault ran under the futex table's spin lock). The results are also checked,
 * so the program passes on Linux too.
 */
#define UTEST_PROGRAM "t_lockorder"
#include "utest.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/utsname.h>

/* From <linux/futex.h> (not in musl's headers). */
#define FUTEX_WAIT_PRIVATE 128

static void check_wait4_reaps_child(void)
{
	pid_t child = fork();
	if (child == 0)
		_exit(7);
	if (!CHECKF("wait4.fork", child > 0, "fork: %s", utest_errname(errno)))
		return;
	int status = 0;
	struct rusage usage;
	pid_t got = wait4(child, &status, 0, &usage);
	CHECKF("wait4.reaped", got == child && WIFEXITED(status) && WEXITSTATUS(status) == 7,
	       "wait4=%d status=%#x", (int)got, status);
}

static void check_proc_read(void)
{
	/* The test-mode init of Exo-OS mounts nothing: mount proc for the test (as t_proc does). */
	struct utsname u;
	int on_exo = uname(&u) == 0 && strstr(u.release, "exo") != NULL;
	int mounted = on_exo && mount("proc", "/proc", "proc", 0, NULL) == 0;
	static const char *const files[] = { "/proc/self/status", "/proc/self/stat", "/proc/self/maps" };
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char name[64], buf[512];
		snprintf(name, sizeof name, "proc_read.%zu", i);
		int fd = open(files[i], O_RDONLY);
		if (fd < 0) {
			utest_fail(name, "open %s: %s", files[i], utest_errname(errno));
			continue;
		}
		ssize_t n = read(fd, buf, sizeof buf);
		ssize_t m = read(fd, buf, sizeof buf);
		close(fd);
		CHECKF(name, n > 0 && m >= 0, "%s: read %zd then %zd (%s)", files[i], n, m, utest_errname(errno));
	}
	if (mounted)
		umount2("/proc", MNT_FORCE);
}

static void check_futex_on_fresh_page(void)
{
	/* A fresh anonymous page is not present until touched: FUTEX_WAIT's read faults it in. */
	uint32_t *word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!CHECKF("futex.mmap", word != MAP_FAILED, "mmap: %s", utest_errname(errno)))
		return;
	CHECK_ERR("futex.wait_mismatch", syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0), EAGAIN);
	munmap(word, 4096);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	check_wait4_reaps_child();
	check_proc_read();
	check_futex_on_fresh_page();
	return utest_done();
}
