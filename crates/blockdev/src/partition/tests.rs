//! Tests of the partition-table reader: images labelled by the host's `sfdisk` (MBR with
//! logical partitions, GPT, GPT with a destroyed primary header), hand-made tables (EBR loops),
//! and random garbage (never a panic, every partition inside the disk).

extern crate std;

use std::process::{Command, Stdio};
use std::string::String;
use std::vec::Vec;
use std::io::Write;

use super::*;
use crate::MemDisk;

const MIB: u64 = 1 << 20;

/// A zeroed image of `size` bytes labelled by `sfdisk` with `script`; None without sfdisk.
fn sfdisk_image(size: u64, script: &str) -> Option<Vec<u8>> {
    let dir = std::env::temp_dir();
    let path = dir.join(std::format!("exo-part-{}-{}.img", std::process::id(), crc32(script.as_bytes())));
    std::fs::write(&path, vec![0u8; size as usize]).ok()?;
    let child = Command::new("sfdisk")
        .arg("--no-reread")
        .arg("--no-tell-kernel")
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        std::eprintln!("sfdisk not found: test skipped");
        return None;
    };
    child.stdin.take()?.write_all(script.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    assert!(out.status.success(), "sfdisk failed: {}", String::from_utf8_lossy(&out.stderr));
    let image = std::fs::read(&path).ok()?;
    let _ = std::fs::remove_file(&path);
    Some(image)
}

fn p(number: u32, start_sector: u64, sectors: u64) -> PartitionEntry {
    PartitionEntry { number, start: start_sector * 512, len: sectors * 512 }
}

#[test]
fn mbr_primary_and_logical_from_sfdisk() {
    let script = "label: dos\nstart=2048, size=8192, type=83\nstart=10240, size=4096, type=c\n\
                  start=16384, size=30000, type=5\nstart=18432, size=2048, type=83\nstart=22528, size=4096, type=83\n";
    let Some(image) = sfdisk_image(32 * MIB, script) else { return };
    let (kind, parts) = read_table(&MemDisk::new(image)).unwrap();
    assert_eq!(kind, TableKind::Mbr);
    assert_eq!(parts, vec![p(1, 2048, 8192), p(2, 10240, 4096), p(5, 18432, 2048), p(6, 22528, 4096)]);
}

#[test]
fn gpt_from_sfdisk_and_backup_header() {
    let script = "label: gpt\nstart=2048, size=4096\nstart=8192, size=8192\n";
    let Some(image) = sfdisk_image(16 * MIB, script) else { return };
    let disk = MemDisk::new(image);
    let want = vec![p(1, 2048, 4096), p(2, 8192, 8192)];
    let (kind, parts) = read_table(&disk).unwrap();
    assert_eq!(kind, TableKind::Gpt);
    assert_eq!(parts, want);
    // Primary header destroyed: the backup at the last sector is used.
    disk.with_image(|img| img[512 + 20] ^= 0xff);
    assert_eq!(read_partitions(&disk).unwrap(), want);
    // Primary entry array destroyed (its CRC fails): the backup header's array is used.
    disk.heal();
    disk.with_image(|img| {
        img[512 + 20] ^= 0xff;
        img[1024 + 40] ^= 0xff;
    });
    assert_eq!(read_partitions(&disk).unwrap(), want);
    // Both gone: no partitions, no error.
    let last = 16 * MIB as usize - 512;
    disk.with_image(|img| img[last] ^= 0xff);
    assert_eq!(read_partitions(&disk).unwrap(), vec![]);
}

#[test]
fn no_table_and_tiny_disks() {
    assert_eq!(read_table(&MemDisk::new(vec![0u8; 4096])).unwrap(), (TableKind::None, vec![]));
    assert_eq!(read_partitions(&MemDisk::new(vec![0u8; 100])).unwrap(), vec![]);
    assert_eq!(read_partitions(&MemDisk::new(vec![])).unwrap(), vec![]);
}

#[test]
fn read_error_on_sector_zero_is_eio() {
    let disk = MemDisk::new(vec![0u8; 8192]);
    disk.fail_reads(0..512);
    assert_eq!(read_partitions(&disk), Err(crate::Errno::EIO));
}

fn set_slot(sector: &mut [u8], i: usize, kind: u8, start: u32, sectors: u32) {
    let at = 446 + 16 * i;
    sector[at + 4] = kind;
    sector[at + 8..at + 12].copy_from_slice(&start.to_le_bytes());
    sector[at + 12..at + 16].copy_from_slice(&sectors.to_le_bytes());
    sector[510] = 0x55;
    sector[511] = 0xaa;
}

#[test]
fn ebr_loop_and_out_of_disk_entries_are_bounded() {
    let mut img = vec![0u8; 64 * 512];
    set_slot(&mut img[..512], 0, 0x83, 1, 4);
    set_slot(&mut img[..512], 1, 0x83, 40, 1000); // past the end: left out
    set_slot(&mut img[..512], 2, 0x05, 8, 50);
    // EBR at 8: logical at 8+1, next EBR at ext+0 (itself: a loop).
    set_slot(&mut img[8 * 512..9 * 512], 0, 0x83, 1, 2);
    set_slot(&mut img[8 * 512..9 * 512], 1, 0x05, 10, 10);
    // EBR at 18: logical, next back to 8.
    set_slot(&mut img[18 * 512..19 * 512], 0, 0x83, 2, 3);
    set_slot(&mut img[18 * 512..19 * 512], 1, 0x05, 0x0, 10);
    let parts = read_partitions(&MemDisk::new(img.clone())).unwrap();
    assert_eq!(parts, vec![p(1, 1, 4), p(5, 9, 2), p(6, 20, 3)]);
    // A chain pointing at itself forever.
    set_slot(&mut img[18 * 512..19 * 512], 1, 0x05, 10, 10);
    let parts = read_partitions(&MemDisk::new(img)).unwrap();
    assert_eq!(parts, vec![p(1, 1, 4), p(5, 9, 2), p(6, 20, 3)]);
}

#[test]
fn crc32_known_value() {
    assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
}

mod garbage {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn random_tables_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 512..8192),
                                     gpt in any::<bool>(), sig in any::<bool>()) {
            if sig {
                bytes[510] = 0x55;
                bytes[511] = 0xaa;
            }
            if gpt && bytes.len() >= 1024 {
                bytes[446 + 4] = 0xee;
                bytes[512..520].copy_from_slice(b"EFI PART");
            }
            let size = bytes.len() as u64;
            let parts = read_partitions(&MemDisk::new(bytes)).unwrap();
            for part in parts {
                prop_assert!(part.len > 0 && part.start + part.len <= size);
            }
        }
    }
}
