/*
 * minitrace - a tiny strace: runs a program under ptrace and prints each system call it makes
 * with its number, first arguments and result, and the path of open/openat/execve/stat-like
 * calls (read from the tracee with PTRACE_PEEKDATA).
 *
 *     minitrace [-q] program [args...]
 *
 * The child says PTRACE_TRACEME, stops itself with SIGSTOP and execs the program; the parent
 * sets PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL and loops PTRACE_SYSCALL / waitpid, reading
 * the registers at each syscall stop (PTRACE_GETREGS); signals other than its own syscall
 * stops are passed on to the tracee (PTRACE_CONT/SYSCALL with the signal). With -q only the
 * number of calls and the exit status are printed. Exits with the program's status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

/* Reads a NUL-terminated string of the tracee at addr (at most len - 1 bytes). */
static void peek_string(pid_t pid, unsigned long addr, char *out, size_t len)
{
	size_t n = 0;
	while (n + 1 < len) {
		errno = 0;
		long word = ptrace(PTRACE_PEEKDATA, pid, (void *)(addr + n), NULL);
		if (word == -1 && errno != 0)
			break;
		for (size_t i = 0; i < sizeof word && n + 1 < len; i++, n++) {
			char c = (char)(word >> (8 * i));
			out[n] = c;
			if (c == '\0')
				return;
		}
	}
	out[n] = '\0';
}

/* Which argument of call nr is a path (-1: none). */
static int path_arg(long nr)
{
	switch (nr) {
	case SYS_open: case SYS_stat: case SYS_lstat: case SYS_execve: case SYS_access:
	case SYS_chdir: case SYS_unlink: case SYS_mkdir: case SYS_readlink:
		return 0;
	case SYS_openat: case SYS_newfstatat: case SYS_unlinkat: case SYS_faccessat:
	case SYS_mkdirat: case SYS_readlinkat:
		return 1;
	default:
		return -1;
	}
}

int main(int argc, char **argv)
{
	int quiet = 0;
	int first = 1;
	if (argc > 1 && strcmp(argv[1], "-q") == 0) {
		quiet = 1;
		first = 2;
	}
	if (first >= argc) {
		fprintf(stderr, "usage: minitrace [-q] program [args...]\n");
		return 2;
	}
	pid_t child = fork();
	if (child < 0) {
		perror("fork");
		return 1;
	}
	if (child == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0) {
			perror("PTRACE_TRACEME");
			_exit(127);
		}
		raise(SIGSTOP);
		execvp(argv[first], &argv[first]);
		perror("execvp");
		_exit(127);
	}
	int status;
	if (waitpid(child, &status, 0) != child || !WIFSTOPPED(status) || WSTOPSIG(status) != SIGSTOP) {
		fprintf(stderr, "minitrace: the child did not stop (status 0x%x)\n", status);
		return 1;
	}
	if (ptrace(PTRACE_SETOPTIONS, child, NULL, (void *)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL)) != 0) {
		perror("PTRACE_SETOPTIONS");
		ptrace(PTRACE_KILL, child, NULL, NULL);
		return 1;
	}
	long calls = 0;
	int in_call = 0;
	int deliver = 0;
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, child, NULL, (void *)(long)deliver) != 0) {
			perror("PTRACE_SYSCALL");
			break;
		}
		deliver = 0;
		if (waitpid(child, &status, 0) != child) {
			perror("waitpid");
			break;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			break;
		if (!WIFSTOPPED(status))
			continue;
		int sig = WSTOPSIG(status);
		if (sig != (SIGTRAP | 0x80)) {
			/* A signal-delivery stop: pass the signal on (not the exec SIGTRAP). */
			if (sig != SIGTRAP)
				deliver = sig;
			if (!quiet)
				fprintf(stderr, "--- signal %d ---\n", sig);
			continue;
		}
		struct user_regs_struct regs;
		if (ptrace(PTRACE_GETREGS, child, NULL, &regs) != 0) {
			perror("PTRACE_GETREGS");
			break;
		}
		if (!in_call) {
			in_call = 1;
			calls++;
			if (quiet)
				continue;
			long nr = (long)regs.orig_rax;
			unsigned long args[3] = { regs.rdi, regs.rsi, regs.rdx };
			int p = path_arg(nr);
			if (p >= 0) {
				char path[256];
				peek_string(child, args[p], path, sizeof path);
				fprintf(stderr, "syscall %ld(\"%s\", 0x%lx)", nr, path, args[p + 1]);
			} else {
				fprintf(stderr, "syscall %ld(0x%lx, 0x%lx, 0x%lx)", nr, args[0], args[1], args[2]);
			}
		} else {
			in_call = 0;
			if (!quiet)
				fprintf(stderr, " = %ld\n", (long)regs.rax);
		}
	}
	if (!quiet && in_call)
		fprintf(stderr, " = ?\n");
	if (WIFEXITED(status)) {
		fprintf(stderr, "minitrace: %ld calls, exit %d\n", calls, WEXITSTATUS(status));
		return WEXITSTATUS(status);
	}
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "minitrace: %ld calls, killed by signal %d\n", calls, WTERMSIG(status));
		return 128 + WTERMSIG(status);
	}
	return 1;
}
