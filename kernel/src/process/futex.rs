//! Futexes: user-space locks wait in the kernel on a 32-bit word. Waiters are keyed by the
//! word's identity: (memory map, address) for private futexes and for private mappings, the
//! physical address for words in shared mappings (so processes sharing the page meet).
//! Supported: WAIT, WAKE, REQUEUE, CMP_REQUEUE, WAIT_BITSET, WAKE_BITSET, with the private
//! flag and CLOCK_REALTIME for absolute bitset timeouts. Lock rule: the table lock (`WAITERS`,
//! a spin lock taken with interrupts on) is never held across a wait, and a user word is read
//! under it only by CMP_REQUEUE, after faulting it in outside.
//!
//! The table is a fixed array of buckets (a key's hash picks one; each bucket lists its
//! waiters in arrival order) plus a few spare waiters: a wait reuses a spare and a bucket's
//! storage, so the wait / wake round trip allocates nothing once warm (it used to allocate a
//! waiter, a B-tree node and a vector per wait and free them after). Each bucket's length is
//! also kept in an atomic (`QUEUED`, stored under the lock): a wake finds an empty bucket
//! without the lock. The waiter stores it before a full fence that precedes its read of the
//! user word; the waker's fence follows its change of the word (in user space, before the
//! call): one of the two sees the other, so no wake-up is lost (Linux does the same).

use crate::uaccess::{UserArg, UserPtr};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{fence, AtomicBool, AtomicU32, Ordering};

use exo_abi::futex::*;
use exo_abi::{Errno, KResult};
use exo_paging::PageFlags;
use crate::spinlock::SpinLock as Mutex;

use super::task::Task;
use crate::sched::wait::{WaitOutcome, WaitQueue};

/// Identity of a futex word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Private { mm: u64, addr: u64 },
    Shared { phys: u64 },
}

impl Key {
    /// The bucket holding this key's waiters.
    fn bucket(self) -> usize {
        let mixed = match self {
            Key::Private { mm, addr } => (addr >> 2) ^ mm.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            Key::Shared { phys } => (phys >> 2) ^ 0x5555,
        };
        (mixed.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58) as usize % BUCKETS
    }
}

/// One waiting thread (recycled through `Table::spare` once nobody else refers to it).
struct Waiter {
    /// The word it waits on now (requeue moves it; written only under the table lock).
    key: Mutex<Key>,
    bitset: AtomicU32,
    /// Set under the table lock by the waker that took it out of its bucket.
    woken: AtomicBool,
    queue: WaitQueue,
}

/// Number of buckets (a power of two).
const BUCKETS: usize = 64;
/// Most spare waiters kept for reuse.
const MAX_SPARE: usize = 32;

/// Every waiter, in its key's bucket, in arrival order; and spare waiters.
struct Table {
    buckets: [Vec<Arc<Waiter>>; BUCKETS],
    spare: Vec<Arc<Waiter>>,
}

/// `WAITERS.buckets[i].len()`, stored under the lock, read without it by `wake_key`.
static QUEUED: [AtomicU32; BUCKETS] = [const { AtomicU32::new(0) }; BUCKETS];

/// Publishes bucket `index`'s length (the table is locked).
fn publish(table: &Table, index: usize) {
    QUEUED[index].store(table.buckets[index].len() as u32, Ordering::Relaxed);
}

static WAITERS: Mutex<Table> = Mutex::new(Table { buckets: [const { Vec::new() }; BUCKETS], spare: Vec::new() });

fn key_for(task: &Task, word: UserPtr<u32>, private: bool) -> KResult<Key> {
    let addr = word.addr();
    if addr & 3 != 0 {
        return Err(Errno::EINVAL);
    }
    word.check(1)?;
    let mm = task.mm();
    if !private {
        let inner = mm.lock();
        if let Some((phys, _, flags)) = inner.space.translate(addr) {
            if flags.contains(PageFlags::SHARED) {
                return Ok(Key::Shared { phys });
            }
        }
    }
    Ok(Key::Private { mm: mm.id, addr })
}

/// Queues a waiter for `key` (a spare one if there is one) and returns it.
fn enter_table(key: Key, bitset: u32) -> KResult<Arc<Waiter>> {
    let mut fresh = None;
    loop {
        let mut table = WAITERS.lock();
        let bucket = key.bucket();
        table.buckets[bucket].try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        let waiter = match table.spare.pop().or_else(|| fresh.take()) {
            Some(waiter) => waiter,
            None => {
                // Allocate outside the lock, then try again.
                drop(table);
                fresh = Some(Arc::new(Waiter {
                    key: Mutex::new(key),
                    bitset: AtomicU32::new(bitset),
                    woken: AtomicBool::new(false),
                    queue: WaitQueue::new(),
                }));
                continue;
            }
        };
        *waiter.key.lock() = key;
        waiter.bitset.store(bitset, Ordering::Relaxed);
        waiter.woken.store(false, Ordering::SeqCst);
        table.buckets[bucket].push(waiter.clone());
        publish(&table, bucket);
        drop(table);
        // Queued (and counted) before the caller reads the word: see the module comment.
        fence(Ordering::SeqCst);
        return Ok(waiter);
    }
}

/// FUTEX_WAIT(_BITSET): sleeps while `*addr == expected`, until woken, interrupted or the
/// deadline (ns since boot) passes.
pub fn wait(task: &Arc<Task>, addr: UserPtr<u32>, expected: u32, bitset: u32, private: bool, deadline: Option<u64>) -> KResult<u64> {
    if bitset == 0 {
        return Err(Errno::EINVAL);
    }
    let key = key_for(task, addr, private)?;
    // Queue first, then read the word with no lock held (the read may fault and page in): a
    // waker that changed the word before we queued released the table lock before we took it,
    // so the read sees its change; one that comes later finds us queued. (The word used to be
    // read under the table's spin lock, so a page fault there stalled every futex user.)
    let waiter = enter_table(key, bitset)?;
    let value = addr.read();
    if value != Ok(expected) {
        // Woken meanwhile: the wake is not lost, the caller sees it as a wake-up.
        if leave_table(waiter) {
            return Ok(0);
        }
        return Err(value.err().unwrap_or(Errno::EAGAIN));
    }
    // The caller's task is at hand: ask it directly (`sched::signal_check` would look the
    // current thread up again and go through a dynamic call at each evaluation).
    let outcome = waiter.queue.wait_interruptible(|| waiter.woken.load(Ordering::SeqCst), || task.interrupted(), deadline);
    // Whatever ended the wait, leave the table (a waker may have removed us already).
    if leave_table(waiter) {
        return Ok(0);
    }
    match outcome {
        WaitOutcome::TimedOut => Err(Errno::ETIMEDOUT),
        WaitOutcome::Interrupted => Err(Errno::ERESTARTSYS),
        WaitOutcome::Ready => Ok(0),
    }
}

/// Takes `waiter` out of the table if it is still there (a waker may have removed it) and
/// keeps it as a spare if nobody else refers to it. Returns whether it was woken.
fn leave_table(waiter: Arc<Waiter>) -> bool {
    let mut table = WAITERS.lock();
    let key = *waiter.key.lock();
    let index = key.bucket();
    let bucket = &mut table.buckets[index];
    if let Some(position) = bucket.iter().position(|w| Arc::ptr_eq(w, &waiter)) {
        bucket.remove(position);
        publish(&table, index);
    }
    // Wakers set `woken` under the lock, before letting go of their reference.
    let woken = waiter.woken.load(Ordering::SeqCst);
    if Arc::strong_count(&waiter) == 1 && table.spare.len() < MAX_SPARE && table.spare.try_reserve(1).is_ok() {
        table.spare.push(waiter);
    }
    woken
}

/// Wakes up to `count` waiters on the word at `addr` whose bitset intersects `bitset`.
/// Returns how many were woken.
pub fn wake(task: &Task, addr: UserPtr<u32>, count: u32, bitset: u32) -> u64 {
    let Ok(key) = key_for(task, addr, false) else { return 0 };
    let woken = wake_key(key, count, bitset);
    // A private-keyed waiter may use the private flag while the waker does not (or the other
    // way round): try the other key of a private mapping too.
    if woken == 0 {
        if let Ok(private) = key_for(task, addr, true) {
            if private != key {
                return wake_key(private, count, bitset);
            }
        }
    }
    woken
}

/// Wakes a waiter its waker has just taken out of its bucket (the table is locked).
fn wake_waiter(waiter: &Waiter) {
    waiter.woken.store(true, Ordering::SeqCst);
    waiter.queue.wake_all();
}

fn wake_key(key: Key, count: u32, bitset: u32) -> u64 {
    // Woken under the table lock (no list of them to allocate): waking takes only the
    // waiter's queue lock and the scheduler's, both below the table in the lock order
    // (docs/locking.md). A waiter leaving meanwhile waits for the table lock, then finds
    // itself gone and `woken` set.
    let bucket = key.bucket();
    // Nobody queued in the bucket when the caller's change of the word became visible (the
    // fence orders it before the read): nobody to wake. See the module comment.
    fence(Ordering::SeqCst);
    if QUEUED[bucket].load(Ordering::Relaxed) == 0 {
        return 0;
    }
    let mut table = WAITERS.lock();
    let list = &mut table.buckets[bucket];
    let mut woken = 0u64;
    let mut index = 0;
    while index < list.len() && woken < u64::from(count) {
        let waiter = &list[index];
        if *waiter.key.lock() == key && waiter.bitset.load(Ordering::Relaxed) & bitset != 0 {
            let waiter = list.remove(index);
            wake_waiter(&waiter);
            woken += 1;
        } else {
            index += 1;
        }
    }
    publish(&table, bucket);
    woken
}

/// FUTEX_REQUEUE / FUTEX_CMP_REQUEUE: wakes `wake_count` waiters of `addr` and moves up to
/// `requeue_count` others to `addr2`. With `expected`, fails with EAGAIN unless
/// `*addr == expected`.
pub fn requeue(task: &Task, addr: UserPtr<u32>, addr2: UserPtr<u32>, wake_count: u32, requeue_count: u32, expected: Option<u32>, private: bool) -> KResult<u64> {
    let from = key_for(task, addr, private)?;
    let to = key_for(task, addr2, private)?;
    if expected.is_some() {
        // Fault the word in (or fail with EFAULT) before the table is locked, so the read
        // under the lock below does not page in (unless the program unmaps it meanwhile).
        addr.read()?;
    }
    let mut table = WAITERS.lock();
    if let Some(expected) = expected {
        let value = addr.read()?;
        if value != expected {
            return Err(Errno::EAGAIN);
        }
    }
    let (from_bucket, to_bucket) = (from.bucket(), to.bucket());
    let waiting = table.buckets[from_bucket].iter().filter(|w| *w.key.lock() == from).count();
    let wake_n = (wake_count as usize).min(waiting);
    let move_n = (requeue_count as usize).min(waiting - wake_n);
    // Room first, so that running out of memory changes nothing.
    table.buckets[to_bucket].try_reserve(move_n).map_err(|_| Errno::ENOMEM)?;
    let (mut woken, mut moved, mut index) = (0, 0, 0);
    while woken + moved < wake_n + move_n && index < table.buckets[from_bucket].len() {
        if *table.buckets[from_bucket][index].key.lock() != from {
            index += 1;
            continue;
        }
        let waiter = table.buckets[from_bucket].remove(index);
        if woken < wake_n {
            wake_waiter(&waiter);
            woken += 1;
        } else {
            // Moved to the back of `to`'s waiters, in their order.
            *waiter.key.lock() = to;
            table.buckets[to_bucket].push(waiter);
            // (Within one bucket it goes behind the ones still to look at, which are all
            // counted before it is reached.)
            moved += 1;
        }
    }
    publish(&table, from_bucket);
    publish(&table, to_bucket);
    Ok((woken + moved) as u64)
}

/// The futex syscall's operation dispatch. `timeout` is a timespec pointer for the wait
/// operations and the count val2 for the requeue ones.
pub fn futex(task: &Arc<Task>, addr: UserPtr<u32>, op: u32, val: u32, timeout: UserArg, addr2: UserPtr<u32>, val3: u32) -> KResult<u64> {
    let private = op & FUTEX_PRIVATE_FLAG != 0;
    let realtime = op & FUTEX_CLOCK_REALTIME != 0;
    let cmd = op & FUTEX_CMD_MASK;
    if realtime && cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET {
        return Err(Errno::ENOSYS);
    }
    match cmd {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            let bitset = if cmd == FUTEX_WAIT { FUTEX_BITSET_MATCH_ANY } else { val3 };
            let timeout = timeout.ptr::<exo_abi::types::Timespec>();
            let deadline = if timeout.is_null() {
                None
            } else {
                let spec = timeout.read()?;
                let ns = spec.to_ns().ok_or(Errno::EINVAL)?;
                Some(if cmd == FUTEX_WAIT {
                    crate::time::since_boot_ns().saturating_add(ns)
                } else if realtime {
                    crate::time::since_boot_ns().saturating_add(ns.saturating_sub(crate::time::realtime_ns()))
                } else {
                    ns
                })
            };
            wait(task, addr, val, bitset, private, deadline)
        }
        FUTEX_WAKE => Ok(wake(task, addr, val, FUTEX_BITSET_MATCH_ANY)),
        FUTEX_WAKE_BITSET => {
            if val3 == 0 {
                return Err(Errno::EINVAL);
            }
            Ok(wake(task, addr, val, val3))
        }
        FUTEX_REQUEUE => requeue(task, addr, addr2, val, timeout.uint(), None, private),
        FUTEX_CMP_REQUEUE => requeue(task, addr, addr2, val, timeout.uint(), Some(val3), private),
        _ => Err(Errno::ENOSYS),
    }
}
