//! `exo-unixsock`: the pure logic of AF_UNIX sockets, host-tested. The kernel's
//! `net/unix` keeps the socket objects, the locks, the waiting and the user copies; this crate
//! decides what the bytes mean:
//!
//! - [`addr`]: `sockaddr_un` as Linux reads it (filesystem paths, abstract names with their
//!   leading NUL, the 2-byte "autobind" address) and the names it reports back, including the
//!   5-hex-digit autobind names.
//! - [`cmsg`]: control messages — walking a sender's `cmsghdr` list with Linux's alignment
//!   and length rules (SCM_RIGHTS, SCM_CREDENTIALS) and building a receiver's list into the room
//!   it gave, truncating exactly as Linux does (MSG_CTRUNC).
//! - [`stream`]: a stream socket's receive queue: a bounded byte ring that grows on demand,
//!   with "marks" (bytes that arrived with descriptors or credentials), which a read never
//!   crosses.
//! - [`bufsize`]: SO_SNDBUF/SO_RCVBUF's doubling and bounds.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod addr;
pub mod bufsize;
pub mod cmsg;
pub mod stream;
