//! Port-mapped I/O, the x86 way drivers reach legacy devices.

use ::x86_64::instructions::port::Port;

/// Reads a byte from I/O port `port`.
///
/// Port I/O cannot break memory safety by itself; callers pick ports of devices they own.
pub fn inb(port: u16) -> u8 {
    // SAFETY: an IN instruction has no memory effects; device side effects are the caller's intent.
    unsafe { Port::<u8>::new(port).read() }
}

/// Writes a byte to I/O port `port`.
pub fn outb(port: u16, value: u8) {
    // SAFETY: as for `inb`; no memory is touched.
    unsafe { Port::<u8>::new(port).write(value) }
}

/// Writes a 16-bit value to I/O port `port`.
pub fn outw(port: u16, value: u16) {
    // SAFETY: as for `inb`; no memory is touched.
    unsafe { Port::<u16>::new(port).write(value) }
}

/// Writes a 32-bit value to I/O port `port`.
pub fn outl(port: u16, value: u32) {
    // SAFETY: as for `inb`; no memory is touched.
    unsafe { Port::<u32>::new(port).write(value) }
}

/// A short delay: a write to the unused port 0x80, as legacy devices need between accesses.
pub fn io_wait() {
    outb(0x80, 0);
}

/// Reads a 32-bit value from I/O port `port`.
pub fn inl(port: u16) -> u32 {
    // SAFETY: as for `inb`; no memory is touched.
    unsafe { Port::<u32>::new(port).read() }
}
