//! tmpfs regular-file data: a sparse map of 4 KiB pages. Pages are allocated on first write
//! (charged to the instance's size budget) and freed by truncation or when the file dies;
//! missing pages read as zeros. Bytes of a page past the end of file are always zero, so
//! growing a file never exposes old data. Appending never copies existing data. A page that
//! cannot be allocated ends the write like a full budget (`ENOSPC`).

use alloc::boxed::Box;
use alloc::collections::btree_map::Entry;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use exo_abi::Errno;

use super::{Shared, PAGE_SIZE};
use crate::inode::Result;
use crate::types::MAX_FILE_SIZE;

const PAGE: usize = PAGE_SIZE as usize;

/// A zero-filled page, or `None` when the allocator has no memory (never aborts).
fn zeroed_page() -> Option<Box<[u8]>> {
    let mut page = Vec::new();
    page.try_reserve_exact(PAGE).ok()?;
    page.resize(PAGE, 0);
    Some(page.into_boxed_slice())
}

pub(crate) struct FileData {
    pub(crate) size: u64,
    /// Page index → page.
    pages: BTreeMap<u64, Box<[u8]>>,
}

impl FileData {
    pub(crate) fn new() -> FileData {
        FileData { size: 0, pages: BTreeMap::new() }
    }

    /// Allocated pages.
    pub(crate) fn pages(&self) -> u64 {
        self.pages.len() as u64
    }

    /// Copies out bytes from `offset`; 0 at or past the end.
    pub(crate) fn read(&self, offset: u64, buf: &mut [u8]) -> usize {
        if offset >= self.size {
            return 0;
        }
        let len = (self.size - offset).min(buf.len() as u64) as usize;
        let mut done = 0;
        while done < len {
            let pos = offset + done as u64;
            let in_page = (pos % PAGE_SIZE) as usize;
            let n = (PAGE - in_page).min(len - done);
            let out = &mut buf[done..done + n];
            match self.pages.get(&(pos / PAGE_SIZE)) {
                Some(page) => out.copy_from_slice(&page[in_page..in_page + n]),
                None => out.fill(0),
            }
            done += n;
        }
        len
    }

    /// Copies in bytes at `offset`, allocating pages as needed. Stops early when the size
    /// budget runs out (`ENOSPC` if nothing could be written) or at [`MAX_FILE_SIZE`] (`EFBIG`
    /// if `offset` is already there).
    pub(crate) fn write(&mut self, fs: &Shared, offset: u64, buf: &[u8]) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if offset >= MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let len = (MAX_FILE_SIZE - offset).min(buf.len() as u64) as usize;
        let mut done = 0;
        while done < len {
            let pos = offset + done as u64;
            let in_page = (pos % PAGE_SIZE) as usize;
            let n = (PAGE - in_page).min(len - done);
            let page = match self.pages.entry(pos / PAGE_SIZE) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => {
                    if !fs.reserve_pages(1) {
                        break;
                    }
                    match zeroed_page() {
                        Some(page) => e.insert(page),
                        None => {
                            fs.release_pages(1);
                            break;
                        }
                    }
                }
            };
            page[in_page..in_page + n].copy_from_slice(&buf[done..done + n]);
            done += n;
        }
        if done == 0 {
            return Err(Errno::ENOSPC);
        }
        self.size = self.size.max(offset + done as u64);
        Ok(done)
    }

    /// Sets the size to `len` (`EFBIG` beyond [`MAX_FILE_SIZE`]); shrinking frees whole pages
    /// past the end and zeroes the tail of the last one.
    pub(crate) fn truncate(&mut self, fs: &Shared, len: u64) -> Result<()> {
        if len > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        if len < self.size {
            let keep = len.div_ceil(PAGE_SIZE);
            let dropped = self.pages.split_off(&keep);
            fs.release_pages(dropped.len() as u64);
            let tail = (len % PAGE_SIZE) as usize;
            if tail != 0 {
                if let Some(page) = self.pages.get_mut(&(len / PAGE_SIZE)) {
                    page[tail..].fill(0);
                }
            }
        }
        self.size = len;
        Ok(())
    }

    /// Returns every page to the budget (the file is being destroyed).
    pub(crate) fn release(&mut self, fs: &Shared) {
        fs.release_pages(self.pages.len() as u64);
        self.pages.clear();
    }
}
