//! `cargo xtask bench --net`: the virtio-net throughput, guest to host, in MB/s of wall time
//! (informational; issue 15). Boots the optimized Exo-OS kernel (`--linux`: Debian's, to compare
//! or to check the set-up) with a virtio-net NIC on QEMU's user network (`restrict=on`, no
//! icount: this is real time through QEMU's device and slirp), waits for eth0's address, and
//! runs `/bin/netsend 10.0.2.100 5003 <MiB>` (user/bin/netsend.c: 64 KiB writes, then waits for
//! the close). A sink xtask runs on the host's 127.0.0.1 (reached through the guestfwd relay
//! of `netcfg.rs`) counts and hashes the bytes and times them from the first to the last;
//! the guest's own figure (connect to close, its CLOCK_MONOTONIC) is reported next to it.
//! Written to `target/bench/net.md` and `net.json`.

use anyhow::{bail, Context, Result};
use std::path::Path;
use std::time::Duration;

use crate::harness::timeout;
use crate::netcfg::{self, UserNet};
use crate::netguest::{self, Kernel, NetBoot};
use crate::netpeer;
use crate::nettests::no_sockets;
use crate::shelltests::Session;
use crate::util;

/// MiB sent per run.
pub const MIB: u64 = 64;
/// The port the guest sends to (on 10.0.2.100).
const PORT: u16 = 5003;

/// `NETSEND bytes=<n> ns=<ns> MBps=<x>`: (bytes, ns).
pub fn parse_netsend(text: &str) -> Option<(u64, u64)> {
    text.lines().find_map(|l| {
        let rest = &l[l.find("NETSEND bytes=")? + "NETSEND ".len()..];
        let field = |k: &str| rest.split_whitespace().find_map(|w| w.strip_prefix(k)?.parse::<u64>().ok());
        Some((field("bytes=")?, field("ns=")?))
    })
}

/// MB/s (10^6 bytes per second).
pub fn mb_per_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64().max(1e-9) / 1e6
}

/// The result of a run: (host MB/s, guest MB/s) or the reason there is none.
type Outcome = std::result::Result<(f64, f64), String>;

fn measure(root: &Path, kernel: Kernel) -> Result<Outcome> {
    let (sink_l, sink_port) = netcfg::listen_local()?;
    let net = UserNet { guestfwd: vec![(PORT, sink_port)], relay: netcfg::relay_command()?, ..Default::default() };
    let boot = NetBoot { kernel, static_ip: false, release: true, smp: 2 };
    let m = netguest::machine(root, &boot, &net)?;
    let out_dir = root.join("target").join("bench");
    util::mkdirs(&out_dir)?;
    let log = out_dir.join(format!("net-{}-serial.log", kernel.name().to_lowercase()));
    let mut s = Session::start(&m, &log)?;
    let result = (|| -> Result<Outcome> {
        s.expect("exo:", timeout(120)).context("no shell prompt within 120 s")?;
        s.send("ifconfig lo; echo probe-$((1+1))\n");
        let probe = s.expect("probe-2", timeout(60)).context("no answer to `ifconfig lo`")?;
        if let Some(why) = no_sockets(&probe) {
            return Ok(Err(format!("unsupported: kernel has no sockets (`ifconfig lo`: {why})")));
        }
        s.send("i=0; while ! ifconfig eth0 2>/dev/null | grep -q 10.0.2.15; do i=$((i+1)); [ $i -gt 60 ] && break; sleep 1; done; echo addr-$((2+1))\n");
        s.expect("addr-3", timeout(120)).context("no answer while waiting for eth0's address")?;
        let sink = netpeer::sink(sink_l, timeout(300), timeout(120));
        s.send(&format!("/bin/netsend {} {PORT} {MIB}; echo sent-$((3+1))\n", netcfg::HOST_ALIAS));
        let out = s.expect("sent-4", timeout(600)).context("netsend did not finish within 600 s")?;
        let Some((bytes, ns)) = parse_netsend(&out) else {
            return Ok(Err(format!("netsend failed: {:?}", out.lines().rev().take(3).collect::<Vec<_>>())));
        };
        let r = sink.join().map_err(|_| anyhow::anyhow!("sink thread panicked"))??;
        if r.bytes != MIB << 20 || bytes != r.bytes {
            bail!("the host got {} bytes, netsend sent {bytes} of {}", r.bytes, MIB << 20);
        }
        Ok(Ok((mb_per_s(r.bytes, r.span), mb_per_s(bytes, Duration::from_nanos(ns)))))
    })();
    s.send("poweroff\n");
    let _ = s.finish(timeout(60));
    result.with_context(|| format!("serial log {}", log.display()))
}

fn markdown(kernel: Kernel, outcome: &Outcome) -> String {
    let mut md = format!(
        "# virtio-net throughput, guest to host ({})\n\n{MIB} MiB from `/bin/netsend` in the guest (64 KiB writes) to a sink on the \
         host's 127.0.0.1, through QEMU's virtio-net-pci and user network (TCG, no icount: wall time, depends on the host). \
         Informational.\n\n",
        kernel.name()
    );
    match outcome {
        Ok((host, guest)) => md.push_str(&format!(
            "| measured by | MB/s |\n|---|---:|\n| host sink (first to last byte, wall time) | {host:.1} |\n\
             | guest (connect to close, guest clock) | {guest:.1} |\n"
        )),
        Err(why) => md.push_str(&format!("{why}\n")),
    }
    md
}

fn json(kernel: Kernel, outcome: &Outcome) -> String {
    let (host, guest, why) = match outcome {
        Ok((h, g)) => (format!("{h:.2}"), format!("{g:.2}"), "null".to_string()),
        Err(w) => ("null".into(), "null".into(), format!("\"{}\"", w.replace('\\', "\\\\").replace('"', "\\\""))),
    };
    format!(
        "{{\n  \"kernel\": \"{}\",\n  \"mib\": {MIB},\n  \"host_mb_per_s\": {host},\n  \"guest_mb_per_s\": {guest},\n  \"unsupported\": {why}\n}}\n",
        kernel.name()
    )
}

/// Runs the measurement and writes the reports. Exit code 0 also when unsupported (informational).
pub fn run(root: &Path, kernel: Kernel) -> Result<u8> {
    util::ensure_packages(&[util::PKGS_QEMU])?;
    println!("xtask bench --net: virtio-net throughput guest -> host on {} ({MIB} MiB)", kernel.name());
    let outcome = measure(root, kernel)?;
    match &outcome {
        Ok((host, guest)) => println!("  {host:.1} MB/s (host sink, wall time); {guest:.1} MB/s (guest clock)"),
        Err(why) => println!("  {why}"),
    }
    let out_dir = root.join("target").join("bench");
    let suffix = if kernel == Kernel::Linux { "-linux" } else { "" };
    for (ext, text) in [("md", markdown(kernel, &outcome)), ("json", json(kernel, &outcome))] {
        let path = out_dir.join(format!("net{suffix}.{ext}"));
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!("xtask bench --net: wrote {}", out_dir.join(format!("net{suffix}.md")).display());
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_netsend_and_computes_rates() {
        let out = "exo:~# /bin/netsend 10.0.2.100 5003 64\nNETSEND bytes=67108864 ns=2000000000 MBps=33.5\nsent-4";
        assert_eq!(parse_netsend(out), Some((67108864, 2_000_000_000)));
        assert_eq!(parse_netsend("NETSEND error socket: Function not implemented"), None);
        assert!((mb_per_s(50_000_000, Duration::from_secs(2)) - 25.0).abs() < 1e-9);
    }

    #[test]
    fn reports_both_outcomes() {
        let md = markdown(Kernel::Exo, &Ok((12.34, 15.0)));
        assert!(md.contains("| host sink (first to last byte, wall time) | 12.3 |"), "{md}");
        let js = json(Kernel::Exo, &Err("unsupported: \"x\"".into()));
        assert!(js.contains("\"host_mb_per_s\": null") && js.contains("\"unsupported\": \"unsupported: \\\"x\\\"\""), "{js}");
    }
}
