/*
 * t_chain - stress acceptance check for fork + exec + wait and for frame leaks.
 *
 * Runs 10 chains of depth 100 (1,010 execs in all): the top process forks a child that execs
 * "t_chain child 100"; a process started as "child N" with N > 0 forks, its child execs
 * "t_chain child N-1", waits for it and exits with its status; "child 0" exits 0.  After a
 * warm-up chain it reads sysinfo().freeram before and after the 10 chains: the free memory
 * must come back to the baseline within 256 KiB (Exo-OS reports free frames after trimming its
 * heap caches, so it comes back exactly; the slack is for heap slab fragmentation).  The env
 * UTEST_MEM_TOLERANCE_KB overrides it: the host run loosens it because other processes move
 * the host's free memory.
 * Deferred frees may lag the last exit, so the check re-reads for up to 2 s before failing.
 */
#define UTEST_PROGRAM "t_chain"
#include "utest.h"

#include <sys/sysinfo.h>

#define CHAINS 10
#define DEPTH 100
#define DEFAULT_TOLERANCE_KB 256

/* Exit codes of a failing link, passed up the chain unchanged. */
enum { E_USAGE = 120, E_FORK = 121, E_EXEC = 122, E_WAIT = 123, E_SIGNALED = 124 };

extern char **environ;

static const char *self_path(void)
{
	return utest_path("/bin/tests/t_chain");
}

/* fork, exec "t_chain child <depth>" in the child, wait; returns the exit code to pass up. */
static int spawn_link(int depth)
{
	char num[16];
	snprintf(num, sizeof num, "%d", depth);
	const char *path = self_path();
	char *const argv[] = { (char *)path, "child", num, NULL };
	pid_t pid = fork();
	if (pid < 0)
		return E_FORK;
	if (pid == 0) {
		execve(path, argv, environ);
		_exit(E_EXEC);
	}
	int st;
	pid_t w;
	do
		w = waitpid(pid, &st, 0);
	while (w < 0 && errno == EINTR);
	if (w != pid)
		return E_WAIT;
	if (WIFSIGNALED(st))
		return E_SIGNALED;
	return WEXITSTATUS(st);
}

static long free_bytes(void)
{
	struct sysinfo si;
	if (sysinfo(&si) != 0)
		return -1;
	return (long)si.freeram * (long)(si.mem_unit ? si.mem_unit : 1);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "child") == 0) {
		if (argc < 3)
			return E_USAGE;
		int depth = atoi(argv[2]);
		return depth <= 0 ? 0 : spawn_link(depth - 1);
	}

	utest_init(argc, argv);
	long tol = DEFAULT_TOLERANCE_KB * 1024L;
	const char *t = getenv("UTEST_MEM_TOLERANCE_KB");
	if (t && atol(t) > 0)
		tol = atol(t) * 1024L;

	int warm = spawn_link(DEPTH);
	CHECKF("warmup", warm == 0, "warm-up chain exited %d", warm);

	long before = free_bytes();
	int64_t t0 = utest_now_ns(CLOCK_MONOTONIC);
	int bad = 0, first_code = 0, first_chain = -1;
	for (int c = 0; c < CHAINS; c++) {
		int code = spawn_link(DEPTH);
		if (code != 0 && !bad++) {
			first_code = code;
			first_chain = c;
		}
	}
	int64_t ms = (utest_now_ns(CLOCK_MONOTONIC) - t0) / 1000000;
	CHECKF("chains", bad == 0, "%d of %d chains failed; chain %d exited %d (120 usage 121 fork "
	       "122 exec 123 wait 124 signal)", bad, CHAINS, first_chain, first_code);
	utest_printf("# t_chain: %d chains of depth %d in %lld ms\n", CHAINS, DEPTH, (long long)ms);

	long after = free_bytes();
	for (int i = 0; i < 200 && labs(after - before) > tol; i++) {
		utest_sleep_ms(10);
		after = free_bytes();
	}
	CHECKF("freeram_baseline", before > 0 && labs(after - before) <= tol,
	       "freeram before=%ld after=%ld diff=%ld tolerance=%ld", before, after, after - before, tol);
	utest_printf("# t_chain: freeram before=%ld after=%ld diff=%ld\n", before, after,
		     after - before);
	return utest_done();
}
