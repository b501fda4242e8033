/*
 * t_splice - splice, tee and vmsplice with Linux's rules: file → pipe and pipe → file with and
 * without offsets (the file offset moves only without), pipe → pipe, tee duplicating without
 * consuming, vmsplice in both directions, SPLICE_F_NONBLOCK (EAGAIN on an empty or full pipe),
 * end of file (0), a blocking splice woken by a writer and one interrupted by a signal (EINTR),
 * and the errors: EINVAL (no pipe, same pipe, bad flags, O_APPEND output), ESPIPE (offset on a
 * pipe), EBADF (bad descriptors, wrong access modes, vmsplice on a non-pipe), EPIPE without
 * readers. Works in its own directory under /tmp.
 */
#include "utest.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/uio.h>

static char dir[64];
static char file[128];

static void basics(void)
{
	int p[2];
	CHECK_OK("setup.pipe", pipe(p));
	int f = open(file, O_CREAT | O_RDWR | O_TRUNC, 0644);
	CHECK_RET("setup.write", write(f, "0123456789", 10), 10);

	/* file -> pipe with an offset: the file offset stays at 10. */
	loff_t off = 2;
	CHECK_RET("f2p.offset", splice(f, &off, p[1], NULL, 5, 0), 5);
	CHECK_EQ("f2p.offset_moved", off, 7);
	CHECK_EQ("f2p.file_offset_kept", lseek(f, 0, SEEK_CUR), 10);
	char buf[64] = { 0 };
	CHECK_RET("f2p.read", read(p[0], buf, sizeof buf), 5);
	CHECK("f2p.data", memcmp(buf, "23456", 5) == 0);
	/* Without offset: from the file offset, which moves. */
	lseek(f, 8, SEEK_SET);
	CHECK_RET("f2p.fileoff", splice(f, NULL, p[1], NULL, 100, 0), 2);
	CHECK_EQ("f2p.fileoff_moved", lseek(f, 0, SEEK_CUR), 10);
	CHECK_RET("f2p.eof", splice(f, NULL, p[1], NULL, 100, 0), 0);
	CHECK_RET("f2p.read2", read(p[0], buf, sizeof buf), 2);

	/* pipe -> file at an offset. */
	CHECK_RET("p2f.fill", write(p[1], "abcdef", 6), 6);
	off = 20;
	CHECK_RET("p2f.offset", splice(p[0], NULL, f, &off, 4, SPLICE_F_MOVE | SPLICE_F_MORE), 4);
	CHECK_EQ("p2f.offset_moved", off, 24);
	CHECK_RET("p2f.pread", pread(f, buf, 4, 20), 4);
	CHECK("p2f.data", memcmp(buf, "abcd", 4) == 0);
	/* The rest at the file offset. */
	lseek(f, 0, SEEK_SET);
	CHECK_RET("p2f.fileoff", splice(p[0], NULL, f, NULL, 100, 0), 2);
	CHECK_EQ("p2f.fileoff_moved", lseek(f, 0, SEEK_CUR), 2);
	CHECK_RET("p2f.pread2", pread(f, buf, 3, 0), 3);
	CHECK("p2f.data2", memcmp(buf, "ef2", 3) == 0);

	/* Errors. */
	CHECK_RET("err.zero_len", splice(f, NULL, f, NULL, 0, 0), 0);
	CHECK_ERR("err.no_pipe", splice(f, NULL, f, NULL, 1, 0), EINVAL);
	CHECK_ERR("err.flags", splice(p[0], NULL, f, NULL, 1, 0x100), EINVAL);
	CHECK_ERR("err.ebadf", splice(-1, NULL, p[1], NULL, 1, 0), EBADF);
	CHECK_ERR("err.wrong_end", splice(p[1], NULL, f, NULL, 1, 0), EBADF);
	off = 0;
	CHECK_ERR("err.pipe_offset", splice(p[0], &off, f, NULL, 1, 0), ESPIPE);
	CHECK_ERR("err.pipe_offset_out", splice(f, NULL, p[1], &off, 1, 0), ESPIPE);
	int q[2];
	CHECK_OK("setup.pipe2", pipe(q));
	CHECK_ERR("err.p2p_offset", splice(p[0], &off, q[1], NULL, 1, 0), ESPIPE);
	CHECK_ERR("err.same_pipe", splice(p[0], NULL, p[1], NULL, 1, 0), EINVAL);
	int a = open(file, O_WRONLY | O_APPEND);
	write(p[1], "z", 1);
	CHECK_ERR("err.append", splice(p[0], NULL, a, NULL, 1, 0), EINVAL);
	close(a);
	int ro = open(file, O_RDONLY);
	CHECK_ERR("err.readonly_out", splice(p[0], NULL, ro, NULL, 1, 0), EBADF);
	close(ro);
	read(p[0], buf, sizeof buf);

	/* Nonblocking: empty source pipe, full destination pipe. */
	CHECK_ERR("nb.empty", splice(p[0], NULL, f, NULL, 10, SPLICE_F_NONBLOCK), EAGAIN);
	fcntl(q[1], F_SETFL, O_NONBLOCK);
	while (write(q[1], buf, sizeof buf) > 0)
		;
	fcntl(q[1], F_SETFL, 0);
	CHECK_ERR("nb.full", splice(f, &off, q[1], NULL, 10, SPLICE_F_NONBLOCK), EAGAIN);
	close(q[0]);
	close(q[1]);

	/* pipe -> pipe moves; tee copies. */
	CHECK_OK("setup.pipe3", pipe(q));
	CHECK_RET("p2p.fill", write(p[1], "hello", 5), 5);
	CHECK_RET("tee.copy", tee(p[0], q[1], 100, 0), 5);
	CHECK_RET("tee.dest", read(q[0], buf, sizeof buf), 5);
	CHECK("tee.dest_data", memcmp(buf, "hello", 5) == 0);
	CHECK_RET("p2p.move", splice(p[0], NULL, q[1], NULL, 3, 0), 3);
	CHECK_RET("p2p.dest", read(q[0], buf, sizeof buf), 3);
	CHECK("p2p.dest_data", memcmp(buf, "hel", 3) == 0);
	CHECK_RET("p2p.src_rest", read(p[0], buf, sizeof buf), 2);
	CHECK_ERR("tee.same", tee(p[0], p[1], 1, 0), EINVAL);
	CHECK_ERR("tee.not_pipe", tee(f, q[1], 1, 0), EINVAL);
	CHECK_ERR("tee.flags", tee(p[0], q[1], 1, 0x100), EINVAL);
	CHECK_ERR("tee.ebadf", tee(p[0], -1, 1, 0), EBADF);
	CHECK_ERR("tee.nonblock_empty", tee(p[0], q[1], 1, SPLICE_F_NONBLOCK), EAGAIN);

	/* vmsplice both ways. */
	struct iovec iov[2] = { { "ab", 2 }, { "cde", 3 } };
	CHECK_RET("vmsplice.in", vmsplice(p[1], iov, 2, 0), 5);
	char x[3], y[4];
	struct iovec out[2] = { { x, 3 }, { y, 4 } };
	CHECK_RET("vmsplice.out", vmsplice(p[0], out, 2, 0), 5);
	CHECK("vmsplice.data", memcmp(x, "abc", 3) == 0 && memcmp(y, "de", 2) == 0);
	CHECK_ERR("vmsplice.not_pipe", vmsplice(f, iov, 1, 0), EBADF);
	CHECK_ERR("vmsplice.ebadf", vmsplice(-1, iov, 1, 0), EBADF);
	CHECK_ERR("vmsplice.flags", vmsplice(p[1], iov, 1, 0x100), EINVAL);
	CHECK_ERR("vmsplice.nonblock_empty", vmsplice(p[0], out, 1, SPLICE_F_NONBLOCK), EAGAIN);
	CHECK_ERR("vmsplice.too_many", vmsplice(p[1], iov, 2000, 0), EINVAL);

	/* EOF once the writers are gone; EPIPE once the readers are. */
	close(q[1]);
	CHECK_RET("eof.p2p", splice(q[0], NULL, p[1], NULL, 10, 0), 0);
	CHECK_RET("eof.tee", tee(q[0], p[1], 10, 0), 0);
	close(q[0]);
	CHECK_OK("setup.pipe4", pipe(q));
	close(q[0]);
	signal(SIGPIPE, SIG_IGN);
	off = 0;
	CHECK_ERR("epipe.f2p", splice(f, &off, q[1], NULL, 10, 0), EPIPE);
	close(q[1]);
	close(p[0]);
	close(p[1]);
	close(f);
}

static int wp[2];

static void *late_writer(void *arg)
{
	(void)arg;
	usleep(100 * 1000);
	if (write(wp[1], "late", 4) != 4)
		return NULL;
	return NULL;
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void blocking(void)
{
	int f = open(file, O_RDWR | O_TRUNC);
	CHECK_OK("block.pipe", pipe(wp));
	pthread_t t;
	pthread_create(&t, NULL, late_writer, NULL);
	loff_t off = 0;
	CHECK_RET("block.woken", splice(wp[0], NULL, f, &off, 100, 0), 4);
	pthread_join(t, NULL);
	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	CHECK_ERR("block.eintr", splice(wp[0], NULL, f, &off, 100, 0), EINTR);
	close(wp[0]);
	close(wp[1]);
	close(f);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	mkdir("/tmp", 01777);
	strcpy(dir, "/tmp/t_splice.XXXXXX");
	if (!mkdtemp(dir)) {
		utest_fail("setup", "mkdtemp: errno %d", errno);
		return utest_done();
	}
	snprintf(file, sizeof file, "%s/f", dir);
	basics();
	blocking();
	unlink(file);
	rmdir(dir);
	return utest_done();
}
