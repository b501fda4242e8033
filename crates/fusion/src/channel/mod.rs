//! The policies of the library's channels (docs/ipc.md, *Channels* and *Flow control*), as pure
//! state machines the caller feeds with ring state and a clock. None of them touches shared
//! memory or makes a system call, so the C library (user/lib/fusion.h) and the Rust one share
//! the same decisions and these tests.
//!
//! - [`priority::PriorityPicker`]: which class of a 5-lane priority channel to read next.
//! - [`anycast::AnycastSelector`]: which worker an anycast message goes to.
//! - [`correlator::Correlator`]: request/reply ids, deadlines and late replies.
//! - [`credit::CreditController`]: a sender's window in messages and bytes.
//! - [`coalesce::CoalesceController`]: when a sender rings the doorbell.

pub mod anycast;
pub mod coalesce;
pub mod correlator;
pub mod credit;
pub mod priority;

pub use anycast::{AnycastPolicy, AnycastSelector};
pub use coalesce::{Coalesce, CoalesceController};
pub use correlator::{Correlator, ReplyMatch};
pub use credit::{Credit, CreditController};
pub use priority::{PriorityPicker, CLASSES};
