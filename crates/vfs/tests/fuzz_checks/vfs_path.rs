//! Fuzz target `vfs_path`: one path operation with hostile paths on a fixed tree (symlink
//! loops, dangling, absolute and `..` links, a mount, a chroot jail, a root-only directory),
//! as root, as an ordinary user, inside the jail, and from inside the mount.
//!
//! Input: up to 8 operations separated by 0xFD bytes; in each, byte 0 picks the caller, byte 1
//! the operation, the rest is path A, then after a 0xFE byte path B. Invariants after every
//! operation: nothing panics; a resolved path round-trips through `path_of`; `..` at the root
//! stays at the root; nothing resolved from the jail lies outside it, and no operation from
//! the jail changes the tree outside it (while the jail's cwd is inside it: a cwd moved out
//! lets `..` climb out, as on Linux); the ordinary user (who owns nothing here) changes
//! nothing at all; the tree stays consistent: every listed name resolves, to the inode the
//! listing names, a directory's link count is 2 + its subdirectories and a file's is the number
//! of names it has (so no rename can cut a directory loose or make a cycle unnoticed).
//! Shared by `tests/hostfuzz.rs` (cargo test) and `fuzz/` (libFuzzer); needs `crate::common`.

use std::collections::BTreeMap;

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

/// Every path in the tree (not following symlinks) with its inode number and mode, sorted;
/// checks the link counts on the way.
fn snapshot(e: &Env) -> Vec<(Vec<u8>, u64, u32)> {
    let r = e.root().follow(false);
    let mut out = Vec::new();
    let mut stack = vec![b"/".to_vec()];
    // (fs, ino) of every non-directory name -> (names seen, link count).
    let mut files: BTreeMap<(u64, u64), (u64, u64)> = BTreeMap::new();
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
        entries.retain(|x| x.name != b"." && x.name != b"..");
        let subdirs = entries
            .iter()
            .filter(|x| x.kind == exo_abi::mode::DT_DIR)
            .count() as u64;
        assert_eq!(
            d.metadata().nlink,
            2 + subdirs,
            "link count of {:?}",
            String::from_utf8_lossy(&dir)
        );
        for ent in entries {
            let child = [
                dir.as_slice(),
                if dir == b"/" { b"" } else { b"/" },
                &ent.name,
            ]
            .concat();
            let p = e.ns.resolve(&r, &child).expect("a listed name resolves");
            let md = p.metadata();
            if p.dentry.inode().fs_id() == d.inode().fs_id() {
                assert_eq!(md.ino, ent.ino, "listing and lookup disagree");
            }
            if md.is_dir() {
                stack.push(child.clone());
            } else if p.dentry.inode().fs_id() == d.inode().fs_id() {
                let seen = files
                    .entry((d.inode().fs_id(), md.ino))
                    .or_insert((0, md.nlink));
                seen.0 += 1;
            }
            out.push((child, md.ino, md.mode));
        }
    }
    for ((_, ino), (names, nlink)) in files {
        assert_eq!(
            names, nlink,
            "inode {ino} has {names} names and link count {nlink}"
        );
    }
    out.sort();
    out
}

/// The callers' directories, taken once: they stay valid (if perhaps moved or deleted)
/// whatever the operations do to the tree.
struct Places {
    a: PathRef,
    jail: PathRef,
    jail_x: PathRef,
    mnt_in: PathRef,
}

pub fn check(data: &[u8]) {
    let e = fixture();
    let places = Places {
        a: e.get("/a"),
        jail: e.get("/jail"),
        jail_x: e.get("/jail/x"),
        mnt_in: e.get("/mnt/in"),
    };
    for record in data.split(|&c| c == 0xfd).take(8) {
        step(&e, &places, record);
    }
}

/// One operation (see the module documentation) and the checks around it.
fn step(e: &Env, places: &Places, data: &[u8]) {
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
        2 => Lookup {
            cwd: places.a.clone(),
            ..e.user(1000, 1000)
        },
        3 => Lookup {
            root: places.jail.clone(),
            cwd: places.jail_x.clone(),
            ..e.root()
        },
        _ => Lookup {
            cwd: places.mnt_in.clone(),
            ..e.root()
        },
    };
    let jail = &places.jail;
    // A cwd moved out of the jail (by root, outside it) lets `..` climb out, as on Linux:
    // the jail invariants hold while the cwd is inside it.
    let jailed = who == 3
        && !e
            .ns
            .path_of(&places.jail_x, jail)
            .starts_with(b"(unreachable)");
    if let Ok(p) = e.ns.resolve(&ctx, b"/..") {
        assert!(p == ctx.root, "`..` above the root");
    }
    for path in [a, b] {
        if let Ok(p) = e.ns.resolve(&ctx, path) {
            let text = e.ns.path_of(&p, &ctx.root);
            let reachable = !text.starts_with(b"(unreachable)");
            if reachable {
                let again =
                    e.ns.resolve(&ctx.clone().follow(false).directory(false), &text);
                assert_eq!(
                    again.ok(),
                    Some(p.clone()),
                    "{:?} -> {:?}",
                    String::from_utf8_lossy(path),
                    String::from_utf8_lossy(&text)
                );
            }
            if jailed {
                assert!(
                    reachable,
                    "escaped the jail: {:?}",
                    String::from_utf8_lossy(&e.ns.path_of(&p, &e.ns.root()))
                );
            }
        }
        if let Ok((dir, name)) = e.ns.resolve_parent(&ctx, path) {
            assert!(dir.metadata().is_dir());
            assert!(!name.is_empty() && name.len() <= NAME_MAX);
            assert!(name == b"/" || !name.contains(&b'/'));
        }
    }
    let mut jail_prefix = e.ns.path_of(jail, &e.ns.root());
    jail_prefix.push(b'/');
    let outside = |s: Vec<(Vec<u8>, u64, u32)>| -> Vec<(Vec<u8>, u64, u32)> {
        s.into_iter()
            .filter(|(p, _, _)| !p.starts_with(&jail_prefix))
            .collect()
    };
    let before = snapshot(e);
    let _ = match op {
        0 => e.ns.mkdir(&ctx, a, 0o755).map(|_| ()),
        1 => e.ns.create(&ctx, a, 0o644, false).map(|_| ()),
        2 => e.ns.unlink(&ctx, a),
        3 => e.ns.rmdir(&ctx, a),
        4 => e.ns.rename(&ctx, a, &ctx, b, 0),
        5 => e.ns.rename(&ctx, a, &ctx, b, RENAME_EXCHANGE),
        6 => e.ns.link(&ctx, a, &ctx, b),
        7 => e.ns.symlink(&ctx, b, a).map(|_| ()),
        8 => {
            e.ns.mknod(&ctx, a, exo_abi::mode::S_IFIFO | 0o644, 0)
                .map(|_| ())
        }
        9 => e.ns.rename(&ctx, a, &ctx, b, RENAME_NOREPLACE),
        _ => match e.ns.resolve(&ctx, a) {
            Ok(p) if who != 2 && p != *jail => e.ns.umount(&p),
            _ => Ok(()),
        },
    };
    let after = snapshot(e);
    match who {
        2 => assert_eq!(before, after, "an unprivileged user changed the tree"),
        3 if jailed => assert_eq!(
            outside(before),
            outside(after),
            "the jail changed the tree outside it"
        ),
        _ => {}
    }
}
