//! Host tests: a fake physical memory holding an RSDP, XSDT/RSDT and MADT.

extern crate std;
use std::vec::Vec;

use super::*;
use proptest::prelude::*;

/// Physical memory as a sparse list of (address, bytes) blocks.
#[derive(Default)]
struct FakeMem(Vec<(u64, Vec<u8>)>);

impl PhysMemory for FakeMem {
    fn read(&self, paddr: u64, buf: &mut [u8]) -> bool {
        for (base, bytes) in &self.0 {
            if paddr >= *base && paddr + buf.len() as u64 <= base + bytes.len() as u64 {
                let off = (paddr - base) as usize;
                buf.copy_from_slice(&bytes[off..off + buf.len()]);
                return true;
            }
        }
        false
    }
}

fn fix_checksum(bytes: &mut [u8], at: usize) {
    bytes[at] = 0;
    let sum = bytes.iter().fold(0u8, |s, b| s.wrapping_add(*b));
    bytes[at] = 0u8.wrapping_sub(sum);
}

fn sdt(sig: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(sig);
    t.extend_from_slice(&((36 + body.len()) as u32).to_le_bytes());
    t.push(1); // revision
    t.push(0); // checksum
    t.extend_from_slice(b"EXOOS EXOTABLE\x01\x00\x00\x00EXO \x01\x00\x00\x00");
    assert_eq!(t.len(), 36);
    t.extend_from_slice(body);
    fix_checksum(&mut t, 9);
    t
}

fn rsdp(revision: u8, rsdt: u32, xsdt: u64) -> Vec<u8> {
    let mut r = Vec::new();
    r.extend_from_slice(b"RSD PTR ");
    r.push(0);
    r.extend_from_slice(b"EXOOS ");
    r.push(revision);
    r.extend_from_slice(&rsdt.to_le_bytes());
    fix_checksum(&mut r[..20], 8);
    if revision >= 2 {
        r.extend_from_slice(&36u32.to_le_bytes());
        r.extend_from_slice(&xsdt.to_le_bytes());
        r.extend_from_slice(&[0, 0, 0, 0]);
        fix_checksum(&mut r, 32);
    }
    r
}

fn lapic(uid: u8, id: u8, flags: u32) -> Vec<u8> {
    let mut e = std::vec![0u8, 8, uid, id];
    e.extend_from_slice(&flags.to_le_bytes());
    e
}

fn madt_body(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0xfee0_0000u32.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    for e in entries {
        b.extend_from_slice(e);
    }
    b
}

fn ioapic() -> Vec<u8> {
    let mut e = std::vec![1u8, 12, 7, 0];
    e.extend_from_slice(&0xfec0_0000u32.to_le_bytes());
    e.extend_from_slice(&0u32.to_le_bytes());
    e
}

fn override_irq0() -> Vec<u8> {
    let mut e = std::vec![2u8, 10, 0, 0];
    e.extend_from_slice(&2u32.to_le_bytes());
    e.extend_from_slice(&0u16.to_le_bytes());
    e
}

/// A machine with `cpus` processors (the last one disabled when `with_disabled`), reached
/// through an XSDT (revision 2) or an RSDT (revision 0).
fn machine(cpus: u8, with_disabled: bool, revision: u8) -> FakeMem {
    let mut entries: Vec<Vec<u8>> = (0..cpus).map(|i| lapic(i, i, 1)).collect();
    if with_disabled {
        entries.push(lapic(cpus, cpus, 0));
    }
    entries.push(ioapic());
    entries.push(override_irq0());
    let madt = sdt(b"APIC", &madt_body(&entries));
    let facp = sdt(b"FACP", &[0; 20]);
    let (facp_at, madt_at) = (0x7fe_1000u64, 0x7fe_2000u64);
    let mut mem = FakeMem::default();
    if revision >= 2 {
        let mut body = facp_at.to_le_bytes().to_vec();
        body.extend_from_slice(&madt_at.to_le_bytes());
        mem.0.push((0x7fe_0000, sdt(b"XSDT", &body)));
        mem.0.push((0xf_5a40, rsdp(2, 0, 0x7fe_0000)));
    } else {
        let mut body = (facp_at as u32).to_le_bytes().to_vec();
        body.extend_from_slice(&(madt_at as u32).to_le_bytes());
        mem.0.push((0x7fe_0000, sdt(b"RSDT", &body)));
        mem.0.push((0xf_5a40, rsdp(0, 0x7fe_0000, 0)));
    }
    mem.0.push((facp_at, facp));
    mem.0.push((madt_at, madt));
    // The BIOS area the scan covers, with the RSDP copied into it.
    let mut bios = std::vec![0u8; 0x2_0000];
    let r = mem.read_all(0xf_5a40);
    bios[0x1_5a40..0x1_5a40 + r.len()].copy_from_slice(&r);
    mem.0.insert(0, (0xe_0000, bios));
    mem
}

impl FakeMem {
    fn read_all(&self, at: u64) -> Vec<u8> {
        self.0.iter().find(|(b, _)| *b == at).map(|(_, v)| v.clone()).unwrap_or_default()
    }
}

fn load_madt(mem: &FakeMem) -> Result<Madt, AcpiError> {
    let (_, rsdp) = find_rsdp(mem, 0xe_0000, 0x10_0000).ok_or(AcpiError::NoRsdp)?;
    let mut buf = [0u8; 4096];
    Madt::parse(find_table(mem, &rsdp, *b"APIC", &mut buf)?)
}

#[test]
fn finds_rsdp_and_madt_through_xsdt_and_rsdt() {
    for revision in [0, 2] {
        let mem = machine(4, true, revision);
        let (at, rsdp) = find_rsdp(&mem, 0xe_0000, 0x10_0000).expect("rsdp");
        assert_eq!(at, 0xf_5a40);
        assert_eq!(rsdp.revision, revision);
        assert_eq!(rsdp.xsdt.is_some(), revision >= 2);
        let madt = load_madt(&mem).expect("madt");
        assert_eq!(madt.local_apic_address, 0xfee0_0000);
        assert!(madt.pcat_compat);
        assert_eq!(madt.processors().len(), 5);
        let ids: Vec<u32> = madt.enabled_processors().map(|p| p.apic_id).collect();
        assert_eq!(ids, [0, 1, 2, 3]);
        assert_eq!(madt.ioapics(), &[IoApic { id: 7, address: 0xfec0_0000, gsi_base: 0 }]);
        assert_eq!(madt.overrides()[0].gsi, 2);
        assert!(!madt.malformed);
    }
}

#[test]
fn bad_checksums_are_refused() {
    let mut r = rsdp(2, 0, 0x1000);
    r[9] ^= 1;
    assert_eq!(Rsdp::parse(&r), Err(AcpiError::BadChecksum(*b"RSD ")));
    let mut r = rsdp(2, 0, 0x1000);
    r[25] ^= 1;
    assert_eq!(Rsdp::parse(&r), Err(AcpiError::BadChecksum(*b"XSD ")));
    assert_eq!(Rsdp::parse(b"RSD PTX \0\0\0\0\0\0\0\0\0\0\0\0"), Err(AcpiError::NoRsdp));

    // A corrupt MADT is skipped: not found.
    let mut mem = machine(2, false, 2);
    let madt = mem.0.iter_mut().find(|(b, _)| *b == 0x7fe_2000).expect("madt");
    madt.1[40] ^= 0x55;
    assert_eq!(load_madt(&mem), Err(AcpiError::NotFound(*b"APIC")));
    // A corrupt XSDT stops the walk.
    let mut mem = machine(2, false, 2);
    let xsdt = mem.0.iter_mut().find(|(b, _)| *b == 0x7fe_0000).expect("xsdt");
    xsdt.1[37] ^= 1;
    assert_eq!(load_madt(&mem), Err(AcpiError::BadChecksum(*b"XSDT")));
}

#[test]
fn missing_memory_is_an_error() {
    let mem = FakeMem::default();
    assert_eq!(find_rsdp(&mem, 0xe_0000, 0x10_0000), None);
    let rsdp = Rsdp { revision: 0, rsdt: 0x1000, xsdt: None };
    let mut buf = [0u8; 64];
    assert_eq!(find_table(&mem, &rsdp, *b"APIC", &mut buf), Err(AcpiError::Unreadable(0x1000)));
}

#[test]
fn madt_entries_x2apic_override_and_truncation() {
    let mut x2 = std::vec![9u8, 16, 0, 0];
    x2.extend_from_slice(&300u32.to_le_bytes());
    x2.extend_from_slice(&1u32.to_le_bytes());
    x2.extend_from_slice(&5u32.to_le_bytes());
    let mut addr = std::vec![5u8, 12, 0, 0];
    addr.extend_from_slice(&0xfee0_1000u64.to_le_bytes());
    // A duplicate x2APIC entry for xAPIC id 0 is ignored.
    let mut dup = std::vec![9u8, 16, 0, 0];
    dup.extend_from_slice(&0u32.to_le_bytes());
    dup.extend_from_slice(&1u32.to_le_bytes());
    dup.extend_from_slice(&0u32.to_le_bytes());
    let table = sdt(b"APIC", &madt_body(&[lapic(0, 0, 1), x2, addr, dup, std::vec![0u8, 0]]));
    let madt = Madt::parse(&table).expect("madt");
    assert_eq!(madt.local_apic_address, 0xfee0_1000);
    let ids: Vec<u32> = madt.enabled_processors().map(|p| p.apic_id).collect();
    assert_eq!(ids, [0, 300]);
    assert!(madt.malformed, "a zero-length entry stops the walk");
    assert!(Madt::parse(&table[..40]).is_err());
}

#[test]
fn too_many_processors_are_counted_not_stored() {
    let entries: Vec<Vec<u8>> = (0..70u8).map(|i| lapic(i, i, 1)).collect();
    let madt = Madt::parse(&sdt(b"APIC", &madt_body(&entries))).expect("madt");
    assert_eq!(madt.processors().len(), MAX_PROCESSORS);
    assert_eq!(madt.skipped_processors, 6);
}

proptest! {
    #[test]
    fn madt_parse_never_panics(body in proptest::collection::vec(any::<u8>(), 0..600)) {
        let table = sdt(b"APIC", &body);
        let _ = Madt::parse(&table);
        let _ = Madt::parse(&body);
    }

    #[test]
    fn rsdp_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
        let _ = Rsdp::parse(&bytes);
    }
}

fn mcfg_entry(base: u64, segment: u16, start: u8, end: u8) -> Vec<u8> {
    let mut e = base.to_le_bytes().to_vec();
    e.extend_from_slice(&segment.to_le_bytes());
    e.extend_from_slice(&[start, end, 0, 0, 0, 0]);
    e
}

fn mcfg_table(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut body = std::vec![0u8; 8];
    for e in entries {
        body.extend_from_slice(e);
    }
    sdt(b"MCFG", &body)
}

#[test]
fn mcfg_of_q35_is_found_and_parsed() {
    // q35's: one window at 0xb0000000 for segment 0, buses 0-255, listed after the MADT.
    let mut mem = machine(2, false, 2);
    let mcfg_at = 0x7fe_3000u64;
    mem.0.push((mcfg_at, mcfg_table(&[mcfg_entry(0xb000_0000, 0, 0, 0xff)])));
    let xsdt = mem.0.iter_mut().find(|(b, _)| *b == 0x7fe_0000).unwrap();
    let mut body = xsdt.1[36..].to_vec();
    body.extend_from_slice(&mcfg_at.to_le_bytes());
    xsdt.1 = sdt(b"XSDT", &body);
    let (_, rsdp) = find_rsdp(&mem, 0xe_0000, 0x10_0000).unwrap();
    let mut buf = [0u8; 4096];
    let mcfg = Mcfg::parse(find_table(&mem, &rsdp, *b"MCFG", &mut buf).unwrap()).unwrap();
    assert_eq!(mcfg.entries(), &[EcamEntry { base: 0xb000_0000, segment: 0, start_bus: 0, end_bus: 0xff }]);
    assert_eq!(mcfg.skipped, 0);
    assert_eq!(mcfg.window_for(0, 7).map(|e| e.base), Some(0xb000_0000));
    assert_eq!(mcfg.window_for(1, 0), None);
    // Without an MCFG (the i440fx machine): NotFound, and the kernel falls back to the ports.
    let plain = machine(1, false, 2);
    let (_, rsdp) = find_rsdp(&plain, 0xe_0000, 0x10_0000).unwrap();
    assert_eq!(find_table(&plain, &rsdp, *b"MCFG", &mut buf).err(), Some(AcpiError::NotFound(*b"MCFG")));
}

#[test]
fn mcfg_bad_entries_are_skipped() {
    let mut entries = std::vec![
        mcfg_entry(0, 0, 0, 0xff),          // no base
        mcfg_entry(0xe000_0000, 1, 9, 3),   // end before start
        mcfg_entry(0xe000_0000, 1, 2, 3),
    ];
    for i in 0..10 {
        entries.push(mcfg_entry(0xc000_0000 + (i << 28), 2 + i as u16, 0, 0));
    }
    let mut table = mcfg_table(&entries);
    // A trailing partial entry is ignored.
    table.extend_from_slice(&[1, 2, 3]);
    let len = table.len() as u32;
    table[4..8].copy_from_slice(&len.to_le_bytes());
    let mcfg = Mcfg::parse(&table).unwrap();
    assert_eq!(mcfg.entries().len(), MAX_ECAM_WINDOWS);
    assert_eq!(mcfg.entries()[0], EcamEntry { base: 0xe000_0000, segment: 1, start_bus: 2, end_bus: 3 });
    assert_eq!(mcfg.skipped, 2 + 3);
    assert_eq!(Mcfg::parse(b"MCFG").err(), Some(AcpiError::Malformed(*b"MCFG")));
    let mut short = mcfg_table(&[]);
    short[4..8].copy_from_slice(&40u32.to_le_bytes());
    assert_eq!(Mcfg::parse(&short).err(), Some(AcpiError::Malformed(*b"MCFG")));
    assert_eq!(Mcfg::parse(&sdt(b"APIC", &[0; 8])).err(), Some(AcpiError::Malformed(*b"MCFG")));
}

proptest! {
    #[test]
    fn mcfg_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200), len in any::<u32>()) {
        let mut t = b"MCFG".to_vec();
        t.extend_from_slice(&len.to_le_bytes());
        t.extend_from_slice(&bytes);
        if let Ok(m) = Mcfg::parse(&t) {
            for e in m.entries() {
                prop_assert!(e.base != 0 && e.start_bus <= e.end_bus);
            }
        }
    }
}
