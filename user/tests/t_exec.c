/*
 * t_exec - execve: exit statuses of musl and glibc programs, argv/envp passing, error cases
 * (ENOENT, EACCES, ENOEXEC, EFAULT), "#!" scripts, close-on-exec, signal dispositions across
 * exec, and the auxiliary vector.  Uses /bin/echoargs, which reports its argv, environment,
 * open descriptors and signal state into the file named by ECHOARGS_OUT.
 */
#define UTEST_PROGRAM "t_exec"
#include "utest.h"

#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>

static char out_path[96], tmp_dir[64];
static char report[65536];

/* fork + execve; returns the wait status (or -1000 - errno if fork/wait failed). The child
 * exits 200 + errno when execve fails, so errors and program statuses stay distinct. */
static int run(const char *path, char *const argv[], char *const envp[])
{
	pid_t pid = fork();
	if (pid < 0)
		return -1000 - errno;
	if (pid == 0) {
		execve(path, argv, envp);
		_exit(errno < 55 ? 200 + errno : 255);
	}
	return utest_wait(pid);
}

static void check_exec_errno(const char *name, const char *path, char *const argv[],
			     char *const envp[], int experr)
{
	int st = run(path, argv, envp);
	CHECKF(name, WIFEXITED(st) && WEXITSTATUS(st) == 200 + experr,
	       "%s: expected execve errno %s/%d (exit %d), got %s", path, utest_errname(experr),
	       experr, 200 + experr, st <= -1000 ? "fork/wait failure" : utest_wstr(st));
}

/* Read the echoargs report; returns its length or -1. */
static int load_report(void)
{
	int fd = open(out_path, O_RDONLY);
	if (fd < 0)
		return -1;
	int n = 0, r;
	while (n < (int)sizeof report - 1 && (r = read(fd, report + n, sizeof report - 1 - n)) > 0)
		n += r;
	close(fd);
	report[n] = 0;
	unlink(out_path);
	return n;
}

/* Whether the report has exactly this line. */
static int has_line(const char *line)
{
	size_t len = strlen(line);
	for (const char *p = report; (p = strstr(p, line)); p++)
		if ((p == report || p[-1] == '\n') && (p[len] == '\n' || p[len] == 0))
			return 1;
	return 0;
}

static void write_file(const char *path, const char *data, mode_t mode)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd >= 0) {
		if (write(fd, data, strlen(data)) < 0)
			utest_printf("# write %s failed\n", path);
		close(fd);
	}
}

static void check_statuses(void)
{
	char *const env[] = { "PATH=/bin", NULL };
	char *const a42[] = { "t_hello", "exit", "42", NULL };
	utest_check_exit("exit_status.musl", run(utest_path("/bin/tests/t_hello"), a42, env), 42);
	const char *g = utest_path("/bin/tests/t_hello.glibc");
	char *const a43[] = { "t_hello.glibc", "exit", "43", NULL };
	if (access(g, X_OK) == 0)
		utest_check_exit("exit_status.glibc", run(g, a43, env), 43);
	else
		utest_printf("# t_exec: %s absent, glibc status case skipped\n", g);
	char *const a0[] = { "t_hello", "exit", "0", NULL };
	utest_check_exit("exit_status.zero", run(utest_path("/bin/tests/t_hello"), a0, env), 0);
}

static void check_args_env(void)
{
	char envout[128];
	snprintf(envout, sizeof envout, "ECHOARGS_OUT=%s", out_path);
	const char *echo = utest_path("/bin/echoargs");
	char *const argv[] = { "echo-name", "first", "", "with space", NULL };
	char *const envp[] = { "FOO=bar", "EMPTY=", envout, NULL };
	pid_t pid = fork();
	if (pid == 0) {
		execve(echo, argv, envp);
		_exit(200 + errno);
	}
	int st = utest_wait(pid);
	if (!utest_check_exit("echoargs.status", st, 0) || load_report() <= 0) {
		utest_fail("echoargs.report", "no report from %s", echo);
		return;
	}
	utest_ok("echoargs.report");
	char line[160];
	CHECK("argv.count", has_line("argc=4"));
	CHECK("argv.argv0", has_line("argv0=echo-name"));
	CHECK("argv.values", has_line("argv1=first") && has_line("argv2=") && has_line("argv3=with space"));
	CHECK("envp.values", has_line("env=FOO=bar") && has_line("env=EMPTY="));
	CHECKF("envp.only_given", strstr(report, "env=PATH") == NULL && strstr(report, "env=UTEST") == NULL,
	       "unexpected environment entries inherited");
	snprintf(line, sizeof line, "pid=%d", pid);
	CHECKF("exec.same_pid", has_line(line), "want %s", line);
	snprintf(line, sizeof line, "execfn=%s", echo);
	CHECKF("auxv.execfn_child", has_line(line), "want %s", line);

	/* Many arguments. */
	static char *many[602];
	static char bufs[600][8];
	many[0] = "echoargs";
	for (int i = 1; i <= 600; i++) {
		snprintf(bufs[i - 1], sizeof bufs[0], "a%d", i);
		many[i] = bufs[i - 1];
	}
	many[601] = NULL;
	st = run(echo, many, envp);
	CHECKF("argv.many", WIFEXITED(st) && WEXITSTATUS(st) == 0 && load_report() > 0 &&
	       has_line("argc=601") && has_line("argv600=a600") && has_line("argv1=a1"),
	       "status %s or report wrong", utest_wstr(st));
}

static void check_errors(void)
{
	char *const argv[] = { "x", NULL };
	char *const envp[] = { NULL };
	char path[192];

	check_exec_errno("enoent", "/nonexistent/program", argv, envp, ENOENT);
	check_exec_errno("enoent.empty_path", "", argv, envp, ENOENT);
	check_exec_errno("eacces.directory", tmp_dir, argv, envp, EACCES);
	snprintf(path, sizeof path, "%s/noexec", tmp_dir);
	write_file(path, "\177ELF not really\n", 0644);
	check_exec_errno("eacces.no_x_bit", path, argv, envp, EACCES);
	snprintf(path, sizeof path, "%s/garbage", tmp_dir);
	write_file(path, "\001\002\003 this is not an executable format\n", 0755);
	check_exec_errno("enoexec.garbage", path, argv, envp, ENOEXEC);
	snprintf(path, sizeof path, "%s/empty", tmp_dir);
	write_file(path, "", 0755);
	check_exec_errno("enoexec.empty_file", path, argv, envp, ENOEXEC);
	snprintf(path, sizeof path, "%s/badelf", tmp_dir);
	write_file(path, "\177ELF\002\001\001\000truncated", 0755);
	check_exec_errno("enoexec.truncated_elf", path, argv, envp, ENOEXEC);
	snprintf(path, sizeof path, "%s/noexec/x", tmp_dir);
	check_exec_errno("enotdir", path, argv, envp, ENOTDIR);

	/* Bad pointers; "unmapped" is a page that was mapped and unmapped. */
	char *u = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(u, 4096);
	const char *echo = utest_path("/bin/echoargs");
	check_exec_errno("efault.null_path", NULL, argv, envp, EFAULT);
	check_exec_errno("efault.unmapped_path", u, argv, envp, EFAULT);
	check_exec_errno("efault.argv_unmapped", echo, (char *const *)u, envp, EFAULT);
	char *const bad_elem[] = { "x", u, NULL };
	check_exec_errno("efault.argv_element", echo, bad_elem, envp, EFAULT);
	check_exec_errno("efault.envp_unmapped", echo, argv, (char *const *)u, EFAULT);
	check_exec_errno("efault.argv_kernel", echo, (char *const *)0xffff800000000000UL, envp, EFAULT);
}

static void check_scripts(void)
{
	char script[192], text[512], envout[128];
	snprintf(envout, sizeof envout, "ECHOARGS_OUT=%s", out_path);
	char *const envp[] = { envout, NULL };
	const char *echo = utest_path("/bin/echoargs");

	snprintf(script, sizeof script, "%s/script.sh", tmp_dir);
	snprintf(text, sizeof text, "#!%s  --flag\nthis line is not read\n", echo);
	write_file(script, text, 0755);
	char *const argv[] = { "my-script", "extra1", "extra 2", NULL };
	int st = run(script, argv, envp);
	char l0[256], l2[256];
	snprintf(l0, sizeof l0, "argv0=%s", echo);
	snprintf(l2, sizeof l2, "argv2=%s", script);
	CHECKF("script.arg", WIFEXITED(st) && WEXITSTATUS(st) == 0 && load_report() > 0 &&
	       has_line("argc=5") && has_line(l0) && has_line("argv1=--flag") && has_line(l2) &&
	       has_line("argv3=extra1") && has_line("argv4=extra 2"),
	       "status %s; report: %.200s", utest_wstr(st), report);

	snprintf(text, sizeof text, "#!%s\n", echo);
	write_file(script, text, 0755);
	st = run(script, argv, envp);
	snprintf(l2, sizeof l2, "argv1=%s", script);
	CHECKF("script.no_arg", WIFEXITED(st) && WEXITSTATUS(st) == 0 && load_report() > 0 &&
	       has_line("argc=4") && has_line(l0) && has_line(l2) && has_line("argv2=extra1"),
	       "status %s; report: %.200s", utest_wstr(st), report);

	write_file(script, "#!/nonexistent/interpreter\n", 0755);
	check_exec_errno("script.missing_interpreter", script, argv, envp, ENOENT);
	unlink(script);
}

static void check_cloexec_and_signals(void)
{
	char envout[128], path[192];
	snprintf(envout, sizeof envout, "ECHOARGS_OUT=%s", out_path);
	char *const envp[] = { envout, NULL };
	char *const argv[] = { "echoargs", NULL };
	snprintf(path, sizeof path, "%s/fdfile", tmp_dir);
	write_file(path, "data", 0644);

	pid_t pid = fork();
	if (pid == 0) {
		int a = open(path, O_RDONLY | O_CLOEXEC), b = open(path, O_RDONLY), c = open(path, O_RDONLY);
		if (a < 0 || b < 0 || c < 0 || dup2(a, 20) != 20 || dup3(b, 21, 0) != 21 ||
		    dup3(c, 22, O_CLOEXEC) != 22 || dup2(b, 23) != 23 || fcntl(23, F_SETFD, FD_CLOEXEC) != 0)
			_exit(199);
		/* dup2 clears close-on-exec on the new descriptor: 20 stays open. */
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = (void (*)(int))1234; /* never delivered: exec resets it */
		sigaction(SIGUSR1, &sa, NULL);
		signal(SIGUSR2, SIG_IGN);
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGTERM);
		sigprocmask(SIG_BLOCK, &set, NULL);
		execve(utest_path("/bin/echoargs"), argv, envp);
		_exit(200 + errno);
	}
	int st = utest_wait(pid);
	if (!utest_check_exit("cloexec.exec", st, 0) || load_report() <= 0)
		return;
	CHECK("cloexec.normal_open", has_line("fd20=0") && has_line("fd21=0"));
	CHECK("cloexec.closed", !strstr(report, "fd22=") && !strstr(report, "fd23="));
	CHECK("cloexec.stdio_kept", has_line("fd0=0") || has_line("fd1=0"));
	CHECK("exec.handler_reset", has_line("sigusr1=dfl"));
	CHECK("exec.ignore_kept", has_line("sigusr2=ign"));
	CHECK("exec.mask_kept", has_line("blocked_term=1"));
	unlink(path);
}

static void check_auxv(const char *argv0)
{
	CHECK_EQ("auxv.pagesz", getauxval(AT_PAGESZ), 4096);
	unsigned char *rnd = (unsigned char *)getauxval(AT_RANDOM);
	int nz = 0;
	for (int i = 0; rnd && i < 16; i++)
		nz += rnd[i] != 0;
	CHECKF("auxv.random", rnd != NULL && nz > 0, "AT_RANDOM=%p (%d non-zero bytes)", rnd, nz);
	CHECKF("auxv.entry", getauxval(AT_ENTRY) != 0, "AT_ENTRY=0");
	const char *fn = (const char *)getauxval(AT_EXECFN);
	CHECKF("auxv.execfn", fn && strcmp(fn, argv0) == 0, "AT_EXECFN=%s argv[0]=%s",
	       fn ? fn : "(null)", argv0);
	CHECKF("auxv.phdr", getauxval(AT_PHDR) != 0 && getauxval(AT_PHNUM) > 0 &&
	       getauxval(AT_PHENT) == 56, "phdr=%#lx phnum=%lu phent=%lu", getauxval(AT_PHDR),
	       getauxval(AT_PHNUM), getauxval(AT_PHENT));
	CHECKF("auxv.ids", getauxval(AT_UID) == getuid() && getauxval(AT_EUID) == geteuid() &&
	       getauxval(AT_GID) == getgid() && getauxval(AT_EGID) == getegid(),
	       "uid %lu/%u euid %lu/%u", getauxval(AT_UID), getuid(), getauxval(AT_EUID), geteuid());
	CHECK_EQ("auxv.secure", getauxval(AT_SECURE), 0);
	CHECK_EQ("auxv.clktck", getauxval(AT_CLKTCK), 100);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	umask(022); /* file modes below come from open() */
	snprintf(tmp_dir, sizeof tmp_dir, "/tmp/t_exec.%d", (int)getpid());
	snprintf(out_path, sizeof out_path, "%s/report", tmp_dir);
	if (!CHECK_RET("mkdir_tmp", mkdir(tmp_dir, 0755), 0))
		return utest_done();

	check_statuses();
	check_args_env();
	check_errors();
	check_scripts();
	check_cloexec_and_signals();
	check_auxv(argc > 0 ? argv[0] : "");

	static const char *leftovers[] = { "noexec", "garbage", "empty", "badelf", "report", "fdfile" };
	char path[192];
	for (unsigned i = 0; i < sizeof leftovers / sizeof *leftovers; i++) {
		snprintf(path, sizeof path, "%s/%s", tmp_dir, leftovers[i]);
		unlink(path);
	}
	CHECK_RET("rmdir_tmp", rmdir(tmp_dir), 0);
	return utest_done();
}
