//! Property tests of the lookup and listing fast paths: (1) the dentry cache, with its kept-alive
//! recent dentries, answers every lookup exactly as an uncached walk of the inodes does, across
//! random create/mkdir/unlink/rmdir/rename/mount/umount sequences; (2) `read_dirents` (tmpfs's
//! listing image) returns the same records as encoding `read_dir`'s entries, whatever the
//! changes between listings and the buffer sizes used to page through them.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::*;
use exo_abi::types::{dirent64_len, write_dirent64};
use exo_abi::Errno;
use exo_vfs::*;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Create(Vec<u8>),
    Mkdir(Vec<u8>),
    Unlink(Vec<u8>),
    Rmdir(Vec<u8>),
    Rename(Vec<u8>, Vec<u8>),
    Mount(Vec<u8>),
    Umount(Vec<u8>),
    Lookup(Vec<u8>),
}

fn path() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(vec![b'a', b'b', b'c']), 1..=3)
        .prop_map(|k| k.iter().flat_map(|&c| [b'/', c]).collect())
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => path().prop_map(Op::Create),
        3 => path().prop_map(Op::Mkdir),
        2 => path().prop_map(Op::Unlink),
        2 => path().prop_map(Op::Rmdir),
        3 => (path(), path()).prop_map(|(a, b)| Op::Rename(a, b)),
        1 => path().prop_map(Op::Mount),
        1 => path().prop_map(Op::Umount),
        3 => path().prop_map(Op::Lookup),
    ]
}

/// Every path of one to three components.
fn all_paths() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut layer: Vec<Vec<u8>> = vec![Vec::new()];
    for _ in 0..3 {
        layer = layer.iter().flat_map(|p| [b'a', b'b', b'c'].map(|c| [p.as_slice(), &[b'/', c]].concat())).collect();
        out.extend(layer.iter().cloned());
    }
    out
}

/// Mounts by covered directory (fs id, ino) → stack of mounted file systems.
type Mounts = BTreeMap<(u64, u64), Vec<Arc<TmpFs>>>;

fn cross(mut inode: Arc<dyn Inode>, mounts: &Mounts) -> Arc<dyn Inode> {
    while let Some(top) = mounts.get(&(inode.fs_id(), inode.metadata().ino)).and_then(|s| s.last()) {
        inode = top.root();
    }
    inode
}

/// The uncached answer: a walk of the inodes themselves, crossing the recorded mounts.
fn reference(root: Arc<dyn Inode>, mounts: &Mounts, path: &[u8]) -> Result<(u64, u64)> {
    let mut cur = cross(root, mounts);
    for name in path.split(|&c| c == b'/').filter(|n| !n.is_empty()) {
        if !cur.metadata().is_dir() {
            return Err(Errno::ENOTDIR);
        }
        cur = cross(cur.lookup(name)?, mounts);
    }
    Ok((cur.fs_id(), cur.metadata().ino))
}

fn cached(e: &Env, path: &[u8]) -> Result<(u64, u64)> {
    e.ns.resolve(&e.root(), path).map(|p| (p.inode().fs_id(), p.metadata().ino))
}

fn apply(e: &Env, mounts: &mut Mounts, next_fs: &mut u64, op: &Op) {
    let r = e.root();
    match op {
        Op::Create(p) => drop(e.ns.create(&r, p, 0o644, false)),
        Op::Mkdir(p) => drop(e.ns.mkdir(&r, p, 0o755)),
        Op::Unlink(p) => drop(e.ns.unlink(&r, p)),
        Op::Rmdir(p) => drop(e.ns.rmdir(&r, p)),
        Op::Rename(a, b) => drop(e.ns.rename(&r, a, &r, b, 0)),
        Op::Lookup(p) => drop(e.ns.resolve(&r, p)),
        Op::Mount(p) => {
            let Ok(at) = e.ns.resolve(&r, p) else { return };
            let covered = (at.inode().fs_id(), at.metadata().ino);
            *next_fs += 1;
            let fs = other_fs(*next_fs);
            if e.ns.mount(&at, fs.clone(), 0).is_ok() {
                mounts.entry(covered).or_default().push(fs);
            }
        }
        Op::Umount(p) => {
            let Ok(at) = e.ns.resolve(&r, p) else { return };
            let id = at.inode().fs_id();
            if e.ns.umount(&at).is_ok() {
                for stack in mounts.values_mut() {
                    if stack.last().is_some_and(|fs| fs.id() == id) {
                        stack.pop();
                    }
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn cached_lookups_match_uncached_walks(ops in prop::collection::vec(op(), 1..48)) {
        let e = env();
        let paths = all_paths();
        let mut mounts = Mounts::new();
        let mut next_fs = 100;
        for op in &ops {
            apply(&e, &mut mounts, &mut next_fs, op);
            for p in &paths {
                let root = e.ns.root().inode().clone();
                prop_assert_eq!(cached(&e, p), reference(root, &mounts, p), "{:?} after {:?}", String::from_utf8_lossy(p), op);
            }
        }
    }
}

/// The records `read_dir`'s entries encode to, from cursor 0.
fn expected_records(dir: &Arc<dyn Inode>) -> Vec<u8> {
    let mut out = Vec::new();
    dir.read_dir(0, &mut |e| {
        let start = out.len();
        out.resize(start + dirent64_len(e.name.len()), 0);
        write_dirent64(&mut out[start..], e.ino, e.next_cursor as i64, e.kind, &e.name).unwrap();
        true
    })
    .unwrap();
    out
}

/// Pages through the listing with `read_dirents` and buffers of the given sizes (cycled).
fn paged_records(dir: &Arc<dyn Inode>, sizes: &[usize]) -> Vec<u8> {
    let mut all = Vec::new();
    let mut cursor = 0;
    for &space in sizes.iter().cycle().take(10_000) {
        let mut out = Vec::new();
        let (next, full) = dir.read_dirents(cursor, &mut out, space).unwrap();
        assert!(out.len() <= space);
        if out.is_empty() {
            if full {
                continue; // the next record needs a larger buffer
            }
            return all;
        }
        all.extend_from_slice(&out);
        cursor = next;
    }
    panic!("listing did not end");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn listings_match_read_dir(
        steps in prop::collection::vec((prop::collection::vec((0u8..3, 0u8..40, 0u8..40), 0..12), prop::collection::vec(1usize..200, 1..4)), 1..8)
    ) {
        let e = env();
        let r = e.root();
        e.ns.mkdir(&r, b"/d", 0o755).unwrap();
        let dir = e.ns.resolve(&r, b"/d").unwrap().inode().clone();
        let name = |n: u8| {
            let mut p = b"/d/".to_vec();
            p.extend(std::iter::repeat(b'a' + n % 26).take(1 + usize::from(n) % 17));
            p
        };
        for (changes, sizes) in &steps {
            for &(kind, a, b) in changes {
                let _ = match kind {
                    0 => e.ns.create(&r, &name(a), 0o644, false).map(drop),
                    1 => e.ns.unlink(&r, &name(a)),
                    _ => e.ns.rename(&r, &name(a), &r, &name(b), 0),
                };
            }
            let want = expected_records(&dir);
            prop_assert_eq!(paged_records(&dir, &[usize::MAX >> 1]), want.clone());
            let mut sizes = sizes.clone();
            sizes.push(64); // room for any record here, so the paging always progresses
            prop_assert_eq!(paged_records(&dir, &sizes), want);
        }
    }
}
