//! QEMU user networking (slirp) for `cargo xtask run --net`, `net-test` and `bench --net`: a
//! virtio-net NIC on a `-netdev user` with `restrict=on`, so the guest reaches nothing but the
//! forwarding rules given here, and the host side listens on 127.0.0.1 only.
//!
//! - `hostfwd=tcp:127.0.0.1:H-:G`: a host program connects to 127.0.0.1:H and reaches the guest's
//!   port G (at the address QEMU's DHCP hands out, 10.0.2.15).
//! - guest to host: the guest connects to 10.0.2.100:G. QEMU's `guestfwd=...-tcp:127.0.0.1:H`
//!   form is unusable for these tests: its chardev connects once, when QEMU starts, carries every
//!   guest connection over that one host connection and passes no end of stream either way (a
//!   guest `nc` never sees the server close; the server never sees the guest's FIN). So the rule
//!   is `guestfwd=tcp:10.0.2.100:G-cmd:<xtask> net-relay 127.0.0.1:H`: QEMU starts the relay for
//!   each guest connection with the connection on its stdin/stdout (a socket), and the relay
//!   copies both ways to a server xtask runs on 127.0.0.1:H, passing half-closes on.
//!
//! QEMU's user network: guest 10.0.2.15 (DHCP), gateway 10.0.2.2 (answers ping), DNS 10.0.2.3;
//! with `restrict=on` its DHCP offer names no router (10.0.2.0/24 is on-link anyway).

use anyhow::{bail, Context, Result};
use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;

/// The guest's address (QEMU's first DHCP lease, and the `ip=` parameter below).
pub const GUEST_IP: &str = "10.0.2.15";
/// The address the guest connects to for a guest-to-host forward.
pub const HOST_ALIAS: &str = "10.0.2.100";
/// Linux's `ip=` kernel parameter for the same set-up without DHCP (the Exo-OS kernel reads it).
pub const IP_PARAM: &str = "ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off";
/// The NIC every net boot gets.
pub const NIC: &str = "virtio-net-pci,netdev=n0";

/// The forwarding rules of one boot.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserNet {
    /// (port on the host's 127.0.0.1, guest port).
    pub hostfwd: Vec<(u16, u16)>,
    /// (port on 10.0.2.100 in the guest, port of the server on the host's 127.0.0.1).
    pub guestfwd: Vec<(u16, u16)>,
    /// The relay command QEMU runs per guest connection (program, then its first arguments);
    /// `relay_command()` by default.
    pub relay: Vec<String>,
}

/// `<this xtask binary> net-relay`.
pub fn relay_command() -> Result<Vec<String>> {
    let exe = std::env::current_exe().context("cannot find the xtask binary (for the guestfwd relay)")?;
    Ok(vec![exe.to_string_lossy().into_owned(), "net-relay".to_string()])
}

/// A word for `g_shell_parse_argv` (QEMU splits `cmd:` with it): single-quoted when needed.
fn shell_word(w: &str) -> String {
    if !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+:@%".contains(c)) {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', "'\\''"))
    }
}

impl UserNet {
    /// The `-netdev` value. QEMU's option parser takes `,,` as a literal comma.
    pub fn netdev(&self) -> String {
        let mut s = String::from("user,id=n0,restrict=on");
        for (host, guest) in &self.hostfwd {
            s.push_str(&format!(",hostfwd=tcp:127.0.0.1:{host}-:{guest}"));
        }
        for (guest, host) in &self.guestfwd {
            let mut argv: Vec<String> = self.relay.iter().map(|w| shell_word(w)).collect();
            argv.push(format!("127.0.0.1:{host}"));
            s.push_str(&format!(",guestfwd=tcp:{HOST_ALIAS}:{guest}-cmd:{}", argv.join(" ").replace(',', ",,")));
        }
        s
    }

    /// `-netdev <netdev()> -device virtio-net-pci,netdev=n0`.
    pub fn args(&self) -> Vec<OsString> {
        ["-netdev".to_string(), self.netdev(), "-device".to_string(), NIC.to_string()]
            .into_iter()
            .map(OsString::from)
            .collect()
    }
}

/// A free TCP port on 127.0.0.1 (bound and released: free for a moment, not reserved).
pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("cannot bind 127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// A listener on 127.0.0.1 with a port of the system's choice.
pub fn listen_local() -> Result<(TcpListener, u16)> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("cannot bind 127.0.0.1:0")?;
    let port = l.local_addr()?.port();
    Ok((l, port))
}

/// Copies `from` to `to` until end of stream, then half-closes `to` (its write side).
fn pump(mut from: TcpStream, to: TcpStream) -> u64 {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    let mut w = &to;
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if w.write_all(&buf[..n]).is_err() {
                    break;
                }
                total += n as u64;
            }
        }
    }
    // Not a socket (a terminal, a file): nothing to half-close.
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
    total
}

/// Relays between a guest connection (`guest_in` to read, `guest_out` to write: the same
/// socket under QEMU) and `host`, both ways, passing each end of stream on as a half-close.
pub fn relay_streams(guest_in: TcpStream, guest_out: TcpStream, host: TcpStream) -> Result<(u64, u64)> {
    let host_in = host.try_clone()?;
    let up = std::thread::spawn(move || pump(guest_in, host));
    let down = pump(host_in, guest_out);
    let up = up.join().map_err(|_| anyhow::anyhow!("relay thread panicked"))?;
    Ok((up, down))
}

/// `xtask net-relay 127.0.0.1:PORT`: run by QEMU for each guest connection of a guestfwd rule,
/// with the connection as stdin, stdout and stderr. Writes nothing of its own: stderr is the guest.
pub fn relay_main(addr: &str) -> Result<u8> {
    let addr: SocketAddr = addr.parse().with_context(|| format!("bad address `{addr}`"))?;
    if !addr.ip().is_loopback() {
        bail!("net-relay only connects to the host's loopback, not {addr}");
    }
    let host = TcpStream::connect(addr)?;
    let _ = host.set_nodelay(true);
    // Duplicates of fds 0 and 1 (no unsafe): read(2)/write(2)/shutdown(2) work on them as on
    // any socket; on something else only shutdown fails, and that is ignored.
    let guest_in = TcpStream::from(std::io::stdin().as_fd().try_clone_to_owned()?);
    let guest_out = TcpStream::from(std::io::stdout().as_fd().try_clone_to_owned()?);
    relay_streams(guest_in, guest_out, host)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netdev_has_restrict_and_loopback_only_rules() {
        let n = UserNet {
            hostfwd: vec![(8080, 80), (40001, 5002)],
            guestfwd: vec![(80, 40002)],
            relay: vec!["/w/target/debug/xtask".into(), "net-relay".into()],
        };
        assert_eq!(
            n.netdev(),
            "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=tcp:127.0.0.1:40001-:5002,\
             guestfwd=tcp:10.0.2.100:80-cmd:/w/target/debug/xtask net-relay 127.0.0.1:40002"
        );
        let args: Vec<String> = n.args().into_iter().map(|a| a.into_string().unwrap()).collect();
        assert_eq!(args[0], "-netdev");
        assert_eq!(args[2..], ["-device".to_string(), "virtio-net-pci,netdev=n0".to_string()]);
    }

    #[test]
    fn odd_relay_paths_are_quoted_and_commas_doubled() {
        let n = UserNet { guestfwd: vec![(1, 2)], relay: vec!["/a b,c/it's".into()], ..Default::default() };
        assert!(n.netdev().ends_with("-cmd:'/a b,,c/it'\\''s' 127.0.0.1:2"), "{}", n.netdev());
        assert_eq!(shell_word("/usr/bin/x-y_z.1"), "/usr/bin/x-y_z.1");
    }

    /// A connected pair of TCP streams on 127.0.0.1.
    fn pair() -> (TcpStream, TcpStream) {
        let (l, port) = listen_local().unwrap();
        let a = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
        let (b, _) = l.accept().unwrap();
        (a, b)
    }

    #[test]
    fn relay_copies_both_ways_and_passes_half_closes_on() {
        let (mut guest, guest_relay_end) = pair();
        let (host_relay_end, mut server) = pair();
        let out = guest_relay_end.try_clone().unwrap();
        let relay = std::thread::spawn(move || relay_streams(guest_relay_end, out, host_relay_end).unwrap());
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        guest.write_all(&data).unwrap();
        guest.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        server.read_to_end(&mut got).unwrap(); // ends: the guest's half-close went through
        assert_eq!(got, data);
        server.write_all(b"reply after the guest's FIN").unwrap();
        server.shutdown(Shutdown::Write).unwrap();
        let mut back = Vec::new();
        guest.read_to_end(&mut back).unwrap();
        assert_eq!(back, b"reply after the guest's FIN");
        assert_eq!(relay.join().unwrap(), (300_000, 27));
    }

    #[test]
    fn relay_refuses_other_hosts() {
        assert!(relay_main("10.0.2.2:80").is_err());
        assert!(relay_main("nonsense").is_err());
        assert!(free_port().unwrap() > 0);
    }
}
