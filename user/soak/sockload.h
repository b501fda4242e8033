/*
 * sockload.h - the soak's socket load (part of soak.c, included once after loads.h): rounds of
 * a child streaming a patterned byte stream of random-size writes to its parent, over an
 * AF_UNIX socketpair and then over a TCP connection on 127.0.0.1 (a fresh listener on an
 * ephemeral port each round), with the parent reading in random-size pieces and checking every
 * byte; then a burst of UDP datagrams on 127.0.0.1, each checked (loss allowed: UDP may drop
 * when the receive buffer is full, never corrupt). Descriptors, ports and buffers come and go
 * every round, so leaks show in the soak's memory check.
 */
#ifndef SOAK_SOCKLOAD_H
#define SOAK_SOCKLOAD_H

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#define SL_BYTES (512 << 10)

static unsigned char sl_byte(size_t k)
{
	return (unsigned char)(k * 7 + (k >> 9));
}

/* The sending child: SL_BYTES in random-size writes; 0, or the step that failed. */
static int sl_send(int fd)
{
	static unsigned char buf[70000];
	size_t sent = 0;
	while (sent < SL_BYTES) {
		size_t len = 1 + (size_t)(rnd() % sizeof buf);
		if (len > SL_BYTES - sent)
			len = SL_BYTES - sent;
		for (size_t k = 0; k < len; k++)
			buf[k] = sl_byte(sent + k);
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n <= 0)
			return 2;
		sent += (size_t)n;
	}
	return shutdown(fd, SHUT_WR) == 0 ? 0 : 3;
}

/* The parent's side of one stream: 0 if every byte arrived in order. */
static int sl_receive(const char *what, int fd, uint64_t *ops)
{
	static unsigned char buf[70000];
	size_t got = 0;
	for (;;) {
		size_t want = 1 + (size_t)(rnd() % sizeof buf);
		ssize_t n = recv(fd, buf, want, 0);
		if (n == 0)
			break;
		if (n < 0) {
			say("SOAK-ERROR socket: %s: recv: errno %d after %zu bytes\n", what, errno, got);
			return -1;
		}
		for (ssize_t k = 0; k < n; k++)
			if (buf[k] != sl_byte(got + (size_t)k)) {
				say("SOAK-ERROR socket: %s: byte %zu corrupt\n", what, got + (size_t)k);
				return -1;
			}
		got += (size_t)n;
		(*ops)++;
	}
	if (got != SL_BYTES) {
		say("SOAK-ERROR socket: %s: %zu of %d bytes\n", what, got, SL_BYTES);
		return -1;
	}
	return 0;
}

/* A child streaming into fds[1] while the parent checks fds[0]. */
static int sl_stream(const char *what, int rx, int tx, uint64_t *ops)
{
	pid_t pid = fork();
	if (pid == 0) {
		close(rx);
		_exit(sl_send(tx));
	}
	close(tx);
	int fails = pid < 0 || sl_receive(what, rx, ops) != 0;
	close(rx);
	if (pid > 0)
		fails += reap(what, pid, 0) != 0;
	return fails;
}

/* A connected TCP pair on 127.0.0.1 (listener closed again): 0 or -1. */
static int sl_tcp_pair(int fds[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) != 0) {
		if (l >= 0)
			close(l);
		return -1;
	}
	int c = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	if (c >= 0)
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a) != 0) {
		close(l);
		if (c >= 0)
			close(c);
		return -1;
	}
	int s = accept(l, NULL, NULL);
	close(l);
	if (s < 0) {
		close(c);
		return -1;
	}
	fds[0] = s;
	fds[1] = c;
	return 0;
}

/* 200 UDP datagrams of random sizes to ourselves on 127.0.0.1; every one that arrives intact. */
static int sl_udp(uint64_t *ops)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	if (u < 0 || bind(u, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(u, (struct sockaddr *)&a, &len) != 0) {
		say("SOAK-ERROR socket: udp: set-up: errno %d\n", errno);
		if (u >= 0)
			close(u);
		return 1;
	}
	static unsigned char out[1400], in[1500];
	int fails = 0;
	for (int i = 0; i < 200 && !fails; i++) {
		size_t n = 1 + (size_t)(rnd() % sizeof out);
		for (size_t k = 0; k < n; k++)
			out[k] = (unsigned char)(i + k * 3);
		if (sendto(u, out, n, 0, (struct sockaddr *)&a, sizeof a) != (ssize_t)n) {
			say("SOAK-ERROR socket: udp: sendto: errno %d\n", errno);
			fails++;
			break;
		}
		ssize_t r = recv(u, in, sizeof in, MSG_DONTWAIT);
		if (r < 0 && errno == EAGAIN)
			continue; /* dropped: allowed */
		if (r != (ssize_t)n || memcmp(in, out, n) != 0) {
			say("SOAK-ERROR socket: udp: datagram %d: %zd bytes, %zu sent\n", i, r, n);
			fails++;
		}
		(*ops)++;
	}
	close(u);
	return fails;
}

static int load_socket(uint64_t *ops)
{
	int fails = 0;
	while (running() && !fails) {
		int fds[2];
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) {
			if (errno == ENOSYS || errno == EAFNOSUPPORT)
				return 0;
			say("SOAK-ERROR socket: socketpair: errno %d\n", errno);
			return 1;
		}
		fails += sl_stream("unix", fds[0], fds[1], ops);
		if (sl_tcp_pair(fds) != 0) {
			say("SOAK-ERROR socket: tcp set-up: errno %d\n", errno);
			return fails + 1;
		}
		fails += sl_stream("tcp", fds[0], fds[1], ops);
		fails += sl_udp(ops);
	}
	return fails;
}

#endif
