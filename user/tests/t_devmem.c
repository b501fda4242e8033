/*
 * t_devmem - the memory devices' read(2)/write(2) fast paths (issue 13): /dev/null, /dev/zero
 * and /dev/full are served straight from and to user memory, without a kernel buffer. As on
 * Linux: a write to /dev/null or /dev/zero reports every byte without reading the buffer (an
 * unmapped user address is fine, an address outside the user half is EFAULT); a read of
 * /dev/null is end of file; /dev/zero and /dev/full read as zeros, and into a buffer that
 * turns bad half-way they report what they zeroed or EFAULT, never more; /dev/full refuses
 * writes with ENOSPC. Small (stack-buffered) and large transfers on a regular file round-trip.
 */
#define UTEST_PROGRAM "t_devmem"
#include "utest.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define PAGE 4096
#define KERNEL_ADDR ((void *)0xffff800000000000UL)

/* Two pages, the second PROT_NONE: returns the start of the first. */
static char *guarded(void)
{
	char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || mprotect(p + PAGE, PAGE, PROT_NONE) != 0)
		return NULL;
	return p;
}

/* Where the device nodes are: /dev, or a devtmpfs of our own if the test image mounts none. */
static char devdir[64] = "/dev";
static int own_devtmpfs;

static void find_devices(void)
{
	struct stat st;
	if (stat("/dev/null", &st) == 0)
		return;
	mkdir("/tmp/t_devmem.dev", 0755);
	if (mount("devtmpfs", "/tmp/t_devmem.dev", "devtmpfs", 0, NULL) == 0) {
		strcpy(devdir, "/tmp/t_devmem.dev");
		own_devtmpfs = 1;
	}
}

static int open_dev(const char *name, int flags)
{
	char path[128];
	snprintf(path, sizeof path, "%s/%s", devdir, name);
	return open(path, flags);
}

static int all_zero(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

static void null_device(char *g)
{
	int fd = open_dev("null", O_RDWR);
	if (!CHECK("null.open", fd >= 0))
		return;
	CHECK_RET("null.write1", write(fd, "x", 1), 1);
	CHECK_RET("null.write0", write(fd, "x", 0), 0);
	CHECK_RET("null.write_big", syscall(SYS_write, fd, g, 1L << 20), 1L << 20);
	/* The buffer is not read: unmapped user memory is accepted, as on Linux. */
	CHECK_RET("null.write_unmapped", syscall(SYS_write, fd, g + PAGE, 100), 100);
	CHECK_RET("null.write_nullptr", syscall(SYS_write, fd, NULL, 10), 10);
	CHECK_ERR("null.write_kernel", syscall(SYS_write, fd, KERNEL_ADDR, 10), EFAULT);
	char buf[8] = "abcdefg";
	CHECK_RET("null.read", read(fd, buf, sizeof buf), 0);
	CHECK("null.read_untouched", buf[0] == 'a');
	CHECK_RET("null.read_unmapped", syscall(SYS_read, fd, g + PAGE, 100), 0);
	CHECK_ERR("null.read_kernel", syscall(SYS_read, fd, KERNEL_ADDR, 10), EFAULT);
	close(fd);
	int ro = open_dev("null", O_RDONLY);
	if (CHECK("null.open_ro", ro >= 0)) {
		CHECK_ERR("null.write_rdonly", write(ro, "x", 1), EBADF);
		close(ro);
	}
}

static void zero_device(const char *path, char *g, int full)
{
	char name[64];
	int fd = open_dev(path, O_RDWR);
	snprintf(name, sizeof name, "%s.open", path);
	if (!CHECK(name, fd >= 0))
		return;
	char small[100];
	memset(small, 'x', sizeof small);
	snprintf(name, sizeof name, "%s.read_small", path);
	CHECK_RET(name, read(fd, small, sizeof small), (long)sizeof small);
	snprintf(name, sizeof name, "%s.small_zeros", path);
	CHECK(name, all_zero(small, sizeof small));
	size_t big = 3 * PAGE + 123;
	char *b = malloc(big);
	if (b) {
		memset(b, 'x', big);
		snprintf(name, sizeof name, "%s.read_big", path);
		CHECK_RET(name, read(fd, b, big), (long)big);
		snprintf(name, sizeof name, "%s.big_zeros", path);
		CHECK(name, all_zero(b, big));
		free(b);
	}
	snprintf(name, sizeof name, "%s.read0", path);
	CHECK_RET(name, read(fd, small, 0), 0);
	snprintf(name, sizeof name, "%s.read_kernel", path);
	CHECK_ERR(name, syscall(SYS_read, fd, KERNEL_ADDR, 10), EFAULT);
	snprintf(name, sizeof name, "%s.read_unmapped", path);
	CHECK_ERR(name, syscall(SYS_read, fd, g + PAGE, 10), EFAULT);
	/* A buffer that turns bad: never more than the good part is reported. */
	memset(g, 'x', PAGE);
	long r = syscall(SYS_read, fd, g + PAGE - 100, 2 * PAGE);
	snprintf(name, sizeof name, "%s.read_straddle", path);
	CHECKF(name, (r < 0 && errno == EFAULT) || (r > 0 && r <= 100 && all_zero(g + PAGE - 100, (size_t)r)), "r=%ld", r);
	if (full) {
		snprintf(name, sizeof name, "%s.write", path);
		CHECK_ERR(name, write(fd, "x", 1), ENOSPC);
		snprintf(name, sizeof name, "%s.write0", path);
		CHECK_ERR(name, write(fd, "x", 0), ENOSPC);
	} else {
		snprintf(name, sizeof name, "%s.write", path);
		CHECK_RET(name, write(fd, "x", 1), 1);
		snprintf(name, sizeof name, "%s.write_unmapped", path);
		CHECK_RET(name, syscall(SYS_write, fd, g + PAGE, 100), 100);
	}
	close(fd);
}

/* A regular file: small writes and reads (one stack chunk), a large one, EFAULT on bad memory. */
static void regular_file(char *g)
{
	int fd = open("/tmp/t_devmem.file", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (!CHECK("file.open", fd >= 0))
		return;
	char out[256], in[256];
	for (int i = 0; i < 256; i++)
		out[i] = (char)(i * 7);
	CHECK_RET("file.write1", write(fd, out, 1), 1);
	CHECK_RET("file.write255", write(fd, out + 1, 255), 255);
	CHECK_ERR("file.write_unmapped", syscall(SYS_write, fd, g + PAGE, 10), EFAULT);
	CHECK_ERR("file.write_straddle", syscall(SYS_write, fd, g + PAGE - 10, 20), EFAULT);
	size_t big = 70000;
	char *b = malloc(big);
	if (b) {
		for (size_t i = 0; i < big; i++)
			b[i] = (char)(i * 13);
		CHECK_RET("file.write_big", write(fd, b, big), (long)big);
	}
	CHECK_RET("file.seek", lseek(fd, 0, SEEK_SET), 0);
	CHECK_RET("file.read0", read(fd, in, 0), 0);
	CHECK_RET("file.read1", read(fd, in, 1), 1);
	CHECK_RET("file.read255", read(fd, in + 1, 255), 255);
	CHECK("file.small_same", memcmp(in, out, 256) == 0);
	/* A failed copy-out gives the bytes back: the next read gets them. */
	CHECK_ERR("file.read_unmapped", syscall(SYS_read, fd, g + PAGE, 10), EFAULT);
	CHECK_RET("file.offset_kept", lseek(fd, 0, SEEK_CUR), 256);
	if (b) {
		char *c = malloc(big);
		if (c) {
			CHECK_RET("file.read_big", read(fd, c, big), (long)big);
			CHECK("file.big_same", memcmp(b, c, big) == 0);
			free(c);
		}
		free(b);
	}
	CHECK_RET("file.read_eof", read(fd, in, 10), 0);
	close(fd);
	unlink("/tmp/t_devmem.file");
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	char *g = guarded();
	if (!CHECK("guarded_mmap", g != NULL))
		return utest_done();
	find_devices();
	null_device(g);
	zero_device("zero", g, 0);
	zero_device("full", g, 1);
	regular_file(g);
	if (own_devtmpfs) {
		umount2("/tmp/t_devmem.dev", MNT_DETACH);
		rmdir("/tmp/t_devmem.dev");
	}
	return utest_done();
}
