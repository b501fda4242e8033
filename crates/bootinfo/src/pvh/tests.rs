//! Tests of the PVH parser over a fake physical memory made of a few byte windows.

use super::*;
use crate::MemoryRegion;
use proptest::prelude::*;
use std::{cell::Cell, collections::BTreeMap, vec, vec::Vec};

/// Sparse physical memory made of 4 KiB pages; reads touching an absent page fail, as they
/// would on unmapped memory. Counts reads so tests can check that hostile counts do not cause
/// unbounded work.
#[derive(Default)]
struct FakeMem {
    pages: BTreeMap<u64, Vec<u8>>,
    reads: Cell<usize>,
}

const PAGE: u64 = 4096;

impl FakeMem {
    /// Writes `bytes` at `paddr`, creating zero-filled pages as needed.
    fn map(&mut self, paddr: u64, bytes: Vec<u8>) {
        for (i, b) in bytes.into_iter().enumerate() {
            let a = paddr + i as u64;
            self.pages
                .entry(a / PAGE)
                .or_insert_with(|| vec![0; PAGE as usize])[(a % PAGE) as usize] = b;
        }
    }
}

impl PhysMemory for FakeMem {
    fn read(&self, paddr: u64, buf: &mut [u8]) -> bool {
        self.reads.set(self.reads.get() + 1);
        for (i, out) in buf.iter_mut().enumerate() {
            let Some(a) = paddr.checked_add(i as u64) else {
                return false;
            };
            match self.pages.get(&(a / PAGE)) {
                Some(page) => *out = page[(a % PAGE) as usize],
                None => return false,
            }
        }
        true
    }
}

struct StartInfo {
    version: u32,
    nr_modules: u32,
    modlist: u64,
    cmdline: u64,
    rsdp: u64,
    memmap: u64,
    memmap_entries: u32,
}

impl StartInfo {
    fn bytes(&self) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&START_INFO_MAGIC.to_le_bytes());
        b.extend_from_slice(&self.version.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes()); // flags
        b.extend_from_slice(&self.nr_modules.to_le_bytes());
        b.extend_from_slice(&self.modlist.to_le_bytes());
        b.extend_from_slice(&self.cmdline.to_le_bytes());
        b.extend_from_slice(&self.rsdp.to_le_bytes());
        if self.version >= 1 {
            b.extend_from_slice(&self.memmap.to_le_bytes());
            b.extend_from_slice(&self.memmap_entries.to_le_bytes());
            b.extend_from_slice(&0u32.to_le_bytes());
        }
        b
    }
}

fn empty_v1() -> StartInfo {
    StartInfo {
        version: 1,
        nr_modules: 0,
        modlist: 0,
        cmdline: 0,
        rsdp: 0,
        memmap: 0,
        memmap_entries: 0,
    }
}

fn memmap_entry(addr: u64, size: u64, ty: u32) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&addr.to_le_bytes());
    b.extend_from_slice(&size.to_le_bytes());
    b.extend_from_slice(&ty.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b
}

fn mod_entry(paddr: u64, size: u64, cmdline: u64) -> Vec<u8> {
    let mut b = Vec::new();
    for v in [paddr, size, cmdline, 0] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b
}

fn cstr(s: &str) -> Vec<u8> {
    let mut b = s.as_bytes().to_vec();
    b.push(0);
    b
}

const SI: u64 = 0x7000;

#[test]
fn full_v1_start_info() {
    let mut mem = FakeMem::default();
    let si = StartInfo {
        version: 1,
        nr_modules: 2,
        modlist: 0x8000,
        cmdline: 0x9000,
        rsdp: 0xf_5a40,
        memmap: 0xa000,
        memmap_entries: 3,
    };
    mem.map(SI, si.bytes());
    let mut ml = mod_entry(0x20_0000, 0x1234, 0x9100);
    ml.extend(mod_entry(0x30_0000, 0x10, 0));
    mem.map(0x8000, ml);
    mem.map(0x9000, cstr("ktest=mm panic=exit"));
    mem.map(0x9100, cstr("initramfs"));
    let mut mm = memmap_entry(0, 0x9fc00, 1);
    mm.extend(memmap_entry(0x10_0000, 0x7f0_0000, 1));
    mm.extend(memmap_entry(0xfeff_c000, 0x4000, 2));
    mem.map(0xa000, mm);

    let info = parse(&mem, SI).expect("valid start info");
    assert_eq!(info.protocol, BootProtocol::Pvh);
    assert_eq!(info.cmdline.as_str(), "ktest=mm panic=exit");
    assert_eq!(info.rsdp, Some(0xf_5a40));
    assert_eq!(info.rsdp_copy, None);
    assert_eq!(info.framebuffer, None);
    assert!(info.bootloader_name.is_empty());
    let mods = info.modules();
    assert_eq!(mods.len(), 2);
    assert_eq!(
        (mods[0].start, mods[0].end, mods[0].cmdline.as_str()),
        (0x20_0000, 0x20_1234, "initramfs")
    );
    assert_eq!(
        (mods[1].start, mods[1].end, mods[1].cmdline.as_str()),
        (0x30_0000, 0x30_0010, "")
    );
    assert_eq!(
        info.memory_map.regions(),
        &[
            MemoryRegion {
                start: 0,
                end: 0x9f000,
                kind: MemoryKind::Usable
            },
            MemoryRegion {
                start: 0x10_0000,
                end: 0x800_0000,
                kind: MemoryKind::Usable
            },
            MemoryRegion {
                start: 0xfeff_c000,
                end: 0xff00_0000,
                kind: MemoryKind::Reserved
            },
        ]
    );
}

#[test]
fn version0_has_no_memmap_and_ignores_following_bytes() {
    let mut mem = FakeMem::default();
    let si = StartInfo {
        version: 0,
        memmap: 0xa000,
        memmap_entries: 3,
        ..empty_v1()
    };
    // The 40-byte v0 structure ends at a page boundary: reading v1 fields would fail.
    let at = 0x8000 - V0_SIZE as u64;
    mem.map(at, si.bytes());
    mem.map(0xa000, memmap_entry(0, 0x10_0000, 1));
    let info = parse(&mem, at).expect("v0 start info");
    assert!(info.memory_map.is_empty());
    assert_eq!(info.rsdp, None);
    assert!(info.cmdline.is_empty());
}

#[test]
fn bad_magic_and_unreadable() {
    let mut mem = FakeMem::default();
    let mut bytes = empty_v1().bytes();
    bytes[0] ^= 1;
    mem.map(SI, bytes);
    assert_eq!(parse(&mem, SI).unwrap_err(), BootError::BadMagic);
    assert_eq!(
        parse(&mem, 0x1_0000).unwrap_err(),
        BootError::Unreadable { paddr: 0x1_0000 }
    );
    assert_eq!(
        parse(&mem, u64::MAX - 8).unwrap_err(),
        BootError::Unreadable {
            paddr: u64::MAX - 8
        }
    );

    // v1 header cut after the v0 part (next page unmapped).
    let mut mem = FakeMem::default();
    let at = 0x8000 - V0_SIZE as u64;
    mem.map(at, empty_v1().bytes()[..V0_SIZE].to_vec());
    assert_eq!(
        parse(&mem, at).unwrap_err(),
        BootError::Unreadable { paddr: 0x8000 }
    );
}

#[test]
fn unreadable_lists_are_errors() {
    let mut mem = FakeMem::default();
    mem.map(
        SI,
        StartInfo {
            nr_modules: 1,
            modlist: 0x8000,
            ..empty_v1()
        }
        .bytes(),
    );
    assert_eq!(
        parse(&mem, SI).unwrap_err(),
        BootError::Unreadable { paddr: 0x8000 }
    );

    let mut mem = FakeMem::default();
    mem.map(
        SI,
        StartInfo {
            nr_modules: 1,
            modlist: 0,
            ..empty_v1()
        }
        .bytes(),
    );
    assert_eq!(
        parse(&mem, SI).unwrap_err(),
        BootError::Unreadable { paddr: 0 }
    );

    let mut mem = FakeMem::default();
    mem.map(
        SI,
        StartInfo {
            memmap: 0xafe8,
            memmap_entries: 2,
            ..empty_v1()
        }
        .bytes(),
    );
    mem.map(0xafe8, memmap_entry(0, 0x10_0000, 1)); // the second entry is on an unmapped page
    assert_eq!(
        parse(&mem, SI).unwrap_err(),
        BootError::Unreadable { paddr: 0xb000 }
    );

    // A list whose entries would wrap around the address space.
    let mut mem = FakeMem::default();
    mem.map(
        SI,
        StartInfo {
            memmap: u64::MAX - 30,
            memmap_entries: 5,
            ..empty_v1()
        }
        .bytes(),
    );
    assert!(matches!(parse(&mem, SI), Err(BootError::Unreadable { .. })));
}

#[test]
fn huge_counts_are_clipped_with_bounded_reads() {
    let mut mem = FakeMem::default();
    let si = StartInfo {
        nr_modules: u32::MAX,
        modlist: 0x10_0000,
        memmap: 0x20_0000,
        memmap_entries: u32::MAX,
        ..empty_v1()
    };
    mem.map(SI, si.bytes());
    let mods: Vec<u8> = (0..64u64)
        .flat_map(|i| mod_entry(i * 0x1000, 0x1000, 0))
        .collect();
    mem.map(0x10_0000, mods);
    let map: Vec<u8> = (0..1000u64)
        .flat_map(|i| memmap_entry(i * 0x2000, 0x1000, 1))
        .collect();
    mem.map(0x20_0000, map);

    let info = parse(&mem, SI).expect("clipped");
    assert_eq!(info.modules().len(), ModuleList::CAPACITY);
    assert!(info.modules.overflowed());
    assert_eq!(info.memory_map.regions().len(), MemoryMap::CAPACITY);
    assert!(info.memory_map.overflowed());
    assert!(mem.reads.get() <= 2 + ModuleList::CAPACITY + MemoryMap::CAPACITY + 1);
}

#[test]
fn cmdline_is_capped_and_clipped() {
    // A string with no NUL that runs far past the capacity.
    let mut mem = FakeMem::default();
    mem.map(
        SI,
        StartInfo {
            cmdline: 0x9003,
            ..empty_v1()
        }
        .bytes(),
    );
    mem.map(0x9000, vec![b'a'; 8192]);
    let info = parse(&mem, SI).expect("ok");
    assert_eq!(info.cmdline.len(), 1024);
    assert!(info.cmdline.truncated());
    assert!(mem.reads.get() < 30);

    // A string that runs into unreadable memory is clipped there.
    let mut mem = FakeMem::default();
    mem.map(
        SI,
        StartInfo {
            cmdline: 0x9ffa,
            ..empty_v1()
        }
        .bytes(),
    );
    mem.map(0x9000, vec![b'x'; 0x1000]);
    let info = parse(&mem, SI).expect("ok");
    assert_eq!(info.cmdline.as_str(), "xxxxxx");
    assert!(info.cmdline.truncated());

    // A string ending right before an unreadable page is read whole.
    let mut mem = FakeMem::default();
    mem.map(
        SI,
        StartInfo {
            cmdline: 0x9ffa,
            ..empty_v1()
        }
        .bytes(),
    );
    let mut page = vec![0u8; 0x1000];
    page[0xffa..].copy_from_slice(b"quiet\0");
    mem.map(0x9000, page);
    let info = parse(&mem, SI).expect("ok");
    assert_eq!(info.cmdline.as_str(), "quiet");
    assert!(!info.cmdline.truncated());

    // Exactly the capacity, NUL in the following chunk: complete, not truncated.
    let mut mem = FakeMem::default();
    mem.map(
        SI,
        StartInfo {
            cmdline: 0x9000,
            ..empty_v1()
        }
        .bytes(),
    );
    let mut s = vec![b'k'; 1024];
    s.push(0);
    mem.map(0x9000, s);
    let info = parse(&mem, SI).expect("ok");
    assert_eq!(info.cmdline.len(), 1024);
    assert!(!info.cmdline.truncated());
}

proptest! {
    /// Random bytes behind the start info and every pointer it holds never cause a panic, and
    /// results respect the capacities.
    #[test]
    fn random_start_info_never_panics(
        mut header in proptest::collection::vec(any::<u8>(), 56),
        blob in proptest::collection::vec(any::<u8>(), 0..4096),
        use_magic in any::<bool>(),
        ptrs in proptest::collection::vec(0x1_0000u64..0x1_1000, 4),
    ) {
        if use_magic {
            header[..4].copy_from_slice(&START_INFO_MAGIC.to_le_bytes());
            // Point the pointer fields into the random blob half of the time.
            for (i, off) in [16usize, 24, 32, 40].iter().enumerate() {
                if ptrs[i] & 1 == 0 {
                    header[*off..off + 8].copy_from_slice(&ptrs[i].to_le_bytes());
                }
            }
        }
        let mut mem = FakeMem::default();
        mem.map(SI, header);
        mem.map(0x1_0000, blob);
        if let Ok(info) = parse(&mem, SI) {
            prop_assert!(info.modules().len() <= ModuleList::CAPACITY);
            prop_assert!(info.memory_map.is_normalized());
            prop_assert!(info.cmdline.len() <= 1024);
        }
        prop_assert!(mem.reads.get() < 2000);
    }
}
