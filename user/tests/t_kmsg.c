/*
 * t_kmsg - the kernel log buffer: syslog(2) (klogctl) actions and their errors, /dev/kmsg
 * records ("prio,seq,usec,-;text"), its EINVAL/ESPIPE/EAGAIN/EPIPE rules, lseek, poll, a
 * blocking read woken by a write, and the permission rules for a non-root user. On the host
 * Linux the cases that would change the machine (console level, flooding the ring) are left
 * to Exo-OS; without a readable /dev/kmsg (utest mounts no /dev: the test mounts its own
 * devtmpfs on Exo-OS) the /dev/kmsg cases are reported as skipped.
 */
#include "utest.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static int on_exo(void)
{
	struct utsname u;
	return uname(&u) == 0 && strstr(u.release, "exo") != NULL;
}

static const char *kmsg = "/dev/kmsg";

/* Finds /dev/kmsg, mounting a devtmpfs of the test's own on Exo-OS when there is no /dev. */
static int have_kmsg(void)
{
	if (access(kmsg, F_OK) != 0 && on_exo() && geteuid() == 0) {
		mkdir("/tmp", 01777);
		mkdir("/tmp/t_kmsg_dev", 0755);
		if (mount("dev", "/tmp/t_kmsg_dev", "devtmpfs", 0, NULL) == 0)
			kmsg = "/tmp/t_kmsg_dev/kmsg";
	}
	return access(kmsg, R_OK | W_OK) == 0;
}

/* Reads records until one contains `marker`; returns its prio or -1. */
static int find_record(int fd, const char *marker, char *line, size_t size)
{
	for (int i = 0; i < 100000; i++) {
		ssize_t n = read(fd, line, size - 1);
		if (n < 0 && errno == EPIPE)
			continue;
		if (n <= 0)
			return -1;
		line[n] = 0;
		if (strstr(line, marker)) {
			int prio;
			return sscanf(line, "%d,", &prio) == 1 ? prio : -1;
		}
	}
	return -1;
}

static void *late_writer(void *arg)
{
	usleep(100000);
	int fd = open(kmsg, O_WRONLY);
	if (fd >= 0) {
		if (write(fd, arg, strlen(arg)) < 0)
			perror("write");
		close(fd);
	}
	return NULL;
}

static void syslog_cases(void)
{
	char buf[256];
	int size = klogctl(10, NULL, 0);
	CHECKF("size_buffer", size >= 4096, "SIZE_BUFFER = %d errno %d", size, errno);
	CHECK_ERR("read_all_null", klogctl(3, NULL, 10), EINVAL);
	CHECK_ERR("read_all_negative", klogctl(3, buf, -1), EINVAL);
	if (geteuid() != 0 || (klogctl(3, buf, 0) < 0 && errno == EPERM)) {
		utest_printf("# t_kmsg: syslog reading not permitted here: root cases skipped\n");
		utest_ok("skipped_root_syslog");
		return;
	}
	CHECK_RET("read_all_zero", klogctl(3, buf, 0), 0);
	CHECK_ERR("bad_action", klogctl(99, buf, 10), EINVAL);
	CHECK_ERR("console_level_0", klogctl(8, NULL, 0), EINVAL);
	CHECK_ERR("console_level_9", klogctl(8, NULL, 9), EINVAL);
	CHECK_ERR("read_null", klogctl(2, NULL, 10), EINVAL);
	CHECK_ERR("read_efault", klogctl(2, (char *)8, 10), EFAULT);
	CHECK_OK("size_unread", klogctl(9, NULL, 0));
	if (on_exo()) {
		/* Changing the console level would change the host's console: Exo-OS only. */
		CHECK_RET("console_off", klogctl(6, NULL, 0), 0);
		CHECK_RET("console_on", klogctl(7, NULL, 0), 0);
		CHECK_RET("console_level_7", klogctl(8, NULL, 7), 0);
	}
	/* The whole log holds this kernel's boot messages, in "<prio>[time] text" lines. */
	char *all = malloc((size_t)size);
	int n = all ? klogctl(3, all, size) : -1;
	CHECKF("read_all_format", n > 0 && all[0] == '<' && strchr(all, '[') && all[n - 1] == '\n',
	       "read_all returned %d: %.40s", n, n > 0 ? all : "");
	free(all);
}

static void kmsg_cases(void)
{
	char line[2048], marker[64];
	snprintf(marker, sizeof marker, "t_kmsg marker %d", (int)getpid());
	int fd = open(kmsg, O_RDWR | O_NONBLOCK);
	if (!CHECK_OK("open", fd))
		return;
	struct stat st;
	CHECK("stat_chr", fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 11);
	CHECK_ERR("seek_nonzero", lseek(fd, 1, SEEK_SET), ESPIPE);
	CHECK_ERR("seek_cur", lseek(fd, 0, SEEK_CUR), EINVAL);
	CHECK_RET("seek_end", lseek(fd, 0, SEEK_END), 0);
	CHECK_ERR("empty_eagain", read(fd, line, sizeof line), EAGAIN);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	CHECK_RET("poll_empty", poll(&p, 1, 0), 0);
	char text[128];
	int len = snprintf(text, sizeof text, "<5>%s\n", marker);
	CHECK_RET("write", write(fd, text, (size_t)len), len);
	CHECK("poll_ready", poll(&p, 1, 1000) == 1 && (p.revents & POLLIN));
	ssize_t n = read(fd, line, sizeof line - 1);
	line[n > 0 ? n : 0] = 0;
	unsigned long long seq, usec;
	int prio = -1, used = 0;
	sscanf(line, "%d,%llu,%llu,-;%n", &prio, &seq, &usec, &used);
	/* facility user (1) and level 5: 13. */
	CHECKF("record", prio == 13 && used > 0 && strncmp(line + used, marker, strlen(marker)) == 0 && line[n - 1] == '\n',
	       "got %s (read %zd errno %d)", line, n, errno);
	/* A buffer too small for the record: EINVAL (the record is passed over, as Linux 6 does). */
	CHECK_RET("write_small", write(fd, text, (size_t)len), len);
	CHECK_ERR("small_buffer", read(fd, line, 8), EINVAL);
	/* SEEK_SET goes back to the oldest record: the marker is found again. */
	CHECK_RET("seek_set", lseek(fd, 0, SEEK_SET), 0);
	CHECK_EQ("found_again", find_record(fd, marker, line, sizeof line), 13);
	/* No "<N>": level 4 (warning), facility user. */
	lseek(fd, 0, SEEK_END);
	/* (Linux keeps a record without its newline open for continuation: end it.) */
	snprintf(text, sizeof text, "%s plain\n", marker);
	CHECK_RET("write_plain", write(fd, text, strlen(text)), (long)strlen(text));
	CHECK_EQ("default_prio", find_record(fd, "plain", line, sizeof line), 12);
	close(fd);

	/* A blocking read sleeps until a record arrives. */
	fd = open(kmsg, O_RDONLY);
	lseek(fd, 0, SEEK_END);
	pthread_t t;
	snprintf(text, sizeof text, "<6>%s late\n", marker);
	pthread_create(&t, NULL, late_writer, text);
	CHECK_EQ("blocking_read", find_record(fd, "late", line, sizeof line), 14);
	pthread_join(t, NULL);
	close(fd);

	if (on_exo()) {
		/* Overflowing the ring: a reader left at the start gets EPIPE once, then goes on. */
		int old = open(kmsg, O_RDONLY | O_NONBLOCK);
		int w = open(kmsg, O_WRONLY);
		char big[900];
		memset(big, 'x', sizeof big);
		int size = klogctl(10, NULL, 0);
		for (int i = 0; i < 2 * size / (int)sizeof big; i++)
			if (write(w, big, sizeof big) < 0)
				break;
		CHECK_ERR("epipe", read(old, line, sizeof line), EPIPE);
		CHECK("after_epipe", read(old, line, sizeof line) > 0);
		char huge[1100];
		memset(huge, 'y', sizeof huge);
		CHECK_ERR("write_too_long", write(w, huge, sizeof huge), EINVAL);
		close(old);
		close(w);
	}
}

static void user_cases(void)
{
	if (geteuid() != 0)
		return;
	/* kernel.dmesg_restrict (Linux's default 0, Exo-OS's too; Debian sets 1). */
	int restricted = 0;
	FILE *f = fopen("/proc/sys/kernel/dmesg_restrict", "r");
	if (f) {
		if (fscanf(f, "%d", &restricted) != 1)
			restricted = 0;
		fclose(f);
	}
	pid_t pid = fork();
	if (pid == 0) {
		char buf[64];
		if (setuid(65534) != 0)
			_exit(10);
		if (klogctl(4, buf, sizeof buf) != -1 || errno != EPERM)
			_exit(1);
		if (klogctl(5, NULL, 0) != -1 || errno != EPERM)
			_exit(2);
		if (restricted ? klogctl(10, NULL, 0) != -1 || errno != EPERM : klogctl(10, NULL, 0) <= 0)
			_exit(3);
		if (open(kmsg, O_WRONLY) != -1 || errno != EACCES)
			_exit(4);
		_exit(0);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	CHECKF("nonroot", WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status 0x%x", status);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	syslog_cases();
	if (have_kmsg()) {
		kmsg_cases();
		user_cases();
	} else {
		utest_printf("# t_kmsg: no readable /dev/kmsg: its cases are skipped\n");
		utest_ok("skipped_kmsg");
	}
	return utest_done();
}
