//! read(2), write(2) and truncate of a file while it has a page cache (it is mapped, or has
//! dirty pages from a mapping): the bytes of cached pages come from and go to the cached
//! frames, so a store through a mapping is seen by read(2) and a write(2) by every mapping.
//! Files without a cache go straight to the inode (one atomic load decides).
//!
//! A write goes to the inode (which sets the size and stores the data) and, for the pages that
//! are cached, into the frames too, which are then marked dirty: a write-back that copied a
//! frame before this write writes it again later, so it can never leave older bytes in the file.

use alloc::sync::Arc;

use exo_abi::{Errno, KResult};
use exo_vfs::Inode;

use super::filemap::{find, PageCache, PAGE};
use crate::memory::frames;

/// Reads from `inode` at `offset` through its page cache, if any.
pub fn read(inode: &Arc<dyn Inode>, offset: u64, buf: &mut [u8]) -> KResult<usize> {
    let Some(cache) = find(&**inode) else { return inode.read_at(offset, buf) };
    let pages = cache.pages.lock();
    let size = inode.metadata().size;
    if offset >= size || buf.is_empty() {
        return Ok(0);
    }
    let len = ((size - offset).min(buf.len() as u64)) as usize;
    let mut done = 0;
    while done < len {
        let position = offset + done as u64;
        let index = position / PAGE;
        let in_page = (position % PAGE) as usize;
        let chunk = (PAGE as usize - in_page).min(len - done);
        match pages.frame(index) {
            Some(frame) => frames::read_frame(frame, in_page, &mut buf[done..done + chunk]),
            None => {
                let n = inode.read_at(position, &mut buf[done..done + chunk])?;
                if n < chunk {
                    return Ok(done + n);
                }
            }
        }
        done += chunk;
    }
    Ok(done)
}

/// Writes to `inode` at `offset`, keeping its cached pages (if any) the same.
pub fn write(inode: &Arc<dyn Inode>, offset: u64, buf: &[u8]) -> KResult<usize> {
    let Some(cache) = find(&**inode) else { return inode.write_at(offset, buf) };
    let mut pages = cache.pages.lock();
    let n = inode.write_at(offset, buf)?;
    let end = offset.saturating_add(n as u64);
    let mut position = offset;
    while position < end {
        let index = position / PAGE;
        let in_page = (position % PAGE) as usize;
        let chunk = ((PAGE as usize - in_page) as u64).min(end - position) as usize;
        if let Ok(at) = pages.search(index) {
            let from = (position - offset) as usize;
            frames::write_frame(pages.list[at].frame, in_page, &buf[from..from + chunk]);
            pages.list[at].dirty = true;
        }
        position += chunk as u64;
    }
    Ok(n)
}

/// Truncates `inode` to `len` bytes. Cached pages past the new end leave the cache and every
/// mapping (an access there is then SIGBUS, as Linux); the tail of the new last page is zeroed.
pub fn truncate(inode: &Arc<dyn Inode>, len: u64) -> KResult<()> {
    let Some(cache) = find(&**inode) else { return inode.truncate(len) };
    let first_gone = len.div_ceil(PAGE);
    let dropped = {
        let mut pages = cache.pages.lock();
        let mut dropped = alloc::vec::Vec::new();
        dropped.try_reserve_exact(pages.list.len()).map_err(|_| Errno::ENOMEM)?;
        inode.truncate(len)?;
        let cut = match pages.search(first_gone) {
            Ok(at) | Err(at) => at,
        };
        dropped.extend(pages.list.drain(cut..).map(|p| p.frame));
        if len % PAGE != 0 {
            if let Some(frame) = pages.frame(len / PAGE) {
                let tail = (PAGE - len % PAGE) as usize;
                frames::write_frame(frame, (len % PAGE) as usize, &ZEROS[..tail]);
            }
        }
        dropped
    };
    unmap_from(&cache, first_gone);
    if !dropped.is_empty() {
        frames::release_many(&dropped);
        super::filemap::uncached(dropped.len());
    }
    Ok(())
}

/// Unmaps the pages from index `first` on in every memory map that maps the file.
fn unmap_from(cache: &PageCache, first: u64) {
    for mm in cache.live_mappers() {
        mm.unmap_file_from(cache, first);
    }
}

static ZEROS: [u8; PAGE as usize] = [0; PAGE as usize];
