/*
 * netsend - sends MIB mebibytes of zeros to a TCP server, for `cargo xtask bench --net` (the
 * virtio-net throughput, guest to host; docs/net-testing.md).
 *
 *     netsend HOST PORT MIB [CHUNK_KIB]
 *
 * Connects to HOST:PORT (IPv4 dotted quad), writes MIB MiB in CHUNK_KIB KiB writes (default
 * 64), half-closes, and waits for the server to close (so every byte has been taken), then
 * prints one line on stdout:
 *     NETSEND bytes=<n> ns=<CLOCK_MONOTONIC from connect to the server's close> MBps=<x>
 * or "NETSEND error <what>: <strerror>" and exits 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static char buf[1024 * 1024];

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int fail(const char *what)
{
	printf("NETSEND error %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: netsend HOST PORT MIB [CHUNK_KIB]\n");
		return 2;
	}
	long port = strtol(argv[2], NULL, 10), mib = strtol(argv[3], NULL, 10);
	long chunk = argc > 4 ? strtol(argv[4], NULL, 10) * 1024 : 64 * 1024;
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	if (port <= 0 || port > 65535 || mib <= 0 || chunk <= 0 || chunk > (long)sizeof buf ||
	    inet_pton(AF_INET, argv[1], &a.sin_addr) != 1) {
		fprintf(stderr, "netsend: bad arguments\n");
		return 2;
	}
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return fail("socket");
	uint64_t t0 = now_ns();
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
		return fail("connect");
	uint64_t total = (uint64_t)mib << 20, sent = 0;
	while (sent < total) {
		size_t n = total - sent < (uint64_t)chunk ? (size_t)(total - sent) : (size_t)chunk;
		ssize_t w = write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return fail("write");
		sent += (uint64_t)w;
	}
	if (shutdown(fd, SHUT_WR) != 0)
		return fail("shutdown");
	for (;;) { /* the server closes once it has everything */
		ssize_t r = read(fd, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fail("read");
		if (r == 0)
			break;
	}
	uint64_t ns = now_ns() - t0;
	close(fd);
	uint64_t mbps10 = sent * 10000ull / (ns ? ns : 1); /* 10 x bytes per us */
	printf("NETSEND bytes=%llu ns=%llu MBps=%llu.%llu\n", (unsigned long long)sent, (unsigned long long)ns,
	       (unsigned long long)(mbps10 / 10), (unsigned long long)(mbps10 % 10));
	return 0;
}
