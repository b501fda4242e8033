/*
 * t_sysfs - the sysfs file system as programs read it: the CPU lists and cpuN directories,
 * terminals and memory devices (class/tty, class/mem, dev/char links), network interfaces
 * (class/net/lo), block devices (class/block, block/<disk>: dev matching the device node's
 * number, size, ro), statfs's magic, listings, and the read-only rules (EACCES for writes,
 * EPERM for mkdir). utest mounts no /sys: the test mounts its own on Exo-OS.
 */
#include "utest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#define SYSFS_MAGIC 0x62656572

static int on_exo(void)
{
	struct utsname u;
	return uname(&u) == 0 && strstr(u.release, "exo") != NULL;
}

/* The contents of `path` (at most size-1 bytes) or -1. */
static int slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return (int)n;
}

static int has_entry(const char *dir, const char *name)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *e;
	int found = 0;
	while ((e = readdir(d)))
		found |= strcmp(e->d_name, name) == 0;
	closedir(d);
	return found;
}

static void cpu_cases(void)
{
	char buf[128];
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	CHECK("online_read", slurp("/sys/devices/system/cpu/online", buf, sizeof buf) > 0);
	int lo = -1, hi = -1;
	int fields = sscanf(buf, "%d-%d", &lo, &hi);
	long count = fields == 2 ? hi - lo + 1 : fields == 1 ? 1 : -1;
	CHECKF("online_count", lo == 0 && count == n, "online \"%s\" vs %ld CPUs", buf, n);
	CHECK("possible", slurp("/sys/devices/system/cpu/possible", buf, sizeof buf) > 0 && buf[0] == '0');
	CHECK("present", slurp("/sys/devices/system/cpu/present", buf, sizeof buf) > 0 && buf[0] == '0');
	struct stat st;
	CHECK("cpu0_dir", stat("/sys/devices/system/cpu/cpu0", &st) == 0 && S_ISDIR(st.st_mode));
	CHECK("listing", has_entry("/sys/devices/system/cpu", "online") && has_entry("/sys/devices/system/cpu", "cpu0"));
	CHECK_ERR("no_cpu_9999", stat("/sys/devices/system/cpu/cpu9999", &st), ENOENT);
	CHECK_ERR("write_eacces", open("/sys/devices/system/cpu/online", O_WRONLY), EACCES);
	CHECK_ERR("mkdir_eperm", mkdir("/sys/t_sysfs_dir", 0755), EPERM);
	CHECK("file_mode", stat("/sys/devices/system/cpu/online", &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0444);
}

static void device_cases(void)
{
	char buf[256];
	CHECK("console_dev", slurp("/sys/class/tty/console/dev", buf, sizeof buf) > 0 && strcmp(buf, "5:1\n") == 0);
	CHECK("tty_dev", slurp("/sys/class/tty/tty/dev", buf, sizeof buf) > 0 && strcmp(buf, "5:0\n") == 0);
	CHECK("null_dev", slurp("/sys/class/mem/null/dev", buf, sizeof buf) > 0 && strcmp(buf, "1:3\n") == 0);
	ssize_t n = readlink("/sys/dev/char/1:3", buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = 0;
	CHECKF("dev_char_link", n > 8 && strcmp(buf + n - 8, "mem/null") == 0, "link %s", buf);
	CHECK("dev_char_follow", slurp("/sys/dev/char/1:3/dev", buf, sizeof buf) > 0 && strcmp(buf, "1:3\n") == 0);
	CHECK("lo_mtu", slurp("/sys/class/net/lo/mtu", buf, sizeof buf) > 0 && strcmp(buf, "65536\n") == 0);
	CHECK("lo_type", slurp("/sys/class/net/lo/type", buf, sizeof buf) > 0 && strcmp(buf, "772\n") == 0);
	CHECK("lo_ifindex", slurp("/sys/class/net/lo/ifindex", buf, sizeof buf) > 0 && strcmp(buf, "1\n") == 0);
	CHECK("lo_flags", slurp("/sys/class/net/lo/flags", buf, sizeof buf) > 0 && strcmp(buf, "0x9\n") == 0);
	CHECK("lo_address", slurp("/sys/class/net/lo/address", buf, sizeof buf) > 0 && strcmp(buf, "00:00:00:00:00:00\n") == 0);
	CHECK("lo_operstate", slurp("/sys/class/net/lo/operstate", buf, sizeof buf) > 0 && strcmp(buf, "unknown\n") == 0);
	CHECK("net_listing", has_entry("/sys/class/net", "lo"));
}

/* Each disk in /sys/block: dev "M:m", size, ro; with a device node, the same number. */
static void block_cases(void)
{
	DIR *d = opendir("/sys/block");
	if (!CHECK("block_dir", d != NULL))
		return;
	int disks = 0, bad = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || strncmp(e->d_name, "loop", 4) == 0 || strncmp(e->d_name, "zram", 4) == 0)
			continue;
		char path[300], buf[64];
		unsigned ma, mi;
		unsigned long long sectors;
		snprintf(path, sizeof path, "/sys/block/%s/dev", e->d_name);
		if (slurp(path, buf, sizeof buf) <= 0 || sscanf(buf, "%u:%u", &ma, &mi) != 2)
			bad++;
		snprintf(path, sizeof path, "/sys/block/%s/size", e->d_name);
		if (slurp(path, buf, sizeof buf) <= 0 || sscanf(buf, "%llu", &sectors) != 1)
			bad++;
		snprintf(path, sizeof path, "/sys/block/%s/ro", e->d_name);
		if (slurp(path, buf, sizeof buf) <= 0 || (buf[0] != '0' && buf[0] != '1'))
			bad++;
		snprintf(path, sizeof path, "/sys/class/block/%s/dev", e->d_name);
		char again[64];
		if (slurp(path, again, sizeof again) <= 0)
			bad++;
		struct stat st;
		snprintf(path, sizeof path, "/dev/%s", e->d_name);
		if (stat(path, &st) == 0 && (major(st.st_rdev) != ma || minor(st.st_rdev) != mi))
			bad++;
		disks++;
	}
	closedir(d);
	if (disks == 0) {
		utest_printf("# t_sysfs: no disk: block cases skipped\n");
		utest_ok("block_skipped");
		return;
	}
	CHECKF("block_attrs", bad == 0, "%d bad attributes over %d disks", bad, disks);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	int mounted = 0;
	if (access("/sys/devices/system/cpu/online", F_OK) != 0 && on_exo() && geteuid() == 0) {
		mkdir("/sys", 0555);
		mounted = mount("sysfs", "/sys", "sysfs", 0, NULL) == 0;
		CHECK("mount", mounted);
	}
	struct statfs sfs;
	CHECK("statfs_magic", statfs("/sys", &sfs) == 0 && sfs.f_type == SYSFS_MAGIC);
	cpu_cases();
	device_cases();
	block_cases();
	if (mounted)
		CHECK_OK("umount", umount("/sys"));
	return utest_done();
}
