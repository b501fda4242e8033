//! Tests of the block layer on the scratch disk xtask attaches to the multi-CPU ktest boots
//! (xtask/src/disks.rs: 64 MiB, MBR with vda1 = 40 MiB from 1 MiB and vda2 = 22 MiB from
//! 41 MiB; the last MiB is free for raw writes): the partition table, a driver round trip
//! that bypasses the cache, many requests in flight from several threads, cache coherence
//! between opens of the disk and of a partition, the flusher writing an aged dirty page,
//! the shrinker giving clean pages back, and range errors. Without a disk (the single-CPU
//! run) each test notes it and passes.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use exo_abi::mode::makedev;
use exo_abi::Errno;

use crate::block::{self, Disk};
use crate::{kassert, kassert_eq, kprintln, ktest, sched};

const MIB: u64 = 1 << 20;
const VDA: u64 = 254 << 8;
/// Byte offset of the unpartitioned last MiB; each test uses its own 128 KiB of it.
const SCRATCH: u64 = 63 * MIB;

fn disk() -> Option<Arc<dyn Disk>> {
    let disk = block::disk_of(VDA).ok();
    if disk.is_none() {
        kprintln!("block: no disk attached; skipped");
    }
    disk
}

fn pattern(seed: u64, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i as u64).wrapping_mul(31).wrapping_add(seed * 7) as u8).collect()
}

ktest!(fn partition_table_is_seen() {
    if disk().is_none() {
        return Ok(());
    }
    let devices = block::devices();
    let find = |name: &str| devices.iter().find(|d| d.name == name).map(|d| (d.rdev, d.size));
    kassert_eq!(find("vda"), Some((VDA, 64 * MIB)));
    kassert_eq!(find("vda1"), Some((makedev(254, 1), 40 * MIB)));
    kassert_eq!(find("vda2"), Some((makedev(254, 2), 22 * MIB)));
    kassert_eq!(block::lookup("vda1"), Some(makedev(254, 1)));
    kassert_eq!(block::lookup("/dev/vda2"), Some(makedev(254, 2)));
    kassert!(block::open(makedev(254, 9)).err() == Some(Errno::ENXIO));
    // ext2's magic (0xef53 at byte 1080) through the vda1 window.
    let part = block::open(makedev(254, 1)).map_err(|e| crate::ktest::TestFailure::new(format_args!("{e:?}")))?;
    let mut magic = [0u8; 2];
    kassert!(part.read_at(1080, &mut magic).is_ok());
    kassert_eq!(magic, [0x53, 0xef]);
    Ok(())
});

ktest!(fn driver_round_trip_bypassing_the_cache() {
    let Some(disk) = disk() else { return Ok(()) };
    let data = pattern(1, 256 * 1024);
    let sector = SCRATCH / 512;
    kassert!(disk.write(sector, &[&data[..4096], &data[4096..]]).is_ok());
    kassert!(disk.flush().is_ok());
    let mut back = vec![0u8; data.len()];
    let (a, b) = back.split_at_mut(100 * 1024);
    kassert!(disk.read(sector, &mut [a, b]).is_ok());
    kassert!(back == data, "data read back differs");
    // Out of range, unaligned, too large: EIO, never a request.
    kassert_eq!(disk.read(disk.sectors(), &mut [&mut [0u8; 512][..]]), Err(Errno::EIO));
    kassert_eq!(disk.read(0, &mut [&mut [0u8; 100][..]]), Err(Errno::EIO));
    kassert_eq!(disk.write(0, &[&vec![0u8; 512 * 1024][..]]), Err(Errno::EIO));
    Ok(())
});

ktest!(fn many_requests_in_flight_from_several_threads() {
    if disk().is_none() {
        return Ok(());
    }
    let mut handles = Vec::new();
    for t in 0..6u64 {
        let handle = sched::spawn("blkio", move || {
            let Ok(disk) = block::disk_of(VDA) else { return -1 };
            // 8 KiB blocks at 64 KiB + t * 64 KiB... (each thread its own 16 KiB).
            let base = (SCRATCH + 256 * 1024) / 512 + t * 32;
            for round in 0..20u64 {
                let data = pattern(t * 100 + round, 8192);
                let sector = base + (round % 2) * 16;
                if disk.write(sector, &[&data]).is_err() {
                    return -2;
                }
                let mut back = vec![0u8; 8192];
                if disk.read(sector, &mut [&mut back]).is_err() {
                    return -3;
                }
                if back != data {
                    return -4;
                }
            }
            0
        });
        match handle {
            Ok(h) => handles.push(h),
            Err(_) => kassert!(false, "cannot spawn"),
        }
    }
    for handle in handles {
        kassert_eq!(handle.join(), 0);
    }
    let most = block::virtio_blk::max_in_flight();
    kprintln!("block: at most {most} requests were in flight at once");
    kassert!(most >= 2, "requests never overlapped");
    Ok(())
});

ktest!(fn cache_is_coherent_between_opens() {
    if disk().is_none() {
        return Ok(());
    }
    let open = |rdev| block::open(rdev).map_err(|e| crate::ktest::TestFailure::new(format_args!("{e:?}")));
    let (a, b, vda2) = (open(VDA)?, open(VDA)?, open(makedev(254, 2))?);
    let offset = SCRATCH + 512 * 1024 + 1000;
    let data = pattern(9, 10_000);
    kassert!(a.write_at(offset, &data).is_ok());
    let mut back = vec![0u8; data.len()];
    kassert!(b.read_at(offset, &mut back).is_ok());
    kassert!(back == data, "second open sees other bytes");
    // A write through the partition shows through the disk at the partition's offset.
    kassert!(vda2.write_at(4096 + 3, b"partition").is_ok());
    let mut word = [0u8; 9];
    kassert!(a.read_at(41 * MIB + 4096 + 3, &mut word).is_ok());
    kassert_eq!(&word, b"partition");
    kassert!(block::sync_device(makedev(254, 2)).is_ok());
    // Now on the disk itself.
    let Some(disk) = disk() else { return Ok(()) };
    let mut sector = [0u8; 512];
    kassert!(disk.read((41 * MIB + 4096) / 512, &mut [&mut sector[..]]).is_ok());
    kassert_eq!(&sector[3..12], b"partition");
    kassert_eq!(a.read_at(64 * MIB - 10, &mut [0u8; 11]), Err(Errno::EIO));
    kassert_eq!(vda2.write_at(22 * MIB, &[1]), Err(Errno::EIO));
    Ok(())
});

ktest!(fn flusher_writes_aged_dirty_pages() {
    let Some(disk) = disk() else { return Ok(()) };
    let Ok(cache) = block::open(VDA) else { return Ok(()) };
    let offset = SCRATCH + 768 * 1024;
    block::writeback::set_dirty_expire_ns(100_000_000);
    let data = pattern(42, 4096);
    kassert!(cache.write_at(offset, &data).is_ok());
    // The flusher wakes every second: within 3 s the page must be on the disk.
    let deadline = crate::time::since_boot_ns() + 3_000_000_000;
    let mut back = vec![0u8; 4096];
    let mut written = false;
    while crate::time::since_boot_ns() < deadline {
        sched::sleep_ns(100_000_000);
        if disk.read(offset / 512, &mut [&mut back]).is_ok() && back == data {
            written = true;
            break;
        }
    }
    block::writeback::set_dirty_expire_ns(block::writeback::DIRTY_EXPIRE_NS);
    kassert!(written, "the flusher did not write the page within 3 s");
    Ok(())
});

ktest!(fn shrinker_frees_clean_pages() {
    if disk().is_none() {
        return Ok(());
    }
    let Ok(cache) = block::open(VDA) else { return Ok(()) };
    // 1 MiB of vda1 cached (clean).
    let mut buf = vec![0u8; 1 << 20];
    kassert!(cache.read_at(2 * MIB, &mut buf).is_ok());
    let before = block::stats().cached;
    kassert!(before >= 256, "only {before} pages cached");
    let freed = crate::memory::reclaim::reclaim(128);
    kassert!(freed >= 128, "the shrinker freed {freed} pages");
    kassert!(block::stats().cached <= before - 128);
    // Dropped pages read again from the disk.
    let mut again = vec![0u8; 1 << 20];
    kassert!(cache.read_at(2 * MIB, &mut again).is_ok());
    kassert!(again == buf);
    Ok(())
});
