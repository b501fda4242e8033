//! `struct sockaddr_in` as the socket calls read and write it, with Linux's rules: a name
//! shorter than `sizeof(struct sockaddr_in)` is EINVAL, another family EAFNOSUPPORT, except
//! where Linux tolerates AF_UNSPEC (bind of INADDR_ANY, connect to dissolve an association,
//! sendto).

use exo_abi::socket::{AF_INET, AF_UNSPEC};
use exo_abi::Errno;

use crate::{Ipv4, ANY};

/// Size of `struct sockaddr_in`.
pub const SOCKADDR_IN_SIZE: usize = 16;

/// An IPv4 endpoint: address and port (host order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint {
    pub addr: Ipv4,
    pub port: u16,
}

impl Endpoint {
    pub const UNSPECIFIED: Endpoint = Endpoint { addr: ANY, port: 0 };

    pub const fn new(addr: Ipv4, port: u16) -> Endpoint {
        Endpoint { addr, port }
    }

    /// The 16 bytes of its `sockaddr_in`.
    pub fn encode(&self) -> [u8; SOCKADDR_IN_SIZE] {
        let mut out = [0u8; SOCKADDR_IN_SIZE];
        out[..2].copy_from_slice(&AF_INET.to_ne_bytes());
        out[2..4].copy_from_slice(&self.port.to_be_bytes());
        out[4..8].copy_from_slice(&self.addr);
        out
    }
}

/// The family of a name (AF_UNSPEC when shorter than the family field).
pub fn family(bytes: &[u8]) -> u16 {
    if bytes.len() < 2 {
        AF_UNSPEC
    } else {
        u16::from_ne_bytes([bytes[0], bytes[1]])
    }
}

/// The endpoint in a name whose length was already checked.
fn endpoint(bytes: &[u8]) -> Endpoint {
    Endpoint { port: u16::from_be_bytes([bytes[2], bytes[3]]), addr: [bytes[4], bytes[5], bytes[6], bytes[7]] }
}

/// bind(2)'s name (`inet_bind`): EINVAL when short; the family must be AF_INET, or AF_UNSPEC
/// with INADDR_ANY (a compatibility case Linux keeps), else EAFNOSUPPORT.
pub fn parse_bind(bytes: &[u8]) -> Result<Endpoint, Errno> {
    if bytes.len() < SOCKADDR_IN_SIZE {
        return Err(Errno::EINVAL);
    }
    let ep = endpoint(bytes);
    match family(bytes) {
        AF_INET => Ok(ep),
        AF_UNSPEC if ep.addr == ANY => Ok(ep),
        _ => Err(Errno::EAFNOSUPPORT),
    }
}

/// What connect(2)'s name asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectTo {
    /// AF_UNSPEC: dissolve the association (datagram sockets), disconnect (streams).
    Disconnect,
    To(Endpoint),
}

/// connect(2)'s name: EINVAL when shorter than the family field; AF_UNSPEC disconnects;
/// otherwise EINVAL when short and EAFNOSUPPORT for another family.
pub fn parse_connect(bytes: &[u8]) -> Result<ConnectTo, Errno> {
    if bytes.len() < 2 {
        return Err(Errno::EINVAL);
    }
    if family(bytes) == AF_UNSPEC {
        return Ok(ConnectTo::Disconnect);
    }
    if bytes.len() < SOCKADDR_IN_SIZE {
        return Err(Errno::EINVAL);
    }
    if family(bytes) != AF_INET {
        return Err(Errno::EAFNOSUPPORT);
    }
    Ok(ConnectTo::To(endpoint(bytes)))
}

/// sendto(2)'s destination on a datagram socket (`udp_sendmsg`): EINVAL when short,
/// EAFNOSUPPORT for a family other than AF_INET or AF_UNSPEC.
pub fn parse_sendto(bytes: &[u8]) -> Result<Endpoint, Errno> {
    if bytes.len() < SOCKADDR_IN_SIZE {
        return Err(Errno::EINVAL);
    }
    match family(bytes) {
        AF_INET | AF_UNSPEC => Ok(endpoint(bytes)),
        _ => Err(Errno::EAFNOSUPPORT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn name(family: u16, port: u16, addr: Ipv4) -> Vec<u8> {
        let mut v = Endpoint::new(addr, port).encode().to_vec();
        v[..2].copy_from_slice(&family.to_ne_bytes());
        v
    }

    #[test]
    fn bind_rules() {
        assert_eq!(parse_bind(&name(AF_INET, 80, [127, 0, 0, 1])), Ok(Endpoint::new([127, 0, 0, 1], 80)));
        assert_eq!(parse_bind(&name(AF_UNSPEC, 80, ANY)), Ok(Endpoint::new(ANY, 80)));
        assert_eq!(parse_bind(&name(AF_UNSPEC, 80, [127, 0, 0, 1])), Err(Errno::EAFNOSUPPORT));
        assert_eq!(parse_bind(&name(10, 80, ANY)), Err(Errno::EAFNOSUPPORT));
        assert_eq!(parse_bind(&name(AF_INET, 80, ANY)[..15]), Err(Errno::EINVAL));
        // Longer names (sockaddr_storage) are fine.
        let mut long = name(AF_INET, 1, ANY);
        long.resize(128, 0);
        assert!(parse_bind(&long).is_ok());
    }

    #[test]
    fn connect_rules() {
        assert_eq!(parse_connect(&[0]), Err(Errno::EINVAL));
        assert_eq!(parse_connect(&name(AF_UNSPEC, 0, ANY)[..2]), Ok(ConnectTo::Disconnect));
        assert_eq!(parse_connect(&name(AF_INET, 1, ANY)[..8]), Err(Errno::EINVAL));
        assert_eq!(parse_connect(&name(1, 1, ANY)), Err(Errno::EAFNOSUPPORT));
        assert_eq!(parse_connect(&name(AF_INET, 7, [10, 0, 2, 2])), Ok(ConnectTo::To(Endpoint::new([10, 0, 2, 2], 7))));
    }

    #[test]
    fn sendto_rules() {
        assert_eq!(parse_sendto(&name(AF_INET, 7, ANY)[..4]), Err(Errno::EINVAL));
        assert_eq!(parse_sendto(&name(AF_UNSPEC, 7, ANY)), Ok(Endpoint::new(ANY, 7)));
        assert_eq!(parse_sendto(&name(AF_UNIX, 7, ANY)), Err(Errno::EAFNOSUPPORT));
    }

    use exo_abi::socket::AF_UNIX;

    #[test]
    fn encode_matches_linux() {
        let e = Endpoint::new([127, 0, 0, 1], 0x1f90).encode();
        assert_eq!(e, [2, 0, 0x1f, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    }
}
