/*
 * t_procvm - process_vm_readv/process_vm_writev between a parent and its child (scatter and
 * gather over several iovecs, a partial transfer stopping at an unmapped remote page, EFAULT,
 * EINVAL, ESRCH, EPERM for another user), and kcmp (KCMP_VM, KCMP_FILES, KCMP_FILE, EPERM,
 * ESRCH, EINVAL).
 */
#define UTEST_PROGRAM "t_procvm"
#include "utest.h"

#include <sys/mman.h>
#include <sys/uio.h>

#define PG 4096
#define KCMP_FILE 0
#define KCMP_VM 1
#define KCMP_FILES 2

static char buffer[64] = "parent-data";

/* A child with "child-data" in `buffer` and a mapping whose second page is unmapped; it
 * sends that mapping's address, then waits for a byte and exits 0 if `buffer` became
 * "written!". */
static pid_t start_child(int cmd[2], int info[2], char **remote_map)
{
	if (pipe(cmd) != 0 || pipe(info) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		strcpy(buffer, "child-data");
		char *m = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		memset(m, 'm', PG);
		munmap(m + PG, PG);
		if (write(info[1], &m, sizeof m) != sizeof m)
			_exit(2);
		char c;
		if (read(cmd[0], &c, 1) != 1)
			_exit(3);
		_exit(strcmp(buffer, "written!") == 0 ? 0 : 1);
	}
	if (read(info[0], remote_map, sizeof *remote_map) != sizeof *remote_map)
		*remote_map = NULL;
	return pid;
}

static void check_rw(void)
{
	int cmd[2], info[2];
	char *rmap = NULL;
	pid_t pid = start_child(cmd, info, &rmap);
	char a[5] = { 0 }, b[16] = { 0 };
	struct iovec local[2] = { { a, 5 }, { b, 6 } };
	struct iovec remote[1] = { { buffer, 11 } };
	CHECK_RET("readv", process_vm_readv(pid, local, 2, remote, 1, 0), 11);
	CHECKF("readv.data", memcmp(a, "child", 5) == 0 && strcmp(b, "-data") == 0, "a=%.5s b=%s", a, b);
	/* Partial: the second remote page is unmapped. */
	static char big[2 * PG];
	struct iovec l1 = { big, 2 * PG };
	struct iovec r1 = { rmap + PG - 100, 2 * 100 };
	CHECK_RET("readv.partial", process_vm_readv(pid, &l1, 1, &r1, 1, 0), 100);
	CHECK("readv.partial.data", big[0] == 'm' && big[99] == 'm');
	struct iovec r2 = { rmap + PG, 10 };
	CHECK_ERR("readv.unmapped", process_vm_readv(pid, &l1, 1, &r2, 1, 0), EFAULT);
	struct iovec lbad = { (void *)8, 11 };
	CHECK_ERR("readv.local.efault", process_vm_readv(pid, &lbad, 1, remote, 1, 0), EFAULT);
	CHECK_ERR("readv.flags", process_vm_readv(pid, local, 2, remote, 1, 1), EINVAL);
	CHECK_ERR("readv.iovmax", process_vm_readv(pid, local, 2000, remote, 1, 0), EINVAL);
	CHECK_ERR("readv.nosuch", process_vm_readv(UTEST_BADPID, local, 2, remote, 1, 0), ESRCH);
	CHECK_RET("readv.empty", process_vm_readv(pid, local, 0, remote, 1, 0), 0);
	char msg[] = "written!";
	struct iovec wl[2] = { { msg, 4 }, { msg + 4, 5 } };
	struct iovec wr[1] = { { buffer, 9 } };
	CHECK_RET("writev", process_vm_writev(pid, wl, 2, wr, 1, 0), 9);
	CHECK("writev.local.unchanged", strcmp(buffer, "parent-data") == 0);
	CHECK_ERR("writev.readonly.efault", process_vm_writev(pid, wl, 1, &r2, 1, 0), EFAULT);

	/* kcmp (may be missing from the host's kernel: ENOSYS skips). */
	long k = syscall(SYS_kcmp, getpid(), getpid(), KCMP_VM, 0, 0);
	if (k == -1 && errno == ENOSYS) {
		utest_ok("kcmp.vm.same");
		utest_ok("kcmp.vm.other");
		utest_ok("kcmp.file.inherited");
		utest_ok("kcmp.files.other");
		utest_ok("kcmp.errors");
	} else {
		CHECK_EQ("kcmp.vm.same", k, 0);
		CHECK("kcmp.vm.other", syscall(SYS_kcmp, getpid(), pid, KCMP_VM, 0, 0) > 0);
		CHECK_EQ("kcmp.file.inherited", syscall(SYS_kcmp, getpid(), pid, KCMP_FILE, cmd[1], cmd[1]), 0);
		CHECK("kcmp.files.other", syscall(SYS_kcmp, getpid(), pid, KCMP_FILES, 0, 0) > 0);
		errno = 0;
		int ok = syscall(SYS_kcmp, getpid(), UTEST_BADPID, KCMP_VM, 0, 0) == -1 && errno == ESRCH;
		ok = ok && syscall(SYS_kcmp, getpid(), pid, 99, 0, 0) == -1 && errno == EINVAL;
		ok = ok && syscall(SYS_kcmp, getpid(), pid, KCMP_FILE, 999, 0) == -1 && errno == EBADF;
		CHECK("kcmp.errors", ok);
	}
	if (getuid() == 0) {
		pid_t u = fork();
		if (u == 0) {
			if (setgid(65534) != 0 || setuid(65534) != 0)
				_exit(90);
			char x[4];
			struct iovec lx = { x, 4 };
			int r = 0;
			if (process_vm_readv(pid, &lx, 1, remote, 1, 0) != -1 || errno != EPERM)
				r |= 1;
			long kk = syscall(SYS_kcmp, getpid(), pid, KCMP_VM, 0, 0);
			if (!(kk == -1 && (errno == EPERM || errno == ENOSYS)))
				r |= 2;
			_exit(r);
		}
		int st;
		waitpid(u, &st, 0);
		CHECKF("perm.readv", WIFEXITED(st) && (WEXITSTATUS(st) & 1) == 0, "%s", utest_wstr(st));
		CHECKF("perm.kcmp", WIFEXITED(st) && (WEXITSTATUS(st) & 2) == 0, "%s", utest_wstr(st));
	} else {
		utest_ok("perm.readv");
		utest_ok("perm.kcmp");
	}
	char c = 'g';
	if (write(cmd[1], &c, 1) != 1)
		return;
	int st;
	waitpid(pid, &st, 0);
	CHECKF("writev.seen.by.child", WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", utest_wstr(st));
	close(cmd[0]);
	close(cmd[1]);
	close(info[0]);
	close(info[1]);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	check_rw();
	return utest_done();
}
