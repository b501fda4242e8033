//! The local APIC in xAPIC mode (memory-mapped registers): enabling, end of interrupt, the APIC
//! timer (calibrated against the PIT-calibrated TSC) and inter-processor interrupts (fixed,
//! INIT, start-up).
//!
//! The memory manager maps the register page uncached in the kernel half (shared by every
//! address space) through the function [`map`] is given, and this module keeps the virtual
//! address it returns; every CPU sees its own APIC at the same physical address. The legacy 8259
//! PIC stays in charge of the ISA lines: on the boot CPU LINT0 is left as the firmware set it
//! (virtual-wire ExtINT), so `register_irq` keeps working; application processors mask LINT0.

use core::sync::atomic::{AtomicU64, Ordering};

use ::x86_64::registers::model_specific::Msr;

/// Vectors of the local interrupts (see `trap.rs`).
pub const VECTOR_TIMER: u8 = 0xef;
pub const VECTOR_RESCHEDULE: u8 = 0xf0;
pub const VECTOR_TLB_SHOOTDOWN: u8 = 0xf1;
pub const VECTOR_CALL: u8 = 0xf2;
pub const VECTOR_ERROR: u8 = 0xfe;
pub const VECTOR_SPURIOUS: u8 = 0xff;
/// First vector handled as a local APIC interrupt.
pub const FIRST_LOCAL_VECTOR: u8 = 0xe0;

const IA32_APIC_BASE: u32 = 0x1b;

const REG_ID: u32 = 0x20;
const REG_VERSION: u32 = 0x30;
const REG_TPR: u32 = 0x80;
const REG_EOI: u32 = 0xb0;
const REG_SVR: u32 = 0xf0;
const REG_ESR: u32 = 0x280;
const REG_ICR_LOW: u32 = 0x300;
const REG_ICR_HIGH: u32 = 0x310;
const REG_LVT_TIMER: u32 = 0x320;
const REG_LVT_LINT0: u32 = 0x350;
const REG_LVT_LINT1: u32 = 0x360;
const REG_LVT_ERROR: u32 = 0x370;
const REG_TIMER_INITIAL: u32 = 0x380;
const REG_TIMER_CURRENT: u32 = 0x390;
const REG_TIMER_DIVIDE: u32 = 0x3e0;

const LVT_MASKED: u32 = 1 << 16;
const TIMER_PERIODIC: u32 = 1 << 17;
const ICR_DELIVERY_PENDING: u32 = 1 << 12;
const ICR_LEVEL_ASSERT: u32 = 1 << 14;
const ICR_NMI: u32 = 0b100 << 8;
const ICR_INIT: u32 = 0b101 << 8;
const ICR_STARTUP: u32 = 0b110 << 8;
/// Timer divide configuration: divide by 16.
const DIVIDE_BY_16: u32 = 0b0011;

/// Kernel virtual address of the mapped register page (0 = not mapped: every operation is a
/// no-op).
static REGISTERS: AtomicU64 = AtomicU64::new(0);
/// APIC timer input ticks per second (after the divide-by-16), 0 until calibrated.
static TIMER_HZ: AtomicU64 = AtomicU64::new(0);

/// Why the local APIC cannot be used (shown with `{:?}` in the boot log).
#[allow(dead_code)]
#[derive(Debug)]
pub enum ApicError {
    /// CPUID says there is no APIC.
    Absent,
    /// The register page could not be mapped.
    Map(exo_paging::MapError),
}

/// Whether the CPU has a local APIC (CPUID.1:EDX bit 9).
pub fn present() -> bool {
    super::cpu::cpuid(1, 0).3 & (1 << 9) != 0
}

/// The APIC base from IA32_APIC_BASE.
pub fn msr_base() -> u64 {
    // SAFETY: IA32_APIC_BASE exists on every CPU with an APIC (checked by callers via `present`).
    unsafe { Msr::new(IA32_APIC_BASE).read() & 0x000f_ffff_ffff_f000 }
}

/// Whether the registers are mapped (after [`map`]).
pub fn is_mapped() -> bool {
    REGISTERS.load(Ordering::Acquire) != 0
}

/// Maps the APIC registers at physical `phys` (from the MADT, else the MSR) with `map_page`,
/// the memory manager's: it maps one 4 KiB page of device registers uncached and global in the
/// kernel half and returns its virtual address. Needs the kernel page tables.
pub fn map(phys: u64, map_page: fn(u64) -> Result<u64, exo_paging::MapError>) -> Result<(), ApicError> {
    if !present() {
        return Err(ApicError::Absent);
    }
    let phys = if phys == 0 { msr_base() } else { phys & !0xfff };
    let virt = map_page(phys).map_err(ApicError::Map)?;
    REGISTERS.store(virt, Ordering::Release);
    Ok(())
}

fn read(reg: u32) -> u32 {
    let base = REGISTERS.load(Ordering::Acquire);
    if base == 0 {
        return 0;
    }
    // SAFETY: a non-zero `REGISTERS` is the virtual address at which `map` had the 4 KiB APIC
    // register page mapped uncached (for ever); `reg` is one of the 16-byte-aligned register
    // offsets above, read as the architected 32-bit access.
    unsafe { core::ptr::read_volatile((base + u64::from(reg)) as *const u32) }
}

fn write(reg: u32, value: u32) {
    let base = REGISTERS.load(Ordering::Acquire);
    if base == 0 {
        return;
    }
    // SAFETY: as in `read`; writes go to APIC registers only.
    unsafe { core::ptr::write_volatile((base + u64::from(reg)) as *mut u32, value) }
}

/// The executing CPU's local APIC id (from the APIC, else CPUID).
pub fn id() -> u32 {
    if is_mapped() {
        read(REG_ID) >> 24
    } else {
        super::cpu::cpuid(1, 0).1 >> 24
    }
}

/// The APIC version register (version in bits 0-7, highest LVT entry in bits 16-23).
pub fn version() -> u32 {
    read(REG_VERSION)
}

/// Software-enables the executing CPU's APIC: spurious vector, error vector, TPR 0, timer
/// masked. `boot_cpu`: leave LINT0 (the PIC's virtual wire) alone; otherwise mask it.
pub fn enable_local(boot_cpu: bool) {
    if !is_mapped() {
        return;
    }
    // SAFETY: setting the global-enable bit of IA32_APIC_BASE keeps the base address and xAPIC
    // mode; the firmware normally has it set already.
    unsafe {
        let mut msr = Msr::new(IA32_APIC_BASE);
        let value = msr.read();
        if value & (1 << 11) == 0 {
            msr.write(value | (1 << 11));
        }
    }
    write(REG_SVR, 0x100 | u32::from(VECTOR_SPURIOUS));
    write(REG_TPR, 0);
    write(REG_LVT_TIMER, LVT_MASKED | u32::from(VECTOR_TIMER));
    write(REG_LVT_ERROR, u32::from(VECTOR_ERROR));
    if !boot_cpu {
        write(REG_LVT_LINT0, LVT_MASKED);
        write(REG_LVT_LINT1, LVT_MASKED);
    }
    // The error status register is cleared by a write before each read.
    write(REG_ESR, 0);
    write(REG_ESR, 0);
    end_of_interrupt();
}

/// Signals the end of a local APIC interrupt (not for the PIC's ExtINT lines).
#[inline]
pub fn end_of_interrupt() {
    write(REG_EOI, 0);
}

/// Reads and clears the error status register.
pub fn error_status() -> u32 {
    write(REG_ESR, 0);
    read(REG_ESR)
}

/// Measures the APIC timer's rate (ticks per second after the divide-by-16) over `ms`
/// milliseconds of the TSC, itself calibrated against the PIT; stores and returns it.
pub fn calibrate_timer(ms: u64) -> Option<u64> {
    if !is_mapped() {
        return None;
    }
    let tsc_hz = super::tsc::hz();
    let rate = super::cpu::without_interrupts(|| {
        write(REG_TIMER_DIVIDE, DIVIDE_BY_16);
        write(REG_LVT_TIMER, LVT_MASKED | u32::from(VECTOR_TIMER));
        write(REG_TIMER_INITIAL, u32::MAX);
        let start = super::cpu::read_timestamp();
        let wait = tsc_hz * ms / 1000;
        while super::cpu::read_timestamp().wrapping_sub(start) < wait {
            core::hint::spin_loop();
        }
        let remaining = read(REG_TIMER_CURRENT);
        let elapsed_tsc = super::cpu::read_timestamp().wrapping_sub(start);
        write(REG_TIMER_INITIAL, 0);
        let counted = u64::from(u32::MAX - remaining);
        (elapsed_tsc > 0).then(|| (u128::from(counted) * u128::from(tsc_hz) / u128::from(elapsed_tsc)) as u64)
    })?;
    if rate == 0 {
        return None;
    }
    TIMER_HZ.store(rate, Ordering::Relaxed);
    Some(rate)
}

/// The calibrated APIC timer rate in ticks per second (0 before calibration).
pub fn timer_hz() -> u64 {
    TIMER_HZ.load(Ordering::Relaxed)
}

/// Starts the executing CPU's APIC timer raising `vector` `hz` times a second. Returns false
/// when the timer is not calibrated or `hz` is out of range.
pub fn timer_periodic(hz: u32, vector: u8) -> bool {
    let rate = timer_hz();
    if rate == 0 || hz == 0 {
        return false;
    }
    let count = (rate / u64::from(hz)).clamp(1, u64::from(u32::MAX)) as u32;
    write(REG_TIMER_DIVIDE, DIVIDE_BY_16);
    write(REG_LVT_TIMER, TIMER_PERIODIC | u32::from(vector));
    write(REG_TIMER_INITIAL, count);
    true
}

/// Waits (bounded) until the previous IPI has been accepted.
fn wait_icr_idle() {
    for _ in 0..1_000_000 {
        if read(REG_ICR_LOW) & ICR_DELIVERY_PENDING == 0 {
            return;
        }
        core::hint::spin_loop();
    }
    log::warn!("apic: IPI delivery still pending after 1M polls");
}

fn send(apic_id: u32, command: u32) {
    super::cpu::without_interrupts(|| {
        wait_icr_idle();
        write(REG_ICR_HIGH, apic_id << 24);
        write(REG_ICR_LOW, command);
        wait_icr_idle();
    });
}

/// Sends fixed interrupt `vector` to the CPU with local APIC id `apic_id`.
pub fn send_ipi(apic_id: u32, vector: u8) {
    send(apic_id, u32::from(vector));
}

/// Sends a non-maskable interrupt to `apic_id` (the kernel watchdog's backtrace request).
pub fn send_nmi(apic_id: u32) {
    send(apic_id, ICR_NMI);
}

/// Sends an INIT IPI (assert) to `apic_id`: the CPU resets and waits for a start-up IPI.
pub fn send_init(apic_id: u32) {
    send(apic_id, ICR_INIT | ICR_LEVEL_ASSERT);
}

/// Sends a start-up IPI to `apic_id`: it starts in real mode at `page << 12`.
pub fn send_startup(apic_id: u32, page: u8) {
    send(apic_id, ICR_STARTUP | ICR_LEVEL_ASSERT | u32::from(page));
}
