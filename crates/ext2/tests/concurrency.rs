//! Several threads creating, writing, renaming and deleting in shared and private directories
//! at once, then `e2fsck -fn` must find the image clean and every surviving file intact.

mod common;

use std::sync::Arc;

use common::*;
use exo_abi::mode::*;
use exo_blockdev::MemDisk;
use exo_vfs::{FileSystem, Inode};

#[test]
fn threads_share_a_volume() {
    if !have_tools() {
        return;
    }
    let disk = Arc::new(MemDisk::new(mkfs(64 * 1024, &["-t", "ext2", "-b", "1024"], None)));
    let fs = mount(&disk, false).unwrap();
    let root = fs.root();
    let shared = root.create(b"shared", S_IFDIR | 0o755, 0, 0, 0).unwrap();
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let root = root.clone();
            let shared = shared.clone();
            std::thread::spawn(move || {
                let own = root.create(format!("own{t}").as_bytes(), S_IFDIR | 0o755, 0, 0, 0).unwrap();
                for i in 0..150u64 {
                    let dir = if i % 2 == 0 { &own } else { &shared };
                    let name = format!("t{t}-{i}");
                    let f = dir.create(name.as_bytes(), S_IFREG | 0o644, 0, 0, 0).unwrap();
                    let data = pattern((i as usize * 997) % 40_000 + 1, t * 1000 + i);
                    assert_eq!(f.write_at(0, &data).unwrap(), data.len());
                    if i % 5 == 0 {
                        dir.unlink(name.as_bytes()).unwrap();
                    } else if i % 7 == 0 {
                        let other: &Arc<dyn Inode> = if i % 2 == 0 { &shared } else { &own };
                        dir.rename(name.as_bytes(), other, format!("{name}-moved").as_bytes(), 0).unwrap();
                    }
                    if i % 11 == 0 {
                        let d = format!("d{t}-{i}");
                        shared.create(d.as_bytes(), S_IFDIR | 0o700, 0, 0, 0).unwrap();
                        if i % 22 == 0 {
                            shared.rmdir(d.as_bytes()).unwrap();
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // Every surviving file holds its data.
    for t in 0..4u64 {
        for i in 0..150u64 {
            if i % 5 == 0 {
                continue;
            }
            let (dir, name) = match (i % 7 == 0, i % 2 == 0) {
                (false, true) => (format!("own{t}"), format!("t{t}-{i}")),
                (false, false) => ("shared".to_string(), format!("t{t}-{i}")),
                (true, true) => ("shared".to_string(), format!("t{t}-{i}-moved")),
                (true, false) => (format!("own{t}"), format!("t{t}-{i}-moved")),
            };
            let f = root.lookup(dir.as_bytes()).unwrap().lookup(name.as_bytes()).unwrap();
            let want = pattern((i as usize * 997) % 40_000 + 1, t * 1000 + i);
            let mut got = vec![0u8; want.len()];
            assert_eq!(f.read_at(0, &mut got).unwrap(), want.len());
            assert!(got == want, "{dir}/{name}");
        }
    }
    drop((root, shared));
    fs.unmount().unwrap();
    fsck(&disk.image());
}
