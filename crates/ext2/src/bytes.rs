//! Little-endian field access on byte buffers that never panics: a field that does not lie in
//! the buffer reads as 0 and is not written (callers size their buffers, so this only matters
//! for corrupted input).

pub(crate) fn r16(b: &[u8], off: usize) -> u16 {
    match b.get(off..off.wrapping_add(2)) {
        Some(&[a, c]) => u16::from_le_bytes([a, c]),
        _ => 0,
    }
}

pub(crate) fn r32(b: &[u8], off: usize) -> u32 {
    match b.get(off..off.wrapping_add(4)) {
        Some(&[a, c, d, e]) => u32::from_le_bytes([a, c, d, e]),
        _ => 0,
    }
}

pub(crate) fn r8(b: &[u8], off: usize) -> u8 {
    b.get(off).copied().unwrap_or(0)
}

pub(crate) fn w16(b: &mut [u8], off: usize, v: u16) {
    if let Some(d) = b.get_mut(off..off.wrapping_add(2)) {
        d.copy_from_slice(&v.to_le_bytes());
    }
}

pub(crate) fn w32(b: &mut [u8], off: usize, v: u32) {
    if let Some(d) = b.get_mut(off..off.wrapping_add(4)) {
        d.copy_from_slice(&v.to_le_bytes());
    }
}

pub(crate) fn w8(b: &mut [u8], off: usize, v: u8) {
    if let Some(d) = b.get_mut(off) {
        *d = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_is_zero_and_ignored() {
        let mut b = [1u8, 2, 3];
        assert_eq!(r16(&b, 1), 0x0302);
        assert_eq!(r16(&b, 2), 0);
        assert_eq!(r32(&b, usize::MAX), 0);
        w32(&mut b, 1, 7);
        assert_eq!(b, [1, 2, 3]);
        w16(&mut b, 0, 0x0a0b);
        assert_eq!(b, [0x0b, 0x0a, 3]);
    }
}
