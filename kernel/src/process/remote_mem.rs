//! Access to another process's memory (ptrace PEEK/POKE, process_vm_readv/writev): page by
//! page through the target's page tables and the kernel's direct map, resolving absent or
//! copy-on-write pages with the target map's own fault policy first (so only what the
//! target itself could read or write is reachable; a write never lands in a page the target
//! could not write, nor in a frame still shared copy-on-write).

use exo_abi::{Errno, KResult};
use exo_paging::PageFlags;

use super::mm::Mm;
use crate::memory::frames;

const PAGE: u64 = 4096;
/// Page-fault error code bits: write access, user mode.
const FAULT_WRITE: u64 = 2;
const FAULT_USER: u64 = 4;

/// The direction of a copy.
pub enum Access<'a> {
    Read(&'a mut [u8]),
    Write(&'a [u8]),
}

/// Copies between `buf` and `mm` at `addr`. Returns the bytes copied: fewer than asked when
/// a page is unmapped or not accessible (EFAULT if none at all).
pub fn access(mm: &Mm, addr: u64, mut buf: Access<'_>) -> KResult<usize> {
    let total = match &buf {
        Access::Read(b) => b.len(),
        Access::Write(b) => b.len(),
    };
    let write = matches!(buf, Access::Write(_));
    let mut done = 0usize;
    while done < total {
        let Some(at) = addr.checked_add(done as u64) else { break };
        if at >= crate::uaccess::USER_END {
            break;
        }
        let offset = (at % PAGE) as usize;
        let chunk = (PAGE as usize - offset).min(total - done);
        let mut copied = false;
        for _ in 0..3 {
            {
                let inner = mm.lock();
                if let Some((phys, _, flags)) = inner.space.translate(at) {
                    let usable = flags.contains(PageFlags::USER) && (!write || flags.contains(PageFlags::WRITABLE));
                    if usable {
                        let frame = phys & !(PAGE - 1);
                        // The frame stays mapped (so referenced) while the map's lock is held.
                        match &mut buf {
                            Access::Read(b) => frames::read_frame(frame, offset, &mut b[done..done + chunk]),
                            Access::Write(b) => frames::write_frame(frame, offset, &b[done..done + chunk]),
                        }
                        copied = true;
                    }
                }
            }
            if copied {
                break;
            }
            let error = FAULT_USER | if write { FAULT_WRITE } else { 0 };
            if mm.handle_fault(at, error, false).is_err() {
                break;
            }
            // A copy-on-write break or a new page in another address space: drop stale
            // translations on every CPU.
            mm.lock().space.flush_range(at & !(PAGE - 1), PAGE);
        }
        if !copied {
            break;
        }
        done += chunk;
    }
    if done == 0 && total > 0 {
        return Err(Errno::EFAULT);
    }
    Ok(done)
}
