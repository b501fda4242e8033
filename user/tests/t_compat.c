/*
 * t_compat - fchmodat2 (fchmodat with flags) and the memory-protection-key calls as Linux answers
 * them on a CPU without protection keys (the host's CPU here has none either; a host whose
 * pkey_alloc succeeds reports the pkey cases skipped).
 */
#define UTEST_PROGRAM "t_compat"
#include "utest.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

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

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	check_fchmodat2();
	check_pkeys();
	return utest_done();
}
