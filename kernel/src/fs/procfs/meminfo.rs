//! `/proc/meminfo` in Linux's layout, with what Exo-OS knows: free frames, the block cache
//! (`Buffers`), the page caches of mapped files (`Cached`), the processes' resident pages
//! split into anonymous and file-mapped ones (from their page tables: a page shared after
//! fork counts once per process), the kernel heap (`Slab`), committed address space, the
//! user threads' kernel stacks (`KernelStack`); Active/Inactive are estimates (mapped pages
//! active, caches inactive). No swap, no huge pages, no vmalloc area: those are 0 as on such a Linux.

use alloc::format;
use alloc::string::String;
use core::fmt::Write;

use exo_vma::Kind;

/// Kernel stack of a thread, bytes.
const KERNEL_STACK: u64 = 32 * 1024;

/// Resident KiB of all processes: (anonymous, file-mapped), their committed address space
/// (writable private areas) and their threads.
fn process_memory() -> (u64, u64, u64, u64) {
    let (mut anon, mut mapped, mut committed, mut threads) = (0u64, 0u64, 0u64, 0u64);
    for process in crate::process::all_processes() {
        threads += process.threads().len() as u64;
        let Some(task) = crate::process::info::main_task(&process) else { continue };
        let mm = task.mm();
        let areas = mm.areas();
        let ranges: alloc::vec::Vec<(u64, u64, bool)> = areas.iter().map(|a| (a.start, a.end, a.backing.is_some() && a.kind == Kind::File)).collect();
        for a in &areas {
            if a.prot.write && a.share != exo_vma::Share::Shared {
                committed += a.size();
            }
        }
        mm.for_each_resident(|virt, bytes, _| {
            let i = ranges.partition_point(|&(_, end, _)| end <= virt);
            match ranges.get(i) {
                Some(&(start, _, true)) if virt >= start => mapped += bytes,
                _ => anon += bytes,
            }
        });
    }
    (anon / 1024, mapped / 1024, committed / 1024, threads)
}

pub(super) fn meminfo() -> String {
    // The heap keeps freed pages cached: hand them back so MemFree is right (as sysinfo does).
    crate::memory::heap::trim();
    let stats = crate::memory::frames::stats();
    let total = stats.managed_frames.saturating_sub(stats.reserved_frames) as u64 * 4;
    let free = crate::memory::frames::free_frames() as u64 * 4;
    let mut s = String::new();
    let mut line = |key: &str, kb: u64| {
        let _ = writeln!(s, "{:<15} {:>8} kB", format!("{key}:"), kb);
    };
    // The block cache (disk pages) is Linux's "Buffers"; its clean pages can be given back,
    // so they count as available.
    let blocks = crate::block::stats();
    let buffers = blocks.cached as u64 * 4;
    let dirty = blocks.dirty as u64 * 4;
    let cached = super::super::filemap::cached_pages() as u64 * 4;
    let (anon, mapped, committed, threads) = process_memory();
    let heap = crate::memory::heap::stats();
    let slab = heap.pages_in_use as u64 * 4;
    line("MemTotal", total);
    line("MemFree", free);
    line("MemAvailable", free + buffers.saturating_sub(dirty) + cached.saturating_sub(mapped));
    line("Buffers", buffers);
    line("Cached", cached);
    line("SwapCached", 0);
    line("Active", anon + mapped);
    line("Inactive", (buffers + cached).saturating_sub(mapped));
    line("Active(anon)", anon);
    line("Inactive(anon)", 0);
    line("Active(file)", mapped);
    line("Inactive(file)", (buffers + cached).saturating_sub(mapped));
    line("Unevictable", 0);
    line("Mlocked", 0);
    line("SwapTotal", 0);
    line("SwapFree", 0);
    line("Zswap", 0);
    line("Zswapped", 0);
    line("Dirty", dirty);
    line("Writeback", 0);
    line("AnonPages", anon);
    line("Mapped", mapped);
    line("Shmem", 0);
    line("KReclaimable", 0);
    // The kernel heap: pages it holds (slabs and large blocks), and the bytes live objects
    // use (not a Linux field; tools that parse meminfo skip unknown keys).
    line("Slab", slab);
    line("SReclaimable", 0);
    line("SUnreclaim", slab);
    line("KernelHeapLive", heap.bytes_in_use as u64 / 1024);
    line("KernelStack", threads * KERNEL_STACK / 1024);
    line("PageTables", 0);
    line("SecPageTables", 0);
    line("NFS_Unstable", 0);
    line("Bounce", 0);
    line("WritebackTmp", 0);
    // Linux's default (overcommit_ratio 50, no swap).
    line("CommitLimit", total / 2);
    line("Committed_AS", committed);
    line("VmallocTotal", 34_359_738_367);
    line("VmallocUsed", 0);
    line("VmallocChunk", 0);
    line("Percpu", 0);
    line("HardwareCorrupted", 0);
    line("AnonHugePages", 0);
    line("ShmemHugePages", 0);
    line("ShmemPmdMapped", 0);
    line("FileHugePages", 0);
    line("FilePmdMapped", 0);
    for key in ["HugePages_Total", "HugePages_Free", "HugePages_Rsvd", "HugePages_Surp"] {
        let _ = writeln!(s, "{:<15} {:>8}", format!("{key}:"), 0);
    }
    let mut line = |key: &str, kb: u64| {
        let _ = writeln!(s, "{:<15} {:>8} kB", format!("{key}:"), kb);
    };
    line("Hugepagesize", 2048);
    line("Hugetlb", 0);
    line("DirectMap4k", 0);
    line("DirectMap2M", total);
    s
}
