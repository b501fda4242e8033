//! Permissions: `permitted` (classes, supplementary groups, root), and the namespace
//! operations' write/search checks and sticky-bit rule for an ordinary user.

mod common;

use common::*;
use exo_abi::mode::*;
use exo_abi::Errno;
use exo_vfs::*;

fn meta(mode: u32, uid: u32, gid: u32) -> Metadata {
    Metadata { mode, uid, gid, ..Metadata::default() }
}

#[test]
fn classes_and_bits() {
    let alice = Cred::new(1000, 100, vec![200, 300]);
    let file = |m| meta(S_IFREG | m, 1000, 100);
    assert!(permitted(&file(0o400), &alice, Access::READ));
    assert!(!permitted(&file(0o400), &alice, Access::WRITE));
    assert!(!permitted(&file(0o400), &alice, Access::new(true, true, false)));
    assert!(permitted(&file(0o700), &alice, Access::new(true, true, true)));
    assert!(!permitted(&file(0o077), &alice, Access::READ), "the owner class alone applies");
    // Group class through the primary and the supplementary groups.
    let grp = |m, gid| meta(S_IFREG | m, 1, gid);
    assert!(permitted(&grp(0o040, 100), &alice, Access::READ));
    assert!(permitted(&grp(0o020, 300), &alice, Access::WRITE));
    assert!(!permitted(&grp(0o007, 300), &alice, Access::READ), "group class, no bits");
    assert!(!permitted(&grp(0o040, 999), &alice, Access::READ));
    assert!(permitted(&grp(0o004, 999), &alice, Access::READ), "other class");
    assert!(permitted(&grp(0o001, 999), &alice, Access::EXEC));
    assert!(permitted(&grp(0o000, 999), &alice, Access::default()), "asking for nothing");
}

#[test]
fn root_overrides() {
    let root = Cred::root();
    let none = meta(S_IFREG, 1000, 1000);
    assert!(permitted(&none, &root, Access::new(true, true, false)));
    assert!(!permitted(&none, &root, Access::EXEC), "no x bit at all: even root may not execute");
    assert!(permitted(&meta(S_IFREG | 0o001, 1000, 1000), &root, Access::EXEC));
    assert!(permitted(&meta(S_IFDIR, 1000, 1000), &root, Access::EXEC), "directories are searchable");
}

#[test]
fn sticky_rule() {
    let dir = meta(S_IFDIR | 0o1777, 0, 0);
    let owned_by = |uid| meta(S_IFREG | 0o644, uid, 0);
    let alice = Cred::new(1000, 1000, vec![]);
    assert!(sticky_allows(&dir, &owned_by(1000), &alice));
    assert!(!sticky_allows(&dir, &owned_by(2000), &alice));
    assert!(sticky_allows(&dir, &owned_by(2000), &Cred::root()));
    assert!(sticky_allows(&meta(S_IFDIR | 0o1777, 1000, 0), &owned_by(2000), &alice), "the directory owner may");
    assert!(sticky_allows(&meta(S_IFDIR | 0o777, 0, 0), &owned_by(2000), &alice));
}

#[test]
fn changing_a_directory_needs_write_and_search() {
    let e = env();
    e.mkdir("/ro");
    e.write("/ro/f", b"");
    e.mkdir("/ro/sub");
    e.chmod("/ro", 0o755);
    e.mkdir("/rw");
    e.chmod("/rw", 0o777);
    let u = e.user(1000, 1000);
    assert_eq!(err(e.ns.create(&u, b"/ro/new", 0o644, false)), Errno::EACCES);
    assert!(e.ns.create(&u, b"/ro/f", 0o644, false).is_ok(), "opening an existing file needs no write on the dir");
    assert_eq!(err(e.ns.mkdir(&u, b"/ro/d", 0o755)), Errno::EACCES);
    assert_eq!(err(e.ns.mkdir(&u, b"/ro/f", 0o755)), Errno::EEXIST, "EEXIST before EACCES");
    assert_eq!(err(e.ns.mknod(&u, b"/ro/p", S_IFIFO | 0o644, 0)), Errno::EACCES);
    assert_eq!(err(e.ns.symlink(&u, b"x", b"/ro/l")), Errno::EACCES);
    assert_eq!(err(e.ns.link(&u, b"/ro/f", &u, b"/ro/g")), Errno::EACCES);
    assert_eq!(err(e.ns.unlink(&u, b"/ro/f")), Errno::EACCES);
    assert_eq!(err(e.ns.rmdir(&u, b"/ro/sub")), Errno::EACCES);
    assert_eq!(err(e.ns.rename(&u, b"/ro/f", &u, b"/rw/f", 0)), Errno::EACCES);
    assert_eq!(err(e.ns.unlink(&u, b"/ro/nope")), Errno::ENOENT, "ENOENT before EACCES");
    e.chmod("/rw", 0o776);
    assert_eq!(err(e.ns.create(&u, b"/rw/x", 0o644, false)), Errno::EACCES, "write without search");
    e.chmod("/rw", 0o777);
    assert_eq!(err(e.ns.rename(&u, b"/rw/../ro/f", &u, b"/rw/f", 0)), Errno::EACCES);
    e.ns.create(&u, b"/rw/mine", 0o600, false).unwrap();
    e.ns.rename(&u, b"/rw/mine", &u, b"/rw/yours", 0).unwrap();
    e.ns.unlink(&u, b"/rw/yours").unwrap();
    // Moving a directory to another parent rewrites its "..": it must be writable.
    e.ns.mkdir(&e.root(), b"/rw/rootdir", 0o755).unwrap();
    e.ns.mkdir(&u, b"/rw/other", 0o755).unwrap();
    assert_eq!(err(e.ns.rename(&u, b"/rw/rootdir", &u, b"/rw/other/x", 0)), Errno::EACCES);
    e.ns.rename(&u, b"/rw/rootdir", &u, b"/rw/renamed", 0).unwrap();
}

#[test]
fn the_sticky_bit_protects_other_users_files() {
    let e = env();
    e.mkdir("/tmp");
    e.chmod("/tmp", 0o1777);
    let alice = e.user(1000, 1000);
    let bob = e.user(2000, 2000);
    e.ns.create(&alice, b"/tmp/a", 0o666, false).unwrap();
    e.ns.mkdir(&alice, b"/tmp/adir", 0o777).unwrap();
    assert_eq!(err(e.ns.unlink(&bob, b"/tmp/a")), Errno::EPERM);
    assert_eq!(err(e.ns.rmdir(&bob, b"/tmp/adir")), Errno::EPERM);
    assert_eq!(err(e.ns.rename(&bob, b"/tmp/a", &bob, b"/tmp/b", 0)), Errno::EPERM);
    e.ns.create(&bob, b"/tmp/b", 0o666, false).unwrap();
    assert_eq!(err(e.ns.rename(&alice, b"/tmp/a", &alice, b"/tmp/b", 0)), Errno::EPERM, "cannot replace bob's file");
    assert!(e.ns.create(&bob, b"/tmp/a", 0o644, false).is_ok(), "opening is not removing");
    e.ns.unlink(&alice, b"/tmp/a").unwrap();
    e.ns.unlink(&e.root(), b"/tmp/b").unwrap();
    e.ns.rmdir(&alice, b"/tmp/adir").unwrap();
    // Without the sticky bit anyone with write access may remove.
    e.chmod("/tmp", 0o777);
    e.ns.create(&alice, b"/tmp/c", 0o600, false).unwrap();
    e.ns.unlink(&bob, b"/tmp/c").unwrap();
}
