/*
 * t_initsig - init (PID 1) is unkillable from user space: signals whose action in init is the
 * default one (SIGKILL and SIGSTOP included) are dropped when root sends them, and refused
 * with EPERM when another user does (kill, tgkill, rt_sigqueueinfo). A killed init would
 * panic the kernel.
 *
 * The target is PID 1 of the test's PID namespace: on Linux (host-check) a fresh namespace
 * made with unshare(CLONE_NEWPID), whose first process plays init; on Exo-OS (no namespaces)
 * the real init, which runs the suite (only when it is the test's parent, so that a host run
 * without namespaces never signals the host's PID 1).
 *
 * Children record each call's result in shared memory; only the main process prints.
 */
#include "utest.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/mman.h>

struct rec {
	long ret;
	int err;
	int done;
};

enum {
	ROOT_KILL,
	ROOT_SIGQUEUE,
	ROOT_TGKILL,
	ROOT_SEGV,
	ROOT_STOP,
	USER_KILL,
	USER_KILL0,
	USER_SIGQUEUE,
	USER_TGKILL,
	ALIVE,
	NOT_STOPPED,
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

/* The state letter of /proc/1/stat ('?' if unreadable). */
static char init_state(void)
{
	char buf[256];
	FILE *f = fopen("/proc/1/stat", "r");
	if (!f)
		return '?';
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/* Runs every attack on PID 1 (as root, then from a uid-1000 child). */
static void attack(int real_init)
{
	DO(ROOT_KILL, kill(1, SIGKILL));
	DO(ROOT_SIGQUEUE, sigqueue_raw(1, SIGKILL));
	DO(ROOT_TGKILL, syscall(SYS_tgkill, 1, 1, SIGKILL));
	DO(ROOT_SEGV, kill(1, SIGSEGV));
	DO(ROOT_STOP, kill(1, SIGSTOP));
	utest_sleep_ms(50);
	if (real_init) {
		char state = init_state();
		R[NOT_STOPPED].ret = state != 'T' && state != '?';
		R[NOT_STOPPED].done = 1;
		if (!R[NOT_STOPPED].ret)
			kill(1, SIGCONT);
	}
	pid_t user = fork();
	if (user == 0) {
		if (setgid(1000) != 0 || setuid(1000) != 0)
			_exit(2);
		DO(USER_KILL, kill(1, SIGKILL));
		DO(USER_KILL0, kill(1, 0));
		DO(USER_SIGQUEUE, sigqueue_raw(1, SIGKILL));
		DO(USER_TGKILL, syscall(SYS_tgkill, 1, 1, SIGKILL));
		_exit(0);
	}
	utest_wait(user);
	utest_sleep_ms(20);
	DO(ALIVE, kill(1, 0));
}

/* Namespace mode: the caller is PID 1 of a new namespace; its child attacks it. */
static void play_init(void)
{
	pid_t child = fork();
	if (child == 0) {
		attack(0);
		_exit(0);
	}
	int st;
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	_exit(0);
}

static void expect(const char *name, int i, long ret, int err)
{
	if (!R[i].done) {
		utest_fail(name, "not run");
		return;
	}
	if (ret == -1)
		utest_check_err(name, R[i].ret, R[i].err, err, name);
	else
		utest_check_ret(name, R[i].ret, R[i].err, ret, name);
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
	int real_init = getppid() == 1;
	pid_t runner = fork();
	if (runner == 0) {
		if (unshare(CLONE_NEWPID) == 0) {
			pid_t init = fork();
			if (init == 0)
				play_init();
			int st;
			/* A stopped stand-in init is reported here (WUNTRACED), then killed. */
			while (waitpid(init, &st, WUNTRACED) < 0 && errno == EINTR)
				;
			R[NOT_STOPPED].ret = !WIFSTOPPED(st);
			R[NOT_STOPPED].done = 1;
			if (WIFSTOPPED(st)) {
				kill(init, SIGKILL);
				waitpid(init, &st, 0);
			}
			_exit(WIFEXITED(st) ? 0 : 3);
		}
		if (real_init) {
			attack(1);
			_exit(0);
		}
		_exit(4);
	}
	int st = utest_wait(runner);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 4) {
		utest_printf("# %s: no PID namespace and not run by PID 1: nothing to attack\n", utest_prog);
		utest_ok("skipped");
		return utest_done();
	}
	utest_check_exit("init.survives", st, 0);
	expect("root.kill_sigkill", ROOT_KILL, 0, 0);
	expect("root.sigqueue_sigkill", ROOT_SIGQUEUE, 0, 0);
	expect("root.tgkill_sigkill", ROOT_TGKILL, 0, 0);
	expect("root.kill_sigsegv", ROOT_SEGV, 0, 0);
	expect("root.kill_sigstop", ROOT_STOP, 0, 0);
	expect("user.kill_sigkill", USER_KILL, -1, EPERM);
	expect("user.kill_sig0", USER_KILL0, -1, EPERM);
	expect("user.sigqueue_sigkill", USER_SIGQUEUE, -1, EPERM);
	expect("user.tgkill_sigkill", USER_TGKILL, -1, EPERM);
	expect("init.alive", ALIVE, 0, 0);
	expect("init.not_stopped", NOT_STOPPED, 1, 0);
	if (mounted_proc)
		umount("/proc");
	return utest_done();
}
