/*
 * t_tty - the terminal on fds 0-2 (the console TTY on Exo-OS, a pty on the host): isatty,
 * termios defaults and round trip, window size, foreground group and session, FIONREAD,
 * non-blocking and VMIN/VTIME reads, flush and drain, ioctls on non-terminals and unknown
 * requests. Touches no input: it must pass with nobody typing.
 */
#define UTEST_PROGRAM "t_tty"
#include "utest.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void check_basics(void)
{
	struct stat st;
	CHECK("isatty", isatty(0) == 1);
	CHECK("fstat_chr", fstat(0, &st) == 0 && S_ISCHR(st.st_mode));
}

static void check_termios(const struct termios *orig)
{
	CHECKF("defaults", (orig->c_lflag & (ICANON | ECHO | ISIG)) == (ICANON | ECHO | ISIG),
	       "c_lflag %#x", (unsigned)orig->c_lflag);
	CHECKF("default_cc", orig->c_cc[VINTR] == 3 && orig->c_cc[VEOF] == 4 && orig->c_cc[VMIN] == 1,
	       "intr %d eof %d min %d", orig->c_cc[VINTR], orig->c_cc[VEOF], orig->c_cc[VMIN]);

	struct termios t = *orig, back;
	t.c_lflag &= ~ECHOCTL;
	t.c_cc[VERASE] = 8;
	CHECK_RET("tcsetattr", tcsetattr(0, TCSANOW, &t), 0);
	CHECK_RET("tcgetattr", tcgetattr(0, &back), 0);
	CHECKF("roundtrip", back.c_lflag == t.c_lflag && back.c_cc[VERASE] == 8 && back.c_iflag == t.c_iflag &&
	       back.c_oflag == t.c_oflag, "lflag %#x/%#x erase %d", (unsigned)back.c_lflag,
	       (unsigned)t.c_lflag, back.c_cc[VERASE]);
	CHECK_RET("tcsetattr_drain", tcsetattr(0, TCSADRAIN, orig), 0);
	CHECK_RET("tcsetattr_flush", tcsetattr(0, TCSAFLUSH, orig), 0);
	CHECK_RET("tcgetattr_restored", tcgetattr(0, &back), 0);
	CHECK("restored", back.c_lflag == orig->c_lflag && back.c_cc[VERASE] == orig->c_cc[VERASE]);
}

static void check_winsize_and_groups(void)
{
	struct winsize ws;
	memset(&ws, 0xff, sizeof ws);
	CHECK_RET("tiocgwinsz", ioctl(0, TIOCGWINSZ, &ws), 0);
	CHECKF("winsize_sane", ws.ws_row < 10000 && ws.ws_col < 10000, "%dx%d", ws.ws_row, ws.ws_col);
	/* Setting the same size back changes nothing (and sends no SIGWINCH). */
	CHECK_RET("tiocswinsz", ioctl(0, TIOCSWINSZ, &ws), 0);

	pid_t pgrp = -1;
	CHECK_RET("tiocgpgrp", ioctl(0, TIOCGPGRP, &pgrp), 0);
	CHECKF("foreground", pgrp == getpgrp(), "tty pgrp %d, getpgrp %d", pgrp, getpgrp());
	CHECKF("tcgetpgrp", tcgetpgrp(0) == getpgrp(), "%d", tcgetpgrp(0));
	CHECK_RET("tcsetpgrp_self", tcsetpgrp(0, getpgrp()), 0);
	pid_t sid = -1;
	CHECK_RET("tiocgsid", ioctl(0, TIOCGSID, &sid), 0);
	CHECKF("session", sid == getsid(0), "tty sid %d, getsid %d", sid, getsid(0));
	CHECK_ERR("tcsetpgrp_none", tcsetpgrp(0, UTEST_BADPID), ESRCH);
	CHECK_ERR("tcsetpgrp_negative", tcsetpgrp(0, -5), EINVAL);
}

static void check_reads(const struct termios *orig)
{
	int n = -1;
	CHECK_RET("fionread", ioctl(0, FIONREAD, &n), 0);
	CHECKF("fionread_zero", n == 0, "%d", n);

	int flags = fcntl(0, F_GETFL);
	char c;
	CHECK_RET("nonblock_on", fcntl(0, F_SETFL, flags | O_NONBLOCK), 0);
	CHECK_ERR("read_eagain", read(0, &c, 1), EAGAIN);
	CHECK_RET("nonblock_off", fcntl(0, F_SETFL, flags), 0);

	struct termios raw = *orig;
	raw.c_lflag &= ~(ICANON | ECHO);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 1;
	CHECK_RET("raw_on", tcsetattr(0, TCSANOW, &raw), 0);
	long long start = now_ms();
	CHECK_RET("vtime_read", read(0, &c, 1), 0);
	long long took = now_ms() - start;
	CHECKF("vtime_waited", took >= 50 && took < 3000, "%lld ms", took);

	raw.c_cc[VTIME] = 0;
	CHECK_RET("polling_on", tcsetattr(0, TCSANOW, &raw), 0);
	start = now_ms();
	CHECK_RET("polling_read", read(0, &c, 1), 0);
	CHECKF("polling_quick", now_ms() - start < 1000, "%lld ms", now_ms() - start);
	CHECK_RET("raw_off", tcsetattr(0, TCSANOW, orig), 0);

	struct pollfd p = { .fd = 0, .events = POLLIN | POLLOUT };
	CHECK_RET("poll", poll(&p, 1, 0), 1);
	CHECKF("poll_out_only", (p.revents & (POLLIN | POLLOUT)) == POLLOUT, "revents %#x", p.revents);
}

static void check_control(void)
{
	CHECK_RET("tcflush_in", tcflush(0, TCIFLUSH), 0);
	CHECK_RET("tcflush_all", tcflush(0, TCIOFLUSH), 0);
	CHECK_ERR("tcflush_bad", ioctl(0, TCFLSH, 7), EINVAL);
	CHECK_RET("tcdrain", tcdrain(0), 0);
	CHECK_RET("tcflow_on", tcflow(0, TCOON), 0);
	CHECK_RET("tcsbrk", ioctl(0, TCSBRK, 1), 0);

	long r = ioctl(0, 0x54ff, 0);
	int e = errno;
	CHECKF("bad_ioctl", r == -1 && (e == ENOTTY || e == EINVAL), "ret %ld errno %s", r, utest_errname(e));

	struct termios t;
	int fds[2];
	if (CHECK_RET("pipe", pipe(fds), 0)) {
		CHECK_ERR("pipe_tcgets", ioctl(fds[0], TCGETS, &t), ENOTTY);
		CHECK("pipe_not_tty", isatty(fds[0]) == 0 && errno == ENOTTY);
		close(fds[0]);
		close(fds[1]);
	}
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		CHECK_ERR("devnull_tcgets", ioctl(null, TCGETS, &t), ENOTTY);
		close(null);
	}
	int tty = open("/dev/tty", O_RDWR | O_NOCTTY);
	if (tty >= 0 || errno != ENOENT) {
		CHECKF("dev_tty", tty >= 0 && isatty(tty), "open: %s", utest_errname(errno));
		if (tty >= 0)
			close(tty);
	}
}

static int run_all(void)
{
	struct termios orig;
	check_basics();
	if (!CHECK_RET("tcgetattr_orig", tcgetattr(0, &orig), 0))
		return utest_done();
	check_termios(&orig);
	check_winsize_and_groups();
	check_reads(&orig);
	check_control();
	tcsetattr(0, TCSANOW, &orig);
	return utest_done();
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	if (tcgetpgrp(0) >= 0 || errno != ENOTTY)
		return run_all();
	/*
	 * The terminal is nobody's controlling terminal (the console under Exo-OS's test runner,
	 * as under Linux's init): a child in a new session takes it and runs the checks.
	 */
	pid_t pid = fork();
	if (pid == 0) {
		setsid();
		CHECK_RET("tiocsctty", ioctl(0, TIOCSCTTY, 0), 0);
		_exit(run_all());
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		utest_fail("fork_session", "fork/waitpid: %s", utest_errname(errno));
		return utest_done();
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
