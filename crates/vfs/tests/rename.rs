//! Namespace `rename`/`renameat2`: the Linux rules and errno order, `.`/`..`/trailing slashes,
//! exchange, and how held paths (cwds) follow a rename in `path_of`.

mod common;

use common::*;
use exo_abi::Errno;
use exo_vfs::*;

fn setup() -> Env {
    let e = env();
    e.mkdir("/a");
    e.mkdir("/a/b");
    e.mkdir("/a/b/c");
    e.mkdir("/empty");
    e.write("/f", b"F");
    e.write("/g", b"G");
    e
}

fn rn(e: &Env, old: &str, new: &str, flags: u32) -> Result<()> {
    e.ns.rename(&e.root(), old.as_bytes(), &e.root(), new.as_bytes(), flags)
}

#[test]
fn basic_moves_and_replacements() {
    let e = setup();
    rn(&e, "/f", "/a/f2", 0).unwrap();
    assert!(!e.exists("/f"));
    assert_eq!(read_all(e.get("/a/f2").inode()), b"F");
    rn(&e, "/a/f2", "/g", 0).unwrap();
    assert_eq!(read_all(e.get("/g").inode()), b"F", "the target file is replaced");
    rn(&e, "/a/b", "/empty", 0).unwrap();
    assert!(e.exists("/empty/c") && !e.exists("/a/b"));
    rn(&e, "/empty/", "/moved/", 0).unwrap();
    assert!(e.exists("/moved/c"));
    assert_eq!(e.ls("/"), ["a", "g", "moved"]);
}

#[test]
fn linux_errnos() {
    let e = setup();
    e.write("/a/file", b"");
    e.mkdir("/full");
    e.write("/full/x", b"");
    for (old, new, flags, want) in [
        ("/nope", "/x", 0, Errno::ENOENT),
        ("/f", "/nope/x", 0, Errno::ENOENT),
        ("/a", "/f", 0, Errno::ENOTDIR),
        ("/f", "/a", 0, Errno::EISDIR),
        ("/empty", "/full", 0, Errno::ENOTEMPTY),
        ("/a", "/a/b/c/d", 0, Errno::EINVAL),
        ("/a", "/a/x", 0, Errno::EINVAL),
        ("/a/b/c", "/a", 0, Errno::ENOTEMPTY),
        ("/a/b/c", "/a/b", 0, Errno::ENOTEMPTY),
        ("/f", "/g", RENAME_NOREPLACE, Errno::EEXIST),
        ("/f", "/new", RENAME_EXCHANGE, Errno::ENOENT),
        ("/f", "/g", RENAME_NOREPLACE | RENAME_EXCHANGE, Errno::EINVAL),
        ("/f", "/g", 8, Errno::EINVAL),
        ("/f", "/g", RENAME_WHITEOUT, Errno::EINVAL),
        ("/a/.", "/x", 0, Errno::EBUSY),
        ("/a/..", "/x", 0, Errno::EBUSY),
        ("/f", "/a/.", 0, Errno::EBUSY),
        ("/", "/x", 0, Errno::EBUSY),
        ("/f/", "/x", 0, Errno::ENOTDIR),
        ("/f", "/x/", 0, Errno::ENOTDIR),
        ("/f", "/g/", 0, Errno::ENOTDIR),
        ("/f/x", "/y", 0, Errno::ENOTDIR),
        ("", "/y", 0, Errno::ENOENT),
    ] {
        assert_eq!(err(rn(&e, old, new, flags)), want, "rename {old:?} {new:?} {flags}");
    }
    // Nothing moved.
    assert!(e.exists("/a/b/c") && e.exists("/f") && e.exists("/g") && e.exists("/full/x"));
}

#[test]
fn same_inode_and_same_name_do_nothing() {
    let e = setup();
    let r = e.root();
    e.ns.link(&r, b"/f", &r, b"/f2").unwrap();
    rn(&e, "/f", "/f2", 0).unwrap();
    assert!(e.exists("/f") && e.exists("/f2"));
    rn(&e, "/f", "/f", 0).unwrap();
    rn(&e, "/a", "/a/", 0).unwrap();
    assert!(e.exists("/a/b/c"));
    assert_eq!(err(rn(&e, "/f", "/f", RENAME_NOREPLACE)), Errno::EEXIST);
}

#[test]
fn exchange_swaps_files_and_directories() {
    let e = setup();
    rn(&e, "/f", "/g", RENAME_EXCHANGE).unwrap();
    assert_eq!(read_all(e.get("/f").inode()), b"G");
    assert_eq!(read_all(e.get("/g").inode()), b"F");
    rn(&e, "/a/b", "/g", RENAME_EXCHANGE).unwrap();
    assert!(e.get("/g").metadata().is_dir() && e.exists("/g/c"));
    assert_eq!(read_all(e.get("/a/b").inode()), b"F");
    assert_eq!(e.get("/g/..").metadata().ino, e.fs.root().metadata().ino);
    assert_eq!(err(rn(&e, "/g", "/g/c", RENAME_EXCHANGE)), Errno::EINVAL);
    assert_eq!(err(rn(&e, "/g/c", "/g", RENAME_EXCHANGE)), Errno::EINVAL);
    assert_eq!(err(rn(&e, "/a/b/", "/f", RENAME_EXCHANGE)), Errno::ENOTDIR);
    rn(&e, "/g/", "/f", RENAME_EXCHANGE).unwrap();
    assert!(e.get("/f").metadata().is_dir() && e.exists("/f/c"), "a directory and a file may be exchanged");
}

#[test]
fn held_paths_follow_renames() {
    let e = setup();
    let cwd = e.get("/a/b/c");
    let b = e.get("/a/b");
    rn(&e, "/a/b", "/x", 0).unwrap();
    assert_eq!(path_str(e.ns.path_of(&cwd, &e.ns.root())), "/x/c");
    assert_eq!(e.get("/x/c"), cwd, "the same dentry under its new name");
    rn(&e, "/a", "/x/c/a", 0).unwrap();
    assert_eq!(path_str(e.ns.path_of(&e.get("/x/c/a"), &e.ns.root())), "/x/c/a");
    rn(&e, "/x", "/empty", 0).unwrap();
    assert_eq!(path_str(e.ns.path_of(&cwd, &e.ns.root())), "/empty/c");
    assert_eq!(path_str(e.ns.path_of(&b, &e.ns.root())), "/empty");
    let ctx = Lookup { cwd: cwd.clone(), ..e.root() };
    assert_eq!(e.ns.resolve(&ctx, b"../..").unwrap(), e.ns.root());
    assert_eq!(e.ns.resolve(&ctx, b"a/..").unwrap(), cwd);
    // Exchange swaps the names of both held paths.
    e.mkdir("/p");
    e.mkdir("/q");
    let p = e.get("/p");
    let q = e.get("/q");
    rn(&e, "/p", "/q", RENAME_EXCHANGE).unwrap();
    assert_eq!(path_str(e.ns.path_of(&p, &e.ns.root())), "/q");
    assert_eq!(path_str(e.ns.path_of(&q, &e.ns.root())), "/p");
    assert_eq!(e.get("/q"), p);
    // A replaced target is deleted.
    e.write("/victim", b"");
    let victim = e.get("/victim");
    rn(&e, "/g", "/victim", 0).unwrap();
    assert!(victim.is_deleted());
    assert_eq!(read_all(e.get("/victim").inode()), b"G");
}

#[test]
fn dirfd_relative_renames() {
    let e = setup();
    let in_a = Lookup { cwd: e.get("/a"), ..e.root() };
    let in_empty = Lookup { cwd: e.get("/empty"), ..e.root() };
    e.ns.rename(&in_a, b"b", &in_empty, b"b2", 0).unwrap();
    assert!(e.exists("/empty/b2/c"));
    e.ns.rename(&in_empty, b"b2/c", &in_a, b"../c", 0).unwrap();
    assert!(e.exists("/c"));
}
