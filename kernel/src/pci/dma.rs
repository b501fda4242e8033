//! DMA memory: physically contiguous, zeroed blocks of frames from the buddy allocator, with
//! their physical address (what a device is given) and their kernel address in the direct map
//! (what the driver reads and writes). Physical memory is mapped one to one and there is no
//! IOMMU, so a device sees exactly the physical address. The direct map is write-back cached;
//! PCI on x86 is cache-coherent, so no flushing is needed.

use crate::memory::{frames, phys_to_virt, virt_to_phys_direct};

/// Most pages one region may have (4 MiB).
pub const MAX_PAGES: usize = 1024;

/// A block of DMA memory, freed when dropped.
#[derive(Debug)]
pub struct DmaRegion {
    phys: u64,
    virt: u64,
    pages: usize,
    order: usize,
}

/// The buddy order that holds `pages` pages (None for 0 or above [`MAX_PAGES`]).
pub fn order_for(pages: usize) -> Option<usize> {
    (1..=MAX_PAGES).contains(&pages).then(|| pages.next_power_of_two().trailing_zeros() as usize)
}

// Not every accessor has a user yet (virtio-blk will).
#[allow(dead_code)]
impl DmaRegion {
    /// Allocates at least `pages` contiguous zeroed pages; None when memory is short.
    pub fn alloc(pages: usize) -> Option<DmaRegion> {
        let order = order_for(pages)?;
        let phys = frames::alloc(order).ok()?;
        let Some(virt) = phys_to_virt(phys) else {
            let _ = frames::free(phys, order);
            return None;
        };
        let region = DmaRegion { phys, virt, pages: 1 << order, order };
        // SAFETY: the block was just allocated for this region alone (no other reference to it
        // exists) and the direct map maps all of it writable.
        unsafe { core::ptr::write_bytes(virt as *mut u8, 0, region.len()) };
        Some(region)
    }

    /// Physical (bus) address of the first byte.
    pub fn phys(&self) -> u64 {
        self.phys
    }

    /// Kernel address of the first byte.
    pub fn virt(&self) -> u64 {
        self.virt
    }

    /// Length in bytes (whole pages: the block may be larger than asked for).
    pub fn len(&self) -> usize {
        self.pages * 4096
    }

    /// The bytes `[offset, offset + len)` as a shared slice; None when outside the region.
    ///
    /// # Safety
    /// Nothing (neither the device nor another `slice_mut`) writes those bytes while the
    /// slice lives: the caller owns them by its protocol with the device (e.g. a receive
    /// buffer taken back from the used ring and not yet posted again).
    pub unsafe fn slice(&self, offset: usize, len: usize) -> Option<&[u8]> {
        let end = offset.checked_add(len)?;
        // SAFETY: the range is inside the region (checked), mapped and initialized (zeroed
        // at allocation, then written only as bytes); the caller excludes writers.
        (end <= self.len()).then(|| unsafe { core::slice::from_raw_parts((self.virt as usize + offset) as *const u8, len) })
    }

    /// The bytes `[offset, offset + len)` as an exclusive slice; None when outside the region.
    ///
    /// # Safety
    /// Nothing else reads or writes those bytes while the slice lives (neither the device,
    /// which must not own the buffer, nor another slice of the same bytes).
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn slice_mut(&self, offset: usize, len: usize) -> Option<&mut [u8]> {
        let end = offset.checked_add(len)?;
        // SAFETY: as in `slice`, and the caller guarantees exclusive access.
        (end <= self.len()).then(|| unsafe { core::slice::from_raw_parts_mut((self.virt as usize + offset) as *mut u8, len) })
    }
}

impl Drop for DmaRegion {
    fn drop(&mut self) {
        if frames::free(self.phys, self.order).is_err() {
            log::error!("pci: DMA block {:#x} (order {}) was not allocated", self.phys, self.order);
        }
    }
}

/// The physical address of kernel address `virt` when it lies in the direct map (DMA regions,
/// the heap): what a device must be given for a buffer there.
pub fn phys_of(virt: u64) -> Option<u64> {
    virt_to_phys_direct(virt)
}
