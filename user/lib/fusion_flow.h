/*
 * fusion_flow.h - request/reply with correlation ids and timeouts, and the flow controllers
 * (credit, coalesce) of docs/ipc.md, on top of Fusion Rings. Part of the channel library:
 * include "fusion_chan.h", which includes it.
 */
#ifndef FUSION_FLOW_H
#define FUSION_FLOW_H

#include "fusion.h"

/* ---- request/reply: messages start with a 64-bit correlation id ---- */
struct fusion_rr {
	struct fusion_ring *r;
	uint64_t next_id;
	uint64_t stale; /* replies dropped because their call had given up */
	uint8_t *scratch;
	size_t scratch_len;
};
static inline int fusion_rr_init(struct fusion_rr *c, struct fusion_ring *r)
{
	c->r = r;
	c->next_id = 0;
	c->stale = 0;
	c->scratch_len = r->max_msg;
	c->scratch = (uint8_t *)malloc(c->scratch_len);
	return c->scratch ? 0 : -ENOMEM;
}
static inline void fusion_rr_fini(struct fusion_rr *c)
{
	free(c->scratch);
	c->scratch = NULL;
}
/* Writes [id][payload] and publishes; the doorbell is left owed to the next wait. */
static inline int fusion__rr_put_slow(struct fusion_rr *c, uint64_t id, const void *buf, size_t len, uint64_t deadline)
{
	if (len + 8 > c->scratch_len)
		return -EMSGSIZE;
	memcpy(c->scratch, &id, 8);
	memcpy(c->scratch + 8, buf, len);
	for (;;) {
		int e = fusion_write(c->r, 0, c->scratch, len + 8, FUSION_MSG_DATA);
		if (e == 0)
			return fusion_publish_ex(c->r, 0);
		if (e != -EAGAIN)
			return e;
		e = fusion_wait_space(c->r, 0, fusion_slots_for(len + 8), deadline);
		if (e)
			return e;
	}
}
__attribute__((always_inline)) static inline int fusion__rr_put(struct fusion_rr *c, uint64_t id, const void *buf,
								  size_t len, uint64_t deadline)
{
	/* One slot: written in place, no staging copy. */
	if (__builtin_expect(fusion__put1(c->r, 1, id, buf, len, FUSION_MSG_DATA), 1))
		return 0; /* a gone peer: the wait that follows says -EPIPE */
	return fusion__rr_put_slow(c, id, buf, len, deadline);
}
/* Receives one [id][payload] message into the caller's buffer: payload length or -errno. */
__attribute__((noinline)) static long fusion__rr_get_slow(struct fusion_rr *c, uint64_t *id, void *buf, size_t cap,
							  uint64_t deadline)
{
	*id = 0;
	for (;;) {
		long n = fusion_recv(c->r, 0, c->scratch, c->scratch_len, NULL);
		if (n >= 0) {
			fusion_flush_wake(c->r);
			if (n < 8)
				continue; /* not ours: no id */
			memcpy(id, c->scratch, 8);
			if ((size_t)n - 8 > cap)
				return -EMSGSIZE;
			memcpy(buf, c->scratch + 8, (size_t)n - 8);
			return n - 8;
		}
		if (n != -EAGAIN)
			return n;
		int e = fusion_wait_data(c->r, 0, deadline);
		if (e)
			return e;
	}
}
__attribute__((always_inline)) static inline long fusion__rr_get(struct fusion_rr *c, uint64_t *id, void *buf,
								  size_t cap, uint64_t deadline)
{
	for (;;) {
		uint64_t hdr;
		int e;
		/* One slot, read in place (fusion__get1 validated its length). */
		const uint64_t *s;
		if (__builtin_expect(!fusion__get1(c->r, deadline, -1, 0, &s, &hdr, &e), 0)) {
			if (e && e != -EPIPE) {
				*id = 0;
				return e;
			}
			return fusion__rr_get_slow(c, id, buf, cap, deadline); /* -EPIPE: drain first */
		}
		size_t n = (uint16_t)hdr;
		if (__builtin_expect(n < 8, 0)) {
			fusion__take1(c->r, hdr); /* not ours: no id */
			continue;
		}
		*id = __atomic_load_n(&s[1], __ATOMIC_RELAXED);
		n -= 8;
		if (__builtin_expect(n > cap, 0)) {
			fusion__take1(c->r, hdr);
			return -EMSGSIZE;
		}
		if (__builtin_expect(n == FUSION_SLOT_PAYLOAD - 8, 1))
			fusion__copy_48(buf, s + 2);
		else
			memcpy(buf, s + 2, n);
		fusion__take1(c->r, hdr);
		return (long)n;
	}
}
/*
 * A call: sends the request, waits for the reply with the same id (WAKE_DATA|WAIT_DATA: one
 * system call hands the CPU to a sleeping server), up to timeout_ns. Replies of earlier calls
 * that timed out are dropped. The reply's length, or -ETIMEDOUT/-EPIPE/-errno.
 */
static inline long fusion_rr_call(struct fusion_rr *c, const void *req, size_t len, void *reply, size_t cap,
				  uint64_t timeout_ns)
{
	uint64_t deadline = fusion_deadline(timeout_ns);
	uint64_t id = ++c->next_id;
	int e = fusion__rr_put(c, id, req, len, deadline);
	if (e)
		return e;
	for (;;) {
		uint64_t got = 0;
		long n = fusion__rr_get(c, &got, reply, cap, deadline);
		if (n < 0 || got == id)
			return n;
		c->stale++;
	}
}
/* Server side: the next request (its id in *id), up to timeout_ns; a reply's owed wake-up
 * rides on this wait. */
static inline long fusion_rr_recv(struct fusion_rr *c, uint64_t *id, void *buf, size_t cap, uint64_t timeout_ns)
{
	return fusion__rr_get(c, id, buf, cap, fusion_deadline(timeout_ns));
}
/* Server side: the reply to request `id`. The wake-up goes with the next fusion_rr_recv (or
 * fusion_flush_wake). */
static inline int fusion_rr_reply(struct fusion_rr *c, uint64_t id, const void *buf, size_t len)
{
	int e = fusion__rr_put(c, id, buf, len, 0);
	if (__builtin_expect(e == 0 && (c->r->kp[FUSION_K_STATE] & c->r->dead_bits), 0))
		return -EPIPE; /* published anyway, as fusion_publish says */
	return e;
}

/* ---- credit controller: at most window_msgs messages / window_bytes bytes in flight ---- */
struct fusion_credit {
	struct fusion_ring *r;
	uint64_t window_msgs, window_bytes;
	uint64_t blocked; /* how often a send had to wait for credit */
};
static inline void fusion_credit_init(struct fusion_credit *c, struct fusion_ring *r, uint64_t msgs, uint64_t bytes)
{
	c->r = r;
	c->window_msgs = msgs;
	c->window_bytes = bytes;
	c->blocked = 0;
}
/* Messages and bytes in flight (own POST/BYTES minus the consumer's TAKEN/BYTES). */
static inline int fusion_credit_inflight(struct fusion_credit *c, uint64_t *msgs, uint64_t *bytes, uint64_t *taken)
{
	struct fusion_ring *r = c->r;
	uint64_t t = fusion__load(&r->tx_cons[FUSION_C_TAKEN]);
	uint64_t b = fusion__load(&r->tx_cons[FUSION_C_BYTES]);
	if (t > r->tx_post || b > r->tx_bytes)
		return fusion__broken(r);
	*msgs = r->tx_post - t;
	*bytes = r->tx_bytes - b;
	*taken = t;
	return 0;
}
/* Sends one message when the window allows (waiting with WAIT_SPACE otherwise). */
static inline int fusion_credit_send(struct fusion_credit *c, unsigned lane, const void *buf, size_t len,
				     unsigned kind, uint64_t timeout_ns)
{
	uint64_t deadline = fusion_deadline(timeout_ns);
	int waited = 0;
	for (;;) {
		uint64_t m = 0, b = 0, taken = 0;
		int e = fusion_credit_inflight(c, &m, &b, &taken);
		if (e)
			return e;
		if (m == 0 || (m < c->window_msgs && b + len <= c->window_bytes)) {
			uint64_t left = FUSION_FOREVER;
			if (deadline) {
				uint64_t now = fusion_now_ns();
				left = now < deadline ? deadline - now : 0;
			}
			return fusion_send_wait(c->r, lane, buf, len, kind, left);
		}
		if (!waited++)
			c->blocked++;
		fusion_publish(c->r);
		e = fusion__wait(c->r, FUSION_WAIT_SPACE, taken, deadline);
		if (e)
			return e;
	}
}

/* ---- coalesce controller: when a sender rings the doorbell ---- */
enum { FUSION_CO_IMMEDIATE, FUSION_CO_BATCHED, FUSION_CO_TIMED, FUSION_CO_ADAPTIVE };

struct fusion_coalesce {
	struct fusion_ring *r;
	unsigned mode;
	unsigned batch;	     /* batched: ring every `batch` messages */
	uint64_t max_cycles; /* timed: ring when the oldest unannounced message is this old */
	uint64_t wake_cost;  /* adaptive: cycles a wake-up costs */
	uint64_t ema_gap;    /* adaptive: EMA of the gap between sends, cycles */
	uint64_t last, oldest;
	unsigned pending;    /* messages published but not announced */
	uint64_t rings;	     /* announcements made (a doorbell if somebody waited) */
	uint64_t doorbells;  /* fusion_wake calls made */
	int adaptive_batched;
};
static inline uint64_t fusion_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}
static inline void fusion_co_init(struct fusion_coalesce *co, struct fusion_ring *r, unsigned mode,
				  unsigned batch, uint64_t max_cycles, uint64_t wake_cost)
{
	memset(co, 0, sizeof *co);
	co->r = r;
	co->mode = mode;
	co->batch = batch ? batch : 1;
	co->max_cycles = max_cycles;
	co->wake_cost = wake_cost;
	co->ema_gap = wake_cost * 2;
	co->last = fusion_rdtsc();
}
/* Announces what is pending: a doorbell if somebody waits or polls. */
static inline void fusion_co_flush(struct fusion_coalesce *co)
{
	if (!co->pending)
		return;
	co->pending = 0;
	co->rings++;
	co->r->wake_pending = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (*co->r->w_data + *co->r->w_poll != 0) {
		co->doorbells++;
		fusion_wake(co->r->fd, FUSION_WAKE_DATA);
	}
}
/* Timed mode: call now and then; rings when the oldest pending message is old enough. */
static inline void fusion_co_tick(struct fusion_coalesce *co)
{
	if (co->pending && fusion_rdtsc() - co->oldest >= co->max_cycles)
		fusion_co_flush(co);
}
/* Sends (publishes at once) and lets the mode decide whether to ring now. */
static inline int fusion_co_send(struct fusion_coalesce *co, unsigned lane, const void *buf, size_t len,
				 unsigned kind)
{
	uint64_t now = fusion_rdtsc();
	int e = fusion_write(co->r, lane, buf, len, kind);
	if (e == -EAGAIN) {
		fusion_co_flush(co); /* the receiver must hear of what it has before we wait */
		e = fusion_send_wait(co->r, lane, buf, len, kind, FUSION_FOREVER);
		if (e)
			return e;
	} else if (e) {
		return e;
	}
	e = fusion_publish_ex(co->r, 0);
	co->r->wake_pending = 0; /* the controller decides */
	if (!co->pending++)
		co->oldest = now;
	uint64_t gap = now - co->last;
	co->last = now;
	int ring;
	switch (co->mode) {
	case FUSION_CO_BATCHED:
		ring = co->pending >= co->batch;
		break;
	case FUSION_CO_TIMED:
		ring = now - co->oldest >= co->max_cycles;
		break;
	case FUSION_CO_ADAPTIVE:
		co->ema_gap = co->ema_gap - co->ema_gap / 8 + gap / 8;
		co->adaptive_batched = co->ema_gap < co->wake_cost;
		ring = co->adaptive_batched ? co->pending >= co->batch : 1;
		break;
	default:
		ring = 1;
	}
	if (ring)
		fusion_co_flush(co);
	return e;
}

#endif /* FUSION_FLOW_H */
