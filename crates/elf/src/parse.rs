//! [`parse`]: validation of an ELF executable's program headers into an [`ElfImage`]
//! (policies in the crate documentation).

use alloc::vec::Vec;

use crate::error::ElfError;
use crate::header::{
    file_header, program_headers, FileHeader, ProgramHeader, PF_R, PF_W, PF_X, PT_GNU_STACK,
    PT_INTERP, PT_LOAD, PT_PHDR, PT_TLS,
};
use crate::image::{ElfImage, Perms, Segment, Tls};
use crate::{PAGE_SIZE, USER_END};

/// Linux's `PATH_MAX`, the largest accepted `PT_INTERP` size (including the NUL).
const INTERP_MAX: u64 = 4096;

/// Validates an x86-64 ELF64 executable (`ET_EXEC` or `ET_DYN`) held entirely in `file` and
/// describes what to map. Never panics; see the crate documentation for the exact rules.
pub fn parse(file: &[u8]) -> Result<ElfImage, ElfError> {
    let hdr = file_header(file)?;
    let phdrs = program_headers(file, &hdr)?;

    let mut segments: Vec<Segment> = Vec::new();
    let mut tls = None;
    let mut pt_phdr = None;
    let mut interpreter = None;
    let mut stack_executable = false;
    for ph in &phdrs {
        match ph.p_type {
            PT_LOAD => {
                if let Some(seg) = load_segment(file, ph)? {
                    if let Some(prev) = segments.last() {
                        if seg.vaddr < prev.end() {
                            return Err(ElfError::BadSegment);
                        }
                    }
                    segments.push(seg);
                }
            }
            PT_TLS => {
                if tls.is_some() {
                    return Err(ElfError::BadTls);
                }
                tls = Some(tls_template(file, ph)?);
            }
            PT_PHDR if pt_phdr.is_none() => pt_phdr = Some(ph.vaddr),
            PT_INTERP if interpreter.is_none() => {
                interpreter = Some(interpreter_path(file, ph)?);
            }
            PT_GNU_STACK => stack_executable = ph.flags & PF_X != 0,
            _ => {}
        }
    }

    let (first, last) = match (segments.first(), segments.last()) {
        (Some(first), Some(last)) => (first, last),
        _ => return Err(ElfError::NoLoadableSegments),
    };
    let lowest_vaddr = page_down(first.vaddr);
    // `last.end() <= USER_END`, a page multiple, so rounding up cannot overflow.
    let highest_vaddr = page_up(last.end()).ok_or(ElfError::Overflow)?;
    let phdr_vaddr = pt_phdr.or_else(|| phdr_from_segments(&hdr, &segments));
    // `iretq` to a non-canonical entry would fault in ring 0; for ET_DYN this also keeps
    // `entry + bias` from overflowing for every bias the kernel may choose.
    if hdr.entry >= USER_END {
        return Err(ElfError::BadEntry);
    }

    Ok(ElfImage {
        kind: hdr.kind,
        entry: hdr.entry,
        segments,
        tls,
        phdr_vaddr,
        phent: crate::header::PHDR_SIZE,
        phnum: hdr.phnum,
        stack_executable,
        interpreter,
        lowest_vaddr,
        highest_vaddr,
    })
}

/// Validates one `PT_LOAD`; `Ok(None)` for a valid segment with `p_memsz == 0`.
fn load_segment(file: &[u8], ph: &ProgramHeader) -> Result<Option<Segment>, ElfError> {
    if ph.file_size > ph.mem_size {
        return Err(ElfError::BadSegment);
    }
    check_in_file(file, ph.offset, ph.file_size).map_err(|e| match e {
        ElfError::Overflow => ElfError::Overflow,
        _ => ElfError::BadSegment,
    })?;
    if ph.align > 1 && ph.vaddr % PAGE_SIZE != ph.offset % PAGE_SIZE {
        return Err(ElfError::BadSegment);
    }
    let end = ph
        .vaddr
        .checked_add(ph.mem_size)
        .ok_or(ElfError::Overflow)?;
    if end > USER_END {
        return Err(ElfError::BadSegment);
    }
    if ph.mem_size == 0 {
        return Ok(None);
    }
    Ok(Some(Segment {
        vaddr: ph.vaddr,
        mem_size: ph.mem_size,
        file_offset: ph.offset,
        file_size: ph.file_size,
        perms: Perms {
            read: ph.flags & PF_R != 0,
            write: ph.flags & PF_W != 0,
            exec: ph.flags & PF_X != 0,
        },
    }))
}

/// Validates a `PT_TLS` header.
fn tls_template(file: &[u8], ph: &ProgramHeader) -> Result<Tls, ElfError> {
    if ph.file_size > ph.mem_size {
        return Err(ElfError::BadTls);
    }
    check_in_file(file, ph.offset, ph.file_size).map_err(|e| match e {
        ElfError::Overflow => ElfError::Overflow,
        _ => ElfError::BadTls,
    })?;
    ph.vaddr
        .checked_add(ph.mem_size)
        .ok_or(ElfError::Overflow)?;
    Ok(Tls {
        vaddr: ph.vaddr,
        file_size: ph.file_size,
        mem_size: ph.mem_size,
        align: ph.align,
    })
}

/// Extracts and validates the `PT_INTERP` path (without its NUL).
fn interpreter_path(file: &[u8], ph: &ProgramHeader) -> Result<Vec<u8>, ElfError> {
    if ph.file_size < 2 || ph.file_size > INTERP_MAX {
        return Err(ElfError::BadInterpreter);
    }
    let bytes = file_slice(file, ph.offset, ph.file_size).ok_or(ElfError::BadInterpreter)?;
    if bytes.last() != Some(&0) {
        return Err(ElfError::BadInterpreter);
    }
    let path = bytes.split(|&b| b == 0).next().unwrap_or(&[]);
    if path.is_empty() {
        return Err(ElfError::BadInterpreter);
    }
    Ok(path.to_vec())
}

/// `AT_PHDR` without `PT_PHDR`: the program header table's address inside the first segment
/// whose file bytes contain all of it.
fn phdr_from_segments(hdr: &FileHeader, segments: &[Segment]) -> Option<u64> {
    let table_end = hdr.phoff.checked_add(hdr.table_size())?;
    segments.iter().find_map(|seg| {
        let seg_file_end = seg.file_offset.checked_add(seg.file_size)?;
        if seg.file_offset <= hdr.phoff && table_end <= seg_file_end {
            // `phoff - file_offset < file_size <= mem_size`, so this stays below `end()`.
            seg.vaddr
                .checked_add(hdr.phoff.checked_sub(seg.file_offset)?)
        } else {
            None
        }
    })
}

/// `Ok` if `offset .. offset + size` lies inside `file`; `Overflow` if the end overflows,
/// `BadSegment` if it is beyond the file (callers translate the latter).
fn check_in_file(file: &[u8], offset: u64, size: u64) -> Result<(), ElfError> {
    let end = offset.checked_add(size).ok_or(ElfError::Overflow)?;
    if end > file.len() as u64 {
        return Err(ElfError::BadSegment);
    }
    Ok(())
}

/// The `size` bytes at `offset`, if inside `file`.
fn file_slice(file: &[u8], offset: u64, size: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(size).ok()?)?;
    file.get(start..end)
}

fn page_down(addr: u64) -> u64 {
    addr & !(PAGE_SIZE - 1)
}

fn page_up(addr: u64) -> Option<u64> {
    Some(page_down(addr.checked_add(PAGE_SIZE - 1)?))
}
