//! Fuzz target `multiboot2`: any bytes as a Multiboot2 boot information structure (GRUB's or
//! a hostile boot loader's). `parse` must not panic or overflow, and what it returns must be
//! within its capacities: a normalized memory map (sorted, disjoint, non-empty regions), at
//! most 16 modules, a command line of at most 1024 bytes.
//! Shared by `tests/hostfuzz.rs` (cargo test) and `fuzz/` (libFuzzer).

use exo_bootinfo::{multiboot2, BootInfo};

/// The invariants of any `BootInfo` a parser returns.
pub fn check_info(info: &BootInfo) {
    let map = &info.memory_map;
    assert!(map.is_normalized());
    let regions = map.regions();
    for r in regions {
        assert!(r.start < r.end, "{r:?}");
    }
    for w in regions.windows(2) {
        assert!(w[0].end <= w[1].start, "{:?}", w);
    }
    assert!(regions.len() <= 256);
    let _ = map.total_usable();
    assert!(info.modules().len() <= 16);
    assert!(info.cmdline.len() <= 1024);
    let _ = (info.cmdline.as_str(), info.bootloader_name.as_str());
    if let Some(r) = &info.rsdp_copy {
        assert!(r.len() == 20 || r.len() == 36 || r.len() <= 36);
    }
}

pub fn check(data: &[u8]) {
    if let Ok(info) = multiboot2::parse(data) {
        check_info(&info);
    }
}
