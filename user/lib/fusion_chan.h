/*
 * fusion_chan.h - channels and flow control on top of Fusion Rings (fusion.h), as
 * docs/ipc.md describes them: priority channel (5 lanes, starvation guard), multicast
 * publisher/subscribers with lag detection, anycast over N rings (4 policies), request/reply
 * with correlation ids and timeouts, credit controller, coalesce controller.
 * Header-only (this file: priority, multicast, anycast; fusion_flow.h: request/reply, credit,
 * coalesce); every function returns a negative errno on failure, as fusion.h does.
 */
#ifndef FUSION_CHAN_H
#define FUSION_CHAN_H

#include "fusion.h"

/* ---- priority channel: lane i of A->B is class i ---- */
#define FUSION_PRIO_CLASSES 5
enum { FUSION_PRIO_REALTIME, FUSION_PRIO_HIGH, FUSION_PRIO_NORMAL, FUSION_PRIO_LOW, FUSION_PRIO_BULK };

struct fusion_prio_rx {
	struct fusion_ring *r;
	unsigned guard;	 /* 0: strict priority; else a waiting class passed over `guard` times is served */
	unsigned waited[FUSION_PRIO_CLASSES]; /* messages taken from higher classes while it waited */
	uint64_t guard_picks; /* how often the guard chose a lower class */
};

/* A priority ring: 5 lanes A->B (one per class), `back_lanes` lanes B->A. */
static inline int fusion_prio_create(uint32_t slots, unsigned back_lanes, unsigned flags, int fds[2])
{
	return fusion_create_simple(slots, FUSION_PRIO_CLASSES, back_lanes, FUSION_KIND_DUPLEX, flags, fds);
}
static inline int fusion_prio_send(struct fusion_ring *r, unsigned cls, const void *buf, size_t len)
{
	if (cls >= FUSION_PRIO_CLASSES)
		return -EINVAL;
	return fusion_send(r, cls, buf, len, FUSION_MSG_DATA);
}
static inline int fusion_prio_send_wait(struct fusion_ring *r, unsigned cls, const void *buf, size_t len,
					uint64_t timeout_ns)
{
	if (cls >= FUSION_PRIO_CLASSES)
		return -EINVAL;
	return fusion_send_wait(r, cls, buf, len, FUSION_MSG_DATA, timeout_ns);
}

/* The class the next message comes from (applying the guard), or -EAGAIN/-EPIPE/-EPROTO. */
static inline int fusion__prio_pick(struct fusion_prio_rx *p)
{
	struct fusion_ring *r = p->r;
	unsigned ready = 0;
	for (unsigned i = 0; i < FUSION_PRIO_CLASSES && i < r->lanes_rx; i++) {
		int e = r->rx_tail[i] != r->rx_head[i] ? 1 : fusion__rx_refresh(r, i);
		if (e < 0)
			return e;
		if (e)
			ready |= 1u << i;
	}
	if (!ready)
		return fusion__empty(r);
	/* The starvation guard of docs/ipc.md (the same rule as exo_fusion's PriorityPicker):
	 * each waiting class counts the messages taken from higher classes since it was last
	 * served; the highest class that counted `guard` goes next, else the highest waiting. */
	unsigned chosen = (unsigned)__builtin_ctz(ready);
	for (unsigned c = 0; p->guard && c < FUSION_PRIO_CLASSES; c++) {
		if ((ready >> c & 1) && p->waited[c] >= p->guard) {
			if (c != chosen)
				p->guard_picks++;
			chosen = c;
			break;
		}
	}
	for (unsigned c = 0; c < FUSION_PRIO_CLASSES; c++) {
		if (!(ready >> c & 1) || c == chosen)
			p->waited[c] = 0;
		else if (c > chosen)
			p->waited[c]++;
	}
	return (int)chosen;
}
static inline long fusion_prio_recv(struct fusion_prio_rx *p, void *buf, size_t cap, unsigned *cls)
{
	int c = fusion__prio_pick(p);
	if (c < 0)
		return c;
	if (cls)
		*cls = (unsigned)c;
	return fusion_recv(p->r, (unsigned)c, buf, cap, NULL);
}
static inline long fusion_prio_recv_wait(struct fusion_prio_rx *p, void *buf, size_t cap, unsigned *cls,
					 uint64_t timeout_ns)
{
	uint64_t deadline = fusion_deadline(timeout_ns);
	for (;;) {
		long n = fusion_prio_recv(p, buf, cap, cls);
		if (n != -EAGAIN)
			return n;
		int e = fusion_wait_data(p->r, -1, deadline);
		if (e)
			return e;
	}
}

/* ---- multicast: end A publishes, every descriptor of end B subscribes ---- */

/* Largest message of a multicast ring: slots/2 slots. */
static inline uint32_t fusion_mc_max(uint32_t slots)
{
	return FUSION_SLOT_PAYLOAD + (slots / 2 - 1) * FUSION_SLOT_SIZE;
}
static inline int fusion_mc_create(uint32_t slots, unsigned flags, int fds[2])
{
	struct fusion_params p = { slots, 1, 0, FUSION_KIND_MULTICAST, 0, flags, FUSION_RIGHTS_ALL,
				   FUSION_RIGHT_RECV, 0 };
	return fusion_create(&p, fds);
}
/* Opens the publisher: it never waits for (or reads anything of) the subscribers. */
static inline int fusion_mc_pub_open(struct fusion_ring *r, int fd)
{
	int e = fusion_open(r, fd);
	if (e)
		return e;
	if (r->kind != FUSION_KIND_MULTICAST || r->side != 0) {
		fusion_unmap(r);
		return -EINVAL;
	}
	r->tx_limit[0] = UINT64_MAX - 2 * (uint64_t)FUSION_SLOTS_MAX;
	return 0;
}
static inline int fusion_mc_publish(struct fusion_ring *r, const void *buf, size_t len, unsigned kind)
{
	if (len > fusion_mc_max(r->slots))
		return -EMSGSIZE;
	/* Each message's head is published before the next message's slots are written (the
	 * release fence keeps those writes after it): a subscriber whose copy saw an overwrite
	 * then sees the head that tells it so (docs/ipc.md, MulticastChannel). */
	int e = fusion_send(r, 0, buf, len, kind);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	return e;
}

struct fusion_mc_sub {
	struct fusion_ring r;
	uint64_t pos;	    /* next slot to read, private */
	uint64_t lost;	    /* slots lost to lag, in all */
	uint64_t last_lost; /* slots lost by the last lag event */
	uint64_t lag_events;
};
/* Opens a subscriber on a B descriptor. from_start: read what is still in the ring when
 * nothing was overwritten yet; otherwise start at the current head. */
static inline int fusion_mc_sub_open(struct fusion_mc_sub *s, int fd, int from_start)
{
	memset(s, 0, sizeof *s);
	int e = fusion_open(&s->r, fd);
	if (e)
		return e;
	if (s->r.kind != FUSION_KIND_MULTICAST || s->r.side != 1 || !(s->r.rights & FUSION_RIGHT_RECV)) {
		fusion_unmap(&s->r);
		return -EINVAL;
	}
	uint64_t h = fusion__load(&s->r.rx_prod[FUSION_P_HEAD]);
	s->pos = from_start && h <= s->r.slots / 2 ? 0 : h;
	return 0;
}
/* The subscriber fell too far behind: jump to the head, count what was skipped. */
static inline long fusion__mc_lag(struct fusion_mc_sub *s, uint64_t h)
{
	s->last_lost = h - s->pos;
	s->lost += s->last_lost;
	s->lag_events++;
	s->pos = h;
	return -ENOBUFS;
}
/*
 * Receives the next message: its length, -EAGAIN (nothing new), -EPIPE (nothing new and the
 * publisher gone), -ENOBUFS (lag: s->last_lost slots were skipped; call again), -EMSGSIZE
 * (longer than cap: skipped), -EPROTO (the publisher wrote garbage).
 */
static inline long fusion_mc_recv(struct fusion_mc_sub *s, void *buf, size_t cap, unsigned *kind)
{
	struct fusion_ring *r = &s->r;
	uint64_t half = r->slots / 2;
	uint64_t h = fusion__load(&r->rx_prod[FUSION_P_HEAD]);
	uint64_t pos = s->pos;
	if (h < pos) /* a head never moves backwards */
		return -EPROTO;
	if (h == pos)
		return fusion__empty(r);
	if (h - pos > half)
		return fusion__mc_lag(s, h);
	const uint8_t *lb = r->rx_lane[0];
	uint64_t idx = pos & r->mask;
	uint64_t hdr = __atomic_load_n((const uint64_t *)(lb + idx * 64), __ATOMIC_RELAXED);
	uint32_t len = (uint16_t)hdr;
	uint64_t n = fusion_slots_for(len);
	int bad = len > fusion_mc_max(r->slots) || n > h - pos;
	size_t take = bad ? 0 : len;
	if (take) {
		uint8_t *dst = len <= cap ? (uint8_t *)buf : r->bounce;
		size_t first = (size_t)(r->slots - idx) * 64 - 8;
		if (take <= first) {
			memcpy(dst, lb + idx * 64 + 8, take);
		} else {
			memcpy(dst, lb + idx * 64 + 8, first);
			memcpy(dst + first, lb, take - first);
		}
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	uint64_t h2 = fusion__load(&r->rx_prod[FUSION_P_HEAD]);
	if (h2 - pos > half)
		return fusion__mc_lag(s, h2); /* it may have been overwritten while we read it */
	if (bad)
		return -EPROTO;
	s->pos = pos + n;
	if (kind)
		*kind = (uint8_t)(hdr >> 16);
	return len <= cap ? (long)len : -EMSGSIZE;
}
static inline long fusion_mc_recv_wait(struct fusion_mc_sub *s, void *buf, size_t cap, unsigned *kind,
				       uint64_t timeout_ns)
{
	uint64_t deadline = fusion_deadline(timeout_ns);
	for (;;) {
		uint64_t p = fusion__load(&s->r.rx_prod[FUSION_P_POST]);
		long n = fusion_mc_recv(s, buf, cap, kind);
		if (n != -EAGAIN)
			return n;
		int e = fusion__wait(&s->r, FUSION_WAIT_DATA, p, deadline);
		if (e == -EPIPE) {
			n = fusion_mc_recv(s, buf, cap, kind);
			return n == -EAGAIN ? -EPIPE : n;
		}
		if (e)
			return e;
	}
}

/* ---- anycast: one ring per worker, a policy picks the worker of each message ---- */
enum { FUSION_ANY_ROUND_ROBIN, FUSION_ANY_LEAST_LOADED, FUSION_ANY_RANDOM, FUSION_ANY_STICKY };

struct fusion_anycast {
	struct fusion_ring *rings; /* n rings; this side sends on lane 0 of each */
	unsigned n, policy, next;
	uint64_t rng;
};
static inline void fusion_any_init(struct fusion_anycast *a, struct fusion_ring *rings, unsigned n,
				   unsigned policy, uint64_t seed)
{
	a->rings = rings;
	a->n = n;
	a->policy = policy;
	a->next = 0;
	a->rng = seed | 1;
}
/* Slots in flight to worker i (sent, not yet consumed); a broken ring counts as full. */
static inline uint64_t fusion_any_load(struct fusion_anycast *a, unsigned i)
{
	struct fusion_ring *r = &a->rings[i];
	if (r->broken)
		return UINT64_MAX;
	uint64_t in = r->tx_head[0] - fusion__load(&r->tx_cons[FUSION_C_TAIL]);
	return in > r->slots ? UINT64_MAX : in;
}
static inline uint64_t fusion__hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}
/* The worker the policy picks for a message with this key. */
static inline unsigned fusion_any_pick(struct fusion_anycast *a, uint64_t key)
{
	switch (a->policy) {
	case FUSION_ANY_LEAST_LOADED: {
		unsigned best = a->next % a->n;
		uint64_t bl = fusion_any_load(a, best);
		for (unsigned k = 1; k < a->n; k++) {
			unsigned i = (a->next + k) % a->n;
			uint64_t l = fusion_any_load(a, i);
			if (l < bl) {
				bl = l;
				best = i;
			}
		}
		a->next = best + 1; /* ties rotate */
		return best;
	}
	case FUSION_ANY_RANDOM:
		a->rng ^= a->rng << 13;
		a->rng ^= a->rng >> 7;
		a->rng ^= a->rng << 17;
		return (unsigned)(a->rng % a->n);
	case FUSION_ANY_STICKY:
		return (unsigned)(fusion__hash64(key) % a->n);
	default:
		return a->next++ % a->n;
	}
}
/* Sends one message to the worker the policy picks (sticky: always that one; the others
 * fall back to any worker with room before blocking). The worker's index or -errno. */
static inline int fusion_any_send(struct fusion_anycast *a, uint64_t key, const void *buf, size_t len,
				  uint64_t timeout_ns)
{
	unsigned w = fusion_any_pick(a, key);
	int e = fusion_send(&a->rings[w], 0, buf, len, FUSION_MSG_DATA);
	if (e == 0)
		return (int)w;
	if (e == -EAGAIN && a->policy != FUSION_ANY_STICKY) {
		for (unsigned k = 1; k < a->n; k++) {
			unsigned i = (w + k) % a->n;
			if (fusion_send(&a->rings[i], 0, buf, len, FUSION_MSG_DATA) == 0)
				return (int)i;
		}
	}
	if (e != -EAGAIN)
		return e;
	e = fusion_send_wait(&a->rings[w], 0, buf, len, FUSION_MSG_DATA, timeout_ns);
	return e ? e : (int)w;
}

/* Request/reply, credit and coalesce controllers: */
#include "fusion_flow.h"

#endif /* FUSION_CHAN_H */
