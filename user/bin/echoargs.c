/*
 * echoargs - helper program that reports how it was started, for t_exec.
 *
 * Writes one fact per line to the file named by the environment variable ECHOARGS_OUT (created
 * or truncated, mode 0644), or to stdout when it is unset:
 *     argc=<n>
 *     argv<i>=<string>            for every argument
 *     env=<NAME=VALUE>            for every environment entry
 *     fd<n>=<F_GETFD result>      for every open descriptor 0..255 (except the output file's)
 *     pid=<getpid()>
 *     execfn=<getauxval(AT_EXECFN)>
 *     sigusr1=<dfl|ign|handler>   disposition of SIGUSR1, SIGUSR2 (reset/kept by execve)
 *     sigusr2=<dfl|ign|handler>
 *     blocked_term=<0|1>          whether SIGTERM is in the blocked mask
 * Exits 0, or 1 when the output file cannot be written.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

static const char *disposition(int sig)
{
	struct sigaction sa;
	if (sigaction(sig, NULL, &sa) < 0)
		return "error";
	if (sa.sa_handler == SIG_DFL)
		return "dfl";
	if (sa.sa_handler == SIG_IGN)
		return "ign";
	return "handler";
}

int main(int argc, char **argv, char **envp)
{
	/* Query descriptors before opening the output file, which would take a free number. */
	int fdflags[256];
	for (int fd = 0; fd < 256; fd++)
		fdflags[fd] = fcntl(fd, F_GETFD);

	const char *out = getenv("ECHOARGS_OUT");
	FILE *f = stdout;
	if (out && *out) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || !(f = fdopen(fd, "w"))) {
			perror("echoargs: output file");
			return 1;
		}
	}

	fprintf(f, "argc=%d\n", argc);
	for (int i = 0; i < argc; i++)
		fprintf(f, "argv%d=%s\n", i, argv[i]);
	for (char **e = envp; *e; e++)
		fprintf(f, "env=%s\n", *e);
	for (int fd = 0; fd < 256; fd++)
		if (fdflags[fd] >= 0)
			fprintf(f, "fd%d=%d\n", fd, fdflags[fd]);
	fprintf(f, "pid=%d\n", (int)getpid());
	const char *execfn = (const char *)getauxval(AT_EXECFN);
	fprintf(f, "execfn=%s\n", execfn ? execfn : "(null)");
	fprintf(f, "sigusr1=%s\n", disposition(SIGUSR1));
	fprintf(f, "sigusr2=%s\n", disposition(SIGUSR2));
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	fprintf(f, "blocked_term=%d\n", sigismember(&cur, SIGTERM));
	if (fflush(f) != 0 || (f != stdout && fclose(f) != 0))
		return 1;
	return 0;
}
