//! The parker behind `exo_sleeplock`'s locks (the VFS namespace lock, file-system locks held
//! across disk I/O): a fixed table of wait queues hashed by lock address. A contended lock
//! parks its thread on the queue of its address until the lock's release wakes that queue;
//! unrelated locks sharing a queue only cause spurious wake-ups, which the lock retries.
//! Installed by [`install`] when the scheduler starts.

use super::wait::WaitQueue;

/// Queues in the table (a power of two).
const QUEUES: usize = 64;

struct KernelParker {
    queues: [WaitQueue; QUEUES],
}

fn queue_of(parker: &KernelParker, key: usize) -> &WaitQueue {
    // Lock addresses are at least 8-byte aligned: mix the higher bits in.
    let hash = (key >> 3) ^ (key >> 9) ^ (key >> 15);
    &parker.queues[hash % QUEUES]
}

impl exo_sleeplock::Parker for KernelParker {
    fn park(&self, key: usize, blocked: &dyn Fn() -> bool) {
        // `wait_until` queues the thread before it evaluates the condition, as the lock's
        // no-lost-wake-up argument requires.
        queue_of(self, key).wait_until(|| !blocked());
    }

    fn unpark_all(&self, key: usize) {
        queue_of(self, key).wake_all();
    }
}

static PARKER: KernelParker = KernelParker { queues: [const { WaitQueue::new() }; QUEUES] };

/// Makes `exo_sleeplock`'s contended locks sleep on the kernel's wait queues.
pub fn install() {
    exo_sleeplock::install(&PARKER);
}
