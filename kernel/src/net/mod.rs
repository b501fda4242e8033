//! Sockets (layer "sockets", above the files layer: a socket is an open file, and an AF_UNIX
//! name lives in the filesystem namespace). [`socket`] is the object every family shares,
//! [`addr`] and [`data`] what the calls pass to it; the families are [`unix`] (AF_UNIX) and
//! [`inet`] (AF_INET/AF_INET6 through smoltcp). The system calls that decode user arguments
//! are in `syscall::socket`. See docs/net.md.

pub mod addr;
pub mod data;
pub mod inet;
pub mod socket;
pub mod unix;

use alloc::sync::Arc;

use exo_abi::socket::*;
use exo_abi::{Errno, KResult};

pub use addr::SockAddr;
pub use data::MsgData;
pub use socket::{RecvMsg, SendMsg, Socket, SocketOps};

/// Registers the sockets' /proc/net files (after the file systems are up) and starts TCP/IP.
pub fn init() {
    crate::fs::procfs::register_net_file(b"unix", unix::proc_net_unix);
    crate::fs::procfs::register_net_file(b"unix_stats", unix_stats);
    inet::init();
}

/// /proc/net/unix_stats (Exo-OS only): AF_UNIX descriptors in flight and sockets alive, what
/// the tests check returns to its baseline after descriptor-passing cycles.
fn unix_stats() -> alloc::string::String {
    let (inflight, sockets) = unix::stats();
    alloc::format!("inflight {inflight}\nsockets {sockets}\n")
}

/// socket(domain, kind, protocol) with the type flags already removed from `kind`.
pub fn create(domain: u16, kind: u32, protocol: u32) -> KResult<Socket> {
    match domain {
        AF_UNIX => unix::create(kind, protocol),
        AF_INET | AF_INET6 => inet::create(domain, kind, protocol),
        _ => Err(Errno::EAFNOSUPPORT),
    }
}

/// socketpair(domain, kind, protocol): two connected sockets (AF_UNIX only, as in Linux).
pub fn create_pair(domain: u16, kind: u32, protocol: u32) -> KResult<(Socket, Socket)> {
    match domain {
        AF_UNIX => unix::create_pair(kind, protocol),
        AF_INET | AF_INET6 => Err(Errno::EOPNOTSUPP),
        _ => Err(Errno::EAFNOSUPPORT),
    }
}

/// The socket made by accept from a listening socket's new connection (same family, type
/// and protocol).
pub fn accepted(listener: &Socket, ops: Arc<dyn SocketOps>) -> Socket {
    Socket::new(ops, listener.domain, listener.kind, listener.protocol)
}
