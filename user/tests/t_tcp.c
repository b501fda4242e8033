/*
 * t_tcp - AF_INET SOCK_STREAM over loopback: socket/bind/listen/accept4/connect with their
 * error cases (EINVAL lengths, EAFNOSUPPORT, EADDRNOTAVAIL, EADDRINUSE, EFAULT, ECONNREFUSED,
 * EISCONN, ENOTCONN, EPIPE after the peer closed), names, send/recv with MSG_PEEK,
 * MSG_DONTWAIT, MSG_WAITALL, FIONREAD/SIOCOUTQ, shutdown and end of file, non-blocking
 * connect with poll and SO_ERROR, options (TCP_NODELAY, SO_KEEPALIVE, SO_RCVBUF, SO_LINGER,
 * SO_RCVTIMEO), a full backlog, SO_REUSEADDR over TIME_WAIT, and a 16 MiB transfer with a
 * checksum.  Loopback only; passes on Linux too.
 */
#define UTEST_PROGRAM "t_tcp"
#include "utest.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

#ifndef SIOCOUTQ
#define SIOCOUTQ 0x5411
#endif

static struct sockaddr_in lo(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static int port_of(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	if (getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	return ntohs(a.sin_port);
}

/* A listening socket on 127.0.0.1, port chosen by the kernel. */
static int listener(int backlog, int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = lo(0);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, backlog) < 0) {
		close(fd);
		return -1;
	}
	*port = port_of(fd);
	return fd;
}

static int connect_to(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = lo(port);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void check_create_and_bind(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK("socket.stream", fd >= 0);
	int type = 0, proto = 0;
	socklen_t len = sizeof type;
	getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len);
	len = sizeof proto;
	getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len);
	CHECKF("socket.type_proto", type == SOCK_STREAM && proto == IPPROTO_TCP, "type %d proto %d", type, proto);
	CHECK_ERR("socket.bad_proto", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT);

	struct sockaddr_in a = lo(0);
	CHECK_ERR("bind.short_len", bind(fd, (struct sockaddr *)&a, sizeof a - 1), EINVAL);
	struct sockaddr_in b = a;
	b.sin_family = AF_UNIX;
	CHECK_ERR("bind.wrong_family", bind(fd, (struct sockaddr *)&b, sizeof b), EAFNOSUPPORT);
	CHECK_ERR("bind.efault", bind(fd, (struct sockaddr *)8, sizeof a), EFAULT);
	struct sockaddr_in far = lo(0);
	far.sin_addr.s_addr = inet_addr("192.0.2.77");
	CHECK_ERR("bind.not_local", bind(fd, (struct sockaddr *)&far, sizeof far), EADDRNOTAVAIL);
	CHECK_RET("bind.ok", bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	int port = port_of(fd);
	CHECKF("bind.ephemeral_port", port > 0, "port %d", port);
	CHECK_ERR("bind.twice", bind(fd, (struct sockaddr *)&a, sizeof a), EINVAL);
	int fd2 = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in same = lo(port);
	CHECK_ERR("bind.in_use", bind(fd2, (struct sockaddr *)&same, sizeof same), EADDRINUSE);
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = htons(port) };
	CHECK_ERR("bind.in_use_any", bind(fd2, (struct sockaddr *)&any, sizeof any), EADDRINUSE);
	CHECK_ERR("getpeername.unconnected", getpeername(fd, (struct sockaddr *)&b, &len), ENOTCONN);
	char c;
	CHECK_ERR("recv.unconnected", recv(fd, &c, 1, 0), ENOTCONN);
	CHECK_ERR("send.unconnected", send(fd, "x", 1, MSG_NOSIGNAL), EPIPE);
	CHECK_ERR("shutdown.unconnected", shutdown(fd, SHUT_RDWR), ENOTCONN);
	close(fd);
	close(fd2);
}

static void check_connect_accept(void)
{
	int port, lfd = listener(4, &port);
	if (!CHECK("listen.ok", lfd >= 0))
		return;
	int c = connect_to(port);
	if (!CHECKF("connect.ok", c >= 0, "errno %s", utest_errname(errno)))
		return;
	struct sockaddr_in peer;
	socklen_t len = sizeof peer;
	int s = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
	CHECKF("accept.ok", s >= 0 && len == sizeof peer && peer.sin_family == AF_INET &&
		peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK) && ntohs(peer.sin_port) == port_of(c),
		"s %d len %u port %d/%d", s, len, ntohs(peer.sin_port), port_of(c));
	CHECK_EQ("accept.cloexec", fcntl(s, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	struct sockaddr_in name;
	len = sizeof name;
	CHECK_RET("getpeername.ok", getpeername(c, (struct sockaddr *)&name, &len), 0);
	CHECK_EQ("getpeername.port", ntohs(name.sin_port), port);
	CHECK_EQ("getsockname.accepted", port_of(s), port);
	CHECK_ERR("getsockname.efault", getsockname(s, (struct sockaddr *)&name, (socklen_t *)8), EFAULT);
	struct sockaddr_in a = lo(port);
	CHECK_ERR("connect.isconn", connect(c, (struct sockaddr *)&a, sizeof a), EISCONN);
	CHECK_ERR("connect.listener", connect(lfd, (struct sockaddr *)&a, sizeof a), EISCONN);
	CHECK_ERR("accept4.bad_flags", syscall(SYS_accept4, lfd, NULL, NULL, 0x1234), EINVAL);
	CHECK_ERR("accept.not_listening", accept(c, NULL, NULL), EINVAL);

	CHECK_RET("send.hello", send(c, "hello", 5, 0), 5);
	char buf[64] = { 0 };
	CHECK_RET("recv.peek", recv(s, buf, sizeof buf, MSG_PEEK), 5);
	int n = -1;
	CHECK_RET("ioctl.fionread", ioctl(s, FIONREAD, &n), 0);
	CHECK_EQ("ioctl.fionread_value", n, 5);
	CHECK_RET("recv.after_peek", recv(s, buf, 3, 0), 3);
	CHECK_RET("recv.rest", recv(s, buf + 3, sizeof buf, 0), 2);
	CHECK("recv.data", memcmp(buf, "hello", 5) == 0);
	CHECK_ERR("recv.dontwait_empty", recv(s, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
	n = -1;
	CHECK_RET("ioctl.siocoutq", ioctl(c, SIOCOUTQ, &n), 0);
	CHECKF("ioctl.siocoutq_value", n >= 0, "%d", n);
	CHECK_ERR("recv.efault", (send(c, "z", 1, 0), recv(s, (void *)8, 1, 0)), EFAULT);
	CHECK_RET("recv.after_efault", recv(s, buf, 1, 0), 1);

	/* MSG_WAITALL across two sends by a child. */
	pid_t pid = fork();
	if (pid == 0) {
		send(c, "abc", 3, 0);
		utest_sleep_ms(50);
		send(c, "defg", 4, 0);
		_exit(0);
	}
	CHECK_RET("recv.waitall", recv(s, buf, 7, MSG_WAITALL), 7);
	CHECK("recv.waitall_data", memcmp(buf, "abcdefg", 7) == 0);
	utest_wait(pid);

	/* Half close: the peer reads end of file, POLLRDHUP; writing still works the other way. */
	CHECK_RET("shutdown.wr", shutdown(c, SHUT_WR), 0);
	struct pollfd p = { .fd = s, .events = POLLIN | POLLRDHUP };
	CHECK_RET("poll.rdhup", poll(&p, 1, 1000), 1);
	CHECKF("poll.rdhup_bits", (p.revents & (POLLIN | POLLRDHUP)) == (POLLIN | POLLRDHUP), "revents %#x", p.revents);
	CHECK_RET("recv.eof", recv(s, buf, sizeof buf, 0), 0);
	CHECK_ERR("send.after_shut_wr", send(c, "x", 1, MSG_NOSIGNAL), EPIPE);
	CHECK_RET("send.other_way", send(s, "back", 4, 0), 4);
	CHECK_RET("recv.other_way", recv(c, buf, sizeof buf, 0), 4);

	/* The peer closes: sends end with EPIPE or ECONNRESET, never a hang. */
	close(s);
	int err = 0;
	for (int i = 0; i < 50 && !err; i++) {
		if (send(c, "x", 1, MSG_NOSIGNAL) < 0)
			err = errno;
		else
			utest_sleep_ms(10);
	}
	CHECKF("send.peer_closed", err == EPIPE || err == ECONNRESET, "errno %s", utest_errname(err));
	close(c);
	close(lfd);
}

static void check_refused_and_nonblocking(void)
{
	int port, lfd = listener(1, &port);
	close(lfd);
	int c = connect_to(port);
	CHECKF("connect.refused", c < 0 && errno == ECONNREFUSED, "c %d errno %s", c, utest_errname(errno));

	int nb = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = lo(port);
	CHECK_ERR("connect.nb_refused_inprogress", connect(nb, (struct sockaddr *)&a, sizeof a), EINPROGRESS);
	struct pollfd p = { .fd = nb, .events = POLLOUT };
	poll(&p, 1, 2000);
	CHECKF("connect.nb_refused_poll", p.revents & (POLLERR | POLLHUP), "revents %#x", p.revents);
	int soerr = -1;
	socklen_t len = sizeof soerr;
	getsockopt(nb, SOL_SOCKET, SO_ERROR, &soerr, &len);
	CHECKF("connect.nb_so_error", soerr == ECONNREFUSED, "%s", utest_errname(soerr));
	len = sizeof soerr;
	getsockopt(nb, SOL_SOCKET, SO_ERROR, &soerr, &len);
	CHECK_EQ("connect.so_error_cleared", soerr, 0);
	close(nb);

	lfd = listener(2, &port);
	a = lo(port);
	nb = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	fcntl(lfd, F_SETFL, O_NONBLOCK);
	CHECK_ERR("accept.nb_empty", accept(lfd, NULL, NULL), EAGAIN);
	fcntl(lfd, F_SETFL, 0);
	int r = connect(nb, (struct sockaddr *)&a, sizeof a);
	CHECKF("connect.nb_inprogress", r == 0 || errno == EINPROGRESS, "errno %s", utest_errname(errno));
	p.fd = nb;
	p.events = POLLOUT;
	CHECK_RET("connect.nb_poll", poll(&p, 1, 2000), 1);
	CHECKF("connect.nb_pollout", p.revents == POLLOUT, "revents %#x", p.revents);
	len = sizeof soerr;
	getsockopt(nb, SOL_SOCKET, SO_ERROR, &soerr, &len);
	CHECK_EQ("connect.nb_so_error_ok", soerr, 0);
	/* Linux: the first connect after completion reports it (0), later ones EISCONN. */
	CHECK_RET("connect.nb_again_done", connect(nb, (struct sockaddr *)&a, sizeof a), 0);
	CHECK_ERR("connect.nb_again_isconn", connect(nb, (struct sockaddr *)&a, sizeof a), EISCONN);
	struct pollfd lp = { .fd = lfd, .events = POLLIN };
	CHECK_RET("accept.poll_in", poll(&lp, 1, 2000), 1);
	int s = accept(lfd, NULL, NULL);
	CHECK("accept.after_poll", s >= 0);
	char buf[8];
	CHECK_ERR("recv.nb_empty", recv(nb, buf, sizeof buf, 0), EAGAIN);

	/* SO_RCVTIMEO: a blocking recv gives up with EAGAIN. */
	struct timeval tv = { .tv_sec = 0, .tv_usec = 100000 };
	CHECK_RET("rcvtimeo.set", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
	int64_t t0 = utest_now_ns(CLOCK_MONOTONIC);
	CHECK_ERR("rcvtimeo.eagain", recv(s, buf, sizeof buf, 0), EAGAIN);
	int64_t ms = (utest_now_ns(CLOCK_MONOTONIC) - t0) / 1000000;
	CHECKF("rcvtimeo.waited", ms >= 90 && ms < 2000, "%lld ms", (long long)ms);
	close(s);
	close(nb);
	close(lfd);
}

static void check_options(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), v = 1, got = 0;
	socklen_t len = sizeof got;
	CHECK_RET("opt.nodelay_set", setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v), 0);
	getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &got, &len);
	CHECK("opt.nodelay_get", got != 0);
	CHECK_RET("opt.keepalive_set", setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v), 0);
	len = sizeof got;
	getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &got, &len);
	CHECK("opt.keepalive_get", got != 0);
	v = 65536;
	CHECK_RET("opt.rcvbuf_set", setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v), 0);
	len = sizeof got;
	getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len);
	CHECKF("opt.rcvbuf_doubled", got == 131072, "%d", got);
	struct linger l = { .l_onoff = 1, .l_linger = 0 };
	CHECK_RET("opt.linger", setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l), 0);
	CHECK_ERR("opt.short", setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, 2), EINVAL);
	CHECK_ERR("opt.unknown", setsockopt(fd, SOL_SOCKET, 9999, &v, sizeof v), ENOPROTOOPT);
	len = sizeof got;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &got, &len);
	CHECK_EQ("opt.so_error_zero", got, 0);
	close(fd);
}

static void check_backlog(void)
{
	enum { N = 8 };
	int port, lfd = listener(N, &port), c[N], ok = 0;
	for (int i = 0; i < N; i++) {
		c[i] = connect_to(port);
		ok += c[i] >= 0;
	}
	CHECKF("backlog.connects", ok == N, "%d of %d", ok, N);
	int accepted = 0;
	for (int i = 0; i < N; i++) {
		int s = accept(lfd, NULL, NULL);
		if (s >= 0) {
			accepted++;
			close(s);
		}
	}
	CHECK_EQ("backlog.accepts", accepted, N);
	for (int i = 0; i < N; i++)
		close(c[i]);
	close(lfd);
}

static void check_reuseaddr(void)
{
	int port, lfd = listener(1, &port);
	int c = connect_to(port);
	int s = accept(lfd, NULL, NULL);
	/* The server closes first: its side of the connection waits in TIME_WAIT. */
	close(s);
	utest_sleep_ms(20);
	close(c);
	close(lfd);
	utest_sleep_ms(20);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = lo(port);
	CHECK_ERR("reuseaddr.without", bind(fd, (struct sockaddr *)&a, sizeof a), EADDRINUSE);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	CHECK_RET("reuseaddr.with", bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	CHECK_RET("reuseaddr.listen", listen(fd, 1), 0);
	close(fd);
}

static uint32_t mix(uint32_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void check_big_transfer(void)
{
	enum { TOTAL = 16 << 20 };
	int port, lfd = listener(1, &port);
	int pfd[2];
	if (pipe(pfd) < 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		int c = connect_to(port);
		static unsigned char buf[65536];
		uint32_t h = 2166136261u, x = 1;
		size_t sent = 0;
		while (sent < TOTAL) {
			size_t n = sizeof buf;
			for (size_t i = 0; i < n; i++) {
				x = x * 1103515245u + 12345u;
				buf[i] = x >> 16;
			}
			h = mix(h, buf, n);
			size_t off = 0;
			while (off < n) {
				ssize_t w = send(c, buf + off, n - off, 0);
				if (w <= 0)
					_exit(2);
				off += w;
			}
			sent += n;
		}
		write(pfd[1], &h, sizeof h);
		close(c);
		_exit(0);
	}
	int s = accept(lfd, NULL, NULL);
	static unsigned char rbuf[100000];
	uint32_t h = 2166136261u;
	size_t got = 0;
	int64_t t0 = utest_now_ns(CLOCK_MONOTONIC);
	for (;;) {
		ssize_t r = recv(s, rbuf, sizeof rbuf, 0);
		if (r <= 0)
			break;
		h = mix(h, rbuf, r);
		got += r;
	}
	int64_t ms = (utest_now_ns(CLOCK_MONOTONIC) - t0) / 1000000;
	uint32_t want = 0;
	read(pfd[0], &want, sizeof want);
	CHECKF("transfer.16MiB", got == TOTAL && h == want, "got %zu hash %08x want %08x (%lld ms)", got, h, want, (long long)ms);
	CHECK_EQ("transfer.child", utest_wait(pid), 0);
	close(s);
	close(lfd);
	close(pfd[0]);
	close(pfd[1]);
}

/* Writes and reads of random sizes (1 B .. 70 KB), so that windows open and close at odd
 * points: four rounds of 512 KiB on fresh connections, every byte checked. */
static void check_random_sizes(void)
{
	enum { TOTAL = 512 << 10, ROUNDS = 4 };
	int ok = 1;
	for (int round = 0; round < ROUNDS && ok; round++) {
		int port, lfd = listener(1, &port);
		pid_t pid = fork();
		if (pid == 0) {
			int c = connect_to(port);
			static unsigned char buf[70000];
			uint32_t x = 7u + (uint32_t)round;
			size_t sent = 0;
			while (sent < TOTAL) {
				x = x * 1103515245u + 12345u;
				size_t n = 1 + (x >> 8) % sizeof buf;
				if (n > TOTAL - sent)
					n = TOTAL - sent;
				for (size_t i = 0; i < n; i++)
					buf[i] = (unsigned char)((sent + i) * 7);
				ssize_t w = send(c, buf, n, 0);
				if (w <= 0)
					_exit(2);
				sent += (size_t)w;
			}
			shutdown(c, SHUT_WR);
			char end;
			read(c, &end, 1);
			_exit(0);
		}
		int s = accept(lfd, NULL, NULL);
		static unsigned char rbuf[70000];
		uint32_t y = 11u + (uint32_t)round;
		size_t got = 0;
		for (;;) {
			y = y * 1103515245u + 12345u;
			ssize_t r = recv(s, rbuf, 1 + (y >> 8) % sizeof rbuf, 0);
			if (r <= 0)
				break;
			for (ssize_t i = 0; i < r && ok; i++)
				ok = rbuf[i] == (unsigned char)((got + (size_t)i) * 7);
			got += (size_t)r;
		}
		ok = ok && got == TOTAL;
		close(s);
		close(lfd);
		ok = utest_wait(pid) == 0 && ok;
	}
	CHECK("transfer.random_sizes", ok);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	check_create_and_bind();
	check_connect_accept();
	check_refused_and_nonblocking();
	check_options();
	check_backlog();
	check_reuseaddr();
	check_big_transfer();
	check_random_sizes();
	return utest_done();
}
