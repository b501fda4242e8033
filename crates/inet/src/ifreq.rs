//! The interface requests every socket answers (Linux `linux/sockios.h`) and the structures
//! they exchange: `struct ifreq` (40 bytes: a 16-byte name and a 24-byte union),
//! `struct ifconf` (16 bytes) and `struct rtentry` (120 bytes), with the interface flags.

use crate::Ipv4;

pub const SIOCADDRT: u32 = 0x890B;
pub const SIOCDELRT: u32 = 0x890C;
pub const SIOCGIFNAME: u32 = 0x8910;
pub const SIOCGIFCONF: u32 = 0x8912;
pub const SIOCGIFFLAGS: u32 = 0x8913;
pub const SIOCSIFFLAGS: u32 = 0x8914;
pub const SIOCGIFADDR: u32 = 0x8915;
pub const SIOCSIFADDR: u32 = 0x8916;
pub const SIOCGIFDSTADDR: u32 = 0x8917;
pub const SIOCSIFDSTADDR: u32 = 0x8918;
pub const SIOCGIFBRDADDR: u32 = 0x8919;
pub const SIOCSIFBRDADDR: u32 = 0x891A;
pub const SIOCGIFNETMASK: u32 = 0x891B;
pub const SIOCSIFNETMASK: u32 = 0x891C;
pub const SIOCGIFMETRIC: u32 = 0x891D;
pub const SIOCSIFMETRIC: u32 = 0x891E;
pub const SIOCGIFMTU: u32 = 0x8921;
pub const SIOCSIFMTU: u32 = 0x8922;
pub const SIOCSIFHWADDR: u32 = 0x8924;
pub const SIOCGIFHWADDR: u32 = 0x8927;
pub const SIOCGIFINDEX: u32 = 0x8933;
pub const SIOCGIFTXQLEN: u32 = 0x8942;
pub const SIOCSIFTXQLEN: u32 = 0x8943;
pub const SIOCGIFMAP: u32 = 0x8970;
pub const SIOCSIFMAP: u32 = 0x8971;
/// Bytes waiting to be read / not yet acknowledged (FIONREAD and TIOCOUTQ's numbers).
pub const SIOCINQ: u32 = 0x541B;
pub const SIOCOUTQ: u32 = 0x5411;

// Interface flags (`ifr_flags`, a short).
pub const IFF_UP: u16 = 0x1;
pub const IFF_BROADCAST: u16 = 0x2;
pub const IFF_LOOPBACK: u16 = 0x8;
pub const IFF_RUNNING: u16 = 0x40;
pub const IFF_MULTICAST: u16 = 0x1000;

/// `sa_family` of SIOCGIFHWADDR: Ethernet, loopback.
pub const ARPHRD_ETHER: u16 = 1;
pub const ARPHRD_LOOPBACK: u16 = 772;

pub const IFNAMSIZ: usize = 16;
pub const IFREQ_SIZE: usize = 40;
pub const IFCONF_SIZE: usize = 16;
pub const RTENTRY_SIZE: usize = 120;

/// The interface name in an `ifreq` (up to its first NUL; None when it has no NUL in its 16
/// bytes, which Linux refuses too: it terminates the name itself, so a 16-byte name matches
/// nothing).
pub fn name(req: &[u8; IFREQ_SIZE]) -> &[u8] {
    let raw = &req[..IFNAMSIZ];
    let end = raw.iter().position(|&b| b == 0).unwrap_or(IFNAMSIZ - 1);
    &raw[..end]
}

/// An `ifreq` holding `name` (cut to 15 bytes) and nothing else.
pub fn with_name(name: &[u8]) -> [u8; IFREQ_SIZE] {
    let mut req = [0u8; IFREQ_SIZE];
    let n = name.len().min(IFNAMSIZ - 1);
    req[..n].copy_from_slice(&name[..n]);
    req
}

/// Stores a `sockaddr_in` with `addr` (port 0) in the union.
pub fn put_addr(req: &mut [u8; IFREQ_SIZE], addr: Ipv4) {
    req[16..32].copy_from_slice(&crate::addr::Endpoint::new(addr, 0).encode());
}

/// The IPv4 address of the union's `sockaddr` (None unless its family is AF_INET).
pub fn get_addr(req: &[u8; IFREQ_SIZE]) -> Option<Ipv4> {
    (crate::addr::family(&req[16..18]) == exo_abi::socket::AF_INET).then(|| [req[20], req[21], req[22], req[23]])
}

/// Stores a short (`ifr_flags`).
pub fn put_short(req: &mut [u8; IFREQ_SIZE], v: u16) {
    req[16..18].copy_from_slice(&v.to_ne_bytes());
}

pub fn get_short(req: &[u8; IFREQ_SIZE]) -> u16 {
    u16::from_ne_bytes([req[16], req[17]])
}

/// Stores an int (`ifr_ifindex`, `ifr_mtu`, `ifr_metric`, `ifr_qlen`).
pub fn put_int(req: &mut [u8; IFREQ_SIZE], v: i32) {
    req[16..20].copy_from_slice(&v.to_ne_bytes());
}

pub fn get_int(req: &[u8; IFREQ_SIZE]) -> i32 {
    i32::from_ne_bytes([req[16], req[17], req[18], req[19]])
}

/// Stores a hardware address (`ifr_hwaddr`: family then the MAC in `sa_data`).
pub fn put_hwaddr(req: &mut [u8; IFREQ_SIZE], family: u16, mac: [u8; 6]) {
    req[16..32].fill(0);
    req[16..18].copy_from_slice(&family.to_ne_bytes());
    req[18..24].copy_from_slice(&mac);
}

/// `struct ifconf`: the room and the buffer's address.
pub fn ifconf(raw: &[u8; IFCONF_SIZE]) -> (i32, u64) {
    let len = i32::from_ne_bytes([raw[0], raw[1], raw[2], raw[3]]);
    let mut buf = [0u8; 8];
    buf.copy_from_slice(&raw[8..16]);
    (len, u64::from_ne_bytes(buf))
}

/// What SIOCADDRT/SIOCDELRT read from a `struct rtentry`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtEntry {
    pub dst: Option<Ipv4>,
    pub gateway: Option<Ipv4>,
    pub genmask: Option<Ipv4>,
    pub flags: u16,
    /// `rt_metric` (Linux stores it plus one: route(8) passes metric+1).
    pub metric: i16,
    /// The `rt_dev` pointer (0: none).
    pub dev: u64,
}

fn sockaddr_v4(b: &[u8]) -> Option<Ipv4> {
    (crate::addr::family(b) == exo_abi::socket::AF_INET).then(|| [b[4], b[5], b[6], b[7]])
}

/// Decodes a `struct rtentry`.
pub fn rtentry(raw: &[u8; RTENTRY_SIZE]) -> RtEntry {
    let mut dev = [0u8; 8];
    dev.copy_from_slice(&raw[88..96]);
    RtEntry {
        dst: sockaddr_v4(&raw[8..24]),
        gateway: sockaddr_v4(&raw[24..40]),
        genmask: sockaddr_v4(&raw[40..56]),
        flags: u16::from_ne_bytes([raw[56], raw[57]]),
        metric: i16::from_ne_bytes([raw[80], raw[81]]),
        dev: u64::from_ne_bytes(dev),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ifreq_fields() {
        let mut r = with_name(b"eth0");
        assert_eq!(name(&r), b"eth0");
        put_addr(&mut r, [10, 0, 2, 15]);
        assert_eq!(get_addr(&r), Some([10, 0, 2, 15]));
        put_short(&mut r, IFF_UP | IFF_RUNNING);
        assert_eq!(get_short(&r), 0x41);
        put_int(&mut r, 1500);
        assert_eq!(get_int(&r), 1500);
        put_hwaddr(&mut r, ARPHRD_ETHER, [0x52, 0x54, 0, 0x12, 0x34, 0x56]);
        assert_eq!(&r[16..24], &[1, 0, 0x52, 0x54, 0, 0x12, 0x34, 0x56]);
        let long = with_name(b"0123456789abcdefXYZ");
        assert_eq!(name(&long), b"0123456789abcde");
        let mut unterminated = [b'a'; IFREQ_SIZE];
        unterminated[16] = 0;
        assert_eq!(name(&unterminated).len(), 15);
    }

    #[test]
    fn rtentry_layout() {
        let mut raw = [0u8; RTENTRY_SIZE];
        raw[8..24].copy_from_slice(&crate::addr::Endpoint::new([0, 0, 0, 0], 0).encode());
        raw[24..40].copy_from_slice(&crate::addr::Endpoint::new([10, 0, 2, 2], 0).encode());
        raw[40..56].copy_from_slice(&crate::addr::Endpoint::new([0, 0, 0, 0], 0).encode());
        raw[56..58].copy_from_slice(&3u16.to_ne_bytes());
        raw[80..82].copy_from_slice(&1i16.to_ne_bytes());
        raw[88..96].copy_from_slice(&0x1234u64.to_ne_bytes());
        let e = rtentry(&raw);
        assert_eq!(e, RtEntry { dst: Some([0; 4]), gateway: Some([10, 0, 2, 2]), genmask: Some([0; 4]), flags: 3, metric: 1, dev: 0x1234 });
    }
}
