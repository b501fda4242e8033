/*
 * soak - the load generator of `cargo xtask soak` (installed as /bin/soak, booted as PID 1 with
 * rdinit=/bin/soak).
 *
 * For SOAK_SECONDS seconds (environment; default 120) it keeps a mixed load running, in rounds
 * of SOAK_ROUND seconds (default 20): one forked worker per load kind each round
 *   shell   busybox sh scripts (pipes, grep/sort/wc, /proc reads, tmpfs files)
 *   spawn   fork/exec/exit and vfork storms, exit statuses checked
 *   pipe    a 256 KiB patterned stream through a pipe between two processes, checked
 *   mem     mmap/touch/mprotect/mremap/munmap of random sizes, copy-on-write across fork
 *   signal  signals to a child with a handler, counted; SIGSTOP/SIGCONT; SIGKILL
 *   thread  pthreads incrementing a mutex-protected counter, checked
 *   fuzz    /bin/fuzz (if present) with a few thousand calls at a round-dependent seed
 *   fusion  a Fusion Ring stream of random-size messages and page grants, checked (fusionload.h)
 *   socket  patterned streams over an AF_UNIX pair and TCP on 127.0.0.1, UDP datagrams (sockload.h)
 * Memory: after the first (warm-up) round, with every worker gone, free memory (sysinfo, = MemFree) is
 * the baseline; after the last round it is measured again (a few tries, letting frees in flight
 * finish).  A worker that fails prints "SOAK-ERROR <kind> ..."; one still running 60 s after its
 * round ended is killed and counted as stuck.  At the end:
 *     SOAK-DONE seconds=S rounds=R ops=N errors=E baseline_kb=B final_kb=F leaked_kb=L result=ok|FAIL
 * SOAK_ONLY=name,name runs only the loads named (for debugging).
 * (FAIL when errors > 0 or leaked_kb > SOAK_TOLERANCE_KB, default 1024), then as PID 1 it powers
 * the machine off.  It also runs on the host (not PID 1: no mounts, no power-off; exit status 0
 * on ok).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "sysutil.h"

#define STUCK_GRACE_S 60

static int is_pid1;
static int64_t round_end_ms;
static volatile uint64_t *shared_ops; /* one counter per kind, in a MAP_SHARED page */

static uint64_t rng_state = 88172645463325252ULL;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Each load runs until the round ends; after MAX_FAILS failures it stops (no flood of errors). */
#define MAX_FAILS 3
#define running() (fails < MAX_FAILS && now_ms() < round_end_ms)

/* Waits for pid; returns 0 if it exited with `want`, else -1 (and reports it). */
static int reap(const char *kind, pid_t pid, int want)
{
	int st;
	pid_t w;
	while ((w = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		;
	if (w != pid) {
		say("SOAK-ERROR %s: waitpid %d: errno %d\n", kind, (int)pid, errno);
		return -1;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != want) {
		say("SOAK-ERROR %s: child %s=%d, expected exit=%d\n", kind, WIFEXITED(st) ? "exit" : "signal",
		    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), want);
		return -1;
	}
	return 0;
}

/* ---- the loads ---- */

#include "loads.h"
#include "fusionload.h"
#include "sockload.h"

static const struct {
	const char *name;
	int (*run)(uint64_t *ops);
} loads[] = {
	{ "shell", load_shell }, { "spawn", load_spawn }, { "pipe", load_pipe }, { "mem", load_mem },
	{ "signal", load_signal }, { "thread", load_thread }, { "fuzz", load_fuzz }, { "fusion", load_fusion },
	{ "socket", load_socket },
};
#define NLOADS (sizeof loads / sizeof loads[0])

/* One round: every load in its own process until round_end_ms. Returns failures. */
static int run_round(int round)
{
	pid_t pids[NLOADS];
	soak_round = round;
	const char *only = getenv("SOAK_ONLY");
	for (size_t k = 0; k < NLOADS; k++) {
		if (only && !strstr(only, loads[k].name)) {
			pids[k] = 0; /* not run */
			continue;
		}
		pids[k] = fork();
		if (pids[k] == 0) {
			rng_state ^= (uint64_t)(round * 131 + (int)k) * 0x9e3779b97f4a7c15ULL;
			uint64_t ops = 0;
			int fails = loads[k].run(&ops);
			shared_ops[k] += ops;
			_exit(fails > 0 ? 1 : 0);
		}
	}
	int fails = 0;
	for (size_t k = 0; k < NLOADS; k++) {
		if (pids[k] == 0)
			continue;
		if (pids[k] < 0) {
			say("SOAK-ERROR %s: fork errno %d\n", loads[k].name, errno);
			fails++;
			continue;
		}
		int64_t limit = round_end_ms + STUCK_GRACE_S * 1000;
		int st = 0;
		pid_t w;
		while ((w = waitpid(pids[k], &st, WNOHANG)) == 0 && now_ms() < limit)
			sleep_ms(50);
		if (w == 0) {
			say("SOAK-ERROR %s: worker stuck %d s after its round ended: SIGKILL\n", loads[k].name, STUCK_GRACE_S);
			kill(pids[k], SIGKILL);
			int64_t kill_limit = now_ms() + 10000;
			while ((w = waitpid(pids[k], &st, WNOHANG)) == 0 && now_ms() < kill_limit)
				sleep_ms(50);
			if (w == 0) {
				say("SOAK-ERROR %s: worker %d unkillable (SIGKILL did not end it in 10 s)\n", loads[k].name,
				    (int)pids[k]);
				say_kernel_stack("SOAK-KSTACK", (int)pids[k]);
			}
			fails++;
			continue;
		}
		if (w < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			say("SOAK-ERROR %s: round %d worker %s=%d\n", loads[k].name, round,
			    w > 0 && WIFSIGNALED(st) ? "signal" : "exit", w > 0 && WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
			fails++;
		}
	}
	/* Orphans (e.g. children of killed shells) are re-parented to PID 1: reap them. */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	return fails;
}

/* Free memory in kB (sysinfo: free frames, the heap's cached pages handed back first). */
static long mem_free_kb(void)
{
	struct sysinfo si;
	if (sysinfo(&si) != 0)
		return -1;
	return (long)(si.freeram / 1024 * (si.mem_unit ? si.mem_unit : 1));
}

/* MemFree once the frees of exited processes have settled: the highest of a few samples. */
static long settled_free_kb(void)
{
	long best = -1;
	for (int i = 0; i < 10; i++) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		sync();
		long f = mem_free_kb();
		if (f > best)
			best = f;
		sleep_ms(300);
	}
	return best;
}

int main(void)
{
	is_pid1 = getpid() == 1;
	if (is_pid1) {
		setsid();
		mount_filesystems("soak");
	}
	long seconds = env_long("SOAK_SECONDS", 120);
	long round_s = env_long("SOAK_ROUND", 20);
	long tolerance = env_long("SOAK_TOLERANCE_KB", 1024);
	shared_ops = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared_ops == MAP_FAILED) {
		say("SOAK-DONE seconds=0 rounds=0 ops=0 errors=1 baseline_kb=0 final_kb=0 leaked_kb=0 result=FAIL\n");
		return 1;
	}
	say("SOAK-START seconds=%ld round=%ld loads=%zu tolerance_kb=%ld\n", seconds, round_s, NLOADS, tolerance);
	int64_t start = now_ms(), end = start + seconds * 1000;
	int errors = 0, rounds = 0;
	long baseline = -1;
	do {
		int64_t t = now_ms();
		round_end_ms = t + round_s * 1000 < end ? t + round_s * 1000 : end;
		if (round_end_ms - t < 2000)
			round_end_ms = t + 2000;
		errors += run_round(rounds);
		rounds++;
		uint64_t ops = 0;
		for (size_t k = 0; k < NLOADS; k++)
			ops += shared_ops[k];
		if (baseline < 0) {
			baseline = settled_free_kb();
			say("SOAK baseline after the warm-up round: MemFree %ld kB\n", baseline);
		}
		say("SOAK t=%llds rounds=%d ops=%llu errors=%d free_kb=%ld\n", (long long)((now_ms() - start) / 1000), rounds,
		    (unsigned long long)ops, errors, mem_free_kb());
	} while (now_ms() < end);
	long final = settled_free_kb();
	long leaked = baseline - final;
	uint64_t ops = 0;
	for (size_t k = 0; k < NLOADS; k++) {
		ops += shared_ops[k];
		say("SOAK load %s ops=%llu\n", loads[k].name, (unsigned long long)shared_ops[k]);
	}
	int ok = errors == 0 && baseline > 0 && final > 0 && leaked <= tolerance;
	say("SOAK-DONE seconds=%lld rounds=%d ops=%llu errors=%d baseline_kb=%ld final_kb=%ld leaked_kb=%ld result=%s\n",
	    (long long)((now_ms() - start) / 1000), rounds, (unsigned long long)ops, errors, baseline, final, leaked,
	    ok ? "ok" : "FAIL");
	if (!is_pid1)
		return ok ? 0 : 1;
	sync();
	syscall(SYS_reboot, 0xfee1deadUL, 672274793UL, 0x4321fedcUL, NULL);
	say("soak: power-off failed: errno %d\n", errno);
	for (;;)
		pause();
}
