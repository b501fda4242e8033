/*
 * t_udp - AF_INET SOCK_DGRAM over loopback: bind/connect/sendto/recvfrom with their error
 * cases (EDESTADDRREQ, EINVAL lengths and port 0, EAFNOSUPPORT, EADDRINUSE, EMSGSIZE,
 * EACCES for broadcast, ENOTCONN), sender addresses, MSG_PEEK, MSG_TRUNC, MSG_DONTWAIT,
 * FIONREAD, the connected filter and AF_UNSPEC disconnect, poll, sendmmsg/recvmmsg, the
 * largest datagram, and a flood beyond the receive buffer (dropped, not fatal).
 * Loopback only; passes on Linux too.
 */
#define UTEST_PROGRAM "t_udp"
#include "utest.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

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

static int bound(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = lo(0);
	bind(fd, (struct sockaddr *)&a, sizeof a);
	return fd;
}

static void check_basic(void)
{
	int a = bound(), b = socket(AF_INET, SOCK_DGRAM, 0);
	int type = 0;
	socklen_t len = sizeof type;
	getsockopt(b, SOL_SOCKET, SO_TYPE, &type, &len);
	CHECK_EQ("socket.type", type, SOCK_DGRAM);
	int pa = port_of(a);
	CHECKF("bind.port", pa > 0, "%d", pa);
	CHECK_ERR("send.no_dest", send(b, "x", 1, 0), EDESTADDRREQ);
	struct sockaddr_in to = lo(pa), bad = to;
	CHECK_ERR("sendto.short", sendto(b, "x", 1, 0, (struct sockaddr *)&to, sizeof to - 1), EINVAL);
	bad.sin_family = AF_UNIX;
	CHECK_ERR("sendto.family", sendto(b, "x", 1, 0, (struct sockaddr *)&bad, sizeof bad), EAFNOSUPPORT);
	struct sockaddr_in zero = lo(0);
	CHECK_ERR("sendto.port0", sendto(b, "x", 1, 0, (struct sockaddr *)&zero, sizeof zero), EINVAL);
	CHECK_ERR("sendto.efault", sendto(b, (void *)8, 1, 0, (struct sockaddr *)&to, sizeof to), EFAULT);
	CHECK_RET("sendto.ok", sendto(b, "hello", 5, 0, (struct sockaddr *)&to, sizeof to), 5);
	int pb = port_of(b);
	CHECKF("sendto.autobind", pb > 0, "%d", pb);
	struct pollfd p = { .fd = a, .events = POLLIN };
	CHECK_RET("poll.in", poll(&p, 1, 1000), 1);
	int n = -1;
	ioctl(a, FIONREAD, &n);
	CHECK_EQ("ioctl.fionread", n, 5);
	char buf[64] = { 0 };
	struct sockaddr_in from;
	len = sizeof from;
	CHECK_RET("recvfrom.peek", recvfrom(a, buf, sizeof buf, MSG_PEEK, (struct sockaddr *)&from, &len), 5);
	len = sizeof from;
	CHECK_RET("recvfrom.ok", recvfrom(a, buf, sizeof buf, 0, (struct sockaddr *)&from, &len), 5);
	CHECKF("recvfrom.from", len == sizeof from && from.sin_family == AF_INET && ntohs(from.sin_port) == pb &&
		from.sin_addr.s_addr == htonl(INADDR_LOOPBACK), "len %u port %d/%d", len, ntohs(from.sin_port), pb);
	CHECK("recvfrom.data", memcmp(buf, "hello", 5) == 0);
	CHECK_ERR("recv.dontwait", recv(a, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);

	/* Truncation: the rest of the datagram is lost; MSG_TRUNC returns its real length. */
	sendto(b, "0123456789", 10, 0, (struct sockaddr *)&to, sizeof to);
	struct iovec iov = { .iov_base = buf, .iov_len = 4 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	CHECK_RET("recvmsg.trunc", recvmsg(a, &m, 0), 4);
	CHECK("recvmsg.trunc_flag", m.msg_flags & MSG_TRUNC);
	sendto(b, "0123456789", 10, 0, (struct sockaddr *)&to, sizeof to);
	CHECK_RET("recv.msg_trunc_len", recv(a, buf, 4, MSG_TRUNC), 10);
	CHECK_ERR("recv.trunc_consumed", recv(a, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);

	int c = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in same = lo(pa);
	CHECK_ERR("bind.in_use", bind(c, (struct sockaddr *)&same, sizeof same), EADDRINUSE);
	CHECK_ERR("shutdown.unconnected", shutdown(c, SHUT_RD), ENOTCONN);
	close(c);
	close(a);
	close(b);
}

static void check_connected(void)
{
	int a = bound(), b = bound(), other = bound();
	struct sockaddr_in ta = lo(port_of(a)), tb = lo(port_of(b));
	CHECK_RET("connect.ok", connect(a, (struct sockaddr *)&tb, sizeof tb), 0);
	struct sockaddr_in peer;
	socklen_t len = sizeof peer;
	CHECK_RET("getpeername.ok", getpeername(a, (struct sockaddr *)&peer, &len), 0);
	CHECK_EQ("getpeername.port", ntohs(peer.sin_port), port_of(b));
	CHECK_RET("send.connected", send(a, "abc", 3, 0), 3);
	char buf[16];
	CHECK_RET("recv.connected_peer", recv(b, buf, sizeof buf, 0), 3);
	/* Datagrams from anyone but the peer are dropped. */
	sendto(other, "no", 2, 0, (struct sockaddr *)&ta, sizeof ta);
	sendto(b, "yes", 3, 0, (struct sockaddr *)&ta, sizeof ta);
	CHECK_RET("recv.filter", recv(a, buf, sizeof buf, 0), 3);
	CHECK("recv.filter_data", memcmp(buf, "yes", 3) == 0);
	struct sockaddr un = { .sa_family = AF_UNSPEC };
	CHECK_RET("connect.unspec", connect(a, &un, sizeof un), 0);
	len = sizeof peer;
	CHECK_ERR("getpeername.after_unspec", getpeername(a, (struct sockaddr *)&peer, &len), ENOTCONN);
	CHECK_ERR("send.after_unspec", send(a, "x", 1, 0), EDESTADDRREQ);
	struct sockaddr_in bc = lo(9);
	bc.sin_addr.s_addr = htonl(INADDR_BROADCAST);
	CHECK_ERR("sendto.broadcast_eacces", sendto(a, "x", 1, 0, (struct sockaddr *)&bc, sizeof bc), EACCES);
	close(a);
	close(b);
	close(other);
}

static void check_sizes_and_flood(void)
{
	int a = bound(), b = bound();
	struct sockaddr_in ta = lo(port_of(a));
	static char big[65508];
	memset(big, 'q', sizeof big);
	CHECK_ERR("sendto.too_big", sendto(b, big, 65508, 0, (struct sockaddr *)&ta, sizeof ta), EMSGSIZE);
	int sz = 1 << 20;
	setsockopt(a, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	close(a);
	a = bound();
	setsockopt(a, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	ta = lo(port_of(a));
	CHECK_RET("sendto.largest", sendto(b, big, 65507, 0, (struct sockaddr *)&ta, sizeof ta), 65507);
	static char rb[70000];
	CHECK_RET("recv.largest", recv(a, rb, sizeof rb, 0), 65507);
	CHECK("recv.largest_data", memcmp(rb, big, 65507) == 0);

	/* sendmmsg / recvmmsg. */
	struct mmsghdr mm[3];
	struct iovec iv[3];
	char payload[3][4] = { "aa", "bbb", "cccc" };
	for (int i = 0; i < 3; i++) {
		iv[i].iov_base = payload[i];
		iv[i].iov_len = 2 + i;
		memset(&mm[i], 0, sizeof mm[i]);
		mm[i].msg_hdr.msg_iov = &iv[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_name = &ta;
		mm[i].msg_hdr.msg_namelen = sizeof ta;
	}
	CHECK_RET("sendmmsg.three", sendmmsg(b, mm, 3, 0), 3);
	char r[3][8];
	for (int i = 0; i < 3; i++) {
		iv[i].iov_base = r[i];
		iv[i].iov_len = 8;
		mm[i].msg_hdr.msg_name = NULL;
		mm[i].msg_hdr.msg_namelen = 0;
	}
	CHECK_RET("recvmmsg.three", recvmmsg(a, mm, 3, MSG_DONTWAIT, NULL), 3);
	CHECKF("recvmmsg.lengths", mm[0].msg_len == 2 && mm[1].msg_len == 3 && mm[2].msg_len == 4, "%u %u %u", mm[0].msg_len, mm[1].msg_len, mm[2].msg_len);

	/* A flood far beyond the receive buffer: sends succeed, the excess is dropped. */
	close(a);
	a = bound();
	ta = lo(port_of(a));
	int sent = 0;
	char d[1000];
	for (int i = 0; i < 3000; i++) {
		memset(d, i & 0xff, sizeof d);
		if (sendto(b, d, sizeof d, MSG_DONTWAIT, (struct sockaddr *)&ta, sizeof ta) == (ssize_t)sizeof d)
			sent++;
	}
	int got = 0, intact = 1;
	for (;;) {
		ssize_t n = recv(a, d, sizeof d, MSG_DONTWAIT);
		if (n < 0)
			break;
		got++;
		for (int k = 1; k < n; k++)
			if (d[k] != d[0])
				intact = 0;
		intact &= n == (ssize_t)sizeof d;
	}
	CHECKF("flood.bounded", got > 0 && got < 3000 && intact, "sent %d got %d intact %d", sent, got, intact);
	CHECK_RET("flood.still_works", sendto(b, "z", 1, 0, (struct sockaddr *)&ta, sizeof ta), 1);
	CHECK_RET("flood.recv_after", recv(a, d, sizeof d, 0), 1);
	close(a);
	close(b);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	check_basic();
	check_connected();
	check_sizes_and_flood();
	return utest_done();
}
