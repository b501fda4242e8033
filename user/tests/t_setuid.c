/*
 * t_setuid - set-user-ID and set-group-ID programs, and the mount flags exec honours.
 *
 * As root, copies itself into a fresh tmpfs, gives the copy an owner and the set-id bits, and
 * runs it from a child that dropped to uid/gid 2000: the copy (invoked with "ids") prints its
 * real, effective and saved ids and AT_SECURE.  Checked: setuid gives the owner as effective
 * and saved uid with AT_SECURE 1; setgid likewise for the group; setgid without group execute
 * gives nothing; no bit: nothing and AT_SECURE 0; a #! script's bits are ignored; a nosuid
 * mount ignores the bits; a noexec mount refuses exec (EACCES).  Also passes on Linux (root).
 */
#define UTEST_PROGRAM "t_setuid"
#include "utest.h"

#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/mount.h>
#include <sys/stat.h>

#define DIR_SUID "/tmp/t_setuid_m"
#define DIR_NOSUID "/tmp/t_setuid_n"
#define DIR_NOEXEC "/tmp/t_setuid_x"

static int print_ids(void)
{
	uid_t r, e, s;
	gid_t gr, ge, gs;
	getresuid(&r, &e, &s);
	getresgid(&gr, &ge, &gs);
	printf("%u %u %u %u %u %u %lu\n", r, e, s, gr, ge, gs, getauxval(AT_SECURE));
	return 0;
}

static int copy_file(const char *from, const char *to, mode_t mode, uid_t uid, gid_t gid)
{
	int in = open(from, O_RDONLY);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0700);
	if (in < 0 || out < 0)
		return -1;
	static char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, n) != n)
			return -1;
	close(in);
	close(out);
	if (chown(to, uid, gid) != 0 || chmod(to, mode) != 0)
		return -1;
	return 0;
}

/* Runs `path ids` as uid/gid 2000; its output line in `out`, or "errno N" when exec failed. */
static void run_as_2000(const char *path, char *out, size_t cap)
{
	int fds[2];
	out[0] = 0;
	if (pipe(fds) != 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		if (setgroups(0, NULL) != 0 || setresgid(2000, 2000, 2000) != 0 || setresuid(2000, 2000, 2000) != 0)
			_exit(90);
		char *const argv[] = {(char *)path, "ids", NULL};
		execv(path, argv);
		printf("errno %d\n", errno);
		fflush(stdout);
		_exit(91);
	}
	close(fds[1]);
	size_t got = 0;
	ssize_t n;
	while (got + 1 < cap && (n = read(fds[0], out + got, cap - 1 - got)) > 0)
		got += n;
	out[got] = 0;
	if (got && out[got - 1] == '\n')
		out[got - 1] = 0;
	close(fds[0]);
	utest_wait(pid);
}

static void expect(const char *name, const char *path, const char *want)
{
	char out[128];
	run_as_2000(path, out, sizeof out);
	CHECKF(name, strcmp(out, want) == 0, "got \"%s\", want \"%s\"", out, want);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[argc - 1], "ids") == 0) /* also as a script interpreter */
		return print_ids();
	utest_init(argc, argv);
	if (geteuid() != 0) {
		utest_ok("skipped_not_root");
		return utest_done();
	}
	const char *self = argv[0];
	mkdir(DIR_SUID, 0755);
	mkdir(DIR_NOSUID, 0755);
	mkdir(DIR_NOEXEC, 0755);
	CHECK_OK("mount", mount("tmpfs", DIR_SUID, "tmpfs", 0, "mode=755"));
	CHECK_OK("mount_nosuid", mount("tmpfs", DIR_NOSUID, "tmpfs", MS_NOSUID, "mode=755"));
	CHECK_OK("mount_noexec", mount("tmpfs", DIR_NOEXEC, "tmpfs", MS_NOEXEC, "mode=755"));

	CHECK_OK("copy_plain", copy_file(self, DIR_SUID "/plain", 0755, 1000, 3000));
	CHECK_OK("copy_suid", copy_file(self, DIR_SUID "/suid", 04755, 1000, 3000));
	CHECK_OK("copy_sgid", copy_file(self, DIR_SUID "/sgid", 02755, 1000, 3000));
	CHECK_OK("copy_sgid_nox", copy_file(self, DIR_SUID "/sgidnox", 02745, 1000, 3000));
	CHECK_OK("copy_nosuid", copy_file(self, DIR_NOSUID "/suid", 04755, 1000, 3000));
	CHECK_OK("copy_noexec", copy_file(self, DIR_NOEXEC "/plain", 0755, 1000, 3000));
	int fd = open(DIR_SUID "/script", O_WRONLY | O_CREAT | O_TRUNC, 0755);
	const char script[] = "#!" DIR_SUID "/plain\n";
	CHECK("script", fd >= 0 && write(fd, script, sizeof script - 1) == (ssize_t)sizeof script - 1);
	close(fd);
	CHECK_OK("script_suid", chown(DIR_SUID "/script", 1000, 3000) || chmod(DIR_SUID "/script", 06755));

	expect("plain", DIR_SUID "/plain", "2000 2000 2000 2000 2000 2000 0");
	expect("setuid", DIR_SUID "/suid", "2000 1000 1000 2000 2000 2000 1");
	expect("setgid", DIR_SUID "/sgid", "2000 2000 2000 2000 3000 3000 1");
	expect("setgid_without_group_exec", DIR_SUID "/sgidnox", "2000 2000 2000 2000 2000 2000 0");
	expect("script_bits_ignored", DIR_SUID "/script", "2000 2000 2000 2000 2000 2000 0");
	expect("nosuid_mount", DIR_NOSUID "/suid", "2000 2000 2000 2000 2000 2000 0");
	char want[32];
	snprintf(want, sizeof want, "errno %d", EACCES);
	expect("noexec_mount", DIR_NOEXEC "/plain", want);

	umount(DIR_SUID);
	umount(DIR_NOSUID);
	umount(DIR_NOEXEC);
	rmdir(DIR_SUID);
	rmdir(DIR_NOSUID);
	rmdir(DIR_NOEXEC);
	return utest_done();
}
