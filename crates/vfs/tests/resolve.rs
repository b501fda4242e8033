//! Path resolution: absolute and relative paths, `.`, `..`, slashes, limits, symlinks (chains,
//! loops, absolute and relative targets), trailing slashes, search permission, and
//! `resolve_parent`.

mod common;

use common::*;
use exo_abi::mode::*;
use exo_abi::Errno;
use exo_vfs::*;

fn tree() -> Env {
    let e = env();
    e.mkdir("/a");
    e.mkdir("/a/b");
    e.mkdir("/a/b/c");
    e.write("/f", b"file");
    e
}

fn path(e: &Env, p: &PathRef) -> String {
    path_str(e.ns.path_of(p, &e.ns.root()))
}

#[test]
fn absolute_relative_dots_and_slashes() {
    let e = tree();
    let c = e.get("/a/b/c");
    for p in ["/a/b/c", "a/b/c", "//a///b/./c/", "/a/b/../b/c", "/a/./b/c/.", "a/b/c//", "/a/b/c/../c"] {
        assert_eq!(e.ns.resolve(&e.root(), p.as_bytes()).unwrap(), c, "{p}");
    }
    let at_a = Lookup { cwd: e.get("/a"), ..e.root() };
    assert_eq!(e.ns.resolve(&at_a, b"b/c").unwrap(), c);
    assert_eq!(e.ns.resolve(&at_a, b"../a/b/c").unwrap(), c);
    assert_eq!(e.ns.resolve(&at_a, b".").unwrap(), e.get("/a"));
    assert_eq!(e.ns.resolve(&at_a, b"..").unwrap(), e.ns.root());
    assert_eq!(e.ns.resolve(&at_a, b"/").unwrap(), e.ns.root());
    assert_eq!(e.ns.resolve(&at_a, b"////").unwrap(), e.ns.root());
    assert_eq!(path(&e, &c), "/a/b/c");
}

#[test]
fn dotdot_stops_at_the_process_root() {
    let e = tree();
    assert_eq!(e.ns.resolve(&e.root(), b"/../../..").unwrap(), e.ns.root());
    let jail = Lookup { root: e.get("/a"), cwd: e.get("/a/b/c"), ..e.root() };
    assert_eq!(e.ns.resolve(&jail, b"../../../../..").unwrap(), e.get("/a"));
    assert_eq!(e.ns.resolve(&jail, b"/..").unwrap(), e.get("/a"));
    assert_eq!(e.ns.resolve(&jail, b"/b/c").unwrap(), e.get("/a/b/c"));
    assert_eq!(err(e.ns.resolve(&jail, b"/f")), Errno::ENOENT, "/f is outside the jail");
    assert_eq!(path_str(e.ns.path_of(&e.get("/a/b"), &jail.root)), "/b");
    assert_eq!(path_str(e.ns.path_of(&e.get("/f"), &jail.root)), "(unreachable)/f");
}

#[test]
fn empty_and_overlong_paths() {
    let e = tree();
    assert_eq!(err(e.ns.resolve(&e.root(), b"")), Errno::ENOENT);
    let mut long = vec![b'/'; PATH_MAX - 1];
    assert_eq!(e.ns.resolve(&e.root(), &long).unwrap(), e.ns.root(), "4095 bytes is fine");
    long.push(b'/');
    assert_eq!(err(e.ns.resolve(&e.root(), &long)), Errno::ENAMETOOLONG);
    let name255 = [b"/".as_slice(), &[b'n'; 255]].concat();
    assert_eq!(err(e.ns.resolve(&e.root(), &name255)), Errno::ENOENT);
    let name256 = [b"/".as_slice(), &[b'n'; 256]].concat();
    assert_eq!(err(e.ns.resolve(&e.root(), &name256)), Errno::ENAMETOOLONG);
    let mid = [b"/".as_slice(), &[b'n'; 256], b"/x"].concat();
    assert_eq!(err(e.ns.resolve(&e.root(), &mid)), Errno::ENAMETOOLONG);
}

#[test]
fn non_directories_in_the_middle_are_enotdir() {
    let e = tree();
    for p in ["/f/x", "/f/", "/f/.", "/f/..", "f//", "/a/../f/"] {
        assert_eq!(err(e.ns.resolve(&e.root(), p.as_bytes())), Errno::ENOTDIR, "{p}");
    }
    assert_eq!(err(e.ns.resolve(&e.root().directory(true), b"/f")), Errno::ENOTDIR);
    assert!(e.ns.resolve(&e.root().directory(true), b"/a").is_ok());
    assert_eq!(err(e.ns.resolve(&e.root(), b"/nope/x")), Errno::ENOENT);
    assert_eq!(err(e.ns.resolve(&e.root(), b"/a/nope")), Errno::ENOENT);
    assert_eq!(err(e.ns.resolve(&e.root(), b"/a/nope/")), Errno::ENOENT);
}

#[test]
fn symlink_chains_and_directions() {
    let e = tree();
    e.symlink("l2", "/l1");
    e.symlink("/a", "/l2");
    e.symlink("b/c", "/a/rel");
    e.symlink("../..", "/a/b/up");
    e.symlink("/f", "/a/b/abs");
    assert_eq!(e.ns.resolve(&e.root(), b"/l1/b/c").unwrap(), e.get("/a/b/c"));
    assert_eq!(e.ns.resolve(&e.root(), b"/l1").unwrap(), e.get("/a"));
    assert_eq!(e.ns.resolve(&e.root(), b"/a/rel").unwrap(), e.get("/a/b/c"), "relative to the link's directory");
    assert_eq!(e.ns.resolve(&e.root(), b"/a/b/up/f").unwrap(), e.get("/f"));
    assert_eq!(e.ns.resolve(&e.root(), b"/a/b/abs").unwrap(), e.get("/f"));
    let nofollow = e.root().follow(false);
    let link = e.ns.resolve(&nofollow, b"/l1").unwrap();
    assert!(link.metadata().is_symlink());
    assert_eq!(e.ns.resolve(&nofollow, b"/l1/").unwrap(), e.get("/a"), "a trailing slash follows");
    assert_eq!(e.ns.resolve(&nofollow, b"/l1/b").unwrap(), e.get("/a/b"), "non-final links are always followed");
    // Absolute targets restart at the process root.
    let jail = Lookup { root: e.get("/a"), cwd: e.get("/a"), ..e.root() };
    e.symlink("/b", "/a/jailed");
    assert_eq!(e.ns.resolve(&jail, b"jailed/c").unwrap(), e.get("/a/b/c"));
}

#[test]
fn dangling_and_file_symlinks() {
    let e = tree();
    e.symlink("/nowhere", "/dangling");
    e.symlink("f", "/lf");
    e.symlink("f/", "/lf_slash");
    assert_eq!(err(e.ns.resolve(&e.root(), b"/dangling")), Errno::ENOENT);
    assert!(e.ns.resolve(&e.root().follow(false), b"/dangling").unwrap().metadata().is_symlink());
    assert_eq!(e.ns.resolve(&e.root(), b"/lf").unwrap(), e.get("/f"));
    assert_eq!(err(e.ns.resolve(&e.root(), b"/lf/")), Errno::ENOTDIR);
    assert_eq!(err(e.ns.resolve(&e.root(), b"/lf_slash")), Errno::ENOTDIR, "the target's trailing slash counts");
    assert_eq!(err(e.ns.resolve(&e.root(), b"/lf/x")), Errno::ENOTDIR);
}

#[test]
fn symlink_loops_are_eloop() {
    let e = tree();
    e.symlink("loop", "/loop");
    e.symlink("/pong", "/ping");
    e.symlink("ping", "/pong");
    assert_eq!(err(e.ns.resolve(&e.root(), b"/loop")), Errno::ELOOP);
    assert_eq!(err(e.ns.resolve(&e.root(), b"/ping/x")), Errno::ELOOP);
    assert_eq!(err(e.ns.resolve(&e.root(), b"/loop/")), Errno::ELOOP);
    assert!(e.ns.resolve(&e.root().follow(false), b"/loop").is_ok());
    // A chain of exactly 40 links resolves; 41 is too many.
    for i in 0..41 {
        e.symlink(&format!("s{}", i + 1), &format!("/s{i}"));
    }
    e.ns.mkdir(&e.root(), b"/s41", 0o755).unwrap();
    assert_eq!(e.ns.resolve(&e.root(), b"/s1").unwrap(), e.get("/s41"));
    assert_eq!(err(e.ns.resolve(&e.root(), b"/s0")), Errno::ELOOP);
    assert_eq!(err(e.ns.resolve(&e.root(), b"/s0/")), Errno::ELOOP);
}

#[test]
fn search_permission_is_needed_on_every_directory() {
    let e = tree();
    e.chmod("/a", 0o700);
    let user = e.user(1000, 1000);
    assert_eq!(err(e.ns.resolve(&user, b"/a/b")), Errno::EACCES);
    assert_eq!(err(e.ns.resolve(&user, b"/a/nope")), Errno::EACCES, "EACCES before ENOENT");
    assert!(e.ns.resolve(&user, b"/a").is_ok(), "naming the directory itself needs no search right in it");
    assert_eq!(err(e.ns.resolve(&Lookup { cwd: e.get("/a"), ..user.clone() }, b".")), Errno::EACCES);
    e.chmod("/a", 0o711);
    assert!(e.ns.resolve(&user, b"/a/b/c").is_ok());
    e.chmod("/a", 0o000);
    assert!(e.ns.resolve(&e.root(), b"/a/b").is_ok(), "root searches any directory");
    e.chown("/a", 1000, 1000);
    e.chmod("/a", 0o070);
    assert_eq!(err(e.ns.resolve(&user, b"/a/b")), Errno::EACCES, "the owner class applies, not group");
    assert!(e.ns.resolve(&e.user(2000, 1000), b"/a/b").is_ok());
}

#[test]
fn resolve_parent_splits_the_last_component() {
    let e = tree();
    let (dir, name) = e.ns.resolve_parent(&e.root(), b"/a/b/new").unwrap();
    assert_eq!((dir, name), (e.get("/a/b"), b"new".to_vec()));
    let (dir, name) = e.ns.resolve_parent(&e.root(), b"/a/b//").unwrap();
    assert_eq!((dir, name), (e.get("/a"), b"b".to_vec()));
    let (dir, name) = e.ns.resolve_parent(&e.root(), b"/").unwrap();
    assert_eq!((dir, name), (e.ns.root(), b"/".to_vec()));
    let (dir, name) = e.ns.resolve_parent(&e.root(), b"a/..").unwrap();
    assert_eq!((dir, name), (e.get("/a"), b"..".to_vec()));
    let (dir, name) = e.ns.resolve_parent(&e.root(), b"/nope/").unwrap();
    assert_eq!((dir, name), (e.ns.root(), b"nope".to_vec()));
    assert_eq!(err(e.ns.resolve_parent(&e.root(), b"/f/")), Errno::ENOTDIR);
    assert_eq!(err(e.ns.resolve_parent(&e.root(), b"/f/x")), Errno::ENOTDIR);
    assert_eq!(err(e.ns.resolve_parent(&e.root(), b"/nope/x")), Errno::ENOENT);
    assert_eq!(err(e.ns.resolve_parent(&e.root(), b"")), Errno::ENOENT);
    e.symlink("/a/b", "/lb");
    let (dir, name) = e.ns.resolve_parent(&e.root(), b"/lb/c").unwrap();
    assert_eq!((dir, name), (e.get("/a/b"), b"c".to_vec()));
}

#[test]
fn a_very_deep_dentry_chain_is_dropped_iteratively() {
    let fs = TmpFs::new(5, TmpFsOptions::default());
    let ns = Namespace::new(fs.clone());
    let mut dir = fs.root();
    for _ in 0..200_000 {
        dir = dir.create(b"d", S_IFDIR | 0o755, 0, 0, 0).unwrap();
    }
    drop(dir);
    let mut ctx = Lookup::new(ns.root(), ns.root(), Cred::root());
    for _ in 0..200_000 {
        ctx.cwd = ns.resolve(&ctx, b"d").unwrap();
    }
    assert_eq!(ctx.cwd.dentry.name(), b"d");
    drop(ctx);
    drop(ns);
    drop(fs);
}
