/*
 * t_mlock - mlock/mlock2/munlock/mlockall/munlockall and mincore: locked pages are resident,
 * mincore reports untouched pages as absent and touched ones as present, EINVAL (unaligned,
 * bad flags), ENOMEM (unmapped ranges), EFAULT (bad vector), and RLIMIT_MEMLOCK for a user:
 * EPERM at 0, ENOMEM past the limit, room again after munlock.
 */
#define UTEST_PROGRAM "t_mlock"
#include "utest.h"

#include <sys/mman.h>
#include <sys/resource.h>

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

#define PG 4096

static void check_mincore_mlock(void)
{
	char *m = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char vec[8];
	memset(vec, 0xee, sizeof vec);
	CHECK_RET("mincore.fresh", mincore(m, 8 * PG, vec), 0);
	CHECKF("mincore.fresh.absent", (vec[0] & 1) == 0 && (vec[5] & 1) == 0, "vec=%x %x", vec[0], vec[5]);
	m[PG] = 1;
	CHECK_RET("mincore.touched", mincore(m, 8 * PG, vec), 0);
	CHECKF("mincore.touched.bit", (vec[1] & 1) == 1 && (vec[2] & 1) == 0, "vec=%x %x", vec[1], vec[2]);
	CHECK_RET("mincore.partial.len", mincore(m, PG + 1, vec), 0);
	CHECK_ERR("mincore.unaligned", mincore(m + 1, PG, vec), EINVAL);
	CHECK_ERR("mincore.efault", mincore(m, PG, (unsigned char *)8), EFAULT);
	CHECK_RET("mlock", mlock(m + 4 * PG, 2 * PG), 0);
	CHECK_RET("mincore.locked", mincore(m, 8 * PG, vec), 0);
	CHECKF("mlock.resident", (vec[4] & 1) && (vec[5] & 1), "vec=%x %x", vec[4], vec[5]);
	CHECK_RET("mlock.unaligned.start", mlock(m + 100, 10), 0);
	CHECK_RET("munlock", munlock(m + 4 * PG, 2 * PG), 0);
	CHECK_RET("mlock2.onfault", syscall(SYS_mlock2, m + 6 * PG, PG, MLOCK_ONFAULT), 0);
	CHECK_ERR("mlock2.badflags", syscall(SYS_mlock2, m, PG, 2), EINVAL);
	CHECK_RET("mlock.zero", mlock(m, 0), 0);
	munmap(m + 2 * PG, PG);
	CHECK_ERR("mincore.hole", mincore(m, 8 * PG, vec), ENOMEM);
	CHECK_ERR("mlock.hole", mlock(m, 8 * PG), ENOMEM);
	CHECK_ERR("munlock.hole", munlock(m, 8 * PG), ENOMEM);
	CHECK_ERR("mincore.kernel", mincore((void *)0xffff800000000000UL, PG, vec), ENOMEM);
	/* A length whose page count overflows when turned back into bytes (a debug kernel panicked). */
	CHECK_ERR("mincore.huge_len", mincore(m, ~0UL, vec), ENOMEM);
	CHECK_ERR("mlockall.zero", mlockall(0), EINVAL);
	CHECK_ERR("mlockall.onfault.alone", mlockall(MCL_ONFAULT), EINVAL);
	CHECK_ERR("mlockall.unknown", mlockall(0x100), EINVAL);
	CHECK_RET("munlockall", munlockall(), 0);
	munmap(m, 8 * PG);
}

/* As a user with a small RLIMIT_MEMLOCK. */
static int user_limits(void)
{
	char *m = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct rlimit rl = { 0, 0 };
	if (setrlimit(RLIMIT_MEMLOCK, &rl) == 0) {
		if (mlock(m, PG) != -1 || errno != EPERM)
			return 1;
		if (mlockall(MCL_FUTURE) != -1 || errno != EPERM)
			return 2;
		return 0; /* cannot raise it back */
	}
	return 3;
}

static int user_limits2(void)
{
	char *m = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct rlimit rl = { 2 * PG, 2 * PG };
	if (setrlimit(RLIMIT_MEMLOCK, &rl) != 0)
		return 10;
	if (mlock(m, 4 * PG) != -1 || errno != ENOMEM)
		return 11;
	if (mlock(m, PG) != 0)
		return 12;
	if (mlock(m, PG) != 0) /* the same page again: still one page locked */
		return 13;
	if (mlock(m + 2 * PG, PG) != 0)
		return 14;
	if (mlock(m + 4 * PG, PG) != -1 || errno != ENOMEM)
		return 15;
	if (munlock(m, PG) != 0)
		return 16;
	if (mlock(m + 4 * PG, PG) != 0)
		return 17;
	if (mlockall(MCL_CURRENT) != -1 || errno != ENOMEM)
		return 18;
	if (munlockall() != 0)
		return 19;
	if (mlock(m, 2 * PG) != 0)
		return 20;
	return 0;
}

static int in_user_child(int (*fn)(void))
{
	pid_t pid = fork();
	if (pid == 0) {
		if (getuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(90);
		_exit(fn());
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	check_mincore_mlock();
	CHECK_EQ("rlimit.zero", in_user_child(user_limits), 0);
	CHECK_EQ("rlimit.small", in_user_child(user_limits2), 0);
	return utest_done();
}
