//! Concurrency: several threads create, rename, remove, look up and list in the same
//! directories at once. Nothing may deadlock, and afterwards the dentry cache must agree with
//! the inodes for every name, and link counts must be right.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::*;
use exo_vfs::*;

/// A tiny deterministic generator (xorshift), one per thread.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const NAMES: [&str; 12] = [
    "/d1/a", "/d1/b", "/d1/c", "/d2/a", "/d2/b", "/d2/c", "/d1/s/a", "/d2/s/b", "/d1/s", "/d2/s", "/d1/t", "/d2/t",
];

#[test]
fn concurrent_changes_keep_the_cache_coherent() {
    let e = Arc::new(env());
    e.mkdir("/d1");
    e.mkdir("/d2");
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for t in 0..6u64 {
        let (e, stop) = (e.clone(), stop.clone());
        workers.push(thread::spawn(move || {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (t + 1) * 0x1234_5678);
            let r = e.root();
            let mut ops = 0u64;
            while !stop.load(Ordering::Relaxed) || ops < 2000 {
                ops += 1;
                let a = rng.pick(&NAMES).as_bytes();
                let b = rng.pick(&NAMES).as_bytes();
                let _ = match rng.next() % 9 {
                    0 => e.ns.mkdir(&r, a, 0o755).map(|_| ()),
                    1 => e.ns.create(&r, a, 0o644, false).map(|_| ()),
                    2 => e.ns.unlink(&r, a),
                    3 => e.ns.rmdir(&r, a),
                    4 => e.ns.rename(&r, a, &r, b, 0),
                    5 => e.ns.rename(&r, a, &r, b, RENAME_EXCHANGE),
                    6 => e.ns.link(&r, a, &r, b),
                    7 => e.ns.resolve(&r, a).map(|p| {
                        let _ = e.ns.path_of(&p, &e.ns.root());
                    }),
                    _ => e.ns.resolve(&r, b"/d1").and_then(|d| d.inode().read_dir(0, &mut |_| true)),
                };
            }
        }));
    }
    thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    // Every name the inodes know resolves through the namespace to the same inode, and
    // every held path_of round-trips.
    let mut stack = vec![("/".to_string(), e.fs.root())];
    while let Some((dir, inode)) = stack.pop() {
        let mut entries = Vec::new();
        inode
            .read_dir(0, &mut |ent| {
                entries.push(ent);
                true
            })
            .unwrap();
        let mut subdirs = 0;
        for ent in entries.into_iter().filter(|x| x.name != b"." && x.name != b"..") {
            let name = String::from_utf8(ent.name.clone()).unwrap();
            let path = if dir == "/" { format!("/{name}") } else { format!("{dir}/{name}") };
            let p = e.ns.resolve(&e.root(), path.as_bytes()).unwrap();
            assert_eq!(p.metadata().ino, ent.ino, "{path}: cache disagrees with the directory");
            assert_eq!(path_str(e.ns.path_of(&p, &e.ns.root())), path);
            let child = inode.lookup(&ent.name).unwrap();
            if child.metadata().is_dir() {
                subdirs += 1;
                stack.push((path, child));
            }
        }
        assert_eq!(inode.metadata().nlink, 2 + subdirs, "{dir}");
    }
    for name in NAMES {
        if e.ns.resolve(&e.root(), name.as_bytes()).is_ok() {
            let (dir, last) = name.rsplit_once('/').unwrap();
            let parent = e.get(if dir.is_empty() { "/" } else { dir });
            assert!(parent.inode().lookup(last.as_bytes()).is_ok(), "{name} is cached but gone");
        }
    }
}
