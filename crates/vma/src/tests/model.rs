//! The page-granular model of an address space that the property tests in `prop.rs` compare
//! the [`AreaMap`] with: a map from page number to page attributes, with each operation
//! specified page by page (written independently of the implementation, with `u128`
//! arithmetic for argument validation).

use std::collections::BTreeMap;
use std::vec;
use std::vec::Vec;

use super::FileOff;
use crate::*;

/// What the model knows about one mapped page: prot, share, kind and, if backed, the file and
/// the byte offset of this very page in it.
pub(super) type Attr = (Prot, Share, Kind, Option<(u32, u64)>);

/// A run of pages: start address, end address, attributes of each page.
pub(super) type Run = (u64, u64, Vec<Attr>);

/// Ordinary operations happen in pages `[MBASE, MBASE + SPAN * PAGE)` (and a little above).
pub(super) const MBASE: u64 = 0x40_0000;
pub(super) const SPAN: u64 = 40;
/// Start of the `brk` heap.
pub(super) const HEAP: u64 = MBASE + 8 * PAGE;
/// Inserts larger than this (only possible among the wild operations) are skipped, to keep
/// the model small.
pub(super) const MAX_INSERT_PAGES: u64 = 64;

/// Whether page `b` directly after page `a` continues it (they belong to one area).
pub(super) fn follows(a: &Attr, b: &Attr) -> bool {
    a.0 == b.0
        && a.1 == b.1
        && a.2 == b.2
        && match (a.3, b.3) {
            (None, None) => true,
            (Some((fa, oa)), Some((fb, ob))) => fa == fb && oa.checked_add(PAGE) == Some(ob),
            _ => false,
        }
}

/// `x` rounded up to pages, `None` if that does not fit in a `u64`.
pub(super) fn up(x: u64) -> Option<u64> {
    u64::try_from(u128::from(x).div_ceil(u128::from(PAGE)) * u128::from(PAGE)).ok()
}

/// The specification of a `(start, len)` argument pair, as page numbers `[p0, p1)`.
pub(super) fn spec_range(start: u64, len: u64) -> Result<(u64, u64), VmaError> {
    if !start.is_multiple_of(PAGE) {
        return Err(VmaError::Unaligned);
    }
    if len == 0 {
        return Err(VmaError::Empty);
    }
    let end = up(len)
        .and_then(|l| start.checked_add(l))
        .ok_or(VmaError::Overflow)?;
    if end > USER_END {
        return Err(VmaError::OutOfRange);
    }
    Ok((start / PAGE, end / PAGE))
}

/// An area as a run of page attributes.
pub(super) fn run_of(a: &Area<FileOff>) -> Run {
    let attrs = (a.start / PAGE..a.end / PAGE)
        .map(|p| {
            (
                a.prot,
                a.share,
                a.kind,
                a.backing.map(|b| (b.file, b.off + (p * PAGE - a.start))),
            )
        })
        .collect();
    (a.start, a.end, attrs)
}

/// [`ResizeOutcome`] with the removed pieces as runs.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum MResize {
    Unchanged,
    Shrunk(Vec<Run>),
    Grown,
}

impl From<ResizeOutcome<FileOff>> for MResize {
    fn from(r: ResizeOutcome<FileOff>) -> Self {
        match r {
            ResizeOutcome::Unchanged => MResize::Unchanged,
            ResizeOutcome::Shrunk(pieces) => MResize::Shrunk(pieces.iter().map(run_of).collect()),
            ResizeOutcome::Grown => MResize::Grown,
        }
    }
}

#[derive(Default)]
pub(super) struct Model {
    pub pages: BTreeMap<u64, Attr>,
}

impl Model {
    /// Maximal runs of mergeable pages within pages `[p0, p1)`, ascending.
    pub fn runs(&self, p0: u64, p1: u64) -> Vec<Run> {
        let mut runs: Vec<Run> = Vec::new();
        let mut prev: Option<(u64, Attr)> = None;
        for (&p, attr) in self.pages.range(p0..p1.max(p0)) {
            match (prev, runs.last_mut()) {
                (Some((q, a)), Some(run)) if q + 1 == p && follows(&a, attr) => {
                    run.1 = (p + 1) * PAGE;
                    run.2.push(*attr);
                }
                _ => runs.push((p * PAGE, (p + 1) * PAGE, vec![*attr])),
            }
            prev = Some((p, *attr));
        }
        runs
    }

    pub fn all_runs(&self) -> Vec<Run> {
        self.runs(0, USER_END / PAGE)
    }

    pub fn free(&self, p0: u64, p1: u64) -> bool {
        self.pages.range(p0..p1.max(p0)).next().is_none()
    }

    pub fn one_run(&self, p0: u64, p1: u64) -> bool {
        let runs = self.runs(p0, p1);
        runs.len() == 1 && runs[0].0 == p0 * PAGE && runs[0].1 == p1 * PAGE
    }

    /// Removes pages `[p0, p1)` and returns them as runs.
    pub fn cut(&mut self, p0: u64, p1: u64) -> Vec<Run> {
        let runs = self.runs(p0, p1);
        let keys: Vec<u64> = self.pages.range(p0..p1.max(p0)).map(|(&k, _)| k).collect();
        for k in keys {
            self.pages.remove(&k);
        }
        runs
    }

    /// `insert`; `None` if the area is too large for the model (the caller skips the call).
    pub fn insert(
        &mut self,
        area: &Area<FileOff>,
        replace: bool,
    ) -> Option<Result<Vec<Run>, VmaError>> {
        let (s, e) = (area.start, area.end);
        if !s.is_multiple_of(PAGE) || !e.is_multiple_of(PAGE) {
            return Some(Err(VmaError::Unaligned));
        }
        if e <= s {
            return Some(Err(VmaError::Empty));
        }
        if e > USER_END {
            return Some(Err(VmaError::OutOfRange));
        }
        let (p0, p1) = (s / PAGE, e / PAGE);
        if p1 - p0 > MAX_INSERT_PAGES {
            return None;
        }
        if !replace && !self.free(p0, p1) {
            return Some(Err(VmaError::Exists));
        }
        let removed = self.cut(p0, p1);
        for (p, attr) in (p0..p1).zip(run_of(area).2) {
            self.pages.insert(p, attr);
        }
        Some(Ok(removed))
    }

    pub fn remove(&mut self, start: u64, len: u64) -> Result<Vec<Run>, VmaError> {
        let (p0, p1) = spec_range(start, len)?;
        Ok(self.cut(p0, p1))
    }

    pub fn protect(
        &mut self,
        start: u64,
        len: u64,
        prot: Prot,
    ) -> Result<Vec<(u64, u64, Prot)>, VmaError> {
        let (p0, p1) = spec_range(start, len)?;
        if self.pages.range(p0..p1).count() as u64 != p1 - p0 {
            return Err(VmaError::Unmapped);
        }
        let changed = self
            .runs(p0, p1)
            .into_iter()
            .filter(|r| r.2[0].0 != prot)
            .map(|r| (r.0, r.1, r.2[0].0))
            .collect();
        for p in p0..p1 {
            if let Some(attr) = self.pages.get_mut(&p) {
                attr.0 = prot;
            }
        }
        Ok(changed)
    }

    pub fn take(&mut self, start: u64, len: u64) -> Result<Vec<Run>, VmaError> {
        let (p0, p1) = spec_range(start, len)?;
        if !self.one_run(p0, p1) {
            return Err(VmaError::Unmapped);
        }
        Ok(self.cut(p0, p1))
    }

    pub fn is_free(&self, start: u64, len: u64) -> bool {
        spec_range(start, len).is_ok_and(|(p0, p1)| self.free(p0, p1))
    }

    pub fn find_free(&self, len: u64, hint: Option<u64>, floor: u64, ceil: u64) -> Option<u64> {
        if len == 0 {
            return None;
        }
        let (len, floor) = (up(len)?, up(floor)?);
        let ceil = ceil.min(USER_END) / PAGE * PAGE;
        if floor >= ceil || len > ceil - floor {
            return None;
        }
        if let Some(h) = hint.and_then(up) {
            if h >= floor
                && u128::from(h) + u128::from(len) <= u128::from(ceil)
                && self.free(h / PAGE, (h + len) / PAGE)
            {
                return Some(h);
            }
        }
        // The highest fit ends at the ceiling or where a mapped page starts.
        core::iter::once(ceil)
            .chain(self.pages.keys().map(|&p| p * PAGE).filter(|&t| t <= ceil))
            .filter_map(|t| {
                let a = t.checked_sub(len)?;
                (a >= floor && self.free(a / PAGE, t / PAGE)).then_some(a)
            })
            .max()
    }

    pub fn resize(&mut self, start: u64, old: u64, new: u64) -> Result<MResize, VmaError> {
        let (p0, p1) = spec_range(start, old)?;
        if new == 0 {
            return Err(VmaError::Empty);
        }
        let new = up(new).ok_or(VmaError::Overflow)?;
        if new > USER_END {
            return Err(VmaError::OutOfRange);
        }
        let pn = p0 + new / PAGE;
        if pn == p1 {
            return Ok(MResize::Unchanged);
        }
        if pn < p1 {
            return Ok(MResize::Shrunk(self.cut(pn, p1)));
        }
        if !self.one_run(p0, p1) {
            return Err(VmaError::Unmapped);
        }
        let last = self.pages[&(p1 - 1)];
        let at_end = self.pages.get(&p1).is_none_or(|next| !follows(&last, next));
        if !at_end || pn > USER_END / PAGE || !self.free(p1, pn) {
            return Err(VmaError::NoRoom);
        }
        for (k, p) in (p1..pn).enumerate() {
            let off = (k as u64 + 1) * PAGE;
            self.pages.insert(
                p,
                (last.0, last.1, last.2, last.3.map(|(f, o)| (f, o + off))),
            );
        }
        Ok(MResize::Grown)
    }

    pub fn set_brk(&mut self, old_end: u64, new_end: u64) -> Result<Vec<Run>, VmaError> {
        if old_end < HEAP || new_end < HEAP {
            return Err(VmaError::OutOfRange);
        }
        let old_top = up(old_end).ok_or(VmaError::Overflow)?;
        let new_top = up(new_end).ok_or(VmaError::Overflow)?;
        if old_top > USER_END || new_top > USER_END {
            return Err(VmaError::OutOfRange);
        }
        let (o, n) = (old_top / PAGE, new_top / PAGE);
        if n < o {
            return Ok(self.cut(n, o));
        }
        if !self.free(o, n) {
            return Err(VmaError::Exists);
        }
        for p in o..n {
            self.pages
                .insert(p, (Prot::READ_WRITE, Share::Private, Kind::Heap, None));
        }
        Ok(Vec::new())
    }

    pub fn grow_stack(&mut self, addr: u64, guard: u64, max: u64) -> Result<u64, VmaError> {
        if addr >= USER_END {
            return Err(VmaError::OutOfRange);
        }
        let p = addr / PAGE;
        if self.pages.contains_key(&p) {
            return Err(VmaError::Exists);
        }
        let Some((&q, &stack)) = self.pages.range(p..).next() else {
            return Err(VmaError::Unmapped);
        };
        if stack.2 != Kind::Stack || stack.3.is_some() {
            return Err(VmaError::Unmapped);
        }
        let below = self
            .pages
            .range(..p)
            .next_back()
            .map_or(0, |(&r, _)| (r + 1) * PAGE);
        let mut end = q + 1;
        while self
            .pages
            .get(&end)
            .is_some_and(|a| follows(&self.pages[&(end - 1)], a))
        {
            end += 1;
        }
        if p * PAGE - below < guard || (end - p) * PAGE > max {
            return Err(VmaError::NoRoom);
        }
        for r in p..q {
            self.pages.insert(r, stack);
        }
        Ok(p * PAGE)
    }
}
