/*
 * t_unix_poll - readiness of AF_UNIX sockets through poll and epoll: a fresh stream socket
 * (POLLOUT|POLLHUP), a connected pair (POLLOUT, then POLLIN when data comes), a full socket
 * (no POLLOUT until the reader drains it), shutdown (POLLRDHUP|POLLIN; POLLHUP once both ways
 * are shut), the peer's close (POLLHUP, and POLLERR with unread data lost), a listener
 * (POLLIN while a connection waits), epoll edge-triggered wake-ups, a poller woken by another
 * process's write, and non-blocking connect/accept/recv (EAGAIN).
 */
#define UTEST_PROGRAM "t_unix_poll"
#include "utest.h"

#include <poll.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

static int revents(int fd, int events)
{
	struct pollfd p = { fd, (short)events, 0 };
	if (poll(&p, 1, 0) < 0)
		return -1;
	return p.revents;
}

static void check_poll(void)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_EQ("fresh_stream", revents(s, POLLIN | POLLOUT | POLLRDHUP), POLLOUT | POLLHUP);
	close(s);
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	CHECK_EQ("pair_writable", revents(sv[0], POLLIN | POLLOUT | POLLRDHUP), POLLOUT);
	write(sv[0], "x", 1);
	CHECK_EQ("pair_readable", revents(sv[1], POLLIN | POLLOUT | POLLRDHUP), POLLIN | POLLOUT);
	char buf[65536];
	read(sv[1], buf, 1);
	/* Full: no POLLOUT until drained. */
	int v = 4096;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
	while (send(sv[0], buf, sizeof buf, MSG_DONTWAIT) > 0)
		;
	CHECK_EQ("full_not_writable", revents(sv[0], POLLOUT) & POLLOUT, 0);
	while (recv(sv[1], buf, sizeof buf, MSG_DONTWAIT) > 0)
		;
	CHECK_EQ("drained_writable", revents(sv[0], POLLOUT) & POLLOUT, POLLOUT);
	/* Shutdown. */
	shutdown(sv[0], SHUT_WR);
	CHECK_EQ("peer_shut_wr", revents(sv[1], POLLIN | POLLRDHUP), POLLIN | POLLRDHUP);
	shutdown(sv[1], SHUT_WR);
	CHECK_EQ("both_shut", revents(sv[1], POLLIN | POLLRDHUP) & (POLLHUP | POLLRDHUP), POLLHUP | POLLRDHUP);
	close(sv[0]);
	close(sv[1]);
	/* Close with unread data: POLLERR|POLLHUP. */
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	write(sv[0], "lost", 4);
	close(sv[1]);
	int r = revents(sv[0], POLLIN | POLLOUT);
	CHECKF("closed_with_data", (r & (POLLERR | POLLHUP | POLLIN)) == (POLLERR | POLLHUP | POLLIN), "revents 0x%x", r);
	close(sv[0]);
	/* Datagrams. */
	socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
	CHECK_EQ("dgram_writable", revents(sv[0], POLLIN | POLLOUT), POLLOUT);
	send(sv[0], "d", 1, 0);
	CHECK_EQ("dgram_readable", revents(sv[1], POLLIN), POLLIN);
	close(sv[0]);
	close(sv[1]);
}

static void check_listener_and_nonblocking(void)
{
	struct sockaddr_un a;
	memset(&a, 0, sizeof a);
	a.sun_family = AF_UNIX;
	snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "exo-poll-%d", (int)getpid());
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(a.sun_path + 1));
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	bind(l, (struct sockaddr *)&a, len);
	listen(l, 4);
	CHECK_EQ("listener_idle", revents(l, POLLIN | POLLOUT), 0);
	CHECK_ERR("accept_nonblocking", accept(l, NULL, NULL), EAGAIN);
	int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHECK_RET("connect_nonblocking", connect(c, (struct sockaddr *)&a, len), 0);
	CHECK_EQ("listener_ready", revents(l, POLLIN), POLLIN);
	int d = accept4(l, NULL, NULL, SOCK_NONBLOCK);
	CHECK("accept_ready", d >= 0);
	char buf[8];
	CHECK_ERR("recv_nonblocking", recv(d, buf, 8, 0), EAGAIN);
	CHECK_ERR("read_nonblocking", read(d, buf, 8), EAGAIN);
	/* A poller sleeps until another process writes. */
	pid_t pid = fork();
	if (pid == 0) {
		utest_sleep_ms(50);
		write(c, "w", 1);
		_exit(0);
	}
	struct pollfd p = { d, POLLIN, 0 };
	CHECK_RET("poll_woken_by_write", poll(&p, 1, 5000), 1);
	utest_wait(pid);
	/* epoll, edge-triggered: one event per arrival. */
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.fd = d };
	CHECK_RET("epoll_add", epoll_ctl(ep, EPOLL_CTL_ADD, d, &ev), 0);
	struct epoll_event out[2];
	CHECK_RET("epoll_first", epoll_wait(ep, out, 2, 0), 1);
	CHECK_RET("epoll_edge_quiet", epoll_wait(ep, out, 2, 0), 0);
	write(c, "v", 1);
	CHECK_RET("epoll_new_edge", epoll_wait(ep, out, 2, 1000), 1);
	pid = fork();
	if (pid == 0) {
		utest_sleep_ms(50);
		close(c);
		_exit(0);
	}
	close(c);
	CHECK_RET("epoll_hangup", epoll_wait(ep, out, 2, 5000), 1);
	CHECK("epoll_hangup_bits", out[0].events & (EPOLLHUP | EPOLLRDHUP | EPOLLIN));
	utest_wait(pid);
	close(ep);
	close(d);
	close(l);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	check_poll();
	check_listener_and_nonblocking();
	return utest_done();
}
