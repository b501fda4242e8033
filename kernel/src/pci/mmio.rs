//! Device memory: BARs mapped uncached into the kernel's device window, and bounds-checked
//! volatile accesses to them.
//!
//! Every memory BAR a driver maps is recorded in `MAPPED` (spin, a leaf; the heap under it
//! when the list grows), so a physical address inside one can be turned back into its kernel
//! address ([`virt_of`], what the virtio HAL's `mmio_phys_to_virt` needs). A region is mapped
//! once and never unmapped.

use alloc::vec::Vec;

use crate::spinlock::SpinLock as Mutex;

/// A mapped range of device memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mmio {
    phys: u64,
    virt: u64,
    len: u64,
}

/// Why device memory could not be mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// The BAR does not exist, is I/O space, or was left unassigned by the firmware.
    NoSuchBar,
    /// The page tables could not take the mapping.
    Paging(exo_paging::MapError),
}

static MAPPED: Mutex<Vec<Mmio>> = Mutex::new(Vec::new());

// Not every accessor has a user yet (virtio-blk will).
#[allow(dead_code)]
impl Mmio {
    /// Maps `[phys, phys + len)`, or returns the existing mapping that covers it.
    pub fn map(phys: u64, len: u64) -> Result<Mmio, MapError> {
        if let Some(found) = lookup(phys, len) {
            return Ok(found);
        }
        let mut mapped = MAPPED.lock();
        if let Some(found) = mapped.iter().find(|m| m.covers(phys, len)) {
            return Ok(*found);
        }
        mapped.try_reserve(1).map_err(|_| MapError::Paging(exo_paging::MapError::OutOfMemory))?;
        let virt = crate::memory::paging::map_device_range(phys, len).map_err(MapError::Paging)?;
        let region = Mmio { phys, virt, len };
        mapped.push(region);
        Ok(region)
    }

    fn covers(&self, phys: u64, len: u64) -> bool {
        phys >= self.phys && phys.checked_add(len).is_some_and(|end| end <= self.phys + self.len)
    }

    pub fn phys(&self) -> u64 {
        self.phys
    }

    /// Kernel address of the region's first byte.
    pub fn virt(&self) -> u64 {
        self.virt
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    /// The sub-range `[offset, offset + len)`, None when it leaves the region.
    pub fn sub(&self, offset: u64, len: u64) -> Option<Mmio> {
        let end = offset.checked_add(len)?;
        (end <= self.len).then(|| Mmio { phys: self.phys + offset, virt: self.virt + offset, len })
    }

    fn at<T>(&self, offset: u64) -> Option<u64> {
        let size = core::mem::size_of::<T>() as u64;
        (offset % size == 0 && offset.checked_add(size)? <= self.len).then(|| self.virt + offset)
    }

    /// Reads the 32-bit register at `offset` (all ones when outside or misaligned).
    pub fn read32(&self, offset: u64) -> u32 {
        match self.at::<u32>(offset) {
            // SAFETY: the address is inside this mapped, uncached device region and aligned.
            Some(addr) => unsafe { core::ptr::read_volatile(addr as *const u32) },
            None => !0,
        }
    }

    /// Writes the 32-bit register at `offset` (dropped when outside or misaligned).
    pub fn write32(&self, offset: u64, value: u32) {
        if let Some(addr) = self.at::<u32>(offset) {
            // SAFETY: as in `read32`; the region is device registers, never Rust memory.
            unsafe { core::ptr::write_volatile(addr as *mut u32, value) }
        }
    }

    /// Reads the 16-bit register at `offset`.
    pub fn read16(&self, offset: u64) -> u16 {
        match self.at::<u16>(offset) {
            // SAFETY: as in `read32`.
            Some(addr) => unsafe { core::ptr::read_volatile(addr as *const u16) },
            None => !0,
        }
    }

    /// Writes the 16-bit register at `offset`.
    pub fn write16(&self, offset: u64, value: u16) {
        if let Some(addr) = self.at::<u16>(offset) {
            // SAFETY: as in `write32`.
            unsafe { core::ptr::write_volatile(addr as *mut u16, value) }
        }
    }

    /// Reads the byte register at `offset`.
    pub fn read8(&self, offset: u64) -> u8 {
        match self.at::<u8>(offset) {
            // SAFETY: as in `read32`.
            Some(addr) => unsafe { core::ptr::read_volatile(addr as *const u8) },
            None => !0,
        }
    }
}

/// The mapping that covers `[phys, phys + len)`, if one was made.
pub fn lookup(phys: u64, len: u64) -> Option<Mmio> {
    MAPPED.lock().iter().find(|m| m.covers(phys, len)).copied()
}

/// Kernel address of device physical address `phys` (with `len` bytes after it) inside a
/// mapped region.
pub fn virt_of(phys: u64, len: u64) -> Option<u64> {
    lookup(phys, len).map(|m| m.virt + (phys - m.phys))
}
