//! Calls Exo-OS does not implement: each answers ENOSYS, is logged once per number with the
//! program that first made it, and is counted, so that a boot ends with a report of what the
//! programs run asked for and did not get (`report`, printed at power-off and restart).

use core::sync::atomic::{AtomicU32, Ordering};

use exo_abi::{nr, Errno};

use super::call_name;

/// How many times each Linux number answered ENOSYS (saturating); the first call logs.
static COUNTS: [AtomicU32; nr::COUNT] = [const { AtomicU32::new(0) }; nr::COUNT];
/// Calls past the table (x32 numbers, garbage in rax): counted together, never logged.
static PAST_TABLE: AtomicU32 = AtomicU32::new(0);

/// An unimplemented call: ENOSYS; the first one of each number logs its name and the program.
#[cold]
#[inline(never)]
pub fn enosys(number: u64) -> u64 {
    match usize::try_from(number).ok().and_then(|n| COUNTS.get(n)) {
        Some(count) => {
            let before = count.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| Some(c.saturating_add(1))).unwrap_or(u32::MAX);
            if before == 0 {
                let (pid, comm) = crate::process::current().map_or((0, alloc::string::String::new()), |t| (t.process.pid, t.process.comm()));
                log::warn!("syscall: {} ({number}) is not implemented (ENOSYS), first called by {comm} (pid {pid})", call_name(number));
            }
        }
        None => {
            let _ = PAST_TABLE.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| Some(c.saturating_add(1)));
        }
    }
    Errno::ENOSYS.as_return() as u64
}

/// Logs the unimplemented calls made since boot, with their counts (one line, or "none").
pub fn report() {
    let mut line = alloc::string::String::new();
    let mut kinds = 0;
    for (number, count) in COUNTS.iter().enumerate() {
        let count = count.load(Ordering::Relaxed);
        if count != 0 {
            kinds += 1;
            line.push_str(&alloc::format!(" {}×{count}", call_name(number as u64)));
        }
    }
    let past = PAST_TABLE.load(Ordering::Relaxed);
    if past != 0 {
        line.push_str(&alloc::format!(" (numbers past the table)×{past}"));
    }
    if kinds == 0 && past == 0 {
        log::info!("syscall: ENOSYS report: no unimplemented call was made since boot");
    } else {
        log::info!("syscall: ENOSYS report: {kinds} unimplemented calls made since boot:{line}");
    }
}
