//! The reference model the property tests compare the table with: a `BTreeMap` from descriptor
//! to (file, close-on-exec), plus the number of slots, with every system call's rules written
//! out plainly from Linux's manual pages (in `i64`, so no argument can overflow).

use std::collections::BTreeMap;
use std::vec::Vec;

use exo_abi::fcntl::O_CLOEXEC;
use exo_abi::Errno;

use crate::FD_HARD_MAX;

#[derive(Clone, Debug, Default)]
pub(super) struct Model {
    pub open: BTreeMap<i64, (u32, bool)>,
    /// One past the highest descriptor ever held.
    pub slots: i64,
}

impl Model {
    fn cap(limit: usize) -> i64 {
        limit.min(FD_HARD_MAX) as i64
    }

    fn put(&mut self, fd: i64, file: u32, cloexec: bool) -> Option<(u32, bool)> {
        self.slots = self.slots.max(fd + 1);
        self.open.insert(fd, (file, cloexec))
    }

    fn file(&self, fd: i64) -> Result<u32, Errno> {
        self.open.get(&fd).map(|&(f, _)| f).ok_or(Errno::EBADF)
    }

    /// open() and friends.
    pub fn insert(&mut self, file: u32, cloexec: bool, min: i64, limit: usize) -> Result<i32, Errno> {
        let fd = (min..).find(|fd| !self.open.contains_key(fd)).ok_or(Errno::EMFILE)?;
        if fd >= Self::cap(limit) {
            return Err(Errno::EMFILE);
        }
        self.put(fd, file, cloexec);
        Ok(fd as i32)
    }

    pub fn close(&mut self, fd: i64) -> Result<u32, Errno> {
        self.open.remove(&fd).map(|(f, _)| f).ok_or(Errno::EBADF)
    }

    pub fn dup(&mut self, old: i64, limit: usize) -> Result<i32, Errno> {
        let file = self.file(old)?;
        self.insert(file, false, 0, limit)
    }

    pub fn dup_min(&mut self, old: i64, min: i64, cloexec: bool, limit: usize) -> Result<i32, Errno> {
        let file = self.file(old)?;
        if min < 0 || min >= Self::cap(limit) {
            return Err(Errno::EINVAL);
        }
        self.insert(file, cloexec, min, limit)
    }

    fn dup_to(&mut self, old: i64, new: i64, cloexec: bool, limit: usize) -> Result<Option<u32>, Errno> {
        let file = self.file(old)?;
        if new < 0 || new >= Self::cap(limit) {
            return Err(Errno::EBADF);
        }
        Ok(self.put(new, file, cloexec).map(|(f, _)| f))
    }

    pub fn dup2(&mut self, old: i64, new: i64, limit: usize) -> Result<Option<u32>, Errno> {
        if old == new {
            return self.file(old).map(|_| None);
        }
        self.dup_to(old, new, false, limit)
    }

    pub fn dup3(&mut self, old: i64, new: i64, flags: u32, limit: usize) -> Result<Option<u32>, Errno> {
        if old == new || flags & !O_CLOEXEC != 0 {
            return Err(Errno::EINVAL);
        }
        self.dup_to(old, new, flags & O_CLOEXEC != 0, limit)
    }

    pub fn set_cloexec(&mut self, fd: i64, cloexec: bool) -> Result<(), Errno> {
        self.open.get_mut(&fd).map(|e| e.1 = cloexec).ok_or(Errno::EBADF)
    }

    /// Removes the descriptors `closes` picks, returning their files by increasing descriptor.
    fn remove_if(&mut self, mut closes: impl FnMut(i64, bool) -> bool) -> Vec<u32> {
        let gone: Vec<i64> = self.open.iter().filter(|(&fd, &(_, c))| closes(fd, c)).map(|(&fd, _)| fd).collect();
        gone.iter().filter_map(|fd| self.open.remove(fd)).map(|(f, _)| f).collect()
    }

    pub fn exec(&mut self) -> Vec<u32> {
        self.remove_if(|_, cloexec| cloexec)
    }

    pub fn close_range(&mut self, first: i64, last: i64) -> Vec<u32> {
        self.remove_if(|fd, _| first <= fd && fd <= last)
    }

    pub fn cloexec_range(&mut self, first: i64, last: i64) {
        self.open.range_mut(first..=last.max(first)).filter(|(&fd, _)| fd <= last).for_each(|(_, e)| e.1 = true);
    }

    pub fn close_next(&mut self, first: i64, last: i64, only_cloexec: bool) -> Option<(usize, u32)> {
        let fd = self.open.iter().find(|(&fd, &(_, c))| first <= fd && fd <= last && (c || !only_cloexec)).map(|(&fd, _)| fd)?;
        self.open.remove(&fd).map(|(f, _)| (fd as usize, f))
    }
}
