//! vfat `rename`/`renameat2`: moves a directory entry within or across directories with
//! Linux's rules (replacing a file by a file or an empty directory by a directory,
//! `RENAME_NOREPLACE`), keeps the cached link counts right and marks a replaced live inode as
//! removed. `RENAME_EXCHANGE` is not supported (`EINVAL`).

use alloc::sync::Arc;

use exo_abi::Errno;
use exo_vfs::{Inode, RENAME_NOREPLACE};
use hadris_fs::{FileType, NodeId, RenameMode};

use crate::fs::{fail, State};
use crate::node::{is_dots, name_of, FatNode};

impl FatNode {
    /// The id of the entry `name` of `dir` and whether it is a directory (`None`: no entry).
    fn entry(st: &mut State, dir: NodeId, name: &[u8]) -> Result<Option<(NodeId, bool)>, Errno> {
        match st.fat.lookup(dir, name_of(name)) {
            Ok(id) => {
                let m = st.fat.stat(id);
                st.fat.forget(id, 1);
                Ok(Some((id, m.map_err(fail)?.file_type() == FileType::Dir)))
            }
            Err(e) if e.kind() == hadris_io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(fail(e)),
        }
    }

    /// `rename`/`renameat2` (see `Inode::rename`).
    pub(crate) fn rename_entry(&self, old_name: &[u8], new_dir: &Arc<dyn Inode>, new_name: &[u8], flags: u32) -> Result<(), Errno> {
        if flags & !RENAME_NOREPLACE != 0 {
            // RENAME_EXCHANGE (and whiteouts) are not supported on this vfat.
            return Err(Errno::EINVAL);
        }
        self.check_dir()?;
        let nd = self.same_fs(new_dir)?;
        nd.check_dir()?;
        self.check_writable()?;
        if is_dots(old_name) || is_dots(new_name) {
            return Err(Errno::EBUSY);
        }
        let mode = if flags & RENAME_NOREPLACE != 0 { RenameMode::NoReplace } else { RenameMode::Replace };
        let mut st = self.fs.lock();
        let (src_id, src_dir) = Self::entry(&mut st, self.id, old_name)?.ok_or(Errno::ENOENT)?;
        let target = Self::entry(&mut st, nd.id, new_name)?.filter(|&(id, _)| id != src_id);
        // The driver checks the rest (types, emptiness, moving a directory below itself) and
        // replaces the target in the same step as it writes the new entry.
        st.fat.rename(self.id, name_of(old_name), nd.id, name_of(new_name), mode).map_err(fail)?;
        if let Some((victim, victim_dir)) = target {
            Self::mark_removed(&st, victim);
            if victim_dir {
                nd.add_links(-1);
            }
        }
        if src_dir && !core::ptr::eq(self, nd) {
            self.add_links(-1);
            nd.add_links(1);
        }
        self.touch_dir(&mut st);
        if !core::ptr::eq(self, nd) {
            nd.touch_dir(&mut st);
        }
        Ok(())
    }
}
