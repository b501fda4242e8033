//! [`parse_shebang`]: the `#!` line of a script, parsed exactly like Linux's `binfmt_script`
//! (the algorithm in use since Linux 5.1), including its quirks.
//!
//! Linux reads the first [`BINPRM_BUF_SIZE`] bytes of the file into a zero-padded buffer and:
//!
//! 1. looks for a `'\n'` in the buffer, stopping at the first NUL; the line ends there;
//! 2. without a newline, the interpreter name must be followed, within the buffer, by a
//!    space, tab or NUL (otherwise it may be truncated: `ENOEXEC`), and the line ends at byte
//!    255 (the last byte of the buffer is never part of the line);
//! 3. trailing spaces/tabs before the line end are dropped; leading ones after `#!` skipped;
//! 4. the interpreter name runs up to the next space, tab or NUL; if a space/tab follows it,
//!    the argument starts at the next non-space/tab byte and runs to the line end (or an
//!    earlier NUL). Inner spaces are kept: the argument is one string.
//!
//! Quirks kept on purpose: a first line without a newline that is shorter than the buffer ends
//! at byte 255, inside the zero padding, so trailing spaces are *not* trimmed
//! (`"#!/bin/sh -x  "` gives the argument `"-x  "`, and `"#!/bin/sh "` gives an empty
//! argument); a NUL ends the interpreter or argument.
//!
//! One deviation: `"#!"` followed by a NUL before any name (`"#!\0"`, `"#!  \0"`) gives
//! [`ElfError::BadShebang`] (`ENOEXEC`) where Linux tries to open the empty path and fails
//! with a lookup error (`EACCES` on Linux 6.18).

use alloc::vec::Vec;

use crate::error::ElfError;

/// Linux's `BINPRM_BUF_SIZE`: how many bytes of a file `execve` examines.
pub const BINPRM_BUF_SIZE: usize = 256;

/// A parsed `#!` line: run `interpreter [argument] script-path argv[1..]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shebang {
    /// Interpreter path; never empty, without space, tab, NUL or newline.
    pub interpreter: Vec<u8>,
    /// The optional single argument; without NUL or newline and not starting with a space or
    /// tab (it may end with spaces or be empty only in the newline-less quirk case).
    pub argument: Option<Vec<u8>>,
}

fn spacetab(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// Index of the first byte of `buf[first ..= last]` that is not a space or tab.
fn next_non_spacetab(buf: &[u8; BINPRM_BUF_SIZE], first: usize, last: usize) -> Option<usize> {
    (first..=last).find(|&i| buf.get(i).is_some_and(|&c| !spacetab(c)))
}

/// Index of the first space, tab or NUL in `buf[first ..= last]`.
fn next_terminator(buf: &[u8; BINPRM_BUF_SIZE], first: usize, last: usize) -> Option<usize> {
    (first..=last).find(|&i| buf.get(i).is_some_and(|&c| spacetab(c) || c == 0))
}

/// `buf[from .. to]`, cut at the first NUL.
fn c_string(buf: &[u8; BINPRM_BUF_SIZE], from: usize, to: usize) -> Vec<u8> {
    let bytes = buf.get(from..to).unwrap_or(&[]);
    bytes.split(|&c| c == 0).next().unwrap_or(&[]).to_vec()
}

/// If `file` starts with `#!`, parses its first line like Linux: `None` when `file` is not a
/// script, `Some(Err(ElfError::BadShebang))` when Linux would refuse it with `ENOEXEC` (no
/// interpreter name, or a name not terminated within the first 256 bytes).
///
/// The kernel is responsible for the rest of `binfmt_script`: argv becomes
/// `[interpreter, argument?, script path, argv[1..]]`, the interpreter is executed (and may
/// itself be a script, up to Linux's limit of 5 levels, then `ELOOP`).
pub fn parse_shebang(file: &[u8]) -> Option<Result<Shebang, ElfError>> {
    if file.get(..2) != Some(b"#!".as_slice()) {
        return None;
    }
    let mut buf = [0u8; BINPRM_BUF_SIZE];
    for (dst, src) in buf.iter_mut().zip(file) {
        *dst = *src;
    }
    Some(parse_buffer(&buf))
}

fn parse_buffer(buf: &[u8; BINPRM_BUF_SIZE]) -> Result<Shebang, ElfError> {
    let buf_end = BINPRM_BUF_SIZE - 1;
    // `strnchr`: a newline before the first NUL.
    let newline = buf
        .iter()
        .take_while(|&&c| c != 0)
        .position(|&c| c == b'\n');
    let mut i_end = match newline {
        Some(i) => i,
        None => {
            let start = next_non_spacetab(buf, 2, buf_end).ok_or(ElfError::BadShebang)?;
            next_terminator(buf, start, buf_end).ok_or(ElfError::BadShebang)?;
            buf_end
        }
    };
    // Trim trailing spaces/tabs; `buf[1] == b'!'` stops this at 2 at the latest.
    while i_end > 2 && buf.get(i_end - 1).is_some_and(|&c| spacetab(c)) {
        i_end -= 1;
    }
    let i_name = match next_non_spacetab(buf, 2, i_end) {
        Some(i) if i != i_end => i,
        _ => return Err(ElfError::BadShebang),
    };
    let i_sep = next_terminator(buf, i_name, i_end);
    let i_arg = match i_sep {
        Some(sep) if buf.get(sep).is_some_and(|&c| c != 0) => next_non_spacetab(buf, sep, i_end),
        _ => None,
    };
    // Linux NUL-terminates at `i_end`, and at `i_sep` when there is an argument.
    let name_end = match (i_arg, i_sep) {
        (Some(_), Some(sep)) => sep,
        _ => i_end,
    };
    let interpreter = c_string(buf, i_name, name_end);
    if interpreter.is_empty() {
        return Err(ElfError::BadShebang);
    }
    let argument = i_arg.map(|a| c_string(buf, a, i_end));
    Ok(Shebang {
        interpreter,
        argument,
    })
}
