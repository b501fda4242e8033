/*
 * t_sigflood - signal floods: groups of ten processes (a manager and nine children) where the
 * children flood their manager with SIGUSR1, SIGUSR2 and SIGHUP while the manager's handlers
 * re-arm themselves (signal() inside the handler) and count, the manager sleeping or
 * computing meanwhile; the manager stops and restarts the flood (SIGSTOP/SIGCONT), then ends
 * it (SIGTERM) and reaps every child. Standard signals may merge, so each kind must arrive at
 * least once and never more often than it was sent. Such floods froze the kernel (issue 11
 * item 9). Also: SIGSTOP at once followed by SIGCONT, many rounds, never leaves a process
 * stopped (a stop dequeued just before the SIGCONT once stopped the child for ever).
 */
#define UTEST_PROGRAM "t_sigflood"
#include "utest.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>

#define GROUPS 3
#define CHILDREN 9
#define FLOOD_MS 600

static const int kinds[3] = { SIGUSR1, SIGUSR2, SIGHUP };

struct report {
	long sent[3], received[3];
	int status;	/* 0 ok, else the first problem seen */
	int reaped;
	int phase;	/* where the manager is, for the report of a hang */
	pid_t kids[CHILDREN];
};

static volatile sig_atomic_t got[3];
static volatile sig_atomic_t stop_flood;

static void on_signal(int sig)
{
	for (int k = 0; k < 3; k++)
		if (kinds[k] == sig)
			got[k]++;
	signal(sig, on_signal); /* re-arm, old style */
}

static void on_term(int sig)
{
	(void)sig;
	stop_flood = 1;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void sleep_ms(long ms)
{
	long end = now_ms() + ms;
	for (long left; (left = end - now_ms()) > 0;) {
		struct timespec ts = { left / 1000, (left % 1000) * 1000000L };
		nanosleep(&ts, NULL); /* EINTR from the flood: go on sleeping */
	}
}

/* Stays in user mode for `ms` (the handlers still run). */
static void spin_ms(long ms)
{
	long end = now_ms() + ms;
	while (now_ms() < end)
		;
}

/* A child: floods its manager until SIGTERM, then reports what it sent through `out`. */
static void flooder(pid_t manager, int index, long *sent)
{
	signal(SIGTERM, on_term);
	int k = index % 3;
	while (!stop_flood) {
		if (kill(manager, kinds[k]) == 0)
			__atomic_fetch_add(&sent[k], 1, __ATOMIC_SEQ_CST);
		k = (k + 1) % 3;
		if ((index & 1) && (k == 0))
			sched_yield();
	}
	_exit(0);
}

static void manager(struct report *rep)
{
	for (int k = 0; k < 3; k++)
		signal(kinds[k], on_signal);
	pid_t me = getpid();
	pid_t kids[CHILDREN];
	for (int i = 0; i < CHILDREN; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			alarm(60);
			flooder(me, i, rep->sent);
		}
		if (kids[i] < 0) {
			rep->status = 1;
			kids[i] = 0;
		}
		rep->kids[i] = kids[i];
	}
	rep->phase = 1;
	/* Flood (the manager first sleeps, then computes), pause it, flood again. */
	sleep_ms(FLOOD_MS / 6);
	spin_ms(FLOOD_MS / 6);
	for (int round = 0; round < 2; round++) {
		rep->phase = 2 + round;
		for (int i = 0; i < CHILDREN; i++)
			if (kids[i])
				kill(kids[i], SIGSTOP);
		sleep_ms(30);
		for (int i = 0; i < CHILDREN; i++)
			if (kids[i])
				kill(kids[i], SIGCONT);
		if (round)
			spin_ms(FLOOD_MS / 3);
		else
			sleep_ms(FLOOD_MS / 3);
	}
	rep->phase = 4;
	for (int i = 0; i < CHILDREN; i++)
		if (kids[i])
			kill(kids[i], SIGTERM);
	for (int i = 0; i < CHILDREN; i++) {
		if (!kids[i])
			continue;
		rep->phase = 10 + i;
		int st = utest_wait(kids[i]);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			rep->reaped++;
		else if (!rep->status)
			rep->status = 2;
	}
	/* Every signal a child sent before exiting is pending or delivered by now. */
	rep->phase = 5;
	sleep_ms(20);
	for (int k = 0; k < 3; k++)
		rep->received[k] = got[k];
	_exit(0);
}

/* The state letter of /proc/<pid>/stat ('?' if unreadable). */
static char proc_state(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return '?';
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	char *paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' ? paren[2] : '?';
}

/* Waits for a manager; if it has not ended after 45 s (its alarm is at 60), prints where it
 * is and the state of each of its children, so a hang says what hung. */
static int wait_or_report(pid_t manager, struct report *rep)
{
	int st = 0;
	for (long end = now_ms() + 45000; now_ms() < end;) {
		if (waitpid(manager, &st, WNOHANG) == manager)
			return st;
		sleep_ms(50);
	}
	char line[256];
	int len = snprintf(line, sizeof line, "# hang: manager %d (%c) phase %d; children", (int)manager,
			   proc_state(manager), rep->phase);
	for (int i = 0; i < CHILDREN && len < (int)sizeof line - 16; i++)
		len += snprintf(line + len, sizeof line - len, " %d:%c", (int)rep->kids[i], proc_state(rep->kids[i]));
	utest_printf("%s\n", line);
	return utest_wait(manager);
}

#define RACERS 4
#define STOP_ROUNDS 400

/* SIGSTOP then SIGCONT with nothing between, to children that compute: after each pair every
 * child must make progress again. */
static void stop_cont_race(void)
{
	volatile long *progress = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (progress == MAP_FAILED) {
		utest_fail("stop_cont_race", "mmap: %s", utest_errname(errno));
		return;
	}
	pid_t kids[RACERS];
	for (int i = 0; i < RACERS; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			alarm(60);
			for (;;) { /* half compute, half live in system calls */
				progress[i]++;
				if (i & 1)
					getppid();
			}
		}
	}
	int stuck = -1, round = 0;
	for (; round < STOP_ROUNDS && stuck < 0; round++) {
		long before[RACERS];
		for (int i = 0; i < RACERS; i++) {
			before[i] = progress[i];
			kill(kids[i], SIGSTOP);
		}
		for (int i = 0; i < RACERS; i++)
			kill(kids[i], SIGCONT);
		for (int i = 0; i < RACERS && stuck < 0; i++) {
			long end = now_ms() + 3000;
			while (progress[i] == before[i] && now_ms() < end)
				sched_yield();
			if (progress[i] == before[i])
				stuck = i;
		}
	}
	for (int i = 0; i < RACERS; i++) {
		kill(kids[i], SIGKILL);
		utest_wait(kids[i]);
	}
	CHECKF("stop_cont_race", stuck < 0, "child %d still stopped 3 s after SIGCONT (round %d of %d)", stuck,
	       round, STOP_ROUNDS);
	munmap((void *)progress, 4096);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	stop_cont_race();
	struct report *reps = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (reps == MAP_FAILED) {
		utest_fail("mmap", "%s", utest_errname(errno));
		return utest_done();
	}
	memset(reps, 0, 4096);
	pid_t managers[GROUPS];
	for (int g = 0; g < GROUPS; g++) {
		managers[g] = fork();
		if (managers[g] == 0) {
			alarm(60);
			manager(&reps[g]);
		}
	}
	for (int g = 0; g < GROUPS; g++) {
		char name[32];
		int st = managers[g] > 0 ? wait_or_report(managers[g], &reps[g]) : -1;
		struct report *r = &reps[g];
		snprintf(name, sizeof name, "group%d.manager", g);
		CHECKF(name, WIFEXITED(st) && WEXITSTATUS(st) == 0 && r->status == 0,
		       "manager %s, status %d", utest_wstr(st), r->status);
		snprintf(name, sizeof name, "group%d.reaped", g);
		CHECKF(name, r->reaped == CHILDREN, "%d of %d children reaped", r->reaped, CHILDREN);
		snprintf(name, sizeof name, "group%d.accounted", g);
		int ok = 1;
		for (int k = 0; k < 3; k++)
			if (r->sent[k] < 1 || r->received[k] < 1 || r->received[k] > r->sent[k])
				ok = 0;
		CHECKF(name, ok, "sent %ld/%ld/%ld received %ld/%ld/%ld (USR1/USR2/HUP)", r->sent[0],
		       r->sent[1], r->sent[2], r->received[0], r->received[1], r->received[2]);
	}
	munmap(reps, 4096);
	return utest_done();
}
