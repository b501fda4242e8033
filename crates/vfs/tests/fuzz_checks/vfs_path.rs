//! Fuzz target `vfs_path`: one path operation with hostile paths on a fixed tree (symlink
//! loops, dangling, absolute and `..` links, a mount, a chroot jail, a root-only directory),
//! as root, as an ordinary user, inside the jail, and from inside the mount.
//!
//! Input: byte 0 picks the caller, byte 1 the operation, the rest is path A, then after a
//! 0xFE byte path B. Invariants: nothing panics; a resolved path round-trips through
//! `path_of`; `..` at the root stays at the root; nothing resolved from the jail lies outside
//! it, and no operation from the jail changes the tree outside it; the ordinary user (who owns
//! nothing here) changes nothing at all; the tree stays consistent (every listed name
//! resolves, to the inode the listing names).
//! Shared by `tests/hostfuzz.rs` (cargo test) and `fuzz/` (libFuzzer); needs `crate::common`.

use crate::common::*;
use exo_vfs::*;

fn fixture() -> Env {
    let e = env();
    for d in ["/a", "/a/b", "/mnt", "/jail", "/jail/x", "/locked"] {
        e.mkdir(d);
    }
    e.write("/a/f", b"data");
    e.symlink("../a", "/a/b/up");
    e.symlink("/a/b", "/abs");
    e.symlink("loop", "/loop");
    e.symlink("/nowhere/x", "/dangling");
    e.symlink("f/", "/a/fslash");
    e.symlink("..", "/jail/x/dotdot");
    e.symlink("/../../a", "/jail/x/abs");
    e.write("/jail/x/file", b"in jail");
    e.chmod("/locked", 0o700);
    e.ns.mount(&e.get("/mnt"), other_fs(2), 0).expect("mount");
    e.mkdir("/mnt/in");
    e.symlink("/a", "/mnt/in/out");
    // tmpfs roots are 1777 (anyone may create); here only root may change anything.
    e.chmod("/", 0o755);
    e.chmod("/mnt", 0o755);
    e
}

/// Every path in the tree (not following symlinks) with its inode number and mode, sorted.
fn snapshot(e: &Env) -> Vec<(Vec<u8>, u64, u32)> {
    let r = e.root().follow(false);
    let mut out = Vec::new();
    let mut stack = vec![b"/".to_vec()];
    while let Some(dir) = stack.pop() {
        assert!(out.len() < 10_000, "tree too big");
        let d = e.ns.resolve(&r, &dir).expect("a listed directory resolves");
        let mut entries = Vec::new();
        d.inode()
            .read_dir(0, &mut |ent| {
                entries.push(ent);
                true
            })
            .expect("a directory lists");
        for ent in entries.into_iter().filter(|x| x.name != b"." && x.name != b"..") {
            let child = [dir.as_slice(), if dir == b"/" { b"" } else { b"/" }, &ent.name].concat();
            let p = e.ns.resolve(&r, &child).expect("a listed name resolves");
            let md = p.metadata();
            if p.dentry.inode().fs_id() == d.inode().fs_id() {
                assert_eq!(md.ino, ent.ino, "listing and lookup disagree");
            }
            if md.is_dir() {
                stack.push(child.clone());
            }
            out.push((child, md.ino, md.mode));
        }
    }
    out.sort();
    out
}

pub fn check(data: &[u8]) {
    let e = fixture();
    let who = data.first().copied().unwrap_or(0) % 5;
    let op = data.get(1).copied().unwrap_or(0) % 11;
    let rest = data.get(2..).unwrap_or(&[]);
    let (a, b) = match rest.iter().position(|&c| c == 0xfe) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &b"/a/new"[..]),
    };
    let ctx = match who {
        0 => e.root(),
        1 => e.root().follow(false),
        2 => Lookup { cwd: e.get("/a"), ..e.user(1000, 1000) },
        3 => Lookup { root: e.get("/jail"), cwd: e.get("/jail/x"), ..e.root() },
        _ => Lookup { cwd: e.get("/mnt/in"), ..e.root() },
    };
    let jail = e.get("/jail");
    let real_root = e.ns.root();
    assert_eq!(e.ns.resolve(&ctx, b"/..").ok(), Some(ctx.root.clone()), "`..` above the root");
    for path in [a, b] {
        if let Ok(p) = e.ns.resolve(&ctx, path) {
            let text = e.ns.path_of(&p, &ctx.root);
            if !text.starts_with(b"(unreachable)") {
                let again = e.ns.resolve(&ctx.clone().follow(false).directory(false), &text);
                assert_eq!(again.ok(), Some(p.clone()), "{:?} -> {:?}", String::from_utf8_lossy(path), String::from_utf8_lossy(&text));
            }
            if who == 3 {
                let full = e.ns.path_of(&p, &real_root);
                assert!(full.starts_with(b"/jail"), "escaped the jail: {:?}", String::from_utf8_lossy(&full));
            }
        }
        if let Ok((dir, name)) = e.ns.resolve_parent(&ctx, path) {
            assert!(dir.metadata().is_dir());
            assert!(!name.is_empty() && name.len() <= NAME_MAX);
            assert!(name == b"/" || !name.contains(&b'/'));
        }
    }
    let outside = |s: Vec<(Vec<u8>, u64, u32)>| -> Vec<(Vec<u8>, u64, u32)> {
        s.into_iter().filter(|(p, _, _)| !p.starts_with(b"/jail/")).collect()
    };
    let before = snapshot(&e);
    let _ = match op {
        0 => e.ns.mkdir(&ctx, a, 0o755).map(|_| ()),
        1 => e.ns.create(&ctx, a, 0o644, false).map(|_| ()),
        2 => e.ns.unlink(&ctx, a),
        3 => e.ns.rmdir(&ctx, a),
        4 => e.ns.rename(&ctx, a, &ctx, b, 0),
        5 => e.ns.rename(&ctx, a, &ctx, b, RENAME_EXCHANGE),
        6 => e.ns.link(&ctx, a, &ctx, b),
        7 => e.ns.symlink(&ctx, b, a).map(|_| ()),
        8 => e.ns.mknod(&ctx, a, exo_abi::mode::S_IFIFO | 0o644, 0).map(|_| ()),
        9 => e.ns.rename(&ctx, a, &ctx, b, RENAME_NOREPLACE),
        _ => match e.ns.resolve(&ctx, a) {
            Ok(p) if who != 2 && p != jail => e.ns.umount(&p),
            _ => Ok(()),
        },
    };
    let after = snapshot(&e);
    match who {
        2 => assert_eq!(before, after, "an unprivileged user changed the tree"),
        3 => assert_eq!(outside(before), outside(after), "the jail changed the tree outside it"),
        _ => {}
    }
}
