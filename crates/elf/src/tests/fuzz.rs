//! Property-based fuzzing: random bytes, mutations of valid images (byte flips, truncations,
//! header/program-header field overwrites) and random program header tables checked against
//! a simple reference model. `parse` and `parse_shebang` must never panic, and whatever
//! `parse` accepts must satisfy the documented invariants.

use std::vec;
use std::vec::Vec;

use proptest::prelude::*;

use super::build::*;
use super::check_invariants;
use crate::*;

/// Runs both parsers; checks the invariants of an accepted image.
fn parse_all(file: &[u8]) {
    if let Ok(img) = parse(file) {
        check_invariants(file, &img);
    }
    if let Some(Ok(sb)) = parse_shebang(file) {
        assert!(!sb.interpreter.is_empty());
        assert!(!sb
            .interpreter
            .iter()
            .any(|c| matches!(c, b' ' | b'\t' | b'\n' | 0)));
        if let Some(arg) = &sb.argument {
            assert!(!arg.iter().any(|c| matches!(c, b'\n' | 0)));
            assert!(!arg.starts_with(b" ") && !arg.starts_with(b"\t"));
        }
    }
}

/// A mutation of a valid image.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Set(usize, u8),
    Truncate(usize),
    /// Overwrite one 2-, 4- or 8-byte field of the ELF header or of a program header.
    Field(usize, u64),
    Append(Vec<u8>),
}

/// (offset, width) of every field worth overwriting in a built image with 8 headers.
fn fields() -> Vec<(usize, usize)> {
    let mut f = vec![
        (ehdr::TYPE, 2),
        (ehdr::MACHINE, 2),
        (ehdr::E_VERSION, 4),
        (ehdr::ENTRY, 8),
        (ehdr::PHOFF, 8),
        (ehdr::PHENTSIZE, 2),
        (ehdr::PHNUM, 2),
    ];
    for i in 0..8 {
        f.push((ph_field(i, phdr::TYPE), 4));
        f.push((ph_field(i, phdr::FLAGS), 4));
        for field in [
            phdr::OFFSET,
            phdr::VADDR,
            phdr::FILESZ,
            phdr::MEMSZ,
            phdr::ALIGN,
        ] {
            f.push((ph_field(i, field), 8));
        }
    }
    f
}

fn interesting_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1),
        Just(2),
        Just(3),
        Just(7),
        Just(56),
        Just(0x1000),
        Just(0x2000),
        Just(0x40_0000),
        Just(USER_END),
        Just(USER_END - 0x1000),
        Just(u64::MAX),
        Just(u64::MAX - 0xfff),
        Just(0x6474_e551),
        0u64..0x3000,
        any::<u64>(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let n = fields().len();
    prop_oneof![
        (0usize..0x2200, any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (0usize..600, any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (0usize..0x2200).prop_map(Mutation::Truncate),
        (0..n, interesting_u64()).prop_map(|(i, v)| Mutation::Field(i, v)),
        (0..n, interesting_u64()).prop_map(|(i, v)| Mutation::Field(i, v)),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(Mutation::Append),
    ]
}

fn apply(file: &mut Vec<u8>, m: &Mutation) {
    match m {
        Mutation::Flip(i, b) => {
            if let Some(x) = file.get_mut(*i) {
                *x ^= b;
            }
        }
        Mutation::Set(i, b) => {
            if let Some(x) = file.get_mut(*i) {
                *x = *b;
            }
        }
        Mutation::Truncate(len) => file.truncate(*len),
        Mutation::Field(i, v) => {
            let (off, width) = fields()[*i];
            if let Some(dst) = file.get_mut(off..off + width) {
                dst.copy_from_slice(&v.to_le_bytes()[..width]);
            }
        }
        Mutation::Append(bytes) => file.extend(bytes),
    }
}

/// A random program header for the model test: mostly plausible, sometimes absurd.
fn random_ph() -> impl Strategy<Value = Ph> {
    let p_type = prop_oneof![
        4 => Just(PT_LOAD),
        1 => Just(PT_TLS),
        1 => Just(PT_PHDR),
        1 => Just(PT_INTERP),
        1 => Just(PT_GNU_STACK),
        1 => Just(PT_NOTE),
        1 => any::<u32>(),
    ];
    let small = prop_oneof![4 => 0u64..0x2400, 1 => interesting_u64()];
    let vaddr = prop_oneof![
        4 => (0u64..0x8000).prop_map(|v| 0x40_0000 + v),
        2 => 0u64..0x8000,
        1 => (0u64..0x2000).prop_map(|v| USER_END - v),
        1 => interesting_u64(),
    ];
    let align = prop_oneof![
        Just(0u64),
        Just(1),
        Just(8),
        Just(0x1000),
        interesting_u64()
    ];
    (
        p_type,
        0u32..8,
        small.clone(),
        vaddr,
        small.clone(),
        small,
        align,
    )
        .prop_map(|(p_type, flags, offset, vaddr, filesz, memsz, align)| Ph {
            p_type,
            flags,
            offset,
            vaddr,
            filesz,
            memsz,
            align,
        })
}

/// What `parse` must return for a file whose header is valid, computed with 128-bit
/// arithmetic and none of the implementation's structure. `None` = must be refused.
fn model(file: &[u8], e_type: u16, entry: u64, phdrs: &[Ph]) -> Option<ElfImage> {
    if entry >= USER_END {
        return None;
    }
    let len = file.len() as u128;
    let in_file = |off: u64, size: u64| off as u128 + size as u128 <= len;
    let mut segments: Vec<Segment> = vec![];
    let (mut tls, mut pt_phdr, mut interp, mut stack) = (None, None, None, false);
    for ph in phdrs {
        match ph.p_type {
            PT_LOAD => {
                let end = ph.vaddr as u128 + ph.memsz as u128;
                let congruent = ph.align <= 1 || ph.vaddr % 4096 == ph.offset % 4096;
                if ph.filesz > ph.memsz
                    || !in_file(ph.offset, ph.filesz)
                    || !congruent
                    || end > USER_END as u128
                {
                    return None;
                }
                if ph.memsz > 0 {
                    if segments
                        .last()
                        .is_some_and(|s| (s.vaddr as u128 + s.mem_size as u128) > ph.vaddr as u128)
                    {
                        return None;
                    }
                    let perms = Perms {
                        read: ph.flags & R != 0,
                        write: ph.flags & W != 0,
                        exec: ph.flags & X != 0,
                    };
                    segments.push(Segment {
                        vaddr: ph.vaddr,
                        mem_size: ph.memsz,
                        file_offset: ph.offset,
                        file_size: ph.filesz,
                        perms,
                    });
                }
            }
            PT_TLS => {
                let end = ph.vaddr as u128 + ph.memsz as u128;
                if tls.is_some()
                    || ph.filesz > ph.memsz
                    || !in_file(ph.offset, ph.filesz)
                    || end > u64::MAX as u128
                {
                    return None;
                }
                tls = Some(Tls {
                    vaddr: ph.vaddr,
                    file_size: ph.filesz,
                    mem_size: ph.memsz,
                    align: ph.align,
                });
            }
            PT_PHDR if pt_phdr.is_none() => pt_phdr = Some(ph.vaddr),
            PT_INTERP if interp.is_none() => {
                if ph.filesz < 2 || ph.filesz > 4096 || !in_file(ph.offset, ph.filesz) {
                    return None;
                }
                let bytes = &file[ph.offset as usize..(ph.offset + ph.filesz) as usize];
                let path: Vec<u8> = bytes.iter().copied().take_while(|&b| b != 0).collect();
                if bytes.last() != Some(&0) || path.is_empty() {
                    return None;
                }
                interp = Some(path);
            }
            PT_GNU_STACK => stack = ph.flags & X != 0,
            _ => {}
        }
    }
    let (first, last) = (segments.first()?.clone(), segments.last()?.clone());
    let table = (PHOFF as u64, PHOFF as u64 + (phdrs.len() * PHENT) as u64);
    let computed = segments
        .iter()
        .find(|s| s.file_offset <= table.0 && table.1 <= s.file_offset + s.file_size);
    let kind = if e_type == ET_EXEC {
        ImageKind::Executable
    } else {
        ImageKind::PositionIndependent
    };
    Some(ElfImage {
        kind,
        entry,
        phdr_vaddr: pt_phdr.or(computed.map(|s| s.vaddr + (table.0 - s.file_offset))),
        phent: 56,
        phnum: phdrs.len() as u16,
        tls,
        stack_executable: stack,
        interpreter: interp,
        lowest_vaddr: first.vaddr / 4096 * 4096,
        highest_vaddr: (last.vaddr + last.mem_size).div_ceil(4096) * 4096,
        segments,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        parse_all(&bytes);
    }

    #[test]
    fn random_bytes_behind_a_valid_header(
        e_type in prop_oneof![Just(ET_EXEC), Just(ET_DYN)],
        phnum in 0u16..12,
        tail in prop::collection::vec(any::<u8>(), 0..800),
    ) {
        let mut file = image(e_type, 0, &[], &[], 64);
        put_u16(&mut file, ehdr::PHNUM, phnum);
        file.extend(tail);
        parse_all(&file);
    }

    #[test]
    fn random_shebang_lines(
        body in prop::collection::vec(
            prop_oneof![Just(b' '), Just(b'\t'), Just(b'\n'), Just(0u8), Just(b'/'), Just(b'a'), any::<u8>()],
            0..400,
        ),
    ) {
        let mut file = b"#!".to_vec();
        file.extend(body);
        prop_assert!(parse_shebang(&file).is_some());
        parse_all(&file);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn mutated_valid_images(
        dynamic in any::<bool>(),
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        let mut file = if dynamic { dyn_image() } else { exec_image() };
        for m in &mutations {
            apply(&mut file, m);
        }
        parse_all(&file);
    }

    #[test]
    fn random_program_headers_match_the_model(
        e_type in prop_oneof![Just(ET_EXEC), Just(ET_DYN)],
        entry in interesting_u64(),
        phdrs in prop::collection::vec(random_ph(), 1..10),
        len in 0usize..0x2400,
        seed in any::<u64>(),
    ) {
        // File bytes after the headers: mostly '/', 'a' and NULs, so PT_INTERP varies.
        let headers_end = PHOFF + phdrs.len() * PHENT;
        let mut file = image(e_type, entry, &phdrs, &[], len);
        let mut x = seed | 1;
        for b in file.iter_mut().skip(headers_end) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = [0, b'/', b'a', 0][(x % 4) as usize];
        }
        let got = parse(&file);
        if let Ok(img) = &got {
            check_invariants(&file, img);
        }
        prop_assert_eq!(got.ok(), model(&file, e_type, entry, &phdrs));
    }
}
