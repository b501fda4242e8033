//! tmpfs directories at the inode level: lookup, create, hard links and link counts, unlink,
//! rmdir, rename rules, and listing cursors that survive concurrent changes.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::*;
use exo_abi::mode::*;
use exo_abi::Errno;
use exo_vfs::*;

fn mkdir(dir: &Arc<dyn Inode>, name: &str) -> Arc<dyn Inode> {
    dir.create(name.as_bytes(), S_IFDIR | 0o755, 0, 0, 0).unwrap()
}

fn touch(dir: &Arc<dyn Inode>, name: &str) -> Arc<dyn Inode> {
    dir.create(name.as_bytes(), S_IFREG | 0o644, 0, 0, 0).unwrap()
}

fn same(a: &Arc<dyn Inode>, b: &Arc<dyn Inode>) -> bool {
    a.metadata().ino == b.metadata().ino
}

#[test]
fn create_and_lookup() {
    let e = env();
    let root = e.fs.root();
    let f = touch(&root, "f");
    assert!(same(&root.lookup(b"f").unwrap(), &f));
    assert!(same(&root.lookup(b".").unwrap(), &root));
    assert!(same(&root.lookup(b"..").unwrap(), &root), "the root is its own parent");
    let d = mkdir(&root, "d");
    assert!(same(&d.lookup(b"..").unwrap(), &root));
    assert_eq!(err(root.lookup(b"nope")), Errno::ENOENT);
    assert_eq!(err(root.lookup(b"")), Errno::ENOENT);
    assert_eq!(err(root.lookup(&[b'x'; 256])), Errno::ENAMETOOLONG);
    assert_eq!(err(root.lookup(b"a/b")), Errno::EINVAL);
}

#[test]
fn create_rejects_existing_and_bad_names() {
    let e = env();
    let root = e.fs.root();
    touch(&root, "f");
    assert_eq!(err(root.create(b"f", S_IFREG | 0o644, 0, 0, 0)), Errno::EEXIST);
    assert_eq!(err(root.create(b"f", S_IFDIR | 0o755, 0, 0, 0)), Errno::EEXIST);
    assert_eq!(err(root.symlink(b"f", b"x", 0, 0)), Errno::EEXIST);
    assert_eq!(err(root.create(b".", S_IFDIR | 0o755, 0, 0, 0)), Errno::EEXIST);
    assert_eq!(err(root.create(b"..", S_IFREG | 0o755, 0, 0, 0)), Errno::EEXIST);
    assert_eq!(err(root.create(b"", S_IFREG, 0, 0, 0)), Errno::ENOENT);
    assert_eq!(err(root.create(b"a/b", S_IFREG, 0, 0, 0)), Errno::EINVAL);
    assert_eq!(err(root.create(b"a\0b", S_IFREG, 0, 0, 0)), Errno::EINVAL);
    assert_eq!(err(root.create(&[b'n'; 256], S_IFREG, 0, 0, 0)), Errno::ENAMETOOLONG);
    assert!(root.create(&[b'n'; 255], S_IFREG, 0, 0, 0).is_ok());
}

#[test]
fn directory_link_counts() {
    let e = env();
    let root = e.fs.root();
    assert_eq!(root.metadata().nlink, 2);
    let a = mkdir(&root, "a");
    mkdir(&root, "b");
    touch(&root, "f");
    assert_eq!(root.metadata().nlink, 4, "2 + two subdirectories; files do not count");
    assert_eq!(a.metadata().nlink, 2);
    mkdir(&a, "x");
    assert_eq!(a.metadata().nlink, 3);
    a.rmdir(b"x").unwrap();
    assert_eq!(a.metadata().nlink, 2);
    root.rmdir(b"b").unwrap();
    assert_eq!(root.metadata().nlink, 3);
    root.rename(b"a", &root, b"c", 0).unwrap();
    assert_eq!(root.metadata().nlink, 3);
}

#[test]
fn hard_links_share_the_inode() {
    let e = env();
    let root = e.fs.root();
    let d = mkdir(&root, "d");
    let f = touch(&root, "f");
    e.clock.set(2000);
    root.link(b"g", &f).unwrap();
    d.link(b"h", &f).unwrap();
    assert_eq!(f.metadata().nlink, 3);
    assert_eq!(f.metadata().ctime, Time::new(2000, 0));
    f.write_at(0, b"shared").unwrap();
    assert_eq!(read_all(&d.lookup(b"h").unwrap()), b"shared");
    root.unlink(b"f").unwrap();
    assert_eq!(f.metadata().nlink, 2);
    root.unlink(b"g").unwrap();
    d.unlink(b"h").unwrap();
    assert_eq!(f.metadata().nlink, 0);
    assert_eq!(err(root.link(b"again", &f)), Errno::ENOENT, "an unlinked inode cannot get a name back");
    assert_eq!(err(root.link(b"d2", &d)), Errno::EPERM);
    let other = other_fs(2);
    assert_eq!(err(other.root().link(b"x", &touch(&root, "y"))), Errno::EXDEV);
    assert_eq!(err(root.link(b"d", &touch(&root, "z"))), Errno::EEXIST);
}

#[test]
fn unlink_and_rmdir_errnos() {
    let e = env();
    let root = e.fs.root();
    let d = mkdir(&root, "d");
    touch(&d, "f");
    touch(&root, "f");
    assert_eq!(err(root.unlink(b"d")), Errno::EISDIR);
    assert_eq!(err(root.unlink(b"nope")), Errno::ENOENT);
    assert_eq!(err(root.unlink(b".")), Errno::EISDIR);
    assert_eq!(err(root.rmdir(b"f")), Errno::ENOTDIR);
    assert_eq!(err(root.rmdir(b"d")), Errno::ENOTEMPTY);
    assert_eq!(err(root.rmdir(b".")), Errno::EINVAL);
    assert_eq!(err(root.rmdir(b"..")), Errno::ENOTEMPTY);
    assert_eq!(err(root.rmdir(b"nope")), Errno::ENOENT);
    d.unlink(b"f").unwrap();
    root.rmdir(b"d").unwrap();
    assert_eq!(d.metadata().nlink, 0);
    // A removed directory stays usable as an object but accepts nothing new.
    assert_eq!(err(d.create(b"x", S_IFREG | 0o644, 0, 0, 0)), Errno::ENOENT);
    assert_eq!(err(d.lookup(b"x")), Errno::ENOENT);
    assert_eq!(err(d.read_dir(0, &mut |_| true)), Errno::ENOENT);
}

#[test]
fn rename_moves_and_replaces() {
    let e = env();
    let root = e.fs.root();
    let a = mkdir(&root, "a");
    let b = mkdir(&root, "b");
    let f = touch(&a, "f");
    e.clock.set(2000);
    a.rename(b"f", &b, b"g", 0).unwrap();
    assert_eq!(err(a.lookup(b"f")), Errno::ENOENT);
    assert!(same(&b.lookup(b"g").unwrap(), &f));
    assert_eq!(a.metadata().mtime, Time::new(2000, 0));
    assert_eq!(b.metadata().mtime, Time::new(2000, 0));
    assert_eq!(f.metadata().ctime, Time::new(2000, 0));
    // Replace a file: the victim loses a link.
    let victim = touch(&root, "v");
    b.rename(b"g", &root, b"v", 0).unwrap();
    assert_eq!(victim.metadata().nlink, 0);
    assert!(same(&root.lookup(b"v").unwrap(), &f));
    // Replace an empty directory with a directory; the parents' counts follow.
    let sub = mkdir(&a, "sub");
    let empty = mkdir(&b, "empty");
    a.rename(b"sub", &b, b"empty", 0).unwrap();
    assert_eq!(empty.metadata().nlink, 0);
    assert_eq!((a.metadata().nlink, b.metadata().nlink), (2, 3));
    assert!(same(&sub.lookup(b"..").unwrap(), &b), "a moved directory's .. follows");
}

#[test]
fn rename_type_rules() {
    let e = env();
    let root = e.fs.root();
    let d = mkdir(&root, "d");
    mkdir(&root, "e");
    touch(&d, "inside");
    touch(&root, "f");
    touch(&root, "g");
    assert_eq!(err(root.rename(b"e", &root, b"f", 0)), Errno::ENOTDIR, "dir over non-dir");
    assert_eq!(err(root.rename(b"f", &root, b"e", 0)), Errno::EISDIR, "non-dir over dir");
    assert_eq!(err(root.rename(b"e", &root, b"d", 0)), Errno::ENOTEMPTY);
    assert_eq!(err(root.rename(b"nope", &root, b"x", 0)), Errno::ENOENT);
    assert_eq!(err(root.rename(b"f", &root, b"g", RENAME_NOREPLACE)), Errno::EEXIST);
    assert_eq!(err(root.rename(b"f", &root, b"x", RENAME_EXCHANGE)), Errno::ENOENT);
    assert_eq!(err(root.rename(b"f", &root, b"g", 3)), Errno::EINVAL);
    assert_eq!(err(root.rename(b"f", &root, b"g", RENAME_WHITEOUT)), Errno::EINVAL);
    assert_eq!(err(root.rename(b"d", &d, b"x", 0)), Errno::EINVAL, "into itself");
    let deep = mkdir(&mkdir(&d, "x"), "y");
    assert_eq!(err(root.rename(b"d", &deep, b"z", 0)), Errno::EINVAL, "into its own subtree");
    assert_eq!(err(d.rename(b"x", &root, b"d", 0)), Errno::ENOTEMPTY, "over its own ancestor");
    assert_eq!(err(root.rename(b".", &root, b"x", 0)), Errno::EBUSY);
    assert_eq!(err(root.rename(b"f", &root, b"..", 0)), Errno::EBUSY);
    let other = other_fs(2);
    assert_eq!(err(root.rename(b"f", &other.root(), b"f", 0)), Errno::EXDEV);
    assert_eq!(err(root.rename(b"f", &touch(&root, "h"), b"x", 0)), Errno::ENOTDIR);
}

#[test]
fn rename_same_inode_is_a_no_op() {
    let e = env();
    let root = e.fs.root();
    let f = touch(&root, "f");
    root.link(b"g", &f).unwrap();
    root.rename(b"f", &root, b"g", 0).unwrap();
    assert!(root.lookup(b"f").is_ok() && root.lookup(b"g").is_ok());
    assert_eq!(f.metadata().nlink, 2);
    root.rename(b"f", &root, b"f", 0).unwrap();
    assert!(root.lookup(b"f").is_ok());
}

#[test]
fn rename_exchange_swaps() {
    let e = env();
    let root = e.fs.root();
    let a = mkdir(&root, "a");
    let b = mkdir(&root, "b");
    let f = touch(&a, "f");
    let sub = mkdir(&b, "sub");
    mkdir(&sub, "leaf");
    a.rename(b"f", &b, b"sub", RENAME_EXCHANGE).unwrap();
    assert!(same(&a.lookup(b"f").unwrap(), &sub));
    assert!(same(&b.lookup(b"sub").unwrap(), &f));
    assert!(same(&sub.lookup(b"..").unwrap(), &a));
    assert_eq!((a.metadata().nlink, b.metadata().nlink), (3, 2));
    assert_eq!(err(root.rename(b"a", &sub, b"leaf", RENAME_EXCHANGE)), Errno::EINVAL);
    assert_eq!(err(sub.rename(b"leaf", &root, b"a", RENAME_EXCHANGE)), Errno::EINVAL);
}

fn collect_from(dir: &Arc<dyn Inode>, cursor: u64, max: usize) -> (Vec<DirEntry>, u64) {
    let mut out = Vec::new();
    let mut next = cursor;
    dir.read_dir(cursor, &mut |e| {
        if out.len() == max {
            return false;
        }
        next = e.next_cursor;
        out.push(e);
        true
    })
    .unwrap();
    (out, next)
}

#[test]
fn listing_includes_dots_and_resumes() {
    let e = env();
    let root = e.fs.root();
    let d = mkdir(&root, "d");
    for n in ["x", "y", "z"] {
        touch(&d, n);
    }
    let (first, c) = collect_from(&d, 0, 2);
    assert_eq!(first.iter().map(|e| e.name.as_slice()).collect::<Vec<_>>(), [&b"."[..], b".."]);
    assert_eq!((first[0].ino, first[1].ino), (d.metadata().ino, root.metadata().ino));
    assert_eq!(first[0].kind, DT_DIR);
    let (rest, c2) = collect_from(&d, c, 10);
    assert_eq!(rest.iter().map(|e| e.name.clone()).collect::<Vec<_>>(), [b"x".to_vec(), b"y".to_vec(), b"z".to_vec()]);
    assert!(rest.iter().all(|e| e.kind == DT_REG));
    assert!(collect_from(&d, c2, 10).0.is_empty());
    assert!(collect_from(&d, u64::MAX, 10).0.is_empty());
}

#[test]
fn listing_cursors_survive_inserts_and_removals() {
    let e = env();
    let root = e.fs.root();
    let d = mkdir(&root, "d");
    for i in 0..200 {
        touch(&d, &format!("f{i:03}"));
    }
    let mut seen = Vec::new();
    let mut cursor = 0;
    let mut round = 0;
    loop {
        let (batch, next) = collect_from(&d, cursor, 7);
        if batch.is_empty() {
            break;
        }
        seen.extend(batch.into_iter().map(|e| String::from_utf8(e.name).unwrap()));
        cursor = next;
        // Between getdents calls: remove one entry not yet listed, one already listed, add one.
        round += 1;
        if round > 25 {
            continue;
        }
        let _ = d.unlink(format!("f{:03}", 199 - round).as_bytes());
        let _ = d.unlink(format!("f{:03}", round).as_bytes());
        touch(&d, &format!("new{round}"));
    }
    let set: BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(set.len(), seen.len(), "no entry is listed twice");
    for i in 0..200 {
        let name = format!("f{i:03}");
        let survived = d.lookup(name.as_bytes()).is_ok();
        if survived {
            assert!(set.contains(&name), "{name} existed throughout but was not listed");
        }
    }
    assert!(set.contains(".") && set.contains(".."));
}
