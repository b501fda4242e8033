//! Open files backed by an inode of the namespace: regular files (read/write at the file
//! offset, O_APPEND, seek, truncate; through the page cache while the file is mapped, see
//! `fs::filemap_io`) and directories (getdents64 from a cursor kept in the
//! file offset). Each access reports its inotify event (`fs::inotify`): open, read (IN_ACCESS),
//! write and truncate (IN_MODIFY), the last close (IN_CLOSE_WRITE / IN_CLOSE_NOWRITE); O_PATH
//! files report nothing, as Linux.

use alloc::sync::Arc;
use alloc::vec::Vec;

use exo_abi::fcntl::*;
use exo_abi::inotify::{IN_ACCESS, IN_CLOSE_NOWRITE, IN_CLOSE_WRITE, IN_MODIFY, IN_OPEN};
use exo_abi::types::Stat;
use exo_abi::{Errno, KResult};
use exo_vfs::PathRef;

use super::file::{FileOps, OpenFile};
use super::inotify;

/// A file opened by path.
pub struct InodeFile {
    pub path: PathRef,
    /// inotify: the close event (IN_CLOSE_WRITE / IN_CLOSE_NOWRITE), 0 for O_PATH (added by
    /// the xattr/inotify work).
    close_event: u32,
}

impl InodeFile {
    pub fn open(path: PathRef, flags: u32) -> Arc<OpenFile> {
        let close_event = if flags & O_PATH != 0 {
            0
        } else if matches!(flags & O_ACCMODE, O_WRONLY | O_RDWR) {
            IN_CLOSE_WRITE
        } else {
            IN_CLOSE_NOWRITE
        };
        if close_event != 0 {
            inotify::path_event(&path, IN_OPEN);
        }
        OpenFile::new(Arc::new(InodeFile { path, close_event }), flags)
    }

    /// Reports `event` when `n` bytes moved.
    fn moved(&self, n: usize, event: u32) -> usize {
        if n > 0 {
            inotify::path_event(&self.path, event);
        }
        n
    }
}

impl FileOps for InodeFile {
    fn read(&self, file: &OpenFile, buf: &mut [u8]) -> KResult<usize> {
        let mut offset = file.offset.lock();
        let n = super::filemap_io::read(self.path.inode(), *offset, buf)?;
        *offset += n as u64;
        Ok(self.moved(n, IN_ACCESS))
    }

    fn write(&self, file: &OpenFile, buf: &[u8]) -> KResult<usize> {
        let mut offset = file.offset.lock();
        if file.flags() & O_APPEND != 0 {
            *offset = self.path.metadata().size;
        }
        let n = super::filemap_io::write(self.path.inode(), *offset, buf)?;
        *offset += n as u64;
        Ok(self.moved(n, IN_MODIFY))
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> KResult<usize> {
        super::filemap_io::read(self.path.inode(), offset, buf).map(|n| self.moved(n, IN_ACCESS))
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> KResult<usize> {
        super::filemap_io::write(self.path.inode(), offset, buf).map(|n| self.moved(n, IN_MODIFY))
    }

    fn seek(&self, file: &OpenFile, offset: i64, whence: u32) -> KResult<u64> {
        file.seek_sized(offset, whence, true, || self.path.metadata().size)
    }

    fn stat(&self) -> KResult<Stat> {
        Ok(super::stat_of(&self.path.metadata()))
    }

    /// The file system appends `linux_dirent64` records straight into `out`
    /// ([`exo_vfs::Inode::read_dirents`]); the caller copies `out` to the user in one checked
    /// copy.
    fn read_dir(&self, file: &OpenFile, out: &mut Vec<u8>, space: usize) -> KResult<()> {
        let mut offset = file.offset.lock();
        out.try_reserve(space.min(4096)).map_err(|_| Errno::ENOMEM)?;
        let (cursor, full) = self.path.inode().read_dirents(*offset, out, space)?;
        if full && out.is_empty() {
            return Err(Errno::EINVAL);
        }
        *offset = cursor;
        inotify::path_event(&self.path, IN_ACCESS);
        Ok(())
    }

    fn pollable(&self) -> bool {
        false
    }

    fn path(&self) -> Option<PathRef> {
        Some(self.path.clone())
    }

    /// The file's dirty mapped pages are written back first (`fs::filemap`).
    fn fsync(&self, datasync: bool) -> KResult<()> {
        super::filemap::write_back_inode(&**self.path.inode())?;
        self.path.inode().fsync(datasync)
    }

    fn truncate(&self, len: u64) -> KResult<()> {
        super::filemap_io::truncate(self.path.inode(), len)?;
        inotify::path_event(&self.path, IN_MODIFY);
        Ok(())
    }

    fn release(&self) {
        if self.close_event != 0 {
            inotify::path_event(&self.path, self.close_event);
        }
    }
}
