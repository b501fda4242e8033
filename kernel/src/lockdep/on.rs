//! lockdep compiled in: the hooks the lock types call, the checks, and the reports.

use core::fmt::Write;
use core::panic::Location;
use core::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};

use super::graph::{self, Edge, MAX_CLASSES};
use super::held;
pub use super::held::{HeldLocks, HeldRef};
use super::Kind;
use crate::arch;

/// Checking is on.
#[cfg(feature = "ktest")]
pub const ENABLED: bool = true;

/// A lock's class: where the lock was constructed, and its class id once looked up.
pub struct LockClass {
    site: &'static Location<'static>,
    id: AtomicU16,
}

impl LockClass {
    /// The class of a lock constructed by the caller (through `#[track_caller]` constructors).
    #[track_caller]
    pub const fn here() -> LockClass {
        LockClass { site: Location::caller(), id: AtomicU16::new(0) }
    }

    fn id(&self) -> u16 {
        match self.id.load(Ordering::Relaxed) {
            0 => {
                let id = graph::class_of(self.site);
                self.id.store(id, Ordering::Relaxed);
                id
            }
            id => id,
        }
    }
}

/// Proof that a lock was recorded as held; give it back to [`release`].
pub struct Token {
    lock: usize,
}

/// Reports printed as failures, and reports a test asked for.
static REPORTS: AtomicUsize = AtomicUsize::new(0);
static EXPECTED: AtomicUsize = AtomicUsize::new(0);
/// Classes already reported for being held while sleeping / taken recursively.
static SLEEP_REPORTED: [AtomicU64; MAX_CLASSES / 64] = [const { AtomicU64::new(0) }; MAX_CLASSES / 64];
static RECURSION_REPORTED: [AtomicU64; MAX_CLASSES / 64] = [const { AtomicU64::new(0) }; MAX_CLASSES / 64];
/// At most this many reports are printed in full (all are counted).
const MAX_PRINTED: usize = 16;

/// Runs `f` on the running thread's held stack with interrupts off, unless checking has not
/// started on this CPU or a report is being printed on this thread.
fn with_held<R: Default>(f: impl FnOnce(&HeldLocks) -> R) -> R {
    let enabled = arch::save_and_disable_interrupts();
    // SAFETY: interrupts are off from here until `f` has returned and the reference is gone.
    let result = match unsafe { held::current() } {
        Some(held) if !held.reporting() => f(held),
        _ => R::default(),
    };
    arch::restore_interrupts(enabled);
    result
}

/// Checks taking the lock at `lock` against the locks held, then records it as held. Called
/// before spinning, so an inversion is reported even if this acquisition deadlocks.
#[track_caller]
pub fn acquire(class: &LockClass, lock: usize, kind: Kind) -> Token {
    let site = Location::caller();
    with_held(|held| {
        let id = class.id();
        check_held(held, id, lock, kind, site);
        held.push(lock, id, kind, site);
    });
    Token { lock }
}

/// Checks taking the lock at `lock` against the locks held (a sleeping lock, before it waits).
#[track_caller]
pub fn check(class: &LockClass, lock: usize, kind: Kind) {
    let site = Location::caller();
    with_held(|held| check_held(held, class.id(), lock, kind, site));
}

/// Records a lock taken without waiting (a `try_lock`, which cannot deadlock, or a sleeping
/// lock after [`check`]) as held.
#[track_caller]
pub fn acquired(class: &LockClass, lock: usize, kind: Kind) -> Token {
    let site = Location::caller();
    with_held(|held| held.push(lock, class.id(), kind, site));
    Token { lock }
}

/// The lock of `token` is released.
pub fn release(token: &Token) {
    with_held(|held| held.pop(token.lock));
}

/// The running thread may sleep here: reports the spin locks it holds.
#[track_caller]
pub fn might_sleep() {
    let site = Location::caller();
    with_held(|held| {
        for index in 0..held.depth() {
            if let Some(h) = held.get(index).filter(|h| h.kind.spins()) {
                if first_time(&SLEEP_REPORTED, h.class) {
                    report(held, |out| {
                        let _ = writeln!(out, "may sleep at {site} while holding spin lock {}", name(h.class));
                        let _ = writeln!(out, "lockdep:   the spin lock was taken at {}", h.site);
                    });
                }
            }
        }
    });
}

fn check_held(held: &HeldLocks, id: u16, lock: usize, kind: Kind, site: &'static Location<'static>) {
    if kind == Kind::Sleep {
        for index in 0..held.depth() {
            if let Some(h) = held.get(index).filter(|h| h.kind.spins()) {
                if first_time(&SLEEP_REPORTED, h.class) {
                    report(held, |out| {
                        let _ = writeln!(out, "sleeping lock {} taken at {site} while holding spin lock {}", name(id), name(h.class));
                        let _ = writeln!(out, "lockdep:   the spin lock was taken at {}", h.site);
                    });
                }
            }
        }
    }
    for index in 0..held.depth() {
        let Some(h) = held.get(index) else { continue };
        if h.lock == lock {
            if first_time(&RECURSION_REPORTED, id) {
                report(held, |out| {
                    let _ = writeln!(out, "recursive locking: {} taken at {site} is already held by this thread", name(id));
                    let _ = writeln!(out, "lockdep:   it was taken at {}", h.site);
                });
            }
            continue;
        }
        // Two locks of one class nested (say, two pipes' buffers) are not ordered by class.
        if h.class == 0 || id == 0 || h.class == id || graph::has_edge(h.class, id) {
            continue;
        }
        let edge = Edge { from: h.class, to: id, held_at: h.site, taken_at: site };
        if let Some(cycle) = graph::add_edge(edge) {
            report(held, |out| {
                let _ = writeln!(out, "lock order inversion: {} taken at {site}", name(id));
                let _ = writeln!(out, "lockdep:   while holding {} (taken at {})", name(h.class), h.site);
                let _ = writeln!(out, "lockdep:   but the opposite order was seen before:");
                let path = &cycle.path[..cycle.len];
                if path.first() != Some(&id) {
                    let _ = writeln!(out, "lockdep:   (cycle longer than shown; its last steps:)");
                }
                for pair in path.windows(2) {
                    match graph::edge(pair[0], pair[1]) {
                        Some(e) => {
                            let _ = writeln!(out, "lockdep:     {} taken at {}", name(e.to), e.taken_at);
                            let _ = writeln!(out, "lockdep:       while holding {} (taken at {})", name(e.from), e.held_at);
                        }
                        None => {
                            let _ = writeln!(out, "lockdep:     {} after {} (sites not recorded)", name(pair[1]), name(pair[0]));
                        }
                    }
                }
            });
        }
    }
}

/// Sets class `id`'s bit in `table`; true if it was clear.
fn first_time(table: &[AtomicU64; MAX_CLASSES / 64], id: u16) -> bool {
    let bit = 1u64 << (id % 64);
    let word = &table[usize::from(id) / 64 % table.len()];
    word.fetch_or(bit, Ordering::Relaxed) & bit == 0
}

/// A class's name: where its locks are constructed.
struct Name(u16);

impl core::fmt::Display for Name {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match graph::site_of(self.0) {
            Some(site) => write!(f, "[{site}]"),
            None => write!(f, "[class {}]", self.0),
        }
    }
}

fn name(id: u16) -> Name {
    Name(id)
}

/// Prints one report: the `LOCKDEP: ` header (or `lockdep (expected): ` if this thread asked for
/// reports), then whatever `body` writes (its first line completes the header). Counts it.
fn report(held: &HeldLocks, body: impl FnOnce(&mut crate::console::Console)) {
    let expected = held.expecting();
    let count = if expected { &EXPECTED } else { &REPORTS };
    if count.fetch_add(1, Ordering::Relaxed) >= MAX_PRINTED {
        return;
    }
    held.set_reporting(true);
    {
        let mut out = crate::console::emergency();
        let _ = out.write_str(if expected { "lockdep (expected): " } else { "LOCKDEP: " });
        body(&mut out);
        let _ = writeln!(out, "lockdep:   on CPU {}", arch::cpu_index());
    }
    held.set_reporting(false);
}

/// Reports printed as failures so far.
#[cfg(feature = "ktest")]
pub fn reports() -> usize {
    REPORTS.load(Ordering::Relaxed)
}

/// Reports made while the reporting thread had asked for them ([`expect_reports`]).
#[cfg(feature = "ktest")]
pub fn expected_reports() -> usize {
    EXPECTED.load(Ordering::Relaxed)
}

/// Marks the running thread as provoking reports on purpose (a test), or not any more.
#[cfg(feature = "ktest")]
pub fn expect_reports(on: bool) {
    with_held(|held| held.set_expecting(on));
}

/// Number of locks the running thread holds (as lockdep sees them).
#[cfg(feature = "ktest")]
pub fn held_depth() -> usize {
    with_held(|held| held.depth())
}

/// Prints every recorded "held before" edge between classes (`lockdep order: A -> B …`), for
/// writing down the lock order from what a run did.
#[cfg(feature = "ktest")]
pub fn print_order() {
    for from in 1..MAX_CLASSES as u16 {
        for to in 1..MAX_CLASSES as u16 {
            if graph::has_edge(from, to) {
                match graph::edge(from, to) {
                    Some(e) => crate::kprintln!("lockdep order: {} -> {} (held at {}, taken at {})", name(from), name(to), e.held_at, e.taken_at),
                    None => crate::kprintln!("lockdep order: {} -> {}", name(from), name(to)),
                }
            }
        }
    }
}

/// Checking statistics: classes that did not fit the table, locks past a full held stack.
#[allow(dead_code)]
pub fn overflows() -> (usize, usize) {
    (graph::CLASS_OVERFLOWS.load(Ordering::Relaxed), held::OVERFLOWS.load(Ordering::Relaxed))
}
