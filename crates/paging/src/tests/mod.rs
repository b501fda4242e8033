//! Test support: emulated physical memory holding only the table frames handed out by a
//! counting frame source, so any access by the crate to a frame that is not a live table
//! (never allocated, or already freed) fails the test.

mod errors;
mod fork;
mod map;
mod props;
mod teardown;

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;
use std::vec::Vec;

use crate::{FrameSource, PageFlags, PageSize, PageTable, TableMemory};

type Store = Rc<RefCell<HashMap<u64, [u64; 512]>>>;

/// Table frames by physical address. Reading or writing a frame that is not live panics.
pub struct EmuMem {
    store: Store,
}

impl TableMemory for EmuMem {
    fn read_entry(&self, table_paddr: u64, index: usize) -> u64 {
        let store = self.store.borrow();
        let frame = store
            .get(&table_paddr)
            .unwrap_or_else(|| panic!("read of non-table frame {table_paddr:#x}"));
        frame[index]
    }

    fn write_entry(&mut self, table_paddr: u64, index: usize, value: u64) {
        let mut store = self.store.borrow_mut();
        let frame = store
            .get_mut(&table_paddr)
            .unwrap_or_else(|| panic!("write to non-table frame {table_paddr:#x}"));
        frame[index] = value;
    }
}

/// Hands out zeroed frames from a bump pointer (in a physical range far from the leaf
/// frames tests map), counts allocations and frees, and can be told to fail.
pub struct EmuFrames {
    store: Store,
    next: u64,
    pub live: BTreeSet<u64>,
    pub allocated: usize,
    pub freed: usize,
    /// Allocations still allowed before `alloc_table_frame` returns `None`.
    pub budget: Option<usize>,
    /// When set, the next allocation returns this (bogus) address instead of a frame.
    pub bogus_next: Option<u64>,
    pub bogus_returned: Vec<u64>,
}

impl EmuFrames {
    pub fn outstanding(&self) -> usize {
        self.live.len()
    }

    /// Allocations still allowed from now on.
    pub fn limit(&mut self, n: usize) {
        self.budget = Some(n);
    }

    pub fn unlimited(&mut self) {
        self.budget = None;
    }
}

impl FrameSource for EmuFrames {
    fn alloc_table_frame(&mut self) -> Option<u64> {
        if let Some(bogus) = self.bogus_next.take() {
            return Some(bogus);
        }
        if let Some(budget) = self.budget.as_mut() {
            if *budget == 0 {
                return None;
            }
            *budget -= 1;
        }
        let frame = self.next;
        self.next += 0x1000;
        self.store.borrow_mut().insert(frame, [0; 512]);
        self.live.insert(frame);
        self.allocated += 1;
        Some(frame)
    }

    fn free_table_frame(&mut self, paddr: u64) {
        if !self.live.remove(&paddr) {
            self.bogus_returned.push(paddr);
            return;
        }
        self.store.borrow_mut().remove(&paddr);
        self.freed += 1;
    }
}

/// Table frames live at 64 GiB and up; tests map leaf frames elsewhere (never read).
pub const TABLE_BASE: u64 = 0x10_0000_0000;

pub fn machine() -> (EmuMem, EmuFrames) {
    let store: Store = Rc::new(RefCell::new(HashMap::new()));
    let mem = EmuMem {
        store: store.clone(),
    };
    let frames = EmuFrames {
        store,
        next: TABLE_BASE,
        live: BTreeSet::new(),
        allocated: 0,
        freed: 0,
        budget: None,
        bogus_next: None,
        bogus_returned: Vec::new(),
    };
    (mem, frames)
}

/// A machine with an empty tree.
pub fn setup() -> (EmuMem, EmuFrames, PageTable) {
    let (mem, mut frames) = machine();
    let pt = PageTable::new(&mut frames).expect("root");
    (mem, frames, pt)
}

/// A snapshot of every live table frame, to check that failed operations changed nothing.
pub fn snapshot(mem: &EmuMem) -> Vec<(u64, [u64; 512])> {
    let store = mem.store.borrow();
    let mut frames: Vec<_> = store.iter().map(|(a, f)| (*a, *f)).collect();
    frames.sort_by_key(|(a, _)| *a);
    frames
}

/// Every leaf of `pt` as `(virt, phys, size, flags)`.
pub fn mappings(mem: &EmuMem, pt: &PageTable) -> Vec<(u64, u64, PageSize, PageFlags)> {
    let mut out = Vec::new();
    pt.for_each_mapping(mem, |m| out.push((m.virt, m.phys, m.size, m.flags)));
    out
}

/// The flags a leaf of `size` mapped with `flags` must report.
pub fn expected_flags(flags: PageFlags, size: PageSize) -> PageFlags {
    let f = flags | PageFlags::PRESENT;
    match size {
        PageSize::Size4K => f - PageFlags::HUGE,
        _ => f | PageFlags::HUGE,
    }
}
