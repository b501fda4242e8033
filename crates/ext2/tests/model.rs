//! Random operation sequences applied to the volume (through the VFS namespace) and to a host
//! directory: every operation must succeed or fail on both, the trees must stay equal, and
//! `e2fsck -fn` must find the image clean at the end.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use common::*;
use exo_abi::mode::S_IFREG;
use exo_blockdev::MemDisk;
use exo_vfs::{FileSystem, Lookup, Namespace};


const DIRS: &[&str] = &["", "a/", "b/", "a/c/", "b/d/", "a/c/e/"];
const NAMES: &[&str] = &["a", "c", "d", "f1", "f2", "f3", "f4", "f5", "long-name-number-6", "long-name-number-7", "g8", "g9"];

fn path(r: &mut Rng) -> String {
    format!("{}{}", r.pick(DIRS), r.pick(NAMES))
}

fn compare(fs: &Arc<exo_ext2::Ext2Fs>, host: &Path, step: usize) {
    let mut want = BTreeMap::new();
    walk_host(host, "", &mut want);
    let mut got = BTreeMap::new();
    walk_fs(&fs.root(), "", &mut got);
    let strip = |m: &mut BTreeMap<String, Node>| {
        for v in m.values_mut() {
            if let Node::File { mtime, .. } = v {
                *mtime = 0;
            }
        }
    };
    strip(&mut want);
    strip(&mut got);
    assert_eq!(want.keys().collect::<Vec<_>>(), got.keys().collect::<Vec<_>>(), "step {step}");
    for (k, v) in &want {
        assert!(Some(v) == got.get(k), "{k} differs at step {step}");
    }
}

fn run(seed: u64, args: &[&str], steps: usize) -> usize {
    let host = scratch("model");
    let disk = Arc::new(MemDisk::new(mkfs(8 * 1024, args, None)));
    let fs = mount(&disk, false).unwrap();
    let (ns, ctx): (Namespace, Lookup) = namespace(&fs);
    let mut r = Rng(seed | 1);
    let h = |p: &str| host.join(p);
    let mut succeeded = 0;
    for d in ["a", "b", "a/c", "b/d", "a/c/e"] {
        ns.mkdir(&ctx, d.as_bytes(), 0o755).unwrap();
        std::fs::create_dir(h(d)).unwrap();
    }
    for step in 0..steps {
        let p = path(&mut r);
        let (ours, theirs, what): (bool, bool, String) = match r.below(11) {
            0 | 1 | 2 => {
                let far = r.below(4) == 0;
                let off = r.below(if far { 300_000 } else { 9000 });
                let data = pattern(r.below(20_000) as usize + 1, r.next());
                let a = ns.create(&ctx, p.as_bytes(), S_IFREG | 0o644, false).and_then(|(f, _)| f.inode().write_at(off, &data)).is_ok();
                let b = std::fs::OpenOptions::new().create(true).write(true).truncate(false).open(h(&p)).and_then(|f| f.write_all_at(&data, off)).is_ok();
                (a, b, format!("write {p} @{off}"))
            }
            3 => {
                let len = r.below(200_000);
                let a = ns.resolve(&ctx, p.as_bytes()).and_then(|f| f.inode().truncate(len)).is_ok();
                let b = std::fs::OpenOptions::new().write(true).open(h(&p)).and_then(|f| f.set_len(len)).is_ok();
                (a, b, format!("truncate {p} {len}"))
            }
            4 => (ns.mkdir(&ctx, p.as_bytes(), 0o755).is_ok(), std::fs::create_dir(h(&p)).is_ok(), format!("mkdir {p}")),
            5 => (ns.rmdir(&ctx, p.as_bytes()).is_ok(), std::fs::remove_dir(h(&p)).is_ok(), format!("rmdir {p}")),
            6 => (ns.unlink(&ctx, p.as_bytes()).is_ok(), std::fs::remove_file(h(&p)).is_ok(), format!("unlink {p}")),
            7 | 8 => {
                let q = path(&mut r);
                let a = ns.rename(&ctx, p.as_bytes(), &ctx, q.as_bytes(), 0).is_ok();
                let b = std::fs::rename(h(&p), h(&q)).is_ok();
                (a, b, format!("rename {p} {q}"))
            }
            9 => {
                let q = path(&mut r);
                (ns.link(&ctx.clone().follow(false), p.as_bytes(), &ctx, q.as_bytes()).is_ok(), std::fs::hard_link(h(&p), h(&q)).is_ok(), format!("link {p} {q}"))
            }
            _ => {
                let target = if r.below(2) == 0 { "x/y".to_string() } else { "t/".repeat(r.below(300) as usize + 30) };
                (ns.symlink(&ctx, target.as_bytes(), p.as_bytes()).is_ok(), std::os::unix::fs::symlink(&target, h(&p)).is_ok(), format!("symlink {p}"))
            }
        };
        assert_eq!(ours, theirs, "seed {seed} step {step}: {what}: ext2 ok={ours} host ok={theirs}");
        succeeded += usize::from(ours);
        if step % 50 == 49 {
            compare(&fs, &host, step);
        }
    }
    compare(&fs, &host, steps);
    println!("seed {seed}: {succeeded} of {steps} operations succeeded");
    drop(ctx);
    drop(ns);
    fs.unmount().unwrap();
    fsck(&disk.image());
    let disk = Arc::new(MemDisk::new(disk.image()));
    let fs = mount(&disk, true).unwrap();
    compare(&fs, &host, steps + 1);
    let _ = std::fs::remove_dir_all(&host);
    succeeded
}

/// Seeds per test (`EXO_EXT2_MODEL_SEEDS`, default 6).
fn seeds() -> u64 {
    std::env::var("EXO_EXT2_MODEL_SEEDS").ok().and_then(|v| v.parse().ok()).unwrap_or(6)
}

#[test]
fn random_operations_match_the_host_1k() {
    if have_tools() {
        let ok: usize = (1..=seeds()).map(|seed| run(seed * 7919, &["-t", "ext2", "-b", "1024"], 400)).sum();
        assert!(ok as u64 > seeds() * 400 / 4, "too few operations succeeded to test anything");
    }
}

#[test]
fn random_operations_match_the_host_4k() {
    if have_tools() {
        let ok: usize = (1..=seeds()).map(|seed| run(seed * 104_729, &["-t", "ext2", "-b", "4096", "-I", "128"], 400)).sum();
        assert!(ok as u64 > seeds() * 400 / 4, "too few operations succeeded to test anything");
    }
}
