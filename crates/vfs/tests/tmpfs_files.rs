//! tmpfs at the inode level: file data (sparse pages, truncation, limits), timestamps,
//! `set_attr`, special nodes, symlinks, statistics, and the trait's default errnos.

mod common;

use std::any::Any;
use std::sync::Arc;

use common::*;
use exo_abi::mode::*;
use exo_abi::Errno;
use exo_vfs::*;

fn new_file(e: &Env, name: &str) -> Arc<dyn Inode> {
    e.fs.root().create(name.as_bytes(), S_IFREG | 0o644, 0, 0, 0).unwrap()
}

#[test]
fn write_then_read_back() {
    let e = env();
    let f = new_file(&e, "f");
    assert_eq!(f.write_at(0, b"hello"), Ok(5));
    let mut buf = [0u8; 10];
    assert_eq!(f.read_at(0, &mut buf), Ok(5));
    assert_eq!(&buf[..5], b"hello");
    assert_eq!(f.read_at(3, &mut buf), Ok(2));
    assert_eq!(&buf[..2], b"lo");
    assert_eq!(f.read_at(5, &mut buf), Ok(0));
    assert_eq!(f.read_at(u64::MAX, &mut buf), Ok(0));
    assert_eq!(f.write_at(3, b"LOWORLD"), Ok(7));
    assert_eq!(read_all(&f), b"helLOWORLD");
    assert_eq!(f.metadata().size, 10);
}

#[test]
fn writing_past_the_end_leaves_a_zero_filled_hole() {
    let e = env();
    let f = new_file(&e, "f");
    assert_eq!(f.write_at(10_000, b"x"), Ok(1));
    let m = f.metadata();
    assert_eq!(m.size, 10_001);
    assert_eq!(m.blocks, 8, "only the written page is allocated");
    let data = read_all(&f);
    assert!(data[..10_000].iter().all(|&b| b == 0));
    assert_eq!(data[10_000], b'x');
    assert_eq!(e.fs.used_bytes(), 4096);
}

#[test]
fn sequential_appends_keep_all_data() {
    let e = env();
    let f = new_file(&e, "f");
    let mut expect = Vec::new();
    for i in 0..10_000u32 {
        let chunk: Vec<u8> = (0..100).map(|j| (i as u8).wrapping_add(j)).collect();
        assert_eq!(f.write_at(expect.len() as u64, &chunk), Ok(100));
        expect.extend_from_slice(&chunk);
    }
    assert_eq!(read_all(&f), expect);
    assert_eq!(e.fs.used_bytes(), 1_000_000u64.div_ceil(4096) * 4096);
}

#[test]
fn truncate_shrinks_then_grows_with_zeros() {
    let e = env();
    let f = new_file(&e, "f");
    f.write_at(0, &[0xaa; 8192]).unwrap();
    f.truncate(100).unwrap();
    assert_eq!(f.metadata().size, 100);
    assert_eq!(e.fs.used_bytes(), 4096);
    f.truncate(8192).unwrap();
    let data = read_all(&f);
    assert!(data[..100].iter().all(|&b| b == 0xaa));
    assert!(data[100..].iter().all(|&b| b == 0), "old bytes must not reappear");
    f.truncate(0).unwrap();
    assert_eq!(e.fs.used_bytes(), 0);
    f.truncate(1 << 40).unwrap();
    assert_eq!(f.metadata().size, 1 << 40);
    assert_eq!(f.metadata().blocks, 0);
}

#[test]
fn size_limits_are_efbig() {
    let e = env();
    let f = new_file(&e, "f");
    assert_eq!(err(f.truncate(MAX_FILE_SIZE + 1)), Errno::EFBIG);
    assert_eq!(err(f.write_at(MAX_FILE_SIZE, b"x")), Errno::EFBIG);
    assert_eq!(err(f.write_at(u64::MAX, b"x")), Errno::EFBIG);
    assert_eq!(f.write_at(MAX_FILE_SIZE - 2, b"abcdef"), Ok(2));
    assert_eq!(f.metadata().size, MAX_FILE_SIZE);
    assert_eq!(f.write_at(u64::MAX, b""), Ok(0));
}

#[test]
fn size_limit_gives_short_writes_then_enospc() {
    let e = env_with(TmpFsOptions { max_bytes: Some(8192), ..TmpFsOptions::default() });
    let f = new_file(&e, "f");
    assert_eq!(f.write_at(0, &[1; 10_000]), Ok(8192));
    assert_eq!(err(f.write_at(8192, b"x")), Errno::ENOSPC);
    assert_eq!(e.fs.statfs().bfree, 0);
    assert_eq!(e.fs.statfs().blocks, 2);
    // Overwriting allocated pages needs no space.
    assert_eq!(f.write_at(0, b"zz"), Ok(2));
    e.fs.root().unlink(b"f").unwrap();
    assert_eq!(e.fs.used_bytes(), 8192, "the open file still holds its pages");
    drop(f);
    assert_eq!(e.fs.used_bytes(), 0);
    assert_eq!(e.fs.statfs().bfree, 2);
}

#[test]
fn size_limit_can_change_but_not_below_usage() {
    let e = env_with(TmpFsOptions { max_bytes: Some(8192), ..TmpFsOptions::default() });
    assert_eq!(e.fs.max_bytes(), Some(8192));
    let f = new_file(&e, "f");
    assert_eq!(f.write_at(0, &[1; 8192]), Ok(8192));
    assert_eq!(err(e.fs.set_max_bytes(Some(4096))), Errno::EINVAL);
    assert_eq!(e.fs.max_bytes(), Some(8192), "a refused change changes nothing");
    assert_eq!(e.fs.set_max_bytes(Some(5000)), Ok(()), "rounded up to pages");
    assert_eq!(e.fs.statfs().blocks, 2);
    assert_eq!(e.fs.set_max_bytes(Some(16384)), Ok(()));
    assert_eq!(f.write_at(8192, &[2; 10_000]), Ok(8192));
    assert_eq!(err(f.write_at(16384, b"x")), Errno::ENOSPC);
    assert_eq!(e.fs.set_max_bytes(None), Ok(()));
    assert_eq!(e.fs.max_bytes(), None);
    assert_eq!(f.write_at(16384, b"x"), Ok(1));
    assert_eq!(e.fs.statfs().blocks, 0, "unlimited shows as 0 blocks");
    assert!(e.fs.tmpfs().is_some(), "a tmpfs says so through FileSystem::tmpfs");
}

static GATE_OPEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

fn gate() -> bool {
    GATE_OPEN.load(std::sync::atomic::Ordering::SeqCst)
}

#[test]
fn memory_gate_refuses_new_pages_only() {
    let e = env_with(TmpFsOptions { memory_gate: Some(gate), ..TmpFsOptions::default() });
    let f = new_file(&e, "f");
    assert_eq!(f.write_at(0, &[1; 5000]), Ok(5000));
    GATE_OPEN.store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(err(f.write_at(8192, b"x")), Errno::ENOSPC, "a new page is refused");
    assert_eq!(f.write_at(5000, &[2; 4000]), Ok(3192), "the allocated pages still take data");
    assert_eq!(e.fs.used_bytes(), 8192, "a refused page is not charged");
    GATE_OPEN.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(f.write_at(8192, b"x"), Ok(1));
    assert_eq!(e.fs.used_bytes(), 12288);
}

#[test]
fn inode_limit_is_enospc() {
    let e = env_with(TmpFsOptions { max_inodes: Some(3), ..TmpFsOptions::default() });
    let root = e.fs.root();
    root.create(b"a", S_IFREG | 0o644, 0, 0, 0).unwrap();
    root.create(b"b", S_IFDIR | 0o755, 0, 0, 0).unwrap();
    assert_eq!(err(root.create(b"c", S_IFREG | 0o644, 0, 0, 0)), Errno::ENOSPC);
    assert_eq!(err(root.symlink(b"c", b"a", 0, 0)), Errno::ENOSPC);
    assert_eq!(e.fs.statfs().ffree, 0);
    root.unlink(b"a").unwrap();
    assert_eq!(e.fs.inode_count(), 2);
    root.create(b"c", S_IFREG | 0o644, 0, 0, 0).unwrap();
}

#[test]
fn timestamps_follow_writes_reads_and_relatime() {
    let e = env();
    let f = new_file(&e, "f");
    let t = |s| Time::new(s, 0);
    assert_eq!((f.metadata().atime, f.metadata().mtime, f.metadata().ctime), (t(1000), t(1000), t(1000)));
    e.clock.set(2000);
    f.write_at(0, b"data").unwrap();
    let m = f.metadata();
    assert_eq!((m.atime, m.mtime, m.ctime), (t(1000), t(2000), t(2000)));
    e.clock.set(2500);
    f.write_at(0, b"").unwrap();
    assert_eq!(f.metadata().mtime, t(2000), "an empty write changes nothing");
    e.clock.set(3000);
    f.read_at(0, &mut [0; 4]).unwrap();
    assert_eq!(f.metadata().atime, t(3000));
    e.clock.set(3001);
    f.read_at(0, &mut [0; 4]).unwrap();
    assert_eq!(f.metadata().atime, t(3000), "relatime: atime newer than mtime stays");
    e.clock.set(3000 + 86_400);
    f.read_at(0, &mut [0; 4]).unwrap();
    assert_eq!(f.metadata().atime, t(3000 + 86_400), "relatime: a day-old atime is refreshed");
    e.clock.set(5000);
    f.truncate(2).unwrap();
    assert_eq!((f.metadata().mtime, f.metadata().ctime), (t(5000), t(5000)));
}

#[test]
fn set_attr_changes_what_it_is_given() {
    let e = env();
    let f = new_file(&e, "f");
    f.write_at(0, b"0123456789").unwrap();
    e.clock.set(2000);
    f.set_attr(&SetAttr { mode: Some(S_IFDIR | 0o4711), ..SetAttr::default() }).unwrap();
    let m = f.metadata();
    assert_eq!(m.mode, S_IFREG | 0o4711, "the type never changes");
    assert_eq!((m.mtime, m.ctime), (Time::new(1000, 0), Time::new(2000, 0)));
    f.set_attr(&SetAttr { uid: Some(5), gid: Some(6), ..SetAttr::default() }).unwrap();
    assert_eq!((f.metadata().uid, f.metadata().gid), (5, 6));
    let stamp = Time::new(42, 7);
    f.set_attr(&SetAttr { atime: Some(stamp), mtime: Some(stamp), ..SetAttr::default() }).unwrap();
    assert_eq!((f.metadata().atime, f.metadata().mtime), (stamp, stamp));
    e.clock.set(3000);
    f.set_attr(&SetAttr { size: Some(4), ..SetAttr::default() }).unwrap();
    assert_eq!(read_all(&f), b"0123");
    assert_eq!(f.metadata().mtime, Time::new(3000, 0));
    let d = e.fs.root().create(b"d", S_IFDIR | 0o755, 0, 0, 0).unwrap();
    assert_eq!(err(d.set_attr(&SetAttr { size: Some(0), ..SetAttr::default() })), Errno::EISDIR);
    let l = e.fs.root().symlink(b"l", b"f", 0, 0).unwrap();
    assert_eq!(err(l.set_attr(&SetAttr { size: Some(0), ..SetAttr::default() })), Errno::EINVAL);
}

#[test]
fn wrong_kind_of_inode_errnos() {
    let e = env();
    let root = e.fs.root();
    let d = root.create(b"d", S_IFDIR | 0o755, 0, 0, 0).unwrap();
    assert_eq!(err(d.read_at(0, &mut [0; 4])), Errno::EISDIR);
    assert_eq!(err(d.write_at(0, b"x")), Errno::EISDIR);
    assert_eq!(err(d.truncate(0)), Errno::EISDIR);
    assert_eq!(err(d.readlink()), Errno::EINVAL);
    let fifo = root.create(b"p", S_IFIFO | 0o600, 0, 0, 0).unwrap();
    assert_eq!(err(fifo.read_at(0, &mut [0; 4])), Errno::EINVAL);
    assert_eq!(err(fifo.write_at(0, b"x")), Errno::EINVAL);
    assert_eq!(err(fifo.truncate(0)), Errno::EINVAL);
    let f = new_file(&e, "f");
    assert_eq!(err(f.lookup(b"x")), Errno::ENOTDIR);
    assert_eq!(err(f.create(b"x", S_IFREG, 0, 0, 0)), Errno::ENOTDIR);
    assert_eq!(err(f.read_dir(0, &mut |_| true)), Errno::ENOTDIR);
    assert_eq!(err(f.unlink(b"x")), Errno::ENOTDIR);
    assert_eq!(err(f.rmdir(b"x")), Errno::ENOTDIR);
    assert_eq!(err(f.symlink(b"x", b"t", 0, 0)), Errno::ENOTDIR);
    assert_eq!(err(f.link(b"x", &f)), Errno::ENOTDIR);
    assert_eq!(err(f.rename(b"x", &d, b"y", 0)), Errno::ENOTDIR);
    assert_eq!(err(f.readlink()), Errno::EINVAL);
    assert_eq!(err(root.create(b"l", S_IFLNK | 0o777, 0, 0, 0)), Errno::EINVAL);
    assert_eq!(err(root.create(b"z", 0o170000 | 0o644, 0, 0, 0)), Errno::EINVAL);
    assert_eq!(err(root.create(b"z", 0o644, 0, 0, 0)), Errno::EINVAL);
}

#[test]
fn special_nodes_and_symlinks_keep_metadata() {
    let e = env();
    let root = e.fs.root();
    let c = root.create(b"null", S_IFCHR | 0o666, 0, 0, makedev(1, 3)).unwrap();
    let m = c.metadata();
    assert_eq!((m.mode, m.rdev, m.size), (S_IFCHR | 0o666, makedev(1, 3), 0));
    let b = root.create(b"sda", S_IFBLK | 0o660, 0, 6, makedev(8, 0)).unwrap();
    assert_eq!((b.metadata().rdev, b.metadata().gid), (makedev(8, 0), 6));
    let p = root.create(b"fifo", S_IFIFO | 0o600, 0, 0, 99).unwrap();
    assert_eq!((p.metadata().mode, p.metadata().rdev), (S_IFIFO | 0o600, 0));
    let s = root.create(b"sock", S_IFSOCK | 0o755, 0, 0, 0).unwrap();
    assert_eq!(s.metadata().file_type(), S_IFSOCK);
    let l = root.symlink(b"link", b"../some/where", 7, 8).unwrap();
    let m = l.metadata();
    assert_eq!((m.mode, m.size, m.uid, m.gid), (S_IFLNK | 0o777, 13, 7, 8));
    assert_eq!(l.readlink().unwrap(), b"../some/where");
    assert_eq!(err(root.symlink(b"l2", b"", 0, 0)), Errno::ENOENT);
    assert_eq!(err(root.symlink(b"l2", &[b'a'; PATH_MAX], 0, 0)), Errno::ENAMETOOLONG);
    let kinds: Vec<u8> = {
        let mut v = Vec::new();
        root.read_dir(2, &mut |e| {
            v.push(e.kind);
            true
        })
        .unwrap();
        v
    };
    assert_eq!(kinds, vec![DT_CHR, DT_BLK, DT_FIFO, DT_SOCK, DT_LNK]);
}

#[test]
fn inode_numbers_are_unique_and_dev_is_the_fs_id() {
    let fs = TmpFs::new(77, TmpFsOptions::default());
    let root = fs.root();
    let mut seen = std::collections::BTreeSet::new();
    assert!(seen.insert(root.metadata().ino));
    for i in 0..100 {
        let n = root.create(format!("f{i}").as_bytes(), S_IFREG | 0o600, 0, 0, 0).unwrap();
        assert!(seen.insert(n.metadata().ino));
        assert_eq!(n.metadata().dev, 77);
        assert_eq!(n.fs_id(), 77);
        root.unlink(format!("f{i}").as_bytes()).unwrap();
    }
    assert_eq!(fs.inode_count(), 1);
}

#[test]
fn statfs_and_identity() {
    let e = env();
    let s = e.fs.statfs();
    assert_eq!((s.fs_type, s.namelen, s.fsid, s.bsize, s.blocks), (TMPFS_MAGIC, 255, 1, 4096, 0));
    assert_eq!(e.fs.root().statfs(), Ok(s));
    assert_eq!((e.fs.name(), e.fs.magic(), e.fs.id()), ("tmpfs", TMPFS_MAGIC, 1));
    let m = e.fs.root().metadata();
    assert_eq!((m.mode, m.nlink, m.ino), (S_IFDIR | 0o1777, 2, 1));
    assert!(e.fs.root().as_any().downcast_ref::<TmpNode>().is_some());
}

/// An inode implementing only the required methods, to check the trait's defaults.
struct Bare(u32);

impl Inode for Bare {
    fn metadata(&self) -> Metadata {
        Metadata { mode: self.0, ..Metadata::default() }
    }
    fn fs_id(&self) -> u64 {
        9
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[test]
fn trait_defaults_fail_like_linux() {
    let file: Arc<dyn Inode> = Arc::new(Bare(S_IFREG | 0o644));
    let dir: Arc<dyn Inode> = Arc::new(Bare(S_IFDIR | 0o755));
    assert_eq!(err(file.read_at(0, &mut [0; 1])), Errno::EINVAL);
    assert_eq!(err(dir.read_at(0, &mut [0; 1])), Errno::EISDIR);
    assert_eq!(err(file.write_at(0, b"x")), Errno::EINVAL);
    assert_eq!(err(dir.write_at(0, b"x")), Errno::EISDIR);
    assert_eq!(err(dir.truncate(0)), Errno::EISDIR);
    assert_eq!(err(file.lookup(b"a")), Errno::ENOTDIR);
    assert_eq!(err(dir.lookup(b"a")), Errno::ENOENT);
    assert_eq!(err(file.create(b"a", S_IFREG, 0, 0, 0)), Errno::ENOTDIR);
    assert_eq!(err(dir.create(b"a", S_IFREG, 0, 0, 0)), Errno::EPERM);
    assert_eq!(err(dir.symlink(b"a", b"b", 0, 0)), Errno::EPERM);
    assert_eq!(err(dir.link(b"a", &file)), Errno::EPERM);
    assert_eq!(err(dir.unlink(b"a")), Errno::EPERM);
    assert_eq!(err(dir.rmdir(b"a")), Errno::EPERM);
    assert_eq!(err(dir.rename(b"a", &dir, b"b", 0)), Errno::EPERM);
    assert_eq!(err(file.readlink()), Errno::EINVAL);
    assert_eq!(err(file.read_dir(0, &mut |_| true)), Errno::ENOTDIR);
    assert_eq!(dir.read_dir(0, &mut |_| true), Ok(()));
    assert_eq!(err(file.statfs()), Errno::ENOSYS);
    assert_eq!(err(file.set_attr(&SetAttr::default())), Errno::EPERM);
    assert_eq!(file.file_type(), S_IFREG);
}

#[test]
fn dropping_a_very_deep_tree_does_not_recurse() {
    let fs = TmpFs::new(3, TmpFsOptions::default());
    let mut dir = fs.root();
    for _ in 0..200_000 {
        dir = dir.create(b"d", S_IFDIR | 0o755, 0, 0, 0).unwrap();
    }
    drop(dir);
    assert_eq!(fs.inode_count(), 200_001);
    let probe = fs.root();
    drop(fs);
    drop(probe);
}
