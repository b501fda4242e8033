//! Namespace operations that add and remove names: `create` (`O_CREAT`), `mkdir`, `mknod`,
//! `symlink`, `link`, `unlink`, `rmdir` — results, errnos, `.`/`..`/trailing-slash handling,
//! setgid directories, and dentry-cache coherence.

mod common;

use common::*;
use exo_abi::mode::*;
use exo_abi::Errno;
use exo_vfs::*;

#[test]
fn mkdir_creates_and_refuses() {
    let e = env();
    let r = e.user(1000, 100);
    let d = e.ns.mkdir(&r, b"/d", 0o7777).unwrap();
    let m = d.metadata();
    assert_eq!((m.mode, m.uid, m.gid, m.nlink), (S_IFDIR | 0o1777, 1000, 100, 2));
    assert_eq!(e.get("/d"), d);
    e.write("/f", b"");
    for (p, want) in [
        ("/d", Errno::EEXIST),
        ("/d/", Errno::EEXIST),
        ("/f", Errno::EEXIST),
        ("/f/", Errno::EEXIST),
        ("/d/.", Errno::EEXIST),
        ("/d/..", Errno::EEXIST),
        ("/", Errno::EEXIST),
        ("/nope/x", Errno::ENOENT),
        ("/f/x", Errno::ENOTDIR),
        ("", Errno::ENOENT),
    ] {
        assert_eq!(err(e.ns.mkdir(&r, p.as_bytes(), 0o755)), want, "mkdir {p:?}");
    }
    e.ns.mkdir(&r, b"/d/sub//", 0o755).unwrap();
    assert!(e.get("/d/sub").metadata().is_dir());
    assert_eq!(e.get("/d").metadata().nlink, 3);
}

#[test]
fn create_is_open_with_o_creat() {
    let e = env();
    let r = e.root();
    let (f, created) = e.ns.create(&r, b"/f", 0o7644, false).unwrap();
    assert!(created);
    assert_eq!(f.metadata().mode, S_IFREG | 0o7644);
    f.inode().write_at(0, b"x").unwrap();
    let (again, created) = e.ns.create(&r, b"/f", 0o600, false).unwrap();
    assert!(!created);
    assert_eq!(again, f);
    assert_eq!(again.metadata().mode, S_IFREG | 0o7644, "an existing file keeps its mode");
    e.mkdir("/d");
    for (p, excl, want) in [
        ("/f", true, Errno::EEXIST),
        ("/d", false, Errno::EISDIR),
        ("/d", true, Errno::EEXIST),
        ("/d/.", false, Errno::EISDIR),
        ("/d/..", false, Errno::EISDIR),
        ("/", false, Errno::EISDIR),
        ("/new/", false, Errno::EISDIR),
        ("/f/", false, Errno::EISDIR),
        ("/nope/x", false, Errno::ENOENT),
        ("/f/x", false, Errno::ENOTDIR),
    ] {
        assert_eq!(err(e.ns.create(&r, p.as_bytes(), 0o644, excl)), want, "create {p:?} excl={excl}");
    }
}

#[test]
fn create_through_symlinks() {
    let e = env();
    let r = e.root();
    e.mkdir("/d");
    e.write("/d/target", b"t");
    e.symlink("d/target", "/to_file");
    e.symlink("/d/missing", "/dangling");
    e.symlink("d", "/to_dir");
    let (p, created) = e.ns.create(&r, b"/to_file", 0o644, false).unwrap();
    assert!(!created);
    assert_eq!(p, e.get("/d/target"));
    let (p, created) = e.ns.create(&r, b"/dangling", 0o644, false).unwrap();
    assert!(created, "a dangling link's target is created");
    assert_eq!(p, e.get("/d/missing"));
    assert_eq!(err(e.ns.create(&r, b"/to_dir", 0o644, false)), Errno::EISDIR);
    assert_eq!(err(e.ns.create(&r, b"/to_file", 0o644, true)), Errno::EEXIST, "O_EXCL never follows");
    assert_eq!(err(e.ns.create(&r.clone().follow(false), b"/to_file", 0o644, false)), Errno::ELOOP);
    e.symlink("self", "/self");
    assert_eq!(err(e.ns.create(&r, b"/self", 0o644, false)), Errno::ELOOP);
}

#[test]
fn mknod_types_and_privileges() {
    let e = env();
    let r = e.root();
    let user = e.user(1000, 1000);
    assert_eq!(e.ns.mknod(&user, b"/fifo", S_IFIFO | 0o600, 0).unwrap().metadata().mode, S_IFIFO | 0o600);
    assert_eq!(e.ns.mknod(&user, b"/sock", S_IFSOCK | 0o600, 0).unwrap().metadata().file_type(), S_IFSOCK);
    assert_eq!(e.ns.mknod(&user, b"/plain", 0o640, 0).unwrap().metadata().mode, S_IFREG | 0o640);
    let null = e.ns.mknod(&r, b"/null", S_IFCHR | 0o666, makedev(1, 3)).unwrap();
    assert_eq!(null.metadata().rdev, makedev(1, 3));
    assert_eq!(e.ns.mknod(&r, b"/sda", S_IFBLK | 0o660, makedev(8, 0)).unwrap().metadata().rdev, makedev(8, 0));
    assert_eq!(err(e.ns.mknod(&user, b"/c", S_IFCHR | 0o666, 0)), Errno::EPERM);
    assert_eq!(err(e.ns.mknod(&user, b"/b", S_IFBLK | 0o666, 0)), Errno::EPERM);
    assert_eq!(err(e.ns.mknod(&r, b"/d", S_IFDIR | 0o755, 0)), Errno::EPERM);
    assert_eq!(err(e.ns.mknod(&r, b"/l", S_IFLNK | 0o755, 0)), Errno::EINVAL);
    assert_eq!(err(e.ns.mknod(&r, b"/fifo", S_IFIFO | 0o600, 0)), Errno::EEXIST);
    assert_eq!(err(e.ns.mknod(&r, b"/p/", S_IFIFO | 0o600, 0)), Errno::ENOENT);
    assert_eq!(err(e.ns.mknod(&r, b"/.", S_IFIFO | 0o600, 0)), Errno::EEXIST);
}

#[test]
fn symlink_creation() {
    let e = env();
    let r = e.user(5, 6);
    let l = e.ns.symlink(&r, b"anything/at/all", b"/l").unwrap();
    let m = l.metadata();
    assert_eq!((m.mode, m.uid, m.gid, m.size), (S_IFLNK | 0o777, 5, 6, 15));
    assert_eq!(l.inode().readlink().unwrap(), b"anything/at/all");
    assert_eq!(err(e.ns.symlink(&r, b"x", b"/l")), Errno::EEXIST);
    assert_eq!(err(e.ns.symlink(&r, b"", b"/m")), Errno::ENOENT);
    assert_eq!(err(e.ns.symlink(&r, &[b'a'; PATH_MAX], b"/m")), Errno::ENAMETOOLONG);
    assert!(e.ns.symlink(&r, &[b'a'; PATH_MAX - 1], b"/m").is_ok());
    assert_eq!(err(e.ns.symlink(&r, b"x", b"/n/")), Errno::ENOENT);
    assert_eq!(err(e.ns.symlink(&r, b"x", b"/")), Errno::EEXIST);
    assert_eq!(err(e.ns.symlink(&r, b"x", b"/l/")), Errno::EEXIST);
}

#[test]
fn link_counts_and_rules() {
    let e = env();
    let r = e.root();
    let f = e.write("/f", b"data");
    e.mkdir("/d");
    e.ns.link(&r, b"/f", &r, b"/d/g").unwrap();
    e.ns.link(&r, b"/d/g", &r, b"/h").unwrap();
    assert_eq!(f.metadata().nlink, 3);
    assert_eq!(read_all(e.get("/h").inode()), b"data");
    assert_eq!(e.get("/h").metadata().ino, f.metadata().ino);
    assert_eq!(err(e.ns.link(&r, b"/f", &r, b"/h")), Errno::EEXIST);
    assert_eq!(err(e.ns.link(&r, b"/d", &r, b"/d2")), Errno::EPERM);
    assert_eq!(err(e.ns.link(&r, b"/nope", &r, b"/x")), Errno::ENOENT);
    assert_eq!(err(e.ns.link(&r, b"/f", &r, b"/x/")), Errno::ENOENT);
    assert_eq!(err(e.ns.link(&r, b"/f", &r, b"/d/..")), Errno::EEXIST);
    // AT_SYMLINK_FOLLOW decides whether the link or its target gets the new name.
    e.symlink("f", "/sl");
    e.ns.link(&r.clone().follow(false), b"/sl", &r, b"/sl2").unwrap();
    assert!(e.ns.resolve(&r.clone().follow(false), b"/sl2").unwrap().metadata().is_symlink());
    e.ns.link(&r, b"/sl", &r, b"/f4").unwrap();
    assert_eq!(f.metadata().nlink, 4);
    e.ns.unlink(&r, b"/f").unwrap();
    e.ns.unlink(&r, b"/d/g").unwrap();
    assert_eq!(f.metadata().nlink, 2);
}

#[test]
fn unlink_rules() {
    let e = env();
    let r = e.root();
    e.mkdir("/d");
    e.write("/f", b"");
    e.symlink("f", "/l");
    for (p, want) in [
        ("/d", Errno::EISDIR),
        ("/d/", Errno::EISDIR),
        ("/f/", Errno::ENOTDIR),
        ("/l/", Errno::ENOTDIR),
        ("/nope", Errno::ENOENT),
        ("/d/.", Errno::EISDIR),
        ("/d/..", Errno::EISDIR),
        ("/", Errno::EISDIR),
        ("/f/x", Errno::ENOTDIR),
    ] {
        assert_eq!(err(e.ns.unlink(&r, p.as_bytes())), want, "unlink {p:?}");
    }
    e.ns.unlink(&r, b"/l").unwrap();
    assert!(e.exists("/f"), "unlinking a symlink leaves its target");
    let f = e.get("/f");
    e.ns.unlink(&r, b"/f").unwrap();
    assert!(f.is_deleted());
    assert_eq!(f.metadata().nlink, 0);
    assert!(!e.exists("/f"));
    assert_eq!(e.ls("/"), ["d"]);
}

#[test]
fn rmdir_rules() {
    let e = env();
    let r = e.root();
    e.mkdir("/d");
    e.mkdir("/d/sub");
    e.write("/f", b"");
    for (p, want) in [
        ("/d", Errno::ENOTEMPTY),
        ("/f", Errno::ENOTDIR),
        ("/nope", Errno::ENOENT),
        ("/d/sub/.", Errno::EINVAL),
        ("/d/sub/..", Errno::ENOTEMPTY),
        ("/", Errno::EBUSY),
        ("/f/", Errno::ENOTDIR),
    ] {
        assert_eq!(err(e.ns.rmdir(&r, p.as_bytes())), want, "rmdir {p:?}");
    }
    e.ns.rmdir(&r, b"/d/sub/").unwrap();
    e.ns.rmdir(&r, b"d").unwrap();
    assert_eq!(e.fs.root().metadata().nlink, 2);
}

#[test]
fn a_deleted_cwd() {
    let e = env();
    e.mkdir("/d");
    let cwd = Lookup { cwd: e.get("/d"), ..e.root() };
    e.ns.rmdir(&e.root(), b"/d").unwrap();
    assert!(cwd.cwd.is_deleted());
    assert_eq!(err(e.ns.create(&cwd, b"x", 0o644, false)), Errno::ENOENT);
    assert_eq!(err(e.ns.mkdir(&cwd, b"x", 0o755)), Errno::ENOENT);
    assert_eq!(e.ns.resolve(&cwd, b".").unwrap(), cwd.cwd);
    assert_eq!(e.ns.resolve(&cwd, b"..").unwrap(), e.ns.root());
    e.mkdir("/d");
    assert_ne!(e.get("/d"), cwd.cwd, "a new directory of the same name is another object");
}

#[test]
fn setgid_directories_pass_their_group_on() {
    let e = env();
    e.mkdir("/shared");
    e.chown("/shared", 0, 50);
    e.chmod("/shared", 0o2777);
    let user = e.user(1000, 1000);
    let d = e.ns.mkdir(&user, b"/shared/sub", 0o755).unwrap();
    assert_eq!((d.metadata().gid, d.metadata().mode), (50, S_IFDIR | 0o2755));
    let (f, _) = e.ns.create(&user, b"/shared/f", 0o2755, false).unwrap();
    assert_eq!((f.metadata().gid, f.metadata().mode), (50, S_IFREG | 0o755), "non-member loses setgid");
    let member = Lookup { cred: Cred::new(1000, 1000, vec![50]), ..user.clone() };
    let (g, _) = e.ns.create(&member, b"/shared/g", 0o2755, false).unwrap();
    assert_eq!(g.metadata().mode, S_IFREG | 0o2755);
    let (h, _) = e.ns.create(&user, b"/h", 0o644, false).unwrap();
    assert_eq!(h.metadata().gid, 1000);
}

#[test]
fn the_dentry_cache_stays_coherent() {
    let e = env();
    let r = e.root();
    e.mkdir("/a");
    let first = e.write("/a/f", b"one");
    assert_eq!(e.get("/a/f"), first, "cached");
    e.ns.unlink(&r, b"/a/f").unwrap();
    assert_eq!(err(e.ns.resolve(&r, b"/a/f")), Errno::ENOENT);
    let second = e.write("/a/f", b"two");
    assert_ne!(second.metadata().ino, first.metadata().ino);
    assert_eq!(read_all(e.get("/a/f").inode()), b"two");
    // Names created behind the namespace's back (directly on the inode) are found too.
    e.get("/a").inode().create(b"direct", S_IFREG | 0o644, 0, 0, 0).unwrap();
    assert!(e.exists("/a/direct"));
}
