//! The vDSO: a small ELF shared object (built from `user/vdso/` by xtask, embedded here) that
//! every program gets mapped, with its data page (vvar) one page below it, so that
//! clock_gettime, gettimeofday, time, getcpu and clock_getres run in user space. See
//! docs/vdso.md.
//!
//! At boot [`init`] copies the image into frames the kernel keeps for ever and allocates the
//! vvar frame, then registers with `time` to republish the clock's inputs whenever they change.
//! Exec maps these same frames into the new program ([`map_into`], read+exec and read-only,
//! `[vdso]` and `[vvar]` areas) and passes the image's address as `AT_SYSINFO_EHDR`; fork
//! keeps them as any read-only page; munmap/mremap treat them as ordinary areas (as Linux
//! allows). Each mapping holds one frame reference and the kernel one more, so no unmap ever
//! frees them; the pages are mapped copy-on-write, so that no process can ever write the
//! shared frames (mprotect to writable on the vvar page is EACCES, as on Linux; on the code it
//! is allowed and the first write copies the page).
//!
//! The vvar page (layout in `user/vdso/vvar.h`, 64-bit words): 0 sequence (odd while written),
//! 1 boot TSC, 2 mult, 3 shift, 4 Unix ns at boot (0: unknown), 5 flags, 6 coarse resolution.

use alloc::vec::Vec;
use core::sync::atomic::{fence, AtomicU64, Ordering};

use exo_vma::{Kind, Prot, Share, PAGE};

use super::mm::{Mm, MmInner, STACK_TOP};
use crate::memory::frames;
use crate::spinlock::SpinLock;

/// The image (`build/vdso.so`, written by `cargo xtask build` before the kernel is compiled).
static IMAGE: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../build/vdso.so"));

/// Where the vvar page goes in every process: just above the stack (in the page table of the
/// stack's top, which every process has); the image (one page) follows it, the last user page.
pub const VVAR_ADDR: u64 = STACK_TOP;
/// The image's address (`AT_SYSINFO_EHDR`).
pub const VDSO_ADDR: u64 = VVAR_ADDR + PAGE;

const WORD_SEQ: usize = 0;
const WORD_BOOT_TSC: usize = 1;
const WORD_MULT: usize = 2;
const WORD_SHIFT: usize = 3;
const WORD_BOOT_UNIX_NS: usize = 4;
const WORD_FLAGS: usize = 5;
const WORD_COARSE_NS: usize = 6;
/// Flag: the clock fields are valid.
const FLAG_CLOCK_OK: u64 = 1;
/// Flag: TSC_AUX holds the CPU index (getcpu by RDTSCP).
const FLAG_RDTSCP: u64 = 2;


struct Vdso {
    vvar_frame: u64,
    vvar: &'static [AtomicU64; 512],
    text_frames: Vec<u64>,
}

static VDSO: spin::Once<Vdso> = spin::Once::new();
/// Serializes writers of the vvar page (its sequence counter allows one at a time).
static PUBLISH: SpinLock<()> = SpinLock::new(());

/// Sets up the vDSO's frames and starts publishing the clock. Without memory for them programs
/// just run without a vDSO (no `AT_SYSINFO_EHDR`; libc then makes system calls).
pub fn init() {
    let Some(vdso) = build() else {
        log::warn!("vdso: no memory for its pages: programs run without it");
        return;
    };
    VDSO.call_once(|| vdso);
    crate::time::set_observer(publish);
    log::info!("vdso: {} bytes at {:#x}, vvar at {:#x}", IMAGE.len(), VDSO_ADDR, VVAR_ADDR);
}

fn build() -> Option<Vdso> {
    let (vvar_frame, vvar) = frames::permanent_frame().ok()?;
    let mut text_frames = Vec::new();
    text_frames.try_reserve_exact(IMAGE.len().div_ceil(PAGE as usize)).ok()?;
    for chunk in IMAGE.chunks(PAGE as usize) {
        let frame = frames::alloc_zeroed_frame().ok()?;
        frames::write_frame(frame, 0, chunk);
        text_frames.push(frame);
    }
    Some(Vdso { vvar_frame, vvar, text_frames })
}

/// Writes the clock's current inputs into the vvar page under its sequence counter.
fn publish() {
    let Some(vdso) = VDSO.get() else { return };
    let _writer = PUBLISH.lock();
    let params = crate::time::params();
    let words = vdso.vvar;
    let seq = words[WORD_SEQ].load(Ordering::Relaxed);
    words[WORD_SEQ].store(seq.wrapping_add(1) | 1, Ordering::Relaxed);
    fence(Ordering::Release);
    words[WORD_BOOT_TSC].store(params.boot_tsc, Ordering::Relaxed);
    words[WORD_MULT].store(params.scale.mult, Ordering::Relaxed);
    words[WORD_SHIFT].store(u64::from(params.scale.shift), Ordering::Relaxed);
    words[WORD_BOOT_UNIX_NS].store(params.boot_unix_ns, Ordering::Relaxed);
    let rdtscp = if crate::arch::has_rdtscp() { FLAG_RDTSCP } else { 0 };
    words[WORD_FLAGS].store(FLAG_CLOCK_OK | rdtscp, Ordering::Relaxed);
    words[WORD_COARSE_NS].store(crate::sched::tick_ns().max(1), Ordering::Relaxed);
    let odd = words[WORD_SEQ].load(Ordering::Relaxed);
    words[WORD_SEQ].store(odd.wrapping_add(1), Ordering::Release);
}

/// Maps `frame` at `addr` of a map being built by exec, taking a reference for the mapping.
fn map_page(inner: &mut MmInner, addr: u64, frame: u64, prot: Prot) -> bool {
    if super::mm_shared::reference(frame).is_err() {
        return false;
    }
    // COW: the frame is shared by every process, so a page made writable by mprotect (the
    // vDSO's, for a debugger's breakpoint) is copied on the first write, never written.
    let flags = super::mm::page_flags(prot, Share::Private) | exo_paging::PageFlags::COW;
    if inner.space.map_frame(addr, frame, flags).is_err() {
        frames::adjust_refcount(frame, -1);
        return false;
    }
    true
}

/// Maps the vvar page and the image into a fresh memory map (exec); returns the image's
/// address for `AT_SYSINFO_EHDR`, or `None` (the program runs without a vDSO) when there is
/// no vDSO, no room at its address (a program loaded there) or no memory.
pub fn map_into(inner: &mut MmInner) -> Option<u64> {
    let vdso = VDSO.get()?;
    let read = Prot { read: true, write: false, exec: false };
    let read_exec = Prot { read: true, write: false, exec: true };
    let text_len = (vdso.text_frames.len() as u64) * PAGE;
    Mm::map_area(inner, VVAR_ADDR, PAGE, read, Share::Private, Kind::Vvar, false, None).ok()?;
    if Mm::map_area(inner, VDSO_ADDR, text_len, read_exec, Share::Private, Kind::Vdso, false, None).is_err() {
        unmap(inner, VVAR_ADDR, PAGE);
        return None;
    }
    let mut ok = map_page(inner, VVAR_ADDR, vdso.vvar_frame, read);
    for (index, &frame) in vdso.text_frames.iter().enumerate() {
        ok = ok && map_page(inner, VDSO_ADDR + index as u64 * PAGE, frame, read_exec);
    }
    if !ok {
        unmap(inner, VVAR_ADDR, PAGE + text_len);
        return None;
    }
    Some(VDSO_ADDR)
}

fn unmap(inner: &mut MmInner, start: u64, len: u64) {
    inner.space.unmap_range(start, start + len);
    let _ = inner.areas.remove(start, len);
}

/// The vvar page's first words as user space sees them (in-kernel tests).
#[cfg(feature = "ktest")]
pub fn published() -> Option<[u64; 7]> {
    let vdso = VDSO.get()?;
    Some(core::array::from_fn(|i| vdso.vvar[i].load(Ordering::Acquire)))
}

/// The frames user space maps: the vvar frame and the image's (in-kernel tests).
#[cfg(feature = "ktest")]
pub fn frames() -> Option<(u64, Vec<u64>)> {
    VDSO.get().map(|vdso| (vdso.vvar_frame, vdso.text_frames.clone()))
}

/// The embedded image (in-kernel tests).
#[cfg(feature = "ktest")]
pub fn image() -> &'static [u8] {
    IMAGE
}
