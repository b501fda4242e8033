//! Per-CPU data: one [`PerCpu`] block per CPU, reached through the GS segment base, so
//! `mov reg, gs:[offset]` reads a field of the executing CPU's block in one instruction.
//!
//! The blocks are static (`MAX_CPUS` of them): the boot CPU's is installed by `init_early`
//! before anything asks for the CPU index, each application processor installs its own during
//! start-up (`smp.rs`). Offset 0 holds the block's own address, so [`current`] is one load.
//! The layout is `#[repr(C)]` with fixed offsets (`OFFSET_*`) for assembly (syscall entry, context
//! switch) to use.

use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use ::x86_64::registers::model_specific::{GsBase, KernelGsBase};
use ::x86_64::VirtAddr;

/// Most CPUs the kernel runs on (further CPUs the firmware lists are left halted).
pub const MAX_CPUS: usize = 16;

/// The per-CPU block. Fields are atomics so other CPUs may read them (online flags, counters);
/// fields marked "this CPU" are only written by their own CPU.
#[repr(C, align(64))]
pub struct PerCpu {
    /// Address of this block (offset 0): `mov rax, gs:[0]` gives `&PerCpu`.
    self_ptr: AtomicU64,
    /// Index of this CPU, 0 = boot CPU, dense (offset 8).
    cpu_index: AtomicU64,
    /// Scratch slot for the syscall entry to park the user stack pointer (offset 16).
    pub user_rsp_scratch: AtomicU64,
    /// Top of the kernel stack for entries from user mode: mirrors the TSS's RSP0 (offset 24).
    pub kernel_stack_top: AtomicU64,
    /// The scheduler's current thread (opaque to arch; 0 = none) (offset 32).
    pub current_thread: AtomicUsize,
    /// Preemption state (offset 40; only this CPU writes it): the preempt-disable count in the
    /// low 31 bits, and [`NO_RESCHED`] set while no switch is asked for, so that the word is
    /// zero exactly when preemption is allowed and a switch is due (see [`preempt_enable`]).
    preempt: AtomicU32,
    /// Local APIC id (offset 44).
    pub apic_id: AtomicU32,
    /// Where the user frame of the running thread lies: `kernel_stack_top` minus the frame's
    /// size (offset 48), so the syscall entry reaches it with one load.
    user_frame: AtomicU64,
    /// The running user thread's return-work word (offset 56): the address of a 16-bit word
    /// that is non-zero when something must be done before the thread returns to user mode
    /// (see [`set_user_context`]). The syscall entry tests it, with interrupts off, before
    /// `sysretq`.
    user_work: AtomicU64,
    /// The running user thread's context as the process layer registered it (offset 64;
    /// opaque here, see [`set_user_context`]).
    user_context: AtomicUsize,
    /// The TSS of this CPU (its RSP0 is set by [`set_kernel_stack_top`]).
    pub tss: AtomicPtr<::x86_64::structures::tss::TaskStateSegment>,
    /// This CPU finished its start-up and takes IPIs.
    pub online: AtomicBool,
    /// IPIs of the test/"call function" vector received.
    pub test_ipis: AtomicU64,
    /// TLB shootdown generation this CPU has acknowledged.
    pub tlb_ack: AtomicU64,
    /// Function for the "call function" IPI (`fn(u64) -> u64` as usize; 0 = none).
    pub call_fn: AtomicUsize,
    /// Its argument.
    pub call_arg: AtomicU64,
    /// Its result.
    pub call_result: AtomicU64,
    /// Set by the target when the call finished.
    pub call_done: AtomicBool,
    /// Whether the interrupt being handled on this CPU came from user mode (set by the trap
    /// dispatcher; the timer tick charges user or system time by it).
    pub interrupted_user: AtomicBool,
}

/// Offsets of the fields assembly uses.
pub const OFFSET_SELF: usize = core::mem::offset_of!(PerCpu, self_ptr);
pub const OFFSET_CPU_INDEX: usize = core::mem::offset_of!(PerCpu, cpu_index);
pub const OFFSET_USER_RSP: usize = core::mem::offset_of!(PerCpu, user_rsp_scratch);
pub const OFFSET_KERNEL_STACK_TOP: usize = core::mem::offset_of!(PerCpu, kernel_stack_top);
pub const OFFSET_CURRENT_THREAD: usize = core::mem::offset_of!(PerCpu, current_thread);
pub const OFFSET_PREEMPT_COUNT: usize = core::mem::offset_of!(PerCpu, preempt);
const _: () = assert!(OFFSET_SELF == 0 && OFFSET_CPU_INDEX == 8 && OFFSET_USER_RSP == 16);
pub const OFFSET_USER_FRAME: usize = core::mem::offset_of!(PerCpu, user_frame);
pub const OFFSET_USER_WORK: usize = core::mem::offset_of!(PerCpu, user_work);
const _: () = assert!(OFFSET_KERNEL_STACK_TOP == 24 && OFFSET_CURRENT_THREAD == 32 && OFFSET_PREEMPT_COUNT == 40);
const _: () = assert!(OFFSET_USER_FRAME == 48 && OFFSET_USER_WORK == 56);

/// The return-work word a CPU starts with, before any user thread registered its own: always
/// "work to do", so a system call that came before registration takes the complete path.
static NO_USER_CONTEXT_WORK: u16 = 1;

impl PerCpu {
    const fn new() -> PerCpu {
        PerCpu {
            self_ptr: AtomicU64::new(0),
            cpu_index: AtomicU64::new(0),
            user_rsp_scratch: AtomicU64::new(0),
            kernel_stack_top: AtomicU64::new(0),
            current_thread: AtomicUsize::new(0),
            preempt: AtomicU32::new(NO_RESCHED),
            apic_id: AtomicU32::new(0),
            user_frame: AtomicU64::new(0),
            user_work: AtomicU64::new(0),
            user_context: AtomicUsize::new(0),
            tss: AtomicPtr::new(core::ptr::null_mut()),
            online: AtomicBool::new(false),
            test_ipis: AtomicU64::new(0),
            tlb_ack: AtomicU64::new(0),
            call_fn: AtomicUsize::new(0),
            call_arg: AtomicU64::new(0),
            call_result: AtomicU64::new(0),
            call_done: AtomicBool::new(false),
            interrupted_user: AtomicBool::new(false),
        }
    }

    /// This block's CPU index.
    pub fn index(&self) -> usize {
        self.cpu_index.load(Ordering::Relaxed) as usize
    }
}

static BLOCKS: [PerCpu; MAX_CPUS] = [const { PerCpu::new() }; MAX_CPUS];

/// Number of CPUs online (the boot CPU counts from `init_early` on).
static ONLINE: AtomicUsize = AtomicUsize::new(0);

/// Fills block `index` and points this CPU's GS base at it. Called once per CPU, with
/// interrupts disabled, after its GDT is loaded (loading a GS selector may clear the base) and
/// before anything on that CPU reads per-CPU data.
pub fn install(index: usize, apic_id: u32) {
    let Some(block) = BLOCKS.get(index) else { return };
    block.self_ptr.store(block as *const PerCpu as u64, Ordering::Relaxed);
    block.cpu_index.store(index as u64, Ordering::Relaxed);
    block.apic_id.store(apic_id, Ordering::Relaxed);
    block.tss.store(super::gdt::tss_of(index), Ordering::Relaxed);
    block.user_work.store(&raw const NO_USER_CONTEXT_WORK as u64, Ordering::Relaxed);
    GsBase::write(VirtAddr::new(block as *const PerCpu as u64));
    // No user GS yet: `swapgs` on the way to user mode will load 0.
    KernelGsBase::write(VirtAddr::new(0));
}

/// Marks this CPU online (counted by [`cpu_count`]).
pub fn set_online() {
    if !current().online.swap(true, Ordering::SeqCst) {
        ONLINE.fetch_add(1, Ordering::SeqCst);
    }
}

/// The executing CPU's block.
#[inline]
pub fn current() -> &'static PerCpu {
    let ptr: u64;
    // SAFETY: GS base points at one of the static `BLOCKS` (installed by `init_early` on the boot
    // CPU, by the AP start-up on the others) whose first field is its own address.
    unsafe { core::arch::asm!("mov {}, gs:[0]", out(reg) ptr, options(nostack, readonly, preserves_flags)) };
    // SAFETY: `ptr` is the address of a `'static PerCpu` (see above).
    unsafe { &*(ptr as *const PerCpu) }
}

/// Index of the executing CPU (0 = boot CPU).
#[inline]
pub fn cpu_index() -> usize {
    let index: u64;
    // SAFETY: as in `current`: GS base points at this CPU's block, offset 8 is its index.
    unsafe {
        core::arch::asm!("mov {}, gs:[{off}]", out(reg) index, off = const OFFSET_CPU_INDEX,
            options(nostack, readonly, preserves_flags))
    };
    index as usize
}

/// The scheduler's current-thread word of the executing CPU (0 = none yet): one GS-relative
/// load, atomic with respect to interrupts, so a thread that reads it gets its own value even if
/// it is preempted and moved right after (the word follows the thread through every switch).
#[inline]
pub fn current_thread() -> usize {
    let value: u64;
    // SAFETY: as in `current`: GS base points at this CPU's block, offset 32 is `current_thread`.
    unsafe {
        core::arch::asm!("mov {}, gs:[{off}]", out(reg) value, off = const OFFSET_CURRENT_THREAD,
            options(nostack, readonly, preserves_flags))
    };
    value as usize
}

/// Whether the interrupt this CPU is handling interrupted user mode (meaningful inside an
/// interrupt handler: the timer tick's user/system time split).
pub fn interrupted_user() -> bool {
    current().interrupted_user.load(Ordering::Relaxed)
}

/// Sets this CPU's current-thread word (the scheduler, with interrupts off, just before it
/// switches to that thread).
#[inline]
pub fn set_current_thread(value: usize) {
    current().current_thread.store(value, Ordering::Relaxed);
}

/// Bit 31 of the preemption word: set while no switch is pending on this CPU (Linux's folded
/// `PREEMPT_NEED_RESCHED`, inverted so that one decrement tests both conditions).
pub const NO_RESCHED: u32 = 1 << 31;
const COUNT_MASK: u32 = NO_RESCHED - 1;

/// Disables preemption on this CPU; nests. One `inc` through GS, which an interrupt cannot split,
/// so the count that goes up is the executing CPU's even if an interrupt comes just before, and
/// from then on the thread stays on this CPU. Spin locks call it (`crate::spinlock`) so that a
/// holder is never switched away while a thread on the same CPU spins on its lock.
#[inline(always)]
pub fn preempt_disable() {
    // SAFETY: GS base points at this CPU's block (see `current`); offset 40 is `preempt`, which
    // only this CPU writes (interrupts on this CPU restore what they change). Not `nomem`: the
    // compiler must not move memory accesses (the lock taken next) above it.
    unsafe { core::arch::asm!("inc dword ptr gs:[{off}]", off = const OFFSET_PREEMPT_COUNT, options(nostack)) };
}

/// Undoes one [`preempt_disable`]. Returns true when preemption is allowed again and a switch is
/// pending ([`request_resched`]): the word reached zero. The caller should then offer a
/// preemption point.
#[inline(always)]
pub fn preempt_enable() -> bool {
    let zero: u8;
    // SAFETY: as in `preempt_disable`; not `nomem`, so the unlock before it stays before it.
    unsafe {
        core::arch::asm!("dec dword ptr gs:[{off}]", "setz {zero}", off = const OFFSET_PREEMPT_COUNT,
            zero = out(reg_byte) zero, options(nostack))
    };
    zero != 0
}

/// The preemption word of this CPU: one GS-relative load.
#[inline(always)]
fn preempt_word() -> u32 {
    let value: u32;
    // SAFETY: as in `current`: GS base points at this CPU's block; `preempt` is at offset 40.
    unsafe {
        core::arch::asm!("mov {:e}, gs:[{off}]", out(reg) value, off = const OFFSET_PREEMPT_COUNT,
            options(nostack, readonly, preserves_flags))
    };
    value
}

/// This CPU's preemption-disable count (non-zero: a spin lock is held, nothing may sleep).
pub fn preempt_count() -> u32 {
    preempt_word() & COUNT_MASK
}

/// Replaces this CPU's preemption-disable count, keeping its pending-switch bit, and returns the
/// old count (the scheduler, with interrupts off, saving the outgoing thread's count and
/// restoring it when the thread runs again).
#[inline]
pub fn replace_preempt_count(count: u32) -> u32 {
    let cpu = current();
    let word = cpu.preempt.load(Ordering::Relaxed);
    cpu.preempt.store((word & NO_RESCHED) | (count & COUNT_MASK), Ordering::Relaxed);
    word & COUNT_MASK
}

/// Whether preemption is allowed on this CPU and a switch is pending: the word is zero.
#[inline(always)]
pub fn preemption_due() -> bool {
    preempt_word() == 0
}

/// Whether a switch was asked for on this CPU.
#[cfg(feature = "ktest")]
pub fn need_resched() -> bool {
    preempt_word() & NO_RESCHED == 0
}

/// Asks this CPU to switch threads at its next preemption point. One `and` through GS (an
/// interrupt cannot split it). Another CPU is asked through the reschedule IPI, whose handler
/// calls this on its own CPU: no CPU writes another's word.
#[inline(always)]
pub fn request_resched() {
    // SAFETY: as in `preempt_disable`.
    unsafe {
        core::arch::asm!("and dword ptr gs:[{off}], {mask}", off = const OFFSET_PREEMPT_COUNT,
            mask = const COUNT_MASK, options(nostack))
    };
}

/// Clears this CPU's request to switch (the scheduler, about to pick).
#[inline(always)]
pub fn clear_need_resched() {
    // SAFETY: as in `preempt_disable`.
    unsafe {
        core::arch::asm!("or dword ptr gs:[{off}], {bit}", off = const OFFSET_PREEMPT_COUNT,
            bit = const NO_RESCHED, options(nostack))
    };
}

/// The block of CPU `index`, if it exists.
pub fn get(index: usize) -> Option<&'static PerCpu> {
    BLOCKS.get(index)
}

/// Number of CPUs online.
pub fn cpu_count() -> usize {
    ONLINE.load(Ordering::SeqCst).max(1)
}

/// Every online CPU's block.
pub fn online_cpus() -> impl Iterator<Item = &'static PerCpu> {
    BLOCKS.iter().filter(|b| b.online.load(Ordering::SeqCst))
}

/// Sets the stack the CPU switches to on an interrupt or syscall from user mode (TSS RSP0 and
/// the per-CPU mirror the syscall entry reads).
pub fn set_kernel_stack_top(top: u64) {
    let cpu = current();
    cpu.kernel_stack_top.store(top, Ordering::Relaxed);
    cpu.user_frame.store(top.wrapping_sub(super::syscall::USER_FRAME_SIZE), Ordering::Relaxed);
    let tss = cpu.tss.load(Ordering::Relaxed);
    if !tss.is_null() {
        // SAFETY: `tss` is this CPU's TSS (static or leaked, never freed); only this CPU writes
        // its RSP0, and the CPU reads it only on a privilege change, which cannot happen while
        // this kernel code runs.
        unsafe { (*tss).privilege_stack_table[0] = VirtAddr::new_truncate(top) };
    }
}

/// Registers the user side of the thread this CPU is switching to (the process layer calls it
/// whenever a user thread is switched in, and once more when a thread gets its user side,
/// before it first enters user mode): `context`, an opaque word that [`user_context`] gives
/// back, and `work`, the 16-bit word the syscall entry tests before `sysretq` (the thread must
/// keep both alive while it runs; a kernel thread never reads them, so they may go stale
/// while one runs).
///
/// Each word is written with one GS-relative store, so a caller running with interrupts on
/// (`arch_prctl`, a thread's start) that is preempted and moved in between never writes into
/// the block of a CPU it left: every switch to a user thread registers that thread's words
/// anew, and each store lands on the CPU the caller runs on at that instant.
pub fn set_user_context(context: usize, work: *const u16) {
    // SAFETY: GS base points at this CPU's block (see `current`); offsets 64 and 56 are
    // `user_context` and `user_work`, which only this CPU writes. Not `nomem`: the words are
    // read by later code through the same block.
    unsafe {
        core::arch::asm!(
            "mov gs:[{context_off}], {context}",
            "mov gs:[{work_off}], {work}",
            context = in(reg) context,
            work = in(reg) work as u64,
            context_off = const OFFSET_USER_CONTEXT,
            work_off = const OFFSET_USER_WORK,
            options(nostack, preserves_flags)
        )
    };
}

/// The context word of the user thread last switched in on this CPU ([`set_user_context`]),
/// 0 if none yet. One GS-relative load; meaningful only while a user thread runs (on its
/// system-call path), as with `current_thread` it follows the thread through every switch.
#[inline(always)]
pub fn user_context() -> usize {
    let value: u64;
    // SAFETY: as in `current`: GS base points at this CPU's block; `user_context` is at
    // offset 64 (checked below).
    unsafe {
        core::arch::asm!("mov {}, gs:[{off}]", out(reg) value, off = const OFFSET_USER_CONTEXT,
            options(nostack, readonly, preserves_flags))
    };
    value as usize
}

const OFFSET_USER_CONTEXT: usize = core::mem::offset_of!(PerCpu, user_context);
const _: () = assert!(OFFSET_USER_CONTEXT == 64);
