//! Shared test helpers: a page source over `std::alloc` that counts and checks what it hands
//! out, with an optional page limit to simulate running out of memory.

#![allow(dead_code)]

use std::alloc::Layout;
use std::collections::HashMap;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex;

use exo_heap::{Heap, PageSource, PAGE_SIZE};

/// Byte that fresh pages are filled with, so the heap cannot rely on zeroed memory.
pub const GARBAGE: u8 = 0x77;

/// Page source backed by `std::alloc::alloc` with the block's natural alignment.
pub struct TestPages {
    /// Outstanding blocks: address → order. Checks every free against what was handed out.
    blocks: Mutex<HashMap<usize, u32>>,
    pages_out: AtomicUsize,
    /// Highest number of pages that may be outstanding at once (`usize::MAX`: unlimited).
    limit: AtomicUsize,
    /// Requests refused because of the limit.
    pub refused: AtomicUsize,
}

impl TestPages {
    pub fn new() -> Self {
        Self::with_limit(usize::MAX)
    }

    /// A source that refuses any request that would take more than `pages` pages out at once.
    pub fn with_limit(pages: usize) -> Self {
        Self {
            blocks: Mutex::new(HashMap::new()),
            pages_out: AtomicUsize::new(0),
            limit: AtomicUsize::new(pages),
            refused: AtomicUsize::new(0),
        }
    }

    pub fn set_limit(&self, pages: usize) {
        self.limit.store(pages, SeqCst);
    }

    /// Pages currently handed out.
    pub fn pages_out(&self) -> usize {
        self.pages_out.load(SeqCst)
    }

    /// Blocks currently handed out.
    pub fn blocks_out(&self) -> usize {
        self.blocks.lock().unwrap().len()
    }

    fn layout(order: u32) -> Layout {
        let size = PAGE_SIZE << order;
        Layout::from_size_align(size, size).unwrap()
    }
}

// SAFETY: blocks come from `std::alloc::alloc` with size and alignment `PAGE_SIZE << order`,
// are fresh (exclusively owned) and writable.
unsafe impl PageSource for TestPages {
    fn alloc_pages(&self, order: u32) -> Option<NonNull<u8>> {
        assert!(order <= 20, "test source asked for order {order}");
        let pages = 1usize << order;
        let limit = self.limit.load(SeqCst);
        let mut out = self.pages_out.load(SeqCst);
        loop {
            if out + pages > limit {
                self.refused.fetch_add(1, SeqCst);
                return None;
            }
            match self
                .pages_out
                .compare_exchange(out, out + pages, SeqCst, SeqCst)
            {
                Ok(_) => break,
                Err(now) => out = now,
            }
        }
        let layout = Self::layout(order);
        // SAFETY: the layout has a non-zero size.
        let ptr = NonNull::new(unsafe { std::alloc::alloc(layout) }).expect("host out of memory");
        // SAFETY: the block is fresh and `layout.size()` bytes long.
        unsafe { ptr.as_ptr().write_bytes(GARBAGE, layout.size()) };
        let old = self
            .blocks
            .lock()
            .unwrap()
            .insert(ptr.as_ptr() as usize, order);
        assert!(old.is_none());
        Some(ptr)
    }

    /// # Safety
    /// The contract of `PageSource::free_pages`.
    unsafe fn free_pages(&self, ptr: NonNull<u8>, order: u32) {
        let recorded = self.blocks.lock().unwrap().remove(&(ptr.as_ptr() as usize));
        assert_eq!(
            recorded,
            Some(order),
            "free of {ptr:p} at order {order}: not handed out so"
        );
        self.pages_out.fetch_sub(1 << order, SeqCst);
        // SAFETY: the block was allocated by `alloc_pages` with this very layout.
        unsafe { std::alloc::dealloc(ptr.as_ptr(), Self::layout(order)) };
    }
}

/// The heap used by most tests: 4 simulated CPUs.
pub type TestHeap = Heap<TestPages, 4>;

pub fn heap() -> TestHeap {
    Heap::new(TestPages::new())
}

pub fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

/// Allocates and asserts success and alignment.
pub fn alloc(h: &TestHeap, cpu: usize, l: Layout) -> *mut u8 {
    let p = h.alloc_on(cpu, l);
    assert!(!p.is_null(), "allocation of {l:?} failed");
    assert_eq!(p as usize % l.align(), 0, "{p:p} misaligned for {l:?}");
    p
}

/// Frees a block from `alloc`.
pub fn free(h: &TestHeap, cpu: usize, p: *mut u8, l: Layout) {
    // SAFETY: every test passes a pointer it got from `h` with this layout, once.
    unsafe { h.dealloc_on(cpu, p, l) };
}

/// Small deterministic PRNG (xorshift64*).
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Fills a block with a pattern derived from `tag`: the tag in the first 8 bytes (if they fit)
/// and a tag-derived byte after.
///
/// # Safety
/// `p` must be valid for writes of `size` bytes.
pub unsafe fn fill(p: *mut u8, size: usize, tag: u64) {
    // SAFETY: guaranteed by the caller.
    unsafe {
        p.write_bytes(pattern_byte(tag), size);
        if size >= 8 {
            p.cast::<u64>().write_unaligned(tag);
        }
    }
}

/// Checks a pattern written by [`fill`].
///
/// # Safety
/// `p` must be valid for reads of `size` initialized bytes.
pub unsafe fn check(p: *mut u8, size: usize, tag: u64) {
    // SAFETY: guaranteed by the caller.
    let bytes = unsafe { std::slice::from_raw_parts(p, size) };
    let start = if size >= 8 {
        let got = u64::from_ne_bytes(bytes[..8].try_into().unwrap());
        assert_eq!(got, tag, "block {p:p} ({size} B) lost its tag: overlap");
        8
    } else {
        0
    };
    let b = pattern_byte(tag);
    if let Some(i) = bytes[start..].iter().position(|&x| x != b) {
        panic!(
            "block {p:p} ({size} B, tag {tag}) corrupted at byte {}",
            start + i
        );
    }
}

fn pattern_byte(tag: u64) -> u8 {
    (tag.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8 | 1
}
