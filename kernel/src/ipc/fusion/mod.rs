//! Fusion Rings, the kernel side: ring objects (`ring`), their ends as open files (`end`), and
//! grants of pages and descriptors (`grant`). The system calls (`syscall::fusion`) parse user
//! arguments and call the operations here. docs/ipc.md describes the design, the memory layout
//! and the protocol; `crates/abi/src/fusion.rs` the ABI.

pub mod budget;
pub mod end;
pub mod grant;
pub mod ring;

use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering};

use exo_abi::fusion::{self as abi, FusionInfo, FusionParams, Layout};
use exo_abi::{Errno, KResult};
use exo_vma::{Prot, Share};

use crate::files::file::OpenFile;
use crate::process::mm::Mm;
use crate::spinlock::SpinLock;

use self::end::End;
use self::grant::{InFlight, Payload};
use self::ring::{Dir, Ring, Side};

/// Every live ring, for /proc/fusion (dead entries are swept when rings are created).
static RINGS: SpinLock<Vec<Weak<Ring>>> = SpinLock::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Creates a ring as `params` asks; returns the open files of its ends A and B.
pub fn create(params: &FusionParams) -> KResult<(Arc<OpenFile>, Arc<OpenFile>)> {
    use exo_abi::fcntl::{O_CLOEXEC, O_NONBLOCK};
    let rights_ok = |r: u32| r & !abi::RIGHTS_ALL == 0;
    if params.flags & !(O_CLOEXEC | O_NONBLOCK) != 0 || !rights_ok(params.rights_a) || !rights_ok(params.rights_b) {
        return Err(Errno::EINVAL);
    }
    if params.reserved != 0 || params.reserved2 != 0 {
        return Err(Errno::EINVAL);
    }
    match params.kind {
        abi::KIND_DUPLEX => {}
        abi::KIND_MULTICAST if params.lanes_ab == 1 && params.lanes_ba == 0 => {}
        _ => return Err(Errno::EINVAL),
    }
    let layout = Layout::new(params.slots, params.lanes_ab, params.lanes_ba).ok_or(Errno::EINVAL)?;
    let mut rings = RINGS.lock();
    rings.retain(|ring| ring.strong_count() > 0);
    rings.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    drop(rings);
    let ring = Ring::new(NEXT_ID.fetch_add(1, Ordering::Relaxed), layout, params.kind)?;
    RINGS.lock().push(Arc::downgrade(&ring));
    let status = params.flags & O_NONBLOCK;
    let a = End::open(&ring, Side::A, params.rights_a, status);
    let b = End::open(&ring, Side::B, params.rights_b, status);
    Ok((a, b))
}

/// The pages of `end`'s mapping with their protections (see docs/ipc.md, "Memory layout").
fn mapping_pages(end: &End) -> KResult<Vec<(u64, Option<Prot>)>> {
    let ring = &end.ring;
    let layout = ring.layout;
    let (send, recv) = (end.has(abi::RIGHT_SEND), end.has(abi::RIGHT_RECV));
    let rw = |yes: bool| if yes { Some(Prot::READ_WRITE) } else { Some(Prot::READ) };
    let ro_if = |yes: bool| if yes { Some(Prot::READ) } else { None };
    let (prod_tx, cons_tx, prod_rx, cons_rx) = match end.side {
        Side::A => (abi::PAGE_PROD_AB, abi::PAGE_CONS_AB, abi::PAGE_PROD_BA, abi::PAGE_CONS_BA),
        Side::B => (abi::PAGE_PROD_BA, abi::PAGE_CONS_BA, abi::PAGE_PROD_AB, abi::PAGE_CONS_AB),
    };
    let (tx_slots, rx_slots) = match end.side {
        Side::A => (layout.slots_ab..layout.slots_ba, layout.slots_ba..layout.size),
        Side::B => (layout.slots_ba..layout.size, layout.slots_ab..layout.slots_ba),
    };
    let mut pages = Vec::new();
    pages.try_reserve_exact(ring.frames().len()).map_err(|_| Errno::ENOMEM)?;
    for (index, &frame) in ring.frames().iter().enumerate() {
        let page = index as u64;
        let offset = page * abi::PAGE_SIZE;
        let prot = if page == abi::PAGE_KERNEL {
            Some(Prot::READ)
        } else if page == prod_tx {
            rw(send)
        } else if page == cons_tx {
            Some(Prot::READ)
        } else if page == prod_rx {
            ro_if(recv)
        } else if page == cons_rx {
            if end.subscriber() { None } else if recv { Some(Prot::READ_WRITE) } else { None }
        } else if tx_slots.contains(&offset) {
            if send { Some(Prot::READ_WRITE) } else { None }
        } else if rx_slots.contains(&offset) {
            ro_if(recv)
        } else {
            None
        };
        pages.push((frame, prot));
    }
    Ok(pages)
}

/// `fusion_map`: maps `end`'s view of its ring into `mm`; returns the address.
pub fn map(end: &End, mm: &Mm, hint: u64) -> KResult<u64> {
    mm.map_object(hint, &mapping_pages(end)?)
}

/// `fusion_wake`: the wake-ups of `ops`; returns how many threads woke.
pub fn wake(end: &End, ops: u32) -> KResult<u64> {
    check_wakes(end, ops)?;
    let mut woken = 0;
    if ops & abi::WAKE_DATA != 0 {
        woken += end.ring.wake_data(end.side.tx());
    }
    if ops & abi::WAKE_SPACE != 0 {
        woken += end.ring.wake_space(end.side.rx());
    }
    Ok(woken as u64)
}

/// The rights and lanes the wake bits of `ops` need.
fn check_wakes(end: &End, ops: u32) -> KResult<()> {
    if ops & abi::WAKE_DATA != 0 && !end.has(abi::RIGHT_SEND) || ops & abi::WAKE_SPACE != 0 && !end.has(abi::RIGHT_RECV) {
        return Err(Errno::EPERM);
    }
    if ops & abi::WAKE_DATA != 0 && end.ring.lanes(end.side.tx()) == 0 || ops & abi::WAKE_SPACE != 0 && end.ring.lanes(end.side.rx()) == 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// `fusion_wait`: the wake-ups of `ops`, then its wait (if any) while the watched word equals
/// `expected`, up to `timeout_ns`. `nonblocking`: EAGAIN instead of sleeping. A wake of the
/// readers followed by a wait hands the CPU to the first reader.
pub fn wait(end: &End, ops: u32, expected: u64, timeout_ns: u64, nonblocking: bool, interrupted: impl Fn() -> bool) -> KResult<u64> {
    const ALL: u32 = abi::WAIT_DATA | abi::WAIT_SPACE | abi::WAKE_DATA | abi::WAKE_SPACE;
    let waits = ops & (abi::WAIT_DATA | abi::WAIT_SPACE);
    if ops & !ALL != 0 || waits == abi::WAIT_DATA | abi::WAIT_SPACE {
        return Err(Errno::EINVAL);
    }
    if waits == 0 {
        return wake(end, ops);
    }
    check_wakes(end, ops)?;
    let ring = &end.ring;
    let data = waits == abi::WAIT_DATA;
    let (dir, right) = if data { (end.side.rx(), abi::RIGHT_RECV) } else { (end.side.tx(), abi::RIGHT_SEND) };
    if !end.has(right) {
        return Err(Errno::EPERM);
    }
    if ring.lanes(dir) == 0 {
        return Err(Errno::EINVAL);
    }
    if ops & abi::WAKE_SPACE != 0 {
        ring.wake_space(end.side.rx());
    }
    let sleeps = timeout_ns != 0 && !nonblocking;
    let handoff = if ops & abi::WAKE_DATA == 0 {
        None
    } else if sleeps {
        ring.take_reader(end.side.tx())
    } else {
        ring.wake_data(end.side.tx());
        None
    };
    if data && end.subscriber() {
        end.seen.store(expected, Ordering::Relaxed);
    }
    if !sleeps {
        let moved = if data { ring.post(dir) } else { ring.taken(dir) } != expected;
        return match () {
            _ if moved => Ok(0),
            _ if ring.cut_off(end.side) => Err(Errno::EPIPE),
            _ if nonblocking => Err(Errno::EAGAIN),
            _ => Err(Errno::ETIMEDOUT),
        };
    }
    let deadline = (timeout_ns != abi::FOREVER).then(|| crate::time::since_boot_ns().saturating_add(timeout_ns));
    ring.wait(end.side, dir, data, expected, deadline, interrupted, handoff).map(|()| 0)
}

/// `fusion_grant` of pages: moves or shares `[addr, addr + len)` of `mm` to the peer.
pub fn grant_pages(end: &End, mm: &Mm, flags: u32, addr: u64, len: u64) -> KResult<u32> {
    if !end.has(abi::RIGHT_GRANT) {
        return Err(Errno::EPERM);
    }
    if end.subscriber() || end.ring.lanes(end.side.tx()) == 0 {
        return Err(Errno::EINVAL);
    }
    let readonly = flags & abi::GRANT_READONLY != 0;
    // Parked pages are held by no address space: charge them.
    if len == 0 || len % abi::PAGE_SIZE != 0 || len / abi::PAGE_SIZE > abi::GRANT_PAGES_MAX {
        return Err(Errno::EINVAL);
    }
    let charge = budget::Charge::take((len / abi::PAGE_SIZE) as usize)?;
    let refs = match flags & !abi::GRANT_READONLY {
        abi::GRANT_MOVE if !readonly => mm.take_pages(addr, len)?,
        abi::GRANT_SHARE => mm.share_pages(addr, len)?,
        _ => return Err(Errno::EINVAL),
    };
    let shared = flags & abi::GRANT_SHARE != 0;
    grant::park(&end.ring, end.side.tx(), Payload::Pages { refs, shared, readonly, charge })
}

/// `fusion_grant` of a descriptor's open file, keeping `rights` (for fusion ends).
pub fn grant_file(end: &End, file: Arc<OpenFile>, rights: u64) -> KResult<u32> {
    if !end.has(abi::RIGHT_GRANT) {
        return Err(Errno::EPERM);
    }
    if end.subscriber() || end.ring.lanes(end.side.tx()) == 0 {
        return Err(Errno::EINVAL);
    }
    let sent = match end::of(&file) {
        Some(sent) => Some(&sent.ring.flight),
        // Objects that hold other descriptors (epoll) could carry rings in flight.
        None if file.ops.as_any().is_some() => return Err(Errno::EINVAL),
        None => None,
    };
    let flight = InFlight::start(&end.ring.flight, sent)?;
    let rights = (rights & abi::RIGHTS_ALL as u64) as u32;
    grant::park(&end.ring, end.side.tx(), Payload::File { file, rights, flight })
}

/// What `fusion_accept` took.
pub enum Accepted {
    /// Pages mapped at `addr`.
    Pages { addr: u64, len: u64 },
    /// A descriptor to install.
    File(Arc<OpenFile>, u32),
}

/// `fusion_accept`: takes grant `id` parked for `end` (mapping pages into `mm`).
pub fn accept(end: &End, mm: &Mm, id: u32) -> KResult<Accepted> {
    if !end.has(abi::RIGHT_RECV) {
        return Err(Errno::EPERM);
    }
    match grant::take(&end.ring, end.side.rx(), id)?.payload {
        Payload::Pages { refs, shared, readonly, charge } => {
            drop(charge);
            let len = refs.0.len() as u64 * abi::PAGE_SIZE;
            let (share, prot) = match (shared, readonly) {
                (false, _) => (Share::Private, Prot::READ_WRITE),
                (true, false) => (Share::Shared, Prot::READ_WRITE),
                (true, true) => (Share::Shared, Prot::READ),
            };
            let addr = mm.map_granted(refs, share, prot)?;
            Ok(Accepted::Pages { addr, len })
        }
        Payload::File { file, rights, flight } => {
            drop(flight);
            match end::of(&file) {
                Some(sent) => {
                    let kept = sent.rights & rights;
                    Ok(Accepted::File(End::open(&sent.ring, sent.side, kept, file.flags()), kept))
                }
                None => Ok(Accepted::File(file, 0)),
            }
        }
    }
}

/// `CTL_INFO`.
pub fn info(end: &End) -> FusionInfo {
    let ring = &end.ring;
    FusionInfo {
        id: ring.id,
        size: ring.layout.size,
        slots: ring.layout.slots,
        side: end.side.index() as u32,
        rights: end.rights,
        kind: ring.kind as u32,
        lanes_ab: ring.layout.lanes_ab as u32,
        lanes_ba: ring.layout.lanes_ba as u32,
        state: ring.state(),
    }
}

/// `CTL_DUP`: a new open file for the same end with `rights & mask`.
pub fn dup(end: &End, mask: u64, flags: u32) -> Arc<OpenFile> {
    End::open(&end.ring, end.side, end.rights & (mask as u32), flags)
}

/// `CTL_SHUTDOWN`.
pub fn shut_down(end: &End, reason: u64) -> KResult<u64> {
    if !end.has(abi::RIGHT_MANAGE) {
        return Err(Errno::EPERM);
    }
    end.ring.shut_down(reason);
    Ok(0)
}

/// /proc/fusion: one block per live ring (ends, state, per direction: messages, bytes, slots
/// in use, waiters, pending grants and the latency histogram's non-empty buckets).
pub fn report() -> String {
    let rings: Vec<Arc<Ring>> = RINGS.lock().iter().filter_map(Weak::upgrade).collect();
    let mut s = String::new();
    let _ = writeln!(s, "rings: {} pages: {} of {}", rings.len(), budget::charged(), budget::bound());
    for ring in rings {
        let kind = if ring.kind == abi::KIND_MULTICAST { "multicast" } else { "duplex" };
        let _ = writeln!(
            s,
            "ring {} {kind} slots={} lanes={}/{} size={} ends={}/{} state={:#x}",
            ring.id,
            ring.layout.slots,
            ring.layout.lanes_ab,
            ring.layout.lanes_ba,
            ring.layout.size,
            ring.kword(abi::kpage::ENDS_A),
            ring.kword(abi::kpage::ENDS_B),
            ring.state()
        );
        for (dir, name, waiters) in [(Dir::AtoB, "a->b", abi::kpage::DATA_WAITERS_AB), (Dir::BtoA, "b->a", abi::kpage::DATA_WAITERS_BA)] {
            if ring.lanes(dir) == 0 {
                continue;
            }
            let (used, capacity) = ring.occupancy(dir);
            let (sent, received) = ring.bytes(dir);
            let _ = write!(
                s,
                "  {name} posted={} taken={} bytes={}/{} slots_used={used}/{capacity} data_waiters={} space_waiters={} grants={} latency_log2_cycles:",
                ring.post(dir),
                ring.taken(dir),
                sent,
                received,
                ring.kword(waiters),
                ring.kword(waiters + 1),
                grant::pending(&ring, dir)
            );
            for (bucket, count) in ring.histogram(dir).iter().enumerate().filter(|(_, &c)| c != 0) {
                let _ = write!(s, " {bucket}:{count}");
            }
            let _ = writeln!(s);
        }
    }
    s
}
