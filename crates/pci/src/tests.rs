//! Host tests: a fake function whose configuration space behaves like hardware (BARs with
//! read-only low bits and size masks, read-only ids), sizing, capability walks including
//! hostile lists, MSI/MSI-X parsing, addressing and the /proc line format.

use std::string::String;
use std::vec::Vec;

use proptest::prelude::*;

use crate::bar::{self, BarKind};
use crate::caps::{self, Capabilities, MsiCap, MsixCap};
use crate::proc;
use crate::*;

/// A fake function: 4 KiB of registers, and per-BAR writable masks (bits that accept writes;
/// the rest read back as the register's fixed value).
#[derive(Clone)]
struct Fake {
    space: [u32; 1024],
    /// (register offset, writable mask) of BARs and the ROM.
    masks: Vec<(u16, u32)>,
    writes: Vec<(u16, u32)>,
}

impl Fake {
    fn new(vendor: u16, device: u16, class: u32, header_type: u8) -> Fake {
        let mut f = Fake { space: [0; 1024], masks: Vec::new(), writes: Vec::new() };
        f.space[0] = u32::from(device) << 16 | u32::from(vendor);
        f.space[2] = class << 8 | 0x02;
        f.space[3] = u32::from(header_type) << 16;
        f.space[0x3c / 4] = 0x0000_010b; // pin INTA, line 11
        f
    }

    /// A memory or I/O BAR of `size` bytes at `addr` in register `offset`.
    fn bar(&mut self, offset: u16, low_bits: u32, addr: u32, size: u32) {
        self.space[usize::from(offset / 4)] = addr | low_bits;
        let keep = if low_bits & 1 != 0 { 0x3 } else { 0xf };
        self.masks.push((offset, !(size - 1) & !keep));
    }

    fn bar64(&mut self, offset: u16, low_bits: u32, addr: u64, size: u64) {
        self.space[usize::from(offset / 4)] = addr as u32 | low_bits;
        self.space[usize::from(offset / 4) + 1] = (addr >> 32) as u32;
        let mask = !(size - 1);
        self.masks.push((offset, mask as u32 & !0xf));
        self.masks.push((offset + 4, (mask >> 32) as u32));
    }

    /// Appends a capability at `offset` with `id` pointing to `next`, and the status bit.
    fn cap(&mut self, offset: u8, id: u8, next: u8, rest: u16) {
        self.space[usize::from(offset) / 4] = u32::from(rest) << 16 | u32::from(next) << 8 | u32::from(id);
        self.space[1] |= u32::from(STATUS_CAPABILITIES) << 16;
        if self.space[0x34 / 4] == 0 {
            self.space[0x34 / 4] = u32::from(offset);
        }
    }
}

impl ConfigSpace for Fake {
    fn read32(&self, offset: u16) -> u32 {
        self.space.get(usize::from(offset / 4)).copied().unwrap_or(!0)
    }

    fn write32(&mut self, offset: u16, value: u32) {
        self.writes.push((offset, value));
        let slot = usize::from(offset / 4);
        if slot >= self.space.len() || offset < 4 {
            return;
        }
        match self.masks.iter().find(|(o, _)| *o == offset & !3) {
            Some(&(_, mask)) => self.space[slot] = (self.space[slot] & !mask) | (value & mask),
            // Unimplemented BARs and ROM are hard-wired to zero.
            None if (0x10..0x28).contains(&offset) || offset == 0x30 => {}
            None => self.space[slot] = value,
        }
    }
}

fn q35_virtio_net() -> Fake {
    let mut f = Fake::new(0x1af4, 0x1041, 0x02_00_00, 0);
    f.bar(0x10, 0x1, 0xc040, 0x20); // I/O
    f.bar(0x14, 0x0, 0xfebd_1000, 0x1000); // 32-bit memory (MSI-X table)
    f.bar64(0x20, 0xc, 0xfe00_0000, 0x4000); // 64-bit prefetchable (virtio structures)
    f.space[0x30 / 4] = 0xfeb8_0000;
    f.masks.push((0x30, 0xfffc_0000 | 1)); // 256 KiB ROM
    f.cap(0x98, caps::CAP_MSIX, 0x84, 0x0002); // 3 entries
    f.space[0x9c / 4] = 0x0000_0001; // table in BAR1 at 0
    f.space[0xa0 / 4] = 0x0000_0801; // PBA in BAR1 at 0x800
    f.cap(0x84, caps::CAP_VENDOR, 0x70, 0x0114);
    f.cap(0x70, caps::CAP_VENDOR, 0x00, 0x0310);
    f
}

#[test]
fn header_fields_are_decoded() {
    let f = q35_virtio_net();
    let h = Header::read(&f).unwrap();
    assert_eq!((h.vendor_id, h.device_id), (0x1af4, 0x1041));
    assert_eq!((h.class, h.subclass, h.prog_if, h.revision), (2, 0, 0, 2));
    assert_eq!(h.class_code(), 0x020000);
    assert_eq!(h.kind, HeaderKind::Device);
    assert!(!h.multifunction);
    assert_eq!((h.interrupt_line, h.interrupt_pin), (11, 1));
    assert!(h.has_capabilities());
    assert_eq!(class_name(h.class, h.subclass), "Ethernet controller");
}

#[test]
fn absent_function_has_no_header() {
    let mut f = Fake::new(0xffff, 0xffff, 0, 0);
    assert_eq!(Header::read(&f), None);
    f.space[0] = 0;
    assert_eq!(Header::read(&f), None);
}

#[test]
fn multifunction_and_bridge_headers() {
    let mut f = Fake::new(0x8086, 0x2918, 0x06_01_00, 0x80);
    let h = Header::read(&f).unwrap();
    assert!(h.multifunction);
    assert_eq!(h.kind, HeaderKind::Device);
    assert_eq!(class_name(h.class, h.subclass), "ISA bridge");
    f = Fake::new(0x1b36, 0x000c, 0x06_04_00, 0x01);
    f.space[0x18 / 4] = 0x00_05_01_00;
    let h = Header::read(&f).unwrap();
    assert_eq!(h.kind, HeaderKind::Bridge);
    assert_eq!((h.secondary_bus, h.subordinate_bus), (1, 5));
    assert_eq!(h.bar_count(), 2);
}

#[test]
fn bars_are_sized_and_restored() {
    let mut f = q35_virtio_net();
    f.space[1] |= 0x7; // I/O, memory, bus master on
    let before = f.space;
    let h = Header::read(&f).unwrap();
    let bars = bar::probe(&mut f, &h);
    let io = bars[0].unwrap();
    assert_eq!((io.kind, io.address, io.size, io.flags), (BarKind::Io, 0xc040, 0x20, 1));
    let m32 = bars[1].unwrap();
    assert_eq!((m32.kind, m32.address, m32.size, m32.prefetchable), (BarKind::Mem32, 0xfebd_1000, 0x1000, false));
    assert_eq!((bars[2], bars[3]), (None, None));
    let m64 = bars[4].unwrap();
    assert_eq!((m64.kind, m64.address, m64.size, m64.prefetchable, m64.flags), (BarKind::Mem64, 0xfe00_0000, 0x4000, true, 0xc));
    assert_eq!(bars[5], None);
    let rom = bars[6].unwrap();
    assert_eq!((rom.kind, rom.address, rom.size), (BarKind::Rom, 0xfeb8_0000, 0x4_0000));
    assert_eq!(f.space, before, "every register is restored");
    // Decoding was off while a BAR held all ones.
    let mut command_off = false;
    for &(offset, value) in &f.writes {
        if offset == 4 {
            command_off = value & 3 == 0;
        }
        if (0x10..0x28).contains(&offset) && value == 0xffff_ffff {
            assert!(command_off, "BAR {offset:#x} probed with decoding on");
        }
    }
}

#[test]
fn bar_above_4g_and_edge_cases() {
    let mut f = Fake::new(1, 2, 0, 0);
    f.bar64(0x10, 0x4, 0x8_0000_0000, 0x1_0000_0000);
    // A 64-bit BAR in the last register has no high half: ignored.
    f.space[0x24 / 4] = 0x4;
    f.masks.push((0x24, 0xffff_f000));
    let h = Header::read(&f).unwrap();
    let bars = bar::probe(&mut f, &h);
    let b = bars[0].unwrap();
    assert_eq!((b.address, b.size, b.end()), (0x8_0000_0000, 0x1_0000_0000, Some(0x8_ffff_ffff)));
    assert_eq!(bars[5], None);
    // Reserved memory type 3 and unimplemented BARs.
    assert_eq!(bar::decode(0, 0x6, 0xffff_f006, None), None);
    assert_eq!(bar::decode(0, 0, 0, None), None);
    // An I/O BAR whose upper half reads 0 (16-bit decoder).
    let io = bar::decode(0, 0xc001, 0x0000_ffe1, None).unwrap();
    assert_eq!(io.size, 0x20);
}

#[test]
fn capability_walk_finds_msix() {
    let f = q35_virtio_net();
    let h = Header::read(&f).unwrap();
    let mut walk = Capabilities::new(&f, &h);
    let ids: Vec<(u8, u8)> = walk.by_ref().map(|c| (c.offset, c.id)).collect();
    assert_eq!(ids, [(0x98, 0x11), (0x84, 0x09), (0x70, 0x09)]);
    assert!(!walk.looped());
    let cap = caps::find(&f, &h, caps::CAP_MSIX).unwrap();
    let msix = MsixCap::read(&f, cap).unwrap();
    assert_eq!(msix.table_size, 3);
    assert_eq!((msix.table_bar, msix.table_offset, msix.pba_bar, msix.pba_offset), (1, 0, 1, 0x800));
    assert_eq!(msix.entry_offset(2), Some(32));
    assert_eq!(msix.entry_offset(3), None);
    assert!(msix.table_fits(0x1000));
    assert!(!msix.table_fits(0x20));
    assert!(!msix.enabled);
}

#[test]
fn circular_capability_lists_end() {
    let mut f = Fake::new(1, 2, 0, 0);
    f.cap(0x40, 0x01, 0x50, 0);
    f.cap(0x50, 0x05, 0x40, 0); // back to the first
    let h = Header::read(&f).unwrap();
    let mut walk = Capabilities::new(&f, &h);
    assert_eq!(walk.by_ref().count(), 2);
    assert!(walk.looped());
    // A self-loop, a pointer into the header, misaligned pointers.
    let mut f = Fake::new(1, 2, 0, 0);
    f.cap(0x60, 0x11, 0x61, 0);
    let h = Header::read(&f).unwrap();
    assert_eq!(Capabilities::new(&f, &h).count(), 1);
    f.space[0x60 / 4] = 0x0000_1011; // next = 0x10, inside the header
    assert_eq!(Capabilities::new(&f, &h).count(), 1);
}

#[test]
fn no_capability_bit_means_no_walk() {
    let mut f = Fake::new(1, 2, 0, 0);
    f.space[0x34 / 4] = 0x40;
    f.space[0x40 / 4] = 0x11;
    let h = Header::read(&f).unwrap();
    assert_eq!(Capabilities::new(&f, &h).count(), 0);
}

#[test]
fn msi_capability_is_programmed() {
    let mut f = Fake::new(1, 2, 0, 0);
    f.cap(0x50, caps::CAP_MSI, 0, (1 << 7) | (1 << 8) | (2 << 1)); // 64-bit, masking, 4 vectors
    let h = Header::read(&f).unwrap();
    let cap = caps::find(&f, &h, caps::CAP_MSI).unwrap();
    let msi = MsiCap::read(&f, cap).unwrap();
    assert!(msi.is_64bit && msi.per_vector_mask);
    assert_eq!(msi.multiple_capable, 2);
    let msg = caps::x86_message(3, 0x51);
    assert_eq!(msg, caps::MsiMessage { address: 0xfee0_3000, data: 0x51 });
    msi.program(&mut f, msg, true);
    assert_eq!(f.space[0x54 / 4], 0xfee0_3000);
    assert_eq!(f.space[0x58 / 4], 0);
    assert_eq!(f.space[0x5c / 4] & 0xffff, 0x51);
    let control = f.space[0x50 / 4] >> 16;
    assert_eq!(control & 1, 1);
    assert_eq!(control & 0x70, 0, "one vector only");
    // A 32-bit capability keeps its data register at +8.
    let mut g = Fake::new(1, 2, 0, 0);
    g.cap(0x50, caps::CAP_MSI, 0, 0);
    let h = Header::read(&g).unwrap();
    let msi = MsiCap::read(&g, caps::find(&g, &h, caps::CAP_MSI).unwrap()).unwrap();
    msi.program(&mut g, msg, false);
    assert_eq!(g.space[0x58 / 4] & 0xffff, 0x51);
    assert_eq!((g.space[0x50 / 4] >> 16) & 1, 0);
}

#[test]
fn msix_control_and_entries() {
    let mut f = q35_virtio_net();
    let h = Header::read(&f).unwrap();
    let msix = MsixCap::read(&f, caps::find(&f, &h, caps::CAP_MSIX).unwrap()).unwrap();
    msix.set_control(&mut f, true, true);
    assert_eq!(f.space[0x98 / 4] >> 16, 0xc002);
    msix.set_control(&mut f, true, false);
    assert_eq!(f.space[0x98 / 4] >> 16, 0x8002);
    assert_eq!(f.space[0x98 / 4] & 0xffff, 0x8411, "id and next untouched");
    let words = caps::msix_entry_words(caps::x86_message(0, 0x50), false);
    assert_eq!(words, [0xfee0_0000, 0, 0x50, 0]);
    assert_eq!(caps::msix_entry_words(caps::x86_message(1, 0x50), true)[3], 1);
    // A table BIR above 5 is refused.
    f.space[0x9c / 4] = 0x6;
    assert_eq!(MsixCap::read(&f, caps::find(&f, &h, caps::CAP_MSIX).unwrap()), None);
}

#[test]
fn addressing() {
    let bdf = Bdf::new(0, 2, 0).unwrap();
    assert_eq!(bdf.devfn(), 0x10);
    assert_eq!(std::format!("{bdf}"), "00:02.0");
    assert_eq!(legacy_address(bdf, 0x3e), 0x8000_103c);
    assert_eq!(legacy_address(Bdf::new(0xff, 31, 7).unwrap(), 0xff), 0x80ff_fffc);
    assert_eq!(Bdf::new(0, 32, 0), None);
    assert_eq!(Bdf::new(0, 0, 8), None);
    let w = EcamWindow { base: 0xb000_0000, segment: 0, start_bus: 0, end_bus: 0xff };
    assert_eq!(w.address(bdf, 0x10), Some(0xb001_0010));
    assert_eq!(w.address(Bdf::new(1, 0, 1).unwrap(), 0xffc), Some(0xb010_1ffc));
    assert_eq!(w.address(bdf, 4096), None);
    assert_eq!(w.mapped_range(), Some((0xb000_0000, 256 << 20)));
    let part = EcamWindow { base: 0xe000_0000, segment: 0, start_bus: 2, end_bus: 3 };
    assert_eq!(part.address(Bdf::new(1, 0, 0).unwrap(), 0), None);
    assert_eq!(part.address(Bdf::new(2, 0, 0).unwrap(), 0), Some(0xe020_0000));
    assert_eq!(part.offset(Bdf::new(3, 1, 0).unwrap(), 8), Some(0x10_8008));
    assert_eq!(part.mapped_range(), Some((0xe020_0000, 2 << 20)));
    let bad = EcamWindow { base: u64::MAX - 10, segment: 0, start_bus: 0, end_bus: 0 };
    assert_eq!(bad.mapped_range(), None);
    assert_eq!(bad.address(Bdf::new(0, 1, 0).unwrap(), 0), None);
    let reversed = EcamWindow { base: 0, segment: 0, start_bus: 5, end_bus: 4 };
    assert_eq!(reversed.mapped_range(), None);
}

#[test]
fn proc_line_matches_linux() {
    let mut f = q35_virtio_net();
    let h = Header::read(&f).unwrap();
    let bars = bar::probe(&mut f, &h);
    let mut line = String::new();
    let entry = proc::Entry {
        bdf: Bdf::new(0, 2, 0).unwrap(),
        vendor_id: h.vendor_id,
        device_id: h.device_id,
        irq: 11,
        bars: &bars,
        driver: "virtio-net",
    };
    proc::devices_line(&mut line, &entry).unwrap();
    let expected = "0010\t1af41041\tb\
        \t            c041\t        febd1000\t               0\t               0\t        fe00000c\t               0\t        feb80000\
        \t              20\t            1000\t               0\t               0\t            4000\t               0\t           40000\
        \tvirtio-net\n";
    assert_eq!(line, expected);
    let fields: Vec<&str> = line.trim_end().split('\t').collect();
    assert_eq!(fields.len(), 18);
}

/// A fake whose registers hold arbitrary values and accept arbitrary writes (a hostile device).
struct Chaos(Vec<u32>);

impl ConfigSpace for Chaos {
    fn read32(&self, offset: u16) -> u32 {
        self.0[usize::from(offset / 4) % self.0.len()]
    }
    fn write32(&mut self, offset: u16, value: u32) {
        let n = self.0.len();
        self.0[usize::from(offset / 4) % n] = value.rotate_left(u32::from(offset));
    }
}

proptest! {
    /// Any configuration space: parsing, sizing and walking finish without panicking, every
    /// size is a power of two and the walk visits each offset once.
    #[test]
    fn hostile_config_space_is_survived(words in proptest::collection::vec(any::<u32>(), 64)) {
        let mut chaos = Chaos(words);
        if let Some(h) = Header::read(&chaos) {
            let caps: Vec<_> = Capabilities::new(&chaos, &h).collect();
            prop_assert!(caps.len() <= caps::MAX_CAPABILITIES);
            let mut offsets: Vec<u8> = caps.iter().map(|c| c.offset).collect();
            offsets.sort_unstable();
            offsets.dedup();
            prop_assert_eq!(offsets.len(), caps.len());
            for c in &caps {
                prop_assert!(c.offset >= 0x40 && c.offset % 4 == 0);
                let _ = MsiCap::read(&chaos, *c);
                if let Some(m) = MsixCap::read(&chaos, *c) {
                    prop_assert!(m.table_size >= 1 && m.table_size <= 2048);
                    let _ = m.entry_offset(u16::MAX);
                }
            }
            for b in bar::probe(&mut chaos, &h).iter().flatten() {
                prop_assert!(b.size.is_power_of_two());
                let _ = b.end();
            }
            let mut s = String::new();
            let bars = [None; 7];
            let e = proc::Entry { bdf: Bdf::new(0, 0, 0).unwrap(), vendor_id: h.vendor_id, device_id: h.device_id, irq: 0, bars: &bars, driver: "" };
            proc::devices_line(&mut s, &e).unwrap();
        }
    }

    /// Decoding a BAR whose size mask is `size`: the size comes back exactly.
    #[test]
    fn bar_sizes_round_trip(shift in 4u32..32, addr in any::<u32>(), prefetch in any::<bool>()) {
        let size = 1u32 << shift;
        let low = if prefetch { 0x8 } else { 0 };
        let raw = (addr & !(size - 1) & !0xf) | low;
        let probe = !(size - 1) & !0xf | low;
        let b = bar::decode(1, raw, probe, None).unwrap();
        prop_assert_eq!(b.size, u64::from(size));
        prop_assert_eq!(b.address, u64::from(raw & !0xf));
        prop_assert_eq!(b.prefetchable, prefetch);
    }

    /// The legacy address word and the ECAM offset encode the same (bus, device, function,
    /// register) and nothing overlaps.
    #[test]
    fn addresses_encode_every_field(bus in any::<u8>(), dev in 0u8..32, func in 0u8..8, off in 0u16..4096) {
        let bdf = Bdf::new(bus, dev, func).unwrap();
        let w = EcamWindow { base: 0xb000_0000, segment: 0, start_bus: 0, end_bus: 255 };
        let a = w.address(bdf, off).unwrap() - 0xb000_0000;
        prop_assert_eq!((a >> 20) as u8, bus);
        prop_assert_eq!(((a >> 15) & 31) as u8, dev);
        prop_assert_eq!(((a >> 12) & 7) as u8, func);
        prop_assert_eq!((a & 0xfff) as u16, off);
        let l = legacy_address(bdf, off as u8);
        prop_assert_eq!(l >> 31, 1);
        prop_assert_eq!((l >> 16) as u8, bus);
        prop_assert_eq!(((l >> 11) & 31) as u8, dev);
        prop_assert_eq!(((l >> 8) & 7) as u8, func);
        prop_assert_eq!(l & 0xff, u32::from(off as u8 & 0xfc));
    }
}
