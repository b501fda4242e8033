//! `linux_dirent64` records (what `getdents64` returns) appended straight to a byte buffer,
//! for [`Inode::read_dirents`](crate::Inode::read_dirents): the kernel hands the buffer to the
//! user in one checked copy.

use alloc::vec::Vec;

use exo_abi::types::{dirent64_len, DIRENT64_NAME_OFFSET};
use exo_abi::Errno;

use crate::inode::Result;

/// Records up to this length (names up to 12 bytes) are built whole on the stack and appended
/// with one fixed-size copy.
const SHORT: usize = 32;

/// Appends the record of one entry (`d_off` = `next_cursor`) if the buffer stays within
/// `space` bytes: `Ok(false)` (nothing appended) if it would not, `ENOMEM` if the buffer
/// cannot grow. The buffer grows by doubling, never past `space`.
pub(crate) fn push_dirent64(out: &mut Vec<u8>, space: usize, ino: u64, kind: u8, name: &[u8], next_cursor: u64) -> Result<bool> {
    let len = dirent64_len(name.len());
    let start = out.len();
    let Some(reclen) = u16::try_from(len).ok().filter(|_| start.checked_add(len).is_some_and(|end| end <= space)) else {
        return Ok(false);
    };
    let need = len.max(SHORT);
    if out.capacity() - start < need {
        let want = need.max(out.capacity()).min(space.saturating_sub(start).max(need));
        out.try_reserve(want).map_err(|_| Errno::ENOMEM)?;
    }
    let mut head = [0u8; SHORT];
    head[0..8].copy_from_slice(&ino.to_le_bytes());
    head[8..16].copy_from_slice(&(next_cursor as i64).to_le_bytes());
    head[16..18].copy_from_slice(&reclen.to_le_bytes());
    head[18] = kind;
    if len <= SHORT {
        if let Some(dst) = head.get_mut(DIRENT64_NAME_OFFSET..DIRENT64_NAME_OFFSET + name.len()) {
            dst.copy_from_slice(name);
        }
        out.extend_from_slice(&head);
        out.truncate(start + len);
    } else {
        out.extend_from_slice(&head[..DIRENT64_NAME_OFFSET]);
        out.extend_from_slice(name);
        out.resize(start + len, 0);
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use exo_abi::types::write_dirent64;

    /// The same bytes as `exo_abi`'s writer, for short and long names.
    #[test]
    fn matches_write_dirent64() {
        for n in [0usize, 1, 4, 5, 12, 13, 20, 255] {
            let name = vec![b'x'; n];
            let mut out = vec![7u8; 3];
            assert!(push_dirent64(&mut out, 4096, 42, 8, &name, 99).unwrap());
            let mut want = vec![0u8; dirent64_len(n)];
            write_dirent64(&mut want, 42, 99, 8, &name).unwrap();
            assert_eq!(&out[..3], &[7, 7, 7]);
            assert_eq!(&out[3..], &want[..], "name length {n}");
        }
    }

    /// A record that would pass `space` is refused and nothing is appended.
    #[test]
    fn respects_space() {
        let mut out = Vec::new();
        assert!(push_dirent64(&mut out, 24, 1, 8, b"abcd", 1).unwrap());
        assert!(!push_dirent64(&mut out, 40, 1, 8, b"abcd", 2).unwrap());
        assert_eq!(out.len(), 24);
        assert!(push_dirent64(&mut out, 48, 1, 8, b"abcd", 2).unwrap());
        assert_eq!(out.len(), 48);
    }
}
