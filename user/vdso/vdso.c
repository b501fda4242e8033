/* vdso.c: Exo-OS's vDSO, the shared object the kernel maps into every process
 * (AT_SYSINFO_EHDR) so that clock_gettime, gettimeofday, time, getcpu and
 * clock_getres run without entering the kernel. Time is computed from the data
 * page (vvar.h) mapped one page below this object, with the kernel's own
 * arithmetic (crates/clock: ns = ((tsc - boot_tsc) * mult) >> shift), so the
 * vDSO and the system calls agree to the nanosecond. Anything it does not
 * handle (CPU-time clocks, unknown ids, a clock not yet set up) is passed to
 * the real system call, whose result (0 or -errno) is returned as Linux's
 * vDSO does. Built by `cargo xtask build` (xtask/src/vdso.rs). */

#include <stdint.h>
#include <stddef.h>
#include "vvar.h"

#define NR_gettimeofday 96
#define NR_time 201
#define NR_clock_gettime 228
#define NR_clock_getres 229

/* Clock ids (Linux's). */
#define REALTIME_CLOCKS ((1u << 0) | (1u << 5) | (1u << 8) | (1u << 11))           /* REALTIME, _COARSE, _ALARM, TAI */
#define MONOTONIC_CLOCKS ((1u << 1) | (1u << 4) | (1u << 6) | (1u << 7) | (1u << 9)) /* MONOTONIC, _RAW, _COARSE, BOOTTIME, _ALARM */
#define COARSE_CLOCKS ((1u << 5) | (1u << 6))

struct timespec_k { int64_t tv_sec; int64_t tv_nsec; };
struct timeval_k { int64_t tv_sec; int64_t tv_usec; };
struct timezone_k { int tz_minuteswest; int tz_dsttime; };

/* The data page, placed by the linker script one page below the ELF header:
 * hidden, so it is reached PC-relative (no relocation). */
extern const volatile struct vvar vvar_page __attribute__((visibility("hidden")));

static inline long syscall2(long nr, long a, long b)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return ret;
}

static inline long syscall3(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return ret;
}

static inline uint64_t rdtsc_ordered(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
	return ((uint64_t)hi << 32) | lo;
}

/* Nanoseconds of the monotonic clock (realtime = 0) or the realtime clock, as
 * the kernel computes them; 0 with *ok = 0 when the kernel has not published
 * the clock (mult 0). Everything is read and computed between the two reads
 * of the sequence counter, which keeps few values live. */
static inline __attribute__((always_inline)) uint64_t read_ns(int realtime, int *ok)
{
	const volatile struct vvar *v = &vvar_page;
	uint64_t seq, ns, boot_tsc, mult, tsc, delta;
	for (;;) {
		seq = v->seq;
		if (__builtin_expect(seq & 1, 0)) {
			__asm__ volatile("pause");
			continue;
		}
		__asm__ volatile("" ::: "memory");
		tsc = rdtsc_ordered();
		boot_tsc = v->boot_tsc;
		mult = v->mult;
		/* The kernel's since_boot_ns: a saturating difference, then the scale. */
		delta = __builtin_expect(tsc > boot_tsc, 1) ? tsc - boot_tsc : 0;
		ns = (uint64_t)(((unsigned __int128)delta * mult) >> (v->shift & 127));
		if (realtime) {
			uint64_t base = v->boot_unix_ns;
			ns = base ? base + ns : 0;
		}
		__asm__ volatile("" ::: "memory");
		if (__builtin_expect(v->seq == seq, 1))
			break;
	}
	*ok = mult != 0;
	return ns;
}

static inline __attribute__((always_inline)) int write_timespec(int realtime, struct timespec_k *ts)
{
	int ok;
	uint64_t ns = read_ns(realtime, &ok);
	ts->tv_sec = (int64_t)(ns / 1000000000u);
	ts->tv_nsec = (int64_t)(ns % 1000000000u);
	return ok;
}

int __vdso_clock_gettime(int clock, struct timespec_k *ts)
{
	unsigned int id = (unsigned int)clock;
	/* Written only once the time is known to be right (an unpublished clock
	 * leaves *ts to the syscall). */
	struct timespec_k t;
	if (id < 32 && ((MONOTONIC_CLOCKS >> id) & 1)) {
		if (__builtin_expect(write_timespec(0, &t), 1)) {
			*ts = t;
			return 0;
		}
	} else if (id < 32 && ((REALTIME_CLOCKS >> id) & 1)) {
		if (__builtin_expect(write_timespec(1, &t), 1)) {
			*ts = t;
			return 0;
		}
	}
	return (int)syscall2(NR_clock_gettime, clock, (long)ts);
}

int __vdso_gettimeofday(struct timeval_k *tv, struct timezone_k *tz)
{
	int ok;
	uint64_t ns = read_ns(1, &ok);
	if (!ok)
		return (int)syscall2(NR_gettimeofday, (long)tv, (long)tz);
	if (tv) {
		tv->tv_sec = (int64_t)(ns / 1000000000u);
		tv->tv_usec = (int64_t)(ns % 1000000000u / 1000u);
	}
	if (tz) {
		tz->tz_minuteswest = 0;
		tz->tz_dsttime = 0;
	}
	return 0;
}

int64_t __vdso_time(int64_t *t)
{
	int ok;
	uint64_t ns = read_ns(1, &ok);
	if (!ok)
		return syscall2(NR_time, (long)t, 0);
	int64_t secs = (int64_t)(ns / 1000000000u);
	if (t)
		*t = secs;
	return secs;
}

/* The CPU-number segment of every CPU's GDT (kernel/src/arch/x86_64/gdt.rs): its limit is
 * cpu | node << 12, read with one LSL, as Linux's vDSO does. No feature test is needed: LSL
 * exists on every x86-64 CPU and the kernel always installs the descriptor. */
#define CPUNODE_SELECTOR 0x3bu

int __vdso_getcpu(unsigned int *cpu, unsigned int *node, void *cache)
{
	(void)cache;
	unsigned int p;
	__asm__ volatile("lsl %1, %0" : "=r"(p) : "r"(CPUNODE_SELECTOR));
	if (cpu)
		*cpu = p & 0xfff;
	if (node)
		*node = p >> 12;
	return 0;
}

int __vdso_clock_getres(int clock, struct timespec_k *res)
{
	unsigned int id = (unsigned int)clock;
	if (id < 32 && ((REALTIME_CLOCKS | MONOTONIC_CLOCKS) & (1u << id)) && (vvar_page.flags & VVAR_CLOCK_OK)) {
		if (res) {
			uint64_t ns = (COARSE_CLOCKS & (1u << id)) ? vvar_page.coarse_ns : 1;
			res->tv_sec = (int64_t)(ns / 1000000000u);
			res->tv_nsec = (int64_t)(ns % 1000000000u);
		}
		return 0;
	}
	return (int)syscall2(NR_clock_getres, clock, (long)res);
}

int clock_gettime(int, struct timespec_k *) __attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct timeval_k *, struct timezone_k *) __attribute__((weak, alias("__vdso_gettimeofday")));
int64_t time(int64_t *) __attribute__((weak, alias("__vdso_time")));
int getcpu(unsigned int *, unsigned int *, void *) __attribute__((weak, alias("__vdso_getcpu")));
int clock_getres(int, struct timespec_k *) __attribute__((weak, alias("__vdso_clock_getres")));
