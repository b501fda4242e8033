//! The futex operations that change a user word from the kernel, with the atomic
//! compare-exchange of `UserPtr::compare_exchange`: `FUTEX_WAKE_OP` (an operation on a second
//! word, then wake-ups on both words depending on its old value — what condition variables of
//! older C libraries use) and the robust list walked when a thread exits or execs: each lock
//! the dying thread still holds gets `FUTEX_OWNER_DIED` and one waiter is woken, so that the
//! next `pthread_mutex_lock` of a robust mutex returns EOWNERDEAD instead of hanging (Linux's
//! `exit_robust_list`; PI futexes are not supported, their entries are only marked).

use exo_abi::futex::*;
use exo_abi::types::RobustListHead;
use exo_abi::{Errno, KResult};

use super::futex::wake;
use super::task::Task;
use crate::uaccess::UserPtr;

/// At most this many entries of a robust list are walked (Linux's `ROBUST_LIST_LIMIT`): a
/// list that loops or is endless stops there.
const ROBUST_LIST_LIMIT: usize = 2048;

/// FUTEX_WAKE_OP: applies the operation of `encoded` to the word at `addr2` atomically, wakes up
/// to `count` waiters of `addr`, and if the comparison of `encoded` holds for the old value of
/// `addr2`, up to `count2` of its waiters. Returns how many were woken. ENOSYS for an unknown
/// operation or comparison, EFAULT for a word that cannot be changed.
pub fn wake_op(task: &Task, addr: UserPtr<u32>, count: u32, count2: u32, addr2: UserPtr<u32>, encoded: u32) -> KResult<u64> {
    let op = WakeOp::decode(encoded);
    if op.apply(0).is_none() || op.compare(0).is_none() {
        return Err(Errno::ENOSYS);
    }
    let mut old = addr2.read()?;
    loop {
        let new = op.apply(old).ok_or(Errno::ENOSYS)?;
        let seen = addr2.compare_exchange(old, new)?;
        if seen == old {
            break;
        }
        // Changed meanwhile by another thread: apply the operation to what is there now.
        old = seen;
    }
    let mut woken = wake(task, addr, count, FUTEX_BITSET_MATCH_ANY);
    if op.compare(old) == Some(true) {
        woken += wake(task, addr2, count2, FUTEX_BITSET_MATCH_ANY);
    }
    Ok(woken)
}

/// Releases the robust locks of `task`, which is exiting or exec'ing (its memory is still the
/// current one): walks the list registered with `set_robust_list`, entry by entry (the next
/// pointer read before the entry is handled), then the pending entry. A list that cannot be
/// read ends the walk; nothing here can fail the exit.
pub fn release_robust_list(task: &Task) {
    let head = task.robust_list.swap(0, core::sync::atomic::Ordering::Relaxed);
    if head == 0 {
        return;
    }
    let Ok(list) = UserPtr::<RobustListHead>::new(head).read() else { return };
    let pending = list.list_op_pending;
    let mut entry = list.list;
    let mut walked = 0;
    while entry != head && walked < ROBUST_LIST_LIMIT {
        // Bit 0 of an entry pointer marks a PI futex.
        let Ok(next) = UserPtr::<u64>::new(entry & !1).read() else { break };
        if entry != pending {
            owner_died(task, entry, list.futex_offset, false);
        }
        entry = next;
        walked += 1;
    }
    if pending != 0 {
        owner_died(task, pending, list.futex_offset, true);
    }
}

/// Marks the futex word of one robust-list entry: if `task` owns it, the owner field is cleared
/// and FUTEX_OWNER_DIED set (the waiters bit kept), and one waiter is woken. For the pending
/// entry, a free word (the owner was between its unlock's store and wake) still gets a wake.
fn owner_died(task: &Task, entry: u64, futex_offset: i64, pending: bool) {
    let pi = entry & 1 != 0;
    let Some(addr) = (entry & !1).checked_add_signed(futex_offset) else { return };
    if addr % 4 != 0 {
        return;
    }
    let word = UserPtr::<u32>::new(addr);
    // Bounded: each retry means another thread changed the word between our read and swap.
    for _ in 0..64 {
        let Ok(value) = word.read() else { return };
        if pending && !pi && value == 0 {
            wake(task, word, 1, FUTEX_BITSET_MATCH_ANY);
            return;
        }
        if value & FUTEX_TID_MASK != task.tid & FUTEX_TID_MASK {
            return;
        }
        let marked = (value & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
        match word.compare_exchange(value, marked) {
            Err(_) => return,
            Ok(seen) if seen != value => continue,
            Ok(_) => {
                if !pi && value & FUTEX_WAITERS != 0 {
                    wake(task, word, 1, FUTEX_BITSET_MATCH_ANY);
                }
                return;
            }
        }
    }
}
