//! The BSD socket ABI as Linux x86-64 defines it: address families, socket types, `MSG_*`
//! flags, socket-option levels and names, and the structures `sendmsg`/`recvmsg` and the
//! address calls exchange (`msghdr`, `cmsghdr`, `sockaddr_un`, `sockaddr_in`, `sockaddr_in6`,
//! `ucred`, `linger`, `mmsghdr`). Values from Linux's `linux/socket.h`, `asm-generic/socket.h`,
//! `linux/in.h`, `linux/tcp.h` and `linux/un.h`.

use bytemuck::{Pod, Zeroable};

// Address families.
pub const AF_UNSPEC: u16 = 0;
pub const AF_UNIX: u16 = 1;
pub const AF_INET: u16 = 2;
pub const AF_INET6: u16 = 10;
pub const AF_NETLINK: u16 = 16;
pub const AF_PACKET: u16 = 17;

// Socket types (the low 4 bits of socket()'s `type`), and the flags that may be or-ed in.
pub const SOCK_STREAM: u32 = 1;
pub const SOCK_DGRAM: u32 = 2;
pub const SOCK_RAW: u32 = 3;
pub const SOCK_SEQPACKET: u32 = 5;
pub const SOCK_TYPE_MASK: u32 = 0xf;
pub const SOCK_NONBLOCK: u32 = 0o4000;
pub const SOCK_CLOEXEC: u32 = 0o2000000;

// Protocols.
pub const IPPROTO_IP: u32 = 0;
pub const IPPROTO_ICMP: u32 = 1;
pub const IPPROTO_TCP: u32 = 6;
pub const IPPROTO_UDP: u32 = 17;
pub const IPPROTO_IPV6: u32 = 41;
pub const IPPROTO_ICMPV6: u32 = 58;
pub const IPPROTO_RAW: u32 = 255;

// shutdown() `how`.
pub const SHUT_RD: u32 = 0;
pub const SHUT_WR: u32 = 1;
pub const SHUT_RDWR: u32 = 2;

// send/recv flags.
pub const MSG_OOB: u32 = 0x1;
pub const MSG_PEEK: u32 = 0x2;
pub const MSG_DONTROUTE: u32 = 0x4;
pub const MSG_CTRUNC: u32 = 0x8;
pub const MSG_TRUNC: u32 = 0x20;
pub const MSG_DONTWAIT: u32 = 0x40;
pub const MSG_EOR: u32 = 0x80;
pub const MSG_WAITALL: u32 = 0x100;
pub const MSG_CONFIRM: u32 = 0x800;
pub const MSG_ERRQUEUE: u32 = 0x2000;
pub const MSG_NOSIGNAL: u32 = 0x4000;
pub const MSG_MORE: u32 = 0x8000;
pub const MSG_WAITFORONE: u32 = 0x10000;
pub const MSG_CMSG_CLOEXEC: u32 = 0x4000_0000;

// Option levels.
pub const SOL_SOCKET: i32 = 1;
pub const SOL_IP: i32 = 0;
pub const SOL_TCP: i32 = 6;
pub const SOL_UDP: i32 = 17;
pub const SOL_IPV6: i32 = 41;

// SOL_SOCKET options.
pub const SO_DEBUG: i32 = 1;
pub const SO_REUSEADDR: i32 = 2;
pub const SO_TYPE: i32 = 3;
pub const SO_ERROR: i32 = 4;
pub const SO_DONTROUTE: i32 = 5;
pub const SO_BROADCAST: i32 = 6;
pub const SO_SNDBUF: i32 = 7;
pub const SO_RCVBUF: i32 = 8;
pub const SO_KEEPALIVE: i32 = 9;
pub const SO_OOBINLINE: i32 = 10;
pub const SO_NO_CHECK: i32 = 11;
pub const SO_PRIORITY: i32 = 12;
pub const SO_LINGER: i32 = 13;
pub const SO_BSDCOMPAT: i32 = 14;
pub const SO_REUSEPORT: i32 = 15;
pub const SO_PASSCRED: i32 = 16;
pub const SO_PEERCRED: i32 = 17;
pub const SO_RCVLOWAT: i32 = 18;
pub const SO_SNDLOWAT: i32 = 19;
pub const SO_RCVTIMEO: i32 = 20;
pub const SO_SNDTIMEO: i32 = 21;
pub const SO_BINDTODEVICE: i32 = 25;
pub const SO_TIMESTAMP: i32 = 29;
pub const SO_ACCEPTCONN: i32 = 30;
pub const SO_PEERSEC: i32 = 31;
pub const SO_SNDBUFFORCE: i32 = 32;
pub const SO_RCVBUFFORCE: i32 = 33;
pub const SO_PASSSEC: i32 = 34;
pub const SO_PROTOCOL: i32 = 38;
pub const SO_DOMAIN: i32 = 39;
pub const SO_PEEK_OFF: i32 = 42;

// IPPROTO_TCP options.
pub const TCP_NODELAY: i32 = 1;
pub const TCP_MAXSEG: i32 = 2;
pub const TCP_CORK: i32 = 3;
pub const TCP_KEEPIDLE: i32 = 4;
pub const TCP_KEEPINTVL: i32 = 5;
pub const TCP_KEEPCNT: i32 = 6;
pub const TCP_INFO: i32 = 11;
pub const TCP_QUICKACK: i32 = 12;

// IPPROTO_IP options.
pub const IP_TOS: i32 = 1;
pub const IP_TTL: i32 = 2;
pub const IP_HDRINCL: i32 = 3;
pub const IP_OPTIONS: i32 = 4;
pub const IP_RECVERR: i32 = 11;
pub const IP_MTU_DISCOVER: i32 = 10;
pub const IP_MULTICAST_TTL: i32 = 33;
pub const IP_MULTICAST_LOOP: i32 = 34;

// IPPROTO_IPV6 options.
pub const IPV6_V6ONLY: i32 = 26;

// Control-message types at SOL_SOCKET.
pub const SCM_RIGHTS: i32 = 1;
pub const SCM_CREDENTIALS: i32 = 2;

/// Most descriptors one SCM_RIGHTS message carries (Linux's SCM_MAX_FD).
pub const SCM_MAX_FD: usize = 253;
/// Largest `sun_path` (with its terminating NUL when there is one).
pub const UNIX_PATH_MAX: usize = 108;
/// Size of `struct sockaddr_storage`: the largest address any call accepts.
pub const SOCKADDR_STORAGE_SIZE: usize = 128;
/// Largest backlog `listen` keeps (`/proc/sys/net/core/somaxconn`).
pub const SOMAXCONN: u32 = 4096;

/// `struct msghdr` (56 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct MsgHdr {
    pub name: u64,
    pub namelen: u32,
    pub _pad1: u32,
    pub iov: u64,
    pub iovlen: u64,
    pub control: u64,
    pub controllen: u64,
    pub flags: u32,
    pub _pad2: u32,
}

/// `struct mmsghdr` (64 bytes): one message of sendmmsg/recvmmsg and its byte count.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct MMsgHdr {
    pub hdr: MsgHdr,
    pub len: u32,
    pub _pad: u32,
}

/// `struct cmsghdr` header (16 bytes); the data follows, and each message is padded to 8 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct CmsgHdr {
    /// Header plus data, unpadded.
    pub len: u64,
    pub level: i32,
    pub kind: i32,
}

/// Size of a control message's header.
pub const CMSG_HDR_SIZE: usize = core::mem::size_of::<CmsgHdr>();

/// `CMSG_ALIGN`: control messages are padded to 8 bytes.
pub const fn cmsg_align(len: usize) -> usize {
    (len + 7) & !7
}

/// `CMSG_LEN(data)`: header plus `data` bytes.
pub const fn cmsg_len(data: usize) -> usize {
    CMSG_HDR_SIZE + data
}

/// `CMSG_SPACE(data)`: header plus padded data.
pub const fn cmsg_space(data: usize) -> usize {
    CMSG_HDR_SIZE + cmsg_align(data)
}

/// `struct ucred` (12 bytes): SO_PEERCRED and SCM_CREDENTIALS.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Ucred {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

/// `struct linger` (8 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Linger {
    pub onoff: i32,
    pub linger: i32,
}

/// `struct sockaddr_in` (16 bytes); port and address in network byte order.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct SockaddrIn {
    pub family: u16,
    pub port_be: u16,
    pub addr: [u8; 4],
    pub zero: [u8; 8],
}

/// `struct sockaddr_in6` (28 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct SockaddrIn6 {
    pub family: u16,
    pub port_be: u16,
    pub flowinfo: u32,
    pub addr: [u8; 16],
    pub scope_id: u32,
}

/// Offset of `sun_path` in `struct sockaddr_un`.
pub const SUN_PATH_OFFSET: usize = 2;

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn layouts_match_linux() {
        assert_eq!(size_of::<MsgHdr>(), 56);
        assert_eq!(offset_of!(MsgHdr, iov), 16);
        assert_eq!(offset_of!(MsgHdr, control), 32);
        assert_eq!(offset_of!(MsgHdr, flags), 48);
        assert_eq!(size_of::<MMsgHdr>(), 64);
        assert_eq!(size_of::<CmsgHdr>(), 16);
        assert_eq!(size_of::<Ucred>(), 12);
        assert_eq!(size_of::<SockaddrIn>(), 16);
        assert_eq!(size_of::<SockaddrIn6>(), 28);
        assert_eq!(cmsg_space(4), 24);
        assert_eq!(cmsg_len(12), 28);
    }
}
