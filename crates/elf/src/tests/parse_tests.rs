//! Unit tests of `parse` on hand-built images: every field of the result for `ET_EXEC` and
//! `ET_DYN`, the documented policies, and one test per validation error.

use std::vec;
use std::vec::Vec;

use super::build::*;
use super::check_invariants;
use crate::*;

const RO: Perms = Perms {
    read: true,
    write: false,
    exec: false,
};
const RX: Perms = Perms {
    read: true,
    write: false,
    exec: true,
};
const RW: Perms = Perms {
    read: true,
    write: true,
    exec: false,
};

fn seg(vaddr: u64, mem_size: u64, file_offset: u64, file_size: u64, perms: Perms) -> Segment {
    Segment {
        vaddr,
        mem_size,
        file_offset,
        file_size,
        perms,
    }
}

#[test]
fn exec_image_every_field() {
    let file = exec_image();
    let img = parse(&file).unwrap();
    let expected = ElfImage {
        kind: ImageKind::Executable,
        entry: 0x40_1000,
        segments: vec![
            seg(0x40_0000, 0x200, 0, 0x200, RO),
            seg(0x40_1000, 0x123, 0x1000, 0x123, RX),
            seg(0x40_3010, 0x1234, 0x2010, 0x30, RW),
        ],
        tls: Some(Tls {
            vaddr: 0x40_3010,
            file_size: 8,
            mem_size: 0x18,
            align: 16,
        }),
        phdr_vaddr: Some(0x40_0040),
        phent: 56,
        phnum: 7,
        stack_executable: false,
        interpreter: None,
        lowest_vaddr: 0x40_0000,
        highest_vaddr: 0x40_5000, // 0x403010 + 0x1234 = 0x404244, rounded up
    };
    assert_eq!(img, expected);
    assert_eq!(img.span(), 0x5000);
    check_invariants(&file, &img);
}

#[test]
fn dyn_image_every_field() {
    let file = dyn_image();
    let img = parse(&file).unwrap();
    let expected = ElfImage {
        kind: ImageKind::PositionIndependent,
        entry: 0x1010,
        segments: vec![
            seg(0, 0x300, 0, 0x300, RO),
            seg(0x1000, 0x80, 0x1000, 0x80, RX),
            seg(0x2000, 0x100, 0x2000, 0x100, RO),
            seg(0x2100, 0x2000, 0x2100, 0x50, RW), // shares page 0x2000 with the segment before
        ],
        tls: None,
        phdr_vaddr: Some(64), // no PT_PHDR: inside the first PT_LOAD (offset 0 at vaddr 0)
        phent: 56,
        phnum: 8,
        stack_executable: true,
        interpreter: Some(INTERP.to_vec()),
        lowest_vaddr: 0,
        highest_vaddr: 0x5000,
    };
    assert_eq!(img, expected);
    check_invariants(&file, &img);
}

/// `exec_image` with program header `i`'s field `field` set to `value`.
fn exec_with(i: usize, field: usize, value: u64) -> Vec<u8> {
    let mut f = exec_image();
    if field == phdr::TYPE || field == phdr::FLAGS {
        put_u32(&mut f, ph_field(i, field), value as u32);
    } else {
        put_u64(&mut f, ph_field(i, field), value);
    }
    f
}

#[test]
fn phdr_computed_from_segment_containing_the_table() {
    // Drop PT_PHDR: the table (file 64..456) is inside the first PT_LOAD at 0x400000.
    let mut f = exec_with(0, phdr::TYPE, PT_NOTE as u64);
    assert_eq!(parse(&f).unwrap().phdr_vaddr, Some(0x40_0040));
    // The first PT_LOAD no longer covers the whole table: no other does either.
    put_u64(&mut f, ph_field(1, phdr::FILESZ), 0x100);
    assert_eq!(parse(&f).unwrap().phdr_vaddr, None);
    // PT_PHDR wins over the computation, whatever its value.
    let f = exec_with(0, phdr::VADDR, 0x1234);
    assert_eq!(parse(&f).unwrap().phdr_vaddr, Some(0x1234));
}

#[test]
fn gnu_stack_and_interp_precedence() {
    let mut phdrs = exec_phdrs();
    // Without PT_GNU_STACK: not executable (documented default).
    phdrs[5].p_type = PT_NOTE;
    assert!(
        !parse(&image(ET_EXEC, 0, &phdrs, &[], 0x2040))
            .unwrap()
            .stack_executable
    );
    // The last PT_GNU_STACK wins.
    phdrs[5] = Ph::other(PT_GNU_STACK, R | W, 0, 0, 0);
    phdrs.push(Ph::other(PT_GNU_STACK, R | W | X, 0, 0, 0));
    assert!(
        parse(&image(ET_EXEC, 0, &phdrs, &[], 0x2040))
            .unwrap()
            .stack_executable
    );
    phdrs.push(Ph::other(PT_GNU_STACK, R | W, 0, 0, 0));
    assert!(
        !parse(&image(ET_EXEC, 0, &phdrs, &[], 0x2040))
            .unwrap()
            .stack_executable
    );
    // The first PT_INTERP wins (the table ends at 0x238 with 9 headers).
    let mut interp = INTERP.to_vec();
    interp.push(0);
    let data: [(usize, &[u8]); 2] = [(0x240, b"/b\0"), (0x280, &interp)];
    let first = Ph::other(PT_INTERP, R, 0x240, 0x240, 3);
    let second = Ph::other(PT_INTERP, R, 0x280, 0x280, interp.len() as u64);
    let mut phdrs = dyn_phdrs();
    phdrs[0] = first;
    phdrs.push(second);
    let img = parse(&image(ET_DYN, 0, &phdrs, &data, 0x2150)).unwrap();
    assert_eq!(img.interpreter, Some(b"/b".to_vec()));
    phdrs[0] = second;
    phdrs[8] = first;
    let img = parse(&image(ET_DYN, 0, &phdrs, &data, 0x2150)).unwrap();
    assert_eq!(img.interpreter, Some(INTERP.to_vec()));
}

#[test]
fn empty_load_segments_are_dropped() {
    let mut phdrs = exec_phdrs();
    // A zero-sized PT_LOAD anywhere (even at a lower address) is ignored.
    phdrs.insert(2, Ph::load(R, 0x1000, 0x40_1000, 0, 0));
    phdrs.push(Ph::load(R, 0, 0x1000, 0, 0));
    let img = parse(&image(ET_EXEC, 0, &phdrs, &[], 0x2040)).unwrap();
    assert_eq!(img.segments.len(), 3);
    // Only empty ones: nothing to load.
    let only_empty = [Ph::load(R, 0, 0x40_0000, 0, 0)];
    assert_eq!(
        parse(&image(ET_EXEC, 0, &only_empty, &[], 0x100)),
        Err(ElfError::NoLoadableSegments)
    );
}

#[test]
fn page_sharing_allowed_byte_overlap_refused() {
    // RW segment starting right at the end of the RX one, in the same page.
    let phdrs = [
        Ph::load(R | X, 0, 0x40_0000, 0x1100, 0x1100),
        Ph::load(R | W, 0x1100, 0x40_1100, 0x10, 0x10),
    ];
    let img = parse(&image(ET_EXEC, 0, &phdrs, &[], 0x1110)).unwrap();
    assert_eq!(img.segments.len(), 2);
    assert_eq!(
        (img.lowest_vaddr, img.highest_vaddr),
        (0x40_0000, 0x40_2000)
    );
    // One byte of overlap.
    let phdrs = [
        Ph::load(R | X, 0, 0x40_0000, 0x1100, 0x1101),
        Ph::load(R | W, 0x1100, 0x40_1100, 0x10, 0x10),
    ];
    assert_eq!(
        parse(&image(ET_EXEC, 0, &phdrs, &[], 0x1110)),
        Err(ElfError::BadSegment)
    );
    // Out of order.
    let phdrs = [
        Ph::load(R | W, 0x1100, 0x40_1100, 0x10, 0x10),
        Ph::load(R | X, 0, 0x40_0000, 0x100, 0x100),
    ];
    assert_eq!(
        parse(&image(ET_EXEC, 0, &phdrs, &[], 0x1110)),
        Err(ElfError::BadSegment)
    );
}

#[test]
fn congruence_only_required_with_alignment() {
    // vaddr % 4096 = 0x10, offset % 4096 = 0x20.
    let mut ph = Ph::load(R, 0x20, 0x40_0010, 0x10, 0x10);
    assert_eq!(
        parse(&image(ET_EXEC, 0, &[ph], &[], 0x200)),
        Err(ElfError::BadSegment)
    );
    ph.align = 1;
    assert!(parse(&image(ET_EXEC, 0, &[ph], &[], 0x200)).is_ok());
    ph.align = 0;
    assert!(parse(&image(ET_EXEC, 0, &[ph], &[], 0x200)).is_ok());
    ph.align = 2;
    assert_eq!(
        parse(&image(ET_EXEC, 0, &[ph], &[], 0x200)),
        Err(ElfError::BadSegment)
    );
}

#[test]
fn user_half_limit() {
    // Ending exactly at USER_END is fine, one byte more is not; same for ET_DYN.
    for e_type in [ET_EXEC, ET_DYN] {
        let ph = Ph::load(R, 0, USER_END - 0x1000, 0x100, 0x1000);
        let img = parse(&image(e_type, 0, &[ph], &[], 0x100)).unwrap();
        assert_eq!(img.highest_vaddr, USER_END);
        let ph = Ph::load(R, 0, USER_END - 0x1000, 0x100, 0x1001);
        assert_eq!(
            parse(&image(e_type, 0, &[ph], &[], 0x100)),
            Err(ElfError::BadSegment)
        );
    }
}

#[test]
fn header_errors() {
    assert_eq!(parse(b""), Err(ElfError::TooShort));
    assert_eq!(parse(b"\x7fEL"), Err(ElfError::TooShort));
    assert_eq!(parse(b"\x7fELF\x02\x01\x01"), Err(ElfError::TooShort));
    assert_eq!(parse(&exec_image()[..63]), Err(ElfError::TooShort));
    assert_eq!(parse(b"#!/bin/sh\n"), Err(ElfError::BadMagic));
    let poke8 = |off: usize, val: u8| {
        let mut f = exec_image();
        f[off] = val;
        parse(&f)
    };
    let poke16 = |off: usize, val: u16| {
        let mut f = exec_image();
        put_u16(&mut f, off, val);
        parse(&f)
    };
    assert_eq!(poke8(0, 0x7e), Err(ElfError::BadMagic));
    assert_eq!(poke8(3, b'f'), Err(ElfError::BadMagic));
    assert_eq!(poke8(ehdr::CLASS, 1), Err(ElfError::NotElf64));
    assert_eq!(poke8(ehdr::CLASS, 0), Err(ElfError::NotElf64));
    assert_eq!(poke8(ehdr::DATA, 2), Err(ElfError::NotLittleEndian));
    assert_eq!(poke8(ehdr::DATA, 0), Err(ElfError::NotLittleEndian));
    assert_eq!(poke8(ehdr::VERSION, 0), Err(ElfError::BadVersion));
    assert_eq!(poke8(ehdr::VERSION, 2), Err(ElfError::BadVersion));
    assert_eq!(poke16(ehdr::E_VERSION, 0), Err(ElfError::BadVersion));
    for t in [0u16, 1, 4, 0xfe00, 0xffff] {
        assert_eq!(
            poke16(ehdr::TYPE, t),
            Err(ElfError::NotExecutable),
            "e_type {t}"
        );
    }
    for m in [0u16, 3, 40, 183, 243] {
        assert_eq!(
            poke16(ehdr::MACHINE, m),
            Err(ElfError::WrongMachine),
            "e_machine {m}"
        );
    }
    assert_eq!(
        poke16(ehdr::PHENTSIZE, 32),
        Err(ElfError::BadProgramHeaders)
    );
    assert_eq!(
        poke16(ehdr::PHENTSIZE, 57),
        Err(ElfError::BadProgramHeaders)
    );
    assert_eq!(poke16(ehdr::PHNUM, 0), Err(ElfError::NoLoadableSegments));
    assert_eq!(
        poke16(ehdr::PHNUM, MAX_PHNUM + 1),
        Err(ElfError::TooManyProgramHeaders)
    );
    assert_eq!(
        poke16(ehdr::PHNUM, 0xffff),
        Err(ElfError::TooManyProgramHeaders)
    );
    // OSABI and e_ehsize are not checked.
    assert!(poke8(7, 3).is_ok());
    assert!(poke16(52, 0).is_ok());
}

#[test]
fn program_header_table_errors() {
    let mut f = exec_image();
    // Table runs one byte past the end of the file.
    let past_end = (f.len() - 7 * 56 + 1) as u64;
    put_u64(&mut f, ehdr::PHOFF, past_end);
    assert_eq!(parse(&f), Err(ElfError::BadProgramHeaders));
    put_u64(&mut f, ehdr::PHOFF, 1 << 40);
    assert_eq!(parse(&f), Err(ElfError::BadProgramHeaders));
    put_u64(&mut f, ehdr::PHOFF, u64::MAX - 100);
    assert_eq!(parse(&f), Err(ElfError::Overflow));
    // MAX_PHNUM headers are fine when they fit in the file.
    let mut phdrs = vec![Ph::other(PT_NOTE, R, 0, 0, 0); MAX_PHNUM as usize - 1];
    phdrs.push(Ph::load(R, 0, 0x40_0000, 0x100, 0x100));
    let img = parse(&image(ET_EXEC, 0, &phdrs, &[], 0)).unwrap();
    assert_eq!(img.phnum, MAX_PHNUM);
    assert_eq!(img.phdr_vaddr, None); // the table is beyond the 0x100 file bytes loaded
}

#[test]
fn load_segment_errors() {
    // Segment 3 is the RW one: offset 0x2010, filesz 0x30, file length 0x2040.
    assert_eq!(
        parse(&exec_with(3, phdr::FILESZ, 0x1235)),
        Err(ElfError::BadSegment)
    ); // > memsz
    assert_eq!(
        parse(&exec_with(3, phdr::OFFSET, 0x2011)),
        Err(ElfError::BadSegment)
    ); // congruence
    let mut f = exec_with(3, phdr::OFFSET, 0x3010); // past the end of the file
    assert_eq!(parse(&f), Err(ElfError::BadSegment));
    put_u64(&mut f, ph_field(3, phdr::OFFSET), 0x2011); // one byte past the end
    put_u64(&mut f, ph_field(3, phdr::VADDR), 0x40_3011);
    assert_eq!(parse(&f), Err(ElfError::BadSegment));
    let mut f = exec_with(3, phdr::FILESZ, u64::MAX - 0x100); // offset + filesz overflows
    put_u64(&mut f, ph_field(3, phdr::MEMSZ), u64::MAX);
    assert_eq!(parse(&f), Err(ElfError::Overflow));
    let mut f = exec_with(3, phdr::VADDR, u64::MAX - 0xfef); // vaddr + memsz overflows
    put_u64(&mut f, ph_field(3, phdr::ALIGN), 0);
    assert_eq!(parse(&f), Err(ElfError::Overflow));
    assert_eq!(
        parse(&exec_with(3, phdr::VADDR, 0xffff_8000_0000_0010)),
        Err(ElfError::BadSegment)
    );
    // Overlaps the text segment.
    assert_eq!(
        parse(&exec_with(3, phdr::VADDR, 0x40_1010)),
        Err(ElfError::BadSegment)
    );
    // No PT_LOAD at all.
    let f = image(ET_EXEC, 0, &[Ph::other(PT_NOTE, R, 0, 0, 0)], &[], 0x100);
    assert_eq!(parse(&f), Err(ElfError::NoLoadableSegments));
}

#[test]
fn tls_errors() {
    // Program header 4 is PT_TLS at offset 0x2010, filesz 8, memsz 0x18.
    assert_eq!(
        parse(&exec_with(4, phdr::FILESZ, 0x19)),
        Err(ElfError::BadTls)
    );
    assert_eq!(
        parse(&exec_with(4, phdr::OFFSET, 0x2039)),
        Err(ElfError::BadTls)
    );
    assert_eq!(
        parse(&exec_with(4, phdr::OFFSET, u64::MAX - 3)),
        Err(ElfError::Overflow)
    );
    assert_eq!(
        parse(&exec_with(4, phdr::VADDR, u64::MAX - 3)),
        Err(ElfError::Overflow)
    );
    // The TLS vaddr is not checked against the segments, and may be unaligned.
    assert!(parse(&exec_with(4, phdr::VADDR, 0x1235)).is_ok());
    // Two PT_TLS.
    let mut phdrs = exec_phdrs();
    phdrs.push(phdrs[4]);
    assert_eq!(
        parse(&image(ET_EXEC, 0, &phdrs, &[], 0x2040)),
        Err(ElfError::BadTls)
    );
}

#[test]
fn interp_errors() {
    let with_interp = |ph: Ph, bytes: &[u8]| {
        let mut phdrs = dyn_phdrs();
        phdrs[0] = ph;
        parse(&image(ET_DYN, 0, &phdrs, &[(0x200, bytes)], 0x2150))
    };
    let ph = |size: u64| Ph::other(PT_INTERP, R, 0x200, 0x200, size);
    assert_eq!(
        with_interp(ph(4), b"/ab\0").unwrap().interpreter,
        Some(b"/ab".to_vec())
    );
    assert_eq!(
        with_interp(ph(2), b"/\0").unwrap().interpreter,
        Some(b"/".to_vec())
    );
    assert_eq!(with_interp(ph(4), b"/abc"), Err(ElfError::BadInterpreter)); // no NUL at the end
    assert_eq!(with_interp(ph(4), b"/a\0c"), Err(ElfError::BadInterpreter)); // idem
    assert_eq!(with_interp(ph(1), b"\0"), Err(ElfError::BadInterpreter)); // too short
    assert_eq!(with_interp(ph(3), b"\0a\0"), Err(ElfError::BadInterpreter)); // empty path
    assert_eq!(with_interp(ph(4097), b"/"), Err(ElfError::BadInterpreter)); // > PATH_MAX
    let mut far = ph(4);
    far.offset = 0x2150 - 3; // runs one byte past the end of the file
    assert_eq!(with_interp(far, b""), Err(ElfError::BadInterpreter));
    far.offset = u64::MAX - 1;
    assert_eq!(with_interp(far, b""), Err(ElfError::BadInterpreter));
    // PATH_MAX itself is accepted.
    let mut long = vec![b'a'; 4095];
    long.push(0);
    let phdrs = [
        Ph::other(PT_INTERP, R, 0x100, 0, 4096),
        Ph::load(R, 0, 0, 0x100, 0x100),
    ];
    let img = parse(&image(ET_DYN, 0, &phdrs, &[(0x100, &long)], 0x1100)).unwrap();
    assert_eq!(img.interpreter.unwrap().len(), 4095);
}

#[test]
fn error_display_is_not_empty() {
    use std::string::ToString;
    for e in [ElfError::TooShort, ElfError::BadShebang, ElfError::Overflow] {
        assert!(!e.to_string().is_empty());
    }
    assert!(!StackError::TooBig.to_string().is_empty());
}
