//! Fixed-capacity, heap-free byte buffers and strings (`FixedBytes`, `FixedStr`) used to copy
//! boot-loader data (command lines, names, the RSDP) out of boot memory before a heap exists.

use core::fmt;

/// Up to `N` bytes stored inline. Appending past the capacity truncates and sets a flag.
#[derive(Clone, PartialEq, Eq)]
pub struct FixedBytes<const N: usize> {
    bytes: [u8; N],
    len: usize,
    truncated: bool,
}

impl<const N: usize> FixedBytes<N> {
    /// An empty buffer.
    pub const fn new() -> Self {
        Self {
            bytes: [0; N],
            len: 0,
            truncated: false,
        }
    }

    /// A buffer holding the first `N` bytes of `data` (truncated if longer).
    pub fn from_bytes(data: &[u8]) -> Self {
        let mut b = Self::new();
        b.push_bytes(data);
        b
    }

    /// Appends as many bytes of `data` as fit; returns `false` if some were dropped.
    pub fn push_bytes(&mut self, data: &[u8]) -> bool {
        let room = N - self.len;
        let take = data.len().min(room);
        self.bytes[self.len..self.len + take].copy_from_slice(&data[..take]);
        self.len += take;
        if take < data.len() {
            self.truncated = true;
        }
        !self.truncated
    }

    /// The stored bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Number of stored bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Maximum number of bytes.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// True if data was dropped because the buffer was full.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Marks the contents as incomplete (used when the source ended early or overflowed).
    pub fn set_truncated(&mut self) {
        self.truncated = true;
    }
}

impl<const N: usize> Default for FixedBytes<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Debug for FixedBytes<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_bytes().iter()).finish()
    }
}

/// A string of at most `N` bytes stored inline. The bytes are kept as given (boot data need not
/// be UTF-8); [`FixedStr::as_str`] returns the longest valid UTF-8 prefix.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct FixedStr<const N: usize> {
    buf: FixedBytes<N>,
}

impl<const N: usize> FixedStr<N> {
    /// An empty string.
    pub const fn new() -> Self {
        Self {
            buf: FixedBytes::new(),
        }
    }

    /// A string holding the first `N` bytes of `data`.
    pub fn from_bytes(data: &[u8]) -> Self {
        Self {
            buf: FixedBytes::from_bytes(data),
        }
    }

    /// Appends as many bytes as fit; returns `false` if some were dropped.
    pub fn push_bytes(&mut self, data: &[u8]) -> bool {
        self.buf.push_bytes(data)
    }

    /// Appends as much of `s` as fits; returns `false` if some of it was dropped.
    pub fn push_str(&mut self, s: &str) -> bool {
        self.buf.push_bytes(s.as_bytes())
    }

    /// The longest prefix of the stored bytes that is valid UTF-8.
    pub fn as_str(&self) -> &str {
        let bytes = self.buf.as_bytes();
        match core::str::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => core::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or(""),
        }
    }

    /// The raw stored bytes (possibly not UTF-8).
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.as_bytes()
    }

    /// Number of stored bytes.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True if nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Maximum number of bytes.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// True if the source did not fit (or was cut short) and the string is incomplete.
    pub fn truncated(&self) -> bool {
        self.buf.truncated()
    }

    /// Marks the string as incomplete.
    pub fn set_truncated(&mut self) {
        self.buf.set_truncated();
    }
}

impl<const N: usize> From<&str> for FixedStr<N> {
    fn from(s: &str) -> Self {
        Self::from_bytes(s.as_bytes())
    }
}

impl<const N: usize> fmt::Debug for FixedStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> fmt::Display for FixedStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::{format, vec::Vec};

    #[test]
    fn stores_and_truncates() {
        let mut s = FixedStr::<4>::from("ab");
        assert_eq!(s.as_str(), "ab");
        assert!(!s.truncated());
        assert!(!s.push_str("cde"));
        assert_eq!(s.as_str(), "abcd");
        assert!(s.truncated());
        assert_eq!(s.len(), 4);
        assert_eq!(s.capacity(), 4);
    }

    #[test]
    fn as_str_returns_valid_prefix() {
        // "é" is 0xC3 0xA9: cutting it in half must not surface half a character.
        let s = FixedStr::<3>::from("aé€");
        assert_eq!(s.as_bytes(), &[b'a', 0xC3, 0xA9]);
        assert_eq!(s.as_str(), "aé");
        let s = FixedStr::<2>::from("aé");
        assert_eq!(s.as_str(), "a");
        let s = FixedStr::<8>::from_bytes(&[b'o', b'k', 0xFF, b'x']);
        assert_eq!(s.as_str(), "ok");
        assert_eq!(format!("{s}"), "ok");
        assert_eq!(format!("{s:?}"), "\"ok\"");
    }

    #[test]
    fn zero_capacity() {
        let mut s = FixedStr::<0>::new();
        assert!(!s.push_str("x"));
        assert!(s.is_empty());
        assert_eq!(s.as_str(), "");
    }

    proptest! {
        #[test]
        fn prefix_semantics(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 0..6)) {
            let mut s = FixedStr::<32>::new();
            let mut all = Vec::new();
            for c in &chunks {
                s.push_bytes(c);
                all.extend_from_slice(c);
            }
            let kept = all.len().min(32);
            prop_assert_eq!(s.as_bytes(), &all[..kept]);
            prop_assert_eq!(s.truncated(), all.len() > 32);
            let st = s.as_str();
            prop_assert!(all.starts_with(st.as_bytes()));
            // Longest valid prefix: no longer prefix of the kept bytes is valid UTF-8.
            for l in st.len() + 1..=kept {
                prop_assert!(core::str::from_utf8(&all[..l]).is_err());
            }
        }
    }
}
