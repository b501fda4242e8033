//! Memory locking and residency: `mlock`, `mlock2`, `munlock`, `mlockall`, `munlockall`
//! (locked pages are made present; the locked ranges are kept per process and charged to
//! RLIMIT_MEMLOCK for non-root callers; Exo-OS never swaps, so present pages stay resident)
//! and `mincore`.

use alloc::vec::Vec;

use exo_abi::caps::*;
use exo_abi::resource::RLIMIT_MEMLOCK;
use exo_abi::{nr, Errno, KResult};

use super::args::typed;
use super::{task, Handler};
use crate::process::extra::MAX_LOCKED_RANGES;
use crate::process::mm::Mm;
use crate::process::Task;
use crate::uaccess::{UserAddr, UserPtr, UserSlice};

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // full: pages made present; ENOMEM for unmapped parts or past RLIMIT_MEMLOCK (non-root), EPERM when that limit is 0
    t[nr::MLOCK] = typed!(sys_mlock);
    // full: MLOCK_ONFAULT (not populated); other flags EINVAL
    t[nr::MLOCK2] = typed!(sys_mlock2);
    // full
    t[nr::MUNLOCK] = typed!(sys_munlock);
    // partial: MCL_CURRENT locks and populates every area (RLIMIT_MEMLOCK for non-root), MCL_FUTURE and MCL_ONFAULT recorded (later mappings are not populated)
    t[nr::MLOCKALL] = typed!(sys_mlockall);
    // full
    t[nr::MUNLOCKALL] = typed!(sys_munlockall);
    // full: one byte per page, bit 0 set when present; EINVAL unaligned, ENOMEM for unmapped pages, EFAULT
    t[nr::MINCORE] = typed!(sys_mincore);
}

const PAGE: u64 = 4096;

/// [start, end) of the pages `addr, len` cover (EINVAL on overflow, as Linux).
fn page_range(addr: u64, len: u64) -> KResult<(u64, u64)> {
    let start = addr & !(PAGE - 1);
    let end = addr.checked_add(len).and_then(|e| e.checked_add(PAGE - 1)).ok_or(Errno::EINVAL)? & !(PAGE - 1);
    Ok((start, end))
}

fn is_root(me: &Task) -> bool {
    me.process.creds.lock().euid == 0
}

/// Whether the areas of `mm` cover [start, end) without a hole.
fn covered(mm: &Mm, start: u64, end: u64) -> bool {
    let inner = mm.lock();
    let mut at = start;
    for area in inner.areas.overlapping(start, end) {
        if area.start > at {
            return false;
        }
        at = at.max(area.end);
    }
    at >= end
}

/// Makes the pages of [start, end) present (written to once where the area is writable and
/// private, so no copy-on-write page stays shared), skipping inaccessible areas.
fn populate(mm: &Mm, start: u64, end: u64) {
    let mut page = start;
    while page < end {
        let prot = mm.lock().areas.find(page).map(|a| a.prot);
        if let Some(prot) = prot {
            if prot.read || prot.write {
                let error = 4 | if prot.write { 2 } else { 0 };
                let present = mm.lock().space.translate(page).is_some_and(|(_, _, f)| !prot.write || f.contains(exo_paging::PageFlags::WRITABLE));
                if !present {
                    let _ = mm.handle_fault(page, error, false);
                }
            }
        }
        page += PAGE;
        if crate::sched::fatal_signal_pending() {
            return;
        }
    }
}

/// `ranges` plus [start, end), merged and sorted.
fn with_range(ranges: &[(u64, u64)], start: u64, end: u64) -> KResult<Vec<(u64, u64)>> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    out.try_reserve(ranges.len() + 1).map_err(|_| Errno::ENOMEM)?;
    let (mut s, mut e) = (start, end);
    for &(a, b) in ranges {
        if b < s || a > e {
            out.push((a, b));
        } else {
            s = s.min(a);
            e = e.max(b);
        }
    }
    out.push((s, e));
    out.sort_unstable();
    Ok(out)
}

/// `ranges` minus [start, end).
fn without_range(ranges: &[(u64, u64)], start: u64, end: u64) -> KResult<Vec<(u64, u64)>> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    out.try_reserve(ranges.len() + 1).map_err(|_| Errno::ENOMEM)?;
    for &(a, b) in ranges {
        if b <= start || a >= end {
            out.push((a, b));
            continue;
        }
        if a < start {
            out.push((a, start));
        }
        if b > end {
            out.push((end, b));
        }
    }
    Ok(out)
}

fn total(ranges: &[(u64, u64)]) -> u64 {
    ranges.iter().map(|(a, b)| b - a).sum()
}

/// Linux's can_do_mlock and RLIMIT_MEMLOCK check for a new locked total.
/// What `me` may lock: `None` (no limit) for root, else RLIMIT_MEMLOCK. Read before the
/// process's `extra` lock is taken: creds and rlimits come before it in the lock order.
fn memlock_limit(me: &Task) -> Option<u64> {
    (!is_root(me)).then(|| me.process.rlimit(RLIMIT_MEMLOCK).rlim_cur)
}

fn check_limit(limit: Option<u64>, new_total: u64) -> KResult<()> {
    let Some(limit) = limit else { return Ok(()) };
    if limit == 0 {
        return Err(Errno::EPERM);
    }
    if new_total > limit {
        return Err(Errno::ENOMEM);
    }
    Ok(())
}

fn lock(addr: u64, len: u64, onfault: bool) -> KResult<u64> {
    let (start, end) = page_range(addr, len)?;
    let me = task()?;
    if !is_root(&me) && me.process.rlimit(RLIMIT_MEMLOCK).rlim_cur == 0 {
        return Err(Errno::EPERM);
    }
    if start == end {
        return Ok(0);
    }
    let mm = me.mm();
    if !covered(&mm, start, end) {
        return Err(Errno::ENOMEM);
    }
    let limit = memlock_limit(&me);
    {
        let mut extra = me.process.extra.lock();
        let ranges = with_range(&extra.locked, start, end)?;
        if ranges.len() > MAX_LOCKED_RANGES {
            return Err(Errno::ENOMEM);
        }
        check_limit(limit, total(&ranges))?;
        extra.locked_bytes = total(&ranges);
        extra.locked = ranges;
    }
    if !onfault {
        populate(&mm, start, end);
    }
    Ok(0)
}

fn sys_mlock(addr: UserAddr, len: u64) -> KResult<u64> {
    lock(addr.get(), len, false)
}

fn sys_mlock2(addr: UserAddr, len: u64, flags: u32) -> KResult<u64> {
    if flags & !MLOCK_ONFAULT != 0 {
        return Err(Errno::EINVAL);
    }
    lock(addr.get(), len, flags & MLOCK_ONFAULT != 0)
}

fn sys_munlock(addr: UserAddr, len: u64) -> KResult<u64> {
    let (start, end) = page_range(addr.get(), len)?;
    let me = task()?;
    if !covered(&me.mm(), start, end) {
        return Err(Errno::ENOMEM);
    }
    let mut extra = me.process.extra.lock();
    let ranges = without_range(&extra.locked, start, end)?;
    extra.locked_bytes = total(&ranges);
    extra.locked = ranges;
    Ok(0)
}

fn sys_mlockall(flags: u32) -> KResult<u64> {
    if flags == 0 || flags & !(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0 || flags == MCL_ONFAULT {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    if !is_root(&me) && me.process.rlimit(RLIMIT_MEMLOCK).rlim_cur == 0 {
        return Err(Errno::EPERM);
    }
    let mm = me.mm();
    if flags & MCL_CURRENT != 0 {
        let areas: Vec<(u64, u64)> = {
            let inner = mm.lock();
            let mut list = Vec::new();
            list.try_reserve(inner.areas.len()).map_err(|_| Errno::ENOMEM)?;
            list.extend(inner.areas.iter().map(|a| (a.start, a.end)));
            list
        };
        let mut ranges = me.process.extra.lock().locked.clone();
        for &(s, e) in &areas {
            ranges = with_range(&ranges, s, e)?;
        }
        check_limit(memlock_limit(&me), total(&ranges))?;
        {
            let mut extra = me.process.extra.lock();
            extra.locked_bytes = total(&ranges);
            extra.locked = ranges;
        }
        if flags & MCL_ONFAULT == 0 {
            for (s, e) in areas {
                populate(&mm, s, e);
            }
        }
    }
    me.process.extra.lock().lockall = flags;
    Ok(0)
}

fn sys_munlockall() -> KResult<u64> {
    let me = task()?;
    let mut extra = me.process.extra.lock();
    extra.locked = Vec::new();
    extra.locked_bytes = 0;
    extra.lockall = 0;
    Ok(0)
}

fn sys_mincore(addr: UserAddr, len: u64, vec: UserPtr<u8>) -> KResult<u64> {
    let start = addr.get();
    if start % PAGE != 0 {
        return Err(Errno::EINVAL);
    }
    let pages = len.div_ceil(PAGE);
    let end = pages.checked_mul(PAGE).and_then(|bytes| start.checked_add(bytes)).ok_or(Errno::ENOMEM)?;
    if end > crate::uaccess::USER_END {
        return Err(Errno::ENOMEM);
    }
    let out = UserSlice::new(vec, usize::try_from(pages).map_err(|_| Errno::EFAULT)?)?;
    let mm = task()?.mm();
    if !covered(&mm, start, end) {
        return Err(Errno::ENOMEM);
    }
    // In batches: the map's lock is never held while copying to user memory.
    let mut bits = [0u8; 256];
    let mut done: u64 = 0;
    while done < pages {
        let n = (pages - done).min(bits.len() as u64) as usize;
        {
            let inner = mm.lock();
            for (i, bit) in bits[..n].iter_mut().enumerate() {
                let page = start + (done + i as u64) * PAGE;
                *bit = u8::from(inner.space.translate(page).is_some());
            }
        }
        out.sub(done as usize, n).write_from(&bits[..n])?;
        done += n as u64;
    }
    Ok(0)
}
