/*
 * fuzz - the in-guest system-call fuzzer of `cargo xtask fuzz` (installed as /bin/fuzz, booted as
 * PID 1 with rdinit=/bin/fuzz, or run by /bin/soak with FUZZ_SUB=1).
 *
 * The supervisor forks FUZZ_WORKERS worker processes (default 4, at most 64; the odd ones drop to uid 1000),
 * each running a seeded PRNG loop of random system calls over the whole table (0..462) with
 * structured arguments (systab.h): valid, closed and huge fds; pointers to a valid buffer, a
 * read-only and a PROT_NONE page, unmapped, kernel and non-canonical memory, NULL and page
 * boundaries; sizes 0, 1, page+-1, huge; random and valid flags.  Calls that would end the run
 * or wreck the worker itself are confined: memory-management calls act on a scratch region
 * only, clone/fork/vfork children exit at once (raw assembly), signal handlers get a valid
 * restorer, kill-like calls only reach the worker's own family, reboot never gets the magic,
 * mount/chroot/pivot_root only scratch directories.  Workers exit after FUZZ_LIFE calls (or die
 * from what they did) and are replaced; worker i of generation g is seeded from
 * (FUZZ_SEED, i, g), so a seed replays the same sequences.
 *
 * The supervisor prints "FUZZ calls=N ..." every 5 s, sends random signals to workers, kills a
 * worker whose call counter has not moved for 2 s gets SIGCONT and SIGUSR1 (its handler interrupts
 * a blocking call); one that has not moved for FUZZ_STUCK_S seconds (default 10: blocked in a
 * legitimately endless call) is killed printing its last calls ("FUZZ-STUCK"), and reports a worker that
 * SIGKILL does not end within 10 s ("FUZZ-UNKILLABLE", a failure).  At FUZZ_CALLS calls (default
 * 100000) it kills the workers, removes their files and System V objects, compares free memory (sysinfo, = MemFree) and
 * the kernel heap's live bytes and pages (/proc/meminfo KernelHeapLive, Slab) with the start
 * values (leaked = frames missing outside the heap + heap bytes still live) and prints
 *     FUZZ-DONE calls=N seed=S leaked_kb=K unkillable=U result=ok|FAIL
 * (FAIL when U > 0 or K > FUZZ_TOLERANCE_KB, default 1024), then as PID 1 powers off.
 * One call in 16 is a Fusion Ring call (fusionargs.h) and one in 16 a socket call with
 * structured addresses, msghdrs and control messages on live sockets (sockargs.h).
 * FUZZ_SKIP=12,25 leaves those numbers out (triage); FUZZ_LIFE=N calls per worker generation.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
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

#include "systab.h"

#define MAX_WORKERS 64
#define RING 8
#define PAGE 4096UL
#define SCRATCH_PAGES 64
#define STUCK_KILL_S 10

/* Shared with the supervisor (MAP_SHARED): per-worker progress and last calls. */
struct slot {
	volatile uint64_t calls; /* calls of the current generation */
	volatile uint64_t total; /* calls of finished generations */
	volatile uint32_t pos;
	uint64_t seed;
	struct {
		uint64_t nr, a[6];
	} ring[RING];
};
static struct slot *slots;

/* ---------- output ---------- */

static int quiet;
/* ---------- the worker ---------- */

#include "args.h"
#include "fusionargs.h"
#include "sockargs.h"

#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

static void worker(int index, uint64_t seed, long life)
{
	struct slot *s = &slots[index];
	rs = seed | 1;
	my_index = index;
	my_pid = getpid();
	setpgid(0, 0);
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	/* Every catchable signal but the fault ones gets a handler (fuzzed sigactions may set
	 * defaults back); a fault kills the worker (a handler would return into it forever). */
	struct sigaction sa = { 0 };
	sa.sa_handler = on_signal;
	for (int sig = 1; sig < 65; sig++)
		if (is_fault_signal(sig))
			signal(sig, SIG_DFL); /* the supervisor's handler is inherited */
		else if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &sa, NULL);
	snprintf(my_dir, sizeof my_dir, "/tmp/fz/w%d", index);
	mkdir("/tmp/fz", 0777);
	chmod("/tmp/fz", 0777);
	mkdir(my_dir, 0777);
	my_uid = index % 2 ? 1000 : 0;
	if (my_uid) {
		chown(my_dir, 1000, 1000);
		if (setgid(1000) != 0 || setuid(1000) != 0)
			_exit(91);
	}
	chdir(my_dir);
	unsigned char *m = mmap(NULL, (SCRATCH_PAGES + 2) * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		_exit(92);
	scratch = m + PAGE;
	restore_scratch();
	open_fds();
	open_fusion_fds();
	open_sock_fds(index);
	for (long i = 0; i < life; i++) {
		if (i % 256 == 0) {
			restore_scratch();
			if (i % 1024 == 0) {
				open_fds();
				open_fusion_fds();
				open_sock_fds(index);
			}
		}
		if (i % 32 == 0)
			while (rsys(SYS_wait4, -1, 0, WNOHANG | __WALL, 0, 0, 0) > 0)
				;
		long nr;
		long a[6] = { 0 };
		uint64_t pick = rnd() % 16;
		if (pick == 0) {
			gen_fusion(&nr, a);
		} else if (pick == 1) {
			gen_sock(&nr, a);
		} else {
			nr = rnd() % 4 ? (long)(rnd() % 335) : (long)(rnd() % SYS_MAX);
			const char *types = systab[nr] ? systab[nr] : "xxxxxx";
			for (int k = 0; k < 6 && types[k]; k++)
				a[k] = gen(types[k]);
			if (!systab[nr])
				for (int k = 0; k < 6; k++)
					a[k] = gen('x');
			if (skip[nr] || !confine(nr, a))
				continue;
		}
		uint32_t pos = s->pos % RING;
		s->ring[pos].nr = (uint64_t)nr;
		for (int k = 0; k < 6; k++)
			s->ring[pos].a[k] = (uint64_t)a[k];
		s->pos = pos + 1;
		long r;
		switch (nr) {
		case SYS_clone:
		case SYS_fork:
		case SYS_vfork:
			if (nr == SYS_clone && (a[0] & CLONE_VM) && rnd() % 2)
				a[1] = (long)(scratch + 40 * PAGE); /* a stack the child never uses */
			r = rclone(nr, a[0], a[1], a[2], a[3], a[4]);
			if (r > 0)
				last_child = (pid_t)r;
			break;
		case 435: { /* clone3 */
			uint64_t *ca = (uint64_t *)SLOT_CLONE;
			ca[0] = (uint64_t)gen_flags() & ~0xffUL; /* flags */
			ca[1] = (uint64_t)gen_ptr(1);             /* pidfd */
			ca[2] = (uint64_t)gen_ptr(1);             /* child_tid */
			ca[3] = (uint64_t)gen_ptr(1);             /* parent_tid */
			ca[4] = (uint64_t)(rnd() % 2 ? SIGCHLD : gen_sig()); /* exit_signal */
			ca[5] = (uint64_t)(rnd() % 2 ? 0 : (long)(scratch + 30 * PAGE)); /* stack */
			ca[6] = (uint64_t)(rnd() % 2 ? 0 : 8 * PAGE);
			ca[7] = (uint64_t)gen_ptr(0); /* tls */
			if (rnd() % 2)
				a[0] = (long)ca;
			if (rnd() % 2)
				a[1] = 64 + 8 * (long)(rnd() % 4);
			r = rclone(nr, a[0], a[1], 0, 0, 0);
			if (r > 0)
				last_child = (pid_t)r;
			break;
		}
		default:
			r = rsys(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
			break;
		}
		(void)r;
		s->calls++;
	}
	_exit(0);
}

/* ---------- the supervisor ---------- */

/* Free memory in kB (sysinfo: free frames, the heap's cached pages handed back first). */
static long mem_free_kb(void)
{
	struct sysinfo si;
	if (sysinfo(&si) != 0)
		return -1;
	return (long)(si.freeram / 1024 * (si.mem_unit ? si.mem_unit : 1));
}

/* A `Key:   N kB` value of /proc/meminfo, or -1. */
static long meminfo_kb(const char *key)
{
	char buf[2048];
	int fd = open("/proc/meminfo", O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	size_t len = strlen(key);
	for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (strncmp(line, key, len) == 0 && line[len] == ':')
			return atol(line + len + 1);
	return -1;
}

static const char *sys_name(uint64_t nr)
{
	static char num[16];
	snprintf(num, sizeof num, "sys%llu", (unsigned long long)nr);
	return num;
}

static void print_ring(int i)
{
	struct slot *s = &slots[i];
	for (uint32_t k = 0; k < RING; k++) {
		uint32_t pos = (s->pos + k) % RING;
		if (!s->ring[pos].nr && !s->ring[pos].a[0])
			continue;
		say("FUZZ-LAST worker=%d %s(%#llx, %#llx, %#llx, %#llx, %#llx, %#llx)\n", i, sys_name(s->ring[pos].nr),
		    (unsigned long long)s->ring[pos].a[0], (unsigned long long)s->ring[pos].a[1],
		    (unsigned long long)s->ring[pos].a[2], (unsigned long long)s->ring[pos].a[3],
		    (unsigned long long)s->ring[pos].a[4], (unsigned long long)s->ring[pos].a[5]);
	}
}

static uint64_t worker_seed(uint64_t seed, int i, int gen)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ULL + (uint64_t)i * 0xBF58476D1CE4E5B9ULL + (uint64_t)gen * 0x94D049BB133111EBULL;
	x ^= x >> 31;
	return x ? x : 1;
}

/* System V objects outlive their creators, as files do: the workers' ones go with the run. */
static void remove_sysv(void)
{
	struct msqid_ds m;
	struct semid_ds s;
	struct shmid_ds h;
	for (int i = 0; i < 32768; i++) {
		int id = msgctl(i, MSG_STAT, &m);
		if (id >= 0)
			msgctl(id, IPC_RMID, NULL);
		id = semctl(i, 0, SEM_STAT, &s);
		if (id >= 0)
			semctl(id, 0, IPC_RMID);
		id = shmctl(i, SHM_STAT, &h);
		if (id >= 0)
			shmctl(id, IPC_RMID, NULL);
	}
}

static void remove_tree(const char *path, int depth)
{
	if (depth > 8)
		return;
	umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW); /* never through a symlink to a system mount */
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (fd >= 0) {
		char buf[4096];
		long n;
		while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
			for (long off = 0; off < n;) {
				struct { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; } *d = (void *)(buf + off);
				if (strcmp(d->name, ".") && strcmp(d->name, "..")) {
					char sub[1024];
					snprintf(sub, sizeof sub, "%s/%s", path, d->name);
					remove_tree(sub, depth + 1);
				}
				off += d->reclen;
			}
		}
		close(fd);
		rmdir(path);
	} else {
		unlink(path);
	}
}

int main(void)
{
	int is_pid1 = getpid() == 1;
	if (is_pid1) {
		setsid();
		mount_filesystems("fuzz");
	}
	quiet = env_long("FUZZ_SUB", 0) != 0;
	parse_skip();
	uint64_t seed = (uint64_t)env_long("FUZZ_SEED", 1);
	long target = env_long("FUZZ_CALLS", 100000);
	long nworkers = env_long("FUZZ_WORKERS", 4);
	long stuck_s = env_long("FUZZ_STUCK_S", 10);
	long life = env_long("FUZZ_LIFE", 20000);
	long tolerance = env_long("FUZZ_TOLERANCE_KB", 1024);
	if (nworkers < 1 || nworkers > MAX_WORKERS)
		nworkers = 4;
	slots = mmap(NULL, sizeof(struct slot) * MAX_WORKERS, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (slots == MAP_FAILED) {
		say("FUZZ-DONE calls=0 seed=%llu leaked_kb=0 unkillable=0 result=FAIL (no shared memory)\n", (unsigned long long)seed);
		return 1;
	}
	/* Stray signals (a worker's clone with CLONE_PARENT and a random exit signal, ...) must not
	 * end the supervisor: every catchable one but SIGCHLD gets a no-op handler. */
	struct sigaction sa = { 0 };
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	for (int sig = 1; sig < 65; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && sig != SIGCHLD)
			sigaction(sig, &sa, NULL);
	long start_free = mem_free_kb();
	long start_heap = meminfo_kb("KernelHeapLive"), start_slab = meminfo_kb("Slab");
	if (!quiet)
		say("FUZZ-START seed=%llu calls=%ld workers=%ld life=%ld free_kb=%ld\n", (unsigned long long)seed, target,
		    nworkers, life, start_free);

	pid_t pids[MAX_WORKERS] = { 0 };
	int gens[MAX_WORKERS] = { 0 };
	uint64_t last_calls[MAX_WORKERS] = { 0 };
	int64_t last_move[MAX_WORKERS] = { 0 };
	long deaths = 0, stuck = 0, unkillable = 0, restarts = 0;
	static long by_signal[128];
	uint64_t total = 0, srng = seed ^ 0x5DEECE66DULL;
	int64_t t0 = now_ms(), next_report = t0 + 5000;
	int stopping = 0, ok = 0;
	for (;;) {
		total = 0;
		for (int i = 0; i < nworkers; i++)
			total += slots[i].total + slots[i].calls;
		if (!stopping && total >= (uint64_t)target)
			stopping = 1;
		/* (Re)start workers. */
		for (int i = 0; i < nworkers && !stopping; i++) {
			if (pids[i] > 0)
				continue;
			slots[i].total += slots[i].calls;
			slots[i].calls = 0;
			slots[i].seed = worker_seed(seed, i, gens[i]);
			pid_t p = fork();
			if (p == 0)
				worker(i, slots[i].seed, life);
			if (p < 0) {
				say("fuzz: fork errno %d\n", errno);
				sleep_ms(500);
				continue;
			}
			pids[i] = p;
			gens[i]++;
			restarts++;
			last_calls[i] = 0;
			last_move[i] = now_ms();
		}
		/* Reap. */
		int st;
		pid_t w;
		while ((w = waitpid(-1, &st, WNOHANG | __WALL)) > 0) {
			for (int i = 0; i < nworkers; i++)
				if (pids[i] == w) {
					pids[i] = 0;
					if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
						deaths++;
					if (WIFSIGNALED(st))
						by_signal[WTERMSIG(st) & 127]++;
				}
		}
		int alive = 0;
		for (int i = 0; i < nworkers; i++)
			alive += pids[i] > 0;
		if (stopping && alive == 0)
			break;
		int64_t now = now_ms();
		/* Stuck workers. */
		for (int i = 0; i < nworkers; i++) {
			if (pids[i] <= 0)
				continue;
			if (slots[i].calls != last_calls[i] || stopping) {
				last_calls[i] = slots[i].calls;
				last_move[i] = now;
				if (!stopping)
					continue;
			}
			if (!stopping && now - last_move[i] < stuck_s * 1000) {
				/* Blocked (pause, sigsuspend, a read, stopped by a signal): nudge it. */
				if (now - last_move[i] >= 2000 && (now - last_move[i]) % 2000 < 100) {
					kill(pids[i], SIGCONT);
					kill(pids[i], SIGUSR1);
				}
				continue;
			}
			if (!stopping) {
				stuck++;
				if (!quiet) {
					say("FUZZ-STUCK worker=%d pid=%d seed=%llu calls=%llu: no progress for %ld s, killing it; its last calls:\n",
					    i, (int)pids[i], (unsigned long long)slots[i].seed, (unsigned long long)slots[i].calls, stuck_s);
					print_ring(i);
				}
			}
			kill(-pids[i], SIGKILL);
			kill(pids[i], SIGKILL);
			int64_t limit = now_ms() + STUCK_KILL_S * 1000;
			while ((w = waitpid(pids[i], &st, WNOHANG | __WALL)) == 0 && now_ms() < limit)
				sleep_ms(20);
			if (w == 0) {
				unkillable++;
				say("FUZZ-UNKILLABLE worker=%d pid=%d seed=%llu: SIGKILL did not end it within %d s; its last calls:\n", i,
				    (int)pids[i], (unsigned long long)slots[i].seed, STUCK_KILL_S);
				print_ring(i);
				say_kernel_stack("FUZZ-KSTACK", (int)pids[i]);
				if (is_pid1)
					say("FUZZ-DONE calls=%llu seed=%llu leaked_kb=0 unkillable=%ld result=FAIL\n",
					    (unsigned long long)total, (unsigned long long)seed, unkillable);
				goto out;
			}
			pids[i] = 0;
		}
		/* Random signals to random workers. */
		if (!stopping && (srng = srng * 6364136223846793005ULL + 1442695040888963407ULL) >> 61 == 0) {
			static const int sigs[] = { SIGUSR1, SIGUSR2, SIGCHLD, SIGCONT, SIGWINCH, SIGSTOP, SIGTERM, SIGALRM };
			int i = (int)((srng >> 20) % (uint64_t)nworkers);
			if (pids[i] > 0) {
				int sig = sigs[(srng >> 40) % 8];
				kill(pids[i], sig);
				if (sig == SIGSTOP)
					kill(pids[i], SIGCONT);
			}
		}
		if (now >= next_report) {
			next_report = now + 5000;
			if (!quiet)
				say("FUZZ calls=%llu rate=%lld/s alive=%d started=%ld died=%ld stuck=%ld free_kb=%ld\n",
				    (unsigned long long)total, (long long)(total * 1000 / (uint64_t)(now - t0 + 1)), alive, restarts,
				    deaths, stuck, mem_free_kb());
		}
		sleep_ms(stopping ? 10 : 100);
	}
	/* Leftovers (processes that left the workers' groups) end with the run. */
	if (is_pid1) {
		kill(-1, SIGKILL);
		for (int k = 0; k < 50 && waitpid(-1, NULL, __WALL) > 0; k++)
			;
	}
	while (waitpid(-1, NULL, WNOHANG | __WALL) > 0)
		;
	remove_tree("/tmp/fz", 0);
	remove_sysv();
	long final_free = -1;
	for (int k = 0; k < 10; k++) {
		while (waitpid(-1, NULL, WNOHANG | __WALL) > 0)
			;
		long f = mem_free_kb();
		if (f > final_free)
			final_free = f;
		if (start_free - final_free <= tolerance)
			break;
		sleep_ms(300);
	}
	/* What was not given back: frames missing outside the kernel heap, plus heap bytes still
	 * held by live objects. Pages the heap keeps because a few long-lived objects pin their
	 * slabs (fragmentation after a peak of many workers) are reported apart: they are not
	 * lost, and they stop growing. Without the heap figures, every missing frame counts. */
	long final_heap = meminfo_kb("KernelHeapLive"), final_slab = meminfo_kb("Slab");
	long frames_lost = start_free - final_free, heap_kept = 0, leaked = frames_lost;
	if (start_heap >= 0 && final_heap >= 0 && start_slab >= 0 && final_slab >= 0) {
		long slab_growth = final_slab - start_slab, live_growth = final_heap - start_heap;
		long outside = frames_lost - slab_growth;
		leaked = (outside > 0 ? outside : 0) + (live_growth > 0 ? live_growth : 0);
		heap_kept = slab_growth - (live_growth > 0 ? live_growth : 0);
	}
	/* Inside the soak (FUZZ_SUB) other loads allocate at the same time, so free memory says
	 * nothing about this run: the soak judges memory over the whole run itself. */
	ok = unkillable == 0 && (quiet || leaked <= tolerance);
	char sigs[256] = "";
	for (int k = 1, n = 0; k < 128; k++)
		if (by_signal[k] && n < 240)
			n += snprintf(sigs + n, sizeof sigs - (size_t)n, "%s%d:%ld", n ? "," : "", k, by_signal[k]);
	if (!quiet)
		say("FUZZ worker deaths by signal (signal:count): %s\n", sigs[0] ? sigs : "none");
	if (!quiet)
		say("FUZZ memory: free %ld -> %ld kB; kernel heap live %ld -> %ld kB, pages %ld -> %ld kB; frames lost outside the heap %ld kB, heap pages kept by fragmentation %ld kB\n",
		    start_free, final_free, start_heap, final_heap, start_slab, final_slab,
		    frames_lost - (final_slab - start_slab), heap_kept);
	if (!quiet || !ok)
		say("FUZZ-DONE calls=%llu seed=%llu workers=%ld started=%ld died=%ld stuck=%ld start_kb=%ld final_kb=%ld leaked_kb=%ld unkillable=%ld result=%s\n",
		    (unsigned long long)total, (unsigned long long)seed, nworkers, restarts, deaths, stuck, start_free, final_free,
		    leaked, unkillable, ok ? "ok" : "FAIL");
out:
	if (!is_pid1)
		return ok ? 0 : 1;
	sync();
	syscall(SYS_reboot, 0xfee1deadUL, 672274793UL, 0x4321fedcUL, NULL);
	for (;;)
		pause();
}
