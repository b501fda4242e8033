//! Load-balancing helper: where to place a thread that becomes runnable ([`pick_cpu_for`]).

/// The least loaded CPU for a new or woken thread: the index of the smallest value in `load`
/// (one entry per CPU, e.g. `RunQueue::load` plus one for a busy CPU), the lowest index on
/// ties. `None` if `load` is empty.
pub fn pick_cpu_for(load: &[usize]) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for (cpu, &l) in load.iter().enumerate() {
        if best.is_none_or(|(_, b)| l < b) {
            best = Some((cpu, l));
        }
    }
    best.map(|(cpu, _)| cpu)
}
