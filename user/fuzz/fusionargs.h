/*
 * fusionargs.h - arguments for Exo-OS's own system calls, the Fusion Ring calls
 * (0x20000000 + n, docs/ipc.md), which the Linux table of systab.h does not cover. A worker
 * keeps a ring pair at fds 18 and 19 (open_fds) so that most calls reach a real ring end; the
 * arguments mix valid operations with random ones. Waits last at most a millisecond, and page
 * grants move freshly mapped pages (never the worker's scratch region, which it writes itself).
 * On Linux every call is ENOSYS.
 */
#ifndef FUZZ_FUSION_H
#define FUZZ_FUSION_H

#define FUSION_BASE 0x20000000L
#define SLOT_FUSION (scratch + 5 * PAGE) /* fusion params, grant and info structs */

/* fds 18 and 19: the two ends of a small ring (or nothing, on Linux). */
static void open_fusion_fds(void)
{
	uint32_t params[6] = { 16, 1 | 1 << 8, 0, 15, 15, 0 };
	int fds[2];
	if (rsys(FUSION_BASE, (long)params, (long)fds, 0, 0, 0, 0) != 0)
		return;
	for (int i = 0; i < 2; i++)
		if (fds[i] != 18 + i) {
			dup2(fds[i], 18 + i);
			close(fds[i]);
		}
}

static long gen_fusion_fd(void)
{
	return rnd() % 4 ? 18 + (long)(rnd() % 2) : gen_fd();
}

/* Operation bits of fusion_wait / fusion_wake: mostly valid combinations. */
static long gen_fusion_ops(void)
{
	static const long ops[] = { 1, 2, 0x10, 0x20, 0x11, 0x12, 0x21, 0x30, 0x31, 3, 0 };
	return rnd() % 8 ? PICK(ops) : gen_any_int();
}

/* Fills *nr and a[] with one Fusion call. */
static void gen_fusion(long *nr, long *a)
{
	uint32_t *w = (uint32_t *)SLOT_FUSION;
	long n = (long)(rnd() % 8); /* 7 is an unassigned number of the range */
	*nr = FUSION_BASE + n;
	for (int k = 0; k < 6; k++)
		a[k] = gen('x');
	switch (n) {
	case 0: /* create: parameters valid now and then */
		w[0] = rnd() % 2 ? 8u << (rnd() % 6) : (uint32_t)rnd();
		w[1] = rnd() % 2 ? (uint32_t)(1 + rnd() % 2) | (uint32_t)(rnd() % 3) << 8 | (uint32_t)(rnd() % 3) << 16 : (uint32_t)rnd();
		w[2] = rnd() % 2 ? 0 : (uint32_t)gen_flags();
		w[3] = (uint32_t)(rnd() % 17);
		w[4] = (uint32_t)(rnd() % 17);
		w[5] = rnd() % 4 ? 0 : (uint32_t)rnd();
		a[0] = rnd() % 8 ? (long)w : gen_ptr(0);
		a[1] = gen_ptr(1);
		break;
	case 1: /* map */
		a[0] = gen_fusion_fd();
		a[1] = rnd() % 2 ? 0 : gen_ptr(0);
		a[2] = rnd() % 8 ? 0 : gen_flags();
		break;
	case 2: /* wait: at most a millisecond */
	case 3: /* wake */
		a[0] = gen_fusion_fd();
		a[1] = gen_fusion_ops();
		a[2] = rnd() % 2 ? 0 : gen_any_int();
		a[3] = (long)(rnd() % 1000000);
		break;
	case 4: { /* grant: fresh pages (moved or shared), a descriptor, or garbage */
		uint64_t *g = (uint64_t *)(SLOT_FUSION + 256);
		long pages = 1 + (long)(rnd() % 4);
		int shared = rnd() % 2;
		void *m = mmap(NULL, (size_t)pages * PAGE, PROT_READ | PROT_WRITE,
			       (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
		uint32_t kind = rnd() % 8 ? 1 + (uint32_t)(rnd() % 2) : (uint32_t)rnd();
		uint32_t flags = rnd() % 8 ? (shared ? 2u : 1u) | (rnd() % 4 ? 0 : 4u) : (uint32_t)rnd();
		g[0] = kind | (uint64_t)flags << 32;
		g[1] = kind == 2 ? (uint64_t)gen_fd() : (m != MAP_FAILED && rnd() % 8 ? (uint64_t)(uintptr_t)m : (uint64_t)gen_ptr(0));
		g[2] = kind == 2 ? (uint64_t)(rnd() % 16) : (rnd() % 8 ? (uint64_t)pages * PAGE : (uint64_t)gen_size());
		a[0] = gen_fusion_fd();
		a[1] = rnd() % 8 ? (long)g : gen_ptr(0);
		break;
	}
	case 5: /* accept */
		a[0] = gen_fusion_fd();
		a[1] = (long)(rnd() % 8);
		a[2] = gen_ptr(1);
		a[3] = rnd() % 2 ? 0 : gen_flags();
		break;
	case 6: /* ctl: info, dup, shutdown, or another op */
		a[0] = gen_fusion_fd();
		a[1] = rnd() % 8 ? 1 + (long)(rnd() % 3) : gen_any_int();
		a[2] = a[1] == 1 ? gen_ptr(1) : (long)(rnd() % 16);
		a[3] = rnd() % 2 ? 0 : gen_flags();
		break;
	}
}

#endif
