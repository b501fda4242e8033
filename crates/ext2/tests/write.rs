//! Changes made through the crate (via the VFS namespace) on images made by mke2fs, mirrored
//! on a host directory: afterwards `e2fsck -fn` must find the image clean, a remount must read
//! back exactly the host tree, and debugfs must agree.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;

use common::*;
use exo_abi::Errno;
use exo_blockdev::MemDisk;
use exo_vfs::{FileSystem, Lookup, Namespace, SetAttr, Time, RENAME_EXCHANGE, RENAME_NOREPLACE};

/// The same operations on the ext2 volume and on a host directory.
struct Both {
    ns: Namespace,
    ctx: Lookup,
    host: PathBuf,
}

impl Both {
    fn h(&self, p: &str) -> PathBuf {
        self.host.join(p.trim_start_matches('/'))
    }
    fn write(&self, p: &str, off: u64, data: &[u8]) {
        let (f, _) = self.ns.create(&self.ctx, p.as_bytes(), 0o644 | exo_abi::mode::S_IFREG, false).unwrap();
        assert_eq!(f.inode().write_at(off, data).unwrap(), data.len());
        use std::os::unix::fs::FileExt;
        let h = std::fs::OpenOptions::new().create(true).write(true).truncate(false).open(self.h(p)).unwrap();
        h.write_all_at(data, off).unwrap();
    }
    fn mkdir(&self, p: &str) {
        self.ns.mkdir(&self.ctx, p.as_bytes(), 0o755).unwrap();
        std::fs::create_dir(self.h(p)).unwrap();
    }
    fn rename(&self, a: &str, b: &str, flags: u32) {
        self.ns.rename(&self.ctx, a.as_bytes(), &self.ctx, b.as_bytes(), flags).unwrap();
        if flags & RENAME_EXCHANGE != 0 {
            let tmp = self.h("exchange-tmp");
            std::fs::rename(self.h(a), &tmp).unwrap();
            std::fs::rename(self.h(b), self.h(a)).unwrap();
            std::fs::rename(&tmp, self.h(b)).unwrap();
        } else {
            std::fs::rename(self.h(a), self.h(b)).unwrap();
        }
    }
    fn unlink(&self, p: &str) {
        self.ns.unlink(&self.ctx, p.as_bytes()).unwrap();
        std::fs::remove_file(self.h(p)).unwrap();
    }
    fn rmdir(&self, p: &str) {
        self.ns.rmdir(&self.ctx, p.as_bytes()).unwrap();
        std::fs::remove_dir(self.h(p)).unwrap();
    }
    fn link(&self, a: &str, b: &str) {
        self.ns.link(&self.ctx, a.as_bytes(), &self.ctx, b.as_bytes()).unwrap();
        std::fs::hard_link(self.h(a), self.h(b)).unwrap();
    }
    fn symlink(&self, target: &str, p: &str) {
        self.ns.symlink(&self.ctx, target.as_bytes(), p.as_bytes()).unwrap();
        std::os::unix::fs::symlink(target, self.h(p)).unwrap();
    }
    fn chmod(&self, p: &str, mode: u32) {
        let f = self.ns.resolve(&self.ctx, p.as_bytes()).unwrap();
        f.inode().set_attr(&SetAttr { mode: Some(mode), ..Default::default() }).unwrap();
        std::fs::set_permissions(self.h(p), std::fs::Permissions::from_mode(mode)).unwrap();
    }
    fn truncate(&self, p: &str, len: u64) {
        let f = self.ns.resolve(&self.ctx, p.as_bytes()).unwrap();
        f.inode().truncate(len).unwrap();
        std::fs::OpenOptions::new().write(true).open(self.h(p)).unwrap().set_len(len).unwrap();
    }
    fn utime(&self, p: &str, sec: i64) {
        let f = self.ns.resolve(&self.ctx, p.as_bytes()).unwrap();
        let t = Time::new(sec, 0);
        f.inode().set_attr(&SetAttr { atime: Some(t), mtime: Some(t), ..Default::default() }).unwrap();
        let ft = std::time::UNIX_EPOCH + std::time::Duration::from_secs(sec as u64);
        std::fs::File::options().write(true).open(self.h(p)).unwrap().set_times(std::fs::FileTimes::new().set_accessed(ft).set_modified(ft)).unwrap();
    }
}

/// Compares the volume with the host tree, ignoring mtimes of files we did not set.
fn compare(fs: &Arc<exo_ext2::Ext2Fs>, host: &std::path::Path, exact_times: &[&str]) {
    let mut want = BTreeMap::new();
    walk_host(host, "", &mut want);
    let mut got = BTreeMap::new();
    walk_fs(&fs.root(), "", &mut got);
    let strip = |m: &mut BTreeMap<String, Node>| {
        for (k, v) in m.iter_mut() {
            match v {
                Node::File { mtime, uid, gid, .. } => {
                    if !exact_times.contains(&k.as_str()) {
                        *mtime = 0;
                    }
                    *uid = 0;
                    *gid = 0;
                }
                Node::Dir { uid, gid, .. } => {
                    *uid = 0;
                    *gid = 0;
                }
                _ => {}
            }
        }
    };
    strip(&mut want);
    strip(&mut got);
    let wk: Vec<_> = want.keys().collect();
    let gk: Vec<_> = got.keys().collect();
    assert_eq!(wk, gk);
    for (k, v) in &want {
        assert_eq!(Some(v), got.get(k), "{k} differs");
    }
}

fn scenario(args: &[&str], index_dirs: bool) {
    let host = scratch("host");
    std::fs::create_dir_all(host.join("many")).unwrap();
    for i in 0..200 {
        std::fs::write(host.join(format!("many/entry-{i:04}-with-a-long-name")), format!("{i}")).unwrap();
    }
    std::fs::write(host.join("old"), pattern(20_000, 9)).unwrap();
    let mut image = mkfs(48 * 1024, args, Some(&host));
    if index_dirs {
        let dir = scratch("idx");
        let p = dir.join("img");
        write_sparse(&p, &image);
        std::process::Command::new(tool("e2fsck").unwrap()).args(["-fyD"]).arg(&p).output().unwrap();
        image = std::fs::read(&p).unwrap();
    }
    let disk = Arc::new(MemDisk::new(image));
    let fs = mount(&disk, false).unwrap();
    let (ns, ctx) = namespace(&fs);
    let t = Both { ns, ctx, host: host.clone() };

    // Files: create, append, overwrite, holes, indirect and double-indirect sizes.
    t.write("/a", 0, b"first");
    t.write("/a", 5, b" appended");
    t.write("/a", 2, b"XY");
    t.write("/holey", 200_000, b"after a hole");
    t.write("/big", 0, &pattern(5 << 20, 1));
    t.write("/big", 3 << 20, &pattern(10_000, 2));
    t.write("/old", 0, b"overwritten start");
    // Directories with many entries (several blocks), nested.
    t.mkdir("/d1");
    t.mkdir("/d2");
    t.mkdir("/d1/sub");
    t.write("/d1/sub/inner", 0, b"inner file");
    for i in 0..400 {
        t.write(&format!("/d1/f{i:03}-some-padding-for-length"), 0, &pattern(i * 37, i as u64));
    }
    for i in (0..400).step_by(3) {
        t.unlink(&format!("/d1/f{i:03}-some-padding-for-length"));
    }
    for i in 0..50 {
        t.write(&format!("/d1/g{i}"), 0, b"refill");
    }
    // The htree directory (if indexed) is changed.
    t.unlink("/many/entry-0007-with-a-long-name");
    t.write("/many/new-entry", 0, b"x");
    t.rename("/many/entry-0010-with-a-long-name", "/d2/moved-from-many", 0);
    // Renames across directories: a directory ('..' and link counts), files, replace,
    // exchange.
    t.rename("/d1/sub", "/d2/sub2", 0);
    t.rename("/a", "/d2/a-moved", 0);
    t.write("/victim", 0, b"to be replaced");
    t.rename("/d2/a-moved", "/victim", 0);
    t.mkdir("/d1/xdir");
    t.write("/d2/xfile", 0, b"exchange me");
    t.rename("/d1/xdir", "/d2/xfile", RENAME_EXCHANGE);
    t.mkdir("/d2/emptydir");
    t.mkdir("/d1/replaced");
    t.rename("/d2/emptydir", "/d1/replaced", 0);
    assert_eq!(t.ns.rename(&t.ctx, b"/d2/sub2", &t.ctx, b"/d2/sub2/inside", 0).err(), Some(Errno::EINVAL));
    assert_eq!(t.ns.rename(&t.ctx, b"/old", &t.ctx, b"/victim", RENAME_NOREPLACE).err(), Some(Errno::EEXIST));
    // Links and symlinks of both kinds.
    t.link("/old", "/d2/old-link");
    t.symlink("short/target", "/fast");
    t.symlink(&"long/".repeat(40), "/d1/slow");
    // Attributes.
    t.chmod("/old", 0o600);
    t.chmod("/d2", 0o711);
    let f = t.ns.resolve(&t.ctx, b"/d2/old-link").unwrap();
    f.inode().set_attr(&SetAttr { uid: Some(100_000), gid: Some(70_000), ..Default::default() }).unwrap();
    // Truncate both ways, from the double-indirect range down and back up.
    t.truncate("/big", 100_003);
    t.truncate("/big", 2_000_000);
    t.write("/big", 1_500_000, b"in the re-grown part");
    t.truncate("/holey", 10);
    t.utime("/holey", 1_234_567_890);
    // rmdir, errors.
    t.mkdir("/gone");
    t.rmdir("/gone");
    assert_eq!(t.ns.rmdir(&t.ctx, b"/d2").err(), Some(Errno::ENOTEMPTY));
    assert_eq!(t.ns.unlink(&t.ctx, b"/d2").err(), Some(Errno::EISDIR));
    // An unlinked file still open keeps working; it is freed later.
    let open = t.ns.resolve(&t.ctx, b"/d1/g3").unwrap().inode().clone();
    t.unlink("/d1/g3");
    open.write_at(100_000, b"still writable").unwrap();
    assert_eq!(open.metadata().nlink, 0);
    drop(open);
    // Hard link count, stat data.
    let m = t.ns.resolve(&t.ctx, b"/old").unwrap().metadata();
    assert_eq!((m.nlink, m.uid, m.gid, m.mode & 0o7777), (2, 100_000, 70_000, 0o600));
    assert_eq!(t.ns.resolve(&t.ctx, b"/d2").unwrap().metadata().nlink, 4); // sub2, xdir, ., parent
    let before = fs.statfs();
    fs.sync().unwrap();
    let after = fs.statfs();
    assert!(after.bfree > before.bfree, "the orphan's blocks are freed at sync");

    let Both { ns, ctx, host } = t;
    drop(ctx);
    drop(ns);
    fs.unmount().unwrap();
    drop(fs);
    let image = disk.image();
    fsck(&image);
    let (_, out) = debugfs(&image, false, &["cat /d2/a-moved", "cat /victim", "stat /old", "stat /holey"]);
    assert!(out.contains("fiXYt appended"), "{out}");
    assert!(out.contains("Links: 2"), "{out}");
    assert!(out.contains("User: 100000   Group: 70000"), "{out}");
    let disk = Arc::new(MemDisk::new(image));
    let fs = mount(&disk, true).unwrap();
    compare(&fs, &host, &["holey"]);
    let _ = std::fs::remove_dir_all(&host);
}

#[test]
fn changes_are_clean_1k() {
    if have_tools() {
        scenario(&["-t", "ext2", "-b", "1024"], false);
    }
}

#[test]
fn changes_are_clean_4k() {
    if have_tools() {
        scenario(&["-t", "ext2", "-b", "4096"], false);
    }
}

#[test]
fn changes_are_clean_htree_and_128_byte_inodes() {
    if have_tools() {
        scenario(&["-t", "ext2", "-b", "1024", "-I", "128"], true);
    }
}

#[test]
fn changes_are_clean_rev0() {
    if have_tools() {
        scenario(&["-t", "ext2", "-r", "0", "-b", "2048"], false);
    }
}

#[test]
fn changes_are_clean_ext3() {
    if have_tools() {
        scenario(&["-t", "ext3", "-b", "4096"], false);
    }
}
