/*
 * t_nproc - acceptance: fork without limit cannot exhaust the kernel (issue 11).
 *
 * Cases:
 *   default_limit    RLIMIT_NPROC has a finite default (derived from the memory, as Linux).
 *   bomb_eagain      uid 1000 under RLIMIT_NPROC=50 forks until fork fails: EAGAIN, with at
 *                    most 49 children (the forker itself counts); all are killed and reaped
 *                    by the forker.
 *   bomb_again       the same bomb again gets as many children: the count went back to zero.
 *   threads_count    threads count against RLIMIT_NPROC too (Linux counts tasks).
 *   root_exempt      root ignores its RLIMIT_NPROC (CAP_SYS_RESOURCE), as Linux.
 *   global_cap       (Exo-OS only) root forking without limit gets EAGAIN at the system-wide
 *                    task cap, and everything is cleaned up.
 *   freeram_baseline free memory returns to where it was before these cases.
 */
#define UTEST_PROGRAM "t_nproc"
#include "utest.h"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>

#define UNPRIVILEGED 1000
#define LIMIT 50

struct bomb {
	int children;
	int err;
};

static long free_bytes(void)
{
	struct sysinfo si;
	if (sysinfo(&si) != 0)
		return -1;
	return (long)si.freeram * (long)(si.mem_unit ? si.mem_unit : 1);
}

/* A child "leader" optionally drops to uid 1000, sets RLIMIT_NPROC=limit and forks children
 * that sleep, until fork fails (or `max` children).  It reports through a pipe, and when the
 * parent closes the other pipe it kills and reaps its children and exits 0, so nothing is left
 * for anyone else to reap.  Returns 0 when the report arrived and the leader exited 0. */
static int run_bomb(int unprivileged, rlim_t limit, int max, struct bomb *out)
{
	int report[2], go[2];
	if (pipe(report) != 0 || pipe(go) != 0)
		return -1;
	pid_t leader = fork();
	if (leader < 0)
		return -1;
	if (leader == 0) {
		close(report[0]);
		close(go[1]);
		pid_t *pids = calloc((size_t)max, sizeof *pids);
		struct rlimit rl = { limit, limit };
		if (!pids || setrlimit(RLIMIT_NPROC, &rl) != 0)
			_exit(2);
		if (unprivileged && (setgid(UNPRIVILEGED) != 0 || setuid(UNPRIVILEGED) != 0))
			_exit(3);
		struct bomb b = { 0, 0 };
		while (b.children < max) {
			pid_t pid = fork();
			if (pid == 0) {
				for (;;)
					pause();
			}
			if (pid < 0) {
				b.err = errno;
				break;
			}
			pids[b.children++] = pid;
		}
		utest_write_all(report[1], (const char *)&b, sizeof b);
		char c;
		while (read(go[0], &c, 1) < 0 && errno == EINTR)
			;
		/* One at a time: hundreds of threads exiting at once would measure the scheduler's
		 * exit path, not the limits. */
		int bad = 0;
		for (int i = 0; i < b.children; i++) {
			kill(pids[i], SIGKILL);
			int st = utest_wait(pids[i]);
			bad |= !(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
		}
		_exit(bad ? 4 : 0);
	}
	close(report[1]);
	close(go[0]);
	ssize_t n = read(report[0], out, sizeof *out);
	close(report[0]);
	close(go[1]);
	int st = utest_wait(leader);
	return n == (ssize_t)sizeof *out && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void *idle_thread(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

/* uid 1000 with RLIMIT_NPROC=5 creates threads until it cannot: at most 4 (itself counts). */
static void case_threads_count(void)
{
	int fds[2];
	if (pipe(fds) != 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		struct rlimit rl = { 5, 5 };
		if (setrlimit(RLIMIT_NPROC, &rl) != 0 || setgid(UNPRIVILEGED) != 0 || setuid(UNPRIVILEGED) != 0)
			_exit(2);
		struct bomb b = { 0, 0 };
		pthread_t t;
		while (b.children < 20) {
			int e = pthread_create(&t, NULL, idle_thread, NULL);
			if (e != 0) {
				b.err = e;
				break;
			}
			b.children++;
		}
		utest_write_all(fds[1], (const char *)&b, sizeof b);
		_exit(0);
	}
	close(fds[1]);
	struct bomb b = { -1, 0 };
	ssize_t n = read(fds[0], &b, sizeof b);
	close(fds[0]);
	int st = utest_wait(pid);
	CHECKF("threads_count", n == (ssize_t)sizeof b && b.children == 4 && b.err == EAGAIN &&
	       WIFEXITED(st) && WEXITSTATUS(st) == 0,
	       "threads=%d err=%s child %s", b.children, utest_errname(b.err), utest_wstr(st));
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	const char *root = getenv("UTEST_ROOT");
	int host = root && *root;
	long before = free_bytes();

	struct rlimit rl;
	CHECKF("default_limit", getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	       rl.rlim_cur >= 64, "RLIMIT_NPROC cur=%lld max=%lld", (long long)rl.rlim_cur,
	       (long long)rl.rlim_max);

	struct bomb first = { -1, 0 }, second = { -1, 0 };
	int r1 = run_bomb(1, LIMIT, 1000, &first);
	/* On Exo-OS nothing else runs as uid 1000: exactly LIMIT - 1 children. */
	CHECKF("bomb_eagain", r1 == 0 && first.err == EAGAIN && first.children <= LIMIT - 1 &&
	       (host || first.children == LIMIT - 1),
	       "report=%d children=%d err=%s", r1, first.children, utest_errname(first.err));
	int r2 = run_bomb(1, LIMIT, 1000, &second);
	CHECKF("bomb_again", r2 == 0 && second.err == EAGAIN && second.children == first.children,
	       "report=%d children=%d (first %d) err=%s", r2, second.children, first.children,
	       utest_errname(second.err));

	case_threads_count();

	struct bomb rooted = { -1, 0 };
	int r3 = run_bomb(0, 5, 20, &rooted);
	CHECKF("root_exempt", r3 == 0 && rooted.children == 20 && rooted.err == 0,
	       "report=%d children=%d err=%s", r3, rooted.children, utest_errname(rooted.err));

	if (host) {
		utest_printf("# t_nproc: global_cap skipped on the host\n");
	} else {
		struct bomb all = { -1, 0 };
		int64_t t0 = utest_now_ns(CLOCK_MONOTONIC);
		int r4 = run_bomb(0, RLIM_INFINITY, 100000, &all);
		utest_printf("# t_nproc: root fork bomb stopped at %d children (%s), %lld ms\n",
			     all.children, utest_errname(all.err),
			     (long long)((utest_now_ns(CLOCK_MONOTONIC) - t0) / 1000000));
		CHECKF("global_cap", r4 == 0 && all.err == EAGAIN && all.children > 2 * LIMIT,
		       "report=%d children=%d err=%s", r4, all.children, utest_errname(all.err));
	}

	long tol = 1024 * 1024;
	const char *t = getenv("UTEST_MEM_TOLERANCE_KB");
	if (t && atol(t) > 0)
		tol = atol(t) * 1024L;
	long after = free_bytes();
	for (int i = 0; i < 300 && labs(after - before) > tol; i++) {
		utest_sleep_ms(10);
		after = free_bytes();
	}
	CHECKF("freeram_baseline", before > 0 && labs(after - before) <= tol,
	       "freeram before=%ld after=%ld diff=%ld tolerance=%ld", before, after, after - before, tol);
	return utest_done();
}
