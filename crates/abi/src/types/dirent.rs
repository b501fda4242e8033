//! Directory entries as `getdents64` (`struct linux_dirent64`) and the legacy `getdents`
//! (`struct linux_dirent`) return them: variable-length records written into the caller's
//! buffer, each 8-byte aligned in length.
//!
//! `linux_dirent64`: `d_ino` u64 (0), `d_off` i64 (8), `d_reclen` u16 (16), `d_type` u8 (18),
//! `d_name` (19), NUL, zero padding to `d_reclen`.
//!
//! `linux_dirent`: `d_ino` u64 (0), `d_off` i64 (8), `d_reclen` u16 (16), `d_name` (18), NUL,
//! padding, and `d_type` in the record's last byte.

/// Offset of `d_name` in a `linux_dirent64` record.
pub const DIRENT64_NAME_OFFSET: usize = 19;
/// Offset of `d_name` in a legacy `linux_dirent` record.
pub const DIRENT_NAME_OFFSET: usize = 18;

const fn align8(len: usize) -> usize {
    (len + 7) & !7
}

/// Length of a `linux_dirent64` record for a name of `name_len` bytes: header, name, NUL,
/// rounded up to 8.
pub const fn dirent64_len(name_len: usize) -> usize {
    align8(DIRENT64_NAME_OFFSET + name_len + 1)
}

/// Length of a legacy `linux_dirent` record: header, name, NUL, `d_type`, rounded up to 8.
pub const fn dirent_len(name_len: usize) -> usize {
    align8(DIRENT_NAME_OFFSET + name_len + 2)
}

/// Writes the common header (`d_ino`, `d_off`, `d_reclen`) and zeroes the rest of the record.
fn write_header(record: &mut [u8], ino: u64, next_offset: i64) {
    let reclen = record.len() as u16;
    record[0..8].copy_from_slice(&ino.to_le_bytes());
    record[8..16].copy_from_slice(&next_offset.to_le_bytes());
    record[16..18].copy_from_slice(&reclen.to_le_bytes());
    record[18..].fill(0);
}

/// Writes one `linux_dirent64` record at the start of `out`: `next_offset` is the `d_off`
/// value (the directory position after this entry), `d_type` a `DT_*`. Returns the record
/// length, or `None` if `out` is too small (nothing is written then).
pub fn write_dirent64(
    out: &mut [u8],
    ino: u64,
    next_offset: i64,
    d_type: u8,
    name: &[u8],
) -> Option<usize> {
    let len = dirent64_len(name.len());
    if len > out.len() || len > usize::from(u16::MAX) {
        return None;
    }
    let record = &mut out[..len];
    write_header(record, ino, next_offset);
    record[18] = d_type;
    record[DIRENT64_NAME_OFFSET..DIRENT64_NAME_OFFSET + name.len()].copy_from_slice(name);
    Some(len)
}

/// Writes one legacy `linux_dirent` record (for `getdents`) at the start of `out`, like
/// [`write_dirent64`].
pub fn write_dirent(
    out: &mut [u8],
    ino: u64,
    next_offset: i64,
    d_type: u8,
    name: &[u8],
) -> Option<usize> {
    let len = dirent_len(name.len());
    if len > out.len() || len > usize::from(u16::MAX) {
        return None;
    }
    let record = &mut out[..len];
    write_header(record, ino, next_offset);
    record[DIRENT_NAME_OFFSET..DIRENT_NAME_OFFSET + name.len()].copy_from_slice(name);
    record[len - 1] = d_type;
    Some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths() {
        assert_eq!(dirent64_len(1), 24); // "." : 19 + 1 + 1 = 21 -> 24
        assert_eq!(dirent64_len(2), 24);
        assert_eq!(dirent64_len(4), 24); // 24 exactly
        assert_eq!(dirent64_len(5), 32);
        assert_eq!(dirent64_len(255), 280);
        assert_eq!(dirent_len(1), 24); // 18 + 1 + 2 = 21 -> 24
        assert_eq!(dirent_len(4), 24);
        assert_eq!(dirent_len(5), 32);
    }

    #[test]
    fn writes_dirent64() {
        let mut buf = [0xaa; 64];
        let len = write_dirent64(&mut buf, 0x1234, 7, crate::mode::DT_DIR, b"hello").unwrap();
        assert_eq!(len, 32);
        assert_eq!(&buf[0..8], &0x1234u64.to_le_bytes());
        assert_eq!(&buf[8..16], &7i64.to_le_bytes());
        assert_eq!(&buf[16..18], &32u16.to_le_bytes());
        assert_eq!(buf[18], 4);
        assert_eq!(&buf[19..25], b"hello\0");
        assert!(buf[25..32].iter().all(|&b| b == 0));
        assert!(
            buf[32..].iter().all(|&b| b == 0xaa),
            "wrote past the record"
        );
        // A second record follows at `len`.
        let len2 = write_dirent64(&mut buf[len..], 9, 8, crate::mode::DT_REG, b".").unwrap();
        assert_eq!(len2, 24);
        assert_eq!(&buf[len + 19..len + 21], b".\0");
    }

    #[test]
    fn dirent64_that_does_not_fit() {
        let mut buf = [0xaa; 31];
        assert_eq!(write_dirent64(&mut buf, 1, 1, 0, b"hello"), None);
        assert!(buf.iter().all(|&b| b == 0xaa));
        assert_eq!(write_dirent64(&mut [], 1, 1, 0, b""), None);
        let mut exact = [0; 24];
        assert_eq!(write_dirent64(&mut exact, 1, 1, 0, b"abcd"), Some(24));
    }

    #[test]
    fn writes_legacy_dirent() {
        let mut buf = [0xaa; 40];
        let len = write_dirent(&mut buf, 5, -1, crate::mode::DT_LNK, b"link").unwrap();
        assert_eq!(len, 24);
        assert_eq!(&buf[8..16], &(-1i64).to_le_bytes());
        assert_eq!(&buf[16..18], &24u16.to_le_bytes());
        assert_eq!(&buf[18..23], b"link\0");
        assert_eq!(buf[23], 10);
        assert_eq!(buf[24], 0xaa);
        assert_eq!(write_dirent(&mut buf[..23], 5, 0, 0, b"link"), None);
    }
}
