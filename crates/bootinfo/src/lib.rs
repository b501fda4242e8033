//! `exo-bootinfo`: what the boot loader handed the Exo-OS kernel, independent of the boot
//! protocol, plus safe parsers for the two protocols Exo-OS is entered by.
//!
//! - [`pvh::parse`] reads the Xen/QEMU PVH `hvm_start_info` through a [`PhysMemory`] reader.
//! - [`multiboot2::parse`] reads a Multiboot2 boot information structure from a byte slice.
//! - [`cmdline`] splits the kernel command line and interprets the options Exo-OS knows.
//!
//! Everything is fixed-capacity and owned (copied out of boot memory): boot happens before the
//! kernel heap exists. Boot data is treated as hostile: parsers bound every loop, clip counts
//! and strings, and return [`BootError`] instead of panicking.
//!
//! Size note: a [`BootInfo`] is about 10 KiB (the memory map dominates); keep it in a static or
//! on a boot stack that has room for a couple of copies.

#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

pub mod cmdline;
mod fixed;
mod memmap;
pub mod multiboot2;
pub mod pvh;

use core::fmt;

pub use fixed::{FixedBytes, FixedStr};
pub use memmap::{MemoryKind, MemoryMap, MemoryRegion};

/// Read access to physical memory (the kernel implements it over its direct map; tests over a
/// byte vector). Implementations must not panic on any address.
pub trait PhysMemory {
    /// Copy `buf.len()` bytes from physical address `paddr`; false if unreadable.
    fn read(&self, paddr: u64, buf: &mut [u8]) -> bool;
}

/// Which boot protocol the kernel was entered by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootProtocol {
    /// Xen/QEMU PVH (`hvm_start_info`).
    Pvh,
    /// Multiboot2 (GRUB, QEMU with a Multiboot2-capable loader).
    Multiboot2,
}

/// Why boot information could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootError {
    /// The structure does not start with the protocol's magic number.
    BadMagic,
    /// Physical memory at this address could not be read.
    Unreadable {
        /// The address of the failed read.
        paddr: u64,
    },
    /// The structure is shorter than its headers claim (or ends without an end tag).
    Truncated,
    /// A size or offset field is impossible (e.g. a Multiboot2 tag smaller than its header).
    Corrupt {
        /// Byte offset of the bad field within the structure.
        offset: usize,
    },
}

impl fmt::Display for BootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMagic => f.write_str("boot information has a bad magic number"),
            Self::Unreadable { paddr } => {
                write!(
                    f,
                    "boot information at physical address {paddr:#x} is unreadable"
                )
            }
            Self::Truncated => f.write_str("boot information is truncated"),
            Self::Corrupt { offset } => write!(f, "boot information is corrupt at offset {offset}"),
        }
    }
}

/// A boot module (e.g. the initramfs) loaded by the boot loader: physical range and its string.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Module {
    /// Physical address of the first byte.
    pub start: u64,
    /// Physical address one past the last byte.
    pub end: u64,
    /// The module's command line / name as given by the boot loader.
    pub cmdline: FixedStr<128>,
}

/// A fixed-capacity list of modules.
#[derive(Clone, Debug)]
pub struct ModuleList {
    items: [Module; Self::CAPACITY],
    len: usize,
    overflowed: bool,
}

impl ModuleList {
    /// Maximum number of modules kept.
    pub const CAPACITY: usize = 16;

    /// An empty list.
    pub fn new() -> Self {
        Self {
            items: core::array::from_fn(|_| Module::default()),
            len: 0,
            overflowed: false,
        }
    }

    /// Appends a module; if full, drops it, sets [`ModuleList::overflowed`] and returns false.
    pub fn push(&mut self, module: Module) -> bool {
        match self.items.get_mut(self.len) {
            Some(slot) => {
                *slot = module;
                self.len += 1;
                true
            }
            None => {
                self.overflowed = true;
                false
            }
        }
    }

    /// Records that the source had more modules than were kept.
    pub fn set_overflowed(&mut self) {
        self.overflowed = true;
    }

    /// The modules, in boot-loader order.
    pub fn as_slice(&self) -> &[Module] {
        &self.items[..self.len]
    }

    /// True if modules were dropped because the list was full.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }
}

impl Default for ModuleList {
    fn default() -> Self {
        Self::new()
    }
}

/// Pixel layout of a framebuffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FramebufferKind {
    /// Palette-indexed pixels.
    Indexed,
    /// Direct RGB pixels.
    Rgb,
    /// VGA/EGA text mode (width and height in characters).
    EgaText,
}

/// A linear framebuffer set up by the boot loader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Framebuffer {
    /// Physical address.
    pub addr: u64,
    /// Bytes per line.
    pub pitch: u32,
    /// Width in pixels (characters for text mode).
    pub width: u32,
    /// Height in pixels (characters for text mode).
    pub height: u32,
    /// Bits per pixel.
    pub bpp: u8,
    /// Pixel layout.
    pub kind: FramebufferKind,
}

/// Everything the kernel learned from the boot loader, copied out of boot memory.
#[derive(Clone, Debug)]
pub struct BootInfo {
    /// How the kernel was entered.
    pub protocol: BootProtocol,
    /// Normalized physical memory map (empty if the boot loader gave none).
    pub memory_map: MemoryMap,
    /// Kernel command line (truncated to 1024 bytes).
    pub cmdline: FixedStr<1024>,
    /// Boot modules (at most 16).
    pub modules: ModuleList,
    /// Framebuffer, if the boot loader set one up.
    pub framebuffer: Option<Framebuffer>,
    /// Physical address of the ACPI RSDP (PVH only).
    pub rsdp: Option<u64>,
    /// A copy of the ACPI RSDP (Multiboot2 tags 14/15 carry the structure, not its address):
    /// 20 bytes for ACPI 1.0, 36 bytes for ACPI 2.0+ (preferred when both are given).
    pub rsdp_copy: Option<FixedBytes<36>>,
    /// Boot loader name (Multiboot2 only).
    pub bootloader_name: FixedStr<64>,
}

impl BootInfo {
    /// Empty boot information for `protocol`.
    pub fn new(protocol: BootProtocol) -> Self {
        Self {
            protocol,
            memory_map: MemoryMap::new(),
            cmdline: FixedStr::new(),
            modules: ModuleList::new(),
            framebuffer: None,
            rsdp: None,
            rsdp_copy: None,
            bootloader_name: FixedStr::new(),
        }
    }

    /// The boot modules.
    pub fn modules(&self) -> &[Module] {
        self.modules.as_slice()
    }
}

/// Reads a little-endian `u32` at `off`, or `None` if out of bounds.
pub(crate) fn le_u32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Reads a little-endian `u64` at `off`, or `None` if out of bounds.
pub(crate) fn le_u64(b: &[u8], off: usize) -> Option<u64> {
    let lo = le_u32(b, off)?;
    let hi = le_u32(b, off.checked_add(4)?)?;
    Some(u64::from(lo) | (u64::from(hi) << 32))
}

/// The bytes before the first NUL (or all of `b` if there is none).
pub(crate) fn until_nul(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(i) => &b[..i],
        None => b,
    }
}
