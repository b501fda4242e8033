//! Tests of the Multiboot2 parser on hand-built boot information structures, including
//! truncated and corrupt ones.

use super::*;
use crate::{MemoryRegion, ModuleList};
use proptest::prelude::*;
use std::{vec, vec::Vec};

/// Test-only MBI builder: appends tags with correct sizes and padding.
#[derive(Default)]
struct Mbi {
    tags: Vec<u8>,
}

impl Mbi {
    fn tag(mut self, ty: u32, body: &[u8]) -> Self {
        self.tags.extend_from_slice(&ty.to_le_bytes());
        self.tags
            .extend_from_slice(&((body.len() + 8) as u32).to_le_bytes());
        self.tags.extend_from_slice(body);
        while !self.tags.len().is_multiple_of(8) {
            self.tags.push(0xAA); // padding garbage must be ignored
        }
        self
    }

    fn string(self, ty: u32, s: &str) -> Self {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        self.tag(ty, &b)
    }

    fn module(self, start: u32, end: u32, s: &str) -> Self {
        let mut b = Vec::new();
        b.extend_from_slice(&start.to_le_bytes());
        b.extend_from_slice(&end.to_le_bytes());
        b.extend_from_slice(s.as_bytes());
        b.push(0);
        self.tag(tag::MODULE, &b)
    }

    fn mmap(self, entry_size: u32, entries: &[(u64, u64, u32)]) -> Self {
        let mut b = Vec::new();
        b.extend_from_slice(&entry_size.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        for &(base, len, ty) in entries {
            let mut e = Vec::new();
            e.extend_from_slice(&base.to_le_bytes());
            e.extend_from_slice(&len.to_le_bytes());
            e.extend_from_slice(&ty.to_le_bytes());
            e.resize(entry_size as usize, 0xEE);
            b.extend_from_slice(&e);
        }
        self.tag(tag::MMAP, &b)
    }

    fn framebuffer(self, addr: u64, pitch: u32, w: u32, h: u32, bpp: u8, ty: u8) -> Self {
        let mut b = Vec::new();
        b.extend_from_slice(&addr.to_le_bytes());
        for v in [pitch, w, h] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&[bpp, ty, 0, 0]);
        b.extend_from_slice(&[8, 16, 8, 8, 8, 0]); // RGB colour info
        self.tag(tag::FRAMEBUFFER, &b)
    }

    /// Without the end tag.
    fn build_open(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&((self.tags.len() + 8) as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&self.tags);
        out
    }

    fn build(self) -> Vec<u8> {
        self.tag(tag::END, &[]).build_open()
    }
}

fn rsdp(len: usize, fill: u8) -> Vec<u8> {
    let mut b = vec![fill; len];
    b[..8].copy_from_slice(b"RSD PTR ");
    b
}

fn full_mbi() -> Vec<u8> {
    Mbi::default()
        .tag(4, &[0; 8]) // basic meminfo: ignored
        .string(tag::BOOTLOADER_NAME, "GRUB 2.12")
        .string(tag::CMDLINE, "loglevel=7 ktest")
        .module(0x20_0000, 0x20_8000, "initramfs.cpio")
        .module(0x30_0000, 0x30_0100, "")
        .mmap(
            24,
            &[
                (0, 0x9fc00, 1),
                (0x9fc00, 0x400, 2),
                (0x10_0000, 0x3ff0_0000, 1),
                (0x4000_0000, 0x1000, 3),
            ],
        )
        .framebuffer(0xfd00_0000, 4096, 1024, 768, 32, 1)
        .tag(tag::ACPI_OLD, &rsdp(20, 1))
        .tag(99, &[1, 2, 3]) // unknown: skipped
        .build()
}

#[test]
fn parses_full_structure() {
    let info = parse(&full_mbi()).expect("valid MBI");
    assert_eq!(info.protocol, BootProtocol::Multiboot2);
    assert_eq!(info.bootloader_name.as_str(), "GRUB 2.12");
    assert_eq!(info.cmdline.as_str(), "loglevel=7 ktest");
    let m = info.modules();
    assert_eq!(m.len(), 2);
    assert_eq!(
        (m[0].start, m[0].end, m[0].cmdline.as_str()),
        (0x20_0000, 0x20_8000, "initramfs.cpio")
    );
    assert_eq!(
        (m[1].start, m[1].end, m[1].cmdline.as_str()),
        (0x30_0000, 0x30_0100, "")
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
                start: 0x9fc00,
                end: 0xa0000,
                kind: MemoryKind::Reserved
            },
            MemoryRegion {
                start: 0x10_0000,
                end: 0x4000_0000,
                kind: MemoryKind::Usable
            },
            MemoryRegion {
                start: 0x4000_0000,
                end: 0x4000_1000,
                kind: MemoryKind::AcpiReclaimable
            },
        ]
    );
    assert_eq!(
        info.framebuffer,
        Some(Framebuffer {
            addr: 0xfd00_0000,
            pitch: 4096,
            width: 1024,
            height: 768,
            bpp: 32,
            kind: FramebufferKind::Rgb
        })
    );
    assert_eq!(info.rsdp, None);
    let copy = info.rsdp_copy.expect("rsdp copy");
    assert_eq!(copy.as_bytes(), &rsdp(20, 1)[..]);
}

#[test]
fn minimal_structure_is_empty() {
    let info = parse(&Mbi::default().build()).expect("just an end tag");
    assert!(info.cmdline.is_empty());
    assert!(info.modules().is_empty());
    assert!(info.memory_map.is_empty());
    assert_eq!(info.framebuffer, None);
    assert_eq!(info.rsdp_copy, None);
}

#[test]
fn trailing_bytes_after_total_size_are_ignored() {
    let mut b = full_mbi();
    b.extend_from_slice(&[0xFF; 64]);
    assert_eq!(parse(&b).expect("ok").cmdline.as_str(), "loglevel=7 ktest");
}

#[test]
fn new_rsdp_is_preferred_in_either_order() {
    let new = rsdp(36, 2);
    for b in [
        Mbi::default()
            .tag(tag::ACPI_OLD, &rsdp(20, 1))
            .tag(tag::ACPI_NEW, &new)
            .build(),
        Mbi::default()
            .tag(tag::ACPI_NEW, &new)
            .tag(tag::ACPI_OLD, &rsdp(20, 1))
            .build(),
    ] {
        assert_eq!(
            parse(&b).expect("ok").rsdp_copy.expect("copy").as_bytes(),
            &new[..]
        );
    }
    // An oversized tag is clipped to the 36-byte capacity.
    let b = Mbi::default().tag(tag::ACPI_NEW, &rsdp(50, 3)).build();
    let copy = parse(&b).expect("ok").rsdp_copy.expect("copy");
    assert_eq!(copy.as_bytes(), &rsdp(50, 3)[..36]);
}

#[test]
fn mmap_entry_size_is_honoured() {
    // Larger entries (future versions): extra bytes skipped.
    let b = Mbi::default()
        .mmap(32, &[(0x1000, 0x3000, 1), (0x8000, 0x1000, 5)])
        .build();
    assert_eq!(
        parse(&b).expect("ok").memory_map.regions(),
        &[
            MemoryRegion {
                start: 0x1000,
                end: 0x4000,
                kind: MemoryKind::Usable
            },
            MemoryRegion {
                start: 0x8000,
                end: 0x9000,
                kind: MemoryKind::BadMemory
            },
        ]
    );
    // Entries smaller than 24 bytes cannot hold an entry: the tag is ignored.
    let b = Mbi::default().mmap(16, &[(0x1000, 0x3000, 1)]).build();
    assert!(parse(&b).expect("ok").memory_map.is_empty());
    // A partial trailing entry is ignored.
    let mut body = Vec::new();
    body.extend_from_slice(&24u32.to_le_bytes());
    body.extend_from_slice(&0u32.to_le_bytes());
    body.extend_from_slice(&0x1000u64.to_le_bytes());
    body.extend_from_slice(&0x1000u64.to_le_bytes());
    body.extend_from_slice(&1u32.to_le_bytes());
    body.extend_from_slice(&0u32.to_le_bytes());
    body.extend_from_slice(&[1; 20]);
    let b = Mbi::default().tag(tag::MMAP, &body).build();
    assert_eq!(parse(&b).expect("ok").memory_map.regions().len(), 1);
    // An mmap tag too short for its header is ignored.
    let b = Mbi::default().tag(tag::MMAP, &[24, 0, 0]).build();
    assert!(parse(&b).expect("ok").memory_map.is_empty());
}

#[test]
fn too_many_entries_are_clipped() {
    let entries: Vec<_> = (0..200u64).map(|i| (i * 0x2000, 0x1000, 1)).collect();
    let mut mbi = Mbi::default().mmap(24, &entries);
    for i in 0..20 {
        mbi = mbi.module(i * 0x1000, i * 0x1000 + 0x10, "m");
    }
    let info = parse(&mbi.build()).expect("ok");
    assert_eq!(info.memory_map.regions().len(), 128);
    assert!(info.memory_map.overflowed());
    assert_eq!(info.modules().len(), ModuleList::CAPACITY);
    assert!(info.modules.overflowed());
}

#[test]
fn malformed_tag_contents_are_skipped_or_clipped() {
    let long = "x".repeat(3000);
    let b = Mbi::default()
        .tag(tag::MODULE, &[1, 2, 3]) // too short: skipped
        .module(0x5000, 0x1000, "backwards") // end < start: clipped to empty
        .tag(tag::FRAMEBUFFER, &[0; 10]) // too short: ignored
        .framebuffer(0xb8000, 160, 80, 25, 16, 7) // unknown type: ignored
        .tag(tag::CMDLINE, long.as_bytes()) // no NUL, too long: clipped
        .tag(tag::BOOTLOADER_NAME, b"ab\0cd\0")
        .build();
    let info = parse(&b).expect("ok");
    assert_eq!(info.modules().len(), 1);
    assert_eq!(
        (info.modules()[0].start, info.modules()[0].end),
        (0x5000, 0x5000)
    );
    assert_eq!(info.framebuffer, None);
    assert_eq!(info.cmdline.len(), 1024);
    assert!(info.cmdline.truncated());
    assert_eq!(info.bootloader_name.as_str(), "ab");

    let b = Mbi::default()
        .framebuffer(0xb8000, 160, 80, 25, 16, 2)
        .build();
    assert_eq!(
        parse(&b).expect("ok").framebuffer.map(|f| f.kind),
        Some(FramebufferKind::EgaText)
    );
}

#[test]
fn container_errors() {
    assert_eq!(parse(&[]).unwrap_err(), BootError::Truncated);
    assert_eq!(parse(&[16, 0, 0]).unwrap_err(), BootError::Truncated);
    assert_eq!(
        parse(&[4, 0, 0, 0, 0, 0, 0, 0]).unwrap_err(),
        BootError::Corrupt { offset: 0 }
    );

    let good = full_mbi();
    // The slice is shorter than total_size.
    assert_eq!(
        parse(&good[..good.len() - 1]).unwrap_err(),
        BootError::Truncated
    );
    // No end tag.
    let open = Mbi::default().string(tag::CMDLINE, "x").build_open();
    assert_eq!(parse(&open).unwrap_err(), BootError::Truncated);
    // total_size of only the header: no room for any tag.
    assert_eq!(
        parse(&[8, 0, 0, 0, 0, 0, 0, 0]).unwrap_err(),
        BootError::Truncated
    );

    // A tag whose size is smaller than its header.
    let mut b = Mbi::default().string(tag::CMDLINE, "abc").build();
    b[12..16].copy_from_slice(&4u32.to_le_bytes());
    assert_eq!(parse(&b).unwrap_err(), BootError::Corrupt { offset: 12 });
    // A tag whose size runs past total_size.
    b[12..16].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    assert_eq!(parse(&b).unwrap_err(), BootError::Truncated);
    // total_size cuts the end tag in half.
    let mut b = Mbi::default().build();
    b[0..4].copy_from_slice(&12u32.to_le_bytes());
    assert_eq!(parse(&b).unwrap_err(), BootError::Truncated);
}

#[test]
fn error_messages() {
    use std::string::ToString;
    assert_eq!(
        BootError::Truncated.to_string(),
        "boot information is truncated"
    );
    assert_eq!(
        BootError::Unreadable { paddr: 0x1000 }.to_string(),
        "boot information at physical address 0x1000 is unreadable"
    );
    assert!(BootError::BadMagic.to_string().contains("magic"));
    assert!(BootError::Corrupt { offset: 12 }.to_string().contains("12"));
}

proptest! {
    #[test]
    fn random_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..512), fix_size in any::<bool>()) {
        if fix_size && bytes.len() >= 4 {
            let n = bytes.len() as u32;
            bytes[..4].copy_from_slice(&n.to_le_bytes());
        }
        if let Ok(info) = parse(&bytes) {
            prop_assert!(info.memory_map.is_normalized());
            prop_assert!(info.modules().len() <= ModuleList::CAPACITY);
        }
    }

    #[test]
    fn corrupting_a_valid_mbi_never_panics(pos in 0usize..400, val in any::<u8>(), cut in 0usize..400) {
        let mut b = full_mbi();
        let len = b.len();
        b[pos % len] = val;
        let cut = cut.min(len);
        // Cutting the slice below total_size is always detected.
        let r = parse(&b[..cut]);
        let total = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
        if cut < total || cut < 4 {
            prop_assert!(r.is_err());
        }
        let _ = parse(&b);
    }
}
