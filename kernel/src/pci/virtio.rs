//! The glue between this PCI layer and the `virtio-drivers` crate, shared by every virtio
//! driver (virtio-net now, virtio-blk later):
//!
//! - [`ExoHal`], the crate's `Hal`: DMA memory from the buddy allocator (physically
//!   contiguous, zeroed, addressed through the direct map), BAR addresses translated through
//!   the PCI layer's mappings, and sharing as the identity (no IOMMU) for buffers in the
//!   direct map — DMA regions or the heap — and through a bounce block for any other (a
//!   stack header of the crate's blocking requests, e.g. virtio-blk's flush);
//! - [`ExoCam`], the crate's `ConfigurationAccess`, over [`super::config`];
//! - [`transport_for`], which enables the function (memory space, bus mastering), maps its
//!   memory BARs, checks the virtio capabilities with the PCI layer's own bounded walk (the
//!   crate's walk has no loop protection), and builds the crate's modern `PciTransport`
//!   wrapped in [`ExoTransport`].
//!
//! `ExoTransport` delegates everything to `PciTransport` and adds what the crate lacks:
//! MSI-X vector routing. Just before each queue is enabled (`queue_set`, during the driver's
//! initialization, before DRIVER_OK, as the virtio specification's §4.1.5.1.3 orders) it
//! writes the queue's MSI-X table entry into `queue_msix_vector` — and the configuration
//! vector into `msix_config` before the first queue. A device that refuses an entry reads
//! back NO_VECTOR: the driver checks with [`queue_vector`] and [`config_vector`]. The common
//! configuration structure is reached through the PCI layer's mapping of the same BAR; the two
//! writers never run at once (the transport is used under its driver's lock).
//!
//! This is the one place (with `dma.rs`, `mmio.rs` and `config.rs`) where the PCI layer uses
//! `unsafe`: the crate's `Hal` and `ConfigurationAccess` traits have unsafe methods.

use core::ptr::NonNull;

use virtio_drivers::transport::pci::bus::{ConfigurationAccess, DeviceFunction, PciRoot};
use virtio_drivers::transport::pci::{PciTransport, VirtioPciError};
use virtio_drivers::transport::{DeviceStatus, DeviceType, InterruptStatus, Transport};
use virtio_drivers::{BufferDirection, Hal, PhysAddr};

use super::{config, dma, mmio, Device, Mmio};
use crate::memory::{frames, phys_to_virt};

/// The PCI vendor id of virtio devices.
pub const VIRTIO_VENDOR: u16 = 0x1af4;
/// Value of a vector register meaning "no interrupt".
pub const NO_VECTOR: u16 = 0xffff;

/// The `Hal` of `virtio-drivers` for Exo-OS.
pub struct ExoHal;

// SAFETY: `dma_alloc` returns fresh, zeroed, page-aligned buddy blocks (never aliased until
// `dma_dealloc`), addressed through the direct map; `mmio_phys_to_virt` returns addresses of
// uncached device mappings that no Rust object overlaps; `share` returns the physical address
// of memory the direct map maps one to one (what the device sees, there being no IOMMU).
unsafe impl Hal for ExoHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let Some(order) = dma::order_for(pages) else { return (0, NonNull::dangling()) };
        let Ok(phys) = frames::alloc(order) else { return (0, NonNull::dangling()) };
        match phys_to_virt(phys).and_then(|virt| NonNull::new(virt as *mut u8)) {
            Some(virt) => {
                // SAFETY: the block was just allocated (owned by nobody else) and is mapped
                // writable by the direct map over its whole `2^order` pages.
                unsafe { core::ptr::write_bytes(virt.as_ptr(), 0, 4096 << order) };
                (phys, virt)
            }
            None => {
                let _ = frames::free(phys, order);
                (0, NonNull::dangling())
            }
        }
    }

    /// # Safety
    /// As the trait: `paddr` and `pages` are those of one `dma_alloc` not yet freed.
    unsafe fn dma_dealloc(paddr: PhysAddr, _vaddr: NonNull<u8>, pages: usize) -> i32 {
        match dma::order_for(pages).map(|order| frames::free(paddr, order)) {
            Some(Ok(())) => 0,
            _ => -1,
        }
    }

    /// # Safety
    /// As the trait: `[paddr, paddr + size)` lies inside one of the device's memory BARs.
    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, size: usize) -> NonNull<u8> {
        let virt = mmio::virt_of(paddr, size as u64)
            .or_else(|| Mmio::map(paddr, size as u64).ok().map(|m| m.virt()))
            .and_then(|virt| NonNull::new(virt as *mut u8));
        match virt {
            Some(virt) => virt,
            // No error path in the trait: a BAR that cannot be mapped at start-up is fatal.
            None => panic!("virtio: cannot map device memory {paddr:#x}+{size:#x}"),
        }
    }

    /// A buffer in the direct map (DMA regions, the heap) is shared in place. One elsewhere —
    /// the crate's blocking requests put their small headers on the caller's stack, which
    /// lies outside the direct map — goes through a bounce block: a fresh buddy block that
    /// gets a copy of the bytes (for the device to read) and is copied back and freed by
    /// `unshare`.
    ///
    /// # Safety
    /// As the trait: `buffer` is valid for its length.
    unsafe fn share(buffer: NonNull<[u8]>, direction: BufferDirection) -> PhysAddr {
        let start = buffer.as_ptr() as *mut u8 as u64;
        let len = buffer.len() as u64;
        // The direct map is one physically contiguous range, so checking both ends suffices.
        if let (Some(phys), Some(_)) = (dma::phys_of(start), dma::phys_of(start + len.saturating_sub(1))) {
            return phys;
        }
        let bounce = dma::order_for((len as usize).div_ceil(4096).max(1))
            .and_then(|order| frames::alloc(order).ok().map(|phys| (phys, order)))
            .and_then(|(phys, order)| phys_to_virt(phys).map(|virt| (phys, virt, order)));
        let Some((phys, virt, _)) = bounce else {
            panic!("virtio: no memory to bounce buffer {start:#x}+{len:#x}");
        };
        if direction != BufferDirection::DeviceToDriver {
            // SAFETY: the caller guarantees `buffer` is readable for `len` bytes; the bounce
            // block is fresh (owned here) and at least `len` bytes long.
            unsafe { core::ptr::copy_nonoverlapping(start as *const u8, virt as *mut u8, len as usize) };
        }
        phys
    }

    /// # Safety
    /// As the trait. Buffers shared in place need nothing; a bounced one is copied back (when
    /// the device wrote it) and its block freed.
    unsafe fn unshare(paddr: PhysAddr, buffer: NonNull<[u8]>, direction: BufferDirection) {
        let start = buffer.as_ptr() as *mut u8 as u64;
        let len = buffer.len() as u64;
        if dma::phys_of(start).is_some() && dma::phys_of(start + len.saturating_sub(1)).is_some() {
            return;
        }
        let Some(virt) = phys_to_virt(paddr) else { return };
        if direction != BufferDirection::DriverToDevice {
            // SAFETY: the device is done with the bounce block (the crate unshares after the
            // used ring returned it); the caller's buffer is writable for `len` bytes.
            unsafe { core::ptr::copy_nonoverlapping(virt as *const u8, start as *mut u8, len as usize) };
        }
        if let Some(order) = dma::order_for((len as usize).div_ceil(4096).max(1)) {
            let _ = frames::free(paddr, order);
        }
    }
}

/// The crate's configuration-space access, through the mechanism the PCI layer chose.
#[derive(Clone, Copy, Debug)]
pub struct ExoCam;

fn bdf_of(function: DeviceFunction) -> Option<exo_pci::Bdf> {
    exo_pci::Bdf::new(function.bus, function.device, function.function)
}

impl ConfigurationAccess for ExoCam {
    fn read_word(&self, function: DeviceFunction, offset: u8) -> u32 {
        bdf_of(function).map_or(!0, |bdf| config::read32(bdf, u16::from(offset)))
    }

    fn write_word(&mut self, function: DeviceFunction, offset: u8, data: u32) {
        if let Some(bdf) = bdf_of(function) {
            config::write32(bdf, u16::from(offset), data);
        }
    }

    /// # Safety
    /// As the trait (the clone only reads read-only fields); `ExoCam` holds no state.
    unsafe fn unsafe_clone(&self) -> Self {
        ExoCam
    }
}

/// Which MSI-X table entries the device signals on: configuration changes, and each queue.
#[derive(Clone, Copy, Debug)]
pub struct MsixRouting {
    pub config: u16,
    /// Entry of queue `i` (queues past the array use its last entry).
    pub queues: [u16; 4],
}

impl MsixRouting {
    fn queue(&self, queue: u16) -> u16 {
        self.queues[usize::from(queue).min(self.queues.len() - 1)]
    }
}

/// The virtio structures of a function, found by the PCI layer's walk (cfg_type 1-4).
#[derive(Clone, Copy, Debug)]
pub struct VirtioLayout {
    pub common: Mmio,
    /// The ISR status byte (read to acknowledge a legacy INTx interrupt; unused with MSI-X).
    #[allow(dead_code)]
    pub isr: Option<Mmio>,
    pub device: Option<Mmio>,
}

/// Offsets in `virtio_pci_common_cfg`.
const COMMON_MSIX_CONFIG: u64 = 0x10;
const COMMON_QUEUE_SELECT: u64 = 0x16;
const COMMON_QUEUE_MSIX_VECTOR: u64 = 0x1a;

/// The crate's `PciTransport` with MSI-X routing (see the module comment).
pub struct ExoTransport {
    inner: PciTransport,
    common: Mmio,
    routing: Option<MsixRouting>,
    config_vector_set: bool,
}

/// Why a virtio function could not be opened (shown with `{:?}` in the boot log).
#[allow(dead_code)]
#[derive(Debug)]
pub enum VirtioError {
    NotVirtio,
    /// The capability list is circular (the crate's walk would not end).
    CircularCapabilities,
    /// A needed structure is missing, or lies outside a mapped memory BAR.
    Layout,
    Pci(VirtioPciError),
}

/// Finds the virtio structures of `dev` (its memory BARs already mapped).
fn layout(dev: &Device) -> Option<VirtioLayout> {
    let cfg = dev.config();
    let mut found: [Option<Mmio>; 5] = [None; 5];
    for &(offset, id) in dev.capabilities() {
        use exo_pci::ConfigSpace;
        if id != exo_pci::caps::CAP_VENDOR {
            continue;
        }
        let at = u16::from(offset);
        let (cap_len, cfg_type, bar) = (cfg.read8(at + 2), cfg.read8(at + 3), cfg.read8(at + 4));
        if cap_len < 16 || !(1..=4).contains(&cfg_type) || found[usize::from(cfg_type)].is_some() {
            continue;
        }
        let (start, len) = (cfg.read32(at + 8), cfg.read32(at + 12));
        let region = dev.map_bar(usize::from(bar)).ok().and_then(|m| m.sub(u64::from(start), u64::from(len)));
        found[usize::from(cfg_type)] = region;
    }
    let common = found[1].filter(|c| c.len() >= 0x38)?;
    found[2]?; // the notification structure: the crate maps it itself, but it must exist
    Some(VirtioLayout { common, isr: found[3], device: found[4] })
}

/// Opens virtio function `dev`: enables memory space and bus mastering, maps its memory BARs
/// and builds the transport. With `routing`, MSI-X must already be enabled on the function
/// ([`Device::enable_msix`]) and each queue is routed to its entry during the driver's
/// initialization.
pub fn transport_for(dev: &Device, routing: Option<MsixRouting>) -> Result<(ExoTransport, VirtioLayout), VirtioError> {
    if dev.header.vendor_id != VIRTIO_VENDOR {
        return Err(VirtioError::NotVirtio);
    }
    if dev.caps_looped {
        return Err(VirtioError::CircularCapabilities);
    }
    dev.enable(true, false, true);
    for index in 0..6 {
        let _ = dev.map_bar(index);
    }
    let layout = layout(dev).ok_or(VirtioError::Layout)?;
    let function = DeviceFunction { bus: dev.bdf.bus, device: dev.bdf.device, function: dev.bdf.function };
    let inner = PciTransport::new::<ExoHal, ExoCam>(&mut PciRoot::new(ExoCam), function).map_err(VirtioError::Pci)?;
    Ok((ExoTransport { inner, common: layout.common, routing, config_vector_set: false }, layout))
}

impl Transport for ExoTransport {
    fn device_type(&self) -> DeviceType {
        self.inner.device_type()
    }

    fn read_device_features(&mut self) -> u64 {
        self.inner.read_device_features()
    }

    fn write_driver_features(&mut self, driver_features: u64) {
        self.inner.write_driver_features(driver_features)
    }

    fn max_queue_size(&mut self, queue: u16) -> u32 {
        self.inner.max_queue_size(queue)
    }

    fn notify(&mut self, queue: u16) {
        self.inner.notify(queue)
    }

    fn get_status(&self) -> DeviceStatus {
        self.inner.get_status()
    }

    fn set_status(&mut self, status: DeviceStatus) {
        if status.is_empty() {
            // A reset clears the device's vectors: set them again with the queues.
            self.config_vector_set = false;
        }
        self.inner.set_status(status)
    }

    fn set_guest_page_size(&mut self, guest_page_size: u32) {
        self.inner.set_guest_page_size(guest_page_size)
    }

    fn requires_legacy_layout(&self) -> bool {
        self.inner.requires_legacy_layout()
    }

    fn queue_set(&mut self, queue: u16, size: u32, descriptors: PhysAddr, driver_area: PhysAddr, device_area: PhysAddr) {
        if let Some(routing) = self.routing {
            if !self.config_vector_set {
                self.common.write16(COMMON_MSIX_CONFIG, routing.config);
                self.config_vector_set = true;
            }
            self.common.write16(COMMON_QUEUE_SELECT, queue);
            self.common.write16(COMMON_QUEUE_MSIX_VECTOR, routing.queue(queue));
        }
        self.inner.queue_set(queue, size, descriptors, driver_area, device_area)
    }

    fn queue_unset(&mut self, queue: u16) {
        self.inner.queue_unset(queue)
    }

    fn queue_used(&mut self, queue: u16) -> bool {
        self.inner.queue_used(queue)
    }

    fn ack_interrupt(&mut self) -> InterruptStatus {
        self.inner.ack_interrupt()
    }

    fn read_config_generation(&self) -> u32 {
        self.inner.read_config_generation()
    }

    fn read_config_space<T: zerocopy::FromBytes + zerocopy::IntoBytes>(&self, offset: usize) -> virtio_drivers::Result<T> {
        self.inner.read_config_space(offset)
    }

    fn write_config_space<T: zerocopy::IntoBytes + zerocopy::Immutable>(&mut self, offset: usize, value: T) -> virtio_drivers::Result<()> {
        self.inner.write_config_space(offset, value)
    }
}

/// The MSI-X entry the device signals queue `queue` on, read back from the common
/// configuration (NO_VECTOR: none). Selects the queue: only while the driver is not using
/// the transport (at start-up, under its lock).
pub fn queue_vector(layout: &VirtioLayout, queue: u16) -> u16 {
    layout.common.write16(COMMON_QUEUE_SELECT, queue);
    layout.common.read16(COMMON_QUEUE_MSIX_VECTOR)
}

/// The MSI-X entry of configuration-change interrupts (NO_VECTOR: none).
pub fn config_vector(layout: &VirtioLayout) -> u16 {
    layout.common.read16(COMMON_MSIX_CONFIG)
}
