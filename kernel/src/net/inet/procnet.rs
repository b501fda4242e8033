//! `/proc/net/dev`, `/proc/net/route`, `/proc/net/tcp` and `/proc/net/udp`, generated from the
//! stack (formats in `exo_inet::procnet`). Listening TCP sockets appear once per endpoint
//! (their pools hold several smoltcp sockets); uid and inode are not tracked (0).

use alloc::string::String;
use alloc::vec::Vec;

use exo_inet::addr::Endpoint;
use exo_inet::procnet::{self, tcp_state, SocketLine};
use smoltcp::socket::{tcp, Socket as AnySock};

use super::stack::{self, v4};

pub fn register() {
    crate::fs::procfs::register_net_file(b"dev", dev);
    crate::fs::procfs::register_net_file(b"route", route);
    crate::fs::procfs::register_net_file(b"tcp", tcp_file);
    crate::fs::procfs::register_net_file(b"udp", udp_file);
}

fn dev() -> String {
    let mut out = procnet::dev_header();
    stack::with(|s| {
        for f in &s.ifaces {
            procnet::dev_line(&mut out, &f.name, &f.dev.counters());
        }
    });
    out
}

fn route() -> String {
    let mut out = procnet::route_header();
    stack::with(|s| {
        for r in s.routes.iter() {
            let name = s.ifaces.get(r.iface as usize).map_or("?", |f| f.name.as_str());
            procnet::route_line(&mut out, name, r);
        }
    });
    out
}

fn state_number(s: tcp::State) -> u8 {
    use tcp::State::*;
    match s {
        Closed => tcp_state::CLOSE,
        Listen => tcp_state::LISTEN,
        SynSent => tcp_state::SYN_SENT,
        SynReceived => tcp_state::SYN_RECV,
        Established => tcp_state::ESTABLISHED,
        FinWait1 => tcp_state::FIN_WAIT1,
        FinWait2 => tcp_state::FIN_WAIT2,
        CloseWait => tcp_state::CLOSE_WAIT,
        Closing => tcp_state::CLOSING,
        LastAck => tcp_state::LAST_ACK,
        TimeWait => tcp_state::TIME_WAIT,
    }
}

fn tcp_file() -> String {
    let mut lines: Vec<SocketLine> = Vec::new();
    stack::with(|s| {
        for f in &s.ifaces {
            for (_, sock) in f.sockets.iter() {
                let AnySock::Tcp(t) = sock else { continue };
                let line = if t.state() == tcp::State::Listen {
                    let le = t.listen_endpoint();
                    let addr = le.addr.map_or([0; 4], v4);
                    SocketLine { local: Endpoint::new(addr, le.port), remote: Endpoint::UNSPECIFIED, state: tcp_state::LISTEN, tx_queue: 0, rx_queue: 0, uid: 0, inode: 0 }
                } else {
                    let (Some(l), Some(r)) = (t.local_endpoint(), t.remote_endpoint()) else { continue };
                    SocketLine {
                        local: Endpoint::new(v4(l.addr), l.port),
                        remote: Endpoint::new(v4(r.addr), r.port),
                        state: state_number(t.state()),
                        tx_queue: t.send_queue() as u32,
                        rx_queue: t.recv_queue() as u32,
                        uid: 0,
                        inode: 0,
                    }
                };
                if !lines.contains(&line) && lines.try_reserve(1).is_ok() {
                    lines.push(line);
                }
            }
        }
    });
    let mut out = procnet::tcp_header();
    for (k, l) in lines.iter().enumerate() {
        procnet::tcp_line(&mut out, k, l);
    }
    out
}

fn udp_file() -> String {
    let mut lines: Vec<SocketLine> = Vec::new();
    stack::with(|s| {
        for f in &s.ifaces {
            for (_, sock) in f.sockets.iter() {
                let AnySock::Udp(u) = sock else { continue };
                let e = u.endpoint();
                let line = SocketLine {
                    local: Endpoint::new(e.addr.map_or([0; 4], v4), e.port),
                    remote: Endpoint::UNSPECIFIED,
                    state: tcp_state::CLOSE,
                    tx_queue: u.send_queue() as u32,
                    rx_queue: u.recv_queue() as u32,
                    uid: 0,
                    inode: 0,
                };
                if !lines.iter().any(|l| l.local == line.local) && lines.try_reserve(1).is_ok() {
                    lines.push(line);
                }
            }
        }
    });
    let mut out = String::new();
    out.push_str(&procnet::udp_header());
    for (k, l) in lines.iter().enumerate() {
        procnet::udp_line(&mut out, k, l);
    }
    out
}
