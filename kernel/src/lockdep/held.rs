//! The stack of locks one thread holds (lives in its `Thread`), and which stack is the running
//! thread's on each CPU (switched by the scheduler just before its context switch).
//!
//! A stack is only touched by the code running on its thread, with interrupts off: an interrupt
//! handler runs on the interrupted thread and its pushes and pops nest inside the thread's own,
//! and the scheduler cannot switch threads in the middle of an update.

use core::panic::Location;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU8, AtomicUsize, Ordering};

use super::Kind;
use crate::arch;

/// Most locks one thread holds at once; deeper nesting is not checked (and counted).
pub const MAX_HELD: usize = 16;

/// Most CPUs the checker follows (as many as the scheduler runs).
const MAX_CPUS: usize = 16;

/// One held lock.
struct Entry {
    /// The lock's address.
    lock: AtomicUsize,
    /// Class id (0: not checked) | kind << 16.
    class_kind: AtomicU32,
    /// Where it was taken (always made from a `&'static Location<'static>`).
    site: AtomicPtr<Location<'static>>,
}

/// A held lock, as read back from a stack.
#[derive(Clone, Copy)]
pub struct Held {
    pub lock: usize,
    pub class: u16,
    pub kind: Kind,
    pub site: &'static Location<'static>,
}

/// The locks a thread holds, innermost last.
pub struct HeldLocks {
    depth: AtomicUsize,
    /// Reports in progress on this thread (its own locking is not checked meanwhile) and
    /// whether reports are expected (a test provoking them).
    flags: AtomicU8,
    entries: [Entry; MAX_HELD],
}

const REPORTING: u8 = 1;
const EXPECTING: u8 = 2;

/// Locks not followed because a stack was full.
pub static OVERFLOWS: AtomicUsize = AtomicUsize::new(0);

impl HeldLocks {
    pub const fn new() -> HeldLocks {
        HeldLocks {
            depth: AtomicUsize::new(0),
            flags: AtomicU8::new(0),
            entries: [const {
                Entry { lock: AtomicUsize::new(0), class_kind: AtomicU32::new(0), site: AtomicPtr::new(core::ptr::null_mut()) }
            }; MAX_HELD],
        }
    }

    /// Number of locks held now.
    pub fn depth(&self) -> usize {
        self.depth.load(Ordering::Relaxed).min(MAX_HELD)
    }

    /// Held lock `index` (0 = outermost), if `index < depth()`.
    pub fn get(&self, index: usize) -> Option<Held> {
        if index >= self.depth() {
            return None;
        }
        let entry = self.entries.get(index)?;
        let class_kind = entry.class_kind.load(Ordering::Relaxed);
        let kind = match class_kind >> 16 {
            1 => Kind::Spin,
            2 => Kind::IrqSpin,
            _ => Kind::Sleep,
        };
        let site = entry.site.load(Ordering::Relaxed);
        // SAFETY: every pointer stored in `site` comes from a `&'static Location<'static>`
        // (`push`), so it is valid and immutable forever.
        let site = unsafe { site.as_ref() }?;
        Some(Held { lock: entry.lock.load(Ordering::Relaxed), class: class_kind as u16, kind, site })
    }

    /// Records a newly taken lock on top.
    pub fn push(&self, lock: usize, class: u16, kind: Kind, site: &'static Location<'static>) {
        let depth = self.depth.load(Ordering::Relaxed);
        let Some(entry) = self.entries.get(depth) else {
            OVERFLOWS.fetch_add(1, Ordering::Relaxed);
            return;
        };
        entry.lock.store(lock, Ordering::Relaxed);
        entry.class_kind.store(u32::from(class) | (kind as u32) << 16, Ordering::Relaxed);
        entry.site.store((site as *const Location<'static>).cast_mut(), Ordering::Relaxed);
        self.depth.store(depth + 1, Ordering::Relaxed);
    }

    /// Forgets `lock` (the innermost entry for it; locks may be released out of order). A lock
    /// not on the stack (taken before checking started, or past a full stack) is ignored.
    pub fn pop(&self, lock: usize) {
        let depth = self.depth();
        let Some(index) = (0..depth).rev().find(|&i| self.entries[i].lock.load(Ordering::Relaxed) == lock) else {
            return;
        };
        for i in index..depth - 1 {
            let (to, from) = (&self.entries[i], &self.entries[i + 1]);
            to.lock.store(from.lock.load(Ordering::Relaxed), Ordering::Relaxed);
            to.class_kind.store(from.class_kind.load(Ordering::Relaxed), Ordering::Relaxed);
            to.site.store(from.site.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        self.depth.store(depth - 1, Ordering::Relaxed);
    }

    pub fn reporting(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & REPORTING != 0
    }

    pub fn set_reporting(&self, on: bool) {
        self.set_flag(REPORTING, on);
    }

    pub fn expecting(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & EXPECTING != 0
    }

    #[cfg(feature = "ktest")]
    pub fn set_expecting(&self, on: bool) {
        self.set_flag(EXPECTING, on);
    }

    fn set_flag(&self, flag: u8, on: bool) {
        if on {
            self.flags.fetch_or(flag, Ordering::Relaxed);
        } else {
            self.flags.fetch_and(!flag, Ordering::Relaxed);
        }
    }
}

impl Default for HeldLocks {
    fn default() -> Self {
        Self::new()
    }
}

/// The running thread's stack on each CPU (null until the scheduler starts there).
static CURRENT: [AtomicPtr<HeldLocks>; MAX_CPUS] = [const { AtomicPtr::new(core::ptr::null_mut()) }; MAX_CPUS];

/// A thread's stack, named before the thread is handed to the CPU's `current` slot.
#[derive(Clone, Copy)]
pub struct HeldRef(*const HeldLocks);

impl HeldRef {
    pub fn of(held: &HeldLocks) -> HeldRef {
        HeldRef(held)
    }

    /// Makes this the running thread's stack on this CPU. The scheduler calls it with
    /// interrupts off, for the thread it is about to run, which its `current` slot keeps alive
    /// for as long as it runs.
    pub fn enter(self) {
        if let Some(slot) = CURRENT.get(arch::cpu_index()) {
            slot.store(self.0.cast_mut(), Ordering::Relaxed);
        }
    }
}

/// The running thread's stack.
///
/// # Safety
/// Interrupts must be off for as long as the reference is used (the caller stays on this CPU
/// and thread, so the stack's thread cannot be switched away and dropped).
pub unsafe fn current() -> Option<&'static HeldLocks> {
    let held = CURRENT.get(arch::cpu_index())?.load(Ordering::Relaxed);
    // SAFETY: `HeldRef::enter` stores the stack of the thread that runs next on this CPU; its
    // `Thread` stays alive in the CPU's `current` slot while it runs, and with interrupts off
    // (the caller's contract) it cannot be switched away while the reference is used.
    unsafe { held.as_ref() }
}
