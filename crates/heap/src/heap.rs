//! [`Heap`]: the three tiers put together, the `GlobalAlloc` implementation, trimming and
//! statistics.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{self, NonNull};
use core::sync::atomic::Ordering::Relaxed;

use spin::{Mutex, MutexGuard};

use crate::class::{route, Route};
use crate::freelist::FreeList;
use crate::poison;
use crate::slab;
use crate::stats::{GlobalCounters, HeapStats};
use crate::tier1::{Tier1, REFILL_BATCH};
use crate::tier2::{Backing, Tier2};
use crate::{class, PageSource};

/// Keeps a value on its own cache line(s), so that one CPU's locks do not share a line with
/// another CPU's.
#[repr(align(64))]
struct CachePadded<T>(T);

/// One CPU's state: its tier-1 caches and its tier-2 slabs, each behind its own lock.
struct PerCpu {
    t1: CachePadded<Mutex<Tier1>>,
    t2: CachePadded<Mutex<Tier2>>,
}

impl PerCpu {
    const fn new() -> Self {
        Self {
            t1: CachePadded(Mutex::new(Tier1::new())),
            t2: CachePadded(Mutex::new(Tier2::new())),
        }
    }
}

/// The default CPU-id hook of [`Heap::new`]: every caller is CPU 0.
fn cpu_zero() -> usize {
    0
}

/// The Exo-OS kernel heap over page source `P`, with per-CPU state for `CPUS` CPUs.
///
/// See the [crate documentation](crate) for the design. All methods take `&self`; a `Heap` is
/// `Sync` when `P` is, so it can be a `static` and the `#[global_allocator]`.
///
/// CPU ids passed to [`alloc_on`](Self::alloc_on) / [`dealloc_on`](Self::dealloc_on) (or
/// returned by the CPU-id hook) are taken modulo `CPUS`: any value is sound, ids that fold onto
/// the same slot just share (and contend for) its state.
pub struct Heap<P: PageSource, const CPUS: usize> {
    cpus: [PerCpu; CPUS],
    counters: GlobalCounters,
    source: P,
    cpu_id: fn() -> usize,
}

impl<P: PageSource, const CPUS: usize> Heap<P, CPUS> {
    /// A heap whose `GlobalAlloc` methods treat every caller as CPU 0 (use
    /// [`with_cpu_hook`](Self::with_cpu_hook) on SMP). Takes no memory until the first
    /// allocation. `CPUS` must be at least 1 (checked at compile time).
    pub const fn new(source: P) -> Self {
        Self::with_cpu_hook(source, cpu_zero)
    }

    /// A heap whose `GlobalAlloc` methods ask `cpu_id` for the current CPU's index (the kernel
    /// passes its per-CPU "who am I" function; it must not allocate, and it may return 0
    /// before per-CPU data exists). The index only selects per-CPU state: a wrong answer costs
    /// lock contention, never soundness.
    pub const fn with_cpu_hook(source: P, cpu_id: fn() -> usize) -> Self {
        const { assert!(CPUS > 0, "exo-heap: CPUS must be at least 1") };
        Self {
            cpus: [const { PerCpu::new() }; CPUS],
            counters: GlobalCounters::new(),
            source,
            cpu_id,
        }
    }

    /// The page source.
    pub fn source(&self) -> &P {
        &self.source
    }

    /// The current CPU's index, as told by the CPU-id hook.
    pub fn current_cpu(&self) -> usize {
        (self.cpu_id)()
    }

    fn backing(&self) -> Backing<'_, P> {
        Backing {
            source: &self.source,
            counters: &self.counters,
        }
    }

    /// Allocates a block for `layout` on CPU `cpu`: at least `layout.size()` bytes (one byte
    /// for a zero size) aligned to `layout.align()`. Returns null if memory is exhausted; never
    /// panics for lack of memory.
    ///
    /// The caller must keep interrupts disabled on this CPU for the duration of the call (see
    /// the crate documentation, "Locking").
    #[inline]
    pub fn alloc_on(&self, cpu: usize, layout: Layout) -> *mut u8 {
        let cpu = cpu % CPUS;
        let size = layout.size();
        let block = match route(layout) {
            Route::Cached(class) => self.alloc_cached(cpu, class, size),
            Route::Slab(class) => self.alloc_slab(cpu, class, size),
            Route::Pages(order) => self.alloc_large(order, size),
            Route::TooLarge => None,
        };
        match block {
            Some(block) => block.as_ptr(),
            None => {
                self.counters.failures.fetch_add(1, Relaxed);
                ptr::null_mut()
            }
        }
    }

    /// Tier 1: the fast path pops from this CPU's cache.
    #[inline]
    fn alloc_cached(&self, cpu: usize, class: usize, size: usize) -> Option<NonNull<u8>> {
        let mut t1 = self.cpus[cpu].t1.0.lock();
        if let Some(obj) = t1.pop(class) {
            t1.stats.hits += 1;
            t1.stats.bytes = t1.stats.bytes.wrapping_add(size);
            return Some(obj);
        }
        self.refill_and_pop(cpu, class, size, &mut t1)
    }

    /// Tier-1 miss: refill the cache from this CPU's slabs, then pop.
    #[cold]
    #[inline(never)]
    fn refill_and_pop(
        &self,
        cpu: usize,
        class: usize,
        size: usize,
        t1: &mut MutexGuard<'_, Tier1>,
    ) -> Option<NonNull<u8>> {
        t1.stats.misses += 1;
        // Lock order: a CPU's tier-1 lock, then the same CPU's tier-2 lock. Nothing ever takes
        // a tier-1 lock or a second tier-2 lock while holding a tier-2 lock, so no cycle.
        let batch =
            self.cpus[cpu]
                .t2
                .0
                .lock()
                .alloc_batch(class, REFILL_BATCH, cpu, &self.backing());
        if batch.is_empty() {
            return None;
        }
        t1.stats.refills += 1;
        t1.refill(class, batch);
        let obj = t1.pop(class)?;
        t1.stats.bytes = t1.stats.bytes.wrapping_add(size);
        Some(obj)
    }

    /// Tier 2 directly, for the classes of 512..=4096 bytes.
    fn alloc_slab(&self, cpu: usize, class: usize, size: usize) -> Option<NonNull<u8>> {
        let mut t2 = self.cpus[cpu].t2.0.lock();
        let obj = t2.alloc(class, cpu, &self.backing())?;
        t2.stats.bytes = t2.stats.bytes.wrapping_add(size);
        Some(obj)
    }

    /// Tier 3: a naturally aligned block of `1 << order` pages.
    fn alloc_large(&self, order: u32, size: usize) -> Option<NonNull<u8>> {
        let block = self.source.alloc_pages(order);
        self.counters.page_request(order, block.is_some());
        let block = block?;
        self.counters.large_in_use.fetch_add(1, Relaxed);
        self.counters.large_bytes.fetch_add(size, Relaxed);
        Some(block)
    }

    /// Frees a block on CPU `cpu`. A null `ptr` is ignored.
    ///
    /// A small object goes to `cpu`'s tier-1 cache whatever CPU allocated it; an object of
    /// 512..=4096 bytes goes back to its slab, under the lock of the CPU that owns the slab;
    /// a large block goes back to the page source. Interrupts must be disabled as for
    /// [`alloc_on`](Self::alloc_on).
    ///
    /// # Safety
    /// `ptr` must be null or have been returned by [`alloc_on`](Self::alloc_on) (or this heap's
    /// `GlobalAlloc::alloc`) for the same `layout` (any CPU), and not freed since. The block
    /// must not be used afterwards.
    pub unsafe fn dealloc_on(&self, cpu: usize, ptr: *mut u8, layout: Layout) {
        let Some(obj) = NonNull::new(ptr) else { return };
        let cpu = cpu % CPUS;
        let size = layout.size();
        match route(layout) {
            Route::Cached(class) => {
                debug_assert_class(obj, class);
                let flush = {
                    let mut t1 = self.cpus[cpu].t1.0.lock();
                    t1.stats.bytes = t1.stats.bytes.wrapping_sub(size);
                    // SAFETY: the caller hands back an object of `class` (same layout, so same
                    // route) from this heap's slabs.
                    let flush = unsafe { t1.push(class, obj) };
                    if let Some(list) = &flush {
                        t1.stats.flushes += 1;
                        t1.stats.flushed_objects += list.len() as u64;
                    }
                    flush
                };
                // The tier-1 lock is released before touching any tier-2 lock.
                if let Some(list) = flush {
                    self.flush(list);
                }
            }
            Route::Slab(class) => {
                debug_assert_class(obj, class);
                let slab = slab::header_of(obj);
                // SAFETY: `obj` is a live object of a slab (caller contract), so the slab is
                // live and its owner field immutable.
                let owner = unsafe { slab::owner(slab) };
                // SAFETY: the object is the caller's to give back and `class_size(class)` long.
                unsafe { poison::freed(obj.as_ptr(), class::class_size(class)) };
                let mut t2 = self.cpus[owner].t2.0.lock();
                t2.stats.bytes = t2.stats.bytes.wrapping_sub(size);
                // SAFETY: we hold the lock of the slab's owner; `obj` is one of its objects in
                // use, handed back by the caller.
                unsafe { t2.free(slab, obj, &self.backing()) };
            }
            Route::Pages(order) => {
                // SAFETY: the caller hands back a block `alloc_large` got from the page source
                // for this same layout, hence the same order.
                unsafe { self.source.free_pages(obj, order) };
                self.counters.pages_freed(order);
                self.counters.large_in_use.fetch_sub(1, Relaxed);
                self.counters.large_bytes.fetch_sub(size, Relaxed);
            }
            // Never allocated, so never freed (the caller broke the contract); leak it.
            Route::TooLarge => {
                if cfg!(debug_assertions) {
                    panic!("exo-heap: freeing a layout no block can have");
                }
            }
        }
    }

    /// Returns each object of `list` (free objects of any class and any CPU's slabs) to its
    /// slab, under the owning CPU's tier-2 lock. Holds at most one tier-2 lock at a time and
    /// no tier-1 lock.
    #[cold]
    #[inline(never)]
    fn flush(&self, mut list: FreeList) {
        let backing = self.backing();
        let mut locked: Option<(usize, MutexGuard<'_, Tier2>)> = None;
        while let Some(obj) = list.pop() {
            let slab = slab::header_of(obj);
            // SAFETY: a cached object is a free object of a live slab (its slab counts it as in
            // use), so the slab's owner field is immutable.
            let owner = unsafe { slab::owner(slab) };
            if !matches!(&locked, Some((o, _)) if *o == owner) {
                // Never hold two tier-2 locks: release the previous owner's first.
                drop(locked.take());
                locked = Some((owner, self.cpus[owner].t2.0.lock()));
            }
            if let Some((_, t2)) = &mut locked {
                // SAFETY: we hold the owner's tier-2 lock; the object counts as in use in its
                // slab (tier 1 held it) and is handed back, already poisoned.
                unsafe { t2.free(slab, obj, &backing) };
            }
        }
    }

    /// Gives back to the page source every page the heap holds without a live allocation in
    /// it: empties every CPU's tier-1 caches into their slabs, then releases every empty slab.
    ///
    /// After all allocations have been freed, `trim` leaves the heap holding no page. Under
    /// concurrent use it is best effort (other CPUs may refill their caches meanwhile).
    pub fn trim(&self) {
        for cpu in &self.cpus {
            let mut all = FreeList::new();
            {
                let mut t1 = cpu.t1.0.lock();
                for class in 0..class::CACHED_CLASSES {
                    let mut list = t1.take_all(class);
                    if !list.is_empty() {
                        t1.stats.flushes += 1;
                        t1.stats.flushed_objects += list.len() as u64;
                        all.append(&mut list);
                    }
                }
            }
            self.flush(all);
        }
        // Only now: flushing any CPU's cache may empty any CPU's slabs.
        let backing = self.backing();
        for cpu in &self.cpus {
            cpu.t2.0.lock().release_empty(&backing);
        }
    }

    /// A snapshot of the counters (takes each lock briefly, one at a time).
    pub fn stats(&self) -> HeapStats {
        let mut s = HeapStats::default();
        for cpu in &self.cpus {
            {
                let t1 = cpu.t1.0.lock();
                let c = &t1.stats;
                s.tier1.hits += c.hits;
                s.tier1.misses += c.misses;
                s.refills += c.refills;
                s.flushes += c.flushes;
                s.flushed_objects += c.flushed_objects;
                s.cached_objects += t1.cached();
                s.bytes_in_use = s.bytes_in_use.wrapping_add(c.bytes);
            }
            let t2 = cpu.t2.0.lock();
            let c = &t2.stats;
            s.tier2.hits += c.hits;
            s.tier2.misses += c.misses;
            s.slabs_allocated += c.slabs_allocated;
            s.slabs_freed += c.slabs_freed;
            s.bytes_in_use = s.bytes_in_use.wrapping_add(c.bytes);
        }
        self.counters.add_to(&mut s);
        s
    }
}

/// Debug check that a freed small object's slab is of the class its layout maps to (catches
/// frees with the wrong layout and frees of foreign pointers early).
#[inline]
fn debug_assert_class(obj: NonNull<u8>, class: usize) {
    if cfg!(debug_assertions) {
        let slab = slab::header_of(obj);
        // SAFETY: the caller of `dealloc_on` guarantees `obj` is a live slab object, so its
        // slab header is live and `class` immutable.
        let actual = unsafe { slab::class(slab) };
        assert_eq!(
            actual, class,
            "exo-heap: {obj:p} freed with a layout of another size class"
        );
    }
}

// SAFETY: `alloc_on` returns null or a block of at least `layout.size()` bytes aligned to
// `layout.align()` that nothing else uses until it is freed (see the crate invariants), and it
// never unwinds for lack of memory; `dealloc_on` accepts exactly what `alloc` returned, with
// the same layout, from any CPU.
unsafe impl<P: PageSource, const CPUS: usize> GlobalAlloc for Heap<P, CPUS> {
    /// [`Heap::alloc_on`] on the CPU the hook names.
    ///
    /// # Safety
    /// As for [`GlobalAlloc::alloc`] (nothing beyond a valid layout is needed).
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.alloc_on(self.current_cpu(), layout)
    }

    /// [`Heap::dealloc_on`] on the CPU the hook names.
    ///
    /// # Safety
    /// As for [`GlobalAlloc::dealloc`]: `ptr` was allocated by this heap with `layout`.
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `GlobalAlloc::dealloc`'s contract is `dealloc_on`'s.
        unsafe { self.dealloc_on(self.current_cpu(), ptr, layout) }
    }
}

impl<P: PageSource, const CPUS: usize> Drop for Heap<P, CPUS> {
    /// Trims: cached objects and empty slabs go back to the page source. Slabs and large
    /// blocks still holding live allocations are leaked (a heap is normally never dropped).
    fn drop(&mut self) {
        self.trim();
    }
}
