//! Leaving the emulator: QEMU's `isa-debug-exit` device at port 0xf4.

use super::io::outl;

/// Exits QEMU with status `(code << 1) | 1`. On real hardware (or without the device) the write
/// does nothing and the CPU halts.
pub fn exit(code: u32) -> ! {
    request_exit(code);
    super::cpu::halt_forever()
}

/// Asks QEMU to exit with status `(code << 1) | 1`; returns if there is no such device.
pub fn request_exit(code: u32) {
    outl(0xf4, code);
}
