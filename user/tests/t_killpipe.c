/*
 * t_killpipe - SIGKILL ends a task promptly whatever it is doing: children blocked writing into
 * a full pipe or reading an empty one (issue 11 item 9: killing such writers froze the kernel),
 * and children in the middle of one 2 GiB writev (one small buffer repeated) to /dev/null or to
 * a pipe that is drained, and a vfork parent whose child never execs or exits. Each must be
 * reaped, killed by SIGKILL, within a bounded time.
 */
#define UTEST_PROGRAM "t_killpipe"
#include "utest.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>

#define KIDS 10
/* Generous for TCG; a kill that waits for a 2 GiB copy takes far longer. */
#define REAP_LIMIT_MS 1500

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Waits for every pid with a deadline; returns how many were reaped killed by SIGKILL and
 * puts the slowest reap time in *slowest (ms after `start`). */
static int reap_all(pid_t *pids, int n, long start, long *slowest)
{
	int killed = 0, left = n;
	*slowest = 0;
	while (left > 0 && now_ms() - start < 20000) {
		int st;
		pid_t p = waitpid(-1, &st, WNOHANG);
		if (p > 0) {
			for (int i = 0; i < n; i++) {
				if (pids[i] == p) {
					pids[i] = 0;
					left--;
					if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
						killed++;
					if (now_ms() - start > *slowest)
						*slowest = now_ms() - start;
				}
			}
			continue;
		}
		if (p < 0 && errno != EINTR)
			break;
		sleep_ms(2);
	}
	return killed;
}

static void blocked_on_pipe(const char *name, int writers)
{
	int p[2];
	if (pipe(p) != 0) {
		utest_fail(name, "pipe: %s", utest_errname(errno));
		return;
	}
	pid_t pids[KIDS];
	for (int i = 0; i < KIDS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			static char buf[65536];
			alarm(60);
			if (writers) {
				for (;;)
					write(p[1], buf, (size_t)(i + 1) * 1000);
			}
			close(p[1]);
			for (;;)
				read(p[0], buf, sizeof buf);
		}
	}
	/* Readers block at once; writers fill the pipe and block (nobody reads). The test keeps
	 * both ends open so that no one sees EOF or EPIPE. */
	sleep_ms(150);
	long start = now_ms();
	for (int i = 0; i < KIDS; i++)
		kill(pids[i], SIGKILL);
	long slowest;
	int killed = reap_all(pids, KIDS, start, &slowest);
	close(p[0]);
	close(p[1]);
	CHECKF(name, killed == KIDS && slowest < REAP_LIMIT_MS, "%d of %d reaped as SIGKILLed, slowest %ld ms",
	       killed, KIDS, slowest);
}

/* One child in a 2 GiB writev to `fd`; SIGKILL after 200 ms must end it within the limit. */
static void huge_write(const char *name, int fd, int drain_fd)
{
	static char buf[1 << 21];
	pid_t pids[2] = { 0, 0 };
	pids[0] = fork();
	if (pids[0] == 0) {
		static struct iovec iov[1024];
		alarm(120);
		for (int i = 0; i < 1024; i++) {
			iov[i].iov_base = buf;
			iov[i].iov_len = sizeof buf;
		}
		for (;;)
			writev(fd, iov, 1024);
	}
	int n = 1;
	if (drain_fd >= 0) {
		pids[1] = fork();
		if (pids[1] == 0) {
			alarm(120);
			for (;;)
				if (read(drain_fd, buf, sizeof buf) <= 0)
					_exit(0);
		}
	}
	sleep_ms(200);
	long start = now_ms();
	kill(pids[0], SIGKILL);
	long slowest;
	int killed = reap_all(pids, n, start, &slowest);
	if (pids[1] > 0) {
		kill(pids[1], SIGKILL);
		utest_wait(pids[1]);
	}
	CHECKF(name, killed == 1 && slowest < REAP_LIMIT_MS, "reaped as SIGKILLed: %d, after %ld ms", killed, slowest);
}

/* A child calls vfork and its vfork child pauses forever: the parent waits in the kernel for an
 * exec or exit that never comes. SIGKILL must still end it (Linux's wait is killable). */
static void vfork_parent(void)
{
	int p[2];
	if (pipe(p) != 0) {
		utest_fail("vfork_parent_killed", "pipe: %s", utest_errname(errno));
		return;
	}
	pid_t parent = fork();
	if (parent == 0) {
		close(p[0]);
		if (vfork() == 0) {
			pid_t me = getpid();
			if (write(p[1], &me, sizeof me) != sizeof me)
				_exit(1);
			for (;;)
				pause();
		}
		_exit(0);
	}
	close(p[1]);
	pid_t grandchild = 0;
	int got = read(p[0], &grandchild, sizeof grandchild) == sizeof grandchild;
	close(p[0]);
	sleep_ms(100);
	long start = now_ms();
	kill(parent, SIGKILL);
	long slowest = 0;
	int killed = reap_all(&parent, 1, start, &slowest);
	utest_check("vfork_parent_killed", got && killed == 1 && slowest < REAP_LIMIT_MS,
		    "vfork child %s, parent killed %d in %ld ms", got ? "seen" : "missing", killed, slowest);
	if (grandchild > 0)
		kill(grandchild, SIGKILL);
	if (parent > 0) {
		kill(parent, SIGKILL);
		waitpid(parent, NULL, 0);
	}
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	vfork_parent();
	blocked_on_pipe("writers_full_pipe", 1);
	blocked_on_pipe("readers_empty_pipe", 0);
	int null = open("/dev/null", O_WRONLY);
	if (null < 0 && errno == ENOENT) {
		/* The test image mounts no /dev: mount a devtmpfs of our own. */
		mkdir("/tmp/t_killpipe.dev", 0755);
		if (mount("devtmpfs", "/tmp/t_killpipe.dev", "devtmpfs", 0, NULL) == 0) {
			null = open("/tmp/t_killpipe.dev/null", O_WRONLY);
			umount2("/tmp/t_killpipe.dev", MNT_DETACH);
		}
		rmdir("/tmp/t_killpipe.dev");
	}
	if (null < 0)
		utest_fail("huge_devnull", "open /dev/null: %s", utest_errname(errno));
	else
		huge_write("huge_devnull", null, -1);
	close(null);
	int p[2];
	if (pipe(p) != 0) {
		utest_fail("huge_pipe", "pipe: %s", utest_errname(errno));
	} else {
		huge_write("huge_pipe", p[1], p[0]);
		close(p[0]);
		close(p[1]);
	}
	return utest_done();
}
