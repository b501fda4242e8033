//! The network thread: polls every interface when a network card interrupts (its notify
//! function only sets a flag and wakes this thread: nothing else runs in interrupt context)
//! or when a smoltcp timer is due (retransmission, delayed ACK, keep-alive, TIME_WAIT, DHCP
//! renewal). Socket calls poll inline and kick it only when they set a sooner timer.

use core::sync::atomic::{AtomicBool, Ordering};

use crate::sched::wait::WaitQueue;

static KICKED: AtomicBool = AtomicBool::new(false);
static WAKE: WaitQueue = WaitQueue::new();
/// Longest sleep without a reason (a safety net for a lost kick).
const IDLE_NS: u64 = 1_000_000_000;

/// Asks the thread to poll now (any context, interrupt handlers included).
pub fn kick() {
    KICKED.store(true, Ordering::SeqCst);
    WAKE.wake_all();
}

/// What a network card calls from its interrupt handler.
pub fn device_notify() {
    kick();
}

/// Starts the thread.
pub fn start() {
    let spawned = crate::sched::spawn("net", || loop {
        KICKED.store(false, Ordering::SeqCst);
        let next = super::stack::with(|stack| stack.poll_all());
        let now = crate::time::since_boot_ns();
        let deadline = next.min(now.saturating_add(IDLE_NS));
        if deadline > now {
            WAKE.wait_interruptible(|| KICKED.load(Ordering::SeqCst), || false, Some(deadline));
        }
    });
    if let Err(e) = spawned {
        log::error!("net: cannot start the network thread: {e:?}");
    }
}
