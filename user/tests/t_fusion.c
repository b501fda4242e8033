/*
 * t_fusion - Fusion Rings (Exo-OS native IPC) through user/lib/fusion.h: create/map/info, end
 * descriptors (fork, O_CLOEXEC across exec, poll/epoll, read/write), rights (EPERM, SIGSEGV on
 * pages an end may not write, DUP never grows), grants (move 1 MiB, share read-only, a pipe
 * end, a ring end with fewer rights), a peer exiting mid-transfer (EPIPE, no leaked memory) and
 * 1,000,000 messages of random sizes between two processes.
 * On Linux the fusion calls answer ENOSYS: one "not_exo" case, everything else skipped.
 */
#include "utest.h"
#include "fusion.h"
#include "fusion_utest.h"
#include <poll.h>
#include <sys/epoll.h>
#include <sys/sysinfo.h>

#define TIMEOUT (10ull * 1000000000ull)

static void fill_pattern(uint8_t *p, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 8));
}

/* Opens both ends of a new ring (2 lanes: 1 each way); 0 or -errno. */
static int pair(uint32_t slots, int fds[2], struct fusion_ring *a, struct fusion_ring *b)
{
	int e = fusion_create_simple(slots, 1, 1, FUSION_KIND_DUPLEX, 0, fds);
	if (e)
		return e;
	if ((e = fusion_open(a, fds[0])) || (e = fusion_open(b, fds[1])))
		return e;
	return 0;
}
static void unpair(int fds[2], struct fusion_ring *a, struct fusion_ring *b)
{
	fusion_close(a);
	fusion_close(b);
	(void)fds;
}

static void t_create(void)
{
	int fds[2];
	struct fusion_params bad = { 12, 1, 1, 0, 0, 0, FUSION_RIGHTS_ALL, FUSION_RIGHTS_ALL, 0 };
	CHECK_EQ("create_bad_slots", fusion_create(&bad, fds), -EINVAL);
	bad.slots = 64;
	bad.lanes_ab = 9;
	CHECK_EQ("create_bad_lanes", fusion_create(&bad, fds), -EINVAL);

	struct fusion_params p = { 256, 2, 1, 0, 0, 0, FUSION_RIGHTS_ALL, FUSION_RIGHT_SEND | FUSION_RIGHT_RECV, 0 };
	int e = fusion_create(&p, fds);
	if (!CHECKF("create", e == 0 && fds[0] >= 0 && fds[1] >= 0, "fusion_create=%d fds %d %d", e, fds[0], fds[1]))
		return;
	struct fusion_info ia, ib;
	struct fusion_layout l;
	fusion_layout(256, 2, 1, &l);
	int ea = fusion_info(fds[0], &ia), eb = fusion_info(fds[1], &ib);
	CHECKF("info", ea == 0 && eb == 0 && ia.size == l.size && ia.slots == 256 && ia.side == 0 && ib.side == 1 &&
			       ia.rights == FUSION_RIGHTS_ALL && ib.rights == 3 && ia.lanes_ab == 2 && ia.lanes_ba == 1 &&
			       ia.kind == 0 && ia.id == ib.id && ia.state == 0,
	       "info %d/%d size %lu (want %lu) slots %u sides %u/%u rights %x/%x lanes %u/%u state %lu", ea, eb,
	       (unsigned long)ia.size, (unsigned long)l.size, ia.slots, ia.side, ib.side, ia.rights, ib.rights,
	       ia.lanes_ab, ia.lanes_ba, (unsigned long)ia.state);
	struct fusion_ring a, b;
	int oa = fusion_open(&a, fds[0]), ob = fusion_open(&b, fds[1]);
	if (!CHECKF("map", oa == 0 && ob == 0, "fusion_open A=%d B=%d", oa, ob))
		return;
	CHECKF("map_kpage", a.kp[FUSION_K_ENDS_A] >= 1 && a.kp[FUSION_K_ENDS_B] >= 1 && a.map != b.map,
	       "ends %lu/%lu", (unsigned long)a.kp[FUSION_K_ENDS_A], (unsigned long)a.kp[FUSION_K_ENDS_B]);
	CHECK_EQ("map_bad_flags", fusion_map(fds[0], NULL, 1), -EINVAL);

	/* Messages both ways, every lane, sizes crossing slots and the lane's end. */
	uint8_t out[4096], in[4096];
	int bad_msgs = 0;
	for (int i = 0; i < 600; i++) {
		size_t len = (size_t)(i * 37) % 3000;
		unsigned lane = (unsigned)i & 1, kind = 0;
		fill_pattern(out, len, (uint64_t)i);
		int s = fusion_send(&a, lane, out, len, 0x42);
		long n = fusion_recv(&b, lane, in, sizeof in, &kind);
		if (s || n != (long)len || kind != 0x42 || memcmp(in, out, len))
			bad_msgs++;
		s = fusion_send(&b, 0, out, len % 500, 0);
		n = fusion_recv(&a, 0, in, sizeof in, NULL);
		if (s || n != (long)(len % 500) || memcmp(in, out, len % 500))
			bad_msgs++;
	}
	CHECKF("send_recv", bad_msgs == 0, "%d bad messages", bad_msgs);
	CHECK_EQ("recv_empty", fusion_recv(&b, 0, in, sizeof in, NULL), -EAGAIN);
	int k = 0;
	while (fusion_send(&a, 0, out, 8, 0) == 0)
		k++;
	CHECKF("full", k == 256 && fusion_send(&a, 0, out, 8, 0) == -EAGAIN, "%d messages fit (256 slots)", k);
	CHECK_EQ("msgsize", fusion_send(&a, 1, out, 70000, 0), -EMSGSIZE);
	errno = 0;
	long rr = read(fds[0], in, 8);
	int re = errno;
	errno = 0;
	long ww = write(fds[1], out, 8);
	int we = errno;
	CHECKF("read_einval", rr == -1 && re == EINVAL, "read=%ld errno %s", rr, utest_errname(re));
	CHECKF("write_einval", ww == -1 && we == EINVAL, "write=%ld errno %s", ww, utest_errname(we));
	uint64_t hist = 0;
	for (int i = 0; i < FUSION_C_HIST_BUCKETS; i++)
		hist += b.rx_cons[FUSION_C_HIST + i];
	CHECKF("latency_hist", hist == 600, "histogram counts %lu messages, want 600", (unsigned long)hist);
	unpair(fds, &a, &b);
}

/* A child inherits an end over fork and talks through it. */
static void t_fork(void)
{
	int fds[2];
	struct fusion_ring a, b;
	if (pair(64, fds, &a, &b))
		return utest_fail("fork", "pair");
	pid_t pid = fork();
	if (pid == 0) {
		struct fusion_ring c;
		if (fusion_open(&c, fds[1]))
			_exit(2);
		char buf[64];
		long n = fusion_recv_wait(&c, 0, buf, sizeof buf, NULL, TIMEOUT);
		if (n != 4 || memcmp(buf, "ping", 4))
			_exit(3);
		_exit(fusion_send_wait(&c, 0, "pong!", 5, 0, TIMEOUT) ? 4 : 0);
	}
	char buf[64];
	long n = fusion_call(&a, "ping", 4, buf, sizeof buf, NULL, TIMEOUT);
	CHECKF("fork_call", n == 5 && !memcmp(buf, "pong!", 5), "fusion_call=%ld", n);
	utest_check_exit("fork_child", utest_wait(pid), 0);
	unpair(fds, &a, &b);
}

/* O_CLOEXEC ends vanish over exec, others stay (echoargs lists the open descriptors). */
static void t_cloexec(void)
{
	int fds[2];
	if (fusion_create_simple(64, 1, 1, 0, O_CLOEXEC, fds))
		return utest_fail("cloexec", "create");
	int keep = fusion_dup(fds[0], FUSION_RIGHTS_ALL, 0);
	int keep_ce = fusion_dup(fds[0], FUSION_RIGHTS_ALL, O_CLOEXEC);
	const char *out = "/tmp/t_fusion.echo";
	pid_t pid = fork();
	if (pid == 0) {
		char *argv[] = { "echoargs", NULL };
		char env[128];
		snprintf(env, sizeof env, "ECHOARGS_OUT=%s", out);
		char *envp[] = { env, NULL };
		execve(utest_path("/bin/echoargs"), argv, envp);
		_exit(127);
	}
	int st = utest_wait(pid);
	char text[8192] = "";
	FILE *f = fopen(out, "r");
	if (f) {
		size_t n = fread(text, 1, sizeof text - 1, f);
		text[n] = 0;
		fclose(f);
	}
	unlink(out);
	char k1[32], k2[32], k3[32], k4[32];
	snprintf(k1, sizeof k1, "\nfd%d=", fds[0]);
	snprintf(k2, sizeof k2, "\nfd%d=", fds[1]);
	snprintf(k3, sizeof k3, "\nfd%d=0", keep);
	snprintf(k4, sizeof k4, "\nfd%d=", keep_ce);
	CHECKF("cloexec", WIFEXITED(st) && WEXITSTATUS(st) == 0 && keep > 0 && !strstr(text, k1) && !strstr(text, k2) &&
				  strstr(text, k3) && !strstr(text, k4),
	       "echoargs %s; dup %d/%d; output lacks/has the wrong fds", utest_wstr(st), keep, keep_ce);
	close(fds[0]);
	close(fds[1]);
	close(keep);
	close(keep_ce);
}

static void t_poll(void)
{
	int fds[2];
	struct fusion_ring a, b;
	if (pair(8, fds, &a, &b))
		return utest_fail("poll", "pair");
	struct pollfd p[2] = { { fds[0], POLLIN | POLLOUT, 0 }, { fds[1], POLLIN | POLLOUT, 0 } };
	int n = poll(p, 2, 0);
	CHECKF("poll_empty", n == 2 && p[0].revents == POLLOUT && p[1].revents == POLLOUT, "poll=%d revents %x %x", n,
	       p[0].revents, p[1].revents);
	fusion_send(&a, 0, "x", 1, 0);
	p[1].revents = 0;
	n = poll(&p[1], 1, 0);
	CHECKF("poll_in", n == 1 && (p[1].revents & POLLIN), "poll=%d revents %x", n, p[1].revents);
	while (fusion_send(&a, 0, "x", 1, 0) == 0)
		;
	p[0].events = POLLOUT;
	n = poll(&p[0], 1, 0);
	CHECKF("poll_full", n == 0, "poll=%d revents %x (ring full: no POLLOUT)", n, p[0].revents);

	/* epoll: a blocked epoll_wait on B's... here A waits for room, B consumes from a child. */
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = 7 }, got;
	epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev);
	pid_t pid = fork();
	if (pid == 0) {
		struct fusion_ring c;
		char buf[8];
		if (fusion_open(&c, fds[1]))
			_exit(2);
		utest_sleep_ms(50);
		_exit(fusion_recv(&c, 0, buf, sizeof buf, NULL) == 1 ? 0 : 3);
	}
	n = epoll_wait(ep, &got, 1, 5000);
	CHECKF("epoll_out_wakes", n == 1 && (got.events & EPOLLOUT) && got.data.u32 == 7, "epoll_wait=%d events %x", n,
	       got.events);
	utest_check_exit("epoll_child", utest_wait(pid), 0);
	close(ep);

	fusion_close(&a);
	p[1].events = POLLIN;
	p[1].revents = 0;
	n = poll(&p[1], 1, 1000);
	CHECKF("poll_hup", n == 1 && (p[1].revents & POLLHUP), "poll=%d revents %x", n, p[1].revents);
	fusion_close(&b);
}

static int ring_rights(uint32_t ra, uint32_t rb, int fds[2])
{
	struct fusion_params p = { 64, 1, 1, 0, 0, 0, ra, rb, 0 };
	return fusion_create(&p, fds);
}

static void t_rights(void)
{
	int fds[2], f2[2];
	if (ring_rights(FUSION_RIGHTS_ALL, FUSION_RIGHT_RECV, fds) || ring_rights(FUSION_RIGHTS_ALL, FUSION_RIGHT_SEND, f2))
		return utest_fail("rights", "create");
	CHECK_EQ("eperm_wake_data", fusion_wait(fds[1], FUSION_WAKE_DATA, 0, 0), -EPERM);
	CHECK_EQ("eperm_wake", fusion_wake(fds[1], FUSION_WAKE_DATA), -EPERM);
	struct fusion_grant g = { FUSION_GRANT_FD, 0, 0, 0 };
	CHECK_EQ("eperm_grant", fusion_grant(fds[1], &g), -EPERM);
	CHECK_EQ("eperm_shutdown", fusion_shutdown(fds[1], 1), -EPERM);
	CHECK_EQ("eperm_wait_data", fusion_wait(f2[1], FUSION_WAIT_DATA, 0, 0), -EPERM);
	CHECK_EQ("eperm_wake_space", fusion_wake(f2[1], FUSION_WAKE_SPACE), -EPERM);
	CHECK_EQ("eperm_accept", fusion_accept(f2[1], 1, NULL, 0), -EPERM);
	CHECK_EQ("wait_timeout", fusion_wait(fds[0], FUSION_WAIT_DATA, 0, 1000000), -ETIMEDOUT);

	/* DUP never grows rights. */
	struct fusion_info in;
	int d1 = fusion_dup(fds[1], FUSION_RIGHTS_ALL, 0);
	fusion_info(d1, &in);
	uint32_t r1 = in.rights;
	int d2 = fusion_dup(fds[0], FUSION_RIGHT_SEND | FUSION_RIGHT_GRANT, 0);
	fusion_info(d2, &in);
	uint32_t r2 = in.rights;
	int d3 = fusion_dup(d2, FUSION_RIGHTS_ALL, 0);
	fusion_info(d3, &in);
	uint32_t r3 = in.rights;
	CHECKF("dup_rights", d1 > 0 && d2 > 0 && d3 > 0 && r1 == FUSION_RIGHT_RECV && r2 == 5 && r3 == 5,
	       "dup fds %d %d %d rights %x %x %x", d1, d2, d3, r1, r2, r3);
	CHECK_EQ("dup_eperm_shutdown", fusion_shutdown(d3, 1), -EPERM);
	close(d1);
	close(d2);
	close(d3);

	/* Writing pages the end may not write: SIGSEGV (in children). */
	struct fusion_ring b;
	if (fusion_open(&b, fds[1]) == 0) {
		struct {
			const char *name;
			volatile uint64_t *addr;
		} w[] = {
			{ "segv_kernel_page", (volatile uint64_t *)b.kp },
			{ "segv_peer_producer", (volatile uint64_t *)b.rx_prod },
			{ "segv_no_send_slots", (volatile uint64_t *)(b.map + (b.size - 8)) },
			{ "segv_peer_slots", (volatile uint64_t *)b.rx_lane[0] },
		};
		for (unsigned i = 0; i < sizeof w / sizeof w[0]; i++) {
			pid_t pid = fork();
			if (pid == 0) {
				*w[i].addr = 0x5a5a;
				_exit(0);
			}
			utest_check_signaled(w[i].name, utest_wait(pid), SIGSEGV);
		}
		CHECK_EQ("mprotect_sealed", mprotect((void *)b.kp, 4096, PROT_READ | PROT_WRITE) == 0 ? 0 : errno, EACCES);
		fusion_unmap(&b);
	}
	close(fds[0]);
	close(fds[1]);
	close(f2[0]);
	close(f2[1]);
}

static void t_grants(void)
{
	int fds[2];
	struct fusion_ring a, b;
	if (pair(64, fds, &a, &b))
		return utest_fail("grants", "pair");
	uint8_t msg[64];
	unsigned kind;
	struct fusion_accepted acc;

	/* Move 1 MiB: the receiver gets the content, the sender loses the pages. */
	size_t len = 1 << 20;
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fill_pattern(p, len, 99);
	int id = fusion_send_pages(&a, 0, p, len, FUSION_GRANT_MOVE);
	pid_t pid = fork(); /* before the accept, which may map the pages at the same address */
	if (pid == 0) {
		volatile uint8_t x = p[4096];
		(void)x;
		_exit(0);
	}
	utest_check_signaled("grant_move_sender_lost", utest_wait(pid), SIGSEGV);
	long n = fusion_recv(&b, 0, msg, sizeof msg, &kind);
	long addr = n == 16 && kind == FUSION_MSG_GRANT ? fusion_accept_msg(&b, msg, (size_t)n, &acc, 0) : -1;
	int ok = id > 0 && addr > 0 && acc.len == len && acc.kind == FUSION_GRANT_PAGES;
	if (ok) {
		uint8_t *q = (uint8_t *)addr;
		for (size_t i = 0; i < len && ok; i += 4093)
			ok = q[i] == (uint8_t)(99 * 131 + i * 7 + (i >> 8));
	}
	CHECKF("grant_move", ok, "grant id %d recv %ld kind %u accept %ld len %lu", id, n, kind, addr,
	       (unsigned long)acc.len);
	CHECK_EQ("grant_accept_twice", fusion_accept(fds[1], (uint32_t)id, NULL, 0), -ENOENT);
	if (addr > 0)
		munmap((void *)addr, len);

	/* Share read-only: the receiver sees the sender's writes and cannot write. */
	uint8_t *s = mmap(NULL, 8 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	strcpy((char *)s, "shared-1");
	id = fusion_send_pages(&a, 0, s, 8 * 4096, FUSION_GRANT_SHARE | FUSION_GRANT_READONLY);
	n = fusion_recv(&b, 0, msg, sizeof msg, &kind);
	addr = n == 16 ? fusion_accept_msg(&b, msg, (size_t)n, &acc, 0) : -1;
	if (CHECKF("grant_share", id > 0 && addr > 0 && !strcmp((char *)addr, "shared-1"), "id %d accept %ld", id, addr)) {
		strcpy((char *)s + 1000, "update");
		CHECK("grant_share_sees_writes", !strcmp((char *)addr + 1000, "update"));
		CHECK_ERR("grant_readonly_mprotect", mprotect((void *)addr, 4096, PROT_READ | PROT_WRITE), EACCES);
		pid = fork();
		if (pid == 0) {
			*(volatile char *)addr = 1;
			_exit(0);
		}
		utest_check_signaled("grant_readonly_write", utest_wait(pid), SIGSEGV);
		munmap((void *)addr, 8 * 4096);
	}
	struct fusion_grant g = { FUSION_GRANT_PAGES, FUSION_GRANT_SHARE, (uint64_t)(uintptr_t)p, len };
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	g.addr = (uint64_t)(uintptr_t)p;
	g.len = 4096;
	CHECK_EQ("grant_share_private_einval", fusion_grant(fds[0], &g), -EINVAL);
	munmap(p, 4096);
	munmap(s, 8 * 4096);

	/* A pipe's write end. */
	int pp[2];
	if (pipe(pp) == 0) {
		id = fusion_send_fd(&a, 0, pp[1], 0);
		n = fusion_recv(&b, 0, msg, sizeof msg, &kind);
		long fd = n == 16 ? fusion_accept_msg(&b, msg, (size_t)n, &acc, O_CLOEXEC) : -1;
		char buf[16] = "";
		int ok2 = fd >= 0 && fd != pp[1] && write((int)fd, "via-grant", 9) == 9 && read(pp[0], buf, sizeof buf) == 9 &&
			  !memcmp(buf, "via-grant", 9) && (fcntl((int)fd, F_GETFD) & FD_CLOEXEC);
		CHECKF("grant_fd_pipe", ok2, "id %d accept %ld read '%s'", id, fd, buf);
		if (fd >= 0)
			close((int)fd);
		close(pp[0]);
		close(pp[1]);
	}
	/* A ring end, with fewer rights. */
	int r2[2];
	if (fusion_create_simple(64, 1, 1, 0, 0, r2) == 0) {
		id = fusion_send_fd(&a, 0, r2[0], FUSION_RIGHT_SEND);
		n = fusion_recv(&b, 0, msg, sizeof msg, &kind);
		long fd = n == 16 ? fusion_accept_msg(&b, msg, (size_t)n, &acc, 0) : -1;
		struct fusion_info in = { 0 };
		if (fd >= 0)
			fusion_info((int)fd, &in);
		CHECKF("grant_fd_ring", fd >= 0 && in.rights == FUSION_RIGHT_SEND && acc.len == FUSION_RIGHT_SEND && in.side == 0,
		       "accept %ld rights %x out.len %lu", fd, in.rights, (unsigned long)acc.len);
		CHECK_EQ("grant_fd_ring_eperm", fusion_wait((int)fd, FUSION_WAIT_DATA, 0, 0), -EPERM);
		close((int)fd);
		close(r2[0]);
		close(r2[1]);
	}
	unpair(fds, &a, &b);
}

static long mem_free(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long kb = -1;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "MemFree: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	if (kb < 0) {
		struct sysinfo si;
		sysinfo(&si);
		kb = (long)(si.freeram * si.mem_unit / 1024);
	}
	return kb;
}

/* One round: a child sends part of a batch and grants pages nobody accepts, then dies. */
static int peer_exit_round(void)
{
	int fds[2];
	struct fusion_ring a;
	if (fusion_create_simple(512, 1, 1, 0, O_CLOEXEC, fds) || fusion_open(&a, fds[0]))
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		struct fusion_ring c;
		if (fusion_open(&c, fds[1]))
			_exit(2);
		uint8_t buf[200] = { 1 };
		for (int i = 0; i < 40; i++)
			fusion_send(&c, 0, buf, (size_t)(i * 5) % 200, 0);
		uint8_t *p = mmap(NULL, 16 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		memset(p, 1, 16 * 4096);
		fusion_send_pages(&c, 0, p, 16 * 4096, FUSION_GRANT_MOVE);
		_exit(0); /* without closing anything */
	}
	close(fds[1]);
	uint8_t buf[256];
	long n;
	int got = 0;
	while ((n = fusion_recv_wait(&a, 0, buf, sizeof buf, NULL, TIMEOUT)) >= 0)
		got++;
	int st = utest_wait(pid);
	int send = fusion_send(&a, 0, buf, 8, 0);
	fusion_close(&a);
	return (n == -EPIPE && got == 41 && send == -EPIPE && WIFEXITED(st)) ? 0 : (int)(1000 + got) * (n == -EPIPE ? 1 : -1);
}

static void t_peer_exit(void)
{
	int e = peer_exit_round();
	if (!CHECKF("peer_exit_epipe", e == 0, "round result %d (want 0: 41 messages then EPIPE)", e))
		return;
	long tol = 256;
	const char *t = getenv("UTEST_MEM_TOLERANCE_KB");
	if (t && atol(t) > 0)
		tol = atol(t);
	for (int i = 0; i < 3; i++) /* warm up caches, slabs */
		peer_exit_round();
	long before = mem_free();
	int bad = 0;
	for (int i = 0; i < 60; i++)
		bad += peer_exit_round() != 0;
	long after = mem_free();
	CHECKF("peer_exit_no_leak", bad == 0 && before - after <= tol, "%d bad rounds; MemFree %ld -> %ld kB (tolerance %ld)",
	       bad, before, after, tol);
}

/* Message i: its size (1..200, mostly inline) and content follow from i alone. */
static inline size_t msg_size(uint64_t i)
{
	uint64_t x = i * 0xff51afd7ed558ccdull;
	x ^= x >> 29;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 32;
	return (x & 15) == 0 ? 1 + (size_t)((x >> 8) % 200) : 1 + (size_t)((x >> 8) % 56);
}

#define MILLION 1000000

static void t_million(void)
{
	int fds[2];
	struct fusion_ring a;
	if (fusion_create_simple(1024, 1, 1, 0, 0, fds) || fusion_open(&a, fds[0]))
		return utest_fail("million", "create");
	int64_t t0 = utest_now_ns(CLOCK_MONOTONIC);
	pid_t pid = fork();
	if (pid == 0) {
		struct fusion_ring c;
		if (fusion_open(&c, fds[1]))
			_exit(2);
		uint64_t deadline = fusion_deadline(60ull * 1000000000ull);
		uint8_t buf[208];
		uint64_t i = 0;
		while (i < MILLION) {
			struct fusion_txc tc;
			fusion_tx_begin(&c, 0, &tc);
			int e = 0;
			for (int k = 0; k < 64 && i < MILLION; k++, i++) {
				size_t len = msg_size(i);
				uint64_t w = i * 0x9E3779B97F4A7C15ull;
				for (size_t j = 0; j < len; j += 8)
					memcpy(buf + j, &w, 8), w += 0x1234567;
				if ((e = fusion_tx_put(&c, &tc, buf, len, 0)))
					break;
			}
			int pe = fusion_tx_end(&c, &tc);
			if (pe)
				_exit(3);
			if (e == -EAGAIN && fusion_wait_space(&c, 0, 4, deadline))
				_exit(4);
			else if (e && e != -EAGAIN)
				_exit(5);
		}
		_exit(0);
	}
	uint64_t deadline = fusion_deadline(60ull * 1000000000ull);
	uint64_t i = 0;
	long bad = 0, first_bad = -1;
	uint8_t want[208];
	int err = 0;
	while (i < MILLION && !err) {
		struct fusion_rxc rc;
		struct fusion_msg m;
		fusion_rx_begin(&a, 0, &rc);
		int e;
		while ((e = fusion_rx_next(&a, &rc, &m)) > 0) {
			size_t len = msg_size(i);
			uint64_t w = i * 0x9E3779B97F4A7C15ull;
			for (size_t j = 0; j < len; j += 8)
				memcpy(want + j, &w, 8), w += 0x1234567;
			if (m.len != len || memcmp(m.data, want, len)) {
				if (first_bad < 0)
					first_bad = (long)i;
				bad++;
			}
			i++;
		}
		fusion_rx_end(&a, &rc);
		if (e < 0)
			err = e;
		else if (i < MILLION && (e = fusion_wait_data(&a, 0, deadline)))
			err = e;
	}
	int st = utest_wait(pid);
	int64_t ms = (utest_now_ns(CLOCK_MONOTONIC) - t0) / 1000000;
	CHECKF("million_in_order", i == MILLION && bad == 0 && !err && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	       "received %lu, %ld bad (first %ld), error %d, sender %s, %ld ms", (unsigned long)i, bad, first_bad, err,
	       utest_wstr(st), (long)ms);
	utest_printf("# t_fusion: 1,000,000 messages in %ld ms\n", (long)ms);
	fusion_close(&a);
	close(fds[1]);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	fusion_utest_require();
	t_create();
	t_fork();
	t_cloexec();
	t_poll();
	t_rights();
	t_grants();
	t_peer_exit();
	t_million();
	return utest_done();
}
