//! Fuzz tests: random byte strings as paths (slashes, dots, NULs, high bytes, overlong names)
//! against a tree with symlink loops, dangling and absolute links, a mount and a chroot. Nothing
//! may panic; every successful resolution must round-trip through `path_of`; random offsets,
//! sizes and cursors must be handled.

mod common;

use common::*;
use exo_vfs::*;
use proptest::prelude::*;

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
    e.chmod("/locked", 0o700);
    e.ns.mount(&e.get("/mnt"), other_fs(2), 0).unwrap();
    e.mkdir("/mnt/in");
    e.symlink("/a", "/mnt/in/out");
    e
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        6 => Just(b"/".to_vec()),
        3 => Just(b".".to_vec()),
        3 => Just(b"..".to_vec()),
        4 => prop::sample::select(vec![
            b"a".to_vec(), b"b".to_vec(), b"f".to_vec(), b"up".to_vec(), b"abs".to_vec(),
            b"loop".to_vec(), b"dangling".to_vec(), b"fslash".to_vec(), b"mnt".to_vec(),
            b"in".to_vec(), b"out".to_vec(), b"jail".to_vec(), b"x".to_vec(), b"dotdot".to_vec(),
            b"locked".to_vec(), b"new".to_vec(),
        ]),
        1 => prop::collection::vec(any::<u8>(), 0..8),
        1 => (250usize..260).prop_map(|n| vec![b'n'; n]),
    ];
    prop_oneof![
        20 => prop::collection::vec(piece, 0..12).prop_map(|v| v.concat()),
        1 => (4090usize..4100).prop_map(|n| vec![b'/'; n]),
    ]
}

fn contexts(e: &Env) -> Vec<Lookup> {
    let root = e.root();
    let user = Lookup { cwd: e.get("/a"), ..e.user(1000, 1000) };
    let jail = Lookup { root: e.get("/jail"), cwd: e.get("/jail/x"), ..e.root() };
    let in_mnt = Lookup { cwd: e.get("/mnt/in"), ..e.root() };
    vec![root.clone(), root.clone().follow(false), root.directory(true), user, jail, in_mnt]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn resolution_never_panics_and_round_trips(path in bytes()) {
        let e = fixture();
        for ctx in contexts(&e) {
            if let Ok(p) = e.ns.resolve(&ctx, &path) {
                let text = e.ns.path_of(&p, &ctx.root);
                if !text.starts_with(b"(unreachable)") {
                    let again = e.ns.resolve(&ctx.clone().follow(false).directory(false), &text);
                    prop_assert_eq!(again.as_ref().ok(), Some(&p), "{:?} -> {:?}", String::from_utf8_lossy(&path), String::from_utf8_lossy(&text));
                }
            }
            if let Ok((dir, name)) = e.ns.resolve_parent(&ctx, &path) {
                prop_assert!(dir.metadata().is_dir());
                prop_assert!(!name.is_empty() && name.len() <= NAME_MAX);
                prop_assert!(name == b"/" || !name.contains(&b'/'));
            }
        }
    }

    #[test]
    fn operations_on_random_paths_never_panic(a in bytes(), b in bytes(), which in 0u8..10) {
        let e = fixture();
        for ctx in contexts(&e) {
            let _ = match which {
                0 => e.ns.mkdir(&ctx, &a, 0o755).map(|_| ()),
                1 => e.ns.create(&ctx, &a, 0o644, false).map(|_| ()),
                2 => e.ns.unlink(&ctx, &a),
                3 => e.ns.rmdir(&ctx, &a),
                4 => e.ns.rename(&ctx, &a, &ctx, &b, 0),
                5 => e.ns.rename(&ctx, &a, &ctx, &b, RENAME_EXCHANGE),
                6 => e.ns.link(&ctx, &a, &ctx, &b),
                7 => e.ns.symlink(&ctx, &b, &a).map(|_| ()),
                8 => e.ns.mknod(&ctx, &a, exo_abi::mode::S_IFIFO | 0o644, 0).map(|_| ()),
                _ => e.ns.umount(&e.ns.resolve(&ctx, &a).unwrap_or_else(|_| e.ns.root())),
            };
        }
        // The tree is still consistent: every directory lists, and resolves through the cache
        // to the same inodes the listing names.
        let r = e.root().follow(false);
        let mut stack = vec![b"/".to_vec()];
        let mut visited = 0;
        while let Some(dir) = stack.pop() {
            visited += 1;
            prop_assert!(visited < 10_000);
            let d = e.ns.resolve(&r, &dir).unwrap();
            let mut entries = Vec::new();
            d.inode().read_dir(0, &mut |ent| { entries.push(ent); true }).unwrap();
            for ent in entries.into_iter().filter(|x| x.name != b"." && x.name != b"..") {
                let child = [dir.as_slice(), if dir == b"/" { b"" } else { b"/" }, &ent.name].concat();
                let p = e.ns.resolve(&r, &child).unwrap();
                if p.dentry.inode().fs_id() == d.inode().fs_id() {
                    prop_assert_eq!(p.metadata().ino, ent.ino);
                }
                if p.metadata().is_dir() {
                    stack.push(child);
                }
            }
        }
    }

    #[test]
    fn data_and_cursors_accept_any_numbers(offset in any::<u64>(), len in 0usize..10_000, cursor in any::<u64>(), size in any::<u64>()) {
        let e = fixture();
        let f = e.get("/a/f");
        let mut buf = vec![0u8; len];
        let _ = f.inode().read_at(offset, &mut buf);
        let _ = f.inode().write_at(offset % (1 << 40), &buf);
        let _ = f.inode().write_at(offset, &buf);
        let _ = f.inode().truncate(size);
        let _ = f.inode().read_at(offset, &mut buf);
        let _ = f.inode().truncate(size % (1 << 20));
        let mut n = 0;
        e.get("/a").inode().read_dir(cursor, &mut |_| { n += 1; n < 100 }).unwrap();
        let _ = e.get("/a").inode().read_dir(cursor, &mut |_| false);
    }
}
