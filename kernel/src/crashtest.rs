//! Deliberate crashes selected by `crashtest=` on the command line, so the boot tests can prove
//! that each kind of fatal error is reported (never a silent reset): `bp` (breakpoint, survived),
//! `pf` (page fault), `df` (double fault via a stack overflow), `stack-overflow` (the same, named
//! for what it is), `panic`.

use exo_bootinfo::cmdline::CrashTest;

use crate::arch;

/// An address in the non-canonical hole would raise #GP; this one is canonical, in the kernel
/// half, and unmapped (the boot page tables map only the direct map and the kernel window).
pub const UNMAPPED_KERNEL_ADDRESS: u64 = 0xffff_c000_dead_0000;

/// Triggers the crash `test` asks for. Returns only for survivable ones.
pub fn run(test: CrashTest) {
    log::warn!("triggering {test:?} on purpose");
    match test {
        CrashTest::Breakpoint => {
            arch::breakpoint();
            log::info!("survived the breakpoint");
        }
        CrashTest::PageFault => {
            // SAFETY: not safe at all, on purpose: the read faults and the kernel reports it.
            let value = unsafe { core::ptr::read_volatile(UNMAPPED_KERNEL_ADDRESS as *const u64) };
            log::error!("read {value:#x} from an unmapped address?!");
        }
        CrashTest::StackOverflow | CrashTest::DoubleFault => {
            let depth = recurse(core::hint::black_box(1));
            log::error!("recursion to depth {depth} did not overflow?!");
        }
        CrashTest::Panic => panic!("crashtest: deliberate panic"),
    }
}

/// Recurses without bound (the depth is opaque to the compiler), using 1 KiB of stack per level.
#[inline(never)]
pub fn recurse(depth: u64) -> u64 {
    let frame = core::hint::black_box([depth; 128]);
    if core::hint::black_box(depth) == 0 {
        return frame[0];
    }
    recurse(depth + 1).wrapping_add(frame[depth as usize % 128])
}
