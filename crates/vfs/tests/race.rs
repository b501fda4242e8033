//! Deterministic races between a lookup and a change of the same directory: a wrapper file
//! system runs a hook inside `Inode::lookup` (after the inode was found, before the namespace
//! caches it), and the hook changes the directory through the namespace. The dentry cache must
//! not keep the stale result. The wrapper also shows a file system other than tmpfs working
//! under the namespace.

use std::any::Any;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};

use exo_abi::mode::{S_IFDIR, S_IFREG};
use exo_abi::Errno;
use exo_vfs::*;

type HookFn = Box<dyn Fn(&Namespace, &[u8]) + Send + Sync>;

#[derive(Default)]
struct Hook {
    ns: OnceLock<Weak<Namespace>>,
    run: OnceLock<HookFn>,
    busy: AtomicBool,
}

impl Hook {
    fn fire(&self, name: &[u8]) {
        let (Some(ns), Some(run)) = (self.ns.get().and_then(Weak::upgrade), self.run.get()) else { return };
        if !self.busy.swap(true, Ordering::SeqCst) {
            run(&ns, name);
            self.busy.store(false, Ordering::SeqCst);
        }
    }
}

struct Wrapped {
    inner: Arc<dyn Inode>,
    hook: Arc<Hook>,
}

fn wrap(inner: Arc<dyn Inode>, hook: &Arc<Hook>) -> Arc<dyn Inode> {
    Arc::new(Wrapped { inner, hook: hook.clone() })
}

fn unwrap(inode: &Arc<dyn Inode>) -> Arc<dyn Inode> {
    inode.as_any().downcast_ref::<Wrapped>().map_or_else(|| inode.clone(), |w| w.inner.clone())
}

impl Inode for Wrapped {
    fn metadata(&self) -> Metadata {
        self.inner.metadata()
    }
    fn fs_id(&self) -> u64 {
        self.inner.fs_id()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>> {
        let found = self.inner.lookup(name).map(|i| wrap(i, &self.hook));
        self.hook.fire(name);
        found
    }
    fn create(&self, name: &[u8], mode: u32, uid: u32, gid: u32, rdev: u64) -> Result<Arc<dyn Inode>> {
        self.inner.create(name, mode, uid, gid, rdev).map(|i| wrap(i, &self.hook))
    }
    fn unlink(&self, name: &[u8]) -> Result<()> {
        self.inner.unlink(name)
    }
    fn rmdir(&self, name: &[u8]) -> Result<()> {
        self.inner.rmdir(name)
    }
    fn rename(&self, old: &[u8], new_dir: &Arc<dyn Inode>, new: &[u8], flags: u32) -> Result<()> {
        self.inner.rename(old, &unwrap(new_dir), new, flags)
    }
    fn read_dir(&self, cursor: u64, emit: &mut dyn FnMut(DirEntry) -> bool) -> Result<()> {
        self.inner.read_dir(cursor, emit)
    }
}

struct WrappedFs {
    inner: Arc<TmpFs>,
    hook: Arc<Hook>,
}

impl FileSystem for WrappedFs {
    fn root(&self) -> Arc<dyn Inode> {
        wrap(self.inner.root(), &self.hook)
    }
    fn name(&self) -> &str {
        "wrapped"
    }
    fn magic(&self) -> u64 {
        1
    }
    fn id(&self) -> u64 {
        self.inner.id()
    }
    fn statfs(&self) -> StatFs {
        self.inner.statfs()
    }
}

/// A namespace over the wrapper, the raw tmpfs root, and the hook to arm.
fn setup(run: HookFn) -> (Arc<Namespace>, Arc<dyn Inode>, Arc<Hook>) {
    let tmp = TmpFs::new(1, TmpFsOptions::default());
    let hook = Arc::new(Hook::default());
    let ns = Arc::new(Namespace::new(Arc::new(WrappedFs { inner: tmp.clone(), hook: hook.clone() })));
    let _ = hook.ns.set(Arc::downgrade(&ns));
    let _ = hook.run.set(run);
    (ns, tmp.root(), hook)
}

fn root_ctx(ns: &Namespace) -> Lookup {
    Lookup::new(ns.root(), ns.root(), Cred::root())
}

#[test]
fn a_name_removed_during_its_lookup_is_not_cached() {
    let fired = Arc::new(AtomicUsize::new(0));
    let f = fired.clone();
    let (ns, raw_root, _hook) = setup(Box::new(move |ns, name| {
        if name == b"x" && f.fetch_add(1, Ordering::SeqCst) == 0 {
            ns.unlink(&root_ctx(ns), b"/x").unwrap();
        }
    }));
    // Created behind the cache, so the first resolution has to ask the inode.
    raw_root.create(b"x", S_IFREG | 0o644, 0, 0, 0).unwrap();
    let ctx = root_ctx(&ns);
    let first = ns.resolve(&ctx, b"/x");
    assert!(fired.load(Ordering::SeqCst) >= 1, "the hook ran");
    assert_eq!(first.err(), Some(Errno::ENOENT), "the lookup retried after the change");
    assert_eq!(ns.resolve(&ctx, b"/x").err(), Some(Errno::ENOENT), "no stale dentry was cached");
}

#[test]
fn a_name_renamed_during_its_lookup_is_not_cached_under_the_old_name() {
    let (ns, raw_root, _hook) = setup(Box::new(|ns, name| {
        if name == b"d" {
            let ctx = root_ctx(ns);
            let _ = ns.rename(&ctx, b"/d", &ctx, b"/e", 0);
        }
    }));
    raw_root.create(b"d", S_IFDIR | 0o755, 0, 0, 0).unwrap();
    let ctx = root_ctx(&ns);
    assert_eq!(ns.resolve(&ctx, b"/d/").err(), Some(Errno::ENOENT));
    assert_eq!(ns.resolve(&ctx, b"/d").err(), Some(Errno::ENOENT));
    let e = ns.resolve(&ctx, b"/e").unwrap();
    assert_eq!(ns.path_of(&e, &ns.root()), b"/e");
}

#[test]
fn a_directory_that_keeps_changing_still_answers() {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let (ns, raw_root, _hook) = setup(Box::new(move |ns, name| {
        if name == b"x" {
            let n = c.fetch_add(1, Ordering::SeqCst);
            ns.mkdir(&root_ctx(ns), format!("/other{n}").as_bytes(), 0o755).unwrap();
        }
    }));
    raw_root.create(b"x", S_IFREG | 0o644, 0, 0, 0).unwrap();
    let ctx = root_ctx(&ns);
    let x = ns.resolve(&ctx, b"/x").unwrap();
    assert_eq!(x.metadata().file_type(), S_IFREG);
    assert!(count.load(Ordering::SeqCst) >= 4, "every attempt raced; the answer is given uncached");
    assert_eq!(ns.resolve(&ctx, b"/x").unwrap().metadata().ino, x.metadata().ino);
    assert_eq!(ns.mounts()[0].fs_name, "wrapped");
}
