//! The lock classes (one per construction site) and the graph of "A taken before B" edges
//! between them, with the call sites that first showed each edge. Fixed-size tables, no heap.
//!
//! Lock rule: the edge bitmap is read without a lock (a bit, once set, stays set); new edges are
//! added, and the cycle search runs, under `GRAPH` (a spin flag held with interrupts off, which
//! takes no other lock and is skipped if this CPU already holds it, e.g. from an NMI).

use core::panic::Location;
use core::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};

use spin::Once;

use crate::arch;

/// Most lock classes (construction sites of locks). Class ids are 1..MAX_CLASSES; 0 = none.
pub const MAX_CLASSES: usize = 512;
const WORDS: usize = MAX_CLASSES / 64;
/// Slots of the edge-site table.
const MAX_EDGES: usize = 2048;
/// Longest cycle a report lists.
pub const MAX_CYCLE: usize = 8;

/// Class `i`'s construction site is `CLASSES[i]` (slot 0 unused).
static CLASSES: [Once<&'static Location<'static>>; MAX_CLASSES] = [const { Once::new() }; MAX_CLASSES];
/// Classes that did not fit.
pub static CLASS_OVERFLOWS: AtomicUsize = AtomicUsize::new(0);

/// `EDGES[a]` bit b: class a was held when class b was taken.
static EDGES: [[AtomicU64; WORDS]; MAX_CLASSES] = [const { [const { AtomicU64::new(0) }; WORDS] }; MAX_CLASSES];

/// The call sites that first showed an edge.
#[derive(Clone, Copy)]
pub struct Edge {
    pub from: u16,
    pub to: u16,
    /// Where `from` was taken.
    pub held_at: &'static Location<'static>,
    /// Where `to` was taken while `from` was held.
    pub taken_at: &'static Location<'static>,
}

static EDGE_SITES: [Once<Edge>; MAX_EDGES] = [const { Once::new() }; MAX_EDGES];

/// Owner of the graph update flag: CPU index + 1, 0 = free.
static GRAPH: AtomicUsize = AtomicUsize::new(0);
/// Breadth-first search state, used only under `GRAPH`.
static PARENT: [AtomicU16; MAX_CLASSES] = [const { AtomicU16::new(0) }; MAX_CLASSES];
static QUEUE: [AtomicU16; MAX_CLASSES] = [const { AtomicU16::new(0) }; MAX_CLASSES];

fn same_site(a: &Location<'_>, b: &Location<'_>) -> bool {
    a.line() == b.line() && a.column() == b.column() && a.file() == b.file()
}

fn hash(site: &Location<'_>, salt: u32) -> usize {
    let mut h: u32 = 0x811c_9dc5 ^ salt;
    for &byte in site.file().as_bytes() {
        h = (h ^ u32::from(byte)).wrapping_mul(0x0100_0193);
    }
    h = (h ^ site.line()).wrapping_mul(0x0100_0193);
    h = (h ^ site.column()).wrapping_mul(0x0100_0193);
    h as usize
}

/// The class id of the locks constructed at `site` (registered on first use; 0 if the table is
/// full). Sites are compared by file, line and column: a generic constructor may give one site
/// several `Location` copies.
pub fn class_of(site: &'static Location<'static>) -> u16 {
    let start = hash(site, 0);
    for probe in 0..MAX_CLASSES {
        let index = (start + probe) % MAX_CLASSES;
        if index == 0 {
            continue;
        }
        let stored = CLASSES[index].call_once(|| site);
        if same_site(stored, site) {
            return index as u16;
        }
    }
    CLASS_OVERFLOWS.fetch_add(1, Ordering::Relaxed);
    0
}

/// Class `id`'s construction site.
pub fn site_of(id: u16) -> Option<&'static Location<'static>> {
    CLASSES.get(usize::from(id))?.get().copied()
}

/// Whether the edge `from -> to` is known.
pub fn has_edge(from: u16, to: u16) -> bool {
    let (from, to) = (usize::from(from), usize::from(to));
    EDGES[from % MAX_CLASSES][(to / 64) % WORDS].load(Ordering::Relaxed) & (1 << (to % 64)) != 0
}

/// The sites recorded for `from -> to`, if the table had room.
pub fn edge(from: u16, to: u16) -> Option<Edge> {
    let key = usize::from(from) << 16 | usize::from(to);
    let start = key.wrapping_mul(0x9e37_79b9) >> 7;
    for probe in 0..MAX_EDGES {
        let stored = EDGE_SITES[(start + probe) % MAX_EDGES].get()?;
        if stored.from == from && stored.to == to {
            return Some(*stored);
        }
    }
    None
}

fn store_edge(new: Edge) {
    let key = usize::from(new.from) << 16 | usize::from(new.to);
    let start = key.wrapping_mul(0x9e37_79b9) >> 7;
    for probe in 0..MAX_EDGES {
        let stored = EDGE_SITES[(start + probe) % MAX_EDGES].call_once(|| new);
        if stored.from == new.from && stored.to == new.to {
            return;
        }
    }
}

/// A cycle closed by a new edge: `path[0..len]` are classes `to, …, from` (the way from the new
/// edge's target back to its source through recorded edges).
pub struct Cycle {
    pub path: [u16; MAX_CYCLE + 1],
    pub len: usize,
}

/// Adds `new` to the graph. Returns the cycle it closes, if any. Does nothing if the edge is
/// already known or this CPU is already updating the graph (an NMI inside the checker).
/// Interrupts must be off.
pub fn add_edge(new: Edge) -> Option<Cycle> {
    let me = arch::cpu_index() + 1;
    loop {
        match GRAPH.compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed) {
            Ok(_) => break,
            Err(owner) if owner == me => return None,
            Err(_) => core::hint::spin_loop(),
        }
    }
    let cycle = if has_edge(new.from, new.to) {
        None
    } else {
        store_edge(new);
        let (from, to) = (usize::from(new.from), usize::from(new.to));
        EDGES[from % MAX_CLASSES][(to / 64) % WORDS].fetch_or(1 << (to % 64), Ordering::Relaxed);
        find_path(new.to, new.from)
    };
    GRAPH.store(0, Ordering::Release);
    cycle
}

/// Breadth-first search for a shortest path `start ⇝ goal` along recorded edges.
fn find_path(start: u16, goal: u16) -> Option<Cycle> {
    let mut seen = [0u64; WORDS];
    let mark = |seen: &mut [u64; WORDS], c: u16| seen[usize::from(c) / 64 % WORDS] |= 1 << (c % 64);
    let marked = |seen: &[u64; WORDS], c: u16| seen[usize::from(c) / 64 % WORDS] & (1 << (c % 64)) != 0;
    mark(&mut seen, start);
    QUEUE[0].store(start, Ordering::Relaxed);
    let (mut head, mut tail) = (0usize, 1usize);
    while head < tail {
        let node = QUEUE[head].load(Ordering::Relaxed);
        head += 1;
        if node == goal {
            let mut path = [0u16; MAX_CYCLE + 1];
            let mut len = 0;
            let mut at = goal;
            // Walk back to `start`, then reverse; a longer cycle is cut to its last hops.
            loop {
                if len < path.len() {
                    path[len] = at;
                    len += 1;
                }
                if at == start {
                    break;
                }
                at = PARENT[usize::from(at) % MAX_CLASSES].load(Ordering::Relaxed);
            }
            path[..len].reverse();
            return Some(Cycle { path, len });
        }
        for word in 0..WORDS {
            let mut bits = EDGES[usize::from(node) % MAX_CLASSES][word].load(Ordering::Relaxed);
            while bits != 0 {
                let next = (word * 64 + bits.trailing_zeros() as usize) as u16;
                bits &= bits - 1;
                if !marked(&seen, next) && tail < MAX_CLASSES {
                    mark(&mut seen, next);
                    PARENT[usize::from(next) % MAX_CLASSES].store(node, Ordering::Relaxed);
                    QUEUE[tail].store(next, Ordering::Relaxed);
                    tail += 1;
                }
            }
        }
    }
    None
}
