/*
 * fusion_wait.h - blocking: the waiting protocol of docs/ipc.md (POST/TAKEN and fusion_wait),
 * blocking send and receive, fusion_call (request and reply with the direct hand-off), and
 * grants of pages and descriptors.
 * Part of the Fusion Ring C library: include "fusion.h", which includes every part in order.
 */
#ifndef FUSION_WAIT_H
#define FUSION_WAIT_H

#include "fusion_send.h"
#include "fusion_recv.h"

/* ---- waiting ---- */

/* One fusion_wait for `ops` on `expected` with what is left of the deadline (0 = none).
 * Carries an owed WAKE_DATA. 0 or -errno. */
static inline int fusion__wait(struct fusion_ring *r, unsigned ops, uint64_t expected, uint64_t deadline)
{
	uint64_t timeout = FUSION_FOREVER;
	if (deadline) {
		uint64_t now = fusion_now_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		timeout = deadline - now;
	}
	if (r->wake_pending) {
		r->wake_pending = 0;
		ops |= FUSION_WAKE_DATA;
	}
	return fusion_wait(r->fd, ops, expected, timeout);
}
static inline uint64_t fusion_deadline(uint64_t timeout_ns)
{
	return timeout_ns == FUSION_FOREVER ? 0 : fusion_now_ns() + timeout_ns;
}

/* Waits until lane (or any lane, lane < 0) has a message; 0 or -errno. */
static inline int fusion_wait_data(struct fusion_ring *r, int lane, uint64_t deadline)
{
	for (;;) {
		uint64_t p = fusion__load(&r->rx_prod[FUSION_P_POST]);
		unsigned lo = lane < 0 ? 0 : (unsigned)lane, hi = lane < 0 ? r->lanes_rx : (unsigned)lane + 1;
		for (unsigned i = lo; i < hi; i++) {
			if (r->rx_tail[i] != r->rx_head[i])
				return 0;
			int e = fusion__rx_refresh(r, i);
			if (e)
				return e < 0 ? e : 0;
		}
		if (fusion_peer_gone(r))
			return -EPIPE;
		int e = fusion__wait(r, FUSION_WAIT_DATA, p, deadline);
		if (e == -EPIPE) { /* drain what the peer left before reporting it */
			for (unsigned i = lo; i < hi; i++)
				if (fusion__rx_refresh(r, i) == 1)
					return 0;
		}
		if (e)
			return e;
	}
}

/* Blocking receive: fusion_recv that sleeps while the lane is empty, up to timeout_ns
 * (FUSION_FOREVER: no limit). Length or -errno (-ETIMEDOUT, -EPIPE, -EINTR, -EPROTO). */
static inline long fusion_recv_wait(struct fusion_ring *r, unsigned lane, void *buf, size_t cap,
				    unsigned *kind, uint64_t timeout_ns)
{
	long n = fusion_recv(r, lane, buf, cap, kind);
	if (n != -EAGAIN) {
		fusion_flush_wake(r);
		return n;
	}
	uint64_t deadline = fusion_deadline(timeout_ns);
	for (;;) {
		int e = fusion_wait_data(r, (int)lane, deadline);
		n = fusion_recv(r, lane, buf, cap, kind);
		if (n != -EAGAIN || e) {
			fusion_flush_wake(r);
			return n != -EAGAIN ? n : e;
		}
	}
}

/* Waits until `need` slots are free in lane; publishes pending writes first. 0 or -errno. */
static inline int fusion_wait_space(struct fusion_ring *r, unsigned lane, uint64_t need, uint64_t deadline)
{
	fusion_publish(r);
	for (;;) {
		uint64_t taken = fusion__load(&r->tx_cons[FUSION_C_TAKEN]);
		int e = fusion__tx_refresh(r, lane, need);
		if (e != -EAGAIN)
			return e;
		e = fusion__wait(r, FUSION_WAIT_SPACE, taken, deadline);
		if (e)
			return e;
	}
}

/* Blocking send of one message (published, doorbell rung as needed). 0 or -errno. */
static inline int fusion_send_wait(struct fusion_ring *r, unsigned lane, const void *buf, size_t len,
				   unsigned kind, uint64_t timeout_ns)
{
	int e = fusion_send(r, lane, buf, len, kind);
	if (e != -EAGAIN)
		return e;
	uint64_t deadline = fusion_deadline(timeout_ns);
	for (;;) {
		e = fusion_wait_space(r, lane, fusion_slots_for(len), deadline);
		if (e)
			return e;
		e = fusion_send(r, lane, buf, len, kind);
		if (e != -EAGAIN)
			return e;
	}
}

/*
 * One-slot fast paths of a call (fusion_call, fusion_chan.h's RequestReply channel): lane 0 of
 * a ring with one lane each way (r->fast1). They do what fusion_write + fusion_publish_ex(r, 0)
 * + fusion_recv_wait do, minus their generality, and fall back to them for anything else
 * (several slots, a full ring, a timeout, an error), so the results are the same.
 */

/* Rings the data doorbell owed by fusion__put1 (wake_pending 2: not checked yet) or by
 * fusion_publish_ex(r, 0) (1: somebody waited). */
static inline void fusion__owed_wake(struct fusion_ring *r, int pending)
{
	r->wake_pending = 0;
	if (pending == 2) {
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (*r->w_data + *r->w_poll == 0)
			return;
	}
	fusion_wake(r->fd, FUSION_WAKE_DATA);
}

/*
 * The next message of lane 0, a single slot, waiting for it (carrying the owed wake-up) while
 * the lane is empty, up to `deadline` (fusion_deadline; 0: none). `owed`: r->wake_pending
 * when the caller knows it (fusion__put1 just ran: 2), else -1; `fast`: r->fast1 is known to
 * be set. Returns 1 with the slot in *slot (its header in *hdr; the data follows it), or 0
 * with *err = 0 (use the general path: nothing was consumed; the owed wake-up, if any, is
 * still owed) or *err < 0 (a wait gave it).
 */
__attribute__((always_inline)) static inline int fusion__get1(struct fusion_ring *r, uint64_t deadline, int owed,
							       int fast, const uint64_t **slot, uint64_t *hdr,
							       int *err)
{
	uint64_t t = r->rx_tail[0], hd = r->rx_head[0];
	*err = 0;
	if (!fast && __builtin_expect(!r->fast1, 0))
		return 0;
	int pending = owed >= 0 ? owed : r->wake_pending;
	if (t == hd) {
		const volatile uint64_t *prod = r->rx_prod;
		uint64_t p = fusion__load(&prod[FUSION_P_POST]);
		hd = fusion__load(&prod[FUSION_P_HEAD]);
		while (hd == t) {
			uint64_t timeout = FUSION_FOREVER;
			if (deadline) {
				uint64_t now = fusion_now_ns();
				if (now >= deadline) {
					*err = -ETIMEDOUT;
					return 0;
				}
				timeout = deadline - now;
			}
			unsigned ops = pending ? FUSION_WAKE_DATA | FUSION_WAIT_DATA : FUSION_WAIT_DATA;
			r->wake_pending = pending = 0;
			int e = fusion_wait(r->fd, ops, p, timeout);
			if (__builtin_expect(e != 0, 0)) {
				*err = e;
				return 0;
			}
			hd = fusion__load(&prod[FUSION_P_HEAD]);
			if (__builtin_expect(hd == t, 0)) {
				p = fusion__load(&prod[FUSION_P_POST]);
				hd = fusion__load(&prod[FUSION_P_HEAD]);
			}
		}
		if (__builtin_expect(hd - t > r->slots, 0)) {
			*err = fusion__broken(r);
			return 0;
		}
		r->rx_head[0] = hd;
	}
	const uint64_t *s = (const uint64_t *)(r->rx_lane[0] + ((t & r->mask) << 6));
	uint64_t h = __atomic_load_n(s, __ATOMIC_RELAXED);
	if (__builtin_expect((uint16_t)h > FUSION_SLOT_PAYLOAD, 0))
		return 0;
	if (__builtin_expect(pending != 0, 0))
		fusion__owed_wake(r, pending);
	*hdr = h;
	*slot = s;
	return 1;
}

/* fusion_call's general path (the request not yet written). */
__attribute__((noinline)) static long fusion__call_slow(struct fusion_ring *r, const void *req, size_t len,
							void *reply, size_t cap, unsigned *kind, uint64_t timeout_ns)
{
	int e = fusion_write(r, 0, req, len, FUSION_MSG_DATA);
	if (e == 0)
		e = fusion_publish_ex(r, 0); /* the wake-up rides on the wait below */
	else if (e == -EAGAIN)
		e = fusion_send_wait(r, 0, req, len, FUSION_MSG_DATA, timeout_ns);
	if (e)
		return e;
	return fusion_recv_wait(r, 0, reply, cap, kind, timeout_ns);
}
/* fusion_call's reply when fusion__get1 could not give it (err: what it said). */
__attribute__((noinline)) static long fusion__call_reply_slow(struct fusion_ring *r, void *reply, size_t cap,
							      unsigned *kind, uint64_t timeout_ns, int err)
{
	if (!err)
		return fusion_recv_wait(r, 0, reply, cap, kind, timeout_ns);
	long n = fusion_recv(r, 0, reply, cap, kind);
	fusion_flush_wake(r);
	return n != -EAGAIN ? n : err;
}

/*
 * Sends a request on lane 0 and waits for the answer with one system call: the wake-up of
 * the peer and this end's wait go together (fusion_wait(WAKE_DATA|WAIT_DATA)), so a peer
 * sleeping on this CPU gets it straight. Returns the reply's length or -errno.
 */
__attribute__((always_inline)) static inline long fusion_call(struct fusion_ring *r, const void *req, size_t len,
							       void *reply, size_t cap, unsigned *kind,
							       uint64_t timeout_ns)
{
	if (__builtin_expect(!fusion__put1(r, 0, 0, req, len, FUSION_MSG_DATA), 0))
		return fusion__call_slow(r, req, len, reply, cap, kind, timeout_ns);
	uint64_t hdr;
	const uint64_t *s;
	int e;
	if (__builtin_expect(!fusion__get1(r, fusion_deadline(timeout_ns), 2, 1, &s, &hdr, &e), 0))
		return fusion__call_reply_slow(r, reply, cap, kind, timeout_ns, e);
	uint32_t n = (uint16_t)hdr;
	if (__builtin_expect(n > cap, 0))
		return -EMSGSIZE;
	fusion__copy56(reply, s + 1, n);
	if (kind)
		*kind = (uint8_t)(hdr >> 16);
	fusion__take1(r, hdr);
	return n;
}

/* ---- grants ---- */

/* Grants pages [addr, addr+len) (GRANT_MOVE or GRANT_SHARE [| GRANT_READONLY]) and tells
 * the peer with a FUSION_MSG_GRANT message on lane. The grant id (> 0) or -errno. */
static inline int fusion_send_grant(struct fusion_ring *r, unsigned lane, const struct fusion_grant *g)
{
	int id = fusion_grant(r->fd, g);
	if (id < 0)
		return id;
	struct fusion_grant_msg gm = { (uint32_t)id, g->kind, g->len };
	int e = fusion_send(r, lane, &gm, sizeof gm, FUSION_MSG_GRANT);
	return e ? e : id;
}
static inline int fusion_send_pages(struct fusion_ring *r, unsigned lane, void *addr, size_t len, unsigned flags)
{
	struct fusion_grant g = { FUSION_GRANT_PAGES, flags, (uint64_t)(uintptr_t)addr, len };
	return fusion_send_grant(r, lane, &g);
}
/* Grants descriptor `fd`; if it is a fusion end, the receiver's copy keeps rights & mask. */
static inline int fusion_send_fd(struct fusion_ring *r, unsigned lane, int fd, uint32_t mask)
{
	struct fusion_grant g = { FUSION_GRANT_FD, 0, (uint64_t)fd, mask };
	return fusion_send_grant(r, lane, &g);
}
/* Accepts the grant a received FUSION_MSG_GRANT message names: the address or descriptor,
 * or -errno (-EPROTO if the message is not a grant). */
static inline long fusion_accept_msg(struct fusion_ring *r, const void *msg, size_t len,
				     struct fusion_accepted *out, unsigned flags)
{
	struct fusion_grant_msg gm;
	if (len != sizeof gm)
		return -EPROTO;
	memcpy(&gm, msg, sizeof gm);
	return fusion_accept(r->fd, gm.id, out, flags);
}

#endif /* FUSION_WAIT_H */
