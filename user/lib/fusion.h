/*
 * fusion.h - header-only C library (musl, x86-64) for Exo-OS Fusion Rings, the native
 * shared-memory IPC: raw system calls, the ring's layout, single, batch and in-place send and
 * receive, blocking waits (docs/ipc.md's protocol), call/reply hand-off, grants and rights.
 * The channels and flow control built on top of it are in fusion_chan.h.
 *
 * The contract is crates/abi/src/fusion.rs (numbers, structs, layout, words) and docs/ipc.md.
 * Every function returns a negative errno on failure (never -1/errno): -EAGAIN (would block),
 * -EPIPE (peer gone or ring shut down), -EPROTO (the peer wrote something invalid into shared
 * memory; the ring is then marked broken and every later call returns -EPROTO), -EMSGSIZE.
 * On Linux every fusion system call answers -ENOSYS.
 *
 * Threading: one thread sends and one thread receives on a given ring at a time (a direction
 * has one writer and one reader), as in the protocol.
 */
#ifndef FUSION_H
#define FUSION_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* ---- ABI (crates/abi/src/fusion.rs) ---- */
#define FUSION_SYSCALL_BASE 0x20000000L
#define FUSION_NR_CREATE (FUSION_SYSCALL_BASE + 0)
#define FUSION_NR_MAP (FUSION_SYSCALL_BASE + 1)
#define FUSION_NR_WAIT (FUSION_SYSCALL_BASE + 2)
#define FUSION_NR_WAKE (FUSION_SYSCALL_BASE + 3)
#define FUSION_NR_GRANT (FUSION_SYSCALL_BASE + 4)
#define FUSION_NR_ACCEPT (FUSION_SYSCALL_BASE + 5)
#define FUSION_NR_CTL (FUSION_SYSCALL_BASE + 6)

#define FUSION_RIGHT_SEND 1u
#define FUSION_RIGHT_RECV 2u
#define FUSION_RIGHT_GRANT 4u
#define FUSION_RIGHT_MANAGE 8u
#define FUSION_RIGHTS_ALL 15u

#define FUSION_KIND_DUPLEX 0
#define FUSION_KIND_MULTICAST 1

#define FUSION_SLOTS_MIN 8u
#define FUSION_SLOTS_MAX (1u << 16)
#define FUSION_LANES_MAX 8u
#define FUSION_DIRECTION_SLOTS_MAX (1ull << 16)
#define FUSION_SLOT_SIZE 64u
#define FUSION_SLOT_PAYLOAD 56u
#define FUSION_PAGE_SIZE 4096u

#define FUSION_GRANT_PAGES 1u
#define FUSION_GRANT_FD 2u
#define FUSION_GRANT_MOVE 1u
#define FUSION_GRANT_SHARE 2u
#define FUSION_GRANT_READONLY 4u

#define FUSION_WAIT_DATA 1u
#define FUSION_WAIT_SPACE 2u
#define FUSION_WAKE_DATA 0x10u
#define FUSION_WAKE_SPACE 0x20u
#define FUSION_FOREVER UINT64_MAX

#define FUSION_CTL_INFO 1u
#define FUSION_CTL_DUP 2u
#define FUSION_CTL_SHUTDOWN 3u

/* Words of the kernel page, of a producer page, of a consumer page. */
#define FUSION_K_MAGIC 0
#define FUSION_K_GEOMETRY 1
#define FUSION_K_STATE 2
#define FUSION_K_SHUTDOWN_REASON 3
#define FUSION_K_DATA_WAITERS_AB 8
#define FUSION_K_SPACE_WAITERS_AB 9
#define FUSION_K_DATA_WAITERS_BA 10
#define FUSION_K_SPACE_WAITERS_BA 11
#define FUSION_K_POLLERS_A 12
#define FUSION_K_POLLERS_B 13
#define FUSION_K_ENDS_A 14
#define FUSION_K_ENDS_B 15
#define FUSION_P_POST 0
#define FUSION_P_HEAD 1
#define FUSION_P_BYTES 9
#define FUSION_C_TAKEN 0
#define FUSION_C_TAIL 1
#define FUSION_C_BYTES 9
#define FUSION_C_HIST 16
#define FUSION_C_HIST_BUCKETS 32

#define FUSION_MAGIC 0x31304e4f49535546ull /* "FUSION01" little-endian */
#define FUSION_STATE_A_CLOSED 1ull
#define FUSION_STATE_B_CLOSED 2ull
#define FUSION_STATE_SHUTDOWN 4ull

#define FUSION_MSG_DATA 0
#define FUSION_MSG_GRANT 1

#define FUSION_CONTROL_PAGES 5u

struct fusion_params {
	uint32_t slots;
	uint8_t lanes_ab, lanes_ba, kind, reserved;
	uint32_t flags, rights_a, rights_b, reserved2;
};
struct fusion_info {
	uint64_t id, size;
	uint32_t slots, side, rights, kind, lanes_ab, lanes_ba;
	uint64_t state;
};
struct fusion_grant {
	uint32_t kind, flags;
	uint64_t addr, len;
};
struct fusion_accepted {
	uint32_t kind, flags;
	uint64_t addr, len;
};
/* Payload of a FUSION_MSG_GRANT message. */
struct fusion_grant_msg {
	uint32_t id, kind;
	uint64_t len;
};

/* ---- raw system calls: return the result or -errno ---- */
static inline long fusion_sys(long nr, long a, long b, long c, long d)
{
	long ret;
	register long r10 __asm__("r10") = d;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10)
			 : "rcx", "r11", "memory");
	return ret;
}
static inline int fusion_create(const struct fusion_params *p, int fds[2])
{
	return (int)fusion_sys(FUSION_NR_CREATE, (long)p, (long)fds, 0, 0);
}
/* Returns the address as a long, or -errno. */
static inline long fusion_map(int fd, void *hint, unsigned flags)
{
	return fusion_sys(FUSION_NR_MAP, fd, (long)hint, flags, 0);
}
static inline int fusion_wait(int fd, unsigned ops, uint64_t expected, uint64_t timeout_ns)
{
	return (int)fusion_sys(FUSION_NR_WAIT, fd, ops, (long)expected, (long)timeout_ns);
}
static inline int fusion_wake(int fd, unsigned ops)
{
	return (int)fusion_sys(FUSION_NR_WAKE, fd, ops, 0, 0);
}
/* Returns the grant id (> 0) or -errno. */
static inline int fusion_grant(int fd, const struct fusion_grant *g)
{
	return (int)fusion_sys(FUSION_NR_GRANT, fd, (long)g, 0, 0);
}
/* Returns the mapped address (pages) or the new descriptor (fd grants), or -errno. */
static inline long fusion_accept(int fd, uint32_t id, struct fusion_accepted *out, unsigned flags)
{
	return fusion_sys(FUSION_NR_ACCEPT, fd, id, (long)out, flags);
}
static inline long fusion_ctl(int fd, unsigned op, uint64_t arg, uint64_t arg2)
{
	return fusion_sys(FUSION_NR_CTL, fd, op, (long)arg, (long)arg2);
}
static inline int fusion_info(int fd, struct fusion_info *info)
{
	return (int)fusion_ctl(fd, FUSION_CTL_INFO, (uint64_t)(uintptr_t)info, 0);
}
/* A new descriptor for the same end with rights (old & rights); flags: O_CLOEXEC. */
static inline int fusion_dup(int fd, uint32_t rights, unsigned flags)
{
	return (int)fusion_ctl(fd, FUSION_CTL_DUP, rights, flags);
}
static inline int fusion_shutdown(int fd, uint64_t reason)
{
	return (int)fusion_ctl(fd, FUSION_CTL_SHUTDOWN, reason, 0);
}
/* A ring with both ends' rights RIGHTS_ALL unless given; returns 0 or -errno. */
static inline int fusion_create_simple(uint32_t slots, unsigned lanes_ab, unsigned lanes_ba,
				       unsigned kind, unsigned flags, int fds[2])
{
	struct fusion_params p = { slots, (uint8_t)lanes_ab, (uint8_t)lanes_ba, (uint8_t)kind, 0,
				   flags, FUSION_RIGHTS_ALL, FUSION_RIGHTS_ALL, 0 };
	return fusion_create(&p, fds);
}

/* ---- layout (Layout::new) ---- */
struct fusion_layout {
	uint32_t slots, lanes_ab, lanes_ba;
	uint64_t slots_ab, slots_ba, size;
};
static inline uint64_t fusion_slots_for(uint64_t len)
{
	return len <= FUSION_SLOT_PAYLOAD ? 1 : 1 + (len - FUSION_SLOT_PAYLOAD + 63) / 64;
}
static inline uint64_t fusion__page_up(uint64_t x)
{
	return (x + FUSION_PAGE_SIZE - 1) & ~(uint64_t)(FUSION_PAGE_SIZE - 1);
}
/* 0, or -EINVAL when the parameters are out of range. */
static inline int fusion_layout(uint32_t slots, unsigned lanes_ab, unsigned lanes_ba, struct fusion_layout *l)
{
	if (slots < FUSION_SLOTS_MIN || slots > FUSION_SLOTS_MAX || (slots & (slots - 1)))
		return -EINVAL;
	if (lanes_ab == 0 || lanes_ab > FUSION_LANES_MAX || lanes_ba > FUSION_LANES_MAX)
		return -EINVAL;
	if ((uint64_t)slots * lanes_ab > FUSION_DIRECTION_SLOTS_MAX ||
	    (uint64_t)slots * lanes_ba > FUSION_DIRECTION_SLOTS_MAX)
		return -EINVAL;
	l->slots = slots;
	l->lanes_ab = lanes_ab;
	l->lanes_ba = lanes_ba;
	l->slots_ab = (uint64_t)FUSION_CONTROL_PAGES * FUSION_PAGE_SIZE;
	l->slots_ba = l->slots_ab + fusion__page_up((uint64_t)slots * lanes_ab * FUSION_SLOT_SIZE);
	l->size = l->slots_ba + fusion__page_up((uint64_t)slots * lanes_ba * FUSION_SLOT_SIZE);
	return 0;
}
static inline uint32_t fusion_max_message(uint32_t slots)
{
	uint64_t lane = (uint64_t)slots * FUSION_SLOT_SIZE - (FUSION_SLOT_SIZE - FUSION_SLOT_PAYLOAD);
	return lane < 65535 ? (uint32_t)lane : 65535;
}

/* ---- time stamps ---- */
static inline uint32_t fusion_rdtsc32(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	(void)hi;
	return lo;
}
static inline uint64_t fusion_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

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

/* One message, published at once. 0 or -errno (-EAGAIN: full). */
static inline int fusion_send(struct fusion_ring *r, unsigned lane, const void *buf, size_t len, unsigned kind)
{
	int e = fusion_write(r, lane, buf, len, kind);
	if (e)
		return e;
	return fusion_publish(r);
}

/*
 * Batch cursors: the hot state of one lane in locals (a cursor the compiler keeps in
 * registers), so a batch costs a few instructions per message:
 *     struct fusion_txc c; fusion_tx_begin(r, lane, &c);
 *     while (...) if (fusion_tx_put(r, &c, buf, len, kind)) break;
 *     fusion_tx_end(r, &c);            (writes the state back and publishes once)
 */
struct fusion_txc {
	uint8_t *lb;
	uint64_t h, h0, limit, hdr_stamp, bytes; /* h0: the head when r was last synced */
	uint32_t mask;
	unsigned lane;
};
static inline void fusion_tx_begin(struct fusion_ring *r, unsigned lane, struct fusion_txc *c)
{
	c->lb = r->tx_lane[lane];
	c->h = c->h0 = r->tx_head[lane];
	c->limit = r->tx_limit[lane];
	c->mask = r->mask;
	c->hdr_stamp = (uint64_t)fusion_rdtsc32() << 32;
	r->tx_stamp = (uint32_t)(c->hdr_stamp >> 32);
	c->bytes = 0;
	c->lane = lane;
}
/* Writes the cursor back into r: every message the fast path wrote took one slot. */
static inline void fusion__tx_sync(struct fusion_ring *r, struct fusion_txc *c)
{
	r->tx_head[c->lane] = c->h;
	r->tx_post += c->h - c->h0;
	r->tx_bytes += c->bytes;
	c->h0 = c->h;
	c->bytes = 0;
}
/* Writes one message (unpublished): 0 or -errno as fusion_write. */
__attribute__((always_inline)) static inline int fusion_tx_put(struct fusion_ring *r, struct fusion_txc *c,
								const void *buf, size_t len, unsigned kind)
{
	uint64_t h = c->h;
	if (__builtin_expect(len > FUSION_SLOT_PAYLOAD || h >= c->limit, 0)) {
		fusion__tx_sync(r, c);
		int e = fusion__write_slow(r, c->lane, buf, len, len | (uint64_t)(kind & 0xffff) << 16 | c->hdr_stamp);
		c->h = c->h0 = r->tx_head[c->lane];
		c->limit = r->tx_limit[c->lane];
		return e;
	}
	uint64_t *s = (uint64_t *)(c->lb + ((h & c->mask) << 6));
	c->h = h + 1;
	c->bytes += len;
	s[0] = len | (uint64_t)(kind & 0xffff) << 16 | c->hdr_stamp;
	fusion__copy56(s + 1, buf, len);
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

/* Writes [id (8 bytes, when with_id)][buf, len] as one message on lane 0 and publishes it.
 * The doorbell is left owed, unchecked (r->wake_pending = 2), to the wait that follows: that
 * system call carries WAKE_DATA anyway (the kernel wakes whoever waits), so the fence and the
 * kernel-page check are only needed when no wait follows (fusion__owed_wake).
 * 1 (done), 0 (not applicable: nothing was done, use the general path). */
__attribute__((always_inline)) static inline int fusion__put1(struct fusion_ring *r, int with_id, uint64_t id,
							       const void *buf, size_t len)
{
	uint64_t h = r->tx_head[0];
	size_t total = len + (with_id ? 8 : 0);
	if (__builtin_expect(!r->fast1 || total > FUSION_SLOT_PAYLOAD, 0))
		return 0;
	if (__builtin_expect(h >= r->tx_limit[0], 0) && fusion__tx_refresh(r, 0, 1))
		return 0; /* full (or broken): the general path waits or reports it */
	uint64_t post = r->tx_post + 1, bytes = r->tx_bytes + total;
	uint32_t stamp = fusion_rdtsc32();
	uint64_t *s = (uint64_t *)(r->tx_lane[0] + ((h & r->mask) << 6));
	s[0] = (uint64_t)total | (uint64_t)FUSION_MSG_DATA << 16 | (uint64_t)stamp << 32;
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
	__asm__("" : "+r"(post)); /* two plain stores, not a vector add */
	r->tx_published = post;
	r->tx_bytes = bytes;
	volatile uint64_t *prod = r->tx_prod;
	fusion__store(&prod[FUSION_P_HEAD], h + 1);
	fusion__store(&prod[FUSION_P_BYTES], bytes);
	fusion__store(&prod[FUSION_P_POST], post);
	r->wake_pending = 2;
	return 1;
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
	if (__builtin_expect(!fusion__put1(r, 0, 0, req, len), 0))
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

#endif /* FUSION_H */
