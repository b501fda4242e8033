/*
 * t_attrs - file-attribute syscalls, success and exact errno: stat/lstat/fstat/newfstatat
 * (AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW), statx, chmod/fchmod/fchmodat (S_ISVTX, setuid),
 * chown/fchown/lchown/fchownat as root, access/faccessat/faccessat2 (AT_EACCESS), permission
 * checks as uid/gid 1000 in a forked child (EACCES/EPERM, sticky directories), truncate and
 * ftruncate, utimensat (explicit, UTIME_NOW, UTIME_OMIT, NULL), umask, readv/writev, pread/pwrite,
 * lseek on directories and pipes, statfs/fstatfs and fsync/fdatasync.  Runs as root in a private
 * directory under /tmp.
 */
#define UTEST_PROGRAM "t_attrs"
#include "utest.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>

/* struct statx of the Linux ABI (musl's headers may not have it). */
struct xts { int64_t tv_sec; uint32_t tv_nsec; int32_t pad; };
struct xstatx {
	uint32_t stx_mask, stx_blksize; uint64_t stx_attributes; uint32_t stx_nlink, stx_uid, stx_gid;
	uint16_t stx_mode, pad1; uint64_t stx_ino, stx_size, stx_blocks, stx_attributes_mask;
	struct xts stx_atime, stx_btime, stx_ctime, stx_mtime;
	uint32_t stx_rdev_major, stx_rdev_minor, stx_dev_major, stx_dev_minor; uint64_t spare[14];
};
#define XSTATX_BASIC_STATS 0x7ffu
#define XSTATX_RESERVED 0x80000000u

static char dir[64];

static int put(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	fchmod(fd, mode);
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static struct stat st_of(const char *path, int follow)
{
	struct stat st;
	memset(&st, 0, sizeof st);
	(follow ? stat : lstat)(path, &st);
	return st;
}

static void check_stat(void)
{
	struct stat a, b, c;
	put("f", "hello", 0644);
	symlink("f", "lf");
	mkdir("d", 0755);
	int fd = open("f", O_RDONLY);
	CHECK_RET("stat", stat("f", &a), 0);
	CHECK_RET("fstat", fstat(fd, &b), 0);
	CHECK_RET("lstat.file", lstat("f", &c), 0);
	CHECKF("stat.fields", S_ISREG(a.st_mode) && (a.st_mode & 07777) == 0644 && a.st_size == 5 &&
	       a.st_nlink == 1 && a.st_uid == 0 && a.st_gid == 0 && a.st_blksize > 0,
	       "mode %o size %ld nlink %lu uid %d gid %d blksize %ld", a.st_mode, (long)a.st_size,
	       (unsigned long)a.st_nlink, a.st_uid, a.st_gid, (long)a.st_blksize);
	CHECKF("stat.blocks", a.st_blocks > 0, "st_blocks %ld", (long)a.st_blocks);
	CHECKF("fstat.same", a.st_ino == b.st_ino && a.st_dev == b.st_dev && a.st_mode == b.st_mode &&
	       a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
	       a.st_mtim.tv_nsec == b.st_mtim.tv_nsec, "ino %lu/%lu", (unsigned long)a.st_ino,
	       (unsigned long)b.st_ino);
	CHECK_EQ("lstat.file_same", c.st_ino, a.st_ino);
	CHECK_RET("lstat.link", lstat("lf", &c), 0);
	CHECKF("lstat.link_fields", S_ISLNK(c.st_mode) && c.st_size == 1 && c.st_ino != a.st_ino, "mode %o",
	       c.st_mode);
	CHECKF("stat.dir", S_ISDIR(st_of("d", 1).st_mode) && st_of("d", 1).st_nlink == 2, "mode %o",
	       st_of("d", 1).st_mode);
	memset(&c, 0, sizeof c);
	CHECK_RET("newfstatat.empty_path", syscall(SYS_newfstatat, fd, "", &c, AT_EMPTY_PATH), 0);
	CHECK_EQ("newfstatat.empty_path_ino", c.st_ino, a.st_ino);
	CHECK_SYSERR("newfstatat.empty_no_flag", syscall(SYS_newfstatat, fd, "", &c, 0), ENOENT);
	memset(&c, 0, sizeof c);
	CHECK_RET("newfstatat.empty_fdcwd", syscall(SYS_newfstatat, AT_FDCWD, "", &c, AT_EMPTY_PATH), 0);
	CHECK_EQ("newfstatat.empty_fdcwd_ino", c.st_ino, st_of(".", 1).st_ino);
	CHECK_RET("newfstatat.nofollow", syscall(SYS_newfstatat, AT_FDCWD, "lf", &c, AT_SYMLINK_NOFOLLOW), 0);
	CHECKF("newfstatat.nofollow_link", S_ISLNK(c.st_mode), "mode %o", c.st_mode);
	CHECK_RET("newfstatat.follow", syscall(SYS_newfstatat, AT_FDCWD, "lf", &c, 0), 0);
	CHECK_EQ("newfstatat.follow_target", c.st_ino, a.st_ino);
	CHECK_SYSERR("newfstatat.bad_flags", syscall(SYS_newfstatat, AT_FDCWD, "f", &c, 0x1), EINVAL);
	CHECK_SYSERR("newfstatat.efault", syscall(SYS_newfstatat, AT_FDCWD, "f", (void *)8, 0), EFAULT);
	CHECK_ERR("stat.enoent", stat("nothere", &c), ENOENT);
	CHECK_ERR("stat.enotdir", stat("f/x", &c), ENOTDIR);
	CHECK_ERR("fstat.ebadf", fstat(999, &c), EBADF);
	int pfd = open("f", O_PATH);
	CHECKF("fstat.o_path", fstat(pfd, &c) == 0 && c.st_ino == a.st_ino, "errno %s", utest_errname(errno));
	close(pfd);

	struct xstatx x;
	memset(&x, 0, sizeof x);
	CHECK_RET("statx", syscall(SYS_statx, AT_FDCWD, "f", 0, XSTATX_BASIC_STATS, &x), 0);
	CHECKF("statx.mask", (x.stx_mask & XSTATX_BASIC_STATS) == XSTATX_BASIC_STATS, "mask %#x", x.stx_mask);
	CHECKF("statx.fields", x.stx_size == 5 && x.stx_mode == a.st_mode && x.stx_nlink == 1 &&
	       x.stx_ino == a.st_ino && x.stx_uid == a.st_uid && x.stx_gid == a.st_gid &&
	       x.stx_blocks == (uint64_t)a.st_blocks && x.stx_blksize == (uint32_t)a.st_blksize,
	       "size %lu mode %o nlink %u ino %lu", (unsigned long)x.stx_size, x.stx_mode, x.stx_nlink,
	       (unsigned long)x.stx_ino);
	CHECKF("statx.dev", x.stx_dev_major == major(a.st_dev) && x.stx_dev_minor == minor(a.st_dev),
	       "%u:%u vs %u:%u", x.stx_dev_major, x.stx_dev_minor, major(a.st_dev), minor(a.st_dev));
	CHECKF("statx.mtime", x.stx_mtime.tv_sec == a.st_mtim.tv_sec && x.stx_mtime.tv_nsec == a.st_mtim.tv_nsec,
	       "%ld.%u vs %ld.%ld", (long)x.stx_mtime.tv_sec, x.stx_mtime.tv_nsec, (long)a.st_mtim.tv_sec,
	       a.st_mtim.tv_nsec);
	memset(&x, 0, sizeof x);
	CHECK_RET("statx.empty_path", syscall(SYS_statx, fd, "", AT_EMPTY_PATH, XSTATX_BASIC_STATS, &x), 0);
	CHECK_EQ("statx.empty_path_ino", x.stx_ino, a.st_ino);
	CHECK_RET("statx.nofollow", syscall(SYS_statx, AT_FDCWD, "lf", AT_SYMLINK_NOFOLLOW, XSTATX_BASIC_STATS, &x), 0);
	CHECKF("statx.nofollow_link", S_ISLNK(x.stx_mode) && x.stx_size == 1, "mode %o", x.stx_mode);
	CHECK_SYSERR("statx.enoent", syscall(SYS_statx, AT_FDCWD, "nothere", 0, XSTATX_BASIC_STATS, &x), ENOENT);
	CHECK_SYSERR("statx.bad_flags", syscall(SYS_statx, AT_FDCWD, "f", 0x1, XSTATX_BASIC_STATS, &x), EINVAL);
	CHECK_SYSERR("statx.reserved_mask", syscall(SYS_statx, AT_FDCWD, "f", 0, XSTATX_RESERVED, &x), EINVAL);
	CHECK_SYSERR("statx.efault", syscall(SYS_statx, AT_FDCWD, "f", 0, XSTATX_BASIC_STATS, (void *)8), EFAULT);
	close(fd);
}

static void check_chmod_chown(void)
{
	struct stat st;
	int fd = open("f", O_RDWR);
	CHECK_RET("chmod", chmod("f", 0640), 0);
	CHECK_EQ("chmod.readback", st_of("f", 1).st_mode, S_IFREG | 0640);
	CHECK_RET("fchmod", fchmod(fd, 04711), 0);
	CHECK_EQ("fchmod.readback", st_of("f", 1).st_mode, S_IFREG | 04711);
	CHECK_RET("fchmodat", syscall(SYS_fchmodat, AT_FDCWD, "f", 0600), 0);
	CHECK_EQ("fchmodat.readback", st_of("f", 1).st_mode, S_IFREG | 0600);
	CHECK_RET("chmod.type_bits_ignored", chmod("f", S_IFDIR | 0644), 0);
	CHECK_EQ("chmod.type_kept", st_of("f", 1).st_mode, S_IFREG | 0644);
	CHECK_RET("chmod.via_symlink", chmod("lf", 0604), 0);
	CHECKF("chmod.via_symlink_target", st_of("f", 1).st_mode == (S_IFREG | 0604) &&
	       (st_of("lf", 0).st_mode & 0777) == 0777, "f %o lf %o", st_of("f", 1).st_mode, st_of("lf", 0).st_mode);
	CHECK_RET("chmod.sticky_dir", chmod("d", 01777), 0);
	CHECK_EQ("chmod.sticky_readback", st_of("d", 1).st_mode, S_IFDIR | 01777);
	CHECK_ERR("chmod.enoent", chmod("nothere", 0644), ENOENT);
	CHECK_ERR("fchmod.ebadf", fchmod(999, 0644), EBADF);
	int pfd = open("f", O_PATH);
	CHECK_SYSERR("fchmod.o_path", syscall(SYS_fchmod, pfd, 0644), EBADF);
	close(pfd);
	CHECK_SYSERR("fchmodat.bad_dirfd", syscall(SYS_fchmodat, 999, "f", 0644), EBADF);
	chmod("f", 0644), chmod("d", 0755);

	CHECK_RET("chown", chown("f", 1000, 1001), 0);
	st = st_of("f", 1);
	CHECKF("chown.readback", st.st_uid == 1000 && st.st_gid == 1001, "uid %d gid %d", st.st_uid, st.st_gid);
	CHECK_RET("chown.keep_uid", chown("f", -1, 2000), 0);
	st = st_of("f", 1);
	CHECKF("chown.keep_uid_readback", st.st_uid == 1000 && st.st_gid == 2000, "uid %d gid %d", st.st_uid, st.st_gid);
	CHECK_RET("chown.keep_gid", chown("f", 3000, -1), 0);
	st = st_of("f", 1);
	CHECKF("chown.keep_gid_readback", st.st_uid == 3000 && st.st_gid == 2000, "uid %d gid %d", st.st_uid, st.st_gid);
	CHECK_RET("fchown", fchown(fd, 0, 0), 0);
	st = st_of("f", 1);
	CHECKF("fchown.readback", st.st_uid == 0 && st.st_gid == 0, "uid %d gid %d", st.st_uid, st.st_gid);
	CHECK_RET("lchown", lchown("lf", 1000, 1000), 0);
	CHECKF("lchown.link_only", st_of("lf", 0).st_uid == 1000 && st_of("f", 1).st_uid == 0, "link %d file %d",
	       st_of("lf", 0).st_uid, st_of("f", 1).st_uid);
	CHECK_RET("chown.follows", chown("lf", 5, 5), 0);
	CHECKF("chown.follows_target", st_of("lf", 0).st_uid == 1000 && st_of("f", 1).st_uid == 5, "link %d file %d",
	       st_of("lf", 0).st_uid, st_of("f", 1).st_uid);
	CHECK_RET("fchownat.nofollow", fchownat(AT_FDCWD, "lf", 7, 7, AT_SYMLINK_NOFOLLOW), 0);
	CHECK_EQ("fchownat.nofollow_link", st_of("lf", 0).st_uid, 7);
	CHECK_RET("fchownat.empty_path", fchownat(fd, "", 8, 9, AT_EMPTY_PATH), 0);
	st = st_of("f", 1);
	CHECKF("fchownat.empty_path_readback", st.st_uid == 8 && st.st_gid == 9, "uid %d gid %d", st.st_uid, st.st_gid);
	CHECK_ERR("fchownat.bad_flags", fchownat(AT_FDCWD, "f", 0, 0, 0x1), EINVAL);
	CHECK_ERR("chown.enoent", chown("nothere", 0, 0), ENOENT);
	CHECK_ERR("fchown.ebadf", fchown(999, 0, 0), EBADF);
	/* Linux clears setuid (and setgid when group-executable) on chown of a non-directory, also for root. */
	chmod("f", 06755);
	CHECK_RET("chown.setuid_file", chown("f", 0, 0), 0);
	CHECK_EQ("chown.clears_setuid", st_of("f", 1).st_mode, S_IFREG | 0755);
	chmod("d", 02755);
	CHECK_RET("chown.setgid_dir", chown("d", 0, 0), 0);
	CHECK_EQ("chown.dir_keeps_setgid", st_of("d", 1).st_mode, S_IFDIR | 02755);
	chmod("d", 0755), chmod("f", 0644);
	close(fd);
}

static void check_access(void)
{
	put("none", "", 0);
	put("xonly", "", 0100);
	symlink("missing", "ldang");
	CHECK_RET("access.f_ok", access("f", F_OK), 0);
	CHECK_RET("access.rw", access("f", R_OK | W_OK), 0);
	CHECK_RET("access.root_rw_mode0", access("none", R_OK | W_OK), 0);
	CHECK_ERR("access.root_x_no_xbit", access("f", X_OK), EACCES);
	CHECK_RET("access.root_x_one_xbit", access("xonly", X_OK), 0);
	CHECK_RET("access.dir_x", access("d", X_OK), 0);
	CHECK_ERR("access.enoent", access("nothere", F_OK), ENOENT);
	CHECK_ERR("access.enotdir", access("f/x", F_OK), ENOTDIR);
	CHECK_ERR("access.bad_mode", access("f", 0x10), EINVAL);
	CHECK_ERR("access.dangling", access("ldang", F_OK), ENOENT);
	int dfd = open(".", O_RDONLY | O_DIRECTORY);
	CHECK_RET("faccessat", syscall(SYS_faccessat, dfd, "f", R_OK), 0);
	CHECK_SYSERR("faccessat.bad_dirfd", syscall(SYS_faccessat, 999, "f", R_OK), EBADF);
	CHECK_RET("faccessat2", syscall(SYS_faccessat2, dfd, "f", R_OK, 0), 0);
	CHECK_RET("faccessat2.nofollow", syscall(SYS_faccessat2, dfd, "ldang", F_OK, AT_SYMLINK_NOFOLLOW), 0);
	CHECK_SYSERR("faccessat2.bad_flags", syscall(SYS_faccessat2, dfd, "f", R_OK, 0x1), EINVAL);
	CHECK_SYSERR("faccessat2.bad_mode", syscall(SYS_faccessat2, dfd, "f", 0x10, 0), EINVAL);
	close(dfd);
	unlink("none"), unlink("xonly"), unlink("ldang");
}

/* ---- non-root checks: a forked child changes its ids and reports errnos through a pipe ---- */

static const struct { const char *name; int err; } nonroot[] = {
	{ "nonroot.open_0600", EACCES }, { "nonroot.open_write_0644", EACCES },
	{ "nonroot.open_read_0644", 0 }, { "nonroot.mkdir_in_0755", EACCES },
	{ "nonroot.create_in_0755", EACCES }, { "nonroot.unlink_in_0755", EACCES },
	{ "nonroot.traverse_0700", EACCES }, { "nonroot.opendir_0700", EACCES },
	{ "nonroot.chdir_0700", EACCES }, { "nonroot.sticky_unlink_other", EPERM },
	{ "nonroot.sticky_rename_other", EPERM }, { "nonroot.sticky_create_own", 0 },
	{ "nonroot.access_w", EACCES }, { "nonroot.access_r", 0 }, { "nonroot.access_x", 0 },
	{ "nonroot.chmod_other", EPERM }, { "nonroot.chown_other", EPERM },
	{ "nonroot.chown_own_to_other_uid", EPERM }, { "nonroot.chown_own_gid_nonmember", EPERM },
	{ "nonroot.chown_own_own_gid", 0 }, { "nonroot.chmod_own", 0 },
	{ "nonroot.utimensat_explicit_other", EPERM }, { "nonroot.utimensat_now_writable", 0 },
	{ "nonroot.utimensat_now_readonly", EACCES }, { "nonroot.truncate_other", EACCES },
	{ "nonroot.setuid_root", EPERM }, { "nonroot.sticky_unlink_own", 0 },
	{ "eaccess.access_real_uid", EACCES }, { "eaccess.faccessat_real_uid", EACCES },
	{ "eaccess.faccessat2_at_eaccess", 0 },
};
#define NONROOT_N 27
#define NCASES ((int)(sizeof nonroot / sizeof nonroot[0]))

static long nonroot_op(int i)
{
	struct stat st;
	struct timespec ts[2] = { { 1, 0 }, { 2, 0 } };
	long r;
	switch (i) {
	case 0: return open("r600", O_RDONLY);
	case 1: return open("r644", O_WRONLY);
	case 2: r = open("r644", O_RDONLY); close(r); return r;
	case 3: return mkdir("r755/x", 0755);
	case 4: return open("r755/new", O_WRONLY | O_CREAT, 0644);
	case 5: return unlink("r755/g");
	case 6: return stat("priv/x", &st);
	case 7: return open("priv", O_RDONLY | O_DIRECTORY);
	case 8: return chdir("priv");
	case 9: return unlink("sticky/rootfile");
	case 10: return rename("sticky/rootfile", "sticky/mine2");
	case 11: r = open("sticky/mine", O_WRONLY | O_CREAT | O_EXCL, 0644); close(r); return r;
	case 12: return access("r644", W_OK);
	case 13: return access("r644", R_OK);
	case 14: return access("rx", X_OK);
	case 15: return chmod("r644", 0666);
	case 16: return chown("r644", 1000, 1000);
	case 17: return chown("sticky/mine", 2000, -1);
	case 18: return chown("sticky/mine", -1, 0);
	case 19: return chown("sticky/mine", -1, 1000);
	case 20: return chmod("sticky/mine", 0600);
	case 21: return utimensat(AT_FDCWD, "r666", ts, 0);
	case 22: return utimensat(AT_FDCWD, "r666", NULL, 0);
	case 23: return utimensat(AT_FDCWD, "r644", NULL, 0);
	case 24: return truncate("r644", 0);
	case 25: return setuid(0);
	case 26: return unlink("sticky/mine");
	case 27: return access("r600", R_OK);
	case 28: return syscall(SYS_faccessat, AT_FDCWD, "r600", R_OK);
	case 29: return syscall(SYS_faccessat2, AT_FDCWD, "r600", R_OK, AT_EACCESS);
	}
	return -1;
}

static void check_nonroot(void)
{
	int res[NCASES], p[2];
	put("r600", "secret", 0600), put("r644", "public", 0644), put("r666", "shared", 0666);
	put("rx", "", 0755);
	mkdir("r755", 0755), put("r755/g", "g", 0644);
	mkdir("priv", 0700), put("priv/x", "x", 0644);
	mkdir("sticky", 0755), chmod("sticky", 01777), put("sticky/rootfile", "r", 0666);
	for (int i = 0; i < NCASES; i++)
		res[i] = -3;
	for (int phase = 0; phase < 2 && pipe(p) == 0; phase++) {
		int lo = phase == 0 ? 0 : NONROOT_N, hi = phase == 0 ? NONROOT_N : NCASES;
		size_t len = (hi - lo) * sizeof(int);
		pid_t pid = fork();
		if (pid == 0) {
			/* phase 0: uid/gid 1000, no groups; phase 1: real uid 1000, effective uid 0. */
			int bad = setgroups(0, NULL) < 0 ||
				  (phase == 0 ? setgid(1000) < 0 || setuid(1000) < 0 : setresuid(1000, 0, 0) < 0);
			for (int i = lo; i < hi; i++) {
				errno = 0;
				res[i] = bad ? -2 : nonroot_op(i) == -1 ? errno : 0;
			}
			_exit(write(p[1], res + lo, len) == (ssize_t)len ? 0 : 1);
		}
		close(p[1]);
		if (read(p[0], res + lo, len) != (ssize_t)len)
			for (int i = lo; i < hi; i++)
				res[i] = -3;
		close(p[0]);
		utest_check_exit(phase == 0 ? "nonroot.child" : "eaccess.child", utest_wait(pid), 0);
	}
	for (int i = 0; i < NCASES; i++)
		CHECKF(nonroot[i].name, res[i] == nonroot[i].err, "expected %s, got %s (%d)",
		       utest_errname(nonroot[i].err), res[i] == -2 ? "setuid failed" : res[i] == -3 ? "no report" : utest_errname(res[i]), res[i]);
	CHECK_RET("nonroot.sticky_other_kept", access("sticky/rootfile", F_OK), 0);
	CHECK_RET("nonroot.r644_kept", (long)st_of("r644", 1).st_size, 6);
}

static void check_truncate(void)
{
	char buf[32];
	put("t", "hello", 0644);
	CHECK_RET("truncate.grow", truncate("t", 10), 0);
	int fd = open("t", O_RDWR);
	memset(buf, 'X', sizeof buf);
	CHECK_RET("truncate.grow_read", read(fd, buf, sizeof buf), 10);
	CHECK("truncate.grow_zeros", !memcmp(buf, "hello\0\0\0\0\0", 10));
	CHECK_RET("truncate.shrink", truncate("t", 2), 0);
	CHECK_RET("truncate.shrink_read", pread(fd, buf, sizeof buf, 0), 2);
	CHECK_RET("ftruncate.grow", ftruncate(fd, 3 * 4096 + 1), 0);
	CHECK_EQ("ftruncate.grow_size", st_of("t", 1).st_size, 3 * 4096 + 1);
	CHECK_RET("ftruncate.grow_zero_tail", pread(fd, buf, 4, 3 * 4096 - 3) == 4 && !memcmp(buf, "\0\0\0\0", 4), 1);
	CHECK_RET("ftruncate.shrink", ftruncate(fd, 1), 0);
	CHECK_EQ("ftruncate.shrink_size", st_of("t", 1).st_size, 1);
	CHECK_RET("ftruncate.shrink_then_grow", ftruncate(fd, 3) == 0 && pread(fd, buf, 3, 0) == 3 &&
		  !memcmp(buf, "h\0\0", 3), 1);
	CHECK_ERR("truncate.negative", truncate("t", -1), EINVAL);
	CHECK_ERR("ftruncate.negative", ftruncate(fd, -1), EINVAL);
	CHECK_ERR("truncate.dir", truncate("d", 0), EISDIR);
	CHECK_ERR("truncate.enoent", truncate("nothere", 0), ENOENT);
	close(fd);
	fd = open("d", O_RDONLY | O_DIRECTORY);
	CHECK_ERR("ftruncate.dir", ftruncate(fd, 0), EINVAL);
	close(fd);
	fd = open("t", O_RDONLY);
	CHECK_ERR("ftruncate.read_only_fd", ftruncate(fd, 0), EINVAL);
	close(fd);
	CHECK_ERR("ftruncate.ebadf", ftruncate(999, 0), EBADF);
	int p[2];
	pipe(p);
	CHECK_ERR("ftruncate.pipe", ftruncate(p[1], 0), EINVAL);
	CHECK_ERR("fsync.pipe", fsync(p[1]), EINVAL);
	CHECK_ERR("lseek.pipe", lseek(p[0], 0, SEEK_CUR), ESPIPE);
	CHECK_ERR("pwrite.pipe", pwrite(p[1], "x", 1, 0), ESPIPE);
	close(p[0]), close(p[1]);
	fd = open("t", O_RDWR);
	CHECK_RET("fsync", fsync(fd), 0);
	CHECK_RET("fdatasync", fdatasync(fd), 0);
	close(fd);
	fd = open("d", O_RDONLY | O_DIRECTORY);
	CHECK_RET("fsync.dir", fsync(fd), 0);
	CHECK_RET("lseek.dir_set", lseek(fd, 0, SEEK_SET), 0);
	CHECK_RET("lseek.dir_cur", lseek(fd, 0, SEEK_CUR), 0);
	close(fd);
	CHECK_ERR("fsync.ebadf", fsync(999), EBADF);
	CHECK_ERR("fdatasync.ebadf", fdatasync(999), EBADF);
}

static void check_times(void)
{
	struct timespec ts[2] = { { 1000000000, 123456789 }, { 1200000000, 987654321 } };
	struct stat st;
	CHECK_RET("utimensat", utimensat(AT_FDCWD, "f", ts, 0), 0);
	st = st_of("f", 1);
	CHECKF("utimensat.readback", st.st_atim.tv_sec == 1000000000 && st.st_atim.tv_nsec == 123456789 &&
	       st.st_mtim.tv_sec == 1200000000 && st.st_mtim.tv_nsec == 987654321, "atime %ld.%09ld mtime %ld.%09ld",
	       (long)st.st_atim.tv_sec, st.st_atim.tv_nsec, (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	struct timespec om[2] = { { 5, UTIME_OMIT }, { 1300000000, 0 } };
	CHECK_RET("utimensat.omit", utimensat(AT_FDCWD, "f", om, 0), 0);
	st = st_of("f", 1);
	CHECKF("utimensat.omit_kept", st.st_atim.tv_sec == 1000000000 && st.st_mtim.tv_sec == 1300000000,
	       "atime %ld mtime %ld", (long)st.st_atim.tv_sec, (long)st.st_mtim.tv_sec);
	time_t t0 = time(NULL);
	struct timespec now[2] = { { 0, UTIME_OMIT }, { 0, UTIME_NOW } };
	CHECK_RET("utimensat.now", utimensat(AT_FDCWD, "f", now, 0), 0);
	st = st_of("f", 1);
	CHECKF("utimensat.now_readback", st.st_atim.tv_sec == 1000000000 && st.st_mtim.tv_sec >= t0 - 1 &&
	       st.st_mtim.tv_sec <= time(NULL) + 1, "atime %ld mtime %ld now %ld", (long)st.st_atim.tv_sec,
	       (long)st.st_mtim.tv_sec, (long)t0);
	CHECK_RET("utimensat.null", utimensat(AT_FDCWD, "f", NULL, 0), 0);
	st = st_of("f", 1);
	CHECKF("utimensat.null_now", st.st_atim.tv_sec >= t0 - 1 && st.st_mtim.tv_sec >= t0 - 1, "atime %ld mtime %ld",
	       (long)st.st_atim.tv_sec, (long)st.st_mtim.tv_sec);
	int fd = open("f", O_RDONLY);
	CHECK_RET("utimensat.fd", syscall(SYS_utimensat, fd, NULL, ts, 0), 0);
	CHECK_EQ("utimensat.fd_readback", st_of("f", 1).st_mtim.tv_sec, 1200000000);
	close(fd);
	CHECK_RET("utimensat.nofollow", utimensat(AT_FDCWD, "lf", om, AT_SYMLINK_NOFOLLOW), 0);
	CHECKF("utimensat.nofollow_link", st_of("lf", 0).st_mtim.tv_sec == 1300000000 &&
	       st_of("f", 1).st_mtim.tv_sec == 1200000000, "link %ld file %ld", (long)st_of("lf", 0).st_mtim.tv_sec,
	       (long)st_of("f", 1).st_mtim.tv_sec);
	struct timespec bad[2] = { { 0, 1000000000 }, { 0, 0 } };
	CHECK_ERR("utimensat.bad_nsec", utimensat(AT_FDCWD, "f", bad, 0), EINVAL);
	bad[0].tv_nsec = -1;
	CHECK_ERR("utimensat.negative_nsec", utimensat(AT_FDCWD, "f", bad, 0), EINVAL);
	CHECK_ERR("utimensat.bad_flags", utimensat(AT_FDCWD, "f", ts, 0x1), EINVAL);
	CHECK_ERR("utimensat.enoent", utimensat(AT_FDCWD, "nothere", ts, 0), ENOENT);
}

static void check_umask(void)
{
	CHECK_RET("umask.set", umask(027), 022);
	CHECK_RET("umask.get", umask(027), 027);
	close(open("um", O_WRONLY | O_CREAT | O_EXCL, 0666));
	CHECK_EQ("umask.open", st_of("um", 1).st_mode, S_IFREG | 0640);
	mkdir("umd", 0777);
	CHECK_EQ("umask.mkdir", st_of("umd", 1).st_mode, S_IFDIR | 0750);
	chmod("um", 0777);
	CHECK_EQ("umask.not_chmod", st_of("um", 1).st_mode, S_IFREG | 0777);
	umask(0);
	unlink("um");
	close(open("um", O_WRONLY | O_CREAT | O_EXCL, 0666));
	CHECK_EQ("umask.zero", st_of("um", 1).st_mode, S_IFREG | 0666);
	umask(022);
	unlink("um"), rmdir("umd");
}

static void check_io(void)
{
	char a[4], b[16], buf[128];
	int fd = open("io", O_RDWR | O_CREAT | O_TRUNC, 0644);
	struct iovec w[4] = { { "ab", 2 }, { "cde", 3 }, { "", 0 }, { "f", 1 } };
	CHECK_RET("writev", writev(fd, w, 4), 6);
	struct iovec r[2] = { { a, sizeof a }, { b, sizeof b } };
	lseek(fd, 0, SEEK_SET);
	CHECK_RET("readv", readv(fd, r, 2), 6);
	CHECKF("readv.data", !memcmp(a, "abcd", 4) && !memcmp(b, "ef", 2), "%.4s|%.2s", a, b);
	CHECK_RET("writev.zero_count", writev(fd, w, 0), 0);
	CHECK_ERR("writev.negative_count", syscall(SYS_writev, fd, w, -1), EINVAL);
	CHECK_ERR("writev.count_over_max", syscall(SYS_writev, fd, w, 1025), EINVAL);
	struct iovec neg[1] = { { buf, (size_t)-1 } };
	CHECK_ERR("writev.negative_len", writev(fd, neg, 1), EINVAL);
	CHECK_ERR("readv.negative_len", readv(fd, neg, 1), EINVAL);
	struct iovec fault[1] = { { (void *)8, 4 } };
	CHECK_ERR("writev.efault", writev(fd, fault, 1), EFAULT);
	lseek(fd, 0, SEEK_SET);
	CHECK_ERR("readv.efault", readv(fd, fault, 1), EFAULT);
	CHECK_RET("readv.efault_offset_kept", lseek(fd, 0, SEEK_CUR), 0);
	lseek(fd, 0, SEEK_SET);
	CHECK_ERR("readv.ebadf", readv(999, r, 2), EBADF);
	CHECK_RET("pwrite.hole", pwrite(fd, "Z", 1, 100), 1);
	CHECK_EQ("pwrite.hole_size", st_of("io", 1).st_size, 101);
	memset(buf, 'X', sizeof buf);
	CHECK_RET("pread.hole", pread(fd, buf, 10, 50), 10);
	CHECK("pread.hole_zeros", !memcmp(buf, "\0\0\0\0\0\0\0\0\0\0", 10));
	CHECK_RET("pread.at_offset", pread(fd, buf, 3, 2) == 3 && !memcmp(buf, "cde", 3), 1);
	CHECK_RET("pread.past_eof", pread(fd, buf, 10, 500), 0);
	CHECK_RET("pread.offset_unchanged", lseek(fd, 0, SEEK_CUR), 0);
	CHECK_ERR("pwrite.negative", pwrite(fd, "x", 1, -1), EINVAL);
	struct iovec pv[2] = { { a, 2 }, { b, 2 } };
	CHECK_RET("preadv", preadv(fd, pv, 2, 1), 4);
	CHECK("preadv.data", !memcmp(a, "bc", 2) && !memcmp(b, "de", 2));
	close(fd);
	fd = open("io", O_WRONLY);
	CHECK_ERR("pread.write_only", pread(fd, buf, 1, 0), EBADF);
	close(fd);
	fd = open("io", O_RDONLY);
	CHECK_ERR("pwrite.read_only", pwrite(fd, "x", 1, 0), EBADF);
	close(fd);
	unlink("io");
}

static void check_statfs(void)
{
	struct statfs a, b;
	CHECK_RET("statfs", statfs("/tmp", &a), 0);
	CHECKF("statfs.fields", a.f_bsize > 0 && a.f_namelen > 0 && a.f_blocks >= a.f_bfree &&
	       a.f_bfree >= a.f_bavail, "bsize %ld namelen %ld blocks %lu bfree %lu bavail %lu", (long)a.f_bsize,
	       (long)a.f_namelen, (unsigned long)a.f_blocks, (unsigned long)a.f_bfree, (unsigned long)a.f_bavail);
	int fd = open("f", O_RDONLY);
	CHECK_RET("fstatfs", fstatfs(fd, &b), 0);
	CHECKF("fstatfs.same_fs", a.f_type == b.f_type && a.f_bsize == b.f_bsize, "type %lx vs %lx",
	       (long)a.f_type, (long)b.f_type);
	close(fd);
	CHECK_ERR("fstatfs.ebadf", fstatfs(999, &b), EBADF);
	CHECK_ERR("statfs.enoent", statfs("nothere", &b), ENOENT);
	CHECK_ERR("statfs.enotdir", statfs("f/x", &b), ENOTDIR);
}

/* Removes path and what is below it: entries that unlink() refuses are removed as directories. */
static void rmtree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char sub[512];
	chmod(path, 0700);
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
			if (unlink(sub) < 0)
				rmtree(sub);
		}
	if (d)
		closedir(d);
	rmdir(path);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	umask(022);
	snprintf(dir, sizeof dir, "/tmp/t_attrs.%d", (int)getpid());
	if (!CHECK_RET("mkdir_tmp", mkdir(dir, 0755), 0) || !CHECK_RET("chdir_tmp", chdir(dir), 0))
		return utest_done();
	check_stat(), check_chmod_chown(), check_access(), check_nonroot(), check_truncate();
	check_times(), check_umask(), check_io(), check_statfs();
	chdir("/");
	rmtree(dir);
	CHECK_ERR("cleanup", access(dir, F_OK), ENOENT);
	return utest_done();
}
