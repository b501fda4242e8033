/*
 * t_unix_stream - AF_UNIX stream sockets through socketpair: bytes both ways with read/write,
 * send/recv, sendmsg/recvmsg with iovecs; MSG_PEEK, MSG_WAITALL, MSG_DONTWAIT; shutdown
 * (SHUT_RD/WR/RDWR) and EOF; EPIPE with SIGPIPE and MSG_NOSIGNAL; ECONNRESET when the peer
 * closes with unread data; a blocked reader and a blocked writer woken by the peer's close;
 * FIONREAD/SIOCINQ/SIOCOUTQ; SO_SNDBUF bounding the queued bytes; a 4 MiB transfer between
 * two processes; a 2-CPU race of two threads sending, receiving and closing.
 */
#define UTEST_PROGRAM "t_unix_stream"
#include "utest.h"

#ifndef SIOCINQ
#define SIOCINQ FIONREAD
#endif
#ifndef SIOCOUTQ
#define SIOCOUTQ TIOCOUTQ
#endif
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>

static volatile sig_atomic_t sigpipes;

static void on_pipe(int sig)
{
	(void)sig;
	sigpipes++;
}

static int pair(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
}

static void check_basic(void)
{
	int sv[2];
	char buf[64];
	if (!CHECK_RET("socketpair", pair(sv), 0))
		return;
	CHECK_RET("write", write(sv[0], "hello", 5), 5);
	CHECK_RET("read", read(sv[1], buf, sizeof buf), 5);
	CHECK("read_bytes", memcmp(buf, "hello", 5) == 0);
	CHECK_RET("send_back", send(sv[1], "xy", 2, 0), 2);
	CHECK_RET("recv_back", recv(sv[0], buf, sizeof buf, 0), 2);
	/* Stream: two writes may be read at once, and a read may take part of one. */
	CHECK_RET("write_a", write(sv[0], "abc", 3), 3);
	CHECK_RET("write_b", write(sv[0], "def", 3), 3);
	CHECK_RET("read_part", read(sv[1], buf, 2), 2);
	CHECK_RET("read_rest", read(sv[1], buf, sizeof buf), 4);
	CHECK("read_rest_bytes", memcmp(buf, "cdef", 4) == 0);
	/* Vectors both ways. */
	struct iovec out[3] = { { "one", 3 }, { "", 0 }, { "-two", 4 } };
	struct msghdr m = { .msg_iov = out, .msg_iovlen = 3 };
	CHECK_RET("sendmsg_iov", sendmsg(sv[0], &m, 0), 7);
	char a[2], b[10];
	struct iovec in[2] = { { a, 2 }, { b, 10 } };
	struct msghdr r = { .msg_iov = in, .msg_iovlen = 2 };
	CHECK_RET("recvmsg_iov", recvmsg(sv[1], &r, 0), 7);
	CHECK("recvmsg_iov_bytes", memcmp(a, "on", 2) == 0 && memcmp(b, "e-two", 5) == 0);
	CHECK_EQ("recvmsg_flags", r.msg_flags, 0);
	/* Non-blocking read of an empty socket. */
	CHECK_ERR("recv_dontwait", recv(sv[1], buf, 1, MSG_DONTWAIT), EAGAIN);
	/* Zero-length transfers. */
	CHECK_RET("send_zero", send(sv[0], buf, 0, 0), 0);
	CHECK_ERR("recv_zero_empty_dontwait", recv(sv[1], buf, 0, MSG_DONTWAIT), EAGAIN);
	CHECK_RET("send_one", send(sv[0], "q", 1, 0), 1);
	CHECK_RET("recv_zero", recv(sv[1], buf, 0, 0), 0);
	CHECK_RET("recv_after_zero", recv(sv[1], buf, 1, 0), 1);
	/* recvfrom on a stream leaves no address. */
	struct sockaddr_un from;
	socklen_t flen = sizeof from;
	CHECK_RET("send_for_from", send(sv[0], "z", 1, 0), 1);
	CHECK_RET("recvfrom_stream", recvfrom(sv[1], buf, 1, 0, (struct sockaddr *)&from, &flen), 1);
	CHECK_EQ("recvfrom_stream_len", flen, 0);
	/* Types and stat. */
	int type = 0;
	socklen_t tl = sizeof type;
	CHECK_RET("so_type", getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &tl), 0);
	CHECK_EQ("so_type_stream", type, SOCK_STREAM);
	struct stat st;
	CHECK_RET("fstat", fstat(sv[0], &st), 0);
	CHECK("fstat_sock", S_ISSOCK(st.st_mode));
	close(sv[0]);
	close(sv[1]);
}

static void check_peek_waitall(void)
{
	int sv[2];
	char buf[16];
	if (!CHECK_RET("socketpair_peek", pair(sv), 0))
		return;
	CHECK_RET("write_peek", write(sv[0], "abcdef", 6), 6);
	CHECK_RET("peek", recv(sv[1], buf, 4, MSG_PEEK), 4);
	CHECK_RET("peek_again", recv(sv[1], buf, 16, MSG_PEEK), 6);
	CHECK_RET("read_after_peek", read(sv[1], buf, 16), 6);
	CHECK("peek_bytes", memcmp(buf, "abcdef", 6) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 4; i++) {
			utest_sleep_ms(20);
			write(sv[0], "ab", 2);
		}
		_exit(0);
	}
	CHECK_RET("waitall", recv(sv[1], buf, 8, MSG_WAITALL), 8);
	utest_wait(pid);
	/* MSG_WAITALL stops at EOF with what it has. */
	CHECK_RET("write_before_shut", write(sv[0], "xyz", 3), 3);
	CHECK_RET("shut_wr", shutdown(sv[0], SHUT_WR), 0);
	CHECK_RET("waitall_eof", recv(sv[1], buf, 8, MSG_WAITALL), 3);
	CHECK_RET("eof", read(sv[1], buf, 8), 0);
	close(sv[0]);
	close(sv[1]);
}

static void check_shutdown(void)
{
	int sv[2];
	char buf[8];
	if (!CHECK_RET("socketpair_shut", pair(sv), 0))
		return;
	signal(SIGPIPE, on_pipe);
	CHECK_RET("shut_wr2", shutdown(sv[0], SHUT_WR), 0);
	sigpipes = 0;
	CHECK_ERR("send_after_shut_wr", send(sv[0], "x", 1, 0), EPIPE);
	CHECK_EQ("sigpipe_raised", sigpipes, 1);
	CHECK_ERR("send_nosignal", send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
	CHECK_EQ("sigpipe_not_raised", sigpipes, 1);
	CHECK_RET("peer_reads_eof", read(sv[1], buf, 8), 0);
	CHECK_RET("peer_still_sends", write(sv[1], "ok", 2), 2);
	CHECK_RET("shut_side_reads", read(sv[0], buf, 8), 2);
	CHECK_RET("shut_rd", shutdown(sv[0], SHUT_RD), 0);
	CHECK_RET("read_after_shut_rd", read(sv[0], buf, 8), 0);
	CHECK_ERR("peer_send_after_shut_rd", send(sv[1], "x", 1, MSG_NOSIGNAL), EPIPE);
	CHECK_ERR("shut_bad_how", shutdown(sv[0], 3), EINVAL);
	CHECK_ERR("shut_bad_fd", shutdown(999, SHUT_RD), EBADF);
	close(sv[0]);
	close(sv[1]);
	/* Shutdown of an unconnected socket is accepted (Linux). */
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_RET("shut_unconnected", shutdown(s, SHUT_RDWR), 0);
	close(s);
	signal(SIGPIPE, SIG_DFL);
}

static void check_close(void)
{
	int sv[2];
	char buf[8];
	/* Peer closed with unread data: ECONNRESET once, then EOF. */
	if (!CHECK_RET("socketpair_reset", pair(sv), 0))
		return;
	CHECK_RET("write_unread", write(sv[0], "lost", 4), 4);
	CHECK_RET("write_other", write(sv[1], "kept", 4), 4);
	close(sv[1]);
	CHECK_RET("read_kept", read(sv[0], buf, 8), 4);
	CHECK_ERR("read_reset", read(sv[0], buf, 8), ECONNRESET);
	CHECK_RET("read_eof_after_reset", read(sv[0], buf, 8), 0);
	CHECK_ERR("write_closed_peer", send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
	close(sv[0]);
	/* Peer closed cleanly: EOF, no error. */
	pair(sv);
	close(sv[1]);
	CHECK_RET("read_eof_clean", read(sv[0], buf, 8), 0);
	close(sv[0]);
}

struct blocked {
	int fd;
	int op; /* 0: read, 1: write forever */
	long ret;
	int err;
};

static void *blocked_thread(void *arg)
{
	struct blocked *b = arg;
	static char big[65536];
	if (b->op == 0) {
		char c;
		b->ret = read(b->fd, &c, 1);
	} else {
		for (;;) {
			b->ret = send(b->fd, big, sizeof big, MSG_NOSIGNAL);
			if (b->ret < 0)
				break;
		}
	}
	b->err = errno;
	return NULL;
}

static void check_wakeups(void)
{
	int sv[2];
	pthread_t t;
	/* A reader blocked in recv wakes with EOF when the peer closes. */
	pair(sv);
	struct blocked r = { sv[0], 0, -2, 0 };
	pthread_create(&t, NULL, blocked_thread, &r);
	utest_sleep_ms(50);
	close(sv[1]);
	pthread_join(t, NULL);
	CHECK_EQ("blocked_reader_eof", r.ret, 0);
	close(sv[0]);
	/* A writer blocked on a full socket wakes with EPIPE when the peer closes. */
	pair(sv);
	struct blocked w = { sv[0], 1, -2, 0 };
	pthread_create(&t, NULL, blocked_thread, &w);
	utest_sleep_ms(100);
	close(sv[1]);
	pthread_join(t, NULL);
	CHECKF("blocked_writer_epipe", w.ret == -1 && w.err == EPIPE, "ret %ld errno %d", w.ret, w.err);
	close(sv[0]);
}

static void check_ioctls_and_buffers(void)
{
	int sv[2], n = -1;
	char buf[4096];
	pair(sv);
	CHECK_RET("write_ioctl", write(sv[0], "12345", 5), 5);
	CHECK_RET("fionread", ioctl(sv[1], FIONREAD, &n), 0);
	CHECK_EQ("fionread_value", n, 5);
	CHECK_RET("siocinq", ioctl(sv[1], SIOCINQ, &n), 0);
	CHECK_EQ("siocinq_value", n, 5);
	CHECK_RET("siocoutq", ioctl(sv[0], SIOCOUTQ, &n), 0);
	CHECKF("siocoutq_value", n >= 5, "n=%d", n);
	read(sv[1], buf, 5);
	int v = 0;
	socklen_t vl = sizeof v;
	CHECK_RET("get_sndbuf", getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, &vl), 0);
	CHECKF("default_sndbuf", v > 4096, "v=%d", v);
	v = 10000;
	CHECK_RET("set_sndbuf", setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v), 0);
	vl = sizeof v;
	getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, &vl);
	CHECK_EQ("sndbuf_doubled", v, 20000);
	v = 1;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
	vl = sizeof v;
	getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, &vl);
	CHECKF("sndbuf_minimum", v >= 2048 && v <= 8192, "v=%d", v);
	v = 10000;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
	/* The queued bytes are bounded: a non-blocking writer stops. */
	long total = 0, r;
	while ((r = send(sv[0], buf, sizeof buf, MSG_DONTWAIT)) > 0)
		total += r;
	CHECKF("sndbuf_bounds_queue", r == -1 && errno == EAGAIN && total > 0 && total <= 64 * 1024, "total %ld", total);
	CHECK_ERR("setsockopt_short", setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, 2), EINVAL);
	close(sv[0]);
	close(sv[1]);
}

static void check_big_transfer(void)
{
	int sv[2];
	pair(sv);
	const long total = 4 << 20;
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[1]);
		static unsigned char chunk[65536];
		long sent = 0;
		unsigned char x = 0;
		while (sent < total) {
			for (size_t i = 0; i < sizeof chunk; i++)
				chunk[i] = x++;
			long n = write(sv[0], chunk, sizeof chunk);
			if (n != (long)sizeof chunk)
				_exit(1);
			sent += n;
		}
		_exit(0);
	}
	close(sv[0]);
	static unsigned char in[40000];
	long got = 0;
	unsigned char x = 0;
	int bad = 0;
	for (;;) {
		long n = read(sv[1], in, sizeof in);
		if (n <= 0)
			break;
		for (long i = 0; i < n; i++)
			bad |= in[i] != x++;
		got += n;
	}
	CHECK_EQ("big_transfer_bytes", got, total);
	CHECK_EQ("big_transfer_order", bad, 0);
	CHECK_EQ("big_transfer_child", WEXITSTATUS(utest_wait(pid)), 0);
	close(sv[1]);
}

/* Two threads hammer one pair from both sides while a third closes. */
static int race_fd[2];
static volatile int race_stop;

static void *race_sender(void *arg)
{
	(void)arg;
	char buf[300];
	memset(buf, 7, sizeof buf);
	while (!race_stop)
		if (send(race_fd[0], buf, 1 + rand() % sizeof buf, MSG_NOSIGNAL) < 0)
			break;
	return NULL;
}

static void *race_receiver(void *arg)
{
	(void)arg;
	char buf[500];
	for (;;)
		if (recv(race_fd[1], buf, sizeof buf, 0) <= 0)
			break;
	return NULL;
}

static void check_race(void)
{
	int ok = 1;
	for (int round = 0; round < 20 && ok; round++) {
		pair(race_fd);
		race_stop = 0;
		pthread_t s, r;
		pthread_create(&s, NULL, race_sender, NULL);
		pthread_create(&r, NULL, race_receiver, NULL);
		utest_sleep_ms(5);
		/* Closing the sender's end ends both: EPIPE there, EOF here. */
		shutdown(race_fd[0], SHUT_RDWR);
		race_stop = 1;
		pthread_join(s, NULL);
		pthread_join(r, NULL);
		close(race_fd[0]);
		close(race_fd[1]);
	}
	CHECK("race_send_recv_close", ok);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	check_basic();
	check_peek_waitall();
	check_shutdown();
	check_close();
	check_wakeups();
	check_ioctls_and_buffers();
	check_big_transfer();
	check_race();
	return utest_done();
}
