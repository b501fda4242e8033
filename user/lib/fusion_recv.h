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

/* Consumes the one-slot message fusion__get1 returned (after its data was copied out) and
 * releases it (fusion_consume + fusion_release for lane 0). */
__attribute__((always_inline)) static inline void fusion__take1(struct fusion_ring *r, uint64_t hdr)
{
	uint64_t t = r->rx_tail[0] + 1, taken = r->rx_taken + 1, bytes = r->rx_bytes + (uint16_t)hdr;
	volatile uint64_t *cons = r->rx_cons;
	r->rx_tail[0] = t;
	r->rx_taken = taken;
	r->rx_bytes = bytes;
	uint32_t age = fusion_rdtsc32() - (uint32_t)(hdr >> 32);
	((uint64_t *)cons + FUSION_C_HIST)[__builtin_clz(age | 1) ^ 31]++; /* ours alone */
	fusion__store(&cons[FUSION_C_TAIL], t);
	fusion__store(&cons[FUSION_C_BYTES], bytes);
	fusion__store(&cons[FUSION_C_TAKEN], taken);
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
__attribute__((noinline)) static long fusion__recv_slow(struct fusion_ring *r, unsigned lane, void *buf, size_t cap,
							unsigned *kind)
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
/* The straight path: lane 0 of a fast1 ring, one slot that fits in buf (the head re-read and
 * validated inline); anything else goes through fusion_peek. */
__attribute__((always_inline)) static inline long fusion_recv(struct fusion_ring *r, unsigned lane, void *buf,
							       size_t cap, unsigned *kind)
{
	if (__builtin_expect(lane != 0 || !r->fast1, 0))
		return fusion__recv_slow(r, lane, buf, cap, kind);
	uint64_t t = r->rx_tail[0];
	if (t == r->rx_head[0]) {
		uint64_t h = fusion__load(&r->rx_prod[FUSION_P_HEAD]);
		if (h == t)
			return fusion__empty(r);
		if (__builtin_expect(h - t > r->slots, 0))
			return fusion__recv_slow(r, 0, buf, cap, kind); /* reports it */
		r->rx_head[0] = h;
	}
	const uint64_t *s = (const uint64_t *)(r->rx_lane[0] + ((t & r->mask) << 6));
	uint64_t hdr = __atomic_load_n(s, __ATOMIC_RELAXED);
	uint32_t len = (uint16_t)hdr;
	if (__builtin_expect(len > FUSION_SLOT_PAYLOAD || len > cap, 0))
		return fusion__recv_slow(r, 0, buf, cap, kind);
	fusion__copy56(buf, s + 1, len);
	if (kind)
		*kind = (uint8_t)(hdr >> 16);
	fusion__take1(r, hdr);
	return len;
}

/*
 * Whether `lane` may hold a message: one load of the peer's head, compared with this end's
 * tail (no validation, no system call), for spinning receivers:
 *     while (!fusion_rx_ready(r, lane)) __builtin_ia32_pause();
 *     n = fusion_recv(r, lane, ...);     (validates; may still say -EAGAIN, -EPROTO)
 * It never turns true by itself once the peer is gone: a spinner that may outlive its peer
 * also checks fusion_peer_gone() now and then.
 */
static inline int fusion_rx_ready(const struct fusion_ring *r, unsigned lane)
{
	return fusion__load(&r->rx_prod[FUSION_P_HEAD + lane]) != r->rx_tail[lane];
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
	const uint8_t *p, *stop; /* next slot; first slot the fast path may not read */
	const uint8_t *base;	 /* the slot of tail t0 */
	const uint8_t *first;	 /* the batch's first slot */
	uint64_t t0, tb, h;	 /* the tail when r was last synced, when the batch began;
				  * the validated head */
	int64_t adj;		 /* bytes minus 56 per message, since the last sync */
	uint32_t now;
	unsigned lane;
	int err;
};
/* Points the cursor at r's tail of its lane (after a sync): the fast path may read up to the
 * validated head or the lane's end, whichever comes first. */
static inline void fusion__rxc_load(struct fusion_ring *r, struct fusion_rxc *c)
{
	uint64_t t = r->rx_tail[c->lane], idx = t & r->mask, avail = c->h - t, end = r->slots - idx;
	c->t0 = t;
	c->p = c->base = r->rx_lane[c->lane] + (idx << 6);
	c->stop = c->p + ((avail < end ? avail : end) << 6);
	c->adj = 0;
}
static inline void fusion_rx_begin(struct fusion_ring *r, unsigned lane, struct fusion_rxc *c)
{
	c->err = r->broken;
	if (r->rx_tail[lane] == r->rx_head[lane]) {
		int e = fusion__rx_refresh(r, lane);
		if (e < 0)
			c->err = e;
	}
	c->lane = lane;
	c->h = r->rx_head[lane];
	fusion__rxc_load(r, c);
	c->first = c->p;
	c->tb = c->t0;
	c->now = fusion_rdtsc32();
}
/* Writes the cursor back into r: every message the fast path took was one slot. */
static inline void fusion__rx_sync(struct fusion_ring *r, struct fusion_rxc *c)
{
	uint64_t n = (uint64_t)(c->p - c->base) >> 6;
	r->rx_tail[c->lane] = c->t0 + n;
	r->rx_taken += n;
	r->rx_bytes += n * FUSION_SLOT_PAYLOAD + (uint64_t)c->adj;
	c->t0 += n;
	c->base = c->p;
	c->adj = 0;
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
/* The next message, consumed (privately): 1, 0 (none left in this batch), -EPROTO.
 * A header whose length is not 56 leaves the straight path: shorter ones add their
 * difference to the bytes, longer ones (several slots, or corrupt) go through fusion_peek. */
__attribute__((always_inline)) static inline int fusion_rx_next(struct fusion_ring *r, struct fusion_rxc *c,
								 struct fusion_msg *m)
{
	const uint8_t *p = c->p;
	if (__builtin_expect(p == c->stop, 0)) {
		if (c->t0 + ((uint64_t)(p - c->base) >> 6) == c->h)
			return c->err < 0 ? c->err : 0;
		fusion__rx_sync(r, c); /* at the lane's end: wrap */
		fusion__rxc_load(r, c);
		p = c->p;
	}
	uint64_t hdr = __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED);
	uint32_t len = (uint16_t)hdr;
	if (__builtin_expect(len != FUSION_SLOT_PAYLOAD, 0)) {
		if (__builtin_expect(len > FUSION_SLOT_PAYLOAD, 0)) {
			struct fusion_msg tmp; /* keeps m (and c) out of memory on the fast path */
			fusion__rx_sync(r, c);
			int e = fusion__rx_take_slow(r, c->lane, &tmp);
			fusion__rxc_load(r, c);
			*m = tmp;
			return e;
		}
		c->adj += (int64_t)len - FUSION_SLOT_PAYLOAD;
	}
	m->data = p + 8;
	m->len = len;
	m->kind = (uint8_t)(hdr >> 16);
	m->flags = (uint8_t)(hdr >> 24);
	m->nslots = 1;
	m->lane = c->lane;
	c->p = p + FUSION_SLOT_SIZE;
	return 1;
}
/* Writes the cursor back and releases what was consumed (doorbell as fusion_release); the
 * histogram counts the batch's first message. */
static inline void fusion_rx_end(struct fusion_ring *r, struct fusion_rxc *c)
{
	fusion__rx_sync(r, c);
	if (c->t0 != c->tb) {
		/* Still ours until the release below; any value only picks a bucket. */
		uint64_t hdr = __atomic_load_n((const uint64_t *)c->first, __ATOMIC_RELAXED);
		uint32_t age = c->now - (uint32_t)(hdr >> 32);
		((uint64_t *)r->rx_cons + FUSION_C_HIST)[__builtin_clz(age | 1) ^ 31]++;
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
