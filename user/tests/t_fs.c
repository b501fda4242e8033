/*
 * t_fs - a first set of file-system and descriptor syscalls: open/read/write/lseek/pread/pwrite,
 * fstat, O_APPEND/O_TRUNC/O_EXCL, unlink, error cases (ENOENT, EEXIST, EISDIR, ENOTDIR, EBADF,
 * EINVAL, ESPIPE, EPIPE), dup/dup2/dup3, fcntl, getcwd/chdir with relative paths, mkdir/rmdir,
 * getdents64 and pipes.  Works in a private directory under /tmp.
 */
#define UTEST_PROGRAM "t_fs"
#include "utest.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

static char dir[64], file[128];

static void check_file_io(void)
{
	umask(022);
	int fd = open(file, O_RDWR | O_CREAT | O_EXCL, 0666);
	if (!CHECKF("open.create_excl", fd >= 0, "open(%s): errno %s", file, utest_errname(errno)))
		return;
	CHECK_RET("write", write(fd, "hello world", 11), 11);
	CHECK_RET("lseek.cur", lseek(fd, 0, SEEK_CUR), 11);
	CHECK_RET("lseek.set", lseek(fd, 6, SEEK_SET), 6);
	char buf[64] = { 0 };
	CHECK_RET("read", read(fd, buf, sizeof buf), 5);
	CHECKF("read.data", memcmp(buf, "world", 5) == 0, "read \"%.5s\"", buf);
	CHECK_RET("read.eof", read(fd, buf, sizeof buf), 0);
	CHECK_RET("lseek.end", lseek(fd, -5, SEEK_END), 6);
	CHECK_RET("lseek.cur_relative", lseek(fd, -2, SEEK_CUR), 4);
	CHECK_RET("lseek.beyond_end", lseek(fd, 100, SEEK_SET), 100);
	CHECK_ERR("lseek.negative_set", lseek(fd, -1, SEEK_SET), EINVAL);
	CHECK_ERR("lseek.negative_cur", lseek(fd, -1000, SEEK_CUR), EINVAL);
	CHECK_ERR("lseek.bad_whence", lseek(fd, 0, 99), EINVAL);

	CHECK_RET("pwrite", pwrite(fd, "WORLD", 5, 6), 5);
	memset(buf, 0, sizeof buf);
	CHECK_RET("pread", pread(fd, buf, 11, 0), 11);
	CHECKF("pread.data", memcmp(buf, "hello WORLD", 11) == 0, "read \"%.11s\"", buf);
	CHECK_RET("pread.offset_unchanged", lseek(fd, 0, SEEK_CUR), 100);
	CHECK_ERR("pread.negative_offset", pread(fd, buf, 1, -1), EINVAL);

	struct stat st;
	CHECK_RET("fstat", fstat(fd, &st), 0);
	CHECKF("fstat.regular", S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0644 && st.st_size == 11 &&
	       st.st_nlink == 1, "mode=%o size=%lld nlink=%lu", st.st_mode, (long long)st.st_size,
	       (unsigned long)st.st_nlink);
	struct stat st2;
	CHECK_RET("stat", stat(file, &st2), 0);
	CHECKF("stat.same_file", st2.st_ino == st.st_ino && st2.st_dev == st.st_dev, "ino %lu vs %lu",
	       (unsigned long)st2.st_ino, (unsigned long)st.st_ino);
	close(fd);

	fd = open(file, O_WRONLY | O_APPEND);
	lseek(fd, 0, SEEK_SET);
	CHECK_RET("append.write", write(fd, "!!", 2), 2);
	CHECK_RET("append.at_end", lseek(fd, 0, SEEK_CUR), 13);
	CHECK_ERR("read.write_only_fd", read(fd, buf, 1), EBADF);
	close(fd);
	fd = open(file, O_RDONLY);
	CHECK_ERR("write.read_only_fd", write(fd, "x", 1), EBADF);
	close(fd);
	fd = open(file, O_RDWR | O_TRUNC);
	fstat(fd, &st);
	CHECK_EQ("trunc.size0", st.st_size, 0);
	close(fd);

	CHECK_ERR("open.excl_exists", open(file, O_RDWR | O_CREAT | O_EXCL, 0644), EEXIST);
	CHECK_ERR("open.dir_wronly", open("/tmp", O_WRONLY), EISDIR);
	CHECK_ERR("open.through_file", open(utest_path("/init/x"), O_RDONLY), ENOTDIR);
	CHECK_ERR("open.o_directory_file", open(file, O_RDONLY | O_DIRECTORY), ENOTDIR);
	CHECK_ERR("open.missing", open("/tmp/does/not/exist", O_RDONLY), ENOENT);
	CHECK_RET("unlink", unlink(file), 0);
	CHECK_ERR("open.after_unlink", open(file, O_RDONLY), ENOENT);
	CHECK_ERR("unlink.missing", unlink(file), ENOENT);
	CHECK_ERR("close.bad_fd", close(999), EBADF);
	CHECK_ERR("close.negative_fd", close(-1), EBADF);
	CHECK_ERR("read.bad_fd", read(999, buf, 1), EBADF);
}

static void check_dup_fcntl(void)
{
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return;
	int d = dup(fd);
	CHECKF("dup", d > fd || (d >= 0 && d != fd), "dup=%d", d);
	write(fd, "abc", 3);
	CHECK_RET("dup.shared_offset", lseek(d, 0, SEEK_CUR), 3);
	CHECK_RET("dup2", dup2(fd, 40), 40);
	CHECK_RET("dup2.same_fd", dup2(fd, fd), fd);
	CHECK_ERR("dup2.bad_old", dup2(999, 41), EBADF);
	/* Raw dup3: musl implements dup3 without O_CLOEXEC as dup2. */
	CHECK_RET("dup3.cloexec", syscall(SYS_dup3, fd, 41, O_CLOEXEC), 41);
	CHECK_RET("fcntl.getfd_cloexec", fcntl(41, F_GETFD), FD_CLOEXEC);
	CHECK_RET("fcntl.getfd_plain", fcntl(40, F_GETFD), 0);
	CHECK_SYSERR("dup3.same_fd", syscall(SYS_dup3, fd, fd, 0), EINVAL);
	CHECK_SYSERR("dup3.bad_flags", syscall(SYS_dup3, fd, 42, 0x1234), EINVAL);
	CHECK_RET("dup3.plain", syscall(SYS_dup3, fd, 42, 0), 42);
	CHECK_RET("dup3.plain_no_cloexec", fcntl(42, F_GETFD), 0);
	close(42);
	CHECK_RET("fcntl.setfd", fcntl(40, F_SETFD, FD_CLOEXEC), 0);
	CHECK_RET("fcntl.setfd_readback", fcntl(40, F_GETFD), FD_CLOEXEC);
	CHECK_RET("fcntl.getfl", fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND), O_RDWR);
	CHECK_RET("fcntl.setfl_append", fcntl(fd, F_SETFL, O_APPEND), 0);
	CHECK_RET("fcntl.getfl_append", fcntl(d, F_GETFL) & (O_ACCMODE | O_APPEND), O_RDWR | O_APPEND);
	int x = fcntl(fd, F_DUPFD, 50);
	CHECKF("fcntl.dupfd", x >= 50 && fcntl(x, F_GETFD) == 0, "F_DUPFD=%d", x);
	int y = fcntl(fd, F_DUPFD_CLOEXEC, 50);
	CHECKF("fcntl.dupfd_cloexec", y > 50 && fcntl(y, F_GETFD) == FD_CLOEXEC, "F_DUPFD_CLOEXEC=%d", y);
	CHECK_ERR("fcntl.bad_cmd", fcntl(fd, 12345), EINVAL);
	CHECK_ERR("fcntl.bad_fd", fcntl(999, F_GETFD), EBADF);
	int lowest = dup(fd);
	close(lowest);
	CHECK_RET("dup.lowest_free", dup(fd), lowest);
	close(lowest);
	close(x), close(y), close(40), close(41), close(d);
	CHECK_ERR("close.twice", close(40), EBADF);
	close(fd);
	unlink(file);
}

static void check_dirs(void)
{
	char cwd[256], sub[128], path[192];
	CHECK_RET("chdir", chdir(dir), 0);
	CHECKF("getcwd", getcwd(cwd, sizeof cwd) && strcmp(cwd, dir) == 0, "cwd=%s want %s", cwd, dir);
	CHECK_SYSERR("getcwd.too_small", syscall(SYS_getcwd, cwd, 2), ERANGE);
	CHECK_RET("getcwd.raw_len", syscall(SYS_getcwd, cwd, sizeof cwd), strlen(dir) + 1);
	int fd = open("rel", O_RDWR | O_CREAT, 0644);
	CHECKF("open.relative", fd >= 0, "errno %s", utest_errname(errno));
	close(fd);
	snprintf(path, sizeof path, "%s/rel", dir);
	CHECK_RET("relative.same_file", access(path, F_OK), 0);
	CHECK_ERR("chdir.missing", chdir("nonexistent"), ENOENT);
	CHECK_ERR("chdir.file", chdir("rel"), ENOTDIR);

	CHECK_RET("mkdir", mkdir("sub", 0755), 0);
	CHECK_ERR("mkdir.exists", mkdir("sub", 0755), EEXIST);
	CHECK_ERR("mkdir.no_parent", mkdir("missing/sub", 0755), ENOENT);
	struct stat st;
	stat("sub", &st);
	CHECKF("mkdir.mode", S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0755, "mode=%o", st.st_mode);
	CHECK_RET("chdir.relative", chdir("sub"), 0);
	snprintf(sub, sizeof sub, "%s/sub", dir);
	CHECKF("getcwd.sub", getcwd(cwd, sizeof cwd) && strcmp(cwd, sub) == 0, "cwd=%s", cwd);
	CHECK_RET("chdir.dotdot", chdir(".."), 0);
	fd = open("sub/inner", O_WRONLY | O_CREAT, 0600);
	close(fd);
	CHECK_ERR("rmdir.not_empty", rmdir("sub"), ENOTEMPTY);
	CHECK_ERR("rmdir.missing", rmdir("nothere"), ENOENT);
	CHECK_ERR("rmdir.file", rmdir("rel"), ENOTDIR);
	CHECK_ERR("unlink.dir", unlink("sub"), EISDIR);

	/* getdents64 lists ".", "..", "rel" and "sub" with their types. */
	int dfd = open(".", O_RDONLY | O_DIRECTORY);
	char dbuf[4096];
	int found = 0, types_ok = 1;
	long n;
	while (dfd >= 0 && (n = syscall(SYS_getdents64, dfd, dbuf, sizeof dbuf)) > 0) {
		for (long off = 0; off < n;) {
			struct dirent64 *de = (struct dirent64 *)(dbuf + off);
			if (!strcmp(de->d_name, "."))
				found |= 1, types_ok &= de->d_type == DT_DIR;
			else if (!strcmp(de->d_name, ".."))
				found |= 2, types_ok &= de->d_type == DT_DIR;
			else if (!strcmp(de->d_name, "rel"))
				found |= 4, types_ok &= de->d_type == DT_REG;
			else if (!strcmp(de->d_name, "sub"))
				found |= 8, types_ok &= de->d_type == DT_DIR;
			else
				found |= 16;
			off += de->d_reclen;
		}
	}
	CHECKF("getdents64.entries", found == 15, "found mask %#x (1 . 2 .. 4 rel 8 sub 16 other)", found);
	CHECK("getdents64.types", types_ok);
	CHECK_RET("getdents64.eof", syscall(SYS_getdents64, dfd, dbuf, sizeof dbuf), 0);
	int rfd = open("rel", O_RDONLY);
	CHECK_SYSERR("getdents64.not_dir", syscall(SYS_getdents64, rfd, dbuf, sizeof dbuf), ENOTDIR);
	close(rfd);
	CHECK_SYSERR("getdents64.small_buf", (lseek(dfd, 0, SEEK_SET),
					      syscall(SYS_getdents64, dfd, dbuf, 8)), EINVAL);
	close(dfd);

	unlink("sub/inner");
	CHECK_RET("rmdir", rmdir("sub"), 0);
	CHECK_ERR("rmdir.gone", access("sub", F_OK), ENOENT);
	unlink("rel");
	chdir("/");
}

static void check_pipes(void)
{
	int p[2];
	char buf[16];
	if (!CHECK_RET("pipe", pipe(p), 0))
		return;
	CHECK_RET("pipe.write", write(p[1], "ping", 4), 4);
	CHECK_RET("pipe.read", read(p[0], buf, sizeof buf), 4);
	CHECK("pipe.data", memcmp(buf, "ping", 4) == 0);
	CHECK_ERR("pipe.lseek", lseek(p[0], 0, SEEK_SET), ESPIPE);
	CHECK_ERR("pipe.pread", pread(p[0], buf, 1, 0), ESPIPE);
	CHECK_ERR("pipe.read_write_end", read(p[1], buf, 1), EBADF);
	struct stat st;
	fstat(p[0], &st);
	CHECK("pipe.fstat_fifo", S_ISFIFO(st.st_mode));
	close(p[1]);
	CHECK_RET("pipe.eof", read(p[0], buf, sizeof buf), 0);
	close(p[0]);

	signal(SIGPIPE, SIG_IGN);
	pipe(p);
	close(p[0]);
	CHECK_ERR("pipe.epipe", write(p[1], "x", 1), EPIPE);
	close(p[1]);
	signal(SIGPIPE, SIG_DFL);

	CHECK_RET("pipe2.flags", pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	CHECK_RET("pipe2.cloexec", fcntl(p[0], F_GETFD), FD_CLOEXEC);
	CHECK_RET("pipe2.nonblock", fcntl(p[1], F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	CHECK_ERR("pipe2.empty_eagain", read(p[0], buf, 1), EAGAIN);
	close(p[0]);
	close(p[1]);
	CHECK_ERR("pipe2.bad_flags", pipe2(p, 0x7), EINVAL);

	/* A child writes, the parent reads across fork. */
	pipe(p);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		_exit(write(p[1], "from child", 10) == 10 ? 0 : 1);
	}
	close(p[1]);
	int n = 0, r;
	while (n < (int)sizeof buf && (r = read(p[0], buf + n, sizeof buf - n)) > 0)
		n += r;
	CHECKF("pipe.across_fork", n == 10 && memcmp(buf, "from child", 10) == 0, "read %d bytes", n);
	close(p[0]);
	utest_wait(pid);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	snprintf(dir, sizeof dir, "/tmp/t_fs.%d", (int)getpid());
	snprintf(file, sizeof file, "%s/file", dir);
	if (!CHECK_RET("mkdir_tmp", mkdir(dir, 0755), 0))
		return utest_done();
	check_file_io();
	check_dup_fcntl();
	check_dirs();
	check_pipes();
	CHECK_RET("rmdir_tmp", rmdir(dir), 0);
	return utest_done();
}
