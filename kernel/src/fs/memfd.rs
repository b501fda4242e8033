//! `memfd_create` files: regular files of a private tmpfs (in a namespace of their own, so
//! no path reaches them), unlinked at birth, named `memfd:NAME` (the `/proc/<pid>/fd` link
//! reads `/memfd:NAME (deleted)`, as Linux's). They read, write, seek, truncate and map as
//! tmpfs files do, and carry the seals of `F_ADD_SEALS`: `F_SEAL_WRITE`/`F_SEAL_FUTURE_WRITE`
//! refuse writes and writable shared mappings, `F_SEAL_SHRINK`/`F_SEAL_GROW` size changes
//! (`EPERM`), `F_SEAL_SEAL` further seals. Seals live in the open file's [`MemFd`] object: a
//! reopen through `/proc/<pid>/fd/<n>` gets an ordinary tmpfs file without them (partial).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

use exo_abi::fcntl::*;
use exo_abi::types::Stat;
use exo_abi::{Errno, KResult};
use exo_vfs::{Cred, Lookup, Namespace, PathRef, SetAttr};

use super::file::{FileOps, OpenFile};
use crate::sched::sync::Mutex;

/// Every seal `F_ADD_SEALS` knows (`F_SEAL_EXEC` included).
pub const ALL_SEALS: u32 = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | F_SEAL_EXEC;

/// A memfd's open file: its inode and its seals.
pub struct MemFd {
    path: PathRef,
    seals: AtomicU32,
}

static NAMESPACE: spin::Once<Namespace> = spin::Once::new();
/// Serialises create-then-unlink, so equal names never meet in the private directory.
static CREATING: Mutex<()> = Mutex::new(());

/// A new memfd named `name` (checked by the caller: at most 249 bytes), owned by `uid:gid`.
/// Without `sealing`, the file starts with `F_SEAL_SEAL` (no seal can be added), as Linux's.
pub fn create(name: &[u8], sealing: bool, uid: u32, gid: u32) -> KResult<Arc<OpenFile>> {
    let ns = NAMESPACE.call_once(|| Namespace::new(super::new_tmpfs()));
    let root = ns.root();
    let ctx = Lookup::new(root.clone(), root, Cred::root());
    let mut path = Vec::new();
    path.try_reserve(name.len() + 8).map_err(|_| Errno::ENOMEM)?;
    path.extend_from_slice(b"/memfd:");
    // A '/' would make a path of the name: shown as '_' (Linux keeps any byte).
    path.extend(name.iter().map(|&b| if b == b'/' { b'_' } else { b }));
    let location = {
        let _serial = CREATING.lock();
        let (location, _) = ns.create(&ctx, &path, exo_abi::mode::S_IFREG | 0o777, true)?;
        ns.unlink(&ctx, &path)?;
        location
    };
    location.inode().set_attr(&SetAttr { uid: Some(uid), gid: Some(gid), ..SetAttr::default() })?;
    let seals = if sealing { 0 } else { F_SEAL_SEAL };
    Ok(OpenFile::new(Arc::new(MemFd { path: location, seals: AtomicU32::new(seals) }), O_RDWR | O_LARGEFILE))
}

/// The memfd behind an open file, if it is one.
pub fn of(file: &OpenFile) -> Option<&MemFd> {
    file.ops.as_plain_any()?.downcast_ref::<MemFd>()
}

/// mmap's check: a writable shared mapping of a write-sealed memfd is `EPERM`.
pub fn check_shared_write_map(file: &OpenFile) -> KResult<()> {
    match of(file) {
        Some(memfd) if memfd.seals() & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE) != 0 => Err(Errno::EPERM),
        _ => Ok(()),
    }
}

impl MemFd {
    /// The `/proc/<pid>/fd/<n>` link: `/memfd:NAME (deleted)`.
    pub fn link_text(&self) -> Vec<u8> {
        let mut text = Vec::from(&b"/"[..]);
        text.extend_from_slice(&self.path.dentry.name());
        text.extend_from_slice(b" (deleted)");
        text
    }

    pub fn seals(&self) -> u32 {
        self.seals.load(Ordering::SeqCst)
    }

    /// `F_ADD_SEALS`: `EPERM` once `F_SEAL_SEAL` is set or when the file is not open for
    /// writing, `EINVAL` for unknown bits. (Linux's `EBUSY` for `F_SEAL_WRITE` over live
    /// writable mappings is not detected.)
    pub fn add_seals(&self, file: &OpenFile, seals: u32) -> KResult<()> {
        if seals & !ALL_SEALS != 0 {
            return Err(Errno::EINVAL);
        }
        if !file.writable() {
            return Err(Errno::EPERM);
        }
        self.seals
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |old| if old & F_SEAL_SEAL != 0 { None } else { Some(old | seals) })
            .map(|_| ())
            .map_err(|_| Errno::EPERM)
    }

    fn size(&self) -> u64 {
        self.path.metadata().size
    }

    /// A write of `len` bytes at `offset`: `EPERM` if write-sealed, or growing and grow-sealed.
    fn check_write(&self, offset: u64, len: usize) -> KResult<()> {
        let seals = self.seals();
        if seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE) != 0 {
            return Err(Errno::EPERM);
        }
        if seals & F_SEAL_GROW != 0 && offset.saturating_add(len as u64) > self.size() {
            return Err(Errno::EPERM);
        }
        Ok(())
    }

    /// A size change to `len` (truncate, fallocate): `EPERM` against the shrink/grow seals.
    pub fn check_resize(&self, len: u64) -> KResult<()> {
        let (seals, size) = (self.seals(), self.size());
        if (len < size && seals & F_SEAL_SHRINK != 0) || (len > size && seals & F_SEAL_GROW != 0) {
            return Err(Errno::EPERM);
        }
        Ok(())
    }

    /// Overwriting existing bytes (a hole punch): `EPERM` if write-sealed.
    pub fn check_overwrite(&self) -> KResult<()> {
        self.check_write(0, 0)
    }
}

impl FileOps for MemFd {
    fn read(&self, file: &OpenFile, buf: &mut [u8]) -> KResult<usize> {
        let mut offset = file.offset.lock();
        let n = super::filemap_io::read(self.path.inode(), *offset, buf)?;
        *offset += n as u64;
        Ok(n)
    }

    fn write(&self, file: &OpenFile, buf: &[u8]) -> KResult<usize> {
        let mut offset = file.offset.lock();
        if file.flags() & O_APPEND != 0 {
            *offset = self.size();
        }
        self.check_write(*offset, buf.len())?;
        let n = super::filemap_io::write(self.path.inode(), *offset, buf)?;
        *offset += n as u64;
        Ok(n)
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> KResult<usize> {
        super::filemap_io::read(self.path.inode(), offset, buf)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> KResult<usize> {
        self.check_write(offset, buf.len())?;
        super::filemap_io::write(self.path.inode(), offset, buf)
    }

    fn seek(&self, file: &OpenFile, offset: i64, whence: u32) -> KResult<u64> {
        file.seek_sized(offset, whence, true, || self.size())
    }

    fn stat(&self) -> KResult<Stat> {
        Ok(super::stat_of(&self.path.metadata()))
    }

    fn pollable(&self) -> bool {
        false
    }

    fn as_plain_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }

    fn path(&self) -> Option<PathRef> {
        Some(self.path.clone())
    }

    fn fsync(&self, _datasync: bool) -> KResult<()> {
        Ok(())
    }

    fn truncate(&self, len: u64) -> KResult<()> {
        self.check_resize(len)?;
        super::filemap_io::truncate(self.path.inode(), len)
    }
}
