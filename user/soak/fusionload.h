/*
 * fusionload.h - the soak's Fusion Ring load (part of soak.c, included once after loads.h):
 * rounds of a child streaming 2,000 messages of random sizes (1 to 5 slots, each with its
 * sequence number and a pattern) through a small ring, with a 64 KiB page grant (moved) every
 * 250 messages; the parent checks order and contents, accepts and checks each grant and unmaps
 * it. On a kernel without Fusion Rings (Linux: ENOSYS) the load does nothing.
 */
#ifndef SOAK_FUSIONLOAD_H
#define SOAK_FUSIONLOAD_H

#include "fusion.h"

#define FL_MSGS 2000
#define FL_GRANT (64 << 10)
#define FL_TIMEOUT_NS 10000000000ull

static unsigned char fl_byte(uint64_t seed, size_t k)
{
	return (unsigned char)((seed + k) * 13);
}

/* The sending child: 0, or the step that failed. */
static int fl_send(int fd)
{
	struct fusion_ring r;
	if (fusion_open(&r, fd) < 0)
		return 2;
	unsigned char m[300];
	for (uint64_t seq = 0; seq < FL_MSGS; seq++) {
		size_t len = 8 + (size_t)(rnd() % (sizeof m - 8));
		memcpy(m, &seq, 8);
		for (size_t k = 8; k < len; k++)
			m[k] = fl_byte(seq, k);
		if (fusion_send_wait(&r, 0, m, len, FUSION_MSG_DATA, FL_TIMEOUT_NS) < 0)
			return 3;
		if (seq % 250 == 0) {
			unsigned char *p = mmap(NULL, FL_GRANT, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED)
				return 4;
			memcpy(p, &seq, 8);
			for (size_t k = 8; k < FL_GRANT; k += 512)
				p[k] = fl_byte(seq, k);
			/* The grant, then its message (waiting for room, unlike fusion_send_pages). */
			struct fusion_grant g = { FUSION_GRANT_PAGES, FUSION_GRANT_MOVE, (uint64_t)(uintptr_t)p, FL_GRANT };
			int id = fusion_grant(r.fd, &g);
			struct fusion_grant_msg gm = { (uint32_t)id, FUSION_GRANT_PAGES, FL_GRANT };
			if (id < 0)
				return 5;
			if (fusion_send_wait(&r, 0, &gm, sizeof gm, FUSION_MSG_GRANT, FL_TIMEOUT_NS) < 0)
				return 6;
		}
	}
	fusion_flush_wake(&r);
	return 0;
}

/* The receiving parent's check of one round: 0 if everything arrived intact and in order. */
static int fl_receive(int fd, uint64_t *ops)
{
	struct fusion_ring r;
	if (fusion_open(&r, fd) < 0)
		return -1;
	unsigned char m[300];
	uint64_t want = 0, grants = 0;
	for (;;) {
		unsigned kind = 0;
		long n = fusion_recv_wait(&r, 0, m, sizeof m, &kind, FL_TIMEOUT_NS);
		if (n == -EPIPE)
			break;
		if (n < 0) {
			say("SOAK-ERROR fusion: receive: %ld after %llu messages\n", n, (unsigned long long)want);
			return -1;
		}
		uint64_t seq;
		if (kind == FUSION_MSG_GRANT) {
			struct fusion_accepted a;
			long addr = fusion_accept_msg(&r, m, (size_t)n, &a, 0);
			if (addr < 0 || a.len != FL_GRANT) {
				say("SOAK-ERROR fusion: accept: %ld\n", addr);
				return -1;
			}
			unsigned char *p = (unsigned char *)addr;
			memcpy(&seq, p, 8);
			for (size_t k = 8; k < FL_GRANT; k += 512)
				if (p[k] != fl_byte(seq, k)) {
					say("SOAK-ERROR fusion: grant %llu corrupt at %zu\n", (unsigned long long)seq, k);
					return -1;
				}
			munmap(p, FL_GRANT);
			grants++;
			continue;
		}
		memcpy(&seq, m, 8);
		int bad = n < 8 || seq != want;
		for (long k = 8; !bad && k < n; k++)
			bad = m[k] != fl_byte(seq, (size_t)k);
		if (bad) {
			say("SOAK-ERROR fusion: message %llu (length %ld) is not message %llu\n", (unsigned long long)seq, n,
			    (unsigned long long)want);
			return -1;
		}
		want++;
		(*ops)++;
	}
	fusion_close(&r);
	if (want != FL_MSGS || grants != (FL_MSGS + 249) / 250) {
		say("SOAK-ERROR fusion: %llu messages and %llu grants arrived\n", (unsigned long long)want,
		    (unsigned long long)grants);
		return -1;
	}
	return 0;
}

static int load_fusion(uint64_t *ops)
{
	int fails = 0;
	while (running()) {
		int fds[2];
		int e = fusion_create_simple(16, 1, 1, FUSION_KIND_DUPLEX, 0, fds);
		if (e == -ENOSYS)
			return 0;
		if (e < 0) {
			say("SOAK-ERROR fusion: create: %d\n", e);
			return fails + 1;
		}
		pid_t pid = fork();
		if (pid == 0) {
			close(fds[0]);
			_exit(fl_send(fds[1]));
		}
		close(fds[1]);
		if (pid < 0 || fl_receive(fds[0], ops) != 0)
			fails++;
		close(fds[0]);
		if (pid > 0)
			fails += reap("fusion", pid, 0) != 0;
	}
	return fails;
}

#endif
