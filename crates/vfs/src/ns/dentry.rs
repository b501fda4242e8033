//! Dentries: the namespace's view of a directory tree. A [`Dentry`] names one inode within its
//! parent; it keeps a cache of its children (weak references, so unreferenced dentries die and
//! are re-created from the inode on the next lookup) and a generation counter that lets
//! lock-free lookups refuse to cache a result that raced with a change of the directory.
//!
//! A dentry holds its parent strongly and its children weakly, so there are no cycles; dropping
//! a long chain releases ancestors iteratively. The state mutex is a leaf lock: nothing else is
//! acquired while it is held, and dropping a dentry takes no lock.

use hashbrown::HashMap;

use super::namehash::NameHash;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use exo_abi::mode::{S_IFDIR, S_IFLNK};
use exo_abi::Errno;
use spin::Mutex;

use super::recent::Recent;
use crate::inode::{Inode, Result};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
/// Attempts before a lookup that keeps racing with changes returns an uncached dentry.
const LOOKUP_TRIES: usize = 4;

struct State {
    name: Vec<u8>,
    parent: Option<Arc<Dentry>>,
    /// Child name → dentry, hashed with a secret key (`namehash.rs`): O(1) lookups in
    /// directories of thousands of names.
    children: HashMap<Vec<u8>, Weak<Dentry>, NameHash>,
    /// Cache size at which dead weak entries are swept next.
    sweep_at: usize,
    /// Bumped before and after every change of this directory made through the namespace.
    generation: u64,
    /// The name was removed (unlink, rmdir, replaced by rename).
    deleted: bool,
}

/// One name in the namespace.
pub struct Dentry {
    id: u64,
    inode: Arc<dyn Inode>,
    ftype: u32,
    /// Mounts stacked directly on this dentry.
    pub(crate) mounted: AtomicU32,
    /// Set by a cache hit; the keep-alive set's second chance (see `recent.rs`).
    pub(crate) referenced: AtomicBool,
    /// This dentry's slot in the keep-alive set (`recent::NO_SLOT` if none); changed only
    /// under the set's lock.
    pub(crate) recent_slot: AtomicUsize,
    /// The inode is a directory whose names change only through the namespace, so its
    /// children may be kept alive ([`Inode::names_stable`]).
    keep_children: bool,
    state: Mutex<State>,
}

impl Dentry {
    /// Whether this directory's children may be kept alive (see `recent.rs`).
    pub(crate) fn keeps_children(&self) -> bool {
        self.keep_children
    }

    fn build(name: Vec<u8>, parent: Option<Arc<Dentry>>, inode: Arc<dyn Inode>) -> Arc<Dentry> {
        let ftype = inode.file_type();
        let keep_children = ftype == S_IFDIR && inode.names_stable();
        Arc::new(Dentry {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            inode,
            ftype,
            mounted: AtomicU32::new(0),
            referenced: AtomicBool::new(false),
            recent_slot: AtomicUsize::new(super::recent::NO_SLOT),
            keep_children,
            state: Mutex::new(State {
                name,
                parent,
                children: HashMap::with_hasher(NameHash::new()),
                sweep_at: 16,
                generation: 0,
                deleted: false,
            }),
        })
    }

    /// The root dentry of a mounted file system.
    pub(crate) fn new_root(inode: Arc<dyn Inode>) -> Arc<Dentry> {
        Dentry::build(b"/".to_vec(), None, inode)
    }

    /// Unique id (from a global 64-bit counter; never reused).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The inode this dentry names.
    pub fn inode(&self) -> &Arc<dyn Inode> {
        &self.inode
    }

    /// The name within the parent (`/` for a file system's root).
    pub fn name(&self) -> Vec<u8> {
        self.state.lock().name.clone()
    }

    /// The parent dentry; `None` for a file system's root.
    pub fn parent(&self) -> Option<Arc<Dentry>> {
        self.state.lock().parent.clone()
    }

    /// Whether the name was removed (the inode may live on through open files).
    pub fn is_deleted(&self) -> bool {
        self.state.lock().deleted
    }

    /// Whether the inode is a directory.
    pub fn is_dir(&self) -> bool {
        self.ftype == S_IFDIR
    }

    /// Whether the inode is a symbolic link.
    pub fn is_symlink(&self) -> bool {
        self.ftype == S_IFLNK
    }

    /// Whether `self` is `ancestor` or a descendant of it (same file system tree).
    pub fn is_within(self: &Arc<Self>, ancestor: &Arc<Dentry>) -> bool {
        let mut cur = self.clone();
        loop {
            if Arc::ptr_eq(&cur, ancestor) {
                return true;
            }
            match cur.parent() {
                Some(p) => cur = p,
                None => return false,
            }
        }
    }

    /// The child `name`: from the cache, or from the inode (and then cached unless the directory
    /// changed meanwhile, and kept alive in `recent` if this directory allows it). `name` must
    /// be a normal component (not `.` or `..`).
    pub(crate) fn lookup_child(self: &Arc<Self>, name: &[u8], recent: &Recent) -> Result<Arc<Dentry>> {
        for _ in 0..LOOKUP_TRIES {
            let generation = {
                let st = self.state.lock();
                if let Some(child) = st.children.get(name).and_then(Weak::upgrade) {
                    drop(st);
                    if !child.referenced.load(Ordering::Relaxed) {
                        child.referenced.store(true, Ordering::Relaxed);
                    }
                    return Ok(child);
                }
                st.generation
            };
            let inode = self.inode.lookup(name)?;
            let fresh = Dentry::build(name.to_vec(), Some(self.clone()), inode);
            let mut st = self.state.lock();
            if st.generation == generation {
                if let Some(child) = st.children.get(name).and_then(Weak::upgrade) {
                    return Ok(child);
                }
                st.insert(name, &fresh);
                drop(st);
                if self.keep_children {
                    recent.keep(&fresh);
                }
                return Ok(fresh);
            }
        }
        // The directory keeps changing under us: answer without caching.
        let inode = self.inode.lookup(name)?;
        Ok(Dentry::build(name.to_vec(), Some(self.clone()), inode))
    }

    /// Marks the start or end of a change of this directory (see the module docs).
    pub(crate) fn bump(&self) {
        let mut st = self.state.lock();
        st.generation = st.generation.wrapping_add(1);
    }

    /// Caches a dentry for a child just created through the namespace and returns it.
    pub(crate) fn add_child(self: &Arc<Self>, name: &[u8], inode: Arc<dyn Inode>) -> Arc<Dentry> {
        let child = Dentry::build(name.to_vec(), Some(self.clone()), inode);
        let mut st = self.state.lock();
        st.insert(name, &child);
        st.generation = st.generation.wrapping_add(1);
        child
    }

    /// Drops `name` from the cache and marks `victim` deleted.
    pub(crate) fn remove_child(&self, name: &[u8], victim: &Dentry) {
        {
            let mut st = self.state.lock();
            st.children.remove(name);
            st.generation = st.generation.wrapping_add(1);
        }
        victim.state.lock().deleted = true;
    }

    /// Moves `child` (cached as `old_name` in `self`) to `new_name` in `new_parent`.
    pub(crate) fn move_child(self: &Arc<Self>, old_name: &[u8], child: &Arc<Dentry>, new_parent: &Arc<Dentry>, new_name: &[u8]) {
        {
            let mut st = self.state.lock();
            if st.children.get(old_name).is_some_and(|w| Weak::ptr_eq(w, &Arc::downgrade(child))) {
                st.children.remove(old_name);
            }
            st.generation = st.generation.wrapping_add(1);
        }
        let old_parent = {
            let mut cs = child.state.lock();
            cs.name = new_name.to_vec();
            cs.parent.replace(new_parent.clone())
        };
        drop(old_parent);
        let mut st = new_parent.state.lock();
        st.insert(new_name, child);
        st.generation = st.generation.wrapping_add(1);
    }
}

impl State {
    fn insert(&mut self, name: &[u8], child: &Arc<Dentry>) {
        if self.children.len() >= self.sweep_at {
            self.children.retain(|_, w| w.strong_count() > 0);
            self.sweep_at = (self.children.len() * 2).max(16);
        }
        self.children.insert(name.to_vec(), Arc::downgrade(child));
    }
}

impl Drop for Dentry {
    fn drop(&mut self) {
        // Release the ancestors one by one instead of recursively.
        let mut parent = self.state.get_mut().parent.take();
        while let Some(p) = parent {
            parent = match Arc::into_inner(p) {
                Some(mut d) => d.state.get_mut().parent.take(),
                None => None,
            };
        }
    }
}

/// `ENOENT`-free helper for callers that treat "absent" as a value.
pub(crate) fn optional(r: Result<Arc<Dentry>>) -> Result<Option<Arc<Dentry>>> {
    match r {
        Ok(d) => Ok(Some(d)),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}
