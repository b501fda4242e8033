//! Tests of address spaces: creation and destruction without leaks, copy-on-write fork,
//! protection faults that must not be "resolved", and the TLB rule (a frame's reference goes
//! only after every CPU dropped the translation; a shootdown never gives up).

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use exo_paging::PageFlags;

use crate::arch::{self, smp, Fault};
use crate::memory::address_space::AddressSpace;
use crate::memory::frames;
use crate::uaccess::{UserCStr, UserPtr};
use crate::ktest::TestFailure;
use crate::{kassert, kassert_eq, ktest};

const USER_PAGE: u64 = 0x40_0000;

fn frame_and_flags(space: &AddressSpace) -> (u64, PageFlags) {
    space.translate(USER_PAGE).map_or((0, PageFlags::empty()), |(phys, _, flags)| (phys, flags))
}

fn oom<E: core::fmt::Debug>(e: E) -> TestFailure {
    TestFailure::new(format_args!("{e:?}"))
}

/// The free-frame count once frees still in flight (stacks of threads that just ended on
/// other CPUs) have landed: two equal readings 2 ms apart, within 100 ms.
fn settled_free_frames() -> usize {
    let mut last = frames::free_frames();
    for _ in 0..50 {
        crate::sched::sleep_ns(2_000_000);
        let now = frames::free_frames();
        if now == last {
            return now;
        }
        last = now;
    }
    last
}

ktest!(fn address_space_create_and_destroy_frees_every_frame() {
    let before = settled_free_frames();
    {
        let mut space = AddressSpace::new().map_err(oom)?;
        // Scattered pages: several page tables at every level.
        for i in 0..64u64 {
            let virt = USER_PAGE + i * 0x20_1000 + (i % 4) * (1 << 39);
            space.map_zeroed(virt, PageFlags::USER_RW_NX).map_err(oom)?;
        }
        kassert_eq!(space.mapped_pages(), 64);
        kassert!(frames::free_frames() < before - 64);
        // Unmapping returns the frame at once; protecting keeps it. (Other CPUs may free
        // frames meanwhile — a stack of a thread ending elsewhere — so a count that moves by
        // more than one is measured again on the next page, a few times at most.)
        let mut unmapped = 0u64;
        let mut exact = false;
        while !exact && unmapped < 4 {
            let page = USER_PAGE + unmapped * 0x20_1000 + (unmapped % 4) * (1 << 39);
            let in_use = frames::free_frames();
            kassert_eq!(space.unmap(page), Ok(()));
            exact = frames::free_frames() == in_use + 1;
            unmapped += 1;
            kassert!(space.unmap(page).is_err(), "double unmap");
        }
        kassert!(exact, "unmapping a page never freed exactly its frame");
        let kept = USER_PAGE + 4 * 0x20_1000;
        kassert_eq!(space.protect(kept, PageFlags::USER_RO_NX), Ok(()));
        let flags = space.translate(kept).map(|t| t.2).unwrap_or(PageFlags::empty());
        kassert!(!flags.contains(PageFlags::WRITABLE) && flags.contains(PageFlags::USER));
        kassert_eq!(space.mapped_pages() as u64, 64 - unmapped);
    }
    // Frees in flight on other CPUs settle within a few milliseconds.
    let settled = (0..50).any(|_| {
        let equal = frames::free_frames() == before;
        if !equal {
            crate::sched::sleep_ns(1_000_000);
        }
        equal
    });
    kassert!(settled, "free frames {} != {before} after destroying the space", frames::free_frames());
    Ok(())
});

ktest!(fn fork_shares_pages_until_a_write_copies_them() {
    let before = frames::free_frames();
    {
        let mut parent = AddressSpace::new().map_err(oom)?;
        let frame = parent.map_zeroed(USER_PAGE, PageFlags::USER_RW_NX).map_err(oom)?;
        parent.activate();
        // The kernel touches user pages only through the user-copy routines (SMAP).
        kassert_eq!(UserPtr::new(USER_PAGE).write(&1111u64), Ok(()));
        let child = parent.fork().map_err(oom)?;
        let (parent_frame, flags) = frame_and_flags(&parent);
        kassert_eq!(parent_frame, frame);
        kassert!(flags.contains(PageFlags::COW) && !flags.contains(PageFlags::WRITABLE));
        kassert_eq!(child.translate(USER_PAGE).map(|t| t.0), Some(frame));
        kassert_eq!(frames::refcount(frame), 2);
        // The write faults, the fault handler copies the page, the write is retried.
        kassert_eq!(UserPtr::new(USER_PAGE).write(&2222u64), Ok(()));
        let (copied, flags) = frame_and_flags(&parent);
        kassert!(copied != frame, "the parent still maps the shared frame");
        kassert!(flags.contains(PageFlags::WRITABLE) && !flags.contains(PageFlags::COW));
        kassert_eq!(frames::refcount(frame), 1);
        child.activate();
        kassert_eq!(UserPtr::<u64>::new(USER_PAGE).read(), Ok(1111));
        parent.activate();
        kassert_eq!(UserPtr::<u64>::new(USER_PAGE).read(), Ok(2222));
        drop(child);
        // Fork again and drop the parent: the child is then the frame's last sharer, and its
        // write fault makes the page writable in place instead of copying.
        let again = parent.fork().map_err(oom)?;
        drop(parent);
        again.activate();
        kassert_eq!(UserPtr::new(USER_PAGE).write(&3333u64), Ok(()));
        kassert_eq!(frame_and_flags(&again), (copied, PageFlags::USER_RW_NX | PageFlags::ACCESSED | PageFlags::DIRTY));
    }
    kassert_eq!(frames::free_frames(), before);
    Ok(())
});

ktest!(fn write_to_read_only_page_is_not_resolved() {
    let mut space = AddressSpace::new().map_err(oom)?;
    space.map_zeroed(USER_PAGE, PageFlags::USER_RO_NX).map_err(oom)?;
    space.activate();
    // SAFETY: deliberately faulting write inside a fault guard.
    let result = arch::run_guarded(|| unsafe { (USER_PAGE as *mut u64).write_volatile(5) });
    drop(space);
    match result {
        Err(Fault::Exception { vector: 14, error_code, cr2, .. }) => {
            kassert_eq!(cr2, USER_PAGE);
            kassert_eq!(error_code & 0b11, 0b11);
        }
        other => kassert!(false, "expected a page fault, got {other:?}"),
    }
    Ok(())
});

ktest!(fn user_copies_fail_with_efault_on_bad_addresses() {
    use exo_abi::Errno;
    let mut space = AddressSpace::new().map_err(oom)?;
    space.map_zeroed(USER_PAGE, PageFlags::USER_RW_NX).map_err(oom)?;
    space.activate();
    kassert_eq!(UserPtr::new(USER_PAGE + 8).write(&7u64), Ok(()));
    kassert_eq!(UserPtr::<u64>::new(USER_PAGE + 8).read(), Ok(7));
    // Unmapped user page, a range running off the mapped page, kernel addresses, NULL, and a
    // range that wraps around: EFAULT every time, the kernel untouched.
    kassert_eq!(UserPtr::<u64>::new(USER_PAGE + 0x10_0000).read(), Err(Errno::EFAULT));
    kassert_eq!(UserPtr::new(USER_PAGE + 4092).write(&1u64), Err(Errno::EFAULT));
    kassert_eq!(UserPtr::<u64>::new(0xffff_ffff_8000_0000).read(), Err(Errno::EFAULT));
    kassert_eq!(UserPtr::new(0xffff_8000_0000_0000).write(&1u64), Err(Errno::EFAULT));
    kassert_eq!(UserPtr::<u64>::new(0).read(), Err(Errno::EFAULT));
    kassert_eq!(UserPtr::<u64>::new(u64::MAX - 3).read(), Err(Errno::EFAULT));
    kassert_eq!(UserCStr::new(UserPtr::new(0x7fff_ffff_fff0)).read(64), Err(Errno::EFAULT));
    drop(space);
    Ok(())
});

ktest!(fn user_slices_are_checked_when_made_and_copied_in_bounds() {
    use crate::uaccess::{UserSlice, USER_END};
    use exo_abi::Errno;
    let mut space = AddressSpace::new().map_err(oom)?;
    space.map_zeroed(USER_PAGE, PageFlags::USER_RW_NX).map_err(oom)?;
    space.activate();
    // Made only inside the user half: a count whose bytes overflow, or a range past USER_END,
    // is EFAULT before any copy.
    kassert_eq!(UserPtr::<u64>::new(USER_END - 8).slice(1).map(|s| s.len()), Ok(1));
    kassert!(UserPtr::<u64>::new(USER_END - 8).slice(2).is_err());
    kassert!(UserPtr::<u64>::new(8).slice(usize::MAX / 4).is_err());
    kassert!(UserPtr::<u64>::new(u64::MAX - 7).add(2).is_err());
    kassert!(UserSlice::new(UserPtr::<u8>::new(0xffff_8000_0000_0000), 1).is_err());
    // Element access and sub-slices stay inside the slice.
    let slice = UserPtr::<u32>::new(USER_PAGE).slice(4).map_err(oom)?;
    kassert_eq!(slice.write(3, &0xdead_beef), Ok(()));
    kassert_eq!(slice.read(4), Err(Errno::EFAULT));
    kassert_eq!(slice.sub(2, 100).len(), 2);
    kassert_eq!(slice.sub(9, 1).len(), 0);
    let mut out = [0u32; 8];
    kassert_eq!(slice.read_into(&mut out), Ok(()));
    kassert_eq!(out[3], 0xdead_beef);
    kassert_eq!(slice.sub(3, 1).read_vec(), Ok(alloc::vec![0xdead_beef]));
    kassert_eq!(slice.write_from(&[1, 2, 3, 4, 5, 6]), Ok(()));
    // Only the slice's four elements were written.
    kassert_eq!(UserPtr::<u32>::new(USER_PAGE + 16).read(), Ok(0));
    drop(space);
    Ok(())
});

ktest!(fn smep_and_smap_are_on_under_qemu_max() {
    // (SMEP, SMAP): QEMU -cpu max has both.
    kassert_eq!(arch::user_memory_protection(), (true, true));
    Ok(())
});

// ---- TLB shootdown before reuse (issue 11 item 1) ------------------------------------------

static SPINNING: AtomicBool = AtomicBool::new(false);
static SPIN_DONE: AtomicBool = AtomicBool::new(false);
/// Frame a spinning CPU watches, and whether its reference count moved while it spun.
static WATCHED: AtomicU64 = AtomicU64::new(0);
static MOVED: AtomicBool = AtomicBool::new(false);

/// How long the other CPU keeps interrupts off (so it cannot acknowledge a shootdown): longer
/// than the 100 ms after which the old shootdown gave up.
const IRQS_OFF_NS: u64 = 300_000_000;

/// Runs `action` on this CPU while a thread on another CPU spins with interrupts off for
/// [`IRQS_OFF_NS`], watching the reference count of frame `watched` (0: none). Returns
/// Some((the spin was over when `action` returned, the count moved during the spin)), or None
/// when the two did not overlap (the thread ran on this CPU) after a few tries.
fn with_cpu_not_answering(watched: u64, mut action: impl FnMut()) -> Result<Option<(bool, bool)>, TestFailure> {
    for _ in 0..5 {
        SPINNING.store(false, Ordering::SeqCst);
        SPIN_DONE.store(false, Ordering::SeqCst);
        MOVED.store(false, Ordering::SeqCst);
        WATCHED.store(watched, Ordering::SeqCst);
        let slow_before = smp::SHOOTDOWN_TIMEOUTS.load(Ordering::SeqCst);
        let other = (arch::cpu_index() + 1) % arch::cpu_count();
        let options = crate::sched::SpawnOptions { cpu: Some(other), ..Default::default() };
        let handle = crate::sched::spawn_with("irqs-off", options, || {
            arch::without_interrupts(|| {
                let frame = WATCHED.load(Ordering::SeqCst);
                let count = if frame != 0 { frames::refcount(frame) } else { 0 };
                SPINNING.store(true, Ordering::SeqCst);
                let start = arch::read_timestamp();
                while crate::time::ticks_to_ns(arch::read_timestamp().wrapping_sub(start)) < IRQS_OFF_NS {
                    if frame != 0 && frames::refcount(frame) != count {
                        MOVED.store(true, Ordering::SeqCst);
                    }
                    core::hint::spin_loop();
                }
                SPIN_DONE.store(true, Ordering::SeqCst);
            });
            0
        })
        .map_err(oom)?;
        while !SPINNING.load(Ordering::SeqCst) {
            crate::sched::yield_now();
        }
        let overlapped = !SPIN_DONE.load(Ordering::SeqCst);
        if overlapped {
            action();
        }
        let done_at_return = SPIN_DONE.load(Ordering::SeqCst);
        handle.join();
        // This deliberately slow shootdown is not one of the "slow in normal operation" that
        // other tests count.
        smp::SHOOTDOWN_TIMEOUTS.store(slow_before, Ordering::SeqCst);
        if overlapped {
            return Ok(Some((done_at_return, MOVED.load(Ordering::SeqCst))));
        }
    }
    Ok(None)
}

ktest!(fn tlb_shootdown_waits_for_a_cpu_with_interrupts_off() {
    if arch::cpu_count() < 2 {
        return Ok(());
    }
    let outcome = with_cpu_not_answering(0, || crate::memory::paging::shootdown(USER_PAGE, 4096))?;
    if let Some((done_at_return, _)) = outcome {
        kassert!(done_at_return, "the shootdown returned before the other CPU acknowledged it");
    }
    Ok(())
});

ktest!(fn unmap_releases_the_frame_only_after_every_cpu_flushed() {
    if arch::cpu_count() < 2 {
        return Ok(());
    }
    let mut space = AddressSpace::new().map_err(oom)?;
    let frame = space.map_zeroed(USER_PAGE, PageFlags::USER_RW_NX).map_err(oom)?;
    // A second reference, so the frame stays allocated and its count can be watched.
    frames::adjust_refcount(frame, 1);
    let mut unmapped = 0;
    let outcome = with_cpu_not_answering(frame, || unmapped = space.unmap_range(USER_PAGE, USER_PAGE + 4096))?;
    let _ = frames::release(frame, 0);
    if let Some((_, moved)) = outcome {
        kassert_eq!(unmapped, 1);
        kassert!(!moved, "the frame's reference was dropped while a CPU could still hold its translation");
    }
    Ok(())
});

ktest!(fn copy_on_write_break_drops_the_old_frame_only_after_every_cpu_flushed() {
    if arch::cpu_count() < 2 {
        return Ok(());
    }
    let mut parent = AddressSpace::new().map_err(oom)?;
    let frame = parent.map_zeroed(USER_PAGE, PageFlags::USER_RW_NX).map_err(oom)?;
    let child = parent.fork().map_err(oom)?;
    kassert_eq!(frames::refcount(frame), 2);
    let mut resolved = false;
    let outcome = with_cpu_not_answering(frame, || resolved = parent.resolve_cow(USER_PAGE))?;
    if let Some((_, moved)) = outcome {
        kassert!(resolved);
        kassert!(frame_and_flags(&parent).0 != frame, "the page was not copied");
        kassert!(!moved, "the old frame's reference was dropped while a CPU could still hold its translation");
    }
    drop(child);
    Ok(())
});
