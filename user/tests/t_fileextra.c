/*
 * t_fileextra - the less common file calls: fallocate (modes, EINVAL/EBADF/ESPIPE/ENODEV/
 * EFBIG/EOPNOTSUPP), fadvise64, readahead, sync_file_range, the legacy getdents (d_type in
 * the last byte), utime/utimes/futimesat, and fcntl's F_SETPIPE_SZ/F_GETPIPE_SZ, F_SETSIG,
 * F_SETOWN(_EX) and F_SETLEASE/F_GETLEASE.  Works under /tmp.
 */
#define UTEST_PROGRAM "t_fileextra"
#include "utest.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <utime.h>
#include <dirent.h>

#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 1
#define FALLOC_FL_PUNCH_HOLE 2
#endif

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#define RESOLVE_NO_XDEV_ 0x01
#define RESOLVE_NO_MAGICLINKS_ 0x02
#define RESOLVE_NO_SYMLINKS_ 0x04
#define RESOLVE_BENEATH_ 0x08
#define RESOLVE_IN_ROOT_ 0x10
#define RESOLVE_CACHED_ 0x20

struct how {
	unsigned long long flags, mode, resolve;
	unsigned long long extra[2];
};

static char dir[64], path[96];

static long file_size(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? (long)st.st_size : -1;
}

static void check_fallocate(void)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK_RET("falloc.grow", fallocate(fd, 0, 0, 8192), 0);
	CHECK_EQ("falloc.size", file_size(fd), 8192);
	CHECK_RET("falloc.inside", fallocate(fd, 0, 100, 100), 0);
	CHECK_EQ("falloc.inside_size", file_size(fd), 8192);
	CHECK_RET("falloc.keep_size", fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 65536), 0);
	CHECK_EQ("falloc.keep_size_size", file_size(fd), 8192);
	char buf[64];
	memset(buf, 'x', sizeof buf);
	pwrite(fd, buf, sizeof buf, 1000);
	CHECK_RET("falloc.punch", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 1010, 20), 0);
	CHECK_RET("falloc.punch_read", pread(fd, buf, sizeof buf, 1000), (long)sizeof buf);
	CHECK("falloc.punched", buf[9] == 'x' && buf[10] == 0 && buf[29] == 0 && buf[30] == 'x');
	CHECK_EQ("falloc.punch_size", file_size(fd), 8192);
	CHECK_ERR("falloc.punch_no_keep", fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 10), EOPNOTSUPP);
	CHECK_ERR("falloc.unknown_mode", fallocate(fd, 0x1000, 0, 10), EOPNOTSUPP);
	CHECK_ERR("falloc.len0", fallocate(fd, 0, 0, 0), EINVAL);
	CHECK_ERR("falloc.neg_len", fallocate(fd, 0, 0, -1), EINVAL);
	CHECK_ERR("falloc.neg_off", fallocate(fd, 0, -1, 10), EINVAL);
	CHECK_ERR("falloc.efbig", fallocate(fd, 0, LLONG_MAX - 10, 100), EFBIG);
	CHECK_ERR("falloc.badfd", fallocate(-1, 0, 0, 10), EBADF);
	int ro = open(path, O_RDONLY);
	CHECK_ERR("falloc.rdonly", fallocate(ro, 0, 0, 10), EBADF);
	close(ro);
	int p[2];
	pipe(p);
	CHECK_ERR("falloc.pipe", fallocate(p[1], 0, 0, 10), ESPIPE);
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	CHECK_ERR("falloc.socket", fallocate(sv[0], 0, 0, 10), ENODEV);

	/* fadvise64 (raw: the libc wrapper returns the error number). */
	CHECK_RET("fadvise.willneed", syscall(SYS_fadvise64, fd, 0, 4096, POSIX_FADV_WILLNEED), 0);
	CHECK_RET("fadvise.dontneed", syscall(SYS_fadvise64, fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	CHECK_ERR("fadvise.bad_advice", syscall(SYS_fadvise64, fd, 0, 0, 99), EINVAL);
	CHECK_ERR("fadvise.pipe", syscall(SYS_fadvise64, p[0], 0, 0, POSIX_FADV_NORMAL), ESPIPE);
	CHECK_ERR("fadvise.badfd", syscall(SYS_fadvise64, -1, 0, 0, POSIX_FADV_NORMAL), EBADF);

	/* readahead. */
	CHECK_RET("readahead.file", readahead(fd, 0, 4096), 0);
	CHECK_ERR("readahead.pipe", readahead(p[0], 0, 10), EINVAL);
	CHECK_ERR("readahead.badfd", readahead(-1, 0, 10), EBADF);
	int wo = open(path, O_WRONLY);
	CHECK_ERR("readahead.wronly", readahead(wo, 0, 10), EBADF);
	close(wo);

	/* sync_file_range. */
	CHECK_RET("sfr.write", sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER), 0);
	CHECK_ERR("sfr.bad_flags", sync_file_range(fd, 0, 0, 8), EINVAL);
	CHECK_ERR("sfr.neg_off", sync_file_range(fd, -1, 0, 0), EINVAL);
	CHECK_ERR("sfr.neg_len", sync_file_range(fd, 0, -1, 0), EINVAL);
	CHECK_ERR("sfr.pipe", sync_file_range(p[0], 0, 0, SYNC_FILE_RANGE_WRITE), ESPIPE);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
	close(fd);
}

struct old_dirent {
	unsigned long d_ino;
	unsigned long d_off;
	unsigned short d_reclen;
	char d_name[];
};

static void check_getdents(void)
{
	char sub[128], file[128];
	snprintf(sub, sizeof sub, "%s/sub", dir);
	snprintf(file, sizeof file, "%s/file", dir);
	mkdir(sub, 0755);
	close(open(file, O_CREAT | O_WRONLY, 0644));
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	char buf[1024];
	long n = syscall(SYS_getdents, fd, buf, sizeof buf);
	CHECKF("getdents.read", n > 0, "n %ld errno %d", n, errno);
	int seen = 0;
	for (long at = 0; at < n;) {
		struct old_dirent *d = (struct old_dirent *)(buf + at);
		unsigned char type = buf[at + d->d_reclen - 1];
		if (strcmp(d->d_name, "sub") == 0)
			seen |= (type == DT_DIR) ? 1 : 16;
		if (strcmp(d->d_name, "file") == 0)
			seen |= (type == DT_REG) ? 2 : 32;
		if (strcmp(d->d_name, ".") == 0)
			seen |= (type == DT_DIR) ? 4 : 64;
		if (d->d_reclen == 0)
			break;
		at += d->d_reclen;
	}
	CHECK_EQ("getdents.types", seen, 7);
	CHECK_RET("getdents.eof", syscall(SYS_getdents, fd, buf, sizeof buf), 0);
	lseek(fd, 0, SEEK_SET);
	CHECK_ERR("getdents.too_small", syscall(SYS_getdents, fd, buf, 8), EINVAL);
	CHECK_ERR("getdents.efault", syscall(SYS_getdents, fd, (void *)8, sizeof buf), EFAULT);
	int reg = open(file, O_RDONLY);
	CHECK_ERR("getdents.notdir", syscall(SYS_getdents, reg, buf, sizeof buf), ENOTDIR);
	close(reg);
	CHECK_ERR("getdents.badfd", syscall(SYS_getdents, -1, buf, sizeof buf), EBADF);
	close(fd);
	rmdir(sub);
	unlink(file);
}

static void check_utimes(void)
{
	struct stat st;
	int fd = open(path, O_RDWR | O_CREAT, 0644);
	close(fd);
	struct utimbuf ub = { .actime = 1000, .modtime = 2000 };
	CHECK_RET("utime.set", utime(path, &ub), 0);
	stat(path, &st);
	CHECK("utime.values", st.st_atime == 1000 && st.st_mtime == 2000);
	CHECK_RET("utime.now", utime(path, NULL), 0);
	stat(path, &st);
	CHECK("utime.now_values", st.st_mtime > 2000);
	struct timeval tv[2] = { { 3000, 250000 }, { 4000, 500000 } };
	CHECK_RET("utimes.set", utimes(path, tv), 0);
	stat(path, &st);
	CHECK("utimes.values", st.st_atime == 3000 && st.st_mtim.tv_nsec == 500000000 && st.st_mtime == 4000);
	struct timeval bad[2] = { { 1, 1000000 }, { 1, 0 } };
	CHECK_ERR("utimes.bad_usec", utimes(path, bad), EINVAL);
	bad[0].tv_usec = -1;
	CHECK_ERR("utimes.neg_usec", utimes(path, bad), EINVAL);
	CHECK_ERR("utimes.enoent", utimes("/nonexistent/x", tv), ENOENT);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	tv[1].tv_sec = 5000;
	CHECK_RET("futimesat.rel", syscall(SYS_futimesat, dfd, "f", tv), 0);
	stat(path, &st);
	CHECK_EQ("futimesat.value", st.st_mtime, 5000);
	CHECK_ERR("futimesat.badfd", syscall(SYS_futimesat, -1, "f", tv), EBADF);
	close(dfd);
}

static void check_pipe_size(void)
{
	int p[2];
	pipe(p);
	CHECK_EQ("pipesz.default", fcntl(p[0], F_GETPIPE_SZ), 65536);
	CHECK_EQ("pipesz.set_page", fcntl(p[1], F_SETPIPE_SZ, 4096), 4096);
	CHECK_EQ("pipesz.get_page", fcntl(p[0], F_GETPIPE_SZ), 4096);
	CHECK_EQ("pipesz.rounded", fcntl(p[1], F_SETPIPE_SZ, 5000), 8192);
	CHECK_EQ("pipesz.min", fcntl(p[1], F_SETPIPE_SZ, 1), 4096);
	fcntl(p[1], F_SETPIPE_SZ, 65536);
	static char data[8192];
	CHECK_RET("pipesz.fill", write(p[1], data, sizeof data), (long)sizeof data);
	CHECK_ERR("pipesz.ebusy", fcntl(p[1], F_SETPIPE_SZ, 4096), EBUSY);
	CHECK_ERR("pipesz.einval", fcntl(p[1], F_SETPIPE_SZ, (1U << 31) + 1), EINVAL);
	CHECK_EQ("pipesz.large_root", fcntl(p[1], F_SETPIPE_SZ, 1 << 20), 1 << 20);
	pid_t pid = fork();
	if (pid == 0) {
		if (setuid(65534) != 0)
			_exit(99);
		_exit(fcntl(p[1], F_SETPIPE_SZ, 2 << 20) == -1 ? errno : 0);
	}
	CHECK_EQ("pipesz.eperm_user", WEXITSTATUS(utest_wait(pid)), EPERM);
	/* A smaller pipe really holds less. */
	char buf[8192];
	read(p[0], buf, sizeof buf);
	fcntl(p[1], F_SETPIPE_SZ, 4096);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	CHECK_RET("pipesz.holds_page", write(p[1], buf, sizeof buf), 4096);
	int fd = open(path, O_RDWR | O_CREAT, 0644);
	CHECK_ERR("pipesz.file_get", fcntl(fd, F_GETPIPE_SZ), EBADF);
	CHECK_ERR("pipesz.file_set", fcntl(fd, F_SETPIPE_SZ, 4096), EBADF);
	close(fd);
	close(p[0]);
	close(p[1]);
}

static void check_owner_sig_lease(void)
{
	int p[2];
	pipe(p);
	CHECK_EQ("sig.default", fcntl(p[0], F_GETSIG), 0);
	CHECK_RET("sig.set", fcntl(p[0], F_SETSIG, SIGUSR1), 0);
	CHECK_EQ("sig.get", fcntl(p[0], F_GETSIG), SIGUSR1);
	CHECK_ERR("sig.einval", fcntl(p[0], F_SETSIG, 65), EINVAL);
	CHECK_EQ("own.default", fcntl(p[0], F_GETOWN), 0);
	CHECK_RET("own.set_pid", fcntl(p[0], F_SETOWN, getpid()), 0);
	CHECK_EQ("own.get_pid", fcntl(p[0], F_GETOWN), getpid());
	CHECK_RET("own.set_pgrp", fcntl(p[0], F_SETOWN, -getpgrp()), 0);
	CHECK_EQ("own.get_pgrp", fcntl(p[0], F_GETOWN), -getpgrp());
	struct f_owner_ex ex;
	CHECK_RET("own.get_ex", fcntl(p[0], F_GETOWN_EX, &ex), 0);
	CHECK("own.ex_pgrp", ex.type == F_OWNER_PGRP && ex.pid == getpgrp());
	ex.type = F_OWNER_TID;
	ex.pid = gettid();
	CHECK_RET("own.set_ex_tid", fcntl(p[0], F_SETOWN_EX, &ex), 0);
	memset(&ex, 0, sizeof ex);
	fcntl(p[0], F_GETOWN_EX, &ex);
	CHECK("own.ex_tid", ex.type == F_OWNER_TID && ex.pid == gettid());
	ex.type = 7;
	CHECK_ERR("own.ex_bad_type", fcntl(p[0], F_SETOWN_EX, &ex), EINVAL);
	CHECK_ERR("own.esrch", fcntl(p[0], F_SETOWN, UTEST_BADPID), ESRCH);
	CHECK_ERR("own.ex_efault", fcntl(p[0], F_GETOWN_EX, (void *)8), EFAULT);

	int fd = open(path, O_RDONLY);
	CHECK_EQ("lease.none", fcntl(fd, F_GETLEASE), F_UNLCK);
	CHECK_RET("lease.rdlck", fcntl(fd, F_SETLEASE, F_RDLCK), 0);
	CHECK_EQ("lease.get_rdlck", fcntl(fd, F_GETLEASE), F_RDLCK);
	CHECK_RET("lease.unlck", fcntl(fd, F_SETLEASE, F_UNLCK), 0);
	CHECK_EQ("lease.get_unlck", fcntl(fd, F_GETLEASE), F_UNLCK);
	CHECK_ERR("lease.bad_type", fcntl(fd, F_SETLEASE, 9), EINVAL);
	int rw = open(path, O_RDWR);
	CHECK_ERR("lease.rdlck_on_writer", fcntl(rw, F_SETLEASE, F_RDLCK), EAGAIN);
	close(rw);
	CHECK_ERR("lease.pipe", fcntl(p[0], F_SETLEASE, F_RDLCK), EINVAL);
	pid_t pid = fork();
	if (pid == 0) {
		if (setuid(65534) != 0)
			_exit(99);
		_exit(fcntl(fd, F_SETLEASE, F_RDLCK) == -1 ? errno : 0);
	}
	CHECK_EQ("lease.not_owner", WEXITSTATUS(utest_wait(pid)), EACCES);
	close(fd);
	close(p[0]);
	close(p[1]);
}

static long o2(int dirfd, const char *p, unsigned long long flags, unsigned long long mode, unsigned long long resolve)
{
	struct how h = { flags, mode, resolve, { 0, 0 } };
	return syscall(SYS_openat2, dirfd, p, &h, 24);
}

/* Whether fd is the file at `p`. */
static int same_file(int fd, const char *p)
{
	struct stat a, b;
	return fd >= 0 && fstat(fd, &a) == 0 && stat(p, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

static void check_openat2(void)
{
	char sub[128], ln[128], abs_ln[128], up[128];
	snprintf(sub, sizeof sub, "%s/sub", dir);
	snprintf(ln, sizeof ln, "%s/ln", dir);
	snprintf(abs_ln, sizeof abs_ln, "%s/abs", dir);
	snprintf(up, sizeof up, "%s/up", dir);
	mkdir(sub, 0755);
	close(open(path, O_CREAT | O_WRONLY, 0644));
	symlink("f", ln);
	symlink("/tmp", abs_ln);
	symlink("..", up);
	int d = open(dir, O_RDONLY | O_DIRECTORY);
	struct how h = { O_RDONLY, 0, 0, { 0, 0 } };
	long fd = syscall(SYS_openat2, d, "f", &h, 24);
	CHECK("openat2.plain", same_file(fd, path));
	close(fd);
	CHECK_ERR("openat2.size_small", syscall(SYS_openat2, d, "f", &h, 23), EINVAL);
	CHECK_ERR("openat2.size_page", syscall(SYS_openat2, d, "f", &h, 4097), E2BIG);
	fd = syscall(SYS_openat2, d, "f", &h, sizeof h);
	CHECK("openat2.size_zero_tail", fd >= 0);
	close(fd);
	h.extra[1] = 1;
	CHECK_ERR("openat2.size_nonzero_tail", syscall(SYS_openat2, d, "f", &h, sizeof h), E2BIG);
	CHECK_ERR("openat2.efault", syscall(SYS_openat2, d, "f", (void *)8, 24), EFAULT);
	CHECK_ERR("openat2.bad_flag", o2(d, "f", 1ULL << 40, 0, 0), EINVAL);
	CHECK_ERR("openat2.mode_no_creat", o2(d, "f", O_RDONLY, 0644, 0), EINVAL);
	CHECK_ERR("openat2.bad_mode", o2(d, "g", O_CREAT | O_WRONLY, 010000, 0), EINVAL);
	CHECK_ERR("openat2.bad_resolve", o2(d, "f", O_RDONLY, 0, 0x40), EINVAL);
	CHECK_ERR("openat2.beneath_in_root", o2(d, "f", O_RDONLY, 0, RESOLVE_BENEATH_ | RESOLVE_IN_ROOT_), EINVAL);
	CHECK_ERR("openat2.path_flags", o2(d, "f", O_PATH | O_RDWR, 0, 0), EINVAL);
	CHECK_ERR("openat2.cached_creat", o2(d, "g", O_CREAT | O_WRONLY, 0644, RESOLVE_CACHED_), EAGAIN);
	/* RESOLVE_NO_SYMLINKS. */
	CHECK_ERR("openat2.nosym", o2(d, "ln", O_RDONLY, 0, RESOLVE_NO_SYMLINKS_), ELOOP);
	CHECK_ERR("openat2.nosym_dir", o2(d, "up/sub", O_RDONLY, 0, RESOLVE_NO_SYMLINKS_), ELOOP);
	fd = o2(d, "ln", O_PATH | O_NOFOLLOW, 0, RESOLVE_NO_SYMLINKS_);
	CHECK("openat2.nosym_opath_nofollow", fd >= 0);
	close(fd);
	fd = o2(d, "sub/../f", O_RDONLY, 0, RESOLVE_NO_SYMLINKS_);
	CHECK("openat2.nosym_plain", same_file(fd, path));
	close(fd);
	/* RESOLVE_BENEATH. */
	fd = o2(d, "sub/../ln", O_RDONLY, 0, RESOLVE_BENEATH_);
	CHECK("openat2.beneath_ok", same_file(fd, path));
	close(fd);
	CHECK_ERR("openat2.beneath_dotdot", o2(d, "../x", O_RDONLY, 0, RESOLVE_BENEATH_), EXDEV);
	CHECK_ERR("openat2.beneath_abs", o2(d, "/tmp", O_RDONLY, 0, RESOLVE_BENEATH_), EXDEV);
	CHECK_ERR("openat2.beneath_abs_link", o2(d, "abs", O_RDONLY, 0, RESOLVE_BENEATH_), EXDEV);
	CHECK_ERR("openat2.beneath_up_link", o2(d, "up/x", O_RDONLY, 0, RESOLVE_BENEATH_), EXDEV);
	/* RESOLVE_IN_ROOT: the dirfd is "/" and ".." stops there. */
	fd = o2(d, "/f", O_RDONLY, 0, RESOLVE_IN_ROOT_);
	CHECK("openat2.in_root_abs", same_file(fd, path));
	close(fd);
	fd = o2(d, "../../f", O_RDONLY, 0, RESOLVE_IN_ROOT_);
	CHECK("openat2.in_root_dotdot", same_file(fd, path));
	close(fd);
	CHECK_ERR("openat2.in_root_abs_link", o2(d, "abs/x", O_RDONLY, 0, RESOLVE_IN_ROOT_), ENOENT);
	/* RESOLVE_NO_XDEV and RESOLVE_NO_MAGICLINKS, through /proc. */
	CHECK_ERR("openat2.no_xdev", o2(AT_FDCWD, "/proc/self/status", O_RDONLY, 0, RESOLVE_NO_XDEV_), EXDEV);
	fd = o2(d, "f", O_RDONLY, 0, RESOLVE_NO_XDEV_);
	CHECK("openat2.no_xdev_same", fd >= 0);
	close(fd);
	char magic[64];
	snprintf(magic, sizeof magic, "/proc/self/fd/%d", d);
	CHECK_ERR("openat2.no_magiclinks", o2(AT_FDCWD, magic, O_RDONLY, 0, RESOLVE_NO_MAGICLINKS_), ELOOP);
	fd = o2(AT_FDCWD, "/proc/self/status", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS_);
	CHECK("openat2.no_magiclinks_self_ok", fd >= 0);
	close(fd);
	close(d);
	unlink(ln);
	unlink(abs_ln);
	unlink(up);
	rmdir(sub);
}

/* struct statx of the Linux ABI (musl's headers may not have it). */
struct xts { int64_t tv_sec; uint32_t tv_nsec; int32_t pad; };
struct xstatx {
	uint32_t stx_mask, stx_blksize; uint64_t stx_attributes; uint32_t stx_nlink, stx_uid, stx_gid;
	uint16_t stx_mode, pad1; uint64_t stx_ino, stx_size, stx_blocks, stx_attributes_mask;
	struct xts stx_atime, stx_btime, stx_ctime, stx_mtime;
	uint32_t stx_rdev_major, stx_rdev_minor, stx_dev_major, stx_dev_minor; uint64_t stx_mnt_id, spare[13];
};
#define STATX_BASIC_STATS 0x7ffu
#define STATX_MNT_ID 0x1000u
#define STATX_ALL 0xfffu
#define STATX_ATTR_MOUNT_ROOT 0x2000
#ifndef AT_STATX_SYNC_AS_STAT
#define AT_STATX_SYNC_AS_STAT 0
#define AT_STATX_FORCE_SYNC 0x2000
#define AT_STATX_DONT_SYNC 0x4000
#endif
#define statx(d, p, f, m, b) syscall(SYS_statx, d, p, f, m, b)

static void check_statx(void)
{
	struct xstatx sx;
	CHECK_RET("statx.file", statx(AT_FDCWD, path, AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS | STATX_MNT_ID, &sx), 0);
	struct stat st;
	stat(path, &st);
	CHECK("statx.basic", (sx.stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS && sx.stx_ino == st.st_ino);
	CHECK("statx.mnt_id", (sx.stx_mask & STATX_MNT_ID) && sx.stx_mnt_id != 0);
	CHECK_EQ("statx.blksize", sx.stx_blksize, st.st_blksize);
	CHECK("statx.dev", makedev(sx.stx_dev_major, sx.stx_dev_minor) == st.st_dev);
	CHECK("statx.attr_mount_root_mask", sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT);
	CHECK("statx.not_mount_root", !(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT));
	CHECK_RET("statx.root", statx(AT_FDCWD, "/", AT_STATX_FORCE_SYNC, STATX_ALL, &sx), 0);
	CHECK("statx.root_is_mount_root", sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
	CHECK_RET("statx.dont_sync", statx(AT_FDCWD, "/", AT_STATX_DONT_SYNC, STATX_ALL, &sx), 0);
	CHECK_ERR("statx.both_sync", statx(AT_FDCWD, "/", AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC, STATX_ALL, &sx), EINVAL);
	CHECK_ERR("statx.reserved", statx(AT_FDCWD, "/", 0, 0x80000000U, &sx), EINVAL);
	CHECK_ERR("statx.bad_flag", statx(AT_FDCWD, "/", 0x10000000, STATX_ALL, &sx), EINVAL);
}

static void check_handles(void)
{
	struct { unsigned int bytes; int type; unsigned char f[128]; } fh = { 128, 0, { 0 } };
	int mnt;
	CHECK_ERR("handle.bad_flags", syscall(SYS_name_to_handle_at, AT_FDCWD, path, &fh, &mnt, 0x4), EINVAL);
	CHECK_ERR("handle.enoent", syscall(SYS_name_to_handle_at, AT_FDCWD, "/nonexistent/x", &fh, &mnt, 0), ENOENT);
	fh.bytes = 0;
	CHECK_ERR("handle.open_zero_size", syscall(SYS_open_by_handle_at, AT_FDCWD, &fh, O_RDONLY), EINVAL);
	CHECK_ERR("handle.open_big_size", (fh.bytes = 129, syscall(SYS_open_by_handle_at, AT_FDCWD, &fh, O_RDONLY)), EINVAL);
	fh.bytes = 8;
	CHECK_ERR("handle.open_badfd", syscall(SYS_open_by_handle_at, -1, &fh, O_RDONLY), EBADF);
	pid_t pid = fork();
	if (pid == 0) {
		if (setuid(65534) != 0)
			_exit(99);
		fh.bytes = 8;
		_exit(syscall(SYS_open_by_handle_at, AT_FDCWD, &fh, O_RDONLY) == -1 ? errno : 0);
	}
	CHECK_EQ("handle.open_eperm", WEXITSTATUS(utest_wait(pid)), EPERM);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	snprintf(dir, sizeof dir, "/tmp/t_fileextra.%d", (int)getpid());
	if (!CHECK_RET("mkdir", mkdir(dir, 0755), 0))
		return utest_done();
	snprintf(path, sizeof path, "%s/f", dir);
	check_fallocate();
	check_getdents();
	check_utimes();
	check_pipe_size();
	check_owner_sig_lease();
	/* Under utest /proc is not mounted: mount it for this test only. */
	int mounted_proc = 0;
	if (access("/proc/self", F_OK) != 0) {
		mkdir("/proc", 0555);
		mounted_proc = mount("proc", "/proc", "proc", 0, NULL) == 0;
	}
	check_openat2();
	check_statx();
	check_handles();
	unlink(path);
	rmdir(dir);
	if (mounted_proc)
		umount("/proc");
	return utest_done();
}
