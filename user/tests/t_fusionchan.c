/*
 * t_fusionchan - the channels and flow control of user/lib/fusion_chan.h over Fusion Rings:
 * priority order and its starvation guard, multicast to 3 subscriber processes and a slow
 * subscriber detecting lag, anycast's 4 policies, request/reply with correlation ids and a
 * timeout, credits holding a sender back, the coalesce controller's modes.
 * On Linux (ENOSYS) one "not_exo" case.
 */
#include "utest.h"
#include "fusion_chan.h"
#include "fusion_utest.h"

#define MS 1000000ull
#define TIMEOUT (10000 * MS)

static int open_pair(int fds[2], struct fusion_ring *a, struct fusion_ring *b)
{
	int e;
	if ((e = fusion_open(a, fds[0])) || (e = fusion_open(b, fds[1])))
		return e;
	return 0;
}

static void t_priority(void)
{
	int fds[2];
	struct fusion_ring a, b;
	if (fusion_prio_create(64, 0, 0, fds) || open_pair(fds, &a, &b))
		return utest_fail("prio", "create");
	static const unsigned order[] = { 4, 3, 0, 2, 1 };
	for (int k = 0; k < 5; k++)
		for (int i = 0; i < 3; i++) {
			uint32_t v = order[k] * 100 + (uint32_t)i;
			fusion_prio_send(&a, order[k], &v, sizeof v);
		}
	struct fusion_prio_rx p = { .r = &b, .guard = 1000 };
	char got[64] = "";
	int ok = 1;
	for (int i = 0; i < 15; i++) {
		uint32_t v = 0;
		unsigned cls = 9;
		long n = fusion_prio_recv(&p, &v, sizeof v, &cls);
		if (n != 4 || cls != (unsigned)i / 3 || v != cls * 100 + (unsigned)i % 3)
			ok = 0;
		got[i] = (char)('0' + (n == 4 ? (int)cls : 9));
	}
	CHECKF("prio_order", ok && fusion_prio_recv(&p, got + 20, 4, NULL) == -EAGAIN, "classes received: %s", got);

	/* Guard 4: a waiting Bulk message gets through after every 4 RealTime ones. */
	for (int i = 0; i < 12; i++)
		fusion_prio_send(&a, FUSION_PRIO_REALTIME, "r", 1);
	fusion_prio_send(&a, FUSION_PRIO_BULK, "b", 1);
	fusion_prio_send(&a, FUSION_PRIO_BULK, "b", 1);
	p.guard = 4;
	memset(got, 0, sizeof got);
	for (int i = 0; i < 14; i++) {
		char c = '?';
		fusion_prio_recv(&p, &c, 1, NULL);
		got[i] = c;
	}
	CHECKF("prio_starvation_guard", !strcmp(got, "rrrrbrrrrbrrrr") && p.guard_picks == 2, "order %s (want rrrrbrrrrbrrrr)",
	       got);

	/* Guard 4 with two busy classes above Bulk: Bulk is still served (each waiting class
	 * counts its own wait; serving High must not reset Bulk's). */
	struct fusion_prio_rx q = { .r = &b, .guard = 4 };
	for (int i = 0; i < 20; i++) {
		fusion_prio_send(&a, FUSION_PRIO_REALTIME, "r", 1);
		fusion_prio_send(&a, FUSION_PRIO_HIGH, "h", 1);
	}
	fusion_prio_send(&a, FUSION_PRIO_BULK, "b", 1);
	int bulk_at = -1;
	for (int i = 0; i < 30; i++) {
		char c = '?';
		fusion_prio_recv(&q, &c, 1, NULL);
		if (c == 'b' && bulk_at < 0)
			bulk_at = i;
	}
	CHECKF("prio_no_class_starves", bulk_at >= 0 && bulk_at <= 8, "Bulk first served at %d of 30 (want within 8)", bulk_at);
	char drain[8];
	while (fusion_prio_recv(&q, drain, sizeof drain, NULL) > 0)
		;
	fusion_close(&a);
	fusion_close(&b);
}

#define MC_MSGS 1000

static void t_multicast(void)
{
	int fds[2];
	struct fusion_ring pub;
	if (fusion_mc_create(4096, 0, fds) || fusion_mc_pub_open(&pub, fds[0]))
		return utest_fail("mc", "create");
	int ready[2];
	if (pipe(ready))
		return;
	pid_t pids[3];
	for (int s = 0; s < 3; s++) {
		pids[s] = fork();
		if (pids[s] == 0) {
			struct fusion_mc_sub sub;
			close(fds[0]); /* only the publisher holds end A: its close means EPIPE */
			if (fusion_mc_sub_open(&sub, fds[1], 1))
				_exit(2);
			if (write(ready[1], "r", 1) != 1)
				_exit(3);
			uint32_t want = 0;
			for (;;) {
				uint32_t v[16];
				long n = fusion_mc_recv_wait(&sub, v, sizeof v, NULL, TIMEOUT);
				if (n < 0)
					_exit(n == -EPIPE && want == MC_MSGS ? 0 : 4);
				if (n != (long)(4 + (v[0] % 13) * 4) || v[0] != want)
					_exit(5);
				want++;
			}
		}
	}
	char c;
	close(ready[1]);
	for (int s = 0; s < 3; s++)
		if (read(ready[0], &c, 1) != 1)
			break;
	close(fds[1]);
	uint32_t v[16];
	int pe = 0;
	for (uint32_t i = 0; i < MC_MSGS; i++) {
		v[0] = i;
		pe |= fusion_mc_publish(&pub, v, 4 + (i % 13) * 4, 0);
	}
	fusion_close(&pub); /* the subscribers see EPIPE once drained */
	int all = 1;
	for (int s = 0; s < 3; s++) {
		int st = utest_wait(pids[s]);
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			all = 0, utest_printf("# subscriber %d: %s\n", s, utest_wstr(st));
	}
	CHECKF("mc_three_subscribers", all && !pe, "publish error %d", pe);
	close(ready[0]);

	/* A slow subscriber: the publisher laps it; it learns how much it lost and goes on. */
	if (fusion_mc_create(64, 0, fds) || fusion_mc_pub_open(&pub, fds[0]))
		return utest_fail("mc_lag", "create");
	struct fusion_mc_sub sub;
	if (fusion_mc_sub_open(&sub, fds[1], 1))
		return utest_fail("mc_lag", "sub open");
	for (uint32_t i = 0; i < 500; i++)
		fusion_mc_publish(&pub, &i, 4, 0);
	long n = fusion_mc_recv(&sub, v, sizeof v, NULL);
	long n2 = fusion_mc_recv(&sub, v, sizeof v, NULL);
	CHECKF("mc_lag_detected", n == -ENOBUFS && sub.last_lost == 500 && n2 == -EAGAIN, "recv %ld lost %lu then %ld", n,
	       (unsigned long)sub.last_lost, n2);
	for (uint32_t i = 500; i < 520; i++)
		fusion_mc_publish(&pub, &i, 4, 0);
	int ok = 1;
	for (uint32_t i = 500; i < 520; i++)
		if (fusion_mc_recv(&sub, v, sizeof v, NULL) != 4 || v[0] != i)
			ok = 0;
	CHECK("mc_after_lag", ok);
	/* Lapped while reading a burst: messages keep their order, losses are counted. */
	for (uint32_t i = 520; i < 540; i++)
		fusion_mc_publish(&pub, &i, 4, 0);
	uint32_t last = 0, got = 0;
	ok = 1;
	for (int k = 0; k < 100; k++) {
		n = fusion_mc_recv(&sub, v, sizeof v, NULL);
		if (n == 4) {
			if (v[0] <= last && last)
				ok = 0;
			last = v[0];
			got++;
		}
		if (k == 5)
			for (uint32_t i = 540; i < 600; i++)
				fusion_mc_publish(&pub, &i, 4, 0);
	}
	CHECKF("mc_lag_midway", ok && sub.lag_events == 2 && got == 6 && sub.lost == 574 && last == 525,
	       "order ok %d, lag events %lu, got %u lost %lu last %u", ok, (unsigned long)sub.lag_events, got,
	       (unsigned long)sub.lost, last);
	fusion_close(&pub);
	fusion_close(&sub.r);
}

#define WORKERS 4

static void t_anycast(void)
{
	struct fusion_ring tx[WORKERS], rx[WORKERS];
	for (int w = 0; w < WORKERS; w++) {
		int fds[2];
		if (fusion_create_simple(64, 1, 1, 0, 0, fds) || open_pair(fds, &tx[w], &rx[w]))
			return utest_fail("anycast", "create");
	}
	struct fusion_anycast a;
	uint8_t buf[64];

	fusion_any_init(&a, tx, WORKERS, FUSION_ANY_ROUND_ROBIN, 1);
	char seq[16] = "";
	for (int i = 0; i < 8; i++)
		seq[i] = (char)('0' + fusion_any_send(&a, 0, "x", 1, TIMEOUT));
	for (int w = 0; w < WORKERS; w++)
		while (fusion_recv(&rx[w], 0, buf, sizeof buf, NULL) >= 0)
			;
	CHECKF("any_round_robin", !strcmp(seq, "01230123"), "workers %s", seq);

	fusion_any_init(&a, tx, WORKERS, FUSION_ANY_LEAST_LOADED, 1);
	static const int preload[WORKERS] = { 5, 3, 0, 1 };
	for (int w = 0; w < WORKERS; w++)
		for (int i = 0; i < preload[w]; i++)
			fusion_send(&tx[w], 0, "p", 1, 0);
	int first = fusion_any_send(&a, 0, "x", 1, TIMEOUT);
	int second = fusion_any_send(&a, 0, "x", 1, TIMEOUT); /* 2 and 3 now both hold 1 */
	int third = fusion_any_send(&a, 0, "x", 1, TIMEOUT);
	CHECKF("any_least_loaded", first == 2 && (second == 3 || second == 2) && third != 0 && third != 1,
	       "picked %d %d %d", first, second, third);
	for (int w = 0; w < WORKERS; w++)
		while (fusion_recv(&rx[w], 0, buf, sizeof buf, NULL) >= 0)
			;

	fusion_any_init(&a, tx, WORKERS, FUSION_ANY_RANDOM, 12345);
	int count[WORKERS] = { 0 };
	for (int i = 0; i < 400; i++) {
		int w = fusion_any_send(&a, 0, "x", 1, TIMEOUT);
		if (w >= 0 && w < WORKERS)
			count[w]++;
		if (i % 40 == 39)
			for (int k = 0; k < WORKERS; k++)
				while (fusion_recv(&rx[k], 0, buf, sizeof buf, NULL) >= 0)
					;
	}
	int spread = 1;
	for (int w = 0; w < WORKERS; w++)
		spread &= count[w] >= 50 && count[w] <= 150;
	CHECKF("any_random", spread, "counts %d %d %d %d", count[0], count[1], count[2], count[3]);

	fusion_any_init(&a, tx, WORKERS, FUSION_ANY_STICKY, 1);
	int owner[10], sticky = 1, used = 0;
	for (int k = 0; k < 10; k++)
		owner[k] = -1;
	for (int i = 0; i < 50; i++) {
		uint64_t key = (uint64_t)(i % 10) * 7919;
		int w = fusion_any_send(&a, key, &key, sizeof key, TIMEOUT);
		if (owner[i % 10] < 0)
			owner[i % 10] = w, used |= 1 << w;
		else if (owner[i % 10] != w)
			sticky = 0;
	}
	/* And every worker received only keys it owns. */
	for (int w = 0; w < WORKERS; w++) {
		uint64_t key;
		while (fusion_recv(&rx[w], 0, &key, sizeof key, NULL) == 8)
			if (owner[(key / 7919) % 10] != w)
				sticky = 0;
	}
	CHECKF("any_sticky", sticky && __builtin_popcount((unsigned)used) >= 2, "sticky %d, workers used mask %x", sticky,
	       used);
	for (int w = 0; w < WORKERS; w++) {
		fusion_close(&tx[w]);
		fusion_close(&rx[w]);
	}
}

static void t_reqreply(void)
{
	int fds[2];
	struct fusion_ring a;
	if (fusion_create_simple(64, 1, 1, 0, 0, fds) || fusion_open(&a, fds[0]))
		return utest_fail("rr", "create");
	pid_t pid = fork();
	if (pid == 0) {
		struct fusion_ring s;
		struct fusion_rr srv;
		close(fds[0]);
		if (fusion_open(&s, fds[1]) || fusion_rr_init(&srv, &s))
			_exit(2);
		for (;;) {
			uint64_t id;
			int64_t req[2];
			long n = fusion_rr_recv(&srv, &id, req, sizeof req, TIMEOUT);
			if (n == -EPIPE)
				_exit(0);
			if (n != 16)
				_exit(3);
			if (req[0] < 0)
				utest_sleep_ms(-req[0]);
			int64_t sum = req[0] + req[1];
			if (fusion_rr_reply(&srv, id, &sum, sizeof sum))
				_exit(4);
		}
	}
	close(fds[1]);
	struct fusion_rr c;
	fusion_rr_init(&c, &a);
	int ok = 1;
	for (int64_t i = 0; i < 200 && ok; i++) {
		int64_t req[2] = { i, 1000 * i }, sum = -1;
		long n = fusion_rr_call(&c, req, sizeof req, &sum, sizeof sum, TIMEOUT);
		ok = n == 8 && sum == 1001 * i;
	}
	CHECKF("rr_calls", ok, "a reply was wrong");
	int64_t slow[2] = { -300, 300 }, sum = -1;
	int64_t t0 = utest_now_ns(CLOCK_MONOTONIC);
	long n = fusion_rr_call(&c, slow, sizeof slow, &sum, sizeof sum, 50 * MS);
	int64_t took = (utest_now_ns(CLOCK_MONOTONIC) - t0) / 1000000;
	CHECKF("rr_timeout", n == -ETIMEDOUT && took >= 45 && took < 1000, "call=%ld after %ld ms", n, (long)took);
	int64_t req[2] = { 5, 6 };
	n = fusion_rr_call(&c, req, sizeof req, &sum, sizeof sum, TIMEOUT);
	CHECKF("rr_stale_dropped", n == 8 && sum == 11 && c.stale == 1, "call=%ld sum %ld stale %lu", n, (long)sum,
	       (unsigned long)c.stale);
	fusion_rr_fini(&c);
	fusion_close(&a);
	utest_check_exit("rr_server", utest_wait(pid), 0);
}

static void t_credit(void)
{
	int fds[2];
	struct fusion_ring a;
	if (fusion_create_simple(64, 1, 1, 0, 0, fds) || fusion_open(&a, fds[0]))
		return utest_fail("credit", "create");
	struct fusion_credit cr;
	fusion_credit_init(&cr, &a, 4, 1 << 20);
	int r[5];
	for (int i = 0; i < 5; i++)
		r[i] = fusion_credit_send(&cr, 0, "abcd", 4, 0, 20 * MS);
	CHECKF("credit_msgs_window", !r[0] && !r[1] && !r[2] && !r[3] && r[4] == -ETIMEDOUT && cr.blocked == 1,
	       "sends %d %d %d %d %d", r[0], r[1], r[2], r[3], r[4]);

	/* A consumer that starts late: the sender waits, in flight never passes the window. */
	pid_t pid = fork();
	if (pid == 0) {
		struct fusion_ring b;
		if (fusion_open(&b, fds[1]))
			_exit(2);
		utest_sleep_ms(150);
		char buf[128];
		for (int i = 0; i < 24; i++) {
			if (fusion_rx_pending(&b) > 6) /* 4 left over + 2 x 40 bytes */
				_exit(3);
			if (fusion_recv_wait(&b, 0, buf, sizeof buf, NULL, TIMEOUT) < 0)
				_exit(4);
		}
		_exit(0);
	}
	close(fds[1]);
	fusion_credit_init(&cr, &a, 100, 100); /* now bytes are the tighter window: 2 x 40 */
	int64_t t0 = utest_now_ns(CLOCK_MONOTONIC);
	int err = 0;
	char msg[40] = "m";
	for (int i = 0; i < 20 && !err; i++)
		err = fusion_credit_send(&cr, 0, msg, sizeof msg, 0, TIMEOUT);
	int64_t took = (utest_now_ns(CLOCK_MONOTONIC) - t0) / 1000000;
	CHECKF("credit_blocks_sender", !err && cr.blocked >= 1 && took >= 100, "error %d, blocked %lu, %ld ms", err,
	       (unsigned long)cr.blocked, (long)took);
	utest_check_exit("credit_consumer", utest_wait(pid), 0);
	fusion_close(&a);
}

static void t_coalesce(void)
{
	int fds[2];
	struct fusion_ring a, b;
	if (fusion_create_simple(256, 1, 1, 0, 0, fds) || open_pair(fds, &a, &b))
		return utest_fail("coalesce", "create");
	struct fusion_coalesce co;
	uint8_t buf[64];
	uint64_t rings[5];
	static const unsigned modes[4] = { FUSION_CO_IMMEDIATE, FUSION_CO_BATCHED, FUSION_CO_TIMED, FUSION_CO_TIMED };
	static const uint64_t cycles[4] = { 0, 0, UINT64_MAX / 2, 0 };
	for (int m = 0; m < 4; m++) {
		fusion_co_init(&co, &a, modes[m], 8, cycles[m], 1000);
		for (int i = 0; i < 20; i++)
			fusion_co_send(&co, 0, "x", 1, 0);
		fusion_co_flush(&co);
		rings[m] = co.rings;
		while (fusion_recv(&b, 0, buf, sizeof buf, NULL) >= 0)
			;
	}
	CHECKF("co_immediate", rings[0] == 20, "rings %lu", (unsigned long)rings[0]);
	CHECKF("co_batched", rings[1] == 3, "rings %lu (20 messages, every 8, then flush)", (unsigned long)rings[1]);
	CHECKF("co_timed", rings[2] == 1 && rings[3] == 20, "rings %lu (long timer) and %lu (zero timer)",
	       (unsigned long)rings[2], (unsigned long)rings[3]);
	fusion_co_init(&co, &a, FUSION_CO_ADAPTIVE, 8, 0, 1ull << 40); /* sends come faster than a wake-up */
	for (int i = 0; i < 40; i++)
		fusion_co_send(&co, 0, "x", 1, 0);
	int fast_batched = co.adaptive_batched;
	rings[4] = co.rings;
	fusion_co_flush(&co);
	while (fusion_recv(&b, 0, buf, sizeof buf, NULL) >= 0)
		;
	fusion_co_init(&co, &a, FUSION_CO_ADAPTIVE, 8, 0, 1); /* wake-ups are "free": immediate */
	for (int i = 0; i < 10; i++)
		fusion_co_send(&co, 0, "x", 1, 0);
	CHECKF("co_adaptive", fast_batched && rings[4] >= 5 && rings[4] <= 10 && !co.adaptive_batched && co.rings == 10,
	       "fast: batched %d rings %lu; slow: batched %d rings %lu", fast_batched, (unsigned long)rings[4],
	       co.adaptive_batched, (unsigned long)co.rings);
	while (fusion_recv(&b, 0, buf, sizeof buf, NULL) >= 0)
		;
	fusion_unmap(&b);

	/* A sleeping receiver gets everything: batched doorbells lose no wake-up. */
	pid_t pid = fork();
	if (pid == 0) {
		struct fusion_ring c;
		if (fusion_open(&c, fds[1]))
			_exit(2);
		for (int i = 0; i < 100; i++) {
			uint32_t v;
			if (fusion_recv_wait(&c, 0, &v, sizeof v, NULL, 5000 * MS) != 4 || v != (uint32_t)i)
				_exit(3);
		}
		_exit(0);
	}
	fusion_co_init(&co, &a, FUSION_CO_BATCHED, 7, 0, 0);
	for (uint32_t i = 0; i < 100; i++) {
		fusion_co_send(&co, 0, &i, 4, 0);
		if (i % 10 == 9)
			utest_sleep_ms(5);
	}
	fusion_co_flush(&co);
	utest_check_exit("co_batched_no_lost_wakeup", utest_wait(pid), 0);
	fusion_close(&a);
	close(fds[1]);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	fusion_utest_require();
	t_priority();
	t_multicast();
	t_anycast();
	t_reqreply();
	t_credit();
	t_coalesce();
	return utest_done();
}
