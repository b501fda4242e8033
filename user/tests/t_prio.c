/*
 * t_prio - nice values (getpriority/setpriority, the raw call's 20 - nice), scheduling
 * policies and parameters (sched_setscheduler … sched_getattr, sched_rr_get_interval) and I/O
 * priorities (ioprio_get/ioprio_set), with Linux's EINVAL/EPERM/EACCES/ESRCH rules.
 */
#define UTEST_PROGRAM "t_prio"
#include "utest.h"

#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>

struct sattr {
	unsigned size, policy;
	unsigned long long flags;
	int nice;
	unsigned prio;
	unsigned long long runtime, deadline, period;
};

/* musl's sched_setscheduler/sched_getscheduler wrappers are ENOSYS by design: raw calls. */
#define sched_setscheduler(pid, pol, p) syscall(SYS_sched_setscheduler, pid, pol, p)
#define sched_getscheduler(pid) syscall(SYS_sched_getscheduler, pid)
#define sched_getparam(pid, p) syscall(SYS_sched_getparam, pid, p)
#define sched_setparam(pid, p) syscall(SYS_sched_setparam, pid, p)

#define IOPRIO(c, d) (((c) << 13) | (d))

/* Runs `f` in a child as uid 65534; passes when it exits 0. */
static void as_nobody(const char *name, int (*f)(void))
{
	pid_t child = fork();
	if (child == 0) {
		if (setuid(65534))
			_exit(100);
		_exit(f());
	}
	int status = -1;
	waitpid(child, &status, 0);
	CHECKF(name, WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
}

static int nobody_nice(void)
{
	if (setpriority(PRIO_PROCESS, 0, 10))
		return 1;
	errno = 0;
	if (getpriority(PRIO_PROCESS, 0) != 10)
		return 2;
	if (setpriority(PRIO_PROCESS, 0, 5) != -1 || errno != EACCES)
		return 3;
	if (setpriority(PRIO_PROCESS, 1, 19) != -1 || errno != EPERM)
		return 4;
	struct sched_param p = {10};
	if (sched_setscheduler(0, SCHED_FIFO, &p) != -1 || errno != EPERM)
		return 5;
	if (syscall(SYS_ioprio_set, 1, 0, IOPRIO(1, 0)) != -1 || errno != EPERM)
		return 6;
	struct sattr a = {.size = 48, .policy = SCHED_OTHER, .nice = 0};
	if (syscall(SYS_sched_setattr, 0, &a, 0) != -1 || errno != EPERM)
		return 7;
	return 0;
}

static void check_nice(void)
{
	errno = 0;
	int base = getpriority(PRIO_PROCESS, 0);
	CHECKF("getpriority.self", errno == 0 && base >= -20 && base <= 19, "%d errno %d", base, errno);
	CHECK_RET("setpriority.5", setpriority(PRIO_PROCESS, 0, 5), 0);
	CHECK_RET("getpriority.5", getpriority(PRIO_PROCESS, 0), 5);
	CHECK_RET("raw_getpriority", syscall(SYS_getpriority, PRIO_PROCESS, 0), 15);
	CHECK_RET("setpriority.clamp", setpriority(PRIO_PROCESS, getpid(), 100), 0);
	CHECK_RET("getpriority.19", getpriority(PRIO_PROCESS, getpid()), 19);
	CHECK_RET("setpriority.root_lowers", setpriority(PRIO_PROCESS, 0, base), 0);
	CHECK_RET("getpriority.pgrp", getpriority(PRIO_PGRP, 0), base);
	CHECK_OK("getpriority.user", (errno = 0, getpriority(PRIO_USER, 0)) == -1 && errno ? -1 : 0);
	CHECK_ERR("getpriority.bad_which", getpriority(7, 0), EINVAL);
	CHECK_ERR("getpriority.no_pid", getpriority(PRIO_PROCESS, 999999), ESRCH);
	CHECK_ERR("setpriority.no_pid", setpriority(PRIO_PROCESS, 999999, 0), ESRCH);
	CHECK_ERR("setpriority.bad_which", setpriority(9, 0, 0), EINVAL);
	as_nobody("nonroot_rules", nobody_nice);
}

static void check_policies(void)
{
	CHECK_RET("getscheduler", sched_getscheduler(0), SCHED_OTHER);
	CHECK_RET("max.fifo", sched_get_priority_max(SCHED_FIFO), 99);
	CHECK_RET("min.fifo", sched_get_priority_min(SCHED_RR), 1);
	CHECK_RET("max.other", sched_get_priority_max(SCHED_OTHER), 0);
	CHECK_RET("min.idle", sched_get_priority_min(SCHED_IDLE), 0);
	CHECK_ERR("max.bad", sched_get_priority_max(42), EINVAL);
	CHECK_ERR("min.bad", sched_get_priority_min(-1), EINVAL);
	struct sched_param p = {0};
	CHECK_RET("set.batch", sched_setscheduler(0, SCHED_BATCH, &p), 0);
	CHECK_RET("get.batch", sched_getscheduler(0), SCHED_BATCH);
	CHECK_RET("set.idle", sched_setscheduler(0, SCHED_IDLE, &p), 0);
	CHECK_RET("get.idle", sched_getscheduler(0), SCHED_IDLE);
	CHECK_RET("set.other", sched_setscheduler(0, SCHED_OTHER, &p), 0);
	p.sched_priority = 5;
	CHECK_ERR("set.other_prio", sched_setscheduler(0, SCHED_OTHER, &p), EINVAL);
	p.sched_priority = 100;
	CHECK_ERR("set.fifo_100", sched_setscheduler(0, SCHED_FIFO, &p), EINVAL);
	CHECK_ERR("set.bad_policy", sched_setscheduler(0, 42, &p), EINVAL);
	CHECK_ERR("set.neg_pid", syscall(SYS_sched_setscheduler, -1, SCHED_OTHER, &p), EINVAL);
	CHECK_ERR("set.null_param", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, NULL), EINVAL);
	p.sched_priority = 0;
	CHECK_ERR("set.no_pid", sched_setscheduler(999999, SCHED_OTHER, &p), ESRCH);
	CHECK_ERR("get.no_pid", sched_getscheduler(999999), ESRCH);
	CHECK_ERR("get.neg_pid", sched_getscheduler(-1), EINVAL);
	/* Root: SCHED_FIFO. */
	p.sched_priority = 10;
	if (CHECK_RET("set.fifo_root", sched_setscheduler(0, SCHED_FIFO, &p), 0)) {
		struct sched_param q = {0};
		CHECK_RET("getparam", sched_getparam(0, &q), 0);
		CHECK_EQ("getparam.prio", q.sched_priority, 10);
		CHECK_RET("get.fifo", sched_getscheduler(0), SCHED_FIFO);
		q.sched_priority = 20;
		CHECK_RET("setparam", sched_setparam(0, &q), 0);
		sched_getparam(0, &q);
		CHECK_EQ("setparam.prio", q.sched_priority, 20);
		p.sched_priority = 0;
		sched_setscheduler(0, SCHED_OTHER, &p);
	}
	CHECK_ERR("getparam.null", syscall(SYS_sched_getparam, 0, NULL), EINVAL);
	struct timespec ts;
	CHECK_RET("rr_interval", sched_rr_get_interval(0, &ts), 0);
	CHECK_ERR("rr_interval.no_pid", sched_rr_get_interval(999999, &ts), ESRCH);
	/* sched_setattr / sched_getattr */
	struct sattr a;
	memset(&a, 0, sizeof a);
	CHECK_RET("getattr", syscall(SYS_sched_getattr, 0, &a, sizeof a, 0), 0);
	CHECK_EQ("getattr.size", a.size, 48);
	CHECK_EQ("getattr.policy", a.policy, SCHED_OTHER);
	CHECK_ERR("getattr.small", syscall(SYS_sched_getattr, 0, &a, 40, 0), EINVAL);
	CHECK_ERR("getattr.flags", syscall(SYS_sched_getattr, 0, &a, sizeof a, 1), EINVAL);
	struct sattr s = {.size = 48, .policy = SCHED_OTHER, .nice = 3};
	CHECK_RET("setattr.nice", syscall(SYS_sched_setattr, 0, &s, 0), 0);
	CHECK_RET("setattr.nice_seen", getpriority(PRIO_PROCESS, 0), 3);
	s.size = 40;
	CHECK_ERR("setattr.small", syscall(SYS_sched_setattr, 0, &s, 0), E2BIG);
	CHECKF("setattr.size_written", s.size >= 48, "size %u", s.size);
	CHECK_ERR("setattr.flags_arg", syscall(SYS_sched_setattr, 0, &s, 1), EINVAL);
	s.size = 48;
	s.policy = 77;
	CHECK_ERR("setattr.bad_policy", syscall(SYS_sched_setattr, 0, &s, 0), EINVAL);
	s.policy = SCHED_OTHER;
	s.nice = 0;
	syscall(SYS_sched_setattr, 0, &s, 0);
}

static void check_ioprio(void)
{
	CHECK_RET("ioprio.set_be", syscall(SYS_ioprio_set, 1, 0, IOPRIO(2, 4)), 0);
	CHECK_RET("ioprio.get_be", syscall(SYS_ioprio_get, 1, 0), IOPRIO(2, 4));
	CHECK_RET("ioprio.set_idle", syscall(SYS_ioprio_set, 1, getpid(), IOPRIO(3, 0)), 0);
	CHECK_RET("ioprio.get_idle", syscall(SYS_ioprio_get, 1, getpid()), IOPRIO(3, 0));
	CHECK_RET("ioprio.set_rt_root", syscall(SYS_ioprio_set, 1, 0, IOPRIO(1, 2)), 0);
	CHECK_ERR("ioprio.bad_class", syscall(SYS_ioprio_set, 1, 0, IOPRIO(5, 0)), EINVAL);
	CHECK_ERR("ioprio.bad_which", syscall(SYS_ioprio_set, 9, 0, IOPRIO(2, 0)), EINVAL);
	CHECK_ERR("ioprio.get_bad_which", syscall(SYS_ioprio_get, 0, 0), EINVAL);
	CHECK_ERR("ioprio.no_pid", syscall(SYS_ioprio_get, 1, 999999), ESRCH);
	syscall(SYS_ioprio_set, 1, 0, IOPRIO(2, 4));
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	check_nice();
	check_policies();
	check_ioprio();
	return utest_done();
}
