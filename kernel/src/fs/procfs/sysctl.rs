//! `/proc/sys`: the kernel's tunables that programs read, with Linux's default values —
//! `kernel/` (`pid_max`, `osrelease`, `hostname`, `random/boot_id`, the System V IPC limits,
//! `printk`, `dmesg_restrict`, …), `fs/` (`pipe-max-size`, `file-max`, `nr_open`, inotify and
//! mqueue limits), `vm/` and `net/core/somaxconn`. Entries Exo-OS acts on are writable by
//! root (`hostname`, `domainname`, `printk`'s console level, `dmesg_restrict`); the others
//! refuse writes (`EACCES`, mode 0444).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use exo_abi::mode::{S_IFDIR, S_IFREG};
use exo_abi::Errno;
use exo_vfs::Result;

use super::Node;
use crate::console::klog;
use crate::spinlock::SpinLock;

/// The host and domain names (`sethostname`, `setdomainname`, `uname`; 64 bytes at most).
pub static NODENAME: SpinLock<([u8; 64], usize)> = SpinLock::new(name64("exo"));
pub static DOMAINNAME: SpinLock<([u8; 64], usize)> = SpinLock::new(name64("(none)"));

/// A name buffer holding `s` (at most 64 bytes).
pub const fn name64(s: &str) -> ([u8; 64], usize) {
    let bytes = s.as_bytes();
    let mut buf = [0u8; 64];
    let mut i = 0;
    while i < bytes.len() && i < 64 {
        buf[i] = bytes[i];
        i += 1;
    }
    (buf, i)
}

/// What an entry is.
enum Kind {
    Dir,
    /// A read-only value.
    Value(fn() -> String),
    /// A value root may write (the parser gets the written text).
    Tunable(fn() -> String, fn(&[u8]) -> Result<()>),
}

fn s(text: &str) -> String {
    String::from(text)
}

/// Every entry, by path under `/proc/sys`, parents first.
static ENTRIES: &[(&str, Kind)] = &[
    ("kernel", Kind::Dir),
    ("kernel/cap_last_cap", Kind::Value(|| s("40"))),
    ("kernel/core_pattern", Kind::Value(|| s("core"))),
    ("kernel/dmesg_restrict", Kind::Tunable(|| format!("{}", u8::from(klog::DMESG_RESTRICT.load(Ordering::Relaxed))), set_dmesg_restrict)),
    ("kernel/domainname", Kind::Tunable(|| name_text(&DOMAINNAME), |b| set_name(&DOMAINNAME, b))),
    ("kernel/hostname", Kind::Tunable(|| name_text(&NODENAME), |b| set_name(&NODENAME, b))),
    ("kernel/msgmax", Kind::Value(|| s("8192"))),
    ("kernel/msgmnb", Kind::Value(|| s("16384"))),
    ("kernel/msgmni", Kind::Value(|| s("32000"))),
    ("kernel/ngroups_max", Kind::Value(|| s("65536"))),
    ("kernel/osrelease", Kind::Value(|| s(super::system::OSRELEASE))),
    ("kernel/ostype", Kind::Value(|| s(super::system::OSTYPE))),
    ("kernel/overflowgid", Kind::Value(|| s("65534"))),
    ("kernel/overflowuid", Kind::Value(|| s("65534"))),
    ("kernel/pid_max", Kind::Value(|| s("32768"))),
    ("kernel/printk", Kind::Tunable(|| format!("{}\t4\t1\t7", klog::console_level()), set_printk)),
    ("kernel/random", Kind::Dir),
    ("kernel/random/boot_id", Kind::Value(boot_id)),
    ("kernel/random/entropy_avail", Kind::Value(|| s("256"))),
    ("kernel/random/poolsize", Kind::Value(|| s("256"))),
    ("kernel/random/uuid", Kind::Value(uuid)),
    ("kernel/sem", Kind::Value(|| s("32000\t1024000000\t500\t32000"))),
    ("kernel/shmall", Kind::Value(|| s("18446744073692774399"))),
    ("kernel/shmmax", Kind::Value(|| s("18446744073692774399"))),
    ("kernel/shmmni", Kind::Value(|| s("4096"))),
    ("kernel/tainted", Kind::Value(|| s("0"))),
    ("kernel/threads-max", Kind::Value(threads_max)),
    ("kernel/version", Kind::Value(|| s(super::system::VERSION))),
    ("fs", Kind::Dir),
    ("fs/file-max", Kind::Value(|| s("9223372036854775807"))),
    ("fs/file-nr", Kind::Value(|| format!("{}\t0\t9223372036854775807", open_files()))),
    ("fs/inotify", Kind::Dir),
    ("fs/inotify/max_queued_events", Kind::Value(|| s("16384"))),
    ("fs/inotify/max_user_instances", Kind::Value(|| s("128"))),
    ("fs/inotify/max_user_watches", Kind::Value(|| s("8192"))),
    ("fs/mqueue", Kind::Dir),
    ("fs/mqueue/msg_max", Kind::Value(|| s("10"))),
    ("fs/mqueue/msgsize_max", Kind::Value(|| s("8192"))),
    ("fs/mqueue/queues_max", Kind::Value(|| s("256"))),
    ("fs/nr_open", Kind::Value(|| s("1048576"))),
    ("fs/pipe-max-size", Kind::Value(|| s("1048576"))),
    ("net", Kind::Dir),
    ("net/core", Kind::Dir),
    ("net/core/somaxconn", Kind::Value(|| s("4096"))),
    ("vm", Kind::Dir),
    ("vm/max_map_count", Kind::Value(|| s("65530"))),
    ("vm/overcommit_memory", Kind::Value(|| s("0"))),
    ("vm/overcommit_ratio", Kind::Value(|| s("50"))),
    ("vm/swappiness", Kind::Value(|| s("60"))),
];

fn name_text(name: &SpinLock<([u8; 64], usize)>) -> String {
    let (buf, len) = *name.lock();
    String::from_utf8_lossy(&buf[..len]).into_owned()
}

/// The written text without its trailing newline.
fn trimmed(text: &[u8]) -> &[u8] {
    text.strip_suffix(b"\n").unwrap_or(text)
}

fn set_name(target: &SpinLock<([u8; 64], usize)>, text: &[u8]) -> Result<()> {
    let text = trimmed(text);
    if text.len() > 64 {
        return Err(Errno::EINVAL);
    }
    let mut buf = [0u8; 64];
    buf[..text.len()].copy_from_slice(text);
    *target.lock() = (buf, text.len());
    Ok(())
}

/// The first decimal number of `text`.
fn number(text: &[u8]) -> Result<u64> {
    let text = core::str::from_utf8(text).map_err(|_| Errno::EINVAL)?;
    text.split_whitespace().next().and_then(|w| w.parse().ok()).ok_or(Errno::EINVAL)
}

fn set_dmesg_restrict(text: &[u8]) -> Result<()> {
    match number(text)? {
        v @ (0 | 1) => {
            klog::DMESG_RESTRICT.store(v == 1, Ordering::Relaxed);
            Ok(())
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `printk`: its first number is the console log level (the other three are fixed here).
fn set_printk(text: &[u8]) -> Result<()> {
    let level = number(text)?;
    klog::set_console_level(level.clamp(1, 15) as u8);
    Ok(())
}

/// A random (version 4) UUID.
fn uuid() -> String {
    let mut b = [0u8; 16];
    crate::random::fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", h[..4].concat(), h[4..6].concat(), h[6..8].concat(), h[8..10].concat(), h[10..].concat())
}

/// This boot's id: one UUID, made at the first read.
fn boot_id() -> String {
    static ID: spin::Once<String> = spin::Once::new();
    ID.call_once(uuid).clone()
}

/// Linux's default: memory / (8 × the 16 KiB thread stack).
fn threads_max() -> String {
    let stats = crate::memory::frames::stats();
    let bytes = stats.managed_frames as u64 * 4096;
    format!("{}", (bytes / (8 * 16384)).max(20))
}

/// Open descriptors over all processes (`file-nr`'s first number).
fn open_files() -> usize {
    crate::process::all_processes().iter().map(|p| super::pid::open_fds(p).len()).sum()
}

fn entry(i: u16) -> Option<&'static (&'static str, Kind)> {
    ENTRIES.get(usize::from(i))
}

/// Type and permission bits of entry `i`.
pub(crate) fn mode(i: u16) -> u32 {
    match entry(i).map(|e| &e.1) {
        Some(Kind::Dir) | None => S_IFDIR | 0o555,
        Some(Kind::Value(_)) => S_IFREG | 0o444,
        Some(Kind::Tunable(..)) => S_IFREG | 0o644,
    }
}

/// The children of `/proc/sys` (`None`) or of directory entry `i`.
pub(crate) fn children(dir: Option<u16>) -> Vec<(&'static [u8], Node)> {
    let prefix = dir.and_then(entry).map(|e| e.0);
    ENTRIES
        .iter()
        .enumerate()
        .filter_map(|(i, (path, _))| {
            let rest = match prefix {
                Some(p) => path.strip_prefix(p)?.strip_prefix('/')?,
                None => path,
            };
            (!rest.contains('/')).then_some((rest.as_bytes(), Node::Sysctl(i as u16)))
        })
        .collect()
}

/// The directory holding entry `i`.
pub(crate) fn parent(i: u16) -> Node {
    let Some((path, _)) = entry(i) else { return Node::SysDir };
    match path.rsplit_once('/') {
        Some((up, _)) => ENTRIES.iter().position(|(p, _)| *p == up).map_or(Node::SysDir, |j| Node::Sysctl(j as u16)),
        None => Node::SysDir,
    }
}

/// The text of entry `i` (a newline-ended line).
pub(crate) fn generate(i: u16) -> Result<Vec<u8>> {
    let text = match entry(i).map(|e| &e.1) {
        Some(Kind::Value(get)) | Some(Kind::Tunable(get, _)) => get(),
        _ => return Err(Errno::EISDIR),
    };
    let mut out = text.into_bytes();
    out.push(b'\n');
    Ok(out)
}

/// A write to entry `i`: root only (`EPERM`), tunables only (`EACCES`); the whole value is
/// written at offset 0.
pub(crate) fn write(i: u16, offset: u64, buf: &[u8]) -> Result<usize> {
    let Some(Kind::Tunable(_, set)) = entry(i).map(|e| &e.1) else { return Err(Errno::EACCES) };
    if let Some(me) = crate::process::current() {
        if me.process.creds.lock().euid != 0 {
            return Err(Errno::EPERM);
        }
    }
    if offset != 0 {
        return Err(Errno::EINVAL);
    }
    set(buf)?;
    Ok(buf.len())
}
