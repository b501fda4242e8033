//! Grants: pages (moved or shared, never copied) and descriptors one end hands to its peer.
//! The sender's `fusion_grant` parks them in the ring under a fresh id; the peer's
//! `fusion_accept` takes them. A grant nobody takes is freed with the ring, or as soon as the
//! end that could take it closes.
//!
//! Descriptors in flight never form a cycle (which would keep rings alive with no process
//! holding them, Linux's SCM_RIGHTS garbage problem): a ring that carries descriptors is never
//! itself sent, and a ring that is in flight never carries descriptors (ETOOMANYREFS).
//! Objects that hold other descriptors (epoll instances) are not sent at all (EINVAL).

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, Ordering};

use exo_abi::fusion as abi;
use exo_abi::{Errno, KResult};

use crate::files::file::OpenFile;
use crate::process::mm_shared::FrameRefs;
use crate::spinlock::SpinLock;

use super::ring::{Dir, Ring};

/// What a grant carries.
pub enum Payload {
    /// Frames with one reference each; `shared`: the sender kept its mapping; `readonly`: the
    /// receiver maps them sealed.
    Pages { refs: FrameRefs, shared: bool, readonly: bool, charge: super::budget::Charge },
    /// A descriptor's open file, with the rights the receiver's copy keeps (fusion ends).
    File { file: Arc<OpenFile>, rights: u32, flight: InFlight },
}

/// One pending grant.
pub struct Grant {
    pub id: u32,
    pub payload: Payload,
}

/// A ring's descriptor-flight counters (see the module's documentation).
#[derive(Default)]
pub struct Flight {
    /// Descriptions of this ring's ends parked in some ring's grants.
    in_flight: AtomicU32,
    /// Descriptor grants parked in this ring.
    carried: AtomicU32,
}

/// Serialises the flight checks with the counter increments that follow them.
static FLIGHT_LOCK: SpinLock<()> = SpinLock::new(());

/// The counters a parked descriptor grant holds up; released when the grant is taken or freed.
pub struct InFlight {
    carrier: Arc<Flight>,
    sent: Option<Arc<Flight>>,
}

impl InFlight {
    /// Records that a descriptor (of ring `sent`, if it is a fusion end) is parked in `carrier`,
    /// unless that could close a cycle (ETOOMANYREFS).
    pub fn start(carrier: &Arc<Flight>, sent: Option<&Arc<Flight>>) -> KResult<InFlight> {
        let _serial = FLIGHT_LOCK.lock();
        if carrier.in_flight.load(Ordering::SeqCst) != 0 {
            return Err(Errno::ETOOMANYREFS);
        }
        if let Some(sent) = sent {
            if Arc::ptr_eq(sent, carrier) || sent.carried.load(Ordering::SeqCst) != 0 {
                return Err(Errno::ETOOMANYREFS);
            }
            sent.in_flight.fetch_add(1, Ordering::SeqCst);
        }
        carrier.carried.fetch_add(1, Ordering::SeqCst);
        Ok(InFlight { carrier: carrier.clone(), sent: sent.cloned() })
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.carrier.carried.fetch_sub(1, Ordering::SeqCst);
        if let Some(sent) = &self.sent {
            sent.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Parks `payload` for the receiver of `dir`; returns its id. EAGAIN when
/// `GRANTS_PENDING_MAX` grants wait already; EPIPE when the receiver is gone.
pub fn park(ring: &Ring, dir: Dir, payload: Payload) -> KResult<u32> {
    let receiver = super::ring::receiver(dir);
    let mut grants = ring.grants[dir.index()].lock();
    if ring.cut_off(receiver.peer()) {
        return Err(Errno::EPIPE);
    }
    if grants.len() >= abi::GRANTS_PENDING_MAX {
        return Err(Errno::EAGAIN);
    }
    grants.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    // Ids are never 0 and never repeat among pending grants (32 bits wrap after 4 billion).
    let id = loop {
        let id = ring.next_grant.fetch_add(1, Ordering::Relaxed) as u32;
        if id != 0 && !grants.iter().any(|g| g.id == id) {
            break id;
        }
    };
    grants.push(Grant { id, payload });
    Ok(id)
}

/// Takes the grant `id` parked for the receiver of `dir` (ENOENT if there is none).
pub fn take(ring: &Ring, dir: Dir, id: u32) -> KResult<Grant> {
    let mut grants = ring.grants[dir.index()].lock();
    let index = grants.iter().position(|g| g.id == id).ok_or(Errno::ENOENT)?;
    Ok(grants.swap_remove(index))
}

/// Pending grants of a direction (/proc/fusion).
pub fn pending(ring: &Ring, dir: Dir) -> usize {
    ring.grants[dir.index()].lock().len()
}
