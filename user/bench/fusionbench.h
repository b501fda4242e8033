/*
 * fusionbench.h - the Fusion Ring cases of the benchmark (issue 14), included once by bench.c,
 * and the Linux cases they are compared with that bench.c lacked. On Linux the fusion calls
 * answer ENOSYS, so the fusion cases report "unsupported" there; docs/ipc.md and the report's
 * "Fusion Rings" table compare them with the Linux IPC cases.
 *
 *   fusion_roundtrip        64-byte request and reply between two processes, blocking, with
 *                           the direct hand-off (fusion_call on both sides), one CPU
 *   fusion_poll_rt_2cpu     the same with both sides spinning on the ring (no system call;
 *                           fusion_rx_ready, then fusion_recv), each on its own CPU (needs
 *                           2 CPUs)
 *   futex_pingpong_2cpu     futex_pingpong on 2 CPUs (what the polling case is compared with)
 *   fusion_batch_64b        56-byte payloads (one 64-byte slot each) in batches of 1,000:
 *                           written by one process, read in place by another; per message
 *   fusion_grant_1m         1 MiB handed to the other process by a page grant (moved) and
 *                           accepted there; per transfer (the buffer travels back and forth)
 *   pipe_copy_1m            1 MiB written into a pipe and read by the other process
 *   pipe_msgs_64b           64-byte messages written into a pipe one by one and read one by
 *                           one by the other process (the batch case's comparison)
 *   fusion_rpc              RequestReplyChannel call (correlation id + 56-byte payload)
 *
 * Needs from bench.c: PAGE, wait_ok(), read_full()/write_full().
 */
#ifndef BENCH_FUSION_H
#define BENCH_FUSION_H

#include "bench.h"

#include <sys/mman.h>
#include <unistd.h>

#include "fusion.h"
#include "fusion_chan.h"

#define FB_MSG 56
#define FB_BATCH 1000
#define FB_GRANT (1ul << 20)

/* A ring pair for the cases, or the reason there is none. */
static const char *fb_create(uint32_t slots, int fds[2])
{
	int e = fusion_create_simple(slots, 1, 1, FUSION_KIND_DUPLEX, 0, fds);
	if (e < 0) {
		errno = -e;
		return bench_fail("fusion_create");
	}
	return NULL;
}

static const char *fb_open(struct fusion_ring *r, int fd)
{
	int e = fusion_open(r, fd);
	if (e < 0) {
		errno = -e;
		return bench_fail("fusion_open");
	}
	return NULL;
}

/* A ring of `slots` slots per lane between this process (end A, opened into *r) and a child
 * (end B) that runs child(ring, n) and exits with its result; *pid is the child. */
static const char *fb_pair(uint32_t slots, int (*child)(struct fusion_ring *, long), long n,
			   struct fusion_ring *r, pid_t *pid)
{
	int fds[2];
	const char *why = fb_create(slots, fds);
	if (why)
		return why;
	*pid = fork();
	if (*pid < 0)
		return bench_fail("fork");
	if (*pid == 0) {
		struct fusion_ring s;
		close(fds[0]);
		_exit(fusion_open(&s, fds[1]) < 0 ? 2 : child(&s, n));
	}
	close(fds[1]);
	return fb_open(r, fds[0]);
}

/* The serving side of the round trips: answers n + 1 requests (the warm-up one included). */
__attribute__((noinline, hot)) static int fb_serve(struct fusion_ring *r, long n)
{
	char req[FB_MSG], rep[FB_MSG];
	long got = fusion_recv_wait(r, 0, req, sizeof req, NULL, FUSION_FOREVER);
	for (long i = 0; i <= n && got >= 0; i++) {
		memcpy(rep, req, sizeof rep);
		rep[0]++;
		/* The reply and the wait for the next request in one call (hand-off). */
		got = i < n ? fusion_call(r, rep, sizeof rep, req, sizeof req, NULL, FUSION_FOREVER)
			    : fusion_send(r, 0, rep, sizeof rep, FUSION_MSG_DATA);
	}
	return got < 0 ? 1 : 0;
}

static const char *case_fusion_roundtrip(long n)
{
	struct fusion_ring r;
	pid_t pid;
	const char *why = fb_pair(64, fb_serve, n, &r, &pid);
	if (why)
		return why;
	char req[FB_MSG] = { 1 }, rep[FB_MSG];
	for (long i = 0; i <= n; i++) {
		if (i == 1)
			bench_start();
		long got = fusion_call(&r, req, sizeof req, rep, sizeof rep, NULL, FUSION_FOREVER);
		if (got != FB_MSG || rep[0] != req[0] + 1)
			return bench_fail("fusion_call");
	}
	bench_stop();
	fusion_close(&r);
	return wait_ok(pid) ? bench_fail("server status") : NULL;
}

/* The echoing side of the polling case: spins until a message is there, sends it back. */
static int fb_echo_spinning(struct fusion_ring *s, long n)
{
	char m[FB_MSG];
	for (long i = 0; i <= n; i++) {
		long got;
		while (!fusion_rx_ready(s, 0))
			__builtin_ia32_pause();
		if ((got = fusion_recv(s, 0, m, sizeof m, NULL)) < 0 || fusion_send(s, 0, m, (size_t)got, FUSION_MSG_DATA) < 0)
			return 1;
	}
	return 0;
}

/* Both sides spin on the ring: n + 1 round trips. */
static const char *case_fusion_poll_rt_2cpu(long n)
{
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return "needs 2 CPUs";
	struct fusion_ring r;
	pid_t pid;
	const char *why = fb_pair(64, fb_echo_spinning, n, &r, &pid);
	if (why)
		return why;
	char m[FB_MSG] = { 7 };
	for (long i = 0; i <= n; i++) {
		if (i == 1)
			bench_start();
		if (fusion_send(&r, 0, m, sizeof m, FUSION_MSG_DATA) < 0)
			return bench_fail("fusion_send");
		while (!fusion_rx_ready(&r, 0))
			__builtin_ia32_pause();
		if (fusion_recv(&r, 0, m, sizeof m, NULL) != FB_MSG)
			return bench_fail("fusion_recv");
	}
	bench_stop();
	fusion_close(&r);
	return wait_ok(pid) ? bench_fail("echo status") : NULL;
}

/* futex_pingpong (bench.c), on 2 CPUs only. */
static const char *case_futex_pingpong_2cpu(long n)
{
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return "needs 2 CPUs";
	return case_futex_pingpong(n);
}

/* The reading side of the batch case: `batches` batches of FB_BATCH messages, read in place;
 * the first words of each batch must add up to 0 + 1 + ... + 999. */
static int fb_read_batches(struct fusion_ring *s, long batches)
{
	uint64_t sum = 0;
	for (long b = 0; b < batches; b++) {
		long left = FB_BATCH;
		while (left > 0) {
			if (fusion_wait_data(s, 0, 0) < 0)
				return 3;
			struct fusion_rxc c;
			struct fusion_msg m;
			fusion_rx_begin(s, 0, &c);
			while (left > 0 && fusion_rx_next(s, &c, &m) > 0) {
				uint64_t w;
				memcpy(&w, m.data, sizeof w);
				sum += w;
				left--;
			}
			fusion_rx_end(s, &c);
		}
	}
	return sum == (uint64_t)batches * FB_BATCH * (FB_BATCH - 1) / 2 ? 0 : 4;
}

/* n messages (a multiple of FB_BATCH) in batches: the reader sums the first word of each. */
static const char *case_fusion_batch_64b(long n)
{
	long batches = (n + FB_BATCH - 1) / FB_BATCH;
	struct fusion_ring r;
	pid_t pid;
	const char *why = fb_pair(1024, fb_read_batches, batches, &r, &pid);
	if (why)
		return why;
	uint64_t msg[FB_MSG / 8] = { 0 };
	bench_start();
	for (long b = 0; b < batches; b++) {
		/* The whole batch must fit: wait until the reader took the previous one. */
		if (fusion_wait_space(&r, 0, FB_BATCH, 0) < 0)
			return bench_fail("fusion_wait_space");
		struct fusion_txc c;
		fusion_tx_begin(&r, 0, &c);
		for (long i = 0; i < FB_BATCH; i++) {
			msg[0] = (uint64_t)i;
			if (fusion_tx_put(&r, &c, msg, FB_MSG, FUSION_MSG_DATA))
				return bench_fail("fusion_tx_put");
		}
		if (fusion_tx_end(&r, &c) < 0)
			return bench_fail("fusion_tx_end");
	}
	int status = wait_ok(pid);
	bench_stop();
	fusion_close(&r);
	if (status)
		return bench_fail("reader status");
	/* Per message: the framework divides by n. */
	return NULL;
}

/* One side's part of the 1 MiB ping-pong: receive the grant, accept it, check a word, grant it
 * back. `first`: this side starts with the buffer. */
static long fb_grant_pingpong(struct fusion_ring *r, void *buf, long rounds, int first)
{
	char m[64];
	for (long i = 0; i < rounds; i++) {
		if (!first || i > 0) {
			unsigned kind = 0;
			long got = fusion_recv_wait(r, 0, m, sizeof m, &kind, FUSION_FOREVER);
			if (got < 0 || kind != FUSION_MSG_GRANT)
				return -1;
			struct fusion_accepted a;
			long addr = fusion_accept_msg(r, m, (size_t)got, &a, 0);
			if (addr < 0 || a.len != FB_GRANT)
				return -2;
			buf = (void *)addr;
			((volatile char *)buf)[FB_GRANT - 1]++;
		}
		if (first && i == 1)
			bench_start();
		if (fusion_send_pages(r, 0, buf, FB_GRANT, FUSION_GRANT_MOVE) < 0)
			return -3;
	}
	return 0;
}

/* The side of the grant case that starts without the buffer. */
static int fb_grant_peer(struct fusion_ring *s, long rounds)
{
	return fb_grant_pingpong(s, NULL, rounds, 0) < 0 ? 1 : 0;
}

/* n transfers of 1 MiB, alternately each way (n + 1 with the first). */
static const char *case_fusion_grant_1m(long n)
{
	long rounds = n / 2 + 1;
	struct fusion_ring r;
	pid_t pid;
	const char *why = fb_pair(64, fb_grant_peer, rounds, &r, &pid);
	if (why)
		return why;
	char *buf = mmap(NULL, FB_GRANT, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return bench_fail("mmap");
	memset(buf, 1, FB_GRANT);
	long e = fb_grant_pingpong(&r, buf, rounds, 1);
	if (e < 0) {
		errno = (int)-e;
		return bench_fail("grant ping-pong");
	}
	/* The last grant is the child's to take: wait for it to exit. */
	int status = wait_ok(pid);
	bench_stop();
	fusion_close(&r);
	/* 2 * rounds - 1 transfers measured, about n. */
	return status ? bench_fail("peer status") : NULL;
}

/* n writes of `size` bytes into a pipe, each read whole by the other process (`buf` holds at
 * least `size` bytes and is used by both sides). */
static const char *pipe_transfer(long n, char *buf, size_t size)
{
	int p[2];
	if (pipe(p) != 0)
		return bench_fail("pipe");
	memset(buf, 1, size);
	pid_t pid = fork();
	if (pid < 0)
		return bench_fail("fork");
	if (pid == 0) {
		close(p[1]);
		for (long i = 0; i < n; i++)
			if (read_full(p[0], buf, size) != 0)
				_exit(1);
		_exit(0);
	}
	close(p[0]);
	bench_start();
	for (long i = 0; i < n; i++)
		if (write_full(p[1], buf, size) != 0)
			return bench_fail("write");
	int status = wait_ok(pid);
	bench_stop();
	close(p[1]);
	return status ? bench_fail("reader status") : NULL;
}

/* n transfers of 1 MiB through a pipe. */
static const char *case_pipe_copy_1m(long n)
{
	static char buf[FB_GRANT];
	return pipe_transfer(n, buf, sizeof buf);
}

/* n 64-byte messages through a pipe, one write and one read each. */
static const char *case_pipe_msgs_64b(long n)
{
	static char buf[64];
	return pipe_transfer(n, buf, sizeof buf);
}

/* The server of the RPC case: n + 1 requests echoed. */
static int fb_rr_serve(struct fusion_ring *s, long n)
{
	struct fusion_rr srv;
	char m[FB_MSG];
	if (fusion_rr_init(&srv, s) < 0)
		return 2;
	for (long i = 0; i <= n; i++) {
		uint64_t id;
		long got = fusion_rr_recv(&srv, &id, m, sizeof m, FUSION_FOREVER);
		if (got < 0 || fusion_rr_reply(&srv, id, m, (size_t)got) < 0)
			return 1;
	}
	fusion_flush_wake(s);
	return 0;
}

/* RequestReplyChannel: n + 1 calls of a 48-byte request, echoed. */
static const char *case_fusion_rpc(long n)
{
	struct fusion_ring r;
	struct fusion_rr cli;
	pid_t pid;
	const char *why = fb_pair(64, fb_rr_serve, n, &r, &pid);
	if (why)
		return why;
	if (fusion_rr_init(&cli, &r) < 0)
		return bench_fail("fusion_rr_init");
	char req[FB_MSG - 8] = { 3 }, rep[FB_MSG];
	for (long i = 0; i <= n; i++) {
		if (i == 1)
			bench_start();
		long got = fusion_rr_call(&cli, req, sizeof req, rep, sizeof rep, FUSION_FOREVER);
		if (got != (long)sizeof req)
			return bench_fail("fusion_rr_call");
	}
	bench_stop();
	fusion_rr_fini(&cli);
	fusion_close(&r);
	return wait_ok(pid) ? bench_fail("server status") : NULL;
}

#endif /* BENCH_FUSION_H */
