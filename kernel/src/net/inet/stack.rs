//! The TCP/IP stack: the interfaces (each a smoltcp `Interface`, its device and its own
//! `SocketSet`), the port tables, the routing table and the connections left behind by closed
//! sockets, all under one sleeping lock ([`with`]). Sleeping, because callers copy user memory
//! straight into and out of smoltcp's buffers while holding it (a copy may fault and sleep).
//!
//! Interfaces: index 0 is `lo` (medium IP, 127.0.0.1/8, plus every other interface's address
//! as a /32 so traffic to the host's own addresses loops back, as Linux routes it through lo);
//! then one `ethN` per network card (medium Ethernet). A smoltcp socket is sent and received
//! by the interface whose set holds it, so each socket lives in the set of the interface its
//! traffic uses: a connection in the interface [`Stack::route`] picks for its peer, a listener
//! or a datagram socket bound to INADDR_ANY in every interface's set (one smoltcp socket per
//! interface, all waking the same user socket).
//!
//! Driving: calls poll the interface they used inline ([`Stack::poll`]: lo loops until its
//! queue is empty, so a loopback round trip completes inside the caller's system call), and
//! the network thread (`thread.rs`) polls every interface when a card interrupts or a smoltcp
//! timer is due. After each poll the sockets smoltcp woke are refreshed (`wake.rs`), closed
//! connections that finished are dropped, and DHCP news is applied (`config.rs`).
//!
//! Memory: every smoltcp buffer is taken from a global budget ([`BUDGET`]; ENOBUFS beyond),
//! and each interface's socket set has a fixed number of slots reserved at creation.

use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use exo_abi::{Errno, KResult};
use exo_inet::ports::PortTable;
use exo_inet::route::RouteTable;
use exo_inet::{is_loopback, Ipv4, ANY};
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::socket::{tcp, Socket as AnySock};
use smoltcp::time::Instant;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr, Ipv4Address};

use super::device::{Dev, Loopback};
use crate::sched::sync::Mutex;

/// Bytes of socket buffers all AF_INET sockets together may hold.
pub const BUDGET: usize = 48 * 1024 * 1024;
/// smoltcp sockets one interface's set holds.
pub const SLOTS: usize = 1024;

static USED: AtomicUsize = AtomicUsize::new(0);

/// Takes `bytes` from the budget (ENOBUFS when it would overflow).
pub fn reserve(bytes: usize) -> KResult<()> {
    let mut used = USED.load(Ordering::Relaxed);
    loop {
        let next = used.checked_add(bytes).filter(|&n| n <= BUDGET).ok_or(Errno::ENOBUFS)?;
        match USED.compare_exchange_weak(used, next, Ordering::AcqRel, Ordering::Relaxed) {
            Ok(_) => return Ok(()),
            Err(now) => used = now,
        }
    }
}

/// Gives `bytes` back to the budget.
pub fn unreserve(bytes: usize) {
    USED.fetch_sub(bytes, Ordering::AcqRel);
}

/// Bytes of buffers held now (tests, /proc).
pub fn used() -> usize {
    USED.load(Ordering::Relaxed)
}

/// A zeroed buffer of `len` bytes, allocated fallibly.
pub fn buffer(len: usize) -> KResult<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| Errno::ENOBUFS)?;
    v.resize(len, 0);
    Ok(v)
}

/// The time smoltcp sees.
pub fn now() -> Instant {
    Instant::from_micros((crate::time::since_boot_ns() / 1000) as i64)
}

/// One network interface.
pub struct Iface {
    pub name: String,
    /// `ifindex` (lo is 1).
    pub index: u32,
    pub iface: Interface,
    pub dev: Dev,
    pub sockets: SocketSet<'static>,
    /// Sockets in `sockets` (at most [`SLOTS`]).
    pub count: usize,
    pub up: bool,
    /// The IPv4 address and prefix length (lo: 127.0.0.1/8).
    pub addr: Option<(Ipv4, u8)>,
    pub mtu: usize,
    pub metric: i32,
    pub mac: [u8; 6],
    /// The DHCP client's socket, when the address comes from DHCP.
    pub dhcp: Option<SocketHandle>,
}

impl Iface {
    pub fn is_loopback(&self) -> bool {
        matches!(self.dev, Dev::Lo(_))
    }

    /// Whether the link is up (lo: always).
    pub fn running(&self) -> bool {
        match &self.dev {
            Dev::Lo(_) => true,
            Dev::Eth(eth) => eth.link_up(),
        }
    }
}

/// A smoltcp socket whose user socket is gone, kept until its connection ends (or its RST
/// has gone out), with the port it holds.
pub struct Orphan {
    pub iface: usize,
    pub handle: SocketHandle,
    pub port: Option<u16>,
    pub owner: u64,
    /// Polled at least once since orphaned (an aborted socket is Closed at once and must
    /// first send its RST).
    pub armed: bool,
}

/// A closed connection's port kept held after its smoltcp socket (and buffers) were freed
/// at TIME_WAIT: (port, owner, until ns).
pub struct TimeWait {
    pub port: u16,
    pub owner: u64,
    pub until: u64,
}

/// How long a port stays held after TIME_WAIT (Linux: 60 s).
const TIME_WAIT_NS: u64 = 60_000_000_000;
/// Most TIME_WAIT records (Linux: tcp_max_tw_buckets); beyond, ports are freed at once.
const MAX_TIME_WAIT: usize = 4096;

pub struct Stack {
    pub ifaces: Vec<Iface>,
    pub time_wait: alloc::collections::VecDeque<TimeWait>,
    pub tcp_ports: PortTable,
    pub udp_ports: PortTable,
    pub routes: RouteTable,
    pub orphans: Vec<Orphan>,
    /// Staging for one datagram (a datagram is copied in whole before smoltcp sees it).
    pub bounce: Vec<u8>,
    /// Where the network thread's next timer is (ns since boot; u64::MAX: none).
    pub next_timer: u64,
}

static STACK: Mutex<Option<Stack>> = Mutex::new(None);

/// What a closed socket leaves for the stack to end.
pub enum Released {
    Tcp { phase: super::tcp::Phase, local: Option<exo_inet::addr::Endpoint>, id: u64, linger0: bool },
    /// UDP and ICMP: their smoltcp sockets, and a UDP port (port, owner).
    Handles { handles: Vec<(usize, SocketHandle)>, udp_port: Option<(u16, u64)> },
}

/// Releases found in a context that may not sleep, for the network thread.
static DEFERRED: crate::spinlock::SpinLock<Vec<Released>> = crate::spinlock::SpinLock::new(Vec::new());

/// Ends a closed socket's connection, smoltcp sockets and port. The last reference to a
/// socket may be dropped under a spin lock (epoll scanning its items while another thread
/// closes the descriptor): then the stack lock, which sleeps, cannot be taken, and the
/// network thread finishes the release.
pub fn release(r: Released) {
    if crate::arch::percpu::preempt_count() == 0 {
        with(|stack| stack.finish(r));
        return;
    }
    let mut deferred = DEFERRED.lock();
    if deferred.try_reserve(1).is_ok() {
        deferred.push(r);
    } else {
        log::warn!("net: no memory to defer a socket's release: its resources stay held");
        core::mem::forget(r);
    }
    drop(deferred);
    super::thread::kick();
}

/// Runs `f` with the stack locked (building it with `lo` on first use).
pub fn with<R>(f: impl FnOnce(&mut Stack) -> R) -> R {
    let mut guard = STACK.lock();
    f(guard.get_or_insert_with(Stack::new))
}

fn empty_set() -> SocketSet<'static> {
    let mut slots: Vec<SocketStorage<'static>> = Vec::new();
    if slots.try_reserve_exact(SLOTS).is_err() {
        // Boot-time only; an empty set still works and grows.
        log::warn!("net: no memory for a socket set's slots");
    }
    SocketSet::new(slots)
}

fn seed() -> u64 {
    let mut b = [0u8; 8];
    crate::random::fill(&mut b);
    u64::from_ne_bytes(b)
}

impl Stack {
    fn new() -> Stack {
        let mut dev = Dev::Lo(Loopback::new());
        let mut config = Config::new(HardwareAddress::Ip);
        config.random_seed = seed();
        let mut iface = Interface::new(config, &mut dev, now());
        iface.update_ip_addrs(|a| {
            let _ = a.push(IpCidr::new(IpAddress::v4(127, 0, 0, 1), 8));
        });
        let lo = Iface {
            name: String::from("lo"),
            index: 1,
            iface,
            dev,
            sockets: empty_set(),
            count: 0,
            up: true,
            addr: Some(([127, 0, 0, 1], 8)),
            mtu: 65536,
            metric: 0,
            mac: [0; 6],
            dhcp: None,
        };
        let mut ifaces = Vec::new();
        ifaces.push(lo);
        Stack {
            ifaces,
            tcp_ports: PortTable::new(),
            udp_ports: PortTable::new(),
            routes: RouteTable::new(),
            orphans: Vec::new(),
            time_wait: alloc::collections::VecDeque::new(),
            bounce: Vec::new(),
            next_timer: u64::MAX,
        }
    }

    /// Adds an interface (a network card's) and returns its position.
    pub fn add_iface(&mut self, name: String, mut dev: Dev, mac: [u8; 6], mtu: usize) -> usize {
        let mut config = Config::new(HardwareAddress::Ethernet(smoltcp::wire::EthernetAddress(mac)));
        config.random_seed = seed();
        let iface = Interface::new(config, &mut dev, now());
        let index = self.ifaces.len() as u32 + 1;
        self.ifaces.push(Iface { name, index, iface, dev, sockets: empty_set(), count: 0, up: true, addr: None, mtu, metric: 0, mac, dhcp: None });
        self.ifaces.len() - 1
    }

    /// Whether `a` is one of this host's addresses.
    pub fn is_local(&self, a: Ipv4) -> bool {
        is_loopback(a) && a == [127, 0, 0, 1] || self.ifaces.iter().any(|i| i.addr.is_some_and(|(addr, _)| addr == a))
    }

    /// The interface traffic to `dst` leaves by: lo for this host's addresses, else the
    /// routing table's choice (ENETUNREACH: none, or it is down).
    pub fn route(&self, dst: Ipv4) -> KResult<usize> {
        let i = if dst == ANY || is_loopback(dst) || self.is_local(dst) {
            0
        } else if dst == [255; 4] {
            self.ifaces.iter().position(|i| !i.is_loopback() && i.up && i.addr.is_some()).ok_or(Errno::ENETUNREACH)?
        } else {
            self.routes.lookup(dst).map(|r| r.iface as usize).ok_or(Errno::ENETUNREACH)?
        };
        match self.ifaces.get(i) {
            Some(iface) if iface.up => Ok(i),
            _ => Err(Errno::ENETUNREACH),
        }
    }

    /// The interfaces a socket bound to `addr` listens on (INADDR_ANY: all; lo also carries
    /// every local address).
    pub fn ifaces_for(&self, addr: Ipv4) -> Vec<usize> {
        let mut out = Vec::new();
        for (i, iface) in self.ifaces.iter().enumerate() {
            let matches = addr == ANY || i == 0 || iface.addr.is_some_and(|(a, _)| a == addr);
            if matches && out.try_reserve(1).is_ok() {
                out.push(i);
            }
        }
        out
    }

    /// Adds a smoltcp socket to interface `i`'s set (ENOBUFS when the set is full).
    pub fn add<T: smoltcp::socket::AnySocket<'static>>(&mut self, i: usize, socket: T) -> KResult<SocketHandle> {
        let iface = self.ifaces.get_mut(i).ok_or(Errno::ENODEV)?;
        if iface.count >= SLOTS {
            return Err(Errno::ENOBUFS);
        }
        iface.count += 1;
        Ok(iface.sockets.add(socket))
    }

    /// Removes a smoltcp socket and gives its buffers back to the budget.
    pub fn remove(&mut self, i: usize, handle: SocketHandle) {
        let Some(iface) = self.ifaces.get_mut(i) else { return };
        let bytes = match iface.sockets.remove(handle) {
            AnySock::Tcp(s) => s.recv_capacity() + s.send_capacity(),
            AnySock::Udp(s) => s.payload_recv_capacity() + s.payload_send_capacity(),
            AnySock::Icmp(s) => s.payload_recv_capacity() + s.payload_send_capacity(),
            AnySock::Raw(s) => s.payload_recv_capacity() + s.payload_send_capacity(),
            _ => 0,
        };
        iface.count -= 1;
        unreserve(bytes);
    }

    pub fn tcp(&mut self, i: usize, handle: SocketHandle) -> &mut tcp::Socket<'static> {
        self.ifaces[i].sockets.get_mut::<tcp::Socket>(handle)
    }

    /// Keeps a closing connection until it ends; `port` is released then.
    pub fn orphan(&mut self, i: usize, handle: SocketHandle, port: Option<u16>, owner: u64) {
        self.ifaces[i].sockets.get_mut::<tcp::Socket>(handle).register_recv_waker(core::task::Waker::noop());
        self.ifaces[i].sockets.get_mut::<tcp::Socket>(handle).register_send_waker(core::task::Waker::noop());
        if self.orphans.try_reserve(1).is_err() {
            // No memory to remember it: drop the connection now (an RST is not sent).
            self.remove(i, handle);
            if let Some(p) = port {
                self.tcp_ports.release(p, owner);
            }
            return;
        }
        self.orphans.push(Orphan { iface: i, handle, port, owner, armed: false });
    }

    /// Polls interface `i` (lo: until its queue is empty), then refreshes the sockets smoltcp
    /// woke and tells the network thread about a sooner timer.
    pub fn poll(&mut self, i: usize) {
        self.poll_shifted(i, 0);
    }

    /// [`poll`](Self::poll) with smoltcp's clock `ahead_us` ahead: a delayed ACK due within
    /// that time goes out now (a reader that drained its buffer acknowledges at once, as
    /// Linux's `tcp_cleanup_rbuf` does); other timers fire at most that much early.
    pub fn poll_shifted(&mut self, i: usize, ahead_us: i64) {
        self.poll_iface_at(i, ahead_us);
        self.after_poll();
        let t = now();
        let iface = &mut self.ifaces[i];
        if let Some(at) = iface.iface.poll_at(t, &iface.sockets) {
            let ns = (at.total_micros().max(0) as u64).saturating_mul(1000);
            if ns < self.next_timer {
                self.next_timer = ns;
                super::thread::kick();
            }
        }
    }

    /// One poll of interface `i`, without the after-work.
    pub fn poll_iface(&mut self, i: usize) {
        self.poll_iface_at(i, 0);
    }

    fn poll_iface_at(&mut self, i: usize, ahead_us: i64) {
        let Some(iface) = self.ifaces.get_mut(i) else { return };
        if !iface.up {
            return;
        }
        if let Dev::Eth(eth) = &iface.dev {
            eth.begin_poll();
        }
        let t = now() + smoltcp::time::Duration::from_micros(ahead_us.max(0) as u64);
        // Bounded: each round moves packets forward; a pathological loop stops here and the
        // network thread goes on later.
        for _ in 0..256 {
            iface.iface.poll(t, &mut iface.dev, &mut iface.sockets);
            if !iface.dev.pending() {
                break;
            }
        }
    }

    /// Refreshes woken sockets, drops finished orphans, applies DHCP news.
    pub fn after_poll(&mut self) {
        // A refresh may wake more (a listener replenishing its pool): bounded.
        for _ in 0..4096 {
            let Some(shared) = super::wake::pop_dirty() else { break };
            if let Some(owner) = shared.owner() {
                owner.refresh(self);
            }
        }
        if super::wake::overflowed() {
            log::warn!("net: a socket wake-up was lost to memory shortage");
        }
        self.reap();
        super::config::dhcp_events(self);
    }

    /// Drops orphans whose connection is closed. One in TIME_WAIT is dropped too (its
    /// buffers are the cost; a late segment then meets an RST): its port stays held by a
    /// small record for [`TIME_WAIT_NS`], which is what SO_REUSEADDR is about.
    fn reap(&mut self) {
        let mut k = 0;
        while k < self.orphans.len() {
            let o = &self.orphans[k];
            let state = self.ifaces[o.iface].sockets.get::<tcp::Socket>(o.handle).state();
            if (state == tcp::State::Closed && o.armed) || state == tcp::State::TimeWait {
                let o = self.orphans.swap_remove(k);
                self.remove(o.iface, o.handle);
                if let Some(p) = o.port {
                    if state == tcp::State::TimeWait && self.time_wait.len() < MAX_TIME_WAIT && self.time_wait.try_reserve(1).is_ok() {
                        let until = crate::time::since_boot_ns().saturating_add(TIME_WAIT_NS);
                        self.time_wait.push_back(TimeWait { port: p, owner: o.owner, until });
                    } else {
                        self.tcp_ports.release(p, o.owner);
                    }
                }
            } else {
                self.orphans[k].armed = true;
                k += 1;
            }
        }
        if self.time_wait.is_empty() {
            return;
        }
        let now = crate::time::since_boot_ns();
        while self.time_wait.front().is_some_and(|t| t.until <= now) {
            if let Some(t) = self.time_wait.pop_front() {
                self.tcp_ports.release(t.port, t.owner);
            }
        }
    }

    /// Ends a released socket (see [`release`]).
    pub fn finish(&mut self, r: Released) {
        match r {
            Released::Tcp { phase, local, id, linger0 } => super::tcp::finish_release(self, phase, local, id, linger0),
            Released::Handles { handles, udp_port } => {
                for (i, h) in handles {
                    self.remove(i, h);
                }
                if let Some((port, owner)) = udp_port {
                    self.udp_ports.release(port, owner);
                }
            }
        }
    }

    /// Polls every interface (the network thread) and returns when to come back (ns since
    /// boot; u64::MAX: only on an interrupt).
    pub fn poll_all(&mut self) -> u64 {
        loop {
            let Some(r) = DEFERRED.lock().pop() else { break };
            self.finish(r);
        }
        for i in 0..self.ifaces.len() {
            self.poll_iface(i);
        }
        self.after_poll();
        let t = now();
        let mut next = u64::MAX;
        for iface in self.ifaces.iter_mut().filter(|i| i.up) {
            if let Some(at) = iface.iface.poll_at(t, &iface.sockets) {
                next = next.min((at.total_micros().max(0) as u64).saturating_mul(1000));
            }
        }
        if let Some(t) = self.time_wait.front() {
            next = next.min(t.until);
        }
        self.next_timer = next;
        next
    }

    /// Sets interface `i`'s IPv4 address (None: removes it): smoltcp's addresses, lo's copy,
    /// the on-link route.
    pub fn set_addr(&mut self, i: usize, addr: Option<(Ipv4, u8)>) {
        if i == 0 {
            return;
        }
        let Some(iface) = self.ifaces.get_mut(i) else { return };
        iface.addr = addr;
        iface.iface.update_ip_addrs(|a| {
            a.clear();
            if let Some((ip, p)) = addr {
                let _ = a.push(IpCidr::new(IpAddress::Ipv4(Ipv4Address::from(ip)), p));
            }
        });
        let mirrors: Vec<Ipv4> = self.ifaces.iter().skip(1).filter_map(|f| f.addr.map(|(a, _)| a)).collect();
        self.ifaces[0].iface.update_ip_addrs(|a| {
            a.clear();
            let _ = a.push(IpCidr::new(IpAddress::v4(127, 0, 0, 1), 8));
            for m in &mirrors {
                let _ = a.push(IpCidr::new(IpAddress::Ipv4(Ipv4Address::from(*m)), 32));
            }
        });
        self.routes.remove_where(|r| !(r.iface as usize == i && r.gateway.is_none()));
        if let Some((ip, p)) = addr {
            let _ = self.routes.add(exo_inet::route::Route { dest: ip, mask: exo_inet::mask_of(p), gateway: None, iface: i as u32, metric: 0 });
        }
        self.sync_routes(i);
    }

    /// Gives interface `i`'s smoltcp the gateway routes of the table.
    pub fn sync_routes(&mut self, i: usize) {
        let gateways: Vec<(Ipv4, u8, Ipv4)> = self
            .routes
            .iter()
            .filter(|r| r.iface as usize == i)
            .filter_map(|r| Some((r.dest, exo_inet::prefix_len(r.mask)?, r.gateway?)))
            .collect();
        let Some(iface) = self.ifaces.get_mut(i) else { return };
        iface.iface.routes_mut().update(|table| {
            table.clear();
            for (dest, prefix, gw) in gateways {
                let _ = table.push(smoltcp::iface::Route {
                    cidr: IpCidr::new(IpAddress::Ipv4(Ipv4Address::from(dest)), prefix),
                    via_router: IpAddress::Ipv4(Ipv4Address::from(gw)),
                    preferred_until: None,
                    expires_at: None,
                });
            }
        });
    }
}

/// An smoltcp address as four bytes.
pub fn v4(a: IpAddress) -> Ipv4 {
    match a {
        IpAddress::Ipv4(v) => v.octets(),
    }
}

/// Four bytes as an smoltcp address.
pub fn ip(a: Ipv4) -> IpAddress {
    IpAddress::Ipv4(Ipv4Address::from(a))
}
