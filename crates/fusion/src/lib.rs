//! `exo-fusion`: the algorithms of Fusion Rings, Exo-OS's native shared-memory IPC
//! (docs/ipc.md; the ABI is `exo_abi::fusion`). It is host-tested and model-checked, and it is
//! also the Rust library of user programs (with the `user` feature, [`sys`] adds the system
//! calls).
//!
//! - [`ring`]: the protocol of one direction of a duplex ring. A [`ring::Producer`] writes
//!   messages into a direction's lanes and publishes them; a [`ring::Consumer`] reads them. Each
//!   keeps its own indices privately and validates everything it reads from the peer.
//! - [`view`]: [`view::RingView`] carves a ring's whole mapping into the pages and slot areas
//!   of each direction and hands out its producer and consumer.
//! - [`multicast`]: one publisher that never waits, subscribers with private positions and lag
//!   detection.
//! - [`channel`]: the policies of the library's channels (priority picking with a starvation
//!   guard, anycast worker selection, request/reply correlation) and flow control (credits,
//!   doorbell coalescing). They are pure state machines: the caller feeds them ring state.
//! - [`sys`] (feature `user`): raw `syscall` wrappers for the seven fusion calls and the view
//!   of a mapping as words. The only module with `unsafe` code.
//!
//! Shared memory is a slice of 64-bit words ([`Word`], implemented for `AtomicU64`; the loom
//! model implements it for loom's atomics so that the checked code is this code). Nothing a
//! peer writes can make this crate panic or index out of bounds: bad values are reported as
//! `Corrupt` errors, after which the caller should stop using the ring (docs/ipc.md, *Hostile
//! peers*).

#![no_std]
#![deny(unsafe_code)]

#[cfg(test)]
extern crate std;

pub mod channel;
pub mod multicast;
pub mod ring;
pub mod view;
mod word;

#[cfg(feature = "user")]
pub mod sys;

pub use word::{hist_bucket, Word, WORDS_PER_PAGE, WORDS_PER_SLOT};
