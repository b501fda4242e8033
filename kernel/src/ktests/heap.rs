//! Tests of the kernel heap: tier routing, a 1,000,000-operation random stress with content
//! checks, and the out-of-memory round trip.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::alloc::Layout;

use crate::ktest::TestFailure;
use crate::memory::{frames, heap};
use crate::{kassert, kassert_eq, ktest};

/// xorshift64*: a small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn alloc(layout: Layout) -> *mut u8 {
    // SAFETY: layouts here have non-zero size.
    unsafe { alloc::alloc::alloc(layout) }
}

fn free(ptr: *mut u8, layout: Layout) {
    // SAFETY: `ptr` came from `alloc` with this layout and is freed once.
    unsafe { alloc::alloc::dealloc(ptr, layout) }
}

ktest!(fn each_size_goes_to_its_tier() {
    let before = heap::stats();
    let small = Box::new([7u8; 64]);
    let after_small = heap::stats();
    kassert_eq!(after_small.tier1.requests(), before.tier1.requests() + 1);
    let medium = Box::new([9u8; 1024]);
    let after_medium = heap::stats();
    kassert_eq!(after_medium.tier1.requests(), after_small.tier1.requests());
    kassert!(after_medium.tier2.requests() > after_small.tier2.requests());
    let large = Box::new([1u8; 8192]);
    let after_large = heap::stats();
    kassert_eq!(after_large.large_in_use, after_medium.large_in_use + 1);
    kassert_eq!((small[63], medium[1023], large[8191]), (7, 9, 1));
    for align in [16usize, 64, 256, 4096, 16384] {
        let layout = Layout::from_size_align(24, align).map_err(|_| TestFailure::new(format_args!("layout")))?;
        let ptr = alloc(layout);
        kassert!(!ptr.is_null() && ptr as usize % align == 0, "align {align}: {ptr:p}");
        free(ptr, layout);
    }
    Ok(())
});

/// Writes (or checks) a pattern derived from `seed`: every byte of small blocks, and the ends
/// plus every 256th byte of larger ones.
fn pattern(ptr: *mut u8, size: usize, seed: u8, check: bool) -> bool {
    let mut ok = true;
    let mut touch = |i: usize| {
        let value = seed.wrapping_add(i as u8);
        // SAFETY: `i < size` and `ptr` points to a live block of `size` bytes owned by the test.
        unsafe {
            if check {
                ok &= ptr.add(i).read() == value;
            } else {
                ptr.add(i).write(value);
            }
        }
    };
    if size <= 256 {
        (0..size).for_each(&mut touch);
    } else {
        (0..32).chain((0..size).step_by(256)).chain(size - 32..size).for_each(&mut touch);
    }
    ok
}

ktest!(fn one_million_random_operations_keep_every_block_intact() {
    const SLOTS: usize = 1024;
    let mut slots: Vec<Option<(*mut u8, Layout, u8)>> = Vec::new();
    slots.resize(SLOTS, None);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let pages_before = heap::stats().pages_in_use;
    let mut live = 0usize;
    for op in 0..1_000_000u32 {
        let r = rng.next();
        let slot = (r % SLOTS as u64) as usize;
        match slots[slot].take() {
            Some((ptr, layout, seed)) => {
                kassert!(pattern(ptr, layout.size(), seed, true), "op {op}: block {ptr:p} ({} B) was overwritten", layout.size());
                free(ptr, layout);
                live -= 1;
            }
            None => {
                let size = match (r >> 16) % 100 {
                    0..=79 => 1 + (r >> 24) % 256,
                    80..=95 => 257 + (r >> 24) % 3840,
                    _ => 4097 + (r >> 24) % 12288,
                } as usize;
                let align = 1usize << ((r >> 40) % 7);
                let layout = Layout::from_size_align(size, align).map_err(|_| TestFailure::new(format_args!("layout")))?;
                let ptr = alloc(layout);
                kassert!(!ptr.is_null(), "op {op}: allocation of {size} B failed");
                kassert!(ptr as usize % align == 0, "op {op}: {ptr:p} not aligned to {align}");
                let seed = (r >> 48) as u8;
                pattern(ptr, size, seed, false);
                slots[slot] = Some((ptr, layout, seed));
                live += 1;
            }
        }
    }
    for (ptr, layout, seed) in slots.iter_mut().filter_map(Option::take) {
        kassert!(pattern(ptr, layout.size(), seed, true));
        free(ptr, layout);
        live -= 1;
    }
    kassert_eq!(live, 0);
    drop(slots);
    heap::trim();
    kassert!(heap::stats().pages_in_use <= pages_before, "heap kept pages after trim");
    Ok(())
});

ktest!(fn heap_exhaustion_and_release_restore_the_frame_count() {
    heap::trim();
    let frames_before = frames::free_frames();
    let failures_before = heap::stats().failed_allocations;
    let layout = Layout::from_size_align(64 * 1024, 8).map_err(|_| TestFailure::new(format_args!("layout")))?;
    // Chain the blocks through their first word until the heap says no.
    let mut head: *mut u8 = core::ptr::null_mut();
    let mut count = 0usize;
    loop {
        let block = alloc(layout);
        if block.is_null() {
            break;
        }
        // SAFETY: `block` is a fresh 64 KiB allocation owned by the test.
        unsafe { (block as *mut *mut u8).write(head) };
        head = block;
        count += 1;
    }
    kassert!(count > 100, "only {count} blocks of 64 KiB");
    kassert!(heap::stats().failed_allocations > failures_before);
    kassert!(heap::grow_failures() > 0, "a failed growth trims the heap and retries");
    // Small allocations fail cleanly too (tier 2 needs a new slab and cannot get one), or
    // succeed from what is cached; either way no panic.
    let probe = alloc(Layout::new::<u64>());
    if !probe.is_null() {
        free(probe, Layout::new::<u64>());
    }
    while !head.is_null() {
        // SAFETY: `head` is one of the blocks allocated above; its first word links the chain.
        let next = unsafe { (head as *const *mut u8).read() };
        free(head, layout);
        head = next;
    }
    heap::trim();
    kassert_eq!(frames::free_frames(), frames_before);
    Ok(())
});

ktest!(fn buffers_sized_by_users_fail_with_enomem_instead_of_aborting() {
    kassert!(crate::process::oom::try_vec_zeroed(usize::MAX / 2) == Err(exo_abi::Errno::ENOMEM));
    kassert!(crate::process::oom::try_vec_zeroed(1 << 40) == Err(exo_abi::Errno::ENOMEM));
    let buffer = crate::process::oom::try_vec_zeroed(10_000).map_err(|e| TestFailure::new(format_args!("{e:?}")))?;
    kassert!(buffer.len() == 10_000 && buffer.iter().all(|&b| b == 0));
    Ok(())
});

ktest!(fn at_the_memory_reserve_tmpfs_and_fork_say_no() {
    use crate::process::oom;
    let reserve = oom::reserve_frames();
    kassert!((256..=4096).contains(&reserve), "reserve {reserve} frames");
    kassert!(reserve <= oom::total_frames() / 32);
    kassert!(oom::user_page_allowed() && oom::tmpfs_page_allowed() && oom::check_new_task().is_ok());
    let tmpfs = crate::fs::new_tmpfs();
    kassert!(tmpfs.max_bytes() == Some(crate::fs::tmpfs_default_size()), "a kernel tmpfs has Linux's half-of-RAM limit");
    let file = exo_vfs::FileSystem::root(&*tmpfs)
        .create(b"f", exo_abi::mode::S_IFREG | 0o644, 0, 0, 0)
        .map_err(|e| TestFailure::new(format_args!("create: {e:?}")))?;
    kassert!(file.write_at(0, &[1; 100]) == Ok(100));
    // Take frames until only the reserve is left (chained through a list of frames).
    let mut taken: Vec<u64> = Vec::new();
    taken.try_reserve(frames::free_frames()).map_err(|_| TestFailure::new(format_args!("no room for the list")))?;
    while frames::free_frames() > reserve {
        match frames::alloc_frame() {
            Ok(frame) => taken.push(frame),
            Err(_) => break,
        }
    }
    let refused = (!oom::user_page_allowed(), !oom::tmpfs_page_allowed(), oom::check_new_task());
    let write_at_reserve = file.write_at(8192, b"x");
    let overwrite = file.write_at(0, b"y");
    for frame in taken.drain(..) {
        let _ = frames::free_frame(frame);
    }
    kassert!(refused.0 && refused.1, "gates open at the reserve");
    kassert!(refused.2 == Err(exo_abi::Errno::EAGAIN));
    kassert!(write_at_reserve == Err(exo_abi::Errno::ENOSPC), "tmpfs write at the reserve: {write_at_reserve:?}");
    kassert!(overwrite == Ok(1), "pages already held still take data");
    kassert!(oom::tmpfs_page_allowed() && file.write_at(8192, b"x") == Ok(1));
    Ok(())
});
