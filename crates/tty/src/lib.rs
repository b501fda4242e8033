//! Exo-OS terminal logic, independent of the hardware so it is tested on the host:
//!
//! * [`ldisc`]: the Linux n_tty line discipline driven by a [`exo_abi::termios::Termios`]
//!   (input processing, signals, canonical line editing, echo, output processing, and the
//!   VMIN/VTIME read decision of non-canonical mode);
//! * [`ansi`]: an ANSI/VT100 escape-sequence parser turning output bytes into screen actions;
//! * [`screen`]: a terminal screen model applying those actions to any grid of cells (the
//!   kernel's VGA text buffer, or a plain array in the tests).

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod ansi;
pub mod ldisc;
pub mod screen;

pub use ansi::{Action, Parser};
pub use ldisc::{LineDiscipline, ReadDecision, Timeout};
pub use screen::{Cells, Pen, Screen};
