//! AF_INET and AF_INET6 sockets through smoltcp, the interfaces (lo, eth0) and their ioctls.
//! (Being built for issue 15.)

use exo_abi::{Errno, KResult};

use super::Socket;
use crate::uaccess::UserArg;

/// socket(AF_INET or AF_INET6, kind, protocol).
pub fn create(_domain: u16, _kind: u32, _protocol: u32) -> KResult<Socket> {
    Err(Errno::EAFNOSUPPORT)
}

/// The interface requests any socket answers (SIOCGIFCONF, SIOCGIFFLAGS, SIOCGIFADDR, ...).
pub fn interface_ioctl(_request: u32, _arg: UserArg) -> KResult<u64> {
    Err(Errno::ENOTTY)
}
