//! Tests of physical memory and kernel page tables: buddy allocation, the out-of-memory round
//! trip, map/unmap/translate with all three page sizes, W^X and guard pages.

use exo_paging::{PageFlags, PageSize};

use crate::arch::{self, Fault};
use crate::crashtest::recurse;
use crate::memory::{self, frames, paging, stacks::KernelStack};
use crate::{kassert, kassert_eq, ktest};

/// A kernel-half test window (PML4 slot 448) that nothing else uses.
const TEST_VA: u64 = 0xffff_e000_0000_0000;

fn page_fault_error(result: Result<(), Fault>) -> Option<u64> {
    match result {
        Err(Fault::Exception { vector: 14, error_code, .. }) => Some(error_code),
        _ => None,
    }
}

ktest!(fn buddy_blocks_are_aligned_distinct_and_coalesce() {
    frames::drain_hot();
    let before = frames::stats();
    let mut blocks = [0u64; 13];
    for (order, block) in blocks.iter_mut().enumerate() {
        *block = frames::alloc(order).map_err(|e| crate::ktest::TestFailure::new(format_args!("order {order}: {e:?}")))?;
        kassert_eq!(*block % (4096 << order), 0);
    }
    for (i, a) in blocks.iter().enumerate() {
        for (j, b) in blocks.iter().enumerate().skip(i + 1) {
            let (a_end, b_end) = (a + (4096 << i), b + (4096 << j));
            kassert!(a_end <= *b || b_end <= *a, "blocks {i} and {j} overlap");
        }
    }
    for (order, block) in blocks.iter().enumerate() {
        kassert!(frames::free(*block, order).is_ok());
    }
    kassert!(frames::free(blocks[0], 0).is_err(), "double free accepted");
    frames::drain_hot();
    let after = frames::stats();
    kassert_eq!(after.free_frames, before.free_frames);
    kassert_eq!(after.free_blocks, before.free_blocks);
    kassert_eq!(frames::check_invariants(), Ok(()));
    Ok(())
});

ktest!(fn exhausting_physical_memory_and_freeing_restores_every_counter() {
    // The shrinkers (clean block-cache pages) would add frames while memory runs out.
    memory::reclaim::pause(true);
    let result = exhaust_and_free();
    memory::reclaim::pause(false);
    result
});

fn exhaust_and_free() -> crate::ktest::TestResult {
    // Block counts are compared with the hot list drained (it holds single frames unmerged).
    frames::drain_hot();
    let before = frames::stats();
    // Chain every frame we get through its first word (no heap needed).
    let mut head = 0u64;
    let mut count = 0usize;
    while let Ok(frame) = frames::alloc_frame() {
        let Some(virt) = memory::phys_to_virt(frame) else { break };
        // SAFETY: the frame was just allocated to this test and is direct-mapped.
        unsafe { (virt as *mut u64).write(head) };
        head = frame;
        count += 1;
    }
    kassert_eq!(count, before.free_frames);
    kassert_eq!(frames::free_frames(), 0);
    kassert!(frames::alloc(0).is_err());
    while head != 0 {
        let Some(virt) = memory::phys_to_virt(head) else { break };
        // SAFETY: `head` is one of the frames allocated above; its first word links the chain.
        let next = unsafe { (virt as *const u64).read() };
        kassert!(frames::free_frame(head).is_ok());
        head = next;
    }
    frames::drain_hot();
    let after = frames::stats();
    kassert_eq!(after.free_frames, before.free_frames);
    kassert_eq!(after.allocated_frames, before.allocated_frames);
    kassert_eq!(after.free_blocks, before.free_blocks);
    kassert!(after.failed_allocs > before.failed_allocs);
    Ok(())
}

ktest!(fn map_translate_unmap_4k() {
    let frame = frames::alloc_zeroed_frame().map_err(|_| crate::ktest::TestFailure::new(format_args!("OOM")))?;
    let va = TEST_VA + 0x5000;
    kassert_eq!(paging::map_kernel(va, frame, PageSize::Size4K, PageFlags::KERNEL_RW_NX), Ok(()));
    let translated = paging::translate_kernel(va + 0x123);
    kassert_eq!(translated.map(|(p, s, _)| (p, s)), Some((frame + 0x123, PageSize::Size4K)));
    let flags = translated.map(|(_, _, f)| f).unwrap_or(PageFlags::empty());
    kassert!(flags.contains(PageFlags::WRITABLE | PageFlags::NO_EXECUTE), "flags {flags:?}");
    // SAFETY: `va` was just mapped to `frame`, owned by this test.
    unsafe { ((va + 8) as *mut u64).write_volatile(0x1234_5678_9abc_def0) };
    let direct = memory::phys_to_virt(frame + 8).unwrap_or(0);
    // SAFETY: the direct map covers the frame.
    kassert_eq!(unsafe { (direct as *const u64).read_volatile() }, 0x1234_5678_9abc_def0);
    kassert!(paging::map_kernel(va, frame, PageSize::Size4K, PageFlags::KERNEL_RW_NX).is_err(), "double map");
    kassert_eq!(paging::unmap_kernel(va, PageSize::Size4K), Ok(frame));
    kassert_eq!(paging::translate_kernel(va), None);
    // SAFETY: deliberately faulting read inside a fault guard.
    let result = arch::run_guarded(|| unsafe { core::ptr::read_volatile(va as *const u64); });
    kassert_eq!(page_fault_error(result), Some(0));
    kassert!(frames::free_frame(frame).is_ok());
    Ok(())
});

ktest!(fn map_translate_unmap_2m() {
    let block = frames::alloc(9).map_err(|_| crate::ktest::TestFailure::new(format_args!("OOM")))?;
    let va = TEST_VA + (2 << 20);
    kassert_eq!(paging::map_kernel(va, block, PageSize::Size2M, PageFlags::KERNEL_RW_NX), Ok(()));
    let translated = paging::translate_kernel(va + 0x1f_f008).map(|(p, s, _)| (p, s));
    kassert_eq!(translated, Some((block + 0x1f_f008, PageSize::Size2M)));
    // SAFETY: inside the 2 MiB page just mapped to this test's block.
    unsafe { ((va + 0x1f_f008) as *mut u64).write_volatile(42) };
    let direct = memory::phys_to_virt(block + 0x1f_f008).unwrap_or(0);
    // SAFETY: the direct map covers the block.
    kassert_eq!(unsafe { (direct as *const u64).read_volatile() }, 42);
    kassert_eq!(paging::unmap_kernel(va, PageSize::Size2M), Ok(block));
    kassert!(frames::free(block, 9).is_ok());
    Ok(())
});

ktest!(fn map_translate_unmap_1g() {
    kassert!(arch::mmu::has_1g_pages(), "CPU lacks 1 GiB pages (QEMU runs with -cpu max)");
    let va = TEST_VA + (1 << 30);
    kassert_eq!(paging::map_kernel(va, 0, PageSize::Size1G, PageFlags::KERNEL_RO_NX), Ok(()));
    let probe = memory::kernel_image_phys().0 + 0x10;
    kassert_eq!(paging::translate_kernel(va + probe).map(|(p, s, _)| (p, s)), Some((probe, PageSize::Size1G)));
    let direct = memory::phys_to_virt(probe).unwrap_or(0);
    // SAFETY: both addresses map the same kernel-image byte read-only.
    let (via_1g, via_direct) = unsafe { (((va + probe) as *const u64).read_volatile(), (direct as *const u64).read_volatile()) };
    kassert_eq!(via_1g, via_direct);
    // Read-only: a write faults with present+write.
    // SAFETY: deliberately faulting write inside a fault guard.
    let result = arch::run_guarded(|| unsafe { ((va + probe) as *mut u64).write_volatile(0) });
    kassert_eq!(page_fault_error(result), Some(0b11));
    kassert_eq!(paging::unmap_kernel(va, PageSize::Size1G), Ok(0));
    Ok(())
});

#[inline(never)]
fn code_to_overwrite() -> u64 {
    core::hint::black_box(7)
}

static READ_ONLY_DATA: [u64; 4] = [1, 2, 3, 4];
static mut WRITABLE_DATA: [u8; 16] = [0xc3; 16]; // `ret` instructions, in a no-execute page

ktest!(fn kernel_text_and_rodata_are_not_writable() {
    let text = code_to_overwrite as *const () as u64;
    // SAFETY: deliberately faulting write inside a fault guard.
    let result = arch::run_guarded(|| unsafe { (text as *mut u8).write_volatile(0x90) });
    kassert_eq!(page_fault_error(result), Some(0b11));
    kassert_eq!(code_to_overwrite(), 7);
    let rodata = READ_ONLY_DATA.as_ptr() as u64;
    // SAFETY: deliberately faulting write inside a fault guard.
    let result = arch::run_guarded(|| unsafe { (rodata as *mut u64).write_volatile(9) });
    kassert_eq!(page_fault_error(result), Some(0b11));
    kassert_eq!(core::hint::black_box(READ_ONLY_DATA[0]), 1);
    Ok(())
});

ktest!(fn kernel_data_is_not_executable() {
    let data = (&raw const WRITABLE_DATA) as u64;
    // SAFETY: deliberately jumps into a no-execute page inside a fault guard; the bytes are `ret`
    // so even a wrongly executable page would return at once.
    let result = arch::run_guarded(|| unsafe {
        let f: extern "C" fn() = core::mem::transmute::<u64, extern "C" fn()>(data);
        f();
    });
    let error = page_fault_error(result).unwrap_or(0);
    kassert!(error & 0x11 == 0x11, "expected a present + instruction-fetch fault, got {error:#x}");
    Ok(())
});

ktest!(fn kernel_stacks_are_cached_and_given_back() {
    // The first stack creates the region's page tables, which stay for later stacks.
    drop(KernelStack::new());
    memory::stacks::release_cached();
    let before = frames::free_frames();
    let live = memory::stacks::live_count();
    let stack = KernelStack::new().map_err(|e| crate::ktest::TestFailure::new(format_args!("{e:?}")))?;
    let top = stack.top();
    kassert_eq!(frames::free_frames(), before - 8);
    kassert_eq!(memory::stacks::live_count(), live + 1);
    kassert!(memory::is_on_kernel_stack(top - 8, 8));
    drop(stack);
    // Cached: still mapped, not counted as live nor as a stack for frame-pointer walks.
    kassert_eq!(memory::stacks::cached_count(), 1);
    kassert_eq!(memory::stacks::live_count(), live);
    kassert!(!memory::is_on_kernel_stack(top - 8, 8));
    kassert_eq!(frames::free_frames(), before - 8);
    // The next stack is the cached one, mapped and writable, with no new frames.
    let again = KernelStack::new().map_err(|e| crate::ktest::TestFailure::new(format_args!("{e:?}")))?;
    kassert_eq!(again.top(), top);
    kassert_eq!(frames::free_frames(), before - 8);
    // SAFETY: `again` is a mapped kernel stack nobody runs on; its top word is ours to write.
    unsafe { core::ptr::write_volatile((top - 8) as *mut u64, 0x5a5a) };
    drop(again);
    // Memory pressure empties the cache: the frames come back.
    kassert_eq!(memory::stacks::release_cached(), 1);
    kassert_eq!(memory::stacks::cached_count(), 0);
    kassert_eq!(frames::free_frames(), before);
    Ok(())
});

ktest!(fn kernel_stack_overflow_hits_its_guard() {
    // The first stack creates the region's page tables, which stay for later stacks.
    drop(KernelStack::new());
    let before = frames::free_frames();
    let stack = KernelStack::new().map_err(|e| crate::ktest::TestFailure::new(format_args!("{e:?}")))?;
    let top = stack.top();
    // SAFETY: `stack` is a fresh mapped kernel stack that outlives the call.
    let result = arch::run_guarded(|| unsafe {
        arch::run_on_stack(top, || {
            core::hint::black_box(recurse(core::hint::black_box(1)));
        })
    });
    match result {
        Err(Fault::Exception { vector: 8, cr2, .. }) => {
            let (guard_start, guard_end) = stack.guard();
            kassert!((guard_start..guard_end).contains(&cr2), "CR2 {cr2:#x} outside the guard");
            kassert!(memory::is_stack_guard(cr2));
        }
        other => kassert!(false, "expected a double fault, got {other:?}"),
    }
    drop(stack);
    kassert_eq!(frames::free_frames(), before);
    Ok(())
});
