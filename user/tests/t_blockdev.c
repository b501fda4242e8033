/*
 * t_blockdev - block device files on the scratch disk xtask attaches to the user-test boot
 * (xtask/src/disks.rs: 64 MiB, MBR, vda1 40 MiB from 1 MiB, vda2 22 MiB from 41 MiB, the
 * last MiB unpartitioned): /dev/vda and /dev/vda1 are S_IFBLK 254:0 and 254:1; the BLK*
 * ioctls give their sizes; /proc/partitions lists them; a raw read of sector 0 shows the MBR
 * signature; a write + fsync in the unpartitioned last MiB reads back (through another open
 * file too); lseek(SEEK_END) is the size; reads at the end give 0, writes ENOSPC; unknown
 * ioctls ENOTTY.  Only on Exo-OS (uname release containing "exo") and only when /dev/vda
 * exists: elsewhere (the host's Linux, where /dev/vda may be a real disk) it says why and
 * passes without touching anything.
 */
#define UTEST_PROGRAM "t_blockdev"
#include "utest.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>

/* <linux/fs.h>'s numbers (musl-gcc has no kernel headers). */
#ifndef BLKGETSIZE64
#define BLKROGET _IO(0x12, 94)
#define BLKGETSIZE _IO(0x12, 96)
#define BLKSSZGET _IO(0x12, 104)
#define BLKGETSIZE64 _IOR(0x12, 114, size_t)
#endif

#define MIB (1024ull * 1024)
#define DISK_SIZE (64 * MIB)
#define PART1_SIZE (40 * MIB)
#define SCRATCH (63 * MIB)

/* Where the device nodes are: /dev, or a devtmpfs the test mounts (utest's init mounts none). */
static char devdir[64] = "/dev";

static const char *dev(const char *name)
{
	static char paths[4][96];
	static int next;
	char *p = paths[next++ % 4];
	snprintf(p, 96, "%s/%s", devdir, name);
	return p;
}

static int on_exo(void)
{
	struct utsname u;
	return uname(&u) == 0 && strstr(u.release, "exo") != NULL;
}

static void check_node(const char *node, unsigned minor)
{
	struct stat st;
	char name[64];
	const char *path = dev(node);
	snprintf(name, sizeof name, "node_%s", node);
	if (stat(path, &st) != 0) {
		utest_fail(name, "stat: %s", utest_errname(errno));
		return;
	}
	CHECKF(name, S_ISBLK(st.st_mode) && major(st.st_rdev) == 254 && minor(st.st_rdev) == minor,
	       "mode %o rdev %u:%u", st.st_mode, major(st.st_rdev), minor(st.st_rdev));
}

static void check_ioctls(void)
{
	int fd = open(dev("vda"), O_RDONLY);
	int fd1 = open(dev("vda1"), O_RDONLY);
	if (fd < 0 || fd1 < 0) {
		utest_fail("ioctls", "open: %s", utest_errname(errno));
		return;
	}
	unsigned long long size64 = 0, size64_1 = 0;
	unsigned long sectors = 0;
	int ssz = 0, ro = -1;
	CHECK_RET("blkgetsize64", ioctl(fd, BLKGETSIZE64, &size64), 0);
	CHECKF("blkgetsize64_value", size64 == DISK_SIZE, "%llu", size64);
	CHECK_RET("blkgetsize64_part", ioctl(fd1, BLKGETSIZE64, &size64_1), 0);
	CHECKF("blkgetsize64_part_value", size64_1 == PART1_SIZE, "%llu", size64_1);
	CHECK_RET("blkgetsize", ioctl(fd, BLKGETSIZE, &sectors), 0);
	CHECKF("blkgetsize_value", sectors == DISK_SIZE / 512, "%lu", sectors);
	CHECK_RET("blksszget", ioctl(fd, BLKSSZGET, &ssz), 0);
	CHECKF("blksszget_value", ssz == 512, "%d", ssz);
	CHECK_RET("blkroget", ioctl(fd, BLKROGET, &ro), 0);
	CHECKF("blkroget_value", ro == 0, "%d", ro);
	errno = 0;
	CHECKF("unknown_ioctl_enotty", ioctl(fd, _IO(0x12, 200), 0) == -1 && errno == ENOTTY, "errno %s", utest_errname(errno));
	CHECKF("seek_end", lseek(fd, 0, SEEK_END) == (off_t)DISK_SIZE, "lseek");
	char c;
	CHECKF("read_at_end", read(fd, &c, 1) == 0, "read past the end");
	close(fd);
	close(fd1);
}

static void check_proc_partitions(void)
{
	static char text[4096];
	int fd = open("/proc/partitions", O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, text, sizeof text - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		utest_fail("proc_partitions", "read: %s", utest_errname(errno));
		return;
	}
	text[n] = 0;
	CHECKF("proc_partitions_header", strncmp(text, "major minor  #blocks  name", 26) == 0, "%.40s", text);
	CHECKF("proc_partitions_vda", strstr(text, " 254        0      65536 vda\n") != NULL, "%s", text);
	CHECKF("proc_partitions_vda1", strstr(text, " 254        1      40960 vda1\n") != NULL, "%s", text);
}

static void check_raw_io(void)
{
	static unsigned char sector[512], pattern[8192], back[8192];
	int fd = open(dev("vda"), O_RDWR);
	if (fd < 0) {
		utest_fail("raw_open", "%s", utest_errname(errno));
		return;
	}
	CHECKF("mbr_signature", pread(fd, sector, 512, 0) == 512 && sector[510] == 0x55 && sector[511] == 0xaa,
	       "%02x %02x", sector[510], sector[511]);
	for (unsigned i = 0; i < sizeof pattern; i++)
		pattern[i] = (unsigned char)(i * 7 + getpid());
	/* Unaligned: starts 100 bytes into a page and spans three pages. */
	CHECKF("pwrite_scratch", pwrite(fd, pattern, sizeof pattern, SCRATCH + 100) == (ssize_t)sizeof pattern, "%s",
	       utest_errname(errno));
	CHECK_RET("fsync", fsync(fd), 0);
	int fd2 = open(dev("vda"), O_RDONLY);
	CHECKF("read_back_other_open", fd2 >= 0 && pread(fd2, back, sizeof back, SCRATCH + 100) == (ssize_t)sizeof back &&
	       memcmp(back, pattern, sizeof back) == 0, "data differs");
	if (fd2 >= 0)
		close(fd2);
	CHECKF("write_at_end_enospc", lseek(fd, DISK_SIZE, SEEK_SET) == (off_t)DISK_SIZE && write(fd, pattern, 1) == -1 &&
	       errno == ENOSPC, "errno %s", utest_errname(errno));
	CHECKF("short_write_at_end", pwrite(fd, pattern, 1000, DISK_SIZE - 10) == 10, "short write");
	CHECK_RET("fdatasync", fdatasync(fd), 0);
	close(fd);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	if (!on_exo()) {
		utest_printf("t_blockdev: not Exo-OS (the host's disks are not touched): skipped\n");
		utest_ok("skipped");
		return utest_done();
	}
	int mounted_dev = 0, mounted_proc = 0;
	if (access("/dev/vda", F_OK) != 0) {
		mkdir("/tmp", 01777);
		mkdir("/tmp/t_blockdev", 0755);
		mounted_dev = mount("dev", "/tmp/t_blockdev", "devtmpfs", 0, NULL) == 0;
		if (mounted_dev)
			snprintf(devdir, sizeof devdir, "/tmp/t_blockdev");
	}
	if (access("/proc/partitions", F_OK) != 0)
		mounted_proc = mount("proc", "/proc", "proc", 0, NULL) == 0;
	if (access(dev("vda"), F_OK) != 0) {
		utest_printf("t_blockdev: no /dev/vda (no scratch disk attached): skipped\n");
		utest_ok("skipped");
	} else {
		check_node("vda", 0);
		check_node("vda1", 1);
		check_node("vda2", 2);
		check_ioctls();
		check_proc_partitions();
		check_raw_io();
	}
	if (mounted_dev)
		CHECK_RET("umount_dev", umount2("/tmp/t_blockdev", MNT_DETACH), 0);
	if (mounted_proc)
		CHECK_RET("umount_proc", umount2("/proc", MNT_DETACH), 0);
	return utest_done();
}
