/*
 * fusion_recv.h - receiving: peek/consume in place, single messages, batch cursors
 * (fusion_rx_*), releasing and the doorbell.
 * Part of the Fusion Ring C library: include "fusion.h", which includes every part in order.
 */
#ifndef FUSION_RECV_H
#define FUSION_RECV_H

#include "fusion_ring.h"

/* ---- receiving ---- */

/* Slow path of a peek: no validated message left; re-read the head. 1 (data), 0 (empty),
 * -EPROTO. */
__attribute__((noinline)) static int fusion__rx_refresh(struct fusion_ring *r, unsigned lane)
{
	if (r->broken)
		return r->broken;
	if (lane >= r->lanes_rx || !(r->rights & FUSION_RIGHT_RECV))
		return lane >= r->lanes_rx ? -EINVAL : -EPERM;
	uint64_t t = r->rx_tail[lane];
	uint64_t h = fusion__load(&r->rx_prod[FUSION_P_HEAD + lane]);
	if (h - t > r->slots)
		return fusion__broken(r);
	r->rx_head[lane] = h;
	r->rx_now = fusion_rdtsc32();
	return h != t;
}

/*
 * The next message of `lane`, in place: 1 (m filled), 0 (empty), -EPROTO. It stays in the
 * ring until fusion_consume(); tails are published by fusion_release(). A message that wraps
 * around the lane's end is assembled in a private buffer.
 */
static inline int fusion_peek(struct fusion_ring *r, unsigned lane, struct fusion_msg *m)
{
	uint64_t t = r->rx_tail[lane];
	if (__builtin_expect(t == r->rx_head[lane], 0)) {
		int e = fusion__rx_refresh(r, lane);
		if (e <= 0)
			return e < 0 ? e : 0;
	}
	const uint8_t *lb = r->rx_lane[lane];
	uint64_t idx = t & r->mask;
	const uint64_t *s = (const uint64_t *)(lb + (idx << 6));
	uint64_t hdr = __atomic_load_n(s, __ATOMIC_RELAXED);
	uint32_t len = (uint16_t)hdr;
	m->data = (const uint8_t *)(s + 1);
	m->len = len;
	m->kind = (uint8_t)(hdr >> 16);
	m->flags = (uint8_t)(hdr >> 24);
	m->stamp = (uint32_t)(hdr >> 32);
	m->lane = lane;
	m->nslots = 1;
	if (__builtin_expect(len > FUSION_SLOT_PAYLOAD, 0)) {
		uint64_t n = fusion_slots_for(len);
		if (len > r->max_msg || n > r->rx_head[lane] - t) {
			fusion__broken(r);
			return -EPROTO;
		}
		m->nslots = (uint16_t)n;
		if (idx + n > r->slots) { /* wraps: assemble it */
			size_t first = (size_t)(r->slots - idx) * 64 - 8;
			memcpy(r->bounce, s + 1, first);
			memcpy(r->bounce + first, lb, len - first);
			m->data = r->bounce;
		}
	}
	return 1;
}

/* Takes the peeked message out of the ring (privately; fusion_release publishes). */
static inline void fusion_consume(struct fusion_ring *r, const struct fusion_msg *m)
{
	r->rx_tail[m->lane] += m->nslots;
	r->rx_taken++;
	r->rx_bytes += m->len;
	uint32_t age = r->rx_now - m->stamp;
	r->rx_cons[FUSION_C_HIST + 31 - __builtin_clz(age | 1)]++;
}

/* Publishes the tails and TAKEN; rings the space doorbell if someone waits or polls. */
static inline void fusion_release(struct fusion_ring *r)
{
	for (unsigned i = 0; i < r->lanes_rx; i++)
		fusion__store(&r->rx_cons[FUSION_C_TAIL + i], r->rx_tail[i]);
	fusion__store(&r->rx_cons[FUSION_C_BYTES], r->rx_bytes);
	fusion__store(&r->rx_cons[FUSION_C_TAKEN], r->rx_taken);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__builtin_expect(*r->w_space + *r->w_poll != 0, 0))
		fusion_wake(r->fd, FUSION_WAKE_SPACE);
}

/* Empty-ring result: -EPIPE once the peer is gone (and the lane drained), else -EAGAIN. */
static inline int fusion__empty(const struct fusion_ring *r)
{
	return fusion_peer_gone(r) ? -EPIPE : -EAGAIN;
}

/*
 * Receives one message of `lane` into buf: its length, or -EAGAIN (empty), -EPIPE (empty and
 * the peer gone), -EMSGSIZE (longer than cap; left in the ring), -EPROTO.
 */
static inline long fusion_recv(struct fusion_ring *r, unsigned lane, void *buf, size_t cap, unsigned *kind)
{
	struct fusion_msg m;
	int e = fusion_peek(r, lane, &m);
	if (e <= 0)
		return e ? e : fusion__empty(r);
	if (m.len > cap)
		return -EMSGSIZE;
	memcpy(buf, m.data, m.len);
	if (kind)
		*kind = m.kind;
	fusion_consume(r, &m);
	fusion_release(r);
	return m.len;
}

/*
 * Receive cursor (the batch counterpart of struct fusion_txc):
 *     struct fusion_rxc c; struct fusion_msg m; fusion_rx_begin(r, lane, &c);
 *     while (fusion_rx_next(r, &c, &m) > 0) use(m.data, m.len);   (consumes as it goes)
 *     fusion_rx_end(r, &c);            (writes the state back and releases once)
 * The message data stays valid until fusion_rx_end (and only until the next fusion_rx_next
 * for a message that wraps the lane's end). The latency histogram samples each receive
 * batch's first message (fusion_rx_end), not every message. m->stamp is left unset.
 */
struct fusion_rxc {
	const uint8_t *lb;
	uint64_t t, h, bytes;
	uint64_t t0, tb; /* the tail when r was last synced, and when the batch began */
	uint32_t mask, now;
	unsigned lane;
	int err;
};
static inline void fusion_rx_begin(struct fusion_ring *r, unsigned lane, struct fusion_rxc *c)
{
	c->err = r->broken;
	if (r->rx_tail[lane] == r->rx_head[lane]) {
		int e = fusion__rx_refresh(r, lane);
		if (e < 0)
			c->err = e;
	}
	c->lb = r->rx_lane[lane];
	c->t = c->t0 = c->tb = r->rx_tail[lane];
	c->h = r->rx_head[lane];
	c->mask = r->mask;
	c->now = fusion_rdtsc32();
	c->bytes = 0;
	c->lane = lane;
}
/* Writes the cursor back into r: every message the fast path took was one slot. */
static inline void fusion__rx_sync(struct fusion_ring *r, struct fusion_rxc *c)
{
	r->rx_tail[c->lane] = c->t;
	r->rx_taken += c->t - c->t0;
	r->rx_bytes += c->bytes;
	c->t0 = c->t;
	c->bytes = 0;
}
/* A message of several slots (or a bad header) for fusion_rx_next, r already synced: through
 * fusion_peek, then taken (outside the cursor's one-slot count). 1 or -EPROTO. */
__attribute__((noinline)) static int fusion__rx_take_slow(struct fusion_ring *r, unsigned lane, struct fusion_msg *m)
{
	int e = fusion_peek(r, lane, m);
	if (e <= 0)
		return e;
	r->rx_tail[lane] += m->nslots;
	r->rx_taken++;
	r->rx_bytes += m->len;
	return 1;
}
/* The next message, consumed (privately): 1, 0 (none left in this batch), -EPROTO. */
__attribute__((always_inline)) static inline int fusion_rx_next(struct fusion_ring *r, struct fusion_rxc *c,
								 struct fusion_msg *m)
{
	uint64_t t = c->t;
	if (__builtin_expect(t == c->h, 0))
		return c->err < 0 ? c->err : 0;
	const uint64_t *s = (const uint64_t *)(c->lb + ((t & c->mask) << 6));
	uint64_t hdr = __atomic_load_n(s, __ATOMIC_RELAXED);
	uint32_t len = (uint16_t)hdr;
	if (__builtin_expect(len > FUSION_SLOT_PAYLOAD, 0)) {
		struct fusion_msg tmp; /* keeps m (and c) out of memory on the fast path */
		fusion__rx_sync(r, c);
		int e = fusion__rx_take_slow(r, c->lane, &tmp);
		c->t = c->t0 = r->rx_tail[c->lane];
		*m = tmp;
		return e;
	}
	m->data = (const uint8_t *)(s + 1);
	m->len = len;
	m->kind = (uint8_t)(hdr >> 16);
	m->flags = (uint8_t)(hdr >> 24);
	m->nslots = 1;
	m->lane = c->lane;
	c->t = t + 1;
	c->bytes += len;
	return 1;
}
/* Writes the cursor back and releases what was consumed (doorbell as fusion_release); the
 * histogram counts the batch's first message. */
static inline void fusion_rx_end(struct fusion_ring *r, struct fusion_rxc *c)
{
	if (c->t != c->tb) {
		/* Still ours until the release below; any value only picks a bucket. */
		uint64_t hdr = __atomic_load_n((const uint64_t *)(c->lb + ((c->tb & c->mask) << 6)), __ATOMIC_RELAXED);
		uint32_t age = c->now - (uint32_t)(hdr >> 32);
		((uint64_t *)r->rx_cons + FUSION_C_HIST)[__builtin_clz(age | 1) ^ 31]++;
		fusion__rx_sync(r, c);
		fusion_release(r);
	}
}

/* Receives up to max messages of lane, calling fn(ctx, msg) on each in place, then releases
 * them at once. Returns how many, or -errno if none. */
static inline int fusion_recv_batch(struct fusion_ring *r, unsigned lane, int max,
				    void (*fn)(void *ctx, const struct fusion_msg *m), void *ctx)
{
	struct fusion_rxc c;
	struct fusion_msg m;
	int i, e = 0;
	fusion_rx_begin(r, lane, &c);
	for (i = 0; i < max; i++) {
		e = fusion_rx_next(r, &c, &m);
		if (e <= 0)
			break;
		fn(ctx, &m);
	}
	fusion_rx_end(r, &c);
	if (i == 0)
		return e < 0 ? e : fusion__empty(r);
	return i;
}

/* Incoming messages published and not yet taken by us, all lanes (a hint). */
static inline uint64_t fusion_rx_pending(const struct fusion_ring *r)
{
	return fusion__load(&r->rx_prod[FUSION_P_POST]) - r->rx_taken;
}

#endif /* FUSION_RECV_H */
