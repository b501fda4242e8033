//! The `futex2` calls of Linux 6.7: `futex_wake`, `futex_wait` and `futex_requeue`, on the same
//! wait table as `futex` (`process::futex`). Their flags name the word's size — only 32-bit
//! words exist, as on Linux; other sizes are EINVAL —, `FUTEX2_NUMA` (the word is followed
//! by its node id: -1 becomes node 0, the only one; another node is EINVAL) and
//! `FUTEX2_PRIVATE`; values and masks must fit the word; a wait's timeout is absolute on the
//! clock it names (CLOCK_MONOTONIC or CLOCK_REALTIME). `futex_waitv` (several words) is not
//! implemented.

use exo_abi::futex::*;
use exo_abi::time::{CLOCK_MONOTONIC, CLOCK_REALTIME};
use exo_abi::types::Timespec;
use exo_abi::{nr, Errno, KResult};

use super::args::typed;
use super::{task, Handler};
use crate::uaccess::UserPtr;

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // full: 32-bit words (other sizes, MPOL: EINVAL), FUTEX2_NUMA (node 0), FUTEX2_PRIVATE, mask; nr 0 wakes none
    t[nr::FUTEX_WAKE] = typed!(sys_futex_wake);
    // full: 32-bit words, mask, absolute timeout on CLOCK_MONOTONIC or CLOCK_REALTIME (else EINVAL); EAGAIN/ETIMEDOUT/EINTR
    t[nr::FUTEX_WAIT] = typed!(sys_futex_wait);
    // full: two futex_waitv entries (flags checked, reserved must be 0), the first's value compared (EAGAIN); flags must be 0
    t[nr::FUTEX_REQUEUE] = typed!(sys_futex_requeue);
}

/// The node word of a NUMA futex (after the 32-bit value): "any" (-1).
const NO_NODE: u32 = u32::MAX;

/// Checks futex2 flags for the word at `uaddr`: a 32-bit word, no MPOL, no unknown bit; a NUMA
/// futex's node word must name node 0 or "any" (then it is set to 0, as Linux sets it to the
/// caller's node). Returns whether the futex is private.
fn word_flags(flags: u32, uaddr: u64) -> KResult<bool> {
    if flags & !(FUTEX2_SIZE_MASK | FUTEX2_NUMA | FUTEX2_PRIVATE) != 0 || flags & FUTEX2_SIZE_MASK != FUTEX2_SIZE_U32 {
        return Err(Errno::EINVAL);
    }
    if flags & FUTEX2_NUMA != 0 {
        let node = UserPtr::<u32>::new(uaddr.checked_add(4).ok_or(Errno::EFAULT)?);
        match node.read()? {
            0 => {}
            NO_NODE => node.write(&0)?,
            _ => return Err(Errno::EINVAL),
        }
    }
    Ok(flags & FUTEX2_PRIVATE != 0)
}

/// A value or mask that must fit the 32-bit word.
fn word_value(value: u64) -> KResult<u32> {
    u32::try_from(value).map_err(|_| Errno::EINVAL)
}

fn sys_futex_wake(uaddr: UserPtr<u32>, mask: u64, count: i32, flags: u32) -> KResult<u64> {
    word_flags(flags, uaddr.addr())?;
    let mask = word_value(mask)?;
    if mask == 0 {
        return Err(Errno::EINVAL);
    }
    let Ok(count) = u32::try_from(count) else { return Ok(0) };
    Ok(crate::process::futex::wake(&*task()?, uaddr, count, mask))
}

fn sys_futex_wait(uaddr: UserPtr<u32>, value: u64, mask: u64, flags: u32, timeout: UserPtr<Timespec>, clock: i32) -> KResult<u64> {
    let private = word_flags(flags, uaddr.addr())?;
    let (value, mask) = (word_value(value)?, word_value(mask)?);
    if mask == 0 {
        return Err(Errno::EINVAL);
    }
    let deadline = match timeout.read_opt()? {
        None => None,
        Some(spec) => {
            let at = spec.to_ns().ok_or(Errno::EINVAL)?;
            Some(match clock {
                CLOCK_MONOTONIC => at,
                CLOCK_REALTIME => crate::time::since_boot_ns().saturating_add(at.saturating_sub(crate::time::realtime_ns())),
                _ => return Err(Errno::EINVAL),
            })
        }
    };
    crate::process::futex::wait(&task()?, uaddr, value, mask, private, deadline)
}

fn sys_futex_requeue(waiters: UserPtr<[FutexWaitv; 2]>, flags: u32, wake: i32, requeue: i32) -> KResult<u64> {
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let [from, to] = waiters.read()?;
    if from.reserved != 0 || to.reserved != 0 {
        return Err(Errno::EINVAL);
    }
    let (private_from, private_to) = (word_flags(from.flags, from.uaddr)?, word_flags(to.flags, to.uaddr)?);
    let expected = word_value(from.val)?;
    let (Ok(wake), Ok(requeue)) = (u32::try_from(wake), u32::try_from(requeue)) else { return Err(Errno::EINVAL) };
    let (from_addr, to_addr) = (UserPtr::<u32>::new(from.uaddr), UserPtr::<u32>::new(to.uaddr));
    // One table key kind for both words: private only when both are (a shared key finds
    // private waiters through `wake`'s fallback, not through a requeue).
    crate::process::futex::requeue(&*task()?, from_addr, to_addr, wake, requeue, Some(expected), private_from && private_to)
}
