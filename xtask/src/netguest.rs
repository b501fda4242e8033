//! The machines of the network tests and `bench --net`: Exo-OS (its kernel and the normal
//! initramfs: busybox shell on the console) or, to check the harness itself before Exo-OS has
//! sockets, Debian's Linux kernel (the one `cargo xtask bench` boots) with the *same* initramfs
//! plus a second cpio archive holding the virtio-net modules of that kernel and an `/etc/rc`
//! that loads them, brings `lo` and `eth0` up and gets an address by DHCP (busybox `udhcpc`) —
//! what Exo-OS's kernel does by itself. Debian's kernel has no `ip=` support (no
//! CONFIG_IP_PNP): there the static address is set by `/etc/rc` instead.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

use exo_cpio::Writer;

use crate::kbuild::{self, BuildOpts};
use crate::netcfg::{self, UserNet};
use crate::qemu::{Boot, Machine};
use crate::{initramfs, linux, util};

/// Which kernel runs the guest.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kernel {
    Exo,
    /// Debian's Linux: a check of the harness, not of Exo-OS.
    Linux,
}

impl Kernel {
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Exo => "Exo-OS",
            Kernel::Linux => "Linux",
        }
    }
}

/// How to boot a network guest.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NetBoot {
    pub kernel: Kernel,
    /// The address from `ip=` (Exo-OS) or a static `ifconfig` (Linux) instead of DHCP.
    pub static_ip: bool,
    /// The optimized Exo-OS kernel (the debug one otherwise).
    pub release: bool,
    pub smp: u32,
}

/// The modules Debian's kernel needs for virtio-net, in load order (their dependencies first).
pub const MODULES: &[&str] = &[
    "virtio_ring",
    "virtio",
    "virtio_pci_modern_dev",
    "virtio_pci_legacy_dev",
    "virtio_pci",
    "failover",
    "net_failover",
    "virtio_net",
];

/// The machine for `boot` with the NIC of `net`.
pub fn machine(root: &Path, boot: &NetBoot, net: &UserNet) -> Result<Machine> {
    let base = initramfs::build(root, true)?.path;
    let mut m = match boot.kernel {
        Kernel::Exo => {
            let kernel = kbuild::build_kernel(root, BuildOpts { release: boot.release, ktest: false, checked: false })?;
            let append = if boot.static_ip { netcfg::IP_PARAM.to_string() } else { String::new() };
            Machine::new(Boot::Pvh { kernel, initrd: Some(base), append })
        }
        Kernel::Linux => {
            let vmlinux = linux::vmlinux(root)?;
            let initrd = linux_initrd(root, &vmlinux, &base, boot.static_ip)?;
            Machine::new(Boot::Pvh { kernel: vmlinux, initrd: Some(initrd), append: linux::APPEND.to_string() })
        }
    };
    m.smp = Some(boot.smp);
    m.extra = net.args();
    Ok(m)
}

/// The `/etc/rc` of the Linux guest: the network set-up, then the initramfs's own rc.
pub fn linux_rc(own_rc: &str, static_ip: bool) -> String {
    let mut rc = String::from(
        "#!/bin/sh\n# /etc/rc of the Linux guest of the network tests (xtask/src/netguest.rs): virtio-net from\n\
         # modules, lo and eth0 up, an address for eth0; then the initramfs's own /etc/rc.\n",
    );
    rc.push_str(&format!("for m in {}; do insmod /lib/modules/$m.ko; done\n", MODULES.join(" ")));
    rc.push_str("ifconfig lo up\nifconfig eth0 up\n");
    if static_ip {
        rc.push_str(&format!("ifconfig eth0 {} netmask 255.255.255.0 up\n", netcfg::GUEST_IP));
    } else {
        rc.push_str("udhcpc -i eth0 -n -q -t 5 -T 2 -s /etc/udhcpc.sh >/dev/null 2>&1 || echo \"rc: no DHCP lease for eth0\"\n");
    }
    let body: Vec<&str> = own_rc.lines().skip_while(|l| l.starts_with("#!")).collect();
    rc.push_str(&body.join("\n"));
    rc.push('\n');
    rc
}

/// busybox `udhcpc`'s script: configure the interface with the lease.
const UDHCPC_SCRIPT: &str = "#!/bin/sh\n# udhcpc's hook (xtask/src/netguest.rs): apply the lease.\n\
    [ \"$1\" = bound ] || [ \"$1\" = renew ] || exit 0\n\
    ifconfig \"$interface\" \"$ip\" netmask \"${subnet:-255.255.255.0}\" up\n\
    for r in $router; do route add default gw \"$r\" dev \"$interface\"; break; done\nexit 0\n";

/// `target/exo/net/linux-net.cpio`: the initramfs `base` followed by a second archive with the
/// modules and the rc (Linux unpacks both; later files replace earlier ones).
fn linux_initrd(root: &Path, vmlinux: &Path, base: &Path, static_ip: bool) -> Result<PathBuf> {
    let own_rc = std::fs::read_to_string(root.join("user/etc/rc")).unwrap_or_else(|_| "#!/bin/sh\nexit 0\n".into());
    let mut w = Writer::new();
    w.dir("etc", 0o755);
    linux::add_modules(&mut w, root, vmlinux, MODULES)?;
    w.file("etc/rc", 0o755, linux_rc(&own_rc, static_ip).as_bytes());
    w.file("etc/udhcpc.sh", 0o755, UDHCPC_SCRIPT.as_bytes());
    let mut image = std::fs::read(base).with_context(|| format!("cannot read {}", base.display()))?;
    image.extend(w.finish());
    let dir = util::exo_target_dir(root).join("net");
    util::mkdirs(&dir)?;
    let out = dir.join("linux-net.cpio");
    std::fs::write(&out, image).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_rc_sets_up_the_network_before_the_own_rc() {
        let rc = linux_rc("#!/bin/sh\n# own\nhostname exo\nexit 0\n", false);
        assert!(rc.starts_with("#!/bin/sh\n"));
        let at = |s: &str| rc.find(s).unwrap_or_else(|| panic!("{s} not in {rc}"));
        assert!(at("insmod") < at("ifconfig eth0 up") && at("ifconfig eth0 up") < at("udhcpc"));
        assert!(at("udhcpc") < at("hostname exo") && rc.trim_end().ends_with("exit 0"));
        assert_eq!(rc.matches("#!/bin/sh").count(), 1);
        assert!(rc.contains("virtio_ring virtio virtio_pci_modern_dev"));
        let rc = linux_rc("#!/bin/sh\nexit 0\n", true);
        assert!(rc.contains("ifconfig eth0 10.0.2.15 netmask 255.255.255.0 up") && !rc.contains("udhcpc"));
    }
}
