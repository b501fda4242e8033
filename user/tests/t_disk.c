/*
 * t_disk - disk file systems through the system calls: mounting ext2 and vfat from the test
 * disk's partitions (/dev/vda1 ext2, /dev/vda2 FAT, made by xtask), the mount errors Linux
 * gives, file operations on the disk, statfs, st_dev, /proc/mounts, read-only mounts, sync,
 * syncfs and fsync, MS_MOVE and chroot. Needs root and the test disk (under utest, where init
 * mounts no /dev and no /proc, it mounts its own devtmpfs and procfs): on a machine without
 * /dev/vda1 (the host) it reports one "skipped" case.
 */
#include "utest.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>

#define EXT2 "/tmp/t_disk_ext2"
#define FAT "/tmp/t_disk_fat"
#define EXT2_MAGIC 0xEF53
/* The partitions: /dev/vda1 and /dev/vda2, or $T_DISK_DEV1 / $T_DISK_DEV2 (a loop device's
 * partitions on the host: losetup -P of xtask's test disk). */
static const char *dev1 = "/dev/vda1", *dev2 = "/dev/vda2";
#define MSDOS_MAGIC 0x4d44

/* Only Exo-OS gets the test's own devtmpfs: on a Linux host, /dev/vda* are the host's disks. */
static int on_exo(void)
{
	struct utsname u;
	return uname(&u) == 0 && strstr(u.release, "exo") != NULL;
}

/* What the test mounted for itself (utest's init mounts no /dev and no /proc). */
static int mounted_dev, mounted_proc;

static int have_disk(void)
{
	struct stat st;
	if (getenv("T_DISK_DEV1") && getenv("T_DISK_DEV2")) {
		dev1 = getenv("T_DISK_DEV1");
		dev2 = getenv("T_DISK_DEV2");
	} else if (stat(dev1, &st) != 0 && geteuid() == 0 && on_exo()) {
		mkdir("/tmp", 01777);
		mkdir("/tmp/t_disk_dev", 0755);
		mounted_dev = mount("dev", "/tmp/t_disk_dev", "devtmpfs", 0, NULL) == 0;
		if (mounted_dev) {
			dev1 = "/tmp/t_disk_dev/vda1";
			dev2 = "/tmp/t_disk_dev/vda2";
		}
	}
	if (access("/proc/mounts", F_OK) != 0 && geteuid() == 0) {
		mkdir("/proc", 0555);
		mounted_proc = mount("proc", "/proc", "proc", 0, NULL) == 0;
	}
	return stat(dev1, &st) == 0 && S_ISBLK(st.st_mode) && stat(dev2, &st) == 0 && geteuid() == 0;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	int r = fsync(fd);
	close(fd);
	return n == (ssize_t)strlen(text) && r == 0 ? 0 : -1;
}

static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

static int mounts_line(const char *needle)
{
	char buf[8192];
	return read_file("/proc/mounts", buf, sizeof buf) == 0 && strstr(buf, needle) != NULL;
}

static void mount_errors(void)
{
	mkdir(EXT2, 0755);
	write_file("/tmp/t_disk_regular", "x");
	CHECK_ERR("mount_errors.1", mount("/tmp/t_disk_regular", EXT2, "ext2", 0, NULL), ENOTBLK);
	CHECK_ERR("mount_errors.2", mount("/tmp/t_disk_missing", EXT2, "ext2", 0, NULL), ENOENT);
	CHECK_ERR("mount_errors.3", mount(dev1, EXT2, "no-such-fs", 0, NULL), ENODEV);
	CHECK_ERR("mount_errors.4", mount(dev2, EXT2, "ext2", 0, NULL), EINVAL);
	CHECK_ERR("mount_errors.5", mount(dev1, "/tmp/t_disk_regular", "ext2", 0, NULL), ENOTDIR);
	unlink("/tmp/t_disk_regular");
}

static void ext2_files(void)
{
	mkdir(EXT2, 0755);
	CHECK_OK("ext2_mount_and_files.1", mount(dev1, EXT2, "ext2", 0, NULL));
	mkdir("/tmp/t_disk_again", 0755);
	/* Exo-OS mounts a device once (EBUSY); Linux shares the file system between the mounts. */
	int again = mount(dev1, "/tmp/t_disk_again", "ext2", 0, NULL);
	CHECKF("ext2_mount_and_files.2", again == 0 || errno == EBUSY, "second mount: %d errno %d", again, errno);
	if (again == 0)
		umount("/tmp/t_disk_again");
	CHECKF("ext2_mount_and_files.3", mounts_line(" " EXT2 " ext2 rw"), "/proc/mounts line");
	struct statfs sfs;
	CHECK_OK("ext2_mount_and_files.4", statfs(EXT2, &sfs));
	CHECK_EQ("ext2_mount_and_files.5", (long)sfs.f_type, (long)EXT2_MAGIC);
	CHECKF("ext2_mount_and_files.6", sfs.f_blocks > 0 && sfs.f_bfree <= sfs.f_blocks && sfs.f_bavail <= sfs.f_bfree, "block counts");
	CHECK_EQ("ext2_mount_and_files.7", (long)sfs.f_namelen, 255L);
	struct stat dev, root;
	CHECK_OK("ext2_mount_and_files.8", stat(dev1, &dev));
	CHECK_OK("ext2_mount_and_files.9", stat(EXT2, &root));
	CHECK_EQ("ext2_mount_and_files.10", (long)root.st_dev, (long)dev.st_rdev);
	if (!getenv("T_DISK_DEV1")) {
		CHECK_EQ("ext2_mount_and_files.11", (long)major(dev.st_rdev), 254L);
		CHECK_EQ("ext2_mount_and_files.12", (long)minor(dev.st_rdev), 1L);
	}
	CHECK_EQ("ext2_mount_and_files.13", (long)root.st_ino, 2L);

	mkdir(EXT2 "/dir", 0755);
	CHECK_OK("ext2_mount_and_files.14", write_file(EXT2 "/dir/a", "hello disk\n"));
	char buf[256];
	CHECK_OK("ext2_mount_and_files.15", read_file(EXT2 "/dir/a", buf, sizeof buf));
	CHECKF("ext2_mount_and_files.16", strcmp(buf, "hello disk\n") == 0, "got %s", buf);
	int fd = open(EXT2 "/dir/a", O_WRONLY | O_APPEND);
	CHECKF("ext2_mount_and_files.17", fd >= 0 && write(fd, "more\n", 5) == 5 && fdatasync(fd) == 0, "append + fdatasync");
	CHECK_OK("ext2_mount_and_files.18", syncfs(fd));
	close(fd);
	CHECK_OK("ext2_mount_and_files.19", read_file(EXT2 "/dir/a", buf, sizeof buf));
	CHECKF("ext2_mount_and_files.20", strcmp(buf, "hello disk\nmore\n") == 0, "got %s", buf);
	CHECK_OK("ext2_mount_and_files.21", link(EXT2 "/dir/a", EXT2 "/b"));
	struct stat st;
	CHECK_OK("ext2_mount_and_files.22", stat(EXT2 "/b", &st));
	CHECK_EQ("ext2_mount_and_files.23", (long)st.st_nlink, 2L);
	CHECK_OK("ext2_mount_and_files.24", symlink("dir/a", EXT2 "/c"));
	CHECK_OK("ext2_mount_and_files.25", read_file(EXT2 "/c", buf, sizeof buf));
	CHECKF("ext2_mount_and_files.26", strcmp(buf, "hello disk\nmore\n") == 0, "got %s", buf);
	CHECK_OK("ext2_mount_and_files.27", rename(EXT2 "/dir/a", EXT2 "/moved"));
	CHECK_ERR("ext2_mount_and_files.28", rename(EXT2 "/moved", "/tmp/t_disk_xdev"), EXDEV);
	CHECK_ERR("ext2_mount_and_files.29", link(EXT2 "/moved", "/tmp/t_disk_xdev"), EXDEV);
	CHECK_OK("ext2_mount_and_files.30", chmod(EXT2 "/moved", 0600));
	CHECK_OK("ext2_mount_and_files.31", stat(EXT2 "/moved", &st));
	CHECK_EQ("ext2_mount_and_files.32", (long)(st.st_mode & 07777), 0600L);
	CHECK_OK("ext2_mount_and_files.33", truncate(EXT2 "/moved", 3));
	CHECK_OK("ext2_mount_and_files.34", read_file(EXT2 "/moved", buf, sizeof buf));
	CHECKF("ext2_mount_and_files.35", strcmp(buf, "hel") == 0, "got %s", buf);
	CHECK_ERR("ext2_mount_and_files.36", rmdir(EXT2 "/nonexistent"), ENOENT);
	CHECK_OK("ext2_mount_and_files.37", write_file(EXT2 "/dir/x", "x"));
	CHECK_ERR("ext2_mount_and_files.38", rmdir(EXT2 "/dir"), ENOTEMPTY);
	CHECK_OK("ext2_mount_and_files.39", unlink(EXT2 "/dir/x"));
	CHECK_OK("ext2_mount_and_files.40", rmdir(EXT2 "/dir"));
	CHECK_OK("ext2_mount_and_files.41", unlink(EXT2 "/moved"));
	CHECK_OK("ext2_mount_and_files.42", unlink(EXT2 "/b"));
	CHECK_OK("ext2_mount_and_files.43", unlink(EXT2 "/c"));
	sync();
	CHECK_OK("ext2_mount_and_files.44", umount(EXT2));
	CHECKF("ext2_mount_and_files.45", !mounts_line(EXT2), "gone from /proc/mounts");
}

static void ext2_read_only(void)
{
	mkdir(EXT2, 0755);
	CHECK_OK("ext2_read_only_mount.1", mount(dev1, EXT2, "ext2", 0, NULL));
	CHECK_OK("ext2_read_only_mount.2", write_file(EXT2 "/kept", "kept\n"));
	CHECK_OK("ext2_read_only_mount.3", umount(EXT2));
	CHECK_OK("ext2_read_only_mount.4", mount(dev1, EXT2, "ext2", MS_RDONLY, NULL));
	CHECKF("ext2_read_only_mount.5", mounts_line(" " EXT2 " ext2 ro"), "ro in /proc/mounts");
	char buf[64];
	CHECK_OK("ext2_read_only_mount.6", read_file(EXT2 "/kept", buf, sizeof buf));
	CHECKF("ext2_read_only_mount.7", strcmp(buf, "kept\n") == 0, "got %s", buf);
	CHECK_ERR("ext2_read_only_mount.8", open(EXT2 "/new", O_WRONLY | O_CREAT, 0644), EROFS);
	CHECK_ERR("ext2_read_only_mount.9", unlink(EXT2 "/kept"), EROFS);
	CHECK_ERR("ext2_read_only_mount.10", open(EXT2 "/kept", O_WRONLY), EROFS);
	CHECK_OK("ext2_read_only_mount.11", umount(EXT2));
	CHECK_OK("ext2_read_only_mount.12", mount(dev1, EXT2, "ext2", 0, NULL));
	CHECK_OK("ext2_read_only_mount.13", unlink(EXT2 "/kept"));
	CHECK_OK("ext2_read_only_mount.14", umount(EXT2));
}

static void vfat_files(void)
{
	mkdir(FAT, 0755);
	if (getenv("T_DISK_DEV2") && mount(dev2, FAT, "vfat", 0, NULL) != 0 && errno == ENODEV) {
		printf("# t_disk: this kernel has no vfat: its cases are skipped\n");
		return;
	}
	umount(FAT);
	CHECK_OK("vfat_mount_and_long_names.1", mount(dev2, FAT, "vfat", 0, NULL));
	struct statfs sfs;
	CHECK_OK("vfat_mount_and_long_names.2", statfs(FAT, &sfs));
	CHECK_EQ("vfat_mount_and_long_names.3", (long)sfs.f_type, (long)MSDOS_MAGIC);
	CHECK_OK("vfat_mount_and_long_names.4", write_file(FAT "/A Long File Name.txt", "fat\n"));
	char buf[64];
	CHECK_OK("vfat_mount_and_long_names.5", read_file(FAT "/a long file name.TXT", buf, sizeof buf));
	CHECKF("vfat_mount_and_long_names.6", strcmp(buf, "fat\n") == 0, "got %s", buf);
	CHECK_ERR("vfat_mount_and_long_names.7", symlink("x", FAT "/link"), EPERM);
	CHECK_OK("vfat_mount_and_long_names.8", unlink(FAT "/A Long File Name.txt"));
	CHECK_OK("vfat_mount_and_long_names.9", umount(FAT));
}

static void move_mount(void)
{
	mkdir("/tmp/t_disk_m1", 0755);
	mkdir("/tmp/t_disk_m2", 0755);
	CHECK_OK("ms_move.1", mount("tmpfs", "/tmp/t_disk_m1", "tmpfs", 0, NULL));
	CHECK_OK("ms_move.2", write_file("/tmp/t_disk_m1/f", "moved\n"));
	CHECK_OK("ms_move.3", mount("/tmp/t_disk_m1", "/tmp/t_disk_m2", NULL, MS_MOVE, NULL));
	char buf[64];
	CHECK_OK("ms_move.4", read_file("/tmp/t_disk_m2/f", buf, sizeof buf));
	CHECKF("ms_move.5", strcmp(buf, "moved\n") == 0, "got %s", buf);
	struct stat st;
	CHECK_ERR("ms_move.6", stat("/tmp/t_disk_m1/f", &st), ENOENT);
	mkdir("/tmp/t_disk_m2/in", 0755);
	CHECK_ERR("ms_move.7", mount("/tmp/t_disk_m2", "/tmp/t_disk_m2/in", NULL, MS_MOVE, NULL), ELOOP);
	CHECK_ERR("ms_move.8", mount("/tmp/t_disk_m1", "/tmp/t_disk_m2", NULL, MS_MOVE, NULL), EINVAL);
	pid_t child = fork();
	if (child == 0) {
		char got[64] = "";
		if (chroot("/tmp/t_disk_m2") != 0 || chdir("/") != 0 || read_file("/f", got, sizeof got) != 0 || strcmp(got, "moved\n"))
			_exit(1);
		if (setuid(1000) != 0 || chroot("/") != -1 || errno != EPERM)
			_exit(2);
		_exit(0);
	}
	int status = -1;
	waitpid(child, &status, 0);
	CHECKF("chroot", WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
	CHECK_ERR("chroot.notdir", chroot("/tmp/t_disk_m2/f"), ENOTDIR);
	CHECK_OK("ms_move.9", umount("/tmp/t_disk_m2"));
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	if (!have_disk()) {
		printf("# t_disk: no /dev/vda1 and /dev/vda2 (or not root): skipped\n");
		utest_ok("skipped");
	} else {
		mount_errors();
		ext2_files();
		ext2_read_only();
		vfat_files();
		move_mount();
	}
	if (mounted_dev)
		umount("/tmp/t_disk_dev");
	if (mounted_proc)
		umount("/proc");
	return utest_done();
}
