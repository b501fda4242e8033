//! The system-wide files of procfs: `meminfo`, `partitions` (block devices), `cpuinfo`, `uptime`, `loadavg`, `mounts`, `stat`, `fusion` (Fusion Rings),
//! `filesystems`, `version`, `cmdline`, `sys/kernel/{hostname,ostype,osrelease,pid_max}` and
//! `bus/pci/devices` (the PCI functions), in Linux's formats (`free`, `uptime`, `top`,
//! `mount`, libc and lspci-style tools parse them).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use super::pid::ticks;

/// A generated system file.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum SysFile {
    Meminfo,
    Cpuinfo,
    Uptime,
    Loadavg,
    Mounts,
    Stat,
    Filesystems,
    Version,
    Cmdline,
    Hostname,
    Ostype,
    Osrelease,
    PidMax,
    Fusion,
    PciDevices,
    Partitions,
}

/// Names and kinds, in listing order (the `sys/kernel` ones last).
pub(crate) const SYS_FILES: &[(&[u8], SysFile)] = &[
    (b"cmdline", SysFile::Cmdline),
    (b"cpuinfo", SysFile::Cpuinfo),
    (b"filesystems", SysFile::Filesystems),
    (b"fusion", SysFile::Fusion),
    (b"loadavg", SysFile::Loadavg),
    (b"meminfo", SysFile::Meminfo),
    (b"mounts", SysFile::Mounts),
    (b"partitions", SysFile::Partitions),
    (b"stat", SysFile::Stat),
    (b"uptime", SysFile::Uptime),
    (b"version", SysFile::Version),
    (b"hostname", SysFile::Hostname),
    (b"ostype", SysFile::Ostype),
    (b"osrelease", SysFile::Osrelease),
    (b"pid_max", SysFile::PidMax),
    (b"devices", SysFile::PciDevices),
];

/// What `uname` reports (kept in step with the `uname` syscall).
pub(crate) const OSTYPE: &str = "Linux";
pub(crate) const OSRELEASE: &str = "6.1.0-exo";
pub(crate) const VERSION: &str = "#1 SMP Exo-OS";
const HOSTNAME: &str = "exo";

impl SysFile {
    /// Whether the file lives in `/proc/sys/kernel` rather than `/proc`.
    pub(crate) fn in_kernel_dir(self) -> bool {
        matches!(self, SysFile::Hostname | SysFile::Ostype | SysFile::Osrelease | SysFile::PidMax)
    }

    /// Whether the file lives in `/proc/bus/pci`.
    pub(crate) fn in_bus_pci_dir(self) -> bool {
        matches!(self, SysFile::PciDevices)
    }
}

/// Generates the text of `file`.
pub(crate) fn generate(file: SysFile) -> Vec<u8> {
    let text = match file {
        SysFile::Meminfo => super::meminfo::meminfo(),
        SysFile::Cpuinfo => cpuinfo(),
        SysFile::Uptime => uptime(),
        SysFile::Loadavg => loadavg(),
        SysFile::Mounts => mounts(),
        SysFile::Stat => stat(),
        SysFile::Filesystems => {
            let mut text = String::from("nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tdevtmpfs\n");
            for name in crate::fs::disk::TYPES {
                text.push('\t');
                text.push_str(name);
                text.push('\n');
            }
            text
        }
        SysFile::Version => format!("Linux version {OSRELEASE} (exo@exo-os) (rustc) {VERSION}\n"),
        SysFile::Cmdline => format!("{}\n", crate::params::boot_info().map_or("", |info| info.cmdline.as_str())),
        SysFile::Hostname => format!("{HOSTNAME}\n"),
        SysFile::Ostype => format!("{OSTYPE}\n"),
        SysFile::Osrelease => format!("{OSRELEASE}\n"),
        SysFile::PidMax => String::from("32768\n"),
        SysFile::Fusion => crate::ipc::fusion::report(),
        SysFile::PciDevices => crate::pci::proc_devices(),
        SysFile::Partitions => partitions(),
    };
    text.into_bytes()
}

/// `ns` as "seconds.hundredths".
fn seconds(ns: u64) -> String {
    format!("{}.{:02}", ns / 1_000_000_000, ns % 1_000_000_000 / 10_000_000)
}

/// `cpuid(leaf)` as (eax, ebx, ecx, edx).
fn cpuid(leaf: u32) -> (u32, u32, u32, u32) {
    crate::arch::cpuid(leaf, 0)
}

/// Linux's names of the CPUID leaf-1 EDX and ECX feature bits.
const EDX_FLAGS: [&str; 32] = [
    "fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "", "sep", "mtrr", "pge", "mca", "cmov",
    "pat", "pse36", "pn", "clflush", "", "dts", "acpi", "mmx", "fxsr", "sse", "sse2", "ss", "ht", "tm", "ia64", "pbe",
];
const ECX_FLAGS: [&str; 32] = [
    "pni", "pclmulqdq", "dtes64", "monitor", "ds_cpl", "vmx", "smx", "est", "tm2", "ssse3", "cid", "sdbg", "fma", "cx16",
    "xtpr", "pdcm", "", "pcid", "dca", "sse4_1", "sse4_2", "x2apic", "movbe", "popcnt", "tsc_deadline_timer", "aes",
    "xsave", "osxsave", "avx", "f16c", "rdrand", "hypervisor",
];

fn cpuinfo() -> String {
    let (max_leaf, b, c, d) = cpuid(0);
    let mut vendor = Vec::with_capacity(12);
    for reg in [b, d, c] {
        vendor.extend_from_slice(&reg.to_le_bytes());
    }
    let vendor = String::from_utf8_lossy(&vendor).into_owned();
    let (signature, _, ecx, edx) = cpuid(1);
    let family = ((signature >> 8) & 0xf) + if (signature >> 8) & 0xf == 0xf { (signature >> 20) & 0xff } else { 0 };
    let model = ((signature >> 4) & 0xf) | if matches!((signature >> 8) & 0xf, 6 | 0xf) { ((signature >> 16) & 0xf) << 4 } else { 0 };
    let mut flags: Vec<&str> = Vec::new();
    flags.extend((0..32).filter(|bit| edx & (1 << bit) != 0).map(|bit| EDX_FLAGS[bit]).filter(|f| !f.is_empty()));
    flags.extend((0..32).filter(|bit| ecx & (1 << bit) != 0).map(|bit| ECX_FLAGS[bit]).filter(|f| !f.is_empty()));
    if crate::arch::mmu::has_nx() {
        flags.push("nx");
    }
    flags.push("lm");
    let flags = flags.join(" ");
    let mut brand_buf = [0u8; 48];
    let brand = crate::arch::cpu_brand(&mut brand_buf);
    let hz = crate::time::tsc_hz();
    let mhz = format!("{}.{:03}", hz / 1_000_000, hz % 1_000_000 / 1000);
    let bogomips = format!("{}.{:02}", hz * 2 / 1_000_000, hz * 2 % 1_000_000 / 10_000);
    let cpus = crate::sched::online().count().max(1);
    let mut s = String::new();
    for index in 0..cpus {
        let _ = write!(
            s,
            "processor\t: {index}\nvendor_id\t: {vendor}\ncpu family\t: {family}\nmodel\t\t: {model}\nmodel name\t: {brand}\n\
             stepping\t: {}\ncpu MHz\t\t: {mhz}\ncache size\t: 512 KB\nphysical id\t: 0\nsiblings\t: {cpus}\n\
             core id\t\t: {index}\ncpu cores\t: {cpus}\napicid\t\t: {index}\ninitial apicid\t: {index}\nfpu\t\t: yes\n\
             fpu_exception\t: yes\ncpuid level\t: {max_leaf}\nwp\t\t: yes\nflags\t\t: {flags}\nbogomips\t: {bogomips}\n\
             clflush size\t: 64\ncache_alignment\t: 64\naddress sizes\t: 40 bits physical, 48 bits virtual\n\
             power management:\n\n",
            signature & 0xf,
        );
    }
    s
}

/// Time each CPU spent idle (ns), and the sum.
fn idle_times() -> (Vec<u64>, u64) {
    let idle = crate::process::info::idle_ns_per_cpu();
    let sum = idle.iter().sum();
    (idle, sum)
}

fn uptime() -> String {
    let (_, idle) = idle_times();
    format!("{} {}\n", seconds(crate::time::since_boot_ns()), seconds(idle))
}

fn loadavg() -> String {
    let [one, five, fifteen] = crate::process::info::load_average();
    let (running, total) = crate::process::info::thread_counts();
    let last = crate::process::all_processes().iter().map(|p| p.pid).max().unwrap_or(0);
    format!(
        "{}.{:02} {}.{:02} {}.{:02} {running}/{total} {last}\n",
        one / 100,
        one % 100,
        five / 100,
        five % 100,
        fifteen / 100,
        fifteen % 100
    )
}

/// A path in `/proc/mounts`: space, tab, newline and backslash as octal escapes.
fn escape(path: &[u8]) -> String {
    let mut s = String::new();
    for &b in path {
        match b {
            b' ' | b'\t' | b'\n' | b'\\' => {
                let _ = write!(s, "\\{b:03o}");
            }
            _ => s.push(b as char),
        }
    }
    s
}

fn mounts() -> String {
    let Ok(ns) = crate::fs::namespace() else { return String::new() };
    let mut s = String::new();
    for m in ns.mounts() {
        let source = super::mount_source(m.fs_id).unwrap_or_else(|| if m.mount_id == 1 { String::from("rootfs") } else { m.fs_name.clone() });
        let mut options = String::from(if m.flags & exo_vfs::MS_RDONLY != 0 { "ro" } else { "rw" });
        for (bit, name) in [(exo_vfs::MS_NOSUID, ",nosuid"), (exo_vfs::MS_NODEV, ",nodev"), (exo_vfs::MS_NOEXEC, ",noexec")] {
            if m.flags & bit != 0 {
                options.push_str(name);
            }
        }
        options.push_str(",relatime");
        let _ = writeln!(s, "{} {} {} {options} 0 0", escape(source.as_bytes()), escape(&m.path), m.fs_name);
    }
    s
}

fn stat() -> String {
    let now = crate::time::since_boot_ns();
    let (idle, idle_sum) = idle_times();
    let cpus = idle.len().max(1) as u64;
    // Busy time (everything not spent in the idle threads) is reported as user time: the
    // kernel does not split user and system time.
    let busy_sum = (now * cpus).saturating_sub(idle_sum);
    let mut s = String::new();
    let _ = writeln!(s, "cpu  {} 0 0 {} 0 0 0 0 0 0", ticks(busy_sum), ticks(idle_sum));
    for (index, idle_ns) in idle.iter().enumerate() {
        let _ = writeln!(s, "cpu{index} {} 0 0 {} 0 0 0 0 0 0", ticks(now.saturating_sub(*idle_ns)), ticks(*idle_ns));
    }
    let switches: u64 = crate::sched::online().map(|c| c.switches()).sum();
    let boot_time = (crate::time::realtime_ns().saturating_sub(now)) / 1_000_000_000;
    let (running, _) = crate::process::info::thread_counts();
    let _ = write!(
        s,
        "intr 0\nctxt {switches}\nbtime {boot_time}\nprocesses {}\nprocs_running {}\nprocs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n",
        crate::process::process_count(),
        running.max(1),
    );
    s
}

/// `/proc/partitions`: every block device, `major minor  #blocks  name` (#blocks in KiB).
fn partitions() -> String {
    let mut s = String::from("major minor  #blocks  name\n\n");
    for dev in crate::block::devices() {
        let (major, minor) = exo_abi::mode::major_minor(dev.rdev);
        let _ = writeln!(s, "{major:4}  {minor:7} {:10} {}", dev.size / 1024, dev.name);
    }
    s
}
