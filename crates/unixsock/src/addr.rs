//! `struct sockaddr_un` as Linux reads and reports it.
//!
//! - A filesystem name: `sun_path` up to its first NUL or the address's end (Linux terminates
//!   it there), at least one byte; reported back with its NUL (`2 + strlen + 1` bytes).
//! - An abstract name: `sun_path[0]` is NUL; the name is every byte after it up to the
//!   address's length (NULs included, none required); reported back with the same length.
//! - bind with only the family (`addrlen == 2`) asks for an autobind name: NUL then 5
//!   lowercase hex digits (Linux's `%05x`).
//!
//! Anything shorter than 3 bytes (2 for bind), longer than `sizeof(sockaddr_un)` (110) or of
//! another family is EINVAL ([`Invalid`]). Names are fixed-size values: parsing allocates
//! nothing.

use core::cmp::Ordering;

use exo_abi::socket::{AF_UNIX, SUN_PATH_OFFSET, UNIX_PATH_MAX};

/// `sizeof(struct sockaddr_un)`.
pub const SOCKADDR_UN_SIZE: usize = SUN_PATH_OFFSET + UNIX_PATH_MAX;
/// How many distinct autobind names exist (5 hex digits).
pub const AUTOBIND_NAMES: u32 = 1 << 20;

/// The address is malformed (EINVAL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Invalid;

/// A socket name: a filesystem path or an abstract name.
#[derive(Clone, Copy)]
pub struct Name {
    is_abstract: bool,
    len: u8,
    bytes: [u8; UNIX_PATH_MAX],
}

/// What bind was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindRequest {
    /// `addrlen == 2`: pick a free abstract name.
    Autobind,
    Name(Name),
}

impl Name {
    fn new(is_abstract: bool, name: &[u8]) -> Name {
        let mut bytes = [0; UNIX_PATH_MAX];
        let len = name.len().min(UNIX_PATH_MAX);
        bytes[..len].copy_from_slice(&name[..len]);
        Name { is_abstract, len: len as u8, bytes }
    }

    /// A filesystem name (`path` without NUL, 1 to 108 bytes).
    pub fn path(path: &[u8]) -> Name {
        Name::new(false, path)
    }

    /// An abstract name (the bytes after the leading NUL, at most 107).
    pub fn abstract_name(name: &[u8]) -> Name {
        Name::new(true, &name[..name.len().min(UNIX_PATH_MAX - 1)])
    }

    /// Autobind name number `n` (taken modulo [`AUTOBIND_NAMES`]): five lowercase hex digits.
    pub fn autobind(n: u32) -> Name {
        let n = n % AUTOBIND_NAMES;
        let mut digits = [0u8; 5];
        for (i, d) in digits.iter_mut().enumerate() {
            let nibble = (n >> (4 * (4 - i))) & 0xf;
            *d = b"0123456789abcdef"[nibble as usize];
        }
        Name::abstract_name(&digits)
    }

    pub fn is_abstract(&self) -> bool {
        self.is_abstract
    }

    /// The path (filesystem) or the name after the NUL (abstract).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// The address getsockname/getpeername/accept/recvfrom report, and its length.
    pub fn sockaddr(&self) -> ([u8; SOCKADDR_UN_SIZE], usize) {
        let mut out = [0u8; SOCKADDR_UN_SIZE];
        out[..2].copy_from_slice(&AF_UNIX.to_ne_bytes());
        let n = self.len as usize;
        let len = if self.is_abstract {
            out[3..3 + n].copy_from_slice(self.bytes());
            3 + n
        } else {
            out[2..2 + n].copy_from_slice(self.bytes());
            // With the terminating NUL, unless the path fills sun_path.
            (2 + n + 1).min(SOCKADDR_UN_SIZE)
        };
        (out, len)
    }

    /// The name as /proc/net/unix shows it: the path, or `@` and the name with each NUL as `@`.
    pub fn proc_text(&self, out: &mut [u8; UNIX_PATH_MAX + 1]) -> usize {
        if self.is_abstract {
            out[0] = b'@';
            for (o, &b) in out[1..].iter_mut().zip(self.bytes()) {
                *o = if b == 0 { b'@' } else { b };
            }
            1 + self.len as usize
        } else {
            out[..self.len as usize].copy_from_slice(self.bytes());
            self.len as usize
        }
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Name {}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Name) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Name) -> Ordering {
        (self.is_abstract, self.bytes()).cmp(&(other.is_abstract, other.bytes()))
    }
}

impl core::fmt::Debug for Name {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Name({}{:?})", if self.is_abstract { "@" } else { "" }, self.bytes())
    }
}

fn check(bytes: &[u8]) -> Result<(), Invalid> {
    if bytes.len() <= SUN_PATH_OFFSET || bytes.len() > SOCKADDR_UN_SIZE {
        return Err(Invalid);
    }
    if u16::from_ne_bytes([bytes[0], bytes[1]]) != AF_UNIX {
        return Err(Invalid);
    }
    Ok(())
}

/// The name of a connect/sendto address (Linux's `unix_validate_addr` and `unix_mkname_bsd`).
pub fn parse(bytes: &[u8]) -> Result<Name, Invalid> {
    check(bytes)?;
    let path = &bytes[SUN_PATH_OFFSET..];
    if path[0] == 0 {
        return Ok(Name::abstract_name(&path[1..]));
    }
    let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
    Ok(Name::path(&path[..end]))
}

/// bind's address: the 2-byte AF_UNIX address asks for autobind, anything else is [`parse`]d.
pub fn parse_bind(bytes: &[u8]) -> Result<BindRequest, Invalid> {
    if bytes.len() == SUN_PATH_OFFSET && u16::from_ne_bytes([bytes[0], bytes[1]]) == AF_UNIX {
        return Ok(BindRequest::Autobind);
    }
    parse(bytes).map(BindRequest::Name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn addr(path: &[u8]) -> Vec<u8> {
        let mut v = AF_UNIX.to_ne_bytes().to_vec();
        v.extend_from_slice(path);
        v
    }

    #[test]
    fn paths_stop_at_the_first_nul() {
        let n = parse(&addr(b"/tmp/s\0junk")).unwrap();
        assert!(!n.is_abstract());
        assert_eq!(n.bytes(), b"/tmp/s");
        let (out, len) = n.sockaddr();
        assert_eq!(len, 2 + 6 + 1);
        assert_eq!(&out[2..len], b"/tmp/s\0");
        // No NUL at all: the whole sun_path.
        let full = [b'a'; 108];
        let n = parse(&addr(&full)).unwrap();
        assert_eq!(n.bytes().len(), 108);
        assert_eq!(n.sockaddr().1, 110);
    }

    #[test]
    fn abstract_names_keep_every_byte() {
        let n = parse(&addr(b"\0ab\0c")).unwrap();
        assert!(n.is_abstract());
        assert_eq!(n.bytes(), b"ab\0c");
        let (out, len) = n.sockaddr();
        assert_eq!(len, 7);
        assert_eq!(&out[2..len], b"\0ab\0c");
        let mut text = [0; 109];
        let k = n.proc_text(&mut text);
        assert_eq!(&text[..k], b"@ab@c");
        // A lone NUL is a valid (empty) abstract name.
        assert_eq!(parse(&addr(b"\0")).unwrap().bytes(), b"");
    }

    #[test]
    fn bad_addresses() {
        assert_eq!(parse(&addr(b"")), Err(Invalid));
        assert_eq!(parse(&[1]), Err(Invalid));
        assert_eq!(parse(&addr(&[b'a'; 109])), Err(Invalid));
        let mut inet = addr(b"/x");
        inet[0] = 2;
        assert_eq!(parse(&inet), Err(Invalid));
        assert_eq!(parse_bind(&addr(b"")), Ok(BindRequest::Autobind));
        assert_eq!(parse_bind(&[2, 0]), Err(Invalid));
    }

    #[test]
    fn autobind_names() {
        let n = Name::autobind(0x1a2b);
        assert_eq!(n.bytes(), b"01a2b");
        assert_eq!(n.sockaddr().1, 8);
        assert_eq!(Name::autobind(AUTOBIND_NAMES + 1).bytes(), b"00001");
        assert_ne!(Name::path(b"01a2b"), n);
    }

    proptest::proptest! {
        #[test]
        fn reported_names_parse_back(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..130)) {
            if let Ok(n) = parse(&bytes) {
                let (out, len) = n.sockaddr();
                proptest::prop_assert!(len <= SOCKADDR_UN_SIZE);
                proptest::prop_assert_eq!(parse(&out[..len]).unwrap(), n);
            }
        }
    }
}
