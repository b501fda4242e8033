/*
 * disk.h - the storage cases of the benchmark (issue 16), included once by bench.c after the
 * other cases.  The machine has a virtio-blk disk, /dev/vda, holding a blank ext2 file system
 * (mke2fs -t ext2 -b 4096, no partition table; xtask/src/sidebyside.rs gives both kernels a
 * copy of the same image); disk_setup() mounts it on /mnt before the first disk case:
 *
 *   disk_seq_write_64m        create a file, write n MiB in 64 KiB chunks, fsync, close;
 *                             per MiB (64 MiB), MBps appended
 *   disk_seq_read_cold_64m    read n MiB of that file in 64 KiB chunks after making the
 *                             caches cold (below); per MiB, MBps appended
 *   disk_seq_read_cached_64m  the same read again with the file in the cache; per MiB
 *   disk_create_10k           create + write 4 KiB + close, per file (10,000 files in one
 *                             directory, emptied first)
 *   disk_stat_10k             stat of each of 10,000 files just stat()ed once (cached)
 *   disk_unlink_10k           unlink, per file (10,000 files of 4 KiB)
 *
 * Cold cache, the same procedure on both kernels: sync, umount /mnt, ioctl(BLKFLSBUF) on
 * /dev/vda (drops the device's cached blocks), "3" into /proc/sys/vm/drop_caches if it exists
 * (Linux with procfs; harmless), mount again.  The host's page cache still holds the image:
 * "cold" means cold in the guest.
 *
 * What is measured: `cycles=` is the CPU time of the case's process per operation
 * (CLOCK_THREAD_CPUTIME_ID; under -icount shift=0 one ns is one instruction), `ns=` the elapsed
 * virtual time per operation, as in the other cases.  The two differ by the waits for the disk:
 * while the guest is idle, `sleep=off` makes QEMU's clock jump to the next timer event, so an
 * I/O wait costs whatever timers the kernel has pending during the host's (real) latency -
 * millions of "instructions" per request that no instruction ran, and not deterministic.  The
 * CPU time counts the work done for the operation in the process (system calls, copies, the
 * file system, submitting I/O, interrupts taken while it runs); write-back done by kernel
 * threads and completions handled while the CPU is idle are not in it.
 *
 * Untimed preparation (making the file, creating the files a case needs) ends with sync(), so
 * that a case does not pay for the write-back of the previous one.  The files are made through
 * the directory's descriptor (openat, fstatat, unlinkat with names "f000000"...).
 *
 * bench.c runs the small-file cases first, on the fresh file system: Linux's creates cost 118k
 * instructions per file there, 384k after the sequential cases have written and deleted their
 * 64 MiB (the same with that file deleted before the creates: the history of the file system
 * counts, not the memory the file held).
 *
 * Only as PID 1: a host run does not mount anything.  A kernel without the disk (no /dev/vda,
 * no ext2) gets every case reported "unsupported" with the reason.
 */
#ifndef BENCH_DISK_H
#define BENCH_DISK_H

#include "bench.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#define DISK_DEV "/dev/vda"
#define DISK_MNT "/mnt"
#define DISK_FSTYPE "ext2"
#define DISK_SEQ_FILE DISK_MNT "/seq.dat"
#define DISK_DIR DISK_MNT "/files"
#define DISK_CHUNK (64 * 1024)
#define DISK_MIB (1024 * 1024)
#define DISK_SMALL 4096 /* bytes of each file of the create/stat/unlink cases */

/* Why the disk cases cannot run ("" once the disk is mounted); set by disk_setup(). */
static char disk_unusable[160] = "disk not set up";
static char disk_buf[DISK_CHUNK];

static uint64_t disk_cpu0;

static uint64_t disk_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The disk cases' bench_start(): also notes the CPU time. */
static void disk_start(void)
{
	disk_cpu0 = disk_cpu_ns();
	bench_start();
}

/* The disk cases' bench_stop() (once per batch): the cycles become the CPU time (see above). */
static void disk_stop(void)
{
	bench_stop();
	bench_cyc_total = disk_cpu_ns() - disk_cpu0;
}

/* bench_fail() for a call whose errno was saved before clean-up calls. */
static const char *disk_fail(const char *what, int e)
{
	errno = e;
	return bench_fail(what);
}

static const char *disk_mount(void)
{
	if (mount(DISK_DEV, DISK_MNT, DISK_FSTYPE, 0, NULL) != 0)
		return bench_fail("mount " DISK_DEV " on " DISK_MNT " (" DISK_FSTYPE ")");
	return NULL;
}

/*
 * In PID 1 before the first disk case (the modules are loaded by then): waits up to 2 s for
 * /dev/vda (devtmpfs), mounts it on /mnt.  A failure is kept in disk_unusable.
 */
static void disk_setup(int pid1)
{
	const char *why = NULL;
	if (!pid1) {
		snprintf(disk_unusable, sizeof disk_unusable, "not PID 1 (mounts a scratch disk only as init)");
		return;
	}
	mkdir(DISK_MNT, 0755);
	for (int i = 0; i < 200 && access(DISK_DEV, F_OK) != 0; i++)
		usleep(10000);
	if (access(DISK_DEV, F_OK) != 0)
		why = bench_fail("no " DISK_DEV);
	else
		why = disk_mount();
	snprintf(disk_unusable, sizeof disk_unusable, "%s", why ? why : "");
}

/* At the end of the run: unmounts the disk if disk_setup() mounted it. */
static void disk_teardown(void)
{
	if (!disk_unusable[0])
		umount(DISK_MNT);
}

/* NULL when the disk is usable: set up, and /mnt still a mount point (not the root's tmpfs). */
static const char *disk_check(void)
{
	struct stat root, mnt;
	if (disk_unusable[0])
		return disk_unusable;
	if (stat("/", &root) != 0 || stat(DISK_MNT, &mnt) != 0)
		return bench_fail("stat " DISK_MNT);
	if (root.st_dev == mnt.st_dev) {
		errno = ENODEV;
		return bench_fail(DISK_MNT " is no longer mounted");
	}
	return NULL;
}

/* Appends " MBps=<x>" for `bytes` over the measured time (virtual time, like every figure). */
static void disk_mbps(uint64_t bytes)
{
	uint64_t ns = bench_ns_total ? bench_ns_total : 1;
	uint64_t mbps10 = bytes * 10000ull / ns; /* 10 x bytes per us */
	snprintf(bench_extra, sizeof bench_extra, " MBps=%llu.%llu", (unsigned long long)(mbps10 / 10),
		 (unsigned long long)(mbps10 % 10));
}

/* Creates the file and writes `mib` MiB in 64 KiB chunks, then fsync and close. */
static const char *disk_write_file(long mib)
{
	int fd = open(DISK_SEQ_FILE, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return bench_fail("create " DISK_SEQ_FILE);
	for (long i = 0; i < mib * (DISK_MIB / DISK_CHUNK); i++) {
		disk_buf[0] = (char)i;
		if (write_full(fd, disk_buf, DISK_CHUNK) != 0) {
			int e = errno;
			close(fd);
			return disk_fail("write " DISK_SEQ_FILE, e);
		}
	}
	if (fsync(fd) != 0) {
		int e = errno;
		close(fd);
		return disk_fail("fsync " DISK_SEQ_FILE, e);
	}
	if (close(fd) != 0)
		return bench_fail("close " DISK_SEQ_FILE);
	return NULL;
}

/* Reads the first `mib` MiB of the file in 64 KiB chunks. */
static const char *disk_read_file(long mib)
{
	int fd = open(DISK_SEQ_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return bench_fail("open " DISK_SEQ_FILE);
	for (long i = 0; i < mib * (DISK_MIB / DISK_CHUNK); i++) {
		if (read_full(fd, disk_buf, DISK_CHUNK) != 0) {
			int e = errno ? errno : EIO;
			close(fd);
			return disk_fail("read " DISK_SEQ_FILE, e);
		}
	}
	close(fd);
	return NULL;
}

/* The file of the read cases, at least `mib` MiB (written, untimed, when it is not). */
static const char *disk_seq_file(long mib)
{
	struct stat st;
	if (stat(DISK_SEQ_FILE, &st) == 0 && st.st_size >= (off_t)mib * DISK_MIB)
		return NULL;
	const char *why = disk_write_file(mib);
	sync();
	return why;
}

/* Cold caches: sync, umount, BLKFLSBUF on the device, drop_caches if there is one, mount. */
static const char *disk_make_cold(void)
{
	const char *why = NULL;
	sync();
	if (umount(DISK_MNT) != 0)
		return bench_fail("umount " DISK_MNT);
	int fd = open(DISK_DEV, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		why = bench_fail("open " DISK_DEV);
	} else {
		if (ioctl(fd, BLKFLSBUF, 0) != 0)
			why = bench_fail("ioctl(" DISK_DEV ", BLKFLSBUF)");
		close(fd);
	}
	int dc = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (dc >= 0) {
		write_full(dc, "3\n", 2);
		close(dc);
	}
	const char *mounted = disk_mount();
	return why ? why : mounted;
}

static const char *case_disk_seq_write_64m(long n)
{
	const char *why = disk_check();
	if (why)
		return why;
	memset(disk_buf, 'w', sizeof disk_buf);
	unlink(DISK_SEQ_FILE); /* a new file each time; freeing the old one is not timed */
	sync();
	disk_start();
	why = disk_write_file(n);
	disk_stop();
	disk_mbps((uint64_t)n * DISK_MIB);
	return why;
}

static const char *case_disk_seq_read_cold_64m(long n)
{
	const char *why = disk_check();
	if (!why)
		why = disk_seq_file(n);
	if (!why)
		why = disk_make_cold();
	if (why)
		return why;
	disk_start();
	why = disk_read_file(n);
	disk_stop();
	disk_mbps((uint64_t)n * DISK_MIB);
	return why;
}

static const char *case_disk_seq_read_cached_64m(long n)
{
	const char *why = disk_check();
	if (!why)
		why = disk_seq_file(n);
	if (!why) /* into the cache */
		why = disk_read_file(n);
	if (why)
		return why;
	disk_start();
	why = disk_read_file(n);
	disk_stop();
	disk_mbps((uint64_t)n * DISK_MIB);
	return why;
}

/* "f" and six digits of i (names of equal length: the same directory layout on each run). */
static void disk_name(char name[8], long i)
{
	name[0] = 'f';
	for (int d = 6; d >= 1; d--) {
		name[d] = (char)('0' + i % 10);
		i /= 10;
	}
	name[7] = 0;
}

/* The directory of the small files, created if needed; its descriptor or -1 (errno). */
static int disk_dir(void)
{
	if (mkdir(DISK_DIR, 0755) != 0 && errno != EEXIST)
		return -1;
	return open(DISK_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* One small file: create, write 4 KiB, close. */
static const char *disk_small_file(int dir, const char *name)
{
	int fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return bench_fail("create " DISK_DIR "/f*");
	if (write_full(fd, disk_buf, DISK_SMALL) != 0) {
		int e = errno;
		close(fd);
		return disk_fail("write " DISK_DIR "/f*", e);
	}
	if (close(fd) != 0)
		return bench_fail("close " DISK_DIR "/f*");
	return NULL;
}

/* Unlinks every entry of the directory (untimed preparation). */
static const char *disk_empty_dir(void)
{
	DIR *d = opendir(DISK_DIR);
	if (!d)
		return errno == ENOENT ? NULL : bench_fail("opendir " DISK_DIR);
	const char *why = NULL;
	struct dirent *e;
	while (!why && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) != 0)
			why = bench_fail("unlink in " DISK_DIR);
	}
	closedir(d);
	return why;
}

/* Makes f000000 ... f<n-1> exist (4 KiB each; untimed), then sync.  The directory's fd or -1. */
static int disk_small_files(long n, const char **why)
{
	char name[8];
	struct stat st;
	*why = disk_check();
	if (*why)
		return -1;
	memset(disk_buf, 's', DISK_SMALL);
	int dir = disk_dir();
	if (dir < 0) {
		*why = bench_fail("mkdir " DISK_DIR);
		return -1;
	}
	for (long i = 0; i < n && !*why; i++) {
		disk_name(name, i);
		if (fstatat(dir, name, &st, 0) != 0)
			*why = disk_small_file(dir, name);
	}
	sync();
	if (*why) {
		close(dir);
		return -1;
	}
	return dir;
}

static const char *case_disk_create_10k(long n)
{
	char name[8];
	const char *why = disk_check();
	if (why)
		return why;
	unlink(DISK_SEQ_FILE); /* left by a sequential case of an earlier run (not in bench.c's order) */
	why = disk_empty_dir();
	if (why)
		return why;
	memset(disk_buf, 'c', DISK_SMALL);
	int dir = disk_dir();
	if (dir < 0)
		return bench_fail("mkdir " DISK_DIR);
	sync();
	disk_start();
	for (long i = 0; i < n && !why; i++) {
		disk_name(name, i);
		why = disk_small_file(dir, name);
	}
	disk_stop();
	close(dir);
	sync(); /* the write-back of these files is not the next case's */
	return why;
}

static const char *case_disk_stat_10k(long n)
{
	char name[8];
	struct stat st;
	const char *why;
	int dir = disk_small_files(n, &why);
	if (dir < 0)
		return why;
	for (long i = 0; i < n && !why; i++) { /* into the cache */
		disk_name(name, i);
		if (fstatat(dir, name, &st, 0) != 0)
			why = bench_fail("stat " DISK_DIR "/f*");
	}
	disk_start();
	for (long i = 0; i < n && !why; i++) {
		disk_name(name, i);
		if (fstatat(dir, name, &st, 0) != 0)
			why = bench_fail("stat " DISK_DIR "/f*");
		else if (st.st_size != DISK_SMALL)
			why = disk_fail("size of " DISK_DIR "/f* is not 4096", EIO);
	}
	disk_stop();
	close(dir);
	return why;
}

static const char *case_disk_unlink_10k(long n)
{
	char name[8];
	const char *why;
	int dir = disk_small_files(n, &why);
	if (dir < 0)
		return why;
	disk_start();
	for (long i = 0; i < n && !why; i++) {
		disk_name(name, i);
		if (unlinkat(dir, name, 0) != 0)
			why = bench_fail("unlink " DISK_DIR "/f*");
	}
	disk_stop();
	close(dir);
	sync();
	return why;
}

#endif
