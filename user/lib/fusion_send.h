/*
 * fusion_send.h - sending: single messages, batch cursors (fusion_tx_*), publishing and the
 * doorbell.
 * Part of the Fusion Ring C library: include "fusion.h", which includes every part in order.
 */
#ifndef FUSION_SEND_H
#define FUSION_SEND_H

#include "fusion_ring.h"

/* ---- sending ---- */

/* Slow path of a write: the cached limit is reached; re-read the peer's tail and validate. */
__attribute__((noinline)) static int fusion__tx_refresh(struct fusion_ring *r, unsigned lane, uint64_t need)
{
	if (r->broken)
		return r->broken;
	if (lane >= r->lanes_tx || !(r->rights & FUSION_RIGHT_SEND))
		return lane >= r->lanes_tx ? -EINVAL : -EPERM;
	uint64_t h = r->tx_head[lane];
	uint64_t t = fusion__load(&r->tx_cons[FUSION_C_TAIL + lane]);
	if (h - t > r->slots)
		return fusion__broken(r);
	r->tx_limit[lane] = t + r->slots;
	if (h + need > r->tx_limit[lane])
		return fusion_peer_gone(r) ? -EPIPE : -EAGAIN;
	return 0;
}

/* The general case of fusion_write: a full-looking lane or a message of several slots. */
__attribute__((noinline)) static int fusion__write_slow(struct fusion_ring *r, unsigned lane, const void *buf,
						      size_t len, uint64_t hdr)
{
	uint64_t h = r->tx_head[lane];
	if (len > r->max_msg)
		return r->broken ? r->broken : -EMSGSIZE;
	uint64_t n = fusion_slots_for(len);
	if (h + n > r->tx_limit[lane]) {
		int e = fusion__tx_refresh(r, lane, n);
		if (e)
			return e;
	}
	uint8_t *lb = r->tx_lane[lane];
	uint64_t *s = (uint64_t *)(lb + ((h & r->mask) << 6));
	s[0] = hdr;
	if (len <= FUSION_SLOT_PAYLOAD) {
		memcpy(s + 1, buf, len);
	} else {
		memcpy(s + 1, buf, FUSION_SLOT_PAYLOAD);
		const uint8_t *src = (const uint8_t *)buf + FUSION_SLOT_PAYLOAD;
		size_t rest = len - FUSION_SLOT_PAYLOAD;
		uint64_t next = (h + 1) & r->mask;
		size_t room = (size_t)(r->slots - next) * 64;
		if (rest <= room) {
			memcpy(lb + next * 64, src, rest);
		} else {
			memcpy(lb + next * 64, src, room);
			memcpy(lb, src + room, rest - room);
		}
	}
	r->tx_head[lane] = h + n;
	r->tx_post++;
	r->tx_bytes += len;
	return 0;
}

/*
 * Writes one message into lane `lane` without publishing it (fusion_publish makes the batch
 * visible). `kind` is the message kind, plus header flags in bits 8-15.
 * 0, -EAGAIN (full), -EMSGSIZE, -EPROTO, -EPIPE.
 */
__attribute__((always_inline)) static inline int fusion_write(struct fusion_ring *r, unsigned lane,
							       const void *buf, size_t len, unsigned kind)
{
	uint64_t h = r->tx_head[lane];
	uint64_t post = r->tx_post;
	if (post == r->tx_published)
		r->tx_stamp = fusion_rdtsc32();
	uint64_t hdr = (uint64_t)len | (uint64_t)(kind & 0xffff) << 16 | (uint64_t)r->tx_stamp << 32;
	if (__builtin_expect(len > FUSION_SLOT_PAYLOAD || h >= r->tx_limit[lane], 0))
		return fusion__write_slow(r, lane, buf, len, hdr);
	uint64_t bytes = r->tx_bytes;
	uint64_t *s = (uint64_t *)(r->tx_lane[lane] + ((h & r->mask) << 6));
	r->tx_head[lane] = h + 1;
	r->tx_post = post + 1;
	r->tx_bytes = bytes + len;
	s[0] = hdr;
	memcpy(s + 1, buf, len);
	return 0;
}

/* Rings the data doorbell now if somebody waits for data or polls; merges nothing. */
static inline void fusion__doorbell_data(struct fusion_ring *r)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__builtin_expect(*r->w_data + *r->w_poll != 0, 0))
		fusion_wake(r->fd, FUSION_WAKE_DATA);
}

/*
 * Publishes what fusion_write wrote (lane heads, BYTES, then POST). With `wake`, rings the
 * doorbell when the kernel page says someone waits or polls; without, remembers that a wake
 * is owed (r->wake_pending) so the next wait can carry it (fusion_flush_wake otherwise).
 * 0, or -EPIPE when the peer is gone (the messages are published anyway).
 */
static inline int fusion_publish_ex(struct fusion_ring *r, int wake)
{
	if (r->tx_published == r->tx_post)
		return r->broken;
	for (unsigned i = 0; i < r->lanes_tx; i++)
		fusion__store(&r->tx_prod[FUSION_P_HEAD + i], r->tx_head[i]);
	fusion__store(&r->tx_prod[FUSION_P_BYTES], r->tx_bytes);
	fusion__store(&r->tx_prod[FUSION_P_POST], r->tx_post);
	r->tx_published = r->tx_post;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__builtin_expect(*r->w_data + *r->w_poll != 0, 0)) {
		if (wake)
			fusion_wake(r->fd, FUSION_WAKE_DATA);
		else
			r->wake_pending = 1;
	}
	if (__builtin_expect(r->kp[FUSION_K_STATE] & r->dead_bits, 0))
		return -EPIPE;
	return 0;
}
static inline int fusion_publish(struct fusion_ring *r)
{
	return fusion_publish_ex(r, 1);
}
/* Delivers a wake-up owed by fusion_publish_ex(r, 0). */
static inline void fusion__owed_wake(struct fusion_ring *r, int pending);
static inline void fusion_flush_wake(struct fusion_ring *r)
{
	if (r->wake_pending)
		fusion__owed_wake(r, r->wake_pending);
}

/* fusion_send's general path: fusion_write, then fusion_publish. */
__attribute__((noinline)) static int fusion__send_slow(struct fusion_ring *r, unsigned lane, const void *buf, size_t len,
						       unsigned kind)
{
	int e = fusion_write(r, lane, buf, len, kind);
	if (e)
		return e;
	return fusion_publish(r);
}

/* Writes [id (8 bytes, when with_id)][buf, len] as one message of `kind` on lane 0 and publishes it.
 * The doorbell is left owed, unchecked (r->wake_pending = 2), to the wait that follows: that
 * system call carries WAKE_DATA anyway (the kernel wakes whoever waits), so the fence and the
 * kernel-page check are only needed when no wait follows (fusion__owed_wake).
 * 1 (done), 0 (not applicable: nothing was done, use the general path). */
__attribute__((always_inline)) static inline int fusion__put1(struct fusion_ring *r, int with_id, uint64_t id,
							       const void *buf, size_t len, unsigned kind)
{
	uint64_t h = r->tx_head[0];
	size_t total = len + (with_id ? 8 : 0);
	if (__builtin_expect(!r->fast1 || total > FUSION_SLOT_PAYLOAD, 0))
		return 0;
	if (__builtin_expect(h >= r->tx_limit[0], 0) && fusion__tx_refresh(r, 0, 1))
		return 0; /* full (or broken): the general path waits or reports it */
	uint64_t post = r->tx_post + 1, bytes = r->tx_bytes + total;
	__asm__("" : "+r"(post), "+r"(bytes)); /* scalar adds and stores, not a vector add */
	uint32_t stamp = fusion_rdtsc32();
	uint64_t *s = (uint64_t *)(r->tx_lane[0] + ((h & r->mask) << 6));
	s[0] = (uint64_t)total | (uint64_t)(kind & 0xffff) << 16 | (uint64_t)stamp << 32;
	if (with_id) {
		s[1] = id;
		if (__builtin_expect(len == FUSION_SLOT_PAYLOAD - 8, 1))
			fusion__copy_48(s + 2, buf);
		else
			memcpy(s + 2, buf, len);
	} else {
		fusion__copy56(s + 1, buf, len);
	}
	r->tx_head[0] = h + 1;
	r->tx_post = post;
	r->tx_published = post;
	r->tx_bytes = bytes;
	volatile uint64_t *prod = r->tx_prod;
	fusion__store(&prod[FUSION_P_HEAD], h + 1);
	fusion__store(&prod[FUSION_P_BYTES], bytes);
	fusion__store(&prod[FUSION_P_POST], post);
	r->wake_pending = 2;
	return 1;
}

/* One message, published at once. 0 or -errno (-EAGAIN: full). A one-slot message on a
 * fast1 ring goes straight (fusion__put1, then the doorbell and the peer check of
 * fusion_publish). */
__attribute__((always_inline)) static inline int fusion_send(struct fusion_ring *r, unsigned lane, const void *buf,
							      size_t len, unsigned kind)
{
	if (__builtin_expect(lane == 0 && fusion__put1(r, 0, 0, buf, len, kind), 1)) {
		r->wake_pending = 0;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__builtin_expect(*r->w_data + *r->w_poll != 0, 0))
			fusion_wake(r->fd, FUSION_WAKE_DATA);
		if (__builtin_expect(r->kp[FUSION_K_STATE] & r->dead_bits, 0))
			return -EPIPE;
		return 0;
	}
	return fusion__send_slow(r, lane, buf, len, kind);
}

/*
 * Batch cursors: the hot state of one lane in locals (a cursor the compiler keeps in
 * registers), so a batch costs a few instructions per message:
 *     struct fusion_txc c; fusion_tx_begin(r, lane, &c);
 *     while (...) if (fusion_tx_put(r, &c, buf, len, kind)) break;
 *     fusion_tx_end(r, &c);            (writes the state back and publishes once)
 * The fast path walks a slot pointer up to `stop`: the first slot it may not write (the
 * validated limit, or the lane's end, where the slow path wraps). The head is derived from
 * the pointer; the bytes from the message count plus `adj`, the sum of (len - 56), so a
 * stream of full slots adds nothing and any other length one lea.
 */
struct fusion_txc {
	uint8_t *p, *stop;	/* next slot; first slot the fast path may not write */
	uint8_t *base;		/* the slot of head h0 */
	uint64_t h0, hdr_stamp; /* h0: the head when r was last synced */
	int64_t adj;		/* bytes minus 56 per message, since the last sync */
	unsigned lane;
};
/* Points the cursor at r's head of its lane (after a sync). */
static inline void fusion__txc_load(struct fusion_ring *r, struct fusion_txc *c)
{
	uint64_t h = r->tx_head[c->lane], limit = r->tx_limit[c->lane];
	uint64_t idx = h & r->mask, room = limit > h ? limit - h : 0, end = r->slots - idx;
	c->h0 = h;
	c->p = c->base = r->tx_lane[c->lane] + (idx << 6);
	c->stop = c->p + ((room < end ? room : end) << 6);
	c->adj = 0;
}
static inline void fusion_tx_begin(struct fusion_ring *r, unsigned lane, struct fusion_txc *c)
{
	c->lane = lane;
	c->hdr_stamp = (uint64_t)fusion_rdtsc32() << 32;
	r->tx_stamp = (uint32_t)(c->hdr_stamp >> 32);
	fusion__txc_load(r, c);
}
/* Writes the cursor back into r: every message the fast path wrote took one slot. */
static inline void fusion__tx_sync(struct fusion_ring *r, struct fusion_txc *c)
{
	uint64_t n = (uint64_t)(c->p - c->base) >> 6;
	r->tx_head[c->lane] = c->h0 + n;
	r->tx_post += n;
	r->tx_bytes += n * FUSION_SLOT_PAYLOAD + (uint64_t)c->adj;
	c->h0 += n;
	c->base = c->p;
	c->adj = 0;
}
/* Writes one message (unpublished): 0 or -errno as fusion_write. */
__attribute__((always_inline)) static inline int fusion_tx_put(struct fusion_ring *r, struct fusion_txc *c,
								const void *buf, size_t len, unsigned kind)
{
	uint8_t *p = c->p;
	uint64_t hdr = len | (uint64_t)(kind & 0xffff) << 16 | c->hdr_stamp;
	if (__builtin_expect(len > FUSION_SLOT_PAYLOAD || p == c->stop, 0)) {
		fusion__tx_sync(r, c);
		int e = fusion__write_slow(r, c->lane, buf, len, hdr);
		fusion__txc_load(r, c);
		return e;
	}
	c->p = p + FUSION_SLOT_SIZE;
	c->adj += (int64_t)len - FUSION_SLOT_PAYLOAD;
	*(uint64_t *)p = hdr;
	fusion__copy56(p + 8, buf, len);
	return 0;
}
/* Writes the cursor back and publishes the batch (doorbell as fusion_publish). */
static inline int fusion_tx_end(struct fusion_ring *r, struct fusion_txc *c)
{
	fusion__tx_sync(r, c);
	return fusion_publish(r);
}

/* An array of messages for fusion_send_batch. */
struct fusion_iov {
	const void *buf;
	uint32_t len;
	uint32_t kind;
};
/* Writes as many of msgs[0..n) as fit into lane, publishes once; returns how many were sent
 * (0 with a full ring), or -errno if none could be and there was an error. */
static inline int fusion_send_batch(struct fusion_ring *r, unsigned lane, const struct fusion_iov *msgs, int n)
{
	struct fusion_txc c;
	int i, e = 0;
	fusion_tx_begin(r, lane, &c);
	for (i = 0; i < n; i++) {
		e = fusion_tx_put(r, &c, msgs[i].buf, msgs[i].len, msgs[i].kind);
		if (e)
			break;
	}
	int pe = fusion_tx_end(r, &c);
	if (i == 0 && e && e != -EAGAIN)
		return e;
	if (i == 0 && pe)
		return pe;
	return i;
}

#endif /* FUSION_SEND_H */
