//! Device drivers.

pub mod ps2_keyboard;
pub mod serial;
pub mod vga_text;
