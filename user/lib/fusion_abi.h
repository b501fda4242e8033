/*
 * fusion_abi.h - the ABI of crates/abi/src/fusion.rs in C (numbers, structs, page words), the raw
 * system calls, the mapping's layout (Layout::new) and the slot time stamps.
 * Part of the Fusion Ring C library: include "fusion.h", which includes every part in order.
 */
#ifndef FUSION_ABI_H
#define FUSION_ABI_H

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

#endif /* FUSION_ABI_H */
