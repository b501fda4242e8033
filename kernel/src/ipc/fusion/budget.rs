//! The memory Fusion Rings hold outside any address space — ring pages and the pages of grants
//! waiting to be accepted — is bounded: at most a quarter of the frames the kernel manages, for
//! all rings together. Past it, creating a ring or parking a page grant fails with ENOMEM, so
//! no program can pin the machine's memory in rings, where the OOM killer could not reclaim it.

use core::sync::atomic::{AtomicUsize, Ordering};

use exo_abi::{Errno, KResult};

/// Pages charged now.
static CHARGED: AtomicUsize = AtomicUsize::new(0);

/// The bound, in pages.
fn limit() -> usize {
    crate::memory::frames::stats().managed_frames / 4
}

/// Pages charged to the budget, given back when dropped.
pub struct Charge(usize);

impl Charge {
    /// Charges `pages`, or ENOMEM if that would pass the bound.
    pub fn take(pages: usize) -> KResult<Charge> {
        let limit = limit();
        let mut now = CHARGED.load(Ordering::Relaxed);
        loop {
            let next = now.checked_add(pages).filter(|&n| n <= limit).ok_or(Errno::ENOMEM)?;
            match CHARGED.compare_exchange_weak(now, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return Ok(Charge(pages)),
                Err(seen) => now = seen,
            }
        }
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        CHARGED.fetch_sub(self.0, Ordering::Relaxed);
    }
}

/// Pages charged now (/proc/fusion).
pub fn charged() -> usize {
    CHARGED.load(Ordering::Relaxed)
}

/// The bound in pages (/proc/fusion).
pub fn bound() -> usize {
    limit()
}
