//! Helpers shared by the integration tests: a namespace over a fresh tmpfs, lookup contexts for
//! root and ordinary users, a settable clock, and shorthands for common file operations.
#![allow(dead_code)]

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use exo_abi::Errno;
use exo_vfs::*;

/// A clock the test moves by hand (seconds).
pub struct TestClock(pub AtomicI64);

impl TestClock {
    pub fn set(&self, sec: i64) {
        self.0.store(sec, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> Time {
        Time::new(self.0.load(Ordering::SeqCst), 0)
    }
}

pub struct Env {
    pub fs: Arc<TmpFs>,
    pub ns: Namespace,
    pub clock: Arc<TestClock>,
}

impl Env {
    pub fn root(&self) -> Lookup {
        Lookup::new(self.ns.root(), self.ns.root(), Cred::root())
    }

    pub fn user(&self, uid: u32, gid: u32) -> Lookup {
        Lookup::new(self.ns.root(), self.ns.root(), Cred::new(uid, gid, vec![]))
    }

    pub fn get(&self, path: &str) -> PathRef {
        self.ns.resolve(&self.root(), path.as_bytes()).unwrap_or_else(|e| panic!("resolve {path}: {e:?}"))
    }

    pub fn mkdir(&self, path: &str) -> PathRef {
        self.ns.mkdir(&self.root(), path.as_bytes(), 0o755).unwrap_or_else(|e| panic!("mkdir {path}: {e:?}"))
    }

    pub fn write(&self, path: &str, data: &[u8]) -> PathRef {
        let (p, _) = self.ns.create(&self.root(), path.as_bytes(), 0o644, false).unwrap_or_else(|e| panic!("create {path}: {e:?}"));
        p.inode().truncate(0).unwrap();
        assert_eq!(p.inode().write_at(0, data), Ok(data.len()));
        p
    }

    pub fn symlink(&self, target: &str, path: &str) -> PathRef {
        self.ns.symlink(&self.root(), target.as_bytes(), path.as_bytes()).unwrap_or_else(|e| panic!("symlink {path}: {e:?}"))
    }

    pub fn chmod(&self, path: &str, mode: u32) {
        self.get(path).inode().set_attr(&SetAttr { mode: Some(mode), ..SetAttr::default() }).unwrap();
    }

    pub fn chown(&self, path: &str, uid: u32, gid: u32) {
        self.get(path).inode().set_attr(&SetAttr { uid: Some(uid), gid: Some(gid), ..SetAttr::default() }).unwrap();
    }

    pub fn exists(&self, path: &str) -> bool {
        self.ns.resolve(&self.root().follow(false), path.as_bytes()).is_ok()
    }

    /// Names in a directory, without "." and "..", sorted.
    pub fn ls(&self, path: &str) -> Vec<String> {
        let mut names = list(self.get(path).inode());
        names.retain(|n| n != "." && n != "..");
        names.sort();
        names
    }
}

pub fn env() -> Env {
    env_with(TmpFsOptions::default())
}

pub fn env_with(mut options: TmpFsOptions) -> Env {
    let clock = Arc::new(TestClock(AtomicI64::new(1000)));
    options.clock = clock.clone();
    let fs = TmpFs::new(1, options);
    let ns = Namespace::new(fs.clone());
    Env { fs, ns, clock }
}

/// A second tmpfs with its own id.
pub fn other_fs(id: u64) -> Arc<TmpFs> {
    TmpFs::new(id, TmpFsOptions::default())
}

/// Every entry of a directory listing, in order, names only.
pub fn list(dir: &Arc<dyn Inode>) -> Vec<String> {
    let mut out = Vec::new();
    dir.read_dir(0, &mut |e| {
        out.push(String::from_utf8(e.name).unwrap());
        true
    })
    .unwrap();
    out
}

pub fn read_all(inode: &Arc<dyn Inode>) -> Vec<u8> {
    let size = inode.metadata().size as usize;
    let mut buf = vec![0u8; size];
    assert_eq!(inode.read_at(0, &mut buf), Ok(size));
    buf
}

/// The error of a result that must have failed.
pub fn err<T>(r: Result<T>) -> Errno {
    match r {
        Ok(_) => panic!("expected an error, got Ok"),
        Err(e) => e,
    }
}

pub fn path_str(p: Vec<u8>) -> String {
    String::from_utf8(p).unwrap()
}
