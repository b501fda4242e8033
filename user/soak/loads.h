/*
 * loads.h - the soak's loads (part of soak.c, included once): shell scripts, spawn storms,
 * pipes, memory, signals, threads and the fuzzer; each runs until its round ends (or fails
 * MAX_FAILS times) and returns the number of failures, counting its operations in *ops.
 */
#ifndef SOAK_LOADS_H
#define SOAK_LOADS_H

static const char *const scripts[] = {
	"for i in 1 2 3 4 5; do echo soak-$i | grep -c soak >/dev/null || exit 1; done; "
	/* /proc itself is not listed: busybox ls stats every entry, and a process that exits
	 * between readdir and lstat is a legitimate "No such file or directory" (Linux too). */
	"ls /proc/self /bin >/dev/null && cat /proc/meminfo | sort | head -n 3 | wc -l | grep -q 3",
	"f=/tmp/soak.$$; seq 1 200 > $f && test $(wc -l < $f) -eq 200 && sort -rn $f | head -n 1 | grep -qx 200; "
	"r=$?; rm -f $f; exit $r",
	"d=/tmp/soakd.$$; mkdir -p $d/a/b && echo x > $d/a/b/f && mv $d/a/b/f $d/g && ln -s g $d/l && "
	"cat $d/l | grep -qx x; r=$?; rm -rf $d; exit $r",
	"x=$( (echo a; echo b; echo c) | tr a-z A-Z | tail -n 1); test \"$x\" = C && "
	"cat /proc/self/status | grep -q '^Pid:' && ps >/dev/null",
};

static int load_shell(uint64_t *ops)
{
	int fails = 0;
	for (unsigned i = 0; running(); i++) {
		pid_t pid = fork();
		if (pid == 0) {
			char *argv[] = { "sh", "-c", (char *)scripts[i % (sizeof scripts / sizeof scripts[0])], NULL };
			char *envp[] = { "PATH=/bin:/sbin:/usr/bin:/usr/sbin", "HOME=/", NULL };
			execve("/bin/sh", argv, envp);
			_exit(127);
		}
		if (pid < 0 || reap("shell", pid, 0) != 0) {
			say("SOAK-ERROR shell: script %u failed\n", i % (unsigned)(sizeof scripts / sizeof scripts[0]));
			fails++;
			sleep_ms(200);
		}
		(*ops)++;
	}
	return fails;
}

static int load_spawn(uint64_t *ops)
{
	int fails = 0;
	for (unsigned i = 0; running(); i++) {
		pid_t pid;
		switch (i % 3) {
		case 0:
			pid = fork();
			if (pid == 0)
				_exit((int)(i & 0x7f));
			break;
		case 1:
			pid = vfork();
			if (pid == 0)
				_exit((int)(i & 0x7f));
			break;
		default:
			pid = fork();
			if (pid == 0) {
				char *argv[] = { "true", NULL };
				char *envp[] = { NULL };
				execve("/bin/true", argv, envp);
				_exit(127);
			}
			break;
		}
		if (pid < 0) {
			say("SOAK-ERROR spawn: fork errno %d\n", errno);
			fails++;
			sleep_ms(100);
			continue;
		}
		fails += reap("spawn", pid, i % 3 == 2 ? 0 : (int)(i & 0x7f)) != 0;
		(*ops)++;
	}
	return fails;
}

static int load_pipe(uint64_t *ops)
{
	int fails = 0;
	while (running()) {
		int p[2];
		if (pipe(p) != 0) {
			say("SOAK-ERROR pipe: pipe errno %d\n", errno);
			return fails + 1;
		}
		const size_t total = 256 << 10;
		pid_t pid = fork();
		if (pid == 0) {
			close(p[0]);
			unsigned char buf[3000];
			size_t sent = 0;
			while (sent < total) {
				size_t n = total - sent < sizeof buf ? total - sent : sizeof buf;
				for (size_t k = 0; k < n; k++)
					buf[k] = (unsigned char)((sent + k) * 7);
				ssize_t w = write(p[1], buf, n);
				if (w <= 0)
					_exit(2);
				sent += (size_t)w;
			}
			_exit(0);
		}
		close(p[1]);
		unsigned char buf[4096];
		size_t got = 0;
		int bad = 0;
		for (;;) {
			ssize_t r = read(p[0], buf, sizeof buf);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			for (ssize_t k = 0; k < r; k++)
				bad |= buf[k] != (unsigned char)((got + (size_t)k) * 7);
			got += (size_t)r;
		}
		close(p[0]);
		if (pid < 0 || bad || got != total) {
			say("SOAK-ERROR pipe: got %zu of %zu bytes, corrupt=%d\n", got, total, bad);
			fails++;
		}
		if (pid > 0)
			fails += reap("pipe", pid, 0) != 0;
		(*ops)++;
	}
	return fails;
}

static int load_mem(uint64_t *ops)
{
	int fails = 0;
	while (running()) {
		size_t pages = 1 + rnd() % 256, len = pages * 4096;
		unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED) {
			say("SOAK-ERROR mem: mmap %zu errno %d\n", len, errno);
			fails++;
			continue;
		}
		for (size_t i = 0; i < len; i += 4096)
			m[i] = (unsigned char)i;
		unsigned char *g = mremap(m, len, len * 2, MREMAP_MAYMOVE);
		if (g == MAP_FAILED) {
			say("SOAK-ERROR mem: mremap errno %d\n", errno);
			fails++;
			munmap(m, len);
			continue;
		}
		for (size_t i = 0; i < len; i += 4096)
			if (g[i] != (unsigned char)i)
				fails++;
		if (rnd() % 4 == 0) {
			pid_t pid = fork();
			if (pid == 0) {
				g[len] = 1; /* copy-on-write in the child only */
				g[0] = 0x5a;
				_exit(g[len] == 1 ? 0 : 3);
			}
			if (pid > 0)
				fails += reap("mem", pid, 0) != 0;
			if (g[0] != 0 || g[len] != 0) {
				say("SOAK-ERROR mem: the child's write reached the parent\n");
				fails++;
			}
		}
		if (pages > 2 && mprotect(g + 4096, 4096, PROT_READ) != 0) {
			say("SOAK-ERROR mem: mprotect errno %d\n", errno);
			fails++;
		}
		madvise(g, len, MADV_DONTNEED);
		if (munmap(g, len * 2) != 0)
			fails++;
		void *b = sbrk(0);
		if (sbrk(65536) != (void *)-1)
			brk(b);
		(*ops)++;
	}
	return fails;
}

static volatile sig_atomic_t usr1_count;
static void on_usr1(int sig)
{
	(void)sig;
	usr1_count++;
}

static int load_signal(uint64_t *ops)
{
	int fails = 0;
	while (running()) {
		int p[2];
		if (pipe(p) != 0)
			return fails + 1;
		pid_t pid = fork();
		if (pid == 0) {
			close(p[0]);
			struct sigaction sa = { 0 };
			sa.sa_handler = on_usr1;
			sigaction(SIGUSR1, &sa, NULL);
			sigset_t usr1, none;
			sigemptyset(&usr1);
			sigemptyset(&none);
			sigaddset(&usr1, SIGUSR1);
			sigprocmask(SIG_BLOCK, &usr1, NULL); /* delivered only inside sigsuspend: no lost wake-up */
			write(p[1], "r", 1);
			for (;;) {
				sigsuspend(&none);
				char c = (char)usr1_count;
				write(p[1], &c, 1);
			}
		}
		close(p[1]);
		char c;
		if (pid < 0 || read(p[0], &c, 1) != 1) {
			fails++;
		} else {
			for (int i = 1; i <= 20; i++) {
				kill(pid, SIGUSR1);
				if (read(p[0], &c, 1) != 1 || c < 1) { /* several may be merged into one */
					say("SOAK-ERROR signal: no handler run for signal %d\n", i);
					fails++;
					break;
				}
			}
			kill(pid, SIGSTOP);
			kill(pid, SIGCONT);
			kill(pid, SIGKILL);
			int st;
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL) {
				say("SOAK-ERROR signal: child status %#x after SIGKILL\n", st);
				fails++;
			}
		}
		close(p[0]);
		(*ops)++;
	}
	return fails;
}

static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static void *thread_body(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++) {
		pthread_mutex_lock(&counter_lock);
		counter++;
		pthread_mutex_unlock(&counter_lock);
		if (i % 100 == 0)
			sched_yield();
	}
	return NULL;
}

static int load_thread(uint64_t *ops)
{
	int fails = 0;
	while (running()) {
		pthread_t t[4];
		int n = 0;
		counter = 0;
		for (int i = 0; i < 4; i++)
			if (pthread_create(&t[n], NULL, thread_body, NULL) == 0)
				n++;
		for (int i = 0; i < n; i++)
			pthread_join(t[i], NULL);
		if (n != 4 || counter != 4000) {
			say("SOAK-ERROR thread: %d threads, counter %ld (expected 4000)\n", n, counter);
			fails++;
		}
		(*ops)++;
	}
	return fails;
}

static int soak_round;
static int load_fuzz(uint64_t *ops)
{
	int fails = 0;
	if (access("/bin/fuzz", X_OK) != 0)
		return 0;
	for (int i = 0; running(); i++) {
		char seed[32];
		snprintf(seed, sizeof seed, "FUZZ_SEED=%d", 1000 * soak_round + i);
		pid_t pid = fork();
		if (pid == 0) {
			char *argv[] = { "fuzz", NULL };
			char *envp[] = { seed, "FUZZ_CALLS=2000", "FUZZ_WORKERS=2", "FUZZ_SUB=1", NULL };
			execve("/bin/fuzz", argv, envp);
			_exit(127);
		}
		if (pid < 0 || reap("fuzz", pid, 0) != 0) {
			say("SOAK-ERROR fuzz: run with %s failed\n", seed);
			fails++;
		}
		(*ops)++;
	}
	return fails;
}

#endif
