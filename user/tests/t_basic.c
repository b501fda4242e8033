/*
 * t_basic - simple process-information syscalls: ids, uname, sysinfo, getrandom, umask,
 * resource limits, credentials, ENOSYS for unassigned numbers and a large write to stdout.
 */
#define UTEST_PROGRAM "t_basic"
#include "utest.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>

static void check_ids(void)
{
	pid_t pid = getpid();
	CHECKF("getpid", pid > 0, "getpid()=%d", (int)pid);
	CHECKF("getppid", getppid() > 0 && getppid() != pid, "getppid()=%d", (int)getppid());
	CHECK_EQ("gettid_main", syscall(SYS_gettid), pid);
	CHECK_EQ("getpid_raw", syscall(SYS_getpid), pid);
}

static void check_uname(void)
{
	struct utsname u;
	memset(&u, 0, sizeof u);
	if (!CHECK_RET("uname", uname(&u), 0))
		return;
	CHECKF("uname.sysname", u.sysname[0] != 0, "sysname empty");
	CHECKF("uname.release", u.release[0] != 0, "release empty");
	CHECKF("uname.machine", strcmp(u.machine, "x86_64") == 0, "machine=\"%s\"", u.machine);
	CHECKF("uname.terminated", memchr(u.nodename, 0, sizeof u.nodename) != NULL &&
		   memchr(u.version, 0, sizeof u.version) != NULL, "fields not NUL-terminated");
}

static void check_sysinfo(void)
{
	struct sysinfo si;
	memset(&si, 0xff, sizeof si);
	if (!CHECK_RET("sysinfo", sysinfo(&si), 0))
		return;
	CHECKF("sysinfo.ram", si.totalram > si.freeram && si.freeram > 0,
	       "totalram=%lu freeram=%lu", si.totalram, si.freeram);
	CHECKF("sysinfo.mem_unit", si.mem_unit >= 1, "mem_unit=%u", si.mem_unit);
	CHECKF("sysinfo.procs", si.procs >= 1, "procs=%u", (unsigned)si.procs);
	struct timespec bt;
	clock_gettime(CLOCK_BOOTTIME, &bt);
	long up = (long)si.uptime;
	CHECKF("sysinfo.uptime", up >= 0 && up - (long)bt.tv_sec <= 1 && (long)bt.tv_sec - up <= 1,
	       "uptime=%ld, CLOCK_BOOTTIME=%ld s", up, (long)bt.tv_sec);
}

static void check_getrandom(void)
{
	unsigned char a[64], b[64];
	memset(a, 0, sizeof a);
	memset(b, 0, sizeof b);
	CHECK_RET("getrandom", syscall(SYS_getrandom, a, sizeof a, 0), 64);
	CHECK_RET("getrandom.nonblock", syscall(SYS_getrandom, b, sizeof b, GRND_NONBLOCK), 64);
	int nz = 0;
	for (int i = 0; i < 64; i++)
		nz += a[i] != 0;
	CHECKF("getrandom.filled", nz > 32, "only %d of 64 bytes non-zero", nz);
	CHECK("getrandom.differs", memcmp(a, b, sizeof a) != 0);
	CHECK_RET("getrandom.zero_len", syscall(SYS_getrandom, a, 0, 0), 0);
	CHECK_SYSERR("getrandom.bad_flags", syscall(SYS_getrandom, a, sizeof a, 0x80), EINVAL);
}

static void check_umask(void)
{
	mode_t old = umask(022);
	CHECK_EQ("umask.set", umask(077), 022);
	CHECK_EQ("umask.get", umask(old), 077);
	CHECK_EQ("umask.masked", umask(01777) & 0777, old & 0777);
	umask(old);
}

static void check_rlimits(void)
{
	struct rlimit orig, r;
	if (!CHECK_RET("getrlimit", getrlimit(RLIMIT_NOFILE, &orig), 0))
		return;
	CHECKF("getrlimit.sane", orig.rlim_cur > 0 && orig.rlim_cur <= orig.rlim_max,
	       "cur=%lu max=%lu", (unsigned long)orig.rlim_cur, (unsigned long)orig.rlim_max);

	r = orig;
	r.rlim_cur = 64;
	CHECK_RET("setrlimit.lower", setrlimit(RLIMIT_NOFILE, &r), 0);
	memset(&r, 0, sizeof r);
	getrlimit(RLIMIT_NOFILE, &r);
	CHECKF("setrlimit.readback", r.rlim_cur == 64 && r.rlim_max == orig.rlim_max,
	       "cur=%lu max=%lu", (unsigned long)r.rlim_cur, (unsigned long)r.rlim_max);
	/* The lowered limit is enforced for new descriptor numbers. */
	CHECK_ERR("rlimit.dup2_enforced", dup2(1, 100), EBADF);
	CHECK_ERR("rlimit.fdupfd_enforced", fcntl(1, F_DUPFD, 100), EINVAL);

	struct rlimit newl = { 100, orig.rlim_max }, oldl = { 0, 0 };
	CHECK_RET("prlimit64.set", syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &newl, &oldl), 0);
	CHECK_EQ("prlimit64.old", oldl.rlim_cur, 64);
	memset(&oldl, 0, sizeof oldl);
	CHECK_RET("prlimit64.get", syscall(SYS_prlimit64, getpid(), RLIMIT_NOFILE, NULL, &oldl), 0);
	CHECK_EQ("prlimit64.readback", oldl.rlim_cur, 100);

	struct rlimit inv = { orig.rlim_max, orig.rlim_max - 1 };
	CHECK_ERR("setrlimit.cur_above_max", setrlimit(RLIMIT_NOFILE, &inv), EINVAL);
	CHECK_RET("getrlimit.raw", syscall(SYS_getrlimit, RLIMIT_NOFILE, &r), 0);
	CHECK_EQ("getrlimit.raw_value", r.rlim_cur, 100);
	CHECK_SYSERR("getrlimit.bad_resource", syscall(SYS_getrlimit, 999, &r), EINVAL);
	CHECK_SYSERR("setrlimit.bad_resource", syscall(SYS_setrlimit, 999, &orig), EINVAL);
	CHECK_SYSERR("prlimit64.bad_resource", syscall(SYS_prlimit64, 0, 999, NULL, &r), EINVAL);
	CHECK_SYSERR("prlimit64.bad_pid", syscall(SYS_prlimit64, UTEST_BADPID, RLIMIT_NOFILE, NULL, &r),
		     ESRCH);
	CHECK_RET("setrlimit.restore", setrlimit(RLIMIT_NOFILE, &orig), 0);

	CHECK_RET("getrlimit.stack", getrlimit(RLIMIT_STACK, &r), 0);
	CHECKF("getrlimit.stack_sane", r.rlim_cur >= 65536 && r.rlim_cur <= r.rlim_max,
	       "stack cur=%lu max=%lu", (unsigned long)r.rlim_cur, (unsigned long)r.rlim_max);
}

static void check_creds(void)
{
	uid_t ru = 12345, eu = 12345, su = 12345;
	gid_t rg = 12345, eg = 12345, sg = 12345;
	CHECK_RET("getresuid", getresuid(&ru, &eu, &su), 0);
	CHECKF("getresuid.match", ru == getuid() && eu == geteuid() && su == geteuid(),
	       "r=%u e=%u s=%u uid=%u euid=%u", ru, eu, su, getuid(), geteuid());
	CHECK_RET("getresgid", getresgid(&rg, &eg, &sg), 0);
	CHECKF("getresgid.match", rg == getgid() && eg == getegid() && sg == getegid(),
	       "r=%u e=%u s=%u gid=%u egid=%u", rg, eg, sg, getgid(), getegid());
	CHECK_RET("setuid.self", setuid(getuid()), 0);
	CHECK_RET("setgid.self", setgid(getgid()), 0);
	CHECK_EQ("getuid.after_setuid", getuid(), ru);

	int n = getgroups(0, NULL);
	CHECKF("getgroups.count", n >= 0 && n <= 65536, "getgroups(0)=%d errno %d", n, errno);
	gid_t groups[256];
	if (n >= 0 && n <= 256)
		CHECK_RET("getgroups.list", getgroups(256, groups), n);
	if (n >= 2)
		CHECK_ERR("getgroups.too_small", getgroups(n - 1, groups), EINVAL);
	CHECK_SYSERR("getgroups.negative", syscall(SYS_getgroups, -1, groups), EINVAL);
}

static void check_enosys(void)
{
	CHECK_SYSERR("enosys.500", syscall(500), ENOSYS);
	CHECK_SYSERR("enosys.100000", syscall(100000), ENOSYS);
	CHECK_SYSERR("enosys.negative", syscall(-1L), ENOSYS);
}

static void check_big_write(void)
{
	/* 8 KiB of comment lines ("# ..."), which the harness ignores. */
	static char buf[8192];
	for (int i = 0; i < 8192; i += 64) {
		memset(buf + i, '.', 64);
		memcpy(buf + i, "# t_basic big write filler ", 27);
		buf[i + 63] = '\n';
	}
	CHECK_RET("write.big_stdout", write(1, buf, sizeof buf), 8192);
	CHECK_RET("write.zero_len", write(1, buf, 0), 0);
	CHECK_ERR("write.bad_fd", write(999, buf, 1), EBADF);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	check_ids();
	check_uname();
	check_sysinfo();
	check_getrandom();
	check_umask();
	check_rlimits();
	check_creds();
	check_enosys();
	check_big_write();
	return utest_done();
}
