//! `exo-inet`: the pure logic of Exo-OS's AF_INET sockets, kept apart from the kernel so the
//! host can test it (the kernel side is `kernel/src/net/inet`, which drives smoltcp).
//!
//! - [`addr`]: `sockaddr_in` as bind/connect/sendto read it, with Linux's length and family
//!   rules, and as getsockname/accept/recvfrom write it.
//! - [`ports`]: which local ports are bound, the conflict rule (SO_REUSEADDR, listeners) and
//!   ephemeral port choice.
//! - [`route`]: the IPv4 routing table (longest prefix, then metric).
//! - [`ipconf`]: Linux's `ip=` kernel parameter.
//! - [`ifreq`]: the interface ioctl numbers and the `ifreq`, `ifconf` and `rtentry` layouts.
//! - [`procnet`]: the text of `/proc/net/{dev,route,tcp,udp}`.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod addr;
pub mod ifreq;
pub mod ipconf;
pub mod ports;
pub mod procnet;
pub mod route;

/// An IPv4 address as its four bytes in network order.
pub type Ipv4 = [u8; 4];

/// The unspecified address (INADDR_ANY).
pub const ANY: Ipv4 = [0, 0, 0, 0];

/// The address as a big-endian number (for masks and comparisons).
pub fn to_u32(a: Ipv4) -> u32 {
    u32::from_be_bytes(a)
}

/// The address of a big-endian number.
pub fn from_u32(v: u32) -> Ipv4 {
    v.to_be_bytes()
}

/// The prefix length of a netmask (the number of leading one bits; None if the mask's ones are
/// not contiguous).
pub fn prefix_len(mask: Ipv4) -> Option<u8> {
    let m = to_u32(mask);
    let ones = m.leading_ones();
    if ones < 32 && m << ones != 0 {
        return None;
    }
    Some(ones as u8)
}

/// The netmask of a prefix length (clamped to 32).
pub fn mask_of(prefix: u8) -> Ipv4 {
    let p = u32::from(prefix.min(32));
    from_u32(if p == 0 { 0 } else { u32::MAX << (32 - p) })
}

/// Whether `a` is in 127.0.0.0/8.
pub fn is_loopback(a: Ipv4) -> bool {
    a[0] == 127
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_prefixes() {
        assert_eq!(prefix_len([255, 255, 255, 0]), Some(24));
        assert_eq!(prefix_len([0, 0, 0, 0]), Some(0));
        assert_eq!(prefix_len([255, 255, 255, 255]), Some(32));
        assert_eq!(prefix_len([255, 0, 255, 0]), None);
        assert_eq!(mask_of(8), [255, 0, 0, 0]);
        assert_eq!(mask_of(0), [0, 0, 0, 0]);
        assert_eq!(mask_of(40), [255, 255, 255, 255]);
        for p in 0..=32 {
            assert_eq!(prefix_len(mask_of(p)), Some(p));
        }
    }
}
