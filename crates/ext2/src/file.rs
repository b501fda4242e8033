//! File data: reads and writes in runs of physically contiguous blocks (one device call per
//! run; holes read as zeros), allocation of missing blocks on write (the parts of a new block
//! the write does not cover are zeroed), truncation both ways, and `relatime`.

use exo_abi::Errno;
use exo_vfs::{Time, MAX_FILE_SIZE};

use crate::bmap::max_blocks;
use crate::inode::{Ext2Inode, State};
use crate::Result;

/// Largest write handled in one go (bounds the blocks allocated under one lock hold).
const MAX_CHUNK: usize = 16 << 20;

impl Ext2Inode {
    pub(crate) fn max_size(&self) -> u64 {
        let by_map = max_blocks(self.vol.geo.block_size).saturating_mul(self.vol.bs());
        // i_blocks is 32 bits of 512-byte units without huge_file.
        let limit = by_map.min((u64::from(u32::MAX) + 1) * 512 - self.vol.bs() * 4).min(MAX_FILE_SIZE);
        // Revision 0 has no i_size_high (no large_file feature to set).
        if self.vol.geo.rev == 0 {
            limit.min(i32::MAX as u64)
        } else {
            limit
        }
    }

    pub(crate) fn read_data(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let mut st = self.lock();
        let size = st.d.size;
        if offset >= size || buf.is_empty() {
            return Ok(0);
        }
        let n = (size - offset).min(buf.len() as u64) as usize;
        let bs = self.vol.bs();
        let vol = self.vol.clone();
        let mut m = st.mapper(&vol, self.ino);
        let mut done = 0usize;
        while done < n {
            let pos = offset + done as u64;
            let lblk = pos / bs;
            let phys = m.map(lblk)?;
            // Grow the run over following blocks (contiguous, or all holes).
            let mut len = (bs - pos % bs).min((n - done) as u64) as usize;
            let mut k = 1;
            while done + len < n {
                let next = m.map(lblk + k)?;
                let contiguous = if phys == 0 { next == 0 } else { next == phys + k };
                if !contiguous {
                    break;
                }
                len += (bs as usize).min(n - done - len);
                k += 1;
            }
            let dst = buf.get_mut(done..done + len).ok_or(Errno::EIO)?;
            if phys == 0 {
                dst.fill(0);
            } else {
                vol.dev.read_at(phys * bs + pos % bs, dst)?;
            }
            done += len;
        }
        self.touch_atime(&mut st)?;
        Ok(n)
    }

    /// `relatime`: atime moves when it is older than mtime or ctime, or a day old.
    fn touch_atime(&self, st: &mut State) -> Result<()> {
        if self.vol.read_only.load(core::sync::atomic::Ordering::Relaxed) {
            return Ok(());
        }
        let now = self.vol.now();
        let d = &mut st.d;
        if d.atime <= d.mtime || d.atime <= d.ctime || now.sec.saturating_sub(d.atime.sec) >= 86400 {
            if d.atime == now {
                return Ok(());
            }
            d.atime = now;
            self.vol.write_dinode(self.ino, &mut st.d)?;
        }
        Ok(())
    }

    pub(crate) fn write_data(&self, offset: u64, buf: &[u8]) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let max = self.max_size();
        if offset >= max {
            return Err(Errno::EFBIG);
        }
        let buf = buf.get(..buf.len().min(MAX_CHUNK).min((max - offset) as usize)).unwrap_or(&[]);
        let mut st = self.lock();
        // chattr +i refuses writes; +a only appends.
        if st.d.flags & crate::dinode::FL_IMMUTABLE != 0 || (st.d.flags & crate::dinode::FL_APPEND != 0 && offset != st.d.size) {
            return Err(Errno::EPERM);
        }
        let bs = self.vol.bs();
        let vol = self.vol.clone();
        let ino = self.ino;
        let end = offset + buf.len() as u64;
        let mut done = 0usize;
        let mut err = None;
        {
            let mut m = st.mapper(&vol, ino);
            // Pending run: device offset, buffer start, length.
            let mut run: Option<(u64, usize, usize)> = None;
            while done < buf.len() {
                let pos = offset + done as u64;
                let lblk = pos / bs;
                let inblk = pos % bs;
                let chunk = (bs - inblk).min(end - pos) as usize;
                let left_blocks = (end - pos).div_ceil(bs).min(u64::from(u32::MAX)) as u32;
                let (phys, new) = match m.map_alloc(lblk, left_blocks) {
                    Ok(x) => x,
                    Err(e) => {
                        err = Some(e);
                        break;
                    }
                };
                if new && (chunk as u64) < bs {
                    // Zero the parts of the new block the write leaves alone.
                    let zeros = crate::sb::zeroed(bs as usize)?;
                    let z1 = zeros.get(..inblk as usize).unwrap_or(&[]);
                    let z2 = zeros.get(..(bs - inblk) as usize - chunk).unwrap_or(&[]);
                    if !z1.is_empty() {
                        vol.dev.write_at(phys * bs, z1)?;
                    }
                    if !z2.is_empty() {
                        vol.dev.write_at(phys * bs + inblk + chunk as u64, z2)?;
                    }
                }
                let dev_off = phys * bs + inblk;
                run = match run {
                    Some((o, s, l)) if o + l as u64 == dev_off => Some((o, s, l + chunk)),
                    Some((o, s, l)) => {
                        vol.dev.write_at(o, buf.get(s..s + l).unwrap_or(&[]))?;
                        Some((dev_off, done, chunk))
                    }
                    None => Some((dev_off, done, chunk)),
                };
                done += chunk;
            }
            if let Some((o, s, l)) = run {
                vol.dev.write_at(o, buf.get(s..s + l).unwrap_or(&[]))?;
            }
            m.flush()?;
        }
        if done == 0 {
            if st.d.blocks != 0 || err.is_some() {
                vol.write_dinode(ino, &mut st.d)?;
            }
            return Err(err.unwrap_or(Errno::EIO));
        }
        let new_end = offset + done as u64;
        if new_end > st.d.size {
            st.d.size = new_end;
            vol.note_large_file(new_end);
        }
        let now = vol.now();
        st.d.mtime = now;
        st.d.ctime = now;
        vol.write_dinode(ino, &mut st.d)?;
        Ok(done)
    }

    /// Sets the size; shrinking frees the blocks past the end and zeroes the tail of the last
    /// block (so a later extension reads zeros).
    pub(crate) fn truncate_inner(&self, len: u64, touch_mtime: bool) -> Result<()> {
        if self.ftype_is_dir() {
            return Err(Errno::EISDIR);
        }
        if len > self.max_size() {
            return Err(Errno::EFBIG);
        }
        let mut st = self.lock();
        if st.d.flags & crate::dinode::FL_PINNED != 0 {
            return Err(Errno::EPERM);
        }
        let vol = self.vol.clone();
        let bs = vol.bs();
        let old = st.d.size;
        if len < old {
            let keep = len.div_ceil(bs);
            if len % bs != 0 {
                let p = st.mapper(&vol, self.ino).map(len / bs)?;
                if p != 0 {
                    let zeros = crate::sb::zeroed((bs - len % bs) as usize)?;
                    vol.dev.write_at(p * bs + len % bs, &zeros)?;
                }
            }
            st.mapper(&vol, self.ino).free_from(keep)?;
        }
        st.d.size = len;
        vol.note_large_file(len);
        let now: Time = vol.now();
        if touch_mtime {
            st.d.mtime = now;
        }
        st.d.ctime = now;
        vol.write_dinode(self.ino, &mut st.d)
    }

    fn ftype_is_dir(&self) -> bool {
        self.is_dir()
    }
}
