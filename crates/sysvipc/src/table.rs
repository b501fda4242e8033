//! One IPC family's objects by id and key (Linux's `ipc_ids`): `get` with IPC_PRIVATE,
//! IPC_CREAT and IPC_EXCL, ids `seq * 32768 + index` (a reused slot gets a new id), a bound on
//! the number of objects (ENOSPC), and the index walk of the `*_STAT` commands.

use alloc::vec::Vec;

use exo_abi::ipc::{IPC_CREAT, IPC_EXCL, IPC_PRIVATE};
use exo_abi::{Errno, KResult};

use crate::perm::{Cred, Perm};

/// Slots per sequence number: an id is `seq * SEQ_MULTIPLIER + index`.
pub const SEQ_MULTIPLIER: i32 = 32768;

/// An object and its permissions.
pub struct Entry<T> {
    pub perm: Perm,
    pub obj: T,
}

/// The objects of one family.
pub struct Table<T> {
    slots: Vec<Option<Entry<T>>>,
    used: usize,
    max: usize,
    next_seq: u16,
}

/// What `get` found.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    /// An existing object (its id), accessible as asked.
    Existing(i32),
    /// Nothing under that key (or IPC_PRIVATE) and IPC_CREAT given: the caller creates one.
    Create,
}

impl<T> Table<T> {
    /// An empty table of at most `max` objects (at most `SEQ_MULTIPLIER`).
    pub const fn new(max: usize) -> Table<T> {
        Table { slots: Vec::new(), used: 0, max, next_seq: 0 }
    }

    /// The look-up part of msgget/semget/shmget: ENOENT (no object, no IPC_CREAT), EEXIST
    /// (IPC_CREAT | IPC_EXCL and one exists), EACCES (the mode bits of `flags` not granted).
    /// `check` runs on an existing object before the permission check, as Linux's `more_checks` (semget's nsems,
    /// shmget's size).
    pub fn get(&self, key: i32, flags: u32, cred: &Cred, check: impl Fn(&T) -> KResult<()>) -> KResult<Found> {
        if key == IPC_PRIVATE {
            return Ok(Found::Create);
        }
        match self.find_key(key) {
            None if flags & IPC_CREAT != 0 => Ok(Found::Create),
            None => Err(Errno::ENOENT),
            Some(_) if flags & (IPC_CREAT | IPC_EXCL) == IPC_CREAT | IPC_EXCL => Err(Errno::EEXIST),
            Some(index) => {
                let entry = self.slots[index].as_ref().ok_or(Errno::ENOENT)?;
                check(&entry.obj)?;
                if !entry.perm.permits(cred, flags) {
                    return Err(Errno::EACCES);
                }
                Ok(Found::Existing(Self::id_of(index, entry.perm.seq)))
            }
        }
    }

    fn find_key(&self, key: i32) -> Option<usize> {
        self.slots.iter().position(|slot| slot.as_ref().is_some_and(|e| e.perm.key == key))
    }

    fn id_of(index: usize, seq: u16) -> i32 {
        i32::from(seq) * SEQ_MULTIPLIER + index as i32
    }

    /// Whether another object may be created (ENOSPC otherwise).
    pub fn has_room(&self) -> bool {
        self.used < self.max
    }

    /// Adds an object; returns its id. ENOSPC past the bound, ENOMEM.
    pub fn insert(&mut self, mut perm: Perm, obj: T) -> KResult<i32> {
        if !self.has_room() {
            return Err(Errno::ENOSPC);
        }
        let index = match self.slots.iter().position(Option::is_none) {
            Some(index) => index,
            None => {
                if self.slots.len() >= SEQ_MULTIPLIER as usize {
                    return Err(Errno::ENOSPC);
                }
                self.slots.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        perm.seq = self.next_seq;
        // Ids stay positive: the sequence wraps below 65536.
        self.next_seq = (self.next_seq + 1) % 0xffff;
        self.slots[index] = Some(Entry { perm, obj });
        self.used += 1;
        Ok(Self::id_of(index, perm.seq))
    }

    fn index_of(&self, id: i32) -> KResult<usize> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        let index = (id % SEQ_MULTIPLIER) as usize;
        let seq = id / SEQ_MULTIPLIER;
        match self.slots.get(index) {
            Some(Some(entry)) if i32::from(entry.perm.seq) == seq => Ok(index),
            _ => Err(Errno::EINVAL),
        }
    }

    /// The object `id` (EINVAL: no such id).
    pub fn get_id(&self, id: i32) -> KResult<&Entry<T>> {
        let index = self.index_of(id)?;
        self.slots[index].as_ref().ok_or(Errno::EINVAL)
    }

    /// The object `id`, to change (EINVAL: no such id).
    pub fn get_id_mut(&mut self, id: i32) -> KResult<&mut Entry<T>> {
        let index = self.index_of(id)?;
        self.slots[index].as_mut().ok_or(Errno::EINVAL)
    }

    /// The object in slot `index` with its id (the `*_STAT` commands; EINVAL if empty).
    pub fn at_index(&self, index: i32) -> KResult<(i32, &Entry<T>)> {
        let slot = usize::try_from(index).ok().and_then(|i| self.slots.get(i)).ok_or(Errno::EINVAL)?;
        let entry = slot.as_ref().ok_or(Errno::EINVAL)?;
        Ok((Self::id_of(index as usize, entry.perm.seq), entry))
    }

    /// Removes object `id` and returns it.
    pub fn remove(&mut self, id: i32) -> KResult<T> {
        let index = self.index_of(id)?;
        let entry = self.slots[index].take().ok_or(Errno::EINVAL)?;
        self.used -= 1;
        while self.slots.last().is_some_and(Option::is_none) {
            self.slots.pop();
        }
        Ok(entry.obj)
    }

    /// Removes the objects `keep` refuses (destroyed shared memory segments nobody maps).
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        for slot in &mut self.slots {
            if slot.as_ref().is_some_and(|e| !keep(&e.obj)) {
                *slot = None;
                self.used -= 1;
            }
        }
        while self.slots.last().is_some_and(Option::is_none) {
            self.slots.pop();
        }
    }

    /// The number of objects.
    pub fn len(&self) -> usize {
        self.used
    }

    /// Whether there is no object.
    pub fn is_empty(&self) -> bool {
        self.used == 0
    }

    /// The highest slot in use (IPC_INFO's result), 0 when empty.
    pub fn max_index(&self) -> usize {
        self.slots.len().saturating_sub(1)
    }

    /// Every object with its id.
    pub fn iter(&self) -> impl Iterator<Item = (i32, &Entry<T>)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| s.as_ref().map(|e| (Self::id_of(i, e.perm.seq), e)))
    }

    /// Every object, to change.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Entry<T>> {
        self.slots.iter_mut().filter_map(Option::as_mut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: Cred = Cred { euid: 1000, egid: 1000, groups: &[] };
    const YOU: Cred = Cred { euid: 2000, egid: 2000, groups: &[] };

    fn create(t: &mut Table<u32>, key: i32, flags: u32, cred: &Cred) -> KResult<i32> {
        match t.get(key, flags, cred, |_| Ok(()))? {
            Found::Existing(id) => Ok(id),
            Found::Create => t.insert(Perm::new(key, flags, cred), 7),
        }
    }

    #[test]
    fn get_rules() {
        let mut t = Table::new(4);
        assert_eq!(t.get(5, 0, &ME, |_| Ok(())), Err(Errno::ENOENT));
        let id = create(&mut t, 5, IPC_CREAT | 0o600, &ME).unwrap();
        assert_eq!(create(&mut t, 5, 0, &ME), Ok(id));
        assert_eq!(create(&mut t, 5, IPC_CREAT, &ME), Ok(id));
        assert_eq!(create(&mut t, 5, IPC_CREAT | IPC_EXCL, &ME), Err(Errno::EEXIST));
        assert_eq!(create(&mut t, 5, 0o400, &YOU), Err(Errno::EACCES));
        assert_eq!(create(&mut t, 5, 0, &YOU), Ok(id));
        let private = create(&mut t, IPC_PRIVATE, 0, &ME).unwrap();
        assert_ne!(private, id);
        assert_eq!(create(&mut t, IPC_PRIVATE, 0, &ME).map(|_| ()), Ok(()));
        assert_eq!(create(&mut t, IPC_PRIVATE, 0, &ME).map(|_| ()), Ok(()));
        assert_eq!(create(&mut t, IPC_PRIVATE, 0, &ME), Err(Errno::ENOSPC));
        assert_eq!(t.get(5, 0, &ME, |_| Err(Errno::EINVAL)), Err(Errno::EINVAL));
    }

    #[test]
    fn removed_ids_are_not_reused() {
        let mut t = Table::new(8);
        let a = create(&mut t, IPC_PRIVATE, 0, &ME).unwrap();
        assert_eq!(t.remove(a), Ok(7));
        assert!(t.get_id(a).is_err());
        let b = create(&mut t, IPC_PRIVATE, 0, &ME).unwrap();
        assert_ne!(a, b);
        assert_eq!(b % SEQ_MULTIPLIER, a % SEQ_MULTIPLIER);
        assert!(t.get_id(b).is_ok() && t.get_id(-1).is_err());
        assert_eq!(t.at_index(0).map(|(id, _)| id), Ok(b));
        assert_eq!(t.len(), 1);
        assert_eq!(t.remove(a), Err(Errno::EINVAL));
        t.retain(|_| false);
        assert!(t.is_empty() && t.get_id(b).is_err());
    }
}
