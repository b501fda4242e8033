//! Fuzz target `pvh`: any bytes as physical memory from address 0, with the `hvm_start_info`
//! at address 0 (so the module list, memory map and strings it points to can lie in the
//! input, partly in it, or outside it = unreadable). `pvh::parse` must not panic, overflow or
//! read unboundedly; a result obeys the same invariants as a Multiboot2 one.
//! Shared by `tests/hostfuzz.rs` (cargo test) and `fuzz/` (libFuzzer).

use std::cell::Cell;

use exo_bootinfo::{pvh, PhysMemory};

use super::multiboot2::check_info;

struct Mem<'a> {
    bytes: &'a [u8],
    /// Bytes handed out so far (the parser must read a bounded amount).
    read: Cell<u64>,
}

impl PhysMemory for Mem<'_> {
    fn read(&self, paddr: u64, buf: &mut [u8]) -> bool {
        self.read.set(self.read.get() + buf.len() as u64);
        let Ok(start) = usize::try_from(paddr) else {
            return false;
        };
        match start
            .checked_add(buf.len())
            .and_then(|end| self.bytes.get(start..end))
        {
            Some(src) => {
                buf.copy_from_slice(src);
                true
            }
            None => false,
        }
    }
}

pub fn check(data: &[u8]) {
    let mem = Mem {
        bytes: data,
        read: Cell::new(0),
    };
    if let Ok(info) = pvh::parse(&mem, 0) {
        check_info(&info);
    }
    // Header, 16 modules + their strings, 128 memory map entries, the command line: a few KiB.
    assert!(mem.read.get() <= 64 * 1024, "read {} bytes", mem.read.get());
}
