/*
 * fusion_ring.h - a ring as one end sees it (struct fusion_ring): attaching the mapping, the
 * validated loads of the peer's words, closing.
 * Part of the Fusion Ring C library: include "fusion.h", which includes every part in order.
 */
#ifndef FUSION_RING_H
#define FUSION_RING_H

#include "fusion_abi.h"

/* ---- the ring, as one end sees it ---- */
struct fusion_ring {
	/* Outgoing direction (this end's producer). */
	uint8_t *tx_lane[FUSION_LANES_MAX];	  /* each lane's first slot */
	uint64_t tx_head[FUSION_LANES_MAX];	  /* next slot to write (private copy) */
	uint64_t tx_limit[FUSION_LANES_MAX];	  /* last validated tail + slots */
	volatile uint64_t *tx_prod;		  /* our producer page */
	const volatile uint64_t *tx_cons;	  /* the peer's consumer page */
	uint64_t tx_post, tx_bytes, tx_published; /* messages/bytes written, messages published */
	uint32_t tx_stamp;
	/* Incoming direction (this end's consumer). */
	uint32_t rx_now;
	const uint8_t *rx_lane[FUSION_LANES_MAX];
	uint64_t rx_tail[FUSION_LANES_MAX];	  /* next slot to read (private copy) */
	uint64_t rx_head[FUSION_LANES_MAX];	  /* last validated head */
	const volatile uint64_t *rx_prod;	  /* the peer's producer page */
	volatile uint64_t *rx_cons;		  /* our consumer page */
	uint64_t rx_taken, rx_bytes;
	/* Doorbells: kernel-page words saying someone waits or polls. */
	const volatile uint64_t *kp;
	const volatile uint64_t *w_data, *w_space, *w_poll;
	uint64_t dead_bits;	/* STATE bits that mean "peer gone" */
	uint32_t slots, mask, max_msg;
	uint32_t lanes_tx, lanes_rx;
	uint32_t rights, side, kind;
	int fd;
	int broken;		/* 0, or the error every call returns */
	int wake_pending;	/* a WAKE_DATA owed, to merge into the next wait */
	int fast1;		/* one lane each way, SEND and RECV, duplex, not broken: the
				 * one-slot fast paths of fusion_call and the RequestReply channel */
	uint8_t *map;
	uint64_t size, id;
	uint8_t *bounce;	/* wrapped messages are assembled here (fusion_peek) */
};

/* One received message, in place (valid until the next peek on the ring). */
struct fusion_msg {
	const uint8_t *data;
	uint32_t len;
	uint8_t kind, flags;
	uint16_t nslots;
	uint32_t stamp;
	unsigned lane;
};

static inline uint64_t fusion__load(const volatile uint64_t *p)
{
	return __atomic_load_n((const uint64_t *)p, __ATOMIC_ACQUIRE);
}
static inline void fusion__store(volatile uint64_t *p, uint64_t v)
{
	__atomic_store_n((uint64_t *)p, v, __ATOMIC_RELEASE);
}

/* Unaligned 16-byte words: explicit SSE moves, whatever the optimizer thinks of the path. */
typedef uint64_t fusion__v16 __attribute__((vector_size(16), aligned(1), may_alias));
typedef uint64_t fusion__u64u __attribute__((aligned(1), may_alias));
/* Copies 56 bytes (a slot's payload) with three 16-byte moves and one 8-byte move. */
__attribute__((always_inline)) static inline void fusion__copy_56(void *dst, const void *src)
{
	const fusion__v16 *s = (const fusion__v16 *)src;
	fusion__v16 a = s[0], b = s[1], c = s[2];
	fusion__u64u d = *(const fusion__u64u *)((const uint8_t *)src + 48);
	fusion__v16 *o = (fusion__v16 *)dst;
	o[0] = a;
	o[1] = b;
	o[2] = c;
	*(fusion__u64u *)((uint8_t *)dst + 48) = d;
}
/* Copies 48 bytes (a slot's payload after a correlation id). */
__attribute__((always_inline)) static inline void fusion__copy_48(void *dst, const void *src)
{
	const fusion__v16 *s = (const fusion__v16 *)src;
	fusion__v16 a = s[0], b = s[1], c = s[2];
	fusion__v16 *o = (fusion__v16 *)dst;
	o[0] = a;
	o[1] = b;
	o[2] = c;
}
/* Copies len <= 56 bytes; the usual 56 with the fixed moves. */
__attribute__((always_inline)) static inline void fusion__copy56(void *dst, const void *src, size_t len)
{
	if (__builtin_expect(len == FUSION_SLOT_PAYLOAD, 1))
		fusion__copy_56(dst, src);
	else
		memcpy(dst, src, len);
}

/* Marks the ring broken (a corrupt peer): cut the peer off if we may. */
__attribute__((noinline, cold)) static void fusion__break(struct fusion_ring *r)
{
	if (!r->broken) {
		r->broken = -EPROTO;
		/* Send every fast path to its slow path, which reports the error. */
		r->fast1 = 0;
		for (unsigned i = 0; i < FUSION_LANES_MAX; i++) {
			r->tx_limit[i] = 0;
			r->rx_head[i] = r->rx_tail[i];
		}
		if (r->rights & FUSION_RIGHT_MANAGE)
			fusion_shutdown(r->fd, (uint64_t)EPROTO);
	}
}
static inline int fusion__broken(struct fusion_ring *r)
{
	fusion__break(r);
	return -EPROTO;
}

/*
 * Attaches r to a ring mapping `map` (from fusion_map) of end `side` with `rights`; the
 * geometry comes from the kernel page and must match info. 0 or -EPROTO/-EINVAL/-ENOMEM.
 * Exposed so a mapping can be attached without fusion_open (tests, simulations).
 */
static inline int fusion_attach(struct fusion_ring *r, int fd, uint8_t *map, const struct fusion_info *in)
{
	struct fusion_layout l;
	memset(r, 0, sizeof *r);
	r->fd = fd;
	if (fusion_layout(in->slots, in->lanes_ab, in->lanes_ba, &l) || l.size != in->size || in->side > 1)
		return -EINVAL;
	const volatile uint64_t *kp = (const volatile uint64_t *)map;
	uint64_t geo = in->slots | (uint64_t)in->lanes_ab << 32 | (uint64_t)in->lanes_ba << 40 |
		       (uint64_t)in->kind << 48;
	if (kp[FUSION_K_MAGIC] != FUSION_MAGIC || kp[FUSION_K_GEOMETRY] != geo)
		return -EPROTO;
	int a = in->side == 0;
	r->map = map;
	r->size = l.size;
	r->id = in->id;
	r->kp = kp;
	r->slots = l.slots;
	r->mask = l.slots - 1;
	r->max_msg = fusion_max_message(l.slots);
	r->rights = in->rights;
	r->side = in->side;
	r->kind = in->kind;
	r->lanes_tx = a ? l.lanes_ab : l.lanes_ba;
	r->lanes_rx = a ? l.lanes_ba : l.lanes_ab;
	uint8_t *tx_area = map + (a ? l.slots_ab : l.slots_ba);
	const uint8_t *rx_area = map + (a ? l.slots_ba : l.slots_ab);
	r->tx_prod = (volatile uint64_t *)(map + (a ? 1 : 3) * FUSION_PAGE_SIZE);
	r->tx_cons = (const volatile uint64_t *)(map + (a ? 2 : 4) * FUSION_PAGE_SIZE);
	r->rx_prod = (const volatile uint64_t *)(map + (a ? 3 : 1) * FUSION_PAGE_SIZE);
	r->rx_cons = (volatile uint64_t *)(map + (a ? 4 : 2) * FUSION_PAGE_SIZE);
	r->w_data = kp + (a ? FUSION_K_DATA_WAITERS_AB : FUSION_K_DATA_WAITERS_BA);
	r->w_space = kp + (a ? FUSION_K_SPACE_WAITERS_BA : FUSION_K_SPACE_WAITERS_AB);
	r->w_poll = kp + (a ? FUSION_K_POLLERS_B : FUSION_K_POLLERS_A);
	r->dead_bits = FUSION_STATE_SHUTDOWN | (a ? FUSION_STATE_B_CLOSED : FUSION_STATE_A_CLOSED);
	uint64_t lane_bytes = (uint64_t)l.slots * FUSION_SLOT_SIZE;
	for (unsigned i = 0; i < r->lanes_tx; i++)
		r->tx_lane[i] = tx_area + i * lane_bytes;
	for (unsigned i = 0; i < r->lanes_rx; i++)
		r->rx_lane[i] = rx_area + i * lane_bytes;
	/* Resume from the indices this end published (a fresh ring: zeros). Our own pages, but
	 * another holder of this end may have written them: validate like everything else. */
	if (r->lanes_tx && (r->rights & FUSION_RIGHT_SEND)) {
		r->tx_post = r->tx_published = r->tx_prod[FUSION_P_POST];
		r->tx_bytes = r->tx_prod[FUSION_P_BYTES];
		for (unsigned i = 0; i < r->lanes_tx; i++) {
			r->tx_head[i] = r->tx_prod[FUSION_P_HEAD + i];
			r->tx_limit[i] = r->tx_head[i]; /* forces a validated read of the tail */
		}
	}
	if (in->kind == FUSION_KIND_MULTICAST && !a) {
		/* A subscriber: no consumer page (positions are private, fusion_chan.h). */
		r->rx_cons = NULL;
		r->bounce = (uint8_t *)malloc(r->max_msg + 64);
		if (!r->bounce)
			return -ENOMEM;
	} else if (r->lanes_rx && (r->rights & FUSION_RIGHT_RECV)) {
		r->rx_taken = r->rx_cons[FUSION_C_TAKEN];
		r->rx_bytes = r->rx_cons[FUSION_C_BYTES];
		for (unsigned i = 0; i < r->lanes_rx; i++)
			r->rx_tail[i] = r->rx_head[i] = r->rx_cons[FUSION_C_TAIL + i];
		r->bounce = (uint8_t *)malloc(r->max_msg + 64);
		if (!r->bounce)
			return -ENOMEM;
	}
	r->tx_stamp = fusion_rdtsc32();
	r->fast1 = r->lanes_tx == 1 && r->lanes_rx == 1 && in->kind == FUSION_KIND_DUPLEX &&
		   (r->rights & (FUSION_RIGHT_SEND | FUSION_RIGHT_RECV)) == (FUSION_RIGHT_SEND | FUSION_RIGHT_RECV);
	return 0;
}

/* Maps end `fd` and attaches r to it. 0 or -errno (-ENOSYS on Linux). */
static inline int fusion_open(struct fusion_ring *r, int fd)
{
	struct fusion_info in;
	memset(r, 0, sizeof *r);
	r->fd = fd;
	int e = fusion_info(fd, &in);
	if (e < 0)
		return e;
	long addr = fusion_map(fd, NULL, 0);
	if (addr < 0 && addr > -4096)
		return (int)addr;
	e = fusion_attach(r, fd, (uint8_t *)addr, &in);
	if (e < 0) {
		munmap((void *)addr, in.size);
		free(r->bounce);
		r->map = NULL;
		r->bounce = NULL;
	}
	return e;
}

/* Unmaps the ring (the descriptor stays open; the caller closes it). */
static inline void fusion_unmap(struct fusion_ring *r)
{
	if (r->map)
		munmap(r->map, r->size);
	free(r->bounce);
	r->map = NULL;
	r->bounce = NULL;
}
static inline void fusion_close(struct fusion_ring *r)
{
	fusion_unmap(r);
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

static inline uint64_t fusion_state(const struct fusion_ring *r)
{
	return __atomic_load_n((const uint64_t *)&r->kp[FUSION_K_STATE], __ATOMIC_ACQUIRE);
}
static inline int fusion_peer_gone(const struct fusion_ring *r)
{
	return (fusion_state(r) & r->dead_bits) != 0;
}

#endif /* FUSION_RING_H */
