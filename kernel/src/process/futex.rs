//! Futexes: user-space locks wait in the kernel on a 32-bit word. Waiters are keyed by the
//! word's identity: (memory map, address) for private futexes and for private mappings, the
//! physical address for words in shared mappings (so processes sharing the page meet).
//! Supported: WAIT, WAKE, REQUEUE, CMP_REQUEUE, WAIT_BITSET, WAKE_BITSET, WAKE_OP (in
//! `futex_ops.rs`, with the robust lists), with the private flag and CLOCK_REALTIME for
//! absolute bitset timeouts; not the PI operations. Lock rule: the table lock (`WAITERS`,
//! a spin lock taken with interrupts on) is never held across a wait, and a user word is read
//! under it only by CMP_REQUEUE, after faulting it in outside.
//!
//! The table is a fixed array of buckets (a key's hash picks one; each bucket lists its
//! waiters in arrival order, each entry with the key and bitset it waits for). A thread's
//! waiter ([`Waiter`]: its thread and a woken flag) is made at its first wait and kept by its
//! task, so the wait / wake round trip allocates nothing once warm, and a waker wakes the thread
//! it finds in the entry directly (`sched::wait::unpark`, no wait queue in between). Each
//! bucket's length is also kept in an atomic (`QUEUED`, stored under the lock): a wake finds an
//! empty bucket without the lock. The waiter stores it before a full fence that precedes its
//! read of the user word; the waker's fence follows its change of the word (in user space,
//! before the call): one of the two sees the other, so no wake-up is lost (Linux does the same).

use crate::uaccess::{UserArg, UserPtr};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicUsize, Ordering};

use exo_abi::futex::*;
use exo_abi::{Errno, KResult};
use exo_paging::PageFlags;
use crate::spinlock::SpinLock as Mutex;

use super::task::Task;
use crate::sched::wait::{self, WaitOutcome};
use crate::sched::Thread;

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

/// A thread's futex waiter, made at its first wait and kept by its task (`Task::futex_waiter`).
/// It is in at most one bucket entry at a time: its own wait queues it, its wake or its own
/// leaving takes it out. (It does not hold the thread: the thread holds its task, so that
/// would be a reference cycle; the entry holds the thread while it waits.)
pub struct Waiter {
    /// Set under the table lock by the waker that took the entry out of its bucket.
    woken: AtomicBool,
    /// The bucket its entry is in (written under the table lock: by the wait, and by a requeue
    /// that moves the entry).
    bucket: AtomicUsize,
}

/// A waiting thread in its key's bucket.
struct Entry {
    key: Key,
    bitset: u32,
    thread: Arc<Thread>,
    waiter: Arc<Waiter>,
}

/// Number of buckets (a power of two).
const BUCKETS: usize = 64;

/// Every waiting thread, in its key's bucket, in arrival order.
struct Table {
    buckets: [Vec<Entry>; BUCKETS],
}

/// `WAITERS.buckets[i].len()`, stored under the lock, read without it by `wake_key`.
static QUEUED: [AtomicU32; BUCKETS] = [const { AtomicU32::new(0) }; BUCKETS];

/// Publishes bucket `index`'s length (the table is locked).
fn publish(table: &Table, index: usize) {
    QUEUED[index].store(table.buckets[index].len() as u32, Ordering::Relaxed);
}

static WAITERS: Mutex<Table> = Mutex::new(Table { buckets: [const { Vec::new() }; BUCKETS] });

fn key_for(task: &Task, word: UserPtr<u32>, private: bool) -> KResult<Key> {
    let addr = word.addr();
    if addr & 3 != 0 {
        return Err(Errno::EINVAL);
    }
    word.check(1)?;
    // A clone: the memory map's own lock below is a sleeping one, not to be taken under the
    // task's spin lock.
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

/// The calling thread's waiter (made at its first wait).
fn my_waiter(task: &Task) -> &Arc<Waiter> {
    task.futex_waiter.call_once(|| {
        Arc::new(Waiter { woken: AtomicBool::new(false), bucket: AtomicUsize::new(0) })
    })
}

/// Queues `waiter` (of thread `me`) for `key`.
fn enter_table(me: &Arc<Thread>, waiter: &Arc<Waiter>, key: Key, bitset: u32) -> KResult<()> {
    let mut table = WAITERS.lock();
    let bucket = key.bucket();
    table.buckets[bucket].try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    waiter.woken.store(false, Ordering::Relaxed);
    waiter.bucket.store(bucket, Ordering::Relaxed);
    table.buckets[bucket].push(Entry { key, bitset, thread: me.clone(), waiter: waiter.clone() });
    publish(&table, bucket);
    drop(table);
    // Queued (and counted) before the caller reads the word: see the module comment.
    fence(Ordering::SeqCst);
    Ok(())
}

/// FUTEX_WAIT(_BITSET): sleeps while `*addr == expected`, until woken, interrupted or the
/// deadline (ns since boot) passes.
pub fn wait(task: &Arc<Task>, addr: UserPtr<u32>, expected: u32, bitset: u32, private: bool, deadline: Option<u64>) -> KResult<u64> {
    if bitset == 0 {
        return Err(Errno::EINVAL);
    }
    let key = key_for(task, addr, private)?;
    let waiter = my_waiter(task);
    let me = crate::sched::current();
    // Queue first, then read the word with no lock held (the read may fault and page in): a
    // waker that changed the word before we queued released the table lock before we took it,
    // so the read sees its change; one that comes later finds us queued. (The word used to be
    // read under the table's spin lock, so a page fault there stalled every futex user.)
    enter_table(&me, waiter, key, bitset)?;
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
    let outcome = wait::park_interruptible(&me, || waiter.woken.load(Ordering::SeqCst), || task.interrupted(), deadline);
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

/// Takes `waiter`'s entry out of the table unless a waker did. Returns whether it was woken.
fn leave_table(waiter: &Arc<Waiter>) -> bool {
    // Wakers set `woken` under the lock when they take the entry out.
    if waiter.woken.load(Ordering::Acquire) {
        return true;
    }
    let mut table = WAITERS.lock();
    if waiter.woken.load(Ordering::Relaxed) {
        return true;
    }
    let index = waiter.bucket.load(Ordering::Relaxed);
    let bucket = &mut table.buckets[index];
    if let Some(position) = bucket.iter().position(|e| Arc::ptr_eq(&e.waiter, waiter)) {
        bucket.remove(position);
        publish(&table, index);
    }
    false
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

/// Wakes the waiter of an entry its waker has just taken out of its bucket (the table is
/// locked). The flag first: the waiter checks it after marking itself blocked.
fn wake_waiter(entry: &Entry) {
    entry.waiter.woken.store(true, Ordering::SeqCst);
    wait::unpark(&entry.thread);
}

fn wake_key(key: Key, count: u32, bitset: u32) -> u64 {
    // Woken under the table lock (no list of them to allocate): waking takes only the
    // scheduler's locks, below the table in the lock order (docs/locking.md). A waiter leaving
    // meanwhile waits for the table lock, then finds itself gone and `woken` set.
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
        let entry = &list[index];
        if entry.key == key && entry.bitset & bitset != 0 {
            let entry = list.remove(index);
            wake_waiter(&entry);
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
    let waiting = table.buckets[from_bucket].iter().filter(|e| e.key == from).count();
    let wake_n = (wake_count as usize).min(waiting);
    let move_n = (requeue_count as usize).min(waiting - wake_n);
    // Room first, so that running out of memory changes nothing.
    table.buckets[to_bucket].try_reserve(move_n).map_err(|_| Errno::ENOMEM)?;
    let (mut woken, mut moved, mut index) = (0, 0, 0);
    while woken + moved < wake_n + move_n && index < table.buckets[from_bucket].len() {
        if table.buckets[from_bucket][index].key != from {
            index += 1;
            continue;
        }
        let mut entry = table.buckets[from_bucket].remove(index);
        if woken < wake_n {
            wake_waiter(&entry);
            woken += 1;
        } else {
            // Moved to the back of `to`'s waiters, in their order.
            entry.key = to;
            entry.waiter.bucket.store(to_bucket, Ordering::Relaxed);
            table.buckets[to_bucket].push(entry);
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
        FUTEX_WAKE_OP => super::futex_ops::wake_op(task, addr, val, timeout.uint(), addr2, val3),
        FUTEX_REQUEUE => requeue(task, addr, addr2, val, timeout.uint(), None, private),
        FUTEX_CMP_REQUEUE => requeue(task, addr, addr2, val, timeout.uint(), Some(val3), private),
        _ => Err(Errno::ENOSYS),
    }
}
