//! More of `/proc/<pid>/`: the `exe` link (the program the last exec ran), `environ` (the
//! environment it was given), `smaps` and `smaps_rollup` (resident memory per area, from the
//! page tables), and the fields of `status` and `stat` that need the signal tables or the
//! terminal (`SigPnd`/`ShdPnd`/`SigIgn`/`SigCgt`, `tty_nr`).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use exo_abi::signal::{SIG_DFL, SIG_IGN};
use exo_abi::Errno;
use exo_vfs::Result;
use exo_vma::{Kind, Share};

use crate::process::info;
use crate::process::Process;

/// Target of `exe`: the path exec opened, made absolute with the working directory of then.
pub(crate) fn exe_target(process: &Process) -> Result<Vec<u8>> {
    let image = process.exe().ok_or(Errno::ENOENT)?;
    if image.path.first() == Some(&b'/') {
        return Ok(image.path.clone());
    }
    let mut path = super::pid::path_text_of(&image.cwd)?;
    let mut rest: &[u8] = &image.path;
    while let Some(r) = rest.strip_prefix(b"./") {
        rest = r;
    }
    if path.last() != Some(&b'/') {
        path.push(b'/');
    }
    path.extend_from_slice(rest);
    Ok(path)
}

/// The resolver exec's record uses (`process::exe::set_resolver`): `path` looked up as the
/// calling task would, links followed, shown from the namespace root.
pub(crate) fn resolve_program(path: &[u8]) -> Option<Vec<u8>> {
    let task = crate::process::current()?;
    let ns = crate::fs::namespace().ok()?;
    let location = ns.resolve(&crate::fs::lookup_ctx(&task, None), path).ok()?;
    Some(ns.path_of(&location, &ns.root()))
}

/// `environ`: the environment strings, NUL-ended.
pub(crate) fn environ(process: &Process) -> Vec<u8> {
    process.exe().map_or_else(Vec::new, |image| image.environ.clone())
}

/// Resident bytes (all, dirty) per area of `areas` (sorted by start), from the page tables.
fn resident(process: &Process, areas: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = alloc::vec![(0u64, 0u64); areas.len()];
    if let Some(task) = info::main_task(process) {
        task.mm().for_each_resident(|virt, bytes, dirty| {
            let i = areas.partition_point(|&(_, end)| end <= virt);
            if let (Some(&(start, _)), Some(slot)) = (areas.get(i), out.get_mut(i)) {
                if virt >= start {
                    slot.0 += bytes;
                    if dirty {
                        slot.1 += bytes;
                    }
                }
            }
        });
    }
    out
}

/// `smaps` (every area: its `maps` line and the counters) or `smaps_rollup` (one sum).
pub(crate) fn smaps(process: &Process, rollup: bool) -> Vec<u8> {
    let Some(task) = info::main_task(process) else { return Vec::new() };
    let areas = task.mm().areas();
    let ranges: Vec<(u64, u64)> = areas.iter().map(|a| (a.start, a.end)).collect();
    let counts = resident(process, &ranges);
    let maps = super::pid::maps_text(process);
    let lines: Vec<&[u8]> = maps.split(|&b| b == b'\n').collect();
    let mut s = String::new();
    let mut total = Counters::default();
    for (i, area) in areas.iter().enumerate() {
        let (rss, dirty) = counts[i];
        let shared = area.share == Share::Shared;
        let anon = area.backing.is_none() || (!shared && area.prot.write && matches!(area.kind, Kind::File));
        let c = Counters {
            size: area.size(),
            rss,
            shared_clean: if shared { rss - dirty } else { 0 },
            shared_dirty: if shared { dirty } else { 0 },
            private_clean: if shared { 0 } else { rss - dirty },
            private_dirty: if shared { 0 } else { dirty },
            anonymous: if anon && !shared { rss } else { 0 },
        };
        total.add(&c);
        if !rollup {
            if let Some(line) = lines.get(i) {
                s.push_str(&String::from_utf8_lossy(line));
                s.push('\n');
            }
            c.write(&mut s, true);
            let _ = writeln!(s, "VmFlags: {}{}{}{}", if area.prot.read { "rd " } else { "" }, if area.prot.write { "wr " } else { "" }, if area.prot.exec { "ex " } else { "" }, if shared { "sh" } else { "mr mw me" });
        }
    }
    if rollup {
        let first = ranges.first().map_or(0, |r| r.0);
        let last = ranges.last().map_or(0, |r| r.1);
        let _ = writeln!(s, "{first:08x}-{last:08x} ---p 00000000 00:00 0{:>50}[rollup]", "");
        total.write(&mut s, false);
    }
    s.into_bytes()
}

/// One area's (or the sum's) counters, bytes.
#[derive(Default)]
struct Counters {
    size: u64,
    rss: u64,
    shared_clean: u64,
    shared_dirty: u64,
    private_clean: u64,
    private_dirty: u64,
    anonymous: u64,
}

impl Counters {
    fn add(&mut self, o: &Counters) {
        self.size += o.size;
        self.rss += o.rss;
        self.shared_clean += o.shared_clean;
        self.shared_dirty += o.shared_dirty;
        self.private_clean += o.private_clean;
        self.private_dirty += o.private_dirty;
        self.anonymous += o.anonymous;
    }

    /// The lines Linux prints (`Pss` counts shared pages whole: nothing tells here how many
    /// processes share them).
    fn write(&self, s: &mut String, per_area: bool) {
        let mut line = |key: &str, bytes: u64| {
            let _ = writeln!(s, "{:<16}{:>8} kB", format!("{key}:"), bytes / 1024);
        };
        if per_area {
            line("Size", self.size);
            line("KernelPageSize", 4096);
            line("MMUPageSize", 4096);
        }
        line("Rss", self.rss);
        line("Pss", self.rss);
        if !per_area {
            line("Pss_Dirty", self.shared_dirty + self.private_dirty);
            line("Pss_Anon", self.anonymous);
            line("Pss_File", self.rss - self.anonymous);
            line("Pss_Shmem", 0);
        }
        line("Shared_Clean", self.shared_clean);
        line("Shared_Dirty", self.shared_dirty);
        line("Private_Clean", self.private_clean);
        line("Private_Dirty", self.private_dirty);
        line("Referenced", self.rss);
        line("Anonymous", self.anonymous);
        line("LazyFree", 0);
        line("AnonHugePages", 0);
        line("ShmemPmdMapped", 0);
        line("FilePmdMapped", 0);
        line("Shared_Hugetlb", 0);
        line("Private_Hugetlb", 0);
        line("Swap", 0);
        line("SwapPss", 0);
        line("Locked", 0);
    }
}

/// Signal sets of `status`: (SigPnd of the main thread, ShdPnd, SigIgn, SigCgt).
pub(crate) fn signal_sets(process: &Process) -> (u64, u64, u64, u64) {
    let shared = process.pending.lock().set().0;
    let Some(task) = info::main_task(process) else { return (0, shared, 0, 0) };
    let own = task.signals.lock().pending.set().0;
    let handlers = task.sighand();
    let (mut ign, mut cgt) = (0u64, 0u64);
    for sig in 1..=64u32 {
        match handlers.get(sig).handler {
            SIG_IGN => ign |= 1 << (sig - 1),
            SIG_DFL => {}
            _ => cgt |= 1 << (sig - 1),
        }
    }
    (own, shared, ign, cgt)
}

/// The controlling terminal's device number for `stat`'s `tty_nr`, from the terminal layer
/// (registered by `tty::init`); 0 without one.
static CTTY: spin::Once<fn(&Process) -> u64> = spin::Once::new();

/// Lets the terminal layer tell which terminal controls a process (its `rdev`, 0 if none).
pub fn set_ctty_hook(hook: fn(&Process) -> u64) {
    CTTY.call_once(|| hook);
}

/// `tty_nr` as Linux encodes it: minor bits 0-7 and 20-31, major bits 8-19.
pub(crate) fn tty_nr(process: &Process) -> u64 {
    let rdev = CTTY.get().map_or(0, |hook| hook(process));
    if rdev == 0 {
        return 0;
    }
    let (major, minor) = exo_abi::mode::major_minor(rdev);
    u64::from(minor & 0xff) | (u64::from(major) << 8) | (u64::from(minor & !0xff) << 12)
}
