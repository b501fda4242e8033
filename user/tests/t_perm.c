/*
 * t_perm - calls that touch another process check permission as Linux does, and read-only
 * mounts refuse attribute changes.
 *
 * A root "victim" child sleeps; a uid/gid-1000 "attacker" child then tries, and must get:
 *   - signals (kill, tkill, rt_sigqueueinfo, rt_tgsigqueueinfo, signal 0): EPERM; SIGCONT is
 *     allowed within the session, EPERM from another session;
 *   - prlimit64 on the victim (read or write), sched_setaffinity, get_robust_list: EPERM;
 *   - /proc/<victim>/maps (open), cwd, root, fd/<n> (readlink), fd/ (open): EACCES, while the
 *     world-readable status opens and its own /proc/self files work.
 * The victim must be alive and unchanged afterwards. As root, truncate, chown, fchown, chmod,
 * utimensat and open for writing on a tmpfs remounted read-only give EROFS.
 * A root process that drops to uid 1000 is not "dumpable" (PR_GET_DUMPABLE is 0): another uid-1000
 * process cannot open its /proc/<pid>/maps or read its robust-list head until it sets
 * PR_SET_DUMPABLE (prlimit64 ignores the flag, as on Linux).
 *
 * Children record each call's result in shared memory; only the main process prints.
 */
#include "utest.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/mount.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>

struct rec {
	long ret;
	int err;
	int done;
};

enum {
	SIG_KILL,
	SIG_TKILL,
	SIG_QUEUE,
	SIG_TGQUEUE,
	SIG_QUEUE0,
	SIG_TGQUEUE_BAD,
	SIG_QUEUE0_SELF,
	SIG_CONT,
	SIG_QUEUE_CONT,
	SIG_CONT_OTHER_SESSION,
	LIM_GET,
	LIM_SET,
	LIM_SELF,
	AFFINITY_OTHER,
	AFFINITY_SELF,
	ROBUST_OTHER,
	ROBUST_SELF,
	PROC_MAPS,
	PROC_CWD,
	PROC_ROOT,
	PROC_FDDIR,
	PROC_FDLINK,
	PROC_CHDIR,
	PROC_STATUS,
	PROC_SELF_MAPS,
	PROC_SELF_CWD,
	NREC
};

static struct rec *R;

#define DO(i, expr)                                                                            \
	do {                                                                                   \
		errno = 0;                                                                     \
		R[i].ret = (long)(expr);                                                       \
		R[i].err = errno;                                                              \
		R[i].done = 1;                                                                 \
	} while (0)

static void expect_ret(const char *name, int i, long ret)
{
	if (!R[i].done)
		utest_fail(name, "not run");
	else
		utest_check_ret(name, R[i].ret, R[i].err, ret, name);
}

static void expect_err(const char *name, int i, int err)
{
	if (!R[i].done)
		utest_fail(name, "not run");
	else
		utest_check_err(name, R[i].ret, R[i].err, err, name);
}

static void expect_ok(const char *name, int i)
{
	if (!R[i].done)
		utest_fail(name, "not run");
	else
		utest_check(name, R[i].ret >= 0, "returned %ld errno %s", R[i].ret, utest_errname(R[i].err));
}

static long sigqueue_raw(pid_t pid, int sig)
{
	siginfo_t info;
	memset(&info, 0, sizeof info);
	info.si_signo = sig;
	info.si_code = SI_QUEUE;
	info.si_pid = getpid();
	info.si_uid = getuid();
	return syscall(SYS_rt_sigqueueinfo, pid, sig, &info);
}

static long tgsigqueue_raw(pid_t pid, int sig)
{
	siginfo_t info;
	memset(&info, 0, sizeof info);
	info.si_signo = sig;
	info.si_code = SI_QUEUE;
	return syscall(SYS_rt_tgsigqueueinfo, pid, pid, sig, &info);
}

static long open_close(const char *path, int flags)
{
	int fd = open(path, flags);
	if (fd >= 0)
		close(fd);
	return fd;
}

static long readlink_len(const char *path)
{
	char buf[256];
	return readlink(path, buf, sizeof buf);
}

static int become_user(void)
{
	return setgid(1000) == 0 && setuid(1000) == 0;
}

/* The uid-1000 attacks on `victim`. */
static void attack(pid_t victim)
{
	char path[64];
	struct rlimit lim = { 16, 16 }, old;
	long head;
	size_t len;
	DO(SIG_KILL, kill(victim, SIGKILL));
	DO(SIG_TKILL, syscall(SYS_tkill, victim, SIGKILL));
	DO(SIG_QUEUE, sigqueue_raw(victim, SIGKILL));
	DO(SIG_TGQUEUE, tgsigqueue_raw(victim, SIGKILL));
	DO(SIG_QUEUE0, sigqueue_raw(victim, 0));
	DO(SIG_TGQUEUE_BAD, syscall(SYS_rt_tgsigqueueinfo, victim, 0, SIGKILL, &(siginfo_t){ .si_code = SI_QUEUE }));
	DO(SIG_QUEUE0_SELF, sigqueue_raw(getpid(), 0));
	DO(SIG_CONT, kill(victim, SIGCONT));
	DO(SIG_QUEUE_CONT, sigqueue_raw(victim, SIGCONT));
	DO(LIM_GET, prlimit(victim, RLIMIT_NOFILE, NULL, &old));
	DO(LIM_SET, prlimit(victim, RLIMIT_NOFILE, &lim, NULL));
	DO(LIM_SELF, prlimit(getpid(), RLIMIT_NOFILE, NULL, &old));
	cpu_set_t cpus;
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	DO(AFFINITY_OTHER, sched_setaffinity(victim, sizeof cpus, &cpus));
	DO(AFFINITY_SELF, sched_setaffinity(0, sizeof cpus, &cpus));
	DO(ROBUST_OTHER, syscall(SYS_get_robust_list, victim, &head, &len));
	DO(ROBUST_SELF, syscall(SYS_get_robust_list, 0, &head, &len));
	snprintf(path, sizeof path, "/proc/%d/maps", victim);
	DO(PROC_MAPS, open_close(path, O_RDONLY));
	snprintf(path, sizeof path, "/proc/%d/cwd", victim);
	DO(PROC_CWD, readlink_len(path));
	snprintf(path, sizeof path, "/proc/%d/root", victim);
	DO(PROC_ROOT, readlink_len(path));
	snprintf(path, sizeof path, "/proc/%d/fd", victim);
	DO(PROC_FDDIR, open_close(path, O_RDONLY | O_DIRECTORY));
	snprintf(path, sizeof path, "/proc/%d/fd/0", victim);
	DO(PROC_FDLINK, readlink_len(path));
	snprintf(path, sizeof path, "/proc/%d/cwd", victim);
	DO(PROC_CHDIR, chdir(path));
	snprintf(path, sizeof path, "/proc/%d/status", victim);
	DO(PROC_STATUS, open_close(path, O_RDONLY));
	DO(PROC_SELF_MAPS, open_close("/proc/self/maps", O_RDONLY));
	DO(PROC_SELF_CWD, readlink_len("/proc/self/cwd"));
}

static void test_other_process(void)
{
	struct rlimit before, after;
	getrlimit(RLIMIT_NOFILE, &before);
	pid_t victim = fork();
	if (victim == 0) {
		for (;;)
			pause();
	}
	pid_t attacker = fork();
	if (attacker == 0) {
		if (!become_user())
			_exit(2);
		attack(victim);
		_exit(0);
	}
	utest_check_exit("attacker.exit", utest_wait(attacker), 0);
	pid_t other = fork();
	if (other == 0) {
		if (setsid() < 0 || !become_user())
			_exit(2);
		DO(SIG_CONT_OTHER_SESSION, kill(victim, SIGCONT));
		_exit(0);
	}
	utest_check_exit("other_session.exit", utest_wait(other), 0);

	expect_err("sig.kill", SIG_KILL, EPERM);
	expect_err("sig.tkill", SIG_TKILL, EPERM);
	expect_err("sig.sigqueueinfo", SIG_QUEUE, EPERM);
	expect_err("sig.tgsigqueueinfo", SIG_TGQUEUE, EPERM);
	expect_err("sig.sigqueueinfo_sig0", SIG_QUEUE0, EPERM);
	expect_err("sig.tgsigqueueinfo_tid0", SIG_TGQUEUE_BAD, EINVAL);
	expect_ret("sig.sigqueueinfo_sig0_self", SIG_QUEUE0_SELF, 0);
	expect_ret("sig.sigcont_session", SIG_CONT, 0);
	expect_ret("sig.sigqueueinfo_sigcont_session", SIG_QUEUE_CONT, 0);
	expect_err("sig.sigcont_other_session", SIG_CONT_OTHER_SESSION, EPERM);
	expect_err("prlimit.get_other", LIM_GET, EPERM);
	expect_err("prlimit.set_other", LIM_SET, EPERM);
	expect_ret("prlimit.self", LIM_SELF, 0);
	expect_err("affinity.set_other", AFFINITY_OTHER, EPERM);
	expect_ret("affinity.set_self", AFFINITY_SELF, 0);
	expect_err("robust.other", ROBUST_OTHER, EPERM);
	expect_ret("robust.self", ROBUST_SELF, 0);
	expect_err("proc.maps_other", PROC_MAPS, EACCES);
	expect_err("proc.cwd_other", PROC_CWD, EACCES);
	expect_err("proc.root_other", PROC_ROOT, EACCES);
	expect_err("proc.fd_dir_other", PROC_FDDIR, EACCES);
	expect_err("proc.fd_link_other", PROC_FDLINK, EACCES);
	expect_err("proc.chdir_cwd_other", PROC_CHDIR, EACCES);
	expect_ok("proc.status_other", PROC_STATUS);
	expect_ok("proc.maps_self", PROC_SELF_MAPS);
	expect_ok("proc.cwd_self", PROC_SELF_CWD);

	int st;
	CHECK_RET("victim.alive", waitpid(victim, &st, WNOHANG), 0);
	CHECK_RET("victim.prlimit_root", prlimit(victim, RLIMIT_NOFILE, NULL, &after), 0);
	CHECKF("victim.limit_unchanged", after.rlim_cur == before.rlim_cur && after.rlim_max == before.rlim_max,
	       "NOFILE %ld/%ld, was %ld/%ld", (long)after.rlim_cur, (long)after.rlim_max,
	       (long)before.rlim_cur, (long)before.rlim_max);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/maps", victim);
	CHECK_OK("victim.maps_root", open_close(path, O_RDONLY));
	long head;
	size_t len;
	CHECK_RET("victim.robust_root", syscall(SYS_get_robust_list, victim, &head, &len), 0);
	kill(victim, SIGKILL);
	utest_check_signaled("victim.killed_by_root", utest_wait(victim), SIGKILL);
}

static void test_readonly_mount(void)
{
	char dir[64], file[80];
	snprintf(dir, sizeof dir, "/tmp/t_perm_ro.%d", getpid());
	snprintf(file, sizeof file, "%s/f", dir);
	if (!CHECK_OK("ro.mkdir", mkdir(dir, 0755)))
		return;
	if (!CHECK_OK("ro.mount", mount("none", dir, "tmpfs", 0, NULL))) {
		rmdir(dir);
		return;
	}
	int fd = open(file, O_WRONLY | O_CREAT, 0644);
	CHECK_RET("ro.setup_write", write(fd, "hello", 5), 5);
	close(fd);
	CHECK_OK("ro.remount", mount("none", dir, "tmpfs", MS_REMOUNT | MS_RDONLY, NULL));
	CHECK_ERR("ro.truncate", truncate(file, 0), EROFS);
	CHECK_ERR("ro.chown", chown(file, 1000, 1000), EROFS);
	CHECK_ERR("ro.chmod", chmod(file, 0600), EROFS);
	CHECK_ERR("ro.utimensat", utimensat(AT_FDCWD, file, NULL, 0), EROFS);
	CHECK_ERR("ro.open_write", open(file, O_WRONLY), EROFS);
	fd = open(file, O_RDONLY);
	CHECK_ERR("ro.fchown", fchown(fd, 1000, 1000), EROFS);
	CHECK_ERR("ro.fchmod", fchmod(fd, 0600), EROFS);
	CHECK_ERR("ro.ftruncate_rdonly_fd", ftruncate(fd, 0), EINVAL);
	close(fd);
	struct stat st;
	CHECKF("ro.unchanged", stat(file, &st) == 0 && st.st_size == 5 && st.st_uid == 0 && (st.st_mode & 0777) == 0644,
	       "size %ld uid %d mode %o", (long)st.st_size, (int)st.st_uid, (unsigned)st.st_mode & 0777);
	CHECK_OK("ro.umount", umount(dir));
	rmdir(dir);
}

/* A root child that becomes uid 1000 (optionally dumpable again), reports PR_GET_DUMPABLE on
 * `ready` and sleeps until killed. */
static pid_t dropped_root(int ready, int set_dumpable)
{
	pid_t pid = fork();
	if (pid == 0) {
		char state = 'x';
		if (become_user()) {
			if (set_dumpable)
				prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
			state = '0' + prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
		}
		if (write(ready, &state, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	return pid;
}

static void test_dumpable(void)
{
	int ready[2];
	if (!CHECK_OK("dumpable.pipe", pipe(ready)))
		return;
	CHECK_RET("dumpable.root_is", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
	CHECK_ERR("dumpable.set_bad", prctl(PR_SET_DUMPABLE, 2, 0, 0, 0), EINVAL);
	pid_t dropped = dropped_root(ready[1], 0);
	char state = 0;
	CHECK_RET("dumpable.dropped_ready", read(ready[0], &state, 1), 1);
	CHECKF("dumpable.dropped_not_dumpable", state == '0', "PR_GET_DUMPABLE after setuid: %c", state);
	pid_t again = dropped_root(ready[1], 1);
	CHECK_RET("dumpable.again_ready", read(ready[0], &state, 1), 1);
	CHECKF("dumpable.set_again", state == '1', "PR_GET_DUMPABLE after PR_SET_DUMPABLE: %c", state);
	pid_t attacker = fork();
	if (attacker == 0) {
		char path[64];
		struct rlimit lim;
		void *head;
		size_t len;
		int bits = 0;
		if (!become_user())
			_exit(100);
		snprintf(path, sizeof path, "/proc/%d/maps", dropped);
		if (open_close(path, O_RDONLY) < 0 && errno == EACCES)
			bits |= 1;
		if (syscall(SYS_get_robust_list, dropped, &head, &len) < 0 && errno == EPERM)
			bits |= 2;
		if (prlimit(dropped, RLIMIT_NOFILE, NULL, &lim) == 0)
			bits |= 16;
		snprintf(path, sizeof path, "/proc/%d/maps", again);
		if (open_close(path, O_RDONLY) >= 0)
			bits |= 4;
		if (syscall(SYS_get_robust_list, again, &head, &len) == 0)
			bits |= 8;
		_exit(bits);
	}
	int st = utest_wait(attacker);
	int bits = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	CHECKF("dumpable.maps_refused", bits >= 0 && (bits & 1), "exit bits %d", bits);
	CHECKF("dumpable.robust_refused", bits >= 0 && (bits & 2), "exit bits %d", bits);
	CHECKF("dumpable.prlimit_ignores_it", bits >= 0 && (bits & 16), "exit bits %d", bits);
	CHECKF("dumpable.maps_allowed_again", bits >= 0 && (bits & 4), "exit bits %d", bits);
	CHECKF("dumpable.robust_allowed_again", bits >= 0 && (bits & 8), "exit bits %d", bits);
	kill(dropped, SIGKILL);
	kill(again, SIGKILL);
	utest_wait(dropped);
	utest_wait(again);
	close(ready[0]);
	close(ready[1]);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	R = mmap(NULL, sizeof(struct rec) * NREC, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (R == MAP_FAILED) {
		utest_fail("setup", "mmap errno %d", errno);
		return utest_done();
	}
	memset(R, 0, sizeof(struct rec) * NREC);
	/* Under Exo-OS's test init nothing is mounted on /proc yet. */
	int mounted_proc = access("/proc/self/stat", F_OK) != 0 && mount("proc", "/proc", "proc", 0, NULL) == 0;
	test_other_process();
	test_readonly_mount();
	test_dumpable();
	if (mounted_proc)
		umount("/proc");
	return utest_done();
}
