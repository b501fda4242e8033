//! The receiver's choice in a priority channel: 5 classes (lanes 0 RealTime, 1 High, 2 Normal,
//! 3 Low, 4 Bulk), strict priority with a starvation guard.
//!
//! The guard counts, for each waiting class, the messages taken from higher classes since it
//! was last served (the count restarts when the class is empty). Once a class has seen `guard`
//! of them, it is served next; if several have, the highest of them. With one lower class
//! waiting this is "after `guard` messages in a row from above, one from below"; with several,
//! each of them gets one message in turn, so under full load no class starves (with all five
//! full and `guard = g`, class 0 takes `g` messages of every `g + 4`).

/// Classes of a priority channel (one lane each).
pub const CLASSES: u8 = 5;
/// Class names by index.
pub const CLASS_NAMES: [&str; CLASSES as usize] = ["realtime", "high", "normal", "low", "bulk"];

/// Strict priority with a starvation guard.
#[derive(Clone, Debug)]
pub struct PriorityPicker {
    guard: u32,
    /// Per class: messages taken from higher classes while it waited, since it was served.
    waited: [u32; CLASSES as usize],
}

impl PriorityPicker {
    /// `guard`: how many messages higher classes may take while a lower one waits (0: no
    /// guard, strict priority).
    pub const fn new(guard: u32) -> Self {
        PriorityPicker { guard, waited: [0; CLASSES as usize] }
    }

    /// The class to read next, given bit `c` of `nonempty` set when class `c` has a message
    /// (bits beyond the 5 classes are ignored). `None` if all are empty. The caller takes one
    /// message from the class returned.
    pub fn pick(&mut self, nonempty: u8) -> Option<u8> {
        let mask = nonempty & ((1 << CLASSES) - 1);
        if mask == 0 {
            return None;
        }
        let waiting = |c: usize| mask & (1 << c) != 0;
        let starving = (0..CLASSES as usize).find(|&c| self.guard != 0 && waiting(c) && self.waited[c] >= self.guard);
        let chosen = starving.unwrap_or(mask.trailing_zeros() as usize);
        for c in 0..CLASSES as usize {
            if !waiting(c) || c == chosen {
                self.waited[c] = 0;
            } else if c > chosen {
                self.waited[c] = self.waited[c].saturating_add(1);
            }
        }
        Some(chosen as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn highest_class_first() {
        let mut p = PriorityPicker::new(0);
        assert_eq!(p.pick(0), None);
        assert_eq!(p.pick(0b10100), Some(2));
        assert_eq!(p.pick(0b11111), Some(0));
        assert_eq!(p.pick(0b1110_0000), None);
        for _ in 0..100 {
            assert_eq!(p.pick(0b10001), Some(0));
        }
    }

    #[test]
    fn the_guard_lets_a_waiting_class_through() {
        let mut p = PriorityPicker::new(3);
        let picks: Vec<u8> = (0..8).map(|_| p.pick(0b11001).unwrap()).collect();
        assert_eq!(picks, [0, 0, 0, 3, 4, 0, 0, 0]);
        // The count restarts when the lower class is empty.
        let mut p = PriorityPicker::new(2);
        assert_eq!(p.pick(0b11), Some(0));
        assert_eq!(p.pick(0b01), Some(0));
        assert_eq!(p.pick(0b11), Some(0));
        assert_eq!(p.pick(0b11), Some(0));
        assert_eq!(p.pick(0b11), Some(1));
        assert_eq!(p.pick(0b11), Some(0));
    }

    #[test]
    fn under_full_load_no_class_starves() {
        let mut p = PriorityPicker::new(4);
        let mut counts = [0u32; 5];
        for _ in 0..8000 {
            counts[p.pick(0b11111).unwrap() as usize] += 1;
        }
        assert_eq!(counts, [4000, 1000, 1000, 1000, 1000]);
    }
}
