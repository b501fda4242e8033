/*
 * init - PID 1 of Exo-OS (installed as /init, /sbin/init links to it).
 *
 * The kernel passes the boot command-line words it does not recognise as argv (and "name=value"
 * words as the environment), like Linux.
 *
 * With "utest" in argv, init runs the user-space test suite: every regular executable file in
 * /bin/tests, sorted by name (only names containing $UTEST_FILTER when it is set), one at a time
 * via fork + execve(path, {path}, {"PATH=/bin", "HOME=/", UTEST_* variables}) in its own
 * process group with cwd "/".  After each program it prints
 *     UTEST-EXIT <program> exit=<n> | signal=<n> | timeout
 * (a program still running after $UTEST_TIMEOUT seconds, default 60, is killed with SIGKILL,
 * with its process group), then at the end
 *     UTEST-SUMMARY passed=<programs that exited 0> failed=<the others>
 * and syncs and powers the machine off.  While waiting it also reaps orphans re-parented to it.
 *
 * Without "utest" it is the system's init: it mounts proc on /proc, sysfs on /sys, devtmpfs on /dev and tmpfs on
 * /tmp; if the kernel command line names a root file system (root=/dev/vda1 rootfstype=ext2
 * ro|rw) and "/" is still the initramfs, it switches to it as busybox's switch_root does (mount it
 * on /newroot, move /proc, /dev and /tmp there, mount --move it onto "/", chroot); with
 * exo.mnt=DEVICE (`cargo xtask run`'s disk) it mounts DEVICE on /mnt; then it runs /etc/rc if it exists and is executable, then starts a login-less shell
 * (/bin/sh as "-sh", or the shell exo.shell=PATH names as "-NAME", e.g. exo.shell=/bin/bash on
 * the Debian image; in its own session with the console as its controlling terminal) and
 * starts it again whenever it exits, reaping every other child meanwhile.  busybox's poweroff,
 * halt and reboot ask init by signal (SIGUSR2, SIGUSR1, SIGTERM): init then ends every process
 * (SIGTERM, then SIGKILL), syncs and calls reboot(2).
 *
 * PID 1 must never exit (the kernel panics).  When it is not PID 1 (a run on the host, where
 * UTEST_ROOT prefixes every path), it exits instead: with the number of failed programs after
 * the suite, or 0 once it has no children left.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "sysutil.h"

#define MAX_TESTS 256
#define NAME_MAX_LEN 128
#define DEFAULT_TIMEOUT_S 60
#define MAX_ENV 32

/* reboot(2) magic numbers and command (<linux/reboot.h>). */
#define REBOOT_MAGIC1 0xfee1deadUL
#define REBOOT_MAGIC2 672274793UL
#define REBOOT_CMD_POWER_OFF 0x4321fedcUL
#define REBOOT_CMD_RESTART 0x01234567UL
#define REBOOT_CMD_HALT 0xcdef0123UL

extern char **environ;

static int is_pid1;
static const char *root = "";
static char *child_env[MAX_ENV + 1];

/* Make sure fds 0-2 exist: open /dev/console if the kernel did not provide them. */
static void ensure_console(void)
{
	if (fcntl(1, F_GETFD) >= 0)
		return;
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd < 0)
		return;
	for (int i = 0; i <= 2; i++)
		if (fcntl(i, F_GETFD) < 0 && fd != i)
			dup2(fd, i);
	if (fd > 2)
		close(fd);
}

/* Environment of the programs init starts: PATH, HOME and init's own UTEST_* variables. */
static void build_env(void)
{
	int n = 0;
	child_env[n++] = "PATH=/bin";
	child_env[n++] = "HOME=/";
	for (char **e = environ; e && *e && n < MAX_ENV; e++)
		if (strncmp(*e, "UTEST_", 6) == 0)
			child_env[n++] = *e;
	child_env[n] = NULL;
}

/* fork + exec path in its own process group with cwd "/"; returns the pid or -1. */
static pid_t spawn(const char *path)
{
	pid_t pid = fork();
	if (pid < 0) {
		say("exo-init: fork failed: errno %d\n", errno);
		return -1;
	}
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setpgid(0, 0);
		if (chdir("/") != 0)
			say("exo-init: chdir / failed: errno %d\n", errno);
		char *argv[] = { (char *)path, NULL };
		execve(path, argv, child_env);
		say("exo-init: execve %s failed: errno %d\n", path, errno);
		_exit(127);
	}
	setpgid(pid, pid); /* also from the parent: no race with the child's own call */
	return pid;
}

/*
 * Wait for pid, reaping any other child (orphans) meanwhile.  timeout_ms <= 0 waits forever.
 * Returns 1 with *status set, 0 on timeout (pid killed and reaped), -1 if pid is lost.
 */
static int wait_for(pid_t pid, int64_t timeout_ms, int *status)
{
	int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
	long nap = 1;
	int killed = 0;
	for (;;) {
		int st;
		pid_t w = wait4(-1, &st, killed ? 0 : WNOHANG, NULL);
		if (w == pid) {
			*status = st;
			return killed ? 0 : 1;
		}
		if (w > 0) {
			nap = 1; /* an orphan: reap and look again at once */
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			say("exo-init: lost child %d: wait4 errno %d\n", (int)pid, errno);
			return -1;
		}
		if (deadline && now_ms() >= deadline) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			killed = 1;
			continue;
		}
		sleep_ms(nap);
		if (nap < 20)
			nap *= 2;
	}
}

static void reap_available(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* Runs the suite; returns the number of failed programs. */
static int run_suite(void)
{
	static char names[MAX_TESTS][NAME_MAX_LEN];
	char dir[512], path[1024];
	snprintf(dir, sizeof dir, "%s/bin/tests", root);
	const char *filter = getenv("UTEST_FILTER");
	const char *tmo = getenv("UTEST_TIMEOUT");
	int64_t timeout_ms = (tmo && atol(tmo) > 0 ? atol(tmo) : DEFAULT_TIMEOUT_S) * 1000LL;

	DIR *d = opendir(dir);
	if (!d) {
		say("exo-init: cannot open %s: errno %d\n", dir, errno);
		say("UTEST-SUMMARY passed=0 failed=1\n");
		return 1;
	}
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < MAX_TESTS) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= NAME_MAX_LEN)
			continue;
		if (filter && *filter && !strstr(de->d_name, filter))
			continue;
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
			continue;
		strcpy(names[n++], de->d_name);
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof names[0], cmp_names);
	say("exo-init: running %d test programs from %s\n", n, dir);

	int passed = 0, failed = 0;
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/%.127s", dir, names[i]);
		pid_t pid = spawn(path);
		int st = 0, r = pid > 0 ? wait_for(pid, timeout_ms, &st) : -1;
		if (r == 1 && WIFEXITED(st)) {
			say("UTEST-EXIT %s exit=%d\n", names[i], WEXITSTATUS(st));
			if (WEXITSTATUS(st) == 0)
				passed++;
			else
				failed++;
		} else if (r == 1 && WIFSIGNALED(st)) {
			say("UTEST-EXIT %s signal=%d\n", names[i], WTERMSIG(st));
			failed++;
		} else if (r == 0) {
			say("UTEST-EXIT %s timeout\n", names[i]);
			failed++;
		} else {
			say("UTEST-EXIT %s exit=127\n", names[i]); /* could not start or lost */
			failed++;
		}
		if (pid > 0)
			kill(-pid, SIGKILL); /* leftovers of the test's process group */
		reap_available();
	}
	say("UTEST-SUMMARY passed=%d failed=%d\n", passed, failed);
	return failed;
}

/* Shutdown request from busybox poweroff/halt/reboot (0 = none). */
static volatile sig_atomic_t shutdown_request;

static void on_shutdown_signal(int sig)
{
	shutdown_request = sig;
}

/* Ends every process, syncs, and powers off, halts or restarts as `sig` asked. */
static void shut_down(int sig)
{
	say("exo-init: %s\n", sig == SIGTERM ? "restarting" : "powering off");
	kill(-1, SIGTERM);
	for (int i = 0; i < 20; i++) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		sleep_ms(50);
	}
	kill(-1, SIGKILL);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	sync();
	unsigned long cmd = sig == SIGTERM ? REBOOT_CMD_RESTART : sig == SIGUSR1 ? REBOOT_CMD_HALT : REBOOT_CMD_POWER_OFF;
	syscall(SYS_reboot, REBOOT_MAGIC1, REBOOT_MAGIC2, cmd, NULL);
	say("exo-init: reboot(2) failed: errno %d\n", errno);
}

static int cmdline_value(const char *key, char *out, size_t size);

/* Starts `sh` as "-NAME" in a new session whose controlling terminal is the console. */
static pid_t start_shell(const char *sh)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	setsid();
	int fd = open("/dev/console", O_RDWR);
	if (fd >= 0) {
		ioctl(fd, TIOCSCTTY, 0);
		for (int i = 0; i <= 2; i++)
			dup2(fd, i);
		if (fd > 2)
			close(fd);
	}
	chdir("/root");
	const char *base = strrchr(sh, '/') ? strrchr(sh, '/') + 1 : sh;
	char arg0[64], shell_var[160];
	snprintf(arg0, sizeof arg0, "-%s", base);
	snprintf(shell_var, sizeof shell_var, "SHELL=%s", sh);
	char *argv[] = { arg0, NULL };
	char *envp[] = { "HOME=/root", "PATH=/usr/local/bin:/sbin:/usr/sbin:/bin:/usr/bin", shell_var, "TERM=linux",
			 "USER=root", "LOGNAME=root", NULL };
	execve(sh, argv, envp);
	say("exo-init: cannot run %s: errno %d\n", sh, errno);
	_exit(127);
}

/* PID 1's life: keep a shell on the console, reap everything, obey shutdown requests. */
static void run_shell_forever(void)
{
	struct sigaction sa = { 0 };
	sa.sa_handler = on_shutdown_signal;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGINT, SIG_IGN);
	static char chosen[128];
	const char *sh = "/bin/sh";
	if (cmdline_value("exo.shell", chosen, sizeof chosen) && chosen[0] == '/' && access(chosen, X_OK) == 0)
		sh = chosen;
	if (access(sh, X_OK) != 0) {
		say("exo-init: no %s: nothing to run on the console\n", sh);
		sh = NULL;
	}
	pid_t shell = -1;
	int64_t started = 0;
	for (;;) {
		if (shutdown_request)
			shut_down(shutdown_request);
		if (sh && shell <= 0) {
			/* A shell that dies at once is not restarted in a tight loop. */
			if (now_ms() - started < 1000)
				sleep_ms(1000);
			started = now_ms();
			shell = start_shell(sh);
		}
		int st;
		pid_t w = wait4(-1, &st, 0, NULL);
		if (w == shell)
			shell = -1;
		if (w < 0 && errno == ECHILD)
			sleep_ms(100);
	}
}

/* Reap children forever; a non-PID-1 init exits once it has none. */
static void reap_forever(void)
{
	for (;;) {
		pid_t w = wait4(-1, NULL, 0, NULL);
		if (w < 0 && errno == ECHILD) {
			if (!is_pid1)
				exit(0);
			sleep_ms(1000);
		}
	}
}

/* The value of `key=` on the kernel command line (/proc/cmdline) into `out`; 0 if absent. */
static int cmdline_value(const char *key, char *out, size_t size)
{
	static char line[4096];
	int fd = open("/proc/cmdline", O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, line, sizeof line - 1);
	close(fd);
	line[n > 0 ? n : 0] = 0;
	size_t klen = strlen(key);
	for (char *w = strtok(line, " \n"); w; w = strtok(NULL, " \n")) {
		if (strncmp(w, key, klen) == 0 && (w[klen] == '=' || (w[klen] == 0 && !out))) {
			if (out)
				snprintf(out, size, "%s", w + klen + 1);
			return 1;
		}
	}
	return 0;
}

/* switch_root to the file system root= names, when "/" is still the initramfs (a tmpfs). */
static void switch_to_root_disk(void)
{
	char dev[128], type[32];
	struct statfs sfs;
	if (!cmdline_value("root", dev, sizeof dev) || !dev[0])
		return;
	if (statfs("/", &sfs) == 0 && sfs.f_type != 0x01021994 /* TMPFS_MAGIC */)
		return; /* the kernel mounted it already */
	unsigned long flags = cmdline_value("rw", NULL, 0) ? 0 : MS_RDONLY;
	const char *types[] = { type, "ext2", "vfat" };
	int have_type = cmdline_value("rootfstype", type, sizeof type) && type[0];
	mkdir("/newroot", 0755);
	int mounted = 0;
	for (size_t i = have_type ? 0 : 1; i < (have_type ? 1 : 3) && !mounted; i++)
		mounted = mount(dev, "/newroot", types[i], flags, NULL) == 0;
	if (!mounted) {
		say("exo-init: root=%s: mount failed (errno %d); staying on the initramfs\n", dev, errno);
		return;
	}
	static const char *moved[] = { "/proc", "/sys", "/dev", "/tmp" };
	int remount = 0;
	for (size_t i = 0; i < sizeof moved / sizeof *moved; i++) {
		char to[64];
		snprintf(to, sizeof to, "/newroot%s", moved[i]);
		if (mount(moved[i], to, NULL, MS_MOVE, NULL) != 0) {
			umount2(moved[i], MNT_DETACH);
			remount = 1;
		}
	}
	if (chdir("/newroot") || mount(".", "/", NULL, MS_MOVE, NULL) || chroot(".") || chdir("/")) {
		say("exo-init: switching to root=%s failed: errno %d\n", dev, errno);
		return;
	}
	say("exo-init: root is now %s (%s)\n", dev, flags ? "ro" : "rw");
	if (remount)
		mount_filesystems("exo-init"); /* what could not be moved */
}

/* `exo.mnt=DEVICE` (cargo xtask run's persistent disk): mounts it on /mnt. */
static void mount_extra_disk(void)
{
	char dev[128];
	if (!cmdline_value("exo.mnt", dev, sizeof dev) || !dev[0])
		return;
	mkdir("/mnt", 0755);
	if (mount(dev, "/mnt", "ext2", 0, NULL) != 0 && mount(dev, "/mnt", "vfat", 0, NULL) != 0)
		say("exo-init: mounting %s on /mnt: errno %d\n", dev, errno);
	else
		say("exo-init: %s is mounted on /mnt (files there persist)\n", dev);
}

int main(int argc, char **argv)
{
	ensure_console();
	is_pid1 = getpid() == 1;
	if (is_pid1)
		setsid(); /* the kernel starts PID 1 in session 0 */
	const char *r = getenv("UTEST_ROOT");
	if (r)
		root = r;
	build_env();

	int utest = 0;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "utest") == 0)
			utest = 1;

	if (utest) {
		int failed = run_suite();
		sync();
		if (!is_pid1)
			exit(failed > 255 ? 255 : failed);
		syscall(SYS_reboot, REBOOT_MAGIC1, REBOOT_MAGIC2, REBOOT_CMD_POWER_OFF, NULL);
		say("exo-init: power-off failed: errno %d\n", errno);
		reap_forever();
	}

	say("exo-init: Exo-OS user space is up (pid %d)\n", (int)getpid());
	if (is_pid1) {
		mount_filesystems("exo-init");
		switch_to_root_disk();
		mount_extra_disk();
	}
	char rc[512];
	snprintf(rc, sizeof rc, "%s/etc/rc", root);
	if (access(rc, X_OK) == 0) {
		pid_t pid = spawn(rc);
		int st;
		if (pid > 0 && wait_for(pid, 0, &st) == 1 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
			say("exo-init: /etc/rc failed: %s=%d\n", WIFEXITED(st) ? "exit" : "signal",
			    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	}
	if (!is_pid1)
		reap_forever();
	run_shell_forever();
}
