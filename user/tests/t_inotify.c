/*
 * t_inotify - inotify_init, inotify_init1, inotify_add_watch, inotify_rm_watch and reading
 * events: IN_CREATE/IN_DELETE (IN_ISDIR), IN_OPEN/IN_MODIFY/IN_ACCESS/IN_CLOSE_WRITE/
 * IN_CLOSE_NOWRITE, IN_ATTRIB (chmod, xattr), IN_MOVED_FROM/IN_MOVED_TO with one cookie,
 * IN_MOVE_SELF, IN_DELETE_SELF + IN_IGNORED, IN_ONESHOT, IN_MASK_ADD, IN_MASK_CREATE,
 * IN_ONLYDIR, IN_DONT_FOLLOW, IN_EXCL_UNLINK, same inode → same wd, FIONREAD, EINVAL for a
 * buffer too small, EAGAIN with IN_NONBLOCK, poll readiness, a blocking read woken by an event
 * and interrupted by a signal (EINTR), and the error cases (EINVAL, EBADF, ENOENT, ENOTDIR,
 * EEXIST, EMFILE past max_user_instances). Works in its own directory under /tmp.
 */
#include "utest.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

static char dir[64];

static char *in_dir(const char *name)
{
	static char buf[4][256];
	static int n;
	char *p = buf[n++ % 4];
	snprintf(p, 256, "%s/%s", dir, name);
	return p;
}

struct ev {
	int wd;
	uint32_t mask, cookie;
	char name[64];
};

/* Reads every queued event (non-blocking descriptor). */
static int drain(int fd, struct ev *out, int max)
{
	char buf[4096] __attribute__((aligned(8)));
	int n = 0;
	for (;;) {
		long len = read(fd, buf, sizeof buf);
		if (len <= 0)
			return n;
		for (long at = 0; at < len;) {
			struct inotify_event *e = (struct inotify_event *)(buf + at);
			if (n < max) {
				out[n].wd = e->wd;
				out[n].mask = e->mask;
				out[n].cookie = e->cookie;
				snprintf(out[n].name, sizeof out[n].name, "%s", e->len ? e->name : "");
				n++;
			}
			at += sizeof *e + e->len;
		}
	}
}

static int find(struct ev *evs, int n, int wd, uint32_t mask, const char *name)
{
	for (int i = 0; i < n; i++)
		if (evs[i].wd == wd && evs[i].mask == mask && strcmp(evs[i].name, name) == 0)
			return i;
	return -1;
}

static void errors(void)
{
	CHECK_ERR("errors.init1_flags", inotify_init1(1), EINVAL);
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	CHECK("errors.init1", fd >= 0);
	CHECK_EQ("errors.cloexec", fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	CHECK_EQ("errors.nonblock", fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	CHECK_ERR("errors.zero_mask", inotify_add_watch(fd, dir, 0), EINVAL);
	CHECK_ERR("errors.add_and_create", inotify_add_watch(fd, dir, IN_OPEN | IN_MASK_ADD | IN_MASK_CREATE), EINVAL);
	CHECK_ERR("errors.ebadf", inotify_add_watch(-1, dir, IN_OPEN), EBADF);
	int p[2];
	CHECK_OK("errors.pipe", pipe(p));
	CHECK_ERR("errors.not_inotify", inotify_add_watch(p[0], dir, IN_OPEN), EINVAL);
	CHECK_ERR("errors.rm_not_inotify", inotify_rm_watch(p[0], 1), EINVAL);
	close(p[0]);
	close(p[1]);
	CHECK_ERR("errors.noent", inotify_add_watch(fd, in_dir("missing"), IN_OPEN), ENOENT);
	int f = open(in_dir("plain"), O_CREAT | O_RDWR, 0644);
	close(f);
	CHECK_ERR("errors.onlydir", inotify_add_watch(fd, in_dir("plain"), IN_OPEN | IN_ONLYDIR), ENOTDIR);
	int wd = inotify_add_watch(fd, in_dir("plain"), IN_OPEN);
	CHECK("errors.add", wd > 0);
	CHECK_EQ("errors.same_inode_same_wd", inotify_add_watch(fd, in_dir("plain"), IN_MODIFY), wd);
	CHECK_ERR("errors.mask_create_exists", inotify_add_watch(fd, in_dir("plain"), IN_MODIFY | IN_MASK_CREATE), EEXIST);
	CHECK_ERR("errors.rm_bad_wd", inotify_rm_watch(fd, wd + 100), EINVAL);
	CHECK_RET("errors.rm", inotify_rm_watch(fd, wd), 0);
	CHECK_ERR("errors.rm_twice", inotify_rm_watch(fd, wd), EINVAL);
	struct ev evs[8];
	int n = drain(fd, evs, 8);
	CHECK("errors.ignored", n == 1 && evs[0].wd == wd && evs[0].mask == IN_IGNORED);
	char c;
	CHECK_ERR("errors.eagain", read(fd, &c, 1), EAGAIN);
	close(fd);
	unlink(in_dir("plain"));
}

static void dir_events(void)
{
	int fd = inotify_init1(IN_NONBLOCK);
	int wd = inotify_add_watch(fd, dir, IN_ALL_EVENTS);
	CHECK("dir.add", wd > 0);
	int f = open(in_dir("a"), O_CREAT | O_WRONLY, 0644);
	CHECK_RET("dir.write", write(f, "xy", 2), 2);
	close(f);
	f = open(in_dir("a"), O_RDONLY);
	char buf[8];
	CHECK_RET("dir.read", read(f, buf, sizeof buf), 2);
	close(f);
	CHECK_OK("dir.chmod", chmod(in_dir("a"), 0600));
	CHECK_OK("dir.mkdir", mkdir(in_dir("sub"), 0755));
	CHECK_OK("dir.rename", rename(in_dir("a"), in_dir("b")));
	CHECK_OK("dir.unlink", unlink(in_dir("b")));
	CHECK_OK("dir.rmdir", rmdir(in_dir("sub")));

	int avail = -1;
	CHECK_OK("dir.fionread", ioctl(fd, FIONREAD, &avail));
	CHECK("dir.fionread_value", avail > 0);
	struct ev evs[64];
	int n = drain(fd, evs, 64);
	int c = find(evs, n, wd, IN_CREATE, "a");
	int o = find(evs, n, wd, IN_OPEN, "a");
	int m = find(evs, n, wd, IN_MODIFY, "a");
	int cw = find(evs, n, wd, IN_CLOSE_WRITE, "a");
	int ac = find(evs, n, wd, IN_ACCESS, "a");
	int cn = find(evs, n, wd, IN_CLOSE_NOWRITE, "a");
	int at = find(evs, n, wd, IN_ATTRIB, "a");
	int md = find(evs, n, wd, IN_CREATE | IN_ISDIR, "sub");
	int mf = find(evs, n, wd, IN_MOVED_FROM, "a");
	int mt = find(evs, n, wd, IN_MOVED_TO, "b");
	int de = find(evs, n, wd, IN_DELETE, "b");
	int dd = find(evs, n, wd, IN_DELETE | IN_ISDIR, "sub");
	CHECKF("dir.create", c >= 0, "%d events", n);
	CHECK("dir.open", o > c);
	CHECK("dir.modify", m > o);
	CHECK("dir.close_write", cw > m);
	CHECK("dir.access", ac > cw);
	CHECK("dir.close_nowrite", cn > ac);
	CHECK("dir.attrib", at > cn);
	CHECK("dir.mkdir_isdir", md > at);
	CHECK("dir.moved_from", mf > md);
	CHECK("dir.moved_to", mt > mf);
	CHECK("dir.cookie", mf >= 0 && mt >= 0 && evs[mf].cookie != 0 && evs[mf].cookie == evs[mt].cookie);
	CHECK("dir.delete", de > mt);
	CHECK("dir.delete_isdir", dd > de);
	CHECK_OK("dir.fionread_empty", ioctl(fd, FIONREAD, &avail));
	CHECK_EQ("dir.fionread_zero", avail, 0);
	close(fd);
}

static void self_events(void)
{
	int fd = inotify_init1(IN_NONBLOCK);
	char f[256];
	snprintf(f, sizeof f, "%s", in_dir("self"));
	int h = open(f, O_CREAT | O_RDWR, 0644);
	close(h);
	int wd = inotify_add_watch(fd, f, IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF);
	CHECK_RET("self.xattr", setxattr(f, "user.k", "v", 1, 0), 0);
	CHECK_OK("self.rename", rename(f, in_dir("self2")));
	CHECK_OK("self.unlink", unlink(in_dir("self2")));
	struct ev evs[16];
	int n = drain(fd, evs, 16);
	int a = find(evs, n, wd, IN_ATTRIB, "");
	int mv = find(evs, n, wd, IN_MOVE_SELF, "");
	int ds = find(evs, n, wd, IN_DELETE_SELF, "");
	int ig = find(evs, n, wd, IN_IGNORED, "");
	CHECKF("self.attrib", a >= 0, "%d events", n);
	CHECK("self.move_self", mv > a);
	CHECK("self.delete_self", ds > mv);
	CHECK("self.ignored", ig > ds);
	CHECK_ERR("self.watch_gone", inotify_rm_watch(fd, wd), EINVAL);

	/* IN_ONESHOT: one event, then IN_IGNORED. IN_MASK_ADD extends the mask. */
	h = open(f, O_CREAT | O_RDWR, 0644);
	close(h);
	wd = inotify_add_watch(fd, f, IN_OPEN | IN_ONESHOT);
	h = open(f, O_RDONLY);
	close(h);
	h = open(f, O_RDONLY);
	close(h);
	n = drain(fd, evs, 16);
	CHECK("oneshot.events", n == 2 && evs[0].mask == IN_OPEN && evs[1].mask == IN_IGNORED);
	wd = inotify_add_watch(fd, f, IN_OPEN);
	CHECK_EQ("mask_add.same", inotify_add_watch(fd, f, IN_CLOSE_NOWRITE | IN_MASK_ADD), wd);
	h = open(f, O_RDONLY);
	close(h);
	n = drain(fd, evs, 16);
	CHECK("mask_add.events", n == 2 && evs[0].mask == IN_OPEN && evs[1].mask == IN_CLOSE_NOWRITE);
	/* Identical events in a row merge into one. */
	CHECK_EQ("merge.add", inotify_add_watch(fd, f, IN_MODIFY), wd);
	h = open(f, O_WRONLY);
	for (int i = 0; i < 3; i++)
		if (write(h, "x", 1) != 1)
			break;
	close(h);
	n = drain(fd, evs, 16);
	CHECKF("merge.one", n == 1 && evs[0].mask == IN_MODIFY, "%d events, first %x second %x", n, evs[0].mask, n > 1 ? evs[1].mask : 0);

	/* IN_DONT_FOLLOW watches the link itself. */
	CHECK_OK("dontfollow.symlink", symlink("self", in_dir("link")));
	int lwd = inotify_add_watch(fd, in_dir("link"), IN_ATTRIB | IN_DONT_FOLLOW);
	CHECK("dontfollow.distinct", lwd > 0 && lwd != wd);
	CHECK_EQ("dontfollow.follow_same", inotify_add_watch(fd, in_dir("link"), IN_MODIFY), wd);
	unlink(in_dir("link"));
	unlink(f);
	close(fd);
}

/* IN_EXCL_UNLINK: no events for a child once it is unlinked. */
static void excl_unlink(void)
{
	int fd = inotify_init1(IN_NONBLOCK);
	int wd = inotify_add_watch(fd, dir, IN_MODIFY | IN_EXCL_UNLINK);
	int h = open(in_dir("gone"), O_CREAT | O_RDWR, 0644);
	CHECK_RET("excl.write", write(h, "1", 1), 1);
	unlink(in_dir("gone"));
	CHECK_RET("excl.write_unlinked", write(h, "2", 1), 1);
	close(h);
	struct ev evs[8];
	int n = drain(fd, evs, 8);
	CHECKF("excl.events", n == 1 && evs[0].wd == wd && evs[0].mask == IN_MODIFY, "%d events", n);
	close(fd);
}

static void small_buffer(void)
{
	int fd = inotify_init1(IN_NONBLOCK);
	inotify_add_watch(fd, dir, IN_CREATE);
	int h = open(in_dir("name-of-some-length"), O_CREAT | O_RDWR, 0644);
	close(h);
	char buf[sizeof(struct inotify_event) + 32] __attribute__((aligned(8)));
	CHECK_ERR("read.too_small", read(fd, buf, sizeof(struct inotify_event) + 4), EINVAL);
	long n = read(fd, buf, sizeof buf);
	struct inotify_event *e = (struct inotify_event *)buf;
	CHECK("read.len_padded", n == (long)(sizeof *e + e->len) && e->len % 16 == 0 && e->len >= 20);
	CHECK("read.name", strcmp(e->name, "name-of-some-length") == 0);
	unlink(in_dir("name-of-some-length"));
	close(fd);
}

static int blocking_fd;

static void *creator(void *arg)
{
	(void)arg;
	usleep(100 * 1000);
	int h = open(in_dir("late"), O_CREAT | O_RDWR, 0644);
	close(h);
	return NULL;
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void blocking(void)
{
	blocking_fd = inotify_init();
	inotify_add_watch(blocking_fd, dir, IN_CREATE);
	struct pollfd pfd = { .fd = blocking_fd, .events = POLLIN };
	CHECK_RET("poll.idle", poll(&pfd, 1, 0), 0);
	pthread_t t;
	pthread_create(&t, NULL, creator, NULL);
	char buf[256] __attribute__((aligned(8)));
	long n = read(blocking_fd, buf, sizeof buf);
	struct inotify_event *e = (struct inotify_event *)buf;
	CHECK("blocking.woken", n > 0 && e->mask == IN_CREATE && strcmp(e->name, "late") == 0);
	pthread_join(t, NULL);
	unlink(in_dir("late"));
	/* poll sees a queued event. */
	int h = open(in_dir("p"), O_CREAT | O_RDWR, 0644);
	close(h);
	CHECK_RET("poll.ready", poll(&pfd, 1, 1000), 1);
	CHECK("poll.pollin", pfd.revents & POLLIN);
	read(blocking_fd, buf, sizeof buf);
	unlink(in_dir("p"));
	/* A signal interrupts a blocking read (no SA_RESTART). */
	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	CHECK_ERR("blocking.eintr", read(blocking_fd, buf, sizeof buf), EINTR);
	close(blocking_fd);
}

static void instances(void)
{
	int fds[200], n = 0, err = 0;
	for (; n < 200; n++) {
		fds[n] = inotify_init1(IN_CLOEXEC);
		if (fds[n] < 0) {
			err = errno;
			break;
		}
	}
	CHECKF("limits.instances", err == EMFILE && n <= 128, "n=%d errno %d", n, err);
	while (n > 0)
		close(fds[--n]);
	int fd = inotify_init();
	CHECK("limits.instances_freed", fd >= 0);
	close(fd);
}

/* More than max_queued_events (16384) events: one IN_Q_OVERFLOW (wd -1) ends the queue. */
static void overflow(void)
{
	int fd = inotify_init1(IN_NONBLOCK);
	int h = open(in_dir("ov"), O_CREAT | O_RDWR, 0644);
	inotify_add_watch(fd, in_dir("ov"), IN_ACCESS | IN_MODIFY);
	char c = 0;
	for (int i = 0; i < 8300; i++) {
		if (pwrite(h, &c, 1, 0) != 1 || pread(h, &c, 1, 0) != 1)
			break;
	}
	close(h);
	static char buf[1 << 16] __attribute__((aligned(8)));
	long total = 0, last_wd = 0, last_mask = 0, n;
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		for (long at = 0; at < n;) {
			struct inotify_event *e = (struct inotify_event *)(buf + at);
			total++;
			last_wd = e->wd;
			last_mask = e->mask;
			at += sizeof *e + e->len;
		}
	}
	CHECKF("overflow.count", total == 16385, "%ld events", total);
	CHECK("overflow.last", last_wd == -1 && last_mask == IN_Q_OVERFLOW);
	unlink(in_dir("ov"));
	close(fd);
}

/* max_user_watches (8192 on Exo-OS; only checked where the limit is that small) → ENOSPC. */
static void watch_limit(void)
{
	long max = 8192;
	FILE *f = fopen("/proc/sys/fs/inotify/max_user_watches", "r");
	if (f) {
		if (fscanf(f, "%ld", &max) != 1)
			max = 0;
		fclose(f);
	}
	if (max <= 0 || max > 10000) {
		utest_ok("watch_limit.skipped_large_limit");
		return;
	}
	int fd = inotify_init1(IN_NONBLOCK);
	char name[300];
	long i;
	int err = 0;
	for (i = 0; i <= max; i++) {
		snprintf(name, sizeof name, "%s/w%ld", dir, i);
		int h = open(name, O_CREAT | O_RDWR, 0644);
		if (h < 0) {
			err = -errno;
			break;
		}
		close(h);
		if (inotify_add_watch(fd, name, IN_OPEN) < 0) {
			err = errno;
			break;
		}
	}
	CHECKF("watch_limit.enospc", err == ENOSPC && i == max, "after %ld watches: errno %d", i, err);
	close(fd);
	for (long j = 0; j <= i; j++) {
		snprintf(name, sizeof name, "%s/w%ld", dir, j);
		unlink(name);
	}
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	mkdir("/tmp", 01777);
	strcpy(dir, "/tmp/t_inotify.XXXXXX");
	if (!mkdtemp(dir)) {
		utest_fail("setup", "mkdtemp: errno %d", errno);
		return utest_done();
	}
	errors();
	dir_events();
	self_events();
	excl_unlink();
	small_buffer();
	blocking();
	instances();
	overflow();
	watch_limit();
	rmdir(dir);
	return utest_done();
}
