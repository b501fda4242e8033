//! Model test: random sequences of create/mkdir/unlink/rmdir/rename/write/truncate through the
//! namespace on a tmpfs, compared step by step (results and errnos) with a plain map of paths,
//! and the final trees compared entry by entry (types, contents, link counts).

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::*;
use exo_abi::Errno;
use exo_vfs::*;
use proptest::prelude::*;

type Key = Vec<u8>; // component names, one byte each

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Dir,
    File(Vec<u8>),
}

#[derive(Clone, Debug)]
enum Op {
    Create(Key),
    Mkdir(Key),
    Unlink(Key),
    Rmdir(Key),
    Rename(Key, Key, u32),
    Write(Key, u16, Vec<u8>),
    Truncate(Key, u16),
}

fn key() -> impl Strategy<Value = Key> {
    let name = || prop::sample::select(vec![b'a', b'b', b'c']);
    prop_oneof![
        3 => prop::collection::vec(name(), 1..=1),
        3 => prop::collection::vec(name(), 2..=2),
        2 => prop::collection::vec(name(), 3..=3),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => key().prop_map(Op::Create),
        3 => key().prop_map(Op::Mkdir),
        2 => key().prop_map(Op::Unlink),
        2 => key().prop_map(Op::Rmdir),
        3 => (key(), key(), prop::sample::select(vec![0, 0, RENAME_NOREPLACE, RENAME_EXCHANGE]))
            .prop_map(|(a, b, f)| Op::Rename(a, b, f)),
        2 => (key(), 0u16..9000, prop::collection::vec(any::<u8>(), 0..300)).prop_map(|(k, o, d)| Op::Write(k, o, d)),
        1 => (key(), 0u16..9000).prop_map(|(k, l)| Op::Truncate(k, l)),
    ]
}

fn path(k: &[u8]) -> Vec<u8> {
    k.iter().flat_map(|&c| [b'/', c]).collect()
}

#[derive(Default)]
struct Model {
    nodes: BTreeMap<Key, Node>,
}

impl Model {
    fn get(&self, k: &[u8]) -> Option<&Node> {
        if k.is_empty() {
            Some(&Node::Dir)
        } else {
            self.nodes.get(k)
        }
    }

    /// Errors of walking to the parent of `k`.
    fn parent(&self, k: &[u8]) -> Result<()> {
        for i in 1..k.len() {
            match self.get(&k[..i]) {
                None => return Err(Errno::ENOENT),
                Some(Node::File(_)) => return Err(Errno::ENOTDIR),
                Some(Node::Dir) => {}
            }
        }
        Ok(())
    }

    fn has_children(&self, k: &[u8]) -> bool {
        self.nodes.keys().any(|o| o.len() == k.len() + 1 && o.starts_with(k))
    }

    fn file(&mut self, k: &[u8]) -> Result<&mut Vec<u8>> {
        self.parent(k)?;
        match self.nodes.get_mut(k) {
            None => Err(Errno::ENOENT),
            Some(Node::Dir) => Err(Errno::EISDIR),
            Some(Node::File(data)) => Ok(data),
        }
    }

    /// Removes the subtree at `k`, returned with keys relative to `k`.
    fn take(&mut self, k: &[u8]) -> Vec<(Key, Node)> {
        let keys: Vec<Key> = self.nodes.keys().filter(|o| o.starts_with(k)).cloned().collect();
        keys.into_iter().map(|o| (o[k.len()..].to_vec(), self.nodes.remove(&o).unwrap())).collect()
    }

    fn put(&mut self, k: &[u8], subtree: Vec<(Key, Node)>) {
        for (rel, node) in subtree {
            self.nodes.insert([k, &rel].concat(), node);
        }
    }

    fn apply(&mut self, op: &Op) -> Result<usize> {
        match op {
            Op::Create(k) | Op::Mkdir(k) => {
                self.parent(k)?;
                if self.get(k).is_some() {
                    return Err(Errno::EEXIST);
                }
                let node = if matches!(op, Op::Mkdir(_)) { Node::Dir } else { Node::File(Vec::new()) };
                self.nodes.insert(k.clone(), node);
            }
            Op::Unlink(k) => {
                self.parent(k)?;
                match self.get(k) {
                    None => return Err(Errno::ENOENT),
                    Some(Node::Dir) => return Err(Errno::EISDIR),
                    Some(Node::File(_)) => {
                        self.nodes.remove(k);
                    }
                }
            }
            Op::Rmdir(k) => {
                self.parent(k)?;
                match self.get(k) {
                    None => return Err(Errno::ENOENT),
                    Some(Node::File(_)) => return Err(Errno::ENOTDIR),
                    Some(Node::Dir) if self.has_children(k) => return Err(Errno::ENOTEMPTY),
                    Some(Node::Dir) => {
                        self.nodes.remove(k);
                    }
                }
            }
            Op::Write(k, offset, data) => {
                let file = self.file(k)?;
                if !data.is_empty() {
                    let end = *offset as usize + data.len();
                    if file.len() < end {
                        file.resize(end, 0);
                    }
                    file[*offset as usize..end].copy_from_slice(data);
                }
                return Ok(data.len());
            }
            Op::Truncate(k, len) => self.file(k)?.resize(*len as usize, 0),
            Op::Rename(old, new, flags) => return self.rename(old, new, *flags).map(|_| 0),
        }
        Ok(0)
    }

    fn rename(&mut self, old: &[u8], new: &[u8], flags: u32) -> Result<()> {
        self.parent(old)?;
        self.parent(new)?;
        let src_dir = match self.get(old) {
            None => return Err(Errno::ENOENT),
            Some(n) => *n == Node::Dir,
        };
        let tgt_dir = self.get(new).map(|n| *n == Node::Dir);
        let exchange = flags == RENAME_EXCHANGE;
        if flags == RENAME_NOREPLACE && tgt_dir.is_some() {
            return Err(Errno::EEXIST);
        }
        if exchange && tgt_dir.is_none() {
            return Err(Errno::ENOENT);
        }
        if new[..new.len() - 1].starts_with(old) {
            return Err(Errno::EINVAL);
        }
        if tgt_dir.is_some() && old[..old.len() - 1].starts_with(new) {
            return Err(if exchange { Errno::EINVAL } else { Errno::ENOTEMPTY });
        }
        if old == new {
            return Ok(());
        }
        if let (Some(t), false) = (tgt_dir, exchange) {
            match (src_dir, t) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                (true, true) if self.has_children(new) => return Err(Errno::ENOTEMPTY),
                _ => {}
            }
        }
        let moved = self.take(old);
        let replaced = self.take(new);
        self.put(new, moved);
        if exchange {
            self.put(old, replaced);
        }
        Ok(())
    }
}

fn run(e: &Env, op: &Op) -> Result<usize> {
    let r = e.root();
    match op {
        Op::Create(k) => e.ns.create(&r, &path(k), 0o644, true).map(|_| 0),
        Op::Mkdir(k) => e.ns.mkdir(&r, &path(k), 0o755).map(|_| 0),
        Op::Unlink(k) => e.ns.unlink(&r, &path(k)).map(|_| 0),
        Op::Rmdir(k) => e.ns.rmdir(&r, &path(k)).map(|_| 0),
        Op::Rename(a, b, f) => e.ns.rename(&r, &path(a), &r, &path(b), *f).map(|_| 0),
        Op::Write(k, off, data) => e.ns.resolve(&r, &path(k))?.inode().write_at(*off as u64, data),
        Op::Truncate(k, len) => e.ns.resolve(&r, &path(k))?.inode().truncate(*len as u64).map(|_| 0),
    }
}

/// The real tree, read through the inodes (not the dentry cache), checking link counts.
fn snapshot(dir: &Arc<dyn Inode>, prefix: &[u8], out: &mut BTreeMap<Key, Node>) {
    let mut names = Vec::new();
    dir.read_dir(0, &mut |e| {
        names.push(e.name);
        true
    })
    .unwrap();
    let mut subdirs = 0;
    for name in names.into_iter().filter(|n| n != b"." && n != b"..") {
        assert_eq!(name.len(), 1);
        let key = [prefix, &name].concat();
        let child = dir.lookup(&name).unwrap();
        let m = child.metadata();
        if m.is_dir() {
            subdirs += 1;
            out.insert(key.clone(), Node::Dir);
            snapshot(&child, &key, out);
        } else {
            assert_eq!(m.nlink, 1);
            out.insert(key, Node::File(read_all(&child)));
        }
    }
    assert_eq!(dir.metadata().nlink, 2 + subdirs, "directory link count at {prefix:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn tmpfs_matches_the_model(ops in prop::collection::vec(op(), 1..120)) {
        let e = env();
        let mut model = Model::default();
        for (i, op) in ops.iter().enumerate() {
            let want = model.apply(op);
            let got = run(&e, op);
            prop_assert_eq!(got, want, "step {}: {:?}", i, op);
        }
        let mut real = BTreeMap::new();
        snapshot(&e.fs.root(), b"", &mut real);
        prop_assert_eq!(&real, &model.nodes);
        // The namespace (dentry cache) agrees with the inodes for every path.
        for (k, node) in &model.nodes {
            let p = e.ns.resolve(&e.root(), &path(k)).unwrap();
            prop_assert_eq!(p.metadata().is_dir(), *node == Node::Dir);
            prop_assert_eq!(e.ns.path_of(&p, &e.ns.root()), path(k));
        }
    }
}
