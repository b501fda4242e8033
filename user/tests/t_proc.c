/*
 * t_proc - procfs, devtmpfs and the mount syscalls.  On Exo-OS (uname release containing "exo")
 * the test mounts proc on /proc, devtmpfs on /dev and tmpfs on /tmp/t_proc.m itself, checks the
 * mount errors (ENOENT, ENOTDIR, ENODEV, EFAULT, EINVAL, EBUSY), reads /proc/self/{stat,status,
 * cmdline,maps,fd}, /proc/{meminfo,uptime,loadavg,stat,cpuinfo,mounts}, lists /proc, looks at a
 * child in /proc/<pid>, uses /dev/null, /dev/zero, /dev/full, and unmounts everything again.
 * Elsewhere (a host Linux) it only reads the /proc that is already mounted and skips the mount
 * cases with a note.
 */
#define UTEST_PROGRAM "t_proc"
#include "utest.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>

#define PROC_MAGIC 0x9fa0
#define TMPFS_MAGIC_ 0x01021994

static int on_exo;
static const char *mnt = "/tmp/t_proc.m";
static const char *file = "/tmp/t_proc.file";

/* Reads a whole (small) file into buf, NUL-terminated; returns its length or -1. */
static long slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	size_t len = 0;
	for (;;) {
		/* Small reads, so the procfs offset logic is exercised. */
		size_t want = size - 1 - len < 100 ? size - 1 - len : 100;
		if (want == 0)
			break;
		ssize_t n = read(fd, buf + len, want);
		if (n < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = 0;
	return (long)len;
}

/* The value after "Key:" in a status-like text, or -1. */
static long field(const char *text, const char *key)
{
	const char *p = strstr(text, key);
	if (!p)
		return -1;
	p += strlen(key);
	while (*p == ' ' || *p == '\t')
		p++;
	return strtol(p, NULL, 10);
}

static void check_mounts(void)
{
	mkdir(mnt, 0755);
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
	close(fd);
	CHECK_OK("mount.proc", mount("proc", "/proc", "proc", 0, NULL));
	CHECK_ERR("mount.enoent", mount("none", "/tmp/t_proc.nonexistent/x", "tmpfs", 0, NULL), ENOENT);
	CHECK_ERR("mount.enotdir", mount("none", "/tmp/t_proc.file/x", "tmpfs", 0, NULL), ENOTDIR);
	CHECK_ERR("mount.enodev", mount("none", mnt, "nosuchfs", 0, NULL), ENODEV);
	CHECK_ERR("mount.efault_target", mount("none", (const char *)8, "tmpfs", 0, NULL), EFAULT);
	CHECK_ERR("mount.efault_type", mount("none", mnt, (const char *)8, 0, NULL), EFAULT);
	CHECK_ERR("umount.not_mountpoint", umount2(mnt, 0), EINVAL);
	CHECK_ERR("umount.enoent", umount2("/tmp/t_proc.nonexistent", 0), ENOENT);
	CHECK_ERR("umount.bad_flags", umount2(mnt, 0x100), EINVAL);

	if (CHECK_OK("mount.tmpfs", mount("tmpfs", mnt, "tmpfs", MS_NOSUID, "mode=0700,size=1m"))) {
		struct stat st;
		CHECK_OK("mount.tmpfs.stat", stat(mnt, &st));
		CHECKF("mount.tmpfs.mode", (st.st_mode & 07777) == 0700, "mode %o", st.st_mode);
		struct statfs sf;
		CHECK_OK("mount.tmpfs.statfs", statfs(mnt, &sf));
		CHECKF("mount.tmpfs.magic", sf.f_type == TMPFS_MAGIC_, "f_type %lx", (long)sf.f_type);
		char path[128];
		snprintf(path, sizeof path, "%s/inside", mnt);
		int f = open(path, O_WRONLY | O_CREAT, 0600);
		CHECK("mount.tmpfs.create", f >= 0);
		close(f);
		CHECK_OK("mount.remount_ro", mount(NULL, mnt, NULL, MS_REMOUNT | MS_RDONLY, NULL));
		CHECK_ERR("mount.remount_ro.erofs", open(path, O_WRONLY), EROFS);
		/* A remount replaces the per-mount flags: keep nosuid. */
		CHECK_OK("mount.remount_rw", mount(NULL, mnt, NULL, MS_REMOUNT | MS_NOSUID, NULL));
		CHECK_ERR("mount.remount.not_root", mount(NULL, "/tmp", NULL, MS_REMOUNT, NULL), EINVAL);
	}
}

static void check_mounts_listed(void)
{
	static char buf[8192];
	long n = slurp("/proc/mounts", buf, sizeof buf);
	CHECKF("mounts.read", n > 0, "read /proc/mounts: %ld errno %s", n, utest_errname(errno));
	CHECKF("mounts.proc", strstr(buf, "proc /proc proc rw") != NULL, "no proc line in:\n%s", buf);
	CHECKF("mounts.tmpfs", strstr(buf, "tmpfs /tmp/t_proc.m tmpfs rw,nosuid") != NULL, "no tmpfs line in:\n%s", buf);
	struct statfs sf;
	CHECK_OK("statfs.proc", statfs("/proc", &sf));
	CHECKF("statfs.proc.magic", sf.f_type == PROC_MAGIC, "f_type %lx", (long)sf.f_type);
}

static void check_self(int argc, char **argv)
{
	static char buf[8192];
	/* The command name: the program's file name, cut to 15 bytes. */
	char want_comm[16], line[40];
	memcpy(want_comm, utest_prog, 15);
	want_comm[15] = 0;
	char comm[64] = "";
	char state = 0;
	int pid = 0, ppid = 0;
	long n = slurp("/proc/self/stat", buf, sizeof buf);
	CHECKF("self.stat.read", n > 0, "errno %s", utest_errname(errno));
	int got = sscanf(buf, "%d (%63[^)]) %c %d", &pid, comm, &state, &ppid);
	CHECKF("self.stat.fields", got == 4 && pid == getpid() && ppid == getppid() && strcmp(comm, want_comm) == 0 && state == 'R',
	       "got %d: pid %d/%d ppid %d/%d comm '%s' state %c", got, pid, getpid(), ppid, getppid(), comm, state);
	/* Field 20 is num_threads, 22 starttime, 23 vsize. */
	const char *p = strrchr(buf, ')');
	long fields[64] = { 0 };
	int count = 0;
	if (p) {
		p += 4;
		while (count < 64 && *p) {
			char *end;
			fields[count++] = strtol(p, &end, 10);
			if (end == p)
				break;
			p = end;
		}
	}
	/* fields[0] is field 4 (ppid). */
	CHECKF("self.stat.count", count >= 49, "%d numeric fields", count);
	CHECKF("self.stat.threads", fields[20 - 4] == 1, "num_threads %ld", fields[20 - 4]);
	CHECKF("self.stat.vsize", fields[23 - 4] > 0, "vsize %ld", fields[23 - 4]);

	n = slurp("/proc/self/status", buf, sizeof buf);
	CHECKF("self.status.read", n > 0, "errno %s", utest_errname(errno));
	snprintf(line, sizeof line, "Name:\t%s\n", want_comm);
	CHECKF("self.status.name", strstr(buf, line) != NULL, "%s", buf);
	CHECK_EQ("self.status.pid", field(buf, "\nPid:"), getpid());
	CHECK_EQ("self.status.ppid", field(buf, "\nPPid:"), getppid());
	CHECK_EQ("self.status.uid", field(buf, "\nUid:"), getuid());
	CHECKF("self.status.vmrss", field(buf, "\nVmRSS:") > 0, "VmRSS %ld", field(buf, "\nVmRSS:"));

	n = slurp("/proc/self/cmdline", buf, sizeof buf);
	long want = 0;
	for (int i = 0; i < argc; i++)
		want += (long)strlen(argv[i]) + 1;
	int same = n == want;
	for (long at = 0, i = 0; same && i < argc; i++) {
		same = strcmp(buf + at, argv[i]) == 0;
		at += (long)strlen(argv[i]) + 1;
	}
	CHECKF("self.cmdline", same, "length %ld, want %ld, first '%s'", n, want, buf);

	n = slurp("/proc/self/comm", buf, sizeof buf);
	snprintf(line, sizeof line, "%s\n", want_comm);
	CHECKF("self.comm", n > 0 && strcmp(buf, line) == 0, "'%s'", buf);

	n = slurp("/proc/self/maps", buf, sizeof buf);
	CHECKF("self.maps.stack", n > 0 && strstr(buf, "[stack]") != NULL, "%s", buf);
	unsigned long start = 0, end = 0;
	char perms[8] = "";
	CHECKF("self.maps.format", sscanf(buf, "%lx-%lx %7s", &start, &end, perms) == 3 && start < end && strlen(perms) == 4,
	       "%s", buf);

	char link[64];
	ssize_t len = readlink("/proc/self", link, sizeof link - 1);
	if (len >= 0)
		link[len] = 0;
	CHECKF("self.link", len > 0 && atoi(link) == getpid(), "readlink /proc/self: %zd '%s'", len, len > 0 ? link : "");
}

static void check_fds(void)
{
	int fd = open(file, O_RDONLY);
	if (!CHECK("fd.open", fd >= 0))
		return;
	int seen[4] = { 0 };
	DIR *d = opendir("/proc/self/fd");
	if (CHECKF("fd.opendir", d != NULL, "errno %s", utest_errname(errno))) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			int n = atoi(e->d_name);
			if (e->d_name[0] >= '0' && e->d_name[0] <= '9') {
				if (n <= 2)
					seen[n] = 1;
				if (n == fd)
					seen[3] = 1;
			}
		}
		closedir(d);
	}
	CHECKF("fd.list", seen[0] && seen[1] && seen[2] && seen[3], "0:%d 1:%d 2:%d %d:%d", seen[0], seen[1], seen[2], fd, seen[3]);
	char path[64], target[256];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	ssize_t len = readlink(path, target, sizeof target - 1);
	if (len >= 0)
		target[len] = 0;
	CHECKF("fd.readlink", len > 0 && strcmp(target, file) == 0, "readlink %s: %zd '%s'", path, len, len > 0 ? target : "");
	int again = open(path, O_RDONLY);
	CHECKF("fd.reopen", again >= 0, "open %s: errno %s", path, utest_errname(errno));
	close(again);
	int p[2];
	if (pipe(p) == 0) {
		snprintf(path, sizeof path, "/proc/self/fd/%d", p[0]);
		len = readlink(path, target, sizeof target - 1);
		if (len >= 0)
			target[len] = 0;
		CHECKF("fd.pipe", len > 0 && strncmp(target, "pipe:[", 6) == 0, "'%s'", len > 0 ? target : "");
		close(p[0]);
		close(p[1]);
	}
	close(fd);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	CHECK_ERR("fd.closed", readlink(path, target, sizeof target), ENOENT);
}

static void check_system(void)
{
	static char buf[16384];
	long n = slurp("/proc/meminfo", buf, sizeof buf);
	long total = field(buf, "MemTotal:"), free_kb = field(buf, "MemFree:");
	CHECKF("meminfo", n > 0 && total > free_kb && free_kb > 0, "MemTotal %ld MemFree %ld", total, free_kb);

	double up1 = 0, up2 = 0, idle = 0;
	slurp("/proc/uptime", buf, sizeof buf);
	int got = sscanf(buf, "%lf %lf", &up1, &idle);
	utest_sleep_ms(60);
	slurp("/proc/uptime", buf, sizeof buf);
	sscanf(buf, "%lf", &up2);
	CHECKF("uptime", got == 2 && up1 > 0 && up2 > up1, "'%s' then %.2f", buf, up2);

	float l1, l5, l15;
	int run, total_threads, last;
	n = slurp("/proc/loadavg", buf, sizeof buf);
	got = sscanf(buf, "%f %f %f %d/%d %d", &l1, &l5, &l15, &run, &total_threads, &last);
	CHECKF("loadavg", got == 6 && run >= 1 && total_threads >= run && l1 >= 0, "'%s'", buf);

	n = slurp("/proc/stat", buf, sizeof buf);
	unsigned long long user, nice, sys, idle_ticks;
	got = sscanf(buf, "cpu %llu %llu %llu %llu", &user, &nice, &sys, &idle_ticks);
	CHECKF("stat", got == 4 && strstr(buf, "\ncpu0 ") && strstr(buf, "\nbtime ") && strstr(buf, "\nctxt "), "'%s'", buf);

	n = slurp("/proc/cpuinfo", buf, sizeof buf);
	CHECKF("cpuinfo", n > 0 && strncmp(buf, "processor\t: 0", 13) == 0 && strstr(buf, "model name\t:") && strstr(buf, "flags\t\t:"),
	       "'%.200s'", buf);

	n = slurp("/proc/sys/kernel/ostype", buf, sizeof buf);
	CHECKF("sys.ostype", n > 0 && strcmp(buf, "Linux\n") == 0, "'%s'", buf);

	int found = 0;
	DIR *d = opendir("/proc");
	if (CHECKF("proc.opendir", d != NULL, "errno %s", utest_errname(errno))) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL)
			if (atoi(e->d_name) == getpid() && e->d_type == DT_DIR)
				found = 1;
		closedir(d);
	}
	CHECK("proc.list_self", found);
}

/* The total idle ticks of /proc/stat's "cpu" line. */
static long long stat_idle(void)
{
	static char buf[4096];
	unsigned long long user, nice, sys, idle;
	if (slurp("/proc/stat", buf, sizeof buf) <= 0 || sscanf(buf, "cpu %llu %llu %llu %llu", &user, &nice, &sys, &idle) != 4)
		return -1;
	return (long long)idle;
}

/* Idle time never runs backwards, while a child keeps a CPU busy and after it stops: an idle
 * thread switched out used to be counted as idle from its switch-out on (its busy CPU's time
 * counted as idle), then fell back when it ran again.  One tick of slack for the
 * per-CPU rounding of the sum. */
static void check_idle_monotonic(void)
{
	pid_t child = fork();
	if (child == 0) {
		uint64_t end = utest_now_ns(CLOCK_MONOTONIC) + 300000000ull;
		while (utest_now_ns(CLOCK_MONOTONIC) < end)
			;
		_exit(0);
	}
	long long last = stat_idle(), worst = 0;
	uint64_t end = utest_now_ns(CLOCK_MONOTONIC) + 600000000ull;
	while (last >= 0 && utest_now_ns(CLOCK_MONOTONIC) < end) {
		utest_sleep_ms(5);
		long long now = stat_idle();
		if (now >= 0 && last - now > worst)
			worst = last - now;
		if (now > last)
			last = now;
	}
	int st = 0;
	waitpid(child, &st, 0);
	CHECKF("stat.idle_monotonic", child > 0 && last >= 0 && worst <= 1, "fell back by %lld ticks", worst);
}

/* A sleeping child as ps sees it. */
static void check_child(void)
{
	pid_t child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	if (!CHECK("child.fork", child > 0))
		return;
	utest_sleep_ms(50);
	char path[64], buf[1024], comm[64] = "";
	char state = 0;
	int pid = 0, ppid = 0;
	snprintf(path, sizeof path, "/proc/%d/stat", child);
	slurp(path, buf, sizeof buf);
	int got = sscanf(buf, "%d (%63[^)]) %c %d", &pid, comm, &state, &ppid);
	CHECKF("child.stat", got == 4 && pid == child && ppid == getpid() && state == 'S', "'%s'", buf);
	/* Where the child waits in the kernel: root may read it, another user may not. */
	snprintf(path, sizeof path, "/proc/%d/stack", child);
	long n = slurp(path, buf, sizeof buf);
	CHECKF("child.stack.root", n > 0, "read %s: %ld errno %s", path, n, utest_errname(errno));
	pid_t other = fork();
	if (other == 0) {
		if (setuid(1000) != 0)
			_exit(2);
		_exit(open(path, O_RDONLY) < 0 && errno == EACCES ? 0 : 1);
	}
	CHECKF("child.stack.other_user", utest_wait(other) == 0, "uid 1000 could open %s", path);
	kill(child, SIGKILL);
	utest_wait(child);
	struct stat st;
	snprintf(path, sizeof path, "/proc/%d", child);
	CHECK_ERR("child.gone", stat(path, &st), ENOENT);
}

static void check_readonly(void)
{
	int fd = open("/proc/meminfo", O_WRONLY);
	int failed = fd < 0 || write(fd, "x", 1) < 0;
	CHECK("readonly.write", failed);
	if (fd >= 0)
		close(fd);
	CHECK("readonly.create", open("/proc/t_proc_new", O_WRONLY | O_CREAT, 0644) < 0);
	CHECK("readonly.mkdir", mkdir("/proc/t_proc_dir", 0755) < 0);
}

static void check_dev(void)
{
	if (!CHECK_OK("dev.mount", mount("devtmpfs", "/dev", "devtmpfs", 0, NULL)))
		return;
	int fd = open("/dev/null", O_RDWR);
	if (CHECKF("dev.null.open", fd >= 0, "errno %s", utest_errname(errno))) {
		char c;
		CHECK_RET("dev.null.write", write(fd, "hello", 5), 5);
		CHECK_RET("dev.null.read", read(fd, &c, 1), 0);
		close(fd);
	}
	fd = open("/dev/zero", O_RDONLY);
	if (CHECKF("dev.zero.open", fd >= 0, "errno %s", utest_errname(errno))) {
		char z[16];
		memset(z, 'x', sizeof z);
		CHECK_RET("dev.zero.read", read(fd, z, sizeof z), 16);
		CHECK("dev.zero.zeros", z[0] == 0 && z[15] == 0);
		close(fd);
	}
	fd = open("/dev/full", O_WRONLY);
	if (CHECK("dev.full.open", fd >= 0)) {
		CHECK_ERR("dev.full.write", write(fd, "x", 1), ENOSPC);
		close(fd);
	}
	struct stat st;
	CHECKF("dev.console", stat("/dev/console", &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 5 && minor(st.st_rdev) == 1,
	       "errno %s", utest_errname(errno));
	char target[64];
	ssize_t len = readlink("/dev/stdout", target, sizeof target - 1);
	CHECK("dev.stdout", len == 15 && memcmp(target, "/proc/self/fd/1", 15) == 0);
	struct statfs sf;
	CHECKF("dev.shm", statfs("/dev/shm", &sf) == 0 && sf.f_type == TMPFS_MAGIC_, "errno %s", utest_errname(errno));
	CHECK_ERR("dev.umount_busy", umount2("/dev", 0), EBUSY);
	CHECK_OK("dev.umount_detach", umount2("/dev", MNT_DETACH));
	CHECK_ERR("dev.gone", stat("/dev/shm", &st), ENOENT);
}

static void check_umount(void)
{
	char path[128];
	snprintf(path, sizeof path, "%s/inside", mnt);
	CHECK_OK("umount.tmpfs", umount2(mnt, 0));
	struct stat st;
	CHECK_ERR("umount.tmpfs.gone", stat(path, &st), ENOENT);
	static char buf[8192];
	slurp("/proc/mounts", buf, sizeof buf);
	CHECKF("umount.tmpfs.unlisted", strstr(buf, mnt) == NULL, "%s", buf);
	CHECK_OK("umount.proc", umount2("/proc", MNT_FORCE));
	CHECK_ERR("umount.proc.gone", open("/proc/self/stat", O_RDONLY), ENOENT);
	rmdir(mnt);
	unlink(file);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	struct utsname u;
	on_exo = uname(&u) == 0 && strstr(u.release, "exo") != NULL;
	if (on_exo) {
		check_mounts();
		check_mounts_listed();
	} else {
		utest_printf("# not on Exo-OS: mount cases skipped, reading the existing /proc\n");
		int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
		close(fd);
	}
	check_self(argc, argv);
	check_fds();
	check_system();
	check_idle_monotonic();
	check_child();
	if (on_exo) {
		check_readonly();
		check_dev();
		check_umount();
	} else {
		unlink(file);
	}
	return utest_done();
}
