//! The text of `/proc/net/dev`, `/proc/net/route`, `/proc/net/tcp` and `/proc/net/udp` in
//! Linux's formats (busybox `ifconfig`, `route` and `netstat` parse them). Addresses in
//! `route`, `tcp` and `udp` are the network-order word printed as a host (little-endian)
//! number, as Linux prints them; ports are in host order.

use alloc::string::String;
use core::fmt::Write;

use crate::addr::Endpoint;
use crate::route::Route;
use crate::Ipv4;

/// An interface's counters (the columns of `/proc/net/dev`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_dropped: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_dropped: u64,
}

/// The header of `/proc/net/dev`.
pub fn dev_header() -> String {
    String::from(
        "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n",
    )
}

/// One interface's line of `/proc/net/dev`.
pub fn dev_line(out: &mut String, name: &str, c: &Counters) {
    let _ = writeln!(
        out,
        "{:>6}: {:>7} {:>7} {:>4} {:>4} {:>4} {:>5} {:>10} {:>9} {:>8} {:>7} {:>4} {:>4} {:>4} {:>5} {:>7} {:>10}",
        name, c.rx_bytes, c.rx_packets, c.rx_errors, c.rx_dropped, 0, 0, 0, 0, c.tx_bytes, c.tx_packets, c.tx_errors, c.tx_dropped, 0, 0, 0, 0
    );
}

/// The word Linux prints for an address (`%08X` of the network-order `__be32`).
pub fn hex_addr(a: Ipv4) -> u32 {
    u32::from_le_bytes(a)
}

fn padded(out: &mut String, line: &str, width: usize) {
    out.push_str(line);
    for _ in line.len()..width {
        out.push(' ');
    }
    out.push('\n');
}

/// The header of `/proc/net/route`.
pub fn route_header() -> String {
    let mut out = String::new();
    padded(&mut out, "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT", 127);
    out
}

/// One route's line of `/proc/net/route`.
pub fn route_line(out: &mut String, iface: &str, r: &Route) {
    let line = alloc::format!(
        "{}\t{:08X}\t{:08X}\t{:04X}\t0\t0\t{}\t{:08X}\t0\t0\t0",
        iface,
        hex_addr(r.dest),
        hex_addr(r.gateway.unwrap_or([0; 4])),
        r.flags(),
        r.metric,
        hex_addr(r.mask)
    );
    padded(out, &line, 127);
}

/// Linux's TCP state numbers (`/proc/net/tcp`'s `st`).
pub mod tcp_state {
    pub const ESTABLISHED: u8 = 1;
    pub const SYN_SENT: u8 = 2;
    pub const SYN_RECV: u8 = 3;
    pub const FIN_WAIT1: u8 = 4;
    pub const FIN_WAIT2: u8 = 5;
    pub const TIME_WAIT: u8 = 6;
    pub const CLOSE: u8 = 7;
    pub const CLOSE_WAIT: u8 = 8;
    pub const LAST_ACK: u8 = 9;
    pub const LISTEN: u8 = 10;
    pub const CLOSING: u8 = 11;
}

/// One socket of `/proc/net/tcp` or `/proc/net/udp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketLine {
    pub local: Endpoint,
    pub remote: Endpoint,
    pub state: u8,
    pub tx_queue: u32,
    pub rx_queue: u32,
    pub uid: u32,
    pub inode: u64,
}

/// The header of `/proc/net/tcp`.
pub fn tcp_header() -> String {
    let mut out = String::new();
    padded(&mut out, "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode", 149);
    out
}

/// One line of `/proc/net/tcp` (`sl` is the line's number).
pub fn tcp_line(out: &mut String, sl: usize, s: &SocketLine) {
    socket_line(out, 4, sl, s, "1 0000000000000000 100 0 0 10 0", 149);
}

/// One line of `/proc/net/tcp` or `/proc/net/udp`: the columns both share, then `tail`
/// (reference count, kernel pointer and the protocol's own columns), padded to `width`.
fn socket_line(out: &mut String, sl_width: usize, sl: usize, s: &SocketLine, tail: &str, width: usize) {
    let line = alloc::format!(
        "{:>sl_width$}: {:08X}:{:04X} {:08X}:{:04X} {:02X} {:08X}:{:08X} 00:00000000 00000000 {:>5} {:>8} {} {}",
        sl,
        hex_addr(s.local.addr),
        s.local.port,
        hex_addr(s.remote.addr),
        s.remote.port,
        s.state,
        s.tx_queue,
        s.rx_queue,
        s.uid,
        0,
        s.inode,
        tail
    );
    padded(out, &line, width);
}

/// The header of `/proc/net/udp`.
pub fn udp_header() -> String {
    let mut out = String::new();
    padded(&mut out, "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops", 127);
    out
}

/// One line of `/proc/net/udp`.
pub fn udp_line(out: &mut String, sl: usize, s: &SocketLine) {
    socket_line(out, 5, sl, s, "2 0000000000000000 0", 127);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_matches_linux() {
        let mut out = route_header();
        route_line(&mut out, "eth0", &Route { dest: [0; 4], mask: [0; 4], gateway: Some([10, 0, 2, 2]), iface: 2, metric: 0 });
        let lines: std::vec::Vec<&str> = out.lines().collect();
        assert_eq!(lines[1].trim_end(), "eth0\t00000000\t0202000A\t0003\t0\t0\t0\t00000000\t0\t0\t0");
        assert_eq!(lines[1].len(), 127);
    }

    #[test]
    fn dev_line_parses_like_busybox() {
        let mut out = dev_header();
        dev_line(&mut out, "lo", &Counters { rx_bytes: 120, rx_packets: 2, tx_bytes: 120, tx_packets: 2, ..Counters::default() });
        let line = out.lines().nth(2).unwrap();
        let (name, rest) = line.split_once(':').unwrap();
        assert_eq!(name.trim(), "lo");
        let nums: std::vec::Vec<u64> = rest.split_whitespace().map(|w| w.parse().unwrap()).collect();
        assert_eq!(nums.len(), 16);
        assert_eq!((nums[0], nums[1], nums[8], nums[9]), (120, 2, 120, 2));
    }

    #[test]
    fn tcp_line_fields() {
        let mut out = tcp_header();
        let s = SocketLine { local: Endpoint::new([127, 0, 0, 1], 8080), remote: Endpoint::new([0; 4], 0), state: tcp_state::LISTEN, tx_queue: 0, rx_queue: 0, uid: 0, inode: 7 };
        tcp_line(&mut out, 0, &s);
        let line = out.lines().nth(1).unwrap();
        assert!(line.starts_with("   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000"), "{line}");
        let mut udp = udp_header();
        udp_line(&mut udp, 3, &s);
        assert!(udp.lines().nth(1).unwrap().starts_with("    3: 0100007F:1F90"));
    }
}
