//! Fuzz target `elf_parse`: any bytes as an executable file. `parse` and `parse_shebang` must
//! not panic or overflow, and an accepted image must keep every promise of `ElfImage`:
//! segments non-empty, ascending, disjoint, inside the file and inside user space, page
//! bounds consistent, TLS inside the file, interpreter path a non-empty C string; and they
//! must be exactly the non-empty `PT_LOAD`s of the program header table (decoded here
//! independently), with their permissions, congruent unless `p_align <= 1`.
//! Shared by `tests/hostfuzz.rs` (cargo test) and `fuzz/` (libFuzzer).

use exo_elf::{parse, parse_shebang, Segment, MAX_PHNUM, PAGE_SIZE, USER_END};

pub fn check(file: &[u8]) {
    if let Ok(img) = parse(file) {
        let len = file.len() as u64;
        assert!(!img.segments.is_empty());
        let mut prev_end = 0u64;
        for (i, s) in img.segments.iter().enumerate() {
            assert!(s.mem_size > 0 && s.file_size <= s.mem_size, "{s:?}");
            let file_end = s
                .file_offset
                .checked_add(s.file_size)
                .expect("file range overflows");
            assert!(
                file_end <= len,
                "segment {s:?} beyond the file ({len} bytes)"
            );
            let end = s
                .vaddr
                .checked_add(s.mem_size)
                .expect("segment end overflows");
            assert!(end <= USER_END, "segment {s:?} beyond user space");
            assert_eq!(s.end(), end);
            assert!(
                i == 0 || s.vaddr >= prev_end,
                "segment {i} overlaps or is out of order"
            );
            prev_end = end;
        }
        let first = &img.segments[0];
        assert_eq!(img.lowest_vaddr, first.vaddr & !(PAGE_SIZE - 1));
        let top = prev_end
            .checked_add(PAGE_SIZE - 1)
            .expect("page round-up overflows")
            & !(PAGE_SIZE - 1);
        assert_eq!(img.highest_vaddr, top);
        assert!(img.highest_vaddr <= USER_END);
        assert!(img.span() <= USER_END);
        if let Some(t) = &img.tls {
            assert!(t.file_size <= t.mem_size);
            assert!(t.vaddr.checked_add(t.mem_size).is_some());
        }
        assert_eq!(img.phent, 56);
        assert!(img.phnum >= 1 && img.phnum <= MAX_PHNUM);
        if let Some(interp) = &img.interpreter {
            assert!(!interp.is_empty() && !interp.contains(&0) && interp.len() < 4096);
        }
    }
    if let Ok(img) = parse(file) {
        check_against_table(file, &img.segments);
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
        assert!(sb.interpreter.len() + sb.argument.as_ref().map_or(0, |a| a.len()) < 256);
    }
}

fn le(file: &[u8], at: usize, width: usize) -> u64 {
    let bytes = file
        .get(at..at + width)
        .expect("field inside the file of an accepted image");
    bytes.iter().rev().fold(0, |v, &b| v << 8 | u64::from(b))
}

/// Reference model: decodes the program header table itself; the accepted segments must be
/// exactly its non-empty `PT_LOAD`s, in order, with their permissions, and congruent
/// (`vaddr ≡ offset mod PAGE_SIZE`) unless `p_align <= 1`.
fn check_against_table(file: &[u8], segments: &[Segment]) {
    let phoff = le(file, 32, 8) as usize;
    let phnum = le(file, 56, 2) as usize;
    let mut loads = Vec::new();
    for i in 0..phnum {
        let ph = phoff + 56 * i;
        if le(file, ph, 4) != 1 || le(file, ph + 40, 8) == 0 {
            continue;
        }
        let flags = le(file, ph + 4, 4);
        let (offset, vaddr, filesz, memsz, align) = (
            le(file, ph + 8, 8),
            le(file, ph + 16, 8),
            le(file, ph + 32, 8),
            le(file, ph + 40, 8),
            le(file, ph + 48, 8),
        );
        loads.push((
            vaddr,
            memsz,
            offset,
            filesz,
            flags & 4 != 0,
            flags & 2 != 0,
            flags & 1 != 0,
        ));
        if align > 1 {
            assert_eq!(
                vaddr % PAGE_SIZE,
                offset % PAGE_SIZE,
                "PT_LOAD {i} not congruent"
            );
        }
    }
    let got: Vec<_> = segments
        .iter()
        .map(|s| {
            (
                s.vaddr,
                s.mem_size,
                s.file_offset,
                s.file_size,
                s.perms.read,
                s.perms.write,
                s.perms.exec,
            )
        })
        .collect();
    assert_eq!(
        got, loads,
        "segments differ from the table's non-empty PT_LOADs"
    );
}
