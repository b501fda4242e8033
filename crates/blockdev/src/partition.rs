//! Partition tables: MBR (four primary entries; an extended partition's chain of EBRs gives
//! the logical partitions, numbered from 5 as Linux does) and GPT (protective MBR, primary
//! header and entry array checked by CRC32, the backup header at the end of the disk when the
//! primary is damaged). The result is the list of partitions with Linux's numbers and their
//! byte ranges; a table that is garbage gives fewer partitions (or none), never a panic, and
//! every walk is bounded (an EBR chain that loops stops after [`MAX_LOGICAL`] links).
//!
//! Sectors are 512 bytes ([`SECTOR_SIZE`]); a partition that does not lie inside the disk,
//! or is empty, is left out.

use alloc::vec;
use alloc::vec::Vec;

use crate::{BlockIo, Result, SECTOR_SIZE};

/// One partition: Linux's number (MBR: 1-4 primary, 5.. logical; GPT: entry index + 1) and
/// its byte range on the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartitionEntry {
    pub number: u32,
    /// First byte.
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
}

/// Which kind of table was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableKind {
    None,
    Mbr,
    Gpt,
}

/// Most logical partitions followed in an EBR chain.
pub const MAX_LOGICAL: u32 = 64;
/// Largest GPT entry array read (bytes): 128 entries of 128 bytes is the usual 16 KiB.
const MAX_GPT_ARRAY: u64 = 1 << 20;

const MBR_SIGNATURE: [u8; 2] = [0x55, 0xaa];
const TYPE_GPT_PROTECTIVE: u8 = 0xee;
const GPT_SIGNATURE: &[u8; 8] = b"EFI PART";

fn le32(b: &[u8], at: usize) -> u32 {
    let mut v = [0u8; 4];
    v.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(v)
}

fn le64(b: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(v)
}

/// CRC-32 (IEEE 802.3, reflected, as GPT uses).
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xedb8_8320 & mask);
        }
    }
    !crc
}

fn read_sector(disk: &dyn BlockIo, lba: u64) -> Result<[u8; 512]> {
    let mut buf = [0u8; 512];
    disk.read_at(lba * SECTOR_SIZE, &mut buf)?;
    Ok(buf)
}

/// A partition from sector numbers, if it is not empty and lies inside the disk.
fn entry(number: u32, start_lba: u64, sectors: u64, disk_size: u64) -> Option<PartitionEntry> {
    let start = start_lba.checked_mul(SECTOR_SIZE)?;
    let len = sectors.checked_mul(SECTOR_SIZE)?;
    let end = start.checked_add(len)?;
    (len > 0 && start > 0 && end <= disk_size).then_some(PartitionEntry { number, start, len })
}

/// One 16-byte MBR slot: (type, first LBA, sector count).
fn mbr_slot(sector: &[u8; 512], i: usize) -> (u8, u64, u64) {
    let at = 446 + 16 * i;
    (sector[at + 4], u64::from(le32(sector, at + 8)), u64::from(le32(sector, at + 12)))
}

fn is_extended(kind: u8) -> bool {
    matches!(kind, 0x05 | 0x0f | 0x85)
}

/// Reads the partition table of `disk`. `Ok(vec![])` when there is none (or it is garbage);
/// `Err` only when the disk itself fails (`EIO`) on sector 0.
pub fn read_partitions(disk: &dyn BlockIo) -> Result<Vec<PartitionEntry>> {
    read_table(disk).map(|(_, parts)| parts)
}

/// [`read_partitions`], also saying which kind of table was found.
pub fn read_table(disk: &dyn BlockIo) -> Result<(TableKind, Vec<PartitionEntry>)> {
    if disk.size() < 2 * SECTOR_SIZE {
        return Ok((TableKind::None, Vec::new()));
    }
    let mbr = read_sector(disk, 0)?;
    if mbr[510..512] != MBR_SIGNATURE {
        return Ok((TableKind::None, Vec::new()));
    }
    if (0..4).any(|i| mbr_slot(&mbr, i).0 == TYPE_GPT_PROTECTIVE) {
        if let Some(parts) = read_gpt(disk) {
            return Ok((TableKind::Gpt, parts));
        }
        // A protective MBR whose GPT is unreadable: no partitions (as Linux).
        return Ok((TableKind::None, Vec::new()));
    }
    Ok((TableKind::Mbr, read_mbr(disk, &mbr)))
}

fn read_mbr(disk: &dyn BlockIo, mbr: &[u8; 512]) -> Vec<PartitionEntry> {
    let size = disk.size();
    let mut parts = Vec::new();
    let mut extended = None;
    for i in 0..4 {
        let (kind, start, sectors) = mbr_slot(mbr, i);
        if kind == 0 {
            continue;
        }
        if is_extended(kind) {
            if extended.is_none() && sectors > 0 {
                extended = Some((start, sectors));
            }
            // Linux shows the extended partition itself as a tiny device; we leave it out.
            continue;
        }
        if let Some(p) = entry(i as u32 + 1, start, sectors, size) {
            parts.push(p);
        }
    }
    if let Some((ext_start, ext_sectors)) = extended {
        read_logical(disk, ext_start, ext_sectors, &mut parts);
    }
    parts
}

/// Follows the EBR chain of the extended partition at `ext_start` (bounded, loop-safe).
fn read_logical(disk: &dyn BlockIo, ext_start: u64, ext_sectors: u64, parts: &mut Vec<PartitionEntry>) {
    let size = disk.size();
    let ext_end = ext_start.saturating_add(ext_sectors);
    let mut ebr_lba = ext_start;
    let mut seen: Vec<u64> = Vec::new();
    let mut number = 5;
    for _ in 0..MAX_LOGICAL {
        if seen.contains(&ebr_lba) || ebr_lba >= ext_end {
            break;
        }
        seen.push(ebr_lba);
        let Ok(ebr) = read_sector(disk, ebr_lba) else { break };
        if ebr[510..512] != MBR_SIGNATURE {
            break;
        }
        let (kind, rel_start, sectors) = mbr_slot(&ebr, 0);
        if kind != 0 && !is_extended(kind) {
            let start = ebr_lba.saturating_add(rel_start);
            if start.saturating_add(sectors) <= ext_end {
                if let Some(p) = entry(number, start, sectors, size) {
                    parts.push(p);
                    number += 1;
                }
            }
        }
        let (next_kind, next_rel, _) = mbr_slot(&ebr, 1);
        if !is_extended(next_kind) || next_rel == 0 {
            break;
        }
        ebr_lba = ext_start.saturating_add(next_rel);
    }
}

/// A checked GPT header read at `lba`: (entry array LBA, entry count, entry size).
fn gpt_header(disk: &dyn BlockIo, lba: u64) -> Option<(u64, u32, u32, u32)> {
    let sector = read_sector(disk, lba).ok()?;
    if &sector[0..8] != GPT_SIGNATURE {
        return None;
    }
    let header_size = le32(&sector, 12) as usize;
    if !(92..=512).contains(&header_size) {
        return None;
    }
    let mut copy = sector;
    copy[16..20].fill(0);
    if crc32(&copy[..header_size]) != le32(&sector, 16) || le64(&sector, 24) != lba {
        return None;
    }
    let array_lba = le64(&sector, 72);
    let count = le32(&sector, 80);
    let entry_size = le32(&sector, 84);
    if entry_size < 128 || entry_size % 8 != 0 || count == 0 {
        return None;
    }
    Some((array_lba, count, entry_size, le32(&sector, 88)))
}

/// The partitions of a GPT disk: the primary header and array, else the backup ones.
fn read_gpt(disk: &dyn BlockIo) -> Option<Vec<PartitionEntry>> {
    let last_lba = disk.size() / SECTOR_SIZE - 1;
    [1, last_lba].into_iter().find_map(|lba| gpt_from(disk, lba))
}

fn gpt_from(disk: &dyn BlockIo, header_lba: u64) -> Option<Vec<PartitionEntry>> {
    let (array_lba, count, entry_size, array_crc) = gpt_header(disk, header_lba)?;
    let bytes = u64::from(count).checked_mul(u64::from(entry_size))?;
    if bytes > MAX_GPT_ARRAY {
        return None;
    }
    let mut array = vec![0u8; bytes as usize];
    disk.read_at(array_lba.checked_mul(SECTOR_SIZE)?, &mut array).ok()?;
    if crc32(&array) != array_crc {
        return None;
    }
    let size = disk.size();
    let mut parts = Vec::new();
    for (i, raw) in array.chunks_exact(entry_size as usize).enumerate() {
        if raw[0..16].iter().all(|&b| b == 0) {
            continue;
        }
        let (first, last) = (le64(raw, 32), le64(raw, 40));
        if last < first {
            continue;
        }
        if let Some(p) = entry(i as u32 + 1, first, last - first + 1, size) {
            parts.push(p);
        }
    }
    Some(parts)
}

#[cfg(test)]
mod tests;
