//! Futexes: user-space locks wait in the kernel on a 32-bit word. Waiters are keyed by the
//! word's identity: (memory map, address) for private futexes and for private mappings, the
//! physical address for words in shared mappings (so processes sharing the page meet).
//! Supported: WAIT, WAKE, REQUEUE, CMP_REQUEUE, WAIT_BITSET, WAKE_BITSET, with the private
//! flag and CLOCK_REALTIME for absolute bitset timeouts. Lock rule: the table lock (`WAITERS`,
//! a spin lock taken with interrupts on) is never held across a wait, and a user word is read
//! under it only by CMP_REQUEUE, after faulting it in outside.

use crate::uaccess::{UserArg, UserPtr};
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

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

/// One waiting thread.
struct Waiter {
    /// The word it waits on now (requeue moves it).
    key: Mutex<Key>,
    bitset: u32,
    woken: AtomicBool,
    queue: WaitQueue,
}

/// All waiters, by key, in arrival order.
static WAITERS: Mutex<BTreeMap<Key, Vec<Arc<Waiter>>>> = Mutex::new(BTreeMap::new());

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

/// FUTEX_WAIT(_BITSET): sleeps while `*addr == expected`, until woken, interrupted or the
/// deadline (ns since boot) passes.
pub fn wait(task: &Arc<Task>, addr: UserPtr<u32>, expected: u32, bitset: u32, private: bool, deadline: Option<u64>) -> KResult<u64> {
    if bitset == 0 {
        return Err(Errno::EINVAL);
    }
    let key = key_for(task, addr, private)?;
    let waiter = Arc::new(Waiter { key: Mutex::new(key), bitset, woken: AtomicBool::new(false), queue: WaitQueue::new() });
    // Queue first, then read the word with no lock held (the read may fault and page in): a
    // waker that changed the word before we queued released the table lock before we took it,
    // so the read sees its change; one that comes later finds us queued. (The word used to be
    // read under the table's spin lock, so a page fault there stalled every futex user.)
    {
        let mut table = WAITERS.lock();
        let list = table.entry(key).or_default();
        list.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        list.push(waiter.clone());
    }
    let value = addr.read();
    if value != Ok(expected) {
        leave_table(&waiter);
        // Woken meanwhile: the wake is not lost, the caller sees it as a wake-up.
        if waiter.woken.load(Ordering::SeqCst) {
            return Ok(0);
        }
        return Err(value.err().unwrap_or(Errno::EAGAIN));
    }
    // The caller's task is at hand: ask it directly (`sched::signal_check` would look the
    // current thread up again and go through a dynamic call at each evaluation).
    let outcome = waiter.queue.wait_interruptible(|| waiter.woken.load(Ordering::SeqCst), || task.interrupted(), deadline);
    // Whatever ended the wait, leave the table (a waker may have removed us already).
    leave_table(&waiter);
    if waiter.woken.load(Ordering::SeqCst) {
        return Ok(0);
    }
    match outcome {
        WaitOutcome::TimedOut => Err(Errno::ETIMEDOUT),
        WaitOutcome::Interrupted => Err(Errno::ERESTARTSYS),
        WaitOutcome::Ready => Ok(0),
    }
}

/// Takes `waiter` out of the table if it is still there (a waker may have removed it).
fn leave_table(waiter: &Arc<Waiter>) {
    let mut table = WAITERS.lock();
    let key = *waiter.key.lock();
    if let Some(list) = table.get_mut(&key) {
        list.retain(|w| !Arc::ptr_eq(w, waiter));
        if list.is_empty() {
            table.remove(&key);
        }
    }
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

fn wake_key(key: Key, count: u32, bitset: u32) -> u64 {
    // Woken under the table lock (no list of them to allocate): waking takes only the
    // waiter's queue lock and the scheduler's, both below the table in the lock order
    // (docs/locking.md). A waiter leaving meanwhile waits for the table lock, then finds
    // itself gone and `woken` set.
    let mut table = WAITERS.lock();
    let Some(list) = table.get_mut(&key) else { return 0 };
    let mut woken = 0u64;
    let mut index = 0;
    while index < list.len() && woken < u64::from(count) {
        if list[index].bitset & bitset != 0 {
            let waiter = list.remove(index);
            waiter.woken.store(true, Ordering::SeqCst);
            waiter.queue.wake_all();
            woken += 1;
        } else {
            index += 1;
        }
    }
    if list.is_empty() {
        table.remove(&key);
    }
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
    let mut list = table.remove(&from).unwrap_or_default();
    let wake_n = (wake_count as usize).min(list.len());
    let woken: Vec<Arc<Waiter>> = list.drain(..wake_n).collect();
    let move_n = (requeue_count as usize).min(list.len());
    let moved: Vec<Arc<Waiter>> = list.drain(..move_n).collect();
    if !list.is_empty() {
        table.insert(from, list);
    }
    let moved_count = moved.len();
    if !moved.is_empty() {
        for waiter in &moved {
            *waiter.key.lock() = to;
        }
        table.entry(to).or_default().extend(moved);
    }
    drop(table);
    for waiter in &woken {
        waiter.woken.store(true, Ordering::SeqCst);
        waiter.queue.wake_all();
    }
    Ok((woken.len() + moved_count) as u64)
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
