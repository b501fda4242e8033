/*
 * t_fusionhostile - a malicious Fusion Ring peer. First precise corruptions (a head ahead of
 * the ring, a head moving backwards, a header length beyond the lane or beyond what was
 * published, a tail ahead of the head): the library must answer -EPROTO, stay broken and cut
 * the peer off (its waits give EPIPE). Then a child that writes random words over everything
 * its end may write (indices, headers, lengths, POST/TAKEN, the histogram) while the parent
 * sends and receives with timeouts: the parent sees only data or errors (EPROTO, EPIPE,
 * ETIMEDOUT), never crashes or hangs, and the kernel still works afterwards.
 * On Linux (ENOSYS) one "not_exo" case.
 */
#include "utest.h"
#include "fusion.h"
#include "fusion_utest.h"
#include <sched.h>

#define MS 1000000ull

static int fresh(struct fusion_ring *a, struct fusion_ring *b, int fds[2])
{
	int e = fusion_create_simple(64, 1, 1, 0, 0, fds);
	if (e)
		return e;
	if ((e = fusion_open(a, fds[0])) || (e = fusion_open(b, fds[1])))
		return e;
	return 0;
}
static void done(struct fusion_ring *a, struct fusion_ring *b)
{
	fusion_close(a);
	fusion_close(b);
}
/* The words end B may write: its producer page (B->A) and its consumer page (A->B). */
static volatile uint64_t *bprod(struct fusion_ring *b)
{
	return (volatile uint64_t *)b->tx_prod;
}
static volatile uint64_t *bcons(struct fusion_ring *b)
{
	return (volatile uint64_t *)b->rx_cons;
}

static void t_precise(void)
{
	struct fusion_ring a, b;
	int fds[2];
	uint8_t buf[4096];

	if (fresh(&a, &b, fds))
		return utest_fail("precise", "ring");
	bprod(&b)[FUSION_P_HEAD] = 65; /* more than the 64 slots ahead of A's tail 0 */
	bprod(&b)[FUSION_P_POST] = 1;
	long n1 = fusion_recv(&a, 0, buf, sizeof buf, NULL);
	long n2 = fusion_recv(&a, 0, buf, sizeof buf, NULL);
	int w = fusion_wait(fds[1], FUSION_WAIT_DATA, 0, 0);
	CHECKF("head_ahead", n1 == -EPROTO && n2 == -EPROTO && a.broken, "recv %ld then %ld", n1, n2);
	CHECKF("broken_cuts_peer_off", w == -EPIPE && (fusion_state(&a) & FUSION_STATE_SHUTDOWN),
	       "peer's wait %d state %lx", w, (unsigned long)fusion_state(&a));
	CHECK_EQ("broken_send", fusion_send(&a, 0, "x", 1, 0), -EPROTO);
	done(&a, &b);

	if (fresh(&a, &b, fds))
		return;
	for (int i = 0; i < 10; i++)
		fusion_send(&b, 0, "abcdefgh", 8, 0);
	long n = fusion_recv(&a, 0, buf, sizeof buf, NULL);
	bprod(&b)[FUSION_P_HEAD] = 0; /* backwards, below A's tail */
	int valid = 0; /* the 9 messages below the validated head stay readable */
	while (n >= 0 && valid < 20) {
		n = fusion_recv(&a, 0, buf, sizeof buf, NULL);
		valid += n >= 0;
	}
	CHECKF("head_backwards", n == -EPROTO && valid == 9, "recv=%ld after %d messages", n, valid);
	done(&a, &b);

	if (fresh(&a, &b, fds))
		return;
	fusion_send(&b, 0, "x", 1, 0);
	*(volatile uint64_t *)b.tx_lane[0] = 60000; /* longer than the lane */
	CHECK_EQ("len_beyond_lane", fusion_recv(&a, 0, buf, sizeof buf, NULL), -EPROTO);
	done(&a, &b);

	if (fresh(&a, &b, fds))
		return;
	fusion_send(&b, 0, "x", 1, 0);
	*(volatile uint64_t *)b.tx_lane[0] = 300; /* 6 slots, 1 published */
	CHECK_EQ("len_beyond_published", fusion_recv(&a, 0, buf, sizeof buf, NULL), -EPROTO);
	done(&a, &b);

	if (fresh(&a, &b, fds))
		return;
	struct fusion_msg m;
	fusion_send(&b, 0, buf, 3000, 0);
	int pk = fusion_peek(&a, 0, &m);
	CHECKF("peek_in_mapping", pk == 1 && m.data >= a.map && m.data + m.len <= a.map + a.size, "peek %d", pk);
	done(&a, &b);

	if (fresh(&a, &b, fds))
		return;
	bcons(&b)[FUSION_C_TAIL] = 5; /* ahead of A's head 0 */
	int s = fusion_send(&a, 0, "x", 1, 0);
	CHECKF("tail_ahead", s == -EPROTO, "send=%d", s);
	done(&a, &b);

	if (fresh(&a, &b, fds))
		return;
	for (int i = 0; i < 64; i++)
		fusion_send(&a, 0, "x", 1, 0);
	bcons(&b)[FUSION_C_TAIL] = (uint64_t)-1000; /* "consumed" far more than was sent */
	bcons(&b)[FUSION_C_TAKEN] = 12345;
	s = fusion_send_wait(&a, 0, "x", 1, 0, 100 * MS);
	CHECKF("tail_wild", s == -EPROTO, "send_wait=%d", s);
	done(&a, &b);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* The child: scribbles over everything its end may write, now and then sending for real. */
static void scribbler(int fd, int ms)
{
	struct fusion_ring c;
	if (fusion_open(&c, fd))
		_exit(2);
	rng_state ^= (uint64_t)getpid() << 20;
	volatile uint64_t *prod = (volatile uint64_t *)c.tx_prod, *cons = (volatile uint64_t *)c.rx_cons;
	volatile uint64_t *slots = (volatile uint64_t *)c.tx_lane[0];
	uint64_t nslots_words = (uint64_t)c.slots * 8 * c.lanes_tx;
	int64_t end = utest_now_ns(CLOCK_MONOTONIC) + (int64_t)ms * 1000000;
	uint8_t buf[512];
	memset(buf, 0xab, sizeof buf);
	while (utest_now_ns(CLOCK_MONOTONIC) < end) {
		for (int k = 0; k < 64; k++) {
			uint64_t r = rnd(), v = rnd();
			switch (r & 7) {
			case 0: /* small deltas are the nastiest: they look almost valid */
				prod[(r >> 8) % 16] += (v & 0xff) - 0x80;
				break;
			case 1:
				prod[(r >> 8) % 512] = v;
				break;
			case 2:
				cons[(r >> 8) % 48] += (v & 0xff) - 0x80;
				break;
			case 3:
				cons[(r >> 8) % 512] = v;
				break;
			case 4: /* a header with a plausible length */
				slots[((r >> 8) % (nslots_words / 8)) * 8] = (v & 0xffff0000ffff0000ull) | ((v >> 16) % 700);
				break;
			case 5:
				slots[(r >> 8) % nslots_words] = v;
				break;
			default:
				fusion_send(&c, (unsigned)(v % c.lanes_tx), buf, (size_t)(v >> 8) % 300, 0);
				if ((v >> 40) % 4 == 0)
					fusion_wake(fd, FUSION_WAKE_DATA | FUSION_WAKE_SPACE);
				break;
			}
		}
		sched_yield();
	}
	_exit(0);
}

static void t_random(void)
{
	int rounds = 16, bad = 0, proto = 0, epipe = 0, datas = 0, other = 0, child_bad = 0;
	int64_t t0 = utest_now_ns(CLOCK_MONOTONIC);
	int64_t worst = 0;
	for (int round = 0; round < rounds; round++) {
		int fds[2];
		struct fusion_ring a;
		if (fusion_create_simple(64, 2, 2, 0, 0, fds) || fusion_open(&a, fds[0])) {
			bad++;
			continue;
		}
		pid_t pid = fork();
		if (pid == 0) {
			close(fds[0]);
			scribbler(fds[1], 250);
		}
		close(fds[1]);
		uint8_t buf[70000];
		int64_t end = utest_now_ns(CLOCK_MONOTONIC) + 400 * 1000000ll;
		int stop = 0;
		while (!stop && utest_now_ns(CLOCK_MONOTONIC) < end) {
			int64_t s0 = utest_now_ns(CLOCK_MONOTONIC);
			uint64_t r = rnd();
			long res;
			if (r & 1) {
				res = fusion_send_wait(&a, (unsigned)(r >> 1) & 1, buf, (size_t)(r >> 8) % 400, 0, 10 * MS);
			} else {
				res = fusion_recv_wait(&a, (unsigned)(r >> 1) & 1, buf, sizeof buf, NULL, 10 * MS);
				if (res > (long)a.max_msg)
					bad++;
			}
			int64_t took = utest_now_ns(CLOCK_MONOTONIC) - s0;
			if (took > worst)
				worst = took;
			if (res >= 0)
				datas++;
			else if (res == -EPROTO)
				proto++, stop = a.broken != 0;
			else if (res == -EPIPE)
				epipe++, stop = 1;
			else if (res != -ETIMEDOUT && res != -EAGAIN && res != -EINTR)
				other++, utest_printf("# unexpected result %ld\n", res);
		}
		int st = utest_wait(pid);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			child_bad++;
		fusion_close(&a);
	}
	int64_t ms = (utest_now_ns(CLOCK_MONOTONIC) - t0) / 1000000;
	CHECKF("random_scribbler", bad == 0 && other == 0 && child_bad == 0 && proto > 0,
	       "bad %d unexpected %d child_bad %d; %d data, %d EPROTO, %d EPIPE", bad, other, child_bad, datas, proto, epipe);
	CHECKF("random_no_hang", worst < 2000 * (int64_t)MS, "slowest call %ld ms", (long)(worst / 1000000));
	utest_printf("# t_fusionhostile: %d rounds in %ld ms: %d data, %d EPROTO, %d EPIPE, slowest call %ld us\n", rounds,
		     (long)ms, datas, proto, epipe, (long)(worst / 1000));

	/* The kernel still works. */
	struct fusion_ring a, b;
	int fds[2];
	char out[16];
	int ok = fresh(&a, &b, fds) == 0 && fusion_send(&a, 0, "alive", 5, 0) == 0 &&
		 fusion_recv(&b, 0, out, sizeof out, NULL) == 5 && !memcmp(out, "alive", 5);
	CHECK("kernel_survives", ok);
	done(&a, &b);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	fusion_utest_require();
	t_precise();
	t_random();
	return utest_done();
}
