/*
 * net.h - the socket cases of the benchmark (issue 15), included once by bench.c after its own
 * cases.  Each runs between two processes (fork), one at each end, like pipe_roundtrip:
 *
 *   unix_roundtrip          (bench.c) 1-byte round trip over socketpair(AF_UNIX, SOCK_STREAM)
 *   unix_stream_64k         socketpair(AF_UNIX, SOCK_STREAM): one process writes 64 KiB chunks,
 *                           the other reads them; per 64 KiB chunk (16 MiB), MBps appended
 *   unix_stream_4k          the same with 4 KiB chunks (8 MiB)
 *   tcp_loopback_roundtrip  1-byte round trip over a TCP connection to 127.0.0.1, TCP_NODELAY
 *                           on both ends
 *   tcp_loopback_stream     64 KiB writes over a TCP connection to 127.0.0.1; per 64 KiB
 *                           chunk (8 MiB), MBps appended
 *   tcp_loopback_stream_4k  the same with 4 KiB writes (8 MiB)
 *   udp_loopback_roundtrip  1-byte datagram and its 1-byte answer between two connected UDP
 *                           sockets bound to 127.0.0.1
 *   udp_loopback_1k         the same with 1 KiB datagrams
 *
 * The connection is set up before the fork (listen, connect, accept in one process; the
 * handshake completes in the listener's backlog), then each process keeps one end.  A kernel
 * without the socket family answers socket()/socketpair() with ENOSYS or EAFNOSUPPORT: the case
 * is then reported "unsupported" with that reason.
 *
 * bench_lo_up() brings the loopback interface up (SIOCSIFFLAGS IFF_UP on "lo") when it is down:
 * Linux starts with lo down when nothing configures it (the bench is init); Exo-OS has lo up at
 * boot.  Errors are only commentary.
 *
 * Needs from bench.c: pingpong(), wait_ok(), read_full()/write_full().
 */
#ifndef BENCH_NET_H
#define BENCH_NET_H

#include "bench.h"

#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>

#define NET_CHUNK_MAX (64 * 1024)
#define NET_DGRAM_MAX 1024

/* Brings "lo" up if it is down; a problem is written to `warn` (commentary only). */
static void bench_lo_up(char *warn, size_t size)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return; /* no AF_INET: the socket cases report it themselves */
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP)) {
		close(fd);
		return;
	}
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0)
		ifr.ifr_flags = IFF_LOOPBACK | IFF_RUNNING;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) {
		int e = errno;
		snprintf(warn, size, "# bench: bringing lo up: %s/%d\n", bench_errname(e), e);
	}
	close(fd);
}

static struct sockaddr_in net_loopback(uint16_t port)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/* The port a socket is bound to, or -1. */
static int net_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	if (getsockname(fd, (struct sockaddr *)&a, &len) != 0 || a.sin_family != AF_INET)
		return -1;
	return ntohs(a.sin_port);
}

/*
 * A connected TCP pair over 127.0.0.1: fds[0] the connecting end, fds[1] the accepted one, both
 * with TCP_NODELAY.  NULL, or the reason (every descriptor closed).
 */
static const char *tcp_pair(int fds[2])
{
	const char *why = NULL;
	int one = 1, lfd = -1, c = -1, s = -1;
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return bench_fail("socket(AF_INET, SOCK_STREAM)");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = net_loopback(0);
	if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0) {
		why = bench_fail("bind 127.0.0.1:0");
		goto out;
	}
	if (listen(lfd, 4) != 0) {
		why = bench_fail("listen");
		goto out;
	}
	int port = net_port(lfd);
	if (port <= 0) {
		why = bench_fail("getsockname of the listener");
		goto out;
	}
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0) {
		why = bench_fail("socket(AF_INET, SOCK_STREAM)");
		goto out;
	}
	a = net_loopback((uint16_t)port);
	if (connect(c, (struct sockaddr *)&a, sizeof a) != 0) {
		why = bench_fail("connect 127.0.0.1");
		goto out;
	}
	s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (s < 0) {
		why = bench_fail("accept4");
		goto out;
	}
	if (setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
	    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
		why = bench_fail("setsockopt TCP_NODELAY");
		goto out;
	}
	fds[0] = c;
	fds[1] = s;
	c = s = -1;
out:
	if (c >= 0)
		close(c);
	if (s >= 0)
		close(s);
	close(lfd);
	return why;
}

/* Closes the non-negative descriptors of a pair. */
static void net_close_pair(int fds[2])
{
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Two UDP sockets bound to 127.0.0.1 and connected to each other (5 s receive timeout). */
static const char *udp_pair(int fds[2])
{
	struct timeval tv = { .tv_sec = 5 };
	int port[2];
	const char *why = NULL;
	fds[0] = fds[1] = -1;
	for (int i = 0; i < 2 && !why; i++) {
		struct sockaddr_in a = net_loopback(0);
		fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0)
			why = bench_fail("socket(AF_INET, SOCK_DGRAM)");
		else if (bind(fds[i], (struct sockaddr *)&a, sizeof a) != 0 || (port[i] = net_port(fds[i])) <= 0)
			why = bench_fail("bind (UDP) 127.0.0.1:0");
		else /* a lost datagram then fails the case instead of hanging it (ignored if unknown) */
			setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	}
	for (int i = 0; i < 2 && !why; i++) {
		struct sockaddr_in peer = net_loopback((uint16_t)port[1 - i]);
		if (connect(fds[i], (struct sockaddr *)&peer, sizeof peer) != 0)
			why = bench_fail("connect (UDP) 127.0.0.1");
	}
	if (why)
		net_close_pair(fds);
	return why;
}

/*
 * The child writes n + 1 chunks of `chunk` bytes into wfd; the parent reads them from rfd, the
 * first untimed.  Both descriptors are closed on return.  Appends " MBps=<x>".
 */
static const char *stream_throughput(long n, size_t chunk, int rfd, int wfd)
{
	static char buf[NET_CHUNK_MAX];
	if (chunk > sizeof buf) {
		close(rfd);
		close(wfd);
		return bench_fail("chunk too large");
	}
	memset(buf, 's', chunk);
	pid_t pid = fork();
	if (pid < 0) {
		close(rfd);
		close(wfd);
		return bench_fail("fork");
	}
	if (pid == 0) {
		close(rfd);
		for (long i = 0; i <= n; i++)
			if (write_full(wfd, buf, chunk) != 0)
				_exit(1);
		_exit(0);
	}
	close(wfd);
	for (long i = 0; i <= n; i++) {
		if (i == 1)
			bench_start();
		if (read_full(rfd, buf, chunk) != 0) {
			close(rfd);
			return bench_fail("stream read");
		}
	}
	bench_stop();
	close(rfd);
	if (wait_ok(pid) != 0)
		return bench_fail("writer status");
	uint64_t ns = bench_ns_total ? bench_ns_total : 1;
	uint64_t mbps10 = (uint64_t)n * chunk * 10000ull / ns; /* 10 x bytes per us */
	snprintf(bench_extra, sizeof bench_extra, " MBps=%llu.%llu", (unsigned long long)(mbps10 / 10),
		 (unsigned long long)(mbps10 % 10));
	return NULL;
}

static const char *unix_stream(long n, size_t chunk)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return bench_fail("socketpair(AF_UNIX, SOCK_STREAM)");
	return stream_throughput(n, chunk, sv[0], sv[1]);
}

static const char *case_unix_stream_64k(long n)
{
	return unix_stream(n, 64 * 1024);
}

static const char *case_unix_stream_4k(long n)
{
	return unix_stream(n, 4096);
}

static const char *case_tcp_loopback_roundtrip(long n)
{
	int fds[2];
	const char *why = tcp_pair(fds);
	if (why)
		return why;
	why = pingpong(n, fds[0], fds[0], fds[1], fds[1]);
	close(fds[0]);
	close(fds[1]);
	return why;
}

static const char *tcp_stream(long n, size_t chunk)
{
	int fds[2];
	const char *why = tcp_pair(fds);
	return why ? why : stream_throughput(n, chunk, fds[1], fds[0]);
}

static const char *case_tcp_loopback_stream(long n)
{
	return tcp_stream(n, 64 * 1024);
}

static const char *case_tcp_loopback_stream_4k(long n)
{
	return tcp_stream(n, 4096);
}

/* Datagram ping-pong of `size` bytes: n + 1 round trips, the first untimed. */
static const char *udp_pingpong(long n, size_t size)
{
	static char buf[NET_DGRAM_MAX];
	int fds[2];
	const char *why = udp_pair(fds);
	if (why)
		return why;
	memset(buf, 'u', size);
	pid_t pid = fork();
	if (pid < 0) {
		why = bench_fail("fork");
		goto out;
	}
	if (pid == 0) {
		for (long i = 0; i <= n; i++) {
			ssize_t got;
			do
				got = recv(fds[1], buf, size, 0);
			while (got < 0 && errno == EINTR);
			if (got != (ssize_t)size || send(fds[1], buf, size, 0) != (ssize_t)size)
				_exit(1);
		}
		_exit(0);
	}
	for (long i = 0; i <= n; i++) {
		if (i == 1)
			bench_start();
		if (send(fds[0], buf, size, 0) != (ssize_t)size) {
			why = bench_fail("UDP send");
			break;
		}
		ssize_t got;
		do
			got = recv(fds[0], buf, size, 0);
		while (got < 0 && errno == EINTR);
		if (got != (ssize_t)size) {
			if (got >= 0)
				errno = EIO;
			why = bench_fail("UDP receive of the answer");
			break;
		}
	}
	bench_stop();
	if (why) {
		kill(pid, SIGKILL);
		wait_ok(pid);
	} else if (wait_ok(pid) != 0) {
		why = bench_fail("UDP echo child status");
	}
out:
	close(fds[0]);
	close(fds[1]);
	return why;
}

static const char *case_udp_loopback_roundtrip(long n)
{
	return udp_pingpong(n, 1);
}

static const char *case_udp_loopback_1k(long n)
{
	return udp_pingpong(n, NET_DGRAM_MAX);
}

#endif
