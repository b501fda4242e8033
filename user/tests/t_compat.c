/*
 * t_compat - fchmodat2 (fchmodat with flags), fstat of a device opened through a node (the node's
 * status, which glibc's ttyname compares with the path's), opening /proc/self/fd/N of a pipe,
 * and the memory-protection-key calls as Linux answers
 * them on a CPU without protection keys (the host's CPU here has none either; a host whose
 * pkey_alloc succeeds reports the pkey cases skipped).
 */
#define UTEST_PROGRAM "t_compat"
#include "utest.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

static mode_t mode_of(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

static void check_fchmodat2(void)
{
	mkdir("/tmp/t_compat", 0755);
	int fd = open("/tmp/t_compat/f", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	close(fd);
	unlink("/tmp/t_compat/l");
	symlink("f", "/tmp/t_compat/l");
	int dfd = open("/tmp/t_compat", O_RDONLY | O_DIRECTORY);
	CHECK_RET("plain", syscall(SYS_fchmodat2, dfd, "f", 0600, 0), 0);
	CHECK_EQ("plain_mode", mode_of("/tmp/t_compat/f"), 0600);
	CHECK_RET("through_symlink", syscall(SYS_fchmodat2, dfd, "l", 0640, 0), 0);
	CHECK_EQ("through_symlink_mode", mode_of("/tmp/t_compat/f"), 0640);
	CHECK_ERR("symlink_nofollow", syscall(SYS_fchmodat2, dfd, "l", 0600, AT_SYMLINK_NOFOLLOW), EOPNOTSUPP);
	CHECK_RET("nofollow_regular", syscall(SYS_fchmodat2, dfd, "f", 0604, AT_SYMLINK_NOFOLLOW), 0);
	CHECK_EQ("nofollow_regular_mode", mode_of("/tmp/t_compat/f"), 0604);
	int ffd = open("/tmp/t_compat/f", O_RDONLY);
	CHECK_RET("empty_path", syscall(SYS_fchmodat2, ffd, "", 0644, AT_EMPTY_PATH), 0);
	CHECK_EQ("empty_path_mode", mode_of("/tmp/t_compat/f"), 0644);
	CHECK_ERR("empty_without_flag", syscall(SYS_fchmodat2, ffd, "", 0644, 0), ENOENT);
	CHECK_ERR("bad_flags", syscall(SYS_fchmodat2, dfd, "f", 0644, 0x2), EINVAL);
	CHECK_ERR("missing", syscall(SYS_fchmodat2, dfd, "nope", 0644, 0), ENOENT);
	CHECK_ERR("bad_fd", syscall(SYS_fchmodat2, 9999, "f", 0644, 0), EBADF);
	close(ffd);
	close(dfd);
	unlink("/tmp/t_compat/l");
	unlink("/tmp/t_compat/f");
	rmdir("/tmp/t_compat");
}

static void check_pkeys(void)
{
	long key = syscall(SYS_pkey_alloc, 0, 0);
	if (key >= 0) {
		syscall(SYS_pkey_free, key);
		utest_ok("pkey_skipped_cpu_has_keys");
		return;
	}
	/* Linux: EINVAL (the rights cannot be set), or ENOSPC once its key map is used up. */
	long again = syscall(SYS_pkey_alloc, 0, 0);
	int e = errno;
	CHECKF("pkey_alloc", again == -1 && (e == EINVAL || e == ENOSPC), "got %ld errno %s", again, utest_errname(e));
	CHECK_ERR("pkey_alloc_bad_flags", syscall(SYS_pkey_alloc, 1, 0), EINVAL);
	CHECK_ERR("pkey_free", syscall(SYS_pkey_free, 1), EINVAL);
	CHECK_ERR("pkey_free_0", syscall(SYS_pkey_free, 0), EINVAL);
	char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK_RET("pkey_mprotect_minus1", syscall(SYS_pkey_mprotect, p, 4096, PROT_READ, -1), 0);
	pid_t pid = fork();
	if (pid == 0) {
		p[0] = 1;
		_exit(0);
	}
	utest_check_signaled("pkey_mprotect_applied", utest_wait(pid), SIGSEGV);
	CHECK_ERR("pkey_mprotect_key", syscall(SYS_pkey_mprotect, p, 4096, PROT_READ, 1), EINVAL);
	CHECK_ERR("pkey_mprotect_unaligned", syscall(SYS_pkey_mprotect, p + 1, 4096, PROT_READ, -1), EINVAL);
	munmap(p, 8192);
}

/* fstat of a device reports its node: same inode and device as stat of the path (Linux). */
static void check_device_node(void)
{
	if (geteuid() != 0) {
		utest_ok("device_node_skipped_not_root");
		return;
	}
	const char *node = "/tmp/t_compat_null";
	unlink(node);
	CHECK_OK("mknod", mknod(node, S_IFCHR | 0666, makedev(1, 3)));
	int fd = open(node, O_RDWR);
	struct stat by_path, by_fd;
	int ok = fd >= 0 && stat(node, &by_path) == 0 && fstat(fd, &by_fd) == 0;
	CHECKF("fstat_device_node", ok && by_fd.st_ino == by_path.st_ino && by_fd.st_dev == by_path.st_dev && by_fd.st_rdev == makedev(1, 3) && S_ISCHR(by_fd.st_mode),
	       "fstat ino %lu dev %lu, stat ino %lu dev %lu", (unsigned long)by_fd.st_ino, (unsigned long)by_fd.st_dev, (unsigned long)by_path.st_ino, (unsigned long)by_path.st_dev);
	CHECKF("device_still_works", fd >= 0 && write(fd, "x", 1) == 1, "write to the null device");
	close(fd);
	unlink(node);
}

/* Opening /proc/self/fd/N of a pipe opens that pipe (bash's <(...) and /dev/stdin on a pipe). */
static void check_pipe_fd_link(void)
{
	int mounted = 0;
	if (access("/proc/self/fd", F_OK) != 0)
		mounted = mount("proc", "/proc", "proc", 0, NULL) == 0;
	int p[2];
	pipe(p);
	write(p[1], "hi", 2);
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", p[0]);
	int r = open(path, O_RDONLY);
	char buf[4] = {0};
	CHECKF("pipe_fd_link_read", r >= 0 && read(r, buf, 2) == 2 && memcmp(buf, "hi", 2) == 0, "open %s: %d (%s)", path, r, r < 0 ? utest_errname(errno) : buf);
	snprintf(path, sizeof path, "/proc/self/fd/%d", p[0]);
	int w = open(path, O_WRONLY);
	CHECKF("pipe_fd_link_write", w >= 0 && write(w, "yo", 2) == 2 && read(p[0], buf, 2) == 2 && memcmp(buf, "yo", 2) == 0, "open for writing: %d", w);
	CHECK_ERR("pipe_fd_link_nofollow", open(path, O_RDONLY | O_NOFOLLOW), ELOOP);
	if (r >= 0)
		close(r);
	if (w >= 0)
		close(w);
	close(p[0]);
	close(p[1]);
	/* The writer already gone (bash's <(echo x) after echo exited): no wait, data then EOF. */
	pipe(p);
	write(p[1], "z", 1);
	close(p[1]);
	snprintf(path, sizeof path, "/proc/self/fd/%d", p[0]);
	r = open(path, O_RDONLY);
	CHECKF("pipe_fd_link_writer_gone", r >= 0 && read(r, buf, 4) == 1 && buf[0] == 'z' && read(r, buf, 4) == 0, "open %d", r);
	if (r >= 0)
		close(r);
	close(p[0]);
	/* Through a symlink to the link (/dev/stdin -> /proc/self/fd/0), and with O_CREAT|O_TRUNC
	 * (tee >(...) opens /dev/fd/63 that way). */
	pipe(p);
	write(p[1], "q", 1);
	snprintf(path, sizeof path, "/proc/self/fd/%d", p[0]);
	unlink("/tmp/t_compat_in");
	symlink(path, "/tmp/t_compat_in");
	r = open("/tmp/t_compat_in", O_RDONLY);
	CHECKF("pipe_fd_link_via_symlink", r >= 0 && read(r, buf, 1) == 1 && buf[0] == 'q', "open %d (%s)", r, r < 0 ? utest_errname(errno) : "");
	if (r >= 0)
		close(r);
	unlink("/tmp/t_compat_in");
	snprintf(path, sizeof path, "/proc/self/fd/%d", p[1]);
	int c = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECKF("pipe_fd_link_creat", c >= 0 && write(c, "k", 1) == 1 && read(p[0], buf, 1) == 1 && buf[0] == 'k', "open %d (%s)", c, c < 0 ? utest_errname(errno) : "");
	if (c >= 0)
		close(c);
	close(p[0]);
	close(p[1]);
	if (mounted)
		umount("/proc");
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	check_fchmodat2();
	check_device_node();
	check_pipe_fd_link();
	check_pkeys();
	return utest_done();
}
