//! Device interrupt vectors: the vectors message-signalled interrupts (MSI and MSI-X) are
//! delivered on, each with the handler a driver registered for it.
//!
//! Vectors 0x50-0xdf (144) are handed out one by one by [`allocate`]; a device writes the
//! message [`target`] names (the boot CPU's local APIC: `0xFEE0_0000 | apic_id << 12`, data =
//! vector, fixed delivery, edge) and the local APIC raises the vector there. The dispatch
//! ([`dispatch`], from `trap.rs`) counts the interrupt, calls the handler with the context
//! word it was registered with, and signals the end of interrupt to the local APIC. Handlers
//! run with interrupts off, on the interrupted thread's stack: they may only wake or flag.
//! Vectors are never freed (devices are not hot-unplugged).

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::{apic, percpu};

/// First and last vector given to devices (below the local APIC's own, above the PIC's).
pub const FIRST_DEVICE_VECTOR: u8 = 0x50;
pub const LAST_DEVICE_VECTOR: u8 = 0xdf;
const COUNT: usize = (LAST_DEVICE_VECTOR - FIRST_DEVICE_VECTOR) as usize + 1;

/// Per vector: the handler (`fn(usize)` as usize, 0 = free), its context word, and how many
/// times it was raised (seen in a debugger or a crash dump).
static HANDLERS: [AtomicUsize; COUNT] = [const { AtomicUsize::new(0) }; COUNT];
static CONTEXTS: [AtomicUsize; COUNT] = [const { AtomicUsize::new(0) }; COUNT];
static COUNTS: [AtomicU64; COUNT] = [const { AtomicU64::new(0) }; COUNT];
/// Vectors handed out so far.
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// Takes the next free device vector and registers `handler`, called with `context` on each
/// interrupt; None when all 144 are taken.
pub fn allocate(handler: fn(usize), context: usize) -> Option<u8> {
    let slot = NEXT.fetch_add(1, Ordering::SeqCst);
    if slot >= COUNT {
        NEXT.fetch_sub(1, Ordering::SeqCst);
        return None;
    }
    CONTEXTS[slot].store(context, Ordering::SeqCst);
    HANDLERS[slot].store(handler as usize, Ordering::SeqCst);
    Some(FIRST_DEVICE_VECTOR + slot as u8)
}

/// The local APIC id device interrupts are sent to (the boot CPU's; it is online first and
/// never goes away).
pub fn target() -> u32 {
    percpu::get(0).map_or(0, |block| block.apic_id.load(Ordering::Relaxed))
}

/// Whether `vector` is in the device range (for the trap dispatch).
pub fn is_device_vector(vector: u8) -> bool {
    (FIRST_DEVICE_VECTOR..=LAST_DEVICE_VECTOR).contains(&vector)
}

/// Handles device `vector`: its handler, then the end of interrupt.
pub fn dispatch(vector: u8) {
    let slot = usize::from(vector - FIRST_DEVICE_VECTOR);
    COUNTS[slot].fetch_add(1, Ordering::Relaxed);
    let handler = HANDLERS[slot].load(Ordering::SeqCst);
    if handler != 0 {
        // SAFETY: non-zero slots only ever hold a `fn(usize)` stored by `allocate`.
        let handler: fn(usize) = unsafe { core::mem::transmute::<usize, fn(usize)>(handler) };
        handler(CONTEXTS[slot].load(Ordering::SeqCst));
    }
    apic::end_of_interrupt();
}
