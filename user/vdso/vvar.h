/* vvar.h: the layout of the vDSO's data page (vvar), which the kernel writes
 * (kernel/src/process/vdso.rs, same offsets) and the vDSO reads. 64-bit words,
 * under a sequence counter: odd while the kernel is writing. */
#ifndef EXO_VVAR_H
#define EXO_VVAR_H

#include <stdint.h>

/* flags */
#define VVAR_CLOCK_OK  1u /* the TSC clock fields are valid: compute time in user space */
#define VVAR_RDTSCP    2u /* TSC_AUX holds the CPU index: getcpu may use RDTSCP */

struct vvar {
	uint64_t seq;          /* word 0: odd while being updated */
	uint64_t boot_tsc;     /* word 1: TSC at the kernel's start */
	uint64_t mult;         /* word 2: ns = (ticks * mult) >> shift */
	uint64_t shift;        /* word 3 */
	uint64_t boot_unix_ns; /* word 4: realtime = boot_unix_ns + monotonic (0: unknown) */
	uint64_t flags;        /* word 5: VVAR_* */
	uint64_t coarse_ns;    /* word 6: resolution of the _COARSE clocks (the tick) */
};

#endif
