/*
 * t_procfs2 - the /proc files added for issue 17: /proc/<pid>/exe (also after an exec through
 * it), environ (and EACCES for another user's process), smaps and smaps_rollup (resident
 * memory growing as pages are touched), the status fields programs read (signal sets
 * included), stat's 52 fields, meminfo's keys, and /proc/sys entries with Linux's default
 * values, their read-only rules (EACCES) and hostname written by root (Exo-OS only: on the
 * host it would rename the machine). utest mounts no /proc: the test mounts its own.
 */
#include "utest.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static int on_exo(void)
{
	struct utsname u;
	return uname(&u) == 0 && strstr(u.release, "exo") != NULL;
}

static int slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	size_t got = 0;
	ssize_t n;
	while (got < size - 1 && (n = read(fd, buf + got, size - 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = 0;
	return (int)got;
}

/* The number after "key:" in a "Key: value" file, or -1. */
static long field(const char *text, const char *key)
{
	char pattern[64];
	snprintf(pattern, sizeof pattern, "\n%s:", key);
	const char *p = strstr(text, pattern);
	if (!p && strncmp(text, pattern + 1, strlen(pattern + 1)) == 0)
		p = text - 1;
	if (!p)
		return -1;
	return strtol(p + strlen(pattern), NULL, 10);
}

static unsigned long long hexfield(const char *text, const char *key)
{
	char pattern[64];
	snprintf(pattern, sizeof pattern, "\n%s:", key);
	const char *p = strstr(text, pattern);
	return p ? strtoull(p + strlen(pattern), NULL, 16) : ~0ULL;
}

static void exe_environ_cases(char **argv)
{
	char link[PATH_MAX], real[PATH_MAX], buf[8192];
	ssize_t n = readlink("/proc/self/exe", link, sizeof link - 1);
	link[n > 0 ? n : 0] = 0;
	CHECKF("exe", n > 0 && realpath(argv[0], real) && strcmp(link, real) == 0, "exe %s argv0 %s", link, argv[0]);
	int len = slurp("/proc/self/environ", buf, sizeof buf);
	int found = 0;
	for (int i = 0; i < len; i += (int)strlen(buf + i) + 1)
		found |= strcmp(buf + i, "T_PROCFS2=1") == 0;
	CHECKF("environ", found, "T_PROCFS2=1 not in %d bytes of environ", len);
	struct stat st;
	CHECK("environ_mode", stat("/proc/self/environ", &st) == 0 && (st.st_mode & 0777) == 0400);
	if (geteuid() != 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/environ", (int)getppid());
		if (setuid(65534) != 0)
			_exit(10);
		if (open(path, O_RDONLY) != -1 || errno != EACCES)
			_exit(1);
		snprintf(path, sizeof path, "/proc/%d/exe", (int)getppid());
		char t[64];
		if (readlink(path, t, sizeof t) != -1 || errno != EACCES)
			_exit(2);
		if (open("/proc/sys/kernel/hostname", O_WRONLY) != -1 || errno != EACCES)
			_exit(3);
		_exit(0);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	CHECKF("other_user_eacces", WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status 0x%x", status);
}

static void smaps_cases(void)
{
	static char buf[1 << 17];
	CHECK("rollup_read", slurp("/proc/self/smaps_rollup", buf, sizeof buf) > 0);
	long before = field(buf, "Rss");
	CHECKF("rollup_rss", before > 0 && field(buf, "Pss") > 0 && field(buf, "Anonymous") >= 0 && field(buf, "Swap") == 0,
	       "Rss %ld", before);
	size_t size = 4 << 20;
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(p, 1, size);
	slurp("/proc/self/smaps_rollup", buf, sizeof buf);
	long after = field(buf, "Rss");
	CHECKF("rollup_grows", after - before >= 4000, "Rss %ld -> %ld kB", before, after);
	CHECK("rollup_anon", field(buf, "Anonymous") >= 4000);
	/* smaps: one Size line per maps line, the touched area 4096 kB resident. */
	char maps[1 << 15];
	slurp("/proc/self/maps", maps, sizeof maps);
	int lines = 0, sizes = 0;
	for (char *q = maps; (q = strchr(q, '\n')); q++)
		lines++;
	slurp("/proc/self/smaps", buf, sizeof buf);
	for (char *q = buf; (q = strstr(q, "\nSize:")); q++)
		sizes++;
	if (strncmp(buf, "Size:", 5) == 0)
		sizes++;
	CHECKF("smaps_areas", lines > 0 && sizes == lines, "%d maps lines, %d Size lines", lines, sizes);
	char key[64];
	snprintf(key, sizeof key, "%lx-", (unsigned long)p);
	char *area = strstr(buf, key);
	CHECKF("smaps_area_rss", area && field(area, "Rss") == 4096, "area %s Rss %ld", key, area ? field(area, "Rss") : -2);
	munmap(p, size);
}

static void status_cases(void)
{
	char buf[8192];
	signal(SIGUSR1, SIG_IGN);
	signal(SIGUSR2, (void (*)(int))exe_environ_cases);
	CHECK("status_read", slurp("/proc/self/status", buf, sizeof buf) > 0);
	const char *keys[] = { "Name", "Umask", "State", "Tgid", "Pid", "PPid", "TracerPid", "Uid", "Gid", "FDSize",
			       "Groups", "VmPeak", "VmSize", "VmRSS", "Threads", "SigQ", "SigPnd", "ShdPnd", "SigBlk",
			       "SigIgn", "SigCgt", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs",
			       "Cpus_allowed", "Cpus_allowed_list", "voluntary_ctxt_switches" };
	int missing = 0;
	char first[32] = "";
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		char pattern[64];
		snprintf(pattern, sizeof pattern, "%s:\t", keys[i]);
		if (!strstr(buf, pattern)) {
			if (!missing)
				snprintf(first, sizeof first, "%s", keys[i]);
			missing++;
		}
	}
	CHECKF("status_keys", missing == 0, "%d keys missing, first %s", missing, first);
	CHECK_EQ("status_pid", field(buf, "Pid"), getpid());
	CHECKF("sig_ign", (hexfield(buf, "SigIgn") & (1ULL << (SIGUSR1 - 1))) != 0, "SigIgn %llx", hexfield(buf, "SigIgn"));
	CHECKF("sig_cgt", (hexfield(buf, "SigCgt") & (1ULL << (SIGUSR2 - 1))) != 0, "SigCgt %llx", hexfield(buf, "SigCgt"));
	signal(SIGUSR1, SIG_DFL);
	signal(SIGUSR2, SIG_DFL);
	/* stat: 52 fields after the command; tty_nr a number. */
	slurp("/proc/self/stat", buf, sizeof buf);
	char *rest = strrchr(buf, ')');
	int fields = 2;
	for (char *q = rest ? rest + 1 : buf; *q; q++)
		if (*q == ' ')
			fields++;
	CHECKF("stat_fields", rest && fields == 52, "%d fields", fields);
	int tty = -1;
	CHECK("stat_tty_nr", rest && sscanf(rest + 2, "%*c %*d %*d %*d %d", &tty) == 1 && tty >= 0);
	slurp("/proc/meminfo", buf, sizeof buf);
	const char *mem[] = { "MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "Active", "Inactive",
			      "AnonPages", "Mapped", "Shmem", "Slab", "KernelStack", "PageTables", "CommitLimit",
			      "Committed_AS", "VmallocTotal", "HugePages_Total", "Hugepagesize" };
	missing = 0;
	for (size_t i = 0; i < sizeof mem / sizeof *mem; i++)
		if (field(buf, mem[i]) < 0)
			snprintf(first, sizeof first, "%s", mem[i]), missing++;
	CHECKF("meminfo_keys", missing == 0, "%d keys missing, last %s", missing, first);
	CHECK("meminfo_anon", field(buf, "AnonPages") > 0 && field(buf, "Committed_AS") > 0 && field(buf, "CommitLimit") > 0);
}

static void sysctl_cases(void)
{
	/* Values every Linux with default settings shows (pid_max, threads-max and the inotify
	 * watch limit depend on the machine: only their presence is checked). */
	static const struct { const char *path, *value; } fixed[] = {
		{ "/proc/sys/kernel/ostype", "Linux\n" },
		{ "/proc/sys/kernel/cap_last_cap", "40\n" },
		{ "/proc/sys/kernel/msgmax", "8192\n" },
		{ "/proc/sys/kernel/msgmnb", "16384\n" },
		{ "/proc/sys/kernel/msgmni", "32000\n" },
		{ "/proc/sys/kernel/shmmni", "4096\n" },
		{ "/proc/sys/kernel/shmmax", "18446744073692774399\n" },
		{ "/proc/sys/kernel/sem", "32000\t1024000000\t500\t32000\n" },
		{ "/proc/sys/kernel/ngroups_max", "65536\n" },
		{ "/proc/sys/kernel/overflowuid", "65534\n" },
		{ "/proc/sys/fs/pipe-max-size", "1048576\n" },
		{ "/proc/sys/fs/nr_open", "1048576\n" },
		{ "/proc/sys/fs/inotify/max_user_instances", "128\n" },
		{ "/proc/sys/fs/mqueue/msg_max", "10\n" },
		{ "/proc/sys/fs/mqueue/msgsize_max", "8192\n" },
		{ "/proc/sys/fs/mqueue/queues_max", "256\n" },
		{ "/proc/sys/vm/max_map_count", "65530\n" },
		{ "/proc/sys/net/core/somaxconn", "4096\n" },
	};
	char buf[256], name[64];
	for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
		snprintf(name, sizeof name, "sysctl_%s", strrchr(fixed[i].path, '/') + 1);
		int n = slurp(fixed[i].path, buf, sizeof buf);
		CHECKF(name, n > 0 && strcmp(buf, fixed[i].value) == 0, "%s: %s", fixed[i].path, n > 0 ? buf : "missing");
	}
	static const char *present[] = { "/proc/sys/kernel/pid_max", "/proc/sys/kernel/tainted", "/proc/sys/kernel/osrelease",
					 "/proc/sys/kernel/version", "/proc/sys/kernel/hostname", "/proc/sys/kernel/domainname",
					 "/proc/sys/kernel/threads-max", "/proc/sys/kernel/printk", "/proc/sys/kernel/dmesg_restrict",
					 "/proc/sys/kernel/core_pattern", "/proc/sys/kernel/random/entropy_avail",
					 "/proc/sys/fs/file-max", "/proc/sys/fs/file-nr", "/proc/sys/fs/inotify/max_user_watches",
					 "/proc/sys/vm/overcommit_memory", "/proc/sys/vm/swappiness", "/proc/sys/kernel/shmall" };
	int missing = 0;
	for (size_t i = 0; i < sizeof present / sizeof *present; i++)
		if (slurp(present[i], buf, sizeof buf) <= 0 || buf[strlen(buf) - 1] != '\n')
			missing++;
	CHECKF("sysctl_present", missing == 0, "%d missing", missing);
	char id1[64], id2[64], u1[64], u2[64];
	slurp("/proc/sys/kernel/random/boot_id", id1, sizeof id1);
	slurp("/proc/sys/kernel/random/boot_id", id2, sizeof id2);
	slurp("/proc/sys/kernel/random/uuid", u1, sizeof u1);
	slurp("/proc/sys/kernel/random/uuid", u2, sizeof u2);
	CHECK("boot_id_stable", strlen(id1) == 37 && strcmp(id1, id2) == 0 && id1[14] == '4');
	CHECK("uuid_fresh", strlen(u1) == 37 && strcmp(u1, u2) != 0);
	CHECK_ERR("readonly_eacces", open("/proc/sys/kernel/ostype", O_WRONLY), EACCES);
	if (on_exo() && geteuid() == 0) {
		char old[128];
		slurp("/proc/sys/kernel/hostname", old, sizeof old);
		int fd = open("/proc/sys/kernel/hostname", O_WRONLY);
		CHECK("hostname_write", fd >= 0 && write(fd, "t-procfs2\n", 10) == 10);
		close(fd);
		struct utsname u;
		CHECK("hostname_uname", uname(&u) == 0 && strcmp(u.nodename, "t-procfs2") == 0);
		old[strcspn(old, "\n")] = 0;
		sethostname(old, strlen(old));
	}
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	int mounted = 0;
	if (access("/proc/self/stat", F_OK) != 0 && geteuid() == 0) {
		mkdir("/proc", 0555);
		mounted = mount("proc", "/proc", "proc", 0, NULL) == 0;
	}
	/* Once more through /proc/self/exe, with T_PROCFS2=1 in the environment. */
	if (!getenv("T_PROCFS2")) {
		setenv("T_PROCFS2", "1", 1);
		execv("/proc/self/exe", argv);
		utest_fail("reexec", "execv /proc/self/exe: errno %d", errno);
		return utest_done();
	}
	exe_environ_cases(argv);
	smaps_cases();
	status_cases();
	sysctl_cases();
	if (mounted)
		umount("/proc");
	return utest_done();
}
