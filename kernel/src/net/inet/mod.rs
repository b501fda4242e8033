//! AF_INET sockets through smoltcp: TCP (`tcp`, `tcp_listen`), UDP (`udp`), ICMP echo
//! (`icmp`: raw sockets and ping sockets), the interfaces `lo` and `ethN` with their ioctls
//! (`ioctl`) and `/proc/net` files (`procnet`), driven by inline polls and a network thread
//! (`stack`, `thread`, `wake`), configured by `ip=` or DHCP (`config`). AF_INET6 is not
//! supported (EAFNOSUPPORT). The pure parts (addresses, ports, routes, ip=, ifreq layouts,
//! /proc/net formats) are the host-tested crate `exo-inet`. See docs/net.md.

mod config;
mod device;
mod eth;
mod icmp;
mod ioctl;
mod opts;
mod procnet;
mod stack;
mod tcp;
mod tcp_listen;
mod thread;
mod udp;
mod wake;

use alloc::sync::Arc;

use exo_abi::socket::*;
use exo_abi::{Errno, KResult};

use super::Socket;
use crate::uaccess::UserArg;

/// socket(AF_INET or AF_INET6, kind, protocol).
pub fn create(domain: u16, kind: u32, protocol: u32) -> KResult<Socket> {
    if domain != AF_INET {
        return Err(Errno::EAFNOSUPPORT);
    }
    let ops: Arc<dyn super::SocketOps> = match (kind, protocol) {
        (SOCK_STREAM, IPPROTO_IP | IPPROTO_TCP) => tcp::TcpSocket::new(opts::SockOpts::new(opts::TCP_DEFAULT_BUF), tcp::Phase::Idle, None),
        (SOCK_DGRAM, IPPROTO_IP | IPPROTO_UDP) => udp::UdpSocket::new(),
        (SOCK_DGRAM, IPPROTO_ICMP) => icmp::IcmpSocket::new(false),
        (SOCK_RAW, IPPROTO_ICMP) => {
            if !is_root() {
                return Err(Errno::EPERM);
            }
            icmp::IcmpSocket::new(true)
        }
        (SOCK_RAW, _) => return Err(if is_root() { Errno::EPROTONOSUPPORT } else { Errno::EPERM }),
        (SOCK_STREAM | SOCK_DGRAM, _) => return Err(Errno::EPROTONOSUPPORT),
        _ => return Err(Errno::ESOCKTNOSUPPORT),
    };
    let protocol = match (kind, protocol) {
        (SOCK_STREAM, IPPROTO_IP) => IPPROTO_TCP,
        (SOCK_DGRAM, IPPROTO_IP) => IPPROTO_UDP,
        _ => protocol,
    };
    Ok(Socket::new(ops, domain, kind, protocol))
}

/// Whether the caller is root (raw sockets, ports below 1024, interface changes).
pub fn is_root() -> bool {
    crate::process::current().is_none_or(|me| me.process.creds.lock().euid == 0)
}

/// The interface requests any socket answers (SIOCGIFCONF, SIOCGIFFLAGS, SIOCGIFADDR, ...).
pub fn interface_ioctl(request: u32, arg: UserArg) -> KResult<u64> {
    ioctl::handle(request, arg)
}

/// Builds the stack (lo), adds an interface per network card, applies `ip=` or starts DHCP,
/// registers the /proc/net files and starts the network thread.
pub fn init() {
    stack::with(|stack| {
        eth::attach_all(stack);
        config::apply_boot(stack);
    });
    procnet::register();
    thread::start();
}
