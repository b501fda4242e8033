//! Symmetric multiprocessing: bringing up the application processors (APs) listed in the ACPI
//! MADT with INIT-SIPI-SIPI, local-APIC interrupt dispatch (IPIs, the APIC timer), TLB
//! shootdown and running a function on another CPU.
//!
//! Bring-up: the boot CPU maps and enables its local APIC and calibrates the APIC timer, copies
//! the trampoline (`trampoline.rs`) to 0x8000 and identity-maps that page in the master tree,
//! then starts the APs one at a time: each gets a kernel stack and three IST stacks, its own GDT
//! and TSS, the shared IDT, FPU/SSE, its per-CPU block (GS base) and its local APIC, records
//! itself as online and calls the caller's entry. The identity mapping is removed afterwards.
//! Anything missing or broken in the firmware tables leaves the kernel on one CPU, with a warning.
//!
//! The memory this needs (the APIC's register mapping, the master tree's root, the trampoline's
//! identity mapping, the APs' stacks) comes from the memory manager, a layer above `arch`,
//! through the functions `main` passes in [`SmpMemory`]; the shootdown and call locks are
//! `arch`'s own (see "Lock rules" below), so `arch` names no layer above it.

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use super::percpu::{self, MAX_CPUS};
use super::{acpi, apic, cpu, gdt, idt, mmu, trampoline};

/// Handlers of the local vectors `FIRST_LOCAL_VECTOR..=0xfe` (0 = none).
static LOCAL_HANDLERS: [AtomicUsize; 32] = [const { AtomicUsize::new(0) }; 32];
/// The entry every AP calls once it is up (`fn(usize) -> !` as usize).
static AP_ENTRY: AtomicUsize = AtomicUsize::new(0);
/// IST stack tops for each AP, written by the boot CPU before the start-up IPI.
static IST_TOPS: [[AtomicU64; 3]; MAX_CPUS] = [const { [const { AtomicU64::new(0) }; 3] }; MAX_CPUS];
/// What each AP saw at start-up: its index read back through GS, +1 (0 = did not start).
static SEEN_INDEX: [AtomicUsize; MAX_CPUS] = [const { AtomicUsize::new(0) }; MAX_CPUS];
/// ... and its local APIC id read from its APIC.
static SEEN_APIC_ID: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(u32::MAX) }; MAX_CPUS];
static STARTED: AtomicBool = AtomicBool::new(false);
/// Enabled processors the MADT lists (0 = no MADT).
static MADT_CPUS: AtomicUsize = AtomicUsize::new(0);

/// Kernel stacks each AP gets: its kernel stack, then its three IST stacks.
pub const AP_STACKS: usize = 4;

/// What SMP bring-up needs from the memory manager (which sits above `arch`), given by `main`
/// to [`init_boot_cpu`] and [`start_application_processors`].
pub struct SmpMemory {
    /// Maps the 4 KiB page of device registers at physical `phys` uncached and global in the
    /// kernel half (shared by every address space); its virtual address (the local APIC's).
    pub map_registers: fn(phys: u64) -> Result<u64, exo_paging::MapError>,
    /// The physical address of the kernel's master page tree, which the APs load.
    pub kernel_root: fn() -> Option<u64>,
    /// Maps (`true`) or unmaps and prunes (`false`) the 4 KiB page at physical `addr` at the
    /// same virtual address in the master tree, writable and executable (the trampoline runs
    /// there while the AP turns paging on); true when done. No TLB work: after unmapping, the
    /// caller shoots the page down.
    pub identity_map: fn(addr: u64, map: bool) -> bool,
    /// [`AP_STACKS`] new kernel stacks that are never freed: their tops, or None (then none
    /// was kept).
    pub ap_stacks: fn() -> Option<[u64; AP_STACKS]>,
}

/// Busy-waits `ns` nanoseconds on the TSC.
fn spin_ns(ns: u64) {
    let start = cpu::read_timestamp();
    while super::tsc::ticks_to_ns(cpu::read_timestamp().wrapping_sub(start)) < ns {
        core::hint::spin_loop();
    }
}

/// Maps (with `memory`'s function) and enables the boot CPU's local APIC and calibrates its
/// timer (idempotent). False when there is no usable APIC.
pub fn init_boot_cpu(memory: &SmpMemory) -> bool {
    if apic::is_mapped() {
        return true;
    }
    let madt = acpi::madt();
    let phys = madt.map_or(0, |m| m.local_apic_address);
    if let Err(e) = apic::map(phys, memory.map_registers) {
        log::warn!("smp: local APIC unusable ({e:?}); one CPU, no APIC timer");
        return false;
    }
    apic::enable_local(true);
    percpu::current().apic_id.store(apic::id(), Ordering::Relaxed);
    match apic::calibrate_timer(10) {
        Some(hz) => log::info!("apic: id {}, version {:#x}, timer {} kHz (divide 16)", apic::id(),
            apic::version() & 0xff, hz / 1000),
        None => log::warn!("apic: timer calibration failed"),
    }
    true
}

/// Number of enabled processors the MADT lists (1 when there is no MADT).
#[cfg(feature = "ktest")]
pub fn madt_cpu_count() -> usize {
    MADT_CPUS.load(Ordering::Relaxed).max(1)
}

/// What AP `index` recorded at start-up: (index read through GS, local APIC id).
#[cfg(feature = "ktest")]
pub fn startup_record(index: usize) -> Option<(usize, u32)> {
    let seen = SEEN_INDEX.get(index)?.load(Ordering::SeqCst).checked_sub(1)?;
    Some((seen, SEEN_APIC_ID[index].load(Ordering::SeqCst)))
}

/// Starts every enabled processor of the MADT (up to `MAX_CPUS` in all); each calls `entry`
/// with its CPU index once it is up. Returns the number of CPUs online. Call once, after memory
/// management is up, with interrupts disabled or enabled; `memory` supplies the memory.
pub fn start_application_processors(memory: &SmpMemory, entry: fn(cpu_index: usize) -> !) -> usize {
    if STARTED.swap(true, Ordering::SeqCst) || !init_boot_cpu(memory) {
        return percpu::cpu_count();
    }
    let Some(madt) = acpi::madt() else { return percpu::cpu_count() };
    MADT_CPUS.store(madt.enabled_processors().count(), Ordering::Relaxed);
    if madt.enabled_processors().count() <= 1 {
        return percpu::cpu_count();
    }
    let Some(root) = (memory.kernel_root)() else {
        return percpu::cpu_count();
    };
    if root >= 1 << 32 {
        log::warn!("smp: the kernel page tables are above 4 GiB; the trampoline cannot load them");
        return percpu::cpu_count();
    }
    if !trampoline::install() || !identity_map_trampoline(memory, true) {
        log::warn!("smp: cannot set up the start-up trampoline; one CPU");
        return percpu::cpu_count();
    }
    AP_ENTRY.store(entry as usize, Ordering::SeqCst);
    let boot_id = apic::id();
    let mut next = 1;
    for p in madt.enabled_processors().filter(|p| p.apic_id != boot_id) {
        if next >= MAX_CPUS {
            log::warn!("smp: more than {MAX_CPUS} CPUs; the others stay halted");
            break;
        }
        if p.apic_id > 0xfe {
            log::warn!("smp: CPU with APIC id {} needs x2APIC; not started", p.apic_id);
            continue;
        }
        if start_one(memory, next, p.apic_id, root) {
            next += 1;
        }
    }
    identity_map_trampoline(memory, false);
    percpu::cpu_count()
}

/// Maps (or unmaps) the trampoline page at its physical address in the master tree.
fn identity_map_trampoline(memory: &SmpMemory, map: bool) -> bool {
    let virt = trampoline::TRAMPOLINE_PHYS;
    let done = (memory.identity_map)(virt, map);
    if !map {
        tlb_shootdown(virt, 4096);
    }
    done
}

/// Starts one AP as CPU `index`; true once it reported online.
fn start_one(memory: &SmpMemory, index: usize, apic_id: u32, root: u64) -> bool {
    let Some(block) = percpu::get(index) else { return false };
    // The stacks belong to that CPU for ever (even if it does not report: it may be running).
    let Some(tops) = (memory.ap_stacks)() else {
        log::warn!("smp: no stack for CPU {index}");
        return false;
    };
    for (slot, top) in IST_TOPS[index].iter().zip(&tops[1..]) {
        slot.store(*top, Ordering::SeqCst);
    }
    let efer = (1 << 8) | if mmu::has_nx() { 1 << 11 } else { 0 };
    trampoline::set_params(&trampoline::Params {
        cr0: 0x8001_0033, // PG | WP | NE | ET | MP | PE
        cr3: root,
        cr4: 1 << 5, // PAE
        efer,
        stack_top: tops[0],
        entry: ap_entry as *const () as u64,
        arg: index as u64,
    });
    apic::send_init(apic_id);
    spin_ns(10_000_000);
    apic::send_startup(apic_id, trampoline::TRAMPOLINE_PAGE);
    spin_ns(200_000);
    if !block.online.load(Ordering::SeqCst) {
        apic::send_startup(apic_id, trampoline::TRAMPOLINE_PAGE);
    }
    let start = cpu::read_timestamp();
    while !block.online.load(Ordering::SeqCst) {
        if super::tsc::ticks_to_ns(cpu::read_timestamp().wrapping_sub(start)) > 2_000_000_000 {
            log::warn!("smp: CPU with APIC id {apic_id} did not start within 2 s; sending INIT");
            apic::send_init(apic_id);
            return false;
        }
        core::hint::spin_loop();
    }
    true
}

/// The first Rust code of an AP, on its own kernel stack, with the master tree loaded.
extern "C" fn ap_entry(index: u64) -> ! {
    let index = index as usize;
    cpu::enable_fpu_sse();
    mmu::enable_paging_features();
    let ist = IST_TOPS[index].each_ref().map(|t| t.load(Ordering::SeqCst));
    gdt::init_cpu(index, ist);
    percpu::install(index, apic::id());
    idt::init();
    super::syscall::init_cpu();
    cpu::set_tsc_aux(index);
    apic::enable_local(false);
    SEEN_APIC_ID[index].store(apic::id(), Ordering::SeqCst);
    SEEN_INDEX[index].store(cpu::cpu_index() + 1, Ordering::SeqCst);
    // Acknowledge every shootdown issued before this CPU came up: its TLB is fresh.
    percpu::current().tlb_ack.store(SHOOT_GEN.load(Ordering::SeqCst), Ordering::SeqCst);
    percpu::set_online();
    // A shootdown issued between those two lines may have missed this CPU when sending its IPIs
    // but still wait for its acknowledgement (it is online now): answer it (SeqCst: if the
    // sender did not see this CPU online, this load sees its generation).
    service_shootdown();
    let entry = AP_ENTRY.load(Ordering::SeqCst);
    // SAFETY: AP_ENTRY is set to a `fn(usize) -> !` before any AP is started.
    let entry: fn(usize) -> ! = unsafe { core::mem::transmute::<usize, fn(usize) -> !>(entry) };
    entry(index)
}

/// Registers `handler` for local-APIC vector `vector` (`FIRST_LOCAL_VECTOR..=0xfe`), e.g. the
/// APIC timer or the reschedule IPI; it runs with interrupts disabled, after the EOI. The TLB
/// shootdown and call vectors are built in. Returns false for a vector outside the range.
pub fn register_local_handler(vector: u8, handler: fn()) -> bool {
    match LOCAL_HANDLERS.get(usize::from(vector.wrapping_sub(apic::FIRST_LOCAL_VECTOR))) {
        Some(slot) if vector >= apic::FIRST_LOCAL_VECTOR && vector != apic::VECTOR_SPURIOUS => {
            slot.store(handler as usize, Ordering::SeqCst);
            true
        }
        _ => false,
    }
}

/// Called by the trap dispatcher for vectors `FIRST_LOCAL_VECTOR..=0xff`.
pub fn local_interrupt(vector: u8) {
    if vector == apic::VECTOR_SPURIOUS {
        return; // no EOI for spurious interrupts
    }
    apic::end_of_interrupt();
    match vector {
        apic::VECTOR_TLB_SHOOTDOWN => service_shootdown(),
        apic::VECTOR_CALL => service_call(),
        apic::VECTOR_ERROR => log::warn!("apic: error interrupt, ESR {:#x}", apic::error_status()),
        _ => {}
    }
    let slot = &LOCAL_HANDLERS[usize::from(vector - apic::FIRST_LOCAL_VECTOR)];
    let handler = slot.load(Ordering::SeqCst);
    if handler != 0 {
        // SAFETY: non-zero slots only ever hold a `fn()` stored by `register_local_handler`.
        let handler: fn() = unsafe { core::mem::transmute::<usize, fn()>(handler) };
        handler();
    }
}

/// Sends `vector` to online CPU `cpu`; false if there is no such CPU.
pub fn send_ipi_to_cpu(cpu: usize, vector: u8) -> bool {
    match percpu::get(cpu).filter(|b| b.online.load(Ordering::SeqCst)) {
        Some(block) => {
            apic::send_ipi(block.apic_id.load(Ordering::Relaxed), vector);
            true
        }
        None => false,
    }
}

/// Sends a non-maskable interrupt to online CPU `cpu` (its handler reports a backtrace and
/// returns); false if there is no such CPU.
pub fn send_nmi_to_cpu(cpu: usize) -> bool {
    match percpu::get(cpu).filter(|b| b.online.load(Ordering::SeqCst)) {
        Some(block) => {
            apic::send_nmi(block.apic_id.load(Ordering::Relaxed));
            true
        }
        None => false,
    }
}

// ---- TLB shootdown -------------------------------------------------------------------------
//
// Lock rules: SHOOT_LOCK serializes shootdowns (one request in flight: SHOOT_START/SHOOT_LEN/
// SHOOT_GEN); CALL_LOCK serializes `run_on_cpu`. Both are taken with try_lock in a loop that
// keeps servicing the other CPUs' shootdown requests and calls, and every wait below does the
// same: a CPU spinning with interrupts off must never leave another CPU's shootdown or call
// unanswered, or the two would wait for each other for ever. For the same reason a shootdown
// is never started while holding a spin lock that another CPU may spin on with interrupts off
// (the page-table lock, the frame allocator's, a run queue's ...), and a function run through
// `run_on_cpu` takes no lock that a shootdown may be waiting under.
//
// Both are `arch`'s own plain `spin::Mutex`es, not the kernel's lockdep-checked `SpinLock` (a
// layer above). Lockdep could not check them anyway: they are only ever taken by `try_lock`,
// which lockdep records with no order edge (it cannot deadlock), so no edge leads into either
// and neither can close a cycle in its graph. They are leaves as far as ordering goes: under
// them this file only sends IPIs and busy-waits answering other CPUs; what else runs there (a
// function another CPU left through `run_on_cpu`, an interrupt under CALL_LOCK) takes its own
// locks exactly as it would anywhere else, and nothing sleeps under them (SHOOT_LOCK is held
// with interrupts off, CALL_LOCK for one `run_on_cpu`, which never sleeps).

static SHOOT_LOCK: spin::Mutex<()> = spin::Mutex::new(());
static SHOOT_START: AtomicU64 = AtomicU64::new(0);
static SHOOT_LEN: AtomicU64 = AtomicU64::new(0);
/// Generation of the last shootdown request; each CPU acknowledges it in `PerCpu::tlb_ack`.
static SHOOT_GEN: AtomicU64 = AtomicU64::new(0);
/// Number of shootdowns that waited longer than [`SLOW_SHOOTDOWN_NS`] for some CPU (they still
/// waited until every CPU acknowledged).
pub static SHOOTDOWN_TIMEOUTS: AtomicU64 = AtomicU64::new(0);
/// After this long a shootdown (or a call) still waiting is reported, once per boot.
const SLOW_SHOOTDOWN_NS: u64 = 100_000_000;
static SLOW_WARNED: AtomicBool = AtomicBool::new(false);

/// Invalidates `[start, start + len)` in this CPU's TLB (everything above 64 pages).
fn flush_local(start: u64, len: u64) {
    if len > 64 * 4096 {
        mmu::flush_all();
        return;
    }
    let mut page = start & !0xfff;
    while page < start.saturating_add(len) {
        mmu::flush_page(page);
        page += 4096;
    }
}

/// Handles the pending shootdown request, if this CPU has not acknowledged it yet.
fn service_shootdown() {
    let me = percpu::current();
    let generation = SHOOT_GEN.load(Ordering::SeqCst);
    if me.tlb_ack.load(Ordering::SeqCst) < generation {
        flush_local(SHOOT_START.load(Ordering::SeqCst), SHOOT_LEN.load(Ordering::SeqCst));
        me.tlb_ack.store(generation, Ordering::SeqCst);
    }
}

/// What a CPU busy-waiting (with interrupts off or not) does on each turn: answers the other
/// CPUs' pending shootdown and call, exactly as their IPIs would have.
pub fn service_pending_requests() {
    service_shootdown();
    run_pending_call();
}

/// Reports, once per boot, a wait that has lasted longer than [`SLOW_SHOOTDOWN_NS`].
fn warn_slow(what: &str, begin: u64, warned: &mut bool) {
    if !*warned && super::tsc::ticks_to_ns(cpu::read_timestamp().wrapping_sub(begin)) > SLOW_SHOOTDOWN_NS {
        *warned = true;
        SHOOTDOWN_TIMEOUTS.fetch_add(1, Ordering::Relaxed);
        if !SLOW_WARNED.swap(true, Ordering::Relaxed) {
            log::warn!("smp: {what} not acknowledged within 100 ms; still waiting (reported once)");
        }
    }
}

/// Invalidates `[start, start + len)` in the TLB of every online CPU: locally, then by IPI on
/// the others, and returns only once each has acknowledged (however long that takes: a frame
/// may be reused as soon as this returns). Must not be called with a spin lock held that
/// another CPU may spin on with interrupts off (see the lock rules above).
pub fn tlb_shootdown(start: u64, len: u64) {
    flush_local(start, len);
    let me = percpu::cpu_index();
    if percpu::online_cpus().all(|b| b.index() == me) {
        return;
    }
    cpu::without_interrupts(|| {
        // While another CPU holds the lock it waits for this one: keep answering it.
        let _lock = loop {
            if let Some(lock) = SHOOT_LOCK.try_lock() {
                break lock;
            }
            service_pending_requests();
            core::hint::spin_loop();
        };
        SHOOT_START.store(start, Ordering::SeqCst);
        SHOOT_LEN.store(len, Ordering::SeqCst);
        let generation = SHOOT_GEN.fetch_add(1, Ordering::SeqCst) + 1;
        percpu::current().tlb_ack.store(generation, Ordering::SeqCst);
        for target in percpu::online_cpus().filter(|b| b.index() != me) {
            apic::send_ipi(target.apic_id.load(Ordering::Relaxed), apic::VECTOR_TLB_SHOOTDOWN);
        }
        let begin = cpu::read_timestamp();
        let mut warned = false;
        while percpu::online_cpus().any(|b| b.tlb_ack.load(Ordering::SeqCst) < generation) {
            // A CPU calling this one (`run_on_cpu`) may be what the others wait for.
            run_pending_call();
            warn_slow("a TLB shootdown", begin, &mut warned);
            core::hint::spin_loop();
        }
    });
}

// ---- Running a function on another CPU -------------------------------------------------------

static CALL_LOCK: spin::Mutex<()> = spin::Mutex::new(());

/// Runs the function another CPU left for this one, if any.
fn run_pending_call() {
    let me = percpu::current();
    let f = me.call_fn.swap(0, Ordering::SeqCst);
    if f != 0 {
        // SAFETY: `call_fn` only ever holds a `fn(u64) -> u64` stored by `run_on_cpu`.
        let f: fn(u64) -> u64 = unsafe { core::mem::transmute::<usize, fn(u64) -> u64>(f) };
        me.call_result.store(f(me.call_arg.load(Ordering::SeqCst)), Ordering::SeqCst);
        me.call_done.store(true, Ordering::SeqCst);
    }
}

fn service_call() {
    percpu::current().test_ipis.fetch_add(1, Ordering::SeqCst);
    run_pending_call();
}

/// Whether CPU `cpu` is online.
pub fn is_cpu_online(cpu: usize) -> bool {
    percpu::get(cpu).is_some_and(|b| b.online.load(Ordering::SeqCst))
}

/// Runs `f(arg)` on online CPU `cpu` (in its interrupt handler, or in its busy-wait loop if it
/// is waiting with interrupts off) and returns the result; None if the CPU is not online or did
/// not answer within `timeout_ns`. Runs `f` directly for this CPU. `f` must not take a lock
/// that a CPU may hold while waiting for a shootdown or a call, nor shoot down itself.
/// Preemption is off meanwhile: the caller stays on its CPU, and a thread of this CPU never
/// spins on `CALL_LOCK` against a holder switched away.
pub fn run_on_cpu(cpu: usize, f: fn(u64) -> u64, arg: u64, timeout_ns: u64) -> Option<u64> {
    percpu::preempt_disable();
    let result = run_on_cpu_pinned(cpu, f, arg, timeout_ns);
    if percpu::preempt_enable() {
        super::handlers::preemption_point();
    }
    result
}

fn run_on_cpu_pinned(cpu: usize, f: fn(u64) -> u64, arg: u64, timeout_ns: u64) -> Option<u64> {
    if cpu == percpu::cpu_index() {
        return Some(f(arg));
    }
    let target = percpu::get(cpu).filter(|b| b.online.load(Ordering::SeqCst))?;
    // The holder may be waiting for this CPU: keep answering while the lock is taken.
    let _lock = loop {
        if let Some(lock) = CALL_LOCK.try_lock() {
            break lock;
        }
        service_pending_requests();
        core::hint::spin_loop();
    };
    target.call_done.store(false, Ordering::SeqCst);
    target.call_arg.store(arg, Ordering::SeqCst);
    target.call_fn.store(f as usize, Ordering::SeqCst);
    apic::send_ipi(target.apic_id.load(Ordering::Relaxed), apic::VECTOR_CALL);
    let begin = cpu::read_timestamp();
    while !target.call_done.load(Ordering::SeqCst) {
        if super::tsc::ticks_to_ns(cpu::read_timestamp().wrapping_sub(begin)) > timeout_ns {
            // Withdraw the request if it has not started; if it has, wait for its end (its
            // result lives in the target's slots, which the next call reuses).
            if target.call_fn.swap(0, Ordering::SeqCst) != 0 {
                return None;
            }
        }
        service_pending_requests();
        core::hint::spin_loop();
    }
    Some(target.call_result.load(Ordering::SeqCst))
}
