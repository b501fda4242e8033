//! The heap as this test program's global allocator: the test harness, threads and std's
//! collections all run on it. The CPU-id hook returns a different CPU on every call, so almost
//! every free happens on another CPU than its allocation.
//!
//! A thin guard wraps the heap: if a heap bug made it panic while holding one of its spin
//! locks, std's panic machinery would allocate and spin forever on that lock. The guard sees
//! the re-entry and aborts instead, so such a bug fails the test rather than hanging it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use exo_heap::{Heap, PageSource, PAGE_SIZE};

/// Pages from the system allocator (cannot use `std::alloc::alloc`: that is this heap).
struct SystemPages {
    out: AtomicUsize,
}

// SAFETY: `System.alloc` returns a fresh block with the requested size and alignment, or null.
unsafe impl PageSource for SystemPages {
    fn alloc_pages(&self, order: u32) -> Option<NonNull<u8>> {
        let size = PAGE_SIZE << order;
        let layout = Layout::from_size_align(size, size).ok()?;
        // SAFETY: the layout has a non-zero size.
        let block = NonNull::new(unsafe { System.alloc(layout) })?;
        self.out.fetch_add(1 << order, Relaxed);
        Some(block)
    }

    /// # Safety
    /// The contract of `PageSource::free_pages`.
    unsafe fn free_pages(&self, ptr: NonNull<u8>, order: u32) {
        let size = PAGE_SIZE << order;
        self.out.fetch_sub(1 << order, Relaxed);
        // SAFETY: the caller returns a block from `alloc_pages(order)`, allocated with exactly
        // this layout.
        unsafe { System.dealloc(ptr.as_ptr(), Layout::from_size_align_unchecked(size, size)) };
    }
}

static NEXT_CPU: AtomicUsize = AtomicUsize::new(0);

fn rotating_cpu() -> usize {
    NEXT_CPU.fetch_add(1, Relaxed)
}

static HEAP: Heap<SystemPages, 4> = Heap::with_cpu_hook(
    SystemPages {
        out: AtomicUsize::new(0),
    },
    rotating_cpu,
);

thread_local! {
    /// Whether this thread is inside the heap (const-initialized: no allocation to access it).
    static IN_HEAP: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` inside the heap; aborts on re-entry (see the module documentation).
fn guarded<R>(f: impl FnOnce() -> R) -> R {
    if IN_HEAP.with(|c| c.replace(true)) {
        let _ =
            std::io::stderr().write_all(b"global.rs: heap re-entered (panic inside the heap?)\n");
        std::process::abort();
    }
    let r = f();
    IN_HEAP.with(|c| c.set(false));
    r
}

struct Guarded;

// SAFETY: forwards to `HEAP`'s `GlobalAlloc` implementation unchanged.
unsafe impl GlobalAlloc for Guarded {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees are passed on.
        guarded(|| unsafe { HEAP.alloc(layout) })
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's guarantees are passed on.
        guarded(|| unsafe { HEAP.dealloc(ptr, layout) })
    }
}

#[global_allocator]
static GLOBAL: Guarded = Guarded;

#[test]
fn std_collections_run_on_the_heap() {
    let before = HEAP.stats();
    let mut map = HashMap::new();
    let mut tree = BTreeMap::new();
    for i in 0..20_000u32 {
        map.insert(i, i.to_string());
        tree.insert(i.to_string(), vec![i as u8; (i % 600) as usize]);
    }
    let big = vec![0xAAu8; 1 << 20];
    for i in 0..20_000u32 {
        assert_eq!(map[&i], i.to_string());
        assert!(tree[&i.to_string()].iter().all(|&b| b == i as u8));
    }
    assert!(big.iter().all(|&b| b == 0xAA));
    drop((map, tree, big));
    let after = HEAP.stats();
    assert!(after.tier1.hits > before.tier1.hits + 10_000);
    assert!(after.tier3.hits > before.tier3.hits);
    assert!(HEAP.source().out.load(Relaxed) > 0);
}

#[test]
fn threads_run_on_the_heap() {
    let handles: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || {
                let mut v: Vec<Box<[u64]>> = Vec::new();
                for i in 0..5_000usize {
                    v.push(vec![(t * i) as u64; i % 300].into_boxed_slice());
                    if i % 3 == 0 {
                        v.swap_remove(i % v.len());
                    }
                }
                v
            })
        })
        .collect();
    // Freed on this thread, allocated on the others.
    for (t, h) in handles.into_iter().enumerate() {
        for b in h.join().unwrap() {
            assert!(b.iter().all(|&x| x % (t.max(1) as u64) == 0 || t == 0));
        }
    }
}
