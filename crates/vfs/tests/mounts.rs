//! Mounts: crossing into mounted file systems and back out with `..`, stacking, `umount`
//! rules, `/proc/mounts` data, read-only mounts, and the `EBUSY`/`EXDEV` rules of the name
//! operations at mount points.

mod common;

use common::*;
use exo_abi::Errno;
use exo_vfs::*;

fn mounted() -> Env {
    let e = env();
    e.mkdir("/mnt");
    e.write("/mnt/hidden", b"under");
    e.mkdir("/a");
    let at = e.get("/mnt");
    e.ns.mount(&at, other_fs(2), 0).unwrap();
    e
}

#[test]
fn lookup_crosses_into_the_mount_and_dotdot_back_out() {
    let e = mounted();
    let mnt = e.get("/mnt");
    assert_eq!(mnt.metadata().dev, 2);
    assert!(mnt.is_mount_root());
    assert!(!e.exists("/mnt/hidden"), "the mount covers what was there");
    e.mkdir("/mnt/x");
    e.write("/mnt/x/file", b"on fs 2");
    assert_eq!(e.get("/mnt/x/file").metadata().dev, 2);
    assert_eq!(e.get("/mnt/..").metadata().dev, 1);
    assert_eq!(e.get("/mnt/.."), e.ns.root());
    assert_eq!(e.get("/mnt/x/../../a"), e.get("/a"));
    let inside = Lookup { cwd: e.get("/mnt/x"), ..e.root() };
    assert_eq!(e.ns.resolve(&inside, b"../../a").unwrap(), e.get("/a"));
    assert_eq!(path_str(e.ns.path_of(&e.get("/mnt/x/file"), &e.ns.root())), "/mnt/x/file");
    assert_eq!(path_str(e.ns.path_of(&mnt, &e.ns.root())), "/mnt");
}

#[test]
fn a_chroot_at_a_mount_root_holds() {
    let e = mounted();
    e.mkdir("/mnt/x");
    let jail = Lookup { root: e.get("/mnt"), cwd: e.get("/mnt/x"), ..e.root() };
    assert_eq!(e.ns.resolve(&jail, b"../../..").unwrap(), e.get("/mnt"));
    assert_eq!(e.ns.resolve(&jail, b"/x").unwrap(), e.get("/mnt/x"));
    assert_eq!(path_str(e.ns.path_of(&jail.cwd, &jail.root)), "/x");
    e.symlink("/x", "/mnt/abs");
    assert_eq!(e.ns.resolve(&jail, b"/abs").unwrap(), e.get("/mnt/x"));
}

#[test]
fn umount_reveals_and_stacking_works() {
    let e = mounted();
    let top = e.get("/mnt");
    e.ns.mount(&top, other_fs(3), 0).unwrap();
    assert_eq!(e.get("/mnt").metadata().dev, 3, "the new mount stacks on top");
    assert_eq!(e.get("/mnt/.."), e.ns.root());
    e.ns.umount(&e.get("/mnt")).unwrap();
    assert_eq!(e.get("/mnt").metadata().dev, 2);
    e.ns.umount(&e.get("/mnt")).unwrap();
    assert_eq!(e.get("/mnt").metadata().dev, 1);
    assert!(e.exists("/mnt/hidden"));
    assert_eq!(err(e.ns.umount(&e.get("/mnt"))), Errno::EINVAL);
    assert_eq!(err(e.ns.umount(&top)), Errno::EINVAL, "already unmounted");
}

#[test]
fn a_detached_mount_is_its_own_root() {
    // Found by host fuzzing (corpus vfs_path/regress-detached-mount-dotdot): a path held into
    // an unmounted file system climbed back into the old parent with `..` and `path_of` gave
    // its old absolute path. Like Linux's lazy umount, the detached mount is cut off.
    let e = mounted();
    e.mkdir("/mnt/in");
    let inside = e.get("/mnt/in");
    let detached_root = e.get("/mnt");
    e.ns.umount(&detached_root).unwrap();
    let ctx = Lookup { cwd: inside.clone(), ..e.root() };
    assert_eq!(e.ns.resolve(&ctx, b"../../..").unwrap(), detached_root, "`..` stops at the detached root");
    assert_eq!(path_str(e.ns.path_of(&inside, &e.ns.root())), "(unreachable)/in");
    assert!(e.ns.resolve(&ctx, b".").is_ok(), "paths into the detached mount still work");
}

#[test]
fn umount_and_mount_errors() {
    let e = mounted();
    e.mkdir("/mnt/sub");
    assert_eq!(err(e.ns.umount(&e.get("/a"))), Errno::EINVAL, "not a mount");
    assert_eq!(err(e.ns.umount(&e.get("/mnt/sub"))), Errno::EINVAL, "inside a mount, not its root");
    assert_eq!(err(e.ns.umount(&e.ns.root())), Errno::EBUSY);
    e.ns.mount(&e.get("/mnt/sub"), other_fs(4), 0).unwrap();
    assert_eq!(err(e.ns.umount(&e.get("/mnt"))), Errno::EBUSY, "has a mount below");
    e.ns.umount(&e.get("/mnt/sub")).unwrap();
    e.write("/file", b"");
    assert_eq!(err(e.ns.mount(&e.get("/file"), other_fs(5), 0)), Errno::ENOTDIR);
    let fs6 = other_fs(6);
    e.ns.mount(&e.get("/a"), fs6.clone(), 0).unwrap();
    e.mkdir("/mnt/again");
    assert_eq!(err(e.ns.mount(&e.get("/mnt/again"), fs6, 0)), Errno::EBUSY, "already mounted");
    let stale = e.get("/mnt/again");
    e.ns.mount(&stale, other_fs(10), 0).unwrap();
    assert_eq!(err(e.ns.mount(&stale, other_fs(11), 0)), Errno::EBUSY, "a stale path: something is mounted on it");
    e.ns.mount(&e.get("/mnt/again"), other_fs(11), 0).unwrap();
    assert_eq!(e.get("/mnt/again").metadata().dev, 11);
    e.mkdir("/gone");
    let gone = e.get("/gone");
    e.ns.rmdir(&e.root(), b"/gone").unwrap();
    assert_eq!(err(e.ns.mount(&gone, other_fs(7), 0)), Errno::ENOENT);
}

#[test]
fn mount_table_for_proc_mounts() {
    let e = mounted();
    e.mkdir("/mnt/deep");
    e.ns.mount(&e.get("/mnt/deep"), other_fs(8), MS_NOSUID | MS_NODEV).unwrap();
    let infos = e.ns.mounts();
    let lines: Vec<(String, String, u64, u64)> =
        infos.iter().map(|m| (path_str(m.path.clone()), m.fs_name.clone(), m.fs_id, m.flags)).collect();
    assert_eq!(
        lines,
        [
            ("/".into(), "tmpfs".into(), 1, 0),
            ("/mnt".into(), "tmpfs".into(), 2, 0),
            ("/mnt/deep".into(), "tmpfs".into(), 8, MS_NOSUID | MS_NODEV)
        ]
    );
    e.ns.rename(&e.root(), b"/mnt", &e.root(), b"/media", 0).map(|_| ()).unwrap_err();
    e.mkdir("/outer");
    e.mkdir("/outer/in");
    e.ns.mount(&e.get("/outer/in"), other_fs(9), 0).unwrap();
    e.ns.rename(&e.root(), b"/outer", &e.root(), b"/moved", 0).unwrap();
    assert_eq!(path_str(e.ns.mounts()[3].path.clone()), "/moved/in", "mount paths follow renames of ancestors");
    assert_eq!(e.get("/moved/in").metadata().dev, 9);
}

#[test]
fn mount_points_are_busy_and_mounts_are_separate_devices() {
    let e = mounted();
    let user = e.root();
    assert_eq!(err(e.ns.rmdir(&user, b"/mnt")), Errno::EBUSY);
    assert_eq!(err(e.ns.rename(&user, b"/mnt", &user, b"/other", 0)), Errno::EBUSY);
    assert_eq!(err(e.ns.rename(&user, b"/a", &user, b"/mnt", 0)), Errno::EBUSY);
    e.write("/mnt/f", b"x");
    e.write("/g", b"y");
    assert_eq!(err(e.ns.rename(&user, b"/mnt/f", &user, b"/f", 0)), Errno::EXDEV);
    assert_eq!(err(e.ns.rename(&user, b"/g", &user, b"/mnt/g", 0)), Errno::EXDEV);
    assert_eq!(err(e.ns.link(&user, b"/mnt/f", &user, b"/f2")), Errno::EXDEV);
    assert_eq!(err(e.ns.link(&user, b"/g", &user, b"/mnt/g2")), Errno::EXDEV);
    assert_eq!(err(e.ns.rmdir(&user, b"/mnt/.")), Errno::EINVAL);
}

#[test]
fn read_only_mounts_refuse_changes() {
    let e = env();
    e.mkdir("/ro");
    let fs = other_fs(2);
    fs.root().create(b"f", exo_abi::mode::S_IFREG | 0o644, 0, 0, 0).unwrap();
    e.ns.mount(&e.get("/ro"), fs, MS_RDONLY).unwrap();
    let r = e.root();
    assert!(e.get("/ro").is_readonly());
    assert_eq!(err(e.ns.mkdir(&r, b"/ro/d", 0o755)), Errno::EROFS);
    assert_eq!(err(e.ns.create(&r, b"/ro/new", 0o644, false)), Errno::EROFS);
    assert_eq!(err(e.ns.unlink(&r, b"/ro/f")), Errno::EROFS);
    assert_eq!(err(e.ns.rename(&r, b"/ro/f", &r, b"/ro/g", 0)), Errno::EROFS);
    assert_eq!(err(e.ns.symlink(&r, b"x", b"/ro/l")), Errno::EROFS);
    assert_eq!(err(e.ns.mknod(&r, b"/ro/p", exo_abi::mode::S_IFIFO | 0o644, 0)), Errno::EROFS);
    assert_eq!(err(e.ns.mkdir(&r, b"/ro/f", 0o755)), Errno::EEXIST, "EEXIST wins over EROFS");
    let (f, created) = e.ns.create(&r, b"/ro/f", 0o644, false).unwrap();
    assert!(!created && f.is_readonly());
    assert_eq!(err(e.ns.remount(&e.get("/"), 0).and(e.ns.remount(&e.get("/ro/f"), 0))), Errno::EINVAL);
    e.ns.remount(&e.get("/ro"), 0).unwrap();
    e.ns.mkdir(&r, b"/ro/d", 0o755).unwrap();
}

#[test]
fn paths_inside_an_unmounted_fs_keep_working() {
    let e = mounted();
    e.mkdir("/mnt/x");
    let cwd = Lookup { cwd: e.get("/mnt/x"), ..e.root() };
    e.ns.umount(&e.get("/mnt")).unwrap();
    e.ns.mkdir(&cwd, b"y", 0o755).unwrap();
    assert_eq!(e.ns.resolve(&cwd, b"y").unwrap().metadata().dev, 2);
    // Cut off from the tree, as Linux's getcwd() reports after `umount -l`.
    assert_eq!(path_str(e.ns.path_of(&cwd.cwd, &e.ns.root())), "(unreachable)/x");
}

#[test]
fn move_mount_carries_the_mounts_below_and_keeps_held_paths() {
    let e = mounted();
    e.mkdir("/mnt/dev");
    e.ns.mount(&e.get("/mnt/dev"), other_fs(3), 0).unwrap();
    e.write("/mnt/dev/node", b"x");
    let held = e.get("/mnt/dev/node");
    e.mkdir("/new");
    e.ns.move_mount(&e.get("/mnt"), &e.get("/new")).unwrap();
    assert_eq!(e.get("/mnt/hidden").metadata().size, 5, "the old mount point shows what it covered");
    assert_eq!(e.get("/new").metadata().dev, 2);
    assert_eq!(e.get("/new/dev/node"), held, "the mount below moved with it");
    assert_eq!(e.get("/new/dev/..").metadata().dev, 2);
    assert_eq!(e.get("/new/.."), e.ns.root());
    assert_eq!(path_str(e.ns.path_of(&held, &e.ns.root())), "/new/dev/node");
    let paths: Vec<String> = e.ns.mounts().iter().map(|m| path_str(m.path.clone())).collect();
    assert_eq!(paths, ["/", "/new", "/new/dev"]);
    // Moving it again, then umount works from the new place.
    e.ns.move_mount(&e.get("/new/dev"), &e.get("/a")).unwrap();
    assert_eq!(e.get("/a/node"), held);
    e.ns.umount(&e.get("/a")).unwrap();
    assert!(!e.exists("/a/node"));
}

#[test]
fn move_mount_errors_and_switch_root_onto_slash() {
    let e = mounted();
    assert_eq!(err(e.ns.move_mount(&e.get("/a"), &e.get("/mnt"))), Errno::EINVAL, "not a mount root");
    assert_eq!(err(e.ns.move_mount(&e.ns.root(), &e.get("/a"))), Errno::EINVAL, "the namespace root");
    e.mkdir("/mnt/in");
    assert_eq!(err(e.ns.move_mount(&e.get("/mnt"), &e.get("/mnt/in"))), Errno::ELOOP, "under itself");
    e.write("/f", b"");
    assert_eq!(err(e.ns.move_mount(&e.get("/mnt"), &e.get("/f"))), Errno::ENOTDIR);
    assert_eq!(err(e.ns.move_mount(&e.get("/mnt"), &e.get("/mnt"))), Errno::ELOOP, "onto itself");
    // switch_root: chdir(newroot); mount(".", "/", MS_MOVE); chroot(".").
    let newroot = e.get("/mnt");
    e.ns.move_mount(&newroot, &e.ns.root()).unwrap();
    let chrooted = Lookup::new(newroot.clone(), newroot.clone(), Cred::root());
    assert_eq!(e.ns.resolve(&chrooted, b"/in").unwrap().metadata().dev, 2);
    assert_eq!(e.ns.resolve(&chrooted, b"/..").unwrap(), newroot, "`..` stops at the process root");
    assert_eq!(path_str(e.ns.path_of(&newroot, &e.ns.root())), "/");
    assert_eq!(err(e.ns.move_mount(&e.get("/a"), &e.get("/a"))), Errno::EINVAL);
}
