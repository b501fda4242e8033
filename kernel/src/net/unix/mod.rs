//! AF_UNIX sockets: stream, datagram and seqpacket, socketpair, filesystem and abstract names,
//! SCM_RIGHTS and credentials. (Being built for issue 15.)

use exo_abi::{Errno, KResult};

use super::Socket;

/// socket(AF_UNIX, kind, protocol).
pub fn create(_kind: u32, _protocol: u32) -> KResult<Socket> {
    Err(Errno::EAFNOSUPPORT)
}

/// socketpair(AF_UNIX, kind, protocol).
pub fn create_pair(_kind: u32, _protocol: u32) -> KResult<(Socket, Socket)> {
    Err(Errno::EAFNOSUPPORT)
}
