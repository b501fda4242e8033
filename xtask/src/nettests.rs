//! The network end-to-end stage of `cargo xtask test` (alone: `cargo xtask net-test`): boots
//! the guest with a virtio-net NIC on QEMU's user network (`restrict=on`, host side on
//! 127.0.0.1 only: `netcfg.rs`), drives busybox over the serial console like the shell stage,
//! and checks real transfers against peers xtask runs on the host (`netpeer.rs`):
//!
//! - `ifconfig` lists lo and eth0 with 127.0.0.1 and 10.0.2.15 (DHCP, or `ip=` with `--static-ip`);
//! - `ping -c 3 10.0.2.2` (QEMU's gateway) gets 3 answers;
//! - busybox `httpd` in the guest serves a page the host fetches through hostfwd;
//! - busybox `wget` in the guest fetches 10 MiB from the host's HTTP/1.0 server (guestfwd);
//!   the guest's `md5sum` matches;
//! - `nc` sends 10 MiB of /dev/urandom to a host sink (guestfwd), md5 compared; the host sends
//!   10 MiB to a guest `nc -l` (hostfwd), md5 compared.
//!
//! A kernel without sockets (`ifconfig lo` answers ENOSYS / EAFNOSUPPORT) fails the stage
//! ([`REQUIRED`]; with it unset, for a kernel branch without networking, the stage would print
//! one `SKIPPED` line and count nothing). The same session
//! on Debian's Linux kernel (`netguest.rs`; `net-test --linux` alone) checks the harness itself:
//! `cargo xtask test` runs it too.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::harness::{log_path, timeout, Tally};
use crate::netcfg::{self, UserNet};
use crate::netguest::{self, Kernel, NetBoot};
use crate::netpeer::{self, HttpServer};
use crate::shelltests::{contains_in_order, Session};
use crate::{md5, qemu};

/// Whether a kernel without sockets fails the stage (Exo-OS has them since issue 15).
pub const REQUIRED: bool = true;
/// Size of every bulk transfer.
pub const BULK: usize = 10 << 20;
/// The shell's prompt (user/etc/profile), on both kernels (the same initramfs).
const PROMPT: &str = "exo:";
/// Guest ports: nc's listener (hostfwd), the host sink's alias port (guestfwd).
const GUEST_NC_PORT: u16 = 5002;
const SINK_ALIAS_PORT: u16 = 5001;

/// What a kernel without sockets prints for a busybox network tool.
pub fn no_sockets(output: &str) -> Option<&'static str> {
    ["Function not implemented", "Address family not supported"].into_iter().find(|m| output.contains(m))
}

/// The guest commands (also checked by a unit test: no expected text appears in them).
pub mod cmd {
    pub const PROBE: &str = "ifconfig lo";
    pub const WAIT_ADDR: &str = "i=0; while ! ifconfig eth0 2>/dev/null | grep -q 10.0.2.15; do i=$((i+1)); \
                                 [ $i -gt 60 ] && break; sleep 1; done; ifconfig";
    pub const PING: &str = "ping -c 3 10.0.2.2";
    pub const WGET: &str = "wget -q -O /tmp/big http://10.0.2.100/big.bin; md5sum /tmp/big; rm -f /tmp/big";
    pub const NC_UP: &str = "dd if=/dev/urandom of=/tmp/up bs=65536 count=160 iflag=fullblock 2>/dev/null; \
                             md5sum /tmp/up; nc 10.0.2.100 5001 </tmp/up; echo nc-exit:$?; rm -f /tmp/up";
    pub const NC_LISTEN: &str = "nc -l -p 5002 </dev/null >/tmp/down & NCPID=$!; sleep 1";
    pub const NC_DOWN: &str = "wait $NCPID; echo nc-exit:$?; md5sum /tmp/down; rm -f /tmp/down";
    pub const IFCONFIG_EXPECT: &[&str] = &["inet addr:127.0.0.1", "inet addr:10.0.2.15", "Link encap:Local Loopback"];
    pub const PING_EXPECT: &str = "3 packets received";
}

/// A shell session with numbered markers (see `shelltests`: the marker is computed by the
/// shell, so the echoed command line never matches it).
struct Shell {
    s: Session,
    n: usize,
}

impl Shell {
    /// Types `input`, then the marker line; the output up to the marker (None: no marker in time).
    fn run(&mut self, input: &str, within: Duration) -> Option<String> {
        self.n += 1;
        let marker = 2000 + self.n;
        self.s.send(&format!("{input}\n"));
        self.s.send(&format!("echo status:$? @@$(({marker}-0))@@\n"));
        self.s.expect(&format!("@@{marker}@@"), within)
    }
}

/// The last `n` characters of `s` (for failure messages).
fn tail(s: &str, n: usize) -> String {
    let v: Vec<char> = s.chars().collect();
    v[v.len().saturating_sub(n)..].iter().collect()
}

/// The stage of `cargo xtask test`: first the session on Debian's Linux (about 15 s: keeps the
/// harness and its host peers checked against a reference kernel), then on Exo-OS twice: the
/// debug kernel with DHCP on 2 CPUs, and the release kernel with a static `ip=` address (the
/// release build's larger frames once overflowed the boot stack while probing the card).
pub fn run(root: &std::path::Path, t: &mut Tally) {
    run_on(root, &NetBoot { kernel: Kernel::Linux, static_ip: false, release: false, smp: 2 }, t);
    run_on(root, &NetBoot { kernel: Kernel::Exo, static_ip: false, release: false, smp: 2 }, t);
    run_on(root, &NetBoot { kernel: Kernel::Exo, static_ip: true, release: true, smp: 2 }, t);
}

/// The stage on the guest `boot` describes.
pub fn run_on(root: &std::path::Path, boot: &NetBoot, t: &mut Tally) {
    let tag = match (boot.kernel, boot.release) {
        (Kernel::Exo, false) => "net".to_string(),
        (Kernel::Exo, true) => "net[release,ip=]".to_string(),
        (Kernel::Linux, _) => "net[linux]".to_string(),
    };
    let name = |what: &str| format!("{tag} {what}");
    // Host side first: QEMU's relays connect to these when the guest does.
    let big = Arc::new(netpeer::pattern(BULK, 15));
    let big_md5 = md5::hex(&big);
    let down = netpeer::pattern(BULK, 16);
    let down_md5 = md5::hex(&down);
    let http = HttpServer::start(vec![("/big.bin".to_string(), big.clone())]);
    let sink = netcfg::listen_local();
    let ports = (netcfg::free_port(), netcfg::free_port(), netcfg::relay_command());
    let (http, (sink_l, sink_port), (web_port, down_port, relay)) = match (http, sink, ports) {
        (Ok(h), Ok(s), (Ok(w), Ok(d), Ok(r))) => (h, s, (w, d, r)),
        _ => return t.fail(&name("host servers"), "cannot listen on 127.0.0.1", None),
    };
    let net = UserNet {
        hostfwd: vec![(web_port, 80), (down_port, GUEST_NC_PORT)],
        guestfwd: vec![(80, http.port), (SINK_ALIAS_PORT, sink_port)],
        relay,
    };
    let m = match netguest::machine(root, boot, &net) {
        Ok(m) => m,
        Err(e) => return t.fail(&name("building the guest"), &format!("{e:#}"), None),
    };
    let log = log_path(root, match (boot.kernel, boot.release) {
        (Kernel::Linux, _) => "net-e2e-linux",
        (Kernel::Exo, false) => "net-e2e",
        (Kernel::Exo, true) => "net-e2e-release",
    });
    if let Some(dir) = log.parent() {
        let _ = crate::util::mkdirs(dir);
    }
    println!("  {tag}: {} guest, -netdev {}", boot.kernel.name(), net.netdev());
    let session = match Session::start(&m, &log) {
        Ok(s) => s,
        Err(e) => return t.fail(&name("starting QEMU"), &format!("{e:#}"), Some(&log)),
    };
    let mut sh = Shell { s: session, n: 0 };
    if sh.s.expect(PROMPT, timeout(120)).is_none() {
        let _ = sh.s.finish(Duration::from_secs(1));
        return t.fail(&name("shell prompt"), "no shell prompt within 120 s", Some(&log));
    }
    // No sockets yet: one clear line, nothing counted (unless REQUIRED).
    let probe = sh.run(cmd::PROBE, timeout(60)).unwrap_or_default();
    if let Some(why) = no_sockets(&probe) {
        if REQUIRED {
            t.fail(&name("sockets"), &format!("`ifconfig lo`: {why}"), Some(&log));
        } else {
            println!("  SKIPPED  {tag}: kernel has no sockets (`ifconfig lo`: {why})");
        }
        sh.s.send("poweroff\n");
        let _ = sh.s.finish(timeout(30));
        return;
    }
    let mut steps = Steps { sh, t, log: log.clone(), name: &name, alive: true };
    steps.check("ifconfig lists lo and eth0", cmd::WAIT_ADDR, 120, |out| {
        cmd::IFCONFIG_EXPECT.iter().all(|e| out.contains(e)) && out.contains("eth0")
    });
    steps.check("ping -c 3 10.0.2.2", cmd::PING, 60, |out| out.contains(cmd::PING_EXPECT));
    httpd(&mut steps, web_port);
    steps.check("wget 10 MiB from the host (md5)", cmd::WGET, 600, |out| {
        netpeer::md5sum_of(out, "/tmp/big").as_deref() == Some(big_md5.as_str())
    });
    if !http.requests.lock().map(|r| r.iter().any(|l| l.starts_with("GET /big.bin"))).unwrap_or(false) {
        steps.t.fail(&name("wget request reached the host server"), "no GET /big.bin", Some(&log));
    }
    nc_up(&mut steps, sink_l);
    nc_down(&mut steps, down_port, &down, &down_md5);
    let Steps { mut sh, t, alive, .. } = steps;
    if !alive {
        let _ = sh.s.finish(Duration::from_secs(1));
        return;
    }
    sh.s.send("poweroff\n");
    match sh.s.finish(timeout(60)) {
        Some(qemu::STATUS_SUCCESS) | Some(0) => t.pass(&name("poweroff"), ""),
        other => t.fail(&name("poweroff"), &format!("QEMU status {other:?}"), Some(&log)),
    }
}

/// The steps of one session; once a step gets no answer the session is abandoned.
struct Steps<'a, F: Fn(&str) -> String> {
    sh: Shell,
    t: &'a mut Tally,
    log: std::path::PathBuf,
    name: &'a F,
    alive: bool,
}

impl<F: Fn(&str) -> String> Steps<'_, F> {
    /// Runs `input`; its output, or None (failure recorded) when the session is gone or stuck.
    fn output(&mut self, what: &str, input: &str, secs: u64) -> Option<String> {
        if !self.alive {
            self.t.fail(&(self.name)(what), "not run: the session stopped answering", None);
            return None;
        }
        let out = self.sh.run(input, timeout(secs));
        if out.is_none() {
            self.alive = false;
            self.t.fail(&(self.name)(what), &format!("no answer within {secs} s"), Some(&self.log));
        }
        out
    }

    fn check(&mut self, what: &str, input: &str, secs: u64, ok: impl Fn(&str) -> bool) {
        if let Some(out) = self.output(what, input, secs) {
            if ok(&out) {
                self.t.pass(&(self.name)(what), "");
            } else {
                self.t.fail(&(self.name)(what), &format!("got: {:?}", tail(&out, 400)), Some(&self.log));
            }
        }
    }
}

/// busybox httpd in the guest; the host fetches the page through hostfwd 127.0.0.1:`web_port`.
fn httpd<F: Fn(&str) -> String>(steps: &mut Steps<'_, F>, web_port: u16) {
    const WHAT: &str = "httpd page fetched by the host";
    let marker = format!("exo-net-test-page-{}", std::process::id());
    let start = format!("mkdir -p /www && echo '<html><body>{marker}</body></html>' > /www/index.html && httpd -p 80 -h /www");
    let Some(out) = steps.output(WHAT, &start, 60) else { return };
    if !contains_in_order(&out, &["status:0 @@"]) {
        return steps.t.fail(&(steps.name)(WHAT), &format!("httpd did not start: {:?}", tail(&out, 300)), Some(&steps.log));
    }
    match netpeer::http_get(web_port, "/", Instant::now() + timeout(60)) {
        Ok(((status, body), attempts)) if status.contains(" 200") && String::from_utf8_lossy(&body).contains(&marker) => {
            steps.t.pass(&(steps.name)(WHAT), &format!("{attempts} attempt(s)"))
        }
        Ok(((status, body), _)) => steps.t.fail(
            &(steps.name)(WHAT),
            &format!("{status}: {:?}", tail(&String::from_utf8_lossy(&body), 200)),
            Some(&steps.log),
        ),
        Err(e) => steps.t.fail(&(steps.name)(WHAT), &format!("{e:#}"), Some(&steps.log)),
    }
    let _ = steps.output("stopping httpd", "killall httpd", 30);
}

/// The result of a helper thread, waiting at most `grace` once the guest's side is over.
fn join_within<T>(h: std::thread::JoinHandle<anyhow::Result<T>>, grace: Duration) -> anyhow::Result<T> {
    let deadline = Instant::now() + grace;
    while !h.is_finished() {
        if Instant::now() >= deadline {
            anyhow::bail!("still waiting {} s after the guest's command ended", grace.as_secs());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    h.join().map_err(|_| anyhow::anyhow!("thread panicked"))?
}

/// The guest sends 10 MiB of /dev/urandom with `nc` to the host sink (guestfwd 10.0.2.100:5001).
fn nc_up<F: Fn(&str) -> String>(steps: &mut Steps<'_, F>, sink: std::net::TcpListener) {
    const WHAT: &str = "nc 10 MiB guest -> host (md5)";
    let received = netpeer::sink(sink, timeout(900), timeout(120));
    let Some(out) = steps.output(WHAT, cmd::NC_UP, 600) else { return };
    let guest = netpeer::md5sum_of(&out, "/tmp/up");
    match join_within(received, Duration::from_secs(30)) {
        Ok(r) if r.bytes == BULK as u64 && guest.as_deref() == Some(r.md5.as_str()) => {
            steps.t.pass(&(steps.name)(WHAT), &format!("{:.1} s", r.span.as_secs_f64()))
        }
        Ok(r) => {
            let why = format!("host got {} bytes, md5 {}; guest md5 {guest:?}: {:?}", r.bytes, r.md5, tail(&out, 300));
            steps.t.fail(&(steps.name)(WHAT), &why, Some(&steps.log))
        }
        Err(e) => steps.t.fail(&(steps.name)(WHAT), &format!("host sink: {e:#}: {:?}", tail(&out, 300)), Some(&steps.log)),
    }
}

/// The host sends `data` to a guest `nc -l` through hostfwd 127.0.0.1:`port`.
fn nc_down<F: Fn(&str) -> String>(steps: &mut Steps<'_, F>, port: u16, data: &[u8], md5: &str) {
    const WHAT: &str = "nc 10 MiB host -> guest (md5)";
    if steps.output(WHAT, cmd::NC_LISTEN, 60).is_none() {
        return;
    }
    let data = data.to_vec();
    let sender = std::thread::spawn(move || netpeer::send(port, &data, Instant::now() + timeout(120), timeout(120)));
    let Some(out) = steps.output(WHAT, cmd::NC_DOWN, 600) else { return };
    let sent = join_within(sender, Duration::from_secs(30));
    let guest = netpeer::md5sum_of(&out, "/tmp/down");
    match sent {
        Ok(attempts) if guest.as_deref() == Some(md5) => steps.t.pass(&(steps.name)(WHAT), &format!("{attempts} attempt(s)")),
        Ok(_) => steps.t.fail(&(steps.name)(WHAT), &format!("guest md5 {guest:?}, sent {md5}: {:?}", tail(&out, 300)), Some(&steps.log)),
        Err(e) => steps.t.fail(&(steps.name)(WHAT), &format!("host sender: {e:#}"), Some(&steps.log)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_text_never_appears_in_the_typed_commands() {
        let typed = [cmd::PROBE, cmd::WAIT_ADDR, cmd::PING, cmd::WGET, cmd::NC_UP, cmd::NC_LISTEN, cmd::NC_DOWN];
        for input in typed {
            for e in cmd::IFCONFIG_EXPECT.iter().chain([&cmd::PING_EXPECT, &"status:0 @@"]) {
                assert!(!input.contains(e), "`{e}` in `{input}`");
            }
            assert!(no_sockets(input).is_none());
        }
        // The ports in the commands are the ones the forwarding rules use.
        assert!(cmd::NC_UP.contains(&format!("10.0.2.100 {SINK_ALIAS_PORT}")));
        assert!(cmd::NC_LISTEN.contains(&format!("-p {GUEST_NC_PORT}")));
        assert!(cmd::NC_UP.contains(&format!("count={}", BULK / 65536)));
    }

    #[test]
    fn recognizes_a_kernel_without_sockets() {
        assert_eq!(no_sockets("ifconfig: socket: Function not implemented\n"), Some("Function not implemented"));
        assert_eq!(no_sockets("ifconfig: socket(AF_INET,2,0): Address family not supported by protocol"), Some("Address family not supported"));
        assert_eq!(no_sockets("lo  Link encap:Local Loopback\n inet addr:127.0.0.1"), None);
        assert_eq!(tail("abcdef", 3), "def");
    }
}
