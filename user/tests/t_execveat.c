/*
 * t_execveat - execveat(2): a program relative to a directory descriptor, the descriptor's own
 * file (AT_EMPTY_PATH, what fexecve does, also from an O_PATH descriptor), and the errors:
 * EINVAL for unknown flags, ELOOP for a symlink with AT_SYMLINK_NOFOLLOW, ENOTDIR, ENOENT for
 * an empty path without AT_EMPTY_PATH, EBADF, EACCES for a directory.  Uses t_hello ("exit N").
 */
#define UTEST_PROGRAM "t_execveat"
#include "utest.h"

#include <fcntl.h>
#include <sys/stat.h>

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

extern char **environ;

/* Runs execveat in a child: its exit status (the program's), or 100 + errno on failure. */
static int child_execveat(int dirfd, const char *path, int flags, int code)
{
	char num[16];
	snprintf(num, sizeof num, "%d", code);
	char *const argv[] = {"t_hello", "exit", num, NULL};
	pid_t pid = fork();
	if (pid == 0) {
		syscall(SYS_execveat, dirfd, path, argv, environ, flags);
		_exit(100 + errno);
	}
	int st = utest_wait(pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void expect(const char *name, int got, int want)
{
	CHECKF(name, got == want, "status %d, want %d%s%s", got, want, got > 100 ? " errno " : "", got > 100 ? utest_errname(got - 100) : "");
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	const char *hello = utest_path("/bin/tests/t_hello");
	char dir[256];
	snprintf(dir, sizeof dir, "%s", hello);
	*strrchr(dir, '/') = 0;

	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	expect("relative_to_dirfd", child_execveat(dfd, "t_hello", 0, 7), 7);
	expect("absolute_ignores_dirfd", child_execveat(-1, hello, 0, 8), 8);
	expect("at_fdcwd", child_execveat(AT_FDCWD, hello, 0, 9), 9);

	int fd = open(hello, O_RDONLY);
	expect("empty_path_fd", child_execveat(fd, "", AT_EMPTY_PATH, 10), 10);
	int pfd = open(hello, O_PATH);
	expect("empty_path_o_path", child_execveat(pfd, "", AT_EMPTY_PATH, 11), 11);

	expect("bad_flags", child_execveat(dfd, "t_hello", 0x1, 0), 100 + EINVAL);
	expect("empty_without_flag", child_execveat(fd, "", 0, 0), 100 + ENOENT);
	expect("bad_fd", child_execveat(12345, "t_hello", 0, 0), 100 + EBADF);
	expect("not_a_dir", child_execveat(fd, "t_hello", 0, 0), 100 + ENOTDIR);
	expect("directory", child_execveat(dfd, "", AT_EMPTY_PATH, 0), 100 + EACCES);
	expect("missing", child_execveat(dfd, "no-such-program", 0, 0), 100 + ENOENT);

	mkdir("/tmp/t_execveat", 0755);
	unlink("/tmp/t_execveat/link");
	CHECK_OK("symlink", symlink(hello, "/tmp/t_execveat/link"));
	int tfd = open("/tmp/t_execveat", O_RDONLY | O_DIRECTORY);
	expect("symlink_followed", child_execveat(tfd, "link", 0, 12), 12);
	expect("symlink_nofollow", child_execveat(tfd, "link", AT_SYMLINK_NOFOLLOW, 0), 100 + ELOOP);
	unlink("/tmp/t_execveat/link");
	rmdir("/tmp/t_execveat");
	close(tfd);
	close(pfd);
	close(fd);
	close(dfd);
	return utest_done();
}
