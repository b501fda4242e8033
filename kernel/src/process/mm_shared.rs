//! Memory a process shares with a kernel object or hands to another process: mapping a Fusion
//! Ring's frames (each page with the protection the end's rights allow), and the page grants'
//! three steps — take pages out of the sender (move), take references on them (share), map
//! them into the receiver. See docs/ipc.md and docs/memory.md ("TLB rule").

use alloc::vec::Vec;

use exo_abi::{Errno, KResult};
use exo_paging::PageFlags;
use exo_vma::{Area, Kind, Prot, Share, PAGE};

use super::mm::{page_flags, Mm, MmInner, MMAP_CEILING, MMAP_FLOOR};
use crate::memory::frames;

/// References one frame may have at most through mappings (its count is 16 bits): mapping it
/// once more past this fails with ENOMEM instead of wrapping the count.
const MAX_REFERENCES: u16 = 60_000;

/// Takes one more reference on `frame` for a new mapping, unless it has too many (ENOMEM).
pub(super) fn reference(frame: u64) -> KResult<()> {
    if frames::adjust_refcount(frame, 1) >= MAX_REFERENCES {
        frames::adjust_refcount(frame, -1);
        return Err(Errno::ENOMEM);
    }
    Ok(())
}

/// Frames whose references the caller owns: released when dropped unless taken.
pub struct FrameRefs(pub Vec<u64>);

impl Drop for FrameRefs {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            frames::release_many(&self.0);
        }
    }
}

impl Mm {
    /// Maps a kernel object's frames at a free place (near `hint`): page `i` of the mapping is
    /// `pages[i].0` with protection `pages[i].1`, or left out (`None`). Writable runs become
    /// `Kind::Fusion` areas, read-only ones `Kind::Sealed`; all are shared (a fork shares them).
    /// Each mapped frame gains a reference. Returns the start.
    pub fn map_object(&self, hint: u64, pages: &[(u64, Option<Prot>)]) -> KResult<u64> {
        let len = (pages.len() as u64).checked_mul(PAGE).filter(|&l| l > 0).ok_or(Errno::EINVAL)?;
        let mut inner = self.lock();
        let hint = (hint != 0).then_some(hint & !(PAGE - 1)).filter(|&h| h >= MMAP_FLOOR);
        let start = inner.areas.find_free(len, hint, MMAP_FLOOR, MMAP_CEILING).ok_or(Errno::ENOMEM)?;
        let mut index = 0;
        while index < pages.len() {
            let prot = pages[index].1;
            let mut end = index + 1;
            while end < pages.len() && pages[end].1 == prot {
                end += 1;
            }
            if let Some(prot) = prot {
                let result = map_run(&mut inner, start + index as u64 * PAGE, &pages[index..end], prot);
                if let Err(error) = result {
                    unmap_pieces(&mut inner, start, start + index as u64 * PAGE);
                    return Err(error);
                }
            }
            index = end;
        }
        Ok(start)
    }

    /// Takes the pages of `[addr, addr + len)` out of this process for a move grant: the range
    /// must be private anonymous read-write memory (EINVAL otherwise, EFAULT where unmapped).
    /// Absent pages are allocated, copy-on-write ones copied; then the range is unmapped and
    /// shot down on every CPU, and the frames (with their references) are the caller's.
    pub fn take_pages(&self, addr: u64, len: u64) -> KResult<FrameRefs> {
        let end = check_range(addr, len)?;
        let mut inner = self.lock();
        covered_by(&inner, addr, end, |a| a.kind == Kind::Anonymous && a.share == Share::Private && a.prot.read && a.prot.write)?;
        let count = (len / PAGE) as usize;
        let mut taken = Vec::new();
        taken.try_reserve_exact(count).map_err(|_| Errno::ENOMEM)?;
        let flags = page_flags(Prot::READ_WRITE, Share::Private);
        // First make every page present and this process's own (nothing is unmapped yet, so a
        // failure leaves the sender as it was).
        let mut page = addr;
        while page < end {
            match inner.space.translate(page) {
                None => {
                    if !crate::process::oom::user_page_allowed() {
                        return Err(Errno::ENOMEM);
                    }
                    inner.space.map_zeroed(page, flags).map_err(|_| Errno::ENOMEM)?;
                }
                Some((_, _, old)) if old.contains(PageFlags::COW) => {
                    if !inner.space.resolve_cow(page) {
                        return Err(Errno::ENOMEM);
                    }
                }
                Some((frame, _, _)) if !frames::is_sole_owner(frame) => return Err(Errno::EINVAL),
                Some(_) => {}
            }
            page += PAGE;
        }
        let mut page = addr;
        while page < end {
            if let Some(frame) = inner.space.take_page(page) {
                taken.push(frame);
            }
            page += PAGE;
        }
        // Every CPU forgets the old translations before the frames can reach anybody else.
        inner.space.flush_range(addr, len);
        let _ = inner.areas.remove(addr, len);
        if taken.len() != count {
            // Cannot happen (every page was made present above); never hand out a short grant.
            drop(FrameRefs(taken));
            return Err(Errno::EFAULT);
        }
        Ok(FrameRefs(taken))
    }

    /// The frames of the shared anonymous memory `[addr, addr + len)`, each with a new
    /// reference (a share grant). EINVAL unless the whole range is shared anonymous memory.
    pub fn share_pages(&self, addr: u64, len: u64) -> KResult<FrameRefs> {
        let end = check_range(addr, len)?;
        let inner = self.lock();
        covered_by(&inner, addr, end, |a| a.kind == Kind::Anonymous && a.share == Share::Shared)?;
        let mut refs = FrameRefs(Vec::new());
        refs.0.try_reserve_exact((len / PAGE) as usize).map_err(|_| Errno::ENOMEM)?;
        let mut page = addr;
        while page < end {
            let (frame, _, _) = inner.space.translate(page).ok_or(Errno::EFAULT)?;
            reference(frame)?;
            refs.0.push(frame);
            page += PAGE;
        }
        Ok(refs)
    }

    /// Maps granted frames at a free place, taking over their references: read-write private
    /// memory (moved pages), shared read-write or sealed read-only memory (shared pages).
    /// Returns the start; on failure every reference is released.
    pub fn map_granted(&self, mut refs: FrameRefs, share: Share, prot: Prot) -> KResult<u64> {
        let len = (refs.0.len() as u64).checked_mul(PAGE).filter(|&l| l > 0).ok_or(Errno::EINVAL)?;
        let kind = if share == Share::Shared && !prot.write { Kind::Sealed } else { Kind::Anonymous };
        let mut inner = self.lock();
        let start = inner.areas.find_free(len, None, MMAP_FLOOR, MMAP_CEILING).ok_or(Errno::ENOMEM)?;
        inner.areas.insert(Area { start, end: start + len, prot, share, kind, backing: None }, false).map_err(|_| Errno::ENOMEM)?;
        let flags = page_flags(prot, share);
        let frames = core::mem::take(&mut refs.0);
        for (index, &frame) in frames.iter().enumerate() {
            let page = start + index as u64 * PAGE;
            if inner.space.map_frame(page, frame, flags).is_err() {
                // The frames from this one on are still ours; the mapped ones go with the range.
                refs.0.extend_from_slice(&frames[index..]);
                inner.space.unmap_range(start, page);
                let _ = inner.areas.remove(start, len);
                return Err(Errno::ENOMEM);
            }
        }
        Ok(start)
    }
}

/// Maps one run of pages with one protection (see [`Mm::map_object`]).
fn map_run(inner: &mut MmInner, start: u64, pages: &[(u64, Option<Prot>)], prot: Prot) -> KResult<()> {
    let len = pages.len() as u64 * PAGE;
    let kind = if prot.write { Kind::Fusion } else { Kind::Sealed };
    inner.areas.insert(Area { start, end: start + len, prot, share: Share::Shared, kind, backing: None }, false).map_err(|_| Errno::ENOMEM)?;
    let flags = page_flags(prot, Share::Shared);
    for (index, &(frame, _)) in pages.iter().enumerate() {
        let page = start + index as u64 * PAGE;
        let mapped = reference(frame).and_then(|()| {
            inner.space.map_frame(page, frame, flags).map_err(|_| {
                frames::adjust_refcount(frame, -1);
                Errno::ENOMEM
            })
        });
        if let Err(error) = mapped {
            unmap_pieces(inner, start, start + len);
            return Err(error);
        }
    }
    Ok(())
}

/// Removes the areas and pages of `[start, end)` (undoing a partial mapping).
fn unmap_pieces(inner: &mut MmInner, start: u64, end: u64) {
    if end > start {
        inner.space.unmap_range(start, end);
        let _ = inner.areas.remove(start, end - start);
    }
}

/// A grant's range: page-aligned, non-empty, at most `GRANT_PAGES_MAX` pages, inside user
/// space. Returns its end.
fn check_range(addr: u64, len: u64) -> KResult<u64> {
    if addr % PAGE != 0 || len % PAGE != 0 || len == 0 || len / PAGE > exo_abi::fusion::GRANT_PAGES_MAX {
        return Err(Errno::EINVAL);
    }
    addr.checked_add(len).filter(|&end| end <= exo_vma::USER_END).ok_or(Errno::EINVAL)
}

/// Checks that areas accepted by `ok` cover `[start, end)` with no hole (EFAULT for a hole,
/// EINVAL for an area of the wrong kind).
fn covered_by(inner: &MmInner, start: u64, end: u64, ok: impl Fn(&Area<super::mm_file::FileRef>) -> bool) -> KResult<()> {
    let mut next = start;
    for area in inner.areas.overlapping(start, end) {
        if area.start > next {
            return Err(Errno::EFAULT);
        }
        if !ok(area) {
            return Err(Errno::EINVAL);
        }
        next = area.end;
    }
    if next < end {
        return Err(Errno::EFAULT);
    }
    Ok(())
}
