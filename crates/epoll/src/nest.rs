//! The loop and depth check of adding an epoll instance to another: Linux refuses (ELOOP) an
//! EPOLL_CTL_ADD that would make a cycle of instances or a chain deeper than `EP_MAX_NESTS`.
//! The instances form a graph the caller describes with two closures: a node's identity and
//! the instances its interest list watches.

use alloc::vec::Vec;

use exo_abi::Errno;

/// How deep epoll instances may watch each other (Linux's EP_MAX_NESTS): at most this many
/// instances below the watching one.
pub const MAX_NESTS: usize = 4;

/// ELOOP if making the instance `outer` watch `inner` would close a cycle (`outer` is `inner`
/// or is watched, directly or not, by it) or would put more than [`MAX_NESTS`] instances in a
/// chain below `outer`. `id` names a node (the same number for the same instance);
/// `children` lists the instances a node watches (its errors, ENOMEM, are passed on).
///
/// Linear in the instances and items below `inner`: each instance is walked once (its height,
/// the longest chain of instances below it, is remembered) however many paths lead to it, and
/// the walk never goes deeper than the limit. ENOMEM if that memory cannot be had.
pub fn check_nesting<N>(
    inner: N,
    outer: usize,
    id: impl Fn(&N) -> usize,
    children: impl FnMut(&N) -> Result<Vec<N>, Errno>,
) -> Result<(), Errno> {
    let mut walk = Walk { outer, id, children, seen: Vec::new() };
    let height = walk.height_below(&inner, 1)?;
    if 1 + height > MAX_NESTS {
        return Err(Errno::ELOOP);
    }
    Ok(())
}

struct Walk<I, C> {
    outer: usize,
    id: I,
    children: C,
    /// The instances measured so far (identity, height), sorted by identity.
    seen: Vec<(usize, usize)>,
}

impl<I, C> Walk<I, C> {
    /// How many levels of instances are below `node` (0: it watches none), with `node` at
    /// `depth` below `outer`.
    fn height_below<N>(&mut self, node: &N, depth: usize) -> Result<usize, Errno>
    where
        I: Fn(&N) -> usize,
        C: FnMut(&N) -> Result<Vec<N>, Errno>,
    {
        let me = (self.id)(node);
        if me == self.outer || depth > MAX_NESTS {
            return Err(Errno::ELOOP);
        }
        if let Ok(found) = self.seen.binary_search_by_key(&me, |&(node, _)| node) {
            return Ok(self.seen[found].1);
        }
        let below = (self.children)(node)?;
        let mut height = 0;
        for child in &below {
            // Both stay below MAX_NESTS + 1: deeper walks end in ELOOP first.
            let child_height = self.height_below(child, depth + 1)?;
            height = height.max(child_height + 1);
            if depth + height > MAX_NESTS {
                return Err(Errno::ELOOP);
            }
        }
        self.seen.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        // Instances measured below were inserted meanwhile: find the place again.
        let slot = self.seen.binary_search_by_key(&me, |&(node, _)| node).unwrap_or_else(|slot| slot);
        self.seen.insert(slot, (me, height));
        Ok(height)
    }
}
