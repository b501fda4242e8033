//! Size classes: which tier serves a [`Layout`], and with which class or page order.
//!
//! Everything here is pure arithmetic so that it can be tested exhaustively on the host.

use core::alloc::Layout;

/// Size of a page handed out by the [`PageSource`](crate::PageSource), in bytes (the ABI's
/// page size, as a `usize`).
pub const PAGE_SIZE: usize = exo_abi::mman::PAGE_SIZE as usize;

/// The object sizes of the slab tiers, smallest first. Class `i` holds objects of
/// `16 << i` bytes, aligned to their size.
pub const SIZE_CLASSES: [usize; CLASS_COUNT] = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096];

/// Number of size classes (tiers 1 and 2 together).
pub const CLASS_COUNT: usize = 9;

/// The first `CACHED_CLASSES` classes (16..=256 bytes) go through the per-CPU caches of tier 1;
/// the others (512..=4096 bytes) are served by tier 2 directly.
pub const CACHED_CLASSES: usize = 5;

/// Largest object served by the slab tiers; anything larger (or more aligned) goes to tier 3.
pub const MAX_SMALL_SIZE: usize = 4096;

/// log2 of the smallest class.
const MIN_CLASS_SHIFT: u32 = 4;

/// Largest page order the heap ever asks for: `PAGE_SIZE << MAX_ORDER` is 2^63, which still
/// fits in a `usize` on a 64-bit target.
pub const MAX_ORDER: u32 = usize::BITS - 1 - PAGE_SIZE.trailing_zeros();

/// Where a request is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Tier 1 (per-CPU cache), class index `< CACHED_CLASSES`.
    Cached(usize),
    /// Tier 2 (per-CPU slabs), class index in `CACHED_CLASSES..CLASS_COUNT`.
    Slab(usize),
    /// Tier 3: a block of `PAGE_SIZE << order` bytes straight from the page source.
    Pages(u32),
    /// No block can satisfy the layout (order above [`MAX_ORDER`]); the allocation fails.
    TooLarge,
}

/// ceil(log2(n)) for `n >= 1`.
#[inline]
const fn ceil_log2(n: usize) -> u32 {
    if n <= 1 {
        0
    } else {
        usize::BITS - (n - 1).leading_zeros()
    }
}

/// The route of `layout`.
///
/// A class satisfies alignments up to its size, so the request needs the smallest class that
/// is at least `max(size, align)` bytes (a zero size is treated as one byte). Requests above
/// [`MAX_SMALL_SIZE`] or with an alignment above [`PAGE_SIZE`] get a naturally aligned block
/// of `2^order` pages, large enough for the size and aligned enough for the alignment.
#[inline]
pub const fn route(layout: Layout) -> Route {
    let size = layout.size();
    let align = layout.align();
    let need = if size > align { size } else { align };
    if need <= MAX_SMALL_SIZE {
        let shift = ceil_log2(need);
        let class = if shift <= MIN_CLASS_SHIFT {
            0
        } else {
            (shift - MIN_CLASS_SHIFT) as usize
        };
        if class < CACHED_CLASSES {
            Route::Cached(class)
        } else {
            Route::Slab(class)
        }
    } else {
        let pages = size.div_ceil(PAGE_SIZE);
        let size_order = ceil_log2(pages);
        // `align` is a power of two; above PAGE_SIZE it needs a block at least that large.
        let align_order = if align > PAGE_SIZE {
            align.trailing_zeros() - PAGE_SIZE.trailing_zeros()
        } else {
            0
        };
        let order = if size_order > align_order {
            size_order
        } else {
            align_order
        };
        if order > MAX_ORDER {
            Route::TooLarge
        } else {
            Route::Pages(order)
        }
    }
}

/// Object size of class `class`.
#[inline]
pub const fn class_size(class: usize) -> usize {
    16 << class
}

/// Size in bytes of the block served for `layout` (the class size, or the page block size);
/// `None` if the layout cannot be served. Useful to see how much a request really costs.
pub const fn block_size(layout: Layout) -> Option<usize> {
    match route(layout) {
        Route::Cached(c) | Route::Slab(c) => Some(class_size(c)),
        Route::Pages(order) => Some(PAGE_SIZE << order),
        Route::TooLarge => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(size: usize, align: usize) -> Route {
        route(Layout::from_size_align(size, align).unwrap())
    }

    #[test]
    fn classes_table_matches_class_size() {
        for (i, &s) in SIZE_CLASSES.iter().enumerate() {
            assert_eq!(class_size(i), s);
        }
        assert_eq!(SIZE_CLASSES[CLASS_COUNT - 1], MAX_SMALL_SIZE);
    }

    #[test]
    fn small_sizes_pick_the_smallest_fitting_class() {
        assert_eq!(r(0, 1), Route::Cached(0));
        assert_eq!(r(1, 1), Route::Cached(0));
        assert_eq!(r(16, 8), Route::Cached(0));
        assert_eq!(r(17, 1), Route::Cached(1));
        assert_eq!(r(100, 8), Route::Cached(3));
        assert_eq!(r(256, 8), Route::Cached(4));
        assert_eq!(r(257, 8), Route::Slab(5));
        assert_eq!(r(1000, 8), Route::Slab(6));
        assert_eq!(r(4096, 8), Route::Slab(8));
        assert_eq!(r(4097, 8), Route::Pages(1));
    }

    #[test]
    fn every_small_size_fits_its_class_and_no_smaller_one() {
        for size in 0..=MAX_SMALL_SIZE {
            let c = match r(size, 1) {
                Route::Cached(c) | Route::Slab(c) => c,
                other => panic!("{size}: {other:?}"),
            };
            assert!(class_size(c) >= size.max(1));
            if c > 0 {
                assert!(class_size(c - 1) < size);
            }
        }
    }

    #[test]
    fn alignment_above_size_rounds_up_to_a_satisfying_class() {
        assert_eq!(r(8, 64), Route::Cached(2));
        assert_eq!(r(1, 256), Route::Cached(4));
        assert_eq!(r(1, 512), Route::Slab(5));
        assert_eq!(r(100, 4096), Route::Slab(8));
        for shift in 0..=12 {
            let align = 1usize << shift;
            for size in [1, align / 2 + 1, align, 3 * align / 2] {
                if let Route::Cached(c) | Route::Slab(c) = r(size.max(1), align) {
                    assert!(class_size(c) >= align && class_size(c).is_multiple_of(align));
                }
            }
        }
    }

    #[test]
    fn large_requests_use_ceil_log2_of_pages() {
        assert_eq!(r(8192, 8), Route::Pages(1));
        assert_eq!(r(8193, 8), Route::Pages(2));
        assert_eq!(r(12288, 8), Route::Pages(2));
        assert_eq!(r(16384, 8), Route::Pages(2));
        assert_eq!(r(16385, 8), Route::Pages(3));
        assert_eq!(r(1 << 20, 8), Route::Pages(8));
    }

    #[test]
    fn alignment_above_a_page_goes_to_tier_3() {
        assert_eq!(r(1, 8192), Route::Pages(1));
        assert_eq!(r(8, 1 << 16), Route::Pages(4));
        assert_eq!(r(5000, 1 << 16), Route::Pages(4));
        assert_eq!(r(1 << 20, 8192), Route::Pages(8));
    }

    #[test]
    fn huge_layouts_are_too_large_or_max_order() {
        let max = Layout::from_size_align(isize::MAX as usize, 1).unwrap();
        assert_eq!(route(max), Route::Pages(MAX_ORDER));
        let big_align = Layout::from_size_align(1, 1 << 62).unwrap();
        assert_eq!(route(big_align), Route::Pages(50));
        assert_eq!(block_size(max), Some(1 << 63));
    }

    #[test]
    fn block_size_reports_the_real_cost() {
        assert_eq!(
            block_size(Layout::from_size_align(24, 8).unwrap()),
            Some(32)
        );
        assert_eq!(
            block_size(Layout::from_size_align(9000, 8).unwrap()),
            Some(16384)
        );
    }
}
