/*
 * t_memfd - memfd_create: flags and name checks, an anonymous regular file (read, write,
 * truncate, mmap), its /proc/self/fd link, and seals (F_ADD_SEALS/F_GET_SEALS: F_SEAL_SEAL,
 * SHRINK, GROW, WRITE, FUTURE_WRITE enforced on write, ftruncate, fallocate and shared
 * writable mappings; EPERM/EINVAL as Linux).
 */
#define UTEST_PROGRAM "t_memfd"
#include "utest.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

static int memfd(const char *name, unsigned flags)
{
	return (int)syscall(SYS_memfd_create, name, flags);
}

static void check_create(void)
{
	char name[300];
	memset(name, 'n', sizeof name);
	name[249] = 0;
	int fd = memfd(name, 0);
	CHECK_OK("create.name_249", fd);
	close(fd);
	name[249] = 'n';
	name[250] = 0;
	CHECK_ERR("create.name_250_einval", memfd(name, 0), EINVAL);
	/* EINVAL without huge pages (Exo-OS); a Linux with hugetlbfs makes the file. */
	fd = memfd("x", MFD_HUGETLB);
	CHECKF("create.hugetlb", fd >= 0 || errno == EINVAL, "errno %d", errno);
	if (fd >= 0)
		close(fd);
	CHECK_ERR("create.unknown_flag", memfd("x", 0x1000), EINVAL);
	CHECK_ERR("create.efault", memfd((const char *)8, 0), EFAULT);
	fd = memfd("flags", MFD_CLOEXEC);
	CHECK_EQ("create.cloexec", fcntl(fd, F_GETFD), FD_CLOEXEC);
	CHECK_EQ("create.rdwr", fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	struct stat st;
	CHECK_RET("create.fstat", fstat(fd, &st), 0);
	CHECK("create.regular_empty", S_ISREG(st.st_mode) && st.st_size == 0);
	char link[64], want[64];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, want, sizeof want - 1);
	if (n > 0) {
		want[n] = 0;
		CHECKF("create.proc_link", strcmp(want, "/memfd:flags (deleted)") == 0, "link %s", want);
	}
	close(fd);
}

static void check_io(void)
{
	int fd = memfd("io", 0);
	CHECK_RET("io.write", write(fd, "hello world", 11), 11);
	char buf[16] = { 0 };
	CHECK_RET("io.pread", pread(fd, buf, 5, 6), 5);
	CHECK("io.data", memcmp(buf, "world", 5) == 0);
	CHECK_RET("io.ftruncate", ftruncate(fd, 8192), 0);
	char *map = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK("io.mmap", map != MAP_FAILED);
	if (map != MAP_FAILED) {
		map[4096] = 'Z';
		CHECK_RET("io.pread_mapped", pread(fd, buf, 1, 4096), 1);
		CHECK_EQ("io.coherent", buf[0], 'Z');
		munmap(map, 8192);
	}
	/* Without MFD_ALLOW_SEALING the file is sealed against seals. */
	CHECK_EQ("io.no_sealing_get", fcntl(fd, F_GET_SEALS), F_SEAL_SEAL);
	CHECK_ERR("io.no_sealing_add", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EPERM);
	close(fd);
}

static void check_seals(void)
{
	int fd = memfd("seals", MFD_ALLOW_SEALING);
	CHECK_EQ("seals.none", fcntl(fd, F_GET_SEALS), 0);
	CHECK_RET("seals.write_data", write(fd, "0123456789", 10), 10);
	CHECK_ERR("seals.unknown_einval", fcntl(fd, F_ADD_SEALS, 0x100), EINVAL);
	CHECK_RET("seals.add_shrink", fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	CHECK_ERR("seals.shrink_eperm", ftruncate(fd, 5), EPERM);
	CHECK_RET("seals.grow_ok", ftruncate(fd, 20), 0);
	CHECK_RET("seals.add_grow", fcntl(fd, F_ADD_SEALS, F_SEAL_GROW), 0);
	CHECK_ERR("seals.grow_eperm", ftruncate(fd, 40), EPERM);
	CHECK_ERR("seals.write_past_end_eperm", pwrite(fd, "x", 2, 19), EPERM);
	CHECK_RET("seals.write_inside_ok", pwrite(fd, "ab", 2, 0), 2);
	CHECK_ERR("seals.fallocate_grow_eperm", fallocate(fd, 0, 0, 100), EPERM);
	CHECK_RET("seals.same_size_ok", ftruncate(fd, 20), 0);
	CHECK_RET("seals.add_write", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), 0);
	CHECK_ERR("seals.write_eperm", write(fd, "x", 1), EPERM);
	CHECK_ERR("seals.pwrite_eperm", pwrite(fd, "x", 1, 0), EPERM);
	CHECK("seals.mmap_shared_write_eperm", mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED && errno == EPERM);
	void *ro = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	CHECK("seals.mmap_shared_read_ok", ro != MAP_FAILED);
	if (ro != MAP_FAILED)
		munmap(ro, 4096);
	void *priv = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK("seals.mmap_private_write_ok", priv != MAP_FAILED);
	if (priv != MAP_FAILED)
		munmap(priv, 4096);
	char c;
	CHECK_RET("seals.read_ok", pread(fd, &c, 1, 0), 1);
	CHECK_RET("seals.add_seal", fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL), 0);
	CHECK_ERR("seals.sealed_eperm", fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), EPERM);
	CHECK_EQ("seals.get_all", fcntl(fd, F_GET_SEALS), F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
	close(fd);

	fd = memfd("future", MFD_ALLOW_SEALING);
	CHECK_RET("future.add", fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), 0);
	CHECK_ERR("future.write_eperm", write(fd, "x", 1), EPERM);
	CHECK("future.mmap_write_eperm", mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED && errno == EPERM);
	CHECK_RET("future.grow_ok", ftruncate(fd, 4096), 0);
	close(fd);

	/* Seals need a memfd, and a descriptor open for writing. */
	char path[64];
	snprintf(path, sizeof path, "/tmp/t_memfd.%d", (int)getpid());
	int reg = open(path, O_RDWR | O_CREAT, 0600);
	int e = fcntl(reg, F_ADD_SEALS, F_SEAL_WRITE) == -1 ? errno : 0;
	CHECKF("seals.not_memfd", e == EINVAL || e == EPERM, "errno %d", e); /* EPERM on a Linux tmpfs /tmp */
	close(reg);
	unlink(path);
	int p[2];
	if (pipe(p) == 0) {
		CHECK_ERR("seals.pipe_einval", fcntl(p[0], F_GET_SEALS), EINVAL);
		close(p[0]);
		close(p[1]);
	}
	fd = memfd("ro", MFD_ALLOW_SEALING);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	int rd = open(path, O_RDONLY);
	if (rd >= 0) {
		CHECK_ERR("seals.rdonly_eperm", fcntl(rd, F_ADD_SEALS, F_SEAL_SHRINK), EPERM);
		close(rd);
	}
	close(fd);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	/* Under utest /proc is not mounted: mount it for this test only. */
	int mounted_proc = 0;
	if (access("/proc/self", F_OK) != 0) {
		mkdir("/proc", 0555);
		mounted_proc = mount("proc", "/proc", "proc", 0, NULL) == 0;
	}
	check_create();
	check_io();
	check_seals();
	if (mounted_proc)
		umount("/proc");
	return utest_done();
}
