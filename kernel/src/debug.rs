//! Kernel self-description for fault reports: symbol lookup in the kernel's own symbol table
//! (the `.ksyms` section that xtask fills after linking) and symbolized backtraces.

use core::fmt::Write;

use exo_ksyms::Table;

use crate::arch;

extern "C" {
    static __ksyms_start: u8;
    static __ksyms_end: u8;
}

/// The kernel's symbol table, if xtask embedded one.
pub fn symbols() -> Option<Table<'static>> {
    let start = &raw const __ksyms_start;
    let end = &raw const __ksyms_end;
    let len = (end as usize).saturating_sub(start as usize);
    // SAFETY: the linker script reserves `[__ksyms_start, __ksyms_end)` as initialised read-only
    // data inside the kernel image, mapped for the kernel's whole life and never written.
    let bytes = unsafe { core::slice::from_raw_parts(start, len) };
    Table::parse(bytes)
}

/// Writes `name+0xoffset` for code address `addr`, or `?` when it is not in the table.
pub fn write_symbol(out: &mut impl Write, addr: u64) {
    match symbols().and_then(|table| table.lookup(addr)) {
        Some((name, offset)) => {
            let _ = write!(out, "{name}+{offset:#x}");
        }
        None => {
            let _ = write!(out, "?");
        }
    }
}

/// Writes a backtrace: the faulting instruction (if any), then every return address found by
/// walking the frame-pointer chain from `rbp`.
pub fn write_backtrace<W: Write>(out: &mut W, first: Option<u64>, rbp: u64) {
    let _ = writeln!(out, "backtrace:");
    let mut index = 0;
    let mut line = |out: &mut W, addr: u64, lookup: u64| {
        let _ = write!(out, "  #{index:<2} {addr:#018x} ");
        write_symbol(out, lookup);
        let _ = writeln!(out);
        index += 1;
    };
    if let Some(rip) = first {
        line(out, rip, rip);
    }
    // A return address points after the call; look up the call instruction itself.
    arch::walk_stack(rbp, |ret| line(out, ret, ret.saturating_sub(1)));
}
