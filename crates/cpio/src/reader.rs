//! Reading an archive in place: [`entries`] iterates over its [`Entry`]s, borrowing names and
//! contents from the archive, and stops at the first [`CpioError`].

use crate::{
    align4, HEADER_LEN, MAGIC_CRC, MAGIC_NEWC, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, TRAILER,
};
use core::fmt;
use core::iter::FusedIterator;

/// What is wrong with an archive; `offset` is a byte offset in the archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpioError {
    /// No `070701`/`070702` magic where a header must start (`offset`), or the next archive
    /// after a trailer and its NUL padding does not start on a 4-byte boundary.
    BadMagic { offset: usize },
    /// The header field at `offset` is not 8 hexadecimal digits.
    BadHex { offset: usize },
    /// The archive ends inside the entry whose header is at `offset`, or where the header of
    /// an entry (or the trailer) must follow.
    Truncated { offset: usize },
    /// The entry at `offset` has a name size of 0 or a name whose last byte is not NUL.
    NameNotTerminated { offset: usize },
    /// The `070702` regular file at `offset` says its contents sum to `expected`; they sum to
    /// `actual`.
    BadChecksum {
        offset: usize,
        expected: u32,
        actual: u32,
    },
}

impl CpioError {
    /// Where in the archive the error was found.
    pub fn offset(&self) -> usize {
        match *self {
            CpioError::BadMagic { offset }
            | CpioError::BadHex { offset }
            | CpioError::Truncated { offset }
            | CpioError::NameNotTerminated { offset }
            | CpioError::BadChecksum { offset, .. } => offset,
        }
    }
}

impl fmt::Display for CpioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            CpioError::BadMagic { offset } => {
                write!(f, "no cpio newc header (070701/070702) at offset {offset}")
            }
            CpioError::BadHex { offset } => {
                write!(f, "header field at offset {offset} is not 8 hex digits")
            }
            CpioError::Truncated { offset } => {
                write!(f, "archive truncated (entry or trailer at offset {offset})")
            }
            CpioError::NameNotTerminated { offset } => {
                write!(
                    f,
                    "name of the entry at offset {offset} is not NUL-terminated"
                )
            }
            CpioError::BadChecksum {
                offset,
                expected,
                actual,
            } => write!(
                f,
                "checksum of the entry at offset {offset} is {actual:#x}, header says {expected:#x}"
            ),
        }
    }
}

/// One archive member. Numbers are the header's, unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The path as stored, without its NUL (a leading `./` or `/` is kept; see
    /// [`Entry::normalized_name`]).
    pub name: &'a [u8],
    pub ino: u32,
    /// File type (`S_IF*`) and permission bits.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    /// Modification time, seconds since the Unix epoch.
    pub mtime: u32,
    /// Device of the archived file (for hard-link detection with `ino`).
    pub dev_major: u32,
    pub dev_minor: u32,
    /// Device number of a character or block device node.
    pub rdev_major: u32,
    pub rdev_minor: u32,
    /// The contents: file data, or a symbolic link's target.
    pub data: &'a [u8],
}

impl<'a> Entry<'a> {
    /// The path relative to the root: leading `/` and `./` removed, trailing `/` removed;
    /// `None` for the root itself (`.`, `/`, `./`, empty name).
    pub fn normalized_name(&self) -> Option<&'a [u8]> {
        let mut n = self.name;
        loop {
            if let Some(rest) = n.strip_prefix(b"/") {
                n = rest;
            } else if let Some(rest) = n.strip_prefix(b"./") {
                n = rest;
            } else {
                break;
            }
        }
        while let Some(rest) = n.strip_suffix(b"/") {
            n = rest;
        }
        if n.is_empty() || n == b"." {
            None
        } else {
            Some(n)
        }
    }

    /// The file-type bits of `mode` (`S_IFREG`, `S_IFDIR` …).
    pub fn file_type(&self) -> u32 {
        self.mode & S_IFMT
    }

    /// The permission bits of `mode` (with setuid, setgid and sticky).
    pub fn permissions(&self) -> u32 {
        self.mode & crate::PERMISSION_BITS
    }

    pub fn is_file(&self) -> bool {
        self.file_type() == S_IFREG
    }

    pub fn is_dir(&self) -> bool {
        self.file_type() == S_IFDIR
    }

    pub fn is_symlink(&self) -> bool {
        self.file_type() == S_IFLNK
    }
}

/// Where the iterator is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before an archive: NUL padding may come first, the end of input is a clean end.
    Between,
    /// Inside an archive: the next entry must follow at once.
    Inside,
    /// After the end or an error.
    Done,
}

/// Iterator over the entries of one or more concatenated newc archives (trailers are not
/// yielded). Fused: after an error or the end it yields only `None`.
#[derive(Clone, Debug)]
pub struct Entries<'a> {
    archive: &'a [u8],
    pos: usize,
    state: State,
}

/// Iterate over the entries of `archive`.
pub fn entries(archive: &[u8]) -> Entries<'_> {
    Entries {
        archive,
        pos: 0,
        state: State::Between,
    }
}

/// The value of 8 hex digits.
fn hex8(digits: &[u8]) -> Option<u32> {
    if digits.len() != 8 {
        return None;
    }
    digits.iter().try_fold(0u32, |acc, &c| {
        let d = (c as char).to_digit(16)?;
        Some((acc << 4) | d)
    })
}

impl<'a> Entries<'a> {
    /// Offset of the next header to read (the archive's length once the iteration is over
    /// without error).
    pub fn offset(&self) -> usize {
        self.pos
    }

    fn fail(&mut self, e: CpioError) -> Option<Result<Entry<'a>, CpioError>> {
        self.state = State::Done;
        Some(Err(e))
    }

    /// Parse the entry whose header is at `self.pos`; returns it, whether it is the trailer,
    /// and the offset after it.
    fn parse(&self) -> Result<(Entry<'a>, usize), CpioError> {
        let start = self.pos;
        let rest = &self.archive[start..];
        let m = rest.len().min(MAGIC_NEWC.len());
        let crc = rest[..m] == MAGIC_CRC[..m];
        if rest[..m] != MAGIC_NEWC[..m] && !crc {
            return Err(CpioError::BadMagic { offset: start });
        }
        if rest.len() < HEADER_LEN {
            return Err(CpioError::Truncated { offset: start });
        }
        let mut f = [0u32; 13];
        for (i, v) in f.iter_mut().enumerate() {
            let at = 6 + 8 * i;
            *v = hex8(&rest[at..at + 8]).ok_or(CpioError::BadHex { offset: start + at })?;
        }
        let [ino, mode, uid, gid, nlink, mtime, filesize, dev_major, dev_minor, rdev_major, rdev_minor, namesize, check] =
            f;
        let truncated = CpioError::Truncated { offset: start };
        let name_len = namesize as usize;
        if name_len == 0 {
            return Err(CpioError::NameNotTerminated { offset: start });
        }
        let name_end = HEADER_LEN.checked_add(name_len).ok_or(truncated)?;
        let name_field = rest.get(HEADER_LEN..name_end).ok_or(truncated)?;
        if name_field[name_len - 1] != 0 {
            return Err(CpioError::NameNotTerminated { offset: start });
        }
        let nul = name_field
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(name_len - 1);
        let name = &name_field[..nul];
        let data_start = align4(start + name_end).ok_or(truncated)?;
        let size = filesize as usize;
        let data = if size == 0 {
            &[][..]
        } else {
            let data_end = data_start.checked_add(size).ok_or(truncated)?;
            self.archive.get(data_start..data_end).ok_or(truncated)?
        };
        if crc && mode & S_IFMT == S_IFREG {
            let actual = data.iter().fold(0u32, |s, &b| s.wrapping_add(u32::from(b)));
            if actual != check {
                return Err(CpioError::BadChecksum {
                    offset: start,
                    expected: check,
                    actual,
                });
            }
        }
        // The padding after the last entry may be missing: never go past the end.
        let next = align4(data_start + size)
            .ok_or(truncated)?
            .min(self.archive.len());
        let entry = Entry {
            name,
            ino,
            mode,
            uid,
            gid,
            nlink,
            mtime,
            dev_major,
            dev_minor,
            rdev_major,
            rdev_minor,
            data,
        };
        Ok((entry, next))
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<Entry<'a>, CpioError>;

    fn next(&mut self) -> Option<Self::Item> {
        // Each round consumes at least one header, so this ends.
        loop {
            match self.state {
                State::Done => return None,
                State::Between => {
                    let skip = self.archive[self.pos..]
                        .iter()
                        .take_while(|&&b| b == 0)
                        .count();
                    self.pos += skip;
                    if self.pos == self.archive.len() {
                        self.state = State::Done;
                        return None;
                    }
                    if !self.pos.is_multiple_of(4) {
                        return self.fail(CpioError::BadMagic { offset: self.pos });
                    }
                }
                State::Inside => {
                    if self.pos >= self.archive.len() {
                        return self.fail(CpioError::Truncated { offset: self.pos });
                    }
                }
            }
            match self.parse() {
                Err(e) => return self.fail(e),
                Ok((entry, next)) => {
                    self.pos = next;
                    if entry.name == TRAILER {
                        self.state = State::Between;
                    } else {
                        self.state = State::Inside;
                        return Some(Ok(entry));
                    }
                }
            }
        }
    }
}

impl FusedIterator for Entries<'_> {}
